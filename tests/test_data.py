"""Character vocabulary, batch streams and truncated-BPTT chunks; ASCII ids, padded batches of
variable-length sequences, length-sorted batches and stratified (grouped) splits."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import (CharVocab, ascii_ids, batchify, bptt_batches, length_batches, pad_sequences,
                               stratified_split)


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


def test_batch_helpers_refuse_non_int_sizes_and_a_2d_corpus_by_name():
    """A float size was a bare slice/range TypeError, True silently 1 (bptt_batches) or a bare reshape error
    (batchify), and a 2-d corpus a bare reshape ValueError."""
    rng = np.random.default_rng(0)
    for call, name in [(lambda v: batchify(np.arange(8), v), "batchify: batch_size"),
                       (lambda v: list(bptt_batches(np.zeros((4, 2)), v)), "bptt_batches: seq_len"),
                       (lambda v: length_batches([1, 2, 3], v, rng), "length_batches: batch_size"),
                       (lambda v: length_batches([1, 2, 3], 2, rng, pool=v), "length_batches: pool")]:
        for bad in (2.0, True):
            with pytest.raises(TypeError, match=f"{name} must be an int"):
                call(bad)
        assert len(call(np.int64(2))) >= 1
    with pytest.raises(ValueError, match=r"batchify: tokens must be one 1-d stream.*\(6, 2\)"):
        batchify(np.arange(12).reshape(6, 2), 2)

def test_bptt_batches_are_copies():
    """Writing into a chunk (masking inputs in place, say) changes neither its targets nor the streams."""
    streams = batchify(np.arange(40), 2)
    before = streams.copy()
    for x, y in bptt_batches(streams, 5):
        y_before = y.numpy().copy()
        x.array[...] = -1
        np.testing.assert_array_equal(y.numpy(), y_before)
    np.testing.assert_array_equal(streams, before)


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


# ----------------------------------------------------------------------------- variable-length sequences
@given(st.text(max_size=100))
def test_ascii_ids_are_code_points_below_127_and_127_for_the_rest(text):
    ids = ascii_ids(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.tolist() == [min(ord(ch), 127) for ch in text]


def test_ascii_ids_of_a_known_string():
    assert ascii_ids("a\n\u00e9\U0001F600\x7f").tolist() == [97, 10, 127, 127, 127]


@given(st.lists(st.lists(st.integers(0, 50), max_size=12), min_size=1, max_size=6), st.integers(-5, 5))
def test_pad_sequences_keeps_each_sequence_and_pads_after_it(seqs, pad):
    padded, lengths = pad_sequences(seqs, pad=pad)
    assert lengths.tolist() == [len(q) for q in seqs]
    assert padded.shape == (len(seqs), max(map(len, seqs))) and padded.dtype == np.int64
    for row, q in zip(padded, seqs):
        assert row[:len(q)].tolist() == q
        assert (row[len(q):] == pad).all()


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="no sequences"):
        pad_sequences([])
    with pytest.raises(ValueError, match=r"1-d, got shape \(2, 2\)"):
        pad_sequences([[1, 2], np.zeros((2, 2))])


def test_padded_batch_gives_each_sequence_its_own_final_state():
    """pad_sequences + lengths=: h_n of every row equals h_n of that sequence run alone, and the
    padding value does not matter."""
    tg.manual_seed(0)
    embed, gru = nn.Embedding(10, 3, dtype=tg.float64), nn.GRU(3, 4, batch_first=True, dtype=tg.float64)
    seqs = [[1, 2, 3, 4, 5], [6], [7, 8, 9]]
    finals = []
    for pad in (0, 9):
        x, lengths = pad_sequences(seqs, pad=pad)
        _, h = gru(embed(tg.tensor(x)), lengths=lengths)
        finals.append(h.numpy()[0])
    np.testing.assert_array_equal(finals[0], finals[1])
    for b, q in enumerate(seqs):
        _, h = gru(embed(tg.tensor([q])))
        np.testing.assert_allclose(finals[0][b], h.numpy()[0, 0], rtol=1e-12)


@given(st.lists(st.integers(1, 100), min_size=1, max_size=200), st.integers(1, 16), st.integers(1, 4),
       st.integers(0, 2 ** 16))
def test_length_batches_cover_every_index_once(lengths, batch_size, pool, seed):
    batches = length_batches(lengths, batch_size, np.random.default_rng(seed), pool=pool)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    again = length_batches(lengths, batch_size, np.random.default_rng(seed), pool=pool)
    assert all((a == b).all() for a, b in zip(batches, again))  # the generator alone decides


def test_length_batches_group_similar_lengths():
    """Sorting within pools pads far less than random batches of the same sizes."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=2000)
    batches = length_batches(lengths, 32, np.random.default_rng(1))
    waste = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)
    order = rng.permutation(len(lengths))
    random_waste = sum(lengths[b].max() * len(b) - lengths[b].sum()
                       for b in (order[i:i + 32] for i in range(0, len(order), 32)))
    assert waste < 0.1 * random_waste
    with pytest.raises(ValueError, match="batch_size and pool must be positive"):
        length_batches(lengths, 0, rng)


@given(st.lists(st.integers(0, 4), min_size=1, max_size=120), st.floats(0.05, 0.95), st.integers(0, 100))
def test_stratified_split_takes_the_same_share_of_every_class(labels, fraction, seed):
    train, test = stratified_split(labels, fraction, seed)
    y = np.asarray(labels)
    assert np.intersect1d(train, test).size == 0 and sorted(np.r_[train, test].tolist()) == list(range(len(y)))
    for c in np.unique(y):
        n = int((y == c).sum())
        want = 0 if n == 1 else min(max(round(fraction * n), 1), n - 1)
        assert int((y[test] == c).sum()) == want
    again = stratified_split(labels, fraction, seed)
    assert (again[0] == train).all() and (again[1] == test).all()


@given(st.lists(st.integers(0, 30), min_size=1, max_size=150), st.floats(0.1, 0.9), st.integers(0, 100))
def test_stratified_split_with_groups_never_splits_a_group(group_of, fraction, seed):
    groups = [f"file{g}" for g in group_of]
    labels = [g % 3 for g in group_of]  # every group holds one class
    train, test = stratified_split(labels, fraction, seed, groups=groups)
    assert sorted(np.r_[train, test].tolist()) == list(range(len(labels)))
    assert not {groups[i] for i in train} & {groups[i] for i in test}
    for c in set(labels):
        class_groups = {g for g, y in zip(groups, labels) if y == c}
        test_groups = {groups[i] for i in test if labels[i] == c}
        if len(class_groups) == 1:
            assert not test_groups  # a class in a single group trains only
        else:
            assert 1 <= len(test_groups) < len(class_groups)  # never a whole class held out


def test_stratified_split_with_groups_comes_close_to_the_fraction():
    labels = np.repeat([0, 1], 500)
    groups = [f"{y}-{i // 10}" for i, y in enumerate(labels)]  # 50 groups of 10 per class
    _, test = stratified_split(labels, 0.2, 0, groups=groups)
    assert [int((labels[test] == c).sum()) for c in (0, 1)] == [100, 100]


def test_stratified_split_errors():
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        stratified_split([0, 1], 1.0)
    with pytest.raises(ValueError, match="non-empty 1-d"):
        stratified_split([], 0.5)
    with pytest.raises(ValueError, match="3 groups for 2 labels"):
        stratified_split([0, 1], 0.5, groups=["a", "b", "c"])
    with pytest.raises(ValueError, match="group 'a' holds more than one class"):
        stratified_split([0, 1, 1], 0.5, groups=["a", "a", "b"])


def test_decode_and_pad_refuse_what_they_would_silently_change():
    v = CharVocab("abc")
    assert v.decode(v.encode("cab")) == "cab"
    with pytest.raises(IndexError, match="id -1 is out of range for 3 characters"):
        v.decode([-1])  # (Python's negative indexing would have given 'c')
    with pytest.raises(ValueError, match="torch.float64 do not fit dtype torch.int64"):
        pad_sequences([[1.5], [2.0]])
    padded, lengths = pad_sequences([[1.5], [2.0, 3.0]], dtype=np.float32)
    assert padded.tolist() == [[1.5, 0.0], [2.0, 3.0]] and lengths.tolist() == [1, 2]
    assert pad_sequences([[1.0, 2.0]])[0].tolist() == [[1, 2]]  # whole numbers as floats are fine


def test_decode_refuses_fractional_ids():
    """int() would drop the fraction (1.7 -> 'b'); whole numbers of any type still decode."""
    v = CharVocab("abc")
    for ids in ([1.7], np.array([0.5, 1.0]), tg.tensor([2.5])):
        with pytest.raises(ValueError, match="ids must be whole numbers"):
            v.decode(ids)
    assert v.decode(np.array([2.0, 1.0])) == "cb" and v.decode(tg.tensor([0, 1, 2])) == "abc"
    assert v.decode([np.int64(1), 0]) == "ba"


def test_decode_refuses_nan_inf_rows_and_strings_by_name():
    """NaN and inf were bare int() errors, a 2-d array's row a bare TypeError; digit strings were parsed by
    int() and decoded ("12" gave the characters 1 and 2)."""
    v = CharVocab("abc")
    for ids in ([float("nan")], [0, float("inf")], np.array([[0, 1]]), "12", ["1"], [None]):
        with pytest.raises(ValueError, match=r"CharVocab.decode: ids must be whole numbers \(a 1-d sequence\)"):
            v.decode(ids)
    assert v.decode(np.array([[0, 1]])[0]) == "ab" and v.decode(iter([2, 0])) == "ca" and v.decode([]) == ""

def test_pad_sequences_refuses_values_and_pads_an_integer_dtype_would_change():
    """Not only fractions: 300 in uint8 would wrap to 44 and pad=0.5 in int64 become 0, silently."""
    for seqs, kw in [([[300, 2]], dict(dtype=np.uint8)), ([[1000]], dict(dtype=np.int8)), ([[2]], dict(dtype=bool))]:
        with pytest.raises(ValueError, match="do not fit dtype"):
            pad_sequences(seqs, **kw)
    for pad, dtype in [(0.5, np.int64), (-1, np.uint8), (300, np.uint8)]:
        with pytest.raises(ValueError, match=f"pad={pad!r} does not fit dtype"):
            pad_sequences([[1, 2], [3]], pad=pad, dtype=dtype)
    padded, lengths = pad_sequences([[255, 0], [7]], pad=1, dtype=np.uint8)
    assert padded.dtype == np.uint8 and padded.tolist() == [[255, 0], [7, 1]] and lengths.tolist() == [2, 1]
    assert pad_sequences([[1, 2], [3]], pad=-100)[0].tolist() == [[1, 2], [3, -100]]
