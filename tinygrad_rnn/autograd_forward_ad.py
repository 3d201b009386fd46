"""Forward-mode AD with torch.autograd.forward_ad's API (``tg.autograd.forward_ad``): ``dual_level``,
``enter_dual_level``, ``exit_dual_level``, ``make_dual``, ``unpack_dual`` and ``UnpackedDualTensor``, with torch
2.13's names, arguments, results and errors.

torch carries a tangent along with every op as it runs. Here no op knows about tangents (the engine's hot path is
untouched): ``make_dual`` records a copy of the primal in the graph, ops on it are recorded as usual, and
``unpack_dual(t)`` computes t's tangent when asked, by the double-vjp trick over the duals of the level:
u -> sum_d J_d^T u is linear in u, so the gradient of sum_d <J_d^T u, tangent_d> with respect to u is
sum_d J_d tangent_d. Differences from torch, kept deliberately:

- Cost: each ``unpack_dual`` of a tensor that depends on a dual is a walk of its graph and two backward passes
  (the first with create_graph) from that tensor to the duals, not one forward op per op; the graph must still be
  there (a backward without retain_graph through it first frees it, and unpack_dual then raises that error).
- It needs double backward of every op between the duals and the tensor: ops whose backward is written in tensor ops
  (ops.py's, tg.autograd.Function subclasses with such a backward, the nn layers, the fused RNN/LSTM/GRU ones
  included) work; ``once_differentiable`` functions refuse it, and unpack_dual raises a RuntimeError saying so,
  never a wrong tangent; so does a Function whose backward does not depend on its incoming gradient (written on
  arrays): a Function's jvp staticmethod is not used.
- A dual is a recorded copy of its primal (memory of its own, where torch's is a view): an in-place change to the
  dual is recorded and its tangent follows, but the primal does not see it. It (and what is computed from it)
  reports requires_grad=True even when its primal does not require grad; a gradient that reaches such a dual by
  backward goes nowhere. Where the primal requires grad, gradients through the dual reach it, as torch's.
- unpack_dual's primal is ``tensor.detach()`` where tensor's graph reaches nothing requiring grad but the duals'
  own leaves, else an identity of tensor (gradients pass, tangents do not).
- Under ``no_grad`` (or ``set_grad_enabled(False)``) inside a level that holds duals, ops record all the same
  (is_grad_enabled() is still False), so tangents reach results made there as torch's; those results report
  requires_grad=True where their inputs do, unlike torch's. An in-place change there that a graph could not follow
  is made unrecorded, as under no_grad, to a tensor outside the graph (a parameter update, an initialiser; such a
  tensor then has no tangent from it), and refused, as with grad on, to one in it. Under ``inference_mode`` nothing
  records and tangents are None, as torch's.
- Complex duals and tangents work through the ops that take complex tensors (a tangent is du + i dv of the parts);
  a complex tangent of a real primal is refused. The tangent of a complex w ** x at a real dual x keeps its
  imaginary part, which torch 2.13's drops (its own gradcheck with check_forward_ad fails there).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, List, NamedTuple, Optional, Tuple

from .autograd import grad, inference_mode
from .backend import xp_of
from .tensor import _UNPACK, Function as _Op, Tensor, _mode, complex_ok

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]


class _State:
    level = -1  # the open level (only one at a time, as torch 2.13), -1 for none
    duals: List[Tuple[Tensor, Tensor]] = []  # (a handle on the dual's graph node, its tangent) for the open level
    computing = False  # a tangent is being computed: _Primal blocks the way back to the duals
    own: set = set()  # ids of the leaves made for duals of primals that do not require grad


_state = _State()


class UnpackedDualTensor(NamedTuple):
    """unpack_dual's result: the primal, and the tangent (None where the tensor has no tangent at the level)."""
    primal: Tensor
    tangent: Optional[Tensor]


def enter_dual_level() -> int:
    """Open a forward-AD level and return its number (0); a second one while one is open is an error, as torch
    2.13's (nested forward AD is not supported)."""
    if _state.level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _state.level, _state.duals, _state.own = 0, [], set()
    return 0


def exit_dual_level(*, level: Optional[int] = None) -> None:
    """Close the level (the open one by default): the duals made in it lose their tangents."""
    level = _state.level if level is None else level
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != _state.level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    _state.level, _state.duals, _state.own = -1, [], set()
    _mode.dual = False
    if _mode.forced:  # (recording kept for the duals under no_grad: no_grad's again; see autograd._restore)
        _mode.grad_enabled = _mode.forced = False


class dual_level:
    """Context manager for a forward-AD level (enter_dual_level on entry, returning the level for ``as``, and
    exit_dual_level on exit), as torch's: ``with dual_level(): d = make_dual(x, t); ...``; or a decorator, a
    level around each call."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with dual_level():
                return fn(*args, **kwargs)
        return wrapper


class _Dual(_Op):
    """make_dual's identity, a copy (memory of its own, so an in-place change to the dual is recorded, and its
    tangent follows it): its node is what unpack_dual differentiates with respect to."""
    saves_nothing = True

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, g: Tensor) -> Tuple[Tensor]:
        return (g,)


class _Primal(_Op):
    """unpack_dual's primal: an identity for backward, except while a tangent is computed, when no gradient goes
    back through it, so a primal is a constant as far as forward AD is concerned (torch's primal has no tangent)."""
    saves_nothing = True

    def forward(self, x: Any) -> Any:
        return x

    def backward(self, g: Tensor) -> Tuple[Optional[Tensor]]:
        return (None,) if _state.computing else (g,)


def _check_level(level: Optional[int], op: str) -> int:
    if level is None:
        level = _state.level
    if op == "_make_dual" and level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if op == "_make_dual" and level != _state.level:
        raise RuntimeError("Invalid level given to _make_dual")
    return level


def _dual_nodes() -> dict:
    return {id(h.grad_fn): k for k, (h, _) in enumerate(_state.duals)}


def _reached(t: Tensor, nodes: dict, visited: Optional[list] = None) -> List[int]:
    """The indices of the duals whose node t's graph reaches (not through a _Primal); the nodes on the way (those a
    backward from t to the duals may run) appended to visited."""
    if not t._requires_grad:
        return []
    stack, seen, found = [t._node()], set(), set()
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, Tensor):
            continue
        seen.add(id(node))
        if visited is not None:
            visited.append(node)
        if id(node) in nodes:
            found.add(nodes[id(node)])
            continue
        if type(node) is _Primal:
            continue
        stack += [p for p in node.parents if p is not None]
    return sorted(found)


def make_dual(tensor: Tensor, tangent: Tensor, *, level: Optional[int] = None) -> Tensor:
    """torch.autograd.forward_ad.make_dual: a tensor of tensor's values whose tangent, at the open level, is tangent
    (unpack_dual of anything computed from it gives J tangent). A recorded copy of tensor (not a view, unlike
    torch's: see the module docstring), through which gradients reach tensor where it requires grad; it requires
    grad even where tensor does not. tangent must have tensor's shape; its dtype may differ, as torch's
    (tangents are computed in the primal's dtype)."""
    level = _check_level(level, "_make_dual")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: expected Tensors, got {type(tensor).__name__} and {type(tangent).__name__}")
    if tensor.dtype.kind not in "fc":
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if tangent.dtype.kind not in "fc":
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tangent.dtype.kind == "c" and tensor.dtype.kind != "c":
        raise NotImplementedError(f"make_dual: a complex tangent ({tangent.dtype}) of a real primal ({tensor.dtype}) "
                                  "is not supported here (tangents are computed in the primal's dtype); make the "
                                  "primal complex")
    if tangent.shape != tensor.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError(f"make_dual: the tangent is on {tangent.device} but the primal is on {tensor.device}")
    if _reached(tensor, _dual_nodes()):
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {level} is not supported.")
    with inference_mode(False):
        base = tensor if tensor.requires_grad else tensor.detach().requires_grad_()
        dual = _Dual()(base)
    if base is not tensor:
        _state.own.add(id(base))  # (the dual's handle holds base, so the id stays its own while the level is open)
    # (a handle on the node, should dual be changed in place; a broadcast zero of its shape, which holds no
    # reference to the dual's memory, so an in-place change to the dual does not see it shared)
    xp = xp_of(dual.array)
    handle = Tensor._make(xp.broadcast_to(xp.zeros((), dual.dtype), dual.shape), dual.grad_fn, True)
    _state.duals.append((handle, tangent))
    _mode.dual = True
    if not _mode.inference and not _mode.grad_enabled:  # (under no_grad, ops on the dual record all the same)
        _mode.grad_enabled = _mode.forced = True
    return dual


def unpack_dual(tensor: Tensor, *, level: Optional[int] = None) -> UnpackedDualTensor:
    """torch.autograd.forward_ad.unpack_dual: (primal, tangent) of tensor at the level (the open one by default).
    tangent is None where tensor does not depend on a dual of the level (or no level is open), else
    sum over the duals d of J_d tangent_d, computed now by two backward passes (see the module docstring); it keeps
    its graph where grad mode is on and it depends on tensors that require grad (reverse over forward). primal is
    tensor itself where it has no tangent, else an identity of it through which no tangent passes (detached where
    nothing else requires grad)."""
    level = _state.level if level is None else level
    if level < 0 or _state.level < 0 or not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    nodes = _dual_nodes()
    visited: list = []
    which = _reached(tensor, nodes, visited)
    if not which:
        return UnpackedDualTensor(tensor, None)
    if level != _state.level:  # (torch's error for a tensor with a tangent, asked at a level that is not open)
        raise RuntimeError("Invalid level given to _fw_primal")
    if _outside(tensor):
        with inference_mode(False):
            primal = _Primal()(tensor)
    else:  # (nothing but the duals' own leaves: no graph to keep, and requires_grad=False, as torch's)
        primal = tensor.detach()
    node = tensor._node()
    if id(node) in nodes and not isinstance(node, Tensor):
        return UnpackedDualTensor(primal, _state.duals[nodes[id(node)]][1])
    return UnpackedDualTensor(primal, _tangent(tensor, [_state.duals[k] for k in which], visited))


def _tangent(t: Tensor, duals: List[Tuple[Tensor, Tensor]], visited: list) -> Optional[Tensor]:
    """sum_d J_d tangent_d by the double-vjp trick; None where t is not floating (no tangent, as torch's). The
    gradient hooks of the nodes on the way (visited: tensor hooks, retain_grad, node hooks) are set aside while it
    runs, as torch's forward AD runs none; the unpacking of saved tensors (saved_tensors_hooks) stays."""
    if t.dtype.kind not in "fc":
        return None
    handles = [h for h, _ in duals]
    keep = _mode.grad_enabled and not _mode.forced and (any(v.requires_grad for _, v in duals) or _outside(t))
    prev, prev_jvp = _state.computing, _mode.jvp
    hooked = [(n, n._hooks) for n in visited if n._hooks]
    for n, hooks in hooked:  # (a new list: hook handles hold the old one)
        n._hooks = [h for h in hooks if h is _UNPACK] or None
    _state.computing = True
    try:
        with inference_mode(False):
            u = t.detach().new_zeros(t.shape).requires_grad_()
            _mode.jvp = True  # (a custom Function's backward must depend on u: autograd_function's _check_linear)
            try:
                gs = grad(t, handles, u, retain_graph=True, create_graph=True, allow_unused=True)
            finally:
                _mode.jvp = prev_jvp
            total = None
            for g, (h, v) in zip(gs, duals):
                if g is not None:  # (complex: the real inner product <g, v> = Re(conj(g) v), as g and v encode
                    # the real and imaginary parts' derivatives and tangents)
                    term = (g * v.astype(g.dtype)).sum() if g.dtype.kind != "c" else \
                        (g.conj() * v.astype(g.dtype)).real.sum()
                    total = term if total is None else total + term
            jt = None
            if total is not None and total.requires_grad:
                jt = grad(total, u, create_graph=keep, allow_unused=True)[0]
    except RuntimeError as e:
        if "double backward" not in str(e) and "once_differentiable" not in str(e):
            raise
        raise RuntimeError(f"unpack_dual: forward AD here is the double-vjp trick, which needs double backward "
                           f"through every op from the duals to this tensor; {e}") from e
    finally:
        _state.computing = prev
        for n, hooks in hooked:
            n._hooks = hooks
    if jt is None:
        return t.detach().new_zeros(t.shape)
    return jt if keep and jt.requires_grad else jt.detach()


def _outside(t: Tensor) -> bool:
    """Whether grad mode is on and t's graph reaches a tensor that requires grad other than the duals' own leaves
    (so its tangent must keep a graph, for a backward through it)."""
    if not _mode.grad_enabled or _mode.forced:
        return False
    stack, seen = [t._node()], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Tensor):
            if id(node) not in _state.own:
                return True
            continue
        stack += [p for p in node.parents if p is not None]
    return False


# complex duals and tangents, as torch's: the tangent of a complex tensor is du + i dv (of its real and imaginary
# parts u, v), and the double-vjp trick holds for the conjugate Wirtinger backward (a real-linear map J^T of the
# parts), the inner product being Re(conj(g) v). The ops between duals and tangents are checked themselves (see
# tensor.complex_check): an op that refuses complex, or double backward, refuses here by name
for _fn in (make_dual, unpack_dual, _tangent, _Dual, _Primal, _reached, _outside, _dual_nodes, _check_level):
    complex_ok(_fn)
del _fn
