"""torch.testing's assert_close and make_tensor, for tests written against torch's API.

assert_close compares on the host (the values are copied there first), so it runs the same for cpu and cuda tensors.
"""
from __future__ import annotations

import cmath
import collections.abc
import math
import numbers
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

from . import backend
from .composed import promote_types
from .creation import empty, randint
from .tensor import Tensor, _defaults, _dt, dtype_name

__all__ = ["assert_close", "make_tensor"]

# torch.testing's default (rtol, atol) by dtype; any other (integers, bool) compares exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def _tolerances(*dtypes: np.dtype) -> Tuple[float, float]:
    """The largest default rtol and atol among dtypes, as torch's (two dtypes compared with check_dtype=False)."""
    pairs = [_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


class _Mismatch(AssertionError):
    """A failed comparison whose message is torch's, before msg and the item path are applied."""


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: Optional[float] = None,
                 atol: Optional[float] = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: Union[str, Callable[[str], str], None] = None) -> None:
    """torch.testing.assert_close: actual and expected, Tensors (or numpy arrays, compared alike), Python numbers,
    or sequences and mappings of these (nested), are close: |actual - expected| <= atol + rtol |expected| for each
    element (infinities equal when of one sign; nan equal to nan only with equal_nan), with the same shape, and the
    same dtype and device unless check_dtype / check_device is False (then both are promoted to a common dtype).
    rtol and atol default by dtype to torch's table (float16 1e-3 / 1e-5, float32 1.3e-6 / 1e-5, float64 and Python
    floats 1e-7 / 1e-7, integers and bool 0: exact); give both or neither. An AssertionError in torch's words
    (mismatched elements, greatest absolute and relative differences and their indices, the failing item's path),
    replaced by msg, or msg(message) for a callable. check_layout and check_stride are accepted (one strided
    layout here; strides are not compared)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    try:
        _compare(actual, expected, "", rtol, atol, equal_nan, check_device, check_dtype)
    except _Mismatch as e:
        text, path = e.args
        if path:
            text = f"{text}\n\nThe failure occurred for item {path}"
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise AssertionError(text) from None


def _compare(actual: Any, expected: Any, path: str, rtol: Optional[float], atol: Optional[float], equal_nan: bool,
             check_device: bool, check_dtype: bool) -> None:
    if actual is None or expected is None:  # (torch's NonePair: a gradient list with None in it, say)
        if actual is not expected:
            raise _Mismatch(f"None mismatch: {actual} is not {expected}", path)
    elif isinstance(actual, Tensor) and isinstance(expected, Tensor) or \
            isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        _compare_arrays(actual, expected, path, rtol, atol, equal_nan, check_device, check_dtype)
    elif _is_number(actual) and _is_number(expected):
        actual, expected = _python_number(actual), _python_number(expected)
        if check_dtype and type(actual) is not type(expected):
            raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
        if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
            if actual != expected:
                raise _Mismatch(f"Booleans mismatch: {actual} is not {expected}", path)
            return
        _compare_scalars(actual, expected, path, rtol, atol, equal_nan)
    elif isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            raise _Mismatch("The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(map(repr, set(expected) - set(actual)))}\n"
                            f"Additional keys in the actual mapping: {sorted(map(repr, set(actual) - set(expected)))}"
                            .replace('"', ""), path)
        for key in expected:
            _compare(actual[key], expected[key], f"{path}[{key!r}]", rtol, atol, equal_nan, check_device,
                     check_dtype)
    elif _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", rtol, atol, equal_nan, check_device, check_dtype)
    else:
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Number, np.number, np.bool_)) and not isinstance(v, np.ndarray)


def _python_number(v: Any) -> Any:
    """A numpy scalar as the Python number it holds (np.float32(1) is a float), as torch's NumberPair compares."""
    return v.item() if isinstance(v, (np.number, np.bool_)) else v


def _is_sequence(v: Any) -> bool:
    return isinstance(v, collections.abc.Sequence) and not isinstance(v, (str, bytes))


def _compare_arrays(actual: Any, expected: Any, path: str, rtol: Optional[float], atol: Optional[float],
                    equal_nan: bool, check_device: bool, check_dtype: bool) -> None:
    if actual.shape != expected.shape:
        raise _Mismatch(f"The values for attribute 'shape' do not match: {tuple(actual.shape)} != "
                        f"{tuple(expected.shape)}.", path)
    if isinstance(actual, Tensor):
        if check_device and actual.device != expected.device:
            raise _Mismatch(f"The values for attribute 'device' do not match: {actual.device} != {expected.device}.",
                            path)
        a, e = backend.to_device(actual.array, "cpu"), backend.to_device(expected.array, "cpu")
    else:
        a, e = actual, expected
    if check_dtype and a.dtype != e.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: {dtype_name(a.dtype)} != "
                        f"{dtype_name(e.dtype)}.", path)
    if rtol is None:
        rtol, atol = _tolerances(a.dtype, e.dtype)
    common = promote_types(a.dtype, e.dtype)
    a, e = np.asarray(a, common), np.asarray(e, common)
    bad = ~_close(a, e, rtol, atol, equal_nan)
    if not bad.any():
        return
    if a.ndim == 0:
        _scalar_mismatch(a.item(), e.item(), path, rtol, atol)
    exact = rtol == 0 and atol == 0
    # (torch's: integers' differences in int64, the relative ones in the default float dtype)
    wide = _defaults.floating if common.kind in "biu" else common
    with np.errstate(all="ignore"):
        if common.kind in "biu":
            diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
            rel = (diff / np.abs(e.astype(np.int64))).astype(wide)
        else:
            diff = np.abs(a - e)
            rel = diff / np.abs(e)
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {int(bad.sum())} / {a.size} ({100 * bad.sum() / a.size:.1f}%)"]
    for name, d, tol in (("absolute", diff, atol), ("relative", rel, rtol)):
        d = np.where(bad, d, 0).reshape(-1)
        nans = np.flatnonzero(np.isnan(d))
        i = int(nans[0]) if nans.size else int(np.argmax(d))
        shown = int(d[i]) if name == "absolute" and common.kind in "biu" else float(d[i])
        index = tuple(int(k) for k in np.unravel_index(i, a.shape))
        lines.append(f"Greatest {name} difference: {shown} at index {index}" + ("" if exact else f" (up to {tol} "
                                                                                               "allowed)"))
    raise _Mismatch("\n".join(lines), path)


def _close(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    """torch's isclose on the host: equal (in the arrays' own dtype, so large integers exactly; infinities of one
    sign too), or, with a tolerance, within atol + rtol |e| when finite (integers and bools as float64)."""
    with np.errstate(all="ignore"):
        ok = a == e
        if rtol or atol:
            if a.dtype.kind in "biu":
                a, e = a.astype(np.float64), e.astype(np.float64)
            ok |= np.isfinite(a) & np.isfinite(e) & (np.abs(a - e) <= atol + rtol * np.abs(e))
    return ok | (np.isnan(a) & np.isnan(e)) if equal_nan else ok


def _compare_scalars(actual: Any, expected: Any, path: str, rtol: Optional[float], atol: Optional[float],
                     equal_nan: bool) -> None:
    """Two Python numbers, as torch's NumberPair: in their own arithmetic (ints exactly, however large; complex
    numbers by the modulus of the difference), with float64's tolerances for a float or a complex."""
    if rtol is None:
        inexact = isinstance(actual, (float, complex)) or isinstance(expected, (float, complex))
        rtol, atol = (1e-7, 1e-7) if inexact else (0.0, 0.0)
    if actual == expected or equal_nan and cmath.isnan(actual) and cmath.isnan(expected):
        return
    diff = abs(actual - expected)
    if cmath.isfinite(diff) and diff <= atol + rtol * abs(expected):
        return
    _scalar_mismatch(actual, expected, path, rtol, atol)


def _scalar_mismatch(actual: Any, expected: Any, path: str, rtol: float, atol: float) -> None:
    """torch's message for two numbers (or 0-d tensors) that are not close."""
    with np.errstate(all="ignore"):
        diff = abs(actual - expected)
        rel = diff / abs(expected) if expected != 0 else math.inf if diff else math.nan
    exact = rtol == 0 and atol == 0
    raise _Mismatch(f"Scalars are not {'equal' if exact else 'close'}!\n\nExpected {expected} but got {actual}.\n"
                    f"Absolute difference: {diff}" + ("" if exact else f" (up to {atol} allowed)") + "\n"
                    f"Relative difference: {rel}" + ("" if exact else f" (up to {rtol} allowed)"), path)


def make_tensor(*shape: Any, dtype: Any, device: Optional[str], low: Optional[float] = None,
                high: Optional[float] = None, requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format: Any = None) -> Tensor:
    """torch.testing.make_tensor: a tensor of shape (sizes, or one sequence) with values drawn uniformly from
    [low, high): floats from [-9, 9) by default, integers from [-9, 10) (low clamped to the dtype's range, so uint8
    from 0), bool False or True; low and high must not be nan, and low < high (ints: the bounds are ceiled, as
    torch's). exclude_zero replaces zeros by 1 (integers) or the dtype's smallest normal number (floats).
    requires_grad only for floats. noncontiguous and memory_format are accepted and have no effect (the result is
    contiguous: one memory layout here)."""
    op = "make_tensor"
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = tuple(shape[0])
    dt = _dt(dtype, op)
    if dt is None:
        raise TypeError(f"{op}: dtype is required")
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    if requires_grad and dt.kind != "f":
        raise ValueError("`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype={dtype_name(dt)}")
    if dt.kind == "b":
        lo, hi = _low_high(dt, low, high, 0, 2, 0, 2)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = _low_high(dt, low, high, info.min, info.max + (dt != np.int64), -9, 10)
    else:
        info = np.finfo(dt)
        lo, hi = _low_high(dt, low, high, float(info.min), float(info.max), -9, 9)
    if dt.kind in "biu":
        result = randint(lo, hi, tuple(shape), dtype=dt, device=device)
    elif hi - lo >= float(np.finfo(dt).max):
        result = empty(tuple(shape), dtype=dt, device=device).uniform_(lo / 2, hi / 2).mul_(2)
    else:
        result = empty(tuple(shape), dtype=dt, device=device).uniform_(lo, hi)
    if exclude_zero:
        result.array[result.array == 0] = 1 if dt.kind in "biu" else np.finfo(dt).tiny
    if requires_grad:
        result.requires_grad_(True)
    return result


def _low_high(dt: np.dtype, low: Optional[float], high: Optional[float], lowest: float, highest: float,
              default_low: float, default_high: float) -> Tuple[float, float]:
    """torch's modify_low_high: the defaults filled in, checked and clamped to [lowest, highest); ints ceiled."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low >= high and not (low == high and dt.kind == "f"):
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    if high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype_name(dt)} "
                         f"only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    return (math.ceil(low), math.ceil(high)) if dt.kind in "biu" else (low, high)

