"""torch.amp's names: GradScaler, with torch's semantics (loss scaling, unscale_, skipped steps on inf/nan
gradients, the scale's growth and backoff), and autocast, accepted and of no effect: there is one precision here,
the tensors' own (ops are not recast to float16/bfloat16 inside it, and numpy has no bfloat16). A training loop
written for mixed precision runs unchanged, in full precision; GradScaler still guards against inf/nan gradients."""
from __future__ import annotations

import functools
import math
import threading
import warnings
from collections import defaultdict
from collections.abc import Iterable
from enum import Enum
from typing import Any, Callable, Dict, Optional

import numpy as np

from . import backend
from .autograd import no_grad
from .tensor import Tensor, bfloat16, float16

__all__ = ["GradScaler", "autocast", "custom_fwd", "custom_bwd", "is_autocast_available"]
# torch's autocast state functions (torch.is_autocast_enabled & co., exported at tg's top level)
STATE_FUNCTIONS = ["is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype",
                   "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_cpu_dtype",
                   "set_autocast_gpu_dtype", "is_autocast_cpu_enabled", "set_autocast_cpu_enabled",
                   "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache",
                   "autocast_increment_nesting", "autocast_decrement_nesting"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> Dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _f32(x: float) -> float:
    """x rounded to float32, as torch keeps the scale (inf beyond its range, which update then refuses)."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


class GradScaler:
    """torch.amp.GradScaler: ``scale(loss)`` multiplies by the scale (init_scale, kept in float32), ``unscale_``
    divides an optimizer's gradients by it in place (once per step) and records whether any is inf or nan, ``step``
    unscales if not done yet and calls optimizer.step() only where none was, ``update`` multiplies the scale by
    backoff_factor after such a step, or by growth_factor after growth_interval steps in a row without one.
    device 'cuda' without a GPU disables it, with torch's warning; disabled, scale returns its input, step just
    steps and get_scale is 1.0."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device, self._enabled = device, enabled
        if device == "cuda" and enabled and not backend.cuda_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale, self._scale = init_scale, None
            self._growth_factor, self._backoff_factor = growth_factor, backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker, self._growth_tracker = 0, None
            self._per_optimizer_states: Dict[int, Dict[str, Any]] = defaultdict(_refresh_per_optimizer_state)

    def _check_started(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your script did not "
                                 "use scaler.scale(loss or outputs) earlier in the iteration.")

    def scale(self, outputs: Any) -> Any:
        """outputs times the scale: a Tensor, or (recursively) a list, tuple or other iterable of them."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale, self._growth_tracker = _f32(self._init_scale), self._init_growth_tracker

        def apply(val: Any) -> Any:
            if isinstance(val, Tensor):
                return val * self._scale
            if isinstance(val, Iterable):
                scaled = map(apply, val)
                return type(val)(scaled) if isinstance(val, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply(outputs)

    def unscale_(self, optimizer: Any) -> None:
        """Divide the gradients of optimizer's parameters by the scale, in place, and record whether any is inf or
        nan (for step). Once per optimizer between update()s, before step (torch's RuntimeErrors)."""
        if not self._enabled:
            return
        self._check_started("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = _f32(1.0 / self._scale)
        found: Dict[str, float] = {}
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if not isinstance(p, Tensor):
                        raise AssertionError(f"expected param to be Tensor, got {type(p).__name__}")
                    if p.grad is None:
                        continue
                    if p.grad.dtype == float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    grad = p.grad._values() if p.grad.is_sparse else p.grad  # (a sparse one's values, as torch's)
                    xp = backend.xp_of(grad.array)
                    bad = float(not bool(xp.isfinite(grad.array).all()))
                    found[p.grad.device] = max(found.get(p.grad.device, 0.0), bad)
                    with np.errstate(invalid="ignore", over="ignore"):
                        grad.mul_(inv_scale)
        state["found_inf_per_device"] = found
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """unscale_(optimizer) unless done, then optimizer.step(*args, **kwargs) unless a gradient was inf or nan
        (skipped: returns None). Once per update()."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_started("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale: Any = None) -> None:
        """Set the scale for the next iteration: ``new_scale`` (a number or a one-element Tensor) if given, else
        backed off after an inf/nan gradient in any optimizer since the last update, or grown after
        growth_interval clean steps in a row (kept where the grown one would be inf)."""
        if not self._enabled:
            return
        self._check_started("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1:
                    raise AssertionError("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                                         "torch.FloatTensor with requires_grad=False.")
                new_scale = new_scale.item()
            self._scale = _f32(new_scale)
        else:
            found = [v for s in self._per_optimizer_states.values() for v in s["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if sum(found):
                self._scale = _f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = _f32(self._scale * self._growth_factor)
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def get_scale(self) -> float:
        """The scale now (init_scale before the first scale() call; 1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> Dict[str, Any]:
        """torch's keys: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker ({} disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Take a state_dict's settings (a disabled scaler ignores it; an empty one is refused, as torch's)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale = _f32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = int(state_dict["_growth_tracker"])


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast takes device_type: 'cpu' and 'cuda' (where it has no effect here)."""
    return device_type in ("cpu", "cuda")


class _AutocastState(threading.local):
    """torch's autocast state, per thread as torch's: enabled and dtype per device type, the cache switch and the
    nesting depth. Recorded and reported only: no op reads it (one precision here)."""

    def __init__(self) -> None:
        self.enabled: Dict[str, bool] = {}
        self.dtype: Dict[str, Any] = {}
        self.cache_enabled, self.nesting = True, 0


_state = _AutocastState()


def _device_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise TypeError(f"expected a device type string such as 'cpu' or 'cuda', got {type(device_type).__name__}")
    backend.device(device_type)  # (an unknown type: torch's RuntimeError)
    return device_type


def is_autocast_enabled(device_type: Optional[str] = None) -> bool:
    """Whether autocast is on for device_type now (inside ``with tg.autocast(device_type)``); no argument: CUDA's,
    as torch's legacy form."""
    return _state.enabled.get("cuda" if device_type is None else _device_type(device_type), False)


def set_autocast_enabled(*args: Any) -> None:
    """set_autocast_enabled(device_type, enabled), or torch's legacy set_autocast_enabled(enabled) for CUDA."""
    if len(args) == 1:
        device_type, enabled = "cuda", args[0]
    elif len(args) == 2:
        device_type, enabled = _device_type(args[0]), args[1]
    else:
        raise TypeError(f"set_autocast_enabled(device_type, enabled) takes 1 or 2 arguments, got {len(args)}")
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_enabled: enabled must be a bool, got {type(enabled).__name__}")
    _state.enabled[device_type] = enabled


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype autocast would run device_type's ops in: bfloat16 for the CPU and float16 elsewhere unless set
    (recorded: ops keep their dtypes here)."""
    device_type = _device_type(device_type)
    return _state.dtype.get(device_type, bfloat16 if device_type == "cpu" else float16)


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    _state.dtype[_device_type(device_type)] = dtype


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


def get_autocast_cpu_dtype() -> Any:
    """Deprecated, as torch's: get_autocast_dtype('cpu')."""
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype() -> Any:
    """Deprecated, as torch's: get_autocast_dtype('cuda')."""
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_cpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def is_autocast_cpu_enabled() -> bool:
    """Deprecated, as torch's: is_autocast_enabled('cpu')."""
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def is_autocast_cache_enabled() -> bool:
    """torch's autocast weight-cache switch (True by default; there is no cache here)."""
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_cache_enabled: enabled must be a bool, got {type(enabled).__name__}")
    _state.cache_enabled = enabled


def clear_autocast_cache() -> None:
    """Nothing to clear: autocast keeps no cast copies here."""


def autocast_increment_nesting() -> int:
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting() -> int:
    _state.nesting -= 1
    return _state.nesting


class autocast:
    """torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None), as a context manager or a
    decorator: checked, and recorded in torch's autocast state (``tg.is_autocast_enabled('cpu')``,
    ``tg.get_autocast_dtype``, ``tg.is_autocast_cache_enabled`` report what torch's do inside it, restored on exit),
    with no effect on ops (one precision here: they keep the tensors' dtypes). As torch's, dtype defaults to
    get_autocast_dtype(device_type), a CPU dtype other than bfloat16/float16 warns and disables it, and 'cuda'
    without a GPU is disabled (silently here: it changes nothing either way)."""

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: Optional[bool] = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        backend.device(device_type)  # (an unknown type: torch's RuntimeError)
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        enabled = bool(enabled)
        if enabled and device_type == "cuda" and not backend.cuda_available():
            enabled = False
        elif enabled and device_type != "cuda" and not any(self.fast_dtype is d for d in (bfloat16, float16)):
            name = device_type.upper()
            warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n{name} "
                          "Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.", stacklevel=2)
            enabled = False
        self._enabled = enabled

    def __enter__(self) -> "autocast":
        self._prev = (is_autocast_cache_enabled(), is_autocast_enabled(self.device), get_autocast_dtype(self.device))
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, *exc: Any) -> None:
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        cache, enabled, dtype = self._prev
        set_autocast_enabled(self.device, enabled)
        set_autocast_dtype(self.device, dtype)
        set_autocast_cache_enabled(cache)
        return None

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return wrapper


class _DeviceGradScaler(GradScaler):
    """torch.cuda.amp.GradScaler / torch.cpu.amp.GradScaler: GradScaler(device_type, ...), deprecated in torch, which
    warns. Subclasses set device_type."""

    device_type = "cuda"

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        d = self.device_type
        warnings.warn(f"`torch.{d}.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('{d}', "
                      "args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__(d, init_scale, growth_factor, backoff_factor, growth_interval, enabled)


class _DeviceAutocast(autocast):
    """torch.cuda.amp.autocast / torch.cpu.amp.autocast: autocast(device_type, ...), deprecated in torch, which warns
    (no effect here). Subclasses set device_type and default_dtype."""

    device_type, default_dtype = "cuda", None

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        d = self.device_type
        warnings.warn(f"`torch.{d}.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('{d}', "
                      "args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__(d, dtype=self.default_dtype if dtype is None else dtype, enabled=enabled,
                         cache_enabled=cache_enabled)


def custom_fwd(fwd: Optional[Callable] = None, *, device_type: str, cast_inputs: Any = None) -> Callable:
    """torch.amp.custom_fwd: a custom Function's forward as it is (no autocast here to run it under or out of)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd: Optional[Callable] = None, *, device_type: str) -> Callable:
    """torch.amp.custom_bwd: a custom Function's backward as it is."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
