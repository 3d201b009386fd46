"""Resilient backpropagation, like torch.optim.Rprop."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import Optimizer, ParamsT, check_flag, check_number, nonneg, scalar_state, zeros_state


class Rprop(Optimizer):
    """Rprop (Riedmiller & Braun), each element on its own, by the sign of g * prev (prev: the last gradient kept):
    > 0 multiplies its step size by etas[1], < 0 by etas[0] (and that step then skips the move and keeps
    prev = 0), 0 leaves it; the step size is clipped to step_sizes = (min, max) and p -= sign(g) * step_size.
    Step sizes start at lr, which is read only then (as torch's: a scheduler changing lr later changes nothing).
    maximize=True ascends (uses -grad). State: 'step', 'prev', 'step_size'."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, etas: Tuple[float, float] = (0.5, 1.2),
                 step_sizes: Tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("Rprop", group, "lr")
        check_flag("Rprop", group, "maximize")
        for name in ("etas", "step_sizes"):
            if not isinstance(group[name], (tuple, list)) or len(group[name]) != 2:
                raise ValueError(f"Rprop: {name} must be a pair, got {group[name]!r}")
        minus, plus = group["etas"]
        check_number("Rprop", "etas[0]", minus, lambda v: 0 < v < 1, "in (0, 1)")
        check_number("Rprop", "etas[1]", plus, lambda v: v > 1, "> 1")
        low, high = group["step_sizes"]
        check_number("Rprop", "step_sizes[0]", low, lambda v: True, "a number")
        check_number("Rprop", "step_sizes[1]", high, lambda v: v >= low, f">= step_sizes[0] = {low!r}")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        state["step"] = scalar_state(0.0)
        state["prev"] = zeros_state(p)
        lr = group["lr"]  # (a complex p's steps start at lr for both parts, as torch's complex(lr, lr))
        state["step_size"] = Tensor._make(xp.full_like(p.array, complex(lr, lr) if p.dtype.kind == "c" else lr))

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        minus, plus = group["etas"]
        g = -grad if group["maximize"] else grad
        state["step"].array += 1
        prev, step_size = state["prev"].array, state["step_size"].array
        sign = xp.sign(g * prev)
        factor = xp.where(sign > 0, plus, xp.where(sign < 0, minus, xp.where(sign == 0, 1.0, sign)))
        step_size *= factor.astype(step_size.dtype, copy=False)
        xp.clip(step_size, *group["step_sizes"], out=step_size)
        g = xp.where(factor == minus, 0, g).astype(p.dtype, copy=False)
        p.array -= xp.sign(g) * step_size
        prev[...] = g

# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(Rprop._init_state)
