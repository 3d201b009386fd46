"""Reverse-mode differentiation: the backward engine, grad(), grad modes, anomaly detection.

The engine walks the graph in an iterative topological order (an explicit
heap of the nodes whose consumers are all done, no recursion), so a 10,000-step
unrolled RNN backpropagates like a 3-op expression. Gradients meeting at a node
are summed: a weight used at every time step receives the sum of every step's
gradient.
"""
from __future__ import annotations

import functools
import heapq
import inspect
import math
import sys
import warnings
from typing import Any, Callable, Collection, Dict, Optional, Sequence, Union

import numpy as np

from . import backend
from .backend import xp_of
from .tensor import complex_ok as _complex_ok
from .tensor import (AnomalyError, Function as _Op, NodePostHook, NodePreHook, PostAccumulateHook, Tensor, _OutputNode,
                     _RuntimeTypeError, _RuntimeValueError, _UNPACK, _is_sparse, _mode)

Node = Union[_Op, _OutputNode, Tensor]


class _VariableType(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableType):
    """torch.autograd.Variable, deprecated in torch since tensors took its place: ``Variable(t, requires_grad)``
    is a new leaf sharing t's memory (``t.detach().requires_grad_(requires_grad)``), and every tensor is an instance.
    ``volatile`` is accepted and ignored, as torch's."""

    def __new__(cls, data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # type: ignore
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)


def __getattr__(name: str) -> Any:
    """torch.autograd's gradcheck, gradgradcheck (gradcheck.py, which imports this module) and GradcheckError."""
    if name in ("gradcheck", "gradgradcheck", "GradcheckError"):
        from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: PLC0415
        return {"gradcheck": gradcheck, "gradgradcheck": gradgradcheck, "GradcheckError": GradcheckError}[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _set_recording(enabled: bool) -> None:
    """Grad mode on or off, as no_grad, enable_grad and set_grad_enabled ask (never on in inference mode). Off while a
    forward-AD level holds duals, ops record all the same (``forced``), so tangents reach results made there; see
    autograd_forward_ad."""
    on = enabled and not _mode.inference
    _mode.forced = not on and _mode.dual and not _mode.inference
    _mode.grad_enabled = on or _mode.forced


def _restore(prev: tuple) -> None:
    """Back to the recording state ``prev`` (grad_enabled, forced, dual) that a grad-mode context saved on entry:
    as it was where no forward-AD level opened or closed its duals meanwhile, else the grad mode asked for then,
    forced or not as the duals now say (a level closed inside the context must not leave forced recording behind
    it, nor one opened there leave no_grad unrecorded around its duals)."""
    grad_enabled, forced, dual = prev
    if dual == _mode.dual:
        _mode.grad_enabled, _mode.forced = grad_enabled, forced
    else:
        _set_recording(grad_enabled and not forced)


class _GradMode:
    """Context manager and decorator that sets whether ops record the graph."""

    enabled = False

    def __enter__(self) -> None:
        self._prev = (_mode.grad_enabled, _mode.forced, _mode.dual)
        _set_recording(self.enabled)

    def __exit__(self, *exc: Any) -> None:
        _restore(self._prev)

    def _again(self) -> "_GradMode":
        """A fresh context with this one's settings, entered on each call of a decorated function."""
        return type(self)()

    def __call__(self, fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            return self._generator(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._again():
                return fn(*args, **kwargs)
        return wrapper

    def _generator(self, fn: Callable) -> Callable:
        """A decorated generator function: the mode holds while the generator's body runs (each resume),
        not while its caller runs between items, as in torch."""
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            gen = fn(*args, **kwargs)
            step: Callable[[], Any] = lambda: gen.send(None)  # noqa: E731
            while True:
                try:
                    with self._again():
                        item = step()
                except StopIteration as stop:
                    return stop.value
                try:
                    sent = yield item
                except GeneratorExit:
                    with self._again():
                        gen.close()
                    raise
                except BaseException as e:
                    step = functools.partial(gen.throw, e)
                else:
                    step = functools.partial(gen.send, sent)
        return wrapper


class _Bare(_GradMode):
    """A mode that takes no argument, so it may also decorate bare: @no_grad as well as @no_grad()."""

    def __new__(cls, fn: Optional[Callable] = None) -> Any:
        if callable(fn):
            return cls()(fn)
        if fn is not None:
            raise TypeError(f"{cls.__name__}: takes no argument (or decorates a function bare), got {fn!r}")
        return super().__new__(cls)


class no_grad(_Bare):
    """Ops inside record nothing: for inference, optimizer updates and evaluation."""

    enabled = False


class enable_grad(_Bare):
    enabled = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` switches recording off at once (like torch); as a context
    manager it restores the previous mode on exit, as a decorator it applies per call."""

    def __init__(self, mode: bool) -> None:
        self.enabled = bool(mode)
        self._prev = (_mode.grad_enabled, _mode.forced, _mode.dual)
        _set_recording(self.enabled)

    def __enter__(self) -> None:
        pass

    def _again(self) -> "_GradMode":
        return set_grad_enabled(self.enabled)

    def __call__(self, fn: Callable) -> Callable:
        _restore(self._prev)  # decorating must not change the mode now
        return super().__call__(fn)


class inference_mode(_GradMode):
    """``torch.inference_mode()``: ops record nothing, and inside it enable_grad cannot switch recording
    back on (there is no separate inference-tensor state here); ``inference_mode(False)`` turns
    recording on. A context manager or a decorator, bare or called."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self._prev = (_mode.grad_enabled, _mode.forced, _mode.dual), _mode.inference
        _mode.grad_enabled, _mode.inference, _mode.forced = not self.mode, self.mode, False

    def __exit__(self, *exc: Any) -> None:
        _mode.inference = self._prev[1]
        _restore(self._prev[0])

    def _again(self) -> "_GradMode":
        return inference_mode(self.mode)


def is_grad_enabled() -> bool:
    """Whether grad mode is on (False under no_grad, also where a forward-AD level keeps recording there)."""
    return _mode.grad_enabled and not _mode.forced


def _set_anomaly(mode: bool, check_nan: bool) -> None:
    _mode.anomaly_enabled, _mode.anomaly_check_nan = bool(mode), bool(check_nan)
    _mode.anomaly = bool(mode) and bool(check_nan)


def _anomaly_state() -> tuple:
    return _mode.anomaly_enabled, _mode.anomaly_check_nan


def _restore_anomaly(state: tuple) -> None:
    _set_anomaly(*state)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """torch.set_anomaly_enabled(enabled, check_nan=True): anomaly mode on or off, for good (see detect_anomaly)."""
    for name, value in (("enabled", enabled), ("check_nan", check_nan)):
        if not isinstance(value, bool):
            raise TypeError(f"set_anomaly_enabled(): argument '{name}' must be bool, not {type(value).__name__}")
    _set_anomaly(enabled, check_nan)


def is_anomaly_enabled() -> bool:
    """torch.is_anomaly_enabled: whether anomaly mode (detect_anomaly, set_detect_anomaly) is on."""
    return _mode.anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    """torch.is_anomaly_check_nan_enabled: the check_nan setting last made (True by default, and kept while anomaly
    mode is off, as torch's): whether anomaly mode, when on, checks for nan (and, here, inf) values."""
    return _mode.anomaly_check_nan


class detect_anomaly(_GradMode):
    """Raise AnomalyError (a RuntimeError, as torch's) at the first op whose forward or backward produces nan or
    inf, naming the op: torch checks backward for nan only, this engine forward and inf too. ``check_nan=False``
    turns anomaly mode on without the checks (torch then only records forward tracebacks, which this engine does
    not keep). A context manager or a decorator. Off, it costs one flag check per op and per backward edge."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = _anomaly_state()
        _set_anomaly(True, self.check_nan)

    def __exit__(self, *exc: Any) -> None:
        _restore_anomaly(self._prev)

    def _again(self) -> "_GradMode":
        return detect_anomaly(self.check_nan)


class set_detect_anomaly:
    """torch.autograd.set_detect_anomaly(mode, check_nan=True): anomaly mode on or off at once (see
    detect_anomaly); as a context manager, the previous mode comes back on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = _anomaly_state()
        _set_anomaly(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _restore_anomaly(self._prev)


# --------------------------------------------------------------------------- the engine
def _dependencies(roots: Sequence[Node]) -> Dict[Node, int]:
    """How many consumers each node reachable from roots has in the graph (an edge per use; iterative). A root
    that another root's graph uses counts those uses too."""
    deps: Dict[Node, int] = dict.fromkeys(roots, 0)
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node._tensor_node or (node.fn if type(node) is _OutputNode else node).released:  # (no property call)
            continue
        for p in node.parents:  # (a plain loop: a generator here costs more than the walk itself)
            if p is None:
                continue
            if p in deps:
                deps[p] += 1
            else:
                deps[p] = 1
                stack.append(p)
    return deps


def _leading_to(roots: Sequence[Node], targets: Collection[Node], capture: bool) -> Dict[Node, bool]:
    """The nodes from which one of ``targets`` can be reached (targets included; an iterative post-order walk), each
    with whether its backward runs: grad() and backward(inputs=) run only the backward on those paths, as torch's, so
    a node off them (a fused op, which recomputes under create_graph) never runs. With ``capture`` (grad()), a
    target from which no other target can be reached runs only its hooks, as torch's grad() takes the gradient
    flowing into it without running its backward (which may have been freed, or have saved a tensor changed in
    place since)."""
    needed: Dict[Node, bool] = {}
    seen: set = set()
    stack = [(r, False) for r in roots]
    while stack:
        node, children_done = stack.pop()
        parents = () if isinstance(node, Tensor) else node.parents  # (a released node keeps its edges)
        if children_done:
            if True in [p in needed for p in parents]:
                needed[node] = True
            elif node in targets:
                needed[node] = not capture or isinstance(node, Tensor)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack += [(p, False) for p in parents if p is not None and p not in seen]
    return needed


def _priority(node: Node) -> float:
    """Ready nodes run newest first (torch's order): a leaf at once, an output just before its Function, a
    Function by when it was recorded. So one time step's nodes run together, and a weight used at every step
    gets each step's gradient as soon as that step is done, instead of T of them waiting."""
    if isinstance(node, Tensor):
        return -math.inf
    if type(node) is _OutputNode:
        return -node.fn.serial - 0.5
    return -node.serial


def _accumulate(pending: Dict[Node, list], node: Node, g: Tensor, create_graph: bool, fresh: bool = False) -> None:
    """pending[node] += g; sums in place into an array this engine allocated itself (or a ``fresh`` one)."""
    entry = pending.get(node)
    if entry is None:
        pending[node] = [g, fresh]
    elif entry[1] is None:  # (a sparse gradient pending, see _accumulate_sparse: dense + sparse is dense, as torch's)
        entry[0], entry[1] = g + entry[0], not create_graph
    elif create_graph:
        entry[0] = entry[0] + g
    elif entry[1]:
        entry[0].array += g.array
    else:  # (numpy makes a scalar of the sum of two 0-d arrays: keep an array, which a write in backward needs)
        total = entry[0].array + g.array
        entry[0], entry[1] = Tensor._make(total if total.ndim else xp_of(total).asarray(total)), True


def _accumulate_sparse(pending: Dict[Node, list], node: Node, g: Any, create_graph: bool) -> None:
    """pending[node] += g for a sparse COO gradient g (sparse.py's SparseCooTensor, as F.embedding(sparse=True)
    gives its weight): kept sparse (marked None, not owned) while only sparse ones arrive, their entries
    concatenated; dense once a dense one joins (dense + sparse, as torch's). A leaf takes it (_into_leaf); a Function
    whose backward torch runs on a sparse gradient (sparse.SPARSE_BACKWARD: w * 2, w + b, w.exp(), ...) takes it
    through that rule, installed on the node (so the dense path pays nothing), and passes a sparse gradient on; any
    other node gets its dense form (where torch's backward would fail)."""
    if not isinstance(node, Tensor):
        from .sparse import sparse_backward  # noqa: PLC0415
        if type(node) is _OutputNode or not sparse_backward(node):
            _accumulate(pending, node, g.to_dense(), create_graph, True)
            return
    entry = pending.get(node)
    if entry is None:
        pending[node] = [g, None]
    elif entry[1] is None:
        entry[0] = entry[0] + g
    else:
        entry[0], entry[1] = entry[0] + g, True


def _owned_buffer(pending: Dict[Node, list], node: Node, shape: tuple, like: Any) -> Any:
    """The gradient array pending for node, allocated (zeros) or copied so the engine may add into it."""
    entry = pending.get(node)
    if entry is None:
        entry = pending[node] = [Tensor._make(xp_of(like).zeros(shape, like.dtype)), True]
    elif not entry[1]:  # (None: a sparse gradient, made dense)
        dense = entry[0].to_dense().array if entry[1] is None else entry[0].array.copy()
        entry[0], entry[1] = Tensor._make(dense), True
    return entry[0].array


def _as_grad(root: Tensor, g: Any, op: str) -> Tensor:
    if g is None:
        a = root.array  # (its attributes read directly: no property calls)
        if a.dtype.kind == "c":
            raise RuntimeError(f"{op}: grad can be implicitly created only for real scalar outputs (this one is "
                               f"{root.dtype}); pass gradient=, or take a real part or abs first")
        if a.size != 1:
            raise RuntimeError(f"{op}: a gradient can be implied only for a scalar output; this output has shape "
                               f"{root.shape}, so pass gradient= (or grad_outputs=) of that shape")
        one = (np if type(a) is np.ndarray else xp_of(a)).empty(a.shape, a.dtype)  # (np.ones: two Python calls)
        one[...] = 1
        return Tensor._make(one)
    g = g if isinstance(g, Tensor) else Tensor(g, dtype=root.dtype, device=root.device)
    if g.shape != root.shape:
        raise _RuntimeValueError(f"{op}: gradient has shape {g.shape} but the output has shape {root.shape}")
    if g.device != root.device:
        raise _RuntimeValueError(f"{op}: gradient is on {g.device} but the output is on {root.device}")
    if g.dtype != root.dtype:  # (in the output's dtype, as torch's engine casts it: hooks and retain_grad see that)
        g = g.astype(root.dtype)
    return g


def run_backward(roots: Sequence[Tensor], grads: Sequence[Tensor], retain_graph: bool,
                 create_graph: bool, capture: Optional[Dict[Node, Optional[Tensor]]] = None,
                 targets: Optional[Collection[Node]] = None) -> None:
    """Propagate grads from roots to every node. With ``capture`` (a dict keyed by node),
    store the total gradient reaching each captured node there instead of touching ``.grad``. With ``targets``
    (backward's inputs=), run only the nodes from which a target can be reached: of the leaves, only the targets
    take a gradient."""
    pending: Dict[Node, list] = {}
    nodes = [r.grad_fn or r for r in roots]  # (r._node())
    for node, g in zip(nodes, grads):
        _accumulate(pending, node, g, create_graph)
    starts = list(dict.fromkeys(nodes))
    deps = _dependencies(starts)
    if capture is not None:
        targets = capture
    needed = None if targets is None else _leading_to(starts, targets, capture is not None)
    ready = [(_priority(n), k, n) for k, n in enumerate(starts) if not deps[n]]  # (a root another uses waits)
    heapq.heapify(ready)
    prev_mode, prev_wanted, prev_task = _mode.grad_enabled, _mode.wanted, _mode.task
    _mode.grad_enabled, _mode.wanted, _mode.task = create_graph, needed, [None, deps, needed, capture]
    try:  # (gradients at inf and 0: inf or nan, quietly, as torch's)
        backend.quietly(_drain, ready, pending, deps, needed, retain_graph, create_graph, capture)
    finally:
        _mode.grad_enabled, _mode.wanted, _mode.task = prev_mode, prev_wanted, prev_task
    if pending:  # (every node that got a gradient has been visited: anything left is an engine bug)
        raise RuntimeError(f"backward: internal error, {len(pending)} gradients were never passed on")


def _drain(ready: list, pending: Dict[Node, list], deps: Dict[Node, int], needed: Optional[Dict[Node, bool]],
           retain_graph: bool, create_graph: bool, capture: Optional[Dict[Node, Optional[Tensor]]]) -> None:
    """Visit the ready nodes newest first; a parent whose consumers have all passed their gradient on is ready.
    With ``needed`` (see _leading_to), only the nodes it holds: those it maps to False are only captured."""
    count = len(ready)
    while ready:
        node = heapq.heappop(ready)[2]
        parents = () if node._tensor_node or (node.fn if type(node) is _OutputNode else node).released \
            else node.parents  # (before a release; an output node's released is its Function's, read without a call)
        entry = pending.pop(node, None)
        if entry is not None and (needed is None or needed.get(node)):
            _visit(node, entry, pending, retain_graph, create_graph, capture)
        elif entry is not None and node in needed:  # (needed is a dict here)
            _capture(node, entry[0], capture)
        del entry  # a gradient lives only until its node has passed it on
        for p in parents:
            if p is not None:
                left = deps[p] - 1
                deps[p] = left
                if left:
                    continue
                if p._tensor_node:  # (isinstance(p, Tensor))
                    if needed is None and not p._hooks:  # (a plain backward into a leaf without hooks: what _visit
                        entry = pending.pop(p, None)  # would do, at once, as the heap would pop it next anyway:
                        if entry is not None:  # a leaf's priority is the lowest, and leaves made ready here pop
                            _into_leaf(p, entry[0], entry[1], create_graph)  # in this order)
                        del entry
                        continue
                    priority = -math.inf
                else:  # (_priority's, inline: it runs for every node)
                    priority = -p.fn.serial - 0.5 if type(p) is _OutputNode else -p.serial
                count += 1
                heapq.heappush(ready, (priority, count, p))


def _visit(node: Node, entry: list, pending: Dict[Node, list], retain_graph: bool, create_graph: bool,
           capture: Optional[Dict[Node, Optional[Tensor]]]) -> None:
    """Run hooks on the gradient reaching node, then store it (leaf) or pass it to node's parents."""
    g = entry[0]
    if capture is not None and node._tensor_node and node not in capture:
        return  # (grad(): a leaf not asked for takes nothing, its hooks included, as in torch)
    hooks = node._hooks
    if hooks:
        g = _run_hooks(hooks, g)
        if entry[1]:  # a hook may keep g: never adopt it as a leaf's in-place .grad buffer (None: sparse, stays)
            entry[1] = False
    if capture is not None and node in capture:
        capture[node] = g
    if node._tensor_node:  # (isinstance(node, Tensor))
        if capture is None:
            if hooks:
                _into_leaf_hooked(node, hooks, g, create_graph)
            else:
                _into_leaf(node, g, entry[1], create_graph)
        return
    if (node.fn if type(node) is _OutputNode else node).released:  # (_OutputNode.released, without the call)
        raise RuntimeError(
            f"backward: trying to go through the graph a second time ({node.name}'s saved values were "
            "freed by the first backward). Pass retain_graph=True to the first backward, or detach() "
            "the hidden state between truncated-BPTT chunks")
    if type(node) is _OutputNode:  # one output of several: its gradient waits in its Function's list
        fn, k = node.fn, node.index
        if fn not in pending:
            pending[fn] = [[None] * fn.n_outputs, False]
        grads = pending[fn][0]
        grads[k] = g if grads[k] is None else grads[k] + g  # (a sum: Function.output may make a second node)
        return
    for t, v in zip(node.saved, node.saved_versions):
        if (0 if t._vc is None else t._vc[0]) != v and _read_by_wanted(node, t, create_graph):  # (t._version)
            raise RuntimeError(f"backward: a tensor of shape {t.shape} that {node.name} saved for backward was "
                               "changed in place after the forward pass; the gradient would be wrong")
    if node.save_output and node._out_vc[0]:
        raise RuntimeError(f"backward: the output of {node.name} (shape {node._out.shape}), which it saved for "
                           "backward, was changed in place after the forward pass; the gradient would be wrong")
    post = None
    if hooks:  # (the node's own pre-hooks, and its saved tensors to unpack)
        g, post = _node_prehooks(node, hooks, g, create_graph)
        if g is None or (type(g) is list and all(x is None for x in g)):
            # a pre-hook returned None for every gradient: torch's undefined gradient, so no backward and nothing
            # goes on to the parents (its post-hooks still see (None, ...))
            if post:
                _node_posthooks(node, post, (None,) * len(node.parents), g)
            if not retain_graph:
                node.release()
            return
    into = node.backward_into
    if into is not None and not create_graph and post is None:  # add straight into the parent's gradient buffer
        if node.parents[0] is not None:
            into(g.array, _owned_buffer(pending, node.parents[0], node.in_shape, g.array))
    else:
        try:
            in_grads = node.backward(*g) if type(g) is list else node.backward(g)  # (a list: several outputs)
        except FloatingPointError as e:
            if not _mode.anomaly:
                raise
            # an op inside this backward (e.g. sqrt's g / (2 y) at y = 0) produced the nan/inf
            inner = str(e).removeprefix("detect_anomaly: ")
            raise AnomalyError(f"detect_anomaly: backward of {node.name}: Function '{type(node).__name__}' returned "
                               f"nan or inf values ({inner})") from None
        if type(in_grads) is not tuple and isinstance(in_grads, Tensor) and len(node.parents) == 1:
            in_grads = (in_grads,)  # (torch accepts a bare one, too)
        if not isinstance(in_grads, tuple) or len(in_grads) != len(node.parents):
            raise _RuntimeTypeError(f"backward of {node.name} must return a tuple of {len(node.parents)} gradients (a "
                                    f"Tensor or None per input), got {_describe_grads(in_grads)}")
        if post:
            in_grads = _node_posthooks(node, post, in_grads, g)
        fresh = node.fresh_grads
        for k, (parent, ig) in enumerate(zip(node.parents, in_grads)):
            if ig is None or parent is None:
                continue
            # (a parent released by an earlier backward has no out_shape: visiting it raises the clear error)
            if parent._tensor_node:  # (isinstance(parent, Tensor))
                want, dtype = parent.array.shape, parent.array.dtype
            else:
                want, dtype = getattr(parent, "out_shape", None), getattr(parent, "out_dtype", None)
            if not isinstance(ig, Tensor) or (want is not None and ig.array.shape != want):
                if _is_sparse(ig) and tuple(ig.shape) == want:  # (sparse.py's COO, not a Tensor: embedding's)
                    _accumulate_sparse(pending, parent, ig, create_graph)
                    continue
                raise _RuntimeValueError(f"backward of {node.name} returned {_describe_grads(ig)} as the gradient "
                                         f"of input {k}, which is a Tensor of shape {want}")
            owned = fresh
            if ig.array.dtype is not dtype and dtype is not None and ig.array.dtype != dtype and dtype.kind in "fc":
                # each tensor's gradient in its dtype, as torch's engine casts it: a float64 loss on a float32
                # model sends float32 gradients through the model (hooks and retain_grad see float32). (``is
                # not`` first: numpy's builtin dtypes are single objects, and != costs ~0.1 us an edge.) A
                # complex gradient of a real tensor is its real part, as torch's
                ig, owned = _cast_gradient(ig, dtype, create_graph), True
            if _mode.anomaly:
                _check_gradient(node, k, ig.array)
            if parent in pending:
                _accumulate(pending, parent, ig, create_graph, owned)
            else:  # (the common case, without the call)
                pending[parent] = [ig, owned]
    if not retain_graph:
        node.release()
    elif hooks and _UNPACK in hooks:
        node._repack()


def _into_leaf_hooked(leaf: Tensor, hooks: list, g: Tensor, create_graph: bool) -> None:
    """A leaf with hooks, in torch's order: its AccumulateGrad node's pre-hooks, the accumulation, the post accumulate
    grad hooks, the node's hooks (with grad_inputs ())."""
    g, post = _node_prehooks(leaf, hooks, g, create_graph)
    if g is not None:  # (None: a pre-hook made it torch's undefined gradient, which accumulates nothing)
        _into_leaf(leaf, g, None if g.is_sparse else False, create_graph)
    for hook in list(hooks):
        if type(hook) is PostAccumulateHook:
            hook(leaf)
    if post:
        _node_posthooks(leaf, post, (), g)


def _node_prehooks(node: Node, hooks: list, g: Any, create_graph: bool) -> tuple:
    """Run node's pre-hooks on its gradients (one per output: a list for several, as _visit holds them) and unpack
    its saved tensors; return the gradients and node's post-hooks (None if it has none)."""
    post = None
    for hook in list(hooks):  # (a hook may remove itself)
        kind = type(hook)
        if hook is _UNPACK:
            node._unpack_saved(create_graph)
        elif kind is NodePreHook:
            outs = tuple(g) if type(g) is list else (g,)
            new = hook.fn(outs)
            if new is not None:
                new = _hook_result(hook.fn, new, outs)
                g = list(new) if type(g) is list else new[0]
        elif kind is NodePostHook:
            post = [hook] if post is None else post + [hook]
    return g, post


def _node_posthooks(node: Node, post: list, in_grads: tuple, g: Any) -> tuple:
    """Run node's hooks on (grad_inputs, grad_outputs): None for an input that does not require grad, as torch's;
    a returned tuple replaces grad_inputs."""
    parents = () if isinstance(node, Tensor) else node.parents
    in_grads = tuple([None if p is None else ig for p, ig in zip(parents, in_grads)])
    outs = tuple(g) if type(g) is list else (g,)
    for hook in post:
        new = hook.fn(in_grads, outs)
        if new is not None:
            in_grads = _hook_result(hook.fn, new, in_grads)
    return in_grads


def _hook_result(fn: Callable, new: Any, old: tuple) -> tuple:
    """A node hook's returned gradients, checked as torch's: a tuple of as many, each None or of the same shape."""
    name = getattr(fn, "__name__", type(fn).__name__)
    if type(new) is not tuple:
        raise TypeError(f"expected tuple, but hook returned '{type(new).__name__}'")
    if len(new) != len(old):
        raise RuntimeError(f"hook '{name}' has returned an incorrect number of values (got {len(new)}, but expected "
                           f"{len(old)})")
    for n, o in zip(new, old):
        if n is not None and not isinstance(n, Tensor):
            raise TypeError(f"hook '{name}' returned a {type(n).__name__} where a Tensor or None was expected")
        if n is not None and o is not None and n.shape != o.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value (shape {o.shape} to {n.shape})")
    return new


def _check_gradient(node: _Op, k: int, g: Any) -> None:
    """Anomaly mode: the gradient node's backward returned for input k must be finite (torch's message)."""
    xp = xp_of(g)
    if g.dtype.kind in "fc" and not bool(xp.isfinite(g).all()):
        what = "nan" if bool(xp.isnan(g).any()) else "inf"
        raise AnomalyError(f"detect_anomaly: backward of {node.name}: Function '{type(node).__name__}' returned "
                           f"{what} values in its {k}th output (the gradient of its input {k}, shape {g.shape})")


def _capture(node: Node, g: Tensor, capture: Dict[Node, Optional[Tensor]]) -> None:
    """A grad() input's node from which no other input can be reached: its hooks see the gradient, which is
    captured; its backward does not run (and so does not release it), as in torch."""
    if node._hooks:
        g = _run_hooks(node._hooks, g)
    capture[node] = g


def _read_by_wanted(node: _Op, t: Tensor, create_graph: bool) -> bool:
    """Whether a gradient this backward computes reads the saved tensor t (Function.saved_for; without it, every
    gradient counts): a saved input changed in place matters only then, as torch saves x in x * c only when c
    needs grad. A fused node's backward under create_graph recomputes its forward from every saved input
    (``composed_double_backward``), so there any of them counts."""
    if node.saved_for is None or (create_graph and getattr(node, "composed_double_backward", False)):
        return True
    readers = [node.saved_for[k] for k, s in enumerate(node.saved) if s is t]
    return True in [node.parents[i] is not None for r in readers for i in r]


def _run_hooks(hooks: list, g: Tensor) -> Tensor:
    """Call each hook on the gradient in turn; a Tensor one returns replaces the gradient."""
    for hook in hooks:
        if type(hook) is PostAccumulateHook or isinstance(hook, NodePreHook):  # (those run in _visit)
            continue
        new = hook(g)
        if new is not None:
            sparse = getattr(new, "is_sparse", None)  # (True: a sparse COO tensor, as a sparse gradient's hook gives)
            if (sparse is not True and not isinstance(new, Tensor)) or new.shape != g.shape:
                raise _RuntimeValueError(f"register_hook: a hook must return None or a Tensor of shape {g.shape}, "
                                         f"got {getattr(new, 'shape', type(new).__name__)}")
            if sparse is not g.is_sparse:  # (torch's message)
                kinds = ("a dense tensor", "a sparse COO tensor")
                raise RuntimeError(f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed the type of "
                                   f"value (was {kinds[g.is_sparse]} got {kinds[sparse]})")
            g = new
    return g


def _cast_gradient(ig: Tensor, dtype: Any, create_graph: bool) -> Tensor:
    """A gradient in its tensor's float or complex dtype (see run_backward); complex to real takes the real part."""
    if ig.array.dtype.kind == "c" and dtype.kind != "c":
        return ig.real.astype(dtype) if create_graph else Tensor._make(ig.array.real.astype(dtype))
    return ig.astype(dtype) if create_graph else Tensor._make(ig.array.astype(dtype))


def _describe_grads(v: Any) -> str:
    if isinstance(v, Tensor):
        return f"a Tensor of shape {v.shape}"
    if isinstance(v, (tuple, list)):
        return f"a {type(v).__name__} of {len(v)}"
    return f"a {type(v).__name__}"


def _into_leaf(leaf: Tensor, g: Tensor, owned: bool, create_graph: bool) -> None:
    """leaf.grad += g, as torch's AccumulateGrad: nothing for a leaf given requires_grad_(False) since the graph
    used it, and an error for one an in-place op has since made the output of a node."""
    if not leaf._requires_grad:
        return
    if owned is None:  # (a sparse COO gradient, see _accumulate_sparse)
        _into_leaf_sparse(leaf, g)
        return
    if leaf.grad_fn is not None:
        raise RuntimeError(f"backward: a leaf tensor of shape {leaf.shape} that this graph used has since become the "
                           f"output of {leaf.grad_fn.name} (an in-place op), so its gradient has nowhere to go (torch: "
                           "leaf variable has been moved into the graph interior)")
    gd, ld = g.array.dtype, leaf.array.dtype
    if gd is not ld and gd != ld:  # (``is not`` first, as _visit's cast: != costs ~0.1 us)
        g, owned = g.astype(leaf.dtype), True
    if leaf._grad is None:  # (._grad: the engine's gradients match their leaf, unlike what a user may assign)
        # keep g itself only if this engine allocated it, or it is a recorded result (create_graph);
        # a constant g may be a read-only broadcast view or shared, and a later backward adds in place
        keep = owned or (create_graph and g.grad_fn is not None)
        # a broadcast view (read-only in numpy; for CuPy, any zero stride: its (1,) view of a 0-d gradient
        # looks writable but is shared) or any other view (expand's of a 0-d gradient to (1,), which repeats no
        # element, is a plain view shared by every leaf it reaches) gets memory of its own, recorded so the
        # graph stays, for zero_() or an optimizer to write
        if keep and create_graph and (not backend.is_writable(g.array) or 0 in g.array.strides
                                      or g._base is not None):
            g = g.clone()
        leaf._grad = g if keep else Tensor._make(g.array.copy())
    elif create_graph or leaf._grad.grad_fn is not None:
        leaf._grad = g + leaf._grad if leaf._grad.is_sparse else leaf._grad + g
    else:
        try:
            leaf._grad.array += g.array
        except AttributeError:  # (a sparse gradient from an earlier backward has no .array: dense + sparse is dense,
            if not leaf._grad.is_sparse:  # as torch's; caught, not tested for, so a dense one pays nothing)
                raise
            leaf._grad = g + leaf._grad
            return
        leaf._grad._bump_version()  # (a graph that saved the old .grad must not see the sum)


def _into_leaf_sparse(leaf: Tensor, g: Any) -> None:
    """leaf.grad += g for a sparse COO gradient g, as torch's AccumulateGrad: g itself (detached) when there is
    none, grad + g when the gradient is sparse (torch's grad += g, in place unless a graph is recorded: the same
    object with the sum's entries, though torch's CPU sparse add interleaves two uncoalesced operands' entries by a
    merge walk where this one concatenates them), dense + sparse (in place) when it is dense."""
    if leaf.grad_fn is not None:
        raise RuntimeError(f"backward: a leaf tensor of shape {leaf.shape} that this graph used has since become the "
                           f"output of {leaf.grad_fn.name} (an in-place op), so its gradient has nowhere to go")
    if g.dtype != leaf.dtype:
        g = g.to(leaf.dtype)
    grad = leaf._grad
    if grad is None:
        if g.grad_fn is None:  # (values of its own, writable: GradScaler.unscale_ scales them in place)
            values = g._values().array
            keep = backend.is_writable(values) and 0 not in values.strides
            g = g.detach() if keep else g._with_values(Tensor._make(values.copy()))
        leaf._grad = g
    elif grad.is_sparse and grad.grad_fn is None and g.grad_fn is None:  # (in place, as torch's: the same object,
        total = grad + g  # new index and value arrays, so nothing else sharing the old ones sees the sum)
        grad._idx, grad._val, grad._coalesced = total._idx, total._val, total._coalesced
    elif grad.is_sparse or grad.grad_fn is not None:
        leaf._grad = grad + g
    else:
        from .sparse import _add_into  # noqa: PLC0415  (torch's grad += g: entry by entry, as its add_)
        _add_into(grad.array, g, 1)
        grad._bump_version()


def _grads_for(outputs: list, given: Any, op: str) -> list:
    """The gradient each output starts with: ``given`` is None (implied, scalars only), a Tensor (for the one
    output) or a sequence with one Tensor or None per output (more are ignored, as in torch)."""
    given = [None] * len(outputs) if given is None else [given] if isinstance(given, Tensor) else list(given)
    if len(given) < len(outputs):
        raise RuntimeError(f"{op}: got {len(outputs)} tensors and {len(given)} gradients; pass one gradient (or "
                           "None) per tensor")
    return [_as_grad(t, g, op) for t, g in zip(outputs, given)]


def backward(tensors: Union[Tensor, Sequence[Tensor]], grad_tensors: Optional[Any] = None,
             retain_graph: Optional[bool] = None, create_graph: bool = False, inputs: Optional[Any] = None) -> None:
    """Sum d(tensors)/d(leaf) (weighted by grad_tensors) into each leaf's ``.grad``.

    retain_graph defaults to create_graph; without it the saved arrays are freed
    and a second backward through the same graph raises. With ``inputs`` (a Tensor, a sequence of them, or a dict,
    whose values count), as torch's: only those tensors' ``.grad`` take the gradient, other leaves are left alone,
    and only the backward of nodes leading to them runs; a non-leaf input gets retain_grad() (its ``.grad`` filled
    now, and by later backward calls too).
    """
    targets = None if inputs is None else _backward_inputs(inputs)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for t in tensors:
        if not t._requires_grad:  # (the engine reads the field, as Function.__call__)
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn; "
                               "did you compute it under no_grad() or from tensors without requires_grad=True?")
    grads = _grads_for(tensors, grad_tensors, "backward")
    for t in targets or ():
        t.retain_grad()  # (a leaf: nothing to do)
    run_backward(tensors, grads, create_graph if retain_graph is None else retain_graph, create_graph,
                 targets=None if targets is None else {t._node() for t in targets})


def _backward_inputs(inputs: Any) -> list:
    """backward's inputs= as a list of tensors that require grad (a Tensor, a sequence, or a dict's values)."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs.values() if type(inputs) is dict else inputs)
    if not inputs:
        raise RuntimeError("backward: inputs= cannot be empty; leave it out (None) to accumulate into every leaf")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: inputs= must hold Tensors, got a {type(t).__name__} at index {i}")
        if not t.requires_grad:
            raise RuntimeError(f"backward: inputs[{i}] (shape {t.shape}) does not require grad, so no gradient can "
                               "be accumulated into it")
    return inputs


def grad(outputs: Union[Tensor, Sequence[Tensor]], inputs: Union[Tensor, Sequence[Tensor], Dict[str, Tensor]],
         grad_outputs: Optional[Any] = None, retain_graph: Optional[bool] = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: Optional[bool] = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> Any:
    """d(outputs)/d(inputs) as a tuple, like torch.autograd.grad; ``.grad`` fields are not touched.

    With create_graph=True the returned gradients are themselves differentiable
    (Hessian-vector products: grad(grad(f, x, create_graph=True)[0] @ v, x)). An input the outputs do not depend
    on is an error, None with allow_unused=True, or zeros of its shape and dtype with materialize_grads=True (which
    implies allow_unused, and refuses an explicit allow_unused=False, as torch's); the zeros require grad under
    create_graph. Inputs given as a dict give a dict of gradients under the same keys (torch 2.13's form). With
    is_grads_batched each grad_output has a leading batch dim and the result one too: a vector-Jacobian product per
    row, run here as a loop of backward passes (torch's vmap batches them). ``only_inputs`` is torch's deprecated
    flag, ignored (False warns, as torch's).
    """
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", FutureWarning,
                      stacklevel=2)
    if isinstance(inputs, (dict, list, tuple)) and not inputs:
        raise RuntimeError("grad: `inputs` argument to `grad()` cannot be empty.")
    if isinstance(inputs, dict):
        got = grad(outputs, list(inputs.values()), grad_outputs, retain_graph, create_graph, True, allow_unused,
                   is_grads_batched, materialize_grads)
        return dict(zip(inputs, got))
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: materialize_grads=True gives zeros for an unused input, which allow_unused=False "
                         "forbids; leave allow_unused out (or True)")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):  # (torch's RuntimeError; a TypeError too)
            raise _RuntimeTypeError(f"grad: inputs must be Tensors, but input {i} is a {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an output (shape {t.shape}) does not require grad")
    gs = _grads_for(outputs, grad_outputs, "grad")
    capture: Dict[Node, Optional[Tensor]] = {t._node(): None for t in inputs}
    run_backward(outputs, gs, create_graph if retain_graph is None else retain_graph, create_graph, capture)
    result = []
    for i, t in enumerate(inputs):
        g = capture[t._node()]
        if g is None and materialize_grads:
            g = Tensor._make(xp_of(t.array).zeros(t.shape, t.dtype), requires_grad=create_graph)
        elif g is None and not allow_unused:
            raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                               "Set allow_unused=True if this is the desired behavior.")  # (torch's words)
        elif g is not None and g.is_sparse:  # (a sparse COO gradient, F.embedding(sparse=True)'s, as torch's)
            g = (g if create_graph else g.detach()).to(t.dtype)
        elif g is not None and g.dtype != t.dtype:  # in the input's dtype, as .backward() stores it
            g = g.astype(t.dtype)
        elif g is not None and not create_graph and not backend.is_writable(g.array):
            g = Tensor._make(g.array.copy())  # a read-only broadcast view: give memory of its own
        result.append(g)
    return tuple(result)


def _batched_grad(outputs: Any, inputs: Any, grad_outputs: Any, retain_graph: Optional[bool], create_graph: bool,
                  allow_unused: Optional[bool], materialize_grads: bool) -> tuple:
    """grad(..., is_grads_batched=True): one pass per row of the grad_outputs (each with a leading batch dim of one
    size), the gradients stacked along a new first dim (None where an input got None)."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    rows = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs or [])
    if len(rows) != len(outs) or not all(isinstance(g, Tensor) and g.ndim >= 1 for g in rows):
        raise _RuntimeValueError("grad: is_grads_batched=True needs a grad_output tensor for every output, each with a "
                                 "leading batch dim")
    n = rows[0].shape[0]
    if any(g.shape[0] != n or g.shape[1:] != o.shape for g, o in zip(rows, outs)):
        raise _RuntimeValueError(f"grad: is_grads_batched=True needs grad_outputs of shape (batch, *output.shape) with "
                                 f"one batch size, got {[g.shape for g in rows]} for outputs {[o.shape for o in outs]}")
    from .ops import stack  # noqa: PLC0415  (ops imports this module)
    if n == 0:
        return tuple(Tensor._make(xp_of(t.array).zeros((0,) + t.shape, t.dtype)) for t in inputs)
    per_row = [grad(outs, inputs, [g[i] for g in rows], True if i < n - 1 else retain_graph, create_graph, True,
                    allow_unused, False, materialize_grads) for i in range(n)]
    return tuple(None if got[0] is None else stack(list(got)) for got in zip(*per_row))


from . import autograd_functional as functional  # noqa: E402, F401  (tg.autograd.functional, as torch's; it uses grad)
# torch's custom-op API (tg.autograd.Function, tg.autograd.function.once_differentiable); tg.Function is the engine's
from . import autograd_function as function  # noqa: E402, F401
from .autograd_function import Function, FunctionCtx, once_differentiable  # noqa: E402, F401
from . import autograd_graph as graph  # noqa: E402, F401  (tg.autograd.graph, as torch's)
from . import autograd_forward_ad as forward_ad  # noqa: E402, F401  (tg.autograd.forward_ad, as torch's)
from . import autograd_profiler as profiler  # noqa: E402, F401  (tg.autograd.profiler, as torch's)
# torch.autograd is a package: `import torch.autograd.forward_ad as fwAD`, `from torch.autograd.functional import
# jacobian` name its modules. This one is a module, so its submodules are registered under those names
for _sub in ("functional", "function", "graph", "forward_ad", "profiler"):
    sys.modules[f"{__name__}.{_sub}"] = globals()[_sub]
del _sub


# the engine passes complex gradients through as it does real ones (see tensor.complex_check)
for _fn in (_accumulate, _accumulate_sparse, _owned_buffer, _as_grad, run_backward, _drain, _visit, _into_leaf_hooked,
            _node_prehooks, _node_posthooks, _hook_result, _check_gradient, _capture, _run_hooks, _cast_gradient,
            _into_leaf, _into_leaf_sparse, _grads_for, backward, grad, backend.quietly):
    _complex_ok(_fn)
del _fn
