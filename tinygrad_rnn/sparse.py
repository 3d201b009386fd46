"""Sparse COO tensors, torch.sparse's: enough for the graph networks people port (Kipf's GCN: a normalised adjacency
matrix times dense features).

A ``SparseCooTensor`` is not a Tensor: it holds an int64 ``indices`` Tensor (sparse_dim, nnz) and a ``values``
Tensor (nnz, *dense_shape), and every op on it is written with the dense engine's own differentiable ops
(GetItem / IndexAdd gathers and scatter-adds, products and sums; the matrix product is one SpMM node, a row-sorted
segment sum, whose backward is such ops), so the dense engine pays nothing for it and higher order gradients work.
The dense ops that take a sparse operand (tg.mm, tg.matmul, @, tg.addmm, dense + / - sparse, the function
forms) look for one only once an argument is not a Tensor. ``to_dense``, ``coalesce``, ``mm`` (``tg.sparse.mm``,
``tg.spmm``, ``tg.mm``, ``tg.matmul``, ``@``, either operand sparse), ``mv`` and ``bmm`` (a sparse first
operand), ``addmm``, ``sum``, ``softmax`` / ``log_softmax``, products with a number, a dense tensor (either side)
or a sparse one, sums of two sparse tensors, torch's zero-preserving elementwise ops (``abs``, ``sqrt``, ``pow``,
``relu``, ...; their function forms tg.relu, F.relu, tg.nan_to_num too), ``copy_``, ``resize_as_``,
``t``/``transpose``, ``to``/``cuda``/``cpu``, ``tg.cat`` / ``tg.stack`` of sparse tensors, ``select`` and
``s[i, :, None, ...]`` (integers, whole-dim slices, None, an Ellipsis), ``tg.zeros_like`` / ``tg.empty_like`` (an
empty sparse tensor), ``permute`` / ``tg.permute``, ``narrow_copy`` / ``tg.narrow_copy``, ``sparse_resize_`` /
``sparse_resize_and_clear_``, ``tg.sparse.spdiags``, ``tg.sparse.check_sparse_tensor_invariants`` (with
sparse_coo_tensor's ``check_invariants=``), ``tg.sparse_coo_tensor(size)`` (empty), ``tg.smm`` / ``tg.hspmm`` /
``tg.sspaddmm`` (differentiable, where torch's are not). ``_values()`` is detached,
as torch's (``values()`` of a coalesced tensor is differentiable).

Gradients reach the values: through ``values`` itself when it requires grad (a per-entry gradient, as torch's), or,
for a tensor made with ``requires_grad=True`` (a sparse leaf), as its ``.grad``, torch's: a sparse tensor on the
leaf's pattern (sorted and unique), the gradient of the dense form there, after torch.sparse.mm, to_dense,
sparse.sum, products, ...; the dense gradient after torch.mm / spmm / @ / mv / bmm / addmm, dense + sparse and
Tensor.sum (dense ops' images of the leaf: ``_grad_form``), a sparse one on the sum's pattern after sparse +
sparse, the product's times the other operand after sparse * sparse; on through t, coalesce, -, products with
numbers, constant tensors or sparse tensors, index_select, select and cat. Where torch's backward raises (sin,
index_select or cat followed by a masked op, ...) the values' gradient is given.
F.embedding(sparse=True) gives its (leaf) weight torch's sparse gradient (EmbeddingSparse, which the engine keeps
sparse: autograd._accumulate_sparse); SGD, Adagrad, SparseAdam and LBFGS take it (_add_into).
"""
from __future__ import annotations

import builtins
import math
import numbers
import operator
import warnings
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import backend
from . import ops as _ops
from . import printing as _printing
from .tensor import (Function, Size, Tensor, _defaults, _dt, _IndexTypeError, _mode, _RuntimeIndexError,
                     _RuntimeTypeError, check_devices, dtype_name, layout, shown_name, to_args)

sparse_coo = layout("sparse_coo")

_SUPPORTED = ("to_dense, coalesce, zero_, indices/values, t/transpose, index_select, sum, mm/matmul/@, mv, bmm, addmm, "
              "tg.sparse.softmax/log_softmax, products with a number, a dense tensor or a sparse one (mul_/div_ "
              "too), + / add_ another sparse tensor, zero-preserving elementwise ops (abs, sqrt, pow, relu, sin, "
              "...; tg.relu, F.relu, tg.nan_to_num), copy_, resize_as_, unsqueeze, T/mT, t_/transpose_, "
              "to/cuda/cpu/half, tg.cat/stack, select, s[i] (integers, whole-dim slices, None, ...), "
              "tg.zeros_like/empty_like, permute, narrow_copy, sparse_resize_/sparse_resize_and_clear_, "
              "tg.sparse.spdiags, smm/hspmm/sspaddmm")


_RESIZE_HINT = ("on a non-empty sparse tensor is not supported.\nYou could try the following options:\n1. If you need "
                "an empty sparse tensor of this size, call `x = torch.sparse_coo_tensor(size)`.\n2. If you need to "
                "resize this tensor, you have the following options:\n    1. For both sparse and dense dimensions, "
                "keep the number of them constant and the size of them non-shrinking, and then try the same call "
                "again.\n    2. Or, create a new sparse tensor with the correct indices and values from this sparse "
                "tensor.")  # (torch's, after its in-place resize errors)


def _linear(idx: Any, shape: Sequence[int]) -> Any:
    """Each column of the (k, nnz) index array idx as its row-major position in shape (int64)."""
    xp = backend.xp_of(idx)
    lin = xp.zeros(idx.shape[1], np.int64)
    for d, n in enumerate(shape):
        lin = lin * n + idx[d]
    return lin


def _unravel(lin: Any, shape: Sequence[int]) -> Any:
    """_linear's inverse: (len(shape), n) int64 indices."""
    xp = backend.xp_of(lin)
    rows = []
    for n in reversed(shape):
        rows.append(lin % n if n else lin)
        lin = lin // n if n else lin
    return xp.stack(rows[::-1]) if rows else xp.zeros((0, lin.shape[0]), np.int64)


class SparseCooTensor:
    """torch's sparse COO tensor (layout tg.sparse_coo): indices (sparse_dim, nnz) int64 and values
    (nnz, *dense_shape), of shape sparse_shape + dense_shape; repeated indices add up (coalesce sums them). Made by
    tg.sparse_coo_tensor or Tensor.to_sparse."""

    is_sparse = True
    is_sparse_csr = False
    layout = sparse_coo

    _form: Optional[Tensor] = None  # (see _grad_form)
    _leaf_view = False  # (a view of a sparse leaf that requires grad: transpose, permute, unsqueeze, select; _view)

    def __init__(self, indices: Tensor, values: Tensor, shape: Tuple[int, ...], coalesced: bool,
                 leaf: bool = False) -> None:
        self._idx, self._val, self._shape, self._coalesced, self._leaf = indices, values, tuple(shape), coalesced, leaf

    def _grad_form(self) -> Optional[Tensor]:
        """The Tensor of this tensor's shape that takes torch's gradient of it as a whole, where an op gives one
        (torch.mm's dense gradient, sparse + sparse's on the sum's pattern: _FormGrad), or None. A sparse leaf's is
        a zero-strided dense leaf of zeros (no memory) made on first use, whose .grad the leaf's .grad adds in; an op
        that maps the leaf linearly (t, coalesce, -, * a number, + another sparse tensor) hands on the dense op's
        image of its input's (_with_form). None without grad mode."""
        if not _mode.grad_enabled:
            return None
        if self._form is None and self._leaf and self._val.requires_grad:
            self._form = self._new_form()
        return self._form if self._val.requires_grad else None

    def _new_form(self) -> Tensor:
        """A sparse leaf's gradient form: zeros of its shape and dtype, zero-strided (no memory), requiring grad."""
        xp = backend.xp_of(self._val.array)
        return Tensor._make(xp.broadcast_to(xp.zeros((), self._val.array.dtype), self._shape)).requires_grad_(True)

    def _view(self, out: "SparseCooTensor") -> "SparseCooTensor":
        """out, a view of this tensor in torch (transpose, permute, unsqueeze, select): marked a view of a leaf when
        this is (or is one of) a sparse leaf that requires grad, so in-place ops refuse it (_check_in_place)."""
        if (self._leaf or self._leaf_view) and self._val.requires_grad:
            out._leaf_view = True
        return out

    def _check_in_place(self, prefix: str = "") -> None:
        """torch's refusal of an in-place op on a sparse leaf that requires grad, or on a view of one, in grad
        mode."""
        if (self._leaf or self._leaf_view) and self._val.requires_grad and _mode.grad_enabled:
            what = "a leaf Variable" if self._leaf else "a view of a leaf Variable"
            raise RuntimeError(f"{prefix}{what} that requires grad is being used in an in-place operation.")

    def _with_form(self, form: Optional[Tensor]) -> "SparseCooTensor":
        """self, its gradient form set to form (see _grad_form)."""
        if form is not None:
            self._form = form
        return self

    # ------------------------------------------------------------------ metadata
    shape = property(lambda self: self._shape, doc="the shape, sparse dims then dense dims")
    dtype = property(lambda self: self._val.dtype, doc="the values' dtype")
    device = property(lambda self: self._val.device, doc="the values' (and indices') device")
    is_cuda = property(lambda self: self._val.is_cuda)
    is_cpu = property(lambda self: self._val.is_cpu)
    ndim = property(lambda self: len(self._shape))
    def _set_requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    requires_grad = property(lambda self: self._val.requires_grad, _set_requires_grad,
                             doc="whether gradients reach the values (set: requires_grad_, as torch's setter)")
    data = property(lambda self: self.detach(), doc="the tensor detached, over the same indices and values (torch's)")
    grad_fn = property(lambda self: self._val.grad_fn)
    is_leaf = property(lambda self: self._leaf or not self._val.requires_grad,
                       doc="made with requires_grad=True, or with values that need no gradient (as torch's)")

    def size(self, dim: Optional[int] = None) -> Union[Size, int]:
        """The shape as a tg.Size, or one dim's length."""
        return Size(self._shape) if dim is None else self._shape[_ops._one_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return len(self._shape)

    def sparse_dim(self) -> int:
        """The number of indexed (sparse) dims."""
        return self._idx.shape[0]

    def dense_dim(self) -> int:
        """The number of dims each value holds (0: scalar values)."""
        return self._val.ndim - 1

    def _nnz(self) -> int:
        """The number of stored entries (repeats included until coalesced)."""
        return self._val.shape[0]

    def numel(self) -> int:
        return math.prod(self._shape)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def is_coalesced(self) -> bool:
        """Whether the indices are known sorted (row-major) and unique."""
        return self._coalesced

    def indices(self) -> Tensor:
        """The (sparse_dim, nnz) int64 indices of a coalesced tensor (torch's rule: coalesce first)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._idx

    def values(self) -> Tensor:
        """The (nnz, *dense_shape) values of a coalesced tensor (torch's rule); differentiable."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._val

    def _indices(self) -> Tensor:
        """The indices as stored, coalesced or not."""
        return self._idx

    def _values(self) -> Tensor:
        """The values as stored, coalesced or not, detached (as torch's: _values() tracks no gradient; values()
        does)."""
        return self._val.detach()

    # ------------------------------------------------------------------ autograd
    @property
    def grad(self) -> Any:
        """A sparse leaf's gradient (made with requires_grad=True), torch's: what reached its values, on the leaf's
        pattern (sorted, unique; the gradient of the dense form there, as torch.sparse.mm's and to_dense's), plus
        what reached it as a whole (_grad_form: torch.mm's dense gradient, sparse + sparse's on the sum's pattern);
        dense where a dense one joins, as torch's. None before a backward pass, or for a tensor that is not such a
        leaf (its values' own .grad holds theirs)."""
        masked = self._masked_grad()
        whole = self._form.grad if self._leaf and self._form is not None else None
        if whole is None or masked is None:
            return whole if masked is None else masked
        return whole + masked

    def _masked_grad(self) -> Optional["SparseCooTensor"]:
        """The gradient that reached the leaf's values, as a sparse tensor on its pattern (sorted, unique)."""
        g = self._val.grad if self._leaf else None
        if g is None:
            return None
        xp = backend.xp_of(self._idx.array)
        lin = _linear(self._idx.array, self._shape[:self.sparse_dim()])
        _, first = xp.unique(lin, return_index=True)  # (repeats all hold the same gradient: keep one)
        first = xp.asarray(first, np.int64)
        return SparseCooTensor(Tensor._make(self._idx.array[:, first]), Tensor._make(g.array[first]), self._shape,
                               False)  # (sorted and unique, but flagged uncoalesced, as torch's)

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            raise RuntimeError("sparse COO: only None may be assigned to .grad here (zero_grad)")
        self._val.grad = None
        if self._form is not None:
            self._form.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> "SparseCooTensor":
        """Make this a sparse leaf whose .grad gathers the gradient on its pattern (torch's requires_grad_)."""
        if requires_grad and not self._val.requires_grad:
            self._val = self._val.detach().requires_grad_(True)
            self._leaf = True
        elif not requires_grad:
            self._val.requires_grad_(False)
        return self

    def detach(self) -> "SparseCooTensor":
        return SparseCooTensor(self._idx, self._val.detach(), self._shape, self._coalesced)

    def clone(self) -> "SparseCooTensor":
        return SparseCooTensor(self._idx.clone(), self._val.clone(), self._shape, self._coalesced)._with_form(
            self._form_image(lambda g: (g,), self._shape))

    def zero_(self) -> "SparseCooTensor":
        """No entries left (nnz 0, coalesced), in place, as torch's: so p.grad.zero_() and zero_grad(set_to_none=False)
        keep the gradient object code may hold. A sparse leaf that requires grad, or a view of one, is refused in
        grad mode (torch's message)."""
        self._check_in_place()
        return self._cleared(self._shape, self.sparse_dim())

    # ------------------------------------------------------------------ conversions
    def to_dense(self, dtype: Any = None, *, masked_grad: Any = None) -> Tensor:
        """The dense tensor, repeated indices summed; differentiable w.r.t. the values (each entry's gradient is the
        dense gradient at its index: torch's masked gradient). masked_grad=False: a sparse leaf's gradient is the
        whole dense gradient's non-zeros, as torch's (a sparse tensor, flagged uncoalesced)."""
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_to_dense")
        return self._dense(None if masked_grad is None or masked_grad else _nonzeros)

    def _dense(self, side: Any = None) -> Tensor:
        """to_dense's dense tensor; side: a sparse leaf's gradient is side(the dense gradient) instead of that
        gradient on its pattern (_whole): to_dense(masked_grad=False)'s, and dense + sparse's (g itself, torch's)."""
        val = self._val if side is None else _values_for(self)
        if not self.sparse_dim():  # (no sparse dims: every entry adds into the one dense value)
            zero = backend.xp_of(self._idx.array).zeros(self._nnz(), np.int64)
            out = _ops.IndexAdd((1,) + self._shape, (zero,))(val).reshape(self._shape)
        else:
            out = _ops.IndexAdd(self._shape, tuple(self._idx.array))(val)
        return out if side is None else _whole(self, out, side)

    def to_sparse(self, sparse_dim: Optional[int] = None, *, layout: Any = None, blocksize: Any = None,
                  dense_dim: Any = None) -> "SparseCooTensor":
        if sparse_dim not in (None, self.sparse_dim()) or layout not in (None, sparse_coo):
            raise RuntimeError("to_sparse: a sparse COO tensor converts only to itself here")
        return self

    to_sparse_coo = to_sparse

    def coalesce(self) -> "SparseCooTensor":
        """Repeated indices summed, the indices sorted row-major (torch's order); itself when already coalesced.
        Differentiable w.r.t. the values."""
        if self._coalesced:
            return self
        xp = backend.xp_of(self._idx.array)
        sshape = self._shape[:self.sparse_dim()]
        uniq, inverse = xp.unique(_linear(self._idx.array, sshape), return_inverse=True)
        inverse, repeats = inverse.reshape(-1), uniq.shape[0] < self._nnz()
        vals = _ops.IndexAdd((uniq.shape[0],) + self._val.shape[1:], (inverse,), not repeats)(self._val)
        if repeats and vals.dtype.kind == "f":  # (torch's sums start at the first entry: -0.0 where all are -0.0)
            v = self._val.array
            others = xp.zeros(vals.shape, np.int64)
            backend.scatter_add(others, (inverse,), (~((v == 0) & xp.signbit(v))).astype(np.int64))
            vals.array[others == 0] = -0.0
        return SparseCooTensor(Tensor._make(_unravel(uniq, sshape)), vals, self._shape, True)._with_form(
            self._grad_form())

    def to(self, *args: Any, device: Any = None, dtype: Any = None, non_blocking: bool = False,
           copy: bool = False) -> "SparseCooTensor":
        """Another device and/or dtype, as Tensor.to (the values differentiably)."""
        device, dtype = to_args("to", args, device, dtype)
        val = self._val.to(device=device, dtype=dtype, copy=copy)
        idx = self._idx.to(device=device)
        if val is self._val and idx is self._idx:
            return self
        return SparseCooTensor(idx, val, self._shape, self._coalesced)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "SparseCooTensor":
        return self.to("cuda" if device is None or isinstance(device, int) else device)

    def cpu(self) -> "SparseCooTensor":
        return self.to("cpu")

    def double(self) -> "SparseCooTensor":
        return self.to(np.float64)

    def float(self) -> "SparseCooTensor":  # noqa: A003
        return self.to(np.float32)

    def type(self, dtype: Any = None) -> Any:  # noqa: A003
        if dtype is None:
            return f"torch.sparse.{self._val.type().split('.')[-1]}"
        return self.to(dtype)

    # ------------------------------------------------------------------ shape ops
    def transpose(self, dim0: int, dim1: int) -> "SparseCooTensor":
        """Two sparse dims swapped (the indices' rows); the result is not coalesced (even of one entry), as torch's,
        unless it is empty or the same dim twice."""
        sd = self.sparse_dim()
        d0, d1 = (_ops._one_dim(d, self.ndim, "transpose") for d in (dim0, dim1))
        if d0 >= sd or d1 >= sd:
            raise RuntimeError(f"transpose: sparse COO swaps only sparse dims here (sparse_dim={sd}), got {dim0} "
                               f"and {dim1}")
        order = list(range(sd))
        order[d0], order[d1] = d1, d0
        shape = list(self._shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        out = SparseCooTensor(Tensor._make(self._idx.array[order]), self._val, tuple(shape),
                              self._coalesced and (d0 == d1 or not self._nnz()))  # (torch's flag: one entry too)
        return self._view(out._with_form(self._form_image(lambda g: (g.transpose(d0, d1),), out.shape)))

    def transpose_(self, dim0: int, dim1: int) -> "SparseCooTensor":
        """transpose in place, as torch's (a sparse leaf that requires grad refused)."""
        return self._in_place("transpose_", self.transpose(dim0, dim1))

    def t_(self) -> "SparseCooTensor":
        """t in place, as torch's."""
        return self._in_place("t_", self.t())

    def t(self) -> "SparseCooTensor":
        """The transpose of a sparse matrix (2 sparse dims and no dense dims, as torch's)."""
        if self.sparse_dim() > 2 or self.dense_dim():
            raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                               f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> "SparseCooTensor":  # noqa: N802
        """The transpose of a sparse matrix (0 to 2 sparse dims, no dense dims), as torch's x.T."""
        if self.ndim > 2 or self.dense_dim():
            raise RuntimeError("permute(sparse_coo): x.T of a sparse COO tensor takes at most 2 dims, all sparse, here")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def mT(self) -> "SparseCooTensor":  # noqa: N802
        """The last two dims swapped (both sparse), as torch's x.mT."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D "
                               "tensor.")
        return self.transpose(-2, -1)

    def unsqueeze(self, dim: int) -> "SparseCooTensor":
        """A dim of size 1 at dim: a sparse one (an index row of zeros) up to sparse_dim, else the values' (a dense
        one), as torch's; flagged uncoalesced (coalesced with one entry or none), as torch's."""
        d = _ops._one_dim(dim, self.ndim + 1, "unsqueeze")
        sd = self.sparse_dim()
        shape = self._shape[:d] + (1,) + self._shape[d:]
        if d <= sd:
            xp = backend.xp_of(self._idx.array)
            idx = self._idx.array
            idx = xp.concatenate([idx[:d], xp.zeros((1, idx.shape[1]), np.int64), idx[d:]])
            return self._view(SparseCooTensor(Tensor._make(idx), self._val, shape, self._nnz() <= 1))
        return self._view(SparseCooTensor(self._idx, self._val.unsqueeze(d - sd + 1), shape, self._nnz() <= 1))

    def permute(self, *dims: Any) -> "SparseCooTensor":
        """The dims in the order dims (sparse dims among themselves, dense ones among themselves), as torch's; not
        coalesced unless the sparse dims keep their order (and the input was)."""
        dims = _ops.dims_arg(dims, "permute")
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(dims)}")
        order = [_ops._one_dim(d, self.ndim, "permute") for d in dims]
        if len(set(order)) != len(order):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        sd = self.sparse_dim()
        if any((d < sd) != (k < sd) for k, d in enumerate(order)):
            raise RuntimeError("permute(sparse_coo): transpositions between sparse and dense dimensions are not "
                               "allowed.Only transpositions within sparse and dense dimensions are supported.")
        values = self._val.permute([0] + [d - sd + 1 for d in order[sd:]])
        keeps = order[:sd] == list(range(sd))
        return self._view(SparseCooTensor(Tensor._make(self._idx.array[order[:sd]]), values,
                                          tuple(self._shape[d] for d in order), self._coalesced and keeps))

    def narrow_copy(self, dim: int, start: int, length: int) -> "SparseCooTensor":
        """The entries with index start..start+length-1 along dim (moved to start at 0), as torch's (a sparse
        dim), or the values' narrow along a dense dim; coalesced where the input was.
        Differentiable w.r.t. the values."""
        if not 0 <= operator.index(dim) < self.ndim:  # (torch's sparse narrow_copy takes no negative dim)
            raise RuntimeError(f"Dimension {dim} out of range. Expecting 0 <= dim < {self.ndim}.")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        size = self._shape[dim]
        if start < 0 or start + length > size:
            raise RuntimeError(f"Invalid range to narrow. range(start, start+length) must be a subset of range(0, "
                               f"{size}).")
        shape = self._shape[:dim] + (length,) + self._shape[dim + 1:]
        sd = self.sparse_dim()
        if dim >= sd:
            return SparseCooTensor(self._idx, self._val.narrow(dim - sd + 1, start, length), shape, self._coalesced)
        xp = backend.xp_of(self._idx.array)
        row = self._idx.array[dim]
        keep = xp.flatnonzero((row >= start) & (row < start + length))
        idx = self._idx.array[:, keep]
        idx[dim] -= start
        return SparseCooTensor(Tensor._make(idx), _ops.GetItem((keep,))(self._val), shape, self._coalesced)

    def sparse_resize_(self, size: Any, sparse_dim: int, dense_dim: int) -> "SparseCooTensor":
        """This tensor resized to size with sparse_dim sparse and dense_dim dense dims, in place, as torch's: an
        empty tensor takes any; a non-empty one keeps both counts and may only grow its sizes (torch's errors).
        Grown dense dims hold zeros past the old values (torch's hold uninitialised memory there)."""
        shape = self._resize_shape(size, sparse_dim, dense_dim)
        sd = self.sparse_dim()
        xp = backend.xp_of(self._idx.array)
        if not self._nnz():
            return self._cleared(shape, sparse_dim)
        self._check_dim_counts(sparse_dim, dense_dim)
        for kind, old, new in (("sparse", self._shape[:sd], shape[:sd]), ("dense", self._shape[sd:], shape[sd:])):
            if any(n < m for n, m in zip(new, old)):
                raise RuntimeError(f"shrinking the size of {kind} dimensions (from {list(old)} to {list(new)}) "
                                   f"{_RESIZE_HINT}")
        val = self._val
        for k, (m, n) in enumerate(zip(self._shape[sd:], shape[sd:])):
            if n > m:
                pad = list(val.shape)
                pad[k + 1] = n - m
                val = _ops.cat([val, Tensor._make(xp.zeros(tuple(pad), val.array.dtype))], k + 1)
        return self._replace(self._idx, val, shape, self._coalesced)

    def _check_dim_counts(self, sparse_dim: int, dense_dim: int) -> None:
        """A non-empty tensor keeps its numbers of sparse and dense dims in place (torch's resize check)."""
        if not self._nnz():
            return
        for kind, old, new in (("sparse", self.sparse_dim(), sparse_dim), ("dense", self.dense_dim(), dense_dim)):
            if old != new:
                raise RuntimeError(f"changing the number of {kind} dimensions (from {old} to {new}) {_RESIZE_HINT}")

    def sparse_resize_and_clear_(self, size: Any, sparse_dim: int, dense_dim: int) -> "SparseCooTensor":
        """This tensor emptied (no entries, coalesced) and resized to size with sparse_dim sparse and dense_dim
        dense dims, in place, as torch's."""
        return self._cleared(self._resize_shape(size, sparse_dim, dense_dim), sparse_dim)

    def _resize_shape(self, size: Any, sparse_dim: int, dense_dim: int) -> tuple:
        """size as the shape of an in-place resize to sparse_dim sparse and dense_dim dense dims (torch's checks)."""
        shape = tuple(operator.index(n) for n in size)
        if len(shape) != sparse_dim + dense_dim:
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(shape)}, "
                               f"sparse_dim = {sparse_dim}, dense_dim = {dense_dim}")
        self._check_in_place()
        return shape

    def _cleared(self, shape: tuple, sparse_dim: int) -> "SparseCooTensor":
        """This tensor with no entries (coalesced) and the given shape, its first sparse_dim dims sparse."""
        xp = backend.xp_of(self._idx.array)
        return self._replace(Tensor._make(xp.zeros((sparse_dim, 0), np.int64)),
                             Tensor._make(xp.zeros((0,) + shape[sparse_dim:], self._val.array.dtype)), shape, True)

    def _replace(self, idx: Tensor, val: Tensor, shape: tuple, coalesced: bool,
                 form: Optional[Tensor] = None) -> "SparseCooTensor":
        """This tensor's entries, shape and flag set in place (values() taken before keep the old values, as
        torch's), and, unless a leaf, its gradient form (form: the new values'). A sparse leaf that requires grad
        (changed under no_grad) stays one, its .grad kept (in its gradient form; lost where the shape changes), as
        torch's."""
        if not self._leaf:
            self._form = form
        elif self._val.requires_grad:
            grad = self.grad
            val = val.detach().requires_grad_(True)
            if tuple(shape) != self._shape:
                self._form = None
            elif grad is not None:
                self._form = self._form if self._form is not None else self._new_form()
                self._form.grad = grad
        self._idx, self._val, self._shape, self._coalesced = idx, val, tuple(shape), coalesced
        return self

    def half(self) -> "SparseCooTensor":
        return self.to(np.float16)

    def element_size(self) -> int:
        """The bytes of one value (its dtype's itemsize), as torch's."""
        return self._val.element_size()

    def index_select(self, dim: int, index: Any) -> "SparseCooTensor":
        """The slices along a sparse dim at index's positions (repeats allowed, a negative one counted from the end,
        as torch's): for each position in turn, the entries there in their stored order (torch's order where it
        searches the index; its other searches order them by entry first: the same tensor); not coalesced. Along
        a dense dim, the values' index_select on the same indices. Differentiable w.r.t. the values (torch's
        backward refuses a sparse input here)."""
        op = "index_select"
        d = _ops._one_dim(dim, self.ndim, op)
        if d >= self.sparse_dim():  # (a dense dim: the values' own index_select; torch's flag is False)
            index = (index if isinstance(index, Tensor) else Tensor._make(backend.as_array(index))).to(self.device)
            k = d - self.sparse_dim() + 1
            values = self._val.index_select(k, index)
            shape = self._shape[:d] + values.shape[k:k + 1] + self._shape[d + 1:]
            at = backend.xp_of(self._idx.array).asarray(index.array).reshape(-1)
            return SparseCooTensor(self._idx, values, shape, False)._with_form(
                self._form_image(lambda g: (_scattered(g, self._shape, d, at),), shape))
        xp = backend.xp_of(self._idx.array)
        idx = index.array if isinstance(index, Tensor) else backend.as_array(index)
        idx = xp.asarray(idx).reshape(-1)
        if idx.size and idx.dtype.kind not in "iu":
            raise _IndexTypeError(f"{op}: index must be an integer tensor, got {dtype_name(idx.dtype)}")
        size = self._shape[d]
        if idx.size and (int(idx.min()) < -size or int(idx.max()) >= size):
            raise IndexError(f"{op}: index must hold integers in -{size}..{size - 1} (dim {d} of shape "
                             f"{self._shape}), got {idx}")
        idx = idx.astype(np.int64)
        idx = xp.where(idx < 0, idx + size, idx)  # (torch's sparse index_select counts a negative from the end)
        order = xp.argsort(idx, kind="stable")
        key, sidx = self._idx.array[d], idx[order]
        left = xp.searchsorted(sidx, key, "left")
        counts = xp.searchsorted(sidx, key, "right") - left  # (how many positions pick each entry)
        ent = backend.repeat(xp.arange(key.shape[0]), counts)  # (CuPy before 14 takes no array of counts)
        offs = xp.arange(ent.shape[0]) - backend.repeat(xp.cumsum(counts) - counts, counts)
        pos = order[backend.repeat(left, counts) + offs]
        perm = xp.lexsort(xp.stack([ent, pos]))  # (by position, then by stored order)
        ent, pos = ent[perm], pos[perm]
        new = self._idx.array[:, ent]
        new[d] = pos
        shape = self._shape[:d] + (idx.shape[0],) + self._shape[d + 1:]
        return SparseCooTensor(Tensor._make(new), _ops.GetItem((ent,))(self._val), shape, ent.shape[0] <= 1
                               )._with_form(self._form_image(lambda g: (_scattered(g, self._shape, d, idx),), shape))

    def new(self, *args: Any, device: Any = None) -> "SparseCooTensor":
        """torch's legacy x.new of a sparse COO tensor: (indices, values[, size]) a sparse COO tensor over them (the
        values' dtype, as torch's; make_sparse in old sparse optimizers), () or sizes an empty one of this dtype."""
        if len(args) in (2, 3) and isinstance(args[0], Tensor) and isinstance(args[1], Tensor):
            return sparse_coo_tensor(args[0], args[1], args[2] if len(args) == 3 else None,
                                     device=self.device if device is None else device)
        sizes = args
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"({', '.join(type(a).__name__ for a in args)}), but expected one of: (), (Tensor indices, "
                            "Tensor values), (Tensor indices, Tensor values, tuple of ints size), (tuple of ints size)")
        xp = backend.xp_of(self._val.array)
        shape = sizes or (0,)
        return SparseCooTensor(Tensor._make(xp.zeros((len(shape), 0), np.int64)),
                               Tensor._make(xp.zeros((0,), self._val.dtype)), shape, True)

    # ------------------------------------------------------------------ arithmetic
    def _with_values(self, values: Tensor) -> "SparseCooTensor":
        return SparseCooTensor(self._idx, values, self._shape, self._coalesced)

    def mul(self, other: Any) -> "SparseCooTensor":
        """self * other, sparse, as torch's: by a number or a 0-d tensor (the values scaled); by a dense tensor that
        broadcasts to self's shape (the product on self's pattern: a tensor of self's shape gets a sparse gradient
        there, as torch's); by another sparse tensor of self's shape (both coalesced, the product where both hold an
        entry). dense * sparse is the same product."""
        if isinstance(other, SparseCooTensor):
            return self._mul_sparse(other)
        if isinstance(other, Tensor) and other.ndim:
            check_devices("mul", [self._val, other])
            if other.shape != self._shape:
                try:
                    grown = np.broadcast_shapes(other.shape, self._shape) != self._shape
                except ValueError:
                    grown = True
                if grown:
                    raise RuntimeError(f"mul: a sparse COO tensor of shape {self._shape} multiplies a number, a 0-d "
                                       f"tensor or a dense tensor that broadcasts to its shape, got shape "
                                       f"{tuple(other.shape)}")
                other = other.expand(self._shape)
            idx = self._idx.array
            if other.requires_grad and _mode.grad_enabled and self.sparse_dim():
                gathered = SparseGather(idx, self._coalesced)(other)  # (torch's sparse gradient)
            else:
                gathered = _ops.GetItem(tuple(idx))(other) if self.sparse_dim() else other[None]
            return self._with_values(self._val * gathered)._with_form(
                self._form_image(lambda g: (g * other,), self._shape, other))
        if not isinstance(other, (numbers.Number, Tensor)):
            return NotImplemented
        return self._with_values(self._val * other)._with_form(
            self._form_image(lambda g: (g * other,), self._shape, other))

    def _mul_sparse(self, other: "SparseCooTensor") -> "SparseCooTensor":
        """self * other for two sparse COO tensors of one shape and sparse_dim: both coalesced, the products where
        both hold an entry (coalesced), as torch's intersection (differentiable in both operands' values)."""
        if other.shape != self._shape or other.sparse_dim() != self.sparse_dim():
            raise RuntimeError("sparse_binary_op_intersection_cpu(): expects sparse inputs with equal dimensionality, "
                               "number of sparse dimensions, and shape of sparse dimensions")  # (torch's)
        check_devices("mul", [self._val, other._val])
        a, b = self.coalesce(), other.coalesce()
        xp = backend.xp_of(a._idx.array)
        sshape = self._shape[:self.sparse_dim()]
        _, ia, ib = xp.intersect1d(_linear(a._idx.array, sshape), _linear(b._idx.array, sshape), assume_unique=True,
                                   return_indices=True)
        fa, fb = a._grad_form(), b._grad_form()
        values = _ops.GetItem((ia,))(_values_for(a)) * _ops.GetItem((ib,))(_values_for(b))
        idx = Tensor._make(a._idx.array[:, ia])
        if fa is None and fb is None:
            return SparseCooTensor(idx, values, self._shape, True)
        # (torch's mul backward: each operand's gradient the product's times the other operand, sparse)
        for form, other_val, at in ((fa, b._val, ib), (fb, a._val, ia)):
            if form is not None:
                values = _FormGrad(lambda g, v=other_val, at=at: SparseCooTensor(
                    idx, g * _ops.GetItem((at,))(v), self._shape, False))(form, values)
        whole = None
        if (fa is not None or not a.requires_grad) and (fb is not None or not b.requires_grad):
            forms, others = zip(*[(f, o) for f, o in ((fa, b), (fb, a)) if f is not None])
            whole = _FormOp(self._shape, lambda g: tuple(g * o.detach() for o in others))(*forms)
        return SparseCooTensor(idx, values, self._shape, True)._with_form(whole)

    __mul__ = __rmul__ = mul

    def div(self, other: Any) -> "SparseCooTensor":
        """self / other for a number or a 0-d tensor."""
        if isinstance(other, Tensor) and other.ndim or not isinstance(other, (numbers.Number, Tensor)):
            raise RuntimeError(f"div: a sparse COO tensor divides only by a number or a 0-d tensor, got "
                               f"{type(other).__name__}")
        return self._with_values(self._val / other)._with_form(
            self._form_image(lambda g: (g / other,), self._shape, other))

    __truediv__ = div

    def _form_image(self, adjoint: Any, shape: tuple, other: Any = None) -> Optional[Tensor]:
        """The gradient form (_grad_form) of a result of this shape, linear in this tensor, whose gradient maps back
        by adjoint (_FormOp), if this tensor has a form and other (a factor) needs no gradient (through a form,
        which holds zeros, its gradient would be wrong)."""
        form = self._grad_form()
        return None if form is None or getattr(other, "requires_grad", False) else _FormOp(shape, adjoint)(form)

    def _in_place(self, op: str, out: "SparseCooTensor") -> "SparseCooTensor":
        self._check_in_place(f"{op}: ")
        if out._val.dtype != self._val.dtype and op != "copy_":  # (the tensor keeps its dtype, as torch's)
            if _ops._CATEGORY[out._val.dtype.kind] > _ops._CATEGORY[self._val.dtype.kind]:  # (float into bool/int)
                raise _RuntimeTypeError(f"{op}: result type {dtype_name(out._val.dtype)} can't be cast to the "
                                        f"desired output type {dtype_name(self._val.dtype)} (this sparse COO "
                                        "tensor's, as torch's)")
            out = SparseCooTensor(out._idx, out._val.to(self._val.dtype), out._shape, out._coalesced)
        return self._replace(out._idx, out._val, out._shape, out._coalesced, out._form)  # (add_'s, copy_'s entries)

    def mul_(self, other: Any) -> "SparseCooTensor":
        """In place: the values times other (a number, a 0-d tensor, or a dense tensor of this shape), as torch's
        (hand-written clipping and gradient averaging: p.grad.mul_(clip_coef) on a sparse gradient)."""
        out = self.mul(other)
        if out is NotImplemented:
            raise TypeError(f"mul_: a sparse COO tensor multiplies a number or a tensor, got {type(other).__name__}")
        if not isinstance(other, SparseCooTensor):
            out._coalesced = out._nnz() <= 1  # (torch's flag: in place by a number or a dense tensor)
        return self._in_place("mul_", out)

    def div_(self, other: Any) -> "SparseCooTensor":
        """In place: the values divided by a number or a 0-d tensor, as torch's."""
        return self._in_place("div_", self.div(other))

    def neg(self) -> "SparseCooTensor":
        return self._with_values(-self._val)._with_form(self._form_image(lambda g: (-g,), self._shape))

    __neg__ = negative = neg

    def neg_(self) -> "SparseCooTensor":
        """-self in place (torch's neg_, coalesced or not)."""
        return self._in_place("neg_", self.neg())

    negative_ = neg_

    def positive(self) -> "SparseCooTensor":
        return self

    def conj(self) -> "SparseCooTensor":
        """The complex conjugate (its values'; a real tensor itself)."""
        return self if self._val.dtype.kind != "c" else self._with_values(self._val.conj())

    def _unary(self, name: str, *args: Any, **kwargs: Any) -> "SparseCooTensor":
        """The values' op ``name`` on the coalesced tensor (a zero-preserving elementwise op, as torch's sparse
        kernels: coalesced first, since f(a + b) is not f(a) + f(b)); differentiable through the values."""
        c = self.coalesce()
        return SparseCooTensor(c._idx, getattr(c._val, name)(*args, **kwargs), self._shape, True)

    def _unary_(self, name: str, *args: Any, **kwargs: Any) -> "SparseCooTensor":
        """The values' op ``name`` in place, on a coalesced tensor only (torch's rule and message)."""
        if not self._coalesced:
            raise RuntimeError(f"{name}_ requires coalesced input")
        return self._in_place(f"{name}_", self._unary(name, *args, **kwargs))

    def pow(self, exponent: Any) -> "SparseCooTensor":
        """self ** exponent for a non-zero number exponent (the values', coalesced first, as torch's; a zero one
        would make every unspecified element 1: torch's error)."""
        if isinstance(exponent, (Tensor, SparseCooTensor)) or not isinstance(exponent, numbers.Number):
            raise NotImplementedError(f"pow: a sparse COO tensor takes only a number exponent (as torch's), got "
                                      f"{type(exponent).__name__}")
        if exponent == 0:
            raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make the result tensor "
                               "dense")
        return self._unary("pow", exponent)

    __pow__ = pow

    def copy_(self, src: Any, non_blocking: bool = False) -> "SparseCooTensor":
        """self takes src's indices, values (in self's dtype and device, differentiably) and shape, in place, as
        torch's sparse copy_; a dense src is torch's error."""
        if not isinstance(src, SparseCooTensor):
            raise RuntimeError(f"copy_() between dense and sparse Tensors is not implemented! Found self type = "
                               f"torch.sparse.{self._val.type().split('.')[-1]} and src type = "
                               f"{getattr(src, 'type', lambda: type(src).__name__)()}")
        self._check_dim_counts(src.sparse_dim(), src.dense_dim())
        out = SparseCooTensor(src._idx.to(self.device).clone(), src._val.to(self.device, self.dtype).clone(),
                              src.shape, src._coalesced)
        return self._in_place("copy_", out)

    def resize_as_(self, other: Any) -> "SparseCooTensor":
        """self with other's shape, sparse_dim and dense_dim, in place, as torch's sparse resize_as_ (sparse_resize_'s
        rules: an empty tensor takes any; a non-empty one keeps its numbers of dims and may only grow them); a tensor
        that requires grad is refused, as torch's (grad mode or not)."""
        if not isinstance(other, SparseCooTensor):
            raise RuntimeError(f"resize_as_: a sparse COO tensor resizes only as another one, got "
                               f"{type(other).__name__}")
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        return self.sparse_resize_(other.shape, other.sparse_dim(), other.dense_dim())

    def add(self, other: Any, *, alpha: Any = 1) -> "SparseCooTensor":
        """self + alpha other for another sparse COO tensor of the same shape: the entries of both, coalesced where
        both were (as torch's); with the very same indices (s + s, a running sum over one pattern) the values added
        on them, as torch's merge (torch merges other uncoalesced operands too, where these are concatenated: the
        same tensor, more entries stored)."""
        if not isinstance(other, SparseCooTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")  # (torch's)
        if other.shape != self._shape:
            raise RuntimeError(f"add: sparse COO shapes must match, got {self._shape} and {other.shape}")
        if other.sparse_dim() != self.sparse_dim():
            raise RuntimeError(f"add: expected 'self' and 'other' to have same density, but 'self' has "
                               f"{self.sparse_dim()} sparse dimensions while 'other' has {other.sparse_dim()} sparse "
                               "dimensions")
        fa, fb = self._grad_form(), other._grad_form()
        scaled = _values_for(other) if alpha == 1 else _values_for(other) * alpha
        a, b = self._idx.array, other._idx.array
        if a is b or a.shape == b.shape and bool((a == b).all()):
            out = SparseCooTensor(self._idx, _values_for(self) + scaled, self._shape,
                                  self._coalesced and other._coalesced)
        else:
            val = _ops.cat([_values_for(self), scaled])
            idx = Tensor._make(backend.xp_of(self._idx.array).concatenate([self._idx.array, other._idx.array], 1))
            out = SparseCooTensor(idx, val, self._shape, False)
            out = out.coalesce() if self._coalesced and other._coalesced else out
        if out._val.dtype.kind in "fc" and self._nnz() and other._nnz():  # (torch's merged sums start from zero: no
            out._val.array[...] += 0.0  # -0.0; one operand empty, the other's values as they are)
        if fa is None and fb is None:
            return out
        # (torch's add backward hands each operand the sum's gradient: sparse on the sum's pattern, scaled by alpha)
        pattern = out._unique_entries()
        val = out._val
        for form, scale in ((fa, 1), (fb, alpha)):
            if form is not None:
                val = _FormGrad(lambda g, scale=scale: pattern(g if scale == 1 else g * scale))(form, val)
        whole = None
        if (fa is not None or not self.requires_grad) and (fb is not None or not other.requires_grad):
            forms, scales = zip(*[(f, k) for f, k in ((fa, 1), (fb, alpha)) if f is not None])
            whole = _FormOp(self._shape, lambda g: tuple(g if k == 1 else g * k for k in scales))(*forms)
        return SparseCooTensor(out._idx, val, self._shape, out._coalesced)._with_form(whole)

    def _unique_entries(self) -> Any:
        """A function of a per-entry gradient g: the sparse tensor of this shape with g's first entry at each of
        this tensor's positions (repeats hold the same gradient), sorted, flagged uncoalesced (as torch's)."""
        if self._coalesced:
            idx, first = self._idx, None
        else:
            xp = backend.xp_of(self._idx.array)
            _, first = xp.unique(_linear(self._idx.array, self._shape[:self.sparse_dim()]), return_index=True)
            first = xp.asarray(first, np.int64)
            idx = Tensor._make(self._idx.array[:, first])
        return lambda g: SparseCooTensor(idx, g if first is None else _ops.GetItem((first,))(g), self._shape, False)

    __add__ = add

    def sub(self, other: Any, *, alpha: Any = 1) -> "SparseCooTensor":
        return self.add(other, alpha=-alpha)

    __sub__ = sub

    def add_(self, other: Any, *, alpha: Any = 1) -> "SparseCooTensor":
        """self + alpha other in place for another sparse COO tensor (add's entries), as torch's."""
        return self._in_place("add_", self.add(other, alpha=alpha))

    def sub_(self, other: Any, *, alpha: Any = 1) -> "SparseCooTensor":
        """self - alpha other in place for another sparse COO tensor, as torch's."""
        return self._in_place("sub_", self.add(other, alpha=-alpha))

    __iadd__, __isub__ = add_, sub_

    def mm(self, mat2: Any) -> Any:
        return _mm(self, mat2, True)

    def matmul(self, other: Any) -> Any:
        return _matmul(self, other)

    def mv(self, vec: Any) -> Tensor:
        return _mv(self, vec)

    def smm(self, mat: Any) -> "SparseCooTensor":
        return smm(self, mat)

    def hspmm(self, mat2: Any) -> "SparseCooTensor":
        return hspmm(self, mat2)

    def sspaddmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> "SparseCooTensor":
        return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def bmm(self, mat2: Any) -> Tensor:
        return _bmm(self, mat2)

    def __matmul__(self, other: Any) -> Any:
        return _matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _matmul(other, self)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
        """torch's Tensor.sum of a sparse tensor: sparse.sum's, but all of it (dim None) gives a sparse leaf a dense
        gradient, as torch's (sparse.sum's is on the leaf's pattern)."""
        if keepdim:
            raise RuntimeError("sum: keepdim is not supported for sparse COO tensors")
        if dim is not None or self._grad_form() is None:
            return sum(self, dim, dtype=dtype)
        out = sum(self.detach(), dim, dtype=dtype)
        return _whole(self, out, lambda g: g.to(self.dtype).expand(self._shape))

    # ------------------------------------------------------------------ the rest: a clear error
    def __getattr__(self, name: str) -> Any:
        """A Tensor method this class lacks: NotImplementedError naming it (torch's kind of error); anything else,
        a Tensor property or private name included, an AttributeError (so getattr(x, name, default) works)."""
        known = not name.startswith("_") and hasattr(Tensor, name)
        hint = f"; sparse COO supports only {_SUPPORTED}. Use .to_dense() first" if known else ""
        if known and callable(getattr(Tensor, name)):
            raise NotImplementedError(f"{name}: not supported for a sparse COO tensor (layout=torch.sparse_coo)"
                                      f"{hint}")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")

    def __getitem__(self, index: Any) -> Any:
        """s[i, :, None, ...]: integers (select), whole-dim slices, None and an Ellipsis, as torch's; a tensor
        whose sparse dims are all selected away is dense, and the rest of the index applies to it. Other slices and
        tensor indices are torch's NotImplementedError."""
        index = index if isinstance(index, tuple) else (index,)
        if builtins.sum(k is Ellipsis for k in index) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        used = builtins.sum(k is not None and k is not Ellipsis for k in index)
        if used > self.ndim:
            raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
        if builtins.any(k is Ellipsis for k in index):
            at = next(n for n, k in enumerate(index) if k is Ellipsis)
            index = index[:at] + (slice(None),) * (self.ndim - used) + index[at + 1:]
        out, d = self, 0
        for n, k in enumerate(index):
            if isinstance(out, Tensor):
                return out[(slice(None),) * d + index[n:]]
            if k is None:
                out, d = out.unsqueeze(d), d + 1
            elif isinstance(k, slice):
                if k != slice(None) and k.indices(out.shape[d]) != (0, out.shape[d], 1):
                    raise NotImplementedError("getitem: a sparse COO tensor takes only whole-dim slices (torch's: "
                                              "Could not run 'aten::as_strided' with arguments from the 'SparseCPU' "
                                              "backend)")
                d += 1
            elif isinstance(k, (numbers.Integral, Tensor)) and not isinstance(k, bool) \
                    and (not isinstance(k, Tensor) or k.ndim == 0 and k.dtype.kind in "iu"):
                if not -out.shape[d] <= int(k) < out.shape[d]:
                    raise IndexError(f"index {int(k)} is out of bounds for dimension {d} with size {out.shape[d]}")
                out = out.select(d, int(k))
            else:
                raise NotImplementedError(f"getitem: a sparse COO tensor takes integers, whole-dim slices, None and "
                                          f"an Ellipsis, got {type(k).__name__} (torch's: Could not run "
                                          "'aten::index.Tensor' with arguments from the 'SparseCPU' backend)")
        return out

    def select(self, dim: int, index: int) -> Any:
        """The slice at index along dim, as torch's: along a sparse dim, the entries there without that index row
        (not coalesced); the last sparse dim selected, the dense sum of those entries' values; along a dense dim,
        the values' select. Differentiable w.r.t. the values (torch's backward refuses a sparse input here)."""
        if not self.ndim:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = _ops._one_dim(dim, self.ndim, "select")
        size, sd = self._shape[d], self.sparse_dim()
        k = operator.index(index)
        if not -size <= k < size:
            raise IndexError(f"select(): index {k} out of range for tensor of size {list(self._shape)} at dimension "
                             f"{d}")
        k %= size
        shape = self._shape[:d] + self._shape[d + 1:]
        if d >= sd:
            out = SparseCooTensor(self._idx, self._val.select(d - sd + 1, k), shape, False)  # (torch's flag)
            return self._view(out)
        xp = backend.xp_of(self._idx.array)
        keep = xp.flatnonzero(self._idx.array[d] == k)
        values = _ops.GetItem((keep,))(self._val)
        if sd == 1:
            return values.sum(0)
        idx = xp.concatenate([self._idx.array[:d], self._idx.array[d + 1:]])[:, keep]
        return self._view(SparseCooTensor(Tensor._make(idx), values, shape, keep.shape[0] <= 1)._with_form(
            self._form_image(lambda g: (_scattered(g, self._shape, d, k),), shape)))

    def __bool__(self) -> bool:
        raise NotImplementedError("bool: not supported for a sparse COO tensor; use .to_dense() first")

    def __repr__(self) -> str:
        def body(t: Tensor, indent: int) -> str:
            return "tensor(" + _printing.tensor_str(backend.to_device(t.array, "cpu"), indent) + \
                ("" if t.numel() else f", size={tuple(t.shape)}") + ")"
        suffixes = [f"size={self._shape}", f"nnz={self._nnz()}"]
        dt = self.dtype
        if dt != _defaults.floating and dt.kind != "b" and dt != np.int64:
            suffixes.append(f"dtype={dtype_name(dt)}")
        suffixes.append("layout=torch.sparse_coo")
        if self._val.grad_fn is not None:
            suffixes.append(f"grad_fn=<{shown_name(self._val.grad_fn)}>")
        elif self._val.requires_grad:
            suffixes.append("requires_grad=True")
        if self.device != backend.get_default_device():
            suffixes.insert(0, f"device='{self.device}'")
        return (f"tensor(indices={body(self._idx, 22)},\n       values={body(self._val, 21)},\n       "
                + ", ".join(suffixes) + ")")


# torch's zero-preserving elementwise ops on sparse COO (f(0) = 0: the unspecified elements stay 0): each the values'
# op on the coalesced tensor, in place (name_) on a coalesced one only
_UNARY = ("abs", "sqrt", "sign", "sgn", "sin", "tan", "tanh", "asin", "asinh", "atan", "atanh", "sinh", "relu",
          "log1p", "expm1", "square", "floor", "ceil", "round", "trunc", "frac", "nan_to_num", "erf", "erfinv",
          "deg2rad", "rad2deg", "isnan", "isinf", "isposinf", "isneginf", "signbit")
_NO_IN_PLACE = ("square", "isnan", "isinf", "isposinf", "isneginf", "signbit")


def _unary_method(name: str, in_place: bool) -> Any:
    def method(self: SparseCooTensor, *args: Any, **kwargs: Any) -> SparseCooTensor:
        return self._unary_(name, *args, **kwargs) if in_place else self._unary(name, *args, **kwargs)
    method.__name__ = name + "_" * in_place
    method.__doc__ = (f"torch's sparse {name}{'_' * in_place}: the values' {name} on the coalesced tensor"
                      + (" (itself, coalesced, in place)" if in_place else ""))
    return method


for _name in _UNARY:
    setattr(SparseCooTensor, _name, _unary_method(_name, False))
    if _name not in _NO_IN_PLACE:
        setattr(SparseCooTensor, _name + "_", _unary_method(_name, True))
SparseCooTensor.__abs__ = SparseCooTensor.abs


def _fma(a: Any, b: Any, c: Any) -> Any:
    """a * b + c with (almost always) one rounding, as a fused multiply-add (torch's vectorised axpy): the product's
    rounding error (Dekker's split) and the sum's (Knuth's two-sum) added back. A float array b and c; a a number."""
    xp = backend.xp_of(b)
    split = float(2 ** ((np.finfo(b.dtype).nmant + 2) // 2) + 1)
    a = b.dtype.type(a)
    p = a * b
    ta, tb = split * a, split * b
    ah, bh = ta - (ta - a), tb - (tb - b)
    al, bl = a - ah, b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    total = p + c
    back = total - p
    err = (p - (total - back)) + (c - back)
    out = total + (err + e)
    return xp.where(xp.isfinite(out), out, a * b + c)  # (an inf or nan: the plain sum's)


def _axpy_into(out: Any, idx: Any, values: Any, alpha: Any, coalesced: bool) -> None:
    """out += alpha * the sparse tensor (idx (sparse_dim >= 1, nnz), values) in place, rounded as torch's CPU kernel:
    entry by entry in their stored order, out = alpha * value + out in one rounding (a fused multiply-add), so a
    repeated index's entries in turns (past 64 repeats of one index, their sum in one step instead); a coalesced
    tensor of scalar values (torch's other kernel) out + alpha * value, two roundings."""
    xp = backend.xp_of(out)
    if alpha == 1 or out.dtype.kind != "f" or values.dtype != out.dtype:
        backend.scatter_add(out, tuple(idx), values if alpha == 1 else alpha * values)
        return
    if coalesced and values.ndim == 1:
        index = tuple(idx)
        out[index] = out[index] + alpha * values
        return
    lin = _linear(idx, out.shape[:idx.shape[0]])
    order = xp.argsort(lin, kind="stable")
    ordered = lin[order]
    new = xp.concatenate([xp.ones(min(1, ordered.shape[0]), bool), ordered[1:] != ordered[:-1]])
    starts = xp.flatnonzero(new)
    rank = xp.empty_like(order)
    rank[order] = xp.arange(order.shape[0]) - backend.repeat(starts, xp.diff(xp.append(starts, order.shape[0])))
    turns = int(rank.max()) + 1 if rank.shape[0] else 0
    if turns > 64:  # (one index repeated a lot: its entries summed, then one fused step)
        uniq, inverse = xp.unique(lin, return_inverse=True)
        sums = xp.zeros((uniq.shape[0],) + values.shape[1:], values.dtype)
        backend.scatter_add(sums, (inverse.reshape(-1),), values)
        idx, values, rank, turns = _unravel(uniq, out.shape[:idx.shape[0]]), sums, xp.zeros(uniq.shape[0], int), 1
    for turn in range(turns):
        sel = xp.flatnonzero(rank == turn) if turns > 1 else slice(None)
        index = tuple(idx[:, sel])
        out[index] = _fma(alpha, values[sel], out[index])


def _add_into(array: Any, x: SparseCooTensor, alpha: Any) -> None:
    """array += alpha * x in place for a sparse COO x of array's shape, rounded as torch's dense.add_(sparse,
    alpha=) (_axpy_into): the optimizers' update of a parameter with a sparse gradient."""
    if not x.sparse_dim():  # (no sparse dims: the values' sum is the whole tensor)
        array += alpha * x._val.array.sum(0)
        return
    _axpy_into(array, x._idx.array, x._val.array, alpha, x._coalesced)


class AddSparse(Function):
    """dense + alpha * sparse (its indices this op's, its values the second input): torch's dense.add(sparse,
    alpha=) and sub, rounded as its (_axpy_into). Gradients: the dense operand's g, the values' alpha * g at their
    indices."""

    name = "add"
    saves_nothing = True

    def __init__(self, idx: Any, alpha: Any, coalesced: bool) -> None:
        self.idx, self.alpha, self.coalesced = idx, alpha, coalesced

    def forward(self, d, v):
        out = d.copy()
        _axpy_into(out, self.idx, v, self.alpha, self.coalesced)
        return out

    def backward(self, g):
        gv = _ops.GetItem(tuple(self.idx))(g) * self.alpha if self.needs_input_grad[1] else None
        return g, gv


def _add_dense(d: Tensor, x: SparseCooTensor, alpha: Any, op: str) -> Tensor:
    """d + alpha * x (op "add") or d - alpha * x ("sub") for a dense d and a sparse COO x, rounded as torch's
    (AddSparse). Other dtypes than d's and x's same float dtype take the dense form's sum (d + alpha * x.to_dense()),
    as does a tensor of no sparse dims."""
    alpha = _ops.scalar_arg(alpha)
    if x.shape != d.shape or d.dtype != x.dtype or d.dtype.kind != "f" or not x.sparse_dim() \
            or not isinstance(alpha, numbers.Real):
        return _ops.Add()(*_ops.scaled_operands(op, d, x, alpha if op == "add" else -alpha))
    check_devices(op, [d, x._val])
    scale = alpha if op == "add" else -alpha
    out = AddSparse(x._idx.array, scale, x._coalesced)(d, _values_for(x))
    return _whole(x, out, lambda g: g if scale == 1 else g * scale)  # (torch's: a sparse leaf's gradient is dense)


def _nonzeros(g: Tensor) -> SparseCooTensor:
    """g's non-zeros as a sparse tensor flagged uncoalesced: to_dense(masked_grad=False)'s gradient, as torch's."""
    out = to_sparse(g)
    out._coalesced = False
    return out


def _is_sparse(x: Any) -> bool:
    return isinstance(x, SparseCooTensor)


def _tensor_arg(x: Any, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or a sparse COO tensor, got {type(x).__name__}")
    return x


class check_sparse_tensor_invariants:  # noqa: N801  (torch's name)
    """torch.sparse.check_sparse_tensor_invariants: while enabled (a context manager, a decorator, or enable() /
    disable()), sparse_coo_tensor checks what check_invariants=True checks (its argument, when given, decides).
    The indices are checked against the size always here; the invariants add is_coalesced=True's check that the
    indices are sorted and unique (torch's error)."""

    _enabled = False

    def __init__(self, enable: bool = True) -> None:
        self.state, self.saved = enable, None

    @staticmethod
    def is_enabled() -> bool:
        """Whether the checks are on (off by default, as torch's)."""
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable() -> None:
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable() -> None:
        check_sparse_tensor_invariants._enabled = False

    def __enter__(self) -> "check_sparse_tensor_invariants":
        if self.saved is not None:
            raise RuntimeError("This context manager instance is already activated. Use a different context manager "
                               "instance for context nesting.")
        self.saved = check_sparse_tensor_invariants._enabled
        check_sparse_tensor_invariants._enabled = self.state
        return self

    def __exit__(self, *exc: Any) -> None:
        check_sparse_tensor_invariants._enabled, self.saved = self.saved, None

    def __call__(self, func: Any) -> Any:
        import functools  # noqa: PLC0415

        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with check_sparse_tensor_invariants(self.state):
                return func(*args, **kwargs)
        return wrapped


def sparse_coo_tensor(indices: Any, values: Any = None, size: Any = None, *, dtype: Any = None, device: Any = None,
                      pin_memory: bool = False, requires_grad: bool = False, check_invariants: Optional[bool] = None,
                      is_coalesced: Optional[bool] = None) -> SparseCooTensor:
    """torch.sparse_coo_tensor: a sparse COO tensor with values (nnz, *dense_shape) at the columns of indices
    (sparse_dim, nnz), of size (sparse sizes, then values' trailing dims; without it the least that holds the
    indices). Repeated indices add up. The indices are always checked against size (torch checks only with
    check_invariants=True). requires_grad=True makes a sparse leaf (its .grad: see the module's docstring);
    is_coalesced=True vouches that the indices are sorted and unique (checked where check_invariants, or
    check_sparse_tensor_invariants, asks). sparse_coo_tensor(size) alone: an empty tensor of that size (all dims
    sparse, the default dtype), as torch's."""
    op = "sparse_coo_tensor"
    if values is None and size is None:  # (torch's sparse_coo_tensor(size, *, dtype, device, requires_grad))
        try:
            shape = tuple(operator.index(n) for n in indices)
        except TypeError:
            raise TypeError(f"{op}: takes (indices, values[, size]) or (size), got {type(indices).__name__} "
                            "alone") from None
        from .creation import zeros  # noqa: PLC0415
        empty = SparseCooTensor(zeros((len(shape), 0), dtype=np.int64, device=device),
                                zeros((0,), dtype=dtype, device=device), shape, True)
        return empty.requires_grad_(True) if requires_grad else empty
    if isinstance(values, Tensor):
        val = values if dtype is None else values.to(dtype)
        val = val if device is None else val.to(device)
    else:
        from .creation import tensor  # noqa: PLC0415
        val = tensor(values, dtype=dtype, device=device)
    if isinstance(indices, Tensor):
        idx = indices.detach()
    else:
        from .creation import as_tensor  # noqa: PLC0415
        idx = as_tensor(backend.as_array(indices) if not isinstance(indices, (list, tuple)) else indices)
    if idx.device != val.device:
        idx = idx.to(val.device) if device is not None else idx
        if idx.device != val.device:
            raise RuntimeError(f"{op}: device of indices ({idx.device}) must match device of values ({val.device})")
    if idx.dtype != np.int64:
        if idx.dtype.kind not in "biuf":
            raise TypeError(f"{op}: indices must be an integer tensor, got {dtype_name(idx.dtype)}")
        idx = idx.to(np.int64)
    if idx.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    if val.ndim == 0:
        raise RuntimeError(f"{op}: values must have at least one dim (nnz, ...), got a 0-d tensor")
    nnz, sd = idx.shape[1], idx.shape[0]
    if val.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                           f"values: {val.shape[0]}")
    a = idx.array
    lo = [int(v) for v in a.min(1)] if nnz else [0] * sd
    hi = [int(v) for v in a.max(1)] if nnz else [-1] * sd
    for d, m in enumerate(lo):
        if m < 0:
            raise RuntimeError(f"found negative index {m} for dim {d}")
    if size is None:
        shape = tuple(h + 1 for h in hi) + tuple(val.shape[1:])
    else:
        try:
            shape = tuple(operator.index(n) for n in size)
        except TypeError:
            raise TypeError(f"{op}: size must be a tuple or list of ints, got {size!r}") from None
        if len(shape) != sd + val.ndim - 1:
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(shape)}, "
                               f"sparse_dim = {sd}, dense_dim = {val.ndim - 1}")
        for d in range(sd):
            if hi[d] >= shape[d]:
                raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {shape[d]} but found "
                                   f"index {hi[d]}")
        if tuple(shape[sd:]) != tuple(val.shape[1:]):
            raise RuntimeError(f"{op}: values' dense shape {tuple(val.shape[1:])} must match size's trailing dims "
                               f"{tuple(shape[sd:])}")
    check = check_sparse_tensor_invariants._enabled if check_invariants is None else check_invariants
    if check and is_coalesced and nnz > 1:
        lin = _linear(a, shape[:sd])
        if not bool((lin[1:] > lin[:-1]).all()):
            raise RuntimeError("cannot set is_coalesced to true if indices correspond to uncoalesced COO tensor")
    out = SparseCooTensor(idx, val, shape, nnz <= 1 if is_coalesced is None else bool(is_coalesced))
    if requires_grad:
        out.requires_grad_(True)
    return out


def zeros_like(input: SparseCooTensor, dtype: Any = None, requires_grad: bool = False, *,
               device: Any = None) -> SparseCooTensor:
    """torch.zeros_like / empty_like of a sparse COO tensor: no entries (coalesced), its shape, sparse_dim and
    dense_dim, its dtype and device unless given; requires_grad=True makes a sparse leaf."""
    xp = backend.xp_of(input._val.array)
    dt = input._val.array.dtype if dtype is None else _dt(dtype, "zeros_like")
    sd = input.sparse_dim()
    out = SparseCooTensor(Tensor._make(xp.zeros((sd, 0), np.int64)),
                          Tensor._make(xp.zeros((0,) + input.shape[sd:], dt)), input.shape, True)
    if device is not None:
        out = out.to(device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _legacy(dtype: Any) -> Any:
    def ctor(indices: Tensor, values: Any, size: Any = None, *, device: Any = None) -> SparseCooTensor:
        warnings.warn("torch.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please use "
                      "torch.sparse_coo_tensor(indices, values, shape, dtype=, device=).", UserWarning, stacklevel=2)
        return sparse_coo_tensor(indices, values, size, dtype=dtype, device=device)
    ctor.__doc__ = f"torch.sparse's legacy constructor: sparse_coo_tensor(indices, values, size) of dtype {dtype}."
    return ctor


FloatTensor, DoubleTensor, LongTensor = _legacy(np.float32), _legacy(np.float64), _legacy(np.int64)


def to_sparse(x: Tensor, sparse_dim: Optional[int] = None, *, layout: Any = None, blocksize: Any = None,
              dense_dim: Any = None) -> SparseCooTensor:
    """Tensor.to_sparse: the non-zero entries of a dense tensor as a coalesced sparse COO tensor, its first
    sparse_dim dims (all by default) indexed; the values are differentiable (a gather of x)."""
    if layout not in (None, sparse_coo) or blocksize is not None or dense_dim is not None:
        raise NotImplementedError(f"to_sparse: only the sparse COO layout is supported here, got layout={layout}")
    sd = x.ndim if sparse_dim is None else sparse_dim
    if not 0 <= sd <= x.ndim:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{x.ndim}] range, but {sd} is given")
    if sd == 0 and x.ndim:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when self.dim()>0")
    a = x.array
    xp = backend.xp_of(a)
    nz = a != 0
    if sd < x.ndim:
        nz = nz.any(axis=tuple(range(sd, x.ndim)))
    idx = xp.stack(xp.nonzero(nz)).astype(np.int64) if sd else xp.zeros((0, 1), np.int64)
    val = _ops.GetItem(tuple(idx))(x) if sd else x.reshape((1,) + x.shape)
    return SparseCooTensor(Tensor._make(idx), val, x.shape, True)


def sparse_mask(x: Tensor, mask: Any) -> SparseCooTensor:
    """Tensor.sparse_mask: a sparse COO tensor with mask's indices (their order and repeats, coalesced where mask
    is) and x's values there (mask's values ignored; mask's dense dims taken whole from x), as torch's; the values
    are differentiable (a gather of x: old sparse optimizers' state['sum'].sparse_mask(grad))."""
    if not isinstance(mask, SparseCooTensor):
        raise NotImplementedError(f"sparse_mask: mask must be a sparse COO tensor, got {type(mask).__name__} (torch "
                                  "has no sparse_mask with a strided mask)")
    if tuple(x.shape) != mask.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size {list(x.shape)} but mask "
                           f"has size {list(mask.shape)}")  # (torch's)
    return SparseCooTensor(mask._idx, _ops.GetItem(tuple(mask._idx.array))(x), mask.shape, mask._coalesced)


# ---------------------------------------------------------------------- joining
def cat(tensors: Sequence[Any], dim: int = 0) -> SparseCooTensor:
    """torch.cat of sparse COO tensors (tg.cat hands them here): every tensor's entries, not coalesced (unless one
    or none), as torch's. Along a sparse dim each tensor's index on it moves past the ones before; along a dense
    dim each tensor's values take their place in the joined dim, zeros elsewhere (torch's). The values' dtypes
    promote as tg.cat's; differentiable w.r.t. the values (torch's backward refuses a sparse input here)."""
    ts = list(tensors)
    for k, t in enumerate(ts):
        if not _is_sparse(t):
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found at position {k}.")
    first = ts[0]
    d, sd, dd = _ops._one_dim(dim, first.ndim, "cat"), first.sparse_dim(), first.dense_dim()
    rest = first.shape[:d] + first.shape[d + 1:]
    for k, t in enumerate(ts):
        if (t.sparse_dim(), t.dense_dim()) != (sd, dd):
            raise RuntimeError(f"All tensors must have the same sparse_dim and dense_dim: {sd}, {dd}, but tensor at "
                               f"position {k} has {t.sparse_dim()}, {t.dense_dim()}.")
        if t.shape[:d] + t.shape[d + 1:] != rest:
            raise RuntimeError(f"All tensors must have the same shape: {list(first.shape)} (except in the "
                               f"concatenating dimension), but found shape: {list(t.shape)} at position {k}.")
    check_devices("cat", [t._val for t in ts])
    vals = _ops._common([t._val for t in ts], "cat")
    xp = backend.xp_of(first._idx.array)
    total = builtins.sum(t.shape[d] for t in ts)
    idx = []
    if d < sd:
        offset = 0
        for t in ts:
            i = t._idx.array.copy()
            i[d] += offset
            idx.append(i)
            offset += t.shape[d]
    else:
        idx = [t._idx.array for t in ts]
        axis, offset, padded = d - sd + 1, 0, []
        for t, v in zip(ts, vals):
            parts = []
            for width in (offset, total - offset - t.shape[d]):
                shape = list(v.shape)
                shape[axis] = width
                parts.append(Tensor._make(xp.zeros(tuple(shape), v.array.dtype)))
            padded.append(_ops.cat([parts[0], v, parts[1]], axis))
            offset += t.shape[d]
        vals = padded
    shape = first.shape[:d] + (total,) + first.shape[d + 1:]
    forms, whole, parts, offset = [], None, [], 0
    for t in ts:
        form = t._grad_form()
        if form is not None:
            forms.append(form)
            parts.append((slice(None),) * d + (slice(offset, offset + t.shape[d]),))
        offset += t.shape[d]
    if forms and all(t._grad_form() is not None or not t.requires_grad for t in ts):
        whole = _FormOp(shape, lambda g: tuple((g.to_dense() if _is_sparse(g) else g)[part] for part in parts))(*forms)
    idx = xp.concatenate(idx, 1)
    return SparseCooTensor(Tensor._make(idx), _ops.cat(vals), shape, idx.shape[1] <= 1)._with_form(whole)


def stack(tensors: Sequence[Any], dim: int = 0) -> SparseCooTensor:
    """torch.stack of sparse COO tensors (tg.stack hands them here): cat of each unsqueezed at dim (a new sparse
    dim up to sparse_dim, else a dense one), as torch's."""
    ts = list(tensors)
    for k, t in enumerate(ts):
        if not _is_sparse(t):
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found at position {k}.")
        if t.shape != ts[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {k}")
    d = _ops._one_dim(dim, ts[0].ndim + 1, "stack")
    return cat([t.unsqueeze(d) for t in ts], d)


def spdiags(diagonals: Tensor, offsets: Tensor, shape: Sequence[int], layout: Any = None) -> SparseCooTensor:
    """torch.sparse.spdiags: a (m, n) sparse COO matrix with diagonals' row k on the diagonal offsets[k] (above the
    main one when positive), the entry of column j taken from diagonals[k, j] (those columns that diagonal and the
    matrix hold); the entries diagonal by diagonal, by column, not coalesced (unless one or none), as torch's.
    Differentiable w.r.t. diagonals (a gather). Only the sparse COO layout here (torch's CSR / CSC ones are not
    supported)."""
    from .tensor import strided  # noqa: PLC0415
    if layout is strided:
        raise RuntimeError(f"Only output layouts (Sparse, SparseCsc, SparseCsr) are supported, got {layout}")
    if layout not in (None, sparse_coo):
        raise NotImplementedError(f"spdiags: only the sparse COO layout is supported here, got layout={layout}")
    _tensor_arg(diagonals, "spdiags", "diagonals")
    _tensor_arg(offsets, "spdiags", "offsets")
    if len(shape) != 2:
        raise RuntimeError("Output shape must be 2d")
    if diagonals.ndim not in (1, 2):
        raise RuntimeError("Diagonals must be vector or matrix")
    if offsets.ndim > 1:
        raise RuntimeError("Offsets must be scalar or vector")
    if offsets.dtype != np.int64:
        kind = dtype_name(offsets.dtype).split(".")[-1].capitalize()
        raise RuntimeError(f"Offset Tensor must have dtype Long but got {kind}")
    diags = diagonals.reshape(1, -1) if diagonals.ndim == 1 else diagonals
    offs = [int(o) for o in backend.to_device(offsets.array, "cpu").reshape(-1)]
    if len(offs) != diags.shape[0]:
        raise RuntimeError(f"Number of diagonals ({diags.shape[0]}) does not match the number of offsets "
                           f"({len(offs)})")
    if len(set(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    m, n = (operator.index(k) for k in shape)
    xp = backend.xp_of(diags.array)
    rows, cols, picks = [], [], []
    for k, o in enumerate(offs):
        start, stop = max(0, o), min(n, m + o, diags.shape[1])
        if min(n, m + o) < start:
            raise RuntimeError(f"spdiags: offset {o} lies outside a matrix of shape ({m}, {n})")
        col = xp.arange(start, max(start, stop), dtype=np.int64)
        rows.append(col - o)
        cols.append(col)
        picks.append(k * diags.shape[1] + col)
    idx = xp.stack([xp.concatenate(rows), xp.concatenate(cols)]) if offs else xp.zeros((2, 0), np.int64)
    pick = xp.concatenate(picks) if offs else xp.zeros(0, np.int64)
    values = _ops.GetItem((pick,))(diags.reshape(-1))
    return SparseCooTensor(Tensor._make(idx), values, (m, n), idx.shape[1] <= 1)


# ---------------------------------------------------------------------- products
def _spmm(a: SparseCooTensor, b: Tensor, op: str, whole: bool = False) -> Tensor:
    """a @ b for a sparse (n, m) matrix a and a dense (m, p) or (m,) b: each entry's value times b's row at its
    column, scatter-added into its row (repeated indices add up). whole: torch.mm's gradient of a sparse leaf a,
    dense (g b^T); else torch.sparse.mm's, on its pattern."""
    _tensor_arg(b, op, "mat2")
    if a.sparse_dim() != 2 or a.dense_dim():
        raise RuntimeError(f"{op}: the sparse operand must be a matrix (2 sparse dims and no dense dims), got "
                           f"sparse_dim={a.sparse_dim()}, dense_dim={a.dense_dim()}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[1]:
        raise RuntimeError(f"{op}: expected a (n, m) sparse matrix and a (m, p) dense matrix, got shapes {a.shape} "
                           f"and {b.shape}")
    _same_dtype_device(a, b, op)
    row, col = a._idx.array
    if not whole:
        return SpMM(row, col, a.shape[0])(a._val, b)
    out = SpMM(row, col, a.shape[0])(_values_for(a), b)
    return _whole(a, out, lambda g: g @ b.t() if b.ndim == 2 else g.unsqueeze(1) * b.unsqueeze(0))


def _same_dtype_device(a: SparseCooTensor, b: Tensor, op: str) -> None:
    if b.dtype != a.dtype:  # (torch's RuntimeError: expected scalar type Float but found Double)
        raise _RuntimeTypeError(f"{op}: the sparse operand is {a.dtype} and the dense {b.dtype}; they must have one "
                                "dtype (as in torch)")
    check_devices(op, [a._val, b])


def _segment_sum(prod: Any, row: Any, n: int) -> Any:
    """zeros((n, ...)) with prod's rows added at row (repeats summing). On the CPU through a stable sort by row and
    add.reduceat, several times faster than add.at's scatter (a GCN's adjacency times its features); CuPy's
    scatter_add on the GPU."""
    xp = backend.xp_of(prod)
    out = xp.zeros((n,) + prod.shape[1:], prod.dtype)
    if row.size == 0:
        return out
    if xp is not np:
        backend.scatter_add(out, (row,), prod)
        return out
    if bool((row[1:] < row[:-1]).any()):
        order = np.argsort(row, kind="stable")
        row, prod = row[order], prod[order]
    starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
    out[row[starts]] = np.add.reduceat(prod, starts, axis=0) + 0.0  # (+ 0.0: a sum from zero, -0.0 none, as torch's)
    return out


class SpMM(Function):
    """out[i] = sum over entries k with row[k] = i of values[k] b[col[k]]: a sparse (n, m) matrix (row, col,
    values) times a dense (m, p) or (m,) b. Gradients: values' g[row] . b[col] (per entry), b's the transposed
    product S^T g (this op again, rows and columns swapped), both of Tensor ops, so higher orders work."""

    name = "sparse.mm"
    saved_inputs = (0, 1)

    def __init__(self, row: Any, col: Any, n: int) -> None:
        self.row, self.col, self.n = row, col, n

    def forward(self, v, b):
        prod = b[self.col] * (v.reshape(-1, 1) if b.ndim == 2 else v)
        return _segment_sum(prod, self.row, self.n)

    def backward(self, g):
        v, b = self.saved
        gv = gb = None
        if self.needs_input_grad[0]:
            gv = _ops.GetItem((self.row,))(g) * _ops.GetItem((self.col,))(b)
            gv = gv.sum(1) if b.ndim == 2 else gv
        if self.needs_input_grad[1]:
            gb = SpMM(self.col, self.row, b.shape[0])(v, g)
        return gv, gb


class _FormGrad(Function):
    """y itself, whose backward also hands side(g) to form: a sparse operand's gradient form (_grad_form), where
    torch's gradient of that operand is not the one its values get (the op then takes its values detached): the
    dense g @ b^T of torch.mm, sparse + sparse's g on the sum's pattern. Tensor ops, so higher orders work."""

    name = "sparse_grad"
    saves_nothing = True

    def __init__(self, side: Any) -> None:
        self.side = side

    def forward(self, form, y):
        return y

    def backward(self, g):
        return self.side(g) if self.needs_input_grad[0] else None, g


def _whole(x: SparseCooTensor, out: Tensor, side: Any) -> Tensor:
    """out, computed from x's values detached where x has a gradient form (_grad_form; x._val otherwise), with
    side(g) handed to that form: torch's gradient of x as a whole."""
    form = x._grad_form()
    return out if form is None else _FormGrad(side)(form, out)


def _values_for(x: SparseCooTensor) -> Tensor:
    """x's values for an op whose gradient w.r.t. x reaches x's gradient form (_whole): detached where x has one."""
    return x._val.detach() if x._grad_form() is not None else x._val


class _FormOp(Function):
    """A gradient form (_grad_form) of a result linear in its inputs' forms: zeros of shape (no memory: a form's
    values are never read), whose backward maps the gradient back by adjoint (g dense or sparse: SPARSE_BACKWARD),
    as torch's backward of that op does (transpose, products with constants, index_select, cat, ...)."""

    name = "sparse_grad_form"
    saves_nothing = True

    def __init__(self, shape: tuple, adjoint: Any) -> None:
        self.shape, self.adjoint = tuple(shape), adjoint

    def forward(self, *forms):
        xp = backend.xp_of(forms[0])
        return xp.broadcast_to(xp.zeros((), forms[0].dtype), self.shape)

    def backward(self, g):
        return self.adjoint(g)


def _scattered(g: Any, shape: tuple, d: int, index: Any) -> Tensor:
    """zeros(shape) with g placed along dim d at index (an int: select's; an index array, repeats adding up:
    index_select's); a sparse g made dense first (torch's backward refuses one here)."""
    g = g.to_dense() if _is_sparse(g) else g
    return _ops.IndexAdd(shape, (slice(None),) * d + (index,))(g)


class SparseGather(Function):
    """x[idx] (idx: (sparse_dim, nnz) indices into x's leading dims) whose gradient is sparse, as torch's for the
    dense operand of a product with a sparse tensor: a SparseCooTensor of x's shape, the output gradient's rows at
    idx (coalesced where idx is). The engine hands it to the leaf's .grad (autograd._accumulate_sparse)."""

    name = "mul"
    saves_nothing = True

    def __init__(self, idx: Any, coalesced: bool) -> None:
        self.idx, self.coalesced = idx, coalesced

    def forward(self, x):
        self.in_shape = x.shape
        return x[tuple(self.idx)]

    def backward(self, g):
        return (SparseCooTensor(Tensor._make(self.idx), g, self.in_shape, self.coalesced),)


class EmbeddingSparse(Function):
    """weight[index], F.embedding(sparse=True)'s lookup, whose gradient is torch's sparse one: a SparseCooTensor of
    weight's shape with an entry per looked-up position (index flattened, in order; its value the output
    gradient's row there), uncoalesced (unless of one entry), the positions at padding_idx left out, as torch's
    embedding_sparse_backward. The engine hands it to the weight's .grad (autograd._accumulate_sparse)."""

    name = "embedding"
    saves_nothing = True

    def __init__(self, index: Any, padding_idx: Optional[int], freq: bool) -> None:
        self.index, self.padding_idx, self.freq = index, padding_idx, freq

    def forward(self, w):
        self.in_shape = w.shape
        return w[self.index]

    def backward(self, g):
        if self.freq:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
        flat = self.index.reshape(-1)
        values = g.reshape(flat.shape[0], self.in_shape[1])
        if self.padding_idx is not None:
            keep = backend.xp_of(flat).flatnonzero(flat != self.padding_idx)
            flat, values = flat[keep], _ops.GetItem((keep,))(values)
        return (SparseCooTensor(Tensor._make(flat.astype(np.int64)[None]), values, self.in_shape,
                                flat.shape[0] <= 1),)


# The backward of a Function given a sparse COO gradient g, where torch's runs on one (a sparse gradient through a
# non-leaf embedding weight, F.embedding(w * 2, sparse=True)): the gradients it passes on, sparse on g's pattern;
# None where it cannot (broadcast shapes): the dense form then.
def _add_backward(node: Function, g: SparseCooTensor, sign: int) -> Optional[tuple]:
    """Add's and Sub's: g (and -g) to an input of g's shape, nothing to one that needs none (x + 1's constant)."""
    out = []
    for k, (shape, need) in enumerate(zip(node.shapes, node.needs_input_grad)):
        if not need:
            out.append(None)
        elif tuple(shape) != g.shape:
            return None
        else:
            out.append(-g if k and sign < 0 else g)
    return tuple(out)


def _scaled(node: Function, g: SparseCooTensor, op: Any) -> tuple:
    c = node.c if node.c.dtype.kind != "c" else node.c.conj()
    return (g._with_values(op(c)(g._val)),)


def _mul_backward(node: Function, g: SparseCooTensor) -> Optional[tuple]:
    a, b = node.saved
    if a.shape != g.shape or b.shape != g.shape or a.dtype.kind == "c" or b.dtype.kind == "c":
        return None
    need_a, need_b = node.needs_input_grad
    return g.mul(b) if need_a else None, g.mul(a) if need_b else None


SPARSE_BACKWARD = {
    _ops.MulScalar: lambda node, g: _scaled(node, g, _ops.MulScalar),
    _ops.DivScalar: lambda node, g: _scaled(node, g, _ops.DivScalar),
    _ops.Neg: lambda node, g: (-g,),
    _ops.Clone: lambda node, g: (g,),
    _ops.Add: lambda node, g: _add_backward(node, g, 1),
    _ops.Sub: lambda node, g: _add_backward(node, g, -1),
    _ops.RSub: lambda node, g: _add_backward(node, g, -1),
    _ops.Mul: _mul_backward,
    _ops.Exp: lambda node, g: (g.mul(node.output),) if node.output.dtype.kind != "c" else None,
    _FormOp: lambda node, g: node.adjoint(g),
}


def sparse_backward(node: Function) -> bool:
    """Whether node's backward takes a sparse COO gradient (SPARSE_BACKWARD): if so, its rule is installed on the
    node (its own backward, which a dense gradient still reaches), so the engine passes a sparse gradient on."""
    if "backward" in node.__dict__:
        return True
    rule = SPARSE_BACKWARD.get(type(node))
    if rule is None:
        return False
    dense_backward = type(node).backward

    def backward(g: Any) -> Any:
        if isinstance(g, SparseCooTensor):
            out = rule(node, g)
            if out is not None:
                return out
            g = g.to_dense()
        return dense_backward(node, g)
    node.backward = backward
    return True


def _mul(a: Any, b: Any) -> SparseCooTensor:
    """a * b where one is a sparse COO tensor (ops.mul's dense * sparse): sparse, as torch's (SparseCooTensor.mul)."""
    return a.mul(b) if _is_sparse(a) else b.mul(a)


def mm(mat1: Any, mat2: Any, reduce: str = "sum") -> Any:
    """torch.sparse.mm: mat1 @ mat2 where either is a sparse COO matrix (the other dense, or both sparse: then
    the result is sparse); differentiable w.r.t. the dense operand and the sparse one's values (a sparse leaf's
    gradient on its pattern, as torch's; tg.mm's is dense). reduce: "sum" only (torch's other reductions are for
    CSR matrices)."""
    if reduce != "sum":
        raise NotImplementedError(f"sparse.mm: reduce={reduce!r} is not supported for sparse COO (only 'sum'; "
                                  "torch's 'mean', 'amax' and 'amin' take a CSR matrix)")
    return _mm(mat1, mat2, False)


def _mm(mat1: Any, mat2: Any, whole: bool) -> Any:
    """mm's product; whole: torch.mm's (a sparse leaf's gradient dense, _spmm), else torch.sparse.mm's."""
    if _is_sparse(mat1) and _is_sparse(mat2):
        return _spmm(mat1, mat2.to_dense(), "mm").to_sparse()
    if _is_sparse(mat1):
        _two_d(_tensor_arg(mat2, "mm", "mat2"), "mat2")
        return _spmm(mat1, mat2, "mm", whole)
    if _is_sparse(mat2):  # (d @ s = (s^T d^T)^T)
        d = _two_d(_tensor_arg(mat1, "mm", "mat1"), "mat1")
        return _spmm(mat2.t(), d.t(), "mm", whole).t()
    return _ops.mm(mat1, mat2)


def _two_d(x: Tensor, name: str) -> Tensor:
    """x, the dense operand of a sparse mm, if a matrix; torch's IndexError below 2 dims (its dim -2 is out of
    range), RuntimeError above."""
    if x.ndim != 2:
        raise (_RuntimeIndexError if x.ndim < 2 else RuntimeError)(f"mm: {name} must be a 2-d Tensor, got shape "
                                                                  f"{x.shape}")
    return x


def spmm(input: Any, mat2: Any) -> Any:
    """torch.spmm: input @ mat2 for a sparse COO input and a dense mat2 (as Kipf's GCN layers call it); a sparse
    leaf's gradient is dense, as torch.mm's."""
    return _mm(input, mat2, True)


def hspmm(mat1: Any, mat2: Any) -> SparseCooTensor:
    """torch.hspmm: mat1 @ mat2 for a sparse COO (n, m) matrix and a dense (m, p) one, as a hybrid sparse tensor:
    one sparse dim (the rows mat1 holds an entry in, ascending), each value a row of the product; not coalesced,
    as torch's. Differentiable w.r.t. both (torch's has no derivative)."""
    return _row_product(mat1, mat2, "hspmm")


def _row_product(mat1: Any, mat2: Any, op: str) -> SparseCooTensor:
    """hspmm's result: the product's rows at mat1's rows with an entry (op names torch's errors)."""
    if not _is_sparse(mat1):
        raise RuntimeError(f"{op}: expected 'mat1' to have sparse layout, got 'mat1' with layout "
                           f"{getattr(mat1, 'layout', type(mat1).__name__)}".replace("torch.strided", "Strided"))
    _tensor_arg(mat2, op, "mat2")
    if mat2.ndim == 2 and mat1.ndim == 2 and mat2.shape[0] != mat1.shape[1]:
        raise RuntimeError(f"{op}: Argument #3: Expected dim 0 size {mat1.shape[1]}, got {mat2.shape[0]}")
    prod = _spmm(mat1, _two_d(mat2, "mat2"), op)
    rows = backend.xp_of(mat1._idx.array).unique(mat1._idx.array[0])
    return SparseCooTensor(Tensor._make(rows[None]), _ops.GetItem((rows,))(prod), tuple(prod.shape),
                           rows.shape[0] <= 1)  # (torch's flag: one row or none, coalesced)


def smm(input: Any, mat: Any) -> SparseCooTensor:
    """torch.smm: input @ mat for a sparse COO (n, m) input and a dense (m, p) mat, sparse: an entry for each
    column of each row input holds an entry in (row-major), not coalesced (unless one or none), as torch's.
    Differentiable w.r.t. both (torch's has no derivative)."""
    h = _row_product(input, mat, "sspaddmm")
    return _rows_as_entries(h)


def _rows_as_entries(h: SparseCooTensor) -> SparseCooTensor:
    """A hybrid (rows, row values) sparse tensor as one of 2 sparse dims: an entry per row and column."""
    xp = backend.xp_of(h._idx.array)
    n, p = h.shape
    rows = h._idx.array[0]
    idx = xp.stack([xp.repeat(rows, p),
                    xp.tile(xp.arange(p, dtype=np.int64), rows.shape[0])])
    return SparseCooTensor(Tensor._make(idx), h._val.reshape(-1), (n, p), idx.shape[1] <= 1)


def sspaddmm(input: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> SparseCooTensor:
    """torch.sspaddmm: beta input + alpha (mat1 @ mat2), sparse: input's entries (scaled) then smm's, not
    coalesced, as torch's (input a sparse COO (n, p) matrix, mat1 a sparse (n, m) one, mat2 a dense (m, p) one).
    Differentiable w.r.t. all three (torch's has no derivative)."""
    prod = smm(mat1, mat2)
    if not _is_sparse(input):
        raise RuntimeError(f"sspaddmm: expected 'self' to have sparse layout, got {type(input).__name__}")
    if input.shape != prod.shape:
        raise RuntimeError(f"sspaddmm: Argument #1: Expected a sparse ({prod.shape[0]}, {prod.shape[1]}) input, got "
                           f"shape {input.shape}")
    check_devices("sspaddmm", [input._val, prod._val])
    xp = backend.xp_of(prod._idx.array)
    values = _ops.cat(_ops._common([input._val * beta if beta != 1 else input._val,
                                    prod._val * alpha if alpha != 1 else prod._val], "sspaddmm"))
    idx = xp.concatenate([input._idx.array, prod._idx.array], 1)
    return SparseCooTensor(Tensor._make(idx), values, prod.shape, idx.shape[1] <= 1)


def _mv(input: SparseCooTensor, vec: Any) -> Tensor:
    """torch.mv with a sparse COO matrix input: input @ vec for a dense (m,) vec, (n,) (a PageRank power step)."""
    _tensor_arg(vec, "mv", "vec")
    if vec.ndim != 1 or input.ndim != 2 or input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: expected a (n, m) sparse matrix and an (m,) vector, got shapes {input.shape} and "
                           f"{vec.shape}")
    return _spmm(input, vec, "mv", True)


def _bmm(input: Any, mat2: Any) -> Tensor:
    """torch.bmm with a sparse COO input: (B, n, m) of 3 sparse dims times a dense (B, m, p), dense (B, n, p);
    differentiable w.r.t. mat2 and the values. The batch is one block-diagonal (B n, B m) matrix's product."""
    if _is_sparse(mat2):
        raise RuntimeError("bmm_sparse: Tensor 'mat2' must be dense (torch's bmm takes a sparse input only)")
    _tensor_arg(mat2, "bmm", "mat2")
    if input.sparse_dim() != 3 or input.dense_dim():
        raise RuntimeError(f"bmm_sparse: the sparse input must have 3 sparse dims and no dense dims, got "
                           f"sparse_dim={input.sparse_dim()}, dense_dim={input.dense_dim()}")
    B, n, m = input.shape
    if mat2.ndim != 3 or mat2.shape[0] != B or mat2.shape[1] != m:
        raise RuntimeError(f"bmm_sparse: expected a (B, n, m) sparse input and a (B, m, p) dense mat2, got shapes "
                           f"{input.shape} and {mat2.shape}")
    _same_dtype_device(input, mat2, "bmm")
    b, i, j = input._idx.array
    p = mat2.shape[2]
    out = SpMM(b * n + i, b * m + j, B * n)(_values_for(input), mat2.reshape(B * m, p)).reshape(B, n, p)
    return _whole(input, out, lambda g: g @ mat2.transpose(1, 2))  # (torch's: a sparse leaf's gradient is dense)


def _matmul(a: Any, b: Any) -> Any:
    """a @ b with a sparse operand: mm, or a 1-d dense vector as either operand (torch's sparse @ vector and
    vector @ sparse)."""
    if _is_sparse(a) and isinstance(b, Tensor) and b.ndim == 1:
        return _spmm(a, b, "matmul", True)
    if _is_sparse(b) and isinstance(a, Tensor) and a.ndim == 1:  # (v @ s = s^T v)
        return _spmm(b.t(), a, "matmul", True)
    if isinstance(b, Tensor) and b.ndim > 2 or isinstance(a, Tensor) and a.ndim > 2:
        raise RuntimeError("matmul: a sparse COO operand takes only a 2-d (or, second, 1-d) dense operand here")
    return _mm(a, b, True)


def addmm(mat: Tensor, mat1: Any, mat2: Any, *, beta: Any = 1., alpha: Any = 1.) -> Tensor:
    """torch.sparse.addmm: beta mat + alpha (mat1 @ mat2), mat1 sparse COO (or dense), mat2 dense (a sparse leaf's
    gradient on its pattern, as torch.sparse.mm's; tg.addmm's is dense, _addmm)."""
    return _addmm(mat, mat1, mat2, beta, alpha, False)


def _addmm(mat: Tensor, mat1: Any, mat2: Any, beta: Any, alpha: Any, whole: bool) -> Tensor:
    return _ops._scaled_sum("addmm", mat, _mm(mat1, mat2, whole), beta, alpha)


# ---------------------------------------------------------------------- reductions
def sum(input: SparseCooTensor, dim: Any = None, dtype: Any = None) -> Any:  # noqa: A001
    """torch.sparse.sum: all values summed (a dense 0-d tensor), or over the dims in dim: a sparse tensor of the
    dims left while some sparse dim is left, else a dense one."""
    if not _is_sparse(input):  # (a dense Tensor: torch's RuntimeError, coalesce expected sparse coordinate ...)
        raise (_RuntimeTypeError if isinstance(input, Tensor) else TypeError)(
            f"sparse.sum: input must be a sparse COO tensor, got {type(input).__name__}")
    dt = None if dtype is None else _dt(dtype, "sparse.sum")
    val = input._val if dt is None else input._val.to(dt)
    if dim is None:  # (torch's: an integer dtype asked for is kept, not widened to int64)
        return val.sum(dtype=dt)
    dims = [dim] if isinstance(dim, int) else list(dim)
    dims = [_ops._one_dim(d, input.ndim, "sparse.sum") for d in dims]
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    sd = input.sparse_dim()
    dense = tuple(d - sd + 1 for d in dims if d >= sd)
    if dense:
        val = val.sum(dense)
    kept = [d for d in range(sd) if d not in dims]
    if not kept:
        return val.sum(0)
    shape = tuple(input.shape[d] for d in kept) + tuple(input.shape[d] for d in range(sd, input.ndim)
                                                         if d not in dims)
    return SparseCooTensor(Tensor._make(input._idx.array[kept]), val, shape, False).coalesce()


def _softmax(input: SparseCooTensor, dim: int, dtype: Any, log: bool) -> SparseCooTensor:
    op = "sparse.log_softmax" if log else "sparse.softmax"
    if not _is_sparse(input):
        raise TypeError(f"{op}: input must be a sparse COO tensor, got {type(input).__name__}")
    x = input.coalesce()
    val = x._val if dtype is None else x._val.to(_dt(dtype, op))
    d, sd = _ops._one_dim(dim, input.ndim, op), x.sparse_dim()
    if d >= sd:  # (a dense dim: within each value)
        val = val.log_softmax(d - sd + 1) if log else val.softmax(d - sd + 1)
        return x._with_values(val)
    xp = backend.xp_of(x._idx.array)
    others = [k for k in range(sd) if k != d]  # (the entries that share the other sparse indices: one group)
    _, group = xp.unique(_linear(x._idx.array[others], [x.shape[k] for k in others]), return_inverse=True)
    group = group.reshape(-1)
    n = int(group.max()) + 1 if group.size else 0
    top = xp.full((n,) + val.shape[1:], -np.inf, val.dtype)
    backend.scatter_max(top, (group,), val.array)  # (a constant per group: softmax does not change with it)
    shifted = val - Tensor._make(top[group])
    sums = _ops.IndexAdd((n,) + val.shape[1:], (group,))(shifted.exp())
    out = shifted - _ops.GetItem((group,))(sums).log() if log else shifted.exp() / _ops.GetItem((group,))(sums)
    return x._with_values(out)


def softmax(input: SparseCooTensor, dim: int, *, dtype: Any = None) -> SparseCooTensor:
    """torch.sparse.softmax: softmax along dim over the stored entries only (the unspecified ones count as -inf);
    coalesced, on input's pattern."""
    return _softmax(input, dim, dtype, False)


def log_softmax(input: SparseCooTensor, dim: int, *, dtype: Any = None) -> SparseCooTensor:
    """torch.sparse.log_softmax: log of softmax (stored entries only), coalesced."""
    return _softmax(input, dim, dtype, True)


__all__ = ["FloatTensor", "DoubleTensor", "LongTensor", "SparseCooTensor", "addmm", "check_sparse_tensor_invariants",
           "hspmm", "log_softmax", "mm", "smm", "sspaddmm",
           "softmax", "sparse_coo", "sparse_coo_tensor", "spdiags", "spmm", "sum"]
