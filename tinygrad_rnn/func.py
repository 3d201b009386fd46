"""torch.func: functional_call, and the function transforms grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd,
hessian, vmap, stack_module_state and replace_all_batch_norm_modules_, with torch 2.13's signatures, outputs and errors.

torch.func wraps tensors in levels; here each transform is a few calls to the reverse-mode engine (tg.autograd's
``grad``, through autograd_functional's helpers), which compose because every derivative is taken with
create_graph=True whenever anything outside the transform could differentiate it further:

- Inputs to differentiate are new leaves (``detach().requires_grad_()``) when they do not require grad, so the
  caller's tensors are never changed, and an identity view (``view_as``) when they do, so the result stays
  connected to the caller's graph (grad(grad(f)), jacfwd(jacrev(f)), a loss of per-example gradients). The view
  is a node of its own, so an inner transform's derivative with respect to it is not confused with an outer
  one's with respect to the same tensor (torch's perturbation confusion).
- A result whose graph reaches no tensor requiring grad other than the transform's own leaves is detached, as
  torch.func unwraps it: grad(f)(x) of an x that does not require grad does not require grad.
- Forward mode (jvp, jacfwd, linearize) is the double-vjp trick: u -> J^T u is linear in u, so the gradient of
  its dot product with a tangent t, with respect to u, is J t. Two backward passes, no dual numbers.
- Called where nothing records (tg.no_grad, tg.inference_mode), a transform still records func's graph, as
  torch.func's, but takes its derivatives without create_graph (a fused recurrence runs its own backward then).
- vmap calls func once per example (a loop over slices, stacked along out_dims): torch's semantics, not its speed.
"""
from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import backend
from .autograd import inference_mode, is_grad_enabled
from .autograd_functional import _grads, _jacobian_blocks
from .nn.layers import _BatchNorm
from .nn.module import Module
from .nn.utils.stateless import _functional_call
from .ops import cat, stack
from .tensor import Tensor, _mode, complex_ok, dtype_name

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "vmap", "stack_module_state", "replace_all_batch_norm_modules_"]

Argnums = Union[int, Tuple[int, ...]]


def functional_call(module: Module, parameter_and_buffer_dicts: Union[Dict[str, Tensor], Sequence[Dict[str, Tensor]]],
                    args: Any = None, kwargs: Optional[Dict[str, Any]] = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """module(*args, **kwargs) (args not a tuple: the one argument) with the tensors named by dotted state_dict keys
    ('lstm.weight_hh_l0', 'parametrizations.weight.original') in place of the module's own for this call, as
    torch.func.functional_call, so gradients reach the given tensors; the module's own are put back afterwards, also
    when the call raises. One dict or a sequence of dicts (a key in two of them is an error). tie_weights: a tensor
    the module holds under several names takes the value given for any of them. strict: missing or unexpected keys
    are a RuntimeError. A parametrized tensor's own name goes through its right_inverse, as torch's."""
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        keys = [k for d in parameter_and_buffer_dicts for k in d]
        repeated = [k for k, n in Counter(keys).items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    return _functional_call(module, tensors, args, kwargs, tie_weights=tie_weights, strict=strict)


# ----------------------------------------------------------------------------- pytrees
# A spec is None for a leaf, or (type, keys, child specs) for a tuple, list, dict or namedtuple (keys: the dict's,
# else the length). None is a leaf, as in torch's pytree; so is any other object.
Spec = Optional[Tuple[Any, Any, Tuple[Any, ...]]]


def _children(tree: Any) -> Optional[Tuple[Any, list]]:
    if isinstance(tree, (tuple, list)):
        return len(tree), list(tree)
    if isinstance(tree, dict):
        return tuple(tree), list(tree.values())
    return None


def _flatten(tree: Any) -> Tuple[List[Any], Spec]:
    """The leaves of a tree of tuples, lists and dicts (torch's tree_flatten), and its spec."""
    node = _children(tree)
    if node is None:
        return [tree], None
    leaves: List[Any] = []
    specs = []
    for child in node[1]:
        sub, spec = _flatten(child)
        leaves += sub
        specs.append(spec)
    return leaves, (type(tree), node[0], tuple(specs))


def _count(spec: Spec) -> int:
    return 1 if spec is None else sum(_count(s) for s in spec[2])


def _unflatten(leaves: Sequence[Any], spec: Spec) -> Any:
    """The tree of spec with leaves in order (torch's tree_unflatten)."""
    it = iter(leaves)

    def build(s: Spec) -> Any:
        if s is None:
            return next(it)
        kind, keys, children = s
        values = [build(c) for c in children]
        if issubclass(kind, dict):
            return kind(zip(keys, values))
        if hasattr(kind, "_fields"):  # a namedtuple
            return kind(*values)
        return kind(values)
    return build(spec)


def _broadcast(prefix: Any, spec: Spec) -> Optional[List[Any]]:
    """prefix (a tree whose leaves stand for whole subtrees of spec's tree, as vmap's in_dims and out_dims) as one
    value per leaf of spec, or None where the structures do not match (torch's _broadcast_to_and_flatten)."""
    node = _children(prefix)
    if node is None:
        return [prefix] * _count(spec)
    if spec is None or type(prefix) is not spec[0] or node[0] != spec[1]:
        return None
    out: List[Any] = []
    for p, s in zip(node[1], spec[2]):
        sub = _broadcast(p, s)
        if sub is None:
            return None
        out += sub
    return out


def _spec_str(spec: Spec) -> str:
    if spec is None:
        return "*"
    kind, keys, children = spec
    inner = ", ".join(_spec_str(c) for c in children)
    return f"{kind.__name__}({list(keys)}, [{inner}])" if issubclass(kind, dict) else f"{kind.__name__}([{inner}])"


# ----------------------------------------------------------------------------- the graph
def _reaches(tensors: Sequence[Any], hit: Callable[[Any], bool]) -> bool:
    """Whether the graph of any of tensors (that require grad) has a node for which hit is True."""
    stack_ = [t._node() for t in tensors if isinstance(t, Tensor) and t.requires_grad]
    seen: set = set()
    while stack_:
        node = stack_.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if hit(node):
            return True
        if not isinstance(node, Tensor):
            stack_ += [p for p in node.parents if p is not None]
    return False


def _recording() -> inference_mode:
    """Grad mode on, inference mode off: a transform records func's graph wherever it is called, as torch.func's
    (under tg.no_grad or tg.inference_mode too)."""
    return inference_mode(False)


class _Level:
    """One call of a transform: the leaves it made, and whether a result reaches anything outside them. Called where
    grad mode is off (tg.no_grad, inference_mode), nothing outside records, so every result is detached, as torch's:
    the derivatives need no graph of their own then (a fused recurrence runs its own backward, not recomputed)."""

    def __init__(self, op: str) -> None:
        self.op = op
        self.recording = is_grad_enabled()
        self.own: set = set()
        self._keep: List[Tensor] = []  # (holds the leaves, so their ids stay theirs)

    def leaf(self, x: Any, i: int = 0) -> Tensor:
        """x (flat input i) as a tensor to differentiate with respect to, the caller's x untouched (see the module
        docstring). Complex x: jvp, linearize, vjp and grad take it, as torch's; jacrev and jacfwd refuse it with
        torch's error."""
        if not isinstance(x, Tensor):
            raise ValueError(f"{self.op}: Thing passed to transform API must be Tensor, got {type(x)}")
        if x.dtype.kind == "c" and self.op in ("jacrev", "jacfwd"):
            raise RuntimeError(f"{self.op}: Expected all inputs to be real but received complex tensor at flattened "
                               f"input idx: {i}")
        if x.dtype.kind not in "fc":
            raise RuntimeError(f"{self.op}: only Tensors of floating point dtype can require gradients, got a "
                               f"{dtype_name(x.dtype)} tensor of shape {x.shape} to differentiate with respect to")
        with _recording():
            if x.requires_grad:
                return x.view_as(x)
            return self.new(x.detach().requires_grad_())

    def new(self, t: Tensor) -> Tensor:
        self.own.add(id(t))
        self._keep.append(t)
        return t

    def outer(self, tensors: Sequence[Any]) -> bool:
        """Whether any of tensors depends on a tensor requiring grad that this level did not make (so a
        derivative of them must keep its graph, for whoever differentiates it next)."""
        return self.recording and _reaches(tensors, lambda n: isinstance(n, Tensor) and id(n) not in self.own)

    def unwrap(self, tree: Any) -> Any:
        """tree with each tensor whose graph reaches only this level's leaves detached (torch.func's unwrapping)."""
        leaves, spec = _flatten(tree)
        return _unflatten([t.detach() if isinstance(t, Tensor) and t.requires_grad and not self.outer([t]) else t
                           for t in leaves], spec)


def _argnums(args: tuple, argnums: Any) -> Tuple[int, ...]:
    """argnums (an int or a non-empty tuple of distinct ints, negative from the end) as indices into args."""
    if not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    nums = (argnums,) if isinstance(argnums, int) else argnums
    out = []
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")
        if not -len(args) <= a < len(args):
            raise RuntimeError(f"Got argnum={a}, but only {len(args)} positional inputs")
        out.append(a % len(args))
    if not out:
        raise RuntimeError("argnums must be non-empty")
    if len(set(out)) != len(out):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(out)


def _differentiable_args(level: _Level, args: tuple, argnums: Argnums) -> Tuple[tuple, List[Tensor], Spec]:
    """args with the ones argnums names made differentiable; those tensors flat, and the spec of their tree (the
    argument itself for an int argnums, a tuple of them for a tuple)."""
    nums = _argnums(args, argnums)
    chosen = args[nums[0]] if isinstance(argnums, int) else tuple(args[i] for i in nums)
    flat, spec = _flatten(chosen)
    xs = [level.leaf(x, i) for i, x in enumerate(flat)]
    new = _unflatten(xs, spec)
    replaced = list(args)
    for k, i in enumerate(nums):
        replaced[i] = new if isinstance(argnums, int) else new[k]
    return tuple(replaced), xs, spec


def _split_aux(out: Any, has_aux: bool, api: str) -> Tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return out


def _tensor_outputs(flat: List[Any], api: str, real: str = "") -> None:
    """torch's checks: at least one output, each a floating-point or complex Tensor (real: the transform, jacrev or
    jacfwd, that refuses complex outputs as torch's)."""
    if not flat or (len(flat) == 1 and flat[0] is None):
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output (got output = {flat})")
    for i, o in enumerate(flat):
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got unsupported type {type(o)}")
        if o.dtype.kind not in "fc":
            raise RuntimeError(f"{api}: All outputs of f must be floating-point or complex Tensors, got Tensor with "
                               f"dtype {dtype_name(o.dtype)}")
        if real and o.dtype.kind == "c":  # (torch's message says input for an output too)
            raise RuntimeError(f"{real}: Expected all outputs to be real but received complex tensor at flattened "
                               f"input idx: {i}")


# ----------------------------------------------------------------------------- grad, vjp, jvp
def grad_and_value(func: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """torch.func.grad_and_value: a function returning (the gradient of func's 0-d output with respect to the
    arguments argnums names, the output), or (gradient, (output, aux)) with has_aux. The gradient has the structure
    of the argument (a tensor, or tuples, lists and dicts of them), a tuple of those for a tuple argnums. Keyword
    arguments are passed through, not differentiated. Arguments that do not require grad are differentiated
    through new leaves (the caller's are not changed); the result keeps its graph where it depends on tensors
    outside that do require grad, so grad(grad(f)) gives second derivatives."""
    def wrapper(*args: Any, **kwargs: Any) -> Tuple[Any, Any]:
        level = _Level("grad")
        args, xs, spec = _differentiable_args(level, args, argnums)
        with _recording():
            out, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value(f)(*args)")
        if not isinstance(out, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
        if out.ndim != 0:
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        gs = _grads([out], xs, [None], level.outer([out]), False, "grad")
        result = _unflatten(level.unwrap(gs), spec)
        value = level.unwrap(out)
        return (result, (value, level.unwrap(aux))) if has_aux else (result, value)
    return _named(complex_ok(wrapper), func)  # (complex inputs as torch's, see the end of this module)


def grad(func: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """torch.func.grad: grad_and_value's gradient alone ((gradient, aux) with has_aux)."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return _named(complex_ok(wrapper), func)  # (complex inputs as torch's, see the end of this module)


def _named(wrapper: Callable[..., Any], func: Callable[..., Any]) -> Callable[..., Any]:
    """wrapper with func's name and docstring, as torch's transforms (functools.wraps)."""
    return functools.update_wrapper(wrapper, func, updated=())


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """torch.func.vjp: (func(*primals), vjp_fn) (and aux with has_aux). vjp_fn(cotangents, retain_graph=True,
    create_graph=None) takes cotangents of the output's structure and returns a tuple with one gradient per
    primal (each of that primal's structure); create_graph defaults to whether grad mode is on when it is called."""
    level = _Level("vjp")
    _, xs, spec = _differentiable_args(level, primals, tuple(range(len(primals)))) if primals else ((), [], None)
    with _recording():
        out, aux = _split_aux(func(*_unflatten(xs, spec)) if primals else func(), has_aux, "vjp(f, *primals)")
    flat_out, out_spec = _flatten(out)
    _tensor_outputs(flat_out, "vjp(f, *primals)")

    def vjp_fn(cotangents: Any, retain_graph: bool = True, create_graph: Optional[bool] = None) -> tuple:
        flat_ct, ct_spec = _flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of outputs "
                               f"to the function. cotangents: {_spec_str(ct_spec)}, primal output: "
                               f"{_spec_str(out_spec)}")
        create = is_grad_enabled() if create_graph is None else create_graph
        gs = _grads(flat_out, xs, flat_ct, bool(create) and level.outer(flat_out + flat_ct), False, "vjp",
                    retain_graph)
        return tuple(_unflatten(level.unwrap(gs), spec)) if primals else ()
    result = (level.unwrap(out), complex_ok(vjp_fn))
    return result + (level.unwrap(aux),) if has_aux else result


def _forward(level: _Level, outs: List[Tensor], xs: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
    """The double-vjp trick's first pass: stand-in cotangents us (this level's leaves) and gs = J^T us, recorded,
    so that J t is the gradient of gs . t with respect to us."""
    us = [level.new(o.new_zeros(o.shape).requires_grad_()) for o in outs]
    prev, _mode.jvp = _mode.jvp, True  # (a custom Function's backward must depend on us: autograd_function)
    try:
        with _recording():
            gs = _grads(outs, xs, us, True, False, level.op)
    finally:
        _mode.jvp = prev
    return us, gs


def _push(level: _Level, outs: List[Tensor], us: List[Tensor], gs: List[Tensor],
          tangents: List[Tensor]) -> List[Tensor]:
    """J t for each output, from _forward's us and gs."""
    return level.unwrap(_grads(gs, us, tangents, level.outer(outs + tangents), False, level.op))


def _check_tangents(primals: List[Tensor], tangents: List[Any], api: str) -> None:
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{api}: Expected tangents to only contain Tensors, got {type(t)}")
        if t.shape != p.shape:
            raise RuntimeError(f"{api}: tangent {i} has shape {t.shape}, but its primal has shape {p.shape} (a "
                               "tangent must have its primal's shape)")
        if t.dtype != p.dtype or t.device != p.device:
            raise RuntimeError(f"{api}: tangent {i} is {dtype_name(t.dtype)} on {t.device}, but its primal is "
                               f"{dtype_name(p.dtype)} on {p.device}")


def jvp(func: Callable[..., Any], primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """torch.func.jvp: (func(*primals), J tangents) (and aux with has_aux); primals a tuple, tangents of its
    structure. By the double-vjp trick (two backward passes). strict: an output that does not depend on the
    primals is an error instead of a zero tangent."""
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    flat_p, p_spec = _flatten(primals)
    flat_t, t_spec = _flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{_spec_str(p_spec)} and tangents with structure {_spec_str(t_spec)}")
    for name, flat in (("primals", flat_p), ("tangents", flat_t)):
        if not flat:
            raise RuntimeError(f"{api}: Expected {name} to contain at least one Tensor.")
        for x in flat:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{api}: Expected {name} to only contain Tensors, got {type(x)}")
    _check_tangents(flat_p, flat_t, api)
    level = _Level("jvp")
    xs = [level.leaf(x, i) for i, x in enumerate(flat_p)]
    with _recording():
        out, aux = _split_aux(func(*_unflatten(xs, p_spec)), has_aux, api)
    flat_out, out_spec = _flatten(out)
    _tensor_outputs(flat_out, api)
    if strict:
        ids = {id(x._node()) for x in xs}
        for o in flat_out:
            if not _reaches([o], lambda n: id(n) in ids):
                raise RuntimeError(f"{api.replace(')', ', strict=True)')}: The output of f is independent of the "
                                   "inputs. This is not allowed with strict=True.")
    us, gs = _forward(level, flat_out, xs)
    pushed = _push(level, flat_out, us, gs, flat_t)
    result = (_unflatten(level.unwrap(flat_out), out_spec), _unflatten(pushed, out_spec))
    return result + (level.unwrap(aux),) if has_aux else result


def linearize(func: Callable[..., Any], *primals: Any) -> Tuple[Any, Callable[..., Any]]:
    """torch.func.linearize: (func(*primals), jvp_fn), jvp_fn(*tangents) giving J tangents at the primals without
    running func again (its recorded graph, and the double-vjp trick's first pass, are kept for every call)."""
    flat_p, p_spec = _flatten(primals)
    level = _Level("linearize")
    xs = [level.leaf(x, i) for i, x in enumerate(flat_p)]
    with _recording():
        out = func(*_unflatten(xs, p_spec))
    flat_out, out_spec = _flatten(out)
    _tensor_outputs(flat_out, "linearize")
    us, gs = _forward(level, flat_out, xs)

    def jvp_fn(*tangents: Any) -> Any:
        flat_t, t_spec = _flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError(f"Expected the tangents {_spec_str(t_spec)} to have the same argspec as the primals "
                               f"{_spec_str(p_spec)}")
        _check_tangents(flat_p, flat_t, "linearize")
        return _unflatten(_push(level, flat_out, us, gs, flat_t), out_spec)
    return _unflatten(level.unwrap(flat_out), out_spec), complex_ok(jvp_fn)


# ----------------------------------------------------------------------------- Jacobians
def _by_output(blocks: List[List[Tensor]], in_spec: Spec, out_spec: Spec) -> Any:
    """blocks[k][i], d output k / d input i, as torch's nesting: the output's tree of the inputs' trees."""
    return _unflatten([_unflatten(row, in_spec) for row in blocks], out_spec)


def jacrev(func: Callable[..., Any], argnums: Argnums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None) -> Callable[..., Any]:
    """torch.func.jacrev: the Jacobian of func with respect to the arguments argnums names, by reverse mode (one
    backward pass per output element). Each block has shape output.shape + input.shape, nested as the output's
    tree of the argument's tree (a tuple of argument trees for a tuple argnums); (jacobian, aux) with has_aux.
    chunk_size is checked as torch's and otherwise has no effect: the rows are computed one at a time anyway."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    def wrapper(*args: Any) -> Any:
        level = _Level("jacrev")
        args, xs, spec = _differentiable_args(level, args, argnums)
        with _recording():
            out, aux = _split_aux(func(*args), has_aux, "vjp(f, *primals)")
        flat_out, out_spec = _flatten(out)
        _tensor_outputs(flat_out, "vjp(f, *primals)", "jacrev")
        blocks = _jacobian_blocks(flat_out, xs, level.outer(flat_out), False, "jacrev")
        jac = _by_output([level.unwrap(row) for row in blocks], spec, out_spec)
        return (jac, level.unwrap(aux)) if has_aux else jac
    return _named(complex_ok(wrapper), func)  # (complex intermediates; complex inputs and outputs refused)


def jacfwd(func: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable[..., Any]:
    """torch.func.jacfwd: the Jacobian by forward mode, a Jacobian-vector product per input element (the
    double-vjp trick), shaped and nested as jacrev's. func runs once, so every column sees the same random draws:
    randomness 'error' refuses a draw from the package's generators while func runs (see vmap), 'same' and
    'different' allow it."""
    def wrapper(*args: Any) -> Any:
        _check_randomness(randomness)
        level = _Level("jacfwd")
        args, xs, spec = _differentiable_args(level, args, argnums)
        with _recording(), _random_guard(randomness):
            out, aux = _split_aux(func(*args), has_aux, "jvp(f, primals, tangents)")
        flat_out, out_spec = _flatten(out)
        _tensor_outputs(flat_out, "jvp(f, primals, tangents)", "jacfwd")
        us, gs = _forward(level, flat_out, xs)
        columns: List[List[Tensor]] = [[] for _ in flat_out]  # per output, one J e_j per input element j
        for i, x in enumerate(xs):
            for j in range(x.numel()):
                e = x.new_zeros(x.numel())
                e[j] = 1.0
                basis = [e.reshape(x.shape) if k == i else t.new_zeros(t.shape) for k, t in enumerate(xs)]
                for col, c in zip(columns, _push(level, flat_out, us, gs, basis)):
                    col.append(c.reshape(-1, 1))
        blocks = []
        for o, col in zip(flat_out, columns):
            row, start = [], 0
            for x in xs:
                part = col[start:start + x.numel()]
                start += x.numel()
                joined = cat(part, 1) if part else o.new_zeros(o.numel(), 0)
                row.append(joined.reshape(o.shape + x.shape))
            blocks.append(row)
        jac = _by_output(blocks, spec, out_spec)
        return (jac, level.unwrap(aux)) if has_aux else jac
    return _named(complex_ok(wrapper), func)  # (complex intermediates; complex inputs and outputs refused)


def hessian(func: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """torch.func.hessian: jacfwd(jacrev(func, argnums), argnums), shape output.shape + input.shape + input.shape."""
    return jacfwd(jacrev(func, argnums), argnums)


# ----------------------------------------------------------------------------- vmap
class _NoRandom:
    """Stands in for the package's generators while vmap(randomness='error') runs func: any draw raises."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                           "'same' or 'different' randomness flags on vmap or perform the randomness operation out of "
                           "vmap")


class _random_guard:
    """randomness='error': the package's generators (backend.rng, which every random op draws from) are replaced
    by _NoRandom for the call, and put back after it."""

    def __init__(self, randomness: str) -> None:
        self.on = randomness == "error"

    def __enter__(self) -> None:
        if self.on:
            self.saved = {d: backend._rngs.get(d) for d in ("cpu", "cuda")}
            backend._rngs.update(cpu=_NoRandom(), cuda=_NoRandom())

    def __exit__(self, *exc: Any) -> None:
        if self.on:
            for d, gen in self.saved.items():
                if isinstance(backend._rngs.get(d), _NoRandom):  # (func may have seeded anew: keep that)
                    if gen is None:
                        del backend._rngs[d]
                    else:
                        backend._rngs[d] = gen


def _check_randomness(randomness: str) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


def _func_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__name__", None) or repr(func)


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: Optional[int] = None) -> Callable[..., Any]:
    """torch.func.vmap, by a loop: func is called on each example (the tensors in_dims maps, sliced with
    select(in_dim, i); the others, and keyword arguments, as given) and each output is stacked along its out_dim.
    torch's semantics and errors, not its speed: the cost is batch-size calls of func. in_dims: an int or None for
    every argument, or a tuple with one entry per positional argument, each an int, None, or a tree matching that
    argument's (tuples, lists, dicts). out_dims: an int or None, or a tree matching the output's; an output with
    out_dim None must be the same for every example (checked: the first is returned), a non-Tensor one is taken
    from the first example. A batch of size 0 calls func once on zeros of an example's shape, to learn the outputs'
    shapes. randomness: 'error' makes a draw from the package's generators (random ops, dropout in training) raise,
    as torch's; 'different' lets each call draw on (the loop's natural behaviour); 'same' puts the generators back
    to their state at the start before each call, so every example sees the same draws (a Generator object given
    to an op is not covered by either). chunk_size is checked as torch's; the loop already goes one at a time."""
    _check_randomness(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _func_name(func)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _check_out_dims(out_dims, name)
        size, flat_dims, flat_args, spec = _batched_inputs(in_dims, args, name)
        examples = range(size) if size else [None]
        start = backend.get_rng_state([d for d in ("cpu", "cuda") if d in backend._rngs]) \
            if randomness == "same" else None
        outs = []
        for i in examples:
            if start is not None and i:
                for d in ("cpu", "cuda"):
                    backend._rngs.pop(d, None)
                backend.set_rng_state(start)  # (a generator made during the first call is made again alike)
            one = [a if d is None else _example(a, d, i) for a, d in zip(flat_args, flat_dims)]
            with _random_guard(randomness):
                outs.append(func(*_unflatten(one, spec), **kwargs))
        return _stacked(outs, out_dims, size, name)
    return _named(wrapped, func)


def _example(a: Tensor, dim: int, i: Optional[int]) -> Tensor:
    if i is None:
        shape = a.shape[:dim] + a.shape[dim + 1:]
        return a.new_zeros(shape)
    return a.select(dim, i)


def _check_out_dims(out_dims: Any, name: str) -> None:
    for d in [out_dims] if isinstance(out_dims, int) else _flatten(out_dims)[0]:
        if d is not None and not isinstance(d, int):
            raise ValueError(f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a python "
                             "collection of ints representing where in the outputs the vmapped dimension should "
                             "appear.")


def _batched_inputs(in_dims: Any, args: tuple, name: str) -> Tuple[int, List[Optional[int]], List[Any], Spec]:
    """torch's checks of in_dims against args; the batch size, each leaf's in_dim (non-negative) and the leaves."""
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying "
                         "to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, spec = _flatten(args)
    flat_dims = _broadcast(in_dims, spec)
    if flat_dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {_spec_str(_flatten(in_dims)[1])} but inputs "
                         f"has structure {_spec_str(spec)}.")
    for k, (a, d) in enumerate(zip(flat_args, flat_dims)):
        where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if d is not None and not isinstance(d, int):
            raise ValueError(f"{where}: Got in_dim={d} for an input but in_dim must be either an integer dimension "
                             "or None.")
        if d is not None and not isinstance(a, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type {type(a)}. We cannot "
                             "vmap over non-Tensor arguments, please use None as the respective in_dim")
        if d is not None and not -a.ndim <= d < a.ndim:
            raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality "
                             f"{a.ndim} so expected in_dim to satisfy -{a.ndim} <= in_dim < {a.ndim}.")
        if d is not None:
            flat_dims[k] = d % a.ndim
    sizes = [a.shape[d] for a, d in zip(flat_args, flat_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0], flat_dims, flat_args, spec


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        xp = backend.xp_of(a.array)
        return bool(xp.array_equal(a.array, b.array, equal_nan=a.dtype.kind in "fc"))
    return True


def _stacked(outs: List[Any], out_dims: Any, size: int, name: str) -> Any:
    """The per-example outputs as one tree, each leaf stacked along its out_dim (torch's checks of out_dims)."""
    flat0, spec = _flatten(outs[0])
    if isinstance(outs[0], Tensor):
        dims = ([out_dims] if out_dims is None or isinstance(out_dims, int)
                else list(out_dims) if isinstance(out_dims, tuple) and len(out_dims) == 1 else None)
    else:
        dims = _broadcast(out_dims, spec)
    if dims is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {_spec_str(_flatten(out_dims)[1])} but "
                         f"outputs has structure {_spec_str(spec)}.")
    flats = [_flatten(o)[0] for o in outs]
    result = []
    for k, d in enumerate(dims):
        leaves = [f[k] for f in flats]
        if d is None:
            if any(not _same(leaves[0], x) for x in leaves[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            result.append(leaves[0])
            continue
        if not isinstance(leaves[0], Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(leaves[0])}. Did "
                             "you mean to set out_dims= to None for output?")
        one = stack(leaves, d)
        result.append(one.narrow(d % one.ndim, 0, 0) if size == 0 else one)
    return _unflatten(result, spec)


# ----------------------------------------------------------------------------- ensembles
def stack_module_state(models: Sequence[Module]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """torch.func.stack_module_state: (params, buffers), each name's tensors of every model stacked along a new
    first dim, for vmap over functional_call (model ensembling). The stacked parameters are new leaves that require
    grad (when the models' do); all models must be of one class and all in training mode or all in eval mode."""
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named: List[Dict[str, Tensor]]) -> Dict[str, Any]:
        out = {}
        for k in named[0]:
            ts = [d[k] for d in named]
            flags = {t.requires_grad for t in ts}
            if len(flags) > 1:
                raise RuntimeError(f"Expected {k} from each model to have the same .requires_grad")
            s = stack([t.detach() for t in ts], 0)
            out[k] = s.requires_grad_() if flags == {True} else s
        return out
    return (stacked([dict(m.named_parameters()) for m in models]),
            stacked([dict(m.named_buffers()) for m in models]))


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """torch.func.replace_all_batch_norm_modules_: every batch norm module in root (root too) stops tracking running
    statistics, in place: running_mean, running_var and num_batches_tracked become None and track_running_stats
    False, so it normalizes with each batch's statistics in training and eval mode alike (what vmap over tasks of
    functorch's MAML example needs). Returns root."""
    for module in root.modules():  # (root.modules() starts with root)
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root


# complex inputs, tangents and cotangents for grad, vjp, jvp and linearize, as torch.func's (jacrev and jacfwd refuse
# them with torch's errors): the gradients are the conjugate Wirtinger ones of the reverse engine, and a complex
# tangent is du + i dv of the parts, which the double-vjp trick gives as it is (J^T is real-linear in the parts).
# These frames only record and differentiate: func's own ops are checked themselves (see tensor.complex_check)
for _fn in (vjp, jvp, linearize, _Level, _differentiable_args, _forward, _push, _check_tangents):
    complex_ok(_fn)
del _fn
