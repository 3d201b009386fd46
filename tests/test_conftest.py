"""The test settings themselves: which CI values select the quick hypothesis profile, and the per-test seeds."""
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

import tinygrad_rnn as tg
from conftest import default_dtype, is_ci


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), (" Yes ", True),
    ("false", False), ("False", False), ("0", False), ("no", False), ("", False), (None, False),
])
def test_is_ci(value, expected):
    assert is_ci(value) is expected


@pytest.mark.parametrize("ci, profile_examples", [("false", 150), ("true", 25)])
def test_ci_false_loads_the_dev_profile(ci, profile_examples):
    """End to end: importing conftest with CI=false must not pick the quick 'ci' profile."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    env["CI"] = ci
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    code = "import conftest; from hypothesis import settings; print(settings.default.max_examples)"
    out = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(__file__), env=env, check=True,
                         capture_output=True, text=True).stdout
    assert int(out) == profile_examples


def test_each_test_starts_from_a_seed_of_its_own(request):
    """conftest's _seeded: unseeded draws in a test repeat from run to run (and differ between tests)."""
    first, np_first = tg.randn(3).numpy(), np.random.rand(2)
    seed = zlib.crc32(request.node.nodeid.encode())
    tg.manual_seed(seed)
    np.random.seed(seed)
    assert np.array_equal(tg.randn(3).numpy(), first) and np.array_equal(np.random.rand(2), np_first)


def test_default_dtype_block_restores_float32_when_it_fails():
    """conftest's default_dtype: float64 inside the block, float32 after it though the block raised."""
    with pytest.raises(RuntimeError, match="inside"):
        with default_dtype("float64"):
            assert tg.get_default_dtype() is tg.float64 and tg.ones(1).dtype == np.float64
            raise RuntimeError("inside")
    assert tg.get_default_dtype() is tg.float32 and tg.ones(1).dtype == np.float32


def test_float64_default_fixture(float64_default):
    assert tg.get_default_dtype() is tg.float64 and tg.tensor([0.5]).dtype == np.float64


def test_a_test_that_leaves_a_default_dtype_set():
    """Sets float64 and leaves it: conftest's autouse _float32_default restores float32 for the next test."""
    tg.set_default_dtype(tg.float64)


def test_the_next_test_starts_from_float32():
    assert tg.get_default_dtype() is tg.float32 and tg.tensor([0.5]).dtype == np.float32
