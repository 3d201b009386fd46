"""tg.distributions: torch.distributions' classes for sequence models (sampling from the package generator, so
tg.manual_seed repeats draws; log_prob, entropy, kl_divergence and rsample differentiable in tg ops)."""
from . import constraints
from .constraints import Constraint
from .continuous import Exponential, Gumbel, Laplace, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical

__all__ = ["Bernoulli", "Binomial", "Categorical", "Constraint", "Distribution", "Exponential", "Gumbel",
           "Independent", "Laplace", "LogNormal", "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl"]
