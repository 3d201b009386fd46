"""F.scaled_dot_product_attention against a numpy reference written from its definition,
softmax(q k^T * scale + mask) v, and against torch's where torch is installed."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F

from strategies import with_fixtures


def ref_attention(q, k, v, mask=None, causal=False, scale=None):
    """numpy, float64: a masked-out score is left out of the softmax; a query with no key left gives 0."""
    s = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    allowed = np.ones(s.shape, bool)
    if causal:
        allowed &= np.tril(np.ones(s.shape[-2:], bool))
    if mask is not None and mask.dtype == bool:
        allowed &= mask
    elif mask is not None:
        s = s + mask
    e = np.where(allowed, np.exp(s - np.where(allowed, s, -np.inf).max(-1, keepdims=True, initial=-np.inf)), 0.0)
    total = e.sum(-1, keepdims=True)
    w = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    return w @ v


@st.composite
def attention_case(draw):
    batch = draw(st.sampled_from([(), (1,), (2,), (2, 3)]))
    kbatch = batch[1:] if batch and draw(st.booleans()) else batch  # key/value broadcast over a leading dim
    L, S, E, Ev = (draw(st.integers(1, 4)) for _ in range(4))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    q, k, v = rng.normal(size=batch + (L, E)), rng.normal(size=kbatch + (S, E)), rng.normal(size=kbatch + (S, Ev))
    kind = draw(st.sampled_from(["none", "causal", "bool", "float"]))
    mask = {"bool": rng.random((L, S)) > 0.4, "float": rng.normal(size=(1, S))}.get(kind)
    return q, k, v, kind, mask


@with_fixtures
@given(attention_case(), st.sampled_from([None, 0.7]))
def test_matches_reference_with_gradients(device, case, scale):
    q, k, v, kind, mask = case
    ts = [tg.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]
    m = None if mask is None else tg.tensor(mask, device=device)

    def f(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=kind == "causal", scale=scale)
    out = f(*ts)
    assert out.device == device and out.shape == np.broadcast_shapes(q.shape[:-1], k.shape[:-2] + (1,)) + v.shape[-1:]
    np.testing.assert_allclose(out.numpy(), ref_attention(q, k, v, mask, kind == "causal", scale), rtol=1e-10,
                               atol=1e-12)
    assert tg.gradcheck(f, ts)
    assert tg.gradgradcheck(f, ts)


def test_a_query_with_no_key_gives_zero_and_a_clean_gradient():
    rng = np.random.default_rng(0)
    q, k, v = (tg.tensor(rng.normal(size=s), requires_grad=True) for s in ((3, 2), (4, 2), (4, 5)))
    mask = np.ones((3, 4), bool)
    mask[1] = False
    with np.errstate(all="raise"):  # (no nan on the way either: a softmax of -inf only would warn)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert (out.numpy()[1] == 0).all() and np.isfinite(out.numpy()).all()
        out.sum().backward()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v)) and (q.grad.numpy()[1] == 0).all()


def test_nan_propagates_and_no_keys_give_zeros():
    """A nan score is not a masked one (torch: nan); S = 0 keys attend to nothing (torch: zeros); E = 0 gives
    scores 0 (torch: the values' mean)."""
    q = np.ones((2, 3))
    q[0, 0] = np.nan
    out = F.scaled_dot_product_attention(tg.tensor(q), tg.tensor(np.ones((4, 3))), tg.tensor(np.ones((4, 3))))
    assert np.isnan(out.numpy()[0]).all() and (out.numpy()[1] == 1).all()
    empty = F.scaled_dot_product_attention(tg.tensor(np.ones((2, 3))), tg.tensor(np.ones((0, 3))),
                                           tg.tensor(np.ones((0, 5))))
    assert empty.shape == (2, 5) and not empty.numpy().any()
    v = np.arange(12.0).reshape(4, 3)  # E = 0: every score is 0 (an empty sum), so each query takes v's mean
    out = F.scaled_dot_product_attention(tg.tensor(np.ones((2, 0))), tg.tensor(np.ones((4, 0))), tg.tensor(v))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(v.mean(0), (2, 3)), rtol=1e-15)


def test_dropout_on_the_weights():
    rng = np.random.default_rng(1)
    q, k, v = (tg.tensor(rng.normal(size=s)) for s in ((4, 3), (6, 3), (6, 2)))
    plain = F.scaled_dot_product_attention(q, k, v).numpy()
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.0).numpy(), plain)
    tg.manual_seed(5)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    tg.manual_seed(5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, plain)


@pytest.mark.parametrize("call,error,match", [
    (lambda q, k, v: F.scaled_dot_product_attention(q.numpy(), k, v), TypeError, "query must be a Tensor"),
    (lambda q, k, v: F.scaled_dot_product_attention(q[0], k, v), ValueError, "at least 2 dims"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k[..., :2], v), ValueError, r"\(\.\.\., L, E\)"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v[:2]), ValueError, r"\(\.\.\., S, Ev\)"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v.float()), TypeError, "share a dtype"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((2, 2), bool)), ValueError,
     "attn_mask of shape"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True),
     ValueError, "not both"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=1.5), ValueError, r"dropout_p must be in"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=None), TypeError,
     "scaled_dot_product_attention: dropout_p must be a number, got NoneType"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale="2"), TypeError,
     "scaled_dot_product_attention: scale must be a number, got str"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), np.int64)), TypeError,
     "attn_mask must be boolean .* or floating"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), ValueError,
     r"enable_gqa=True needs .* a heads dim"),
    (lambda q, k, v: F.scaled_dot_product_attention(q.reshape(3, 1, 4), k.reshape(1, 5, 4).expand(2, 5, 4),
                                                    v.reshape(1, 5, 6), enable_gqa=True), ValueError,
     r"heads \(dim -3\) of key \(2\) and of value \(1\) must divide the query's \(3\)"),
])
def test_errors_name_the_op(call, error, match):
    q, k, v = tg.tensor(np.zeros((3, 4))), tg.tensor(np.zeros((5, 4))), tg.tensor(np.zeros((5, 6)))
    with pytest.raises(error, match=match):
        call(q, k, v)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 6))
    for kw in ({}, {"is_causal": True}, {"attn_mask": rng.random((3, 5)) > 0.5},
               {"attn_mask": rng.normal(size=(2, 1, 5))}, {"scale": 0.3}, {"attn_mask": np.zeros((3, 5), bool)}):
        ours = [tg.tensor(a, requires_grad=True) for a in (q, k, v)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        a = F.scaled_dot_product_attention(*ours, **kw)
        b = torch.nn.functional.scaled_dot_product_attention(
            *theirs, **{n: torch.tensor(x) if isinstance(x, np.ndarray) else x for n, x in kw.items()})
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
        for x, y in zip(ours, theirs):
            np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"attn_mask": "float"}])
def test_float16_computes_in_float32_and_rounds_once(device, kw):
    """As torch's CPU kernel: in float16 q k^T overflowed at |q|, |k| ~ 100 and the softmax (inf - inf) gave nan in
    the output and every gradient. Output and gradients are float16 and equal the float32 computation rounded to
    float16 (a float16 mask is added in float32 too)."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) * 200 for s in ((2, 3, 8), (2, 5, 8), (2, 5, 4)))
    mask = rng.standard_normal((3, 5))
    up = rng.uniform(0.5, 1.5, (2, 3, 4)).astype(np.float16)
    results = []
    for dt in (np.float16, np.float32):
        args = [tg.tensor(a.astype(np.float16).astype(dt), device=device, requires_grad=True) for a in (q, k, v)]
        options = kw if not kw.get("attn_mask") else {"attn_mask": tg.tensor(mask.astype(np.float16).astype(dt),
                                                                          device=device)}
        y = F.scaled_dot_product_attention(*args, **options)
        y.backward(tg.tensor(up.astype(dt), device=device))
        results.append([y] + [a.grad for a in args])
    for half, single in zip(*results):
        assert half.dtype == tg.float16
        np.testing.assert_array_equal(half.numpy(), single.numpy().astype(np.float16))
    assert np.isfinite(results[0][0].numpy()).all()


@pytest.mark.parametrize("shapes,kw", [
    (((2, 6, 3, 4), (2, 3, 5, 4), (2, 3, 5, 7)), {}),
    (((2, 6, 3, 4), (2, 3, 5, 4), (2, 2, 5, 7)), {"is_causal": True}),  # key and value grouped apart
    (((6, 3, 4), (1, 5, 4), (3, 5, 7)), {"scale": 0.4}),
    (((2, 4, 3, 4), (2, 5, 4), (1, 2, 5, 7)), {"attn_mask": "bool"}),  # a broadcast batch dim
])
def test_grouped_query_attention_matches_torch(shapes, kw):
    """enable_gqa=True: each key/value head serves a group of consecutive query heads (repeat_interleave over
    dim -3), in values and gradients as torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=s) for s in shapes]
    if kw.get("attn_mask") == "bool":
        kw = {"attn_mask": rng.random((4, 3, 5)) > 0.3}
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    a = F.scaled_dot_product_attention(*ours, enable_gqa=True, **kw)
    b = torch.nn.functional.scaled_dot_product_attention(
        *theirs, enable_gqa=True, **{n: torch.tensor(x) if isinstance(x, np.ndarray) else x for n, x in kw.items()})
    up = rng.normal(size=tuple(b.shape))
    a.backward(tg.tensor(up))
    b.backward(torch.tensor(up))
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-10, atol=1e-12)
