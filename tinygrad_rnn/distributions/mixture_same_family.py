"""torch.distributions.MixtureSameFamily: a Categorical over K components of one batched component distribution
(the mixture density network of Graves 2013's handwriting RNN: a Categorical over K bivariate Normals)."""
from typing import Any, Optional, Sequence

from ..autograd import no_grad
from ..tensor import Tensor
from . import constraints
from .discrete import Categorical
from .distribution import Distribution, _shape

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """mixture_distribution (a Categorical of batch_shape B, over K) picks one of component_distribution's K
    components (its batch_shape B + (K,), the B dims broadcasting with the Categorical's): the mixture has batch_shape
    B and the components' event_shape. log_prob is the logsumexp over components of their log_prob plus the log
    mixture weights, so gradients reach both; draws have no rsample (torch's)."""
    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: Optional[bool] = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of torch.distributions.Distribution")
        mdbs, cdbs = mixture_distribution.batch_shape, component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not compatible with "
                                 f"`component_distribution.batch_shape`({cdbs})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1] if component_distribution.batch_shape else None
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "MixtureSameFamily":
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = _shape(batch_shape, "batch_shape")
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component, new._event_ndims = self._num_component, self._event_ndims
        return self._expanded(new, batch_shape)

    @constraints.dependent_property
    def support(self) -> Any:
        """The components' support with their component dim put back (a value must lie in every one)."""
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    def _weights(self) -> Tensor:
        """The mixture probs with a 1 for each event dim, to weight the components' moments (..., K, *event)."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    def _pad(self, x: Tensor) -> Tensor:
        """x with a component dim before its event dims, so it broadcasts over the K components."""
        return x.unsqueeze(-1 - self._event_ndims)

    @property
    def mean(self) -> Tensor:
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        """The law of total variance: E[Var | component] + Var[E | component]."""
        w, comp = self._weights(), self._component_distribution
        mean_cond_var = (w * comp.variance).sum(-1 - self._event_ndims)
        var_cond_mean = (w * (comp.mean - self._pad(self.mean)).pow(2)).sum(-1 - self._event_ndims)
        return mean_cond_var + var_cond_mean

    def cdf(self, value: Tensor) -> Tensor:
        return (self._component_distribution.cdf(self._pad(value)) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        log_prob_x = self._component_distribution.log_prob(self._pad(value))
        log_mix_prob = self._mixture_distribution.logits.log_softmax(-1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Each draw the component its Categorical draw picks (one per batch entry, where the Categorical's batch
        broadcasts), of a draw of every component."""
        sample_shape = _shape(sample_shape, "sample_shape")
        with no_grad():
            mix_sample = self._mixture_distribution.expand(self.batch_shape).sample(sample_shape)
            comp_samples = self._component_distribution.sample(sample_shape)
            es = self.event_shape
            index = mix_sample.reshape(tuple(mix_sample.shape) + (1,) * (len(es) + 1))
            index = index.expand(sample_shape + self.batch_shape + (1,) + es)
            gather_dim = len(sample_shape) + len(self.batch_shape)
            return comp_samples.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self) -> str:
        return f"MixtureSameFamily(\n  {self._mixture_distribution},\n  {self._component_distribution})"
