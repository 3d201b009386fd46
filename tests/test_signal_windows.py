"""tg.signal.windows against torch.signal.windows: values for many lengths, sym and periodic, float32 and float64,
each window's parameters; the checks and their messages."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.signal import windows as W

PLAIN = ["bartlett", "blackman", "cosine", "hamming", "hann", "nuttall", "exponential", "gaussian", "kaiser"]
PARAMS = [("exponential", {"tau": 0.7}), ("exponential", {"tau": 3.0, "center": 2.5, "sym": False}),
          ("gaussian", {"std": 0.4}), ("gaussian", {"std": 7.0}), ("kaiser", {"beta": 0.0}), ("kaiser", {"beta": 5.5}),
          ("general_hamming", {"alpha": 0.6}), ("general_cosine", {"a": [0.5, 0.3, 0.2]}),
          ("general_cosine", {"a": (1.0,)})]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("name", PLAIN)
def test_windows_match_torch(name, sym, dtype, device):
    torch = pytest.importorskip("torch")
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
    for M in (0, 1, 2, 3, 4, 5, 8, 17, 64):
        ours = getattr(W, name)(M, sym=sym, dtype=getattr(tg, dtype), device=device)
        theirs = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dtype))
        assert ours.dtype == getattr(tg, dtype) and ours.shape == tuple(theirs.shape), (name, M)
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), **tol, err_msg=f"{name} M={M}")


@pytest.mark.parametrize("name,kw", PARAMS)
def test_parameterised_windows_match_torch(name, kw, device):
    torch = pytest.importorskip("torch")
    for M in (1, 2, 6, 11, 32):
        for sym in ((kw["sym"],) if "sym" in kw else (True, False)):
            args = {**kw, "sym": sym}
            ours = getattr(W, name)(M, dtype=tg.float64, device=device, **args)
            theirs = getattr(torch.signal.windows, name)(M, dtype=torch.float64, **args)
            np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-13, atol=1e-15,
                                       err_msg=f"{name} {args} M={M}")


def test_default_dtype_requires_grad_and_the_old_windows_agree():
    assert W.hann(8).dtype == tg.float32 and W.hann(8, requires_grad=True).requires_grad
    np.testing.assert_allclose(W.hann(8, sym=False).numpy(), tg.hann_window(8).numpy(), atol=1e-7)
    np.testing.assert_allclose(W.kaiser(9, beta=12.0).numpy(), tg.kaiser_window(9, periodic=False).numpy(), atol=1e-6)
    assert tg.signal.windows is W


def test_checks_as_torch():
    torch = pytest.importorskip("torch")
    cases = [("cosine", (-1,), {}, ValueError, "cosine requires non-negative window length, got M=-1"),
             ("cosine", (3,), {"dtype": "int64"}, ValueError, "cosine expects float32 or float64 dtypes"),
             ("gaussian", (3,), {"std": 0}, ValueError, "Standard deviation must be positive, got: 0 instead."),
             ("general_cosine", (3,), {"a": []}, ValueError, "Coefficients cannot be empty"),
             ("general_cosine", (3,), {"a": 3}, TypeError, "Coefficients must be a list/tuple"),
             ("kaiser", (3,), {"beta": -1}, ValueError, "beta must be non-negative, got: -1 instead."),
             ("exponential", (3,), {"tau": 0}, ValueError, "Tau must be positive, got: 0 instead."),
             ("exponential", (5,), {"center": 1.0}, ValueError, "Center must be None for symmetric windows")]
    for lib, mod in ((tg, W), (torch, torch.signal.windows)):
        for name, args, kw, err, msg in cases:
            kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kw.items()}
            with pytest.raises(err, match=msg):
                getattr(mod, name)(*args, **kw)
