"""Recurrent cells and multi-layer sequence layers (PyTorch's names, shapes and gate order).

One set of weights serves every time step. With ``fused=False`` the layers loop over t
calling the same cell function with the same Parameters, so the unrolled graph reuses each
weight T times and backward sums the T per-step gradients into its ``.grad``; the default
``fused=True`` runs that loop inside one Function per layer and direction (nn/fused.py),
whose hand-derived backward sums the same per-step gradients.

Cell equations (x: (B, I), h, c: (B, H); weights stacked by gate, PyTorch's layout):

    RNN:   h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)            (or relu)
    LSTM:  i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh)   gate order i|f|g|o
           c' = sigmoid(f) * c + sigmoid(i) * tanh(g);   h' = sigmoid(o) * tanh(c')
           (with proj_size P: h' = W_hr (sigmoid(o) * tanh(c')), P features; LSTM layers only)
    GRU:   r, z, n_x = split(x W_ih^T + b_ih);  _, _, n_h = split(h W_hh^T + b_hh)
           r = sigmoid(r_x + r_h), z = sigmoid(z_x + z_h), n = tanh(n_x + r * n_h)
           h' = (1 - z) * n + z * h                                 gate order r|z|n
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from .. import ops
from ..backend import xp_of
from ..creation import zeros
from ..tensor import Tensor, _mode, _RuntimeTypeError, _RuntimeValueError, _TypeValueError, dtype_name
from . import functional as F
from . import fused, init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _pack

State = Union[Tensor, Tuple[Tensor, Tensor]]
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_FUSED = {"RNN_TANH": fused.RNNSequence, "RNN_RELU": fused.RNNSequence, "LSTM": fused.LSTMSequence,
          "GRU": fused.GRUSequence}  # the Function that runs a layer of each mode when fused


# --------------------------------------------------------------------------- the cell equations
def _affine(x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    y = x @ w.T
    return y if b is None else y + b


def _records_graph(*tensors: Optional[Tensor]) -> bool:
    """Whether an op on these tensors (None: absent) records a node: grad mode is on and one requires grad."""
    return _mode.grad_enabled and True in [t is not None and t._requires_grad for t in tensors]


def fused_step(mode: str, x: Tensor, h: Tensor, c: Optional[Tensor],
               weights: tuple) -> Tuple[Tensor, Optional[Tensor]]:
    """The fused cells' step (and the fused layers' on a one-step input): (h', c') from x (B, I), h (and c for the
    LSTM) (B, H) and (w_ih, w_hh, b_ih, b_hh); c' None but for the LSTM. While a graph is recorded, one node with
    the step's hand-derived backward (fused.CellStep; the LSTM's h' = o tanh(c') after it, fused.LSTMOutput, so that
    c' is a node of its own, as in torch's CPU cell); otherwise the step's array math alone (fused.cell_step). mode as
    RNNBase's: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""
    if not _records_graph(x, h, c, *weights):
        h, c = fused.cell_step(mode, x.array, h.array, None if c is None else c.array,
                               *[None if w is None else w.array for w in weights])
        return Tensor._make(h), None if c is None else Tensor._make(c)
    outs = fused.CellStep(mode, weights[2] is not None)(*[t for t in (x, h, c, *weights) if t is not None])
    if c is None:
        return outs, None
    c, o = outs
    return fused.LSTMOutput()(c, o), c  # h' = o tanh(c'), after the node that gives c'


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor], b_hh: Optional[Tensor],
             nonlinearity: str = "tanh") -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""
    pre = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_cell(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
              b_hh: Optional[Tensor], w_hr: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """(h', c') with gates i|f|g|o: c' = f * c + i * g, h' = o * tanh(c'); with a projection w_hr
    (P, H), h' = (o * tanh(c')) W_hr^T has P features (torch's proj_size)."""
    c, o = lstm_state(x, h, c, w_ih, w_hh, b_ih, b_hh)
    h = o * c.tanh()
    return (h if w_hr is None else h @ w_hr.T), c


def lstm_state(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
               b_hh: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """The LSTM step up to h': (c', o), c' = f * c + i * g and the output gate o (the fused cell's outputs)."""
    i, f, g, o = (_affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)).chunk(4, 1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    return f * c + i * g, o


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
             b_hh: Optional[Tensor]) -> Tensor:
    """h' = (1 - z) * n + z * h with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), gates r|z|n."""
    r_x, z_x, n_x = _affine(x, w_ih, b_ih).chunk(3, 1)
    r_h, z_h, n_h = _affine(h, w_hh, b_hh).chunk(3, 1)
    r = (r_x + r_h).sigmoid()
    z = (z_x + z_h).sigmoid()
    n = (n_x + r * n_h).tanh()
    return (1 - z) * n + z * h


# --------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """torch.nn.RNNCellBase, the base of RNNCell, LSTMCell and GRUCell: weight_ih (num_chunks H, I), weight_hh
    (num_chunks H, H), bias_ih and bias_hh (num_chunks H) or None, all ~ U(-1/sqrt(H), 1/sqrt(H)).
    One step of a recurrence. ``fused=True`` (the default) runs the step as one node with a hand-derived
    backward (fused.CellStep; benchmarks/bench_cells.py), or, while no graph is recorded, as the step's array
    math alone; ``fused=False`` composes the cell equations above from ordinary ops (the readable reference; a
    fused step's double backward differentiates them on its saved inputs). The tests hold the two to the same
    outputs and gradients."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Optional[str] = None,
                 dtype: Any = None, *, fused: bool = True) -> None:
        super().__init__()
        input_size, hidden_size = [ops.int_arg(v, type(self).__name__, n) for v, n in ((input_size, "input_size"),
                                                                                     (hidden_size, "hidden_size"))]
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be positive, "
                             f"got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias, self.fused = input_size, hidden_size, bias, bool(fused)
        num_chunks = ops.int_arg(num_chunks, type(self).__name__, "num_chunks")
        _make_weights(self, "", num_chunks * hidden_size, input_size, hidden_size, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), as in PyTorch."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _prepare(self, x: Tensor, hx: Optional[Tensor], what: str = "hx") -> Tuple[Tensor, Tensor, bool]:
        """(B, I) input and (B, H) state; an unbatched (I,) input (which needs an (H,) state) gets a batch
        dim of 1."""
        name = type(self).__name__
        if not isinstance(x, Tensor):
            F._check_tensor(name, "input", x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise _RuntimeValueError(f"{name}: input must be (batch, {self.input_size}) or ({self.input_size},), "
                                     f"got shape {x.shape}")
        w = self.weight_ih
        _check_features(name, x, _RuntimeTypeError)  # (torch: "mat1 and mat2 must have the same dtype")
        if x.dtype != w.dtype or x.device != w.device:  # numpy would silently promote (torch: "mat1 and mat2 ...")
            raise _RuntimeTypeError(f"{name}: input is {x.dtype} on {x.device} but the parameters are "
                                    f"{dtype_name(w.dtype)} on {w.device}; convert one side (e.g. module.double() or "
                                    "x.float(), .to(device))")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
        want = (x.shape[0], self.hidden_size)
        if hx is None:
            return x, zeros(*want, dtype=x.dtype, device=x.device), unbatched
        if not isinstance(hx, Tensor):
            F._check_tensor(name, what, hx)
        if hx.shape != (want[1:] if unbatched else want):  # (torch too: no batch dim on one side only)
            raise _RuntimeValueError(f"{name}: {what} has shape {hx.shape}, expected "
                                     + (f"{want[1:]} (hidden_size,) for the unbatched input of shape {x.shape[1:]}"
                                        if unbatched else f"{want} (batch, hidden_size)"))
        h = hx.unsqueeze(0) if unbatched else hx
        if h.device != x.device:
            raise ValueError(f"{name}: {what} is on {h.device} but the input is on {x.device}")
        if h.dtype != w.dtype:
            raise _RuntimeTypeError(f"{name}: {what} is {dtype_name(h.dtype)} but the input and parameters are "
                                    f"{dtype_name(w.dtype)}; convert one side (e.g. {what}.to({dtype_name(w.dtype)}) "
                                    f"or module.to({what}.dtype))")
        return x, h, unbatched

    def extra_repr(self) -> str:
        """torch's: bias and nonlinearity shown where not the default (then ours: fused=False)."""
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return (f"{self.input_size}, {self.hidden_size}" + ("" if self.bias is True else f", bias={self.bias}")
                + ("" if nonlinearity == "tanh" else f", nonlinearity={nonlinearity}")
                + ("" if self.fused else ", fused=False"))


class RNNCell(RNNCellBase):
    """Elman cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); input (B, I) or (I,), hx (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Optional[str] = None, dtype: Any = None, *, fused: bool = True) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype, fused=fused)
        self.nonlinearity = nonlinearity

    @property
    def mode(self) -> str:
        return "RNN_" + self.nonlinearity.upper()

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        x, h, unbatched = self._prepare(input, hx)
        if self.fused:
            h = fused_step(self.mode, x, h, None, self._weights())[0]
        else:
            h = rnn_cell(x, h, *self._weights(), self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """LSTM cell, gates i|f|g|o; forward(input, (h, c)) -> (h', c'). ``forget_bias`` sets b_if + b_hf. Fused or
    not, c' is a node before h' = o tanh(c') reads it, so a hook on c' sees the total dL/dc' (as in torch's CPU
    cell)."""

    mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Optional[str] = None,
                 dtype: Any = None, *, forget_bias: Optional[float] = None, fused: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype, fused=fused)
        if forget_bias is not None:
            init.lstm_forget_bias_(self, forget_bias)

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        _check_pair("LSTMCell", hx, "(h, c)")
        x, h, unbatched = self._prepare(input, None if hx is None else hx[0], "h")
        _, c, _ = self._prepare(input, None if hx is None else hx[1], "c")
        if self.fused:
            h, c = fused_step("LSTM", x, h, c, self._weights())
        else:
            h, c = lstm_cell(x, h, c, *self._weights())
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """GRU cell, gates r|z|n; h' = (1 - z) * n + z * h."""

    mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Optional[str] = None,
                 dtype: Any = None, *, fused: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype, fused=fused)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        x, h, unbatched = self._prepare(input, hx)
        if self.fused:
            h = fused_step("GRU", x, h, None, self._weights())[0]
        else:
            h = gru_cell(x, h, *self._weights())
        return h.squeeze(0) if unbatched else h


def _make_weights(m: Module, suffix: str, rows: int, input_size: int, hidden_size: int, bias: bool,
                  device: Optional[str], dtype: Any, proj_size: int = 0) -> None:
    """Registered in torch's order (which parameters() and state_dict follow): w_ih, w_hh, b_ih, b_hh, w_hr."""
    def p(*shape: int) -> Parameter:
        return Parameter(zeros(*shape, dtype=dtype, device=device))  # (None: the default dtype)

    setattr(m, "weight_ih" + suffix, p(rows, input_size))
    setattr(m, "weight_hh" + suffix, p(rows, proj_size or hidden_size))
    m.register_parameter("bias_ih" + suffix, p(rows) if bias else None)
    m.register_parameter("bias_hh" + suffix, p(rows) if bias else None)
    if proj_size:
        setattr(m, "weight_hr" + suffix, p(proj_size, hidden_size))


# --------------------------------------------------------------------------- sequence layers
class RNNBase(Module):
    """Stacked (optionally bidirectional) recurrence over a sequence; see RNN, LSTM, GRU.

    Input (T, B, I), or (B, T, I) with batch_first, or unbatched (T, I), or a PackedSequence
    (then the output is one too). ``lengths`` (B ints in 1..T) marks padded batches: steps
    t >= lengths[b] change neither state nor h_n/c_n and their outputs are 0. ``fused=True`` runs each
    layer and direction as one primitive with a hand-derived backward (fast);
    ``fused=False`` unrolls the cell equations step by step with ordinary ops (the
    readable reference, with per-step hooks; under create_graph a fused layer's backward differentiates it).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Optional[str] = None, dtype: Any = None, *, fused: bool = True) -> None:
        """torch.nn.RNNBase's arguments in its order; mode is 'LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU' (which
        sets the nonlinearity)."""
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"RNNBase: unrecognized RNN mode {mode!r}; expected one of {sorted(GATES)}")
        name = mode.split("_")[0]
        nonlinearity = "relu" if mode == "RNN_RELU" else "tanh"
        input_size, hidden_size, num_layers = [ops.int_arg(v, name, n) for v, n in (
            (input_size, "input_size"), (hidden_size, "hidden_size"), (num_layers, "num_layers"))]
        if input_size <= 0 or hidden_size <= 0 or num_layers <= 0:
            raise ValueError(f"{name}: input_size, hidden_size and num_layers must be positive, got "
                             f"{input_size}, {hidden_size}, {num_layers}")
        proj_size = ops.int_arg(proj_size, name, "proj_size")
        bias, batch_first = ops.bool_arg(bias, name, "bias"), ops.bool_arg(batch_first, name, "batch_first")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if not 0 <= proj_size < hidden_size:
            raise ValueError(f"{name}: proj_size must be 0 (no projection) or in 1..hidden_size-1 "
                             f"(hidden_size={hidden_size}), got {proj_size}")
        # (a bool or a non-number is refused as torch: dropout=True read as p = 1 zeroed every layer's output)
        if isinstance(dropout, (bool, np.bool_)) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        dropout = float(dropout)
        if dropout > 0 and num_layers == 1:  # (torch's warning, word for word)
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=3)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.nonlinearity, self.proj_size = nonlinearity, proj_size
        self.fused = fused
        rows, out_size = GATES[mode] * hidden_size, proj_size or hidden_size  # (h's size: P with projections)
        for layer in range(num_layers):
            for direction in range(2 if bidirectional else 1):
                layer_in = input_size if layer == 0 else out_size * (2 if bidirectional else 1)
                _make_weights(self, self._suffix(layer, direction), rows, layer_in, hidden_size, bias, device, dtype,
                              proj_size)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), as in PyTorch."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _layer_weights(self, layer: int, direction: int) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh), and w_hr with projections: one layer's and direction's weights, used at
        every step."""
        s = self._suffix(layer, direction)  # (a list below, not a generator: cheaper, on every forward)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + (("weight_hr",) if self.proj_size else ())
        return tuple([getattr(self, n + s) for n in names])

    def _forward_weights(self) -> List[tuple]:
        """_layer_weights of every layer and direction, for one forward of a parametrized layer: a parametrized
        weight is read as torch's RNNBase.forward reads its weights (_update_flat_weights: hasattr and getattr of
        the first parametrized one, then of every one), so a parametrization's side effect (spectral_norm's power
        iteration in training mode) happens as often per forward as in torch: 4 times for the first, twice for
        the others."""
        layers = [(layer, d) for layer in range(self.num_layers) for d in range(self.num_directions)]
        from .utils.parametrize import is_parametrized
        names = self._flat_weights_names
        parametrized = [is_parametrized(self, n) for n in names]
        if True in parametrized:
            first = names[parametrized.index(True)]
            getattr(self, first), getattr(self, first)
        values = {}
        for n, again in zip(names, parametrized):
            if again:
                getattr(self, n)
            values[n] = getattr(self, n)
        kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + (("weight_hr",) if self.proj_size else ())
        return [tuple([values.get(k + self._suffix(layer, d)) for k in kinds]) for layer, d in layers]

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------------ checks
    def _check_input(self, input: Tensor, w: Tensor) -> Tuple[Tensor, bool]:
        """The input as time-major (T, B, I) and whether it was unbatched; w is weight_ih_l0."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name}: input must be a Tensor, got {type(input).__name__}")
        a, wa = input.array, w.array  # (the arrays' attributes: no property calls on every forward)
        ndim, shape = a.ndim, a.shape
        if ndim not in (2, 3):
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            raise ValueError(f"{self._name}: input must be {layout} or unbatched (T, I), got shape {shape}")
        if shape[-1] != self.input_size:
            raise _RuntimeValueError(f"{self._name}: input has {shape[-1]} features (shape {shape}), "
                                     f"expected input_size={self.input_size}")
        if a.dtype.kind != "f":
            _check_features(self._name, input, _TypeValueError)  # (torch's check_input: a ValueError)
        if a.dtype != wa.dtype:  # (torch's check_input: a ValueError)
            raise _TypeValueError(f"{self._name}: input is {input.dtype} but the parameters are {w.dtype}; convert "
                                  f"one side (e.g. module.double() or x.float())")
        if (type(a) is not np.ndarray or type(wa) is not np.ndarray) and input.device != w.device:  # (numpy: cpu)
            raise _RuntimeTypeError(f"{self._name}: input is on {input.device} but the parameters are on {w.device}; "
                                    "move one side (module.to(device) or x.to(device))")
        if shape[0 if ndim == 2 or not self.batch_first else 1] == 0:
            raise _RuntimeValueError(f"{self._name}: input has no time steps (shape {shape})")
        if ndim == 2:
            return input.unsqueeze(1), True
        return (input.transpose(0, 1) if self.batch_first else input), False

    def _check_state(self, h: Optional[Tensor], B: int, unbatched: bool, like: Tensor,
                     what: str) -> Optional[Tensor]:
        if h is None:
            return None  # zeros, made per layer by run_layer (no (L*D, B, H) tensor to slice)
        size = "proj_size" if self.proj_size and what == "h0" else "hidden_size"  # (c0 keeps hidden_size)
        want = (self.num_layers * self.num_directions, B, getattr(self, size))
        if not isinstance(h, Tensor):
            raise TypeError(f"{self._name}: {what} must be a Tensor, got {type(h).__name__}")
        shown = want[:1] + want[2:] if unbatched else want
        if h.shape != shown:
            raise _RuntimeValueError(f"{self._name}: {what} has shape {h.shape}, expected {shown} "
                                     f"(num_layers * num_directions, batch, {size})" + (" for unbatched input"
                                                                                       if unbatched else ""))
        if h.device != like.device:
            raise ValueError(f"{self._name}: {what} is on {h.device} but the input is on {like.device}")
        if h.dtype != like.dtype:  # numpy would silently promote the whole recurrence (torch: a RuntimeError)
            raise _RuntimeTypeError(f"{self._name}: {what} is {h.dtype} but the input and parameters are "
                                    f"{like.dtype}; convert one side (e.g. {what}.to({like.dtype}) or "
                                    f"module.to({what}.dtype))")
        return h.unsqueeze(1) if unbatched else h

    # ------------------------------------------------------------------ forward
    def forward(self, input: Union[Tensor, PackedSequence], hx: Optional[State] = None,
                lengths: Any = None) -> Tuple[Union[Tensor, PackedSequence], State]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, lengths)
        D = self.num_directions
        if "parametrizations" in self._modules:  # (parametrize: a weight computed on access)
            weights = self._forward_weights()
        else:  # (the common case: the parameters themselves, one read each)
            weights = [self._layer_weights(layer, d) for layer in range(self.num_layers) for d in range(D)]
        x, unbatched = self._check_input(input, weights[0][0])
        T, B = x.array.shape[:2]
        lens = None if lengths is None else fused._check_lengths(lengths, T, B, self._name)
        h0 = c0 = None  # (no hx: zeros, made per layer by run_layer)
        if hx is not None and self.mode == "LSTM":
            _check_pair(self._name, hx, "(h0, c0)")
            h0 = self._check_state(hx[0], B, unbatched, x, "h0")
            c0 = self._check_state(hx[1], B, unbatched, x, "c0")
        elif hx is not None:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{self._name}: hx must be a Tensor h0, got {type(hx).__name__}")
            h0 = self._check_state(hx, B, unbatched, x, "h0")
        output, h_out, c_out = stacked(self.mode, x, h0, c0, weights, self.num_layers, D,
                                       self.dropout, self.training, lens, self.fused, self.nonlinearity)
        if unbatched:
            output, h_out = output.squeeze(1), h_out.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        if self.mode != "LSTM":
            return output, h_out
        return output, (h_out, c_out.squeeze(1) if unbatched else c_out)

    def _forward_packed(self, input: PackedSequence, hx: Optional[State], lengths: Any) -> Tuple[PackedSequence, State]:
        """A PackedSequence in and out, as torch: the sequences run as a padded batch with lengths=, sorted
        longest first; hx and h_n (c_n) are in the order the sequences were packed in."""
        if lengths is not None:
            raise ValueError(f"{self._name}: lengths= goes with a padded input; a PackedSequence carries its own "
                             "lengths (batch_sizes)")
        if input.data.ndim != 2:
            raise ValueError(f"{self._name}: a PackedSequence's data must be (N, input_size), got shape "
                             f"{input.data.shape}")
        x = input._padded(original_order=False)
        out, h = self.forward(x.transpose(0, 1) if self.batch_first else x, _permute_states(hx, input.sorted_indices),
                              input._lengths())
        if self.batch_first:
            out = out.transpose(0, 1)
        return input._with_data(_pack(out, input.batch_sizes.array)), _permute_states(h, input.unsorted_indices)

    @property
    def all_weights(self) -> List[List[Tensor]]:
        """torch's all_weights: per layer and direction (layer 0 forward, layer 0 reverse, layer 1 ...) its
        parameters [w_ih, w_hh, b_ih, b_hh] (+ w_hr with proj_size), the biases left out when bias=False."""
        return [[w for w in self._layer_weights(layer, d) if w is not None]
                for layer in range(self.num_layers) for d in range(self.num_directions)]

    @property
    def _all_weights(self) -> List[List[str]]:
        """torch's private _all_weights: all_weights' parameter names (read by third-party code)."""
        kinds = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if self.bias else ()) + \
            (("weight_hr",) if self.proj_size else ())  # (from the configuration: reading a parametrized weight
        return [[k + self._suffix(layer, d) for k in kinds]  # would compute it)
                for layer in range(self.num_layers) for d in range(self.num_directions)]

    @property
    def _flat_weights_names(self) -> List[str]:
        return [n for names in self._all_weights for n in names]

    @property
    def _flat_weights(self) -> List[Tensor]:
        """torch's private _flat_weights: the parameters in _flat_weights_names' order."""
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self) -> None:
        """Nothing to do: torch packs the weights into one buffer for cuDNN here; these layers use them as
        they are (kept so that torch code calling it runs unchanged)."""

    # torch's RNNBase checks, for subclasses that write their own forward (this forward does its own, above)
    def check_input(self, input: Tensor, batch_sizes: Optional[Tensor]) -> None:
        """input's dtype is the weights', and it is (N, I) with batch_sizes (packed data) or 3-d without."""
        w = self.weight_ih_l0
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({dtype_name(w.dtype)}). "
                             f"Convert input: input.to({dtype_name(w.dtype)}), or convert model: "
                             f"model.to({input.dtype})")
        want = 2 if batch_sizes is not None else 3
        if input.dim() != want:
            raise RuntimeError(f"input must have {want} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Optional[Tensor]) -> Tuple[int, int, int]:
        """h0's shape (num_layers * num_directions, batch, proj_size or hidden_size) for this input."""
        return self._expected_state(input, batch_sizes, self.proj_size or self.hidden_size)

    def _expected_state(self, input: Tensor, batch_sizes: Optional[Tensor], size: int) -> Tuple[int, int, int]:
        if batch_sizes is not None:
            batch = int(batch_sizes[0])
        else:
            batch = input.size(0) if self.batch_first else input.size(1)
        return self.num_layers * self.num_directions, batch, size

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: Tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Optional[Tensor]) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Optional[Tensor]) -> Tensor:
        """hx's batch columns (dim 1) in permutation's order (a PackedSequence's sorted_indices)."""
        return hx if permutation is None else ops.index_select(hx, 1, permutation)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False),
                              ("fused", True)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


def stacked(mode: str, x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor], weights: List[tuple], num_layers: int,
            num_directions: int, dropout: float, training: bool, lengths: Optional[np.ndarray], fused_: bool = True,
            nonlinearity: str = "tanh") -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """The stacked recurrence of RNNBase.forward (and of tg.lstm, tg.gru, tg.rnn_tanh, tg.rnn_relu): x (T, B, I)
    through num_layers layers of num_directions directions, weights[layer * num_directions + d] that layer's and
    direction's (w_ih, w_hh, b_ih, b_hh[, w_hr]), dropout (with training) on every layer's output but the last.
    Returns (output (T, B, D*H), h_n (L*D, B, H), c_n or None); h0 and c0 (L*D, B, H) or None (zeros)."""
    h_n: List[Tensor] = []
    c_n: List[Tensor] = []
    for layer in range(num_layers):
        outs = []
        for d in range(num_directions):
            k = layer * num_directions + d
            out, h, c = run_layer(mode, x, None if h0 is None else h0[k], None if c0 is None else c0[k], weights[k],
                                  lengths, d == 1, fused_, nonlinearity)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if len(outs) == 1 else ops.cat(outs, 2)
        if dropout and layer < num_layers - 1:
            x = F.dropout(x, dropout, training)
    return x, _stack_states(h_n), None if mode != "LSTM" else _stack_states(c_n)


def run_layer(mode: str, x: Tensor, h: Optional[Tensor], c: Optional[Tensor], weights: tuple,
              lengths: Optional[np.ndarray], reverse: bool, fused_: bool = True,
              nonlinearity: str = "tanh") -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """One layer, one direction over all T steps: (output (T, B, H), h_T, c_T), the states (1, B, H)
    (h and the output P wide with a projection, weights' fifth w_hr (P, H)). fused_: as RNNBase's fused (the
    projection always unrolled)."""
    hidden_size = weights[0].array.shape[0] // GATES[mode]  # (.array's shape: no property calls)
    proj_size = weights[4].array.shape[0] if len(weights) > 4 and weights[4] is not None else 0
    if fused_ and not proj_size and x.array.shape[0] == 1 and lengths is None:  # (a decoder, sampling)
        h = zeros(x.shape[1], hidden_size, dtype=x.dtype, device=x.device) if h is None else h
        if mode == "LSTM" and c is None:
            c = zeros(x.shape[1], hidden_size, dtype=x.dtype, device=x.device)
        step_mode = "RNN_" + nonlinearity.upper() if mode.startswith("RNN") else mode
        h1, c1 = fused_step(step_mode, x.squeeze(0), h, c, weights[:4])
        return h1.unsqueeze(0), h1.clone().unsqueeze(0), None if c1 is None else c1.unsqueeze(0)
    if fused_ and not proj_size:  # (the function behind fused.lstm_sequence & co., states stacked)
        cls = _FUSED[mode]
        states = [("h0", h), ("c0", c)] if cls.states == 2 else [("h0", h)]
        options = {"nonlinearity": nonlinearity} if cls is fused.RNNSequence else {}
        outs = fused._sequence(cls, x, states, *weights[:4], lengths, reverse, stacked=True, **options)
        return outs if cls.states == 2 else (*outs, None)
    if h is None:
        h = zeros(x.shape[1], proj_size or hidden_size, dtype=x.dtype, device=x.device)
    if c is None and mode == "LSTM":
        c = zeros(x.shape[1], hidden_size, dtype=x.dtype, device=x.device)
    out, h, c = unrolled(mode, x, h, c, weights, lengths, reverse, nonlinearity)
    return out, h.unsqueeze(0), None if c is None else c.unsqueeze(0)


def _permute_states(hx: Optional[State], index: Optional[Tensor]) -> Optional[State]:
    """States (L*D, B, H), or an LSTM's pair, with their batch columns picked by index (None: as they are).
    Anything else passes unchanged, for forward's checks to name. An LSTM's pair may be a list (as torch takes)."""
    if isinstance(hx, (tuple, list)):
        return type(hx)([_permute_states(h, index) for h in hx])
    if index is None or not isinstance(hx, Tensor) or hx.ndim != 3 or hx.shape[1] != index.shape[0]:
        return hx
    return ops.index_select(hx, 1, index)


def _check_pair(name: str, hx: Any, pair: str) -> None:
    """An LSTM state is None (zeros) or exactly two Tensors (h, c): torch refuses a half-given state too,
    and one Tensor must not be split into h and c."""
    if hx is None or (isinstance(hx, (tuple, list)) and len(hx) == 2 and isinstance(hx[0], Tensor)
                      and isinstance(hx[1], Tensor)):
        return
    if isinstance(hx, Tensor):
        got = f"a single Tensor of shape {hx.shape}"
    elif isinstance(hx, (tuple, list)):
        got = f"a {type(hx).__name__} of {len(hx)} items ({', '.join(type(v).__name__ for v in hx)})"
    else:
        got = type(hx).__name__
    raise TypeError(f"{name}: hx must be a tuple {pair} of two Tensors (or None for zero states), got {got}")


def _check_features(name: str, x: Tensor, kind: type = TypeError) -> None:
    """A float input (kind, a TypeError, is raised for another: torch's type for the caller)."""
    if x.dtype.kind != "f":
        raise kind(f"{name}: input is {x.dtype}, but the layer reads float features; integer token ids "
                        "go through nn.Embedding (or a one-hot encoding) first")


def _stack_states(states: List[Tensor]) -> Tensor:
    """(L*D, B, H) from each layer's and direction's final state (1, B, H). Both paths return states with
    memory and a version counter of their own (not views of the output), so one state needs no copy."""
    return states[0] if len(states) == 1 else ops.cat(states, 0)


def unrolled(mode: str, x: Tensor, h: Tensor, c: Optional[Tensor], weights: tuple,
             lengths: Optional[np.ndarray] = None, reverse: bool = False,
             nonlinearity: str = "tanh") -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """The reference recurrence: the same cell and the same weights at every step t.

    Padded steps (t >= lengths[b]) keep the previous state and output 0.
    """
    T = x.shape[0]
    mask = None
    if lengths is not None:
        xp = xp_of(x.array)
        mask = xp.asarray(np.arange(T)[:, None, None] < lengths[None, :, None])  # (T, B, 1)
    outputs: List[Optional[Tensor]] = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        if mode == "LSTM":
            h_new, c_new = lstm_cell(x[t], h, c, *weights)
        elif mode == "GRU":
            h_new, c_new = gru_cell(x[t], h, *weights), None
        else:
            h_new, c_new = rnn_cell(x[t], h, *weights, nonlinearity), None
        if mask is None:
            h, c, outputs[t] = h_new, c_new, h_new
        else:
            m = Tensor._make(mask[t])
            h = ops.where(m, h_new, h)
            c = ops.where(m, c_new, c) if c_new is not None else None
            outputs[t] = ops.where(m, h_new, 0.0)
    # the final states as copies: h may be an op's saved output (tanh's), which h_n must not alias
    return ops.stack(outputs), h.clone(), None if c is None else c.clone()


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked num_layers deep.

    Arguments and returns as torch.nn.RNN: ``output, h_n = rnn(input, h0=None, lengths=None)``,
    output (T, B, D*H) (batch_first: (B, T, D*H)), h_n (num_layers*D, B, H), D = 2 if bidirectional.
    Parameters weight_ih_l{k} (H, I), weight_hh_l{k} (H, H), bias_ih_l{k}, bias_hh_l{k}; *_reverse for D=2.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Optional[str] = None, dtype: Any = None, fused: bool = True, *, proj_size: int = 0) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype, fused=fused)


class LSTM(RNNBase):
    """Long short-term memory, gates i|f|g|o (see the module docstring), stacked num_layers deep.

    ``output, (h_n, c_n) = lstm(input, (h0, c0)=None, lengths=None)`` as torch.nn.LSTM:
    output (T, B, D*H), h_n and c_n (num_layers*D, B, H). Parameters weight_ih_l{k} (4H, I),
    weight_hh_l{k} (4H, H), bias_ih_l{k} (4H,), bias_hh_l{k} (4H,). ``forget_bias`` (keyword)
    sets b_if + b_hf for every layer (Jozefowicz et al. 2015 recommend 1.0).

    ``proj_size`` P > 0 projects h (torch's LSTMP, Sak et al. 2014): h_t = W_hr (o_t * tanh(c_t)),
    so h_0, h_n and the output have P features (c keeps H); weight_hh_l{k} is (4H, P) and each layer
    and direction adds weight_hr_l{k} (P, H). These layers run the unrolled recurrence (the fused
    primitive has no projection), whatever ``fused`` says. proj_size comes after bidirectional, as in
    torch, so device, dtype and fused follow it when given by position.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Optional[str] = None, dtype: Any = None, fused: bool = True, *,
                 forget_bias: Optional[float] = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype, fused=fused)
        if forget_bias is not None:
            init.lstm_forget_bias_(self, forget_bias)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Optional[Tensor]) -> Tuple[int, int, int]:
        """c0's shape (num_layers * num_directions, batch, hidden_size): c keeps hidden_size under proj_size."""
        return self._expected_state(input, batch_sizes, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: Tuple[Tensor, Tensor],  # type: ignore[override]
                           batch_sizes: Optional[Tensor]) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx: Tuple[Tensor, Tensor],  # type: ignore[override]
                       permutation: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        if permutation is None:
            return hx
        return RNNBase.permute_hidden(self, hx[0], permutation), RNNBase.permute_hidden(self, hx[1], permutation)


class GRU(RNNBase):
    """Gated recurrent unit, gates r|z|n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h. ``output, h_n = gru(input, h0=None, lengths=None)`` as torch.nn.GRU;
    weight_ih_l{k} (3H, I), weight_hh_l{k} (3H, H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Optional[str] = None, dtype: Any = None, fused: bool = True, *, proj_size: int = 0) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype, fused=fused)
