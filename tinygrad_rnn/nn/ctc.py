"""Connectionist temporal classification (Graves et al., 2006): the loss of a label sequence given per-frame
class log-probabilities, summed over every alignment of the labels to the frames.

An alignment emits one class per frame; merging repeats and then dropping blanks gives the labels. With the
extended labels l' = (blank, l_1, blank, l_2, ..., l_S, blank) (2S + 1 positions), the forward variable

    alpha_t(s) = lp_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) if l'_s != l'_{s-2})

sums the probabilities of every alignment prefix ending at position s after frame t (a step of two skips a
blank between different labels), and the loss is -log p(l | x) = -logsumexp(alpha_{T-1}(2S), alpha_{T-1}(2S-1)).
The backward variable beta runs the same recursion from the end. Their product counts the alignments through
(t, s), so the gradient is one pass of beta:

    d loss / d lp_t(c) = -sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) - lp_t(c) + loss)

(the posterior probability that frame t emits class c, negated). This is the derivative with respect to
log_probs itself; torch's CTC backward adds exp(lp_t(c)), a term that vanishes once the gradient passes
through the log_softmax that makes log_probs, so the two agree on the logits' gradient.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import backend
from ..backend import xp_of
from ..tensor import Function, Tensor, _mode, _NotImplementedValueError, _RuntimeValueError, host_ints, int_value
from .functional import _REDUCTIONS, _check_tensor, _reduce

_OP = "ctc_loss"


def _lse3(a: Any, b: Any, c: Any) -> Any:
    """log(e^a + e^b + e^c) elementwise; -inf where all three are -inf (the max is floored at the dtype's
    lowest finite value, so no -inf - -inf)."""
    xp = xp_of(a)
    m = xp.maximum(xp.maximum(a, b), c)
    xp.maximum(m, xp.finfo(m.dtype).min, out=m)
    e = xp.exp(a - m)
    e += xp.exp(b - m)
    e += xp.exp(c - m)
    with np.errstate(divide="ignore"):
        xp.log(e, out=e)
    e += m
    return e


# On CuPy each recursion is one kernel: a block per sequence, its threads over the positions s, stepping through
# the frames with a barrier between steps (the numpy loops below launch ~15 array ops per frame instead).
_CUDA_SOURCE = r"""
__device__ real lse3(real a, real b, real c) {  /* max is fmax, which drops a nan: a + b + c keeps it */
    real m = max(max(a, b), c);
    return m == (real)NEG ? a + b + c : m + log(exp(a - m) + exp(b - m) + exp(c - m));
}
extern "C" __global__ void ctc_alpha(const real* lpx, const bool* skip, const long long* ilen,
                                     const long long* tlen, real* pre, int T, int N, int L) {
    int n = blockIdx.x;
    for (int s = threadIdx.x; s < L; s += blockDim.x)
        pre[(long long)n * L + s] = (s == 0 || (s == 1 && tlen[n] > 0)) ? (real)0 : (real)NEG;
    __syncthreads();
    for (int t = 0; t + 1 < T; ++t) {
        const real* p = pre + ((long long)t * N + n) * L;
        const real* x = lpx + ((long long)t * N + n) * L;
        real* q = pre + ((long long)(t + 1) * N + n) * L;
        for (int s = threadIdx.x; s < L; s += blockDim.x)
            q[s] = lse3(p[s] + x[s], s >= 1 ? p[s - 1] + x[s - 1] : (real)NEG,
                        s >= 2 && skip[(long long)n * L + s] ? p[s - 2] + x[s - 2] : (real)NEG);
        __syncthreads();
    }
}
extern "C" __global__ void ctc_beta(const real* lpx, const bool* skip, const long long* ilen,
                                    const long long* tlen, real* beta, int T, int N, int L) {
    int n = blockIdx.x;
    long long end = ilen[n] - 1, h = 2 * tlen[n];
    for (int t = T - 1; t >= 0; --t) {
        const real* x = lpx + ((long long)t * N + n) * L;
        const real* p = beta + ((long long)(t + 1) * N + n) * L;  /* read only where t < end <= T - 1 */
        real* q = beta + ((long long)t * N + n) * L;
        for (int s = threadIdx.x; s < L; s += blockDim.x) {
            if (t > end) q[s] = (real)NEG;
            else if (t == end) q[s] = (s == h || (s == h - 1 && h > 0)) ? x[s] : (real)NEG;
            else q[s] = lse3(p[s], s + 1 < L ? p[s + 1] : (real)NEG,
                             s + 2 < L && skip[(long long)n * L + s + 2] ? p[s + 2] : (real)NEG) + x[s];
        }
        __syncthreads();
    }
}
"""
_cuda_kernels: Dict[Tuple[str, str], Any] = {}


def _cuda_recursion(name: str, lpx: Any, fn: "CTC") -> Any:
    """pre (``ctc_alpha``) or beta (``ctc_beta``) of fn's labels, (T, N, L) like lpx, by one kernel launch."""
    cp = backend.cupy()
    real = "float" if lpx.dtype == np.float32 else "double"
    if (name, real) not in _cuda_kernels:
        source = f"#define real {real}\n#define NEG __int_as_float(0xff800000)\n" + _CUDA_SOURCE
        _cuda_kernels[name, real] = cp.RawKernel(source, name)
    T, N, L = lpx.shape
    out = cp.empty(lpx.shape, lpx.dtype)  # (C order: empty_like would copy lpx's layout, which may differ)
    args = (cp.ascontiguousarray(lpx), cp.ascontiguousarray(fn.skip), fn.input_lengths, fn.target_lengths, out,
            np.int32(T), np.int32(N), np.int32(L))
    _cuda_kernels[name, real]((N,), (min(1024, -(-L // 32) * 32),), args)
    return out


class CTC(Function):
    """Per-sample CTC negative log-likelihood of log_probs (T, N, C): an (N,) array.

    ``ext`` (N, L) holds the extended labels (blank-padded past each sample's 2 S_n + 1 positions), ``skip``
    (N, L) where position s may be reached from s - 2, ``input_lengths`` / ``target_lengths`` (N,) int arrays
    on log_probs' device; ``ends`` maps a frame t to the sequences whose last frame it is (on the host). On
    numpy each recursion is a loop of array ops per frame; on CuPy, one kernel launch.
    """

    name = _OP
    fresh_grads = True

    def __init__(self, ext: Any, skip: Any, input_lengths: Any, target_lengths: Any, ends: Dict[int, List[int]],
                 zero_infinity: bool) -> None:
        self.ext, self.skip, self.zero_infinity, self.ends = ext, skip, zero_infinity, ends
        self.input_lengths, self.target_lengths = input_lengths, target_lengths

    def forward(self, lp):
        xp = xp_of(lp)
        T, N, C = lp.shape
        L = self.ext.shape[1]
        self.C = C
        columns = (xp.arange(N)[:, None] * C + self.ext).ravel()
        lpx = lp.reshape(T, N * C)[:, columns].reshape(T, N, L)  # lp_t(l'_s)
        # -inf past each sequence's frames: whatever they hold (padding, nan, inf) reaches neither the loss nor
        # the gradient
        lpx = xp.where((xp.arange(T)[:, None] < self.input_lengths[None, :])[:, :, None], lpx, -math.inf)
        # pre[t] = alpha_t - lp_t(l'_s), the log-probability of reaching s at frame t before its emission (at
        # t = 0: the start, at the first blank or the first label). Backward adds beta_t, which holds
        # lp_t(l'_s) once: no -inf - -inf where a class has probability 0.
        pre = self._alpha_numpy(lpx) if xp is np else _cuda_recursion("ctc_alpha", lpx, self)
        self.lpx, self.pre = lpx, pre
        self.nll = nll = -self._at_end(xp, pre, lpx)
        if self.zero_infinity:
            nll = xp.where(xp.isinf(nll), 0, nll)
        return nll

    def _alpha_numpy(self, lpx: np.ndarray) -> np.ndarray:
        T, N, L = lpx.shape
        pre = np.empty((T, N, L), dtype=lpx.dtype)
        pre[:1] = -math.inf
        pre[0, :, 0] = 0
        if L > 1:
            pre[0, :, 1] = np.where(self.target_lengths > 0, 0, -math.inf)
        shifted = np.full((N, L + 2), -math.inf, dtype=lpx.dtype)  # alpha_t behind two -inf columns: s - 1, s - 2
        skip = np.where(self.skip, 0, -math.inf).astype(lpx.dtype)  # added to alpha_t(s - 2): 0 or -inf
        for t in range(T - 1):
            a = shifted[:, 2:]
            np.add(pre[t], lpx[t], out=a)
            pre[t + 1] = _lse3(a, shifted[:, 1:-1], shifted[:, :-2] + skip)
        return pre

    def _at_end(self, xp: Any, pre: Any, lpx: Any) -> Any:
        """log p(labels) = logsumexp of alpha_{T_n - 1} at the last label and the final blank; an empty input
        (T_n = 0) has probability 1 for empty labels and 0 for any other."""
        N = lpx.shape[1]
        ilen, tlen = self.input_lengths, self.target_lengths
        empty = xp.where(tlen == 0, 0.0, -math.inf).astype(lpx.dtype)
        n, t, last = xp.arange(N), xp.maximum(ilen - 1, 0), 2 * tlen
        prev = xp.maximum(last - 1, 0)
        out = xp.logaddexp(pre[t, n, last] + lpx[t, n, last],
                           xp.where(last > 0, pre[t, n, prev] + lpx[t, n, prev], -math.inf))
        return xp.where(ilen == 0, empty, out).astype(lpx.dtype, copy=False)

    def backward(self, g):
        if _mode.grad_enabled:
            raise RuntimeError(f"{_OP}: double backward (create_graph=True) is not supported: the gradient is "
                               "computed by the alpha-beta recursion on arrays, not by recorded ops")
        lpx, pre, ext, nll = self.lpx, self.pre, self.ext, self.nll
        xp = xp_of(lpx)
        T, N, L = lpx.shape
        C = self.C
        beta = self._beta_numpy(lpx) if xp is np else _cuda_recursion("ctc_beta", lpx, self)
        # P(frame t is at position s | the labels) = exp(alpha_t(s) + beta_t(s) - lp_t(l'_s) + loss), normalized
        # over s frame by frame (it sums to 1 there): the same in exact arithmetic, without the loss's rounding
        # (at a loss of 1e4, float32's 1e-3), so the float32 gradient of a 1000-frame sequence is 4x-30x closer
        # to float64's. 0 past a sequence's frames; an inf loss (no alignment reaches the labels): see below.
        beta += pre
        top = beta.max(axis=2, keepdims=True)
        xp.maximum(top, xp.finfo(top.dtype).min, out=top)  # (-inf everywhere: past the frames, or impossible)
        beta -= top
        post = xp.exp(beta, out=beta)
        with np.errstate(invalid="ignore", divide="ignore"):
            post /= post.sum(axis=2, keepdims=True)
        post = xp.where((xp.arange(T)[:, None] < self.input_lengths[None, :])[:, :, None], post, 0)
        post *= -g.array.astype(lpx.dtype)[:, None]
        index = (xp.arange(T)[:, None, None] * N + xp.arange(N)[None, :, None]) * C + ext[None]
        grad = backend.bincount(index.ravel(), post.ravel(), T * N * C).reshape(T, N, C)
        # labels no alignment reaches (an inf loss): a nan gradient on the sequence's frames, as torch's, or 0
        impossible = xp.isinf(nll)[None, :] & (xp.arange(T)[:, None] < self.input_lengths[None, :])
        grad = xp.where(impossible[:, :, None], 0 if self.zero_infinity else math.nan, grad)
        return (Tensor._make(grad.astype(lpx.dtype)),)

    def _beta_numpy(self, lpx: np.ndarray) -> np.ndarray:
        """beta_t(s): the log-probability of finishing the labels from position s at frame t, lp_t(l'_s) included;
        it starts at each sequence's last frame (the last label or the final blank) and is -inf after it."""
        T, N, L = lpx.shape
        tlen = self.target_lengths[:, None]
        pos = np.arange(L)[None]
        final = (pos == 2 * tlen) | ((pos == 2 * tlen - 1) & (tlen > 0))
        skip = np.zeros((N, L), dtype=lpx.dtype)  # added to beta_{t+1}(s + 2): 0 where s + 2 may follow s
        skip[:, :-2] = np.where(self.skip[:, 2:], 0, -math.inf)
        shifted = np.full((N, L + 2), -math.inf, dtype=lpx.dtype)  # beta_{t+1}, two -inf columns behind
        beta = np.empty((T, N, L), dtype=lpx.dtype)
        for t in range(T - 1, -1, -1):  # (-inf after a sequence's last frame by itself: it starts from -inf)
            b = _lse3(shifted[:, :-2], shifted[:, 1:-1], shifted[:, 2:] + skip)
            b += lpx[t]
            rows = self.ends.get(t)
            if rows is not None:
                b[rows] = np.where(final[rows], lpx[t, rows], -math.inf)
            shifted[:, :-2] = beta[t] = b
        return beta


def _lengths(v: Any, N: int, name: str) -> np.ndarray:
    """input_lengths or target_lengths (a Tensor, array, list or tuple of ints; an int for one sequence) as (N,)."""
    a = host_ints(v, _OP, name)
    if a.shape != (N,) and not (N == 1 and a.shape == ()):
        raise _RuntimeValueError(f"{_OP}: {name} must have shape ({N},), one length per sequence, got shape {a.shape}")
    if a.size and a.min() < 0:
        raise ValueError(f"{_OP}: {name} must be >= 0, got {int(a.min())}")
    return a.reshape(N)


def _padded(targets: Any, tlen: np.ndarray) -> np.ndarray:
    """targets as (N, S) rows: given padded (N, S >= each target length), or 1-d, every sample's concatenated."""
    t = host_ints(targets, _OP, "targets", " (pad the targets to (N, S), or concatenate them)")
    N = tlen.shape[0]
    if t.ndim == 1:
        if t.shape[0] != tlen.sum():
            raise ValueError(f"{_OP}: 1-d targets are every sample's targets concatenated, so their length "
                             f"{t.shape[0]} must be sum(target_lengths) = {int(tlen.sum())}")
        rows = np.zeros((N, int(tlen.max())), np.int64)
        rows[np.arange(rows.shape[1])[None] < tlen[:, None]] = t
        return rows
    if t.ndim != 2 or t.shape[0] != N:
        raise ValueError(f"{_OP}: targets must be ({N}, S) (padded) or (sum(target_lengths),) (concatenated), got "
                         f"shape {t.shape}")
    if tlen.max() > t.shape[1]:
        raise ValueError(f"{_OP}: target length {int(tlen.max())} exceeds the {t.shape[1]} columns of the padded "
                         "targets")
    return t


def _extended(t: np.ndarray, tlen: np.ndarray, C: int, blank: int) -> Tuple[np.ndarray, np.ndarray]:
    """The extended labels (N, 2 S + 1) of targets t (N, >= S), S the longest target: blank, l_1, blank, ..., l_S,
    blank, blanks past a sample's own 2 S_n + 1; and where position s may be reached from s - 2 (a label
    unlike the one before it)."""
    S = int(tlen.max())
    used, labels = np.arange(S)[None] < tlen[:, None], t[:, :S]
    bad = used & ((labels < 0) | (labels >= C) | (labels == blank))
    if bad.any():
        n, s = (int(i) for i in np.argwhere(bad)[0])
        v = int(labels[n, s])
        why = "the blank" if v == blank else f"out of range for {C} classes"
        raise ValueError(f"{_OP}: target {v} (sequence {n}, position {s}) is {why}; targets must be classes in "
                         f"[0, {C}) other than blank={blank}")
    ext = np.full((t.shape[0], 2 * S + 1), blank, np.int64)
    ext[:, 1::2] = np.where(used, labels, blank)
    skip = np.zeros(ext.shape, bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    return ext, skip


def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """-log p(targets | log_probs), summed over every alignment (see the module docstring).

    log_probs (T, N, C), or (T, C) for one sequence: per-frame class log-probabilities (log_softmax over C).
    targets (N, S) padded, or every sample's concatenated (sum(target_lengths),); never the blank class.
    input_lengths, target_lengths (N,). 'mean' divides each loss by its target length (at least 1), then
    averages over the batch. Labels that no alignment can produce (too few frames) give an inf loss and a nan
    gradient, as in torch; zero_infinity=True makes both 0. A class at -inf (masked) gets a zero gradient (torch:
    nan). float16 runs in float32.
    """
    _check_tensor(_OP, "log_probs", log_probs)
    if not isinstance(zero_infinity, (bool, np.bool_)):
        raise TypeError(f"{_OP}: zero_infinity must be a bool, got {zero_infinity!r}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{_OP}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if log_probs.dtype.kind != "f":  # (torch: '"ctc_loss_cpu" not implemented for 'Long'')
        raise _NotImplementedValueError(f"{_OP}: log_probs must be a non-empty floating point (T, N, C) or (T, C) "
                                        f"tensor, got shape {log_probs.shape} and dtype {log_probs.dtype}")
    if log_probs.ndim not in (2, 3) or log_probs.numel() == 0:
        raise ValueError(f"{_OP}: log_probs must be a non-empty floating point (T, N, C) or (T, C) tensor, got "
                         f"shape {log_probs.shape} and dtype {log_probs.dtype}")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    T, N, C = lp.shape
    blank = int_value(blank)
    if isinstance(blank, bool) or not isinstance(blank, numbers.Integral) or not 0 <= blank < C:
        raise _RuntimeValueError(f"{_OP}: blank must be a class index in [0, {C}), got {blank!r}")
    ilen = _lengths(input_lengths, N, "input_lengths")
    if ilen.max() > T:
        raise ValueError(f"{_OP}: input length {int(ilen.max())} exceeds the {T} frames of log_probs")
    if ilen.max() < T:  # the recursions stop at the longest input's last frame
        lp = lp[:max(int(ilen.max()), 1)]
    tlen = _lengths(target_lengths, N, "target_lengths")
    ext, skip = _extended(_padded(targets, tlen), tlen, C, int(blank))
    device = log_probs.device
    ends: Dict[int, List[int]] = {}
    for n, k in enumerate(ilen.tolist()):
        if k:
            ends.setdefault(k - 1, []).append(n)
    fn = CTC(*(backend.to_device(a, device) for a in (ext, skip, ilen, tlen)), ends, bool(zero_infinity))
    nll = fn(lp.float()).astype(lp.dtype) if lp.dtype == np.float16 else fn(lp)
    if not batched:
        nll = nll.reshape(())
    if reduction == "mean":
        nll = nll / Tensor(np.maximum(tlen, 1).reshape(nll.shape).astype(nll.dtype), device=device)
    return _reduce(nll, reduction, _OP)
