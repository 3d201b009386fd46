"""Command-line helpers the example scripts share: --help that shows every default, and output
paths checked before any training starts (a bad --out must not cost a finished run)."""
from __future__ import annotations

import argparse
import os


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
