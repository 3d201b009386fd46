"""nn.utils.rnn.pad_sequence: the padded batch the recurrent layers read with lengths=."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils.rnn import pad_sequence


@with_fixtures
@given(lengths=st.lists(st.integers(1, 4), min_size=1, max_size=3), tail=st.sampled_from([(), (2,), (1, 3)]),
       batch_first=st.booleans(), side=st.sampled_from(["right", "left"]), seed=st.integers(0, 1000))
def test_pad_sequence_places_each_sequence_and_its_gradient(device, lengths, tail, batch_first, side, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n,) + tail) for n in lengths]
    T = max(lengths)
    want = np.full((T, len(arrays)) + tail, -2.0)
    for b, a in enumerate(arrays):
        rows = slice(0, len(a)) if side == "right" else slice(T - len(a), T)
        want[rows, b] = a
    if batch_first:
        want = want.swapaxes(0, 1)
    seqs = [tg.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = pad_sequence(seqs, batch_first=batch_first, padding_value=-2.0, padding_side=side)
    np.testing.assert_array_equal(out.numpy(), want)
    assert tg.gradcheck(lambda *s: pad_sequence(s, batch_first, -2.0, side), seqs)


def test_padded_batch_with_lengths_matches_each_sequence_alone():
    """pad_sequence + lengths= is how a variable-length batch goes through a layer: each sequence's final
    state is the one it reaches alone."""
    tg.manual_seed(0)
    gru = nn.GRU(3, 4, dtype=tg.float64)
    seqs = [tg.randn(n, 3, dtype=tg.float64) for n in (5, 2, 4)]
    _, h_n = gru(pad_sequence(seqs), lengths=[5, 2, 4])
    for b, s in enumerate(seqs):
        _, alone = gru(s.unsqueeze(1))
        np.testing.assert_allclose(h_n.numpy()[0, b], alone.numpy()[0, 0], rtol=1e-12)


def test_pad_sequence_keeps_integer_ids_and_names_bad_input():
    ids = pad_sequence([tg.tensor([1, 2, 3]), tg.tensor([4])], batch_first=True, padding_value=-1)
    assert ids.dtype == np.int64 and ids.tolist() == [[1, 2, 3], [4, -1, -1]]
    assert tg.nn.utils.rnn.pad_sequence is pad_sequence
    with pytest.raises(ValueError, match="pad_sequence: no sequences"):
        pad_sequence([])
    with pytest.raises(ValueError, match=r"sequence 1 has shape \(2, 3\), but every sequence must be \(L, \*\) "
                                         r"with the trailing dims of sequence 0, \(2,\)"):
        pad_sequence([tg.ones(1, 2), tg.ones(2, 3)])
    with pytest.raises(TypeError, match="sequence 0 is a list"):
        pad_sequence([[1, 2]])
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        pad_sequence([tg.ones(2)], padding_side="middle")
