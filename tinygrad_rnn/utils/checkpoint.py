"""Gradient checkpointing (torch.utils.checkpoint): keep a segment's inputs, not its graph, and run the segment
again in backward.

Backpropagation through time keeps every step's saved values until backward: memory grows as T. Run the T
steps as T / k checkpointed segments of k steps and backward holds the T / k states between segments plus one
segment's graph at a time, for one more forward pass: at k = sqrt(T), memory ~ sqrt(T) (Chen et al. 2016,
"Training deep nets with sublinear memory cost"; Gruslys et al. 2016 for recurrent networks)::

    h = h0
    for t in range(0, T, k):
        h = checkpoint(run_steps, x[t:t + k], h)    # run_steps: the k steps of the loop, from h
    loss(h).backward()                              # each segment runs again, last first, then backpropagates

Unlike truncated BPTT, the gradient is exact: every step reaches every earlier one.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

from .. import backend
from ..autograd import enable_grad, grad
from ..tensor import Function, Tensor, _mode, _OutputNode, _serials, complex_ok


@complex_ok  # (complex inputs and outputs, LLaMA's rotary freqs_cis: gradients as the function's own, as torch's)
class Checkpoint(Function):
    """The outputs of ``function`` on the tensor inputs (and the parameters it reads, found in a first recorded
    run), without its graph: backward runs it again, with the random generators as they were, and takes the
    gradient through that run for every input and parameter."""

    name = "checkpoint"

    def __init__(self, function: Callable[..., Any], args: tuple, kwargs: dict, n_inputs: int, n_params: int,
                 outputs: List[Any], rng_state: Any) -> None:
        self.function, self.args, self.kwargs, self.n_inputs = function, args, kwargs, n_inputs
        self.results, self.rng_state = outputs, rng_state
        # (backward refuses inputs and parameters changed in place since: an optimizer step in between, say)
        self.saved_inputs = tuple(range(n_inputs + n_params))

    def forward(self, *arrays):
        results, self.results = self.results, None  # (computed by the first run; held by the outputs only)
        return tuple(results) if len(results) > 1 else results[0]

    def backward(self, *grads):
        if _mode.grad_enabled:
            raise RuntimeError("checkpoint: double backward (create_graph=True) through a checkpointed segment "
                               "is not supported; call the function without checkpoint")
        inputs, params = self.saved[:self.n_inputs], self.parents[self.n_inputs:]
        current = backend.get_rng_state(self.rng_state) if self.rng_state is not None else None
        try:
            if current is not None:
                backend.set_rng_state(self.rng_state)
            with enable_grad():
                leaves = _leaves(inputs)
                outputs = _as_outputs(self.function(*_substitute(self.args, leaves), **self.kwargs))
        finally:
            if current is not None:
                backend.set_rng_state(current)
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None and o.requires_grad]
        wrt = [t for t in leaves if t.requires_grad] + [p for p in params if p is not None]
        hooks = [(p, p._hooks) for p in params if p is not None and p._hooks]
        try:  # (a parameter's hooks run once, in the outer backward, on its whole gradient)
            for p, _ in hooks:
                p._hooks = None
            found = iter(grad([o for o, _ in pairs], wrt, [g for _, g in pairs], allow_unused=True)
                         if pairs and wrt else ())
        finally:
            for p, h in hooks:
                p._hooks = h
        return tuple([next(found, None) if t.requires_grad else None for t in leaves]
                     + [next(found, None) if p is not None else None for p in params])


@complex_ok
def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: Optional[bool] = None,
               preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """function(*args, **kwargs), its intermediate values not kept for backward: backward runs the function
    again (with the random generators of the CPU and of the arguments' devices as they were, unless
    ``preserve_rng_state=False``, so dropout draws the same masks) and backpropagates through that run. The
    gradient reaches the Tensor arguments and every tensor
    requiring grad that the function reads (the parameters of a module it calls), by ``.backward()`` or
    ``tg.grad`` alike, and equals the gradient without checkpointing. function returns a Tensor or a tuple
    of Tensors; it must compute the same thing when called again (no in-place change to its inputs, no state
    it updates). Without grad (``no_grad``, or nothing that requires grad) it is function(*args, **kwargs).
    Double backward is not supported. ``use_reentrant`` is taken for torch's signature and changes nothing: this
    one finds the parameters itself and works with ``tg.grad``, as torch's non-reentrant variant."""
    if use_reentrant is not None and not isinstance(use_reentrant, bool):
        raise TypeError(f"checkpoint: use_reentrant must be a bool or None, got {use_reentrant!r}")
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if not _mode.grad_enabled:
        return function(*args, **kwargs)
    inputs = [a for a in args if isinstance(a, Tensor)]
    rng_state = backend.get_rng_state({"cpu", *[t.device for t in inputs]}) if preserve_rng_state else None
    leaves = _leaves(inputs)
    start = _serials()
    result = function(*_substitute(args, leaves), **kwargs)
    outputs = _as_outputs(result)
    params = _parameters(outputs, leaves, start)
    if not params and not any([t.requires_grad for t in leaves]):  # (nothing to differentiate: as it is)
        return result
    # (a view's base would keep the first run's array alive: copy it)
    kept = [o.array if o.array.base is None else o.array.copy() for o in outputs]
    fn = Checkpoint(function, args, kwargs, len(inputs), len(params), kept, rng_state)
    del result, outputs  # (the first run's graph goes with them)
    return fn(*inputs, *params)


@complex_ok
def _leaves(inputs: Sequence[Tensor]) -> List[Tensor]:
    """A new leaf for each input, sharing its data, requiring grad as it does."""
    return [Tensor._make(t.array).requires_grad_(t.requires_grad) for t in inputs]


@complex_ok
def _substitute(args: tuple, leaves: Sequence[Tensor]) -> tuple:
    """args with each Tensor replaced by the next of leaves."""
    it = iter(leaves)
    return tuple([next(it) if isinstance(a, Tensor) else a for a in args])


@complex_ok
def _as_outputs(result: Any) -> Tuple[Tensor, ...]:
    outputs = result if isinstance(result, tuple) else (result,)
    if not outputs or not all([isinstance(o, Tensor) for o in outputs]):
        raise TypeError(f"checkpoint: function must return a Tensor or a tuple of Tensors, got "
                        f"{type(result).__name__}" + (f" of {[type(o).__name__ for o in outputs]}"
                                                      if isinstance(result, tuple) else ""))
    return outputs


@complex_ok
def _parameters(outputs: Sequence[Tensor], leaves: Sequence[Tensor], start: int) -> List[Tensor]:
    """The leaf tensors requiring grad that the outputs were computed from, other than the inputs' leaves: the
    parameters the function read, in the order it first reached them. A computed tensor from before the call
    (made by a Function older than ``start``) is refused: backward's second run could not stop at it."""
    own = {id(t) for t in leaves}
    found: List[Tensor] = []
    seen = set()
    stack = [o._node() for o in outputs if o.requires_grad]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Tensor):
            if id(node) not in own:
                found.append(node)
            continue
        fn = node.fn if isinstance(node, _OutputNode) else node
        if fn.serial < start:
            raise ValueError(f"checkpoint: the function reads a tensor computed before it was called (by "
                             f"{fn.name}) that requires grad; pass that tensor as an argument of its own (tensors "
                             "inside tuples, lists or dicts are not unpacked), or detach() it")
        stack.extend([p for p in reversed(node.parents) if p is not None])
    return found


@complex_ok
def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: Optional[bool] = None,
                          preserve_rng_state: bool = True) -> Tensor:
    """torch's checkpoint_sequential: functions (an nn.Sequential, or a list of modules / functions of one
    tensor) applied in turn to input, in ``segments`` runs of about equal length, each but the last
    checkpointed (the last one's graph is needed at once by backward anyway)."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments!r}")
    size = -(-len(functions) // segments) if functions else 1

    def run(start: int, end: int) -> Callable[[Tensor], Tensor]:
        def forward(x: Tensor) -> Tensor:
            for f in functions[start:end]:
                x = f(x)
            return x
        return complex_ok(forward)

    starts = list(range(0, len(functions), size))
    for start in starts[:-1]:
        input = checkpoint(run(start, start + size), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return run(starts[-1], len(functions))(input) if starts else input
