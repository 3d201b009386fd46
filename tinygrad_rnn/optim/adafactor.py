"""Adafactor, like torch.optim.Adafactor."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_flag, check_number, nonneg, scalar_state, zeros_state


def _lerp_(start: Any, end: Any, weight: float) -> None:
    """start += weight * (end - start) in place, rounded as torch's lerp (from the nearer end)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern) as torch implements it, step t = 1, 2, ...: beta2 = 1 - t^beta2_decay,
    rho = min(lr, 1 / sqrt(t)), alpha = max(eps[1], RMS(p)) rho; p *= 1 - lr weight_decay (decoupled);
    a parameter of 2 or more dims keeps factored second moments over its last two dims, row_var (the mean of g^2
    over the last dim) and col_var (over the one before), each v = beta2 v + (1 - beta2) mean, and estimates
    v = row_var col_var / max(mean(row_var), eps[0]); a vector or scalar keeps the full 'variance'.
    u = g / sqrt(max(v, eps[0]^2)); p -= alpha / max(1, RMS(u) / d) u. eps[0] None is the machine epsilon of
    p's dtype (torch takes the first parameter's of the group). maximize=True ascends (uses -grad).
    A size-0 parameter counts its steps and keeps zero state (torch's divides by its size, 0, and raises)."""

    _complex_params = False  # (torch's refuses complex parameters too)

    def __init__(self, params: ParamsT, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: Tuple[Optional[float], float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: Optional[bool] = None, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("Adafactor", group, "lr", "weight_decay")
        check_number("Adafactor", "beta2_decay", group["beta2_decay"], lambda v: v <= 0, "<= 0")
        check_number("Adafactor", "d", group["d"], lambda v: v >= 1, ">= 1")
        check_flag("Adafactor", group, "maximize")
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        if eps[0] is not None:
            check_number("Adafactor", "eps[0]", eps[0], lambda v: v >= 0, ">= 0 or None")
        check_number("Adafactor", "eps[1]", eps[1], lambda v: v >= 0, ">= 0")

    def _state_shape(self, p: Tensor, key: str) -> Tuple[int, ...]:
        shape = p.shape
        if key == "row_var":
            return shape[:-1] + (1,)
        if key == "col_var":
            return shape[:-2] + (1,) + shape[-1:]
        return shape

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        state["step"] = scalar_state(0.0)
        if p.ndim > 1:
            state["row_var"] = Tensor._make(xp.zeros(self._state_shape(p, "row_var"), dtype=p.dtype))
            state["col_var"] = Tensor._make(xp.zeros(self._state_shape(p, "col_var"), dtype=p.dtype))
        else:
            state["variance"] = zeros_state(p)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        lr, eps1, eps2 = group["lr"], *group["eps"]
        eps1 = float(np.finfo(p.dtype).eps) if eps1 is None else eps1
        g = -grad if group["maximize"] else grad
        step = state["step"].array
        step += 1
        n = p.array.size
        if n == 0:
            return
        t = float(step)
        beta = t ** group["beta2_decay"]  # (1 - beta2)
        alpha = max(eps2, float(xp.linalg.norm(p.array.ravel())) / math.sqrt(n)) * min(lr, 1 / t ** 0.5)
        if group["weight_decay"] != 0:
            p.array *= 1 - lr * group["weight_decay"]
        gg = g * g
        if p.ndim > 1:
            row, col = state["row_var"].array, state["col_var"].array
            _lerp_(row, gg.mean(axis=-1, keepdims=True), beta)
            _lerp_(col, gg.mean(axis=-2, keepdims=True), beta)
            v = row @ col
            v /= xp.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"].array
            _lerp_(variance, gg, beta)
            v = variance.copy()
        u = g / xp.sqrt(xp.maximum(v, eps1 * eps1))
        denom = max(1.0, float(xp.linalg.norm(u.ravel())) / (math.sqrt(n) * group["d"]))
        p.array -= (alpha / denom) * u
