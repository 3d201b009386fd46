"""Adadelta, like torch.optim.Adadelta."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import (Optimizer, ParamsT, apply_weight_decay, check_flag, check_number, nonneg, scalar_state,
                         zeros_state)


class Adadelta(Optimizer):
    """Adadelta (Zeiler): g = grad (+ weight_decay * p); v = rho v + (1 - rho) g^2;
    dx = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) dx^2; p -= lr dx.
    maximize=True ascends (uses -grad). State: 'square_avg' (v), 'acc_delta' (u)."""

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: Optional[bool] = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      capturable=capturable, maximize=maximize, differentiable=differentiable))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("Adadelta", group, "lr", "eps", "weight_decay")
        check_number("Adadelta", "rho", group["rho"], lambda v: 0 <= v <= 1, "in [0, 1]")
        check_flag("Adadelta", group, "maximize")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["step"] = scalar_state(0.0)
        state["square_avg"] = zeros_state(p)
        state["acc_delta"] = zeros_state(p)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        rho, eps = group["rho"], group["eps"]
        g = -grad if group["maximize"] else grad
        state["step"].array += 1
        g = apply_weight_decay(p, g, group)
        v, u = state["square_avg"].array, state["acc_delta"].array
        v *= rho
        v += (1 - rho) * (g * g)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * (delta * delta)
        p.array -= group["lr"] * delta

# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(Adadelta._init_state)
