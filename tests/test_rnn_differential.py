"""Randomized differential tests of the recurrent layers and cells against torch: random sizes, modes, layouts,
states, packing and dtypes (float64 tight, float32 at float32 tolerances), fused and reference paths, values and
the gradients of the input, the states and every parameter (and a gradient penalty through the recurrence)."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import rnn as rnn_utils

from strategies import with_fixtures

torch = pytest.importorskip("torch")

TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=2e-4, atol=2e-5)}


def _close(ours, theirs, dt, what):
    a, b = ours.numpy(), theirs.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, **TOL[dt], err_msg=what)


def _pair(rng, shape, dt, device, grad):
    """The same random values as a torch tensor and a tg tensor on device."""
    v = rng.standard_normal(shape).astype(dt)
    return torch.from_numpy(v).requires_grad_(grad), tg.tensor(v, device=device, requires_grad=grad)


def _layers(mode, I, H, dt, device, fused, **kw):
    """torch's layer and ours with torch's weights (loaded from its state_dict)."""
    cls, extra = ("RNN", {"nonlinearity": mode[4:].lower()}) if mode.startswith("RNN") else (mode, {})
    theirs = getattr(torch.nn, cls)(I, H, **extra, **kw, dtype=getattr(torch, dt))
    ours = getattr(nn, cls)(I, H, **extra, **kw, dtype=getattr(tg, dt), device=device, fused=fused)
    ours.load_state_dict({k: tg.tensor(v.numpy(), device=device) for k, v in theirs.state_dict().items()})
    return theirs, ours


def _compare_grads(rng, theirs, ours, t_outs, g_outs, pairs, names, dt, device, penalty):
    """Backward through both of a random weighting of the results (t_outs torch's, g_outs ours), maybe plus a
    gradient penalty (dL/dx)^2 of the first pair's input (double backward); then the gradients of pairs (torch's
    tensor, ours) compared under names, and of every parameter of the modules theirs and ours."""
    tx, gx = pairs[0]
    weights = [rng.standard_normal(tuple(t.shape)).astype(dt) for t in t_outs]
    t_loss = sum((t * torch.from_numpy(w)).sum() for t, w in zip(t_outs, weights))
    g_loss = sum((t * tg.tensor(w, device=device)).sum() for t, w in zip(g_outs, weights))
    if penalty:
        t_gx, = torch.autograd.grad(t_loss, tx, create_graph=True)
        g_gx, = tg.autograd.grad(g_loss, gx, create_graph=True)
        _close(g_gx, t_gx, dt, "dL/dx")
        t_loss, g_loss = t_loss + (t_gx ** 2).sum(), g_loss + (g_gx ** 2).sum()
    t_loss.backward()
    g_loss.backward()
    for (t, g), what in zip(pairs, names):
        _close(g.grad, t.grad, dt, what)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        _close(mine[name].grad, p.grad, dt, name + ".grad")


@with_fixtures
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN:UserWarning")  # (torch's)
@given(mode=st.sampled_from(["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]), dt=st.sampled_from(["float64", "float32"]),
       sizes=st.tuples(*[st.integers(1, 4)] * 5), flags=st.tuples(*[st.booleans()] * 6),
       packing=st.sampled_from([None, "sorted", "unsorted", "lengths"]), proj=st.integers(0, 3),
       penalty=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_layers_match_torch(device, mode, dt, sizes, flags, packing, proj, penalty, seed):
    """A layer against torch's with its weights: outputs, final states, and the gradients of the input, the
    states and every parameter, maybe with a gradient penalty (dL/dx)^2 (double backward, fused or not)."""
    I, H, L, T, B = sizes
    bidirectional, batch_first, bias, fused, give_state, unbatched = flags
    proj = proj if mode == "LSTM" and proj < H else 0
    unbatched = unbatched and packing is None
    rng = np.random.default_rng(seed)
    theirs, ours = _layers(mode, I, H, dt, device, fused, num_layers=L, bias=bias, batch_first=batch_first,
                           bidirectional=bidirectional, **({"proj_size": proj} if proj else {}))
    D = 2 if bidirectional else 1
    tx, gx = _pair(rng, (T, I) if unbatched else (B, T, I) if batch_first else (T, B, I), dt, device, True)
    lead = (L * D,) if unbatched else (L * D, B)
    states = [_pair(rng, lead + (proj or H,), dt, device, True)] + (
        [_pair(rng, lead + (H,), dt, device, True)] if mode == "LSTM" else [])
    t_hx = g_hx = None
    if give_state:
        t_hx, g_hx = [s[0] for s in states], [s[1] for s in states]
        t_hx, g_hx = (tuple(t_hx), tuple(g_hx)) if mode == "LSTM" else (t_hx[0], g_hx[0])
    lengths = rng.integers(1, T + 1, B)
    lengths[rng.integers(B)] = T  # (one sequence the full length)
    if packing == "sorted":
        lengths = np.sort(lengths)[::-1].copy()
    if packing is None:
        t_out, t_fin = theirs(tx, t_hx)
        g_out, g_fin = ours(gx, g_hx)
    else:
        t_in = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.from_numpy(lengths), batch_first=batch_first,
                                                       enforce_sorted=packing == "sorted")
        t_out, t_fin = theirs(t_in, t_hx)
        t_out = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=batch_first, total_length=T)[0]
        if packing == "lengths":
            g_out, g_fin = ours(gx, g_hx, lengths=lengths)
        else:
            g_in = rnn_utils.pack_padded_sequence(gx, lengths, batch_first=batch_first,
                                                  enforce_sorted=packing == "sorted")
            g_out, g_fin = ours(g_in, g_hx)
            g_out = rnn_utils.pad_packed_sequence(g_out, batch_first=batch_first, total_length=T)[0]
    t_fin, g_fin = (list(t_fin), list(g_fin)) if mode == "LSTM" else ([t_fin], [g_fin])
    for what, a, b in zip(["output", "h_n", "c_n"], [g_out] + g_fin, [t_out] + t_fin):
        _close(a, b, dt, what)
    _compare_grads(rng, theirs, ours, [t_out] + t_fin, [g_out] + g_fin, [(tx, gx)] + (states if give_state else []),
                   ["input.grad", "h0.grad", "c0.grad"], dt, device, penalty)


@with_fixtures
@given(mode=st.sampled_from(["tanh", "relu", "LSTM", "GRU"]), dt=st.sampled_from(["float64", "float32"]),
       sizes=st.tuples(*[st.integers(1, 4)] * 4), flags=st.tuples(*[st.booleans()] * 5), seed=st.integers(0, 2 ** 16))
def test_cells_match_torch(device, mode, dt, sizes, flags, seed):
    """Cells over a few steps, batched or not, with or without a state, and maybe a gradient penalty (dL/dx)^2
    through the cells (torch's support double backward; a fused cell's recomputes the composed equations)."""
    I, H, B, steps = sizes
    bias, fused, unbatched, give_state, penalty = flags
    rng = np.random.default_rng(seed)
    name, extra = ("RNNCell", {"nonlinearity": mode}) if mode in ("tanh", "relu") else (mode + "Cell", {})
    theirs = getattr(torch.nn, name)(I, H, bias, **extra, dtype=getattr(torch, dt))
    ours = getattr(nn, name)(I, H, bias, **extra, dtype=getattr(tg, dt), device=device, fused=fused)
    ours.load_state_dict({k: tg.tensor(v.numpy(), device=device) for k, v in theirs.state_dict().items()})
    lead = () if unbatched else (B,)
    tx, gx = _pair(rng, (steps,) + lead + (I,), dt, device, True)
    states = [_pair(rng, lead + (H,), dt, device, True) for _ in range(2 if mode == "LSTM" else 1)]
    t_s = g_s = None
    if give_state:
        t_s, g_s = [s[0] for s in states], [s[1] for s in states]
        t_s, g_s = (tuple(t_s), tuple(g_s)) if mode == "LSTM" else (t_s[0], g_s[0])
    t_outs, g_outs = [], []
    for t in range(steps):
        t_s, g_s = theirs(tx[t], t_s), ours(gx[t], g_s)
        t_outs += list(t_s) if mode == "LSTM" else [t_s]
        g_outs += list(g_s) if mode == "LSTM" else [g_s]
    for a, b in zip(g_outs, t_outs):
        _close(a, b, dt, "state")
    _compare_grads(rng, theirs, ours, t_outs, g_outs, [(tx, gx)] + (states if give_state else []),
                   ["input.grad", "h.grad", "c.grad"], dt, device, penalty)


@with_fixtures
@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4), trailing=st.integers(0, 2),
       flags=st.tuples(*[st.booleans()] * 3), padding_value=st.sampled_from([0.0, -2.5]), extra=st.integers(0, 2),
       seed=st.integers(0, 2 ** 16))
def test_sequence_utilities_match_torch(device, lengths, trailing, flags, padding_value, extra, seed):
    """pad_sequence (padding_side), pack_sequence (enforce_sorted), pad_packed_sequence (total_length,
    padding_value) and unpack_sequence: values, indices, lengths and gradients."""
    batch_first, left, enforce_sorted = flags
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    rng = np.random.default_rng(seed)
    pairs = [_pair(rng, (n,) + (2,) * trailing, "float64", device, True) for n in lengths]
    ts, gs = [p[0] for p in pairs], [p[1] for p in pairs]
    side = "left" if left else "right"
    t_pad = torch.nn.utils.rnn.pad_sequence(ts, batch_first, padding_value, side)
    g_pad = rnn_utils.pad_sequence(gs, batch_first, padding_value, side)
    _close(g_pad, t_pad, "float64", "pad_sequence")
    t_packed = torch.nn.utils.rnn.pack_sequence(ts, enforce_sorted)
    g_packed = rnn_utils.pack_sequence(gs, enforce_sorted)
    _close(g_packed.data, t_packed.data, "float64", "packed data")
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        a, b = getattr(g_packed, field), getattr(t_packed, field)
        assert (a is None and b is None) or np.array_equal(a.numpy(), b.numpy()), field
    total = max(lengths) + extra
    t_un, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_packed, batch_first, padding_value, total)
    g_un, g_len = rnn_utils.pad_packed_sequence(g_packed, batch_first, padding_value, total)
    _close(g_un, t_un, "float64", "pad_packed_sequence")
    assert np.array_equal(g_len.numpy(), t_len.numpy()) and g_len.dtype == tg.int64
    for a, b in zip(rnn_utils.unpack_sequence(g_packed), torch.nn.utils.rnn.unpack_sequence(t_packed)):
        _close(a, b, "float64", "unpack_sequence")
    w = rng.standard_normal(tuple(t_un.shape))
    ((t_un * torch.from_numpy(w)).sum() + (t_pad ** 2).sum()).backward()
    ((g_un * tg.tensor(w, device=device)).sum() + (g_pad ** 2).sum()).backward()
    for (t, g) in pairs:
        _close(g.grad, t.grad, "float64", "sequence.grad")


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [True, False])
def test_dropout_between_layers_only(device, mode, fused):
    """dropout > 0: eval() runs as p = 0, train() changes the output; the last layer's output and layer 0's h_n
    are never dropped (torch: dropout on every layer's output but the last)."""
    theirs = getattr(torch.nn, mode)(3, 4, num_layers=2, dropout=0.0, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(nn, mode)(3, 4, num_layers=2, dropout=0.5, dtype=tg.float64, device=device, fused=fused)
    ours.load_state_dict({k: tg.tensor(v.numpy(), device=device) for k, v in theirs.state_dict().items()})
    tx, gx = _pair(np.random.default_rng(0), (6, 2, 3), "float64", device, False)
    t_out, t_h = theirs(tx)
    ours.eval()
    g_out, g_h = ours(gx)
    _close(g_out, t_out, "float64", "eval output")
    ours.train()
    g_out, g_h = ours(gx)
    assert not np.allclose(g_out.numpy(), t_out.detach().numpy())
    assert (g_out.numpy() != 0).all()  # (the last layer's output is not dropped)
    g_h, t_h = (g_h[0], t_h[0]) if mode == "LSTM" else (g_h, t_h)
    _close(g_h[0], t_h[0], "float64", "layer 0 h_n")
