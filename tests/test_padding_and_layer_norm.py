"""nn.utils.rnn.pad_sequence (the padded batch the recurrent layers read with lengths=) and layer norm."""
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
    assert pad_sequence([tg.ones(2), tg.ones(1, dtype=tg.float64)]).dtype == np.float32  # the first's, as torch
    with pytest.raises(ValueError, match="pad_sequence: no sequences"):
        pad_sequence([])
    with pytest.raises(ValueError, match=r"sequence 1 has shape \(2, 3\), but every sequence must be \(L, \*\) "
                                         r"with the trailing dims of sequence 0, \(2,\)"):
        pad_sequence([tg.ones(1, 2), tg.ones(2, 3)])
    with pytest.raises(TypeError, match="sequence 0 is a list"):
        pad_sequence([[1, 2]])
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        pad_sequence([tg.ones(2)], padding_side="middle")


# ----------------------------------------------------------------------------- layer norm (used in recurrent nets too)
@with_fixtures
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), k=st.integers(1, 2), affine=st.booleans(),
       seed=st.integers(0, 1000))
def test_layer_norm_matches_its_formula_and_gradcheck(device, shape, k, affine, seed):
    k = min(k, len(shape))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 1
    tail = tuple(shape[len(shape) - k:])
    w, b = rng.uniform(0.5, 1.5, tail), rng.standard_normal(tail)
    dims = tuple(range(len(shape) - k, len(shape)))
    want = (x - x.mean(dims, keepdims=True)) / np.sqrt(x.var(dims, keepdims=True) + 1e-5)
    if affine:
        want = want * w + b
    args = [tg.tensor(a, device=device, requires_grad=True) for a in ((x, w, b) if affine else (x,))]
    fn = (lambda a, ww, bb: nn.functional.layer_norm(a, tail, ww, bb)) if affine else \
        (lambda a: nn.functional.layer_norm(a, tail))
    np.testing.assert_allclose(fn(*args).numpy(), want, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, args)


def test_layer_norm_module():
    ln = nn.LayerNorm(4, dtype=tg.float64)
    assert ln.weight.tolist() == [1.0] * 4 and ln.bias.tolist() == [0.0] * 4
    assert [n for n, _ in nn.LayerNorm((2, 3)).named_parameters()] == ["weight", "bias"]
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
    assert nn.LayerNorm(3, bias=False).bias is None and "bias=False" in repr(nn.LayerNorm(3, bias=False))
    # torch's repr names bias always, False where there is no bias parameter (elementwise_affine=False too)
    assert repr(nn.LayerNorm((2, 3))) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.LayerNorm(3, elementwise_affine=False)) == \
        "LayerNorm((3,), eps=1e-05, elementwise_affine=False, bias=False)"
    assert nn.LayerNorm(np.int64(5)).normalized_shape == (5,)
    y = ln(tg.randn(5, 4, dtype=tg.float64))
    np.testing.assert_allclose(y.numpy().mean(-1), 0, atol=1e-12)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) must be the input's trailing dims"):
        ln(tg.randn(4, 5, dtype=tg.float64))
    x = tg.randn(2, 4)
    for kw in ({"weight": tg.ones(1)}, {"bias": tg.zeros(2, 4)}):  # torch refuses these too (no silent broadcast)
        with pytest.raises(ValueError, match=r"layer_norm: (weight|bias) must have the shape normalized_shape \(4,\)"):
            nn.functional.layer_norm(x, 4, **kw)


def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    ours, theirs = nn.LayerNorm((3, 4), dtype=tg.float64), torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    with tg.no_grad():
        ours.weight.copy_(np.linspace(0.5, 1.5, 12).reshape(3, 4))
        ours.bias.copy_(np.linspace(-1, 1, 12).reshape(3, 4))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


@with_fixtures
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), k=st.integers(1, 2), affine=st.booleans(),
       eps=st.sampled_from([None, 1e-3]), seed=st.integers(0, 1000))
def test_rms_norm_matches_its_formula_and_gradcheck(device, shape, k, affine, eps, seed):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing k dims; eps None is float64's machine epsilon here."""
    k = min(k, len(shape))
    rng = np.random.default_rng(seed)
    x, tail = rng.standard_normal(shape) * 3 + 1, tuple(shape[len(shape) - k:])
    w = rng.uniform(0.5, 1.5, tail)
    dims = tuple(range(len(shape) - k, len(shape)))
    want = x / np.sqrt((x * x).mean(dims, keepdims=True) + (np.finfo(np.float64).eps if eps is None else eps))
    args = [tg.tensor(a, device=device, requires_grad=True) for a in ((x, w) if affine else (x,))]
    fn = (lambda a, ww: nn.functional.rms_norm(a, tail, ww, eps)) if affine else \
        (lambda a: nn.functional.rms_norm(a, tail, eps=eps))
    np.testing.assert_allclose(fn(*args).numpy(), want * w if affine else want, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, args)


def test_rms_norm_module_matches_torch_and_refuses_bad_shapes():
    m = nn.RMSNorm((3, 4), dtype=tg.float64)
    assert m.weight.tolist() == [[1.0] * 4] * 3 and list(nn.RMSNorm(4, elementwise_affine=False).parameters()) == []
    assert repr(nn.RMSNorm(4, eps=1e-6)) == "RMSNorm((4,), eps=1e-06, elementwise_affine=True)"
    with pytest.raises(ValueError, match=r"rms_norm: normalized_shape \(3, 4\) must be the input's trailing dims"):
        m(tg.randn(4, 3, dtype=tg.float64))
    with pytest.raises(TypeError, match="rms_norm: input is torch.float32 but weight is torch.float64"):
        m(tg.randn(3, 4))
    with pytest.raises(TypeError, match="rms_norm: input must be floating point, got dtype torch.int64"):
        nn.functional.rms_norm(tg.tensor([[1, 2]]), 2)
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    with tg.no_grad():
        m.weight.copy_(np.linspace(0.5, 1.5, 12).reshape(3, 4))
    theirs = torch.nn.RMSNorm((3, 4), dtype=torch.float64)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    assert repr(m) == repr(theirs)
    xs, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(xs), theirs(tx)
    y.sum().backward(), ty.sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xs.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(m.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    for dt, scale in (("float32", 300), ("float16", 300), ("float32", 1e-3), ("float16", 1e-3)):
        # (eps None: the epsilon of the dtype it computes in, float32's for float16, as torch's; float16 input is
        # computed in float32. At 1e-3, float16's own epsilon 9.8e-4 outweighed mean(x^2) ~ 1e-6: y ~ 0.03 for ~1)
        v = (x * scale).astype(dt)
        np.testing.assert_allclose(nn.functional.rms_norm(tg.tensor(v), 4).numpy().astype(np.float64),
                                   torch.nn.functional.rms_norm(torch.tensor(v), (4,)).numpy().astype(np.float64),
                                   rtol=2e-3 if dt == "float16" else 1e-6)
        np.testing.assert_allclose(nn.RMSNorm(4, dtype=dt)(tg.tensor(v)).numpy().astype(np.float64),
                                   torch.nn.RMSNorm(4, dtype=getattr(torch, dt))(torch.tensor(v)).detach().numpy()
                                   .astype(np.float64), rtol=2e-3 if dt == "float16" else 1e-6)


def test_layer_norm_float16_computes_in_float32_and_rounds_once(device):
    """As torch's half kernel: in float16 the squares of the centered values overflowed past 256, so rows of
    magnitude ~100 came out 0 (x / inf) and rows near 6e4 nan. Values and gradients (input, weight, bias) are
    float16 and equal the float32 computation rounded to float16."""
    rng = np.random.default_rng(0)
    v = (rng.standard_normal((4, 8)) * np.array([[1.0], [300.0], [3e4], [1e-3]])).astype(np.float16)
    w, b = rng.uniform(0.5, 1.5, 8).astype(np.float16), rng.standard_normal(8).astype(np.float16)
    up = rng.uniform(0.5, 1.5, v.shape).astype(np.float16)
    results = []
    for dt in (np.float16, np.float32):
        args = [tg.tensor(a.astype(dt), device=device, requires_grad=True) for a in (v, w, b)]
        y = nn.functional.layer_norm(args[0], 8, args[1], args[2])
        y.backward(tg.tensor(up.astype(dt), device=device))
        results.append([y] + [a.grad for a in args])
    for half, single in zip(*results):
        assert half.dtype == tg.float16
        np.testing.assert_array_equal(half.numpy(), single.numpy().astype(np.float16))
    assert np.abs(results[0][0].numpy()).min(1).max() > 0.1  # (not the zeros it was)


def test_layer_norm_of_rows_far_from_zero():
    """float32 rows 1e6 + noise of std 0.1: the mean was off by about an ulp of the data (0.06), which shifted every
    output by half a unit and added its square to the variance (torch's: off by its mean's rounding, up to 0.3).
    Values and the input's gradient now match the float64 formula on the same float32 data."""
    rng = np.random.default_rng(0)
    x = (1e6 + rng.standard_normal((3, 500)) * 0.1).astype(np.float32)
    g = rng.uniform(0.5, 1.5, x.shape)
    a = x.astype(np.float64)
    sigma = np.sqrt(a.var(1, keepdims=True) + 1e-5)
    y = (a - a.mean(1, keepdims=True)) / sigma
    dx = (g - g.mean(1, keepdims=True) - y * (g * y).mean(1, keepdims=True)) / sigma
    t = tg.tensor(x, requires_grad=True)
    out = nn.functional.layer_norm(t, 500)
    out.backward(tg.tensor(g.astype(np.float32)))
    np.testing.assert_allclose(out.numpy(), y, atol=1e-3)
    np.testing.assert_allclose(t.grad.numpy(), dx, atol=1e-3)
