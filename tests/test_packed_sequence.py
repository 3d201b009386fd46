"""nn.utils.rnn's PackedSequence: packing and padding against a loop that builds them by hand, and the
recurrent layers on packed input against each sequence run alone (no padding, no packing)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                       pad_sequence, unpack_sequence, unpad_sequence)

lengths_lists = st.lists(st.integers(1, 4), min_size=1, max_size=4)


def _sorted_order(lengths, enforce_sorted):
    """The order the sequences are packed in: longest first, ties in input order."""
    return list(range(len(lengths))) if enforce_sorted else sorted(range(len(lengths)), key=lambda b: -lengths[b])


@with_fixtures
@given(lengths=lengths_lists, tail=st.sampled_from([(), (2,), (1, 3)]), batch_first=st.booleans(),
       enforce_sorted=st.booleans(), extra=st.integers(0, 2), seed=st.integers(0, 1000))
def test_pack_and_pad_match_a_loop_and_gradcheck(device, lengths, tail, batch_first, enforce_sorted, extra, seed):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    T, B = max(lengths) + extra, len(lengths)  # (padding past the longest sequence is allowed)
    x = np.random.default_rng(seed).standard_normal((T, B) + tail)
    order = _sorted_order(lengths, enforce_sorted)
    rows = [x[t, b] for t in range(T) for b in order if lengths[b] > t]
    sizes = [sum(n > t for n in lengths) for t in range(max(lengths))]

    xt = tg.tensor(x.swapaxes(0, 1) if batch_first else x, device=device, requires_grad=True)
    p = pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(p, PackedSequence) and p.data.device == device and p.batch_sizes.device == "cpu"
    np.testing.assert_array_equal(p.data.numpy(), np.array(rows).reshape((-1,) + tail))
    assert p.batch_sizes.dtype == np.int64 and p.batch_sizes.tolist() == sizes
    if enforce_sorted:
        assert p.sorted_indices is None and p.unsorted_indices is None
    else:
        assert p.sorted_indices.tolist() == order and p.sorted_indices.device == device
        assert [order[k] for k in p.unsorted_indices.tolist()] == list(range(B))

    padded, lens = pad_packed_sequence(p, batch_first=batch_first, padding_value=-7.0, total_length=T)
    want = x.copy()
    for b, n in enumerate(lengths):
        want[n:, b] = -7.0
    np.testing.assert_array_equal(padded.numpy(), want.swapaxes(0, 1) if batch_first else want)
    assert lens.dtype == np.int64 and lens.tolist() == lengths
    assert pad_packed_sequence(p)[0].shape == (max(lengths), B) + tail  # total_length defaults to the longest

    def round_trip(a):
        q = pack_padded_sequence(a, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        return q.data, pad_packed_sequence(q, batch_first, -7.0, T)[0]
    assert tg.gradcheck(round_trip, [xt])


@with_fixtures
@given(lengths=lengths_lists, enforce_sorted=st.booleans(), seed=st.integers(0, 1000))
def test_pack_sequence_and_unpack_sequence_round_trip(device, lengths, enforce_sorted, seed):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    rng = np.random.default_rng(seed)
    seqs = [tg.tensor(rng.standard_normal((n, 2)), device=device, requires_grad=True) for n in lengths]
    p = pack_sequence(seqs, enforce_sorted=enforce_sorted)
    back = unpack_sequence(p)
    assert [s.tolist() for s in back] == [s.tolist() for s in seqs]
    assert [s.tolist() for s in unpad_sequence(pad_sequence(seqs, batch_first=True), lengths, batch_first=True)] == \
        [s.tolist() for s in seqs]
    empty_too = unpad_sequence(pad_sequence(seqs), [0] + lengths[1:])  # (a length may be 0 here, as torch)
    assert empty_too[0].shape == (0, 2) and [s.tolist() for s in empty_too[1:]] == [s.tolist() for s in seqs[1:]]
    zero = tg.zeros((), dtype=tg.float64, device=device)
    sum(((s * (k + 1)).sum() for k, s in enumerate(unpack_sequence(p))), zero).backward()
    for k, s in enumerate(seqs):  # each element's gradient reaches it through pack and unpack alone
        np.testing.assert_array_equal(s.grad.numpy(), np.full(s.shape, k + 1.0))


LAYERS = {
    "lstm": lambda **kw: nn.LSTM(2, 3, **kw),
    "lstm_proj": lambda **kw: nn.LSTM(2, 3, proj_size=2, **kw),
    "gru": lambda **kw: nn.GRU(2, 3, **kw),
    "rnn_tanh": lambda **kw: nn.RNN(2, 3, **kw),
    "rnn_relu": lambda **kw: nn.RNN(2, 3, nonlinearity="relu", **kw),
}


@with_fixtures
@given(name=st.sampled_from(sorted(LAYERS)), lengths=lengths_lists, num_layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans(), fused=st.booleans(), with_hx=st.booleans(),
       enforce_sorted=st.booleans(), seed=st.integers(0, 1000))
def test_layer_on_packed_input_is_each_sequence_run_alone(device, name, lengths, num_layers, bidirectional,
                                                          batch_first, fused, with_hx, enforce_sorted, seed):
    """The packed output's rows and h_n (c_n) of each sequence, and the gradients of a loss on them with
    respect to the weights, the inputs and the initial state, are what running every sequence alone gives."""
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    tg.manual_seed(seed)
    m = LAYERS[name](num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, fused=fused,
                     dtype=tg.float64, device=device)
    rng = np.random.default_rng(seed)
    seqs = [tg.tensor(rng.standard_normal((n, 2)), device=device, requires_grad=True) for n in lengths]
    lstm, D = name.startswith("lstm"), 2 if bidirectional else 1
    shapes = [(num_layers * D, len(lengths), m.proj_size or 3)] + ([(num_layers * D, len(lengths), 3)] if lstm else [])
    hx = [tg.tensor(rng.standard_normal(s), device=device, requires_grad=True) for s in shapes] if with_hx else None
    weights = [tg.tensor(rng.standard_normal((n, D * (m.proj_size or 3))), device=device) for n in lengths]

    def loss(out, h):  # each sequence's rows (L_b, D*H') and its final states (L*D, H)
        return sum(((o * w).sum() + sum((s * s * (k + 1)).sum() for k, s in enumerate(h))
                    for o, w, h in zip(out, weights, h)), tg.zeros((), dtype=tg.float64, device=device))

    packed_in = pack_padded_sequence(pad_sequence(seqs, batch_first=batch_first), lengths, batch_first=batch_first,
                                     enforce_sorted=enforce_sorted)
    packed_out, st_ = m(packed_in, None if hx is None else (tuple(hx) if lstm else hx[0]))
    assert isinstance(packed_out, PackedSequence)
    assert packed_out.batch_sizes.tolist() == packed_in.batch_sizes.tolist()
    states = st_ if lstm else (st_,)
    outs = unpack_sequence(packed_out)
    loss(outs, [[s[:, b] for s in states] for b in range(len(lengths))]).backward()
    got = [o.numpy() for o in outs], [[s.numpy()[:, b] for s in states] for b in range(len(lengths))]
    got_grads = [s.grad.numpy() for s in seqs] + [h.grad.numpy() for h in hx or []] + \
        [p.grad.numpy() for p in m.parameters()]

    m.zero_grad()
    for s in seqs + (hx or []):
        s.grad = None
    alone = []
    for b, s in enumerate(seqs):
        h_b = None if hx is None else [h[:, b] for h in hx]
        out, st_b = m(s, None if h_b is None else (tuple(h_b) if lstm else h_b[0]))  # unbatched: (L_b, I)
        alone.append((out, list(st_b) if lstm else [st_b]))
    loss([o for o, _ in alone], [h for _, h in alone]).backward()
    close = dict(rtol=1e-9, atol=1e-12)
    for b, (out, st_b) in enumerate(alone):
        np.testing.assert_allclose(got[0][b], out.numpy(), **close)
        for g, w in zip(got[1][b], st_b):
            np.testing.assert_allclose(g, w.numpy(), **close)
    want_grads = [s.grad.numpy() for s in seqs] + [h.grad.numpy() for h in hx or []] + \
        [p.grad.numpy() for p in m.parameters()]
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, **close)


def test_lstm_state_given_as_a_list_is_permuted_like_a_tuple(device):
    """torch takes an LSTM's hx as a list [h0, c0] too: with unsorted packed input, its columns must be put in the
    sorted order (and h_n, c_n back in the input's) as a tuple's are, not used as they are."""
    m = nn.LSTM(2, 3, dtype=tg.float64, device=device)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((4, 3, 2)), device=device)
    h0, c0 = [tg.tensor(rng.standard_normal((1, 3, 3)), device=device) for _ in range(2)]
    packed = pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
    want_out, (want_h, want_c) = m(packed, (h0, c0))
    out, (h, c) = m(packed, [h0, c0])
    np.testing.assert_allclose(out.data.numpy(), want_out.data.numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), want_h.numpy(), rtol=1e-12)
    np.testing.assert_allclose(c.numpy(), want_c.numpy(), rtol=1e-12)


def test_packed_sequence_moves_and_casts_like_a_tensor(device):
    p = pack_sequence([tg.ones(3, 2), tg.ones(1, 2)]).to(device)
    assert p.data.device == device and p.is_cuda == (device == "cuda") and p.batch_sizes.device == "cpu"
    q = pack_sequence([tg.ones(1), tg.ones(3)], enforce_sorted=False).to(device, tg.float64)
    assert q.data.dtype == np.float64 and q.sorted_indices.device == device and q.unsorted_indices.device == device
    assert q.to(device) is q and q.double() is q and q.float().data.dtype == np.float32
    assert q.half().data.dtype == np.float16 and q.long().data.dtype == np.int64 and q.int().data.dtype == np.int32
    assert q.cpu().data.device == "cpu" and q.cpu().sorted_indices.tolist() == [1, 0]
    assert [(q.short().data.dtype, q.char().data.dtype, q.byte().data.dtype)] == [(np.int16, np.int8, np.uint8)]
    assert q.byte().sorted_indices.tolist() == [1, 0] and q.byte().batch_sizes.dtype == np.int64
    assert q.pin_memory() is q and q.is_pinned() is False  # (no-ops, as Tensor's)
    data, batch_sizes, sorted_indices, unsorted_indices = q  # a named tuple, as torch's
    assert batch_sizes.tolist() == [2, 1, 1] and unsorted_indices.tolist() == [1, 0]
    made = PackedSequence(q.data, [2, 1, 1], [1, 0])  # unsorted_indices computed, as torch
    assert made.unsorted_indices.tolist() == [1, 0] and made.batch_sizes.dtype == np.int64


def test_float_lengths_are_truncated_as_torch(device):
    """torch's pack_padded_sequence casts lengths to int64, so a float mask's mask.sum(1) packs there."""
    x = tg.tensor(np.arange(24.0).reshape(4, 3, 2), device=device)
    want = pack_padded_sequence(x, [4, 1, 2], enforce_sorted=False)
    mask = tg.tensor([[1.0, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]], device=device)
    for lengths in (mask.sum(1), [4.0, 1.0, 2.9], np.array([4.0, 1.5, 2.0])):
        p = pack_padded_sequence(x, lengths, enforce_sorted=False)
        np.testing.assert_array_equal(p.data.numpy(), want.data.numpy())
        assert p.batch_sizes.tolist() == want.batch_sizes.tolist() == [3, 2, 1, 1]
        assert p.sorted_indices.tolist() == want.sorted_indices.tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 4\].*min 0"):
        pack_padded_sequence(x, [4.0, 0.5, 2.0], enforce_sorted=False)


def test_bad_input_is_named():
    x = tg.ones(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"lengths \[2, 4, 1\] must be sorted in decreasing order .* "
                                           "enforce_sorted=False"):
        pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(ValueError, match=r"pack_padded_sequence: lengths must lie in \[1, 4\]"):
        pack_padded_sequence(x, [5, 1, 1])
    with pytest.raises(ValueError, match=r"pack_padded_sequence: lengths must lie in \[1, 4\].*min 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(ValueError, match="lengths must be 3 integers"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(TypeError, match="pack_padded_sequence: lengths is required"):
        pack_padded_sequence(x, None)
    with pytest.raises(ValueError, match=r"pack_padded_sequence: input must be \(B, T, \*\), got shape \(4,\)"):
        pack_padded_sequence(tg.ones(4), [1], batch_first=True)
    with pytest.raises(ValueError, match=r"cannot pack an empty batch \(input shape \(4, 0, 2\): no sequences\)"):
        pack_padded_sequence(tg.ones(4, 0, 2), [])
    with pytest.raises(ValueError, match=r"cannot pack an empty batch \(input shape \(0, 2\): no time steps\)"):
        pack_padded_sequence(tg.ones(0, 2), [1, 1])
    p = pack_padded_sequence(x, [4, 2, 1])
    with pytest.raises(ValueError, match="total_length must be at least the longest sequence's length, 4, got 3"):
        pad_packed_sequence(p, total_length=3)
    with pytest.raises(TypeError, match="pad_packed_sequence: expected a PackedSequence, got Tensor"):
        pad_packed_sequence(x)
    with pytest.raises(ValueError, match=r"LSTM: lengths= goes with a padded input"):
        nn.LSTM(2, 3)(p, lengths=[4, 2, 1])
    with pytest.raises(ValueError, match=r"LSTM: h0 has shape \(1, 2, 3\), expected \(1, 3, 3\)"):
        nn.LSTM(2, 3)(p, (tg.zeros(1, 2, 3), tg.zeros(1, 3, 3)))
    for one_d in (pack_padded_sequence(tg.ones(3, 1), [3]), PackedSequence(tg.arange(6.0), [3, 2, 1])):
        with pytest.raises(ValueError, match=r"GRU: a PackedSequence's data must be \(N, input_size\), got shape"):
            nn.GRU(one_d.batch_sizes[0].item(), 4)(one_d)  # (not read as an unbatched (T, I) input)
    with pytest.raises(ValueError, match=r"batch_sizes must be a non-increasing .* summing to data's 7 rows, "
                                         r"got \[1, 3, 3\]"):
        PackedSequence(p.data, [1, 3, 3])
    with pytest.raises(ValueError, match=r"sorted_indices must be a permutation of 0\.\.2, got \[0, 0, 1\]"):
        PackedSequence(p.data, p.batch_sizes, [0, 0, 1])
    with pytest.raises(TypeError, match="batch_sizes must be integers, got dtype torch.float64"):
        PackedSequence(p.data, [3.0, 2.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="PackedSequence: sorted_indices must be one array of integers; got rows of "
                                         "different lengths"):
        PackedSequence(p.data, p.batch_sizes, [[0, 1], [2]])
    with pytest.raises(ValueError, match="batch_sizes must be a non-increasing .* got \\[\\]"):
        PackedSequence(p.data, [])
    with pytest.raises(ValueError, match="PackedSequence: unsorted_indices given without sorted_indices"):
        PackedSequence(p.data, p.batch_sizes, None, [2, 1, 0])
    with pytest.raises(TypeError, match=r"PackedSequence: data must be a Tensor \(N, \*\), got list"):
        PackedSequence([1.0, 2.0], [2])
    with pytest.raises(TypeError, match="unpad_sequence: lengths is required"):
        unpad_sequence(x, None)
