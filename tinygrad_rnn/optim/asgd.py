"""Averaged stochastic gradient descent, like torch.optim.ASGD."""
from __future__ import annotations

from typing import Any, Dict, Optional

from ..tensor import Tensor, _defaults, complex_ok
from .optimizer import Optimizer, ParamsT, apply_weight_decay, check_flag, nonneg, scalar_state, zeros_state


class ASGD(Optimizer):
    """ASGD (Polyak & Juditsky; Bottou's schedule), step t = 1, 2, ...: g = grad (+ weight_decay * p);
    p = p (1 - lambd eta) - eta g; ax = p while mu = 1, else ax += mu (p - ax); then for the next step
    eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0). eta starts at lr and mu at 1, so ax follows
    p up to step t0 + 2 (for a whole t0) and is the average of the iterates from there on.
    maximize=True ascends (uses -grad). State: 'step', 'eta', 'mu' (0-d Tensors on p's device, as torch's),
    'ax' (the averaged parameters: copy them into p to evaluate the average). Linear in p and grad, so complex
    parameters update as torch's."""

    _scalar_state = ("step", "eta", "mu")
    _complex_params = True

    def __init__(self, params: ParamsT, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _check_group(self, group: Dict[str, Any]) -> None:
        nonneg("ASGD", group, "lr", "lambd", "alpha", "t0", "weight_decay")
        check_flag("ASGD", group, "maximize")

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        state["step"] = scalar_state(0.0, p)
        state["eta"] = scalar_state(float(group["lr"]), p)
        state["mu"] = scalar_state(1.0, p)
        state["ax"] = zeros_state(p)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        lr, lambd, eta, mu = group["lr"], group["lambd"], state["eta"].array, state["mu"].array
        g = -grad if group["maximize"] else grad
        step = state["step"].array
        step += 1
        t = float(step)
        g = apply_weight_decay(p, g, group)
        p.array *= 1 - lambd * float(eta)
        p.array -= float(eta) * g
        ax = state["ax"].array
        if float(mu) != 1:
            ax += float(mu) * (p.array - ax)
        else:
            ax[...] = p.array
        as_default = _defaults.floating.type  # (torch's as_tensor of the new values rounds them to the default dtype)
        eta[...] = as_default(lr / (1 + lambd * lr * t) ** group["alpha"])
        mu[...] = as_default(1 / max(1, t - group["t0"]))

# the state Tensors made here are complex for a complex parameter, as torch's (see Optimizer._update_pairs and
# tensor.complex_check)
complex_ok(ASGD._init_state)
