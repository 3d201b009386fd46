"""Higher-level derivatives built on grad(), as torch.autograd.functional (``tg.autograd.functional``):
vector-Jacobian and Jacobian-vector products, full Jacobians and Hessians, Hessian-vector products.

Each is a few calls to ``grad``: a Jacobian is one backward pass per output element (reverse mode, a
row at a time); a Jacobian-vector product is the gradient of a vector-Jacobian product with respect to
its vector (the double-backward trick), and a Hessian is the Jacobian of the gradient. Inputs are
taken as new leaves, so their own ``.grad`` is not touched.
"""
from __future__ import annotations

from typing import Any, Callable, List, Sequence, Tuple, Union

from .autograd import enable_grad, grad
from .ops import stack
from .tensor import Tensor, _RuntimeTypeError, _RuntimeValueError, complex_ok, dtype_name

Inputs = Union[Tensor, Sequence[Tensor]]


def _leaves(inputs: Inputs, op: str, create_graph: bool) -> Tuple[List[Tensor], bool]:
    """The inputs as a list of differentiable tensors, and whether a single Tensor was given. Without
    create_graph each is a new leaf sharing its data; with it, an input that already requires grad is kept
    so that the result stays connected to the caller's graph."""
    single = isinstance(inputs, Tensor)
    xs = [inputs] if single else list(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: inputs must be Tensors, but input {i} is a {type(x).__name__}")
        if x.dtype.kind != "f":
            raise _RuntimeTypeError(f"{op}: input {i} is {dtype_name(x.dtype)}; derivatives need floating-point inputs")
    return [x if create_graph and x.requires_grad else x.detach().requires_grad_() for x in xs], single


def _outputs(func: Callable[..., Any], xs: List[Tensor], op: str) -> Tuple[List[Tensor], bool]:
    with enable_grad():
        out = func(*xs)
    single = isinstance(out, Tensor)
    outs = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
    if outs is None or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"{op}: func must return a Tensor or a tuple of Tensors, got {type(out).__name__}")
    return outs, single


def _scalar(func: Callable[..., Any], xs: List[Tensor], op: str) -> List[Tensor]:
    """func's output, which must be one Tensor of one element (what a Hessian is taken of)."""
    outs, _ = _outputs(func, xs, op)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise _RuntimeValueError(f"{op}: func must return one Tensor with one element, got shapes "
                                 f"{[o.shape for o in outs]}")
    return outs


def _grads(outs: Sequence[Tensor], xs: List[Tensor], vs: Sequence[Any], create_graph: bool, strict: bool,
           op: str, retain_graph: bool = True) -> List[Tensor]:
    """sum_k vs[k] . d outs[k] / d x for each x, zeros for an x the outputs do not depend on. With strict, as
    torch, that is an error, and so is an output that does not require grad and, with create_graph, a
    derivative that does not depend on the inputs (a linear function's: it has no graph to differentiate).
    (tg.func's transforms use it too, strict off, as torch.func's _autograd_grad.)"""
    for k, o in enumerate(outs if strict else ()):
        if not o.requires_grad:
            raise RuntimeError(f"{op}: output {k} does not require grad, so it does not depend on the inputs "
                               "(strict=True)")
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    gs = grad([o for o, _ in pairs], xs, [v for _, v in pairs], retain_graph=retain_graph, create_graph=create_graph,
              allow_unused=True) if pairs else [None] * len(xs)
    for i, g in enumerate(gs):
        if g is None and strict:
            raise RuntimeError(f"{op}: the output does not depend on input {i} (strict=True)")
        if g is not None and strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"{op}: the derivative with respect to input {i} does not depend on the inputs "
                               "(strict=True with create_graph=True)")
    return [x.new_zeros(x.shape) if g is None else g for x, g in zip(xs, gs)]


complex_ok(_grads)  # (tg.func's complex transforms: a call of grad, whose ops are checked themselves)


def _pack(values: List[Any], single: bool) -> Any:
    return values[0] if single else tuple(values)


def _vectors(v: Any, like: List[Tensor], op: str, what: str) -> List[Tensor]:
    """v (a Tensor or a tuple of them) matched to like's shapes; None means ones for one-element tensors."""
    if v is None:
        if any(t.numel() != 1 for t in like):
            raise _RuntimeValueError(f"{op}: v can be left out only when the {what} have one element each")
        return [t.new_ones(t.shape) for t in like]
    vs = [v] if isinstance(v, Tensor) else list(v)
    if len(vs) != len(like) or any(not isinstance(a, Tensor) or a.shape != t.shape for a, t in zip(vs, like)):
        raise _RuntimeValueError(f"{op}: v must match the {what}' shapes {[t.shape for t in like]}, got "
                                 f"{[getattr(a, 'shape', type(a).__name__) for a in vs]}")
    return vs


def vjp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), v^T J): the gradient of v . func(inputs) with respect to each input."""
    xs, single_in = _leaves(inputs, "vjp", create_graph)
    outs, single_out = _outputs(func, xs, "vjp")
    gs = _grads(outs, xs, _vectors(v, outs, "vjp", "outputs"), create_graph, strict, "vjp")
    return _pack([o if create_graph else o.detach() for o in outs], single_out), _pack(gs, single_in)


def jvp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), J v): the vjp with a stand-in vector u is linear in u, so its gradient with
    respect to u, weighted by v, is J v (two backward passes, no forward mode needed)."""
    xs, single_in = _leaves(inputs, "jvp", create_graph)
    outs, single_out = _outputs(func, xs, "jvp")
    us = [o.new_zeros(o.shape).requires_grad_() for o in outs]
    with enable_grad():
        gs = _grads(outs, xs, us, True, strict, "jvp")
        jv = _grads(gs, us, _vectors(v, xs, "jvp", "inputs"), create_graph, strict, "jvp")
    return _pack([o if create_graph else o.detach() for o in outs], single_out), _pack(jv, single_out)


def _strategy(strategy: str, vectorize: bool, strict: bool) -> None:
    """torch's checks of jacobian's vectorize and strategy (speed choices there; the values are the same either
    way, and here every Jacobian is computed in reverse mode, one backward pass per output element)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(f'Expected strategy to be either "forward-mode" or "reverse-mode", got {strategy!r}')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")
    if strict and vectorize:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")


def jacobian(func: Callable[..., Any], inputs: Inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func(inputs) / d inputs, of shape output.shape + input.shape: a Tensor for one input and one
    output, a tuple over inputs (or over outputs), a tuple of tuples for several of both. One backward
    pass per output element. ``vectorize`` and ``strategy`` ('reverse-mode', or 'forward-mode' with
    vectorize=True) are torch's speed choices, checked as torch's; the result is the same."""
    _strategy(strategy, vectorize, strict)
    xs, single_in = _leaves(inputs, "jacobian", create_graph)
    outs, single_out = _outputs(func, xs, "jacobian")
    rows = _jacobian_blocks(outs, xs, create_graph, strict, "jacobian")
    return _pack([_pack(r, single_in) for r in rows], single_out)


def _jacobian_blocks(outs: Sequence[Tensor], xs: List[Tensor], create_graph: bool, strict: bool,
                     op: str) -> List[List[Tensor]]:
    """d outs[k] / d xs[i] of shape outs[k].shape + xs[i].shape, for each output k and input i: one backward
    pass per output element (reverse mode; tg.func.jacrev uses it too)."""
    rows = []
    for o in outs:
        flat = o.reshape(-1)
        per_input: List[List[Tensor]] = [[] for _ in xs]
        for k in range(flat.numel()):
            for acc, g in zip(per_input, _grads([flat[k]], xs, [None], create_graph, strict, op)):
                acc.append(g)
        rows.append([(stack(acc, 0) if acc else x.new_zeros(0, *x.shape)).reshape(o.shape + x.shape)
                     for acc, x in zip(per_input, xs)])
    return rows


def hessian(func: Callable[..., Any], inputs: Inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The second derivatives of a one-element func(inputs): shape input.shape + input.shape for one
    input, a tuple of tuples (one block per pair of inputs) for several: the Jacobian of the gradient.
    ``vectorize`` and ``outer_jacobian_strategy`` as jacobian's."""
    _strategy(outer_jacobian_strategy, vectorize, strict)
    xs, single_in = _leaves(inputs, "hessian", create_graph)

    def gradient(*ys: Tensor) -> Any:
        return _pack(_grads(_scalar(func, list(ys), "hessian"), list(ys), [None], True, strict, "hessian"), single_in)
    return jacobian(gradient, xs[0] if single_in else xs, create_graph, strict)


def vhp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), v^T H) for a one-element func: the gradient of (grad . v)."""
    xs, single_in = _leaves(inputs, "vhp", create_graph)
    outs = _scalar(func, xs, "vhp")
    with enable_grad():
        gs = _grads(outs, xs, [None], True, strict, "vhp")
        hv = _grads(gs, xs, _vectors(v, xs, "vhp", "inputs"), create_graph, strict, "vhp")
    return outs[0] if create_graph else outs[0].detach(), _pack(hv, single_in)


def hvp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> Tuple[Any, Any]:
    """(func(*inputs), H v). A Hessian of second derivatives that exist and are continuous is symmetric,
    so H v is v^T H (the way torch computes it too, by double backward)."""
    return vhp(func, inputs, v, create_graph, strict)
