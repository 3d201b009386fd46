"""Stochastic gradient descent with optional (Nesterov) momentum, like torch.optim.SGD."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .. import backend
from ..sparse import _add_into
from ..tensor import Tensor, complex_ok
from .optimizer import Optimizer, ParamsT, apply_weight_decay, nonneg


class SGD(Optimizer):
    """g = grad (+ weight_decay * p); with momentum: b = momentum * b + (1 - dampening) * g
    (b = g on the first step) and g = g + momentum * b (nesterov) or g = b; then p -= lr * g.
    maximize=True ascends (uses -grad). Linear in p and grad, so complex parameters update as torch's."""

    _complex_params = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("SGD", group, "lr", "momentum", "dampening", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        g = -grad if group["maximize"] else grad
        g = apply_weight_decay(p, g, group)
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = backend.xp_of(g).array(g)  # an array even for 0-d p
                state["momentum_buffer"] = Tensor._make(buf)
            else:
                if buf.is_sparse:  # (kept sparse by earlier sparse gradients: torch's buf.mul_(m).add_(g) refuses)
                    raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
                buf = buf.array
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p.array -= group["lr"] * g

    def _update_sparse(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        """_update for a sparse COO gradient, as torch's: weight_decay refused (add(sparse, dense)); the momentum
        buffer starts as the sparse gradient and stays sparse (its entries concatenated each step), or, dense from
        earlier dense steps, takes the gradient added in."""
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g.add(p, alpha=group["weight_decay"])  # (torch's error)
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = g.clone()
            elif buf.is_sparse:
                buf = (buf * momentum).add(g, alpha=1 - group["dampening"])
            else:
                buf.array *= momentum
                _add_into(buf.array, g, 1 - group["dampening"])
            state["momentum_buffer"] = buf
            g = g.add(buf, alpha=momentum) if group["nesterov"] else buf
        if g.is_sparse:
            _add_into(p.array, g, -group["lr"])
        else:
            p.array -= group["lr"] * g.array


# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(SGD._update)
