"""Character vocabulary, batch streams and truncated-BPTT chunks."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import CharVocab, batchify, bptt_batches


@given(st.text(min_size=1, max_size=200))
def test_vocab_round_trip(text):
    v = CharVocab(text)
    ids = v.encode(text)
    assert ids.dtype == np.int64 and len(v) == len(set(text))
    assert v.decode(ids) == text
    assert ids.min() >= 0 and ids.max() < len(v)


def test_vocab_errors():
    with pytest.raises(ValueError, match="empty"):
        CharVocab("")
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['z'\]"):
        CharVocab("abc").encode("abz")


@given(st.integers(2, 300), st.integers(1, 8), st.integers(1, 20))
def test_batches_cover_each_stream_in_order(n, B, k):
    tokens = np.arange(n)
    if n // B < 2:
        with pytest.raises(ValueError, match="too few"):
            batchify(tokens, B)
        return
    streams = batchify(tokens, B)
    N = n // B
    assert streams.shape == (N, B)
    for b in range(B):  # stream b is the b-th contiguous piece of the corpus
        np.testing.assert_array_equal(streams[:, b], tokens[b * N:(b + 1) * N])
    xs, ys = zip(*bptt_batches(streams, k))
    assert all(x.shape[0] <= k and x.shape == y.shape for x, y in zip(xs, ys))
    inputs = np.concatenate([x.numpy() for x in xs])
    targets = np.concatenate([y.numpy() for y in ys])
    np.testing.assert_array_equal(inputs, streams[:-1])
    np.testing.assert_array_equal(targets, streams[1:])  # each target is the next token of its stream


def test_truncated_bptt_carries_state_but_not_gradient():
    """Chunk 2 starts from chunk 1's final state (detached): its gradients equal those of chunk 2
    run alone from that state, and no gradient reaches chunk 1's graph."""
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4, dtype=tg.float64)
    x = tg.randn(10, 2, 3, dtype=tg.float64)
    _, state = lstm(x[:5])
    state = tuple(s.detach() for s in state)
    out, _ = lstm(x[5:], state)
    out.sum().backward()
    carried = [p.grad.numpy().copy() for p in lstm.parameters()]

    lstm.zero_grad()
    h0, c0 = (tg.tensor(s.numpy()) for s in state)
    out_alone, _ = lstm(x[5:], (h0, c0))
    out_alone.sum().backward()
    np.testing.assert_allclose(out.numpy(), out_alone.numpy())
    for a, b in zip(carried, (p.grad.numpy() for p in lstm.parameters())):
        np.testing.assert_allclose(a, b)


def test_forgetting_to_detach_between_chunks_is_a_clear_error():
    lstm = nn.GRU(3, 4)
    x = tg.randn(10, 2, 3)
    out, h = lstm(x[:5])
    out.sum().backward()
    out2, _ = lstm(x[5:], h)  # h still belongs to chunk 1's (freed) graph
    with pytest.raises(RuntimeError, match="detach"):
        out2.sum().backward()
