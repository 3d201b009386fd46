"""Vanishing and exploding gradients in backpropagation through time, measured and plotted.

A cell h_t = f(x_t, h_{t-1}) (t = 0..T-1, the same weights at every step) unrolled over T
steps, with a loss L on the last state h_{T-1}, gets by the chain rule (row vectors)

    dL/dh_t = dL/dh_{T-1} . J_{T-1} . J_{T-2} ... J_{t+1},    J_k = dh_k/dh_{k-1}

(for a tanh RNN J_k = diag(1 - h_k^2) W_hh). A product of T-1-t Jacobians of about the
same size scales like rho^(T-1-t): for rho < 1 the gradient reaching early steps vanishes
geometrically, for rho > 1 it explodes. ``hidden_gradient_norms`` measures ||dL/dh_t||
for every t; ``plot_gradient_norms`` draws those curves on a log scale, where geometric
decay or growth is a straight line.
"""
from __future__ import annotations

import os
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..autograd import enable_grad, grad
from ..creation import zeros
from ..nn.rnn import GRUCell, LSTMCell, RNNCell
from ..serialization import atomic_write
from ..tensor import Tensor, dtype_name

Cell = Union[RNNCell, LSTMCell, GRUCell]
_NAME = "hidden_gradient_norms"


def _frobenius(g: Optional[Tensor]) -> float:
    """||g||_F over the whole (B, H) gradient, in float64; None (no gradient reached it) is 0."""
    if g is None:
        return 0.0
    a = g.numpy().astype(np.float64, copy=False)
    return float(np.sqrt(np.sum(a * a)))


def _initial_state(cell: Cell, h0: Any, B: int, like: Tensor) -> Any:
    """The start state as fresh leaves that require grad, so every h_t is in the graph even when
    the cell's parameters are frozen; the caller's h0 is not modified (detach shares data only)."""
    H, is_lstm = cell.hidden_size, isinstance(cell, LSTMCell)

    def leaf(s: Any, what: str) -> Tensor:
        if s is None:
            return zeros(B, H, dtype=like.dtype, device=like.device).requires_grad_()
        if not isinstance(s, Tensor):
            s = Tensor(s, dtype=like.dtype, device=like.device)
        if s.shape != (B, H):
            raise ValueError(f"{_NAME}: {what} has shape {s.shape}, expected {(B, H)} (batch, hidden_size)")
        return s.detach().requires_grad_()

    if not is_lstm:
        if isinstance(h0, (tuple, list)):
            raise TypeError(f"{_NAME}: h0 for a {type(cell).__name__} is one (B, H) tensor, got a "
                            f"{type(h0).__name__}")
        return leaf(h0, "h0")
    if h0 is None:
        return leaf(None, "h0"), leaf(None, "c0")
    if not isinstance(h0, (tuple, list)) or len(h0) != 2:
        raise TypeError(f"{_NAME}: h0 for an LSTMCell is a pair (h0, c0) of (B, H) tensors, got "
                        f"{type(h0).__name__}")
    return leaf(h0[0], "h0"), leaf(h0[1], "c0")


def hidden_gradient_norms(cell: Cell, x: Any, h0: Any = None,
                          loss_fn: Optional[Callable[[List[Tensor]], Tensor]] = None, *,
                          cell_state: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """||dL/dh_t||_F (over the batch) for t = 0..T-1: how much gradient reaches each step.

    cell: an RNNCell, LSTMCell or GRUCell, run step by step over x (T, B, I) with the same
    weights at every step, from h0 ((B, H); an (h0, c0) pair for the LSTM; zeros if None).
    h_t is the state after reading x_t. The loss is ``h_{T-1}.sum()`` (so dL/dh_{T-1} is all
    ones), or ``loss_fn([h_0, ..., h_{T-1}])`` -> a one-element Tensor. The value at t is the
    total gradient flowing into h_t (through h_{t+1}, and through the loss directly if it uses
    h_t): dL/dh_t = dL/dh_{T-1} prod_{k=t+1}^{T-1} dh_k/dh_{k-1} for the default loss, which
    shrinks or grows geometrically with T-1-t. Returns a float64 array of shape (T,); with
    ``cell_state=True`` (LSTMCell only) a pair (h norms, c norms), the latter ||dL/dc_t||.

    The gradients are taken with ``tg.grad`` capturing each h_t (what a hook on h_t would
    see), so no parameter's ``.grad`` changes.
    """
    if not isinstance(cell, (RNNCell, LSTMCell, GRUCell)):
        raise TypeError(f"{_NAME}: cell must be an RNNCell, LSTMCell or GRUCell, got {type(cell).__name__}")
    is_lstm = isinstance(cell, LSTMCell)
    if cell_state and not is_lstm:
        raise ValueError(f"{_NAME}: cell_state=True needs an LSTMCell (only it has a cell state c_t), "
                         f"got {type(cell).__name__}")
    w = cell.weight_ih
    if not isinstance(x, Tensor):
        x = Tensor(x, dtype=w.dtype, device=w.device)
    if x.ndim != 3 or x.shape[2] != cell.input_size or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{_NAME}: x must be (T, B, {cell.input_size}) with T, B >= 1 (time-major, "
                         f"input_size={cell.input_size}), got shape {x.shape}")
    if x.dtype != w.dtype:
        raise TypeError(f"{_NAME}: x is {dtype_name(x.dtype)} but the cell's parameters are {dtype_name(w.dtype)}; "
                        "convert one side (e.g. cell.double() or x.astype(...))")
    T, B = x.shape[0], x.shape[1]
    with enable_grad():  # works inside no_grad() too: the unrolled graph is what we measure
        state = _initial_state(cell, h0, B, x)
        hs: List[Tensor] = []
        cs: List[Tensor] = []
        for t in range(T):
            state = cell(x[t], state)
            if is_lstm:
                hs.append(state[0])
                cs.append(state[1])
            else:
                hs.append(state)
        loss = hs[-1].sum() if loss_fn is None else loss_fn(list(hs))
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"{_NAME}: loss_fn must return a one-element Tensor (e.g. a .sum() or .mean()), "
                         f"got {shape}")
    if not loss.requires_grad:
        raise ValueError(f"{_NAME}: the loss does not depend on the hidden states (was it computed under "
                         "no_grad() or from detached tensors?)")
    inputs = hs + (cs if cell_state else [])
    grads = grad(loss, inputs, allow_unused=True)
    norms = np.array([_frobenius(g) for g in grads], dtype=np.float64)
    return (norms[:T], norms[T:]) if cell_state else norms


def plot_gradient_norms(curves: Mapping[str, Sequence[float]], path: str,
                        title: str = "Gradient reaching each time step, ||dL/dh_t||", *,
                        steps_back: bool = False, dpi: int = 120) -> str:
    """Save a log-scale line plot of gradient norms (one curve per name) as a PNG at path.

    curves: {name: (T,) norms} (from hidden_gradient_norms); the x axis is the time step t,
    or with ``steps_back=True`` the distance T-1-t from the loss. Zero or non-finite values
    are left out (a log scale cannot show them). The file is written atomically: a temporary
    file in the same directory, flushed and fsynced, then os.replace'd over path, so an
    interrupted run never leaves a half-written PNG. Returns path. Needs matplotlib (Agg; the
    global pyplot backend is not touched).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_gradient_norms: needs matplotlib; install it with "
                          "pip install -e \".[examples]\"") from None
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("plot_gradient_norms: curves must be a non-empty dict {name: 1-d array of norms}, "
                         f"got {type(curves).__name__}" + (" (empty)" if isinstance(curves, Mapping) else ""))
    arrays = {}
    for name, values in curves.items():
        a = np.asarray(values.numpy() if isinstance(values, Tensor) else values, dtype=np.float64)
        if a.ndim != 1 or a.size == 0:
            raise ValueError(f"plot_gradient_norms: curve {name!r} must be a non-empty 1-d array, "
                             f"got shape {a.shape}")
        arrays[str(name)] = np.where(np.isfinite(a) & (a > 0), a, np.nan)

    fig = Figure(figsize=(8, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, a in arrays.items():
        t = np.arange(a.size)
        ax.plot(a.size - 1 - t if steps_back else t, a, label=name, linewidth=1.8)
    ax.set_yscale("log")
    if steps_back:
        ax.set_xlabel("steps back from the loss, T-1-t")
    else:
        ax.set_xlabel("time step t (the loss is on the last step, T-1)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$ (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.12)
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi), "plot_gradient_norms")
    return os.fspath(path)
