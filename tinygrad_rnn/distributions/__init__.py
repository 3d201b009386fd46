"""tg.distributions: torch.distributions' classes for sequence models (sampling from the package generator, so
tg.manual_seed repeats draws; log_prob, entropy, kl_divergence and rsample differentiable in tg ops)."""
from . import constraints
from .constraints import Constraint
from .continuous import Exponential, Gumbel, Laplace, LogNormal, Normal, Uniform
from .discrete import Bernoulli, Categorical, OneHotCategorical, Poisson
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal

__all__ = ["Bernoulli", "Categorical", "Constraint", "Distribution", "Exponential", "Gumbel", "Independent",
           "Laplace", "LogNormal", "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "Uniform",
           "constraints", "kl_divergence", "register_kl"]
