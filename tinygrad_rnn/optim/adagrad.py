"""Adagrad, like torch.optim.Adagrad."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import Optimizer, ParamsT, apply_weight_decay, nonneg, scalar_state


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), step t = 1, 2, ...: g = grad (+ weight_decay * p);
    clr = lr / (1 + (t - 1) * lr_decay); sum += g^2; p -= clr * g / (sqrt(sum) + eps).
    ``sum`` starts at initial_accumulator_value. maximize=True ascends (uses -grad)."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      fused=fused))
        for group in self.param_groups:  # torch creates the accumulators up front
            for p in group["params"]:
                self._init_state(p, self.state[p], group)

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("Adagrad", group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["step"] = scalar_state(0.0)
        value = group["initial_accumulator_value"]
        if p.dtype.kind == "c":  # (both parts of a complex p's, as torch's)
            value = complex(value, value)
        state["sum"] = Tensor._make(backend.xp_of(p.array).full_like(p.array, value))

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        g = -grad if group["maximize"] else grad
        step = state["step"]
        step.array += 1
        g = apply_weight_decay(p, g, group)
        clr = group["lr"] / (1 + (float(step.array) - 1) * group["lr_decay"])
        s = state["sum"].array
        s += g * g
        std = xp.sqrt(s)
        std += group["eps"]
        p.array -= clr * g / std

    def _update_sparse(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        """_update for a sparse COO gradient, as torch's: coalesced, then sum, std and p change only at its
        indices; weight_decay refused (torch's error)."""
        step = state["step"]
        step.array += 1
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        clr = group["lr"] / (1 + (float(step.array) - 1) * group["lr_decay"])
        g = g.coalesce()
        at, v = tuple(g._indices().array), g._values().array
        s = state["sum"].array
        s[at] += v * v
        std = backend.xp_of(s).sqrt(s[at])
        std += group["eps"]
        p.array[at] += -clr * (v / std)


# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(Adagrad.__init__)
complex_ok(Adagrad._init_state)
