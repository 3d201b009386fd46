"""Command-line helpers the example scripts share: single-threaded BLAS, --help that shows every default,
output paths checked before any training starts (a bad --out must not cost a finished run), and the
one-line notice when matplotlib is missing.

Each example imports this module before numpy: BLAS threads gain nothing on the examples' small
matrices, and on a busy machine their spin-waiting made a training step 10-200x slower. So unless
they are set already, OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS are set to 1 here,
before numpy loads (once numpy is loaded its BLAS has started and the variables no longer matter, so
an importer that loaded numpy first, such as the tests, is left alone). Set them yourself to override:
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 python examples/demo.py
"""
from __future__ import annotations

import argparse
import functools
import os
import sys

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

if "numpy" not in sys.modules:
    for _var in BLAS_THREAD_VARS:
        os.environ.setdefault(_var, "1")


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The script's docstring as written, and each option's default."""


def check_output(ap: argparse.ArgumentParser, option: str, path: str, directory: bool = False) -> None:
    """ap.error (one line, exit 2) unless ``path`` can be created: a file path that is not a directory,
    or a directory path that is not a file, with no file where a directory above it must be."""
    if not path:
        ap.error(f"{option}: the path is empty")
    if directory and os.path.exists(path) and not os.path.isdir(path):
        ap.error(f"{option} {path}: exists and is not a directory")
    if not directory and os.path.isdir(path):
        ap.error(f"{option} {path}: is a directory; give a file name inside it")
    above = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(above):
        above = os.path.dirname(above)
    if not os.path.isdir(above):
        ap.error(f"{option} {path}: {above} is a file, not a directory")


@functools.lru_cache(maxsize=None)
def have_matplotlib(what: str = "PNGs") -> bool:
    """Whether matplotlib imports; if not, says once that there will be no ``what`` (the run goes on)."""
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        print(f"matplotlib is not installed: no {what} (pip install -e \".[examples]\")")
        return False
