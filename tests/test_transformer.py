"""nn.TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and Transformer
against torch's modules with the same weights (outputs and every gradient, float64, over their options), their
gradients against central differences, and torch's names, defaults and errors."""
import copy
import inspect

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings(f"ignore:{w}:UserWarning") for w in (  # (torch's own notes)
    "enable_nested_tensor is True", "Support for mismatched", "The PyTorch API of nested tensors")]

E, H, FF = 4, 2, 6


def copy_weights(ours, theirs):
    """theirs' state_dict into ours (the same names, in the same order)."""
    sd = theirs.state_dict()
    assert list(sd) == list(ours.state_dict())
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in sd.items()})


def make_pair(kind, layers=2, **kw):
    """torch's module and ours of one kind, float64, ours holding torch's weights."""
    act = kw.pop("activation", "relu")
    acts = (act, act) if isinstance(act, str) else act

    def build(m, a):
        if kind == "transformer":
            return m.Transformer(E, H, layers, layers, FF, activation=a, **kw)
        layer = (m.TransformerEncoderLayer if kind.startswith("encoder") else m.TransformerDecoderLayer)(
            E, H, FF, activation=a, **kw)
        return {"encoder": lambda: m.TransformerEncoder(layer, layers, m.LayerNorm(E)),
                "decoder": lambda: m.TransformerDecoder(layer, layers)}.get(kind, lambda: layer)()
    theirs, ours = build(torch.nn, acts[0]).double(), build(nn, acts[1]).double()
    copy_weights(ours, theirs)
    return theirs, ours


def assert_same_values_and_gradients(theirs, ours, args, masks, rtol=1e-10, atol=1e-12):
    """Outputs, then the gradients of a random projection of them in the inputs and every parameter."""
    ta = [torch.tensor(a, requires_grad=True) for a in args]
    oa = [tg.tensor(a, requires_grad=True) for a in args]
    y_t = theirs(*ta, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()})
    y_o = ours(*oa, **{k: tg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()})
    np.testing.assert_allclose(y_o.numpy(), y_t.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(9).normal(size=y_t.shape)
    (y_t * torch.tensor(w)).sum().backward()
    (y_o * tg.tensor(w)).sum().backward()
    for a, b in zip(oa, ta):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def inputs(shape_of, rng, mask, kpm, unbatched, *lengths):
    """Random sequences of the given lengths, and an attention mask (L1, L2) and a key padding mask per pair of
    (query, key) lengths asked for: 'bool' (True: masked; key 0 always kept), 'float' (added), 'causal'
    (-inf above the diagonal)."""
    seqs = [rng.normal(size=shape_of(n)) for n in lengths]

    def attn(l1, l2):
        if mask == "bool":
            m = rng.random((l1, l2)) > 0.6
            m[:, 0] = False
            return m
        return {None: None, "float": rng.normal(size=(l1, l2)),
                "causal": np.triu(np.full((l1, l2), -np.inf), 1)}[mask]

    def padding(n):
        if kpm is None:
            return None
        m = rng.random((n,) if unbatched else (2, n)) > 0.6
        m[..., 0] = False
        return m if kpm == "bool" else rng.normal(size=m.shape)
    return seqs, attn, padding


LAYER_CASES = [
    dict(), dict(batch_first=True), dict(norm_first=True), dict(batch_first=True, norm_first=True),
    dict(activation="gelu"), dict(mask="bool"), dict(mask="float", kpm="float"), dict(kpm="bool"),
    dict(mask="causal", kpm="bool", norm_first=True), dict(unbatched=True, mask="bool", kpm="bool"),
    dict(unbatched=True, batch_first=True, activation="gelu"), dict(bias=False), dict(layer_norm_eps=1e-3),
    dict(activation=(torch.nn.functional.gelu, nn.functional.gelu)), dict(activation=(torch.nn.GELU(), nn.GELU())),
]


@pytest.mark.parametrize("kind", ["encoder_layer", "decoder_layer"])
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_layers_match_torch(kind, train, case):
    """Eval with dropout 0.3 (off), and train with dropout 0: every layout, norm placement, activation, mask."""
    case = dict(case)
    mask, kpm, unbatched = case.pop("mask", None), case.pop("kpm", None), case.pop("unbatched", False)
    theirs, ours = make_pair(kind, dropout=0.0 if train else 0.3, **case)
    theirs.train(train)
    ours.train(train)
    bf = case.get("batch_first", False)
    shape_of = (lambda n: (n, E)) if unbatched else (lambda n: (2, n, E)) if bf else (lambda n: (n, 2, E))
    (tgt, src), attn, padding = inputs(shape_of, np.random.default_rng(0), mask, kpm, unbatched, 4, 3)
    if kind == "encoder_layer":
        args, masks = [src], dict(src_mask=attn(3, 3), src_key_padding_mask=padding(3))
        masks["is_causal"] = mask == "causal"
    else:
        args = [tgt, src]
        masks = dict(tgt_mask=attn(4, 4), memory_mask=attn(4, 3), tgt_key_padding_mask=padding(4),
                     memory_key_padding_mask=padding(3))
    assert_same_values_and_gradients(theirs, ours, args, masks)


@pytest.mark.parametrize("kind", ["encoder", "decoder", "transformer"])
@pytest.mark.parametrize("case", [dict(), dict(batch_first=True, norm_first=True, activation="gelu", train=True),
                                  dict(mask="bool", kpm="bool"), dict(mask="causal", kpm="float", train=True),
                                  dict(unbatched=True, mask="float")],
                         ids=["plain", "bf-nf-gelu-train", "bool", "causal-train", "unbatched"])
def test_stacks_and_transformer_match_torch(kind, case):
    """Two deep-copied layers (and the final norms) in eval, or in train with dropout 0; nn.Transformer's whole
    encoder-decoder with every mask and a causal tgt_mask from generate_square_subsequent_mask."""
    case = dict(case)
    mask, kpm, unbatched, train = (case.pop(k, d) for k, d in (("mask", None), ("kpm", None), ("unbatched", False),
                                                                 ("train", False)))
    theirs, ours = make_pair(kind, dropout=0.0 if train else 0.3, **case)
    theirs.train(train)
    ours.train(train)
    bf = case.get("batch_first", False)
    shape_of = (lambda n: (n, E)) if unbatched else (lambda n: (2, n, E)) if bf else (lambda n: (n, 2, E))
    (tgt, src), attn, padding = inputs(shape_of, np.random.default_rng(1), mask, kpm, unbatched, 4, 3)
    if kind == "encoder":
        args, masks = [src], dict(mask=attn(3, 3), src_key_padding_mask=padding(3))
    elif kind == "decoder":
        args = [tgt, src]
        masks = dict(tgt_mask=attn(4, 4), memory_mask=attn(4, 3), tgt_key_padding_mask=padding(4),
                     memory_key_padding_mask=padding(3))
    else:
        args = [src, tgt]
        masks = dict(src_mask=attn(3, 3), tgt_mask=nn.Transformer.generate_square_subsequent_mask(4).double().numpy(),
                     memory_mask=attn(4, 3), src_key_padding_mask=padding(3), tgt_key_padding_mask=padding(4),
                     memory_key_padding_mask=padding(3))
    assert_same_values_and_gradients(theirs, ours, args, masks)


def test_torch_fast_paths_give_the_same_values():
    """torch in eval under no_grad runs its fused layer and, for TransformerEncoder with a key padding mask,
    nested tensors: the same values, except at padded positions where its nested path returns 0 before the final
    norm (the module docstring); ours computes those as its training path does."""
    theirs, ours = make_pair("encoder", batch_first=True)
    theirs.eval()
    ours.eval()
    assert theirs.use_nested_tensor and not ours.use_nested_tensor
    x = np.random.default_rng(2).normal(size=(2, 5, E))
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = kpm[1, 4:] = True
    with torch.no_grad():
        y_t = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm)).numpy()
        y_layer = theirs.layers[0](torch.tensor(x), src_key_padding_mask=torch.tensor(kpm)).numpy()
    y_o = ours(tg.tensor(x), src_key_padding_mask=kpm).numpy()
    np.testing.assert_allclose(y_o[~kpm], y_t[~kpm], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.layers[0](tg.tensor(x), src_key_padding_mask=kpm).numpy(), y_layer,
                               rtol=1e-10, atol=1e-12)


def test_gradcheck_encoder_layer():
    """Central differences in the input and every parameter of a small layer (float64, dropout 0, norm_first, a
    mask and a key padding mask)."""
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation="gelu", norm_first=True).double()
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.normal(size=(3, 2, E)), requires_grad=True)
    am, kpm = rng.normal(size=(3, 3)), np.array([[False, False, True], [False, True, False]])
    assert tg.gradcheck(lambda x, *ps: layer(x, src_mask=am, src_key_padding_mask=kpm), [x] + list(layer.parameters()))


def test_decoder_layer_on_device(device):
    """The decoder layer's values on the device equal those on the CPU."""
    tg.manual_seed(0)
    layer = nn.TransformerDecoderLayer(E, H, FF, dropout=0.0).double()
    on_device = copy.deepcopy(layer).to(device)
    rng = np.random.default_rng(4)
    tgt, mem = rng.normal(size=(4, 2, E)), rng.normal(size=(3, 2, E))
    mask = nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=tg.float64)
    y = on_device(tg.tensor(tgt, device=device), tg.tensor(mem, device=device), tgt_mask=mask)
    assert y.device == device
    np.testing.assert_allclose(y.numpy(), layer(tg.tensor(tgt), tg.tensor(mem), tgt_mask=mask.cpu()).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_state_dicts_move_both_ways():
    """torch's names in torch's order; ours loads into torch's model and gives its outputs."""
    ours = nn.Transformer(E, H, 2, 1, FF, dropout=0.0).double()
    theirs = torch.nn.Transformer(E, H, 2, 1, FF, dropout=0.0).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(5)
    src, tgt = rng.normal(size=(3, 2, E)), rng.normal(size=(4, 2, E))
    np.testing.assert_allclose(ours(tg.tensor(src), tg.tensor(tgt)).numpy(),
                               theirs(torch.tensor(src), torch.tensor(tgt)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
                                  "TransformerDecoder", "Transformer"])
def test_signatures_are_torchs(name):
    """The same parameters and defaults, in torch's order, for the constructor and forward (the default
    activation is each library's F.relu)."""
    for method in ("__init__", "forward"):
        ours, theirs = (inspect.signature(getattr(getattr(m, name), method)).parameters for m in (nn, torch.nn))
        assert list(ours) == list(theirs)
        for k in ours:
            if k != "activation":
                assert ours[k].default == theirs[k].default, (method, k)
    if "Layer" in name or name == "Transformer":
        assert inspect.signature(getattr(nn, name)).parameters["activation"].default is nn.functional.relu


def test_construction():
    layer = nn.TransformerEncoderLayer(E, H, FF)
    assert (layer.linear1.weight.shape, layer.self_attn.batch_first, layer.norm1.eps, layer.dropout.p) == \
        ((FF, E), False, 1e-5, 0.1)
    assert nn.TransformerEncoderLayer(E, H).linear1.out_features == 2048
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False, mask_check=False)
    assert (enc.num_layers, enc.norm, enc.enable_nested_tensor, enc.mask_check) == (3, None, False, False)
    weights = [m.linear1.weight for m in enc.layers]  # deep copies: equal values, each layer's own parameters
    assert all(w is not layer.linear1.weight and np.array_equal(w.numpy(), layer.linear1.weight.numpy())
               for w in weights)
    assert len({id(w) for w in weights}) == 3
    assert [nn.TransformerEncoderLayer(E, H, activation=a).activation_relu_or_gelu
            for a in ("relu", "gelu", nn.ReLU(), nn.GELU(), nn.functional.gelu, nn.functional.silu)] == \
        [1, 2, 1, 2, 2, 0]
    assert nn.TransformerDecoderLayer(E, H, activation="gelu").activation is nn.functional.gelu
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerDecoderLayer(E, H, activation="tanh")
    with pytest.raises(TypeError, match="activation must be 'relu', 'gelu' or a callable"):
        nn.TransformerEncoderLayer(E, H, activation=3)
    t = nn.Transformer(8, 2, 1, 1, 16, dtype=tg.float64)
    assert all(p.dtype == np.float64 for p in t.parameters())
    bound = np.sqrt(6 / (8 + 16))  # every >1-d parameter Xavier-uniform again, as torch's _reset_parameters
    w = t.encoder.layers[0].linear1.weight.numpy()
    assert bound / 2 < np.abs(w).max() <= bound
    custom = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
    assert nn.Transformer(8, 2, custom_encoder=custom, num_decoder_layers=1, dim_feedforward=16).encoder is custom


def test_a_module_activation_is_used_by_every_copy():
    """A decoder stack of layers with activation=nn.GELU() runs GELU in each deep copy (torch's decoder layer's
    __setstate__ replaces a module activation by F.relu in its copies, so its stacks run relu there)."""
    layer = nn.TransformerDecoderLayer(E, H, FF, activation=nn.GELU(), dropout=0.0).double()
    stack = nn.TransformerDecoder(layer, 1)
    assert isinstance(stack.layers[0].activation, nn.GELU)
    rng = np.random.default_rng(6)
    tgt, mem = tg.tensor(rng.normal(size=(4, 2, E))), tg.tensor(rng.normal(size=(3, 2, E)))
    np.testing.assert_array_equal(stack(tgt, mem).numpy(), layer(tgt, mem).numpy())


def test_generate_square_subsequent_mask():
    for n in (0, 1, 4):
        ours = nn.Transformer.generate_square_subsequent_mask(n)
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(n)
        assert ours.dtype == np.float32 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=tg.float64).dtype == np.float64


def test_errors():
    t = nn.Transformer(E, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        t(tg.zeros(3, 2, E), tg.zeros(4, 3, E))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model=4"):
        t(tg.zeros(3, 2, E), tg.zeros(4, 2, E + 1))
    with pytest.raises(TypeError, match="src must be a Tensor"):
        t.encoder.layers[0](np.zeros((3, 2, E)))
    with pytest.raises(ValueError, match="is_causal is a hint"):  # (torch: "Need attn_mask if specifying ...")
        t.encoder(tg.zeros(3, 2, E), is_causal=True)
    with pytest.raises(ValueError, match="no layers"):
        nn.TransformerDecoder(t.decoder.layers[0], 0)(tg.zeros(3, 2, E), tg.zeros(3, 2, E))
