"""The package and examples keep to the oldest Python that setup.cfg's python_requires names (3.9): syntax that
ast rejects for that version, and zip(..., strict=...) (3.10's), which only fails when the line runs."""
import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.joinpath("tinygrad_rnn").rglob("*.py"), *ROOT.joinpath("examples").glob("*.py")])


def _oldest_python():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    major, minor = cfg["options"]["python_requires"].strip().lstrip(">=").split(".")[:2]
    return int(major), int(minor)


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_source_runs_on_the_oldest_supported_python(path):
    version = _oldest_python()
    tree = ast.parse(path.read_text(), filename=str(path), feature_version=version)
    if version < (3, 10):
        strict_zips = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
                       and isinstance(node.func, ast.Name) and node.func.id == "zip"
                       and any(k.arg == "strict" for k in node.keywords)]
        assert not strict_zips, f"{path.name}: zip(strict=...) needs Python 3.10, at lines {strict_zips}"
