"""tg.distributions: torch.distributions' classes for sequence models (sampling from the package generator, so
tg.manual_seed repeats draws; log_prob, entropy, kl_divergence and rsample differentiable in tg ops)."""
# (torch's submodule names, so `from tinygrad_rnn.distributions.normal import Normal` works as torch's does)
from . import (bernoulli, beta, binomial, categorical, cauchy, chi2, constraint_registry, constraints,
               continuous_bernoulli, dirichlet, exponential, fishersnedecor, generalized_pareto, geometric, gumbel,
               half_cauchy, half_normal, inverse_gamma, kl, kumaraswamy, laplace, log_normal, logistic_normal,
               lowrank_multivariate_normal, multinomial, negative_binomial, normal, one_hot_categorical, pareto,
               poisson, relaxed_bernoulli, relaxed_categorical, studentT, transforms, uniform, utils, von_mises,
               weibull)
from .constraint_registry import biject_to, transform_to
from .constraints import Constraint
from .continuous import (Cauchy, ContinuousBernoulli, Exponential, GeneralizedPareto, Gumbel, Laplace, LogNormal,
                         Normal, Uniform, VonMises)
from .discrete import (Bernoulli, Binomial, Categorical, Geometric, Multinomial, NegativeBinomial, OneHotCategorical,
                       OneHotCategoricalStraightThrough, Poisson)
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, FisherSnedecor, Gamma, InverseGamma, StudentT
from .independent import Independent
from .kl import kl_divergence, register_kl
from .lkj_cholesky import LKJCholesky
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import LowRankMultivariateNormal, MultivariateNormal
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transforms import (AbsTransform, AffineTransform, CatTransform, ComposeTransform, CorrCholeskyTransform,
                         CumulativeDistributionTransform, ExpTransform, IndependentTransform, LowerCholeskyTransform,
                         PositiveDefiniteTransform, PowerTransform, ReshapeTransform, SigmoidTransform,
                         SoftmaxTransform, SoftplusTransform, StackTransform, StickBreakingTransform, TanhTransform,
                         Transform, identity_transform)
from .transformed_distribution import (HalfCauchy, HalfNormal, Kumaraswamy, LogisticNormal, Pareto,
                                       TransformedDistribution, Weibull)
from .wishart import Wishart

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform", "Categorical", "Cauchy",
           "Chi2", "ComposeTransform", "Constraint", "ContinuousBernoulli", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "Dirichlet", "Distribution", "ExpTransform", "Exponential",
           "ExponentialFamily", "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy",
           "HalfNormal", "Independent", "IndependentTransform", "InverseGamma", "Kumaraswamy", "LKJCholesky",
           "Laplace", "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "LowerCholeskyTransform",
           "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "PositiveDefiniteTransform", "PowerTransform",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT", "TanhTransform", "Transform",
           "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "bernoulli", "beta", "biject_to",
           "binomial", "categorical", "cauchy", "chi2", "constraint_registry", "constraints", "continuous_bernoulli",
           "dirichlet", "exponential", "fishersnedecor", "generalized_pareto", "geometric", "gumbel", "half_cauchy",
           "half_normal", "identity_transform", "inverse_gamma", "kl", "kl_divergence", "kumaraswamy", "laplace",
           "log_normal", "logistic_normal", "lowrank_multivariate_normal", "multinomial", "negative_binomial",
           "normal", "one_hot_categorical", "pareto", "poisson", "register_kl", "relaxed_bernoulli",
           "relaxed_categorical", "studentT", "transform_to", "transforms", "uniform", "utils", "von_mises", "weibull"]
