"""Numerical gradient checks: central differences in float64 against the autograd engine.

Like Chainer's check_backward, each output is projected on a fixed random
direction r, so one backward pass gives d(sum(r * out))/d(input) for every
input element, and each element is compared with
(f(x + eps) - f(x - eps)) / (2 eps).
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from . import backend
from .autograd import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree (the message names the worst element)."""


def _outputs(fn: Callable, inputs: Sequence[Any]) -> List[Tensor]:
    out = fn(*inputs)
    if isinstance(out, Tensor):
        outs = [out]
    else:
        outs = [o for o in out if isinstance(o, Tensor)] if isinstance(out, (tuple, list)) else []
    if not outs:
        raise TypeError(f"gradcheck: fn must return a Tensor or a tuple/list of Tensors, got {type(out).__name__}")
    low = [o.dtype for o in outs if o.dtype.kind == "f" and o.dtype != np.float64]
    if low:
        raise TypeError(f"gradcheck: fn returned a {low[0]} output; central differences need float64 outputs "
                        "too (is a float32 constant or parameter inside fn?)")
    return outs


def _projection(outs: List[Tensor], directions: List[Any]) -> Tensor:
    total = None
    for o, r in zip(outs, directions):
        if o.dtype.kind == "f":
            term = (o * Tensor._make(r)).sum()
            total = term if total is None else total + term
    return total


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0, raise_exception: bool = True) -> bool:
    """True if autograd's gradients of ``fn(*inputs)`` match central differences, else raise.

    Inputs that are float64 Tensors with requires_grad=True are checked; other
    arguments are passed through. Raises GradcheckError naming the input, the
    element index, and the analytic and numerical values of the worst mismatch;
    with raise_exception=False returns False instead (as torch, only a mismatch:
    invalid arguments still raise).
    """
    try:
        return _gradcheck(fn, inputs, eps, atol, rtol, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float, atol: float, rtol: float,
               seed: int) -> bool:
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; central differences need float64 "
                            "(use .double())")
        if not backend.is_writable(inputs[i].data):  # (an expand() view: one perturbation would move many)
            raise ValueError(f"gradcheck: input {i} (shape {inputs[i].shape}) is read-only (e.g. an expand() view, "
                             "whose elements share memory), and gradcheck perturbs its elements in place; pass a "
                             "copy with memory of its own (x.clone().detach().requires_grad_())")
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    directions = [backend.to_device(rng.standard_normal(o.shape).astype(o.dtype), o.device) for o in outs]

    total = _projection(outs, directions)
    targets = [inputs[i] for i in checked]
    if total is not None and total.requires_grad:
        analytic = grad(total, targets, allow_unused=True)
    else:
        analytic = (None,) * len(targets)

    for i, x, a in zip(checked, targets, analytic):
        a = np.zeros(x.shape) if a is None else backend.to_device(a.data, "cpu").astype(np.float64)
        if a.shape != x.shape:
            raise GradcheckError(f"gradcheck: gradient of input {i} has shape {a.shape}, input has {x.shape}")
        numeric = np.zeros(x.shape)
        for k in range(x.numel()):  # grad mode stays on: fn may itself differentiate (gradgradcheck)
            at = np.unravel_index(k, x.shape)
            orig = x.data[at].item()
            x.data[at] = orig + eps
            plus = _projection(_outputs(fn, inputs), directions)
            x.data[at] = orig - eps
            minus = _projection(_outputs(fn, inputs), directions)
            x.data[at] = orig
            numeric.reshape(-1)[k] = 0.0 if plus is None else (plus.item() - minus.item()) / (2 * eps)
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and (err.max() > 0 or not np.isfinite(a).all() or not np.isfinite(numeric).all()):
            k = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), x.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) at index {tuple(int(j) for j in k)}: "
                f"analytic {float(a[k])!r} vs numeric {float(numeric[k])!r} (atol={atol}, rtol={rtol})")
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], grad_outputs: Optional[Sequence[Tensor]] = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of x, v -> grad(fn(x), x, grad_outputs=v, create_graph=True)."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [Tensor(backend.to_device(rng.standard_normal(o.shape), o.device), requires_grad=True)
                        for o in outs]
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple:
        pairs = [(o, v) for o, v in zip(_outputs(fn, args[:n]), args[n:]) if o.requires_grad]
        if not pairs:
            return ()
        gs = grad([o for o, _ in pairs], diff, grad_outputs=[v for _, v in pairs], create_graph=True,
                  allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs + list(grad_outputs), eps, atol, rtol, seed, raise_exception)
