"""RMSprop, like torch.optim.RMSprop."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import Optimizer, ParamsT, apply_weight_decay, nonneg, scalar_state, zeros_state


class RMSprop(Optimizer):
    """RMSprop (Hinton): g = grad (+ weight_decay * p); v = alpha v + (1 - alpha) g^2;
    centered: a = alpha a + (1 - alpha) g and d = sqrt(v - a^2) + eps, else d = sqrt(v) + eps;
    with momentum: b = momentum b + g / d, p -= lr b; else p -= lr g / d.
    maximize=True ascends (uses -grad)."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("RMSprop", group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["step"] = scalar_state(0.0)
        state["square_avg"] = zeros_state(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(p)
        if group["centered"]:
            state["grad_avg"] = zeros_state(p)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        alpha, lr = group["alpha"], group["lr"]
        g = -grad if group["maximize"] else grad
        state["step"].array += 1
        g = apply_weight_decay(p, g, group)
        v = state["square_avg"].array
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            if "grad_avg" not in state:
                state["grad_avg"] = zeros_state(p)
            a = state["grad_avg"].array
            a *= alpha
            a += (1 - alpha) * g
            avg = xp.sqrt(v - a * a)
        else:
            avg = xp.sqrt(v)
        avg += group["eps"]
        if group["momentum"] > 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_state(p)
            buf = state["momentum_buffer"].array
            buf *= group["momentum"]
            buf += g / avg
            p.array -= lr * buf
        else:
            p.array -= lr * g / avg

# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(RMSprop._init_state)
