"""SparseAdam, like torch.optim.SparseAdam: Adam on the rows a sparse gradient holds (nn.Embedding(sparse=True))."""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Tuple

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor, _is_sparse
from .optimizer import Optimizer, ParamsT, zeros_state


class SparseAdam(Optimizer):
    """torch's SparseAdam (a masked Adam): each step, at the indices of p's sparse COO gradient g (coalesced, -g
    with maximize=True) and nowhere else, m += (1 - b1) (g - m); v += (1 - b2) (g^2 - v);
    p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), t counting every step p had a gradient (an int in
    its state, as torch's). Parameters must be dense and real, their gradients sparse (torch's errors)."""

    _scalar_state = ()  # ('step' is a Python int, as torch's)
    _complex_params = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        params = list(params) if not isinstance(params, Tensor) else params
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        sparse = [[i, j] for i, g in enumerate(groups) for j, p in enumerate(_plain(g["params"]))
                  if _is_sparse(p)]  # (before the base class, which takes only Tensors)
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        complex_params = [[i, j] for i, g in enumerate(self.param_groups) for j, p in enumerate(g["params"])
                          if p.dtype.kind == "c"]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One SparseAdam step for every parameter with a gradient (all of a group's checked sparse first, as
        torch's); returns closure() (evaluated with grad on) if given."""
        loss = None if closure is None else self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                todo = []
                for p in group["params"]:
                    if p.grad is not None:
                        if not p.grad.is_sparse:
                            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam "
                                               "instead")
                        state = self.state[p]
                        if not state:
                            state["step"] = 0
                            state["exp_avg"] = zeros_state(p)
                            state["exp_avg_sq"] = zeros_state(p)
                        state["step"] += 1
                        todo.append((p, state))
                for p, state in todo:
                    _sparse_adam(p, p.grad, state, group)
                    p._bump_version()
        return loss


def _plain(params: Any) -> list:
    """A group's parameters as a list, (name, tensor) pairs as their tensors."""
    params = [params] if isinstance(params, Tensor) else list(params)
    return [p[1] if isinstance(p, tuple) and len(p) == 2 else p for p in params]


def _sparse_adam(p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
    """torch.optim._functional.sparse_adam for one parameter, in its order of operations."""
    beta1, beta2 = group["betas"]
    g = (-grad if group["maximize"] else grad).coalesce()
    at, values = tuple(g._indices().array), g._values().array
    if values.size == 0:
        return
    exp_avg, exp_avg_sq = state["exp_avg"].array, state["exp_avg_sq"].array
    old_avg = exp_avg[at]
    avg_update = (values - old_avg) * (1 - beta1)
    exp_avg[at] += avg_update
    old_sq = exp_avg_sq[at]
    sq_update = (values ** 2 - old_sq) * (1 - beta2)
    exp_avg_sq[at] += sq_update
    numer = avg_update + old_avg
    denom = backend.xp_of(values).sqrt(sq_update + old_sq) + group["eps"]
    step = state["step"]
    step_size = float(group["lr"]) * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    p.array[at] += -step_size * (numer / denom)
