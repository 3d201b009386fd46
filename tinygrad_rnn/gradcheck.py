"""Numerical gradient checks: central differences in float64 against the autograd engine.

Like Chainer's check_backward, each output is projected on a fixed random
direction r, so one backward pass gives d(sum(r * out))/d(input) for every
input element, and each element is compared with
(f(x + eps) - f(x - eps)) / (2 eps).

Complex inputs and outputs (complex128), as torch's: a complex output is projected on a complex direction r as
sum Re(conj(r) out) (its real and imaginary parts each on a real direction), and a complex input's gradient,
dL/dx + i dL/dy in torch's convention, is compared with the central differences of its real part (x +- eps) and
of its imaginary part (x +- i eps): the Wirtinger derivatives that torch's gradcheck checks.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from . import backend
from .autograd import grad
from .tensor import Tensor, complex_ok, dtype_name


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
    low = [o.dtype for o in outs if o.dtype.kind in "fc" and o.dtype not in (np.float64, np.complex128)]
    if low:
        raise TypeError(f"gradcheck: fn returned a {dtype_name(low[0])} output; central differences need torch.float64 "
                        "(or torch.complex128) outputs too (is a torch.float32 constant or parameter inside fn?)")
    return outs


def _projection(outs: List[Tensor], directions: List[Any]) -> Tensor:
    """sum(r * out) over the floating outputs, sum(Re(conj(r) out)) over the complex ones: a real scalar."""
    total = None
    for o, r in zip(outs, directions):
        if o.dtype.kind == "f":
            term = (o * Tensor._make(r)).sum()
        elif o.dtype.kind == "c":
            term = (o * Tensor._make(r.conj())).real.sum()
        else:
            continue
        total = term if total is None else total + term
    return total


def _direction(rng: Any, o: Tensor) -> Any:
    """A random direction for output o: standard normal, each part for a complex output."""
    if o.dtype.kind == "c":
        return backend.to_device(rng.standard_normal(o.shape) + 1j * rng.standard_normal(o.shape), o.device)
    return backend.to_device(rng.standard_normal(o.shape).astype(o.dtype), o.device)


def _torch_options(op: str, nondet_tol: float, refused: dict) -> None:
    """torch's gradcheck keywords this check has no counterpart for: nondet_tol is accepted (backward here is
    deterministic, so any tolerance holds), and an option asking for a check not made here is refused."""
    if not nondet_tol >= 0:
        raise ValueError(f"{op}: nondet_tol must be a non-negative number, got {nondet_tol!r}")
    asked = [name for name, value in refused.items() if value]
    if asked:
        raise NotImplementedError(f"{op}: {asked[0]}=True is not supported: this engine has no batched (vmap) "
                                  "gradients, forward-over-reverse check or masked tensors")


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0, raise_exception: bool = True, *, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: Optional[bool] = None) -> bool:
    """True if autograd's gradients of ``fn(*inputs)`` match central differences, else raise.

    Inputs that are float64 Tensors with requires_grad=True are checked; other
    arguments are passed through. Raises GradcheckError naming the input, the
    element index, and the analytic and numerical values of the worst mismatch;
    with raise_exception=False returns False instead (as torch, only a mismatch:
    invalid arguments still raise).

    torch.autograd.gradcheck's keywords: check_grad_dtypes also compares each gradient's dtype with its
    input's; fast_mode changes nothing (every check here projects the outputs on one random direction, which is
    torch's fast mode for the outputs, and differentiates each input element); check_undefined_grad is accepted
    and not checked (the engine never hands a backward an undefined gradient); check_backward_ad=False, with
    nothing else asked, checks nothing and returns True, as torch. check_forward_ad=True also checks the
    forward-mode derivatives (tg.autograd.forward_ad: one dual level per input element, unpack_dual of the outputs,
    projected on the same directions) against the same central differences. Batched and masked checks are refused
    (NotImplementedError).
    """
    _torch_options("gradcheck", nondet_tol, {"check_batched_grad": check_batched_grad,
                                             "check_batched_forward_grad": check_batched_forward_grad,
                                             "masked": masked})
    if not check_backward_ad and not check_forward_ad:
        return True
    try:
        return _gradcheck(fn, inputs, eps, atol, rtol, seed, check_grad_dtypes, check_backward_ad, check_forward_ad)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _forward_mode(fn: Callable[..., Any], inputs: tuple, i: int, directions: List[Any]) -> np.ndarray:
    """d sum(r * fn(inputs)) / d inputs[i] by forward AD: a dual level per element of inputs[i], whose tangent is
    that element's unit vector, and unpack_dual of each output. A complex input: the tangents 1 and i per element
    (d/dx + i d/dy, as the central differences), a complex output projected as Re(conj(r) tangent)."""
    from .autograd_forward_ad import dual_level, make_dual, unpack_dual  # noqa: PLC0415  (it imports autograd)
    x = inputs[i]
    complex_x = x.dtype.kind == "c"
    out = np.zeros(x.shape, np.complex128 if complex_x else np.float64)
    for k in range(x.numel()):
        for step in ((1, 1j) if complex_x else (1,)):
            e = np.zeros(x.numel(), out.dtype)
            e[k] = step
            with dual_level():
                args = list(inputs)
                args[i] = make_dual(x, Tensor(backend.to_device(e.reshape(x.shape), x.device)))
                total = 0.0
                for o, r in zip(_outputs(fn, args), directions):
                    tangent = unpack_dual(o).tangent if o.dtype.kind in "fc" else None
                    if tangent is not None:
                        t, r = backend.to_device(tangent.array, "cpu"), backend.to_device(r, "cpu")
                        total += float((t * r).sum() if o.dtype.kind == "f" else (np.conj(r) * t).real.sum())
            out.reshape(-1)[k] += step * total
    return out


def _gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float, atol: float, rtol: float,
               seed: int, check_grad_dtypes: bool = False, backward_ad: bool = True,
               forward_ad: bool = False) -> bool:
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype not in (np.float64, np.complex128):
            raise TypeError(f"gradcheck: input {i} is {dtype_name(inputs[i].dtype)}; central differences need "
                            "torch.float64 (use .double()) or torch.complex128")
        if not backend.is_writable(inputs[i].array):  # (an expand() view: one perturbation would move many)
            raise ValueError(f"gradcheck: input {i} (shape {inputs[i].shape}) is read-only (e.g. an expand() view, "
                             "whose elements share memory), and gradcheck perturbs its elements in place; pass a "
                             "copy with memory of its own (x.clone().detach().requires_grad_())")
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    directions = [_direction(rng, o) for o in outs]

    total = _projection(outs, directions) if backward_ad else None
    targets = [inputs[i] for i in checked]
    if total is not None and total.requires_grad:
        analytic = grad(total, targets, allow_unused=True)
    else:
        analytic = (None,) * len(targets)

    for i, x, a in zip(checked, targets, analytic):
        if check_grad_dtypes and a is not None and a.dtype != x.dtype:
            raise GradcheckError(f"gradcheck: the gradient of input {i} is {dtype_name(a.dtype)}, the input "
                                 f"{dtype_name(x.dtype)}")
        dt = np.complex128 if x.dtype.kind == "c" else np.float64
        a = np.zeros(x.shape, dt) if a is None else backend.to_device(a.array, "cpu").astype(dt)
        if a.shape != x.shape:
            raise GradcheckError(f"gradcheck: gradient of input {i} has shape {a.shape}, input has {x.shape}")
        checks = [("analytic", a)] if backward_ad else []
        if forward_ad:
            checks.append(("forward-mode", _forward_mode(fn, inputs, i, directions)))
        numeric = np.zeros(x.shape, dt)
        for k in range(x.numel()):  # grad mode stays on: fn may itself differentiate (gradgradcheck)
            at = np.unravel_index(k, x.shape)
            orig = x.array[at].item()
            for step in ((1, 1j) if x.dtype.kind == "c" else (1,)):  # (a complex x: dL/dx + i dL/dy)
                x.array[at] = orig + eps * step
                plus = _projection(_outputs(fn, inputs), directions)
                x.array[at] = orig - eps * step
                minus = _projection(_outputs(fn, inputs), directions)
                x.array[at] = orig
                numeric.reshape(-1)[k] += 0.0 if plus is None else step * (plus.item() - minus.item()) / (2 * eps)
        for what, a in checks:
            err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
            if err.size and (err.max() > 0 or not np.isfinite(a).all() or not np.isfinite(numeric).all()):
                k = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), x.shape)
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {x.shape}) at index {tuple(int(j) for j in k)}: "
                    f"{what} {a[k].item()!r} vs numeric {numeric[k].item()!r} (atol={atol}, rtol={rtol})")
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], grad_outputs: Optional[Sequence[Tensor]] = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
                  raise_exception: bool = True, *, gen_non_contig_grad_outputs: bool = False, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False, check_batched_grad: bool = False,
                  check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of x, v -> grad(fn(x), x, grad_outputs=v, create_graph=True).

    torch.autograd.gradgradcheck's keywords as gradcheck's; gen_non_contig_grad_outputs changes nothing (a
    strided grad_output is read as any other array), check_rev_over_rev=False checks nothing and returns True,
    check_fwd_over_rev and the batched and masked checks are refused (NotImplementedError)."""
    _torch_options("gradgradcheck", nondet_tol, {"check_batched_grad": check_batched_grad, "check_fwd_over_rev":
                                                 check_fwd_over_rev, "masked": masked})
    if not check_rev_over_rev:
        return True
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [Tensor(backend.to_device(rng.standard_normal(o.shape) + 1j * rng.standard_normal(o.shape)
                                                 if o.dtype.kind == "c" else rng.standard_normal(o.shape), o.device),
                               requires_grad=True) for o in outs]
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple:
        pairs = [(o, v) for o, v in zip(_outputs(fn, args[:n]), args[n:]) if o.requires_grad]
        if not pairs:
            return ()
        gs = grad([o for o, _ in pairs], diff, grad_outputs=[v for _, v in pairs], create_graph=True,
                  allow_unused=True)
        return tuple(g for g in gs if g is not None)

    complex_ok(first_derivative)  # (see below)
    return gradcheck(first_derivative, inputs + list(grad_outputs), eps, atol, rtol, seed, raise_exception,
                     check_grad_dtypes=check_grad_dtypes)


# complex inputs and outputs are checked as torch's (see the module's docstring and tensor.complex_check): these
# frames only perturb, project and differentiate; fn's own ops are checked themselves
for _fn in (gradcheck, _gradcheck, gradgradcheck, _outputs, _projection, _direction, _forward_mode):
    complex_ok(_fn)
del _fn
