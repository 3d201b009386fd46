"""Plain-numpy LSTM, GRU and Elman RNN with hand-derived BPTT: the benchmark's floor.

No autograd at all: the textbook fused-gate recurrence as a careful numpy
programmer writes it, with the engine's numpy tricks (so that ours/floor measures
the engine, not a trick one of them lacks) but one: at B > 1 the engine's LSTM
runs on (H, B) columns with W_ih, W_hh and the bias in one matrix (nn/fused.py's
_Columns), which makes the floor's LSTM take 1.0x-1.2x the engine's time at
charlm, medium and long. The input projection of all steps is one matmul, each
step does one matmul for all gates with in-place gate math on preallocated
buffers and views made up front, and the weight gradients are one matmul each
over all steps. Backward first computes, for a block of steps at once (blocks
that fit in cache, as the engine's), what each gate's gradient is to be
multiplied by (the local derivatives: 1 - h^2 for the RNN, and so on), so that
a step is a few ufuncs and one matmul. The sigmoid gates' weights are halved, so
one tanh over all gates serves them too (sigmoid(v) = 0.5 + 0.5 tanh(v / 2)).
Each step's hidden product h @ W_hh.T is computed as (W_hh @ h.T).T, the layout
OpenBLAS's AVX-512 kernels run fastest (the engine does the same), and the
products call np.dot, which skips np.matmul's ufunc machinery (~0.35 us a call,
~7 us for a 1-step block's outer product), through its C function (``dot``:
np.dot itself is numpy's Python-level __array_function__ dispatcher, ~0.16 us a
call). A small bias is added after the projection, a large one rides in it as a
column of ones (see _project).
Used only by bench_rnn.py, as what any numpy-based engine could at best reach.

Shapes: x (T, B, I) time-major, weights in PyTorch layout (G*H, I), (G*H, H),
biases (G*H,). ``forward`` returns (output (T, B, H), final state(s), cache);
``backward(cache, dout, dh_n[, dc_n])`` returns a dict of gradients; with
``input_grad=False`` it skips dx (the benchmark's input needs no gradient, and
the engine skips it too). A backward uses up its cache (the LSTM's overwrites
tanh(c)): one backward per forward.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

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


def _slots(a: np.ndarray, order: Sequence[int], scale: Optional[Sequence[float]] = None) -> np.ndarray:
    """The G gate blocks of a (G*H, ...) weight or (G*H,) bias in the order ``order``, each times its scale (as
    nn/fused.py's _blocks: the floor imports nothing from the engine)."""
    G = len(order)
    blocks = a.reshape((G, a.shape[0] // G) + a.shape[1:])[list(order)]
    if scale is not None:
        blocks = blocks * np.asarray(scale, a.dtype).reshape((G,) + (1,) * a.ndim)
    return blocks.reshape(a.shape)


BLOCK = 1 << 16  # elements: backward's blocks of steps, as the engine's (_CHUNK_ELEMS in nn/fused.py)


def _step_blocks(T: int, per_step: int) -> list:
    """Backward's blocks [t0, t1) of steps, last first: about BLOCK elements of per_step (B * H) each, so that a
    block's coefficient pass runs in cache (unblocked, the floor's LSTM took 1.05x the time at medium)."""
    n = max(1, BLOCK // per_step)
    return [(t0, min(T, t0 + n)) for t0 in range(0, T, n)][::-1]


# ============================================================================ LSTM
_LSTM_SLOTS, _LSTM_SCALE = (0, 1, 3, 2), (0.5, 0.5, 0.5, 1.0)  # slots (i, f, o, g), the sigmoid pre-activations halved


def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                 b_ih: np.ndarray, b_hh: np.ndarray, keep: bool = True) -> Tuple[np.ndarray, Tuple, Optional[dict]]:
    """gates (i, f, g, o) = W_ih x + b_ih + W_hh h + b_hh; c' = f c + i g, h' = o tanh(c')."""
    T, B, I = x.shape
    H = w_hh.shape[1]
    wi, wh, b = (_slots(a, _LSTM_SLOTS, _LSTM_SCALE) for a in (w_ih, w_hh, b_ih + b_hh))
    gates = _project(x, wi, b).reshape(T, B, 4 * H)
    hs = np.empty((T + 1, B, H), x.dtype)
    cs = np.empty((T + 1, B, H), x.dtype)
    tcs = np.empty((T, B, H), x.dtype)
    hs[0], cs[0] = h0, c0
    gh = np.empty((4 * H, B), x.dtype)
    tmp = np.empty((B, H), x.dtype)
    g4, ghT = gates.reshape(T, B, 4, H), gh.T
    for g, sg, i, f, o, gg, hp, h, cp, c, tc in zip(gates, gates[:, :, :3 * H], *(g4[:, :, k] for k in range(4)),
                                                    hs.transpose(0, 2, 1), hs[1:], cs, cs[1:], tcs):
        dot(wh, hp, out=gh)
        g += ghT
        np.tanh(g, out=g)
        sg *= 0.5
        sg += 0.5
        np.multiply(f, cp, out=c)
        np.multiply(i, gg, out=tmp)
        c += tmp
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=h)
    cache = dict(x=x, w_ih=w_ih, w_hh=w_hh, gates=gates, hs=hs, cs=cs, tcs=tcs) if keep else None
    return hs[1:], (hs[T], cs[T]), cache


def lstm_backward(cache: dict, dout: np.ndarray, dh_n: Optional[np.ndarray] = None,
                  dc_n: Optional[np.ndarray] = None, input_grad: bool = True) -> Grads:
    x, w_ih, w_hh, gates, hs, cs, tcs = (cache[k] for k in ("x", "w_ih", "w_hh", "gates", "hs", "cs", "tcs"))
    T, B, I = x.shape
    H = w_hh.shape[1]
    g4 = gates.reshape(T, B, 4, H)
    dg = np.empty((T, B, 4, H), x.dtype)  # gate order (i, f, g, o): coefficients first, then times dc or dh
    dh = np.zeros((B, H), x.dtype) if dh_n is None else dh_n.copy()
    dc = np.zeros((B, H), x.dtype) if dc_n is None else dc_n.copy()
    dc3 = dc[:, None, :]
    tmp = np.empty((B, H), x.dtype)
    dsteps = dg.reshape(T, B, 4 * H)  # (a step's gate gradients as one (B, 4H) matrix)
    for t0, t1 in _step_blocks(T, B * H):
        i, f, o, gg = (g4[t0:t1, :, k] for k in range(4))
        di, df, dgg, do = (dg[t0:t1, :, k] for k in range(4))
        tc = tcs[t0:t1]
        np.subtract(1, o, out=do)                         # do = dh o (1 - o) tanh(c)
        do *= o
        do *= tc
        q = tc                                            # dc += dh q, q = o (1 - tanh(c)^2) (over tanh(c))
        np.multiply(tc, tc, out=q)
        np.subtract(1, q, out=q)
        q *= o
        np.subtract(1, i, out=di)                         # di = dc i (1 - i) g
        di *= i
        di *= gg
        np.subtract(1, f, out=df)                         # df = dc f (1 - f) c_prev
        df *= f
        df *= cs[t0:t1]
        np.multiply(gg, gg, out=dgg)                      # dg = dc i (1 - g^2)
        np.subtract(1, dgg, out=dgg)
        dgg *= i
        for d, dt3, dto, qt, ft, dy in zip(dsteps[t0:t1][::-1], dg[t0:t1, :, :3][::-1], do[::-1], q[::-1], f[::-1],
                                           dout[t0:t1][::-1]):
            dh += dy
            np.multiply(dh, qt, out=tmp)
            dc += tmp
            dt3 *= dc3
            dto *= dh
            dc *= ft
            dot(d, w_hh, out=dh)
    d2 = dg.reshape(T * B, 4 * H)
    db = d2.sum(0)
    return _with_dx(dict(h0=dh, c0=dc, w_ih=dot(d2.T, x.reshape(T * B, I)),
                         w_hh=dot(d2.T, hs[:T].reshape(T * B, H)), b_ih=db, b_hh=db.copy()), input_grad, d2, w_ih, x)


# ============================================================================ GRU
_GRU_SCALE = (0.5, 0.5, 1.0)  # (r, z, n): the sigmoid pre-activations halved


def gru_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray,
                b_hh: np.ndarray, keep: bool = True) -> Tuple[np.ndarray, Tuple, Optional[dict]]:
    """r, z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = n + z (h - n)."""
    T, B, I = x.shape
    H = w_hh.shape[1]
    b = _slots(b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H, b_hh.dtype)]), (0, 1, 2), _GRU_SCALE)
    gi = _project(x, _slots(w_ih, (0, 1, 2), _GRU_SCALE), b).reshape(T, B, 3 * H)
    wh = _slots(w_hh, (0, 1, 2), _GRU_SCALE)
    hn = np.empty((T, B, H), x.dtype)
    hs = np.empty((T + 1, B, H), x.dtype)
    hs[0] = h0
    ghT = np.empty((3 * H, B), x.dtype)
    gh = ghT.T
    tmp = np.empty((B, H), x.dtype)
    g3, gh_rz, gh_n, b_hn = gi.reshape(T, B, 3, H), gh[:, :2 * H], gh[:, 2 * H:], b_hh[2 * H:]
    for rz, r, z, n, hn_t, hpT, hp, h in zip(gi[:, :, :2 * H], *(g3[:, :, k] for k in range(3)), hn,
                                            hs.transpose(0, 2, 1), hs, hs[1:]):
        dot(wh, hpT, out=ghT)
        rz += gh_rz
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        np.add(gh_n, b_hn, out=hn_t)
        np.multiply(r, hn_t, out=tmp)
        n += tmp
        np.tanh(n, out=n)
        np.subtract(hp, n, out=h)
        h *= z
        h += n
    cache = dict(x=x, w_ih=w_ih, w_hh=w_hh, gi=gi, hn=hn, hs=hs) if keep else None
    return hs[1:], (hs[T],), cache


def gru_backward(cache: dict, dout: np.ndarray, dh_n: Optional[np.ndarray] = None,
                 input_grad: bool = True) -> Grads:
    x, w_ih, w_hh, gi, hn, hs = (cache[k] for k in ("x", "w_ih", "w_hh", "gi", "hn", "hs"))
    T, B, I = x.shape
    H = w_hh.shape[1]
    g3 = gi.reshape(T, B, 3, H)
    D = np.empty((T, B, 4, H), x.dtype)  # slots (n, r, z, hn): (n, r, z) meet W_ih's rows, (r, z, hn) W_hh's
    Dhid = D.reshape(T, B, 4 * H)[:, :, H:]
    dh = np.zeros((B, H), x.dtype) if dh_n is None else dh_n.copy()
    dh3 = dh[:, None, :]
    tmp = np.empty((B, H), x.dtype)
    mm = dot if B == 1 else np.matmul  # (at B > 1 the (B, 3H) rows are strided by 4H, where dot is slower)
    for t0, t1 in _step_blocks(T, B * H):
        r, z, n = (g3[t0:t1, :, k] for k in range(3))
        dn, dr, dz, dhn = (D[t0:t1, :, k] for k in range(4))
        u = dr                                            # (1 - z), held in dr's slot until dr is computed
        np.subtract(1, z, out=u)
        np.multiply(n, n, out=dn)                         # dn = dh (1 - z)(1 - n^2)
        np.subtract(1, dn, out=dn)
        dn *= u
        np.subtract(hs[t0:t1], n, out=dz)                 # dz = dh (h - n) z (1 - z)
        dz *= z
        dz *= u
        np.multiply(dn, r, out=dhn)                       # d(W_hn h + b_hn) = dn r
        np.subtract(1, r, out=dr)                         # dr = dn (W_hn h + b_hn) r (1 - r)
        dr *= dhn
        dr *= hn[t0:t1]
        for d, dhid, zt, dy in zip(D[t0:t1][::-1], Dhid[t0:t1][::-1], z[::-1], dout[t0:t1][::-1]):
            dh += dy
            d *= dh3
            mm(dhid, w_hh, out=tmp)
            dh *= zt
            dh += tmp
    d2 = D.reshape(T * B, 4 * H)
    din, dhid = d2[:, :3 * H], d2[:, H:]
    x2 = x.reshape(T * B, I)
    grads = dict(h0=dh, w_ih=_slots(np.matmul(din.T, x2), (1, 2, 0)), w_hh=np.matmul(dhid.T, hs[:T].reshape(T * B, H)),
                 b_ih=_slots(din.sum(0), (1, 2, 0)), b_hh=dhid.sum(0))
    return _with_dx(grads, input_grad, din, _slots(w_ih, (2, 0, 1)), x)


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
    ghT = gh.T
    for hp, h in zip(hs.transpose(0, 2, 1)[:T], hs[1:]):  # (h_prev.T, h) per step
        dot(w_hh, hp, out=gh)
        h += ghT
        np.tanh(h, out=h)
    cache = dict(x=x, w_ih=w_ih, w_hh=w_hh, hs=hs) if keep else None
    return hs[1:], (hs[T],), cache


def rnn_backward(cache: dict, dout: np.ndarray, dh_n: Optional[np.ndarray] = None,
                 input_grad: bool = True) -> Grads:
    x, w_ih, w_hh, hs = (cache[k] for k in ("x", "w_ih", "w_hh", "hs"))
    T, B, I = x.shape
    H = w_hh.shape[1]
    dpre = np.empty((T, B, H), x.dtype)
    dh = np.zeros((B, H), x.dtype) if dh_n is None else dh_n.copy()
    for t0, t1 in _step_blocks(T, B * H):
        d = dpre[t0:t1]
        np.multiply(hs[t0 + 1:t1 + 1], hs[t0 + 1:t1 + 1], out=d)  # 1 - h^2, then times dh per step
        np.subtract(1, d, out=d)
        for dt, dy in zip(d[::-1], dout[t0:t1][::-1]):
            dh += dy
            dt *= dh
            dot(dt, w_hh, out=dh)
    d2 = dpre.reshape(T * B, H)
    db = d2.sum(0)
    return _with_dx(dict(h0=dh, w_ih=dot(d2.T, x.reshape(T * B, I)),
                         w_hh=dot(d2.T, hs[:T].reshape(T * B, H)), b_ih=db, b_hh=db.copy()), input_grad, d2, w_ih, x)


FORWARD: Dict[str, Any] = {"lstm": lstm_forward, "gru": gru_forward, "rnn": rnn_forward}
BACKWARD: Dict[str, Any] = {"lstm": lstm_backward, "gru": gru_backward, "rnn": rnn_backward}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
