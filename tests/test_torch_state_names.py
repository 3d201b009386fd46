"""torch's remaining global names that ported programs call: set_anomaly_enabled, get/set_deterministic_debug_mode,
tg.get_device / Tensor.get_device, and the deprecated tg.range (end inclusive), each against torch."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg


def test_set_anomaly_enabled_as_torch():
    torch = pytest.importorskip("torch")
    try:
        for lib in (tg, torch):
            lib.set_anomaly_enabled(True)
            assert lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
            lib.set_anomaly_enabled(True, False)
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
            lib.set_anomaly_enabled(False)
            assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
            with pytest.raises(TypeError, match="argument 'enabled'.* must be bool, not int"):
                lib.set_anomaly_enabled(1)
        x = tg.tensor([-1.0], dtype=tg.float64, requires_grad=True)
        tg.set_anomaly_enabled(True)
        with pytest.raises(RuntimeError, match="nan"):
            x.sqrt().sum().backward()
    finally:
        tg.set_anomaly_enabled(False)


def test_deterministic_debug_mode_as_torch():
    torch = pytest.importorskip("torch")
    try:
        for lib in (tg, torch):
            seen = [lib.get_deterministic_debug_mode()]
            for mode in ("warn", 2, "default", "error", 0, 1, True):
                lib.set_deterministic_debug_mode(mode)
                seen.append((lib.get_deterministic_debug_mode(), lib.are_deterministic_algorithms_enabled(),
                             lib.is_deterministic_algorithms_warn_only_enabled()))
            lib.use_deterministic_algorithms(True, warn_only=True)
            seen.append(lib.get_deterministic_debug_mode())
            lib.use_deterministic_algorithms(False)
            seen.append(lib.get_deterministic_debug_mode())
            for bad, err, msg in (("x", RuntimeError, "expected one of `default`, `warn`, `error`, but got x"),
                                  (3, RuntimeError, "expected 0, 1, or 2, but got 3"),
                                  (1.0, TypeError, "debug_mode must be str or int")):
                with pytest.raises(err, match=msg):
                    lib.set_deterministic_debug_mode(bad)
            if lib is tg:
                ours = seen
        assert ours == seen
    finally:
        tg.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)


def test_get_device(device):
    x = tg.ones(2, device=device)
    expected = -1 if device == "cpu" else 0
    assert tg.get_device(x) == x.get_device() == expected
    with pytest.raises(TypeError, match="get_device: input must be a Tensor"):
        tg.get_device(3)


RANGES = [(1, 4, 1), (0, 1, 0.25), (0, 0.9, 0.3), (5, 1, -1), (1.0, 2.0, 0.1), (-3, 3, 0.7), (2, 2, 1),
          (0, 10, 3), (1e-3, 1.0, 0.013)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
@pytest.mark.parametrize("start,end,step", RANGES)
def test_range_values_and_dtype_as_torch(start, end, step, dtype, device):
    torch = pytest.importorskip("torch")
    if dtype == "int64" and int(step) == 0:
        pytest.skip("torch's integer range divides by the truncated step: it crashes the process (SIGFPE)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.range(start, end, step, dtype=getattr(torch, dtype))
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        ours = tg.range(start, end, step, dtype=getattr(tg, dtype), device=device)
    assert ours.dtype == getattr(tg, dtype) and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


def test_range_defaults_errors_and_grad():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tg.range(1, 4).tolist() == torch.range(1, 4).tolist() == [1.0, 2.0, 3.0, 4.0]
        assert tg.range(1, 4).dtype == tg.float32
        r = tg.range(0, 2, requires_grad=True)
        assert r.requires_grad and r.is_leaf
        out = tg.empty(1)
        assert tg.range(0, 3, out=out) is out and out.tolist() == [0.0, 1.0, 2.0, 3.0]
        for lib in (tg, torch):
            with pytest.raises(RuntimeError, match="step must be nonzero"):
                lib.range(1, 4, 0)
            with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
                lib.range(4, 1)
            with pytest.raises(TypeError, match="missing 1 required positional arguments"):
                lib.range(4)
        with pytest.raises(RuntimeError, match="step must be nonzero"):  # (torch's crashes the process: SIGFPE)
            tg.range(0, 1, 0.25, dtype=tg.int64)
    assert "range" not in tg.__all__ and tg.range.__name__ == "range"
