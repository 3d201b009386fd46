"""Fused whole-sequence recurrences: LSTM, GRU and Elman RNN as one Function each.

Each Function runs all T steps in ``forward`` on raw arrays and back-propagates
through time in ``backward`` with hand-derived array code (first order; under
create_graph the backward differentiates rnn.unrolled on the saved inputs instead,
so second-order gradients run, as torch's CPU recurrences'). Each step does one
matmul for all gates (on numpy, in blocks of rows where numpy's BLAS has small-matrix kernels:
see _product), plus, where the input part is not folded into it, one matmul up front
for the input projection of all steps, and the weight gradients are one
matmul each per group of backward blocks of steps (blocks of 65536 / H rows or
more, groups of at least 512: as fast per flop as one matmul over all T,
without holding every step's gate gradients).

Shapes are time-major: x (T, B, I); weights in PyTorch layout w_ih (G*H, I),
w_hh (G*H, H), b_ih/b_hh (G*H,); gate order LSTM (i, f, g, o), GRU (r, z, n).

Each Function has several outputs (see tensor.Function): the output (T, B, H),
h_n and for the LSTM c_n, the final states in memory of their own (as torch
returns them), (B, H), or (1, B, H) for a layer (``stacked``). Backward gets a
gradient for each output that one reached. Without ``lengths`` the output is a
view of the (T+1, B, H) hidden-state history that backward reads: [h0, out_0 ..
out_{T-1}] forwards, [out_0 .. out_{T-1}, h0] in reverse. With ``lengths`` the
history is a buffer of its own (finished sequences carry their state, while
their output is 0), and the batch is sorted by decreasing length inside the op,
so the sequences still running at step t are the rows [:n_t] (as in PyTorch
packed sequences).

On numpy the gate math is numpy ufuncs on preallocated buffers. The LSTM and
the RNN forward keep each step's vectors as columns (see _Columns): one matmul
W_cat @ [x_t; h; 1] per step gives the whole pre-activation, and every ufunc
runs on a contiguous (H, B) block (at B = 1 the RNN, and the LSTM without
lengths, stay in rows: see RNNSequence.forward, LSTMSequence._row_steps).
The LSTM's backward stays in columns; GRU and RNN backward, and the
GRU forward (whose n gate needs W_hn h apart), work on rows (B, H) with the
input projection of all steps as one matmul. Backward
first turns the saved activations of a block of steps into the per-element
coefficients of dh and dc (one vectorized pass), so each step costs a few
ufunc calls and one matmul. Big work arrays are reused from call to call
(_Workspace; ``empty_cache()`` frees them). On CuPy a step is one cuBLAS
product and one kernel for the gate math, launched through device addresses
(_StepCalls).
"""
from __future__ import annotations

import functools
import math
from collections import deque
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import backend
from ..tensor import Function, Tensor, _mode, _RuntimeValueError, dtype_name

ArrayLike = Union[Tensor, np.ndarray]

__all__ = ["lstm_sequence", "gru_sequence", "rnn_sequence", "LSTMSequence", "GRUSequence", "RNNSequence",
           "empty_cache"]

_CHUNK_ELEMS = 1 << 16  # elements of one (B, H) slice times steps per backward block (numpy path)
_GRAD_ROWS = 512  # the weight gradients: one product per group of backward blocks of at least this many rows


# ============================================================================ elementwise kernels
_SIGMOID = "template <typename U> __device__ __forceinline__ U tg_sigmoid(U x) " \
           "{ return U(0.5) * tanh(U(0.5) * x) + U(0.5); }"

_KERNEL_SOURCES = {
    # a: (n, 4, H) gate pre-activations without h @ w_hh.T, internal order (i, f, o, g); overwritten
    # with the activations. gh: (n, 4, H) = h_prev @ w_hh.T in the same order.
    "lstm_fwd": ("raw T gh, T c_prev, int32 H", "raw T a, T c, T h", """
        const ptrdiff_t b = i / H, k = b * 4 * H + (i - b * H);
        const T gi = tg_sigmoid(a[k] + gh[k]);
        const T gf = tg_sigmoid(a[k + H] + gh[k + H]);
        const T go = tg_sigmoid(a[k + 2 * H] + gh[k + 2 * H]);
        const T gg = tanh(a[k + 3 * H] + gh[k + 3 * H]);
        a[k] = gi; a[k + H] = gf; a[k + 2 * H] = go; a[k + 3 * H] = gg;
        c = gf * c_prev + gi * gg;
        h = go * tanh(c);
        """),
    # d: (n, 4, H) gate gradients in PyTorch order (i, f, g, o); dh (in: from step t+1, out: total
    # at t before the matmul with w_hh), dc (in: from t+1, out: to t-1).
    "lstm_bwd": ("raw T a, T c_prev, T c, T dout, int32 H", "raw T d, T dh, T dc", """
        const ptrdiff_t b = i / H, k = b * 4 * H + (i - b * H);
        const T gi = a[k], gf = a[k + H], go = a[k + 2 * H], gg = a[k + 3 * H];
        const T tc = tanh(c);
        const T dht = dh + dout;
        const T dct = dc + dht * go * (T(1) - tc * tc);
        d[k] = dct * gg * gi * (T(1) - gi);
        d[k + H] = dct * c_prev * gf * (T(1) - gf);
        d[k + 2 * H] = dct * gi * (T(1) - gg * gg);
        d[k + 3 * H] = dht * tc * go * (T(1) - go);
        dc = dct * gf;
        dh = dht;
        """),
    # a: (n, 4, H) slots [n, r, z, hn]: input parts (with b_in, b_ir + b_hr, b_iz + b_hz) and b_hn;
    # gh: (n, 3, H) = h_prev @ w_hh.T in order (r, z, n).
    "gru_fwd": ("raw T gh, T h_prev, int32 H", "raw T a, T h", """
        const ptrdiff_t b = i / H, j = i - b * H, k = b * 4 * H + j, m = b * 3 * H + j;
        const T r = tg_sigmoid(a[k + H] + gh[m]);
        const T z = tg_sigmoid(a[k + 2 * H] + gh[m + H]);
        const T hn = a[k + 3 * H] + gh[m + 2 * H];
        const T nn = tanh(a[k] + r * hn);
        a[k] = nn; a[k + H] = r; a[k + 2 * H] = z; a[k + 3 * H] = hn;
        h = nn + z * (h_prev - nn);
        """),
    # d: (n, 4, H) slots [d n_pre, d r_pre, d z_pre, d hn]; dh out: the direct part dh * z.
    "gru_bwd": ("raw T a, T h_prev, T dout, int32 H", "raw T d, T dh", """
        const ptrdiff_t b = i / H, k = b * 4 * H + (i - b * H);
        const T nn = a[k], r = a[k + H], z = a[k + 2 * H], hn = a[k + 3 * H];
        const T dht = dh + dout;
        const T dnp = dht * (T(1) - z) * (T(1) - nn * nn);
        d[k] = dnp;
        d[k + H] = dnp * hn * r * (T(1) - r);
        d[k + 2 * H] = dht * (h_prev - nn) * z * (T(1) - z);
        d[k + 3 * H] = dnp * r;
        dh = dht * z;
        """),
    # g: (n, H) = h_prev @ w_hh.T; h: (n, H) holds the step's input part W_ih x_t + b, overwritten with h'.
    "rnn_fwd_tanh": ("T g", "T h", "h = tanh(h + g);"),
    "rnn_fwd_relu": ("T g", "T h", """
        const T v = h + g;
        h = v < T(0) ? T(0) : v;
        """),  # (not v > 0 ? v : 0, which made nan 0: np.maximum and torch's relu keep nan)
    "rnn_bwd_tanh": ("T h, T dout", "T d, T dh", """
        const T dht = dh + dout;
        d = dht * (T(1) - h * h);
        dh = dht;
        """),
    "rnn_bwd_relu": ("T h, T dout", "T d, T dh", """
        const T dht = dh + dout;
        d = h <= T(0) ? T(0) : dht;
        dh = dht;
        """),  # (not h > 0 ? dht : 0, which stopped the gradient at nan, where torch's relu passes it)
}

_cuda_kernels: dict = {}


def _cuda_kernel(name: str) -> Any:
    """The cupy.ElementwiseKernel called ``name``, compiled on first use."""
    if name not in _cuda_kernels:
        cp = backend.cupy()
        ins, outs, body = _KERNEL_SOURCES[name]
        _cuda_kernels[name] = cp.ElementwiseKernel(ins, outs, body, "tinygrad_rnn_" + name, preamble=_SIGMOID)
    return _cuda_kernels[name]


def _sig(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


class _NumpyKernels:
    """numpy stand-ins with the CUDA kernels' signatures and math (tests run the kernel path on CPU)."""

    @staticmethod
    def lstm_fwd(gh, c_prev, H, a, c, h):
        s = a + gh
        a[:, :3] = _sig(s[:, :3])
        a[:, 3] = np.tanh(s[:, 3])
        c[...] = a[:, 1] * c_prev + a[:, 0] * a[:, 3]
        h[...] = a[:, 2] * np.tanh(c)

    @staticmethod
    def lstm_bwd(a, c_prev, c, dout, H, d, dh, dc):
        gi, gf, go, gg = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        tc = np.tanh(c)
        dht = dh + dout
        dct = dc + dht * go * (1 - tc * tc)
        d[:, 0] = dct * gg * gi * (1 - gi)
        d[:, 1] = dct * c_prev * gf * (1 - gf)
        d[:, 2] = dct * gi * (1 - gg * gg)
        d[:, 3] = dht * tc * go * (1 - go)
        dc[...] = dct * gf
        dh[...] = dht

    @staticmethod
    def gru_fwd(gh, h_prev, H, a, h):
        r = _sig(a[:, 1] + gh[:, 0])
        z = _sig(a[:, 2] + gh[:, 1])
        hn = a[:, 3] + gh[:, 2]
        nn = np.tanh(a[:, 0] + r * hn)
        a[:, 0], a[:, 1], a[:, 2], a[:, 3] = nn, r, z, hn
        h[...] = nn + z * (h_prev - nn)

    @staticmethod
    def gru_bwd(a, h_prev, dout, H, d, dh):
        nn, r, z, hn = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        dht = dh + dout
        dnp = dht * (1 - z) * (1 - nn * nn)
        d[:, 0] = dnp
        d[:, 1] = dnp * hn * r * (1 - r)
        d[:, 2] = dht * (h_prev - nn) * z * (1 - z)
        d[:, 3] = dnp * r
        dh[...] = dht * z

    @staticmethod
    def rnn_fwd_tanh(g, h):
        h += g
        np.tanh(h, out=h)

    @staticmethod
    def rnn_fwd_relu(g, h):
        h += g
        np.maximum(h, 0, out=h)

    @staticmethod
    def rnn_bwd_tanh(h, dout, d, dh):
        dh += dout
        d[...] = dh * (1 - h * h)

    @staticmethod
    def rnn_bwd_relu(h, dout, d, dh):
        dh += dout
        d[...] = np.where(h <= 0, 0, dh)


def _kernel(name: str, xp: Any) -> Any:
    return getattr(_NumpyKernels, name) if xp is np else _cuda_kernel(name)


_CUDA_LOOP = "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < size; " \
             "i += (long long)blockDim.x * gridDim.x)"


def _raw_source(name: str, loop: str = _CUDA_LOOP) -> str:
    """Kernel ``name`` as a plain function over pointers (a cupy.RawKernel; T, tg_sigmoid and ptrdiff_t come
    before it): element i of each non-raw argument is bound as cupy.ElementwiseKernel binds it (an input by
    value, an output by reference) for i below ``size``, the last argument."""
    ins, outs, body = _KERNEL_SOURCES[name]
    out_names = {p.split()[-1] for p in outs.split(",")}
    args, binds = [], []
    for param in (ins + "," + outs).split(","):
        *kind, pname = param.split()
        const = "" if pname in out_names else "const "
        if kind == ["int32"]:
            args.append(f"const int {pname}")
        elif kind[0] == "raw":
            args.append(f"{const}T* {pname}")
        else:
            args.append(f"{const}T* {pname}_p")
            binds.append(f"T& {pname} = {pname}_p[i];" if pname in out_names else f"const T {pname} = {pname}_p[i];")
    return (f'extern "C" __global__ void tinygrad_rnn_{name}({", ".join(args)}, const long long size) '
            f'{{ {loop} {{ {" ".join(binds)} {body} }} }}')


def _int_params(name: str) -> List[bool]:
    """Which of kernel ``name``'s arguments are ints (the others are arrays: pointers in _raw_source)."""
    return [p.split()[0] == "int32" for p in ",".join(_KERNEL_SOURCES[name][:2]).split(",")]


_CUBLAS_GEMM = {np.dtype(np.float32): ("sgemm", "float"), np.dtype(np.float64): ("dgemm", "double")}
_raw_kernels: dict = {}


class _CudaCalls:
    """A gate kernel and a matrix product through device pointers: the kernel's RawKernel (_raw_source) and
    cuBLAS's gemm called directly (column-major, as cuBLAS sees the row-major arrays)."""

    def __init__(self, dtype: np.dtype) -> None:
        cp = backend.cupy()
        from cupy_backends.cuda.libs import cublas  # noqa: PLC0415
        gemm, self.ctype = _CUBLAS_GEMM[dtype]
        self.handle, self._gemm = cp.cuda.device.get_cublas_handle(), getattr(cublas, gemm)
        cublas.setStream(self.handle, cp.cuda.get_current_stream().ptr)
        cublas.setPointerMode(self.handle, 0)  # CUBLAS_POINTER_MODE_HOST: alpha and beta below are host scalars
        self.scalars = np.array([1, 0], dtype)  # alpha = 1, then beta = 0 (overwrite) or 1 (accumulate)
        self.alpha = self.scalars.ctypes.data
        self.beta = (self.alpha + dtype.itemsize, self.alpha)

    def kernel(self, name: str, size: int, args: Sequence[int]) -> None:
        key = (name, self.ctype)
        if key not in _raw_kernels:
            src = f"#define ptrdiff_t long long\ntypedef {self.ctype} T;\n{_SIGMOID}\n{_raw_source(name)}"
            _raw_kernels[key] = backend.cupy().RawKernel(src, "tinygrad_rnn_" + name), _int_params(name)
        kern, ints = _raw_kernels[key]
        # (CuPy passes a Python int as a 64-bit integer, so addresses go as they are: as numpy scalars a launch
        # took ~13 us of host time, as ints ~7; the int32 arguments must be numpy's)
        kern((min(-(-size // 256), 4096),), (256,), tuple([np.int32(a) if i else a for a, i in zip(args, ints)])
             + (size,))

    def gemm(self, m: int, n: int, k: int, a: int, lda: int, b: int, ldb: int, accumulate: bool, c: int,
             ldc: int) -> None:
        """C (m x n, ldc) = A (m x k, lda) @ B (k x n, ldb), or C += that, all column-major."""
        self._gemm(self.handle, 0, 0, m, n, k, self.alpha, a, lda, b, ldb, self.beta[accumulate], c, ldc)


class _StepRows:
    """Step t's rows of a C-contiguous (T, B, ...) array, as an address: base + t * (bytes per step)."""

    __slots__ = ("array", "base", "stride")

    def __init__(self, array: Any, address: int) -> None:
        self.array, self.base, self.stride = array, address, array.strides[0]

    def __getitem__(self, t: int) -> int:
        return self.base + t * self.stride


class _StepCalls:
    """The kernel path's two calls per step, on the first n rows (the sequences still running) of step t:
    a gate kernel, and a product with the recurrent weights w (S*H, H).

    The loops index ``rows(a)`` by step and pass ``buf(b)`` for a buffer without a step axis. On CuPy in
    float32 and float64 those are device addresses, so a step makes no view objects (a run with lengths
    makes a few for its finished rows): the kernel runs as a RawKernel made from its source and the
    product as cuBLAS called directly (_CudaCalls). Host time per call, timed as loops of calls on an H200
    with CuPy 14: the RawKernel ~7 us, the ElementwiseKernel ~9-12 us plus ~1.6 us for each view made for
    it, cuBLAS ~9 us against ~15 for cupy.matmul (B = 1); a step of the charlm LSTM's inference went from
    56 to 29 us. Otherwise (other dtypes; numpy, where the tests run the kernel path with the stand-ins)
    they are views, and the calls are the ElementwiseKernel (or its stand-in) and xp.matmul.
    """

    pointers_on_cpu: Optional[Any] = None  # tests: dtype -> an object like _CudaCalls for numpy arrays, or None

    def __init__(self, xp: Any, dtype: Any, B: int, H: int, w: Any, slots: int = 1) -> None:
        dtype = np.dtype(dtype)
        self.xp, self.B, self.H, self.slots = xp, B, H, slots  # slots: S*H gate gradients per row in backward
        self.calls: Optional[Any] = None  # None: views
        if xp is not np and dtype in _CUBLAS_GEMM:
            self.calls = _CudaCalls(dtype)
        elif xp is np and _StepCalls.pointers_on_cpu is not None:
            self.calls = _StepCalls.pointers_on_cpu(dtype)
        self.w = xp.ascontiguousarray(w)
        self.w_address = None if self.calls is None else self._address(self.w)
        self.wt_address = None  # (of a copy of w.T, made by the first forward product)
        self.held: List[Any] = []
        self.size = dtype.itemsize

    def _address(self, a: Any) -> int:
        return a.ctypes.data if self.xp is np else a.data.ptr

    def rows(self, a: Any, copy: bool = False) -> Any:
        """a (T, B, ...), C-contiguous, indexed by step in the loops; with ``copy`` (an input only: writes to
        a copy would be lost) one that is not is copied first, such as a broadcast output gradient."""
        if self.calls is None:
            return a
        if copy:
            a = self.xp.ascontiguousarray(a)
        return _StepRows(self._contiguous(a), self._address(a))

    def buf(self, a: Any) -> Any:
        """A C-contiguous (B, ...) buffer (held here, so that its address stays valid)."""
        if self.calls is None:
            return a
        self.held.append(self._contiguous(a))
        return self._address(a)

    @staticmethod
    def _contiguous(a: Any) -> Any:
        if not a.flags.c_contiguous:
            raise AssertionError(f"fused: an array of shape {a.shape} passed by address is not C-contiguous")
        return a

    def kernel(self, name: str, n: int, *args: Any) -> None:
        if self.calls is not None:
            if n:  # (a launch of no blocks is an error)
                self.calls.kernel(name, n * self.H, args)
        elif n < self.B:
            _kernel(name, self.xp)(*[a[:n] if hasattr(a, "shape") else a for a in args])
        else:
            _kernel(name, self.xp)(*args)

    def product(self, out: Any, h: Any, n: int) -> None:
        """out[:n] = h[:n] @ w.T: (n, S*H) into out (B, S, H) from h (B, H). Through addresses it multiplies a
        copy of w.T in rows, for which cuBLAS picks faster kernels (16x128 @ 128x512 on an H200: 6.6 us of
        GPU time, against 24.5 with w transposed by the gemm)."""
        SH, H = self.w.shape[0], self.H
        if self.calls is not None:
            if self.wt_address is None:
                self.wt = self.xp.ascontiguousarray(self.w.T)
                self.wt_address = self._address(self.wt)
            if n:  # out.T (S*H x n) = w.T.T (S*H x H) @ h.T (H x n), column-major
                self.calls.gemm(SH, n, H, self.wt_address, SH, h, H, False, out, SH)
        else:
            self.xp.matmul(h[:n], self.w.T, out=out[:n].reshape(n, SH))

    def product_back(self, out: Any, d: Any, n: int, first: int = 0, accumulate: bool = False) -> None:
        """out[:n] = d[:n, first:] @ w, or += with ``accumulate``: (n, H) into out (B, H) from the gate
        gradients d (B, slots, H), whose slots from ``first`` on multiply w."""
        SH, H = self.w.shape[0], self.H
        if self.calls is not None:
            if n:  # out.T (H x n) = w.T (H x S*H) @ d.T (S*H x n), column-major
                self.calls.gemm(H, n, SH, self.w_address, H, d + first * H * self.size, self.slots * H, accumulate,
                                out, H)
            return
        dn = d[:n, first:].reshape(n, SH)
        if accumulate:
            out[:n] += self.xp.matmul(dn, self.w)
        else:
            self.xp.matmul(dn, self.w, out=out[:n])


# ============================================================================ shared machinery
class _Workspace:
    """The numpy loops' big work arrays, kept from one call to the next.

    Memory fresh from the kernel costs a page fault per page when first touched, and glibc hands large
    freed blocks straight back to the kernel, so without reuse every training step faults all of its
    buffers in again (about a quarter of an LSTM training step at B=32, H=256). An array comes back here
    only when nothing else can see it: a temporary once it is used, backward's scratch at the end of
    backward, the saved activations when the Function is released after backward. At most ``limit``
    bytes are held, the oldest arrays dropped first (so a loop whose shapes change keeps the recent
    ones); arrays under ``smallest`` are left to malloc. ``empty_cache()`` frees them all.
    """

    def __init__(self, limit: int = 256 << 20, smallest: int = 64 << 10) -> None:
        self.limit, self.smallest, self.held = limit, smallest, 0
        self.free: dict = {}  # (shape, dtype) -> arrays of that shape, oldest first
        self.order: deque = deque()  # the keys of the arrays given, oldest first (some since taken)

    def empty(self, shape: Tuple[int, ...], dtype: Any, zero: bool = False) -> np.ndarray:
        stack = self.free.get((tuple(shape), np.dtype(dtype)))
        try:
            a = stack.pop() if stack else None
        except IndexError:  # another thread took the last one
            a = None
        if a is None:
            return (np.zeros if zero else np.empty)(shape, dtype)
        self.held -= a.nbytes
        if zero:
            a.fill(0)
        return a

    def give(self, *arrays: Optional[np.ndarray]) -> None:
        for a in arrays:
            if not (isinstance(a, np.ndarray) and a.base is None and self.smallest <= a.nbytes <= self.limit):
                continue
            while self.held + a.nbytes > self.limit and self.order:
                stack = self.free.get(self.order.popleft())
                if stack:
                    self.held -= stack.pop(0).nbytes
            key = (a.shape, a.dtype)
            self.free.setdefault(key, []).append(a)
            self.order.append(key)
            self.held += a.nbytes

    def clear(self) -> None:
        self.free, self.order, self.held = {}, deque(), 0


_workspace = _Workspace()


def empty_cache() -> None:
    """Free the work arrays the fused layers keep for reuse between calls (see _Workspace)."""
    _workspace.clear()


def _blocks(a: Any, order: Sequence[int], scale: Optional[Sequence[float]] = None, out: Any = None) -> Any:
    """Reorder the G gate blocks of a (G*H, ...) weight or (G*H,) bias, optionally scaling each block: block j of
    the result is block order[j] times scale[j]. Written block by block into one new array (or ``out``), a single
    pass (a gather then a scaling took two, over fresh memory each: 8x the time for a 4096 x 1024 weight)."""
    xp, G = backend.xp_of(a), len(order)
    n = a.shape[0] // G
    assert n * G == a.shape[0], (a.shape, G)  # (_prepare checks the shapes before any call)
    if out is None:
        out = xp.empty(a.shape, dtype=a.dtype)  # (C order, as the gather gave, whatever the layout of a)
    scale = [1] * G if scale is None else scale
    j = 0
    while j < G:  # a run of blocks consecutive in a with one scale goes in one call (LSTM: 3 calls, not 4)
        m = 1
        while j + m < G and order[j + m] == order[j] + m and scale[j + m] == scale[j]:
            m += 1
        src, dst = a[order[j] * n:(order[j] + m) * n], out[j * n:(j + m) * n]
        if scale[j] == 1:
            dst[...] = src
        else:
            xp.multiply(src, scale[j], out=dst)
        j += m
    return out


class _Batch:
    """Rows sorted by decreasing length, so the sequences running at step t are rows [:active[t]]."""

    def __init__(self, lengths: Optional[np.ndarray], T: int, B: int, xp: Any) -> None:
        self.perm = self.inv = None
        if lengths is None:
            self.active = [B] * T
            return
        order = np.argsort(-lengths, kind="stable")
        if (order != np.arange(B)).any():
            self.perm, self.inv = xp.asarray(order), xp.asarray(np.argsort(order))
        self.active = (lengths[order][None, :] > np.arange(T)[:, None]).sum(1).tolist()

    def sort(self, a: Any, axis: int) -> Any:
        return a if self.perm is None else a.take(self.perm, axis=axis)

    def unsort(self, a: Any, axis: int) -> Any:
        return a if self.inv is None else a.take(self.inv, axis=axis)


def _chunk_len(T: int, per_step: int) -> int:
    """Steps per backward block: about _CHUNK_ELEMS elements of per_step (B * H) each, at most T. A block's
    gate gradients take at most 256 KiB of float32 per gate slot, whatever T (one step when B * H alone is
    more)."""
    return min(T, max(1, _CHUNK_ELEMS // max(per_step, 1)))


def _chunks(T: int, per_step: int, reverse: bool) -> list:
    """Blocks [t0, t1) of steps in the order backward visits them (the reverse of processing)."""
    ch = _chunk_len(T, per_step)
    blocks = [(t0, min(T, t0 + ch)) for t0 in range(0, T, ch)]
    return blocks if reverse else blocks[::-1]


def _grad_blocks(T: int, B: int, H: int, reverse: bool) -> Tuple[tuple, int]:
    """The backward blocks (_chunks), each with (s0, s1, last): the steps [s0, s1) of its group of consecutive
    blocks of at least _GRAD_ROWS rows (step x batch) in all, whose weight gradients are one product each, and
    whether it is the group's last, after which they are summed; and the steps of the longest group (at B = 64,
    H = 512 a block is 2 steps: weight-gradient products with an inner dimension of 128 rows, and a sum of the
    results for every block, where groups of 512 rows ran the LSTM's training step 1.06x-1.07x faster).
    Remembered per shape (a backward pass asks for the same one every training step; building it took ~10 us
    of a 300 us RNN step at B = 1)."""
    return _grad_blocks_for(T, B, H, reverse, _CHUNK_ELEMS, _GRAD_ROWS)


@functools.lru_cache(maxsize=256)
def _grad_blocks_for(T: int, B: int, H: int, reverse: bool, chunk_elems: int, grad_rows: int) -> Tuple[tuple, int]:
    """_grad_blocks with the block sizes as arguments (the tests change them), so that the cache keys on them."""
    ch = _chunk_len(T, B * H)
    per_group = max(1, -(-grad_rows // max(ch * B, 1)))
    blocks = _chunks(T, B * H, reverse)
    spans = []
    for i in range(0, len(blocks), per_group):
        group = blocks[i:i + per_group]
        s0, s1 = min(t0 for t0, _ in group), max(t1 for _, t1 in group)
        spans += [(s0, s1, j == len(group) - 1) for j in range(len(group))]
    return tuple(zip(blocks, spans)), min(T, per_group * ch)


def _steps(t0: int, t1: int, reverse: bool) -> range:
    return range(t0, t1) if reverse else range(t1 - 1, t0 - 1, -1)


def _pairs(rows: list, reverse: bool) -> Any:
    """(h_prev, h) per step in processing order, from the history's T+1 rows (t's new state is row t+1; in
    reverse, row t)."""
    return zip(rows[:0:-1], rows[-2::-1]) if reverse else zip(rows[:-1], rows[1:])


def _forwards(reverse: bool, *rows: list) -> Any:
    """The rows of per-step arrays zipped, step by step in processing order (as _times)."""
    return zip(*[r[::-1] for r in rows]) if reverse else zip(*rows)


def _backwards(reverse: bool, *rows: list) -> Any:
    """The rows of a block's arrays zipped, step by step in backward's order (as _steps)."""
    return _forwards(not reverse, *rows)


@functools.lru_cache(maxsize=None)
def _sequence_saves(states: int, n: int) -> Tuple[tuple, tuple]:
    """A fused recurrence's (saved_inputs, saved_for) for its n inputs (made once per kind: a cache hit is no Python
    call). Every input is saved, for a double backward (_composed_grads); backward reads the arrays of x, w_ih and
    w_hh, so the engine refuses a backward after one of them changed in place (an optimizer step, x *= 2), and
    after a change to a state or bias only under create_graph (which reads them)."""
    every, read = tuple(range(n)), (0, 1 + states, 2 + states)
    return every, tuple([every if k in read else () for k in range(n)])


class _Recurrence(Function):
    """Shared argument handling of the fused recurrences; ``states`` is 2 for the LSTM (h, c), else 1."""

    gates = 1  # G: w_ih is (G*H, I)
    states = 1
    fresh_grads = True  # every gradient is an array of its own (the two bias gradients too: see _GradSums)
    recycled: Tuple[str, ...] = ()  # saved numpy work arrays that go to the workspace when the node is released
    use_kernels_on_cpu = False  # tests flip this to run the CUDA kernel path with numpy stand-ins
    composed_double_backward = True  # (under create_graph backward reads every saved input: autograd's check)

    def __init__(self, reverse: bool, lengths: Optional[np.ndarray], has_b_ih: bool, has_b_hh: bool,
                 keep: bool = True, stacked: bool = False) -> None:
        self.reverse, self.lengths, self.stacked = bool(reverse), lengths, stacked
        self.save_output = lengths is None  # backward reads the output's rows as the history (not with lengths)
        self.saved_inputs, self.saved_for = _sequence_saves(self.states, 3 + self.states + has_b_ih + has_b_hh)
        self.has_b_ih, self.has_b_hh, self.keep = has_b_ih, has_b_hh, keep

    def _split(self, items: Sequence[Any]) -> tuple:
        """Per-input items (arrays, parents) as (x, states..., w_ih, w_hh, b_ih, b_hh); None for an absent bias."""
        n = self.states + 3
        rest = iter(items[n:])
        return (*items[:n], next(rest) if self.has_b_ih else None, next(rest) if self.has_b_hh else None)

    def _unpack(self, arrays: Sequence[Any]) -> tuple:
        """(x, states..., w_ih, w_hh, b_ih, b_hh) in the inputs' promoted dtype; an absent bias is None."""
        self.in_dtypes = [a.dtype for a in arrays]
        full = self._split(arrays)
        if len(set(self.in_dtypes)) == 1:  # (the common case, without the casts)
            return full
        dt = np.result_type(*self.in_dtypes)
        return tuple([None if a is None else a.astype(dt, copy=False) for a in full])

    def _pack_grads(self, grads: Sequence[Any]) -> tuple:
        """Grads for (x, states..., w_ih, w_hh, b_ih, b_hh) -> Tensors for the inputs actually given."""
        head, (gb_ih, gb_hh) = list(grads[:-2]), grads[-2:]
        out = head + ([gb_ih] if self.has_b_ih else []) + ([gb_hh] if self.has_b_hh else [])
        return tuple([None if g is None or p is None else Tensor._make(g if g.dtype == dt else g.astype(dt))
                      for g, p, dt in zip(out, self.parents, self.in_dtypes)])

    def release(self) -> None:
        if self.recycled:
            _workspace.give(*[self.__dict__.pop(k, None) for k in self.recycled])
        super().release()

    def _wanted(self) -> List[bool]:
        """Which of (x, states..., w_ih, w_hh, b_ih, b_hh) need a gradient (an absent bias: False)."""
        return [p is not None for p in self._split(self.parents)]

    def _composed_backward(self, *grads: Optional[Tensor]) -> tuple:
        """create_graph: the gradients from the reference recurrence (rnn.unrolled) on the saved inputs."""
        from .rnn import unrolled
        mode = {"lstm_sequence": "LSTM", "gru_sequence": "GRU"}.get(self.name, "RNN")
        shape = (1, self.B, self.H) if self.stacked else (self.B, self.H)

        def compose(*inputs: Tensor) -> tuple:
            x, *states, w_ih, w_hh, b_ih, b_hh = self._split(inputs)
            out, h, c = unrolled(mode, x, states[0], states[1] if mode == "LSTM" else None, (w_ih, w_hh, b_ih, b_hh),
                                 self.lengths, self.reverse, getattr(self, "nonlinearity", "tanh"))
            return (out, h.reshape(shape)) + ((c.reshape(shape),) if mode == "LSTM" else ())
        return _composed_grads(self, compose, grads)

    def _start_backward(self, dtype: Any, g_out: Optional[Tensor], *g_finals: Optional[Tensor]) -> tuple:
        """(xp, dL/d output (T, B, H), then dL/dh_n (and dL/dc_n) (B, H)), in sorted batch order; zeros for an
        output that no gradient reached. dL/d output may be the caller's array, even a read-only broadcast
        view: backward only reads it. The final states' gradients are copies, which backward adds into."""
        xp = backend.xp_of(self.xs)
        T, B, H, bt = self.T, self.B, self.H, self.batch
        dout = xp.zeros((T, B, H), dtype) if g_out is None else bt.sort(g_out.array.astype(dtype, copy=False), 1)
        finals = [xp.zeros((B, H), dtype) if g is None else bt.sort(g.array.reshape(B, H).astype(dtype, order="C"), 0)
                  for g in g_finals]  # (astype copies, in rows: the CuPy loops address them as such)
        return (xp, dout, *finals)

    def _kernel_path(self, xp: Any) -> bool:
        return xp is not np or self.use_kernels_on_cpu

    def _setup(self, x: Any, w_hh: Any) -> Any:
        xp = backend.xp_of(x)
        self.T, self.B, self.I = x.shape
        self.H = w_hh.shape[1]
        self.batch = _Batch(self.lengths, self.T, self.B, xp)
        self.o = 0 if self.reverse else 1
        return xp

    def _output_buffer(self, xp: Any, dtype: Any) -> Any:
        """Where the steps write the output: the (T+1, B, H) history without lengths (see _history), else a
        zero-filled (T, B, H) array (the output past a sequence's length is 0)."""
        T, B, H = self.T, self.B, self.H
        return xp.empty((T + 1, B, H), dtype) if self.lengths is None else xp.zeros((T, B, H), dtype)

    def _carry(self, y: Any, t: int, n: int, hs: Any, c: Optional[tuple] = None) -> None:
        """After step t of a run with lengths, where only rows :n ran: the other rows keep their state (in hs,
        and in c = (c_prev, c) for the LSTM), and rows :n are step t's output."""
        if n < self.B:
            hs[t + self.o][n:] = hs[t + 1 - self.o][n:]
            if c is not None:
                c[1][n:] = c[0][n:]
        y[t, :n] = hs[t + self.o][:n]

    def _times(self) -> range:
        return range(self.T - 1, -1, -1) if self.reverse else range(self.T)

    def _history(self, xp: Any, y: Any, h0: Any) -> Any:
        """The (T+1, B, H) hidden-state history: y itself without lengths, else a buffer of its own."""
        T = self.T
        hs = y if self.lengths is None else xp.empty((T + 1,) + h0.shape, dtype=h0.dtype)
        hs[T if self.reverse else 0] = h0
        return hs

    def _finish_forward(self, y: Any, hs: Any, *more_finals: Any) -> tuple:
        """The outputs in the caller's batch order: (output (T, B, H) from y, h_n (the state after the last step
        processed: the history's row T, or row 0 in reverse), *more_finals (the LSTM's c_n)); the final states as
        copies, (1, B, H) when ``stacked`` (a layer's (num_layers * num_directions, B, H) for one layer and
        direction)."""
        T, bt = self.T, self.batch
        shape = (1, self.B, self.H) if self.stacked else (self.B, self.H)
        out = y[self.o:T + self.o] if self.lengths is None else bt.unsort(y, 1)
        finals = [bt.unsort(f, 0).reshape(shape).copy() for f in (hs[0 if self.reverse else T],) + more_finals]
        return (out, *finals)


class _GradSums:
    """dx, and dW_ih, dW_hh and the bias gradients summed over steps, fed one block of steps at a time.

    A block's gate gradients d (t1 - t0, B, S, H) give dx[t0:t1] = d_in @ W_in and add d_in.T @ x[t0:t1],
    d_hh.T @ h_prev[t0:t1] and the column sums of d_in and d_hh: one matmul each per block of about
    _CHUNK_ELEMS / H rows (about as fast per flop as one matmul over all steps), so the numpy backward never holds all
    T steps' gate gradients. d_in / d_hh are the gate slots that multiply W_ih / W_hh (all of them for LSTM and RNN).
    """

    def __init__(self, fn: "_Recurrence", xp: Any, w_in: Any, in_slots: slice = slice(None),
                 hh_slots: slice = slice(None)) -> None:
        wanted = fn._wanted()
        self.want_x, self.want = wanted[0], wanted[1 + fn.states:]  # x; w_ih, w_hh, b_ih, b_hh
        self.fn, self.w_in, self.in_slots, self.hh_slots = fn, w_in, in_slots, hh_slots
        self.same = hh_slots == in_slots  # LSTM, RNN: one gradient block serves W_ih, W_hh and both biases
        self.hprev = fn.hs[1 - fn.o:fn.T + 1 - fn.o]
        self.dx = xp.empty((fn.T, fn.B, fn.I), dtype=fn.hs.dtype) if self.want_x else None
        self.sums: List[Any] = [None] * 4  # dW_ih, dW_hh, db_ih, db_hh

    def _add(self, j: int, v: Any) -> None:
        if self.sums[j] is None:
            self.sums[j] = v
        else:
            self.sums[j] += v

    def add(self, t0: int, t1: int, d: Any) -> None:
        rows = (t1 - t0) * self.fn.B
        d_in = _flat(d[:, :, self.in_slots], rows)
        self.add_rows(t0, t1, d_in, d_in if self.same else _flat(d[:, :, self.hh_slots], rows))

    def add_rows(self, t0: int, t1: int, d_in: Any, d_hh: Any) -> None:
        """add() for the gate gradients as (m*B, S*H) matrices d_in and d_hh, rows ordered (step, batch)."""
        rows, same, xp = (t1 - t0) * self.fn.B, self.same, backend.xp_of(d_in)
        if self.want_x:
            dx = _flat(self.dx[t0:t1], rows)
            _dot(xp, dx, d_in, self.w_in)(d_in, self.w_in, out=dx)
        if self.want[0]:
            x = _flat(self.fn.xs[t0:t1], rows)
            self._add(0, _dot(xp, None, d_in, x)(d_in.T, x))
        if self.want[1]:
            h = _flat(self.hprev[t0:t1], rows)
            self._add(1, _dot(xp, None, d_hh, h)(d_hh.T, h))
        if self.want[2] or (same and self.want[3]):
            self._add(2, d_in.sum(0))
        if self.want[3] and not same:
            self._add(3, d_hh.sum(0))

    def result(self) -> tuple:
        """(dx in the caller's batch order, dW_ih, dW_hh, db_ih, db_hh); None where no gradient is wanted."""
        dw_ih, dw_hh, db_ih, db_hh = self.sums
        if self.same:  # one sum serves both biases; each gets memory of its own (fresh_grads)
            db_hh = db_ih.copy() if self.want[2] and self.want[3] else db_ih
        dx = None if self.dx is None else self.fn.batch.unsort(self.dx, 1)
        return (dx, dw_ih, dw_hh, db_ih if self.want[2] else None, db_hh if self.want[3] else None)


def _flat(a: Any, rows: int) -> Any:
    """a (steps, B, ...) as (rows = steps * B, the rest): reshape(rows, -1), which numpy refuses for B = 0."""
    return a.reshape(rows, math.prod(a.shape[2:]))


def _bias_sum(b_ih: Optional[Any], b_hh: Optional[Any]) -> Optional[Any]:
    """b_ih + b_hh, either of which may be absent; None when both are."""
    if b_ih is None or b_hh is None:
        return b_hh if b_ih is None else b_ih
    return b_ih + b_hh


_AUGMENT_FROM = 1 << 16  # result elements (~256 x 256) from which _project appends a ones column for the bias


def _project(x2: Any, w: Any, bias: Optional[Any], out: Any = None) -> Any:
    """x2 @ w.T + bias for all T*B rows in one matmul. From _AUGMENT_FROM result elements up the bias rides
    along as a column of ones appended to x2: 0.75x-0.95x the time of a separate pass over the (T*B, G*H)
    result. Below, that pass costs less than building the augmented operands (25 x 100: 5.4 against 8.5 us)."""
    xp = backend.xp_of(x2)
    n, I = x2.shape
    if bias is None or n * w.shape[0] < _AUGMENT_FROM:
        out = _dot(xp, out, x2, w)(x2, w.T, out=out)
        if bias is not None:
            out += bias.reshape(-1)
        return out
    xa = (_workspace.empty if xp is np else xp.empty)((n, I + 1), x2.dtype)
    xa[:, :I] = x2
    xa[:, I] = 1
    out = _project(xa, xp.concatenate([w, bias.reshape(-1, 1)], axis=1), None, out)
    _workspace.give(xa)
    return out


# np.dot's C function: np.dot itself is numpy's Python-level __array_function__ dispatcher around it, which
# plain ndarrays never need (~0.16 us a call; a B = 1, T = 25 RNN training step makes 53 products)
_np_dot = getattr(np.dot, "_implementation", np.dot)


def _dot(xp: Any, out: Any, *operands: Any) -> Any:
    """The function for a product of 2-d arrays: np.dot on numpy when out (None: a new array) is C-contiguous
    and every operand is C- or F-contiguous (its transpose then is too), else matmul.

    np.dot does what np.matmul does there in ~0.35 us less a call (no ufunc machinery; ~7 us less for the
    outer product of a 1-step block), which adds up over the steps of a small problem (B = 1, H = 100: 0.57
    against 1.1 us a step, through _np_dot). But it refuses any other out, and runs strided operands (a slice
    of a wider buffer) 1.1x-6x slower than matmul. The per-step loops pick once, before their first step.
    """
    if xp is np and (out is None or out.flags.c_contiguous):
        for a in operands:  # (a loop, not all() of a list: no comprehension call, on every product's setup)
            flags = a.flags
            if not (flags.c_contiguous or flags.f_contiguous):
                return xp.matmul
        return _np_dot
    return xp.matmul


def _block_rows(m: int, k: int, n: int, dtype: Any) -> Optional[int]:
    """The rows per block (a multiple of 8; the last block may have fewer) in which _product multiplies a
    (m, k) @ (k, n) product, or None: whole."""
    limit = backend.small_gemm_limit() if dtype in (np.float32, np.float64) and 1 < n <= 32 else 0
    rows = limit // max(k * n, 1) // 8 * 8
    return rows if m * k * n > limit and rows >= 24 else None


def _product(w: np.ndarray, z: np.ndarray, out: np.ndarray) -> Callable[..., Any]:
    """f(z, out=out): out = w @ z for this w (m, k), for operands laid out as these (see _dot).

    Where numpy's BLAS has small-matrix kernels (backend.small_gemm_limit), a product of a few columns (n <= 32:
    the batch) runs as products of blocks of w's rows (and out's), each within that many multiply-adds, which
    skip OpenBLAS's packing of the operands: 1.2x-1.5x the speed at the recurrences' per-step sizes (charlm
    LSTM forward, 1024 x 322 @ 322 x 32: 194 -> 152 us in blocks of 96 rows; its backward, 256 x 1024 @
    1024 x 32: 153 -> 113 us in blocks of 24; long, 512 x 161 @ 161 x 16: 33 -> 26 us in two). Blocks of
    under 24 rows, and products of 64 columns, ran slower than the whole; those stay whole."""
    dot = _dot(np, out, w, z)
    r = _block_rows(*w.shape, z.shape[1], w.dtype)
    if r is None:
        return functools.partial(dot, w)
    parts = [(w[a:a + r], slice(a, a + r)) for a in range(0, w.shape[0], r)]

    def blocked(z: np.ndarray, out: np.ndarray) -> None:
        for wb, rb in parts:
            dot(wb, z, out=out[rb])
    return blocked


def _rows(n: int, B: int, *arrays: Any) -> tuple:
    """The first n rows of each array (the arrays themselves when n == B, sparing the views)."""
    return arrays if n == B else tuple(a[:n] for a in arrays)


def _cat_weights(w_ih: np.ndarray, w_hh: np.ndarray, bias: Optional[np.ndarray],
                 order: Optional[Sequence[int]] = None, scale: Optional[Sequence[float]] = None) -> np.ndarray:
    """[W_ih | W_hh | b] (G*H, I + H + 1): the weights of the stacked input [x; h; 1] (b = 0 when absent), gate
    block j taken from block ``order[j]`` times ``scale[j]`` (as _blocks does). Written block by block into a
    workspace array, which the caller gives back after the forward: no whole-matrix temporaries, whose
    memory would fault in afresh whenever malloc had handed it back to the kernel (see _Workspace)."""
    I, H = w_ih.shape[1], w_hh.shape[1]
    G = w_ih.shape[0] // H
    order, scale = range(G) if order is None else order, [1.0] * G if scale is None else scale
    w = _workspace.empty((G * H, I + H + 1), w_ih.dtype)
    for dst, k, sc in zip(w.reshape(G, H, I + H + 1), order, scale):
        rows = slice(k * H, (k + 1) * H)
        np.multiply(w_ih[rows], sc, out=dst[:, :I])
        np.multiply(w_hh[rows], sc, out=dst[:, I:I + H])
        if bias is None:
            dst[:, I + H] = 0
        else:
            np.multiply(bias[rows], sc, out=dst[:, I + H])
    return w


def _cols(n: int, B: int, *arrays: Any) -> tuple:
    """The first n columns (last axis) of each array (the arrays themselves when n == B)."""
    return arrays if n == B else tuple(a[..., :n] for a in arrays)


class _Columns:
    """The numpy forward layout of the LSTM and RNN: each step's vectors are columns, the batch along the fast
    axis (except at B = 1, where the RNN, and the LSTM without lengths, run on rows, with the input projection of
    all steps up front).

    z (I + H + 1, B) stacks [x_t; h; 1], so one matmul W_cat @ z gives the step's W_ih x_t + W_hh h + b,
    and every per-step operand is a contiguous (G*H, B) or (H, B) block: numpy's ufuncs on strided
    (B, H) gate slices cost 2-3x more at these sizes, and there is no separate input projection to add.
    The product W_cat @ z is also the layout OpenBLAS's AVX-512 kernels run fastest: the batch as the short side
    of the result, up to twice the speed of h @ W^T in float32 (32x256 @ 256x1024: ~100 -> ~200 GFLOP/s; B=8..512,
    H=256..1024: 0.43x-0.92x the time; its AVX2 kernels run both within 7 %; in float64 up to 1.4x slower).
    Two z buffers take turns: step s reads z[s % 2] and writes its h into z[(s + 1) % 2]. ``out`` then
    copies h into the (T+1, B, H) history in rows, which is the output and what backward reads.
    """

    def __init__(self, fn: "_Recurrence", xs: np.ndarray, h0: np.ndarray, y: np.ndarray) -> None:
        B, I, H = fn.B, fn.I, fn.H
        z = np.empty((2, I + H + 1, B), dtype=xs.dtype)
        z[:, I + H] = 1
        z[0, I:I + H] = h0.T
        self.fn, self.B, self.o, self.xt = fn, B, fn.o, xs.transpose(0, 2, 1)  # xt[t] = x_t as columns
        self.z, self.x, self.h = list(z), [z[k, :I] for k in (0, 1)], [z[k, I:I + H] for k in (0, 1)]
        self.rows = fn._history(np, y, h0)

    def at(self, s: int, t: int, n: int) -> Tuple[np.ndarray, np.ndarray]:
        """(z = [x_t; h; 1] (K, n), the (H, n) block that step t's h goes into) for step s = step t's place
        in processing order, over the n running columns; the finished columns past n carry their state."""
        k = s & 1
        np.copyto(self.x[k], self.xt[t])
        z, hn = self.z[k], self.h[1 - k]
        if n < self.B:
            hn[:, n:] = self.h[k][:, n:]
            z, hn = z[:, :n], hn[:, :n]
        return z, hn

    def out(self, s: int, t: int) -> None:
        """Step t's h (all B columns) into its row of the history."""
        self.rows[t + self.o] = self.h[1 - (s & 1)].T

    def finish(self, y: np.ndarray) -> np.ndarray:
        """The (T+1, B, H) hidden-state history in rows (for backward's weight gradients), after writing the
        output into y where it is not the history itself (with lengths)."""
        fn, rows = self.fn, self.rows
        if fn.lengths is not None:  # finished sequences output 0 (the batch is sorted by length)
            done = np.arange(fn.B) >= np.asarray(fn.batch.active)[:, None]
            y[...] = rows[fn.o:fn.T + fn.o]
            y[done] = 0
        return rows


# ============================================================================ LSTM
# The gate slots (i, f, o, g): the sigmoid gates first. On numpy their weights are halved, so one tanh over all
# gates and one affine pass over the first three give sigmoid(v) = 0.5 + 0.5 tanh(v / 2).
_LSTM_SLOTS, _LSTM_HALVED = (0, 1, 3, 2), (0.5, 0.5, 0.5, 1.0)


class LSTMSequence(_Recurrence):
    """Whole-sequence LSTM (gates i, f, g, o): c' = f c + i g, h' = o tanh(c'). Outputs (output, h_n, c_n)."""

    name = "lstm_sequence"
    gates, states = 4, 2
    recycled = ("A", "cs")

    def forward(self, *arrays):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh = self._unpack(arrays)
        xp = self._setup(x, w_hh)
        bt = self.batch
        xs, h0, c0 = bt.sort(x, 1), bt.sort(h0, 0), bt.sort(c0, 0)
        bias = _bias_sum(b_ih, b_hh)
        if self._kernel_path(xp):
            return self._kernel_forward(xp, xs, h0, c0, w_ih, w_hh, bias)
        steps = self._row_steps if self.B == 1 and self.lengths is None else self._column_steps
        y, hs, A, cs, c_n = steps(xs, h0, c0, w_ih, w_hh, bias)
        outputs = self._finish_forward(y, hs, c_n)
        if self.keep:
            self.A, self.cs, self.hs, self.xs, self.w_ih, self.w_hh = A, cs, hs, xs, w_ih, w_hh
        else:
            _workspace.give(A, cs)
        return outputs

    def _column_steps(self, xs, h0, c0, w_ih, w_hh, bias):
        """The numpy steps on (H, B) columns (see _Columns): (y, the history hs, the gates A, the cell states cs,
        c_n). Without grad, A holds one step and cs two."""
        w = _cat_weights(w_ih, w_hh, bias, _LSTM_SLOTS, _LSTM_HALVED)
        T, B, H, o, keep, bt = self.T, self.B, self.H, self.o, self.keep, self.batch
        y = self._output_buffer(np, xs.dtype)
        cols = _Columns(self, xs, h0, y)
        A = _workspace.empty((T if keep else 1, 4 * H, B), xs.dtype, zero=self.lengths is not None)
        cs = _workspace.empty((T + 1 if keep else 2, H, B), xs.dtype)
        cs[T if self.reverse and keep else 0] = c0.T
        tmp = np.empty((H, B), dtype=xs.dtype)
        prod = _product(w, cols.z[0], A[0])
        for s, t in enumerate(self._times()):
            n = bt.active[t]
            cp, cn = (cs[t + 1 - o], cs[t + o]) if keep else (cs[s % 2], cs[(s + 1) % 2])
            at, cpn, cnn, tm = _cols(n, B, A[t if keep else 0], cp, cn, tmp)
            zt, hn = cols.at(s, t, n)
            if n == B:
                prod(zt, out=at)  # W_ih x_t + W_hh h + b
            else:
                np.matmul(w, zt, out=at)  # (strided blocks: see _dot)
            np.tanh(at, out=at)
            sg = at[:3 * H]
            sg *= 0.5
            sg += 0.5  # sigmoid(v) = 0.5 + 0.5 tanh(v / 2), the halving folded into the weights
            np.multiply(at[H:2 * H], cpn, out=cnn)
            np.multiply(at[:H], at[3 * H:], out=tm)
            cnn += tm
            np.tanh(cnn, out=tm)
            np.multiply(at[2 * H:3 * H], tm, out=hn)
            cols.out(s, t)
            if n < B:
                cn[:, n:] = cp[:, n:]
        _workspace.give(w)
        return y, cols.finish(y), A, cs, cs[(0 if self.reverse else T) if keep else T % 2].T

    def _row_steps(self, xs, h0, c0, w_ih, w_hh, bias):
        """The numpy steps at B = 1 without lengths, as _column_steps: the input projection of all steps up
        front, then per step a matrix-vector product with W_hh and the columns' gate math on vectors, every
        step's views made up front (0.8x the columns' time at T = 25, H = 100, where a step's work is a few
        microseconds). A and cs are those of the columns: at B = 1, (T, 4H, 1) columns and (T, 4H) rows are the
        same memory. Without grad they still hold every step (2 KB a step at H = 100)."""
        T, I, H = self.T, self.I, self.H
        A = _workspace.empty((T, 4 * H, 1), xs.dtype)
        a = A.reshape(T, 4 * H)
        if T < I:  # the gates of T steps reordered cost less than W_ih's rows (T = 1: 51 against 55 us a call)
            _blocks(_project(xs.reshape(T, I), w_ih, bias).T, _LSTM_SLOTS, _LSTM_HALVED, out=a.T)
        else:
            _project(xs.reshape(T, I), _blocks(w_ih, _LSTM_SLOTS, _LSTM_HALVED),
                     None if bias is None else _blocks(bias, _LSTM_SLOTS, _LSTM_HALVED), out=a)
        w_t = _blocks(w_hh, _LSTM_SLOTS, _LSTM_HALVED).T
        y = self._output_buffer(np, xs.dtype)
        hs = self._history(np, y, h0)
        cs = _workspace.empty((T + 1, H, 1), xs.dtype)
        cs[T if self.reverse else 0] = c0.T
        gh, tmp = np.empty(4 * H, xs.dtype), np.empty(H, xs.dtype)
        mm = _dot(np, gh, hs, w_t)
        g4 = a.reshape(T, 4, H)
        slots = _forwards(self.reverse, list(a), list(a[:, :3 * H]), *map(list, g4.transpose(1, 0, 2)))  # (g4[:, k]
        # for k = 0..3, without a generator's calls)
        hrows, crows = list(hs.reshape(T + 1, H)), list(cs.reshape(T + 1, H))
        for (at, sg, i, f, og, g), (hp, hn), (cp, cn) in zip(slots, _pairs(hrows, self.reverse),
                                                             _pairs(crows, self.reverse)):
            mm(hp, w_t, gh)
            at += gh
            np.tanh(at, out=at)
            sg *= 0.5
            sg += 0.5
            np.multiply(f, cp, out=cn)
            np.multiply(i, g, out=tmp)
            cn += tmp
            np.tanh(cn, out=tmp)
            np.multiply(og, tmp, out=hn)
        return y, hs, A, cs, cs[0 if self.reverse else T].T

    def _kernel_forward(self, xp, xs, h0, c0, w_ih, w_hh, bias):
        """The CuPy path (and its numpy stand-ins): rows (B, 4, H) per step, one kernel launch for the gates."""
        T, B, I, H, o = self.T, self.B, self.I, self.H, self.o
        bt, order = self.batch, _LSTM_SLOTS
        whh = _blocks(w_hh, order)
        a = _project(xs.reshape(T * B, I), _blocks(w_ih, order), None if bias is None else _blocks(bias, order))
        a = a.reshape(T, B, 4, H)
        y = self._output_buffer(xp, xs.dtype)
        hs = self._history(xp, y, h0)
        cs = xp.empty((T + 1 if self.keep else 2, B, H), dtype=xs.dtype)
        cs[T if self.reverse and self.keep else 0] = c0
        gh = xp.empty((B, 4, H), dtype=xs.dtype)
        st = _StepCalls(xp, xs.dtype, B, H, whh)
        A, HS, CS, GH = st.rows(a), st.rows(hs), st.rows(cs), st.buf(gh)
        for s, t in enumerate(self._times()):
            n = bt.active[t]
            p, q = (t + 1 - o, t + o) if self.keep else (s % 2, (s + 1) % 2)  # c_prev, c in cs
            st.product(GH, HS[t + 1 - o], n)
            st.kernel("lstm_fwd", n, GH, CS[p], H, A[t], CS[q], HS[t + o])
            if self.lengths is not None:
                self._carry(y, t, n, hs, (cs[p], cs[q]))
        c_n = cs[(0 if self.reverse else T) if self.keep else T % 2]
        if self.keep:
            self.a, self.cs, self.hs, self.xs, self.w_ih, self.w_hh = a, cs, hs, xs, w_ih, w_hh
        return self._finish_forward(y, hs, c_n)

    def backward(self, g_out, g_hn, g_cn):
        if _mode.grad_enabled:
            return self._composed_backward(g_out, g_hn, g_cn)
        if not self._kernel_path(backend.xp_of(self.xs)):
            return self._numpy_backward(g_out, g_hn, g_cn)
        T, B, H, o = self.T, self.B, self.H, self.o
        bt, a, cs = self.batch, self.a, self.cs
        xp, dout, dh, dc = self._start_backward(a.dtype, g_out, g_hn, g_cn)
        sums = _GradSums(self, xp, self.w_ih)
        d = (xp.zeros if self.lengths is not None else xp.empty)((T, B, 4, H), dtype=a.dtype)
        st = _StepCalls(xp, a.dtype, B, H, self.w_hh, slots=4)
        A, CS, DO, D = st.rows(a), st.rows(cs), st.rows(dout, copy=True), st.rows(d)
        DH, DC = st.buf(dh), st.buf(dc)
        for t in _steps(0, T, self.reverse):
            n = bt.active[t]
            st.kernel("lstm_bwd", n, A[t], CS[t + 1 - o], CS[t + o], DO[t], H, D[t], DH, DC)
            st.product_back(DH, D[t], n)
        sums.add(0, T, d)
        dx, dw_ih, dw_hh, db_ih, db_hh = sums.result()
        return self._pack_grads([dx, bt.unsort(dh, 0), bt.unsort(dc, 0), dw_ih, dw_hh, db_ih, db_hh])

    def _numpy_backward(self, g_out, g_hn, g_cn):
        """Per block of steps: the gate-gradient coefficients of dh and dc in one vectorized pass, then per
        step a few ufuncs and one matmul, all on (H, B) columns. The block's gate gradients D (4H, m*B),
        one column per (step, batch) in PyTorch gate order (i, f, g, o), go to ``_GradSums`` as D.T."""
        T, B, H, o = self.T, self.B, self.H, self.o
        A, cs, bt = self.A, self.cs, self.batch
        _, dout, dh, dc = self._start_backward(A.dtype, g_out, g_hn, g_cn)
        dh, dc = dh.T.copy(), dc.T.copy()
        sums = _GradSums(self, np, self.w_ih)
        # At B > 1 a copy of W_hh.T: its product with D runs ~10 % faster than the view's. At B = 1 the products
        # gain less than the transposing copy costs (2 against 10 us at H = 100, T = 25).
        w_hh_t = self.w_hh.T
        if B > 1:
            w_hh_t = _workspace.empty((H, 4 * H), A.dtype)
            np.copyto(w_hh_t, self.w_hh.T)
        ch = _chunk_len(T, B * H)
        # coefficients: d_i, d_f, d_g = pre * dc, d_o = pre * dh. At B = 1, where a step's rows of D are
        # contiguous, they are computed in D itself and multiplied there in place, as the floor's
        rows = B == 1 and self.lengths is None
        pre = None if rows else _workspace.empty((ch, 4, H, B), A.dtype)
        q = _workspace.empty((ch, H, B), A.dtype)  # o (1 - tanh(c)^2): dc += dh q
        # D (4H, span*B) of a group of blocks (_grad_blocks); at B = 1 stored as its transpose, so that each step's
        # column is contiguous (np.dot)
        steps, span = _grad_blocks(T, B, H, self.reverse)
        dbuf = _workspace.empty((span, 4 * H) if B == 1 else (4 * H, span * B), A.dtype)
        d2 = dbuf.T if B == 1 else dbuf
        # A product in blocks (see _product) reads the step's gate gradients from a contiguous copy: from the
        # strided block of D its blocks ran slower than the whole product (long: 32 against 28 us)
        staged = _block_rows(H, 4 * H, B, A.dtype) is not None
        sc = np.empty((4 * H, B), A.dtype) if staged else None
        mm = _product(w_hh_t, d2[:, :B] if sc is None else sc, dh)
        tmp = np.empty((H, B), dtype=A.dtype)
        for (t0, t1), (s0, s1, last) in steps:
            m = t1 - t0
            dcols = d2[:, (t0 - s0) * B:(t1 - s0) * B].reshape(4 * H, m, B).transpose(1, 0, 2)  # step s's (4H, B)
            ai, af, ao, ag = A[t0:t1].reshape(m, 4, H, B).transpose(1, 0, 2, 3)  # (its [:, k] for k = 0..3, without
            coef = dcols.reshape(m, 4, H, B) if rows else pre[:m]  # a generator's calls; so coef's)
            di, df, dg, do = coef.transpose(1, 0, 2, 3)
            qc = q[:m]
            tc = np.tanh(cs[t0 + o:t1 + o], out=qc)
            np.subtract(1, ao, out=do)
            do *= ao
            do *= tc
            np.multiply(tc, tc, out=qc)
            np.subtract(1, qc, out=qc)
            qc *= ao
            np.subtract(1, ai, out=di)
            di *= ai
            di *= ag
            np.multiply(ag, ag, out=dg)
            np.subtract(1, dg, out=dg)
            dg *= ai
            np.subtract(1, af, out=df)
            df *= af
            df *= cs[t0 + 1 - o:t1 + 1 - o]
            if self.lengths is None:  # (the common case: every step's views made up front, one call per array)
                dcol_rows = list(dcols)
                if staged:
                    d3s, d4s, src = [sc[:3 * H].reshape(3, H, B)] * m, [sc[3 * H:]] * m, [sc] * m
                else:
                    dsteps = dcols.reshape(m, 4, H, B)
                    d3s, d4s, src = list(dsteps[:, :3]), list(dsteps[:, 3]), dcol_rows
                p3s, p4s = (d3s, d4s) if rows else (list(coef[:, :3]), list(coef[:, 3]))  # (B = 1: never staged)
                for dy, q_, f_, p3, p4, d3, d4, ds, dcol in _backwards(
                        self.reverse, list(dout[t0:t1].transpose(0, 2, 1)), list(qc), list(af), p3s, p4s, d3s, d4s,
                        src, dcol_rows):
                    dh += dy
                    np.multiply(dh, q_, out=tmp)
                    dc += tmp
                    np.multiply(p3, dc, out=d3)
                    np.multiply(p4, dh, out=d4)
                    dc *= f_
                    mm(ds, out=dh)
                    if staged:
                        np.copyto(dcol, sc)
            else:
                for t in _steps(t0, t1, self.reverse):
                    s, n = t - t0, bt.active[t]
                    dt_ = dcols[s, :, :n].reshape(4, H, n)
                    dhn, dcn, q_, tm, f_, p_ = _cols(n, B, dh, dc, qc[s], tmp, af[s], pre[s])
                    dhn += dout[t, :n].T
                    np.multiply(dhn, q_, out=tm)
                    dcn += tm
                    np.multiply(p_[:3], dcn, out=dt_[:3])
                    np.multiply(p_[3], dhn, out=dt_[3])
                    dcn *= f_
                    if n < B:
                        dcols[s, :, n:] = 0
                    np.matmul(w_hh_t, dcols[s, :, :n], out=dhn)  # (a strided block: not np.dot, see _dot)
            if last:
                sums.add_rows(s0, s1, d2[:, :(s1 - s0) * B].T, d2[:, :(s1 - s0) * B].T)
        _workspace.give(pre, q, dbuf, w_hh_t)
        dx, dw_ih, dw_hh, db_ih, db_hh = sums.result()
        dh, dc = np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T)  # (rows, as every other gradient)
        return self._pack_grads([dx, bt.unsort(dh, 0), bt.unsort(dc, 0), dw_ih, dw_hh, db_ih, db_hh])


# ============================================================================ GRU
def _gru_update(rz, r, z, n_, hn, hp, hc, tmp):
    """A numpy GRU step once W_hh h is in the gates (r, z halved: sigmoid(v) = 0.5 + 0.5 tanh(v / 2), the halving
    folded into the weights): r, z = sigmoid, n = tanh(n_ + r hn), and into hc h' = n + z (h - n)."""
    np.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5
    np.multiply(r, hn, out=tmp)
    n_ += tmp
    np.tanh(n_, out=n_)
    np.subtract(hp, n_, out=hc)
    hc *= z
    hc += n_


class GRUSequence(_Recurrence):
    """Whole-sequence GRU (gates r, z, n): n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h."""

    name = "gru_sequence"
    gates = 3
    recycled = ("a",)

    def forward(self, *arrays):
        x, h0, w_ih, w_hh, b_ih, b_hh = self._unpack(arrays)
        xp = self._setup(x, w_hh)
        T, B, I, H, o = self.T, self.B, self.I, self.H, self.o
        kern = self._kernel_path(xp)
        bt = self.batch
        xs, h0 = bt.sort(x, 1), bt.sort(h0, 0)
        sc_i, sc_h = (None, None) if kern else ((1.0, 0.5, 0.5), (0.5, 0.5, 1.0))
        wih = _blocks(w_ih, (2, 0, 1), sc_i)  # slots [n, r, z]
        whh = w_hh if sc_h is None else _blocks(w_hh, (0, 1, 2), sc_h)  # (r, z, n)
        bias = None  # slots [n, r, z]: b_in, b_ir + b_hr, b_iz + b_hz (the r, z halves scaled like the weights)
        if b_ih is not None or b_hh is not None:
            bias = xp.zeros((3, H), dtype=x.dtype)
            if b_ih is not None:
                bias += b_ih.reshape(3, H)[[2, 0, 1]]
            if b_hh is not None:
                bias[1:] += b_hh.reshape(3, H)[:2]
            if sc_i is not None:
                bias[1:] *= 0.5
        a = (_workspace.empty if xp is np else xp.empty)((T, B, 4, H), x.dtype)
        ain = a[:, :, :3]
        if xp is np:
            _project(xs.reshape(T * B, I), wih, bias, out=ain.reshape(T * B, 3 * H))
        else:
            ain[...] = _project(xs.reshape(T * B, I), wih, bias).reshape(T, B, 3, H)
        a[:, :, 3] = 0 if b_hh is None else b_hh.reshape(3, H)[2]
        y = self._output_buffer(xp, x.dtype)
        hs = self._history(xp, y, h0)
        if kern:
            gh = xp.empty((B, 3, H), dtype=x.dtype)
            st = _StepCalls(xp, x.dtype, B, H, whh)
            A, HS, GH = st.rows(a), st.rows(hs), st.buf(gh)
            for t in self._times():
                n = bt.active[t]
                st.product(GH, HS[t + 1 - o], n)
                st.kernel("gru_fwd", n, GH, HS[t + 1 - o], H, A[t], HS[t + o])
                if self.lengths is not None:
                    self._carry(y, t, n, hs)
        elif B == 1 and self.lengths is None:
            self._row_steps(a, whh, hs)
        else:
            self._column_steps(a, whh, y, hs)
        if self.keep:
            self.a, self.hs, self.xs, self.w_ih, self.w_hh = a, hs, xs, w_ih, w_hh
        else:
            _workspace.give(a)
        return self._finish_forward(y, hs)

    def _column_steps(self, a, whh, y, hs):
        """The numpy steps on (H, B) columns (as the LSTM's, see _Columns): a step's gates [n, r, z, hn] are a
        (4H, B) block whose gate slices are contiguous (in the rows a[t] they are strided (B, H) slices, which
        numpy's ufuncs run row by row), and the hidden product W_hh h adds in without a transpose. The input
        projection comes in from a's rows, and with grad the step's gates go back into them for backward."""
        T, B, H, o, bt = self.T, self.B, self.H, self.o, self.batch
        g = np.empty((4 * H, B), dtype=a.dtype)  # [n, r, z, hn] of the step, as columns
        rows = g.reshape(4, H, B).transpose(2, 0, 1)  # (its (B, 4, H) view, to and from a[t])
        n_, rz, r, z, hn, hh = g[:H], g[H:3 * H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:], g[H:]
        h = np.empty((2, H, B), dtype=a.dtype)  # the state's columns, in turns
        h[0] = hs[T if self.reverse else 0].T
        gh, tmp = np.empty((3 * H, B), dtype=a.dtype), np.empty((H, B), dtype=a.dtype)
        mm = _product(whh, h[0], gh)
        for s, t in enumerate(self._times()):
            hp, hc = h[s & 1], h[1 - (s & 1)]
            np.copyto(rows, a[t])
            mm(hp, out=gh)  # (r, z, n) of W_hh h
            hh += gh
            _gru_update(rz, r, z, n_, hn, hp, hc, tmp)
            n = bt.active[t]
            if n < B:  # (finished sequences keep their state; their gates go unused, backward zeroes them)
                hc[:, n:] = hp[:, n:]
            hs[t + o] = hc.T
            if self.keep:
                a[t] = rows
            if self.lengths is not None:
                y[t, :n] = hs[t + o][:n]

    def _row_steps(self, a, whh, hs):
        """The numpy steps at B = 1 without lengths, as the LSTM's: a step's gates [n, r, z, hn] are a's row a[t]
        itself and its state the history's row, so the columns' three copies a step (the gates in and out, the
        state out) go, and a step is the equations' ufuncs and one matrix-vector product."""
        T, H = self.T, self.H
        w_t, gh, tmp = whh.T, np.empty(3 * H, a.dtype), np.empty(H, a.dtype)
        mm = _dot(np, gh, hs, w_t)
        g = a.reshape(T, 4 * H)
        slots = _forwards(self.reverse, *[list(g[:, j:k]) for j, k in ((H, 4 * H), (H, 3 * H), (0, H), (H, 2 * H),
                                                                      (2 * H, 3 * H), (3 * H, 4 * H))])
        for (hh, rz, n_, r, z, hn), (hp, hc) in zip(slots, _pairs(list(hs.reshape(T + 1, H)), self.reverse)):
            mm(hp, w_t, gh)
            hh += gh  # (r, z, n) of W_hh h into the slots [r, z, hn]
            _gru_update(rz, r, z, n_, hn, hp, hc, tmp)

    def backward(self, g_out, g_hn):
        if _mode.grad_enabled:
            return self._composed_backward(g_out, g_hn)
        T, B, H, o = self.T, self.B, self.H, self.o
        bt, a, hs, w_hh = self.batch, self.a, self.hs, self.w_hh
        xp, dout, dh = self._start_backward(a.dtype, g_out, g_hn)
        # slots [n, r, z, hn]: (n, r, z) multiply W_ih's rows reordered to (n, r, z); (r, z, hn) multiply W_hh
        sums = _GradSums(self, xp, _blocks(self.w_ih, (2, 0, 1)), slice(0, 3), slice(1, 4))
        if self._kernel_path(xp):
            d = (xp.zeros if self.lengths is not None else xp.empty)((T, B, 4, H), dtype=a.dtype)
            st = _StepCalls(xp, a.dtype, B, H, w_hh, slots=4)
            A, HS, DO, D, DH = st.rows(a), st.rows(hs), st.rows(dout, copy=True), st.rows(d), st.buf(dh)
            for t in _steps(0, T, self.reverse):
                n = bt.active[t]
                st.kernel("gru_bwd", n, A[t], HS[t + 1 - o], DO[t], H, D[t], DH)
                st.product_back(DH, D[t], n, first=1, accumulate=True)  # dh = dh z + d[r, z, hn] @ W_hh
            sums.add(0, T, d)
        else:
            self._numpy_bptt(sums, dout, dh, np.empty((B, H), dtype=a.dtype))
        dx, dw_ih, dw_hh, db_ih, db_hh = sums.result()
        dw_ih, db_ih = [None if g is None else _blocks(g, (1, 2, 0)) for g in (dw_ih, db_ih)]  # back to (r, z, n)
        return self._pack_grads([dx, bt.unsort(dh, 0), dw_ih, dw_hh, db_ih, db_hh])

    def _numpy_bptt(self, sums, dout, dh, tmp):
        """Per block of steps: every gate gradient as dh times a coefficient (one vectorized pass), then per
        step d[t] *= dh, one matmul and dh = dh z + that; each finished group of blocks goes to ``sums``."""
        T, B, H, o = self.T, self.B, self.H, self.o
        a, hs, w_hh, bt = self.a, self.hs, self.w_hh, self.batch
        ch = _chunk_len(T, B * H)
        omz = _workspace.empty((ch, B, H), a.dtype)
        steps, span = _grad_blocks(T, B, H, self.reverse)
        dbuf = _workspace.empty((span, B, 4, H), a.dtype)
        for (t0, t1), (s0, s1, last) in steps:
            d = dbuf[t0 - s0:t1 - s0]
            an, ar, az, ahn = a[t0:t1].transpose(2, 0, 1, 3)  # (a[t0:t1, :, k] for k = 0..3, without a generator's
            dn, dr, dz, dhn_ = d.transpose(2, 0, 1, 3)  # calls; so d's)
            u = omz[:t1 - t0]
            np.subtract(1, az, out=u)
            np.multiply(an, an, out=dn)
            np.subtract(1, dn, out=dn)
            dn *= u  # (1 - z)(1 - n^2)
            np.multiply(dn, ar, out=dhn_)
            np.subtract(1, ar, out=dr)
            dr *= dhn_
            dr *= ahn
            np.subtract(hs[t0 + 1 - o:t1 + 1 - o], an, out=dz)
            dz *= az
            dz *= u
            if self.lengths is None:  # (the common case: every step's views made up front, one call per array)
                dh3, dhid = dh[:, None, :], d.reshape(t1 - t0, B, 4 * H)[:, :, H:]  # (r, z, hn) meet W_hh
                mm = _dot(np, tmp, dhid[0], w_hh)
                for dt_, dhid_t, zt, do in _backwards(self.reverse, list(d), list(dhid), list(az), list(dout[t0:t1])):
                    dh += do
                    dt_ *= dh3
                    mm(dhid_t, w_hh, out=tmp)
                    dh *= zt
                    dh += tmp
            else:
                for t in _steps(t0, t1, self.reverse):
                    n = bt.active[t]
                    dhn, dt_, do, tm, at = _rows(n, B, dh, d[t - t0], dout[t], tmp, a[t])
                    dhn += do
                    dt_ *= dhn[:, None, :]
                    if n < B:
                        d[t - t0, n:] = 0
                    np.matmul(dt_[:, 1:].reshape(n, 3 * H), w_hh, out=tm)  # (strided: not np.dot, see _dot)
                    dhn *= at[:, 2]
                    dhn += tm
            if last:
                sums.add(s0, s1, dbuf[:s1 - s0])
        _workspace.give(omz, dbuf)


# ============================================================================ Elman RNN
class RNNSequence(_Recurrence):
    """Whole-sequence Elman RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu."""

    name = "rnn_sequence"

    def __init__(self, nonlinearity: str, *args: Any, **kwargs: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(*args, **kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, *arrays):
        x, h0, w_ih, w_hh, b_ih, b_hh = self._unpack(arrays)
        xp = self._setup(x, w_hh)
        T, B, I, H, o = self.T, self.B, self.I, self.H, self.o
        bt = self.batch
        xs, h0 = bt.sort(x, 1), bt.sort(h0, 0)
        bias = _bias_sum(b_ih, b_hh)
        y = self._output_buffer(xp, x.dtype)
        act = np.tanh if self.nonlinearity == "tanh" else (lambda v, out: np.maximum(v, 0, out=out))
        if self._kernel_path(xp):  # the input projection of all steps up front, then a product and a kernel a step
            hs = self._history(xp, y, h0)
            _project(xs.reshape(T * B, I), w_ih, bias, out=hs[o:T + o].reshape(T * B, H))
            st = _StepCalls(xp, x.dtype, B, H, w_hh)
            HS, GH, fwd = st.rows(hs), st.buf(xp.empty((B, H), dtype=x.dtype)), "rnn_fwd_" + self.nonlinearity
            for t in self._times():
                n = bt.active[t]
                st.product(GH, HS[t + 1 - o], n)
                st.kernel(fwd, n, GH, HS[t + o])
                if self.lengths is not None:
                    self._carry(y, t, n, hs)
        elif B > 1:  # columns (see _Columns): one matmul and one ufunc per step
            w = _cat_weights(w_ih, w_hh, bias)
            cols = _Columns(self, xs, h0, y)
            prod = _product(w, cols.z[0], cols.h[0])
            for s, t in enumerate(self._times()):
                n = bt.active[t]
                zt, hn = cols.at(s, t, n)
                if n == B:
                    prod(zt, out=hn)
                else:
                    np.matmul(w, zt, out=hn)  # (strided blocks: see _dot)
                act(hn, out=hn)
                cols.out(s, t)
            hs = cols.finish(y)
            _workspace.give(w)
        else:  # rows, the input projection of all steps up front: at B = 1, where the step's product is a
            # matrix-vector one and rows spare the columns' two copies per step (0.83x-0.95x the time)
            hs = self._history(np, y, h0)
            _project(xs.reshape(T * B, I), w_ih, bias, out=hs[o:T + o].reshape(T * B, H))
            tmp, w_t = np.empty((B, H), dtype=x.dtype), w_hh.T
            mm = _dot(np, tmp, hs, w_hh)
            rows = list(hs)  # (views of the T+1 rows, made in one call)
            if self.lengths is None:  # (the common case, without the per-step row bookkeeping below)
                for hp, hn in _pairs(rows, self.reverse):
                    mm(hp, w_t, tmp)
                    hn += tmp
                    act(hn, hn)
            else:
                for t in self._times():
                    n = bt.active[t]
                    hpn, hnn, tm = _rows(n, B, rows[t + 1 - o], rows[t + o], tmp)
                    mm(hpn, w_t, out=tm)
                    hnn += tm
                    act(hnn, out=hnn)
                    self._carry(y, t, n, hs)
        if self.keep:
            self.hs, self.xs, self.w_ih, self.w_hh = hs, xs, w_ih, w_hh
        return self._finish_forward(y, hs)

    def backward(self, g_out, g_hn):
        if _mode.grad_enabled:
            return self._composed_backward(g_out, g_hn)
        T, B, H, o = self.T, self.B, self.H, self.o
        bt, hs, w_hh = self.batch, self.hs, self.w_hh
        xp, dout, dh = self._start_backward(hs.dtype, g_out, g_hn)
        new = hs[o:T + o]
        sums = _GradSums(self, xp, self.w_ih)
        if self._kernel_path(xp):
            d = (xp.zeros if self.lengths is not None else xp.empty)((T, B, H), dtype=hs.dtype)
            st = _StepCalls(xp, hs.dtype, B, H, w_hh)
            NEW, DO, D, DH = st.rows(new), st.rows(dout, copy=True), st.rows(d), st.buf(dh)
            bwd = "rnn_bwd_" + self.nonlinearity
            for t in _steps(0, T, self.reverse):
                n = bt.active[t]
                st.kernel(bwd, n, NEW[t], DO[t], D[t], DH)
                st.product_back(DH, D[t], n)
            sums.add_rows(0, T, d.reshape(T * B, H), d.reshape(T * B, H))
        else:
            steps, span = _grad_blocks(T, B, H, self.reverse)
            dbuf = _workspace.empty((span, B, H), hs.dtype)
            mm = _dot(np, dh, dbuf, w_hh)
            for (t0, t1), (s0, s1, last) in steps:
                d = dbuf[t0 - s0:t1 - s0]
                if self.nonlinearity == "tanh":  # d = act'(pre) = 1 - h^2, then times dh per step
                    np.multiply(new[t0:t1], new[t0:t1], out=d)
                    np.subtract(1, d, out=d)
                else:  # (the output is >= 0 or nan, where torch's relu passes the gradient too)
                    np.not_equal(new[t0:t1], 0, out=d)
                drows, orows = list(d), list(dout[t0:t1])  # (views of the block's rows, made in one call each)
                if self.lengths is None:  # (the common case, without the per-step row bookkeeping below)
                    for dt_, do in _backwards(self.reverse, drows, orows):
                        dh += do
                        dt_ *= dh
                        mm(dt_, w_hh, dh)
                else:
                    for t in _steps(t0, t1, self.reverse):
                        n = bt.active[t]
                        dhn, dt_, do = _rows(n, B, dh, drows[t - t0], orows[t - t0])
                        dhn += do
                        dt_ *= dhn
                        d[t - t0, n:] = 0
                        mm(dt_, w_hh, out=dhn)
                if last:  # (one gate: d is d_in and d_hh)
                    sums.add_rows(s0, s1, dbuf[:s1 - s0].reshape(-1, H), dbuf[:s1 - s0].reshape(-1, H))
            _workspace.give(dbuf)
        dx, dw_ih, dw_hh, db_ih, db_hh = sums.result()
        return self._pack_grads([dx, bt.unsort(dh, 0), dw_ih, dw_hh, db_ih, db_hh])


# ============================================================================ one step of a cell
# The fused cells' step (and a fused layer's on a one-step input), on any device: the equations below on arrays,
# with nothing around them while no graph is recorded (cell_step), or one CellStep node with the step's
# hand-derived backward. The sequence Function over one step, used before, spent most of a B = 1 call in
# argument handling and kept a copy of h (and c) beside the history it saves; a step here keeps only what its
# backward reads.
def _sigmoid_(v: Any) -> Any:
    """sigmoid(v) = 0.5 + 0.5 tanh(v / 2), in place (no overflow where 1 / (1 + e^-v) would)."""
    xp = backend.xp_of(v)
    v *= 0.5
    xp.tanh(v, out=v)
    v *= 0.5
    v += 0.5
    return v


def _gates(x: Any, w: Any, b: Optional[Any]) -> Any:
    """w x^T + b as columns, a new (G*H, B) array: gate k is the contiguous rows [k H, (k+1) H). The rows layout x
    w^T would make each gate a strided (B, H) slice, on which numpy's ufuncs cost 2x-4x more at B = 64 (per-row
    loops), and runs the product through w's transposed view 1.3x slower (see _Columns)."""
    g = _dot(backend.xp_of(x), None, w, x)(w, x.T)
    if b is not None:
        g += b[:, None]
    return g


def _transposed(a: Any) -> Any:
    """a.T as a new C-contiguous array: columns (H, B) as the (B, H) rows every caller sees, or rows as columns.
    Always a copy (a.T.copy(), not ascontiguousarray, which at B = 1 or H = 1 returns a view of a): the step's
    outputs must own their memory, as they did in rows, or an in-place op on h' or c' (F.relu(h, inplace=True))
    is refused as on a view (Tensor._apply_in_place)."""
    return a.T.copy()


def _rnn_step(mode: str, x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh): (h', None, nothing saved: backward reads h')."""
    pre = _gates(x, w_ih, b_ih)
    pre += _gates(h, w_hh, b_hh)
    xp = backend.xp_of(pre)
    return _transposed(xp.tanh(pre, out=pre) if mode == "RNN_TANH" else xp.maximum(pre, 0, out=pre)), None, ()


def _lstm_gates(x: Any, h: Any, c: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh), sigmoid but g tanh; c' = f c + i g: (the gates a
    after their activations, c'), both as columns, (4H, B) and (H, B)."""
    xp, H = backend.xp_of(x), h.shape[1]
    a = _gates(x, w_ih, b_ih)
    a += _gates(h, w_hh, b_hh)
    _sigmoid_(a[:2 * H])
    xp.tanh(a[2 * H:3 * H], out=a[2 * H:3 * H])
    _sigmoid_(a[3 * H:])
    c_new = a[H:2 * H] * c.T
    c_new += a[:H] * a[2 * H:3 * H]
    return a, c_new


def _lstm_step(x: Any, h: Any, c: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """The gates and c' (_lstm_gates), then h' = o tanh(c'): (h', c')."""
    a, c_new = _lstm_gates(x, h, c, w_ih, w_hh, b_ih, b_hh)
    h_new = backend.xp_of(c_new).tanh(c_new)
    h_new *= a[3 * h.shape[1]:]
    return _transposed(h_new), _transposed(c_new)


def _gru_step(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """r, z = sigmoid(x W_i^T + b_i + h W_h^T + b_h) (their rows), hn = h W_hn^T + b_hn, n = tanh(x W_in^T + b_in
    + r hn), h' = n + z (h - n): (h', None, saved ([r | z | n | hn] as columns (4H, B)))."""
    xp, H = backend.xp_of(x), h.shape[1]
    gi, gh = _gates(x, w_ih, b_ih), _gates(h, w_hh, b_hh)
    s = xp.empty((4 * H, h.shape[0]), dtype=gi.dtype)
    rz, n, hn = s[:2 * H], s[2 * H:3 * H], s[3 * H:]
    _sigmoid_(xp.add(gi[:2 * H], gh[:2 * H], out=rz))
    hn[...] = gh[2 * H:]
    xp.multiply(rz[:H], hn, out=n)
    n += gi[2 * H:]
    xp.tanh(n, out=n)
    h_new = h.T - n
    h_new *= rz[H:]
    h_new += n
    return _transposed(h_new), None, (s,)


def _check_alike(arrays: Sequence[Any]) -> None:
    """One dtype and one kind of array (numpy or CuPy) for a step's input, states and parameters: numpy would
    silently promote mixed dtypes (torch raises)."""
    if len({(a.dtype, type(a)) for a in arrays if a is not None}) > 1:
        kinds = ", ".join(f"{dtype_name(a.dtype)} on {backend.device_of(a)}" for a in arrays if a is not None)
        raise TypeError(f"cell_step: mixed dtypes or devices ({kinds}); the input, the state and the parameters "
                        "must share one dtype and device (e.g. module.double() or x.float(), .to(device))")


def cell_step(mode: str, x: Any, h: Any, c: Optional[Any], w_ih: Any, w_hh: Any, b_ih: Optional[Any],
              b_hh: Optional[Any]) -> Tuple[Any, Optional[Any]]:
    """One step of a cell on arrays, (h', c') (c' None but for the LSTM), for calls that record no graph
    (sampling a character at a time): PyTorch's gate order and equations (see _rnn_step, _lstm_step,
    _gru_step). mode is 'LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU'; x (B, I), h and c (B, H)."""
    _check_alike((x, h, c, w_ih, w_hh, b_ih, b_hh))
    if mode == "LSTM":
        return _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)
    if mode == "GRU":
        return _gru_step(x, h, w_ih, w_hh, b_ih, b_hh)[:2]
    return _rnn_step(mode, x, h, w_ih, w_hh, b_ih, b_hh)[:2]


def _cell_saves(lstm: bool, bias: bool) -> tuple:
    """CellStep's (saved_inputs, saved_for): every input. Backward reads x, h, [c,] w_ih and w_hh; the biases are
    saved for a double backward alone (_composed_grads), so a change to them in place is refused only there."""
    read = 5 if lstm else 4
    n = read + 2 * bias
    return tuple(range(n)), (tuple(range(n)),) * read + ((), ()) * bias


_CELL_SAVES = {(lstm, bias): _cell_saves(lstm, bias) for lstm in (False, True) for bias in (False, True)}


class CellStep(Function):
    """One step of an RNN/LSTM/GRU cell as one node: inputs (x, h, [c,] w_ih, w_hh[, b_ih, b_hh]), output h', or
    for the LSTM (c', o), the output gate o left for the caller's h' = o tanh(c') (so that c' is a node of its
    own before h', as in the composed equations and in torch's CPU cell: a hook on c' sees dL/dc' whole).
    Forward is cell_step's equations, keeping what backward reads; backward is the step's hand-derived gradient,
    the gate gradients D (B, G*H), held as columns D^T (see _gates), giving dx = D W_ih, dh = D W_hh (+ the GRU's
    direct z term), dW = D^T x and D^T h, db = sum of D's rows (as the sequence backward, for one step)."""

    name = "cell_step"
    fresh_grads = True
    composed_double_backward = True

    def __init__(self, mode: str, bias: bool) -> None:
        self.mode, self.bias, self.lstm = mode, bias, mode == "LSTM"
        self.saved_inputs, self.saved_for = _CELL_SAVES[self.lstm, bias]
        self.save_output = mode.startswith("RNN")  # (the RNN's backward reads h')

    def forward(self, *arrays):
        _check_alike(arrays)
        n = len(self.saved_inputs)
        biases = arrays[n:] if self.bias else (None, None)
        if self.lstm:
            self.a, c = _lstm_gates(*arrays[:n], *biases)
            return _transposed(c), _transposed(self.a[3 * c.shape[0]:])
        step = _gru_step if self.mode == "GRU" else lambda *a: _rnn_step(self.mode, *a)
        h, _, self.kept = step(*arrays[:n], *biases)
        return h

    def backward(self, g_h, g_o=None):  # (the LSTM's: g_h is dL/dc', g_o dL/do)
        if _mode.grad_enabled:
            return _composed_grads(self, self._composed, (g_h, g_o))
        x, h = self.saved[0].array, self.saved[1].array
        xp, (B, H) = backend.xp_of(x), h.shape
        if self.mode.startswith("RNN"):
            y = self._out
            d = 1 - y * y if self.mode == "RNN_TANH" else (y != 0).astype(y.dtype)  # (nan passes, as torch)
            if g_h is not None:
                d *= g_h.array
            else:
                d[...] = 0
            return self._grads(d.T, d.T, None)
        # as columns (see _gates), like the saved gates; the gate gradients D are (G*H, B)
        g = xp.zeros((H, B), dtype=h.dtype) if g_h is None else _transposed(g_h.array)
        if self.mode == "GRU":
            (s,) = self.kept
            r, z, n, hn = s[:H], s[H:2 * H], s[2 * H:3 * H], s[3 * H:]
            d_in = xp.empty((3 * H, B), dtype=h.dtype)  # gradients of x W_i^T + b_i: (r, z, n)
            dr, dz, dn = d_in[:H], d_in[H:2 * H], d_in[2 * H:]
            xp.multiply(n, n, out=dn)               # dn = g (1 - z)(1 - n^2)
            xp.subtract(1, dn, out=dn)
            dn *= 1 - z
            dn *= g
            xp.subtract(h.T, n, out=dz)             # dz = g (h - n) z (1 - z)
            dz *= z
            dz *= 1 - z
            dz *= g
            d_hh = d_in.copy()                      # of h W_h^T + b_h: (r, z, hn), dhn = dn r
            d_hh[2 * H:] *= r
            xp.multiply(d_hh[2 * H:], hn, out=dr)   # dr = dn hn r (1 - r) = dhn hn (1 - r)
            dr *= 1 - r
            d_hh[:H] = dr
            return self._grads(d_in, d_hh, g * z)   # (dL/dh's part not through W_hh)
        a, dc = self.a, g                           # dc = dL/dc'
        i, f, gg, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        d = xp.empty_like(a)
        xp.multiply(dc, gg, out=d[:H])               # di = dc g i (1 - i)
        d[:H] *= i * (1 - i)
        xp.multiply(dc, self.saved[2].array.T, out=d[H:2 * H])  # df = dc c f (1 - f)
        d[H:2 * H] *= f * (1 - f)
        xp.multiply(dc, i, out=d[2 * H:3 * H])       # dg = dc i (1 - g^2)
        d[2 * H:3 * H] *= 1 - gg * gg
        if g_o is None:                              # do = dL/do o (1 - o)
            d[3 * H:] = 0
        else:
            xp.multiply(g_o.array.T, o * (1 - o), out=d[3 * H:])
        return self._grads(d, d, dc * f)             # (dL/dc = dL/dc' f)

    def _composed(self, x: Tensor, h: Tensor, *rest: Tensor) -> tuple:
        """The step composed of ordinary ops (rnn.py's cell equations): (h',), or the LSTM's (c', o)."""
        from .rnn import gru_cell, lstm_state, rnn_cell
        weights = rest[1:] if self.lstm else rest
        weights = weights if self.bias else (*weights, None, None)
        if self.lstm:
            return lstm_state(x, h, rest[0], *weights)
        if self.mode == "GRU":
            return (gru_cell(x, h, *weights),)
        return (rnn_cell(x, h, *weights, "tanh" if self.mode == "RNN_TANH" else "relu"),)

    def _grads(self, d_in: Any, d_hh: Any, direct: Optional[Any]) -> tuple:
        """Tensors for (x, h, [dL/dc,] w_ih, w_hh[, b_ih, b_hh]) from the gate gradients as columns (G*H, B), d_in
        (of x W_ih^T + b_ih) and d_hh (of h W_hh^T + b_hh), and dL/dh's direct part (H, B) (the LSTM's dL/dc)."""
        need = self.needs_input_grad
        n = 5 if self.lstm else 4
        x, h, w_ih, w_hh = (self.saved[k].array for k in (0, 1, n - 2, n - 1))
        xp = backend.xp_of(x)
        dx = _dot(xp, None, d_in, w_ih)(d_in.T, w_ih) if need[0] else None
        dh = None
        if need[1]:
            dh = _dot(xp, None, d_hh, w_hh)(d_hh.T, w_hh)
            if direct is not None and not self.lstm:
                dh += direct.T
        grads = [dx, dh] + ([_transposed(direct) if need[2] else None] if self.lstm else [])
        grads += [_dot(xp, None, d_in, x)(d_in, x) if need[len(grads)] else None,
                  _dot(xp, None, d_hh, h)(d_hh, h) if need[len(grads) + 1] else None]
        if self.bias:
            db_ih = d_in.sum(1) if need[-2] else None
            db_hh = (d_hh.sum(1) if d_hh is not d_in or db_ih is None else db_ih.copy()) if need[-1] else None
            grads += [db_ih, db_hh]
        return tuple([None if a is None else Tensor._make(a) for a in grads])


class LSTMOutput(Function):
    """h' = o tanh(c'), the LSTM step's last equation as one node after CellStep's (c', o), which keeps c' a node of
    its own (two ordinary ops would record two): dL/dc' = g o (1 - tanh(c')^2), dL/do = g tanh(c')."""

    name = "lstm_output"
    fresh_grads = True
    composed_double_backward = True
    saved_inputs = (0, 1)  # (c' and o, for a double backward; dL/dc' reads o's array, as torch's mul saves o)
    saved_for = ((), (0,))

    def forward(self, c, o):
        self.o, self.tc = o, backend.xp_of(c).tanh(c)
        return o * self.tc

    def backward(self, g):
        if _mode.grad_enabled:
            return _composed_grads(self, lambda c, o: (o * c.tanh(),), (g,))
        need_c, need_o = self.needs_input_grad
        dc = g.array * self.o * (1 - self.tc * self.tc) if need_c else None
        do = g.array * self.tc if need_o else None
        return tuple([None if d is None else Tensor._make(d) for d in (dc, do)])


def _composed_grads(node: Function, compose: Callable[..., tuple], grads: Sequence[Optional[Tensor]]) -> tuple:
    """A fused node's backward under create_graph (a double backward, torch.func.grad, a gradient penalty): its
    forward again as ``compose`` (the reference equations, ordinary ops) on its saved inputs, differentiated by the
    engine, so the gradients are themselves differentiable, as torch's CPU cells and layers. Each input that needs
    a gradient enters as an alias of its own, so a tensor given twice (h as c) gets each slot's share."""
    from ..autograd import grad
    need = node.needs_input_grad
    inputs = [t.view_as(t) if n else t for t, n in zip(node.saved, need)]
    pairs = [(o, g) for o, g in zip(compose(*inputs), grads) if g is not None]
    wanted = [t for t, n in zip(inputs, need) if n]
    if not pairs or not wanted:
        return (None,) * len(need)
    got = iter(grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True, allow_unused=True))
    return tuple([next(got) if n else None for n in need])


# ============================================================================ public functions
def _as_tensor(a: Any, name: str, op: str) -> Tensor:
    if isinstance(a, Tensor):
        t = a
    elif isinstance(a, np.ndarray) or backend.is_cupy_array(a):
        t = Tensor._make(a)
    else:
        raise TypeError(f"{op}: {name} must be a Tensor or an array, got {type(a).__name__}")
    if t.array.dtype.kind != "f":  # (the array's dtype: no property call)
        raise TypeError(f"{op}: {name} must be floating point, got dtype {dtype_name(t.dtype)}")
    return t


def _check_lengths(lengths: Any, T: int, B: int, op: str, shortest: int = 1) -> Optional[np.ndarray]:
    """lengths (B,) as host int64 values in [shortest, T] (None stays None); op names the caller in the
    errors. The layers call it too, for the fused and the unrolled path alike."""
    if lengths is None:
        return None
    a = backend.to_device(lengths.array if isinstance(lengths, Tensor) else backend.as_array(lengths), "cpu")
    if (a.dtype.kind not in "iu" and a.size) or a.shape != (B,):  # (an empty list is float64 to numpy)
        raise _RuntimeValueError(f"{op}: lengths must be {B} integers (one per sequence), got shape {a.shape} dtype "
                                 f"{dtype_name(a.dtype)}")  # (torch: "Expected `len(lengths)` to be equal to ...")
    if a.size and (a.min() < shortest or a.max() > T):
        raise _RuntimeValueError(f"{op}: lengths must lie in [{shortest}, {T}] (the padded length T), "
                                 f"got min {int(a.min())} max {int(a.max())}")
    return a.astype(np.int64)


def _prepare(op: str, G: int, x: Any, states: Sequence[Tuple[str, Any]], w_ih: Any, w_hh: Any,
             b_ih: Any, b_hh: Any, lengths: Any) -> Tuple[list, Optional[np.ndarray], bool]:
    """Validated input Tensors (x, states..., w_ih, w_hh, given biases), lengths, and whether grad is needed."""
    x = _as_tensor(x, "x", op)
    xa = x.array  # (the arrays' shapes and dtypes below: no property calls)
    if xa.ndim != 3 or xa.shape[0] < 1:
        raise ValueError(f"{op}: x must be (T, B, I) with T >= 1 (time-major), got shape {xa.shape}")
    T, B, I = xa.shape
    w_ih, w_hh = _as_tensor(w_ih, "w_ih", op), _as_tensor(w_hh, "w_hh", op)
    hh = w_hh.array.shape
    if len(hh) != 2 or hh[0] != G * hh[1]:
        raise ValueError(f"{op}: w_hh must be ({G}*H, H), got shape {hh}")
    H = hh[1]
    if w_ih.array.shape != (G * H, I):
        raise ValueError(f"{op}: w_ih must be ({G}*H, I) = {(G * H, I)} for x {xa.shape} and w_hh {hh}, "
                         f"got {w_ih.array.shape}")
    tensors = [x]
    for name, s in states:
        if s is None:  # (zeros, of the shape checked below)
            s = Tensor._make(backend.xp_of(xa).zeros((B, H), dtype=xa.dtype))
        else:
            s = _as_tensor(s, name, op)
            if s.array.shape != (B, H):
                raise ValueError(f"{op}: {name} must be (B, H) = {(B, H)}, got {s.array.shape}")
        tensors.append(s)
    tensors += [w_ih, w_hh]
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None:
            b = _as_tensor(b, name, op)
            if b.array.shape != (G * H,):
                raise ValueError(f"{op}: {name} must be ({G}*H,) = {(G * H,)}, got {b.array.shape}")
            tensors.append(b)
    dt = xa.dtype
    if [t for t in tensors if t.array.dtype != dt]:  # numpy would silently promote the whole recurrence (torch raises)
        names = ["x"] + [n for n, _ in states] + ["w_ih", "w_hh"] + [n for n, b in (("b_ih", b_ih), ("b_hh", b_hh))
                                                                    if b is not None]
        mixed = ", ".join(f"{n} {dtype_name(u.dtype)}" for n, u in zip(names, tensors))
        raise TypeError(f"{op}: mixed float dtypes ({mixed}); x, the states, weights and biases must share "
                        "one dtype: convert them, e.g. .float() or .double()")
    need_grad = _mode.grad_enabled and True in [t._requires_grad for t in tensors]  # (a list: cheaper than any())
    return tensors, None if lengths is None else _check_lengths(lengths, T, B, op), need_grad


def _sequence(cls: type, x: ArrayLike, states: Sequence[Tuple[str, Any]], w_ih: ArrayLike, w_hh: ArrayLike,
              b_ih: Optional[ArrayLike], b_hh: Optional[ArrayLike], lengths: Any, reverse: bool,
              stacked: bool = False, **options: Any) -> tuple:
    """Run the fused recurrence ``cls``: (output, h_n[, c_n]), the final states (1, B, H) when ``stacked``.
    The public functions below and the nn layers (stacked) call it."""
    tensors, lens, need = _prepare(cls.name, cls.gates, x, states, w_ih, w_hh, b_ih, b_hh, lengths)
    fn = cls(reverse=reverse, lengths=lens, has_b_ih=b_ih is not None, has_b_hh=b_hh is not None, keep=need,
             stacked=stacked, **options)
    return fn(*tensors)


def lstm_sequence(x: ArrayLike, h0: Optional[ArrayLike], c0: Optional[ArrayLike], w_ih: ArrayLike,
                  w_hh: ArrayLike, b_ih: Optional[ArrayLike], b_hh: Optional[ArrayLike],
                  lengths: Any = None, reverse: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
    """LSTM over a whole sequence: (output (T, B, H), h_n (B, H), c_n (B, H)).

    gates = W_ih x_t + b_ih + W_hh h + b_hh split (i, f, g, o); c' = sigmoid(f) c + sigmoid(i) tanh(g),
    h' = sigmoid(o) tanh(c'). x (T, B, I) time-major; h0/c0 None means zeros. With lengths (B,),
    steps t >= lengths[b] carry the state unchanged and output 0; reverse runs t = T-1 .. 0.
    """
    return _sequence(LSTMSequence, x, [("h0", h0), ("c0", c0)], w_ih, w_hh, b_ih, b_hh, lengths, reverse)


def gru_sequence(x: ArrayLike, h0: Optional[ArrayLike], w_ih: ArrayLike, w_hh: ArrayLike,
                 b_ih: Optional[ArrayLike], b_hh: Optional[ArrayLike], lengths: Any = None,
                 reverse: bool = False) -> Tuple[Tensor, Tensor]:
    """GRU over a whole sequence: (output (T, B, H), h_n (B, H)).

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h. lengths and reverse as in lstm_sequence.
    """
    return _sequence(GRUSequence, x, [("h0", h0)], w_ih, w_hh, b_ih, b_hh, lengths, reverse)


def rnn_sequence(x: ArrayLike, h0: Optional[ArrayLike], w_ih: ArrayLike, w_hh: ArrayLike,
                 b_ih: Optional[ArrayLike], b_hh: Optional[ArrayLike], nonlinearity: str = "tanh",
                 lengths: Any = None, reverse: bool = False) -> Tuple[Tensor, Tensor]:
    """Elman RNN over a whole sequence: (output (T, B, H), h_n (B, H)); h' = act(W_ih x + b_ih + W_hh h + b_hh).

    act is 'tanh' or 'relu'. lengths and reverse as in lstm_sequence.
    """
    return _sequence(RNNSequence, x, [("h0", h0)], w_ih, w_hh, b_ih, b_hh, lengths, reverse,
                     nonlinearity=nonlinearity)
