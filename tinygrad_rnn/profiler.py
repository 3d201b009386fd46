"""tg.profiler, torch.profiler's names (and, in autograd_profiler.py, torch.autograd.profiler's legacy ``profile``):
``record_function`` ranges timed with real wall clocks, collected by ``profile`` and summed by ``key_averages()``
into torch's table (Self CPU, CPU total, average, # of Calls). Honest about what it is: the engine is not
instrumented, so there are no per-op events (no ``aten::mm`` rows), no shapes, memory, FLOPs or device times; only the
ranges a program marks with ``record_function`` (and ``ProfilerStep#N`` around each ``step()`` under a schedule) are
recorded. Outside a profile, ``record_function`` costs one list check."""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import warnings
from enum import Enum
from typing import Any, Callable, Dict, Iterable, List, Optional

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule", "supported_activities",
           "tensorboard_trace_handler", "EventList", "FunctionEvent", "FunctionEventAvg", "kineto_available"]


class ProfilerActivity(Enum):
    """torch.profiler.ProfilerActivity: which activities a profile asks for. Only the CPU's record_function ranges are
    ever recorded here."""
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(Enum):
    """torch.profiler.ProfilerAction: what a schedule asks for at a step."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """The activities a profile takes: the CPU's (record_function ranges)."""
    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """False: there is no Kineto here."""
    return False


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_share(time_us: float, total_us: float) -> str:
    return "NaN" if total_us == 0 else f"{time_us * 100.0 / total_us:.2f}%"


class FunctionEvent:
    """One record_function range: ``name``/``key``, ``start_us``/``end_us`` (perf_counter, microseconds),
    ``cpu_time_total`` (its wall time), ``self_cpu_time_total`` (less its direct children's), ``cpu_parent``,
    ``cpu_children``, ``thread``; ``ProfilerStep#N`` ranges are named ``ProfilerStep*`` (``trace_name`` keeps N).
    Device times, memory and FLOPs are 0 (nothing measures them here)."""

    def __init__(self, id: int, name: str, thread: int, start_us: float,  # noqa: A002  (torch's name)
                 cpu_parent: Optional["FunctionEvent"] = None) -> None:
        self.id, self.thread, self.trace_name = id, thread, name
        # (torch's: the steps are summed under one wildcard name, each keeps its own in the trace)
        self.name = self.key = "ProfilerStep*" if name.startswith("ProfilerStep#") else name
        self.start_us, self.end_us = start_us, start_us
        self.cpu_parent, self.cpu_children = cpu_parent, []
        self.count, self.input_shapes, self.stack, self.node_id = 1, [], [], -1
        self.device_time_total = self.self_device_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = self.flops = 0
        self.is_async, self.is_user_annotation = False, True

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
                f"cpu_time={_format_time(self.cpu_time_total)} self_cpu_time={_format_time(self.self_cpu_time_total)}>")


class FunctionEventAvg:
    """torch's FunctionEventAvg: the events of one name summed (``count``, ``cpu_time_total``,
    ``self_cpu_time_total``) with ``cpu_time`` their average."""

    def __init__(self, key: str) -> None:
        self.key, self.count, self.cpu_time_total, self.self_cpu_time_total = key, 0, 0.0, 0.0
        self.input_shapes, self.stack, self.node_id, self.cpu_parent = [], [], -1, None
        self.device_time_total = self.self_device_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = self.flops = 0
        self.is_async, self.is_user_annotation = False, True

    def add(self, other: Any) -> "FunctionEventAvg":
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time)} count={self.count}>")


def _sort_key(sort_by: str) -> Callable[[Any], Any]:
    attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
    return lambda evt: getattr(evt, attr)


class EventList(list):
    """torch's EventList: the events of a profile (or their averages), with ``key_averages``, ``table``,
    ``total_average``, ``self_cpu_time_total`` and ``export_chrome_trace``."""

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> "EventList":
        """One FunctionEventAvg per name (in order of first appearance): counts and summed times. (No shapes or
        stacks are recorded, so the grouping options change nothing.)"""
        groups: Dict[str, FunctionEventAvg] = {}
        for evt in self:
            groups.setdefault(evt.key, FunctionEventAvg(evt.key)).add(evt)
        return EventList(groups.values())

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for evt in self:
            total.add(evt)
        return total

    @property
    def self_cpu_time_total(self) -> float:
        return sum(evt.self_cpu_time_total for evt in self)

    def table(self, sort_by: Optional[str] = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: Optional[str] = None,
              top_level_events_only: bool = False, time_unit: Optional[str] = None) -> str:
        """torch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg, # of Calls, sorted by
        ``sort_by`` (an attribute such as 'cpu_time_total', 'self_cpu_time_total', 'count'), then 'Self CPU time
        total'. ``time_unit`` 's', 'ms' or 'us' fixes the unit."""
        if len(self) == 0:
            return ""
        events = sorted(self, key=_sort_key(sort_by), reverse=True) if sort_by is not None else list(self)
        name_w = max(len(evt.key) for evt in events) + 4
        if max_name_column_width is not None:
            name_w = min(name_w, max_name_column_width)
        headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        widths = [name_w] + [12] * (len(headers) - 1)
        row_format = "".join("{: >" + str(w) + "}  " for w in widths)
        sep = "".join("-" * w + "  " for w in widths)
        line_length = sum(w + 2 for w in widths) - 2

        def fmt(us: float) -> str:
            if time_unit == "s":
                return f"{us / 1e6:.3f}s"
            if time_unit == "ms":
                return f"{us / 1e3:.3f}ms"
            if time_unit == "us":
                return f"{us:.3f}us"
            return _format_time(us)
        total_self = sum(evt.self_cpu_time_total for evt in events)
        out = []
        if header is not None:
            out += ["=" * line_length, header]
        if top_level_events_only:
            out += ["=" * line_length, "This report only display top-level ops statistics"]
        out += [sep, row_format.format(*headers), sep]
        shown = 0
        for evt in events:
            if shown == row_limit:
                break
            if top_level_events_only and evt.cpu_parent is not None:
                continue
            shown += 1
            name = evt.key
            if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
                name = name[:max_name_column_width - 3] + "..."
            out.append(row_format.format(name, _format_share(evt.self_cpu_time_total, total_self),
                                         fmt(evt.self_cpu_time_total), _format_share(evt.cpu_time_total, total_self),
                                         fmt(evt.cpu_time_total), fmt(evt.cpu_time), evt.count))
        out += [sep, f"Self CPU time total: {fmt(total_self)}"]
        return "\n".join(out) + "\n"

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """The ranges as a Chrome trace (chrome://tracing, Perfetto): one complete ('X') event each."""
        trace = {"traceEvents": [{"name": evt.trace_name, "ph": "X", "ts": evt.start_us, "dur": evt.cpu_time_total,
                                  "pid": os.getpid(), "tid": evt.thread, "cat": "user_annotation", "args": {}}
                                 for evt in self if isinstance(evt, FunctionEvent)]}
        with open(path, "w") as f:
            json.dump(trace, f)


class _Collector:
    """The events of one profiling session: ranges opened and closed by record_function, nested per thread."""

    def __init__(self) -> None:
        self.events: List[FunctionEvent] = []
        self._open = threading.local()

    def begin(self, name: str) -> FunctionEvent:
        stack = self._open.__dict__.setdefault("stack", [])
        parent = stack[-1] if stack else None
        evt = FunctionEvent(len(self.events), name, threading.get_ident(), time.perf_counter_ns() / 1e3, parent)
        if parent is not None:
            parent.cpu_children.append(evt)
        self.events.append(evt)
        stack.append(evt)
        return evt

    def end(self, evt: FunctionEvent) -> None:
        evt.end_us = time.perf_counter_ns() / 1e3
        stack = self._open.__dict__.get("stack", [])
        if evt in stack:
            del stack[stack.index(evt):]


_collecting: List[_Collector] = []  # the sessions recording now (profiles can nest)


class record_function(contextlib.ContextDecorator):
    """torch.profiler.record_function(name, args=None): a named range, as a context manager or a decorator; every
    profile recording at the time gets its wall time. Outside one it records nothing."""

    def __init__(self, name: str, args: Optional[str] = None) -> None:
        self.name, self.args = name, args
        self._entries: List[list] = []

    def __enter__(self) -> "record_function":
        self._entries.append([(c, c.begin(self.name)) for c in _collecting] if _collecting else [])
        return self

    def __exit__(self, *exc: Any) -> bool:
        for collector, evt in self._entries.pop():
            collector.end(evt)
        return False


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """torch.profiler.schedule: a step -> ProfilerAction function (skip_first steps, then cycles of wait, warmup
    and active steps, the last active one RECORD_AND_SAVE; repeat cycles, 0 for no limit), torch's to the step."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
                             f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
                             f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def tensorboard_trace_handler(dir_name: str, worker_name: Optional[str] = None, use_gzip: bool = False,
                              use_python_export: bool = False) -> Callable[..., Any]:
    """Raises NotImplementedError: there is no Kineto trace to write for TensorBoard's profiler plugin here. Pass
    ``on_trace_ready=lambda p: p.export_chrome_trace(path)`` for the record_function ranges as a Chrome trace."""
    raise NotImplementedError("tensorboard_trace_handler: there is no Kineto trace here for TensorBoard's profiler "
                              "plugin (the engine is not instrumented; only record_function ranges are timed). Use "
                              "on_trace_ready=lambda p: p.export_chrome_trace(path) for them as a Chrome trace")


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


class _Session:
    """Starting and stopping a collector: what both profile classes share."""

    _collector: Optional[_Collector] = None
    _events: Optional[EventList] = None

    def _start_trace(self) -> None:
        self._collector = _Collector()
        _collecting.append(self._collector)

    def _stop_trace(self) -> None:
        if self._collector is not None:
            _collecting.remove(self._collector)
            self._events = EventList(self._collector.events)
            self._collector = None

    def _finished_events(self) -> EventList:
        if self._events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self._events

    def events(self) -> EventList:
        """The recorded ranges (FunctionEvents) of the last finished trace."""
        return self._finished_events()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """The ranges averaged by name (EventList of FunctionEventAvg): ``.table(sort_by=...)`` prints them."""
        return self._finished_events().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def export_chrome_trace(self, path: str) -> None:
        """The ranges of the last finished trace as a Chrome trace (JSON)."""
        self._finished_events().export_chrome_trace(path)


class profile(_Session):
    """torch.profiler.profile: a context manager (or ``start()``/``stop()``) collecting the record_function ranges
    entered inside it; ``key_averages().table()`` sums them. With a ``schedule``, ``step()`` marks steps (each
    recorded as ``ProfilerStep#N``) and ``on_trace_ready(prof)`` runs at the end of each active cycle (and at
    stop while recording), as torch's. The other options are accepted and measure nothing: no per-op events, shapes,
    memory, stacks, FLOPs or device times (the engine is not instrumented)."""

    def __init__(self, *, activities: Optional[Iterable[Any]] = None, schedule: Optional[Callable[[int], Any]] = None,
                 on_trace_ready: Optional[Callable[..., Any]] = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: Optional[bool] = None,
                 custom_trace_id_callback: Optional[Callable[[], str]] = None,
                 post_processing_timeout_s: Optional[float] = None) -> None:
        acts = set() if activities is not None else supported_activities()
        for item in activities or ():  # (torch's: members, or dicts keyed by them)
            if not isinstance(item, (ProfilerActivity, dict)):
                raise TypeError(f"profile: activities must be ProfilerActivity members, got {item!r}")
            acts.update(item.keys() if isinstance(item, dict) else (item,))
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning, stacklevel=2)
            (acts.add if use_cuda else acts.discard)(ProfilerActivity.CUDA)
        if not acts:
            raise AssertionError("No valid profiler activities found")
        self.activities = acts
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.with_flops, self.with_modules, self.acc_events = with_flops, with_modules, acc_events
        self.schedule = schedule if schedule is not None else (lambda _step: ProfilerAction.RECORD)
        self.record_steps = schedule is not None
        self.on_trace_ready, self.step_num = on_trace_ready, 0
        self.current_action = self.schedule(self.step_num)
        self._step_range: Optional[record_function] = None

    def __enter__(self) -> "profile":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _transit(self, prev: Optional[ProfilerAction], cur: Optional[ProfilerAction]) -> None:
        was, now = prev in _RECORDING, cur in _RECORDING
        if was and (prev is ProfilerAction.RECORD_AND_SAVE or not now):
            if not now and prev is ProfilerAction.RECORD and cur is not None:
                warnings.warn(f"Incorrect schedule: RECORD followed by {cur.name}", stacklevel=3)
            self._stop_trace()
            if prev is ProfilerAction.RECORD_AND_SAVE or cur is None:
                self._trace_ready()
            was = False
        elif prev is ProfilerAction.WARMUP and cur in (ProfilerAction.NONE, None):
            if cur is ProfilerAction.NONE:
                warnings.warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=3)
            self._start_trace()  # (torch's: an empty trace)
            self._stop_trace()
        if now and not was:
            self._start_trace()

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _enter_step(self) -> None:
        if self.record_steps:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _exit_step(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def start(self) -> None:
        """Begin: record now if the schedule says so at the current step."""
        self._transit(ProfilerAction.NONE, self.current_action)
        self._enter_step()

    def stop(self) -> None:
        """End: a trace being recorded is finished (and on_trace_ready called)."""
        self._exit_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """The next step begins: the schedule's action for it starts, ends or saves a trace."""
        self._exit_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._enter_step()

    def add_metadata(self, key: str, value: str) -> None:
        """Accepted: there is no trace file for metadata here."""

    def add_metadata_json(self, key: str, value: str) -> None:
        """Accepted: there is no trace file for metadata here."""
