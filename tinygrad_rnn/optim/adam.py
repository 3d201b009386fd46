"""Adam and AdamW (decoupled weight decay), like torch.optim.Adam / torch.optim.AdamW."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

from .. import backend
from ..tensor import Tensor, complex_ok
from .optimizer import (Optimizer, ParamsT, apply_weight_decay, check_betas, check_flag, nonneg, scalar_state,
                         zeros_state)


class Adam(Optimizer):
    """Adam (Kingma & Ba), step t = 1, 2, ...:
    g = grad (+ weight_decay * p, L2 penalty); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    v_max = max(v_max, v) with amsgrad (used in place of v);
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    maximize=True ascends (uses -grad). decoupled_weight_decay=True (a group option, as torch's) decays
    p *= 1 - lr * weight_decay instead of the L2 term: AdamW."""

    _legacy_options = {"decoupled_weight_decay": False}  # (a group saved before the option existed decays coupled)
    _sparse_refusal = "Adam does not support sparse gradients, please consider SparseAdam instead"  # (AdamW's too)

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group: Dict[str, Any]) -> None:
        name = type(self).__name__
        nonneg(name, group, "lr", "eps", "weight_decay")
        check_flag(name, group, "decoupled_weight_decay")
        check_betas(name, group["betas"])

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["step"] = scalar_state(0.0)
        state["exp_avg"] = zeros_state(p)
        state["exp_avg_sq"] = zeros_state(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_state(p)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = backend.xp_of(p.array)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        g = -grad if group["maximize"] else grad
        step = state["step"]
        step.array += 1
        t = float(step.array)
        g = apply_weight_decay(p, g, group)
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = zeros_state(p)
            v_max = state["max_exp_avg_sq"].array
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t)
        denom += eps
        p.array -= (lr / (1 - beta1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay
    before the Adam step, and the gradient carries no L2 term: Adam with decoupled_weight_decay=True."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        """As torch's AdamW: every loaded (or unpickled) group decays decoupled, whatever the state dict says."""
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(Adam._init_state)
