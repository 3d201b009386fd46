"""torch.nn.utils.stateless.functional_call: call a module with some of its parameters and buffers replaced for
that call only (torch.func.functional_call, tg.func here, is the same without the deprecation warning)."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ...tensor import Tensor
from ..module import Module

_MISSING: Any = object()


def _untie(module: Module, tensors: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """tensors with each tensor the module holds under several names given under all of them (one value given
    for any of those names); different values for one tied tensor are an error, as torch's."""
    named: Dict[str, Tensor] = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    by_tensor: Dict[int, set] = {}
    for name, t in named.items():
        by_tensor.setdefault(id(t), set()).add(name)
    untied = dict(tensors)
    for names in by_tensor.values():
        given = names.intersection(tensors)
        if len(names) < 2 or not given:
            continue
        if len({id(tensors[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, which are tied. "
                             "Consider using tie_weights=False")
        value = tensors[next(iter(given))]
        for n in names:
            untied[n] = value
    return untied


def _owner(module: Module, path: str) -> Tuple[Module, str]:
    prefix, _, attr = path.rpartition(".")
    m = module
    for part in prefix.split(".") if prefix else []:
        child = getattr(m, part, None)
        if not isinstance(child, Module):
            raise AttributeError(f"{type(m).__name__} has no submodule `{part}` (in functional_call's key {path!r})")
        m = child
    return m, attr


def _swap(module: Module, path: str, value: Any) -> Any:
    """Put value at the dotted path (registry entries directly, as torch's accessor: a plain Tensor may stand for a
    Parameter; other names through setattr, a parametrized one included); the old value, or _MISSING."""
    m, name = _owner(module, path)
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: the value for {path!r} must be a Tensor, got {type(value).__name__}")
    for registry in (m._parameters, m._buffers):
        if name in registry:
            old = registry[name]
            if value is _MISSING:
                del registry[name]
                object.__delattr__(m, name)
            else:
                registry[name] = value
                object.__setattr__(m, name, value)
            return old
    old = getattr(m, name, _MISSING)
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"functional_call: attribute `{path}` of {type(m).__name__} is a {type(old).__name__}, not "
                        "a Tensor")
    if value is not _MISSING:
        setattr(m, name, value)
    elif old is not _MISSING:
        delattr(m, name)
    return old


@contextmanager
def _reparametrize_module(module: Module, tensors: Dict[str, Tensor], tie_weights: bool = False,
                          strict: bool = False) -> Iterator[None]:
    """The module with tensors in place of its own for the duration; its own put back on exit, exception or not."""
    untied = _untie(module, tensors) if tie_weights else tensors
    if strict:
        valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        valid.update(n for n, _ in module.named_buffers(remove_duplicate=False))
        missing, unexpected = sorted(valid - set(untied)), sorted(set(untied) - valid)
        msgs: List[str] = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(msgs))
    originals: Dict[str, Any] = {}
    try:
        for name, value in untied.items():
            originals[name] = _swap(module, name, value)
        yield
    finally:
        for name, old in reversed(list(originals.items())):
            _swap(module, name, old)


def _functional_call(module: Module, tensors: Dict[str, Tensor], args: Any = None,
                     kwargs: Optional[Dict[str, Any]] = None, *, tie_weights: bool = True,
                     strict: bool = False) -> Any:
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: module must be a Module, got {type(module).__name__}")
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _reparametrize_module(module, tensors, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def functional_call(module: Module, parameters_and_buffers: Dict[str, Tensor], args: Any = None,
                    kwargs: Optional[Dict[str, Any]] = None, *, tie_weights: bool = True, strict: bool = False) -> Any:
    """module(*args, **kwargs) with the parameters and buffers named (dotted, as state_dict's keys) replaced by the
    given tensors for this call, as torch.nn.utils.stateless.functional_call (deprecated there, as here, for
    tg.func.functional_call). See tg.func.functional_call."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
                  "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
                  "drop-in replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
