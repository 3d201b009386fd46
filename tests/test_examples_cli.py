"""The example scripts' command lines: bad values and unusable output paths stop them at once with a
one-line argparse error (exit 2), before any training, and --help shows every default."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(script, *args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("script, args, message", [
    ("demo.py", ["--hidden", "0"], "must be positive"),
    ("demo.py", ["--lr", "nan"], "--lr > 0"),
    ("demo.py", ["--batch", "100000000"], "too few for that many streams"),
    ("vanishing_gradients.py", ["--gain", "nan"], "--gain > 0"),
    ("vanishing_gradients.py", ["--out", "."], "--out .: is a directory"),
    ("char_lm.py", ["--lr", "0"], "--lr > 0"),
    ("char_lm.py", ["--temperature", "nan"], "--temperature > 0"),
    ("char_lm.py", ["--out-dir", "afile"], "exists and is not a directory"),
    ("char_lm.py", ["--resume", "--out-dir", "nothing_here"], "no checkpoint at"),
    ("tag_tokens.py", ["--lr", "nan"], "--lr > 0"),
    ("tag_tokens.py", ["--out-dir", os.path.join("afile", "sub")], "is a file, not a directory"),
    ("classify_snippets.py", ["--out-dir", ""], "the path is empty"),
    ("classify_snippets.py", ["--epochs", "1", "--limit", "1"], "a larger --limit"),
])
def test_bad_values_stop_the_script_with_one_line(tmp_path, script, args, message):
    (tmp_path / "afile").write_text("x")
    r = run(script, *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing created on the way


def test_resume_from_a_broken_checkpoint_says_so(tmp_path):
    (tmp_path / "checkpoint.npz").write_text("junk")
    r = run("char_lm.py", "--resume", "--out-dir", ".", "--steps", "2", cwd=tmp_path)
    assert r.returncode == 1 and "char_lm.py: cannot resume" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("script", ["demo.py", "char_lm.py", "vanishing_gradients.py", "tag_tokens.py",
                                    "classify_snippets.py", "long_memory.py"])
def test_help_describes_every_option_with_its_default(tmp_path, script):
    r = run(script, "--help", cwd=tmp_path)
    assert r.returncode == 0
    options = r.stdout.split("\noptions:\n", 1)[1]
    entries = [" ".join(e.split()) for e in options.split("\n  -")[1:] if not e.startswith("h, --help")]
    assert any(e.startswith("-seed SEED ") and e.endswith("(default: 0)") for e in entries)
    assert all("(default:" in e for e in entries), [e for e in entries if "(default:" not in e]
    calls = [n for n in ast.walk(ast.parse((EXAMPLES / script).read_text(encoding="utf-8")))
             if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "add_argument"]
    undescribed = [ast.literal_eval(c.args[0]) for c in calls if not any(k.arg == "help" for k in c.keywords)]
    assert calls and not undescribed, undescribed
