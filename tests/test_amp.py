"""tg.amp: GradScaler against torch.amp.GradScaler('cpu') in float64 (scale sequence, skipped steps, parameters,
state_dict, errors) and autocast, accepted with no effect."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg

BAD = {2: (1, float("inf")), 3: (0, float("nan")), 9: (2, -float("inf"))}  # step: (column, value) put in a grad


def _train(lib, opt_name, opt_kw, scaler_kw, steps=14):
    """steps of scaler-guarded training on a fixed quadratic loss, with BAD's gradients injected; unscale_ called
    by hand on some steps. Returns the scales, the weights, state_dict and the steps' return values."""
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    w, x = lib.nn.Parameter(lib.tensor(w0)), lib.tensor(x0)
    opt = getattr(lib.optim, opt_name)([w], **opt_kw)
    scaler = lib.amp.GradScaler("cpu", **scaler_kw)
    scales = []
    for i in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu"):
            loss = ((x @ w.T) ** 2).mean()
        assert loss.dtype == lib.float64
        scaler.scale(loss).backward()
        if i in BAD:
            with lib.no_grad():
                w.grad[0, BAD[i][0]] = BAD[i][1]
        if i % 3 == 1:
            scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, w.detach().numpy().copy(), scaler.state_dict()


@pytest.mark.parametrize("opt_name,opt_kw", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01})])
@pytest.mark.parametrize("scaler_kw", [{}, {"init_scale": 32.0, "growth_interval": 3},
                                       {"init_scale": 3.3e38, "growth_interval": 2, "backoff_factor": 0.3}])
def test_grad_scaler_matches_torch(opt_name, opt_kw, scaler_kw):
    torch = pytest.importorskip("torch")
    ts, tw, tsd = _train(torch, opt_name, opt_kw, scaler_kw)
    gs, gw, gsd = _train(tg, opt_name, opt_kw, scaler_kw)
    assert gs == ts and gsd == tsd
    np.testing.assert_allclose(gw, tw, rtol=1e-13, atol=1e-15)


def test_grad_scaler_errors_state_dict_and_disabled():
    w = tg.nn.Parameter(tg.ones(2))
    opt, scaler = tg.optim.SGD([w], lr=0.1), tg.amp.GradScaler("cpu", init_scale=4.0)
    with pytest.raises(AssertionError, match="did not use scaler.scale"):
        scaler.step(opt)
    out = scaler.scale([w, (w, w)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    np.testing.assert_array_equal(out[1][0].numpy(), [4.0, 4.0])
    with pytest.raises(ValueError, match="iterable of Tensors"):
        scaler.scale(3)
    scaler.scale(w.sum()).backward()
    scaler.unscale_(opt)
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match="Closure"):
        scaler.step(opt, closure=lambda: 0)
    with pytest.raises(AssertionError, match="No inf checks"):
        scaler.step(tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=0.1))
    scaler.update(16.0)
    assert scaler.get_scale() == 16.0
    other = tg.amp.GradScaler("cpu")
    other.load_state_dict({"scale": 8.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 5,
                           "_growth_tracker": 2})
    assert other.state_dict() == {"scale": 8.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 5,
                                  "_growth_tracker": 2}
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        other.load_state_dict({})
    with pytest.raises(AssertionError, match="growth factor"):
        tg.amp.GradScaler("cpu", growth_factor=1.0)
    off = tg.amp.GradScaler("cpu", enabled=False)
    assert off.get_scale() == 1.0 and off.state_dict() == {} and not off.is_enabled() and off.scale(w) is w
    if not tg.cuda_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            assert not tg.amp.GradScaler().is_enabled()


def test_grad_scaler_skips_a_step_with_an_inf_gradient_on_device(device):
    w = tg.nn.Parameter(tg.ones(3, device=device))
    opt, scaler = tg.optim.SGD([w], lr=1.0), tg.amp.GradScaler(device, init_scale=8.0)
    scaler.scale((w * w).sum()).backward()
    w.grad[1] = float("inf")
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0, 1.0])
    assert scaler.get_scale() == 4.0
    opt.zero_grad()
    scaler.scale((w * w).sum()).backward()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(w.numpy(), [-1.0, -1.0, -1.0])


def test_autocast_is_accepted_and_changes_no_dtype():
    x = tg.ones(2, 2, dtype=tg.float64)
    with tg.autocast("cpu", dtype=tg.float16) as ac:
        assert (x @ x).dtype == tg.float64
    assert tg.amp.autocast is tg.autocast and ac.device == "cpu"

    @tg.amp.autocast("cuda", enabled=False)
    def f(a):
        return a * 2
    assert f(x).dtype == tg.float64
    with pytest.raises(ValueError, match="device_type"):
        tg.autocast(0)
    with pytest.raises(RuntimeError, match="device type at start of device string: xyz"):  # (as torch)
        tg.autocast("xyz")
    assert tg.amp.custom_fwd(device_type="cuda")(f) is f and tg.amp.custom_bwd(f, device_type="cuda") is f
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tg.amp.autocast("cuda"):
            pass


def test_cuda_amp_deprecated_names_warn_and_are_tg_amps_for_cuda():
    """torch.cuda.amp.GradScaler / autocast: tg.amp's with device 'cuda' and torch's FutureWarning."""
    with pytest.warns(FutureWarning, match=r"torch.cuda.amp.GradScaler\(args...\)` is deprecated"):
        scaler = tg.cuda.amp.GradScaler(init_scale=8.0, enabled=False)
    assert isinstance(scaler, tg.amp.GradScaler) and not scaler.is_enabled()
    with pytest.warns(FutureWarning, match=r"torch.cuda.amp.autocast\(args...\)` is deprecated"):
        with tg.cuda.amp.autocast(dtype=tg.float16) as ac:
            assert ac.device == "cuda" and (tg.ones(2, dtype=tg.float64) * 2).dtype == tg.float64
    from tinygrad_rnn.cuda.amp import custom_bwd, custom_fwd
    assert custom_fwd(len) is len and custom_fwd(cast_inputs=tg.float32)(len) is len and custom_bwd(len) is len


def test_bfloat16_is_a_name_autocast_takes_and_tensors_refuse():
    """torch's CPU mixed-precision idiom, torch.autocast('cpu', dtype=torch.bfloat16), runs: tg.bfloat16 exists (a
    torch.dtype with torch's repr and attributes) though numpy has no bfloat16, so a tensor asked to be one refuses
    with a TypeError naming it."""
    import pickle
    assert repr(tg.bfloat16) == "torch.bfloat16" and isinstance(tg.bfloat16, tg.dtype)
    assert tg.bfloat16.itemsize == 2 and tg.bfloat16.is_floating_point and tg.bfloat16 != tg.float16
    assert pickle.loads(pickle.dumps(tg.bfloat16)) is tg.bfloat16
    x = tg.ones(2, 2)
    with tg.autocast("cpu", dtype=tg.bfloat16):
        assert (x @ x).dtype == tg.float32
    for make in (lambda: tg.zeros(2, dtype=tg.bfloat16), lambda: x.to(tg.bfloat16), lambda: x.to("cpu", tg.bfloat16),
                 lambda: tg.tensor([1.0], dtype=tg.bfloat16), lambda: tg.nn.Linear(2, 2, dtype=tg.bfloat16)):
        with pytest.raises(TypeError, match="bfloat16 is not supported: numpy has no bfloat16"):
            make()


def test_cpu_module_as_torchs():
    """tg.cpu, torch.cpu's device module: is_available, device_count, current_device, synchronize; and torch.cpu.amp's
    deprecated autocast (bfloat16 by default) and GradScaler, tg.amp's for 'cpu' with torch's FutureWarning."""
    import tinygrad_rnn.cpu.amp as cpu_amp  # (torch's module path)
    assert cpu_amp is tg.cpu.amp
    assert tg.cpu.is_available() and tg.cpu.device_count() == 1 and tg.cpu.current_device() == "cpu"
    assert tg.cpu.synchronize() is None and tg.cpu.set_device("cpu") is None and tg.cpu.is_initialized()
    with pytest.warns(FutureWarning, match=r"torch.amp.autocast\('cpu'"):
        ac = tg.cpu.amp.autocast()
    assert isinstance(ac, tg.amp.autocast) and ac.device == "cpu" and ac.fast_dtype is tg.bfloat16
    x = tg.ones(2, dtype=tg.float64)
    with ac:
        assert (x * 2).dtype == tg.float64
    with pytest.warns(FutureWarning, match=r"torch.amp.GradScaler\('cpu'"):
        scaler = tg.cpu.amp.GradScaler(init_scale=8.0)
    assert isinstance(scaler, tg.amp.GradScaler) and scaler.get_scale() == 8.0


def _autocast_states(lib):
    """What the state functions report through nested autocast blocks (the same program for torch and tg)."""
    name = lambda d: str(d).replace("torch.", "")  # noqa: E731
    seen = []

    def snap(tag):
        seen.append((tag, lib.is_autocast_enabled(), lib.is_autocast_enabled("cpu"), lib.is_autocast_enabled("cuda"),
                     name(lib.get_autocast_dtype("cpu")), name(lib.get_autocast_dtype("cuda")),
                     lib.is_autocast_cache_enabled()))
    snap("outside")
    with lib.autocast("cpu"):
        snap("cpu")
        with lib.autocast("cpu", enabled=False):
            snap("cpu off")
        with lib.autocast("cpu", dtype=lib.float16, cache_enabled=False):
            snap("cpu f16 no cache")
        snap("cpu again")
    with lib.autocast("cuda", dtype=lib.bfloat16, enabled=False):
        snap("cuda off")

    @lib.autocast("cpu", dtype=lib.float16)
    def f():
        snap("decorated")
    f()
    lib.set_autocast_cache_enabled(False)
    with lib.autocast("cpu"):
        snap("cache inherited")
    lib.set_autocast_cache_enabled(True)
    lib.set_autocast_enabled("cpu", True)
    lib.set_autocast_dtype("cpu", lib.float16)
    snap("set by hand")
    lib.set_autocast_enabled("cpu", False)
    lib.set_autocast_dtype("cpu", lib.bfloat16)
    lib.set_autocast_enabled(True)  # (torch's legacy form: CUDA's)
    snap("legacy cuda")
    lib.set_autocast_enabled(False)
    snap("end")
    return seen


def test_autocast_state_functions_report_what_torchs_do():
    torch = pytest.importorskip("torch")
    from tinygrad_rnn.amp import STATE_FUNCTIONS
    assert all(hasattr(torch, n) and getattr(tg, n) is getattr(tg.amp, n) for n in STATE_FUNCTIONS)
    assert _autocast_states(tg) == _autocast_states(torch)
    assert tg.clear_autocast_cache() is None
    assert tg.autocast_increment_nesting() == 1 and tg.autocast_decrement_nesting() == 0
    with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
        tg.is_autocast_enabled("foo")
    with pytest.raises(TypeError):
        tg.get_autocast_dtype()


def test_autocast_deprecated_state_functions_warn_as_torch():
    for fn, args, msg in [(tg.get_autocast_cpu_dtype, (), r"get_autocast_cpu_dtype\(\) is deprecated"),
                          (tg.get_autocast_gpu_dtype, (), r"get_autocast_gpu_dtype\(\) is deprecated"),
                          (tg.is_autocast_cpu_enabled, (), r"is_autocast_cpu_enabled\(\) is deprecated"),
                          (tg.set_autocast_cpu_enabled, (False,), r"set_autocast_cpu_enabled\(enabled\) is deprecated"),
                          (tg.set_autocast_cpu_dtype, (tg.bfloat16,), r"set_autocast_cpu_dtype\(dtype\) is deprecated"),
                          (tg.set_autocast_gpu_dtype, (tg.float16,), r"set_autocast_gpu_dtype\(dtype\) is deprecated")]:
        with pytest.warns(DeprecationWarning, match=msg):
            fn(*args)
    with pytest.warns(DeprecationWarning):
        with tg.autocast("cpu"):
            assert tg.is_autocast_cpu_enabled() and tg.get_autocast_cpu_dtype() is tg.bfloat16
        assert tg.get_autocast_gpu_dtype() is tg.float16


def test_cpu_autocast_with_an_unsupported_dtype_warns_and_is_disabled_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported"):
            ac = lib.autocast("cpu", dtype=lib.float64)
        with ac:
            assert lib.is_autocast_enabled("cpu") is False and lib.get_autocast_dtype("cpu") == lib.float64
        assert lib.get_autocast_dtype("cpu") == lib.bfloat16
