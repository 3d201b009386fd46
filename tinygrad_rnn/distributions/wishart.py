"""torch.distributions.wishart: the Wishart distribution over positive definite matrices, from df and one of
covariance_matrix, precision_matrix or scale_tril (kept, as MultivariateNormal's, as the lower Cholesky factor L);
rsample by the Bartlett decomposition, pathwise in df (through Chi2's implicit gradient) and in L."""
import math
import numbers
import warnings
from typing import Any, Optional, Sequence, Tuple

from .. import composed, creation, linalg, ops
from ..special import multigammaln
from ..tensor import Tensor, finfo
from . import constraints
from .distribution import _shape, lazy_property, standard_normal
from .exp_family import ExponentialFamily
from .gamma import Chi2
from .multivariate_normal import _precision_to_scale_tril

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma function: sum over j < p of digamma(x - j / 2), for x > (p - 1) / 2."""
    if not bool((x > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    offsets = creation.arange(p, dtype=x.dtype, device=x.device) / 2
    return (x.unsqueeze(-1) - offsets).digamma().sum(-1)


class Wishart(ExponentialFamily):
    """The Wishart distribution W(df, L L^T) over p x p positive definite matrices (torch's), df > p - 1 (a number
    or a tensor broadcast with the matrices' batch dims; a number is expanded to the batch, where torch's keeps it
    0-d and its mean, mode and variance fail on a batch). Warns, as torch's, when df < p (singular draws are
    likely). rsample(sample_shape, max_try_correction=None): draws by the Bartlett decomposition; a draw that is not
    positive definite (for every batch member of one sample index) is warned about ("Singular sample detected.")
    and redrawn up to max_try_correction times (default 10), and may stay singular after that (its log_prob then
    -inf or nan). torch 2.13's check is inverted (it warns about and redraws the non-singular draws); here the
    singular ones are redrawn, which is what its documentation says."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict:
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df: Any, covariance_matrix: Optional[Tensor] = None, precision_matrix: Optional[Tensor] = None,
                 scale_tril: Optional[Tensor] = None, validate_args: Optional[bool] = None) -> None:
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, param = next((k, m) for k, m in (("covariance_matrix", covariance_matrix),
                                                ("precision_matrix", precision_matrix), ("scale_tril", scale_tril))
                           if m is not None)
        if not isinstance(param, Tensor) or param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if param.shape[-1] != param.shape[-2]:
            raise ValueError(f"Wishart: {name} must be a batch of square matrices, got shape {tuple(param.shape)}")
        if isinstance(df, numbers.Number):
            batch_shape = tuple(param.shape[:-2])
            self.df = creation.full(batch_shape, float(df), dtype=param.dtype, device=param.device)
        else:
            if not isinstance(df, Tensor):
                raise TypeError(f"Wishart: df must be a number or a Tensor, got {type(df).__name__}")
            batch_shape = composed.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape))
            self.df = df.expand(batch_shape)
        p = param.shape[-1]
        event_shape = (p, p)
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, name, param.expand(batch_shape + event_shape))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        self._dist_chi2 = self._chi2()

    def _chi2(self) -> Chi2:
        """Chi2(df - i) for i < p: the squared diagonal of the Bartlett factor."""
        p = self._event_shape[-1]
        offsets = creation.arange(p, dtype=self.df.dtype, device=self.df.device)
        return Chi2(self.df.unsqueeze(-1) - offsets)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Wishart":
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        cov_shape = batch_shape + self._event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        self._expanded(new, batch_shape)
        new._dist_chi2 = new._chi2()
        return new

    def _matrix_shape(self) -> Tuple[int, ...]:
        return self._batch_shape + self._event_shape

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        return linalg.cholesky_inverse(self._unbroadcasted_scale_tril).expand(self._matrix_shape())

    def _per_matrix(self, t: Tensor) -> Tensor:
        """A batch-shaped t with two trailing unit dims, to scale the batch's matrices."""
        return t.reshape(self._batch_shape + (1, 1))

    @property
    def mean(self) -> Tensor:
        return self._per_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """(df - p - 1) times the covariance, nan where df <= p + 1."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = ops.where(factor <= 0, math.nan, factor)
        return self._per_matrix(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        diag_V = V.diagonal(dim1=-2, dim2=-1)
        return self._per_matrix(self.df) * (V.pow(2) + diag_V.unsqueeze(-1) * diag_V.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape: Tuple[int, ...]) -> Tensor:
        """L A A^T L^T with A lower triangular: sqrt(Chi2(df - i)) on the diagonal (at least eps), N(0, 1) below."""
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=finfo(L.dtype).eps)
        lower = standard_normal(sample_shape + self._batch_shape + (p, p), L).tril(-1)
        chol = L @ (diag.diag_embed() + lower)
        return chol @ chol.mT

    def _singular(self, sample: Tensor) -> Tensor:
        """Per sample index, whether any batch member's draw is not positive definite."""
        singular = ~self.support.check(sample)
        for _ in self._batch_shape:
            singular = singular.any(-1)
        return singular

    def rsample(self, sample_shape: Sequence[int] = (), max_try_correction: Optional[int] = None) -> Tensor:
        """Draws of shape sample_shape + batch_shape + (p, p); see the class docstring for the singular ones."""
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = _shape(sample_shape, "sample_shape")
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                redraw = self._per_matrix_of_sample(singular)
                sample = ops.where(redraw, self._bartlett_sampling(sample_shape), sample)
                singular = self._singular(sample)
                if not bool(singular.any()):
                    break
        return sample

    def _per_matrix_of_sample(self, mask: Tensor) -> Tensor:
        """A sample_shape mask with trailing unit dims for the batch and the matrices."""
        return mask.reshape(tuple(mask.shape) + (1,) * (len(self._batch_shape) + 2))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = linalg.cholesky_solve(value, L).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det) - multigammaln(nu / 2, p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self) -> Tensor:
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + multigammaln(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self) -> Tuple[Tensor, Tensor]:
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + multigammaln(y + (p + 1) / 2, p))
