"""Shared test settings: hypothesis profiles, the device parameter, per-test seeds and the default dtype."""
import contextlib
import os
import sys
import zlib
from typing import Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygrad_rnn as tg


def is_ci(value: Optional[str]) -> bool:
    """True for a CI environment variable that means yes (1/true/yes, any case): CI=false is not CI."""
    return (value or "").strip().lower() in ("1", "true", "yes")


# "ci": deterministic and quick (the default under CI=true); "dev": more examples, for local runs.
settings.register_profile("ci", max_examples=25, derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if is_ci(os.environ.get("CI")) else "dev"))

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test using it runs on 'cpu' and on 'cuda' (skipped without CuPy or a GPU)."""
    if request.param == "cuda" and not tg.cuda_available():
        pytest.skip("CuPy or a CUDA GPU is not available")
    return request.param


@pytest.fixture(autouse=True)
def _seeded(request):
    """Each test starts tg's generator and numpy's global one from a seed derived from its name: a test that
    draws weights or data without seeding sees the same values on every run, so a failure repeats (one such
    test failed about 1 run in 8 before)."""
    seed = zlib.crc32(request.node.nodeid.encode())
    tg.manual_seed(seed)
    np.random.seed(seed)


@contextlib.contextmanager
def default_dtype(dtype):
    """tg's default dtype (set_default_dtype), and torch's where torch is imported, set to dtype (a name such as
    'float64') inside the block and float32 again after it, even when the block fails."""
    torch = sys.modules.get("torch")
    try:
        tg.set_default_dtype(getattr(tg, dtype))
        if torch is not None:
            torch.set_default_dtype(getattr(torch, dtype))
        yield
    finally:
        tg.set_default_dtype(tg.float32)
        if torch is not None:
            torch.set_default_dtype(torch.float32)


@pytest.fixture
def float64_default():
    """The test runs with float64 as the default dtype (tg's, and torch's where imported), float32 after it."""
    with default_dtype("float64"):
        yield


@pytest.fixture
def torch():
    """torch for the programs ported in tests/test_ports_*.py: float64 as both libraries' default dtype, seeded (the
    weights torch draws for a program are the same every run) and on one thread (the programs' tensors are tiny,
    threads only cost); skipped without torch."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with default_dtype("float64"):
            yield torch
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _float32_default():
    """Each test starts and ends with float32 as the default dtype: one that sets another and fails before it
    restores it cannot change the dtypes of the thousands of tests after it."""
    yield
    if tg.get_default_dtype() is not tg.float32:
        tg.set_default_dtype(tg.float32)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_default_dtype() is not torch.float32:
        torch.set_default_dtype(torch.float32)
