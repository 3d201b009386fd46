"""tg.autograd.profiler, torch.autograd.profiler's names: the legacy ``profile`` context (``with profile() as prof:
... prof.key_averages().table()``), ``record_function``, ``emit_nvtx`` / ``emit_itt`` (no-op contexts: no NVTX or
ITT ranges are emitted here) and the event classes. As tg.profiler's (profiler.py, which owns the recording), only
record_function ranges are timed: the engine is not instrumented, so there are no per-op events."""
from __future__ import annotations

import warnings
from typing import Any, Optional

from .profiler import (EventList, FunctionEvent, FunctionEventAvg, ProfilerActivity, _Session, kineto_available,
                       record_function)

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerActivity", "emit_itt", "emit_nvtx",
           "kineto_available", "profile", "record_function"]


class profile(_Session):
    """torch.autograd.profiler.profile(enabled=True, *, use_cuda=False, ...): collects the record_function ranges
    entered inside it; after the block, ``key_averages()``, ``table()``, ``total_average()``,
    ``self_cpu_time_total``, ``function_events`` and ``export_chrome_trace`` read them (before its end they raise
    torch's "Profiler didn't finish running"). Not reentrant, as torch's. The options are accepted and measure
    nothing (no per-op events, shapes, memory, FLOPs or device times: the engine is not instrumented)."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device: Optional[str] = None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config: Any = None, acc_events: bool = False, custom_trace_id_callback: Any = None,
                 post_processing_timeout_s: Optional[float] = None, activity_filters: Any = None) -> None:
        self.enabled, self.entered = enabled, False
        if not enabled:
            return
        if use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use ``use_device = 'cuda'`` "
                          "instead.", FutureWarning, stacklevel=2)
            use_device = "cuda"
        self.use_cuda, self.use_device, self.record_shapes = use_cuda, use_device, record_shapes
        self.with_flops, self.profile_memory, self.with_stack = with_flops, profile_memory, with_stack

    def __enter__(self) -> Optional["profile"]:
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._start_trace()
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self.enabled:
            self._stop_trace()
        return False

    @property
    def function_events(self) -> EventList:
        return self._finished_events()

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: Optional[str] = None,
              top_level_events_only: bool = False) -> str:
        """The events' table (each range its own row; ``key_averages().table()`` sums them by name)."""
        return self._finished_events().table(sort_by, row_limit, max_src_column_width, max_name_column_width,
                                             max_shapes_column_width, header, top_level_events_only)

    def total_average(self) -> FunctionEventAvg:
        return self._finished_events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        """The ranges' self times summed, in microseconds."""
        return self._finished_events().self_cpu_time_total

    def __str__(self) -> str:
        return "<unfinished torch.autograd.profile>" if self._events is None else str(self._events)


class _Annotations:
    """emit_nvtx / emit_itt: accepted, and of no effect (nothing emits NVTX or ITT ranges here)."""

    _kind = "NVTX"

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled, self.record_shapes, self.entered = enabled, record_shapes, False

    def __enter__(self) -> Optional["_Annotations"]:
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError(f"{self._kind} annotation context manager is not reentrant")
        self.entered = True
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self.enabled:
            self.entered = False
        return False


class emit_nvtx(_Annotations):
    """torch.autograd.profiler.emit_nvtx(enabled=True, record_shapes=False): a no-op context (no NVTX ranges)."""


class emit_itt(_Annotations):
    """torch.autograd.profiler.emit_itt(enabled=True, record_shapes=False): a no-op context (no ITT ranges)."""

    _kind = "ITT"

