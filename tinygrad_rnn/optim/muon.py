"""Muon (momentum orthogonalised by Newton-Schulz), like torch.optim.Muon."""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Optional, Tuple

from .. import backend
from ..tensor import Tensor
from .adafactor import _lerp_
from .optimizer import Optimizer, ParamsT, check_flag, check_int, nonneg, zeros_state

_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def _zeropower_via_newtonschulz(g: Any, ns_coefficients: Tuple[float, float, float], ns_steps: int,
                                eps: float) -> Any:
    """ns_steps quintic Newton-Schulz iterations X = a X + (b A + c A^2) X, A = X X^T, from X = G / max(|G|_F, eps)
    (G transposed first when it has more rows than columns): roughly U S' V^T of G = U S V^T, S' near 1."""
    a, b, c = ns_coefficients
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(float(backend.xp_of(x).linalg.norm(x)), eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: Optional[str], shape: Tuple[int, ...]) -> float:
    """lr * sqrt(max(1, A / B)) ('original', Keller Jordan's; None is it) or lr * 0.2 sqrt(max(A, B))
    ('match_rms_adamw', Moonshot's) for an (A, B) parameter."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr * math.sqrt(max(1, rows / cols)) if cols else lr


class Muon(Optimizer):
    """Muon (Keller Jordan) for 2-d parameters, as torch's: B = momentum B + (1 - momentum) g (a lerp, B = 0 at
    first); U = lerp(g, B, momentum) with nesterov, else B; O = NS(U) (see _zeropower_via_newtonschulz);
    p *= 1 - lr weight_decay; p -= adjust_lr(lr) O.

    torch runs the Newton-Schulz iterations in bfloat16 (a GPU speed choice); here they run in the parameter's
    dtype (numpy has no bfloat16), so float64 parameters get float64 orthogonalisation. A parameter that is not
    2-d is a ValueError (here also for a group added later), as torch's constructor raises."""

    _complex_params = False  # (torch's refuses complex parameters too)

    def __init__(self, params: ParamsT, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: Tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: Optional[str] = None) -> None:
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("Muon", group, "lr", "momentum", "weight_decay", "eps")
        check_flag("Muon", group, "nesterov")
        check_int("Muon", "ns_steps", group["ns_steps"], 0)
        if group["ns_steps"] >= 100:
            raise ValueError(f"Muon: ns_steps must be less than 100 (as torch's), got {group['ns_steps']}")
        coefs = group["ns_coefficients"]
        if not isinstance(coefs, (tuple, list)) or len(coefs) != 3 or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in coefs):
            raise ValueError(f"Muon: ns_coefficients must be 3 numbers (a, b, c), got {coefs!r}")
        if group["adjust_lr_fn"] not in _ADJUST_LR_FNS:
            raise ValueError(f"Muon: adjust_lr_fn {group['adjust_lr_fn']!r} is not supported (None, 'original' or "
                             "'match_rms_adamw')")
        for p in group.get("params", ()):
            if p.ndim != 2:
                raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                 f"{p.shape}; optimize biases, embeddings and other parameters with AdamW")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["momentum_buffer"] = zeros_state(p)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        momentum, lr = group["momentum"], group["lr"]
        buf = state["momentum_buffer"].array
        _lerp_(buf, grad, 1 - momentum)
        if group["nesterov"]:
            update = grad.copy()
            _lerp_(update, buf, momentum)
        else:
            update = buf
        update = _zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        p.array *= 1 - lr * group["weight_decay"]
        p.array -= _adjust_lr(lr, group["adjust_lr_fn"], p.shape) * update
