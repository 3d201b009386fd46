"""The test settings themselves: which CI values select the quick hypothesis profile."""
import os
import subprocess
import sys

import pytest

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
