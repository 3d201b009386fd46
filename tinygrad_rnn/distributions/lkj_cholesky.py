"""torch.distributions.lkj_cholesky: the LKJ distribution over lower Cholesky factors of correlation matrices
(Lewandowski, Kurowicka and Joe 2009), drawn by torch's (NumPyro's) vectorised onion method."""
import math
from typing import Any, Optional, Sequence

from .. import creation, ops
from ..autograd import no_grad
from ..special import multigammaln
from ..tensor import Tensor, finfo
from . import constraints
from .distribution import Distribution, _shape, broadcast_all, standard_normal
from .gamma import Beta

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJCholesky(dim, concentration=1.0): factors L of dim x dim correlation matrices M = L L^T with density
    proportional to det(M)^(concentration - 1) (uniform over correlation matrices at 1). No rsample, as torch's.
    Row i's squared norm off the diagonal is drawn from Beta(i / 2, concentration + (dim - 1 - i) / 2), the onion
    method's; torch 2.13 draws it from Beta(i - 1/2, ...), which is the same only for i = 1, so its draws for
    dim >= 3 do not follow its own log_prob (each correlation's variance is above 1 / (2 concentration + dim - 1))."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0, validate_args: Optional[bool] = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        rows = creation.arange(self.dim, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = (rows - 1).clamp(min=0)
        self._beta = Beta((rows / 2).clamp(min=0.5), marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(tuple(self.concentration.shape), (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "LKJCholesky":
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        return self._expanded(new, batch_shape)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """The onion method on the Cholesky factor: row i is sqrt(y_i) times a uniform direction in its first i
        coordinates, y_i ~ Beta(i / 2, concentration + (dim - 1 - i) / 2), and the diagonal completes the row to unit
        norm (clamped at the smallest normal number)."""
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = standard_normal(self._extended_shape(sample_shape), y).tril(-1)
            first_row = creation.arange(self.dim, device=y.device).reshape(-1, 1) == 0
            u_hypersphere = ops.where(first_row, 0.0, u_normal / u_normal.norm(dim=-1, keepdim=True))
            w = y.sqrt() * u_hypersphere
            diag_elems = (1 - w.pow(2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + diag_elems.diag_embed()

    def log_prob(self, value: Tensor) -> Tensor:
        """sum over i >= 1 of (2 (concentration - 1) + dim - i - 1) log L_ii, less the log normaliser (LKJ's, with the
        Jacobian from correlation matrices to their factors)."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = creation.arange(2, self.dim + 1, dtype=self.concentration.dtype, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = alpha.lgamma() * dm1
        numerator = multigammaln(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
