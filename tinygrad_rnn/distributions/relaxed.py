"""torch.distributions' relaxed (Gumbel-softmax / Concrete) distributions: RelaxedBernoulli on (0, 1) and
RelaxedOneHotCategorical on the simplex, reparameterised so gradients flow through their draws to the logits (and
the temperature). Written out as their base distributions with the sigmoid / exp change of variables, not through
torch's TransformedDistribution: the same values."""
import math
from typing import Any, Optional, Sequence

from ..tensor import Tensor
from . import constraints
from .discrete import Bernoulli, Categorical, _ParamsOf
from .distribution import Distribution, _shape, broadcast_all, clamp_probs, host_draws

__all__ = ["RelaxedBernoulli", "RelaxedOneHotCategorical"]


def _temperature(temperature: Any, like: Tensor) -> Tensor:
    if isinstance(temperature, Tensor):
        return temperature
    from .. import creation
    return creation.tensor(float(temperature), dtype=like.dtype, device=like.device)


class _Relaxed(_ParamsOf, Distribution):
    """A relaxed distribution's shared parts: the Bernoulli or Categorical _base of its parameters, the
    temperature (a number made a tensor like the parameter), expand."""
    has_rsample = True

    def __init__(self, base: Distribution, temperature: Any, validate_args: Optional[bool]) -> None:
        self._base = base
        self.temperature = _temperature(temperature, base._param)
        super().__init__(base.batch_shape, base.param_shape[len(base.batch_shape):], validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "_Relaxed":
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new._base, new.temperature = self._base.expand(batch_shape), self.temperature
        return self._expanded(new, batch_shape)


class RelaxedBernoulli(_Relaxed):
    """sigmoid((logits + logistic noise) / temperature): a differentiable stand-in for Bernoulli draws."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        super().__init__(Bernoulli(probs, logits, validate_args=validate_args), temperature, validate_args)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = clamp_probs(host_draws(self.logits, lambda gen: gen.random(shape)))
        return ((self.logits + (u.log() - (-u).log1p())) / self.temperature).sigmoid()

    def log_prob(self, value: Tensor) -> Tensor:
        """The logistic density of y = logit(value), less log|d value / dy| = log(value (1 - value))."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        y = value.log() - (-value).log1p()
        diff = logits - y * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p() - (value.log() + (-value).log1p())


class RelaxedOneHotCategorical(_Relaxed):
    """softmax((logits + Gumbel noise) / temperature): F.gumbel_softmax's draws, with their density."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex

    def __init__(self, temperature: Any, probs: Optional[Tensor] = None, logits: Optional[Tensor] = None,
                 validate_args: Optional[bool] = None) -> None:
        super().__init__(Categorical(probs, logits, validate_args=validate_args), temperature, validate_args)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = clamp_probs(host_draws(self.logits, lambda gen: gen.random(shape)))
        scores = (self.logits - (-u.log()).log()) / self.temperature
        return (scores - scores.logsumexp(dim=-1, keepdim=True)).exp()

    def log_prob(self, value: Tensor) -> Tensor:
        """ExpRelaxedCategorical's density of log(value), less the exp's log-Jacobian sum(log(value))."""
        if self._validate_args:
            self._validate_sample(value)
        K = self._base._num_events
        logits, value = broadcast_all(self.logits, value)
        z = value.log()
        log_scale = math.lgamma(K) + (K - 1) * self.temperature.log()
        score = logits - z * self.temperature
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale - z.sum(-1)


