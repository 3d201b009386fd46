"""Making tensors: from data, filled, ranges and random (seeded by manual_seed)."""
from __future__ import annotations

import math
import numbers
import warnings
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from . import backend
from .tensor import (_TYPE_NAMES, ComplexNotSupportedError, Size, Tensor, _complex_of, _defaults, _dt, _input,
                     _is_sparse, _NotImplementedTypeError, _RuntimeValueError, _to_array, _TypeValueError, complex_ok,
                     contiguous_format, dtype_name, in_memory_format, int_value, preserve_format, preserved_format,
                     set_default_dtype, size_args)


def _shape(size: tuple, op: str = "zeros") -> tuple:
    """f(2, 3), f((2, 3)) and f([2, 3]) all mean shape (2, 3); sizes must be non-negative ints. A bool first is
    refused (f(True) is a mistake), later ones count as 0 or 1, as torch's parser reads them (zeros(2, True))."""
    shape = tuple(map(int_value, size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size))
    if not all(isinstance(n, (int, np.integer)) for n in shape) or shape and isinstance(shape[0], (bool, np.bool_)):
        raise TypeError(f"{op}: sizes must be non-negative integers, got {shape}")
    if not all(n >= 0 for n in shape):
        raise _RuntimeValueError(f"{op}: sizes must be non-negative integers, got {shape}")
    return tuple(int(n) for n in shape)


def _sizes(sizes: tuple, size: Optional[Sequence[int]], op: str) -> tuple:
    """The shape of f(2, 3), f((2, 3)) or torch's keyword form f(size=(2, 3)) (see tensor.size_args)."""
    return _shape(size_args(sizes, size, op, "size"), op)


def _new(a: np.ndarray, dtype: Any, device: str, requires_grad: bool, op: str) -> Tensor:
    dtype = _defaults.floating if dtype is None else np.dtype(dtype)
    if dtype.kind not in "fc":
        raise _NotImplementedTypeError(f"{op}: samples a floating point distribution, got dtype {dtype_name(dtype)}")
    if dtype.kind == "c":  # (a's last dim of 2: the real and imaginary parts)
        a = a[..., 0] + 1j * a[..., 1]
    return Tensor(backend.module_for(device).asarray(a, dtype=dtype), requires_grad=requires_grad)


def _options(op: str, layout: Any, pin_memory: Any, sparse: bool = False) -> bool:
    """torch's factory keywords ``layout`` and ``pin_memory``: layout None or tg.strided, or tg.sparse_coo where op
    makes a sparse tensor (``sparse``: zeros, empty, zeros_like; returns True then; elsewhere torch's error); pin_memory
    a bool, accepted with no effect (host arrays are not pinned here, see Tensor.pin_memory; torch refuses True on a
    machine without CUDA)."""
    from .tensor import layout as _layout_type  # noqa: PLC0415
    if layout is not None and not isinstance(layout, _layout_type):
        raise TypeError(f"{op}(): argument 'layout' must be torch.layout, not {type(layout).__name__}")
    if not isinstance(pin_memory, (bool, np.bool_)):
        raise TypeError(f"{op}(): argument 'pin_memory' must be bool, not {type(pin_memory).__name__}")
    if layout is None or repr(layout) == "torch.strided":
        return False
    if sparse:
        return True
    if op in ("full", "ones", "full_like", "ones_like"):  # (torch's message)
        raise RuntimeError(f"{op}: full(...) is not implemented for sparse layout")
    if op.endswith("_window"):  # (torch's message)
        raise RuntimeError(f"{op} is not implemented for sparse types, got layout {layout}")
    raise NotImplementedError(f"{op}: layout {layout} is not supported (zeros, empty and zeros_like make a sparse "
                              f"COO tensor, as torch's; {op} makes strided tensors only)")


def _sparse_zeros(shape: tuple, dtype: Any, device: Optional[str], requires_grad: bool, op: str) -> Any:
    """torch.zeros(shape, layout=torch.sparse_coo): an all-zero sparse COO tensor, no stored values, every dim
    sparse."""
    from .sparse import sparse_coo_tensor  # noqa: PLC0415  (sparse imports this module)
    if not shape:
        raise NotImplementedError(f"{op}: a 0-d sparse COO tensor is not supported here")
    xp = backend.module_for(device)
    values = xp.zeros(0, _defaults.floating if dtype is None else _dt(dtype, op))
    return sparse_coo_tensor(Tensor._make(xp.zeros((len(shape), 0), np.int64)), Tensor._make(values), shape,
                             requires_grad=requires_grad)


def _into_out(op: str, out: Any, dtype: Any, requires_grad: bool, make: Callable[[np.dtype, str], Tensor]) -> Tensor:
    """A factory's ``out=``, as torch's: make(out's dtype, out's device) written into out (resized to it), a given
    dtype being out's (else torch's RuntimeError); requires_grad=True then marks out (a leaf) as torch's does."""
    ops_write_out = _out_dtype_check(out, dtype, op)
    result = ops_write_out(op, make(out.dtype, out.device), out)
    return result.requires_grad_(True) if requires_grad else result


def _parts(shape: tuple, dtype: Optional[np.dtype]) -> tuple:
    """The shape to draw for samples of ``dtype``: shape, with a last dim of 2 for a complex dtype (its parts)."""
    return shape + (2,) if dtype is not None and dtype.kind == "c" else shape


def tensor(data: Any, *, dtype: Any = None, device: Optional[str] = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new leaf tensor (a copy), the dtype inferred like torch.tensor: Python floats become the default
    dtype (set_default_dtype), ints int64, bools bool; numpy arrays keep their dtype. (tg.Tensor(data) makes Python
    data the default dtype.) A Tensor as data gives torch's UserWarning (use x.detach().clone())."""
    copy_construct_warning(data, "torch.tensor")
    _options("tensor", None, pin_memory)
    return _tensor(data, dtype, device, requires_grad)


def copy_construct_warning(data: Any, form: str) -> None:
    """torch's UserWarning when tensor() / x.new_tensor() (``form``) is given a Tensor: a copy is made either way,
    detach().clone() says so."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                      f"sourceTensor.detach().clone().requires_grad_(True), rather than {form}(sourceTensor).",
                      stacklevel=3)


def _tensor(data: Any, dtype: Any, device: Optional[str], requires_grad: bool) -> Tensor:
    """tensor() without its warning."""
    arr = _to_array(data, _dt(dtype), backend.check_device(device, "tensor"), infer=True)
    if arr is (data.array if isinstance(data, Tensor) else data):
        arr = arr.copy()
    t = Tensor._make(arr)
    return t.requires_grad_(requires_grad) if requires_grad else t


def as_tensor(data: Any, *, dtype: Any = None, device: Optional[str] = None) -> Tensor:
    """data as a tensor without a copy where possible (torch.as_tensor): a Tensor already of this dtype
    and device is returned itself (else converted, differentiably), an array is shared (on its device unless
    device= is given), and Python data infers its dtype as in tg.tensor and goes to the default device."""
    if isinstance(data, Tensor):
        out = data if dtype is None else data.astype(dtype)
        return out if device is None else out.to(device)
    if device is None and not (isinstance(data, np.ndarray) or backend.is_cupy_array(data)):
        device = backend.check_device(None, "as_tensor")
    return Tensor._make(_to_array(data, _dt(dtype, "as_tensor"), device, infer=True))


def full(size: Any, fill_value: float, *, out: Optional[Tensor] = None, dtype: Any = None, layout: Any = None,
         device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """A tensor of fill_value (a number or a 0-d tensor's); the dtype follows the value like torch (bool, int64, else
    the default dtype). A value the dtype cannot hold is an error, as torch's: nan, inf or a finite value out of range
    for an integer dtype (numpy's cast made the least integer), a finite value beyond a float dtype's range (numpy made
    inf)."""
    fill_value = _number(fill_value, "full", "fill_value", complexes=True)  # (numpy would broadcast a list, make
    # nan of None)
    _options("full", layout, pin_memory)
    if out is not None:
        return _into_out("full", out, dtype, requires_grad,
                         lambda dt, dev: full(size, fill_value, dtype=dt, device=dev))
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, (bool, np.bool_)) else \
            np.int64 if isinstance(fill_value, (int, np.integer)) else \
            _complex_of(_defaults.floating) if isinstance(fill_value, (complex, np.complexfloating)) else \
            _defaults.floating
    dtype = _dt(dtype, "full")
    if isinstance(fill_value, (complex, np.complexfloating)) and dtype.kind != "c":
        if fill_value.imag:  # (torch's message)
            raise RuntimeError(f"full: value cannot be converted to type {dtype_name(dtype)} without overflow")
        fill_value = fill_value.real
    shape = _shape((size,) if isinstance(size, (int, np.integer)) else tuple(size), "full")
    if dtype.kind == "u" and isinstance(fill_value, numbers.Integral) and not isinstance(fill_value, bool) \
            and -int(np.iinfo(dtype).max) <= fill_value < 0:  # (torch's checked Scalar: -1 fills uint8 with 255)
        fill_value = int(fill_value) % (int(np.iinfo(dtype).max) + 1)
    if dtype.kind in "iuf" and isinstance(fill_value, numbers.Real):
        _fits(fill_value, dtype, "full", "fill_value")
    return Tensor(backend.module_for(device).full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros(*sizes: Any, size: Optional[Sequence[int]] = None, out: Optional[Tensor] = None, dtype: Any = None,
          layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    """torch.zeros; layout=tg.sparse_coo gives an all-zero sparse COO tensor, as torch's."""
    shape = _sizes(sizes, size, "zeros")
    if _options("zeros", layout, pin_memory, sparse=out is None):
        return _sparse_zeros(shape, dtype, device, requires_grad, "zeros")
    if out is not None:
        return _into_out("zeros", out, dtype, requires_grad, lambda dt, dev: zeros(shape, dtype=dt, device=dev))
    return full(shape, 0.0, dtype=_dt(dtype, "zeros"), device=device, requires_grad=requires_grad)


def ones(*sizes: Any, size: Optional[Sequence[int]] = None, out: Optional[Tensor] = None, dtype: Any = None,
         layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    shape = _sizes(sizes, size, "ones")
    _options("ones", layout, pin_memory)
    if out is not None:
        return _into_out("ones", out, dtype, requires_grad, lambda dt, dev: ones(shape, dtype=dt, device=dev))
    return full(shape, 1.0, dtype=_dt(dtype, "ones"), device=device, requires_grad=requires_grad)


def eye(n: int, m: Optional[int] = None, *, out: Optional[Tensor] = None, dtype: Any = None, layout: Any = None,
        device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    _shape((n,) if m is None else (n, m), "eye")
    _options("eye", layout, pin_memory)
    if out is not None:
        return _into_out("eye", out, dtype, requires_grad, lambda dt, dev: eye(n, m, dtype=dt, device=dev))
    return Tensor(backend.module_for(device).eye(n, m, dtype=_defaults.floating if dtype is None else dtype),
                  requires_grad=requires_grad)


def _no_complex_range(op: str, dt: np.dtype) -> None:
    """arange's and range's refusal of a complex dtype: a ComplexNotSupportedError (a NotImplementedError), torch's
    exception type, with its message."""
    if dt.kind == "c":
        raise ComplexNotSupportedError(f'{op}: "{op}_cpu" not implemented for '
                                       f"'{_TYPE_NAMES[dt.name][:-len('Tensor')]}' (no complex dtype, as torch's)")


def arange(start: Any = None, end: Any = None, step: Any = 1, *, out: Optional[Tensor] = None, dtype: Any = None,
           layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
           requires_grad: bool = False) -> Tensor:
    """Like torch.arange: int64 when all of start/end/step are ints (0-d integer tensors count), else the default dtype.
    arange(end) and arange(end=...) start at 0. An integer dtype truncates start, end and step toward 0 first (a
    step that truncates to 0 is an error), as torch's; a float dtype computes start + i * step in float64 and
    rounds once, as torch's kernel does (numpy's float32 arange adds a float32 step, drifting along the range; torch's
    vectorised kernel may still differ from this in the last bit). A nonzero step against the direction from start to
    end is an error, as in torch, rather than an empty range. ``out=`` as torch's: the values are written into out
    (resized to them) and computed in out's dtype, which a given dtype must equal."""
    _options("arange", layout, pin_memory)
    if out is not None:
        return _into_out("arange", out, dtype, requires_grad,
                         lambda dt, dev: arange(start, end, step, dtype=dt, device=dev))
    if end is None:
        if start is None:
            raise TypeError("arange: needs an end (arange(end), arange(start, end[, step]) or arange(end=...))")
        start, end = 0, start
    elif start is None:
        start = 0
    start, end, step = (_number(v, "arange", what) for v, what in ((start, "start"), (end, "end"), (step, "step")))
    # (Python numbers: numpy's int64 scalars would wrap in end - start)
    start, end, step = (v.item() if isinstance(v, np.generic) else v for v in (start, end, step))
    if dtype is None:
        dtype = np.int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) else _defaults.floating
    dt = np.dtype(dtype)
    _no_complex_range("arange", dt)
    if dt.kind not in "iuf":
        raise TypeError(f"arange: dtype must be a floating or integer dtype, got {dtype_name(dt)}")
    if step == 0 or step != step:
        raise _RuntimeValueError(f"arange: step must be nonzero, got {step}")
    if not all(math.isfinite(v) for v in (start, end)):
        raise ValueError(f"arange: unsupported range {start} -> {end} (the ends must be finite)")
    if (end - start) * step < 0:
        raise _RuntimeValueError(f"arange: the range {start} -> {end} runs against the sign of step {step}")
    if dt.kind in "iu":  # (torch casts the ends and step to the integer type first)
        start, end, step = (int(v) for v in (start, end, step))  # (int() truncates toward 0)
        if step == 0:
            raise ValueError(f"arange: step must be nonzero, got {step} (truncated to {dtype_name(dt)})")
    xp = backend.module_for(device)
    if dt.kind in "iu":
        return Tensor(xp.asarray(np.arange(start, end, step, dtype=np.int64).astype(dt)), requires_grad=requires_grad)
    n = math.ceil((float(end) - float(start)) / float(step))
    work = np.float32 if dt == np.float16 else np.float64  # (torch accumulates float16 in float32)
    with np.errstate(over="ignore"):
        values = (work(start) + work(step) * np.arange(n, dtype=work)).astype(dt)
    return Tensor(xp.asarray(values), requires_grad=requires_grad)


def _out_dtype_check(out: Any, dtype: Any, op: str) -> Callable[[str, Tensor, Tensor], Tensor]:
    """A factory's ``out=``: out must be a Tensor and a given dtype its dtype (torch's message); returns
    ops.write_out."""
    from .ops import write_out  # noqa: PLC0415  (ops imports this module)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a Tensor, got {type(out).__name__}")
    if dtype is not None and np.dtype(dtype) != out.dtype:
        name = {d: _TYPE_NAMES.get(d.name, d.name)[:-len("Tensor")] for d in (np.dtype(dtype), out.dtype)}
        raise RuntimeError(f"dtype {name[np.dtype(dtype)]} does not match dtype of out parameter ({name[out.dtype]})")
    return write_out


def range_(start: Any = 0, end: Any = None, step: Any = 1, *, out: Optional[Tensor] = None, dtype: Any = None,
           layout: Any = None, device: Optional[str] = None, requires_grad: bool = False) -> Tensor:
    """torch.range (deprecated, with torch's warning; ``tg.range``): trunc((end - start) / step + 1) values from
    start to end inclusive, start + i * step computed in float64 and rounded once; the default float dtype unless
    ``dtype`` is given (an integer dtype works in int64 from the truncated ends and step; float16 in float32),
    whatever the arguments' types. Use ``arange``, which stops before end."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    _options("range", layout, False)
    start, end, step = (_number(v, "range", what) for v, what in ((start, "start"), (end, "end"), (step, "step")))
    start, end, step = (v.item() if isinstance(v, np.generic) else v for v in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    dt = np.dtype(_defaults.floating if dtype is None else dtype)
    _no_complex_range("range", dt)
    if dt.kind not in "iuf":
        raise TypeError(f"range: dtype must be a floating or integer dtype, got {dtype_name(dt)}")
    # (torch's kernel: start, end and step in the dtype's accumulation type, int64, float32 for float16 or float64,
    # and trunc((end - start) / step + 1) values, computed in that type)
    work = np.int64 if dt.kind in "iu" else np.float32 if dt == np.float16 else np.float64
    start, end, step = (work(v) for v in (start, end, step))
    if step == 0:
        raise RuntimeError(f"step must be nonzero (the step truncated to {dtype_name(dt)} is 0)")
    if work is np.int64:
        n = abs(int(end) - int(start)) // abs(int(step)) + 1  # (C's truncating division; the signs agree)
    else:
        n = int((end - start) / step + work(1))  # (in that type, truncated, as torch's)
    with np.errstate(over="ignore"):
        values = (start + step * np.arange(n, dtype=work)).astype(dt)
    result = Tensor(backend.module_for(device).asarray(values), requires_grad=requires_grad)
    if out is not None:
        from .ops import write_out  # noqa: PLC0415  (ops imports this module)
        return write_out("range", result, out)
    return result


range_.__name__ = range_.__qualname__ = "range"


def linspace(start: Any, end: Any, steps: int, *, out: Optional[Tensor] = None, dtype: Any = None, layout: Any = None,
             device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.linspace: ``steps`` evenly spaced values from start to end, both included; the default dtype unless dtype
    is given (an integer dtype truncates toward 0, from ends cast to it and a float64 step). Computed as torch's CPU
    kernel does, from both ends toward the middle (start + i step in the first half, end - (steps - 1 - i) step
    in the rest), so both ends are exact, and each value rounded as the kernel rounds it (_multiply_add): torch's
    to the bit (for float64 and integer dtypes where numpy's longdouble is x86's 80-bit type; elsewhere to
    rounding, so an integer may be 1 apart where a value falls near one). A complex end (or a complex dtype) gives
    complex values (the default dtype's complex unless dtype is given), as torch's to rounding (_linspace_complex)."""
    _options("linspace", layout, pin_memory)
    if out is not None:
        return _into_out("linspace", out, dtype, requires_grad,
                         lambda dt, dev: linspace(start, end, steps, dtype=dt, device=dev))
    start, end = (_number(v, "linspace", what, bools=False, complexes=True, tensors=True)
                  for v, what in ((start, "start"), (end, "end")))
    steps = int_value(steps)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise _RuntimeValueError(f"linspace: steps must be non-negative, got {steps}")
    complex_ends = any(isinstance(v, (complex, np.complexfloating)) for v in (start, end))
    dt = (_complex_of(_defaults.floating) if complex_ends else _defaults.floating) if dtype is None else np.dtype(dtype)
    if complex_ends and dt.kind != "c":
        raise RuntimeError(f"linspace: inferred dtype {dtype_name(_complex_of(_defaults.floating))} (a complex end) "
                           f"can't be safely cast to passed dtype {dtype_name(dt)}")
    if dt.kind not in "iufc":
        raise TypeError(f"linspace: dtype must be a floating or integer dtype, got {dtype_name(dt)}")
    if dt.kind == "c":
        return _linspace_complex(complex(start), complex(end), steps, dt, device, requires_grad)
    if steps == 0:  # (no values: the ends are not converted, nor checked, as in torch)
        return Tensor(backend.module_for(device).zeros(0, dt), requires_grad=requires_grad)
    for v, what in ((start, "start"), (end, "end")):
        _fits(v, dt, "linspace", what)
    work = dt if dt.kind == "f" else np.dtype(np.float64)  # (an integer dtype: ends cast to it, a float64 step)
    with np.errstate(over="ignore", invalid="ignore"):  # (inf ends give inf and nan, as in torch)
        # (a float16 end goes through float32, as torch's half scalars do)
        a, b = (work.type(dt.type(np.float32(v) if dt == np.float16 else v)) for v in (start, end))
        step = (b - a) / work.type(max(steps - 1, 1))
        i = np.arange(steps)
        if steps <= 1:
            values = np.full(steps, a)
        else:
            values = np.where(i < steps // 2, _multiply_add(a, step, i, work),
                              _multiply_add(b, -step, steps - 1 - i, work))
    return Tensor(backend.module_for(device).asarray(values.astype(dt)), requires_grad=requires_grad)


def _linspace_complex(start: complex, end: complex, steps: int, dt: np.dtype, device: Optional[str],
                      requires_grad: bool) -> Tensor:
    """linspace of a complex dtype, as torch's scalar kernel: the ends in dt, step = (end - start) / (steps - 1),
    start + i step in the first half and end - (steps - 1 - i) step in the rest, in complex arithmetic of dt (not
    fused). torch's vectorised kernel (base + j step within a vector, its width the CPU's) may differ in the last
    bit."""
    with np.errstate(over="ignore", invalid="ignore"):
        a, b = dt.type(start), dt.type(end)
        step = (b - a) / dt.type(max(steps - 1, 1))
        i = np.arange(steps).astype(dt)
        values = np.full(steps, a) if steps <= 1 else np.where(i.real < steps // 2, a + step * i,
                                                               b - step * (steps - 1 - i))
    return Tensor(backend.module_for(device).asarray(values.astype(dt)), requires_grad=requires_grad)


def _multiply_add(a: Any, step: Any, k: np.ndarray, dt: np.dtype) -> np.ndarray:
    """a + step * k in dtype dt, rounded once, as a fused multiply-add (torch's kernel compiles to those; float16's
    arithmetic is rounded at each step, as torch's). Computed in a wider type, where the product is exact; a sum
    that the wider type rounded onto a midpoint of dt (its terms far apart in magnitude) is redone exactly."""
    if dt == np.float16:
        return a + step * k.astype(dt)
    wide = np.float64 if dt == np.float32 else np.longdouble  # (longdouble: x86's 80 bits; elsewhere float64 itself)
    r = wide(a) + wide(step) * k.astype(wide)
    out = r.astype(dt)
    if np.finfo(wide).nmant > np.finfo(dt).nmant:
        back = out.astype(wide)
        other = np.nextafter(out, np.where(r > back, dt.type(np.inf), dt.type(-np.inf))).astype(wide)
        for j in np.flatnonzero((r != back) & (r - back == other - r)):
            out[j] = _nearest(Fraction(float(a)) + Fraction(float(step)) * int(k[j]), dt)
    return out


def _nearest(v: Fraction, dt: np.dtype) -> Any:
    """v rounded to dt, to the nearest value, ties to the even one (going through float64 may round twice)."""
    x = dt.type(float(v))
    candidates = (np.nextafter(x, dt.type(-np.inf)), x, np.nextafter(x, dt.type(np.inf)))
    return min(candidates, key=lambda c: (abs(Fraction(float(c)) - v), int(np.asarray(c).view(f"u{dt.itemsize}")) & 1))


def _number(v: Any, op: str, what: str, bools: bool = True, complexes: bool = False, tensors: bool = False) -> Any:
    """op's argument ``what`` as a number: a 0-d tensor's item (an int for an integer tensor), or a Python or numpy
    number as it is (a bool only where ``bools``, a complex one only where ``complexes``); anything else is an error
    naming op and what. A tensor of more dims is torch's TypeError where its signature takes a Number (full's
    fill_value), its RuntimeError where it takes a tensor (``tensors``: linspace's ends); either is a ValueError."""
    if complexes and isinstance(v, (complex, np.complexfloating)):
        return v
    if isinstance(v, Tensor):
        if v.ndim:
            raise (_RuntimeValueError if tensors else _TypeValueError)(
                f"{op}: {what} must be a number or a 0-d tensor, got shape {v.shape}")
        return v.item()
    if (isinstance(v, (bool, np.bool_)) and not bools) or \
            not isinstance(v, (int, float, np.integer, np.floating, np.bool_)):
        raise TypeError(f"{op}: {what} must be a number, got {type(v).__name__}")
    return v


def _fits(v: Any, dt: np.dtype, op: str, what: str) -> None:
    """A value (op's ``what``: linspace's ends, full's fill_value) that dt cannot hold is an error, as torch's: finite
    beyond a float dtype's range (inf and nan pass), or beyond an integer dtype's (nan and inf too); numpy would make
    infs, nans or the least integer, or raise an OverflowError of its own. (torch lets a float16 linspace end
    through when steps is 1, as inf: refused here too.)"""
    v = v.item() if isinstance(v, np.generic) else v  # (Python's comparisons of ints with floats are exact)
    if dt.kind == "f":
        fits = abs(v) <= float(np.finfo(dt).max) or (isinstance(v, float) and not math.isfinite(v))
    else:
        info = np.iinfo(dt)
        fits = (isinstance(v, int) or math.isfinite(v)) and info.min <= v <= info.max
    if not fits:
        raise ValueError(f"{op}: {what}={v!r} cannot be converted to {dtype_name(dt)} without overflow")


def empty(*sizes: Any, size: Optional[Sequence[int]] = None, out: Optional[Tensor] = None, dtype: Any = None,
          layout: Any = None, device: Optional[str] = None, requires_grad: bool = False, pin_memory: bool = False,
          memory_format: Any = contiguous_format) -> Tensor:
    """torch.empty's shape, dtype and device, filled with zeros rather than left uninitialised: what was in
    memory would make results that read it by mistake change from run to run. memory_format: contiguous_format
    (row-major) or channels_last(_3d) (a rank 4 (5) shape laid out so); preserve_format is refused, as torch's."""
    shape = _sizes(sizes, size, "empty")
    if _options("empty", layout, pin_memory, sparse=out is None):
        return _sparse_zeros(shape, dtype, device, requires_grad, "empty")
    if out is not None:
        return _into_out("empty", out, dtype, requires_grad, lambda dt, dev: empty(shape, dtype=dt, device=dev))
    out = full(shape, 0.0, dtype=dtype, device=device, requires_grad=requires_grad)
    if memory_format is preserve_format:
        raise RuntimeError("empty: unsupported memory format preserve_format (there is no input to preserve; as torch)")
    if memory_format is not contiguous_format:
        out.array = in_memory_format(out.array, memory_format, "empty")
    return out


def randn(*sizes: Any, size: Optional[Sequence[int]] = None, generator: Any = None, out: Optional[Tensor] = None,
          dtype: Any = None, layout: Any = None, device: Optional[str] = None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:
    """Standard normal samples from ``generator`` (a tg.Generator) or the package's (see manual_seed); a complex
    dtype's parts are each normal with variance 1/2 (E|z|^2 = 1), as torch's."""
    _options("randn", layout, pin_memory)
    if out is not None:
        shape = _sizes(sizes, size, "randn")
        return _into_out("randn", out, dtype, requires_grad,
                         lambda dt, dev: randn(shape, generator=generator, dtype=dt, device=dev))
    gen = backend.rng_for(generator, device, "randn")
    dt = _dt(dtype, "randn")
    a = gen.standard_normal(_parts(_sizes(sizes, size, "randn"), dt))
    return _new(a * math.sqrt(0.5) if dt is not None and dt.kind == "c" else a, dt, device, requires_grad, "randn")


def rand(*sizes: Any, size: Optional[Sequence[int]] = None, generator: Any = None, out: Optional[Tensor] = None,
         dtype: Any = None, layout: Any = None, device: Optional[str] = None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """Uniform samples in [0, 1) (a complex dtype: each part, as torch's)."""
    _options("rand", layout, pin_memory)
    if out is not None:
        shape = _sizes(sizes, size, "rand")
        return _into_out("rand", out, dtype, requires_grad,
                         lambda dt, dev: rand(shape, generator=generator, dtype=dt, device=dev))
    gen = backend.rng_for(generator, device, "rand")
    return _new(gen.random(_parts(_sizes(sizes, size, "rand"), _dt(dtype, "rand"))), dtype, device, requires_grad,
                "rand")


def randint(low: int = 0, high: Optional[int] = None, size: Any = (), *, generator: Any = None,
            out: Optional[Tensor] = None, dtype: Any = None, layout: Any = None, device: Optional[str] = None,
            pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Integers in [low, high), int64 by default; randint(high, size) as in torch means low = 0. The bounds are
    integers, and for an integer or bool dtype low and high - 1 must fit it (as torch: no value wraps around)."""
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    _options("randint", layout, pin_memory)
    if out is not None:
        return _into_out("randint", out, dtype, requires_grad,
                         lambda dt, dev: randint(low, high, size, generator=generator, dtype=dt, device=dev))
    dtype = np.int64 if dtype is None else dtype
    low, high = int_value(low), int_value(high)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)):
        raise TypeError(f"randint: low and high must be integers, got {low!r} and {high!r}")
    if low >= high:
        raise _RuntimeValueError(f"randint: low ({low}) must be less than high ({high})")
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        lo, hi = (0, 1) if dt.kind == "b" else (int(np.iinfo(dt).min), int(np.iinfo(dt).max))
        if low < lo or high - 1 > hi:
            raise ValueError(f"randint: [{low}, {high}) does not fit {dtype_name(dt)} (values {lo}..{hi})")
    shape = _shape((size,) if isinstance(size, (int, np.integer)) else tuple(size), "randint")
    gen = backend.rng_for(generator, device, "randint")
    return Tensor(backend.module_for(device).asarray(gen.integers(low, high, size=shape), dtype=dtype),
                  requires_grad=requires_grad)


def randperm(n: int, *, generator: Any = None, out: Optional[Tensor] = None, dtype: Any = None,
             layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (for shuffling a dataset's order)."""
    _options("randperm", layout, pin_memory)
    if out is not None:
        return _into_out("randperm", out, dtype, requires_grad,
                         lambda dt, dev: randperm(n, generator=generator, dtype=dt, device=dev))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise _RuntimeValueError(f"randperm: n must be a non-negative integer, got {n!r}")
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind in "iu":  # the largest value the dtype holds exactly
        exact = np.iinfo(dtype).max
    elif dtype.kind == "f":
        exact = 2 ** (np.finfo(dtype).nmant + 1)
    else:  # bool
        exact = -1
    if n - 1 > exact:
        raise ValueError(f"randperm: {dtype_name(dtype)} cannot hold the values 0..{n - 1} exactly")
    gen = backend.rng_for(generator, device, "randperm", host=True)
    return Tensor(backend.module_for(device).asarray(gen.permutation(int(n)), dtype=dtype),
                  requires_grad=requires_grad)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None,
                out: Optional[Tensor] = None) -> Tensor:
    """Class indices drawn with probabilities proportional to the rows of ``input`` (C,) or (B, C), as
    torch.multinomial: (num_samples,) or (B, num_samples) int64, on input's device. The weights need
    not sum to 1 but must be finite, non-negative and not all zero; without replacement, a row gives
    at most as many samples as it has non-zero weights. For sampling text: ``multinomial(softmax(
    logits / temperature, -1), 1)``."""
    if out is not None:
        from .ops import write_out  # noqa: PLC0415  (ops imports this module)
        return write_out("multinomial", multinomial(input, num_samples, replacement, generator=generator), out)
    device = _input("multinomial", input).device
    w = backend.to_device(input.array, "cpu")
    if w.ndim not in (1, 2) or w.shape[-1] == 0:
        raise _RuntimeValueError(f"multinomial: input must be (C,) or (B, C) weights with C >= 1, got shape "
                                 f"{w.shape}")
    if w.dtype.kind != "f":
        raise TypeError(f"multinomial: the weights must be floating point, got {dtype_name(w.dtype)}")
    num_samples = int_value(num_samples)  # (a 0-d integer tensor counts, as in torch)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"multinomial: num_samples must be a positive integer, got {type(num_samples).__name__}")
    if num_samples < 1:
        raise ValueError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    if not isinstance(replacement, bool):
        raise TypeError(f"multinomial: replacement must be a bool, got {type(replacement).__name__}")
    if not replacement and num_samples > w.shape[-1]:  # (torch refuses it even with no rows)
        raise _RuntimeValueError(f"multinomial: {num_samples} samples without replacement, but there are only "
                                 f"{w.shape[-1]} categories (pass replacement=True)")
    if w.size == 0:  # no rows
        return Tensor(backend.to_device(np.zeros((0, num_samples), np.int64), device))
    rows = w.reshape(-1, w.shape[-1]).astype(np.float64)
    if not np.isfinite(rows).all() or (rows < 0).any() or not (rows.sum(1) > 0).all():
        raise _RuntimeValueError("multinomial: weights must be finite and non-negative, with a positive sum in every "
                                 "row")
    if not replacement:
        fewest = int((rows > 0).sum(1).min())  # non-zero weights in a row
        if num_samples > fewest:
            raise ValueError(f"multinomial: {num_samples} samples without replacement, but a row has only "
                             f"{fewest} non-zero weights (pass replacement=True)")
    gen = backend.rng_for(generator, device, "multinomial", host=True)
    out = np.stack([gen.choice(rows.shape[1], size=num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    out = out.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64)
    return Tensor(backend.to_device(out, device))


def bernoulli(input: Tensor, p: Optional[float] = None, *, generator: Any = None,
              out: Optional[Tensor] = None) -> Tensor:
    """0/1 draws, each 1 with the probability input holds there (or p, for every element), of input's shape, dtype
    and device (torch.bernoulli: a dropout mask is such a draw). No gradient."""
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"bernoulli: input must be a floating-point tensor of probabilities, got {got}")
    draws = bernoulli_draws("bernoulli", input if p is None else p, input.shape, generator, input.device)
    result = Tensor(backend.to_device(draws.astype(input.dtype), input.device))
    if out is not None:  # (torch's: with a tensor of probabilities only)
        if p is not None:
            raise TypeError("bernoulli: out= is taken with a tensor of probabilities only (no p), as torch's")
        from .ops import write_out  # noqa: PLC0415  (ops imports this module)
        return write_out("bernoulli", result, out)
    return result


def bernoulli_draws(op: str, p: Any, shape: Tuple[int, ...], generator: Any = None, device: str = "cpu") -> Any:
    """A host bool array of shape, each True with probability p there (a number, or a tensor broadcasting to
    shape), from ``generator`` (one of ``device``, where the draws go) or the package's; p must lie in [0, 1]."""
    if not isinstance(p, (Tensor, numbers.Real)) or isinstance(p, bool):
        raise TypeError(f"{op}: p must be a number or a tensor of probabilities, got {type(p).__name__}")
    probs = backend.to_device(p.array, "cpu") if isinstance(p, Tensor) else np.asarray(p, dtype=np.float64)
    try:
        fits = probs.dtype.kind in "fiu" and np.broadcast_shapes(probs.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: p must be a number or a tensor that broadcasts to {shape}, got "
                         f"{dtype_name(probs.dtype)} of shape {probs.shape}")
    if not ((probs >= 0) & (probs <= 1)).all():
        raise _RuntimeValueError(f"{op}: probabilities must lie in [0, 1]")
    return backend.rng_for(generator, device, op, host=True).random(shape) < probs


def normal(mean: Any, std: Any = 1.0, size: Optional[Sequence[int]] = None, *, generator: Any = None,
           out: Optional[Tensor] = None, dtype: Any = None, layout: Any = None, device: Optional[str] = None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.normal: draws of N(mean, std^2). With a tensor mean and/or std, one draw per element of their broadcast
    shape, on their device, in mean's dtype when it is a tensor, else std's (torch's: not promoted); with two
    numbers, ``size`` draws (dtype, device and requires_grad apply then). std must be >= 0. The draws carry no
    gradient (torch's gradient to mean and std is zero)."""
    _options("normal", layout, pin_memory)
    if out is not None:
        if isinstance(mean, Tensor) or isinstance(std, Tensor):
            from .ops import write_out  # noqa: PLC0415  (ops imports this module)
            return write_out("normal", normal(mean, std, generator=generator), out)
        return _into_out("normal", out, dtype, requires_grad,
                         lambda dt, dev: normal(mean, std, size, generator=generator, dtype=dt, device=dev))
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        mean, std = _number(mean, "normal", "mean", bools=False), _number(std, "normal", "std", bools=False)
        if size is None:
            raise TypeError("normal: with mean and std numbers, pass size= (the shape of the draws)")
        if not std >= 0:
            raise _RuntimeValueError(f"normal: expects std >= 0.0, got {std}")
        shape = _shape((size,) if isinstance(size, (int, np.integer)) else tuple(size), "normal")
        gen = backend.rng_for(generator, device, "normal")
        return _new(mean + std * gen.standard_normal(shape), dtype, device, requires_grad, "normal")
    if size is not None:
        raise TypeError("normal: size= is taken only with mean and std numbers; a tensor mean or std sets the shape")
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    for t in tensors:
        if t.dtype.kind != "f":
            raise TypeError(f"normal: mean and std must be floating point tensors, got {dtype_name(t.dtype)}")
    if len(tensors) == 2 and mean.device != std.device:
        raise ValueError(f"normal: mean is on {mean.device} but std is on {std.device}")
    m, s = (t.array if isinstance(t, Tensor) else _number(t, "normal", name, bools=False)
            for t, name in ((mean, "mean"), (std, "std")))
    try:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    except ValueError:
        raise ValueError(f"normal: mean of shape {np.shape(m)} and std of shape {np.shape(s)} do not broadcast") \
            from None
    if not (s >= 0 if isinstance(s, numbers.Real) else bool((s >= 0).all())):  # (nan too)
        raise _RuntimeValueError("normal: expects every element of std >= 0.0")
    out_dtype = tensors[0].dtype  # (mean's when it is a tensor, as torch's: not promoted with std's)
    z = backend.rng_for(generator, tensors[0].device, "normal").standard_normal(shape)
    return Tensor._make((m + s * z).astype(out_dtype, copy=False))


_POISSON_MAX = np.iinfo(np.int64).max - 10 * np.sqrt(np.iinfo(np.int64).max)  # (numpy's largest rate)


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """torch.poisson: one Poisson draw per element, each of the rate input holds there (0 <= rates <= ~9.2e18, the
    int64 range numpy's sampler keeps to; torch's draws beyond it are garbage), in input's dtype and on its device;
    no gradient (torch's is zero)."""
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"poisson: input must be a floating point tensor of rates, got {got}")
    rates = backend.to_device(input.array, "cpu")
    if not (rates >= 0).all():  # (nan too)
        raise _RuntimeValueError("poisson: invalid Poisson rate, expected every rate to be non-negative")
    if not (rates <= _POISSON_MAX).all():  # (torch's draws there are garbage, numpy's sampler refuses them)
        raise ValueError(f"poisson: expected every rate to be at most {_POISSON_MAX:.6g} (a torch.int64 draw), got "
                         f"{rates.max()}")
    draws = np.asarray(backend.rng_for(generator, input.device, "poisson", host=True).poisson(rates))  # (0-d: an int)
    return Tensor(backend.to_device(draws.astype(input.dtype), input.device))


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """torch.binomial: one Binomial(count, prob) draw per element of their broadcast shape, both floating point
    tensors on one device, in count's dtype; no gradient (torch's is none)."""
    for name, t in (("count", count), ("prob", prob)):
        if not isinstance(t, Tensor) or t.dtype.kind != "f":
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: {got}")
    if count.device != prob.device:
        raise ValueError(f"binomial: count is on {count.device} but prob is on {prob.device}")
    n, p = backend.to_device(count.array, "cpu"), backend.to_device(prob.array, "cpu")
    if not ((n >= 0).all() and (p >= 0).all() and (p <= 1).all()):  # (nan too)
        raise ValueError("binomial: expects count >= 0 and 0 <= prob <= 1 in every element")
    if not (n == np.floor(n)).all() or (n > np.iinfo(np.int64).max).any():
        raise ValueError("binomial: count must hold whole numbers (within torch.int64)")
    draws = backend.rng_for(generator, count.device, "binomial", host=True).binomial(n.astype(np.int64), p)
    return Tensor(backend.to_device(np.asarray(draws).astype(count.dtype), count.device))


def to_dlpack(tensor: Tensor) -> Any:
    """torch.utils.dlpack.to_dlpack (also tg.to_dlpack): the tensor's memory as a DLPack capsule (its array's
    ``__dlpack__``), for a consumer that takes a capsule; from_dlpack takes the tensor itself."""
    _input("to_dlpack", tensor)
    return tensor.array.__dlpack__()


def set_default_tensor_type(t: Any) -> None:
    """torch.set_default_tensor_type (deprecated in torch, which warns): a floating legacy type (tg.DoubleTensor,
    tg.cuda.FloatTensor) or its name ('torch.cuda.FloatTensor') sets the default dtype and device."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    if isinstance(t, str):
        name = t.removeprefix("torch.")
        cuda = name.startswith("cuda.")
        found = (_CUDA_TYPES if cuda else _CPU_TYPES).get(name.removeprefix("cuda."))
        if found is None:
            raise TypeError(f"set_default_tensor_type: invalid type string: {t!r}")
        t = found
    if not isinstance(t, LegacyTensorType):
        raise TypeError(f"set_default_tensor_type: expected a legacy tensor type (tg.FloatTensor, ...) or its name, "
                        f"got {type(t).__name__}")
    if t.dtype.kind != "f":
        raise TypeError("only floating-point types are supported as the default type")
    set_default_dtype(t.dtype)
    backend.set_default_device(t.device)


def _like(fn: Any, t: Tensor, dtype: Any, device: Optional[str], memory_format: Any = preserve_format,
          layout: Any = None, pin_memory: bool = False, **kw: Any) -> Tensor:
    """fn of t's shape, in t's dtype and on t's device unless given (torch's *_like), laid out in memory_format:
    preserve_format (the default) keeps t's channels-last layout, as torch's; other layouts give row-major.
    layout: strided (None: t's), or tg.sparse_coo for zeros_like (as torch's)."""
    op = f"{fn.__name__}_like"
    _input(op, t)
    if _options(op, layout, pin_memory, sparse=fn is zeros):
        return _sparse_zeros(t.shape, t.dtype if dtype is None else dtype, t.device if device is None else device,
                             kw.get("requires_grad", False), op)
    out = fn(t.shape, dtype=t.dtype if dtype is None else dtype, device=t.device if device is None else device, **kw)
    if memory_format is preserve_format:  # (row-major unless t is laid out channels-last)
        memory_format = contiguous_format if t.array.flags.c_contiguous else preserved_format(t.array)
    if memory_format is not contiguous_format:
        out.array = in_memory_format(out.array, memory_format, f"{fn.__name__}_like")
    return out


def _sparse_zeros_like(input: Any, dtype: Any, requires_grad: bool, device: Optional[str]) -> Any:
    from .sparse import zeros_like as sparse_zeros_like  # noqa: PLC0415
    return sparse_zeros_like(input, dtype, requires_grad, device=device)


def zeros_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Optional[str] = None,
               requires_grad: bool = False, memory_format: Any = preserve_format, pin_memory: bool = False) -> Tensor:
    """torch.zeros_like; layout=tg.sparse_coo gives an all-zero sparse COO tensor, as torch's."""
    if not isinstance(input, Tensor) and _is_sparse(input):  # (a sparse COO tensor: an empty one, as torch's)
        return _sparse_zeros_like(input, dtype, requires_grad, device)
    return _like(zeros, input, dtype, device, memory_format, layout, pin_memory, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Optional[str] = None,
              requires_grad: bool = False, memory_format: Any = preserve_format, pin_memory: bool = False) -> Tensor:
    return _like(ones, input, dtype, device, memory_format, layout, pin_memory, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: float, *, dtype: Any = None, layout: Any = None,
              device: Optional[str] = None, requires_grad: bool = False, memory_format: Any = preserve_format,
              pin_memory: bool = False) -> Tensor:
    return _like(full, input, dtype, device, memory_format, layout, pin_memory, fill_value=fill_value,
                 requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Optional[str] = None,
               requires_grad: bool = False, memory_format: Any = preserve_format, pin_memory: bool = False) -> Tensor:
    """empty of input's shape, dtype (unless given) and device: zeros, see empty."""
    if not isinstance(input, Tensor) and _is_sparse(input):  # (a sparse COO tensor: an empty one, as torch's)
        return _sparse_zeros_like(input, dtype, requires_grad, device)
    return _like(empty, input, dtype, device, memory_format, layout, pin_memory, requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator: Any = None, dtype: Any = None, layout: Any = None,
               device: Optional[str] = None, requires_grad: bool = False, memory_format: Any = preserve_format,
               pin_memory: bool = False) -> Tensor:
    return _like(randn, input, dtype, device, memory_format, layout, pin_memory, requires_grad=requires_grad,
                 generator=generator)


def rand_like(input: Tensor, *, generator: Any = None, dtype: Any = None, layout: Any = None,
              device: Optional[str] = None, requires_grad: bool = False, memory_format: Any = preserve_format,
              pin_memory: bool = False) -> Tensor:
    return _like(rand, input, dtype, device, memory_format, layout, pin_memory, requires_grad=requires_grad,
                 generator=generator)


def randint_like(input: Tensor, low: int = 0, high: Optional[int] = None, *, generator: Any = None,
                 dtype: Any = None, layout: Any = None, device: Optional[str] = None, requires_grad: bool = False,
                 memory_format: Any = preserve_format, pin_memory: bool = False) -> Tensor:
    """torch.randint_like: randint's integers in [low, high) (randint_like(input, high): low = 0) in input's
    shape, and its dtype and device unless given."""
    if high is None:
        low, high = 0, low
    return _like(_randint_sized, input, dtype, device, memory_format, layout, pin_memory, low=low, high=high,
                 generator=generator, requires_grad=requires_grad)


def _randint_sized(size: tuple, *, low: int, high: int, **kw: Any) -> Tensor:
    """randint(low, high, size, **kw), size first (for _like)."""
    return randint(low, high, size, **kw)


_randint_sized.__name__ = "randint"


def scalar_tensor(s: Any, *, dtype: Any = None, layout: Any = None, device: Optional[str] = None,
                  pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.scalar_tensor: a 0-d tensor of the number s, in the default float dtype unless dtype is given (an int or
    a bool too, as torch)."""
    s = _number(s, "scalar_tensor", "s")
    _options("scalar_tensor", layout, pin_memory)
    return full((), s, dtype=_defaults.floating if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


def _window(op: str, window_length: int, periodic: bool, dtype: Any, device: Optional[str], requires_grad: bool,
            fn: Any, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """A window of window_length points, fn(n, N) of the sample numbers n = 0..N-1 in float64, N = window_length
    + 1 with the last point dropped where periodic (torch's spectral windows), window_length - 1 else; rounded once
    to dtype (a float dtype, the default one unless given). [] for 0 points, [1] for 1."""
    _options(op, layout, pin_memory)
    window_length = int_value(window_length)
    if isinstance(window_length, bool) or not isinstance(window_length, (int, np.integer)):
        raise TypeError(f"{op}: window_length must be an int, got {type(window_length).__name__}")
    if window_length < 0:
        raise ValueError(f"{op}: requires non-negative window_length, got window_length={window_length}")
    if not isinstance(periodic, bool):
        raise TypeError(f"{op}: periodic must be a bool, got {type(periodic).__name__}")
    dt = _defaults.floating if dtype is None else _dt(dtype, op)
    if dt.kind != "f":
        raise TypeError(f"{op}: expects a floating point dtype, got {dtype_name(dt)}")
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        n = window_length + 1 if periodic else window_length
        values = fn(np.arange(n, dtype=np.float64), n)[:window_length]
    return Tensor(backend.module_for(device).asarray(values.astype(dt)), requires_grad=requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.hann_window: 0.5 - 0.5 cos(2 pi n / (N - 1))."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.5 - 0.5 * np.cos(2 * math.pi * n / (N - 1)), layout, pin_memory)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """torch.hamming_window: alpha - beta cos(2 pi n / (N - 1))."""
    alpha, beta = (_number(v, "hamming_window", what, bools=False) for v, what in ((alpha, "alpha"), (beta, "beta")))
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: alpha - beta * np.cos(2 * math.pi * n / (N - 1)), layout, pin_memory)


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.blackman_window: 0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.42 - 0.5 * np.cos(2 * math.pi * n / (N - 1))
                   + 0.08 * np.cos(4 * math.pi * n / (N - 1)), layout, pin_memory)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.bartlett_window: the triangle 1 - |2 n / (N - 1) - 1|."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1), layout, pin_memory)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """torch.kaiser_window: I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (N - 1) / 2, I0 the modified
    Bessel function of order 0 (numpy's i0, on the host: a window is small)."""
    beta = _number(beta, "kaiser_window", "beta", bools=False)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: np.i0(beta * np.sqrt(np.maximum(1 - ((n - (N - 1) / 2) / ((N - 1) / 2)) ** 2, 0)))
                   / np.i0(beta), layout, pin_memory)


def get_rng_state() -> Tensor:
    """torch.get_rng_state: the cpu generator's state as a uint8 tensor (the 40 bytes of numpy's PCG64 state and the 8
    of initial_seed here, not torch's 5056 of its Mersenne Twister: the two are not interchangeable), for set_rng_state,
    which brings back both, as torch's; it saves with tg.save like any tensor. The CUDA generator is kept by
    backend.get_rng_state(("cuda",))."""
    return Tensor(backend.cpu_rng_bytes())


def set_rng_state(new_state: Tensor) -> None:
    """torch.set_rng_state: put back a get_rng_state state; the draws that followed it repeat."""
    if not isinstance(new_state, Tensor):
        raise TypeError(f"set_rng_state: expected the torch.uint8 Tensor get_rng_state returns, got "
                        f"{type(new_state).__name__}")
    backend.set_cpu_rng_bytes(backend.to_device(new_state.array, "cpu"))


def asarray(obj: Any, *, dtype: Any = None, device: Optional[str] = None, copy: Optional[bool] = None,
            requires_grad: Optional[bool] = None) -> Tensor:
    """torch.asarray (2.13's): obj as a tensor sharing its memory where it can. A Tensor already of this dtype and
    device is returned itself; one converted or copied keeps its graph. requires_grad=None (the default) keeps a
    tensor's requires_grad and history, False detaches the result (sharing memory: torch switches obj's own flag
    off instead), True makes it require grad. A numpy/CuPy array (or a DLPack-exporting one, as torch) of the dtype
    is shared, on its own device unless device= moves it. Python data is copied, with tg.tensor's dtype rules, onto
    the default device. ``copy=True`` always copies; ``copy=False`` refuses (ValueError) where it would have to."""
    dt = _dt(dtype, "asarray")
    if isinstance(obj, Tensor):
        out = obj
        if (dt is not None and dt != obj.dtype) or (device is not None and backend.check_device(device) != obj.device):
            if copy is False:
                raise ValueError(f"asarray: copy=False, but a {dtype_name(obj.dtype)} tensor on {obj.device} is to "
                                 f"become {dtype_name(dt or obj.dtype)} on {device or obj.device}, which copies")
            out = obj.to(device=device, dtype=dt)
        elif copy:
            out = obj.detach().clone() if requires_grad is False else obj.clone()
        if requires_grad is False and out.requires_grad:
            out = out.detach()
    else:
        array = (backend.is_cupy_array(obj) or isinstance(obj, (np.ndarray, np.generic))
                 or hasattr(obj, "__dlpack__"))
        if array and not isinstance(obj, (np.ndarray, np.generic)) and not backend.is_cupy_array(obj):
            obj = from_dlpack(obj).array
        if not array and copy is False:
            raise ValueError(f"asarray: copy=False, but a {type(obj).__name__} cannot be shared as a tensor's memory")
        if array and copy is False and dt is not None and np.dtype(obj.dtype) != dt:
            raise ValueError(f"asarray: copy=False, but the {dtype_name(obj.dtype)} array is to become "
                             f"{dtype_name(dt)}, which copies")
        if array:
            a = obj.astype(dt, copy=bool(copy)) if dt is not None else (obj.copy() if copy else obj)
            a = np.asarray(a) if isinstance(a, np.generic) else a
            out = Tensor._make(a if device is None else backend.to_device(a, device))
        else:
            out = tensor(obj, dtype=dt, device=device)
    if requires_grad and not out.requires_grad:
        out.requires_grad_()
    return out


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """torch.frombuffer: a 1-d tensor sharing the memory of an object exposing the buffer protocol (bytearray,
    memoryview, array.array, mmap): count elements of dtype (-1: all) from byte offset on. A read-only buffer
    (bytes) gives a tensor whose writes fail, where torch warns and writes."""
    dt = _dt(dtype, "frombuffer")
    try:
        a = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    except (ValueError, TypeError) as e:
        raise type(e)(f"frombuffer: cannot read {count if count >= 0 else 'all'} {dtype_name(dt)} elements from byte "
                      f"{offset} of a {type(buffer).__name__}: {e}") from None
    out = Tensor._make(a)
    return out.requires_grad_() if requires_grad else out


_DLPACK_CPU, _DLPACK_CUDA = 1, 2  # (DLDeviceType: kDLCPU, kDLCUDA)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """torch.from_dlpack: a tensor sharing the memory of any object exporting DLPack (``__dlpack__``: a torch,
    JAX or CuPy tensor, a numpy array; tg's Tensors export it too): host memory through numpy.from_dlpack, CUDA
    memory through cupy.from_dlpack. A legacy capsule (torch.utils.dlpack.to_dlpack's) is refused: it does not
    say its device."""
    if isinstance(ext_tensor, Tensor):
        return Tensor._make(ext_tensor.array)
    if not hasattr(ext_tensor, "__dlpack__") or not hasattr(ext_tensor, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ and __dlpack_device__ (a tensor or array), "
                        f"got {type(ext_tensor).__name__}")
    kind = int(ext_tensor.__dlpack_device__()[0])
    if kind == _DLPACK_CPU:
        return Tensor._make(np.from_dlpack(ext_tensor))
    if kind == _DLPACK_CUDA:
        return Tensor._make(backend.module_for("cuda").from_dlpack(ext_tensor))
    raise ValueError(f"from_dlpack: the memory is on DLPack device type {kind}; only the CPU (1) and CUDA (2) are "
                     "supported")


# ----------------------------------------------------------------------------- torch's legacy tensor types
class LegacyTensorType(type):
    """torch's legacy tensor types (tg.FloatTensor, tg.cuda.LongTensor, ...; torch's ``tensortype``): calling one is
    torch's legacy constructor, a tensor of its dtype on its device made from sizes (``FloatTensor(2, 3)``: zeros
    here, torch's memory is uninitialised), data (``LongTensor([1, 2])``, a list, tuple or array, cast to it) or a
    tensor of that type (an alias of it); no argument gives an empty 1-d tensor. ``isinstance(x, tg.FloatTensor)``
    tests x's dtype and device, and ``x.type(tg.LongTensor)`` casts."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device == cls.device

    def __repr__(cls) -> str:
        return f"<class 'torch.{'cuda.' if cls.is_cuda else ''}{cls.__name__}'>"

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        op = f"{'cuda.' if cls.is_cuda else ''}{cls.__name__}"
        if device is not None and backend.check_device(device, op) != cls.device:
            raise RuntimeError(f"legacy constructor expects device type: {cls.device} but device type: "
                               f"{backend.check_device(device)} was passed")
        if not args:
            return zeros(0, dtype=cls.dtype, device=cls.device)
        if len(args) == 1 and isinstance(args[0], Size):  # (tg.FloatTensor(x.size()))
            return zeros(args[0], dtype=cls.dtype, device=cls.device)
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in args):
            if min(args) < 0:
                raise RuntimeError(f"{op}: Trying to create tensor with negative dimension {min(args)}: {list(args)}")
            return zeros(*args, dtype=cls.dtype, device=cls.device)
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype != cls.dtype or args[0].device != cls.device:
                raise TypeError(f"{op}: expected a {dtype_name(cls.dtype)} tensor on {cls.device}, got "
                                f"{dtype_name(args[0].dtype)} on {args[0].device}")
            return args[0].view_as(args[0])
        if len(args) == 1 and not isinstance(args[0], (numbers.Number, np.generic, str, bytes)):
            return tensor(args[0], dtype=cls.dtype, device=cls.device)
        raise TypeError(f"{op}(): takes sizes (ints), data (a sequence or an array) or a tensor of its type, got "
                        f"{', '.join(type(a).__name__ for a in args)}")


def _legacy_types(device: str) -> dict:
    """The legacy type of every dtype torch has one for (its _TYPE_NAMES but the unsigned ints beyond uint8 and the
    complex ones, which torch names in x.type() only)."""
    return {name: LegacyTensorType(name, (), {"dtype": np.dtype(dt), "device": backend.device(device),
                                               "is_cuda": device == "cuda", "is_sparse": False})
            for dt, name in _TYPE_NAMES.items() if dt not in ("uint16", "uint32", "uint64", "complex64", "complex128")}


_CPU_TYPES, _CUDA_TYPES = _legacy_types("cpu"), _legacy_types("cuda")
FloatTensor, DoubleTensor, HalfTensor = _CPU_TYPES["FloatTensor"], _CPU_TYPES["DoubleTensor"], _CPU_TYPES["HalfTensor"]
LongTensor, IntTensor, ShortTensor = _CPU_TYPES["LongTensor"], _CPU_TYPES["IntTensor"], _CPU_TYPES["ShortTensor"]
CharTensor, ByteTensor, BoolTensor = _CPU_TYPES["CharTensor"], _CPU_TYPES["ByteTensor"], _CPU_TYPES["BoolTensor"]
# creation functions right for complex dtypes (see tensor.complex_check)
for _fn in (tensor, _tensor, copy_construct_warning, as_tensor, full, zeros, ones, _like, zeros_like, ones_like,
            full_like, empty, empty_like, randn, rand, _new, randn_like, rand_like, eye, linspace, _linspace_complex):
    complex_ok(_fn)
del _fn
