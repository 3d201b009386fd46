"""tg.jit, torch.jit's names as a porting shim, not a compiler: there is no TorchScript here. ``script`` and
``trace`` return the function or module they are given, unchanged (trace runs nothing: it neither calls the model
on ``example_inputs`` nor freezes its control flow, so the result keeps every branch of the Python it is), with
torch 2.13's DeprecationWarnings; the decorators (``ignore``, ``unused``, ``export``, ``interface``,
``script_method``, ``script_if_tracing``) return what they decorate; ``is_scripting()`` and ``is_tracing()`` are
False, as torch's in eager Python; ``Final`` is ``typing.Final``, ``annotate`` returns the value and
``Attribute`` is torch's namedtuple.
``save`` and ``load`` raise: there is no TorchScript archive to write or read (save a ``state_dict`` with tg.save)."""
from __future__ import annotations

import collections
import warnings
from typing import Any, Final, TypeVar

from .nn.module import Module

_F = TypeVar("_F")

__all__ = ["Attribute", "Final", "ScriptModule", "annotate", "export", "freeze", "ignore", "interface",
           "is_scripting", "is_tracing", "load", "optimize_for_inference", "save", "script", "script_if_tracing",
           "script_method", "trace", "trace_module", "unused"]


def _deprecated(name: str, instead: str = "`torch.compile` or `torch.export`") -> None:
    warnings.warn(f"`torch.jit.{name}` is deprecated. Please switch to {instead}.", DeprecationWarning, stacklevel=3)


def _callable(name: str, obj: Any) -> Any:
    if not callable(obj):
        raise RuntimeError(f"jit.{name}: expected a Module or a function (there is no TorchScript here: it is "
                           f"returned unchanged), got {type(obj).__name__}")
    return obj


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None, example_inputs: Any = None) -> Any:
    """torch.jit.script, a porting shim: the Module, function or class comes back unchanged and runs as the
    Python it is (there is no TorchScript compiler here). Warns as torch 2.13 does."""
    _deprecated("script")
    return _callable("script", obj)


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-05, strict: bool = True, _force_outplace: bool = False,
          _module_class: Any = None, _compilation_unit: Any = None, example_kwarg_inputs: Any = None,
          _store_inputs: bool = True) -> Any:
    """torch.jit.trace, a porting shim: ``func`` (a Module, a function or a bound method) comes back unchanged.
    Nothing runs: example_inputs are not passed through it, and data-dependent control flow stays live where
    torch's trace would record the path those inputs took. Warns as torch 2.13 does."""
    _deprecated("trace")
    return _callable("trace", func)


def trace_module(mod: Any, inputs: Any, optimize: Any = None, check_trace: bool = True, check_inputs: Any = None,
                 check_tolerance: float = 1e-05, strict: bool = True, _force_outplace: bool = False,
                 _module_class: Any = None, _compilation_unit: Any = None, example_inputs_is_kwarg: bool = False,
                 _store_inputs: bool = True) -> Any:
    """torch.jit.trace_module, a porting shim: the module comes back unchanged, nothing runs."""
    if not isinstance(mod, Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    _deprecated("trace_method")
    return mod


def script_method(fn: _F) -> _F:
    """torch.jit.script_method: the method, unchanged (with torch's DeprecationWarning)."""
    _deprecated("script_method")
    return fn


def script_if_tracing(fn: _F) -> _F:
    """torch.jit.script_if_tracing: ``fn`` unchanged (nothing is ever traced here)."""
    return fn


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """torch.jit.ignore: ``@ignore`` or ``@ignore(drop=...)`` leaves the function as it is (it is Python either
    way here). A non-bool, non-function argument raises torch's RuntimeError; drop=True warns as torch's."""
    if callable(drop):
        return drop
    if not isinstance(drop, bool):
        raise RuntimeError(f"Argument to @torch.jit.ignore must be a bool or a function but got {drop}")
    if kwargs.pop("drop_on_export", None):
        warnings.warn("ignore(drop_on_export=True) has been deprecated. TorchScript will now drop the function "
                      "call on compilation. Use torch.jit.unused now. {}", FutureWarning, stacklevel=2)
    elif drop:
        warnings.warn("ignore(True) has been deprecated. TorchScript will now drop the function "
                      "call on compilation. Use torch.jit.unused now. {}", FutureWarning, stacklevel=2)
    return lambda fn: fn


def unused(fn: _F) -> _F:
    """torch.jit.unused: the function (or property) unchanged; it still runs when called, as torch's in eager
    Python."""
    return fn


def export(fn: _F) -> _F:
    """torch.jit.export: the method unchanged."""
    return fn


def interface(obj: _F) -> _F:
    """torch.jit.interface: the class unchanged."""
    return obj


def is_scripting() -> bool:
    """False: code never runs under TorchScript here (the eager branch of ``if not torch.jit.is_scripting():``)."""
    return False


def is_tracing() -> bool:
    """False: nothing is ever traced here."""
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    """torch.jit.annotate: ``the_value``, as torch's outside TorchScript."""
    return the_value


Attribute = collections.namedtuple("Attribute", ["value", "type"])
Attribute.__doc__ = """torch.jit.Attribute(value, type), torch's namedtuple: a ScriptModule's __setattr__ stores
its value."""


class ScriptModule(Module):
    """torch.jit.ScriptModule as a base class: an ordinary Module here (``@script_method`` methods run as Python).
    Nothing that script or trace returns is one: they return their argument."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Attribute):  # (torch's: the value is stored, its type only told the compiler)
            value = value.value
        super().__setattr__(name, value)


def _no_torchscript(name: str, what: str) -> RuntimeError:
    return RuntimeError(f"jit.{name}: there is no TorchScript here ({what}; tg.jit.script and tg.jit.trace return "
                        "the model unchanged, as tg.compile does). Save or load the model's state_dict with tg.save / "
                        "tg.load instead")


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """torch.jit.save: raises RuntimeError, there is no TorchScript archive to write here."""
    raise _no_torchscript("save", "nothing can be written as a TorchScript archive")


def load(f: Any, map_location: Any = None, _extra_files: Any = None, _restore_shapes: bool = False) -> Any:
    """torch.jit.load: raises RuntimeError, a TorchScript archive cannot be read here."""
    raise _no_torchscript("load", "a TorchScript archive cannot be read")


def freeze(mod: Any, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Any:
    """torch.jit.freeze, a porting shim: the module unchanged (it must be in eval mode, as torch's asks), with
    torch's DeprecationWarning. Nothing is inlined or folded."""
    warnings.warn("`torch.jit.freeze` is deprecated. Please use `torch.compile` instead.", DeprecationWarning,
                  stacklevel=2)
    if not isinstance(mod, Module):
        raise RuntimeError(f"Freezing expects a Module as input (what tg.jit.script or tg.jit.trace returns), got "
                           f"{type(mod).__name__}")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod: Any, other_methods: Any = None) -> Any:
    """torch.jit.optimize_for_inference, a porting shim: ``mod.eval()``, otherwise unchanged, with torch's
    DeprecationWarning."""
    warnings.warn("`torch.jit.optimize_for_inference` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=2)
    if not isinstance(mod, Module):
        raise RuntimeError(f"optimize_for_inference expects a Module as input (what tg.jit.script or tg.jit.trace "
                           f"returns), got {type(mod).__name__}")
    return mod.eval()
