"""torch.linalg's functions (tg.linalg): vector and matrix norms, inverse, determinants, linear solves and
decompositions (Cholesky, symmetric eigendecomposition, SVD, QR, LU), matrix functions (power, exponential,
pseudo-inverse, rank, condition number), least squares, triangular solves, the *_ex forms with LAPACK's info, and
torch's older names on top of them (torch.svd, torch.lu, torch.triangular_solve, torch.cholesky_solve, ...). Real
or complex dtypes where the function is registered with complex_ok (at the end of this file and on its Functions;
the others refuse complex input, see tensor.complex_check): complex gradients follow torch's conjugate convention,
the real formulas with conjugate transposes; eig and eigvals give complex results for real input too.

Every function takes a batch of matrices: the last two dims are the matrix, the leading ones a batch (empty batches
included), as torch's. The primitives (Inv, Det, SlogDet, Solve, Cholesky, Eigh, Svd, Qr) are Functions whose forward
runs the array module's linalg (numpy's or CuPy's, by backend.xp_of) on the whole stack and whose backward is
written in Tensor ops, so higher-order gradients come free; the norms are compositions of existing ops. As torch's,
inputs must be floating point (float32 or float64; float16 only for the norms), and a singular matrix given to inv
or solve (a matrix that is not positive-definite given to cholesky) raises LinAlgError, a RuntimeError naming the
function, rather than returning infs.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Tuple

import numpy as np

from . import ops as _ops, return_types
from .backend import device_of, linalg_errors, to_device, xp_of
from .tensor import warn_once as _warn_once
from .tensor import (Function, Tensor, _complex_of, _dt, _input, _mode, _OpName, _OutputNode, _RuntimeTypeError,
                     _RuntimeValueError, complex_ok, dtype_name)

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "slogdet", "solve", "cholesky", "eigh",
           "eig", "eigvals",
           "eigvalsh", "svd", "svdvals", "qr", "matrix_power", "matrix_exp", "pinv", "matrix_rank", "cond", "cross",
           "vecdot", "multi_dot", "matmul", "diagonal", "vander", "tensorinv", "tensorsolve", "solve_triangular",
           "lu_factor", "lu_factor_ex", "lu", "lu_solve", "lstsq", "inv_ex", "solve_ex", "cholesky_ex",
           "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]

slogdet_result = return_types.linalg_slogdet
eigh_result = return_types.linalg_eigh
eig_result = return_types.linalg_eig
svd_result = return_types.linalg_svd
qr_result = return_types.linalg_qr


class LinAlgError(RuntimeError):
    """A matrix that the function cannot handle (singular for inv and solve), as torch.linalg.LinAlgError."""


# ----------------------------------------------------------------------------- argument checks
def _floating(op: str, x: Any, name: str = "input", half: bool = True, complexes: bool = False) -> Tensor:
    x = _input(op, x, name)
    if x.dtype.kind != "f" and not (complexes and x.dtype.kind == "c"):
        raise _RuntimeTypeError(f"{op}: expected a floating point tensor as {name}, got {dtype_name(x.dtype)} (shape "
                                f"{x.shape})")
    if not half and x.dtype == np.float16:
        raise TypeError(f"{op}: torch.float16 is not supported (numpy's LAPACK has no half precision); convert {name} "
                        "with .float()")
    return x


def _complex_abs(op: str, x: Any, ord: Any, dtype: Any) -> Tuple[Any, Any]:
    """(|x|, None) for a complex tensor x whose norm of order ord depends on |x| alone (all but the singular-value
    ones, 'nuc', 2 and -2 of a matrix, which take x itself to svdvals), as torch's norms of complex tensors (real
    results), x cast to dtype first (complex, not narrowing, as torch's); else (x, dtype) as they are."""
    if not isinstance(x, Tensor) or x.dtype.kind != "c":
        return x, dtype
    dt = _dt(dtype, op)
    if dt is not None and dt != x.dtype:
        if dt.kind != "c":
            raise RuntimeError(f"{op}: dtype should be complex for complex inputs, but got {dtype_name(dt)}")
        if not np.can_cast(x.dtype, dt, "safe"):
            raise RuntimeError(f"{op}: the dtype of the input ({dtype_name(x.dtype)}) should be convertible without "
                               f"narrowing to the specified dtype ({dtype_name(dt)})")
        x = x.astype(dt)
    return (x if isinstance(ord, str) and ord == "nuc" or ord in (2, -2) else x.abs()), None


def _with_dtype(op: str, x: Tensor, dtype: Any) -> Tensor:
    """x cast to dtype (None: as it is) before the norm, as torch's dtype=: floating, and never narrowing."""
    dt = _dt(dtype, op)
    if dt is None or dt == x.dtype:
        return x
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating point dtype, got {dtype_name(dt)}")
    if not np.can_cast(x.dtype, dt, "safe"):
        raise TypeError(f"{op}: the input's dtype {x.dtype} does not convert to dtype {dtype_name(dt)} without "
                        "narrowing")
    return x.astype(dt)


def _square(op: str, a: Any, name: str = "A", complexes: bool = False) -> Tensor:
    a = _floating(op, a, name, half=False, complexes=complexes)
    if a.ndim < 2:
        raise _RuntimeValueError(f"{op}: {name} must have at least 2 dims (a matrix or a batch of them), got "
                                 f"shape {a.shape}")
    if a.shape[-1] != a.shape[-2]:
        raise _RuntimeValueError(f"{op}: {name} must be square matrices (or a batch of them), got shape {a.shape}: "
                                 f"{a.shape[-2]} by {a.shape[-1]}")
    return a


def _singular(op: str, a: Any) -> LinAlgError:
    """The error for a singular a, naming the first singular matrix of a batch."""
    xp = xp_of(a)
    flat = a.reshape((-1,) + a.shape[-2:])
    bad = [int(i) for i in xp.flatnonzero(xp.linalg.det(flat) == 0)[:1].tolist()] if a.ndim > 2 else []
    where = f" (batch element {bad[0]} of shape {a.shape})" if bad else f" (shape {a.shape})"
    return LinAlgError(f"{op}: the input matrix is singular{where}; it has no inverse")


def _adjoint_array(a: Any) -> Any:
    """The conjugate transpose of each matrix of the array a (a real one: its transpose, a view)."""
    out = xp_of(a).swapaxes(a, -1, -2)
    return out.conj() if out.dtype.kind == "c" else out


def _checked(op: str, a: Any, out: Any) -> Any:
    """out, or the singular error where CuPy (which does not raise) gave non-finite values for a finite a."""
    xp = xp_of(out)
    if xp is not np and not bool(xp.isfinite(out).all()) and bool(xp.isfinite(a).all()):
        raise _singular(op, a)
    return out


def _kept(fn: Function, k: int, out: Any) -> Tensor:
    """Output k (the array ``out``) of fn, a Function with several outputs, as a Tensor for fn's backward: under
    create_graph recorded as that output of fn, so second derivatives flow back through fn (Function.output does
    this for the first output only)."""
    if not _mode.grad_enabled:
        return Tensor._make(out)
    return Tensor._make(out, _OutputNode(fn, k, out.shape, out.dtype), True)


def _eye_where(singular: Any, a: Tensor) -> Tensor:
    """a with each matrix flagged in ``singular`` (an array over the batch) replaced by the identity."""
    if not bool(singular.any()):
        return a
    eye = xp_of(a.array).eye(a.shape[-1], dtype=a.dtype)
    return _ops.where(singular[..., None, None], Tensor._make(eye), a)


# ----------------------------------------------------------------------------- norms
def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over dim (every element for None or ()), for any real ord:
    inf is max |x|, -inf min |x|, 0 the count of non-zeros (no gradient, as torch's); a negative ord is 0 where an
    element is 0. ``dtype``: x is cast to it first (floating, not narrowing). Tensor.norm computes it."""
    op = "linalg.vector_norm"
    x, dtype = _complex_abs(op, x, None, dtype)
    x = _floating(op, x, "x")
    if not isinstance(ord, numbers.Real) or isinstance(ord, bool):
        raise TypeError(f"{op}: ord must be a number (inf and -inf included), got {ord!r}")
    _ops.bool_arg(keepdim, op, "keepdim")
    x = _with_dtype(op, x, dtype)
    dims = None if isinstance(dim, (tuple, list)) and not len(dim) else dim
    if ord < 0 or math.isinf(ord):
        empty = [d for d in _ops.reduce_dims(dims, x.ndim, op) if x.shape[d] == 0]
        if empty:
            raise ValueError(f"{op}: cannot take the {ord} norm over dim {empty[0]} of x (shape "
                             f"{x.shape}): it is empty, and this norm of nothing is undefined (as in torch)")
    return x.norm(ord, dims, keepdim)


def _matrix_dims(op: str, a: Tensor, dim: Any) -> Tuple[int, int]:
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise TypeError(f"{op}: dim must be a pair of ints, got {dim!r}")
    d0, d1 = (_ops._one_dim(d, a.ndim, op) for d in dim)
    if d0 == d1:
        raise ValueError(f"{op}: the two dims must differ, got {tuple(dim)} for A of shape {a.shape}")
    return d0, d1


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """torch.linalg.matrix_norm over the two dims ``dim`` (the last two by default; the rest are a batch): 'fro'
    (the square root of the sum of squares), 1 / -1 (the largest / smallest column sum of |A|) and inf / -inf (the
    same over rows), 'nuc' / 2 / -2 (the sum / largest / smallest of the singular values, by svdvals; not for
    float16, as torch's CPU). A matrix with no elements has norm 0 (-1, -inf and -2: an error, as torch's)."""
    op = "linalg.matrix_norm"
    A, dtype = _complex_abs(op, A, ord, dtype)
    A = A if isinstance(A, Tensor) and A.dtype.kind == "c" else _floating(op, A, "A")
    if A.ndim < 2:
        raise _RuntimeValueError(f"{op}: A must have at least 2 dims (a matrix or a batch of them), got shape "
                                 f"{A.shape}")
    if not (ord in ("fro", "nuc") if isinstance(ord, str) else
            isinstance(ord, numbers.Real) and not isinstance(ord, bool) and ord in _MATRIX_ORDS):
        raise _RuntimeValueError(f"{op}: ord {ord!r} is not supported; expected 'fro', 'nuc', 1, -1, 2, -2, "
                                 "inf or -inf")
    _ops.bool_arg(keepdim, op, "keepdim")
    d0, d1 = _matrix_dims(op, A, dim)
    A = _with_dtype(op, A, dtype)
    if isinstance(ord, str) and ord == "nuc" or not isinstance(ord, str) and abs(ord) == 2:
        return _singular_value_norm(op, A, ord, (d0, d1), keepdim)
    if isinstance(ord, str):
        return A.norm(2, (d0, d1), keepdim)
    summed, over = (d0, d1) if abs(ord) == 1 else (d1, d0)  # (1: sums down each column, the max over columns)
    if A.shape[over] == 0 and ord < 0:
        raise ValueError(f"{op}: ord {ord} takes a minimum over dim {over} of A (shape {A.shape}), which is empty")
    if A.shape[d0] == 0 or A.shape[d1] == 0:  # (torch's 0: a sum over nothing, and the max of no sums)
        return A.abs().sum((d0, d1), keepdim)
    sums = A.abs().sum(summed, keepdim=True)
    out = sums.amax(over, keepdim=True) if ord > 0 else sums.amin(over, keepdim=True)
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in (d0, d1)))


def _singular_value_norm(op: str, A: Tensor, ord: Any, dims: Tuple[int, int], keepdim: bool) -> Tensor:
    """The 'nuc', 2 or -2 norm of A over dims: the sum, max or min of its singular values (amax / amin: tied ones
    share the gradient, as torch's)."""
    if A.dtype == np.float16:
        raise TypeError(f"{op}: ord {ord!r} needs an SVD, which torch.float16 does not have (as torch's CPU); convert "
                        f"A (shape {A.shape}) with .float()")
    if ord == -2 and 0 in (A.shape[dims[0]], A.shape[dims[1]]):
        raise ValueError(f"{op}: ord -2 takes the smallest singular value of A over dims {dims} (shape {A.shape}), "
                         f"and it has none")
    s = svdvals(A.movedim(dims, (-2, -1)))
    out = s.sum(-1) if ord == "nuc" or not s.shape[-1] else s.amax(-1) if ord == 2 else s.amin(-1)
    return out.unsqueeze(min(dims)).unsqueeze(max(dims)) if keepdim else out


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: a vector norm for an int dim or one of length 1, a matrix norm for a pair of dims or a
    string ord. Without dim: the 2-norm of all elements where ord is None, else A must be 1-D (a vector norm) or 2-D
    (a matrix norm)."""
    op = "linalg.norm"
    if not (isinstance(A, Tensor) and A.dtype.kind == "c"):  # (complex: vector_norm's and matrix_norm's |A|)
        A = _floating(op, A, "A")
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else dim
        if not isinstance(dims, (tuple, list)) or len(dims) not in (1, 2):
            raise ValueError(f"{op}: dim must be an int or a tuple of 1 or 2 ints, got {dim!r}")
        if isinstance(ord, str) or len(dims) == 2:
            if len(dims) != 2:
                raise ValueError(f"{op}: ord {ord!r} is a matrix norm, which needs dim to be a pair, got {dim!r}")
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        out = vector_norm(A.reshape(-1), 2, dtype=dtype)
        return out.reshape((1,) * A.ndim) if keepdim else out
    if A.ndim not in (1, 2):
        raise ValueError(f"{op}: with ord {ord!r} and no dim, A must be 1-D or 2-D, got shape {A.shape}")
    if A.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)


# ----------------------------------------------------------------------------- inverse and determinants
@complex_ok
class Inv(Function):
    """Y = A^-1 for each matrix of the batch; dA = -Y^H g Y^H (Y^T for real A)."""

    name = "linalg.inv"
    save_output = True

    def forward(self, a):
        xp = xp_of(a)
        try:
            return _checked(self.name, a, xp.linalg.inv(a))
        except np.linalg.LinAlgError:  # (CuPy raises numpy's, where it raises at all)
            raise _singular(self.name, a) from None

    def backward(self, g):
        yh = self.output.mH
        return (-(yh @ g @ yh),)


def inv(A: Tensor) -> Tensor:
    """torch.linalg.inv: the inverse of each square matrix (the leading dims are a batch); LinAlgError for a singular
    one."""
    return Inv()(_square("linalg.inv", A, complexes=True))


@complex_ok
class Det(Function):
    """d = det A for each matrix; dA = g conj(d) A^-H (g d A^-T for real A). At an exactly singular matrix (d = 0)
    the gradient is 0, as torch's gives there."""

    name = "linalg.det"
    saved_inputs = (0,)
    save_output = True

    def forward(self, a):
        return xp_of(a).linalg.det(a)

    def backward(self, g):
        (a,) = self.saved
        d = self.output
        inverse = inv(_eye_where(d.array == 0, a))
        return ((g * d.conj())[..., None, None] * inverse.mH,)


def det(A: Tensor) -> Tensor:
    """torch.linalg.det: the determinant of each square matrix (the leading dims are a batch; 1 for 0 by 0)."""
    return Det()(_square("linalg.det", A, complexes=True))


@complex_ok
class SlogDet(Function):
    """(sign, log |det A|) for each matrix; the sign is a step (no gradient) and d log|det A| / dA = A^-T. A singular
    matrix's log|det| is -inf; its gradient, which torch gives as infs, is LinAlgError here (through inv). Complex
    A: sign = det / |det| (complex), log |det| real, and dA = (g_log + i Im(conj(sign) g_sign)) A^-H, torch's."""

    name = "linalg.slogdet"
    saved_inputs = (0,)
    save_output = True

    def forward(self, a):
        sign, logabsdet = xp_of(a).linalg.slogdet(a)
        return sign.astype(a.dtype, copy=False), logabsdet.astype(a.real.dtype, copy=False)

    def backward(self, g_sign, g_log):
        (a,) = self.saved
        if a.dtype.kind != "c":
            return (None,) if g_log is None else (g_log[..., None, None] * inv(a).mT,)
        if g_sign is not None:
            turn = (self.output.conj() * g_sign).imag * 1j
            g_log = turn if g_log is None else g_log + turn
        return (g_log[..., None, None] * inv(a).mH,)


def slogdet(A: Tensor) -> Any:
    """torch.linalg.slogdet: (sign, logabsdet) of each square matrix, a named tuple, as torch's; sign is -1, 0 or 1
    in A's dtype (complex A: det / |det|, of modulus 1, and a real logabsdet), and det A = sign * exp(logabsdet)
    without overflow."""
    sign, logabsdet = SlogDet()(_square("linalg.slogdet", A, complexes=True))
    return slogdet_result(sign, logabsdet)


# ----------------------------------------------------------------------------- linear systems
@complex_ok
class Solve(Function):
    """X = A^-1 B for matrices B (..., n, k), the batch dims of A and B broadcast; dB = A^-H g and dA = -dB X^H
    (transposes for real ones), each summed back to its input's batch shape."""

    name = "linalg.solve"
    saved_inputs = (0,)
    save_output = True

    def forward(self, a, b):
        xp = xp_of(a, b)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a_, b_ = xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
        self.shapes = a.shape, b.shape
        try:
            return _checked(self.name, a_, xp.linalg.solve(a_, b_))
        except np.linalg.LinAlgError:  # (CuPy raises numpy's, where it raises at all)
            raise _singular(self.name, a_) from None

    def backward(self, g):
        (a,), x = self.saved, self.output
        a_shape, b_shape = self.shapes
        gb = Solve()(a.mH, g)
        ga = _ops.unbroadcast(-(gb @ x.mH), a_shape) if self.needs_input_grad[0] else None
        return ga, _ops.unbroadcast(gb, b_shape) if self.needs_input_grad[1] else None


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """torch.linalg.solve: X with A X = B (left=False: X A = B) for square A (..., n, n). B is a batch of vectors
    (..., n) where it is 1-D or has A's shape without the last dim, else of matrices (..., n, k); batch dims
    broadcast. LinAlgError for a singular A; A and B must share a dtype, as torch's."""
    op = "linalg.solve"
    A = _square(op, A, complexes=True)
    B = _floating(op, B, "B", half=False, complexes=True)
    _ops.bool_arg(left, op, "left")
    if A.dtype != B.dtype:
        raise _RuntimeTypeError(f"{op}: A and B must have the same dtype, got A {A.dtype} and B {B.dtype} (as in "
                                "torch)")
    vector = B.ndim == 1 or B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]
    n = A.shape[-1]
    if B.ndim == 0 or not vector and B.ndim < 2 or (B.shape[-1] if vector or not left else B.shape[-2]) != n or \
            vector and not left:
        eq, rhs = ("AX = B", "(..., n) or (..., n, k)") if left else ("XA = B", "(..., k, n)")
        raise _RuntimeValueError(f"{op}: incompatible shapes for {eq}: A {A.shape} and B {B.shape}; B must be {rhs} "
                                 f"with n = {n}")
    if vector:
        return Solve()(A, B.unsqueeze(-1)).squeeze(-1)
    _ops.broadcast_shapes(op, ("the batch dims of A", A.shape[:-2]), ("of B", B.shape[:-2]))
    return Solve()(A, B) if left else Solve()(A.mT, B.mT).mT


# ----------------------------------------------------------------------------- decompositions
def _not_positive_definite(op: str, a: Any) -> LinAlgError:
    """torch's error for a matrix with no Cholesky factor: the first such batch element, and the order of its first
    leading minor that is not positive-definite (found again on the CPU, on this error path only)."""
    flat = to_device(a, "cpu").reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(flat):
        order = next((k for k in range(1, m.shape[-1] + 1) if not _has_cholesky(m[:k, :k])), None)
        if order is not None:
            where = f"(Batch element {i}): " if a.ndim > 2 else ""
            return LinAlgError(f"{op}: {where}The factorization could not be completed because the input (shape "
                               f"{a.shape}) is not positive-definite (the leading minor of order {order} is not "
                               f"positive-definite).")
    return LinAlgError(f"{op}: the input (shape {a.shape}) is not positive-definite")


def _has_cholesky(m: Any) -> bool:
    try:
        return bool(np.isfinite(np.linalg.cholesky(m)).all())
    except np.linalg.LinAlgError:
        return False


@complex_ok
class Cholesky(Function):
    """L, lower triangular with L L^H = A, from A's lower triangle (the upper one is not read, as torch's). Backward
    (Murray 2016, torch's): dA = L^-H P L^-1 with P = (T + tril(T, -1)^H) / 2 for T = tril(L^H g); dA is symmetric
    (for complex A Hermitian up to an imaginary diagonal, as torch's, which no Hermitian change of A sees).
    upper: U = L^H from A's upper triangle (L from A^H), its gradient read as L's, as torch's."""

    name = "linalg.cholesky"
    save_output = True

    def __init__(self, upper: bool = False) -> None:
        self.upper = upper

    def forward(self, a):
        xp = xp_of(a)
        a = _adjoint_array(a) if self.upper else a
        try:
            with linalg_errors(xp):  # (CuPy's potrf may leave finite garbage where A is not positive-definite)
                out = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise _not_positive_definite(self.name, a) from None
        if xp is not np and not bool(xp.isfinite(out).all()) and bool(xp.isfinite(a).all()):
            raise _not_positive_definite(self.name, a)  # (and nans where its info reports nothing)
        return _adjoint_array(out) if self.upper else out

    def backward(self, g):
        lower, g = (self.output.mH, g.mH) if self.upper else (self.output, g)
        t = (lower.mH @ g).tril()
        p = 0.5 * (t + t.tril(-1).mH)
        return (solve(lower, solve(lower.mH, p), left=False),)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """torch.linalg.cholesky: L, lower triangular with a positive diagonal and L L^H = A, for each symmetric
    (complex: Hermitian) positive-definite matrix of the batch; only A's lower triangle is read. upper=True: U = L^H,
    from A's upper triangle, as torch's. LinAlgError naming the batch element and the order of its first leading
    minor that is not positive-definite, as torch's."""
    op = "linalg.cholesky"
    A = _square(op, A, complexes=True)
    _ops.bool_arg(upper, op, "upper")
    return Cholesky(upper)(A)


def _gaps(values: Tensor) -> Tensor:
    """E with E_ij = values_j - values_i over the batch, and 1 on the diagonal (where it is 0) for dividing by."""
    eye = xp_of(values.array).eye(values.shape[-1], dtype=values.dtype)
    return values.unsqueeze(-2) - values.unsqueeze(-1) + Tensor._make(eye)


@complex_ok
class Eigh(Function):
    """(L, V): the eigenvalues (ascending) and orthonormal eigenvectors (the columns of V) of each symmetric
    (complex: Hermitian) matrix, from its lower triangle. Backward (torch's): dA = V (diag(gL) + skew(V^H gV) / E) V^H,
    skew(X) = (X - X^H) / 2, E_ij = L_j - L_i; dA is symmetric (Hermitian). Where two eigenvalues are equal their
    eigenvectors are not unique, and a loss that depends on them has no gradient: it comes out inf or nan, as
    torch's (which warns of it in its docs). Complex A: each eigenvector is defined up to a phase e^(i phi), so a
    loss that depends on it (Im diag(V^H gV) not 0) is refused, as torch's."""

    name = "linalg.eigh"

    def forward(self, a):
        self.values, self.vectors = xp_of(a).linalg.eigh(a)
        return self.values.copy(), self.vectors.copy()  # (copies: an in-place change to one leaves backward's own)

    def backward(self, g_values, g_vectors):
        values, vectors = _kept(self, 0, self.values), _kept(self, 1, self.vectors)
        inner = None
        if g_vectors is not None:
            x = vectors.mH @ g_vectors
            if x.dtype.kind == "c":
                phases = x.array.diagonal(0, -2, -1).imag
                if not bool(xp_of(phases).allclose(phases, 0, rtol=1e-2, atol=1e-2)):
                    raise RuntimeError(f"{self.name}: linalg_eigh_backward: The eigenvectors in the complex case are "
                                       "specified up to multiplication by e^{i phi}. The specified loss function "
                                       "depends on this quantity, so it is ill-defined.")
            inner = 0.5 * (x - x.mH) / _gaps(values)
        if g_values is not None:
            inner = g_values.diag_embed() if inner is None else inner + g_values.diag_embed()
        if inner.dtype != vectors.dtype:
            inner = inner.astype(vectors.dtype)
        return (vectors @ inner @ vectors.mH,)


@complex_ok
class Eig(Function):
    """(L, V): the eigenvalues and eigenvectors (the columns of V, each of norm 1 with its largest component real,
    LAPACK's geev) of each square matrix, complex; computed on the host (CuPy has no general eig). Backward
    (torch's linalg_eig_backward): dA = V^-H (diag(gL) + (V^H gV - V^H V diag(Re diag(V^H gV))) / conj(E)) V^H,
    E_ij = L_j - L_i (1 on the diagonal), its real part for a real A. A loss that depends on the eigenvectors'
    phases is refused, as torch's; higher orders are not supported here (a RuntimeError, never a silent 0)."""

    name = "linalg.eig"

    def __init__(self, vectors: bool = True) -> None:
        self.want_vectors = vectors

    def forward(self, a):
        self.real_input, self.device = a.dtype.kind != "c", device_of(a)
        host = to_device(a, "cpu")
        values, vectors = np.linalg.eig(host)
        dt = _complex_of(host.dtype)
        self.values, self.vectors = values.astype(dt, copy=False), vectors.astype(dt, copy=False)
        values = to_device(self.values, self.device)
        if not self.want_vectors:
            return values
        return values, to_device(self.vectors, self.device)

    def backward(self, g_values, g_vectors=None):
        if _mode.grad_enabled:
            raise RuntimeError("linalg.eig: higher-order gradients (create_graph=True) are not supported")
        L, V = self.values, self.vectors
        Vh = np.conj(np.swapaxes(V, -1, -2))
        inner = np.zeros(V.shape, V.dtype)
        if g_vectors is not None:
            VhgV = Vh @ to_device(g_vectors.array, "cpu")
            diag = np.diagonal(VhgV, 0, -2, -1)
            if not np.allclose(diag.imag, 0, rtol=1e-2, atol=1e-2):
                raise RuntimeError("linalg.eig: the eigenvectors in the complex case are specified up to "
                                   "multiplication by e^{i phi}; the loss depends on this quantity, so it is "
                                   "ill-defined")
            E = np.conj(L)[..., None, :] - np.conj(L)[..., :, None]
            idx = np.arange(L.shape[-1])
            E[..., idx, idx] = 1
            inner = (VhgV - Vh @ (V * diag.real[..., None, :])) / E
        if g_values is not None:
            idx = np.arange(L.shape[-1])
            inner[..., idx, idx] += to_device(g_values.array, "cpu")
        ga = np.linalg.solve(Vh, inner @ Vh)
        if self.real_input:
            ga = ga.real.astype(np.float32 if V.dtype == np.complex64 else np.float64)
        return (Tensor._make(to_device(ga, self.device)),)


def _eig_input(op: str, A: Any) -> Tensor:
    A = _input(op, A, "A")
    if A.dtype.kind != "c":
        return _square(op, A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: A must be square matrices (or a batch of them), got shape {A.shape}")
    return A


@complex_ok
def eig(A: Tensor) -> Any:
    """torch.linalg.eig: (eigenvalues, eigenvectors) of each square matrix, complex (complex64 for float32),
    a named tuple as torch's; the eigenvectors are the columns, each of norm 1 (see Eig for the gradient)."""
    values, vectors = Eig()(_eig_input("linalg.eig", A))
    return eig_result(values, vectors)


@complex_ok
def eigvals(A: Tensor) -> Tensor:
    """torch.linalg.eigvals: the (complex) eigenvalues of each square matrix; gradient V^-H diag(g) V^H."""
    return Eig(vectors=False)(_eig_input("linalg.eigvals", A))


def _uplo(op: str, A: Any, UPLO: Any) -> Tensor:
    """A as Eigh reads it: A itself for UPLO 'L' (its lower triangle), A^T for 'U' (A's upper triangle; A^H for a
    complex, Hermitian A)."""
    A = _square(op, A, complexes=True)
    if UPLO not in ("L", "U"):
        raise _RuntimeValueError(f"{op}: UPLO must be 'L' or 'U' (which triangle of A is read), got {UPLO!r}")
    return A.mH if UPLO == "U" else A


def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """torch.linalg.eigh: (eigenvalues, eigenvectors) of each symmetric matrix of the batch, a named tuple as
    torch's: the eigenvalues ascending, the eigenvectors the columns of an orthogonal matrix (each one's sign is
    arbitrary: a loss should not depend on it). Only A's lower triangle is read (UPLO='U': the upper one). Gradients
    need distinct eigenvalues where the loss reads the eigenvectors (see Eigh)."""
    values, vectors = Eigh()(_uplo("linalg.eigh", A, UPLO))
    return eigh_result(values, vectors)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """torch.linalg.eigvalsh: the eigenvalues of each symmetric matrix, ascending (see eigh); their gradient
    V diag(g) V^T is defined for repeated eigenvalues too."""
    return Eigh()(_uplo("linalg.eigvalsh", A, UPLO))[0]


@complex_ok
class Svd(Function):
    """(U, S, Vh) with A = U diag(S) Vh, S descending, U (m, k) and Vh (k, n), k = min(m, n) (full_matrices: U and
    Vh square; the gradients reaching their columns / rows past k are dropped, as torch's, since those are an
    arbitrary basis). Backward (torch's): with skew(X) = X - X^H and E_ij = S_j^2 - S_i^2,
    dA = U [(skew(U^H gU) S + S skew(Vh gVh^H)) / E + diag(gS)] Vh plus, for m > n, (I - U U^H) gU S^-1 Vh and, for
    m < n, U S^-1 gVh (I - Vh^H Vh). Losses that read U or Vh need distinct non-zero singular values (else inf or
    nan, as torch's). Complex A: each singular vector pair is defined up to a phase e^(i phi), so a loss that
    depends on it is refused (torch's check: Im diag(U^H gU) = -Im diag(Vh gVh^H)); U^H gU's imaginary diagonal
    over 2 S adds to the diagonal, as torch's."""

    name = "linalg.svd"

    def __init__(self, full_matrices: bool) -> None:
        self.full = full_matrices

    def forward(self, a):
        self.arrays = xp_of(a).linalg.svd(a, full_matrices=self.full)
        return tuple(x.copy() for x in self.arrays)  # (copies: an in-place change to one leaves backward's own)

    def backward(self, g_u, g_s, g_vh):
        u, s, vh = (_kept(self, i, x) for i, x in enumerate(self.arrays))
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        if self.full:
            u, vh = u[..., :k], vh[..., :k, :]
            g_u, g_vh = g_u if g_u is None else g_u[..., :k], g_vh if g_vh is None else g_vh[..., :k, :]
        if g_u is None and g_vh is None:
            return (u @ (g_s.unsqueeze(-1) * vh),)
        gaps = _gaps(s * s)
        uhgu = None if g_u is None else (lambda x: x - x.mH)(u.mH @ g_u)
        vhgv = None if g_vh is None else (lambda x: x - x.mH)(vh @ g_vh.mH)
        skew_u = None if uhgu is None else uhgu * s.unsqueeze(-2)
        skew_v = None if vhgv is None else s.unsqueeze(-1) * vhgv
        inner = (skew_v if skew_u is None else skew_u if skew_v is None else skew_u + skew_v) / gaps
        if g_s is not None:
            inner = inner + g_s.diag_embed()
        if u.dtype.kind == "c":
            inner = _svd_phase(inner, uhgu, vhgv, s)
        if m > n and g_u is not None:
            scaled = g_u / s.unsqueeze(-2)
            return ((u @ inner + scaled - u @ (u.mH @ scaled)) @ vh,)
        if m < n and g_vh is not None:
            scaled = g_vh / s.unsqueeze(-1)
            return (u @ (inner @ vh + scaled - (scaled @ vh.mH) @ vh),)
        return (u @ inner @ vh,)


def _svd_phase(inner: Tensor, uhgu: Any, vhgv: Any, s: Tensor) -> Tensor:
    """Svd's backward for complex A: torch's gauge check (a loss must not depend on the phases of the singular
    vector pairs: Im diag(U^H gU) = -Im diag(Vh gVh^H), within 1e-2), then inner plus i Im diag(U^H gU) / S."""
    xp = xp_of(s.array)
    im_u = xp.zeros(s.shape, s.dtype) if uhgu is None else uhgu.array.diagonal(0, -2, -1).imag
    im_v = xp.zeros(s.shape, s.dtype) if vhgv is None else vhgv.array.diagonal(0, -2, -1).imag
    if not bool(xp.allclose(im_u, -im_v, rtol=1e-2, atol=1e-2)):
        raise RuntimeError("linalg.svd: svd_backward: The singular vectors in the complex case are specified up to "
                           "multiplication by e^{i phi}. The specified loss function depends on this phase term, "
                           "making it ill-defined.")
    if uhgu is None:
        return inner
    return inner + (uhgu.diagonal(0, -2, -1).imag / (2 * s)).diag_embed() * 1j


def _matrices(op: str, A: Any, complexes: bool = False) -> Tensor:
    A = _floating(op, A, "A", half=False, complexes=complexes)
    if A.ndim < 2:
        raise _RuntimeValueError(f"{op}: A must have at least 2 dims (a matrix or a batch of them), got shape "
                                 f"{A.shape}")
    return A


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """torch.linalg.svd: (U, S, Vh), a named tuple as torch's, with A = U diag(S) Vh for each matrix of the batch;
    S descending, U and Vh orthonormal, each singular vector pair's sign arbitrary (a loss should not depend on
    it). full_matrices=False: U (..., m, k) and Vh (..., k, n), k = min(m, n); True: U and Vh square. driver is
    CUDA-only in torch; here only None."""
    op = "linalg.svd"
    A = _matrices(op, A, complexes=True)
    _ops.bool_arg(full_matrices, op, "full_matrices")
    if driver is not None:
        raise ValueError(f"{op}: driver must be None here (torch's drivers are for CUDA's cuSOLVER), got {driver!r}")
    return svd_result(*Svd(full_matrices)(A))


def svdvals(A: Tensor, *, driver: Any = None) -> Tensor:
    """torch.linalg.svdvals: the singular values of each matrix, descending; their gradient U diag(g) Vh is defined
    for repeated ones too (complex A: real values; higher orders too, as torch's)."""
    op = "linalg.svdvals"
    A = _matrices(op, A, complexes=True)
    if driver is not None:
        raise ValueError(f"{op}: driver must be None here (torch's drivers are for CUDA's cuSOLVER), got {driver!r}")
    return Svd(False)(A)[1]


_QR_MODES = ("reduced", "complete", "r")


@complex_ok
class Qr(Function):
    """(Q, R) with A = Q R, Q orthonormal columns (m, k) and R upper triangular (k, n), k = min(m, n) (complete: Q
    (m, m) and R (m, n); 'r': R only, Q empty; complex A: R's diagonal real, LAPACK's). Backward: for m >= n torch's
    (_qr_tall_grad); for m < n, A = [X | Y] and R = [U | V] with X = Q U and Y = Q V, so dA = [X's gradient for
    gQ + Q V gV^H and gU | Q gV]. Not
    differentiable for mode 'r' (no Q) nor for 'complete' with m > n (Q's last columns are arbitrary), as torch's:
    the backward says so. R needs a non-zero diagonal (A of full rank k) for a gradient; where a column of A is
    exactly zero below the diagonal LAPACK skips its reflection, and the signs of Q's column and R's row jump (no
    gradient there, as torch's)."""

    name = "linalg.qr"

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def forward(self, a):
        xp = xp_of(a)
        if self.mode == "r":
            self.arrays = (xp.zeros((0,), a.dtype), xp.linalg.qr(a, mode="r"))
        else:
            self.arrays = xp.linalg.qr(a, mode=self.mode)
        return tuple(x.copy() for x in self.arrays)  # (copies: an in-place change to one leaves backward's own)

    def backward(self, g_q, g_r):
        if self.mode == "r":
            raise RuntimeError(f"{self.name}: the derivative depends on Q, which mode='r' does not compute; use "
                               "mode='reduced' to differentiate through linalg.qr (as torch)")
        q, r = (_kept(self, i, x) for i, x in enumerate(self.arrays))
        m, n = q.shape[-2], r.shape[-1]
        if m > n and self.mode == "complete":
            raise RuntimeError(f"{self.name}: mode='complete' is not differentiable for tall matrices ({m} by {n}): "
                               "Q's last columns are arbitrary (as torch); use mode='reduced'")
        if m >= n:
            return (_qr_tall_grad(q, r, g_q, g_r),)
        g_v = None if g_r is None else g_r[..., m:]  # (R = [U | V] with A = [X | Y], X = Q U, Y = Q V)
        if g_v is not None:
            g_q = q @ (r[..., m:] @ g_v.mH) + (0.0 if g_q is None else g_q)
        g_x = _qr_tall_grad(q, r[..., :m], g_q, None if g_r is None else g_r[..., :m])
        g_y = Tensor._make(xp_of(q.array).zeros(q.shape[:-1] + (n - m,), q.dtype)) if g_v is None else q @ g_v
        return (_ops.cat([g_x, g_y], -1),)


def _qr_tall_grad(q: Tensor, r: Tensor, g_q: Any, g_r: Any) -> Tensor:
    """Qr's gradient for m >= n (torch's): (gQ + Q sym(M)) R^-H with M = gR R^H - Q^H gQ and
    sym(M) = triu(M) + triu(M, 1)^T; for complex A, whose R has a real diagonal (Q^H dQ skew-Hermitian),
    triu(M, 1) + triu(M, 1)^H + diag(Re diag M)."""
    if g_q is None:
        grad = g_r @ r.mH
    else:
        grad = -(q.mH @ g_q) if g_r is None else g_r @ r.mH - q.mH @ g_q
    if grad.dtype.kind == "c":
        upper = grad.triu(1)
        out = q @ (upper + upper.mH + grad.diagonal(0, -2, -1).real.diag_embed())
    else:
        out = q @ (grad.triu() + grad.triu(1).mT)
    return solve(r.mH, out if g_q is None else out + g_q, left=False)


def qr(A: Tensor, mode: str = "reduced") -> Any:
    """torch.linalg.qr: (Q, R), a named tuple as torch's, with A = Q R for each matrix of the batch, by LAPACK's
    Householder QR as torch's (the same signs). mode 'reduced': Q (..., m, k), R (..., k, n), k = min(m, n);
    'complete': Q (..., m, m), R (..., m, n); 'r': R alone, Q an empty tensor. Gradients: see Qr."""
    op = "linalg.qr"
    A = _matrices(op, A, complexes=True)
    if mode not in _QR_MODES:
        raise _RuntimeValueError(f"{op}: mode must be one of 'reduced' (the default), 'complete' or 'r', got "
                                 f"{mode!r}")
    return qr_result(*Qr(mode)(A))


# ----------------------------------------------------------------------------- products and simple compositions
def _const(a: Any) -> Tensor:
    return Tensor._make(a)


def _eye_like(a: Tensor, n: int) -> Tensor:
    return _const(xp_of(a.array).eye(n, dtype=a.dtype))


def matrix_power(A: Tensor, n: int) -> Tensor:
    """torch.linalg.matrix_power: A^n for each square matrix of the batch by repeated squaring; n = 0 the identity
    (no gradient reaches A, as torch's), n < 0 (inv A)^-n (floating or complex A only; LinAlgError for a singular
    one)."""
    op = "linalg.matrix_power"
    A = _input(op, A, "A")
    n = _ops.int_arg(n, op, "n")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise _RuntimeValueError(f"{op}: A must be a square matrix or a batch of them, got shape {A.shape}")
    if n == 0:  # (A's gradient 0, as torch's)
        return _ops.where(xp_of(A.array).ones((), bool), _eye_like(A, A.shape[-1]), A)
    if n < 0:
        A = Inv()(_square(op, A, complexes=True))
        n = -n
    out, base = None, A
    while n:
        if n & 1:
            out = base if out is None else out @ base
        n >>= 1
        if n:
            base = base @ base
    return out


_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


@complex_ok
class MatrixExp(Function):
    """exp(A) by scaling and squaring with the [13/13] Pade approximant (Higham 2005), each matrix of the batch
    scaled by its own power of 2. Backward: dA is the top right block of exp([[A^H, g], [0, A^H]]) (Mathias 1996;
    A^T for real A), itself a matrix_exp, so second derivatives come from the same Function."""

    name = "linalg.matrix_exp"
    saved_inputs = (0,)

    def forward(self, a):
        xp = xp_of(a)
        if a.size == 0:
            return a.copy()
        n = a.shape[-1]
        norm1 = xp.abs(a).sum(-2).max(-1)
        with np.errstate(divide="ignore"):
            s = xp.maximum(0, xp.ceil(xp.log2(norm1 / _THETA13))).astype(np.int64)
        x = a * (2.0 ** -s).astype(a.dtype)[..., None, None]
        eye = xp.broadcast_to(xp.eye(n, dtype=a.dtype), a.shape)
        x2 = x @ x
        x4 = x2 @ x2
        x6 = x4 @ x2
        b = _PADE13
        u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
        v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
        r = xp.linalg.solve(v - u, v + u)
        for step in range(int(s.max())):
            r = xp.where((s > step)[..., None, None], r @ r, r)
        return r.astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.saved
        at = a.mH
        zero = _const(xp_of(a.array).zeros(a.shape, a.dtype))
        block = _ops.cat([_ops.cat([at, g], -1), _ops.cat([zero, at], -1)], -2)
        n = a.shape[-1]
        return (MatrixExp()(block)[..., :n, n:],)


def matrix_exp(A: Tensor) -> Tensor:
    """torch.linalg.matrix_exp: the matrix exponential of each square matrix of the batch (see MatrixExp)."""
    return MatrixExp()(_square("linalg.matrix_exp", A, complexes=True))


def _tolerance(op: str, A: Tensor, atol: Any, rtol: Any, batch: Tuple[int, ...]) -> Tuple[Any, Any]:
    """torch's atol / rtol as arrays over the batch: rtol defaults to eps * max(m, n), or to 0 where atol > 0 is
    given without rtol; real (complex A: of its real dtype, as its singular values)."""
    xp = xp_of(A.array)
    dt = np.finfo(A.dtype).dtype

    def arr(v: Any, name: str) -> Any:
        if isinstance(v, Tensor):
            v = v.array
        elif not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"{op}: {name} must be a number or a Tensor, got {v!r}")
        return xp.broadcast_to(xp.asarray(v, dtype=dt), batch)
    default = np.finfo(dt).eps * max(A.shape[-2:], default=0)
    a = xp.zeros(batch, dt) if atol is None else arr(atol, "atol")
    if rtol is not None:
        r = arr(rtol, "rtol")
    elif atol is None:
        r = xp.full(batch, default, dt)
    else:
        r = xp.where(a > 0, 0, default).astype(dt)
    return a, r


@complex_ok
class Pinv(Function):
    """The pseudo-inverse by the SVD (hermitian: by eigh), singular values (|eigenvalues|) at or below
    max(atol, rtol * the largest) taken as 0. Backward (torch's pinv_backward, with conjugate transposes for
    complex A), in Tensor ops of A and A^+."""

    name = "linalg.pinv"
    saved_inputs = (0,)
    save_output = True

    def __init__(self, atol: Any, rtol: Any, hermitian: bool) -> None:
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def forward(self, a):
        xp = xp_of(a)
        if a.size == 0:
            return xp.zeros(a.shape[:-2] + a.shape[:-3:-1], a.dtype)
        if self.hermitian:
            w, v = xp.linalg.eigh(a)
            big = xp.abs(w).max(-1)
            keep = xp.abs(w) > xp.maximum(self.atol, self.rtol * big)[..., None]
            inv_w = xp.where(keep, 1 / xp.where(keep, w, 1), 0)
            return (v * inv_w[..., None, :]) @ _adjoint_array(v)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        keep = s > xp.maximum(self.atol, self.rtol * s[..., :1].max(-1))[..., None]
        inv_s = xp.where(keep, 1 / xp.where(keep, s, 1), 0)
        return (_adjoint_array(vh) * inv_s[..., None, :]) @ _adjoint_array(u)

    def backward(self, g):
        (a,), p = self.saved, self.output
        m, n = a.shape[-2:]
        ph, gh = p.mH, g.mH
        if m <= n:
            k = gh @ p
            kph = k @ ph
            return (-(p @ k).mH + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a),)
        k = p @ gh
        phk = ph @ k
        return (-(k @ p).mH + (gh - a @ k) @ p @ ph + phk - phk @ p @ a,)


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """torch.linalg.pinv: the Moore-Penrose pseudo-inverse (..., n, m) of each matrix (..., m, n); singular values
    at or below max(atol, rtol * the largest) count as 0, rtol defaulting to eps * max(m, n) (to 0 where only
    atol > 0 is given), as torch's; atol and rtol are numbers or Tensors broadcasting with the batch. hermitian=True:
    A is symmetric (complex: Hermitian; its lower triangle is read, by eigh)."""
    op = "linalg.pinv"
    A = _matrices(op, A, complexes=True)
    _ops.bool_arg(hermitian, op, "hermitian")
    if hermitian and A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: hermitian=True needs square matrices, got shape {A.shape}")
    atol_, rtol_ = _tolerance(op, A, atol, rtol, A.shape[:-2])
    return Pinv(atol_, rtol_, hermitian)(A)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: linalg.pinv with rtol=rcond."""
    return pinv(input, rtol=rcond)


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """torch.linalg.matrix_rank: the number of singular values (|eigenvalues| for hermitian=True) above
    max(atol, rtol * the largest), int64 over the batch; tolerances as pinv's."""
    op = "linalg.matrix_rank"
    A = _matrices(op, A, complexes=True)
    _ops.bool_arg(hermitian, op, "hermitian")
    xp = xp_of(A.array)
    atol_, rtol_ = _tolerance(op, A, atol, rtol, A.shape[:-2])
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(_square(op, A, complexes=True).array))
    else:
        s = xp.linalg.svd(A.array, compute_uv=False)
    if not s.shape[-1]:
        return _const(xp.zeros(A.shape[:-2], np.int64))
    return _const((s > xp.maximum(atol_, rtol_ * s.max(-1))[..., None]).sum(-1).astype(np.int64))


def cond(A: Tensor, p: Any = None) -> Tensor:
    """torch.linalg.cond: the condition number ||A||_p ||A^-1||_p; p None or 2 (-2): the largest over the smallest
    singular value (its inverse), for any m by n A; 'nuc' the sum of the singular values times that of their
    inverses; other p ('fro', inf, -inf, 1, -1) give inf for a singular A, as torch's. All but None, 2 and -2 need
    square A."""
    op = "linalg.cond"
    A = _matrices(op, A, complexes=True)
    if p is None or not isinstance(p, str) and p in (2, -2):
        s = svdvals(A)
        if not s.shape[-1]:
            return _const(xp_of(A.array).zeros(A.shape[:-2], s.dtype))
        out = s[..., 0] / s[..., -1]
        return 1 / out if p == -2 else out
    if not (p in ("fro", "nuc") if isinstance(p, str) else p in _MATRIX_ORDS):
        raise _RuntimeValueError(f"{op}: p {p!r} is not supported; expected None, 'fro', 'nuc', 1, -1, 2, -2, inf or "
                                 "-inf")
    A = _square(op, A, complexes=True)
    if p == "nuc":  # (torch's: from the singular values, so a rounded singular A gives a huge number, 0 gives nan)
        s = svdvals(A)
        with np.errstate(divide="ignore", invalid="ignore"):
            return s.sum(-1) * (1 / s).sum(-1)
    singular = _lu_arrays(A.array, True)[2] > 0
    inverse = inv(_eye_where(singular, A))
    out = matrix_norm(A, p) * matrix_norm(inverse, p)
    return _ops.where(singular, math.inf, out) if bool(singular.any()) else out


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """torch.linalg.cross: the cross product of 3-vectors along dim (default -1), the operands (of one number of
    dims, as torch's) broadcast."""
    from .composed import cross as _cross
    op = "linalg.cross"
    if _input(op, input).ndim != _input(op, other, "other").ndim:
        raise ValueError(f"{op}: input and other must have the same number of dims, got shapes {input.shape} and "
                         f"{other.shape}")
    return _cross(input, other, dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """torch.linalg.vecdot: sum(conj(x) * y) along dim, the operands (floating or complex, as torch's) broadcast."""
    op = "linalg.vecdot"
    x, y = _floating(op, x, "x", complexes=True), _floating(op, y, "y", complexes=True)
    shape = _ops.broadcast_shapes(op, ("x", x.shape), ("y", y.shape))
    product = x.conj() * y if x.dtype.kind == "c" else x * y
    if not shape:
        return product
    d = _ops._one_dim(dim, len(shape), op)
    return product.sum(d)


def _chain_order(dims: Tuple[int, ...]) -> Any:
    """The cheapest parenthesisation of a matrix chain with sides dims (the classic dynamic programme)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min((cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                                          for k in range(i, j))
    return split


def _chain_product(ts: Any, split: Any, i: int, j: int, op: str) -> Tensor:
    """The product of the matrices ts[i..j], parenthesised as split says (see _chain_order)."""
    if i == j:
        return ts[i]
    k = split[i][j]
    return _ops.matmul(_chain_product(ts, split, i, k, op), _chain_product(ts, split, k + 1, j, op), op)


def multi_dot(tensors: Any) -> Tensor:
    """torch.linalg.multi_dot: the product of a chain of matrices in the order of fewest multiplications; the first
    (last) may be 1-D, a row (column) vector dropped from the result, as torch's."""
    op = "linalg.multi_dot"
    ts = [_input(op, t, "tensors") for t in tensors]
    if len(ts) < 2:
        raise ValueError(f"{op}: expected at least 2 tensors, got {len(ts)}")
    first, last = ts[0].ndim == 1, ts[-1].ndim == 1
    if first:
        ts[0] = ts[0].unsqueeze(0)
    if last:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise ValueError(f"{op}: tensor {i} must be 2-D (the first and last may be 1-D), got shape {t.shape}")
        if i and ts[i - 1].shape[1] != t.shape[0]:
            raise _RuntimeValueError(f"{op}: tensors {i - 1} and {i} cannot be multiplied: shapes {ts[i - 1].shape} "
                                     f"and {t.shape}")
    split = _chain_order(tuple(t.shape[0] for t in ts) + (ts[-1].shape[1],))
    out = _chain_product(ts, split, 0, len(ts) - 1, op)
    if first:
        out = out.squeeze(0)
    return out.squeeze(-1) if last else out


def chain_matmul(*matrices: Tensor) -> Tensor:
    """torch.chain_matmul: the product of 2-D matrices (one: itself), as multi_dot."""
    if len(matrices) == 1:
        m = _input("chain_matmul", matrices[0], "matrices")
        if m.ndim != 2:
            raise ValueError(f"chain_matmul: expected 2-D matrices, got shape {m.shape}")
        return m
    for i, m in enumerate(matrices):
        if _input("chain_matmul", m, "matrices").ndim != 2:
            raise ValueError(f"chain_matmul: matrix {i} must be 2-D, got shape {m.shape}")
    return multi_dot(matrices)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """torch.linalg.matmul: an alias of matmul."""
    return _ops.matmul(input, other, "linalg.matmul")


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.linalg.diagonal: torch.diagonal with the last two dims as the defaults."""
    return _ops.diagonal(_input("linalg.diagonal", A, "A"), offset, dim1, dim2)


def vander(x: Tensor, *, N: Any = None) -> Tensor:
    """torch.linalg.vander: the powers x^0, x^1, ..., x^(N-1) along a new last dim (N defaults to x.shape[-1]),
    increasing, as torch's (torch.vander's are decreasing)."""
    op = "linalg.vander"
    x = _input(op, x, "x")
    if x.ndim < 1:
        raise _RuntimeValueError(f"{op}: x must have at least 1 dim, got a 0-d tensor")
    n = x.shape[-1] if N is None else _ops.int_arg(N, op, "N")
    if n <= 1:
        raise ValueError(f"{op}: N must be greater than 1 (as torch's), got {n} for x of shape {x.shape}")
    if x.dtype == np.bool_:
        raise TypeError(f"{op}: x must not be bool")
    ones = _const(xp_of(x.array).ones(x.shape + (1,), x.dtype))
    powers = x.unsqueeze(-1).expand(x.shape + (n - 1,)).cumprod(-1)
    return _ops.cat([ones, powers], -1)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """torch.linalg.tensorinv: the inverse of A seen as a matrix (prod of its first ind dims) by (prod of the rest),
    which must be square, shaped A.shape[ind:] + A.shape[:ind]."""
    op = "linalg.tensorinv"
    A = _floating(op, A, "A", half=False, complexes=True)
    ind = _ops.int_arg(ind, op, "ind")
    if ind <= 0:
        raise _RuntimeValueError(f"{op}: ind must be a positive integer, got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise ValueError(f"{op}: the product of A's first ind = {ind} dims ({rows}) must equal that of the rest "
                         f"({cols}), shape {A.shape}")
    return inv(A.reshape(rows, cols)).reshape(A.shape[ind:] + A.shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims: Any = None) -> Tensor:
    """torch.linalg.tensorsolve: X with tensordot(A, X, X.ndim) = B; dims (A's dims moved to the end first)."""
    op = "linalg.tensorsolve"
    A, B = _floating(op, A, "A", half=False, complexes=True), _floating(op, B, "B", half=False, complexes=True)
    if dims is not None:
        moved = [_ops._one_dim(d, A.ndim, op) for d in dims]
        A = A.movedim(moved, list(range(A.ndim - len(moved), A.ndim)))
    if A.shape[:B.ndim] != B.shape:
        raise ValueError(f"{op}: A's leading dims {A.shape[:B.ndim]} must be B's shape {B.shape}")
    rest = A.shape[B.ndim:]
    if math.prod(rest) != B.numel():
        raise ValueError(f"{op}: the product of A's trailing dims {rest} must equal B's number of elements "
                         f"({B.numel()})")
    return solve(A.reshape(B.numel(), B.numel()), B.reshape(-1)).reshape(rest)



def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """torch.linalg.householder_product: the first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H with v_i
    column i of A below the diagonal and 1 on it (geqrf's packing), for A (..., m, n), m >= n >= k, tau (..., k).
    Composed of Tensor ops, so gradients reach A and tau."""
    op = "linalg.householder_product"
    A, tau = _matrices(op, A, complexes=True), _floating(op, tau, "tau", half=False, complexes=True)
    m, n = A.shape[-2:]
    if m < n:
        raise _RuntimeValueError(f"{op}: A must have at least as many rows as columns, got shape {A.shape}")
    if tau.ndim != A.ndim - 1 or tau.shape[-1] > n:
        raise ValueError(f"{op}: tau must be (..., k) with k <= n = {n} for A of shape {A.shape}, got {tau.shape}")
    if tau.shape[:-1] != A.shape[:-2]:
        raise ValueError(f"{op}: the batch dims of A {A.shape[:-2]} and tau {tau.shape[:-1]} must match")
    if A.dtype != tau.dtype:
        raise TypeError(f"{op}: A and tau must have the same dtype, got {A.dtype} and {tau.dtype}")
    vectors = A.tril(-1) + _const(xp_of(A.array).eye(m, n, dtype=A.dtype))
    q = _const(xp_of(A.array).broadcast_to(xp_of(A.array).eye(m, dtype=A.dtype), A.shape[:-2] + (m, m)).copy())
    for i in range(tau.shape[-1]):
        v = vectors[..., :, i:i + 1]
        q = q - (q @ v) @ (tau[..., i:i + 1, None] * v.mH)
    return q[..., :, :n]


# ----------------------------------------------------------------------------- triangular solves and LU
def _triangular_arrays(a: Any, b: Any, upper: bool, unit: bool) -> Any:
    """X with A X = B for triangular A (the other triangle not read) by substitution over the rows, vectorised over
    the broadcast batch and B's columns; a zero on the diagonal gives infs and nans, as torch's (no error)."""
    xp = xp_of(a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
    n = a.shape[-1]
    x = xp.zeros(b.shape, np.result_type(a.dtype, b.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            done = slice(i + 1, n) if upper else slice(0, i)
            row = b[..., i, :] - (a[..., i:i + 1, done] @ x[..., done, :])[..., 0, :]
            x[..., i, :] = row if unit else row / a[..., i, i:i + 1]
    return x


@complex_ok
class SolveTriangular(Function):
    """X = A^-1 B for triangular A (..., n, n) and B (..., n, k), batches broadcast. Backward (torch's):
    dB = A^-H g (a triangular solve with the other triangle) and dA = -dB X^H on A's triangle (without the diagonal
    for unitriangular), each summed back to its input's batch shape."""

    name = "linalg.solve_triangular"
    saved_inputs = (0,)
    save_output = True

    def __init__(self, upper: bool, unitriangular: bool) -> None:
        self.upper, self.unit = upper, unitriangular

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return _triangular_arrays(a, b, self.upper, self.unit)

    def backward(self, g):
        (a,), x = self.saved, self.output
        a_shape, b_shape = self.shapes
        gb = SolveTriangular(not self.upper, self.unit)(a.mH, g)
        ga = None
        if self.needs_input_grad[0]:
            ga = -(gb @ x.mH)
            ga = ga.triu(1 if self.unit else 0) if self.upper else ga.tril(-1 if self.unit else 0)
            ga = _ops.unbroadcast(ga, a_shape)
        return ga, _ops.unbroadcast(gb, b_shape) if self.needs_input_grad[1] else None


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """torch.linalg.solve_triangular: X with A X = B (left=False: X A = B) for A upper (lower) triangular, its other
    triangle not read; unitriangular: its diagonal taken as ones (not read). B is (..., n, k) (left=False:
    (..., k, n)), batch dims broadcast. A zero on the diagonal gives infs and nans, as torch's."""
    op = "linalg.solve_triangular"
    A = _square(op, A, complexes=True)
    if isinstance(B, Tensor) and B.dtype != A.dtype:  # (torch's: B cast to A's dtype, ints and complex too)
        B = B.to(A.dtype)
    B = _floating(op, B, "B", half=False, complexes=True)
    for v, what in ((upper, "upper"), (left, "left"), (unitriangular, "unitriangular")):
        _ops.bool_arg(v, op, what)
    if B.ndim < 2:
        raise _RuntimeValueError(f"{op}: B must have at least 2 dims (a matrix or a batch of them), got shape "
                                 f"{B.shape}")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise _RuntimeValueError(f"{op}: incompatible shapes A {A.shape} and B {B.shape}: B must be "
                                 f"{'(..., n, k)' if left else '(..., k, n)'} with n = {n}")
    _ops.broadcast_shapes(op, ("the batch dims of A", A.shape[:-2]), ("of B", B.shape[:-2]))
    if left:
        return SolveTriangular(upper, unitriangular)(A, B)
    return SolveTriangular(not upper, unitriangular)(A.mT, B.mT).mT


# torch's messages for its old linear algebra functions (each warned once a process, as TORCH_WARN_ONCE; torch.lu's
# is Python's warnings.warn, at every call)
_DEPRECATED = {
    "triangular_solve": "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be "
    "removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments reversed and does not "
    "return a copy of one of the inputs.\nX = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
    "X = torch.linalg.solve_triangular(A, B).",
    "cholesky": "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a future "
    "PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = torch.linalg.cholesky(A)\nand\n"
    "U = torch.cholesky(A, upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH\nThis transform "
    "will produce equivalent results for all valid (symmetric positive definite) inputs.",
    "qr": "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch release.\nThe "
    "boolean parameter 'some' has been replaced with a string parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould "
    "be replaced with\nQ, R = torch.linalg.qr(A, 'reduced' if some else 'complete')",
    "lu_solve": "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
    "PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = torch.lu_solve(B, LU, "
    "pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)",
    "lu": "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be removed "
    "in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\nLU, pivots = "
    "torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, "
    "get_infos=True)\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)",
}


triangular_solve_result = return_types.triangular_solve


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> Any:
    """torch.triangular_solve (its old API): (solution, cloned_coefficient) with A X = input (A^T X = input for
    transpose=True), upper by default."""
    _warn_once(_DEPRECATED["triangular_solve"])
    A = _square("triangular_solve", A, complexes=True)
    if isinstance(input, Tensor) and input.dtype != A.dtype:
        raise _RuntimeTypeError(f"triangular_solve: Expected b and A to have the same dtype, but found b of type "
                                f"{input.dtype} and A of type {A.dtype} instead.")
    coefficient = A.mT if transpose else A
    out = solve_triangular(coefficient, input, upper=upper != transpose, unitriangular=unitriangular)
    return triangular_solve_result(out, A.clone())


def _lu_arrays(a: Any, pivot: bool) -> Tuple[Any, Any, Any]:
    """LAPACK getrf's (LU, pivots, info) for a batch of m by n matrices by partial pivoting over the columns
    (vectorised over the batch): LU packs L (unit, below the diagonal) and U; pivots (int32, 1-based) the row swapped
    with row j at step j; info the 1-based index of the first zero pivot (0: none). pivot=False: no row swaps. A
    complex pivot is the largest in |Re| + |Im|, LAPACK's (izamax)."""
    xp = xp_of(a)
    m, n = a.shape[-2:]
    count, k = math.prod(a.shape[:-2]), min(m, n)
    lu = a.reshape((count, m, n)).copy()
    rows = xp.arange(count)
    pivots = xp.zeros((count, k), np.int32)
    info = xp.zeros(count, np.int32)
    for j in range(k):
        col = lu[:, j:, j]
        size = xp.abs(col) if col.dtype.kind != "c" else xp.abs(col.real) + xp.abs(col.imag)
        p = (xp.argmax(size, axis=1) + j) if pivot else xp.full(count, j)
        pivots[:, j] = p + 1
        top = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = top
        d = lu[:, j, j]
        zero = d == 0
        info = xp.where(zero & (info == 0), j + 1, info).astype(np.int32)
        lu[:, j + 1:, j] = lu[:, j + 1:, j] / xp.where(zero, 1, d)[:, None]
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
    batch = a.shape[:-2]
    return lu.reshape(a.shape), pivots.reshape(batch + (k,)), info.reshape(batch)


def _permutation(pivots: Any, m: int, dtype: Any) -> Any:
    """P (..., m, m) with A = P L U from LAPACK's 1-based pivots (..., k)."""
    xp = xp_of(pivots)
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    flat = pivots.reshape((math.prod(batch), k)).astype(np.int64) - 1
    perm = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    rows = xp.arange(flat.shape[0])
    for j in range(k):
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, flat[:, j]]
        perm[rows, flat[:, j]] = top
    pt = xp.eye(m, dtype=dtype)[perm]  # (row i of P^T A is A's row perm[i])
    return xp.swapaxes(pt, -1, -2).reshape(batch + (m, m))


def _unpacked(lu: Tensor) -> Tuple[Tensor, Tensor]:
    """L (..., m, k), unit lower triangular, and U (..., k, n) from a packed LU."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    eye = _const(xp_of(lu.array).eye(m, k, dtype=lu.dtype))
    return lu[..., :, :k].tril(-1) + eye, lu[..., :k, :].triu()


@complex_ok
class LuFactor(Function):
    """The packed LU of A = P L U (see _lu_arrays). Backward (torch's linalg_lu_backward, for square, wide and tall
    A, with conjugate transposes for complex A), from the gradients of L (below LU's diagonal) and U (on and above
    it); it needs U with a non-zero diagonal (A of full rank k), as torch's."""

    name = "linalg.lu_factor"
    save_output = True

    def __init__(self, pivot: bool) -> None:
        self.pivot = pivot

    def forward(self, a):
        lu, self.pivots, self.info = _lu_arrays(a, self.pivot)
        return lu

    def backward(self, g):
        lower, upper = _unpacked(self.output)
        m, n = g.shape[-2:]
        k = min(m, n)
        g_l, g_u = g[..., :, :k].tril(-1), g[..., :k, :].triu()
        if m == n:
            grad = (lower.mH @ g_l).tril(-1) + (g_u @ upper.mH).triu()
            grad = solve_triangular(upper.mH, grad, upper=False, left=False)
            grad = solve_triangular(lower.mH, grad, upper=True, unitriangular=True)
        elif m < n:
            u1 = upper[..., :, :k]
            grad = ((lower.mH @ g_l) - g_u @ upper.mH).tril(-1)
            grad = solve_triangular(u1.mH, grad, upper=False, left=False)
            grad = _ops.cat([grad + g_u[..., :, :k], g_u[..., :, k:]], -1)
            grad = solve_triangular(lower.mH, grad, upper=True, unitriangular=True)
        else:
            l1 = lower[..., :k, :]
            grad = (g_u @ upper.mH - lower.mH @ g_l).triu()
            grad = solve_triangular(l1.mH, grad, upper=True, unitriangular=True)
            grad = _ops.cat([grad + g_l[..., :k, :], g_l[..., k:, :]], -2)
            grad = solve_triangular(upper.mH, grad, upper=False, left=False)
        if self.pivot:
            grad = _const(_permutation(self.pivots, m, g.dtype)) @ grad
        return (grad,)


lu_factor_result = return_types.linalg_lu_factor
lu_factor_ex_result = return_types.linalg_lu_factor_ex
lu_result = return_types.linalg_lu
lu_unpack_result = return_types.lu_unpack


def _lu_factor(op: str, A: Any, pivot: bool) -> Tuple[Tensor, Tensor, Tensor]:
    A = _matrices(op, A, complexes=True)
    _ops.bool_arg(pivot, op, "pivot")
    fn = LuFactor(pivot)
    lu = fn(A)
    return lu, _const(fn.pivots), _const(fn.info)


def _zero_pivot(op: str, info: Any, shape: Tuple[int, ...]) -> LinAlgError:
    """torch's error for an LU with a zero on U's diagonal: the first such batch element and entry."""
    flat = to_device(info, "cpu").reshape(-1)
    i = int(np.flatnonzero(flat > 0)[0])
    where = f"(Batch element {i}): " if len(shape) > 2 else ""
    return LinAlgError(f"{op}: {where}U[{flat[i]},{flat[i]}] is zero (A of shape {shape}) and using it on lu_solve "
                       "would result in a division by zero. If you still want to perform the factorization, consider "
                       "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """torch.linalg.lu_factor_ex: (LU, pivots, info), LAPACK getrf's: LU packs L and U, pivots (int32, 1-based) the
    row swaps, info (int32 over the batch) the 1-based index of U's first zero diagonal entry (0: none); any m by n
    A. check_errors=True: LinAlgError for a singular matrix."""
    op = "linalg.lu_factor_ex"
    lu, pivots, info = _lu_factor(op, A, pivot)
    if _ops.bool_arg(check_errors, op, "check_errors") and bool((info.array > 0).any()):
        raise _zero_pivot(op, info.array, lu.shape)
    return lu_factor_ex_result(lu, pivots, info)


def lu_factor(A: Tensor, *, pivot: bool = True) -> Any:
    """torch.linalg.lu_factor: (LU, pivots) of lu_factor_ex; LinAlgError where U has a zero on its diagonal (any
    m by n A, as torch's: lu_solve would divide by it; linalg.lu and lu_factor_ex take such an A)."""
    lu, pivots, info = _lu_factor("linalg.lu_factor", A, pivot)
    if bool((info.array > 0).any()):
        raise _zero_pivot("linalg.lu_factor", info.array, lu.shape)
    return lu_factor_result(lu, pivots)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True) -> Any:
    """torch.lu_unpack: (P, L, U) from a packed LU and its pivots; empty tensors for the parts not asked for."""
    op = "lu_unpack"
    lu = _matrices(op, LU_data, complexes=True)
    pivots = _input(op, LU_pivots, "LU_pivots")
    if pivots.dtype.kind not in "iu":
        raise TypeError(f"{op}: LU_pivots must be an integer tensor, got {dtype_name(pivots.dtype)}")
    m, n = lu.shape[-2:]
    if pivots.shape != lu.shape[:-2] + (min(m, n),):
        raise ValueError(f"{op}: LU_pivots must have shape {lu.shape[:-2] + (min(m, n),)} for LU of shape "
                         f"{lu.shape}, got {pivots.shape}")
    xp = xp_of(lu.array)
    empty = _const(xp.zeros((0,), lu.dtype))
    lower, upper = _unpacked(lu) if unpack_data else (empty, empty)
    p = _const(_permutation(pivots.array, m, lu.dtype)) if unpack_pivots else empty
    return lu_unpack_result(p, lower, upper)


def lu(A: Tensor, *, pivot: bool = True) -> Any:
    """torch.linalg.lu: (P, L, U) with A = P L U for each m by n matrix: L (m, k) unit lower triangular, U (k, n)
    upper triangular, k = min(m, n); pivot=False: P is the identity (torch's CUDA has it, its CPU refuses it).
    Gradients as torch's (see LuFactor)."""
    lu_, pivots, _ = _lu_factor("linalg.lu", A, pivot)
    lower, upper = _unpacked(lu_)
    return lu_result(_const(_permutation(pivots.array, lu_.shape[-2], lu_.dtype)), lower, upper)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """torch.linalg.lu_solve: X with A X = B for A = P L U given by lu_factor (adjoint: A^T X = B; left=False:
    X A = B, X A^T = B; complex: A^H for A^T), batch dims broadcast; composed of solve_triangular, so gradients
    reach LU and B."""
    op = "linalg.lu_solve"
    LU = _square(op, LU, "LU", complexes=True)
    B = _floating(op, B, "B", half=False, complexes=True)
    p = lu_unpack(LU, pivots, unpack_data=False).P
    for v, what in ((left, "left"), (adjoint, "adjoint")):
        _ops.bool_arg(v, op, what)
    n = LU.shape[-1]
    if B.ndim < 2 or (B.shape[-2] if left else B.shape[-1]) != n:
        raise _RuntimeValueError(f"{op}: incompatible shapes LU {LU.shape} and B {B.shape}: B must be "
                                 f"{'(..., n, k)' if left else '(..., k, n)'} with n = {n}")
    if LU.dtype != B.dtype:
        raise _RuntimeTypeError(f"{op}: LU and B must have the same dtype, got {LU.dtype} and {B.dtype}")
    if not left:  # (X A = B: A^H X^H = B^H)
        B, adjoint = B.mH, not adjoint
    if adjoint:  # (A^H X = U^H L^H P^T X = B)
        y = solve_triangular(LU.mH, B, upper=False)
        x = p @ solve_triangular(LU.mH, y, upper=True, unitriangular=True)
    else:
        y = solve_triangular(LU, p.mT @ B, upper=False, unitriangular=True)
        x = solve_triangular(LU, y, upper=True)
    return x if left else x.mH


def lu_solve_old(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """torch.lu_solve (its old API): linalg.lu_solve(LU_data, LU_pivots, b)."""
    _warn_once(_DEPRECATED["lu_solve"])
    return lu_solve(LU_data, LU_pivots, b)


def lu_old(A: Tensor, pivot: bool = True, get_infos: bool = False) -> Any:
    """torch.lu (its old API): (LU, pivots), and info where get_infos; a singular A is no error, as torch's."""
    warnings.warn(_DEPRECATED["lu"], stacklevel=2)
    out = lu_factor_ex(A, pivot=pivot)
    return tuple(out) if get_infos else tuple(out[:2])


# ----------------------------------------------------------------------------- least squares, *_ex, old API
lstsq_result = return_types.linalg_lstsq
_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: Any = None) -> Any:
    """torch.linalg.lstsq: (solution, residuals, rank, singular_values) of min ||A X - B|| for A (..., m, n) and
    B (..., m, k) or (..., m), batches broadcast. The solution is pinv(A) B, the minimum-norm one, singular values
    at or below rcond * the largest (rcond default eps * max(m, n)) taken as 0: LAPACK's gelsy (torch's CPU
    default) finds the rank by a pivoted QR instead, which agrees away from the tolerance. Which fields are filled
    follows torch's CPU drivers: rank for gelsy, gelsd and gelss; singular_values for gelsd and gelss; residuals
    (the squared residual of each column) for gels, gelsd and gelss where m > n and every A has full rank (for
    gels, m > n); an empty tensor otherwise. Gradients of the solution are pinv's and matmul's, as torch's."""
    op = "linalg.lstsq"
    A = _matrices(op, A, complexes=True)
    B = _floating(op, B, "B", half=False, complexes=True)
    if A.dtype != B.dtype:
        raise _RuntimeTypeError(f"{op}: A and B must have the same dtype, got A {A.dtype} and B {B.dtype}")
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise ValueError(f"{op}: driver must be one of {_LSTSQ_DRIVERS} on the CPU, got {driver!r}")
    vector = B.ndim == 1 or B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]
    b = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if b.ndim < 2 or b.shape[-2] != m:
        raise _RuntimeValueError(f"{op}: incompatible shapes A {A.shape} and B {B.shape}: B must be (..., m, k) or "
                                 f"(..., m) with m = {m}")
    _ops.broadcast_shapes(op, ("the batch dims of A", A.shape[:-2]), ("of B", b.shape[:-2]))
    if rcond is not None and (not isinstance(rcond, numbers.Real) or isinstance(rcond, bool)):
        raise TypeError(f"{op}: rcond must be a number or None, got {rcond!r}")
    rtol = np.finfo(A.dtype).eps * max(m, n) if rcond is None or rcond < 0 else rcond
    x = pinv(A, rtol=rtol) @ b
    xp = xp_of(A.array)
    empty = _const(xp.zeros((0,), np.finfo(A.dtype).dtype))  # (real, as the residuals and singular values)
    s = xp.linalg.svd(A.array, compute_uv=False)
    if s.shape[-1]:
        rank_ = (s > rtol * s.max(-1, keepdims=True)).sum(-1).astype(np.int64)
    else:
        rank_ = xp.zeros(A.shape[:-2], np.int64)
    rank = _const(rank_) if driver != "gels" else _const(xp.zeros((0,), np.int64))
    values = _const(s) if driver in ("gelsd", "gelss") else empty
    residuals = empty
    if driver != "gelsy" and m > n and (driver == "gels" or bool((rank_ == n).all())):
        r = A @ x - b
        residuals = (r.abs() ** 2 if r.dtype.kind == "c" else r ** 2).sum(-2)  # (a vector B's too: (..., 1))
    return lstsq_result(x.squeeze(-1) if vector else x, residuals, rank, values)


inv_ex_result = return_types.linalg_inv_ex
cholesky_ex_result = return_types.linalg_cholesky_ex
solve_ex_result = return_types.linalg_solve_ex


def _lu_info(op: str, A: Tensor, check_errors: Any) -> Any:
    """inv_ex's and solve_ex's info (LU's first zero pivot per matrix, 0: none); with check_errors, inv's and
    solve's LinAlgError for a singular one instead."""
    info = _lu_arrays(A.array, True)[2]
    if _ops.bool_arg(check_errors, op, "check_errors") and bool((info > 0).any()):
        raise _singular(op, A.array)
    return info


def inv_ex(A: Tensor, *, check_errors: bool = False) -> Any:
    """torch.linalg.inv_ex: (inverse, info), info (int32 over the batch) LAPACK's: 0, or the 1-based index of the
    first zero pivot of a singular matrix, whose inverse is not raised for (its values are not specified: here
    nans). check_errors=True: LinAlgError as inv's."""
    op = "linalg.inv_ex"
    A = _square(op, A, complexes=True)
    info = _lu_info(op, A, check_errors)
    singular = info > 0
    out = inv(_eye_where(singular, A))
    if bool(singular.any()):
        out = _ops.where(singular[..., None, None], math.nan, out)
    return inv_ex_result(out, _const(info))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:
    """torch.linalg.solve_ex: (result, info) as solve's, info as inv_ex's (a singular matrix's result nans)."""
    op = "linalg.solve_ex"
    A = _square(op, A, complexes=True)
    info = _lu_info(op, A, check_errors)
    singular = info > 0
    out = solve(_eye_where(singular, A), B, left=left)
    if bool(singular.any()):
        extra = 1 if out.ndim == A.ndim - 1 else 2  # (a vector B: out (..., n); else (..., n, k) or (..., k, n))
        out = _ops.where(singular.reshape(singular.shape + (1,) * extra), math.nan, out)
    return solve_ex_result(out, _const(info))


def _cholesky_info(a: Any) -> Any:
    """The order of each matrix's first leading minor that is not positive-definite (0: none), on the CPU."""
    flat = to_device(a, "cpu").reshape((-1,) + a.shape[-2:])
    info = np.array([next((k for k in range(1, m.shape[-1] + 1) if not _has_cholesky(m[:k, :k])), 0) for m in flat],
                    dtype=np.int32)
    return xp_of(a).asarray(info.reshape(a.shape[:-2]))


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    """torch.linalg.cholesky_ex: (L, info), info (int32 over the batch) the order of the first leading minor that is
    not positive-definite (0: none), as LAPACK's potrf; that matrix's L is not specified (here nans).
    check_errors=True: LinAlgError as cholesky's."""
    op = "linalg.cholesky_ex"
    A = _square(op, A, complexes=True)
    _ops.bool_arg(upper, op, "upper")
    try:
        return cholesky_ex_result(cholesky(A, upper=upper), _const(xp_of(A.array).zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if _ops.bool_arg(check_errors, op, "check_errors"):
            raise _not_positive_definite(op, (A.mH if upper else A).array) from None
    info = _cholesky_info((A.mH if upper else A).array)
    bad = info > 0
    out = cholesky(_eye_where(bad, A), upper=upper)
    return cholesky_ex_result(_ops.where(bad[..., None, None], math.nan, out), _const(info))


@complex_ok
class CholeskySolve(Function):
    """X = A^-1 B for A = L L^H (upper: U^H U) from the factor's triangle, batches broadcast. Backward (torch's):
    dB = A^-1 g and, with C = dB X^H + X dB^H, dL = -C L (upper: -U C): a full matrix, not the triangle's."""

    name = "cholesky_solve"
    saved_inputs = (1,)
    save_output = True

    def __init__(self, upper: bool) -> None:
        self.upper = upper

    def forward(self, b, factor):
        self.shapes = b.shape, factor.shape
        lower = _adjoint_array(factor) if self.upper else factor
        y = _triangular_arrays(lower, b, False, False)
        return _triangular_arrays(_adjoint_array(lower), y, True, False)

    def backward(self, g):
        (factor,), x = self.saved, self.output
        b_shape, f_shape = self.shapes
        gb = CholeskySolve(self.upper)(g, factor)
        gf = None
        if self.needs_input_grad[1]:
            common = gb @ x.mH
            common = common + common.mH
            gf = _ops.unbroadcast(-(factor @ common) if self.upper else -(common @ factor), f_shape)
        return _ops.unbroadcast(gb, b_shape) if self.needs_input_grad[0] else None, gf


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """torch.cholesky_solve: X with A X = B for A = L L^T (upper=True: U^T U) given its Cholesky factor (only its
    triangle read), batches broadcast; gradients as torch's (see CholeskySolve)."""
    op = "cholesky_solve"
    L = _square(op, L, "L", complexes=True)
    B = _floating(op, B, "B", half=False, complexes=True)
    _ops.bool_arg(upper, op, "upper")
    if B.dtype != L.dtype:
        raise _RuntimeTypeError(f"{op}: B and L must have the same dtype, got {B.dtype} and {L.dtype}")
    if B.ndim < 2 or B.shape[-2] != L.shape[-1]:
        raise _RuntimeValueError(f"{op}: B must be (..., n, k) with n = {L.shape[-1]} for L of shape {L.shape}, "
                                 f"got shape {B.shape}")
    _ops.broadcast_shapes(op, ("the batch dims of B", B.shape[:-2]), ("of L", L.shape[:-2]))
    return CholeskySolve(upper)(B, L)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """torch.cholesky_inverse: A^-1 for A = L L^T (upper=True: U^T U) given its Cholesky factor."""
    op = "cholesky_inverse"
    L = _square(op, L, "L", complexes=True)
    _ops.bool_arg(upper, op, "upper")
    return cholesky_solve(_eye_like(L, L.shape[-1]).expand(L.shape), L, upper)


def cholesky_old(input: Tensor, upper: bool = False) -> Tensor:
    """torch.cholesky (its old API): linalg.cholesky."""
    _warn_once(_DEPRECATED["cholesky"])
    return cholesky(input, upper=upper)


svd_old_result = return_types.svd
qr_old_result = return_types.qr
slogdet_old_result = return_types.slogdet


def svd_old(input: Tensor, some: bool = True, compute_uv: bool = True) -> Any:
    """torch.svd (its old API): (U, S, V) with input = U diag(S) V^H, V = Vh^H (not Vh); some=False: square U and V;
    compute_uv=False: U and V zero-filled and square whatever some is (no gradient through them), as torch's."""
    op = "svd"
    input = _matrices(op, input, complexes=True)
    if not compute_uv:
        xp = xp_of(input.array)
        m, n = input.shape[-2:]
        return svd_old_result(_const(xp.zeros(input.shape[:-2] + (m, m), input.dtype)), svdvals(input),
                              _const(xp.zeros(input.shape[:-2] + (n, n), input.dtype)))
    u, s, vh = svd(input, full_matrices=not some)
    return svd_old_result(u, s, vh.mH)


def qr_old(input: Tensor, some: bool = True) -> Any:
    """torch.qr (its old API): linalg.qr with mode 'reduced' (some=True) or 'complete'."""
    _warn_once(_DEPRECATED["qr"])
    return qr_old_result(*qr(input, "reduced" if some else "complete"))


def slogdet_old(input: Tensor) -> Any:
    """torch.slogdet: linalg.slogdet."""
    return slogdet_old_result(*slogdet(input))


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                 keepdims: Any = None) -> Tensor:
    """torch.nuclear_norm (its old API): linalg.matrix_norm(input, 'nuc', dim, keepdim), the sum of the singular
    values of the matrices over dim (a pair; without it the last two, a batch over the leading dims, as torch's).
    torch's other overload, nuclear_norm(input, keepdim), is read too."""
    if axis is not None or keepdims is not None:  # (numpy's names, as torch's parser takes them)
        dim, keepdim = _ops.numpy_names("nuclear_norm", dim, keepdim, axis, keepdims)
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)


def frobenius_norm(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                   keepdims: Any = None) -> Tensor:
    """torch.frobenius_norm (its old API, kept for TorchScript): the square root of the sum of squares over dim (at
    most 2 dims; [] is every element), linalg.vector_norm(input, 2, dim, keepdim)."""
    op = "frobenius_norm"
    if axis is not None or keepdims is not None or dim is None:  # (numpy's names, as torch's parser takes them)
        keepdim = _ops.numpy_names(op, None, keepdim, None, keepdims)[1]
        dim = _ops.required_dim(op, dim, axis)
    dims = (dim,) if isinstance(dim, numbers.Integral) and not isinstance(dim, bool) else dim
    if not isinstance(dims, (tuple, list)) or len(dims) > 2:
        raise ValueError(f"{op}: dim must be an int or a list of at most 2 dims, got {dim!r}")
    return vector_norm(input, 2, tuple(dims), keepdim)


def matrix_rank_old(input: Any, tol: Any = None, symmetric: bool = False, *, out: Any = None) -> Tensor:
    """torch.matrix_rank: removed from torch (since 1.9); raises its RuntimeError, which names the replacement."""
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed.\nPlease use the "
                       "`torch.linalg.matrix_rank` function instead. The parameter 'symmetric' was renamed in "
                       "`torch.linalg.matrix_rank()` to 'hermitian'.")


def inverse(input: Tensor) -> Tensor:
    """torch.inverse: linalg.inv."""
    return inv(input)


# the functions above right for complex tensors, as torch's (see tensor.complex_check): the norms of |A| (real
# results; the singular-value ones through svdvals, see _complex_abs), and the rest with conjugate transposes in their
# gradients
for _fn in (vector_norm, matrix_norm, norm, _complex_abs, inv, det, solve, inverse, _eye_where, svdvals, _const,
            _singular_value_norm, eigh, eigvalsh, _uplo, _matrices, _kept, _gaps, svd, svd_old, _svd_phase,
            qr, qr_old, _qr_tall_grad, cholesky, cholesky_ex, cholesky_solve, cholesky_inverse, cholesky_old,
            _eye_like, _triangular_arrays, _adjoint_array, slogdet, slogdet_old, solve_triangular,
            triangular_solve, _lu_arrays, _permutation, _unpacked, _lu_factor, lu_factor, lu_factor_ex, lu_unpack, lu,
            lu_solve, lu_solve_old, lu_old, _tolerance, pinv, pinverse, matrix_rank, cond, lstsq, matrix_exp,
            matrix_power, multi_dot, _chain_product, chain_matmul, diagonal, vecdot, cross, tensorinv, tensorsolve,
            householder_product, inv_ex, solve_ex, _lu_info, matmul, nuclear_norm, frobenius_norm, vander):
    complex_ok(_fn)
del _fn


# ----------------------------------------------------------------------------- LDL (Bunch-Kaufman)
_BK_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0  # (LAPACK's: bounds the growth of the 2x2 pivots' elements)


def _sytf2_lower(a: np.ndarray) -> Tuple[np.ndarray, np.ndarray, int]:
    """LAPACK dsytf2 (uplo 'L'), in place on a copy of a square float matrix: A = P L D L^T P^T by Bunch-Kaufman
    diagonal pivoting, D with 1x1 and 2x2 blocks. Returns (LD: L's multipliers below D's blocks, D on and (2x2)
    below the diagonal, zeros above; pivots int32, LAPACK's 1-based ipiv, negative for both rows of a 2x2 block;
    info: the 1-based index of D's first zero block, 0 if none)."""
    a = np.tril(a).astype(a.dtype, copy=True)
    n, info, k = a.shape[0], 0, 0
    ipiv = np.zeros(n, np.int32)
    while k < n:
        kstep, absakk = 1, abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _BK_ALPHA * colmax:
                kp = k
            else:
                jmax = k + int(np.argmax(np.abs(a[imax, k:imax])))
                rowmax = abs(a[imax, jmax])
                if imax < n - 1:
                    jmax = imax + 1 + int(np.argmax(np.abs(a[imax + 1:, imax])))
                    rowmax = max(rowmax, abs(a[jmax, imax]))
                if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _BK_ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:  # (rows and columns kk and kp of the trailing lower triangle trade places)
                if kp < n - 1:
                    a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                seg = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = seg
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    d11 = 1.0 / a[k, k]
                    x = a[k + 1:, k].copy()
                    a[k + 1:, k + 1:] -= np.tril(d11 * np.outer(x, x))
                    a[k + 1:, k] *= d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                t = 1.0 / (d11 * d22 - 1.0)
                d21 = t / d21
                wk = d21 * (d11 * a[k + 2:, k] - a[k + 2:, k + 1])
                wkp1 = d21 * (d22 * a[k + 2:, k + 1] - a[k + 2:, k])
                a[k + 2:, k + 2:] -= np.tril(np.outer(a[k + 2:, k], wk) + np.outer(a[k + 2:, k + 1], wkp1))
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return a, ipiv, info


def _sytrs_lower(ld: np.ndarray, ipiv: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LAPACK dsytrs (uplo 'L'): X with A X = B from _sytf2_lower's (LD, pivots), B (n, k)."""
    b = b.copy()
    n, k = ld.shape[0], 0
    while k < n:  # (P L D Y = B, forward)
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= np.outer(ld[k + 1:, k], b[k])
            b[k] /= ld[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            if kp != k + 1:
                b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2:] -= np.outer(ld[k + 2:, k], b[k]) + np.outer(ld[k + 2:, k + 1], b[k + 1])
            akm1k = ld[k + 1, k]
            akm1, ak = ld[k, k] / akm1k, ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # (L^T P^T X = Y, backward)
        if ipiv[k] > 0:
            b[k] -= ld[k + 1:, k] @ b[k + 1:]
            kp = ipiv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            b[k] -= ld[k + 1:, k] @ b[k + 1:]
            b[k - 1] -= ld[k + 1:, k - 1] @ b[k + 1:]
            kp = -ipiv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


class _NoDerivative(Function):
    """An op torch has no derivative for (its backward raises torch's error): ``compute`` maps the input arrays,
    on the host, to the output array; its other results are kept on the instance."""

    def __init__(self, name: str, aten: str, compute: Any) -> None:
        self.name, self.aten, self.compute = _OpName(name), aten, compute

    def forward(self, *arrays):
        device = device_of(arrays[0])
        return to_device(self.compute(*(to_device(a, "cpu") for a in arrays)), device)

    def backward(self, g):
        raise RuntimeError(f"derivative for aten::{self.aten} is not implemented")


ldl_factor_result = return_types.linalg_ldl_factor
ldl_factor_ex_result = return_types.linalg_ldl_factor_ex


def _real_hermitian(op: str, hermitian: Any) -> None:
    _ops.bool_arg(hermitian, op, "hermitian")  # (real matrices: hermitian=True is the same factorization)


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> Any:
    """torch.linalg.ldl_factor_ex: (LD, pivots, info) of A = P L D L^T P^T for symmetric (possibly indefinite) real
    A, read from its lower triangle, by LAPACK sytrf's Bunch-Kaufman pivoting (computed on the host, one matrix at
    a time, as dsytf2): LD holds D's 1x1 and 2x2 blocks and L's multipliers below them, pivots (int32, 1-based)
    the interchanges (negative for a 2x2 block), info (int32 over the batch) the 1-based index of D's first zero
    block. No derivative, as torch's (backward raises)."""
    op = "linalg.ldl_factor_ex"
    A = _square(op, A)
    _real_hermitian(op, hermitian)
    batch, n = A.shape[:-2], A.shape[-1]
    found: dict = {}

    def compute(a):
        flat = a.reshape((math.prod(batch), n, n))  # (not -1: an empty matrix or batch)
        outs = [_sytf2_lower(m) for m in flat]
        found["pivots"] = np.array([o[1] for o in outs], np.int32).reshape(batch + (n,))
        found["info"] = np.array([o[2] for o in outs], np.int32).reshape(batch)
        return np.array([o[0] for o in outs], a.dtype).reshape(a.shape)
    ld = _NoDerivative(op, "linalg_ldl_factor_ex", compute)(A)
    xp = xp_of(A.array)
    pivots, info = _const(xp.asarray(found["pivots"])), _const(xp.asarray(found["info"]))
    if _ops.bool_arg(check_errors, op, "check_errors") and bool((found["info"] != 0).any()):
        raise LinAlgError(f"{op}: the factorization could not be completed: D[{int(found['info'].max())}] is zero "
                          f"(A of shape {A.shape}; info {found['info'].tolist()})")
    return ldl_factor_ex_result(ld, pivots, info)


def ldl_factor(A: Tensor, *, hermitian: bool = False) -> Any:
    """torch.linalg.ldl_factor: (LD, pivots) of ldl_factor_ex. A zero block of D (a singular A) is reported by
    ldl_factor_ex's info; here it raises a LinAlgError (torch's build raises an internal assertion)."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    if bool((info.array != 0).any()):
        raise LinAlgError(f"linalg.ldl_factor: the factorization could not be completed: D has a zero block (A of "
                          f"shape {A.shape}); ldl_factor_ex returns it with info")
    return ldl_factor_result(LD, pivots)


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """torch.linalg.ldl_solve: X with A X = B from ldl_factor's (LD, pivots) (LAPACK sytrs, on the host), batch
    dims broadcast. No derivative, as torch's (backward raises)."""
    op = "linalg.ldl_solve"
    LD = _square(op, LD, "LD")
    B = _floating(op, B, "B", half=False)
    pivots = _input(op, pivots, "pivots")
    _real_hermitian(op, hermitian)
    n = LD.shape[-1]
    if B.ndim < 2 or B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {n} by {n} but "
                           f"each b matrix is {B.shape[-2] if B.ndim >= 2 else B.shape} by "
                           f"{B.shape[-1] if B.ndim >= 2 else ''}".rstrip(" by"))
    if pivots.dtype != np.int32 or pivots.shape != LD.shape[:-1]:
        raise RuntimeError(f"{op}: pivots must be a torch.int32 tensor of shape {LD.shape[:-1]}, got "
                           f"{dtype_name(pivots.dtype)} {pivots.shape}")
    if LD.dtype != B.dtype:
        raise TypeError(f"{op}: LD and B must have the same dtype, got {LD.dtype} and {B.dtype}")
    batch = np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    piv = to_device(pivots.array, "cpu")
    if piv.size and int(np.abs(piv).min()) < 1:  # (sytrs would swap with row -1: nan or garbage, silently)
        raise RuntimeError("Pivots given to ldl_solve must all satisfy |pivot| >= 1. Did you properly pass the "
                           "result of ldl_factor?")
    if piv.size and int(np.abs(piv).max()) > n:
        raise RuntimeError("Pivots given to ldl_solve must all satisfy |pivot| <= LD.size(-2). Did you properly "
                           "pass the result of ldl_factor?")

    def compute(ld, b):
        count = math.prod(batch)  # (not -1: an empty matrix or batch)
        lds = np.broadcast_to(ld, batch + (n, n)).reshape((count, n, n))
        ps = np.broadcast_to(piv, batch + (n,)).reshape((count, n))
        bs = np.broadcast_to(b, batch + b.shape[-2:]).reshape((count,) + b.shape[-2:])
        return np.array([_sytrs_lower(m, p, x) for m, p, x in zip(lds, ps, bs)], b.dtype).reshape(
            batch + b.shape[-2:])
    return _NoDerivative(op, "linalg_ldl_solve", compute)(LD, B)
