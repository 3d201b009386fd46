"""Tensor repr as torch prints it (torch._tensor_str's rules), and set_printoptions.

Every element is printed with one shared format: floats in fixed point with ``precision`` digits, or in
scientific notation when the finite non-zero magnitudes span more than 1000x, exceed 1e8 or fall below 1e-4
(``sci_mode`` forces either), or as ``1.`` when all are whole; ints and bools as Python prints them; right
aligned to the widest. Above ``threshold`` elements only ``edgeitems`` at each end of every dim are shown, and
rows wrap at ``linewidth`` characters.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional

import numpy as np

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


class _PrintOptions:
    precision, threshold, edgeitems, linewidth = _PROFILES["default"]
    sci_mode: Optional[bool] = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision: Optional[int] = None, threshold: Optional[float] = None,
                     edgeitems: Optional[int] = None, linewidth: Optional[int] = None, profile: Optional[str] = None,
                     sci_mode: Optional[bool] = None) -> None:
    """torch.set_printoptions: ``profile`` ('default', 'short' or 'full') sets the first four, then each one
    given overrides it; ``sci_mode`` is set every call (None: chosen per tensor), as torch's."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: invalid profile {profile!r}; the profile must be one of "
                             "'default', 'short', 'full'")
        PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """The one format of a tensor's (summarized) elements, and the width every element is padded to."""

    def __init__(self, a: np.ndarray) -> None:
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        p = PRINT_OPTS.precision
        if not self.floating:
            for v in a.reshape(-1).tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        a = a.astype(np.float64).reshape(-1)
        vals = a[np.isfinite(a) & (a != 0)]
        if not vals.size:
            return
        lo, hi = float(np.abs(vals).min()), float(np.abs(vals).max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if PRINT_OPTS.sci_mode is None \
            else PRINT_OPTS.sci_mode
        if self.sci_mode:
            widths = [len(f"{v:.{p}e}") for v in vals.tolist()]
        elif self.int_mode:
            widths = [len(f"{v:.0f}") + 1 for v in vals.tolist()]
        else:
            widths = [len(f"{v:.{p}f}") for v in vals.tolist()]
        self.max_width = max(widths)

    def format(self, v: Any) -> str:
        if not self.floating:
            s = f"{v}"
        elif self.sci_mode:
            s = f"{v:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{PRINT_OPTS.precision}f}"
        return " " * (self.max_width - len(s)) + s


class _ComplexFormatter:
    """torch's format of complex elements: the real parts and the imaginary parts each with a _Formatter of their
    own, printed as re+imj (1.5000+2.j, -0.0000-3.j)."""

    def __init__(self, a: np.ndarray) -> None:
        self.real, self.imag = _Formatter(a.real), _Formatter(a.imag)
        self.max_width = self.real.max_width + self.imag.max_width + 1

    def format(self, v: Any) -> str:
        re, im = self.real.format(v.real), (self.imag.format(v.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (edgeitems at each end of every dim), to choose the format from."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:e], a[-e:]]) if len(a) > 2 * e else a
    if not e:
        return np.empty((0,) * a.ndim, a.dtype)
    rows = list(range(e)) + list(range(len(a) - e, len(a))) if len(a) > 2 * e else range(len(a))
    return np.stack([_summarized(a[i]) for i in rows])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and len(a) > 2 * e:
        data = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + [fmt.format(v) for v in a[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and len(a) > 2 * e:
        slices = ([_nested(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                  + [_nested(a[i], indent + 1, summarize, fmt) for i in range(len(a) - e, len(a))])
    else:
        slices = [_nested(a[i], indent + 1, summarize, fmt) for i in range(len(a))]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def tensor_str(a: np.ndarray, indent: int) -> str:
    """The body of a tensor's repr for host array a, its rows indented by indent (the prefix's length)."""
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    shown = _summarized(a) if summarize else a
    return _nested(a, indent, summarize, _ComplexFormatter(shown) if a.dtype.kind == "c" else _Formatter(shown))


def with_suffixes(body: str, suffixes: List[str], indent: int) -> str:
    """body, then ', suffix' for each, one going to a new line where it would pass linewidth; then ')'."""
    parts, last = [body], len(body) - body.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"
