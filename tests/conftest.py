"""Shared test settings: hypothesis profiles, the device parameter, and per-test seeds."""
import os
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
