"""torch.distributions.exp_family: ExponentialFamily, the base of the distributions with densities
exp(<t(x), theta> - F(theta) + k(x)), whose entropy and same-family KL follow from the log normaliser F by autograd
(Bregman divergences, Nielsen and Nock)."""
from typing import Any, Sequence, Tuple

from ..autograd import enable_grad, grad, is_grad_enabled
from ..tensor import Tensor
from .distribution import Distribution, sum_rightmost

__all__ = ["ExponentialFamily"]


def _bregman_parts(dist: "ExponentialFamily") -> Tuple[Tensor, Sequence[Tensor], Sequence[Tensor]]:
    """(F(theta), theta, dF/dtheta) at dist's natural parameters theta, taken as new leaves (cut from dist's
    parameters, as torch's), dF/dtheta differentiable in them. Computed with grad mode on, so it also runs inside
    no_grad (where torch's autograd.grad fails)."""
    with enable_grad():
        nparams = [p.detach().requires_grad_() for p in dist._natural_params]
        lg_normal = dist._log_normalizer(*nparams)
        gradients = grad(lg_normal.sum(), nparams, create_graph=True)
    return lg_normal, nparams, gradients


class ExponentialFamily(Distribution):
    """torch's ExponentialFamily: subclasses give _natural_params (a tuple of tensors), _log_normalizer(*params) (F,
    written in tg ops so autograd can differentiate it) and _mean_carrier_measure (E[k(x)]); entropy is then
    -E[k(x)] + F(theta) - <theta, dF/dtheta>. As torch's, the result is cut from the distribution's parameters
    (theta is detached before F is differentiated)."""

    @property
    def _natural_params(self) -> Tuple[Tensor, ...]:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """The entropy by the Bregman identity, from the log normaliser's gradient."""
        recording = is_grad_enabled()
        result = -self._mean_carrier_measure
        lg_normal, nparams, gradients = _bregman_parts(self)
        with enable_grad():
            result = result + lg_normal
            for p, g in zip(nparams, gradients):
                result = result - (p * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result if recording else result.detach()


def _kl_expfamily_expfamily(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """KL(p || q) of one family as the Bregman divergence of its log normaliser: F(theta_q) - F(theta_p) -
    <theta_q - theta_p, dF/dtheta(theta_p)>, each parameter's product summed over its dims past the batch (torch sums
    len(q.event_shape) of them for every parameter, which for a batched Wishart also sums the df term over the
    batch). Differentiable in q's parameters only, as torch's (p's are cut)."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families cannot be computed "
                                  "using Bregman divergences")
    recording = is_grad_enabled()
    lg_normal, p_nparams, gradients = _bregman_parts(p)
    with enable_grad():
        q_nparams = q._natural_params
        result = q._log_normalizer(*q_nparams) - lg_normal
        batch_dims = result.dim()
        for pnp, qnp, g in zip(p_nparams, q_nparams, gradients):
            term = (qnp - pnp) * g
            result = result - sum_rightmost(term, term.dim() - batch_dims)
    return result if recording else result.detach()
