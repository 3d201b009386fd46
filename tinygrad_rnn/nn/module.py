"""Module and Parameter: named, nested containers of trainable tensors (PyTorch's API)."""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple, TypeVar

import numpy as np

from .. import backend
from ..tensor import (Function, Size, Tensor, _Handle, _mode, _OutputNode, _RuntimeValueError, complex_ok, dtype_name,
                      get_default_dtype, in_memory_format, to_args)
from ..tensor import memory_format as tensor_memory_format


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as trainable (requires_grad=True by default)."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.array if isinstance(data, Tensor) else data)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Parameter":
        """A new Parameter of a copy of the data with the same requires_grad, as torch's: not the .grad, nor the
        hooks registered on this one (a deep-copied model's backward must not run the original's hooks, such as
        an optimizer step in a post-accumulate hook). A Parameter shared in what is copied stays shared."""
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.array.copy(), requires_grad=self.requires_grad)
        return memo[id(self)]


class _Uninitialized:
    """What UninitializedParameter and UninitializedBuffer share (torch's UninitializedTensorMixin): a tensor with
    a dtype and device but no shape yet, until materialize() gives it one (a lazy module's first forward), when it
    becomes a plain Parameter or Tensor (cls_to_become). Its shape cannot be read before that (torch's error);
    its data is an empty placeholder."""

    __slots__ = ()
    cls_to_become: type

    def materialize(self, shape: Any, device: Optional[str] = None, dtype: Any = None) -> None:
        """Give it memory (uninitialised, as torch.empty) of ``shape``, on its device and of its dtype unless
        given, and make it a cls_to_become."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
        device = self.device if device is None else backend.check_device(device, "materialize")
        xp = backend.module_for(device)
        self.array = xp.empty(shape, self.array.dtype if dtype is None else np.dtype(dtype))
        self.__class__ = self.cls_to_become

    @property
    def shape(self) -> Tuple[int, ...]:
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This error usually "
                           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
                           "initialized one. Call `forward` to initialize the parameters before accessing their "
                           "attributes.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo: Dict[int, Any]) -> Any:
        if id(self) not in memo:
            memo[id(self)] = type(self)(requires_grad=self.requires_grad, device=self.device, dtype=self.dtype)
        return memo[id(self)]


def _placeholder(device: Optional[str], dtype: Any) -> Any:
    xp = backend.module_for(backend.check_device(device, "Uninitialized tensor"))
    return xp.empty((0,), get_default_dtype() if dtype is None else np.dtype(dtype))


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter whose shape is not known yet (torch's): a lazy module's, until its first forward."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__(_placeholder(device, dtype), requires_grad)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is not known yet (torch's): a lazy module's, until its first forward."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__(_placeholder(device, dtype), requires_grad=requires_grad)


def is_lazy(t: Any) -> bool:
    """Whether t is an UninitializedParameter or UninitializedBuffer (torch.nn.parameter.is_lazy)."""
    return isinstance(t, _Uninitialized)


class Buffer(Tensor):
    """A Tensor that, assigned to a Module attribute, registers itself as a buffer (torch 2.5's nn.Buffer):
    ``self.running = nn.Buffer(t, persistent=False)`` is ``self.register_buffer('running', t, persistent=False)``.
    It shares data's memory (detached, keeping its requires_grad), as torch's; None gives an empty one."""

    __slots__ = ("persistent",)

    def __init__(self, data: Any = None, *, persistent: bool = True) -> None:
        if data is None:
            data = Tensor._make(np.empty((0,), get_default_dtype()))
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer: data must be a Tensor or None, got {type(data).__name__}")
        super().__init__(data, requires_grad=data.requires_grad)
        self.persistent = bool(persistent)

    @classmethod
    def _unpickled(cls, t: Tensor) -> Tensor:
        """A pickled Buffer comes back a plain tensor, as torch's (its registration is the module's business)."""
        return t


class _IncompatibleKeys(NamedTuple):
    """load_state_dict's result, as torch's (a namedtuple of the missing and unexpected keys): it prints
    ``<All keys matched successfully>`` when both are empty, else ``_IncompatibleKeys(missing_keys=[...], ...)``."""
    missing_keys: List[str]
    unexpected_keys: List[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys


_EXTRA_STATE_KEY = "_extra_state"


class _LoadErrors(list):
    """load_state_dict's error_msgs (torch's list of messages), also holding what it reports apart (values that are
    not arrays, wrong shapes) and the copies that wait until the whole dict has been checked."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_type: List[str] = []
        self.bad_shape: List[str] = []
        self.copies: List[Callable[[], None]] = []
        self.defer = True  # (False: copies made at once, as torch's)


_REGISTRIES = ("_parameters", "_buffers", "_modules")


class _Registry(OrderedDict):
    """A module's _parameters, _buffers or _modules. The engine reads a member as a plain attribute (module.weight
    is in the module's __dict__, no __getattr__ on the way), so writing an entry here also writes the attribute,
    and deleting one deletes it: ``module._parameters['weight'] = w`` makes ``module.weight`` w, as torch's (where the
    registry is what __getattr__ reads). learn2learn's clone_module and update_module and pruning-style code write
    entries so. Only writes pay for this; a copy (registry.copy()) belongs to the module it is assigned to."""

    def __init__(self, *args: Any, owner: Optional["Module"] = None, **kwargs: Any) -> None:
        self._owner: Optional[Module] = None
        super().__init__(*args, **kwargs)
        self._owner = owner

    def _mine(self) -> Optional["Module"]:
        """The module whose registry this is (None while it is nobody's)."""
        owner = self._owner
        if owner is not None and any(owner.__dict__.get(kind) is self for kind in _REGISTRIES):
            return owner
        return None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        owner = self._mine()
        if owner is not None and isinstance(key, str):
            object.__setattr__(owner, key, value)

    def __delitem__(self, key: Any) -> None:
        value = self[key]
        super().__delitem__(key)
        owner = self._mine()
        if owner is not None and isinstance(key, str) and owner.__dict__.get(key, self) is value:
            object.__delattr__(owner, key)

    _MISSING = object()

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default is _Registry._MISSING:
            raise KeyError(key)
        return default

    def popitem(self, last: bool = True) -> Tuple[Any, Any]:
        if not self:
            raise KeyError("dictionary is empty")
        key = next(reversed(self)) if last else next(iter(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]


class Module:
    """Base class: Parameters and Modules assigned as attributes are registered by name;
    buffers (non-trainable state such as a loss's class weights) via ``register_buffer``."""

    training: bool
    _forward_pre_hooks: Optional[list] = None  # [(hook, with_kwargs, always_call)], made on the first registration
    _forward_hooks: Optional[list] = None
    _backward_pre_hooks: Optional[list] = None  # [(hook, False, False)]: register_full_backward_pre_hook
    _backward_hooks: Optional[list] = None  # [(hook, False, False)]: register_full_backward_hook
    _state_dict_pre_hooks: Optional[list] = None  # [(hook, False)]
    _state_dict_hooks: Optional[list] = None  # [(hook, registered by register_state_dict_post_hook)]
    _load_state_dict_pre_hooks: Optional[list] = None  # [(hook, with_module)]
    _load_state_dict_post_hooks: Optional[list] = None  # [(hook, False)]
    _is_full_backward_hook: Optional[bool] = None  # (torch's: True once a full backward hook, False a legacy one)
    _version: int = 1  # (torch's: state_dict's local_metadata['version'], for a subclass's _load_from_state_dict)
    dump_patches: bool = False  # (torch's; unused by torch too)
    call_super_init: bool = False  # (torch's: Module.__init__ passes its arguments on to the next class's __init__)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Arguments are an error unless the class sets call_super_init, which passes them on to the next class
        of the MRO (a mixin's), as torch's."""
        if not self.call_super_init and kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        if not self.call_super_init and args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} were "
                            "given")
        object.__setattr__(self, "_parameters", _Registry(owner=self))
        object.__setattr__(self, "_buffers", _Registry(owner=self))
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", _Registry(owner=self))
        object.__setattr__(self, "training", True)
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module, Tensor)):
                raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
            object.__setattr__(self, name, value)  # (a plain value, or __dict__ itself, as torch allows)
            return
        if name in _REGISTRIES and isinstance(value, dict):  # (module._parameters = module._parameters.copy())
            if not isinstance(value, _Registry):
                value = _Registry(value)
            value._owner = self
            object.__setattr__(self, name, value)
            for key, member in value.items():
                if isinstance(key, str):
                    object.__setattr__(self, key, member)
            return
        if isinstance(value, (Parameter, Module)) and isinstance(getattr(type(self), name, None), property):
            raise KeyError(f"attribute {name!r} already exists")  # (torch's: a parametrized tensor's property)
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to buffer "
                                f"{name!r} (a Tensor or None expected)")
            self._slot(self._buffers, name, value)
            if isinstance(value, Buffer):
                (self._non_persistent_buffers.discard if value.persistent else self._non_persistent_buffers.add)(name)
            return
        if name in self._parameters and value is not None and not isinstance(value, Parameter):
            raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to parameter {name!r} "
                            "(a Parameter or None expected); to change its values, write into it under "
                            "no_grad() or wrap the tensor in nn.Parameter")
        if name in self._parameters and value is None:  # (torch: the slot stays, empty, as bias=False's does)
            self._slot(self._parameters, name, None)
            return
        if name in self._modules and not isinstance(value, (Module, Parameter)):  # (torch: the slot stays)
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to submodule "
                                f"{name!r} (a Module or None expected; del it first to reuse the name)")
            self._slot(self._modules, name, None)
            return
        if isinstance(value, Buffer):
            self.register_buffer(name, value, value.persistent)
            return
        self._del_buffer(name)
        if not isinstance(value, Parameter):
            self._parameters.pop(name, None)
        if not isinstance(value, Module):
            self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def _slot(self, registry: Dict[str, Any], name: str, value: Any) -> None:
        """registry[name] = value, readable as the attribute too (a None slot: registered, but empty)."""
        registry[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        registered = name in self._parameters or name in self._modules or name in self._buffers
        self._parameters.pop(name, None)  # (a registry's entry takes its attribute with it: _Registry)
        self._modules.pop(name, None)
        self._del_buffer(name)
        if name in self.__dict__ or not registered:
            object.__delattr__(self, name)

    def _del_buffer(self, name: str) -> None:
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def _check_name(self, op: str, kind: str, name: Any, registry: Dict[str, Any]) -> None:
        """torch's rules for a name to register: a str, not empty, without '.' (a dotted path could not reach it),
        and not an attribute of another kind (a method, 'training', a submodule...): TypeError, KeyError."""
        where = f"{type(self).__name__}.{op}"
        if not isinstance(name, str):
            raise TypeError(f"{where}: {kind} name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{where}: {kind} name must be a non-empty string without '.', got {name!r}")
        if name not in registry and hasattr(self, name):
            raise KeyError(f"{where}: attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Register a Parameter, or None for an absent one (e.g. bias=False keeps the name)."""
        self._check_name("register_parameter", "parameter", name, self._parameters)
        if param is None:
            self._slot(self._parameters, name, None)
        elif not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """Register non-trainable state (a Tensor, or None for an absent one) under ``name``.

        Buffers move with to()/cuda()/cpu() (float ones are also cast by to(dtype)/float()/double()),
        are listed by buffers(), and, if persistent, are saved by state_dict and loaded by
        load_state_dict, as in PyTorch.
        """
        self._check_name("register_buffer", "buffer", name, self._buffers)
        if (tensor is not None and not isinstance(tensor, Tensor)) or isinstance(tensor, Parameter):
            raise TypeError(f"{type(self).__name__}.register_buffer: {name!r} must be a Tensor (not a Parameter) or "
                            f"None, got {type(tensor).__name__}")
        self._slot(self._buffers, name, tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Register a submodule (or None) under ``name``, as an attribute assignment would: for names chosen at
        run time, as torch's add_module."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        self._check_name("add_module", "module", name, self._modules)
        if module is None:
            self._slot(self._modules, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` ('' is this module), as torch's get_submodule."""
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.get_submodule: target must be a dotted str, got {target!r}")
        m = self
        for i, part in enumerate(target.split(".") if target else []):
            child = m._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(self).__name__}.get_submodule: {type(m).__name__} at "
                                     f"{'.'.join(target.split('.')[:i]) or 'the root'!r} has no submodule {part!r}")
            m = child
        return m

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put module at the dotted path ``target``, replacing the submodule there or (strict=False) adding one
        to the parent the path names, as torch's: a ValueError for an empty target or a module that is not one, an
        AttributeError for a path through something else or (strict) a name the parent lacks."""
        if target == "":
            raise ValueError(f"{type(self).__name__}.set_submodule: cannot set the submodule without a target name")
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.set_submodule: target must be a dotted str, got {target!r}")
        if not isinstance(module, Module):
            raise ValueError(f"{type(self).__name__}.set_submodule: module must be a Module, got "
                             f"{type(module).__name__}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(self).__name__}.set_submodule: {type(parent).__name__} at "
                                 f"{path or 'the root'!r} has no attribute {name!r} (strict=True)")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"{type(self).__name__}.set_submodule: {name!r} of {type(parent).__name__} at "
                                 f"{path or 'the root'!r} is not a Module")
        setattr(parent, name, module)

    def _member(self, op: str, target: str, registry: str, kind: str) -> Any:
        """The entry of ``registry`` at the dotted path ``target`` (get_parameter, get_buffer)."""
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.{op}: target must be a dotted str, got {target!r}")
        path, _, name = target.rpartition(".")
        owner = self.get_submodule(path)
        if name not in getattr(owner, registry):
            what = f"has no attribute {name!r}" if not hasattr(owner, name) else f"has {name!r}, which is not a {kind}"
            raise AttributeError(f"{type(self).__name__}.{op}: {type(owner).__name__} at {path or 'the root'!r} {what}")
        return getattr(owner, registry)[name]

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at the dotted path ``target`` ('lstm.weight_ih_l0'), as torch's get_parameter: an
        AttributeError if there is none (an empty slot, bias=False's, included)."""
        p = self._member("get_parameter", target, "_parameters", "parameter")
        if p is None:
            raise AttributeError(f"{type(self).__name__}.get_parameter: {target!r} is an empty parameter slot "
                                 "(None), not a Parameter")
        return p

    def get_buffer(self, target: str) -> Optional[Tensor]:
        """The buffer at the dotted path ``target`` (persistent or not; None for an empty slot), as torch's
        get_buffer: an AttributeError if there is no buffer of that name."""
        return self._member("get_buffer", target, "_buffers", "buffer")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        out, ran = None, set()
        try:
            for hook, with_kwargs, _ in list(self._forward_pre_hooks or ()):
                new = hook(self, args, kwargs) if with_kwargs else hook(self, args)
                if new is None:
                    continue
                if with_kwargs:
                    if not (isinstance(new, tuple) and len(new) == 2 and isinstance(new[1], dict)):
                        raise RuntimeError(f"{type(self).__name__}: a forward pre-hook registered with_kwargs must "
                                           f"return None or (args, kwargs), got {type(new).__name__}")
                    args, kwargs = new
                else:
                    args = new if isinstance(new, tuple) else (new,)
            call = None
            if (self._backward_hooks or self._backward_pre_hooks) and _mode.grad_enabled:
                call = _HookedCall(self, args)
                args = call.wrap_inputs()
            out = self.forward(*args, **kwargs)
            for entry in list(self._forward_hooks or ()):
                ran.add(id(entry))
                hook, with_kwargs, _ = entry
                new = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
                if new is not None:
                    out = new
            return out if call is None else call.wrap_outputs(out)
        except Exception:
            self._always_called_hooks(args, kwargs, out, ran)
            raise

    def _always_called_hooks(self, args: tuple, kwargs: Dict[str, Any], out: Any, ran: set) -> None:
        """After an exception in a call: each forward hook registered with always_call that did not run yet (ids
        in ``ran`` did), with the output so far (None if forward raised), as torch's; an exception one raises
        becomes a warning, so that the first one propagates."""
        for entry in list(self._forward_hooks or ()):
            hook, with_kwargs, always_call = entry
            if not always_call or id(entry) in ran:
                continue
            try:
                new = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
                out = out if new is None else new
            except Exception as e:
                warnings.warn(f"{type(self).__name__}: a forward hook with always_call=True raised an exception that "
                              f"was silenced as another error was raised in forward: {e}", stacklevel=3)

    def register_backward_hook(self, hook: Callable[..., Any]) -> _Handle:
        """torch's legacy backward hook, ``hook(module, grad_input, grad_output)``, with its FutureWarning. torch
        hands it the gradients of the last autograd Function of forward, which are the module's (what a full
        backward hook sees) only when forward is one Function of the module's tensor inputs alone (an
        activation's); it runs as a full hook, and a call of a module whose forward is not such a Function (one
        with parameters, or several steps) is refused (a RuntimeError), not answered with other gradients."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        warnings.warn("Using a non-full backward hook is deprecated (as in torch); use register_full_backward_hook",
                      FutureWarning, stacklevel=2)
        handle = self._add_hook("_backward_hooks", hook, False)
        object.__setattr__(self, "_is_full_backward_hook", False)
        return handle

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _Handle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of this module's inputs are computed
        (torch's): grad_output holds the gradient of each output tensor, grad_input of each positional argument
        (None where it is not a tensor; zeros for a tensor no gradient reached, as torch's; all None when no input
        requires grad); a tuple it returns replaces grad_input. Each call of the module gets its own (an RNN cell
        called at every step: one hook call per step, in backward order)."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        handle = self._add_hook("_backward_hooks", hook, prepend)
        object.__setattr__(self, "_is_full_backward_hook", True)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _Handle:
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are known, before they
        go back through it; a tuple it returns replaces grad_output (torch's)."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _Handle:
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with_kwargs) before each forward; a
        value it returns replaces the positional arguments (with_kwargs: an (args, kwargs) pair). Hooks run
        in registration order (prepend: this one first). ``handle.remove()`` unregisters it."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> _Handle:
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with_kwargs) after each
        forward; a value it returns replaces the output. For looking at what a layer computes (e.g. keeping
        an LSTM's outputs to see what its hidden units track) without changing its code. always_call: it also
        runs when the call raises (output None if forward did), as torch's, before the exception propagates."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs, always_call)

    def _add_hook(self, kind: str, hook: Callable[..., Any], prepend: bool, with_kwargs: bool = False,
                  always_call: bool = False) -> _Handle:
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.register{kind[:-1]}: hook must be callable, got "
                            f"{type(hook).__name__}")
        if kind not in self.__dict__:
            object.__setattr__(self, kind, [])
        hooks, entry = getattr(self, kind), (hook, bool(with_kwargs), bool(always_call))
        hooks.insert(0 if prepend else len(hooks), entry)
        return _Handle(hooks, entry)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo: Optional[set] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, "Module"]]:
        """(dotted name, module) for this module and every one below it, depth first, as torch's: one reached
        twice is listed once (the first name) unless remove_duplicate=False; modules in ``memo`` (a set that
        collects those listed) are left out."""
        memo, stack = set() if memo is None else memo, [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if m in memo:
                continue
            if remove_duplicate:
                memo.add(m)
            yield name, m
            stack.extend(reversed([(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]))

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """Direct submodules; one held under two names is listed once (the first), as in torch."""
        seen = set()
        for k, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield k, m

    def children(self) -> Iterator["Module"]:
        return (m for _, m in self.named_children())

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[Tuple[str, Any]]:
        """(dotted name, tensor) from each module's ``registry`` dict; a shared tensor (or module) appears once
        unless remove_duplicate=False."""
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, t in getattr(m, registry).items():
                if t is None or id(t) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(t))
                yield (f"{mname}.{k}" if mname else k), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a Parameter shared by two modules appears once, unless
        remove_duplicate=False (then under every name, as state_dict lists it)."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, persistent or not; a shared buffer appears once unless
        remove_duplicate=False."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return (b for _, b in self.named_buffers(recurse=recurse))

    def num_parameters(self) -> int:
        """Total number of trainable scalars (independent of sequence length for RNNs)."""
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ modes and state
    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and, through each child's own train(), below it."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call fn on every submodule (children first, recursively) and then on self, as
        torch's Module.apply (e.g. a custom initialisation); returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set requires_grad on every parameter (False freezes the module); returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: ``grad = None`` (default), or zero it in place as torch does."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                zero_grad_(p)

    def _apply(self, fn: Any, buffer_fn: Any = None, recurse: bool = True) -> "Module":
        """Parameters (and their grads) are converted in place, keeping their identity; each buffer
        is replaced by buffer_fn(buffer data) (fn if None), shared buffers staying shared, but an uninitialized one
        (a lazy module's) is converted in place, staying uninitialized, as torch's. recurse=False: this module's own
        only."""
        for p in self.parameters(recurse=recurse):
            new = fn(p.array)
            if new is not p.array:  # (a conversion that changes nothing leaves pending graphs alone)
                p.array = new
                p._bump_version()
            if p.grad is not None and p.grad.is_sparse:  # (a sparse COO gradient: its values converted, its
                old, v = p.grad, p.grad._values().array  # indices moved with them)
                g = fn(v)
                if g is not v:
                    idx = backend.to_device(old._indices().array, backend.device_of(g))
                    p.grad = type(old)(Tensor(idx), Tensor(g), old.shape, old.is_coalesced())
            elif p.grad is not None:
                g = fn(p.grad.array)
                if g is not p.grad.array:
                    p.grad = Tensor(g)
        buffer_fn = fn if buffer_fn is None else buffer_fn
        done: Dict[int, Tensor] = {}
        for m in (m for _, m in self.named_modules()) if recurse else (self,):  # (see load_state_dict)
            for k, b in m._buffers.items():
                if b is not None:
                    if id(b) not in done:
                        a = buffer_fn(b.array)
                        if is_lazy(b):  # (converted in place: a new Tensor would lose materialize)
                            b.array = a
                        done[id(b)] = b if a is b.array else Tensor._make(a)  # unchanged: keep the object
                    setattr(m, k, done[id(b)])
        return self

    def to(self, *args: Any, device: Optional[str] = None, dtype: Any = None, non_blocking: bool = False,
           memory_format: Any = None) -> "Module":
        """Move (in place) every parameter to 'cpu'/'cuda' and/or cast it to a float dtype, as torch's:
        to('cuda'), to(tg.float64), to('cuda', tg.float64) or by keyword; None changes nothing. non_blocking is
        accepted, as Tensor.to's. ``memory_format`` (tg.channels_last) lays out the parameters and float buffers of
        its rank in that order, as torch's (a conv's 4-d weight; the others stay)."""
        name = type(self).__name__
        device, dtype = to_args(f"{name}.to", args, device, dtype)
        if device is not None and not (isinstance(device, str) and device.split(":")[0] in ("cpu", "cuda")):
            raise _RuntimeValueError(f"{name}.to: expected 'cpu', 'cuda' or a float dtype, got {device!r}")
        if device is not None:  # (checked, and CUDA found, before anything is cast: an error leaves the module whole)
            device = backend.check_device(device, f"{name}.to")
            backend.module_for(device)
        if dtype is not None:
            if dtype.kind not in "fc":
                raise TypeError(f"{name}.to: parameters must stay floating point or complex, got {dtype_name(dtype)}")
            if dtype.kind == "c":  # (torch's warning; its floating and complex parameters and buffers all cast)
                warnings.warn("Complex modules are a new feature under active development whose design may change, "
                              "and some modules might not work as expected when using complex tensors as parameters "
                              "or buffers.", UserWarning, stacklevel=2)
            self._cast(dtype, "fc")  # (a complex parameter cast to real, as torch's: numpy's ComplexWarning)
        if device is not None:
            self._apply(lambda a: backend.to_device(a, device))
        if memory_format is not None:  # (torch's: the 4-d and 5-d tensors only)
            if not isinstance(memory_format, tensor_memory_format):
                raise TypeError(f"{name}.to: memory_format must be a tg.memory_format, got {memory_format!r}")
            self._apply(lambda a: in_memory_format(a, memory_format, f"{name}.to") if a.ndim in (4, 5) else a)
        return self

    def cuda(self, device: Any = None) -> "Module":
        """to('cuda'); device (None, an index or 'cuda:n', as torch's) names the one GPU this engine uses."""
        return self.to("cuda" if device is None or isinstance(device, int) else device)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def _cast(self, dtype: Any, params: str) -> None:
        """Cast the parameters of the dtype kinds in ``params`` and the floating point buffers to dtype."""
        buffers = "fc" if dtype.kind == "c" else "f"
        self._apply(lambda a: a.astype(dtype, copy=False) if a.dtype.kind in params else a,
                    lambda a: a.astype(dtype, copy=False) if a.dtype.kind in buffers else a)

    def float(self) -> "Module":
        """Floating point parameters and buffers to float32; complex ones stay as they are, as torch's."""
        self._cast(np.dtype(np.float32), "f")
        return self

    def double(self) -> "Module":
        """Floating point parameters and buffers to float64; complex ones stay as they are, as torch's."""
        self._cast(np.dtype(np.float64), "f")
        return self

    def half(self) -> "Module":
        """Floating point parameters and buffers to float16; complex ones stay as they are, as torch's."""
        self._cast(np.dtype(np.float16), "f")
        return self

    def bfloat16(self) -> "Module":
        """Refused: numpy (and so this engine) has no bfloat16 dtype."""
        raise TypeError(f"{type(self).__name__}.bfloat16: numpy has no bfloat16 dtype, so tinygrad_rnn cannot hold "
                        "one; use half() (torch.float16), float() or double()")

    def type(self, dst_type: Any) -> "Module":
        """Cast every parameter and buffer, integer ones included, to dst_type (a dtype, or a tensor type name as
        Tensor.type takes: 'torch.DoubleTensor', 'torch.cuda.FloatTensor' also moving it), as torch's. Parameters
        must stay floating point (a TypeError, as torch's requires_grad refuses an integer one)."""
        host = dst_type.replace("torch.cuda.", "torch.") if isinstance(dst_type, str) else dst_type
        dtype = Tensor._make(np.zeros(0, np.float32)).type(host).dtype  # (checks dst_type, as Tensor.type does)
        if dtype.kind != "f" and any(True for _ in self.parameters()):
            raise TypeError(f"{type(self).__name__}.type: parameters must stay floating point, got {dtype_name(dtype)}")
        return self._apply(lambda a: Tensor._make(a).type(dst_type).array)

    def to_empty(self, *, device: Optional[str], recurse: bool = True) -> "Module":
        """Give every parameter and buffer (this module's own only, unless recurse) new uninitialised memory of
        its shape and dtype on ``device`` (None: where it is), as torch's (after building a model without memory,
        e.g. for a checkpoint to fill). Parameters keep their identity."""
        if device is not None:
            device = backend.check_device(device, f"{type(self).__name__}.to_empty")
            backend.module_for(device)
        return self._apply(lambda a: backend.module_for(device or backend.device_of(a)).empty(a.shape, a.dtype),
                           recurse=recurse)

    def share_memory(self) -> "Module":
        """A no-op that returns self: torch moves tensors to shared memory for torch.multiprocessing, which this
        engine does not have (its numpy arrays live in one process)."""
        return self

    def compile(self, *, fullgraph: bool = False, dynamic: Optional[bool] = None, backend: Any = "inductor",
                mode: Optional[str] = None, options: Optional[Dict[str, Any]] = None, disable: bool = False) -> None:
        """torch.compile's keywords, accepted and ignored: this engine runs forward as written (there is no
        compiler), so forward is left as it is; returns None, as torch's Module.compile."""
        return None

    T_destination = TypeVar("T_destination", bound=Dict[str, Any])

    def state_dict(self, *, destination: Optional[Dict[str, Any]] = None, prefix: str = "",
                   keep_vars: bool = False) -> Dict[str, Any]:
        """Dotted name -> Tensor (sharing the parameter's or persistent buffer's data, detached from
        the graph), each module's parameters, then its buffers (then '_extra_state' when it defines
        get_extra_state), then its children's, as in torch: each module runs its state dict pre-hooks,
        its _save_to_state_dict, its children's state_dict and its post-hooks, in that order.

        torch's keywords: ``prefix`` goes before every name, ``keep_vars=True`` gives the Parameters and
        buffers themselves (not detached), ``destination`` (a dict) is filled and returned. A new dict carries
        torch's ``_metadata`` (each module's ``{'version': _version}``, by dotted path), which
        _load_from_state_dict receives as local_metadata.
        """
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()  # type: ignore[attr-defined]
        local_metadata = dict(version=self._version)
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:
            metadata[prefix[:-1]] = local_metadata
        for hook, _ in list(self._state_dict_pre_hooks or ()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        for hook, public in list(self._state_dict_hooks or ()):
            result = hook(self, destination, prefix, local_metadata)
            if result is not None and public:
                raise RuntimeError(f"{type(self).__name__}.state_dict: a hook registered with "
                                   "register_state_dict_post_hook must return None (change the dict in place)")
            if result is not None:  # (the private _register_state_dict_hook's: kept, as torch, by the root only)
                destination = result
        return destination

    def _save_to_state_dict(self, destination: Dict[str, Any], prefix: str, keep_vars: bool) -> None:
        """Put this module's own state (not its children's) in destination: its parameters and persistent
        buffers, then get_extra_state() under '_extra_state' if its class defines it, as torch's. A subclass may
        override it to change what it saves."""
        for k, p in self._parameters.items():
            if p is not None:
                destination[prefix + k] = p if keep_vars or is_lazy(p) else p.detach()
        for k, b in self._buffers.items():
            if b is not None and k not in self._non_persistent_buffers:
                destination[prefix + k] = b if keep_vars or is_lazy(b) else b.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY] = self.get_extra_state()

    def get_extra_state(self) -> Any:
        """Extra state for state_dict's '<prefix>_extra_state' key: a module that defines it (and set_extra_state)
        gets that key, as torch's. tg.save writes what it returns if that is made of dicts, lists, tuples, numbers,
        strings, None, arrays and Tensors (anything else is a TypeError naming the key)."""
        raise RuntimeError(f"{type(self).__name__}.get_extra_state: Module's own is never called; state_dict calls "
                           "it only where a subclass defines it")

    def set_extra_state(self, state: Any) -> None:
        """Take back what get_extra_state returned, from load_state_dict's '<prefix>_extra_state' key."""
        raise RuntimeError(f"{type(self).__name__}.set_extra_state: Module's own is never called; load_state_dict "
                           "calls it only where a subclass defines it")

    def register_state_dict_pre_hook(self, hook: Callable[..., Any]) -> _Handle:
        """Call ``hook(module, prefix, keep_vars)`` at the start of this module's state_dict, as torch's."""
        return self._add_state_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook: Callable[..., Any]) -> _Handle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` once this module's state_dict (its children's
        included) is filled; it may change the dict in place and must return None, as torch's."""
        try:
            hook._from_public_api = True  # (torch's mark: _register_state_dict_hook refuses this function later)
        except AttributeError:
            pass
        return self._add_state_hook("_state_dict_hooks", hook, True)

    def _register_state_dict_hook(self, hook: Callable[..., Any]) -> _Handle:
        """torch's older post-hook: as register_state_dict_post_hook's, but a dict it returns replaces the state
        dict (kept only when this module is the one state_dict was called on, as torch's)."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError("Cannot register the same function as the state dict post hook that was previously "
                               "registered via register_state_dict_post_hook")
        return self._add_state_hook("_state_dict_hooks", hook, False)

    def register_load_state_dict_pre_hook(self, hook: Callable[..., Any]) -> _Handle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before this module takes its keys from the state dict in load_state_dict; it may change
        state_dict (a copy) and the lists in place, as torch's."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook: Callable[..., Any], with_module: bool = False) -> _Handle:
        """register_load_state_dict_pre_hook, the module left out of the arguments unless with_module (torch's)."""
        return self._add_state_hook("_load_state_dict_pre_hooks", hook, bool(with_module))

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any]) -> _Handle:
        """Call ``hook(module, incompatible_keys)`` after this module and its children are loaded; it may change
        incompatible_keys' lists in place (which strict then judges) and must return None, as torch's."""
        return self._add_state_hook("_load_state_dict_post_hooks", hook)

    def _add_state_hook(self, kind: str, hook: Callable[..., Any], flag: bool = False) -> _Handle:
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a {kind[1:-1].replace('_', ' ')} must be callable, got "
                            f"{type(hook).__name__}")
        if kind not in self.__dict__:
            object.__setattr__(self, kind, [])
        entry = (hook, flag)
        getattr(self, kind).append(entry)
        return _Handle(getattr(self, kind), entry)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy values (Tensors or numpy arrays) into the parameters and persistent buffers of the same names.

        As torch's, each module (parents before children) runs its load pre-hooks and _load_from_state_dict on a
        copy of the dict (its '_metadata' giving local_metadata), then, after its children, its load post-hooks.
        Shapes must match; with strict=True missing and unexpected keys are errors too. All problems are reported
        together, by name, in one RuntimeError with torch's messages. Unless a module of the tree has load hooks,
        nothing is loaded when there is one (the copies, and set_extra_state, wait until the whole dict has been
        checked); with hooks, which may rely on
        torch's order, each module is loaded as it is reached, as torch's, so an error comes after some were.
        ``assign=True`` (torch's) puts the values themselves in place of the parameters (new Parameters keeping
        each old one's requires_grad) and buffers, with their dtype and device, instead of copying them into the
        existing ones.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: expected a mapping of parameter/buffer names to Tensors or arrays "
                            f"(e.g. another module's state_dict()), got {type(state_dict).__name__}")
        missing: List[str] = []
        unexpected: List[str] = []
        errors = _LoadErrors()
        # named_modules, not modules(): programs shadow that method by an attribute (dreamer-pytorch's
        # ``self.modules = [self.fc1, ...]``), which torch's own walks never call
        errors.defer = not any(m._load_state_dict_pre_hooks or m._load_state_dict_post_hooks
                               for _, m in self.named_modules())
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata  # type: ignore[attr-defined]

        def load(module: Module, local: Dict[str, Any], prefix: str) -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            module._load_from_state_dict(local, prefix, local_metadata, True, missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = f"{prefix}{name}."
                    load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)}, child_prefix)
            keys = IncompatibleKeys(missing, unexpected)
            for hook, _ in list(module._load_state_dict_post_hooks or ()):
                if hook(module, keys) is not None:
                    raise AssertionError(f"{type(module).__name__}: a load_state_dict post-hook must return None "
                                         "(change incompatible_keys' lists in place)")

        complex_ok(load)  # (machinery, as load_state_dict: complex values load as torch's)
        load(self, state_dict, "")
        problems = errors.bad_type + errors.bad_shape + list(errors)
        if strict:  # (torch's messages and order: missing, unexpected, then the rest)
            quoted = lambda keys: ", ".join(f'"{k}"' for k in keys)  # noqa: E731
            problems = ([f"Missing key(s) in state_dict: {quoted(missing)}. "] if missing else []) + \
                ([f"Unexpected key(s) in state_dict: {quoted(unexpected)}. "] if unexpected else []) + problems
        if problems:  # (a RuntimeError, as torch's; also a ValueError, as before)
            raise _RuntimeValueError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" +
                                     "\n\t".join(problems))
        for copy in errors.copies:
            copy()
        return IncompatibleKeys(missing, unexpected)

    def _load_from_state_dict(self, state_dict: Dict[str, Any], prefix: str, local_metadata: Dict[str, Any],
                              strict: bool, missing_keys: List[str], unexpected_keys: List[str],
                              error_msgs: List[str]) -> None:
        """Take this module's own state (not its children's) from state_dict's keys under prefix, as torch's: run
        the load pre-hooks, then check each parameter's and persistent buffer's value (an array of the same
        shape; a 1-element one for a 0-d one, as torch), the '_extra_state' key for a class that defines
        set_extra_state, and (strict) list missing keys and unexpected ones. Problems go to error_msgs; the
        copies wait in it until load_state_dict has checked everything, unless it says not to (or is a plain
        list). A subclass may override it (calling this one) to change what it loads."""
        for hook, with_module in list(self._load_state_dict_pre_hooks or ()):
            args = (state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
            if with_module:
                hook(self, *args)
            else:
                hook(*args)
        local = {k: p for k, p in self._parameters.items() if p is not None}
        local.update((k, b) for k, b in self._buffers.items()
                     if b is not None and k not in self._non_persistent_buffers)
        assign = local_metadata.get("assign_to_params_buffers", False)
        ours = isinstance(error_msgs, _LoadErrors)
        deferred = ours and error_msgs.defer  # type: ignore[attr-defined]
        for name, old in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not _is_array_like(value):
                msg = (f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like object from '
                       f"checkpoint but received {type(value)}")
                error_msgs.bad_type.append(msg) if ours else error_msgs.append(msg)  # type: ignore[attr-defined]
                continue
            arr = _foreign_array(value.array if isinstance(value, Tensor) else value)
            shape = tuple(getattr(arr, "shape", np.shape(arr)))
            if old.ndim == 0 and shape == (1,):  # (torch's: a 1-element value loads into a 0-d tensor)
                arr, value, shape = arr.reshape(()), None, ()
            if is_lazy(value) and not is_lazy(old):
                msg = f"{key}: the checkpoint's value is uninitialized (a lazy module's before its first forward)"
                error_msgs.bad_shape.append(msg) if ours else error_msgs.append(msg)  # type: ignore[attr-defined]
                continue
            if not is_lazy(old) and shape != old.shape:
                msg = (f"size mismatch for {key}: copying a param with shape {Size(shape)} from checkpoint, the shape "
                       f"in current model is {Size(old.shape)}.")
                error_msgs.bad_shape.append(msg) if ours else error_msgs.append(msg)  # type: ignore[attr-defined]
                continue
            copy = functools.partial(self._load_one, name, old, value, arr, assign)
            error_msgs.copies.append(copy) if deferred else copy()  # type: ignore[attr-defined]
        extra_key = prefix + _EXTRA_STATE_KEY
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                copy = functools.partial(self.set_extra_state, state_dict[extra_key])
                error_msgs.copies.append(copy) if deferred else copy()  # type: ignore[attr-defined]
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if isinstance(key, str) and key.startswith(prefix) and key != extra_key:
                    first, dot, _ = key[len(prefix):].partition(".")
                    if (dot and first not in self._modules) or (not dot and first not in local):
                        unexpected_keys.append(key)
                elif not isinstance(key, str) and not prefix:
                    unexpected_keys.append(key)

    def _load_one(self, name: str, old: Tensor, value: Any, arr: Any, assign: bool) -> None:
        """load_state_dict's copy of one value into this module's parameter or buffer ``name`` (assign: the value
        itself in its place, by torch's rule: a Parameter given is used as it is, keeping the old requires_grad)."""
        if is_lazy(old) and not is_lazy(value) and not assign:
            old.materialize(arr.shape)  # (a lazy module's own load pre-hook does this first)
        if not assign:
            old.array[...] = backend.to_device(backend.to_device(arr, "cpu").astype(old.dtype), old.device)
            old._bump_version()
            return
        if isinstance(old, Parameter):
            new = value if isinstance(value, Parameter) else Parameter(arr)
            new.requires_grad = old.requires_grad
        else:
            new = value if isinstance(value, Tensor) and not isinstance(value, Parameter) else Tensor(arr)
        setattr(self, name, new)

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        """The name repr prints (the class's); torch subclasses override it to rename themselves."""
        return type(self).__name__

    def __repr__(self) -> str:
        """torch's layout: a one-line extra_repr and no children inline, else each of extra_repr's lines and then
        each child's (indented) on its own line."""
        children = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._modules.items()]  # (None too)
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        if len(extra_lines) <= 1 and not children:
            return f"{self._get_name()}({extra})"
        return f"{self._get_name()}(\n  " + "\n  ".join(extra_lines + children) + "\n)"


class _ParameterContainer(Module):
    """What ParameterList and ParameterDict share: a Tensor that is not a Parameter becomes one (sharing its
    memory, as torch's); a repr listing each parameter as torch's does."""

    def _param(self, value: Any, op: str) -> Parameter:
        if isinstance(value, Parameter):
            return value
        if isinstance(value, Tensor):
            return Parameter(value)
        raise TypeError(f"{type(self).__name__}.{op}: expected a Parameter or a Tensor, got {type(value).__name__}")

    def __len__(self) -> int:
        return len(self._parameters)

    _type_of = staticmethod(lambda p: str(p.dtype))  # (ParameterList's; ParameterDict's is torch.typename's)

    def extra_repr(self) -> str:
        """torch's: a line per parameter, its dtype (or type name) and its size as 2x3, its device where not the
        CPU (Module.__repr__ puts a single line on the module's own)."""
        return "\n".join(f"  ({k}): Parameter containing: [{self._type_of(p)} of size "
                         f"{'x'.join(str(n) for n in p.shape)}{'' if p.device == 'cpu' else f' ({p.device})'}]"
                         for k, p in self._parameters.items())


class ParameterList(_ParameterContainer):
    """A list of Parameters registered under their positions, as torch's: in a module's ``self.ps``, state_dict
    keys 'ps.0', 'ps.1', ...; parameters(), to() and load_state_dict see them. Indexing, slicing (a new
    ParameterList of the same Parameters), ``pl[i] = p``, append, extend and ``+=``."""

    def __init__(self, values: Optional[Iterable[Any]] = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _key(self, i: Any, op: str) -> str:
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"ParameterList.{op}: indices must be ints or slices, got {type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"ParameterList.{op}: index {i} is out of range for {n} parameters")
        return str(int(i) % n)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return ParameterList(list(self._parameters.values())[i])
        return self._parameters[self._key(i, "__getitem__")]

    def __setitem__(self, i: Any, value: Any) -> None:
        setattr(self, self._key(i, "__setitem__"), self._param(value, "__setitem__"))

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def append(self, value: Any) -> "ParameterList":
        setattr(self, str(len(self)), self._param(value, "append"))
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend: expected an iterable of Parameters, got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    __iadd__ = extend


class ParameterDict(_ParameterContainer):
    """Parameters by string key, registered under their keys, as torch's: in a module's ``self.pd``, state_dict
    keys 'pd.<key>'. A dict's methods; reached as pd[key] or pd.key. As in torch, a plain dict given to the
    constructor or update() is taken in sorted key order (an OrderedDict, a ParameterDict or pairs in theirs)."""

    _type_of = staticmethod(lambda p: p.type())  # (torch.typename: 'torch.FloatTensor', as torch's repr)

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: a key must be a str, got {type(key).__name__}")
        if not key or "." in key:
            raise KeyError(f"ParameterDict: a key must be a non-empty string without '.', got {key!r}")
        if key not in self._parameters and hasattr(self, key):
            raise KeyError(f"ParameterDict: {key!r} is already an attribute of ParameterDict (as in torch, a key may "
                           "not hide one)")
        setattr(self, key, self._param(value, "__setitem__"))

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __delitem__(self, key: str) -> None:
        if key not in self._parameters:
            raise KeyError(key)
        delattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._parameters))

    def __contains__(self, key: Any) -> bool:
        return key in self._parameters

    def keys(self) -> Iterable[str]:
        return self._parameters.keys()

    def values(self) -> Iterable[Parameter]:
        return self._parameters.values()

    def items(self) -> Iterable[Tuple[str, Parameter]]:
        return self._parameters.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter:
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> Tuple[str, Parameter]:
        """The last (key, parameter) added, removed."""
        if not self._parameters:
            raise KeyError("ParameterDict.popitem: the dict is empty")
        key = next(reversed(self._parameters))
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """self[key], set to default first if the key is missing (default None: a missing key is left out)."""
        if key not in self._parameters and default is not None:
            self[key] = default
        return self._parameters.get(key)

    def clear(self) -> None:
        for key in list(self._parameters):
            del self[key]

    def copy(self) -> "ParameterDict":
        """A new ParameterDict holding the same Parameters (not copies of them), as torch's."""
        return ParameterDict(OrderedDict(self._parameters))

    def update(self, parameters: Any) -> None:
        """Add or replace entries from a mapping (a plain one's in key order, as torch's) or an iterable of
        (key, parameter) pairs."""
        for key, value in _update_pairs("ParameterDict.update", parameters, "parameter", Tensor,
                                        (OrderedDict, ParameterDict)):
            self[key] = value


def _update_pairs(op: str, items: Any, what: str, single: type, ordered: tuple = ()) -> list:
    """The (key, value) pairs for a dict container's update(): a mapping's items (sorted by key when ``ordered`` is
    given and the mapping is none of those types, as torch's ParameterDict) or an iterable of pairs. Anything else,
    a str or a ``single`` value included, is a clear error naming op (not a bare 'not iterable' after a partial
    update)."""
    if hasattr(items, "items"):
        pairs = list(items.items())
        return sorted(pairs) if ordered and not isinstance(items, ordered) else pairs
    if not isinstance(items, Iterable) or isinstance(items, (str, single)):
        raise TypeError(f"{op}: expected a mapping or (key, {what}) pairs, got {type(items).__name__}")
    pairs = list(items)
    for j, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{op}: element {j} must be a (key, {what}) pair, got {pair!r}")
    return pairs


def _is_array_like(v: Any) -> bool:
    """A state dict value load_state_dict can copy: a Tensor, or an array (numpy, CuPy, torch) of numbers."""
    if isinstance(v, Tensor):
        return True
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "biuf"
    return hasattr(v, "shape") and hasattr(v, "dtype")


def _foreign_array(arr: Any) -> Any:
    """A torch tensor (maybe a Parameter) as a numpy array; anything else as it is. A float dtype numpy lacks
    (bfloat16, float8) comes through float32, which holds its values exactly, as torch's copy_ converts it."""
    if not (hasattr(arr, "detach") and hasattr(arr, "cpu")):
        return arr
    arr = arr.detach().cpu()
    if arr.is_floating_point() and str(arr.dtype) not in ("torch.float16", "torch.float32", "torch.float64"):
        arr = arr.float()
    return arr.numpy()


def zero_grad_(p: Tensor) -> None:
    """Zero p.grad in place (as torch), so code holding the gradient array sees the zeros. A gradient
    that is part of a graph (backward with create_graph=True) or read-only gets a fresh zero array
    instead, so the graph that produced it is not corrupted."""
    g = p.grad
    if g.is_sparse:  # (a sparse COO gradient: no entries left, in place, as torch's zero_())
        if g.requires_grad:  # (one recorded by create_graph: its graph left alone)
            g = p.grad = g.detach()
        g.zero_()
    elif g.grad_fn is None and backend.is_writable(g.array):
        g.array[...] = 0
        g._bump_version()
    else:
        p.grad = Tensor._make(backend.xp_of(g.array).zeros_like(g.array))


class _HookedCall:
    """One call of a module with full backward hooks: its tensor inputs and outputs pass through identity nodes
    (_HookNode), whose backward sees all the outputs' gradients (the pre-hooks run there) and then all the inputs'
    (the hooks run there, with the outputs' gradients kept from before), as torch's BackwardHookFunction. As
    torch's, the positional arguments and the output's top-level items (the output itself unless a tuple) are
    what grad_input and grad_output hold: None for those that are not tensors (an LSTM's (h, c)) and for outputs no
    gradient reached; zeros for tensor inputs no gradient reached (torch's materialized gradients: one that does
    not require grad, or is unused), which the inputs that require grad then receive. As torch's, the hooks run
    only after the outputs' node did in the same backward (not when a gradient reaches the inputs another way, as
    from an LSTM's c_n alone)."""

    def __init__(self, module: Module, args: tuple) -> None:
        self.module, self.args, self.grad_output = module, args, None
        # (the hooks registered at the call, as torch's: one removed or added later does not change its backward)
        self.pre_hooks, self.hooks = list(module._backward_pre_hooks or ()), list(module._backward_hooks or ())
        self.in_slots, self.n_out, self.out_slots = _grad_slots(args), 1, []

    def wrap_inputs(self) -> tuple:
        self.in_node = _HookNode(self, True)
        return _through(self.in_node, self.args, self.in_slots)

    def wrap_outputs(self, out: Any) -> Any:
        items = out if isinstance(out, tuple) else (out,)
        self.n_out, self.out_slots = len(items), _grad_slots(items)
        if self.module._is_full_backward_hook is False:
            self._check_single_function(items)
        items = _through(_HookNode(self, False), items, self.out_slots)
        if not isinstance(out, tuple):
            return items[0]
        return type(out)(*items) if hasattr(out, "_fields") else items  # (a namedtuple keeps its type)

    def _check_single_function(self, items: tuple) -> None:
        """register_backward_hook (torch's legacy hook) runs as a full hook only where the two agree: forward's
        outputs come from one autograd Function whose inputs are the module's tensor inputs alone."""
        fns = {id(f.fn if isinstance(f, _OutputNode) else f): f.fn if isinstance(f, _OutputNode) else f
               for f in (items[i].grad_fn for i in self.out_slots)}
        fn = next(iter(fns.values()), None) if len(fns) == 1 else None
        if fn is None or not all(p is None or (isinstance(p, _OutputNode) and p.fn is self.in_node)
                                 for p in getattr(fn, "parents", (0,))):
            raise RuntimeError(f"{type(self.module).__name__}: register_backward_hook (torch's legacy hook) would see "
                               "the gradients of forward's last autograd Function, not the module's, since forward is "
                               "not one Function of the module's tensor inputs alone (it has parameters or several "
                               "steps); use register_full_backward_hook")

    def outputs_reached(self, grads: tuple) -> tuple:
        grad_output = _spread(grads, self.out_slots, self.n_out)
        for hook, *_ in self.pre_hooks:
            new = hook(self.module, grad_output)
            if new is not None:
                grad_output = self._checked(new, self.n_out, "pre-hook", "grad_output")
        if self.in_slots:
            self.grad_output = grad_output  # (for the inputs' node, which runs the hooks)
        else:  # (no input takes a gradient: the hooks run now, with grad_input all None, as torch)
            self._run_hooks((None,) * len(self.args), grad_output)
        return tuple(grad_output[i] for i in self.out_slots)

    def inputs_reached(self, grads: tuple) -> tuple:
        grad_input = list(_spread(grads, self.in_slots, len(self.args)))
        for i, a in enumerate(self.args):
            if grad_input[i] is None and isinstance(a, Tensor):  # (torch's zeros where no gradient reached a tensor)
                grad_input[i] = Tensor._make(backend.xp_of(a.array).zeros_like(a.array))
        grad_input, grad_output, self.grad_output = tuple(grad_input), self.grad_output, None
        if grad_output is not None:  # (the outputs' node ran first in this backward, as torch requires)
            grad_input = self._run_hooks(grad_input, grad_output)
        return tuple(grad_input[i] for i in self.in_slots)

    def _run_hooks(self, grad_input: tuple, grad_output: tuple) -> tuple:
        for hook, *_ in self.hooks:
            new = hook(self.module, grad_input, grad_output)
            if new is not None and not self.in_slots and not (isinstance(new, tuple) and all(g is None for g in new)):
                raise RuntimeError(f"{type(self.module).__name__}: a full backward hook of a module none of whose "
                                   "inputs requires grad must return None or a tuple of None")  # (torch's check)
            if new is not None:
                grad_input = self._checked(new, len(grad_input), "hook", "grad_input")
        return grad_input

    def _checked(self, new: Any, n: int, kind: str, what: str) -> tuple:
        new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
        if len(new) != n or not all(g is None or isinstance(g, Tensor) for g in new):
            raise RuntimeError(f"{type(self.module).__name__}: a full backward {kind} must return None or a tuple of "
                               f"{n} Tensors or None ({what}), got {len(new)} items")
        return new


class _HookNode(Function):
    """Identity over a module call's tensor inputs (``inputs``) or outputs, so that one backward sees all their
    gradients at once (_HookedCall)."""

    name = "backward_hook"

    def __init__(self, call: _HookedCall, inputs: bool) -> None:
        self.call, self.inputs = call, inputs

    def forward(self, *arrays: Any) -> tuple:
        return tuple(arrays)

    def backward(self, *grads: Optional[Tensor]) -> tuple:
        return self.call.inputs_reached(grads) if self.inputs else self.call.outputs_reached(grads)


def _grad_slots(items: tuple) -> List[int]:
    return [i for i, a in enumerate(items) if isinstance(a, Tensor) and a.requires_grad]


def _through(node: _HookNode, items: tuple, slots: List[int]) -> tuple:
    """items with those at slots replaced by node's outputs for them (items itself when there are none)."""
    if not slots:
        return items
    items = list(items)
    for i, t in zip(slots, node(*[items[i] for i in slots])):
        items[i] = t
    return tuple(items)


def _spread(grads: tuple, slots: List[int], n: int) -> tuple:
    """n gradients: grads at slots, None elsewhere."""
    full: List[Optional[Tensor]] = [None] * n
    for i, g in zip(slots, grads):
        full[i] = g
    return tuple(full)


# Module.__call__ only dispatches (hooks, then forward): a module of the user's on complex tensors is judged by the ops
# its forward calls, each checked itself, and a layer of this package by its own forward (see tensor.complex_check)
complex_ok(Module.__call__)
complex_ok(Module._always_called_hooks)
complex_ok(Parameter.__init__)  # (a Parameter wraps its tensor's memory: torch's take complex ones)
complex_ok(Parameter.__deepcopy__)
# state_dict and load_state_dict move complex parameters and buffers as real ones, as torch's; to(complex dtype)
# casts them
for _fn in (Module.state_dict, Module._save_to_state_dict, Module.load_state_dict, Module._load_from_state_dict,
            Module._load_one, Module.to, Module.cuda, Module.cpu, Module._cast, Module._apply):
    complex_ok(_fn)
del _fn
