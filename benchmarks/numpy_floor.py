"""Plain-numpy LSTM, GRU and Elman RNN with hand-derived BPTT: the benchmark's floor.

No autograd at all: the textbook fused-gate recurrence as a careful numpy
programmer writes it. The input projection of all steps is one matmul, each
step does one matmul for all gates with in-place gate math on preallocated
buffers, backward walks the steps once and the weight gradients are one matmul
each over all steps; the bias rides in the input projection as a column of
ones. Each step's hidden product h @ W_hh.T is computed as
(W_hh @ h.T).T, the layout OpenBLAS's AVX-512 kernels run fastest (the engine
does the same), and the products call np.dot, which skips np.matmul's ufunc
machinery (~0.35 us a call, ~7 us for a 1-step block's outer product), through
its C function (``dot``: np.dot itself is numpy's Python-level
__array_function__ dispatcher, ~0.16 us a call); the engine does the same.
Used only by bench_rnn.py, as what any numpy-based engine could at best reach.

Shapes: x (T, B, I) time-major, weights in PyTorch layout (G*H, I), (G*H, H),
biases (G*H,). ``forward`` returns (output (T, B, H), final state(s), cache);
``backward(cache, dout, dh_n[, dc_n])`` returns a dict of gradients; with
``input_grad=False`` it skips dx (the benchmark's input needs no gradient, and
the engine skips it too).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

Grads = Dict[str, np.ndarray]
dot = getattr(np.dot, "_implementation", np.dot)


def _project(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """x (T, B, I) -> x @ w.T + b over all T*B rows in one matmul. From 65536 result elements up the bias rides
    in as an appended column of ones; below, a separate add costs less (the engine does the same)."""
    T, B, I = x.shape
    if T * B * w.shape[0] < 1 << 16:
        out = dot(x.reshape(T * B, I), w.T, out=out)
        out += b
        return out
    xa = np.ones((T * B, I + 1), x.dtype)
    xa[:, :I] = x.reshape(T * B, I)
    return dot(xa, np.concatenate([w, b[:, None]], axis=1).T, out=out)


def _with_dx(grads: Grads, wanted: bool, d2: np.ndarray, w_ih: np.ndarray, x: np.ndarray) -> Grads:
    """grads, plus dL/dx from the gate gradients d2 (T*B, G*H) when wanted."""
    if wanted:
        grads["x"] = dot(d2, w_ih).reshape(x.shape)
    return grads


def _sigmoid_(a: np.ndarray) -> None:
    """a <- 1 / (1 + exp(-a)), in place, without overflow (0.5 + 0.5 tanh(a / 2))."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


# ============================================================================ LSTM
def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                 b_ih: np.ndarray, b_hh: np.ndarray, keep: bool = True) -> Tuple[np.ndarray, Tuple, Optional[dict]]:
    """gates (i, f, g, o) = W_ih x + b_ih + W_hh h + b_hh; c' = f c + i g, h' = o tanh(c')."""
    T, B, I = x.shape
    H = w_hh.shape[1]
    gates = _project(x, w_ih, b_ih + b_hh).reshape(T, B, 4 * H)
    hs = np.empty((T + 1, B, H), x.dtype)
    cs = np.empty((T + 1, B, H), x.dtype)
    tcs = np.empty((T, B, H), x.dtype)
    hs[0], cs[0] = h0, c0
    gh = np.empty((4 * H, B), x.dtype)
    tmp = np.empty((B, H), x.dtype)
    for t in range(T):
        g = gates[t]
        dot(w_hh, hs[t].T, out=gh)
        g += gh.T
        _sigmoid_(g[:, :2 * H])
        _sigmoid_(g[:, 3 * H:])
        np.tanh(g[:, 2 * H:3 * H], out=g[:, 2 * H:3 * H])
        i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, gg, out=tmp)
        cs[t + 1] += tmp
        np.tanh(cs[t + 1], out=tcs[t])
        np.multiply(o, tcs[t], out=hs[t + 1])
    cache = dict(x=x, w_ih=w_ih, w_hh=w_hh, gates=gates, hs=hs, cs=cs, tcs=tcs) if keep else None
    return hs[1:], (hs[T], cs[T]), cache


def lstm_backward(cache: dict, dout: np.ndarray, dh_n: Optional[np.ndarray] = None,
                  dc_n: Optional[np.ndarray] = None, input_grad: bool = True) -> Grads:
    x, w_ih, w_hh, gates, hs, cs, tcs = (cache[k] for k in ("x", "w_ih", "w_hh", "gates", "hs", "cs", "tcs"))
    T, B, I = x.shape
    H = w_hh.shape[1]
    dg = np.empty_like(gates)
    dh = np.zeros((B, H), x.dtype) if dh_n is None else dh_n.copy()
    dc = np.zeros((B, H), x.dtype) if dc_n is None else dc_n.copy()
    tmp = np.empty((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        g, d = gates[t], dg[t]
        i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
        di, df, dgg, do = d[:, :H], d[:, H:2 * H], d[:, 2 * H:3 * H], d[:, 3 * H:]
        dh += dout[t]
        tc = tcs[t]
        np.multiply(tc, tc, out=tmp)                      # dc += dh o (1 - tanh(c)^2)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        np.subtract(1, o, out=do)                         # do = dh tanh(c) o (1 - o)
        do *= o
        do *= tc
        do *= dh
        np.subtract(1, i, out=di)                         # di = dc g i (1 - i)
        di *= i
        di *= gg
        di *= dc
        np.subtract(1, f, out=df)                         # df = dc c_prev f (1 - f)
        df *= f
        df *= cs[t]
        df *= dc
        np.multiply(gg, gg, out=dgg)                      # dg = dc i (1 - g^2)
        np.subtract(1, dgg, out=dgg)
        dgg *= i
        dgg *= dc
        dc *= f
        dot(d, w_hh, out=dh)
    d2 = dg.reshape(T * B, 4 * H)
    db = d2.sum(0)
    return _with_dx(dict(h0=dh, c0=dc, w_ih=dot(d2.T, x.reshape(T * B, I)),
                         w_hh=dot(d2.T, hs[:T].reshape(T * B, H)), b_ih=db, b_hh=db.copy()), input_grad, d2, w_ih, x)


# ============================================================================ GRU
def gru_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray,
                b_hh: np.ndarray, keep: bool = True) -> Tuple[np.ndarray, Tuple, Optional[dict]]:
    """r, z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = n + z (h - n)."""
    T, B, I = x.shape
    H = w_hh.shape[1]
    gi = _project(x, w_ih, b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H, b_hh.dtype)])).reshape(T, B, 3 * H)
    hn = np.empty((T, B, H), x.dtype)
    hs = np.empty((T + 1, B, H), x.dtype)
    hs[0] = h0
    ghT = np.empty((3 * H, B), x.dtype)
    gh = ghT.T
    tmp = np.empty((B, H), x.dtype)
    for t in range(T):
        a = gi[t]
        dot(w_hh, hs[t].T, out=ghT)
        a[:, :2 * H] += gh[:, :2 * H]
        _sigmoid_(a[:, :2 * H])
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        np.add(gh[:, 2 * H:], b_hh[2 * H:], out=hn[t])
        np.multiply(r, hn[t], out=tmp)
        n += tmp
        np.tanh(n, out=n)
        np.subtract(hs[t], n, out=hs[t + 1])
        hs[t + 1] *= z
        hs[t + 1] += n
    cache = dict(x=x, w_ih=w_ih, w_hh=w_hh, gi=gi, hn=hn, hs=hs) if keep else None
    return hs[1:], (hs[T],), cache


def gru_backward(cache: dict, dout: np.ndarray, dh_n: Optional[np.ndarray] = None,
                 input_grad: bool = True) -> Grads:
    x, w_ih, w_hh, gi, hn, hs = (cache[k] for k in ("x", "w_ih", "w_hh", "gi", "hn", "hs"))
    T, B, I = x.shape
    H = w_hh.shape[1]
    dgi = np.empty_like(gi)
    dgh = np.empty_like(gi)
    dh = np.zeros((B, H), x.dtype) if dh_n is None else dh_n.copy()
    tmp = np.empty((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        a, d, e = gi[t], dgi[t], dgh[t]
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        dr, dz, dn = d[:, :H], d[:, H:2 * H], d[:, 2 * H:]
        dh += dout[t]
        np.subtract(1, z, out=dn)                         # dn_pre = dh (1 - z)(1 - n^2)
        dn *= dh
        np.multiply(n, n, out=tmp)
        np.subtract(1, tmp, out=tmp)
        dn *= tmp
        np.subtract(hs[t], n, out=dz)                     # dz_pre = dh (h - n) z (1 - z)
        dz *= dh
        dz *= z
        np.subtract(1, z, out=tmp)
        dz *= tmp
        np.multiply(dn, r, out=e[:, 2 * H:])              # d(W_hn h + b_hn) = dn_pre r
        np.subtract(1, r, out=dr)                         # dr_pre = dn_pre hn r (1 - r)
        dr *= r
        dr *= hn[t]
        dr *= dn
        e[:, :2 * H] = d[:, :2 * H]
        dh *= z
        dh += dot(e, w_hh)
    d2, e2 = dgi.reshape(T * B, 3 * H), dgh.reshape(T * B, 3 * H)
    return _with_dx(dict(h0=dh, w_ih=dot(d2.T, x.reshape(T * B, I)),
                         w_hh=dot(e2.T, hs[:T].reshape(T * B, H)), b_ih=d2.sum(0), b_hh=e2.sum(0)), input_grad,
                    d2, w_ih, x)


# ============================================================================ Elman RNN
def rnn_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray,
                b_hh: np.ndarray, keep: bool = True) -> Tuple[np.ndarray, Tuple, Optional[dict]]:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    T, B, I = x.shape
    H = w_hh.shape[1]
    hs = np.empty((T + 1, B, H), x.dtype)
    hs[0] = h0
    _project(x, w_ih, b_ih + b_hh, out=hs[1:].reshape(T * B, H))
    gh = np.empty((H, B), x.dtype)
    for t in range(T):
        dot(w_hh, hs[t].T, out=gh)
        hs[t + 1] += gh.T
        np.tanh(hs[t + 1], out=hs[t + 1])
    cache = dict(x=x, w_ih=w_ih, w_hh=w_hh, hs=hs) if keep else None
    return hs[1:], (hs[T],), cache


def rnn_backward(cache: dict, dout: np.ndarray, dh_n: Optional[np.ndarray] = None,
                 input_grad: bool = True) -> Grads:
    x, w_ih, w_hh, hs = (cache[k] for k in ("x", "w_ih", "w_hh", "hs"))
    T, B, I = x.shape
    H = w_hh.shape[1]
    dpre = np.empty((T, B, H), x.dtype)
    dh = np.zeros((B, H), x.dtype) if dh_n is None else dh_n.copy()
    for t in range(T - 1, -1, -1):
        dh += dout[t]
        d = dpre[t]
        np.multiply(hs[t + 1], hs[t + 1], out=d)
        np.subtract(1, d, out=d)
        d *= dh
        dot(d, w_hh, out=dh)
    d2 = dpre.reshape(T * B, H)
    db = d2.sum(0)
    return _with_dx(dict(h0=dh, w_ih=dot(d2.T, x.reshape(T * B, I)),
                         w_hh=dot(d2.T, hs[:T].reshape(T * B, H)), b_ih=db, b_hh=db.copy()), input_grad, d2, w_ih, x)


FORWARD: Dict[str, Any] = {"lstm": lstm_forward, "gru": gru_forward, "rnn": rnn_forward}
BACKWARD: Dict[str, Any] = {"lstm": lstm_backward, "gru": gru_backward, "rnn": rnn_backward}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
