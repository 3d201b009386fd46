"""The test settings themselves: which CI values select the quick hypothesis profile, and the per-test seeds."""
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

import tinygrad_rnn as tg
from conftest import is_ci


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
