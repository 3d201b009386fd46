"""tg.profiler and tg.autograd.profiler: record_function ranges with real wall times and counts, summed by
key_averages() into torch's table; schedule() and step() as torch's; emit_nvtx a no-op; no per-op events."""
import json
import time
import warnings

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def _workload(rf, x):
    """The same marked program for torch and tg (`rf` is either package's record_function)."""
    for _ in range(3):
        with rf("outer"):
            time.sleep(0.004)
            with rf("inner"):
                time.sleep(0.002)
                (x * 2).sum()
    with rf("once"):
        pass


def _rows(averages, names):
    return {e.key: e for e in averages if e.key in names}


def test_record_function_ranges_counts_and_wall_times_as_torch(device):
    torch = pytest.importorskip("torch")
    names = ("outer", "inner", "once")
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        _workload(record_function, tg.ones(3, device=device))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as tprof:
        _workload(torch.profiler.record_function, torch.ones(3))
    ours, theirs = _rows(prof.key_averages(), names), _rows(tprof.key_averages(), names)
    assert set(ours) == set(theirs) == set(names)
    assert {k: e.count for k, e in ours.items()} == {k: e.count for k, e in theirs.items()} == \
        {"outer": 3, "inner": 3, "once": 1}
    # real wall times: at least the sleeps, outer includes inner, self excludes it
    assert ours["inner"].cpu_time_total >= 3 * 2000 and ours["outer"].cpu_time_total >= 3 * 6000
    assert ours["outer"].self_cpu_time_total == pytest.approx(ours["outer"].cpu_time_total
                                                              - ours["inner"].cpu_time_total)
    assert ours["outer"].cpu_time == pytest.approx(ours["outer"].cpu_time_total / 3)
    assert [k for k in (e.key for e in prof.key_averages())] == ["outer", "inner", "once"]  # (no per-op rows)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)
    theirs_table = tprof.key_averages().table(sort_by="cpu_time_total", row_limit=10)
    header = [ln for ln in table.splitlines() if "Name" in ln][0]
    assert header.split() == [ln for ln in theirs_table.splitlines() if "Name" in ln][0].split()
    body = [ln.split() for ln in table.splitlines() if ln.strip().startswith(("outer", "inner", "once"))]
    assert [r[0] for r in body] == ["outer", "inner", "once"] and [r[-1] for r in body] == ["3", "3", "1"]
    assert table.rstrip().splitlines()[-1].startswith("Self CPU time total: ")
    assert "us" in prof.key_averages().table(time_unit="us").splitlines()[3]


def test_record_function_as_decorator_nested_profiles_and_nothing_outside():
    @record_function("decorated")
    def f(n):
        return f(n - 1) if n else 0
    f(1)  # (outside a profile: nothing recorded, nothing fails)
    with profile() as outer:
        with profile() as inner:
            f(2)
        f(0)
    counts = {e.key: e.count for e in outer.key_averages()}
    assert counts == {"decorated": 4} and {e.key: e.count for e in inner.key_averages()} == {"decorated": 3}
    ev = inner.events()
    assert [e.cpu_parent is None for e in ev] == [True, False, False]
    assert ev[1].cpu_parent is ev[0] and ev[0].cpu_children == [ev[1]]


def test_legacy_autograd_profiler_profile_as_torch(tmp_path):
    torch = pytest.importorskip("torch")
    ap = tg.autograd.profiler
    import tinygrad_rnn.autograd.profiler as imported
    assert imported is ap and ap.record_function is record_function
    prof = ap.profile()
    with pytest.raises(RuntimeError, match="Profiler didn't finish running"):
        prof.key_averages()
    with prof:
        with pytest.raises(RuntimeError, match="not reentrant"):
            prof.__enter__()
        _workload(ap.record_function, tg.ones(2))
    with torch.autograd.profiler.profile() as tprof:
        _workload(torch.autograd.profiler.record_function, torch.ones(2))
    names = ("outer", "inner", "once")
    assert {k: e.count for k, e in _rows(prof.key_averages(), names).items()} == \
        {k: e.count for k, e in _rows(tprof.key_averages(), names).items()}
    assert len(prof.function_events) == 7 and prof.self_cpu_time_total == pytest.approx(
        sum(e.self_cpu_time_total for e in prof.function_events))
    assert prof.total_average().count == 7 and "outer" in prof.table() and "outer" in str(prof)
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    trace = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    assert [e["name"] for e in trace][:2] == ["outer", "inner"] and all(e["ph"] == "X" for e in trace)
    with ap.profile(enabled=False) as off:
        _workload(ap.record_function, tg.ones(2))
    assert off is None
    with pytest.warns(FutureWarning, match="use_cuda"):
        ap.profile(use_cuda=True)


@pytest.mark.parametrize("kw", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=2, active=1, repeat=2),
                                dict(wait=2, warmup=1, active=3, repeat=1, skip_first=3),
                                dict(wait=3, warmup=1, active=1, skip_first=2, skip_first_wait=1)])
def test_schedule_matches_torchs_actions(kw):
    torch = pytest.importorskip("torch")
    ours, theirs = schedule(**kw), torch.profiler.schedule(**kw)
    assert [ours(i).name for i in range(30)] == [theirs(i).name for i in range(30)]
    with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
        schedule(wait=0, warmup=0, active=0)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        schedule(wait=1, warmup=0, active=1)


def test_step_under_a_schedule_saves_traces_as_torch():
    torch = pytest.importorskip("torch")

    def run(mod, rf):
        seen = []
        sched = mod.schedule(wait=1, warmup=1, active=2, repeat=2)
        with mod.profile(schedule=sched, on_trace_ready=lambda p: seen.append(
                sorted((e.key, e.count) for e in p.key_averages() if e.key.startswith(("ProfilerStep", "work"))))) \
                as p:
            for _ in range(10):
                with rf("work"):
                    pass
                p.step()
        return seen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = run(torch.profiler, torch.profiler.record_function)
    ours = run(tg.profiler, record_function)
    assert ours == theirs and len(ours) == 2
    assert ours[0] == [("ProfilerStep*", 2), ("work", 2)]


def test_tensorboard_trace_handler_raises_and_emit_nvtx_is_a_no_op():
    with pytest.raises(NotImplementedError, match="no Kineto trace here"):
        tg.profiler.tensorboard_trace_handler("./log")
    with tg.autograd.profiler.emit_nvtx(record_shapes=True) as ctx:
        with pytest.raises(RuntimeError, match="NVTX annotation context manager is not reentrant"):
            ctx.__enter__()
        y = tg.ones(2) * 3
    assert y.tolist() == [3.0, 3.0]
    with tg.autograd.profiler.emit_itt():
        pass
    assert ProfilerAction.RECORD_AND_SAVE.value == 3 and tg.profiler.supported_activities() == {ProfilerActivity.CPU}
    with pytest.raises(TypeError, match="ProfilerActivity"):
        profile(activities=["cpu"])
    with pytest.raises(AssertionError, match="No valid profiler activities found"):
        profile(activities=[])
    with pytest.warns(FutureWarning, match="`use_cuda` is deprecated, use `activities` argument instead"):
        assert ProfilerActivity.CUDA in profile(use_cuda=True).activities
    assert profile(activities=[{ProfilerActivity.CPU: ["x"]}]).activities == {ProfilerActivity.CPU}
