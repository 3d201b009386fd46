"""nn.MultiheadAttention: its heads against a numpy reference written from the definition, its gradients against
central differences, and (where torch is installed) outputs, weights and every gradient against torch's module
with the same weights, over its options."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

from strategies import with_fixtures

# (the property tests draw a bool and a float mask together at times: torch's deprecation warning, checked once below)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")


def ref_mha(m, q, k, v, kpm=None, am=None):
    """numpy, sequence first (L, N, E): per head softmax(q_h k_h^T / sqrt(d) + masks) v_h, joined, projected."""
    P = {n: p.numpy() for n, p in m.named_parameters()}
    E, H = m.embed_dim, m.num_heads
    d = E // H
    w = np.split(P["in_proj_weight"], 3) if "in_proj_weight" in P else [P[f"{c}_proj_weight"] for c in "qkv"]
    b = np.split(P["in_proj_bias"], 3) if "in_proj_bias" in P else [0, 0, 0]
    L, N, _ = q.shape
    Q, K, V = ((x @ wi.T + bi).reshape(x.shape[0], N, H, d).transpose(1, 2, 0, 3) for x, wi, bi in zip((q, k, v), w, b))
    s = Q @ K.transpose(0, 1, 3, 2) / math.sqrt(d)
    if am is not None:
        s = np.where(am, -np.inf, s) if am.dtype == bool else s + am
    if kpm is not None:
        s = np.where(kpm[:, None, None, :], -np.inf, s)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = (p @ V).transpose(2, 0, 1, 3).reshape(L, N, E) @ P["out_proj.weight"].T
    return out + P.get("out_proj.bias", 0), p.mean(1)


@pytest.mark.parametrize("kdim,vdim,bias", [(None, None, True), (5, 3, True), (None, None, False)])
def test_matches_reference_and_central_differences(kdim, vdim, bias):
    tg.manual_seed(0)
    m = nn.MultiheadAttention(6, 3, bias=bias, kdim=kdim, vdim=vdim).double()
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(3, 2, 6)), rng.normal(size=(4, 2, kdim or 6)), rng.normal(size=(4, 2, vdim or 6))
    kpm = np.array([[False, False, True, False], [True, False, False, False]])
    am = np.triu(np.ones((3, 4), bool), 2)
    out, w = m(tg.tensor(q), tg.tensor(k), tg.tensor(v), key_padding_mask=kpm, attn_mask=am)
    ref_out, ref_w = ref_mha(m, q, k, v, kpm, am)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-10, atol=1e-12)
    ts = [tg.tensor(a, requires_grad=True) for a in (q, k, v)]
    assert tg.gradcheck(lambda q, k, v: m(q, k, v, key_padding_mask=kpm, attn_mask=am)[0], ts)
    params = list(m.parameters())
    loss = m(*ts, key_padding_mask=kpm, attn_mask=am)[0].square().sum()
    grads = tg.grad(loss, params)
    for p, g in zip(params, grads):  # each parameter's gradient against a central difference along one direction
        direction = np.random.default_rng(2).normal(size=p.shape)
        with tg.no_grad():
            base = p.array.copy()
            p.array[...] = base + 1e-6 * direction
            up = m(*ts, key_padding_mask=kpm, attn_mask=am)[0].square().sum().item()
            p.array[...] = base - 1e-6 * direction
            down = m(*ts, key_padding_mask=kpm, attn_mask=am)[0].square().sum().item()
            p.array[...] = base
        assert np.isclose((up - down) / 2e-6, (g.numpy() * direction).sum(), rtol=1e-5, atol=1e-7)


@st.composite
def mha_case(draw):
    """Sizes (1 included), kdim/vdim, bias, layout, masks (a key kept for every query) and the weights' form."""
    H = draw(st.integers(1, 2))
    E = H * draw(st.integers(1, 2))
    L, S, N = (draw(st.integers(1, 3)) for _ in range(3))
    kdim, vdim = (draw(st.sampled_from([None, 1, 3])) for _ in range(2))
    layout = draw(st.sampled_from(["seq", "batch_first", "unbatched"]))
    N = 1 if layout == "unbatched" else N
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    kpm = draw(st.booleans()) and rng.random((N, S)) > 0.5
    am = draw(st.sampled_from([None, "bool", "float", "float3d"]))
    am = {"bool": rng.random((L, S)) > 0.6, "float": rng.normal(size=(L, S)),
          "float3d": rng.normal(size=(N * H, L, S))}.get(am)
    if kpm is not False:
        kpm[:, 0] = False  # (every query keeps key 0: no row of the softmax is all -inf)
    if am is not None and am.dtype == bool:
        am[:, 0] = False
    opts = dict(bias=draw(st.booleans()), kdim=kdim, vdim=vdim, batch_first=layout == "batch_first")
    call = dict(need_weights=draw(st.booleans()), average_attn_weights=draw(st.booleans()))
    return E, H, L, S, N, layout, opts, call, (None if kpm is False else kpm), am, rng


@with_fixtures
@given(mha_case())
def test_property_matches_reference_and_central_differences(device, case):
    """Over random sizes and options: the output and the head-averaged weights equal the reference, and both
    outputs' gradients in query, key, value and every parameter match central differences."""
    E, H, L, S, N, layout, opts, call, kpm, am, rng = case
    tg.manual_seed(int(rng.integers(2 ** 16)))
    m = nn.MultiheadAttention(E, H, device=device, **opts).double()
    q, k, v = (rng.normal(size=(n, N, e)) for n, e in ((L, E), (S, opts["kdim"] or E), (S, opts["vdim"] or E)))
    ref_out, ref_w = ref_mha(m, q, k, v, kpm, am if am is None or am.ndim == 2 else am.reshape(N, H, L, S))
    lay = {"seq": lambda a: a, "batch_first": lambda a: a.transpose(1, 0, 2), "unbatched": lambda a: a[:, 0]}[layout]
    masks = dict(key_padding_mask=None if kpm is None or layout == "unbatched" else kpm, attn_mask=am)
    if layout == "unbatched" and kpm is not None:
        masks["key_padding_mask"] = kpm[0]
    ts = [tg.tensor(lay(a), device=device, requires_grad=True) for a in (q, k, v)]
    out, w = m(*ts, **masks, **call)
    np.testing.assert_allclose(out.numpy(), lay(ref_out), rtol=1e-10, atol=1e-12)
    if call["need_weights"] and call["average_attn_weights"]:
        np.testing.assert_allclose(w.numpy(), ref_w if layout != "unbatched" else ref_w[0], rtol=1e-10, atol=1e-12)
    assert (w is None) == (not call["need_weights"])
    params = list(m.parameters())
    assert tg.gradcheck(lambda *xs: [y for y in m(*xs[:3], **masks, **call) if y is not None], ts + params)

def test_parameter_names_layouts_and_init():
    m = nn.MultiheadAttention(8, 2)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    bound = math.sqrt(6 / (24 + 8))  # xavier_uniform_ over the stacked (3E, E) weight, as torch
    assert np.abs(m.in_proj_weight.numpy()).max() <= bound and np.abs(m.in_proj_weight.numpy()).max() > bound / 2
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    m2 = nn.MultiheadAttention(8, 2, kdim=4, vdim=6, bias=False)
    assert [(n, p.shape) for n, p in m2.named_parameters()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 4)), ("v_proj_weight", (8, 6)), ("out_proj.weight", (8, 8))]


def test_out_proj_is_torchs_linear_subclass_and_prints_as_torchs():
    """out_proj is a NonDynamicallyQuantizableLinear (torch.nn.modules.linear's Linear subclass), so the module
    prints as torch's and isinstance(out_proj, nn.Linear) holds."""
    torch = pytest.importorskip("torch")
    from tinygrad_rnn.nn.modules.linear import NonDynamicallyQuantizableLinear
    m = nn.MultiheadAttention(4, 2, bias=False)
    assert type(m.out_proj) is NonDynamicallyQuantizableLinear and isinstance(m.out_proj, nn.Linear)
    assert repr(m) == repr(torch.nn.MultiheadAttention(4, 2, bias=False))


def test_bias_kv_parameters_and_init():
    """add_bias_kv: bias_k and bias_v (1, 1, E), registered after in_proj_bias as torch's (state_dict keys and
    order alike), drawn by xavier_normal_: std sqrt(2 / (fan_in + fan_out)) = 1 / sqrt(E)."""
    E = 256
    tg.manual_seed(0)
    m = nn.MultiheadAttention(E, 4, add_bias_kv=True)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [
        ("in_proj_weight", (3 * E, E)), ("in_proj_bias", (3 * E,)), ("bias_k", (1, 1, E)), ("bias_v", (1, 1, E)),
        ("out_proj.weight", (E, E)), ("out_proj.bias", (E,))]
    drawn = np.concatenate([m.bias_k.numpy().ravel(), m.bias_v.numpy().ravel()])
    assert abs(drawn.std() / (1 / math.sqrt(E)) - 1) < 0.15 and abs(drawn.mean()) < 0.03
    plain = nn.MultiheadAttention(E, 4, add_zero_attn=True)
    assert plain.bias_k is None and plain.bias_v is None and plain.add_zero_attn
    assert "bias_k" not in plain.state_dict()


def test_layouts_agree():
    """batch_first and unbatched inputs give the sequence-first results, transposed or squeezed."""
    m = nn.MultiheadAttention(4, 2).double()
    m_bf = nn.MultiheadAttention(4, 2, batch_first=True).double()
    m_bf.load_state_dict(m.state_dict())
    x = np.random.default_rng(3).normal(size=(5, 2, 4))
    out, w = m(tg.tensor(x), tg.tensor(x), tg.tensor(x))
    out_bf, w_bf = m_bf(*[tg.tensor(x.transpose(1, 0, 2))] * 3)
    np.testing.assert_allclose(out_bf.numpy(), out.numpy().transpose(1, 0, 2), rtol=1e-12)
    np.testing.assert_allclose(w_bf.numpy(), w.numpy(), rtol=1e-12)
    one, w_one = m(*[tg.tensor(x[:, 0])] * 3, average_attn_weights=False)
    np.testing.assert_allclose(one.numpy(), out.numpy()[:, 0], rtol=1e-12)
    assert w_one.shape == (2, 5, 5) and m(*[tg.tensor(x)] * 3, need_weights=False)[1] is None


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(embed_dim=6, num_heads=4), ValueError, "positive multiple of num_heads"),
    (dict(embed_dim=4, num_heads=2, dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
])
def test_construction_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.MultiheadAttention(**kwargs)


def test_call_errors():
    m = nn.MultiheadAttention(4, 2)
    x = tg.zeros(3, 2, 4)
    with pytest.raises(ValueError, match="do not fit embed_dim=4"):
        m(x, tg.zeros(3, 2, 5), x)
    with pytest.raises(ValueError, match="all be 3-d"):
        m(x, x[0], x)
    with pytest.raises(ValueError, match=r"key_padding_mask has shape \(3, 3\), expected \(2, 3\)"):
        m(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    y = tg.zeros(2, 5, 4)  # L = 2, S = 3, N = 5: a transposed mask has the right size but the wrong shape
    with pytest.raises(ValueError, match="key_padding_mask has shape"):
        m(y, tg.zeros(3, 5, 4), tg.zeros(3, 5, 4), key_padding_mask=np.zeros((3, 5), bool))
    with pytest.raises(ValueError, match="attn_mask has shape"):
        m(y, tg.zeros(3, 5, 4), tg.zeros(3, 5, 4), attn_mask=np.zeros((10, 3, 2), bool))
    with pytest.raises(TypeError, match="must be boolean"):
        m(x, x, x, attn_mask=np.zeros((3, 3), np.int64))
    with pytest.raises(ValueError, match="1-d key_padding_mask"):
        m(x[:, 0], x[:, 0], x[:, 0], key_padding_mask=np.zeros((1, 3), bool))
    with pytest.raises(ValueError, match="is_causal is a hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="query must be a Tensor"):
        m(np.zeros((3, 2, 4)), x, x)


def test_a_fully_masked_query_without_weights_attends_to_nothing():
    """torch: with need_weights=False (its SDPA path) a query whose keys are all masked gets attention 0, so its
    output is out_proj's bias, and no nan reaches any gradient; with the weights asked for it gets nan."""
    m = nn.MultiheadAttention(2, 1).double()
    m.out_proj.bias.array[...] = 0.5
    x = tg.tensor(np.ones((2, 1, 2)), requires_grad=True)
    out, w = m(x, x, x, key_padding_mask=np.array([[True, True]]), need_weights=False)
    assert w is None and (out.numpy() == 0.5).all()
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and all(np.isfinite(p.grad.numpy()).all() for p in m.parameters())
    with np.errstate(invalid="ignore"):  # (the nan: a softmax of -inf only)
        assert np.isnan(m(x, x, x, key_padding_mask=np.array([[True, True]]))[0].numpy()).all()


@pytest.mark.parametrize("options", [
    {}, {"batch_first": True}, {"unbatched": True}, {"kdim": 5, "vdim": 6}, {"bias": False},
    {"kpm": True}, {"attn": "bool"}, {"attn": "float3d"}, {"per_head": True}, {"no_weights": True},
    {"no_weights": True, "kpm": "full"}, {"kpm": "full"}, {"kpm": "full", "attn": "bool", "add_zero_attn": True},
    {"add_bias_kv": True}, {"add_zero_attn": True, "kpm": True, "attn": "bool"},
    {"add_bias_kv": True, "add_zero_attn": True, "attn": "float3d", "per_head": True},
    {"add_bias_kv": True, "add_zero_attn": True, "kdim": 5, "vdim": 6, "bias": False, "unbatched": True},
    {"add_bias_kv": True, "batch_first": True, "kpm": "full", "no_weights": True},
    {"add_zero_attn": True, "attn": "bool", "no_weights": True},
    # is_causal: without weights nor key_padding_mask, torch masks causally over all the keys, the added ones too
    {"attn": "bool", "causal": True, "add_zero_attn": True, "no_weights": True},
    {"attn": "bool", "causal": True, "add_bias_kv": True, "no_weights": True, "unbatched": True},
    {"attn": "bool", "causal": True, "add_bias_kv": True}, {"attn": "bool", "causal": True, "kpm": True,
                                                            "add_bias_kv": True, "no_weights": True}])
def test_matches_torch(options):
    torch = pytest.importorskip("torch")
    E, H, L, S, N = 8, 2, 3, 4, 2
    kdim, vdim = options.get("kdim"), options.get("vdim")
    kw = dict(bias=options.get("bias", True), kdim=kdim, vdim=vdim, batch_first=options.get("batch_first", False),
              add_bias_kv=options.get("add_bias_kv", False), add_zero_attn=options.get("add_zero_attn", False))
    theirs = torch.nn.MultiheadAttention(E, H, **kw).double()
    ours = nn.MultiheadAttention(E, H, **kw).double()
    ours.load_state_dict({n: tg.tensor(p.detach().numpy()) for n, p in theirs.state_dict().items()})
    rng = np.random.default_rng(4)
    shapes = [(L, E), (S, kdim or E), (S, vdim or E)]
    if not options.get("unbatched"):
        shapes = [(n, N, e) if not options.get("batch_first") else (N, n, e) for n, e in shapes]
    arrays = [rng.normal(size=s) for s in shapes]
    call = dict(need_weights=not options.get("no_weights"), average_attn_weights=not options.get("per_head"),
                is_causal=options.get("causal", False))
    masks = {}
    if options.get("kpm"):
        masks["key_padding_mask"] = np.array([[False, False, True, False], [False, True, True, False]])
    if options.get("kpm") == "full":  # every key of sequence 1 masked
        masks["key_padding_mask"][1] = True
    if options.get("attn") == "bool":
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    if options.get("attn") == "float3d":
        masks["attn_mask"] = rng.normal(size=(N * H, L, S))
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    o_in = [tg.tensor(a, requires_grad=True) for a in arrays]
    a, aw = theirs(*t_in, **call, **{k: torch.tensor(v) for k, v in masks.items()})
    b, bw = ours(*o_in, **call, **masks)
    (a.sum() + (0 if aw is None else (aw * aw).sum())).backward()
    (b.sum() + (0 if bw is None else (bw * bw).sum())).backward()
    np.testing.assert_allclose(b.numpy(), a.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert (aw is None) == (bw is None)
    if aw is not None:
        np.testing.assert_allclose(bw.numpy(), aw.detach().numpy(), rtol=1e-10, atol=1e-12)
    for x, y in zip(o_in, t_in):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-12)
    t_params = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[n].grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("opts", [
    dict(), dict(bias=False, nw=False), dict(kdim=5), dict(bkv=True, zero=True, kpm=True, attn="bool"),
    dict(static=5), dict(static=4, zero=True, kpm=True, attn="float"), dict(unbatched=True, kpm=True, attn="float"),
    dict(unbatched=True, static=3, avg=False), dict(causal=True, attn="bool", nw=False, zero=True, bkv=True)])
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask and attn_mask:UserWarning")  # (torch's)
def test_functional_multi_head_attention_forward_matches_torch(opts):
    """F.multi_head_attention_forward with torch's arguments (in_proj_weight or separate q/k/v weights, static_k and
    static_v, bias_k/bias_v, add_zero_attn, masks, is_causal, unbatched): output, weights and every gradient as
    torch's functional."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    E, H, L, S, N, kdim = 8, 2, 3, 4, 2, opts.get("kdim", 8)
    sep, unb, nb, s_static = kdim != E, opts.get("unbatched", False), 1 if opts.get("unbatched") else 2, opts.get(
        "static")
    shape = (lambda n, e: (n, e)) if unb else (lambda n, e: (n, N, e))
    arrays = dict(query=rng.normal(size=shape(L, E)), key=rng.normal(size=shape(S, kdim)),
                  value=rng.normal(size=shape(S, kdim)), out_proj_weight=rng.normal(size=(E, E)))
    if sep:
        arrays.update(q_proj_weight=rng.normal(size=(E, E)), k_proj_weight=rng.normal(size=(E, kdim)),
                      v_proj_weight=rng.normal(size=(E, kdim)))
    else:
        arrays["in_proj_weight"] = rng.normal(size=(3 * E, E))
    if opts.get("bias", True):
        arrays.update(in_proj_bias=rng.normal(size=(3 * E,)), out_proj_bias=rng.normal(size=(E,)))
    if opts.get("bkv"):
        arrays.update(bias_k=rng.normal(size=(1, 1, E)), bias_v=rng.normal(size=(1, 1, E)))
    if s_static:
        arrays.update(static_k=rng.normal(size=(nb * H, s_static, E // H)),
                      static_v=rng.normal(size=(nb * H, s_static, E // H)))
    masks = {}
    if opts.get("kpm"):
        masks["key_padding_mask"] = rng.random((s_static or S,) if unb else (N, s_static or S)) < 0.3
        masks["key_padding_mask"][..., 0] = False
    if opts.get("attn") == "bool":
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    if opts.get("attn") == "float":
        masks["attn_mask"] = rng.normal(size=(nb * H, L, S))
    call = dict(need_weights=not opts.get("nw"), average_attn_weights=not opts.get("avg"),
                is_causal=opts.get("causal", False), use_separate_proj_weight=sep, training=False)
    results = []
    for lib, fn, make in ((torch, torch.nn.functional.multi_head_attention_forward, torch.tensor),
                          (tg, F.multi_head_attention_forward, tg.tensor)):
        ts = {n: make(a, requires_grad=True) for n, a in arrays.items()}
        g = {n: ts.get(n) for n in ("in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj_weight",
                                    "out_proj_bias")}
        rest = {n: t for n, t in ts.items() if n not in g and n not in ("query", "key", "value")}
        out, w = fn(ts["query"], ts["key"], ts["value"], E, H, g["in_proj_weight"], g["in_proj_bias"], g["bias_k"],
                    g["bias_v"], opts.get("zero", False), 0.5, g["out_proj_weight"], g["out_proj_bias"],
                    **{n: make(m) for n, m in masks.items()}, **call, **rest)
        (out * make(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))).sum().backward()
        results.append((out, w, {n: t.grad for n, t in ts.items()}))
    (t_out, t_w, t_grads), (out, w, grads) = results
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert (w is None) == (t_w is None)
    if w is not None:
        np.testing.assert_allclose(w.numpy(), t_w.detach().numpy(), rtol=1e-10, atol=1e-12)
    for n, t_grad in t_grads.items():
        if t_grad is None:
            assert grads[n] is None or not grads[n].numpy().any(), n
        else:
            np.testing.assert_allclose(grads[n].numpy(), t_grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=n)


def test_functional_multi_head_attention_forward_is_the_module_and_checks_arguments(device):
    """The module's result is F.multi_head_attention_forward's with its parameters (dropout only when training);
    torch's refusals: bias_k with static_k, a static_k of the wrong shape, missing projection weights."""
    tg.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dropout=0.5, device=device).double().eval()
    x = tg.randn(3, 2, 4, dtype=tg.float64, device=device)
    args = (x, x, x, 4, 2, m.in_proj_weight, m.in_proj_bias, None, None, False, 0.5, m.out_proj.weight,
            m.out_proj.bias)
    out, w = F.multi_head_attention_forward(*args, training=False)
    ref, ref_w = m(x, x, x)
    assert out.device == w.device == device
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w.numpy(), rtol=1e-12)
    tg.manual_seed(1)
    dropped = F.multi_head_attention_forward(*args, training=True)[1]
    assert not np.allclose(dropped.numpy(), w.numpy())
    with pytest.raises(ValueError, match="bias_k cannot be added to static_k"):
        F.multi_head_attention_forward(*args[:7], m.in_proj_bias[:4].reshape(1, 1, 4), None, *args[9:],
                                       static_k=tg.zeros(4, 3, 2, dtype=tg.float64, device=device))
    with pytest.raises(ValueError, match=r"static_v must be \(N \* num_heads, S, head_dim\) = \(4, S, 2\)"):
        F.multi_head_attention_forward(*args, static_v=tg.zeros(2, 3, 2, dtype=tg.float64, device=device))
    with pytest.raises(ValueError, match="use_separate_proj_weight=True needs"):
        F.multi_head_attention_forward(*args, use_separate_proj_weight=True)


def test_mismatched_mask_types_warn_as_torchs():
    """A bool key_padding_mask with a float attn_mask (nn.Transformer.generate_square_subsequent_mask's, as
    Transformer ASR/TTS code passes them): torch's deprecation warning, once a call; masks of one type do not."""
    import warnings
    m = nn.MultiheadAttention(4, 2, batch_first=True)
    x = tg.randn(1, 3, 4)
    kpm = tg.tensor([[False, False, True]])
    causal = nn.Transformer.generate_square_subsequent_mask(3)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated. "
                                         "Use same type for both instead.") as record:
        m(x, x, x, key_padding_mask=kpm, attn_mask=causal)
    assert len([w for w in record if "mismatched" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(x, x, x, key_padding_mask=kpm, attn_mask=causal == -math.inf)
        m(x, x, x, key_padding_mask=kpm)
