"""torch.autograd.Function (``tg.autograd.Function``): a custom op written by the user on Tensors.

``forward(ctx, *args)`` (or torch 2.x's ``forward(*args)`` with a separate ``setup_context(ctx, inputs, output)``)
runs with recording off; its outputs get one graph node whose backward calls the user's
``backward(ctx, *grads)`` with Tensors, so a backward written with Tensor ops is itself recorded under
create_graph (double backward, as torch's). This is not ``tg.Function``, the engine's own op class (forward on
arrays, declared saved inputs), which every built-in op is and which this module leaves untouched.
"""
from __future__ import annotations

import functools
import inspect
import warnings
import weakref
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from . import ops as _ops
from .autograd import no_grad
from .backend import xp_of
from .sparse import SparseCooTensor
from .tensor import (Function as _Op, Tensor, _mode, _OutputNode, _relink, _saved_hooks, _serials, _unpacked,
                     complex_ok, dtype_name)

_SECOND_TIME = ("Trying to backward through the graph a second time (or to read saved tensors after they were "
                "freed): the saved tensors of {} were freed by the first backward; pass retain_graph=True to it")


class FunctionCtx:
    """The ``ctx`` that forward (or setup_context) fills and backward reads: save_for_backward / saved_tensors,
    needs_input_grad, mark_non_differentiable, mark_dirty, set_materialize_grads, and any attribute of the user's
    own (ctx.k = k)."""

    def __init__(self) -> None:
        self.needs_input_grad: Tuple[bool, ...] = ()
        self._to_save: Optional[tuple] = None
        self._saved: Optional[list] = []  # packed by apply; None once backward freed them
        self._non_differentiable: List[Tensor] = []
        self._dirty: List[Tensor] = []
        self.materialize_grads = True
        self._name = "Function"
        self._node: Optional[weakref.ref] = None  # (weak: the node holds this ctx)

    def save_for_backward(self, *tensors: Optional[Tensor]) -> None:
        """Keep tensors (inputs, outputs or intermediates, sparse COO ones too; None too) for backward, which reads
        them as ``saved_tensors``; an input or output changed in place since makes that read raise, as torch's."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, (Tensor, SparseCooTensor)):
                raise TypeError(f"save_for_backward can only save tensors (or None), but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> Tuple[Optional[Tensor], ...]:
        """The tensors save_for_backward kept; a saved output comes back with its grad_fn while recording
        (create_graph), so a backward that reads it differentiates through it."""
        if self._saved is None:
            raise RuntimeError(_SECOND_TIME.format(self._name))
        node = self._node() if self._node is not None else None
        return tuple([_unpack(s, self._name, node) for s in self._saved])

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """These outputs get no gradient (requires_grad False); backward receives zeros (or None) for them."""
        self._non_differentiable += tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        """These inputs were changed in place by forward and are returned as outputs: they take the output's
        place in the graph (torch's in-place custom op). Refused for a leaf that requires grad and for a view or
        memory shared with another tensor, which this engine cannot rebase."""
        self._dirty += tensors

    def set_materialize_grads(self, value: bool) -> None:
        """True (the default): a None gradient (an output no gradient reached) reaches backward as zeros of the
        output's shape; False: as None."""
        self.materialize_grads = bool(value)


def _unpack(s: Optional[tuple], name: str, node: Optional[_Backward]) -> Optional[Tensor]:
    """One saved entry as a Tensor, after the in-place check: (tensor, vc, version) for an input or an
    intermediate; (sparse, vc, version, values) for a sparse COO tensor, whose in-place ops replace its values;
    (array, vc, version, index, differentiable) for an output, rebuilt so no cycle is kept."""
    if s is None:
        return None
    if type(s) is _Hooked:
        return s.unpack(node)
    vc, version = s[1], s[2]
    now = vc[0] if len(s) != 4 or s[0]._val is s[3] else version + 1  # (a sparse one's values replaced)
    if now != version:
        raise RuntimeError(f"one of the variables needed for gradient computation has been modified by an inplace "
                           f"operation: a tensor of shape {s[0].shape} that {name} saved for backward is at version "
                           f"{now}; expected version {version} instead (the gradient would be wrong)")
    if len(s) < 5:
        return s[0]
    data, index, differentiable = s[0], s[3], s[4]
    if node is None or not (_mode.grad_enabled and differentiable):
        t = Tensor._make(data)
    elif node.n_outputs == 1 and not node.tuple_output:
        t = Tensor._make(data, node, True)
    else:
        t = Tensor._make(data, node.output_node(index), True)
    t._vc = vc
    return t


class _Backward(_Op):
    """The graph node of one call of a torch-style Function (named ``<Class>Backward``, as torch's): the engine
    hands it the outputs' gradients and it returns one gradient per forward argument."""

    fn_cls: Any = None
    tuple_output = False

    def backward(self, *grads: Optional[Tensor]) -> Tuple[Optional[Tensor], ...]:
        ctx, name = self.ctx, self.name
        if ctx.materialize_grads:
            grads = tuple([_zeros(m) if g is None and m is not None else g for g, m in zip(grads, self.out_meta)])
        result = self.fn_cls.backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n = len(self.parents)
        if len(result) > n and all(g is None for g in result[n:]):  # (extra Nones are allowed, as torch's)
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected {n}, got "
                               f"{len(result)}): one per argument of forward, None for a non-Tensor one")
        if _mode.jvp and _mode.grad_enabled:
            _check_linear(name, grads, result, self.parents)
        out = []
        for i, (g, parent, meta) in enumerate(zip(result, self.parents, self.in_meta)):
            if g is not None and not isinstance(g, Tensor):
                raise RuntimeError(f"function {name} returned a {type(g).__name__} as gradient {i}: expected a "
                                   "Tensor or None")
            if g is not None and meta is None:
                raise RuntimeError(f"function {name} returned a gradient different than None at position {i + 1}, "
                                   "but the corresponding forward input was not a Tensor")
            if g is None or parent is None:
                out.append(None)
                continue
            shape, device, dtype = meta
            if g.dtype.kind == "c" and dtype.kind != "c":
                raise RuntimeError(f"function {name} returned a complex gradient ({dtype_name(g.dtype)}) at index {i} "
                                   f"for a real input ({dtype_name(dtype)}): as torch's, a real input's gradient must "
                                   "be real (its real part, g.real, is the conjugate Wirtinger convention's)")
            if g.device != device:
                raise RuntimeError(f"function {name} returned a gradient on {g.device} at index {i}, but the input "
                                   f"is on {device}")
            if g.shape != shape:
                try:
                    fits = np.broadcast_shapes(shape, g.shape) == g.shape
                except ValueError:
                    fits = False
                if not fits:
                    raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got "
                                       f"{list(g.shape)} but expected shape compatible with {list(shape)}")
                g = _ops.unbroadcast(g, shape)  # (a broadcast gradient is summed down, as torch's)
            out.append(g)
        return tuple(out)

    def output_node(self, index: int) -> _OutputNode:
        """Output ``index``'s node: the one its Tensor holds while it lives (so its hooks see the gradient)."""
        ref = self.out_nodes[index]
        node = ref() if ref is not None else None
        if node is None:
            shape, dtype, _ = self.out_meta[index]
            node = _OutputNode(self, index, shape, dtype)
        return node

    def release(self) -> None:
        """Free the saved tensors; a call that saved none keeps its node, so a second backward may pass through
        it, as torch's."""
        ctx = self.__dict__.get("ctx")
        if ctx is not None and not ctx._saved:
            return
        if ctx is not None:
            ctx._saved = None
        super().release()


def _check_linear(name: str, grads: tuple, result: tuple, parents: tuple) -> None:
    """Forward mode here (forward_ad, tg.func.jvp / jacfwd / linearize) reads J t off the derivative of the
    backward's results with respect to its incoming gradients (the double-vjp trick): results none of which depend
    on them (a backward written on arrays, or on detached tensors) would give a zero tangent, silently. torch calls
    the Function's jvp there (and refuses a Function without one); this refuses such a backward by name. (One
    result that does not depend on them is let through: a multi-output Function's gradient for an input only an
    unused output reads comes from that output's materialized zeros.)"""
    targets = {id(g._node()) for g in grads if isinstance(g, Tensor) and g._requires_grad}
    given = [i for i, (g, parent) in enumerate(zip(result, parents)) if isinstance(g, Tensor) and parent is not None]
    if targets and given and not any(_reaches(result[i], targets) for i in given):
        raise RuntimeError(f"function {name}: forward-mode AD here differentiates backward with respect to its "
                           f"incoming gradients (the double-vjp trick; a Function's jvp is not used), but gradient "
                           f"{given[0]} does not depend on them (a backward written on arrays or detached tensors), "
                           f"so the tangent would be wrong: write backward with Tensor ops")


def _reaches(t: Tensor, targets: set) -> bool:
    """Whether t's graph has a node whose id is in targets."""
    stack, seen = [t._node()] if t._requires_grad else [], set()
    while stack:
        node = stack.pop()
        if id(node) in targets:
            return True
        if id(node) not in seen and not isinstance(node, Tensor):
            seen.add(id(node))
            stack += [p for p in node.parents if p is not None]
    return False


def _zeros(meta: tuple) -> Tensor:
    shape, dtype, like = meta
    return Tensor._make(xp_of(like).zeros(shape, dtype))


@complex_ok
class _DelayedError(_Op):
    """Stands between a once_differentiable backward's results and its inputs: going through it raises."""

    saves_nothing = True
    name = "once_differentiable"

    def __init__(self, message: str) -> None:
        self.message = message

    def forward(self, x: Any, *rest: Any) -> Any:
        return x

    def backward(self, *grads: Optional[Tensor]) -> Tuple[Optional[Tensor], ...]:
        raise RuntimeError(self.message)


class Function:
    """torch.autograd.Function: subclass it with staticmethods ``forward(ctx, *args)`` and ``backward(ctx,
    *grads)`` (one gradient per argument of forward, None for a non-Tensor one or one that needs none), or
    ``forward(*args)`` with ``setup_context(ctx, inputs, output)``, and call ``MyFn.apply(*args)``."""

    _backward_cls: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__ + "Backward"
        cls._backward_cls = type(name, (_Backward,), {"name": name, "fn_cls": cls})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(f"{type(self)} should not be instantiated: its methods are static, call "
                      f"{type(self).__name__}.apply(...) (torch warns the same)", DeprecationWarning, stacklevel=2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{type(self).__name__}: a torch-style autograd Function is not called; use "
                           f"{type(self).__name__}.apply(...), with staticmethod forward and backward")

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a custom autograd Function must define forward as a staticmethod")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        raise NotImplementedError("setup_context is not overridden")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a custom autograd Function must define backward as a staticmethod to be "
                                  "differentiated")

    vjp = backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward with recording off and, when an argument Tensor requires grad (and grad mode is on),
        give its Tensor outputs a node whose backward is cls.backward."""
        if cls is Function:
            raise RuntimeError("apply: subclass tg.autograd.Function with forward and backward first")
        new_style = cls.setup_context is not Function.setup_context
        if kwargs:  # (keywords bound to forward's parameters, so each argument has its place)
            params = list(inspect.signature(cls.forward).parameters.values())
            sig = inspect.Signature(params if new_style else params[1:])
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        ctx = FunctionCtx()
        ctx._name = cls._backward_cls.name
        ctx.needs_input_grad = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        with no_grad():
            if new_style:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args)
        if not (_mode.grad_enabled and True in ctx.needs_input_grad):
            return output
        return _record(cls, ctx, args, output)


def _record(cls: Any, ctx: FunctionCtx, args: tuple, output: Any) -> Any:
    """Give forward's outputs their node: each differentiable Tensor output points to it."""
    several = isinstance(output, tuple)
    outs = list(output if several else (output,))
    node = cls._backward_cls()
    node.ctx = ctx
    node.parents = tuple([(a.grad_fn or a) if isinstance(a, Tensor) and a._requires_grad else None for a in args])
    node.serial = _serials()
    node.saved = node.saved_versions = ()
    node.in_meta = tuple([(a.shape, a.device, a.dtype) if isinstance(a, Tensor) else None for a in args])
    node.tuple_output = several
    inputs = [a for a in args if isinstance(a, Tensor)]
    is_input = {id(a) for a in inputs}
    dirty = {id(t) for t in ctx._dirty}
    for t in ctx._dirty:
        _check_dirty(t, is_input, outs, node.name)
    non_diff = {id(t) for t in ctx._non_differentiable}
    out_meta: List[Optional[tuple]] = []
    out_nodes: List[Optional[weakref.ref]] = []
    node.n_outputs = len(outs)
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            out_meta.append(None)
            out_nodes.append(None)
            continue
        if id(o) in dirty:
            o._bump_version()  # (as torch's mark_dirty)
        elif id(o) in is_input or o.grad_fn is not None or o._requires_grad:  # returned as it is: an alias
            o = outs[k] = o._share_version(Tensor._make(o.array))
        out_meta.append((o.shape, o.dtype, o.array))
        if o.dtype.kind not in "fc" or id(output if not several else output[k]) in non_diff:
            out_nodes.append(None)
            if id(o) in dirty:  # (a dirty input marked non-differentiable leaves the graph, as torch's)
                o.grad_fn, o._requires_grad = None, False
            continue
        grad_fn = node if not several else _OutputNode(node, k, o.shape, o.dtype)
        out_nodes.append(None if not several else weakref.ref(grad_fn))
        o.grad_fn, o._requires_grad = grad_fn, True
    if not several and out_meta[0] is not None:
        node.out_shape, node.out_dtype = out_meta[0][0], out_meta[0][1]
    node.out_meta, node.out_nodes = tuple(out_meta), out_nodes
    originals = list(output if several else (output,))
    ctx._saved = [_pack(t, originals, outs) for t in ctx._to_save or ()]
    if _saved_hooks:
        ctx._saved = _hook_pack(ctx._saved, outs)
    ctx._node = weakref.ref(node)
    ctx._to_save = None
    return tuple(outs) if several else outs[0]


def _check_dirty(t: Tensor, is_input: set, outs: list, name: str) -> None:
    if id(t) not in is_input or not any(o is t for o in outs):
        raise RuntimeError(f"{name}: a tensor marked dirty (mark_dirty) must be an input of forward that forward "
                           "changed in place and returns as an output")
    if t.grad_fn is None and t._requires_grad:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad has been used in an in-place operation "
                           f"(mark_dirty on an input of shape {t.shape}); clone it first")
    if t._base is not None or t._memory_shared():
        raise RuntimeError(f"{name}: mark_dirty on a view or on memory another tensor shares (shape {t.shape}) is "
                           "not supported here (torch would rebase the view); pass a tensor with memory of its own")


def _pack(t: Optional[Tensor], originals: list, outs: list) -> Optional[tuple]:
    """One save_for_backward entry with its version now: an output by its array (no cycle through its
    grad_fn), anything else by the Tensor itself."""
    if t is None:
        return None
    if isinstance(t, SparseCooTensor):  # (pyGAT's SpecialSpmmFunction saves the sparse matrix it built)
        values = t._val  # (the values themselves, tracked: their version counter)
        if values._vc is None:
            values._vc = [0]
        return t, values._vc, values._vc[0], values  # (its in-place ops, s.mul_(2), put new values in)
    for k, o in enumerate(originals):
        if o is t:
            out = outs[k]
            if out._vc is None:
                out._vc = [0]
            return out.array, out._vc, out._vc[0], k, out.grad_fn is not None
    if t._vc is None:
        t._vc = [0]
    return t, t._vc, t._vc[0]


class _Hooked:
    """A save_for_backward entry packed by saved_tensors_hooks: unpacked at each read of saved_tensors, as torch's
    (no in-place check then, as torch's); an output's comes back linked to the node, another to where it was."""

    __slots__ = ("packed", "unpack_hook", "index", "differentiable", "edge")

    def __init__(self, packed: Any, unpack_hook: Callable, index: Optional[int], differentiable: bool,
                 edge: Any) -> None:
        self.packed, self.unpack_hook, self.index, self.differentiable, self.edge = \
            packed, unpack_hook, index, differentiable, edge

    def unpack(self, node: Optional[_Backward]) -> Tensor:
        t = _unpacked(self.unpack_hook(self.packed))
        if self.index is None:
            return _relink(t, self.edge, _mode.grad_enabled)
        if node is None or not (_mode.grad_enabled and self.differentiable):
            return Tensor._make(t.array)
        grad_fn = node if node.n_outputs == 1 and not node.tuple_output else node.output_node(self.index)
        return Tensor._make(t.array, grad_fn, True)


def _hook_pack(entries: list, outs: list) -> list:
    """saved_tensors_hooks is active: pass each saved tensor (an output as the Tensor returned) to its pack hook,
    with recording off, keeping only what the hook returns."""
    pack, unpack = _saved_hooks[-1]
    hooked: List[Any] = []
    with no_grad():
        for s in entries:
            if s is None or isinstance(s[0], SparseCooTensor):  # (a sparse one is kept as it is, not hooked)
                hooked.append(s)
            elif len(s) == 3:
                t = s[0]
                edge = t.grad_fn if t.grad_fn is not None else t if t._requires_grad else None
                hooked.append(_Hooked(pack(t), unpack, None, False, edge))
            else:
                hooked.append(_Hooked(pack(outs[s[3]]), unpack, s[3], s[4], None))
    return hooked


def once_differentiable(fn: Callable) -> Callable:
    """Decorates a backward that is not itself differentiable (written on arrays, say): it runs with recording
    off, and under create_graph its results raise if a second backward tries to go through them, as torch's."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            outputs = fn(ctx, *args)
        if not _mode.grad_enabled:
            return outputs
        needing = [a for a in args if isinstance(a, Tensor) and a._requires_grad]
        if not needing:
            return outputs
        message = "trying to differentiate twice a function that was marked with @once_differentiable"
        several = isinstance(outputs, tuple)
        wrapped = tuple([_DelayedError(message)(o, *needing) if isinstance(o, Tensor) and o.dtype.kind in "fc"
                         else o for o in (outputs if several else (outputs,))])
        return wrapped if several else wrapped[0]
    return complex_ok(wrapper)  # (the user's backward decides what it does with complex gradients)


# complex tensors go through a custom Function as torch's: its forward and backward are the user's (their ops are
# checked themselves, see tensor.complex_check), and this machinery only records, saves and hands on gradients
# (conjugate Wirtinger ones, as the built-in ops': backward gets dL/d(out) and returns dL/d(input) in that convention)
for _fn in (Function.__dict__["apply"], _record, _Backward, _unpack, _zeros, _pack,
            FunctionCtx.__dict__["saved_tensors"], _Hooked, _hook_pack):
    complex_ok(_fn)
del _fn

__all__ = ["Function", "FunctionCtx", "once_differentiable"]
