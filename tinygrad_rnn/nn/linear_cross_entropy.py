"""linear_cross_entropy's chunked path (torch's ``options=`` path): cross entropy of ``input @ linear_weight.T + b``
computed ``batch_chunk_size`` rows at a time, so the (N, C) logits of the whole batch never exist at once, in forward
or backward (which recomputes each chunk's softmax). ``LinearCrossEntropyOptions`` is torch's options class.

F.linear_cross_entropy (in nn.functional) owns the argument checks and the reference path; this module owns the
options and the chunked op.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional

from ..backend import xp_of
from ..tensor import Function, Tensor, _mode, bfloat16, float16, float32, float64

_OP = "linear_cross_entropy"
_ACC_POLICIES = ("auto", "accurate", "balanced", "compact")
# torch's per-(device type, dtype) picks for "auto" (acc_policy, chunking_method), and its fallback
_AUTO_DEFAULTS = {("cuda", "bfloat16"): ("compact", "aspect_ratio:2"),
                  ("cuda", "float16"): ("compact", "aspect_ratio:2"),
                  ("cpu", "bfloat16"): ("accurate", "aspect_ratio"),
                  ("cpu", "float16"): ("accurate", "aspect_ratio")}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """torch.nn.LinearCrossEntropyOptions: how F.linear_cross_entropy(..., options=...) chunks the batch.

    ``batch_chunk_size`` rows per chunk (None: one chunk), or ``chunking_method`` "aspect_ratio[:N]" (chunks whose
    (rows, C) logits take about the memory of the (N, in_features) input, divided by N) or "auto" (torch's pick),
    validated and resolved as torch's. ``acc_policy`` and ``acc_dtype`` are accepted and checked but otherwise
    ignored here: every chunk is computed in the input's dtype. Without ``allow_retain_graph`` a second backward
    through a 'mean' or 'sum' loss (retain_graph=True) raises a RuntimeError, as torch's (whose backward consumes
    gradients computed in forward); 'none' ignores it. (Here backward recomputes each chunk, so True costs nothing.)
    """

    allow_retain_graph: bool = False
    batch_chunk_size: Optional[int] = None
    chunking_method: Optional[str] = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None

    def __post_init__(self) -> None:
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = str(self.chunking_method).partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None or (isinstance(self.batch_chunk_size, int)
                                                  and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        floats = (float16, bfloat16, float32, float64)
        if self.acc_dtype is not None and not any(self.acc_dtype is d for d in floats):
            raise ValueError(f"acc_dtype must be one of {{None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                             "automatically.")

    @staticmethod
    def _chunk_from_method(method: str, num_batches: int, in_features: int, num_classes: int) -> int:
        """aspect_ratio[:N]: next_pow2(ceil(num_batches / ceil(num_classes / in_features))) // N, at most N rows."""
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        inc = -(-num_classes // max(in_features, 1))
        target = -(-num_batches // max(inc, 1))
        return min((1 << (target - 1).bit_length()) // factor, num_batches)

    def _adjust(self, num_batches: int, in_features: int, num_classes: int, dtype: Any,
                device: Any = None) -> "LinearCrossEntropyOptions":
        """These options with "auto" and None resolved for one call (torch's _adjust)."""
        acc_policy, method = self.acc_policy, self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None  # (an explicit size disables auto chunking)
        if acc_policy == "auto" or method == "auto":
            key = (getattr(device, "type", None), getattr(dtype, "name", str(dtype)))
            ap, cm = _AUTO_DEFAULTS.get(key, _AUTO_FALLBACK) if device is not None else _AUTO_FALLBACK
            acc_policy = ap if acc_policy == "auto" else acc_policy
            method = cm if method == "auto" else method
        size = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size, num_batches)
        if method is not None:
            size = self._chunk_from_method(method, num_batches, in_features, num_classes)
            if self.batch_chunk_size is not None and self.batch_chunk_size != size:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method ('{method}') give "
                                 f"different chunk sizes ({self.batch_chunk_size} vs {size}); pass only one.")
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=method,
                                   batch_chunk_size=max(1, size),
                                   acc_dtype=dtype if self.acc_dtype is None else self.acc_dtype)


class LinearCrossEntropyChunked(Function):
    """Cross entropy of x W^T (+ b) against class indices, ``chunk`` rows at a time (inputs x (N, in), W (C, in),
    b (C,) if given). Per row n with class weight w_n (0 where the target is ignore_index):
    loss_n = w_n (logsumexp(z_n) - z_n[t_n]); 'none' gives them (N,), 'sum' their sum, 'mean' their sum / sum w_n
    (nan when that is 0, every target ignored or weighted 0, and so are all the gradients, as torch's chunked op's;
    cross_entropy's are 0 there). Unless ``retain`` (allow_retain_graph), a 'mean' or 'sum' loss backs up
    once.

    Backward recomputes each chunk's logits and softmax p: dz = c_n (p - onehot(t_n)) with c_n = g_n w_n (/ sum w
    for 'mean'), then dx = dz W, dW += dz^T x, db += sum dz. It works on arrays: double backward (create_graph=True)
    is refused, as torch's chunked path refuses it.
    """

    name = _OP
    quiet = True  # (inf logits: an inf or nan loss, as torch's)

    def __init__(self, target: Any, row_weight: Any, keep: Any, reduction: str, chunk: int, has_bias: bool,
                 retain: bool = False) -> None:
        self.target, self.row_weight, self.keep = target, row_weight, keep
        self.reduction, self.chunk, self.has_bias = reduction, chunk, has_bias
        self.once = not retain and reduction != "none"  # (torch's backward consumes its buffers: one backward)
        self.spent = False
        self.saved_inputs = (0, 1, 2) if has_bias else (0, 1)

    def _chunks(self, x: Any, W: Any, b: Any):
        """(start, stop, logits of rows start:stop, logsumexp of each) for each chunk."""
        xp = xp_of(x)
        for s in range(0, x.shape[0], self.chunk):
            e = min(s + self.chunk, x.shape[0])
            z = x[s:e] @ W.T
            if b is not None:
                z += b
            top = z.max(axis=1, keepdims=True) if z.shape[1] else xp.zeros((e - s, 1), z.dtype)
            top = xp.where(xp.isfinite(top), top, 0)
            lse = xp.log(xp.exp(z - top).sum(axis=1)) + top[:, 0]
            yield s, e, z, lse

    def forward(self, x, W, b=None):
        xp = xp_of(x)
        rows = xp.zeros(x.shape[0], x.dtype)
        t, keep = self.target, self.keep
        for s, e, z, lse in self._chunks(x, W, b):
            picked = z[xp.arange(e - s), t[s:e]]
            rows[s:e] = xp.where(keep[s:e], (lse - picked) * self.row_weight[s:e], 0)
        if self.reduction == "none":
            return rows
        total = rows.sum()
        if self.reduction == "sum":
            return total
        denom = self.row_weight.sum()
        return total / denom if denom else xp.asarray(math.nan, x.dtype)

    def backward(self, g):
        if _mode.grad_enabled:
            raise RuntimeError(f"{_OP}: double backward (create_graph=True) is not supported on the chunked path "
                               "(options=...): its gradient is computed chunk by chunk on arrays; use options=None")
        if self.once:
            if self.spent:
                raise RuntimeError(f"{_OP} chunked backward called twice; retain_graph=True / double backward are "
                                   "not supported. (Pass options=LinearCrossEntropyOptions(allow_retain_graph=True) "
                                   "to back up through it again.)")
            self.spent = True
        x, W = self.saved[0].array, self.saved[1].array
        b = self.saved[2].array if self.has_bias else None
        xp = xp_of(x)
        coef, fill = g.array.astype(x.dtype) * self.row_weight, 0.0
        if self.reduction == "mean":
            denom = self.row_weight.sum()
            coef, fill = (coef / denom, fill) if denom else (xp.full_like(coef, math.nan), math.nan)
        want = self.needs_input_grad
        gx = xp.empty_like(x) if want[0] else None
        gW = xp.zeros_like(W) if want[1] else None
        gb = xp.zeros_like(b) if b is not None and want[2] else None
        for s, e, z, lse in self._chunks(x, W, b):
            dz = xp.exp(z - lse[:, None])
            dz[xp.arange(e - s), self.target[s:e]] -= 1
            dz = xp.where(self.keep[s:e, None], dz * coef[s:e, None], fill)
            if gx is not None:
                gx[s:e] = dz @ W
            if gW is not None:
                gW += dz.T @ x[s:e]
            if gb is not None:
                gb += dz.sum(axis=0)
        grads = tuple(None if a is None else Tensor._make(a) for a in (gx, gW, gb))
        return grads if self.has_bias else grads[:2]
