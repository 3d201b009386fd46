"""The example scripts' command lines: bad values and unusable output paths stop them at once with a
one-line argparse error (exit 2), before any training, and --help shows every default."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_rnn as tg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = ["demo.py", "char_lm.py", "vanishing_gradients.py", "tag_tokens.py", "classify_snippets.py", "long_memory.py",
           "read_morse.py", "translate_dates.py", "unrolled_graph.py"]


def run(script, *args, cwd, python=(), path=()):
    """The script in a fresh interpreter (with ``python`` options, ``path`` first on PYTHONPATH)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*map(str, path), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, *python, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


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
    ("char_lm.py", ["--batch", "400000"], "too few for that many streams"),
    ("char_lm.py", ["--resume", "--overwrite"], "not allowed with argument --resume"),
    ("tag_tokens.py", ["--lr", "nan"], "--lr > 0"),
    ("tag_tokens.py", ["--out-dir", os.path.join("afile", "sub")], "is a file, not a directory"),
    ("classify_snippets.py", ["--out-dir", ""], "the path is empty"),
    ("classify_snippets.py", ["--epochs", "1", "--limit", "1"], "a larger --limit"),
    ("read_morse.py", ["--noise", "-1"], "--noise >= 0"),
    ("read_morse.py", ["--test-files", "22"], "1 <= --test-files < 22"),
    ("read_morse.py", ["--out-dir", "afile"], "exists and is not a directory"),
    ("translate_dates.py", ["--lr", "nan"], "--lr > 0"),
    ("translate_dates.py", ["--hidden", "0"], "must be positive"),
    ("translate_dates.py", ["--test-size", "20000"], "--test-size must be in 1..18262"),
    ("translate_dates.py", ["--out-dir", os.path.join("afile", "sub")], "is a file, not a directory"),
    ("demo.py", ["--lr", "inf"], "a finite --lr > 0"),
    ("char_lm.py", ["--lr", "inf"], "a finite --lr > 0"),
    ("tag_tokens.py", ["--lr", "inf"], "a finite --lr > 0"),
    ("classify_snippets.py", ["--lr", "inf"], "a finite --lr > 0"),
    ("translate_dates.py", ["--lr", "inf"], "a finite --lr > 0"),
    ("long_memory.py", ["--lr", "inf"], "a learning rate must be > 0 and finite"),
    ("read_morse.py", ["--lr", "inf"], "finite values with --lr > 0"),
    ("read_morse.py", ["--noise", "inf"], "finite values with"),
    ("read_morse.py", ["--unit", "2", "inf"], "finite values with"),
    ("unrolled_graph.py", ["--steps", "11"], "--steps must be in 1..10"),
    ("unrolled_graph.py", ["--dot", "."], "--dot .: is a directory"),
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


@pytest.mark.parametrize("script", SCRIPTS)
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


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def test_blas_runs_on_one_thread_unless_the_user_says_otherwise(tmp_path):
    """_cli sets the thread variables to 1 where they are unset, and leaves a user's setting alone."""
    code = (f"import os, sys; sys.path.insert(0, {str(EXAMPLES)!r}); import _cli; "
            f"print(' '.join(os.environ.get(v, 'unset') for v in {BLAS_THREADS!r}))")
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREADS}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.split() == ["1", "1", "1"], r.stderr
    r = subprocess.run([sys.executable, "-c", code], env=dict(env, OPENBLAS_NUM_THREADS="2"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.split() == ["2", "1", "1"], r.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_import_cli_before_numpy(tmp_path, script):
    """The thread variables only count if they are set before numpy loads: -X importtime lists each module
    when its import ends, and _cli imports nothing that loads numpy."""
    r = run(script, "--help", cwd=tmp_path, python=["-X", "importtime"])
    assert r.returncode == 0, r.stderr
    modules = [line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")]
    assert "_cli" in modules and "numpy" in modules
    assert modules.index("_cli") < modules.index("numpy")


def test_vanishing_gradients_without_matplotlib_prints_the_table(tmp_path):
    """As the other examples: a note instead of the PNG, exit 0 (a matplotlib that fails to import
    stands in for a missing one)."""
    (tmp_path / "shadow" / "matplotlib").mkdir(parents=True)
    (tmp_path / "shadow" / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    r = run("vanishing_gradients.py", "--steps", "5", "--hidden", "4", "--batch", "2", "--out", "vg.png",
            cwd=tmp_path, path=[tmp_path / "shadow"])
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "first/last" in r.stdout and "matplotlib is not installed: no PNG" in r.stdout
    assert "saved" not in r.stdout and not (tmp_path / "vg.png").exists()


CHAR_LM_TINY = ["--steps", "1", "--hidden", "4", "--batch", "2", "--bptt", "8", "--sample-chars", "0",
                "--analysis-chars", "100", "--out-dir", "run"]


def test_char_lm_checkpoint_keeps_its_seed_and_is_not_replaced_by_accident(tmp_path):
    ckpt = tmp_path / "run" / "checkpoint.npz"
    r = run("char_lm.py", *CHAR_LM_TINY, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert tg.load(str(ckpt))["config"]["seed"] == 0
    written = ckpt.read_bytes()

    r = run("char_lm.py", *CHAR_LM_TINY, cwd=tmp_path)  # a fresh run into the same --out-dir
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "checkpoint.npz exists: pass --resume to continue it, --overwrite to replace it" in r.stderr
    r = run("char_lm.py", *CHAR_LM_TINY, "--resume", "--seed", "7", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot resume" in r.stderr and "--seed=0 in the checkpoint, 7 now" in r.stderr
    assert ckpt.read_bytes() == written

    old = tg.load(str(ckpt))  # a checkpoint from before the seed was stored: resumed, the seed unknown
    del old["config"]["seed"]
    tg.save(old, str(ckpt))
    r = run("char_lm.py", *CHAR_LM_TINY, "--resume", "--seed", "7", cwd=tmp_path)
    assert r.returncode == 0 and "resumed from" in r.stdout, r.stderr

    r = run("char_lm.py", *CHAR_LM_TINY, "--overwrite", "--seed", "3", cwd=tmp_path)
    assert r.returncode == 0 and "resumed" not in r.stdout, r.stderr
    assert tg.load(str(ckpt))["config"]["seed"] == 3
