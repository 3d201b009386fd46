"""torch.distributions' discrete distributions: Categorical, OneHotCategorical (and its straight-through form),
Bernoulli, Binomial, Geometric, Multinomial, NegativeBinomial, Poisson."""
import math
import numbers
from typing import Any, Optional, Sequence, Tuple

from .. import backend, creation, ops
from ..tensor import Tensor, finfo
from . import constraints
from .distribution import (Distribution, _shape, broadcast_all, host_draws, lazy_property, logits_to_probs,
                           probs_to_logits)
from .exp_family import ExponentialFamily

__all__ = ["Bernoulli", "Binomial", "Categorical", "Geometric", "Multinomial", "NegativeBinomial", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Poisson"]


def _param_pair(probs: Any, logits: Any) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _ProbsOrLogits:
    """The parameter machinery of a distribution given probs or logits: _param is the one given, the other is
    computed from it on first use (binary: sigmoid / log-odds; else softmax / log over the last dim), and expand
    expands whichever are set."""
    _binary = True
    _param: Tensor

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=self._binary)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=self._binary)

    @property
    def param_shape(self) -> tuple:
        return tuple(self._param.shape)

    def _set_param(self, probs: Any, logits: Any) -> Tuple[int, ...]:
        """Sets the one of probs and logits given (a number or a tensor) as a tensor; returns the batch shape: ()
        for a number, else its shape."""
        _param_pair(probs, logits)
        given = probs if probs is not None else logits
        (self._param,) = broadcast_all(given)
        setattr(self, "probs" if probs is not None else "logits", self._param)
        return () if isinstance(given, numbers.Number) else tuple(self._param.shape)

    def _set_count_and_param(self, total_count: Any, probs: Any, logits: Any) -> Tuple[int, ...]:
        """total_count and the one of probs and logits given, broadcast together, total_count in the parameter's
        dtype (Binomial's, NegativeBinomial's); returns the batch shape."""
        _param_pair(probs, logits)
        count, self._param = broadcast_all(total_count, probs if probs is not None else logits)
        self.total_count = count.to(self._param.dtype)
        setattr(self, "probs" if probs is not None else "logits", self._param)
        return tuple(self._param.shape)

    def _expand_params(self, new: Any, shape: Tuple[int, ...]) -> None:
        """new's probs and/or logits: self's (those set) expanded to shape."""
        for name in ("probs", "logits"):
            if name in self.__dict__:
                new._param = self.__dict__[name].expand(shape)
                setattr(new, name, new._param)


class _ParamsOf:
    """probs, logits and param_shape read from self._base, the Bernoulli or Categorical a distribution is built on
    (OneHotCategorical, the relaxed ones)."""
    _base: Any

    @property
    def _param(self) -> Tensor:
        return self._base._param

    @property
    def probs(self) -> Tensor:
        return self._base.probs

    @property
    def logits(self) -> Tensor:
        return self._base.logits

    @property
    def param_shape(self) -> tuple:
        return self._base.param_shape


class Categorical(_ProbsOrLogits, Distribution):
    """A categorical distribution over {0, ..., K-1} from probs (normalised to sum 1 over the last dim) or logits
    (normalised: logits - logsumexp); the leading dims are the batch."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True
    _binary = False

    def __init__(self, probs: Optional[Tensor] = None, logits: Optional[Tensor] = None,
                 validate_args: Optional[bool] = None) -> None:
        _param_pair(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = tuple(self._param.shape[:-1]) if self._param.dim() > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Categorical":
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        self._expand_params(new, batch_shape + (self._num_events,))
        new._num_events = self._num_events
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self) -> Tensor:
        return creation.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """int64 class indices of shape sample_shape + batch_shape, drawn by tg.multinomial (the package
        generator)."""
        shape = self._extended_shape(sample_shape)
        n = 1
        for s in _shape(sample_shape, "sample_shape"):
            n *= s
        probs_2d = self.probs.detach().reshape(-1, self._num_events)
        if n == 0 or probs_2d.shape[0] == 0:
            return creation.zeros(shape, dtype="int64", device=self.probs.device)
        return creation.multinomial(probs_2d, n, True).t().reshape(shape)

    def log_prob(self, value: Tensor) -> Tensor:
        """The log-probability of each class index in value (broadcast with the batch shape, as torch's)."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = ops.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = creation.arange(self._num_events, dtype="int64", device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class OneHotCategorical(_ParamsOf, Distribution):
    """Categorical's draws as one-hot vectors of the probs' dtype (event_shape (K,))."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs: Optional[Tensor] = None, logits: Optional[Tensor] = None,
                 validate_args: Optional[bool] = None) -> None:
        self._base = Categorical(probs, logits)
        super().__init__(self._base.batch_shape, self._base.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "OneHotCategorical":
        new = self._get_checked_instance(OneHotCategorical, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new._base = self._base.expand(batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self._base.probs

    @property
    def mode(self) -> Tensor:
        from ..nn import functional as F
        probs = self._base.probs
        return F.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self) -> Tensor:
        p = self._base.probs
        return p * (1 - p)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        from ..nn import functional as F
        probs = self._base.probs
        return F.one_hot(self._base.sample(sample_shape), self._base._num_events).to(probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._base.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        return self._base.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.event_shape[0]
        values = creation.eye(n, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + self.batch_shape + (n,)) if expand else values


class Bernoulli(_ProbsOrLogits, ExponentialFamily):
    """0/1 draws, 1 with probability probs (or sigmoid(logits)); values and draws are of the parameter's dtype."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._set_param(probs, logits), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Bernoulli":
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        """1 where probs > 0.5, 0 where below, nan at 0.5 (torch's)."""
        p = self.probs.detach()
        return ops.where(p == 0.5, float("nan"), (p > 0.5).to(p.dtype))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return creation.bernoulli(self.probs.detach().expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        from ..nn import functional as F
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value.to(logits.dtype), reduction="none")

    def entropy(self) -> Tensor:
        from ..nn import functional as F
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = creation.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values

    @property
    def _natural_params(self) -> Tuple[Tensor]:
        return (self.probs.logit(),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.exp().log1p()


class Poisson(ExponentialFamily):
    """Counts with mean rate: log_prob (value * log(rate) - rate - lgamma(value + 1)) and draws (no rsample)."""
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: Optional[bool] = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(() if isinstance(rate, numbers.Number) else tuple(self.rate.shape),
                         validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Poisson":
        new = self._get_checked_instance(Poisson, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new.rate = self.rate.expand(batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        rate = backend.to_device(self.rate.detach().array, "cpu")
        return host_draws(self.rate, lambda gen: gen.poisson(rate, size=shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        value = value.to(rate.dtype)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

    @property
    def _natural_params(self) -> Tuple[Tensor]:
        return (self.rate.log(),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.exp()


class Binomial(_ProbsOrLogits, Distribution):
    """The number of successes in total_count Bernoulli(probs) trials (probs or logits): log_prob, draws, entropy
    (a total_count shared by the batch, as torch's)."""
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        super().__init__(self._set_count_and_param(total_count, probs, logits), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Binomial":
        new = self._get_checked_instance(Binomial, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        n = backend.to_device(self.total_count.detach().array, "cpu").astype("int64")
        p = backend.to_device(self.probs.detach().array, "cpu")
        return host_draws(self._param, lambda gen: gen.binomial(n, p, size=shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, lg = self.total_count, self.logits
        value = value.to(lg.dtype)
        clamp_by_zero = (lg.clamp(min=0) + lg - lg.clamp(max=0)) / 2  # (max(lg, 0) with gradient 1/2 at 0)
        normalize = n * clamp_by_zero + n * (-lg.abs()).exp().log1p() - (n + 1).lgamma()
        return value * lg - (value + 1).lgamma() - (n - value + 1).lgamma() - normalize

    def _common_count(self, what: str) -> int:
        top = int(self.total_count.max()) if self.total_count.numel() else 0
        if self.total_count.numel() and int(self.total_count.min()) != top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return top

    def entropy(self) -> Tensor:
        self._common_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        top = self._common_count("enumerate_support")
        values = creation.arange(1 + top, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class Geometric(_ProbsOrLogits, Distribution):
    """The number of failures before the first success of Bernoulli(probs) trials (probs in (0, 1], or logits):
    log_prob, moments, entropy and draws (floor(log u / log(1 - probs)), no rsample)."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: Optional[bool] = None) -> None:
        super().__init__(self._set_param(probs, logits), validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                             f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but found invalid "
                             f"values:\n{self.probs[self.probs <= 0]}")

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Geometric":
        new = self._get_checked_instance(Geometric, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return creation.zeros_like(self.probs.detach())

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach()
        u = host_draws(probs, lambda gen: gen.uniform(finfo(probs.dtype).tiny, 1, shape))
        return (u.log() / (-probs).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        """value log(1 - probs) + log(probs), the first term 0 where probs is 1 and value 0 (torch's)."""
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        value = value.to(probs.dtype)
        probs = ops.where((probs == 1) & (value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        from ..nn import functional as F
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class Multinomial(_ParamsOf, Distribution):
    """Counts of total_count draws of a Categorical(probs or logits) over its K classes (event_shape (K,)), one int
    total_count for the batch (as torch's): log_prob, moments, entropy and draws (no rsample)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs: Optional[Tensor] = None, logits: Optional[Tensor] = None,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._base = Categorical(probs, logits)
        super().__init__(self._base.batch_shape, self._base.param_shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Multinomial":
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new.total_count, new._base = self.total_count, self._base.expand(batch_shape)
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> Any:
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """total_count Categorical draws, counted per class: of the probs' dtype."""
        from ..nn import functional as F
        draws = self._base.sample((self.total_count,) + _shape(sample_shape, "sample_shape"))
        return F.one_hot(draws, self._base._num_events).sum(0).to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        """lgamma(n + 1) - sum lgamma(value + 1) + sum value logits, n = value.sum(-1); a -inf logit with a 0 count
        adds 0 (torch's)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        value = value.to(logits.dtype)
        logits = ops.where((value == 0) & (logits == float("-inf")), 0.0, logits)
        return (value.sum(-1) + 1).lgamma() - (value + 1).lgamma().sum(-1) + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        """n H(Categorical) - lgamma(n + 1) + sum_k E[lgamma(x_k + 1)], x_k ~ Binomial(n, probs_k) (torch's formula;
        torch takes lgamma(n + 1) of an int tensor, in float32, so its value is off by up to ~1e-6 where this one
        is exact)."""
        n = self.total_count
        binomial = Binomial(n, probs=self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        term2 = (binomial.log_prob(support).exp() * (support + 1).lgamma()).sum((0, -1))
        return n * self._base.entropy() - math.lgamma(n + 1) + term2


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical with rsample by the straight-through estimator (Bengio et al. 2013): the one-hot draw in
    value, the gradient of probs in backward (draw + probs - probs.detach())."""
    has_rsample = True

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "OneHotCategoricalStraightThrough":
        new = self._get_checked_instance(OneHotCategoricalStraightThrough, _instance)
        return super().expand(batch_shape, _instance=new)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        samples = self.sample(sample_shape)
        probs = self._base.probs
        return samples + (probs - probs.detach())


class NegativeBinomial(_ProbsOrLogits, Distribution):
    """The number of successes of Bernoulli(probs) trials before total_count failures (a real total_count >= 0; probs
    in [0, 1) or logits): log_prob through lgamma, moments, and draws as torch's Gamma-Poisson mixture (Poisson of a
    Gamma(total_count, scale exp(logits)) rate, both drawn on the host from the package generator; no rsample)."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        super().__init__(self._set_count_and_param(total_count, probs, logits), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "NegativeBinomial":
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        n = backend.to_device(self.total_count.detach().array, "cpu")
        scale = backend.to_device(self.logits.detach().exp().array, "cpu")
        return host_draws(self._param, lambda gen: gen.poisson(gen.gamma(n, scale, size=shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        """n log sigmoid(-logits) + value log sigmoid(logits) - log B(n, value) (value + n) ..., with the lgamma terms
        0 where n + value is 0 (torch's masked_fill; here n is set to 1 there first, so lgamma(0) is never formed and
        d/dn there is 0 where torch's is nan)."""
        from ..nn import functional as F
        if self._validate_args:
            self._validate_sample(value)
        n, lg = self.total_count, self.logits
        log_unnormalized = n * F.logsigmoid(-lg) + value * F.logsigmoid(lg)
        empty = n + value == 0.0
        n_safe = ops.where(empty, 1.0, n)
        log_normalization = -(n_safe + value).lgamma() + (1.0 + value).lgamma() + n_safe.lgamma()
        return log_unnormalized - ops.where(empty, 0.0, log_normalization)
