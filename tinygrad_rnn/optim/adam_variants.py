"""Adamax, NAdam and RAdam: Adam's variants, like torch.optim.Adamax / NAdam / RAdam."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import (Optimizer, ParamsT, apply_weight_decay, check_betas, check_flag, nonneg, scalar_state,
                         zeros_state)


class _AdamVariant(Optimizer):
    """Shared checks and buffers: lr, eps, weight_decay >= 0, betas in [0, 1); 'step', 'exp_avg' and a
    second buffer named by ``_second``."""

    _second = "exp_avg_sq"
    _legacy_options = {"decoupled_weight_decay": False}  # (as Adam's, for NAdam and RAdam)

    def _check_group(self, group: Dict[str, Any]) -> None:
        name = type(self).__name__
        nonneg(name, group, "lr", "eps", "weight_decay")
        check_betas(name, group["betas"])
        check_flag(name, group, *[k for k in ("maximize", "decoupled_weight_decay") if k in group])

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["step"] = scalar_state(0.0)
        state["exp_avg"] = zeros_state(p)
        state[self._second] = zeros_state(p)

    def _moments(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]
                 ) -> Tuple[Any, Any, float]:
        """Count the step, apply maximize and weight decay, update m = b1 m + (1 - b1) g; returns (g, m, t)."""
        beta1 = group["betas"][0]
        g = -grad if group["maximize"] else grad
        step = state["step"]
        step.array += 1
        g = apply_weight_decay(p, g, group)
        m = state["exp_avg"].array
        m *= beta1
        m += (1 - beta1) * g
        return g, m, float(step.array)

    def _second_moment(self, g: Any, state: Dict[str, Any], group: Dict[str, Any]) -> Any:
        """v = b2 v + (1 - b2) g^2, in place; returns v."""
        beta2 = group["betas"][1]
        v = state["exp_avg_sq"].array
        v *= beta2
        v += (1 - beta2) * (g * g)
        return v


class Adamax(_AdamVariant):
    """Adamax (Kingma & Ba, section 7.1), Adam with the infinity norm, step t = 1, 2, ...:
    g = grad (+ weight_decay * p); m = b1 m + (1 - b1) g; u = max(b2 u, |g| + eps);
    p -= lr / (1 - b1^t) * m / u. maximize=True ascends (uses -grad). State: 'exp_avg' (m), 'exp_inf' (u)."""

    _second = "exp_inf"

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        beta1, beta2 = group["betas"]
        g, m, t = self._moments(p, grad, state, group)
        u = state["exp_inf"].array
        u *= beta2
        xp.maximum(u, xp.abs(g) + group["eps"], out=u)
        p.array -= group["lr"] / (1 - beta1 ** t) * (m / u)


class NAdam(_AdamVariant):
    """NAdam (Dozat), Adam with Nesterov momentum, step t = 1, 2, ...: g = grad (+ weight_decay * p, or
    p *= 1 - lr * weight_decay with decoupled_weight_decay=True); mu_t = b1 (1 - 0.96^(t psi) / 2) with
    psi = momentum_decay; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; d = sqrt(v / (1 - b2^t)) + eps;
    p -= lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) g / d + lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) m / d.
    maximize=True ascends (uses -grad). State: 'mu_product' (prod_{i<=t} mu_i, a 0-d Tensor as 'step', whose
    rounding the next step's update reads, as torch's), 'exp_avg', 'exp_avg_sq'."""

    _scalar_state = ("step", "mu_product")

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      foreach=foreach, maximize=maximize, capturable=capturable,
                                      differentiable=differentiable))

    def _check_group(self, group: Dict[str, Any]) -> None:
        super()._check_group(group)
        nonneg("NAdam", group, "momentum_decay")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        super()._init_state(p, state, group)
        state["mu_product"] = scalar_state(1.0)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        lr, beta1, psi = group["lr"], group["betas"][0], group["momentum_decay"]
        g, m, t = self._moments(p, grad, state, group)
        v = self._second_moment(g, state, group)
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = state["mu_product"].array
        mu_product *= mu
        mu_product = float(mu_product)
        denom = xp.sqrt(v / (1 - group["betas"][1] ** t))
        denom += group["eps"]
        p.array -= lr * (1 - mu) / (1 - mu_product) * (g / denom)
        p.array -= lr * mu_next / (1 - mu_product * mu_next) * (m / denom)


class RAdam(_AdamVariant):
    """RAdam (Liu et al.), Adam with the variance of the adaptive lr rectified, step t = 1, 2, ...:
    g = grad (+ weight_decay * p, or p *= 1 - lr * weight_decay with decoupled_weight_decay=True);
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; m_hat = m / (1 - b1^t);
    rho_inf = 2 / (1 - b2) - 1; rho_t = rho_inf - 2 t b2^t / (1 - b2^t). While rho_t <= 5, p -= lr m_hat
    (momentum SGD); then p -= lr m_hat r_t sqrt(1 - b2^t) / (sqrt(v) + eps), with
    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)).
    maximize=True ascends (uses -grad). State: 'exp_avg', 'exp_avg_sq'."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, foreach=foreach,
                                      maximize=maximize, capturable=capturable, differentiable=differentiable))

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        lr, (beta1, beta2) = group["lr"], group["betas"]
        g, m, t = self._moments(p, grad, state, group)
        v = self._second_moment(g, state, group)
        m_hat = m / (1 - beta1 ** t)
        bias_correction2 = 1 - beta2 ** t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
        if rho_t > 5:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            denom = xp.sqrt(v)
            denom += group["eps"]
            p.array -= m_hat * lr * (math.sqrt(bias_correction2) / denom) * rect
        else:
            p.array -= m_hat * lr

# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(_AdamVariant._init_state)
complex_ok(NAdam._init_state)
