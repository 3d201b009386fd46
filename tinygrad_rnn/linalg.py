"""torch.linalg's functions (tg.linalg): vector and matrix norms, inverse, determinants, linear solves and
decompositions (Cholesky, symmetric eigendecomposition, SVD, QR).

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
from collections import namedtuple
from typing import Any, Tuple

import numpy as np

from . import ops as _ops
from .backend import to_device, xp_of
from .tensor import Function, Tensor, _dt, _input, _mode, _OutputNode

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "slogdet", "solve", "cholesky", "eigh",
           "eigvalsh", "svd", "svdvals", "qr"]

slogdet_result = namedtuple("linalg_slogdet", ("sign", "logabsdet"))  # (torch.return_types.linalg_slogdet)
eigh_result = namedtuple("linalg_eigh", ("eigenvalues", "eigenvectors"))
svd_result = namedtuple("linalg_svd", ("U", "S", "Vh"))
qr_result = namedtuple("linalg_qr", ("Q", "R"))


class LinAlgError(RuntimeError):
    """A matrix that the function cannot handle (singular for inv and solve), as torch.linalg.LinAlgError."""


# ----------------------------------------------------------------------------- argument checks
def _floating(op: str, x: Any, name: str = "input", half: bool = True) -> Tensor:
    x = _input(op, x, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor as {name}, got {x.dtype} (shape {x.shape})")
    if not half and x.dtype == np.float16:
        raise TypeError(f"{op}: float16 is not supported (as in torch); convert {name} with .float()")
    return x


def _with_dtype(op: str, x: Tensor, dtype: Any) -> Tensor:
    """x cast to dtype (None: as it is) before the norm, as torch's dtype=: floating, and never narrowing."""
    dt = _dt(dtype, op)
    if dt is None or dt == x.dtype:
        return x
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating point dtype, got {dt}")
    if not np.can_cast(x.dtype, dt, "safe"):
        raise TypeError(f"{op}: the input's dtype {x.dtype} does not convert to dtype {dt} without narrowing")
    return x.astype(dt)


def _square(op: str, a: Any, name: str = "A") -> Tensor:
    a = _floating(op, a, name, half=False)
    if a.ndim < 2:
        raise ValueError(f"{op}: {name} must have at least 2 dims (a matrix or a batch of them), got shape {a.shape}")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: {name} must be square matrices (or a batch of them), got shape {a.shape}: "
                         f"{a.shape[-2]} by {a.shape[-1]}")
    return a


def _singular(op: str, a: Any) -> LinAlgError:
    """The error for a singular a, naming the first singular matrix of a batch."""
    xp = xp_of(a)
    flat = a.reshape((-1,) + a.shape[-2:])
    bad = [int(i) for i in xp.flatnonzero(xp.linalg.det(flat) == 0)[:1].tolist()] if a.ndim > 2 else []
    where = f" (batch element {bad[0]} of shape {a.shape})" if bad else f" (shape {a.shape})"
    return LinAlgError(f"{op}: the input matrix is singular{where}; it has no inverse")


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
    eye = xp_of(a.data).eye(a.shape[-1], dtype=a.dtype)
    return _ops.where(singular[..., None, None], Tensor._make(eye), a)


# ----------------------------------------------------------------------------- norms
def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over dim (every element for None or ()), for any real ord:
    inf is max |x|, -inf min |x|, 0 the count of non-zeros (no gradient, as torch's); a negative ord is 0 where an
    element is 0. ``dtype``: x is cast to it first (floating, not narrowing). Tensor.norm computes it."""
    op = "linalg.vector_norm"
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
    A = _floating(op, A, "A")
    if A.ndim < 2:
        raise ValueError(f"{op}: A must have at least 2 dims (a matrix or a batch of them), got shape {A.shape}")
    if not (ord in ("fro", "nuc") if isinstance(ord, str) else
            isinstance(ord, numbers.Real) and not isinstance(ord, bool) and ord in _MATRIX_ORDS):
        raise ValueError(f"{op}: ord {ord!r} is not supported; expected 'fro', 'nuc', 1, -1, 2, -2, inf or -inf")
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
        raise TypeError(f"{op}: ord {ord!r} needs an SVD, which float16 does not have (as torch's CPU); convert A "
                        f"(shape {A.shape}) with .float()")
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
class Inv(Function):
    """Y = A^-1 for each matrix of the batch; dA = -Y^T g Y^T."""

    name = "linalg.inv"
    save_output = True

    def forward(self, a):
        xp = xp_of(a)
        try:
            return _checked(self.name, a, xp.linalg.inv(a))
        except np.linalg.LinAlgError:  # (CuPy raises numpy's, where it raises at all)
            raise _singular(self.name, a) from None

    def backward(self, g):
        yt = self.output.mT
        return (-(yt @ g @ yt),)


def inv(A: Tensor) -> Tensor:
    """torch.linalg.inv: the inverse of each square matrix (the leading dims are a batch); LinAlgError for a singular
    one."""
    return Inv()(_square("linalg.inv", A))


class Det(Function):
    """d = det A for each matrix; dA = g d A^-T. At an exactly singular matrix (d = 0) the gradient is 0, as
    torch's gives there."""

    name = "linalg.det"
    saved_inputs = (0,)
    save_output = True

    def forward(self, a):
        return xp_of(a).linalg.det(a)

    def backward(self, g):
        (a,) = self.saved
        d = self.output
        inverse = inv(_eye_where(d.data == 0, a))
        return ((g * d)[..., None, None] * inverse.mT,)


def det(A: Tensor) -> Tensor:
    """torch.linalg.det: the determinant of each square matrix (the leading dims are a batch; 1 for 0 by 0)."""
    return Det()(_square("linalg.det", A))


class SlogDet(Function):
    """(sign, log |det A|) for each matrix; the sign is a step (no gradient) and d log|det A| / dA = A^-T. A singular
    matrix's log|det| is -inf; its gradient, which torch gives as infs, is LinAlgError here (through inv)."""

    name = "linalg.slogdet"
    saved_inputs = (0,)

    def forward(self, a):
        sign, logabsdet = xp_of(a).linalg.slogdet(a)
        return sign.astype(a.dtype, copy=False), logabsdet.astype(a.dtype, copy=False)

    def backward(self, g_sign, g_log):
        if g_log is None:
            return (None,)
        return (g_log[..., None, None] * inv(self.saved[0]).mT,)


def slogdet(A: Tensor) -> Any:
    """torch.linalg.slogdet: (sign, logabsdet) of each square matrix, a named tuple, as torch's; sign is -1, 0 or 1
    in A's dtype, and det A = sign * exp(logabsdet) without overflow."""
    sign, logabsdet = SlogDet()(_square("linalg.slogdet", A))
    return slogdet_result(sign, logabsdet)


# ----------------------------------------------------------------------------- linear systems
class Solve(Function):
    """X = A^-1 B for matrices B (..., n, k), the batch dims of A and B broadcast; dB = A^-T g and dA = -dB X^T,
    each summed back to its input's batch shape."""

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
        gb = Solve()(a.mT, g)
        ga = _ops.unbroadcast(-(gb @ x.mT), a_shape) if self.needs_input_grad[0] else None
        return ga, _ops.unbroadcast(gb, b_shape) if self.needs_input_grad[1] else None


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """torch.linalg.solve: X with A X = B (left=False: X A = B) for square A (..., n, n). B is a batch of vectors
    (..., n) where it is 1-D or has A's shape without the last dim, else of matrices (..., n, k); batch dims
    broadcast. LinAlgError for a singular A; A and B must share a dtype, as torch's."""
    op = "linalg.solve"
    A = _square(op, A)
    B = _floating(op, B, "B", half=False)
    _ops.bool_arg(left, op, "left")
    if A.dtype != B.dtype:
        raise TypeError(f"{op}: A and B must have the same dtype, got A {A.dtype} and B {B.dtype} (as in torch)")
    vector = B.ndim == 1 or B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]
    n = A.shape[-1]
    if B.ndim == 0 or not vector and B.ndim < 2 or (B.shape[-1] if vector or not left else B.shape[-2]) != n or \
            vector and not left:
        eq, rhs = ("AX = B", "(..., n) or (..., n, k)") if left else ("XA = B", "(..., k, n)")
        raise ValueError(f"{op}: incompatible shapes for {eq}: A {A.shape} and B {B.shape}; B must be {rhs} "
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


class Cholesky(Function):
    """L, lower triangular with L L^T = A, from A's lower triangle (the upper one is not read, as torch's). Backward
    (Murray 2016, torch's): dA = L^-T P L^-1 with P = (T + tril(T, -1)^T) / 2 for T = tril(L^T g); dA is symmetric."""

    name = "linalg.cholesky"
    save_output = True

    def forward(self, a):
        xp = xp_of(a)
        try:
            out = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise _not_positive_definite(self.name, a) from None
        if xp is not np and not bool(xp.isfinite(out).all()) and bool(xp.isfinite(a).all()):
            raise _not_positive_definite(self.name, a)  # (CuPy gives nans rather than raising)
        return out

    def backward(self, g):
        lower = self.output
        t = (lower.mT @ g).tril()
        p = 0.5 * (t + t.tril(-1).mT)
        return (solve(lower, solve(lower.mT, p), left=False),)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """torch.linalg.cholesky: L, lower triangular with a positive diagonal and L L^T = A, for each symmetric
    positive-definite matrix of the batch; only A's lower triangle is read. upper=True: U = L^T, from A's upper
    triangle, as torch's. LinAlgError naming the batch element and the order of its first leading minor that is not
    positive-definite, as torch's."""
    op = "linalg.cholesky"
    A = _square(op, A)
    _ops.bool_arg(upper, op, "upper")
    return Cholesky()(A.mT).mT if upper else Cholesky()(A)


def _gaps(values: Tensor) -> Tensor:
    """E with E_ij = values_j - values_i over the batch, and 1 on the diagonal (where it is 0) for dividing by."""
    eye = xp_of(values.data).eye(values.shape[-1], dtype=values.dtype)
    return values.unsqueeze(-2) - values.unsqueeze(-1) + Tensor._make(eye)


class Eigh(Function):
    """(L, V): the eigenvalues (ascending) and orthonormal eigenvectors (the columns of V) of each symmetric matrix,
    from its lower triangle. Backward (torch's): dA = V (diag(gL) + skew(V^T gV) / E) V^T, skew(X) = (X - X^T) / 2,
    E_ij = L_j - L_i; dA is symmetric. Where two eigenvalues are equal their eigenvectors are not unique, and a loss
    that depends on them has no gradient: it comes out inf or nan, as torch's (which warns of it in its docs)."""

    name = "linalg.eigh"

    def forward(self, a):
        self.values, self.vectors = xp_of(a).linalg.eigh(a)
        return self.values.copy(), self.vectors.copy()  # (copies: an in-place change to one leaves backward's own)

    def backward(self, g_values, g_vectors):
        values, vectors = _kept(self, 0, self.values), _kept(self, 1, self.vectors)
        inner = None
        if g_vectors is not None:
            x = vectors.mT @ g_vectors
            inner = 0.5 * (x - x.mT) / _gaps(values)
        if g_values is not None:
            inner = g_values.diag_embed() if inner is None else inner + g_values.diag_embed()
        return (vectors @ inner @ vectors.mT,)


def _uplo(op: str, A: Any, UPLO: Any) -> Tensor:
    """A as Eigh reads it: A itself for UPLO 'L' (its lower triangle), A^T for 'U' (A's upper triangle)."""
    A = _square(op, A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U' (which triangle of A is read), got {UPLO!r}")
    return A.mT if UPLO == "U" else A


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


class Svd(Function):
    """(U, S, Vh) with A = U diag(S) Vh, S descending, U (m, k) and Vh (k, n), k = min(m, n) (full_matrices: U and
    Vh square; the gradients reaching their columns / rows past k are dropped, as torch's, since those are an
    arbitrary basis). Backward (torch's): with skew(X) = X - X^T and E_ij = S_j^2 - S_i^2,
    dA = U [(skew(U^T gU) S + S skew(Vh gVh^T)) / E + diag(gS)] Vh plus, for m > n, (I - U U^T) gU S^-1 Vh and, for
    m < n, U S^-1 gVh (I - Vh^T Vh). Losses that read U or Vh need distinct non-zero singular values (else inf or
    nan, as torch's)."""

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
        skew_u = None if g_u is None else (lambda x: x - x.mT)(u.mT @ g_u) * s.unsqueeze(-2)
        skew_v = None if g_vh is None else s.unsqueeze(-1) * (lambda x: x - x.mT)(vh @ g_vh.mT)
        inner = (skew_v if skew_u is None else skew_u if skew_v is None else skew_u + skew_v) / gaps
        if g_s is not None:
            inner = inner + g_s.diag_embed()
        if m > n and g_u is not None:
            scaled = g_u / s.unsqueeze(-2)
            return ((u @ inner + scaled - u @ (u.mT @ scaled)) @ vh,)
        if m < n and g_vh is not None:
            scaled = g_vh / s.unsqueeze(-1)
            return (u @ (inner @ vh + scaled - (scaled @ vh.mT) @ vh),)
        return (u @ inner @ vh,)


def _matrices(op: str, A: Any) -> Tensor:
    A = _floating(op, A, "A", half=False)
    if A.ndim < 2:
        raise ValueError(f"{op}: A must have at least 2 dims (a matrix or a batch of them), got shape {A.shape}")
    return A


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """torch.linalg.svd: (U, S, Vh), a named tuple as torch's, with A = U diag(S) Vh for each matrix of the batch;
    S descending, U and Vh orthonormal, each singular vector pair's sign arbitrary (a loss should not depend on
    it). full_matrices=False: U (..., m, k) and Vh (..., k, n), k = min(m, n); True: U and Vh square. driver is
    CUDA-only in torch; here only None."""
    op = "linalg.svd"
    A = _matrices(op, A)
    _ops.bool_arg(full_matrices, op, "full_matrices")
    if driver is not None:
        raise ValueError(f"{op}: driver must be None here (torch's drivers are for CUDA's cuSOLVER), got {driver!r}")
    return svd_result(*Svd(full_matrices)(A))


def svdvals(A: Tensor, *, driver: Any = None) -> Tensor:
    """torch.linalg.svdvals: the singular values of each matrix, descending; their gradient U diag(g) Vh is defined
    for repeated ones too."""
    op = "linalg.svdvals"
    A = _matrices(op, A)
    if driver is not None:
        raise ValueError(f"{op}: driver must be None here (torch's drivers are for CUDA's cuSOLVER), got {driver!r}")
    return Svd(False)(A)[1]


_QR_MODES = ("reduced", "complete", "r")


class Qr(Function):
    """(Q, R) with A = Q R, Q orthonormal columns (m, k) and R upper triangular (k, n), k = min(m, n) (complete: Q
    (m, m) and R (m, n); 'r': R only, Q empty). Backward: for m >= n torch's (_qr_tall_grad); for m < n, A = [X | Y]
    and R = [U | V] with X = Q U and Y = Q V, so dA = [X's gradient for gQ + Q V gV^T and gU | Q gV]. Not
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
            g_q = q @ (r[..., m:] @ g_v.mT) + (0.0 if g_q is None else g_q)
        g_x = _qr_tall_grad(q, r[..., :m], g_q, None if g_r is None else g_r[..., :m])
        g_y = Tensor._make(xp_of(q.data).zeros(q.shape[:-1] + (n - m,), q.dtype)) if g_v is None else q @ g_v
        return (_ops.cat([g_x, g_y], -1),)


def _qr_tall_grad(q: Tensor, r: Tensor, g_q: Any, g_r: Any) -> Tensor:
    """Qr's gradient for m >= n (torch's): (gQ + Q sym(M)) R^-T with M = gR R^T - Q^T gQ and
    sym(M) = triu(M) + triu(M, 1)^T."""
    if g_q is None:
        grad = g_r @ r.mT
    else:
        grad = -(q.mT @ g_q) if g_r is None else g_r @ r.mT - q.mT @ g_q
    out = q @ (grad.triu() + grad.triu(1).mT)
    return solve(r.mT, out if g_q is None else out + g_q, left=False)


def qr(A: Tensor, mode: str = "reduced") -> Any:
    """torch.linalg.qr: (Q, R), a named tuple as torch's, with A = Q R for each matrix of the batch, by LAPACK's
    Householder QR as torch's (the same signs). mode 'reduced': Q (..., m, k), R (..., k, n), k = min(m, n);
    'complete': Q (..., m, m), R (..., m, n); 'r': R alone, Q an empty tensor. Gradients: see Qr."""
    op = "linalg.qr"
    A = _matrices(op, A)
    if mode not in _QR_MODES:
        raise ValueError(f"{op}: mode must be one of 'reduced' (the default), 'complete' or 'r', got {mode!r}")
    return qr_result(*Qr(mode)(A))
