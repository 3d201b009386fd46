"""torch.nn.utils.parametrize: a parameter or buffer computed on access from the tensors it is parametrized by.

As torch's, register_parametrization moves module.<name> to module.parametrizations[<name>].original (the same
Parameter object, so an optimizer holding it keeps working; state_dict key 'parametrizations.<name>.original', or
original0, original1, ... when right_inverse returns several) and makes module.<name> a property that runs the
parametrizations on it; assigning to module.<name> runs right_inverse. A property must live on a class, and this
engine keeps parameters in the instance's __dict__, so the module's class is swapped for a subclass of its own,
Parametrized<Name>, as torch does (isinstance still holds; the original class comes back once the last
parametrization is removed)."""
from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Tuple

from ...autograd import no_grad
from ...tensor import Tensor, dtype_name
from ..layers import ModuleDict, ModuleList
from ..module import Module, Parameter

_cache_enabled = 0
_cache: Dict[Tuple[int, str], Tensor] = {}


@contextmanager
def cached() -> Iterator[None]:
    """Within it, each parametrized tensor is computed once, on its first access, and reused (e.g. an RNN's
    parametrized weight_hh over every step of a loop written by hand), as torch's; the cache is dropped on exit."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module: Module, name: str, x: Tensor) -> None:
    if isinstance(x, Parameter):
        module.register_parameter(name, x)
    else:
        module.register_buffer(name, x)


def _maybe_set(dest: Tensor, src: Tensor) -> None:
    """dest takes src's values (and shape) in place, keeping its identity, as torch's set_: an optimizer holding
    dest sees them."""
    if src is not dest:
        dest.array = src.array
        dest._bump_version()


def _check_result(what: str, x: Any, like: Tensor, unsafe_hint: str) -> None:
    """torch's checks that a parametrization (or its right_inverse) keeps the tensor's dtype and shape."""
    if x.dtype != like.dtype:
        raise ValueError(f"{what} may not change the dtype of the tensor, unless the `unsafe` flag is "
                         f"enabled.\n{unsafe_hint}.dtype: {like.dtype}\n{what} dtype: {dtype_name(x.dtype)}")
    if x.shape != like.shape:
        raise ValueError(f"{what} may not change the shape of the tensor, unless the `unsafe` flag is enabled.\n"
                         f"{unsafe_hint}.shape: {like.shape}\n{what} shape: {x.shape}")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to ``original`` (or original0, original1, ... when the
    last one's right_inverse returns a sequence), as torch's. Calling it gives the parametrized tensor;
    right_inverse(value) sets the originals from a value of it."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with no_grad():
            new: Any = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the "
                                 f"dtype.\noriginal.dtype: {original.dtype}\nright_inverse(original).dtype: "
                                 f"{dtype_name(new.dtype)}")
            _maybe_set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                     f"Got element {i} of the sequence with type {type(part).__name__}.")
                part = part.detach()
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                part.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", part)
        if not self.unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
            if z.dtype != dtype:
                raise ValueError("Registering a parametrization may not change the dtype of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized dtype: {dtype_name(dtype)}\nparametrized "
                                 f"dtype: {dtype_name(z.dtype)}")
            if z.shape != shape:
                raise ValueError("Registering a parametrization may not change the shape of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized shape: {shape}\n"
                                 f"parametrized shape: {z.shape}")

    def right_inverse(self, value: Tensor) -> None:
        """Set the originals so that the list gives ``value`` (each parametrization's right_inverse, last first)."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} while `original` "
                                     f"has dtype {dtype_name(self.original.dtype)}")
                _maybe_set(self.original, value)
                return
            if not isinstance(value, Sequence):
                raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                 f"Got a sequence of length {len(value)}.")
            for i, t in enumerate(value):
                original = getattr(self, f"original{i}")
                if not isinstance(t, Tensor):
                    raise ValueError(f"`right_inverse` must return a sequence of tensors. Got element {i} of type "
                                     f"{type(t).__name__}")
                if original.dtype != t.dtype:
                    raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype {dtype_name(t.dtype)} while "
                                     f"`original{i}` has dtype {dtype_name(original.dtype)}")
                _maybe_set(original, t)

    def forward(self) -> Tensor:
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*[getattr(self, f"original{i}") for i in range(self.ntensors)])
        for m in mods[1:]:
            x = m(x)
        return x


def _deepcopy(self: Module, memo: Dict[int, Any]) -> Module:
    """copy.deepcopy of a parametrized module (whose __getstate__ refuses pickling): the same class, its
    __dict__ deep-copied, as torch's."""
    if id(self) in memo:
        return memo[id(self)]
    replica = self.__class__.__new__(self.__class__)
    memo[id(self)] = replica
    replica.__dict__.update(copy.deepcopy(self.__dict__, memo))
    return replica


def _getstate(self: Module) -> None:
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict() (as in torch: "
                       "save module.state_dict() and load it into a module parametrized the same way)")


def _inject_new_class(module: Module) -> None:
    cls = module.__class__
    attrs: Dict[str, Any] = {"__getstate__": _getstate}
    if not hasattr(cls, "__deepcopy__"):
        attrs["__deepcopy__"] = _deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), attrs)


def _inject_property(module: Module, tensor_name: str) -> None:
    def get_parametrized(self: Module) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        if key not in _cache:
            _cache[key] = parametrization()
        return _cache[key]

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make module.<tensor_name> parametrization(original), as torch.nn.utils.parametrize.register_parametrization:
    the parameter or buffer becomes module.parametrizations[tensor_name].original (set to right_inverse of its
    value, when the parametrization has one), and module.<tensor_name> is computed from it on every access (so a
    fused LSTM reading weight_hh_l0 each forward gets the parametrized matrix, and gradients reach original).
    Registering on a name already parametrized stacks the new one after the others. Unless ``unsafe``, it may not
    change the tensor's shape or dtype (ValueError). Returns the module."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: parametrization must be a Module, got "
                        f"{type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
            _check_result("Registering a parametrization", x, y, f"module.{tensor_name}")
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    if not isinstance(z, Tensor):
                        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: "
                                         f"{type(z).__name__}")
                    _check_result("The tensor returned by parametrization.right_inverse", z, y,
                                  f"module.{tensor_name}")
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"Module '{type(module).__name__}' has an empty (None) slot {tensor_name!r}: there is "
                             "no tensor to parametrize")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: Optional[str] = None) -> bool:
    """Whether module has a parametrization on tensor_name (None: on any tensor), as torch's."""
    parametrizations = module._modules.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo register_parametrization on tensor_name, as torch's: the tensor becomes a plain parameter (or
    buffer) again, the original object holding the parametrized value (leave_parametrized) or its original one.
    The module gets its own class back when nothing else is parametrized. Returns the module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
            _maybe_set(original, t)
    elif leave_parametrized:
        t = getattr(module, tensor_name)
        original = Parameter(t.detach(), t.requires_grad) if t.requires_grad else t.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in "
                         "terms of a sequence of tensors.")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class before it was parametrized (its own class when it is not), as torch's."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)
