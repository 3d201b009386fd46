"""torch.autograd.graph (``tg.autograd.graph``): the graph's node type, saved-tensor hooks and multi-gradient hooks.

Every grad_fn (an op's Function, one output's node of an op with several, a custom Function's node) and the
AccumulateGrad node ``next_functions`` gives for a leaf is a ``Node``. saved_tensors_hooks packs what ops save for
backward when they are recorded and unpacks it when backward runs them: the tensors an op declares (its saved inputs
and saved output) and those a custom Function passes to save_for_backward. Arrays an op keeps in attributes of its own
(the fused RNN ops' gate activations and work arrays, dropout masks) are not saved tensors and bypass the hooks.
"""
from __future__ import annotations

import abc
import contextlib
import itertools
import threading
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from .tensor import AccumulateGrad, Function as _Op, Tensor, _Handle, _mode, _OutputNode, _saved_hooks, complex_ok

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "register_multi_grad_hook",
           "increment_version"]


class Node(abc.ABC):
    """What a grad_fn is (``isinstance(t.grad_fn, Node)``): name(), next_functions, metadata, register_hook,
    register_prehook. The engine's node classes are registered as its virtual subclasses."""

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name: 'MulBackward0', 'torch::autograd::AccumulateGrad'."""

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple:
        """One (node, input_nr) per input of the op; (None, 0) where an input does not require grad."""

    @property
    @abc.abstractmethod
    def metadata(self) -> dict:
        """A dict of the user's, kept with the node."""

    @abc.abstractmethod
    def register_hook(self, fn: Callable[[tuple, tuple], Optional[tuple]]) -> _Handle:
        """fn(grad_inputs, grad_outputs) after the node's backward; a returned tuple replaces grad_inputs."""

    @abc.abstractmethod
    def register_prehook(self, fn: Callable[[tuple], Optional[tuple]]) -> _Handle:
        """fn(grad_outputs) before the node's backward; a returned tuple replaces grad_outputs."""


for _cls in (_Op, _OutputNode, AccumulateGrad):
    Node.register(_cls)


class saved_tensors_hooks:
    """Inside it, each tensor an op saves for backward is passed to ``pack_hook(tensor)`` (with recording off) and
    only what that returns is kept; when backward needs it, ``unpack_hook(packed)`` must return a Tensor of the same
    content (under create_graph it is linked back to the graph node it was saved from). Contexts nest: the innermost
    one's hooks apply. Here unpack runs once per saved tensor each time its node's backward runs (torch's, when
    backward reads it). As torch's, a tensor saved through hooks is not checked for in-place changes."""

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> None:
        if _mode.saved_hooks_disabled is not None:
            raise RuntimeError(_mode.saved_hooks_disabled)
        _saved_hooks.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *exc: Any) -> None:
        _saved_hooks.pop()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the cpu and moved back to their device for backward (no copy for a cpu tensor),
    as torch's: trades transfers for GPU memory. ``pin_memory`` is accepted (host arrays here are not pinned, see
    Tensor.pin_memory); ``device_type`` names the accelerator, 'cuda' as torch's default."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        super().__init__(_pack_to_cpu, _unpack_from_cpu)


@complex_ok  # (a CUDA tensor's copy is made in this frame: complex_check reads it, see tensor.complex_ok)
def _pack_to_cpu(tensor: Tensor) -> tuple:
    """save_on_cpu's pack hook: (the tensor's device, the tensor on the cpu; itself there)."""
    return tensor.device, tensor.cpu()


@complex_ok
def _unpack_from_cpu(packed: tuple) -> Tensor:
    """save_on_cpu's unpack hook: the saved tensor back on its device."""
    device, tensor = packed
    return tensor.to(device)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Inside it, entering saved_tensors_hooks (or save_on_cpu) raises RuntimeError(error_message), as does
    entering it while such hooks are active, as torch's. A context manager or a decorator."""
    if _saved_hooks:
        raise RuntimeError(error_message)
    prev, _mode.saved_hooks_disabled = _mode.saved_hooks_disabled, error_message
    try:
        yield
    finally:
        _mode.saved_hooks_disabled = prev


class _MultiHandle(_Handle):
    """register_multi_grad_hook's handle: remove() removes the hook from every tensor."""

    def __init__(self, handles: tuple) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


_tasks = itertools.count().__next__


def _current_task() -> int:
    """The running backward's number (torch's _current_graph_task_id), given when first asked for."""
    task = _mode.task
    if task is None:
        raise AssertionError("expected this hook to be called inside a backward call")
    if task[0] is None:
        task[0] = _tasks()
    return task[0]


def _will_execute(node: Any) -> bool:
    """Whether the backward now running passes a gradient through node (its hooks run), as torch's
    _will_engine_execute_node: reached from the roots, on a path to backward(inputs=)/grad()'s inputs, and for a
    leaf in grad(), one of its inputs."""
    _, deps, needed, capture = _mode.task
    if node not in deps or (needed is not None and node not in needed):
        return False
    return capture is None or not isinstance(node, Tensor) or node in capture


def register_multi_grad_hook(tensors: Sequence[Tensor], fn: Callable, *, mode: str = "all") -> _Handle:
    """torch's: with mode 'all', ``fn(grads)`` once the gradient of every tensor the running backward reaches is
    computed (None for one it does not: off the graph, or not on a path to its inputs=); with 'any', ``fn(grad)``
    with the first of them computed, once per backward. Registered as gradient hooks on the tensors; the handle
    removes them all."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    lock = threading.Lock()
    tensors = list(tensors)
    if mode == "all":
        count: Dict[int, int] = {}
        buffer: Dict[int, List[Optional[Tensor]]] = {}
        expected: Dict[int, int] = {}
        nodes = [t._node() for t in tensors]

        def inner(idx: int) -> Callable[[Tensor], None]:
            def hook(grad: Tensor) -> None:
                task = _current_task()
                with lock:
                    done = count.get(task, 0)
                    count[task] = done + 1
                    if not done:
                        expected[task] = sum([_will_execute(n) for n in nodes])
                        buffer[task] = [None] * len(tensors)
                buffer[task][idx] = grad
                if done == expected[task] - 1:
                    grads = buffer.pop(task)
                    del count[task], expected[task]
                    fn(grads)
            return hook

        handles = tuple([t.register_hook(inner(i)) for i, t in enumerate(tensors)])
    else:
        ran: Dict[int, bool] = {}

        def wrapped(grad: Tensor) -> None:
            task = _current_task()
            with lock:
                prev, ran[task] = ran.get(task, False), True
            if not prev:
                fn(grad)

        handles = tuple([t.register_hook(wrapped) for t in tensors if t.requires_grad])
    return _MultiHandle(handles)


def increment_version(tensor: Union[Tensor, Iterable[Tensor]]) -> None:
    """Count an in-place change made behind the engine's back (through .data, .array or a raw array), so backward
    through a graph that saved the tensor refuses, as after any in-place op. A tensor or an iterable of them."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        t._bump_version()
