"""nn.utils.parametrize, nn.utils.parametrizations and tg.func.functional_call, against torch in float64."""
import copy
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import parametrizations as Ps
from tinygrad_rnn.nn.utils import parametrize as P


class Sym(nn.Module):
    """A symmetric matrix from an upper triangle (right_inverse: the upper triangle)."""

    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Double(nn.Module):
    def forward(self, X):
        return X * 2

    def right_inverse(self, A):
        return A / 2


def _sd_to_torch(torch, module):
    return {k: torch.tensor(v.array) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("omap", ["matrix_exp", "cayley", "householder", None])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_linear_matches_torch(omap, shape):
    torch = pytest.importorskip("torch")
    t = torch.nn.Linear(shape[1], shape[0]).double()
    ours = nn.Linear(shape[1], shape[0]).double()
    ours.load_state_dict(t.state_dict())
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map=omap)
    Ps.orthogonal(ours, orthogonal_map=omap)
    assert type(ours).__name__ == "ParametrizedLinear" and isinstance(ours, nn.Linear)
    assert list(ours.state_dict()) == list(t.state_dict())
    with torch.no_grad():  # (away from -I; the diagonal kept, which householder reads as signs)
        t.parametrizations.weight.original.add_(0.3 * torch.randn(shape, dtype=torch.float64).tril(-1))
    ours.load_state_dict(t.state_dict())  # (base, random for a non-square weight, comes across too)
    np.testing.assert_allclose(ours.weight.array, t.weight.detach().numpy(), atol=1e-12)
    x = np.random.randn(2, shape[1])
    ty, oy = t(torch.tensor(x)), ours(tg.tensor(x))
    (ty ** 2).sum().backward()
    (oy ** 2).sum().backward()
    np.testing.assert_allclose(ours.parametrizations.weight.original.grad.array,
                               t.parametrizations.weight.original.grad.numpy(), atol=1e-10)
    w = ours.weight.array
    np.testing.assert_allclose(w.T @ w if shape[0] >= shape[1] else w @ w.T, np.eye(min(shape)), atol=1e-12)
    new = np.random.randn(*shape)
    t.weight = torch.tensor(new)
    ours.weight = tg.tensor(new)  # (right_inverse: a new base, the original back at -I)
    ours.parametrizations.weight[0].base.array[...] = t.parametrizations.weight[0].base.numpy()
    np.testing.assert_allclose(ours.weight.array, t.weight.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_householder_without_trivialization_matches_torch(shape):
    torch = pytest.importorskip("torch")
    t = torch.nn.Linear(shape[1], shape[0]).double()
    ours = nn.Linear(shape[1], shape[0]).double()
    ours.load_state_dict(t.state_dict())
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map="householder", use_trivialization=False)
    Ps.orthogonal(ours, orthogonal_map="householder", use_trivialization=False)
    np.testing.assert_allclose(ours.parametrizations.weight.original.array,
                               t.parametrizations.weight.original.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.weight.array, t.weight.detach().numpy(), atol=1e-12)
    cayley = Ps.orthogonal(nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):  # (registering skips it, as torch)
        cayley.weight = tg.zeros(3, 3)


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_with_orthogonal_weight_hh_matches_torch_and_state_dicts_round_trip(fused):
    torch = pytest.importorskip("torch")
    t = torch.nn.LSTM(3, 4).double()
    ours = nn.LSTM(3, 4, fused=fused).double()
    ours.load_state_dict(t.state_dict())
    torch.nn.utils.parametrizations.orthogonal(t, "weight_hh_l0")
    Ps.orthogonal(ours, "weight_hh_l0")
    with torch.no_grad():
        t.parametrizations.weight_hh_l0.original.add_(0.2 * torch.randn(16, 4, dtype=torch.float64))
    assert list(ours.state_dict()) == list(t.state_dict())
    ours.load_state_dict(t.state_dict())
    x = np.random.randn(5, 2, 3)
    ty, (_, tc) = t(torch.tensor(x))
    oy, (_, oc) = ours(tg.tensor(x))
    np.testing.assert_allclose(oy.array, ty.detach().numpy(), atol=1e-12)
    (ty.sum() + (tc ** 2).sum()).backward()
    (oy.sum() + (oc ** 2).sum()).backward()
    ours_params = dict(ours.named_parameters())
    for name, p in t.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad.array, p.grad.numpy(), atol=1e-10, err_msg=name)
    back = torch.nn.LSTM(3, 4).double()
    torch.nn.utils.parametrizations.orthogonal(back, "weight_hh_l0")
    back.load_state_dict(_sd_to_torch(torch, ours))
    np.testing.assert_allclose(back.weight_hh_l0.detach().numpy(), ours.weight_hh_l0.array, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_and_spectral_norm_parametrizations_match_torch(dim):
    torch = pytest.importorskip("torch")
    tp = torch.nn.utils.parametrizations
    for ours_fn, torch_fn, kw in [(Ps.weight_norm, tp.weight_norm, {"dim": dim}),
                                  (Ps.spectral_norm, tp.spectral_norm, {"dim": dim})]:
        t = torch.nn.Linear(3, 4).double()
        ours = nn.Linear(3, 4).double()
        ours.load_state_dict(t.state_dict())
        torch_fn(t, **kw)
        ours_fn(ours, **kw)
        assert list(ours.state_dict()) == list(t.state_dict())
        ours.load_state_dict(t.state_dict())  # (spectral_norm's random u, v too)
        x = np.random.randn(2, 3)
        ty, oy = t(torch.tensor(x)), ours(tg.tensor(x))  # (training: one power iteration each)
        np.testing.assert_allclose(oy.array, ty.detach().numpy(), atol=1e-12)
        (ty ** 2).sum().backward()
        (oy ** 2).sum().backward()
        ours_params = dict(ours.named_parameters())
        for name, p in t.named_parameters():
            np.testing.assert_allclose(ours_params[name].grad.array, p.grad.numpy(), atol=1e-10, err_msg=name)



@pytest.mark.parametrize("dim", [0, 1])
def test_weight_norm_loads_the_old_weight_g_weight_v_checkpoint_as_torch(dim):
    """torch's parametrizations.weight_norm renames an old nn.utils.weight_norm checkpoint's weight_g / weight_v
    keys to parametrizations.weight.original0 / original1 (a load pre-hook), at the root and inside a parent."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2).double(), dim=dim)
    sd = {k: v.detach().numpy() for k, v in old.state_dict().items()}
    assert sorted(sd) == ["bias", "weight_g", "weight_v"]
    ours = Ps.weight_norm(nn.Linear(3, 2, dtype=np.float64), dim=dim)
    assert ours.load_state_dict(sd) == ([], [])
    np.testing.assert_allclose(ours.weight.array, old.weight.detach().numpy(), atol=1e-14)
    seq = nn.Sequential(Ps.weight_norm(nn.Linear(3, 2, dtype=np.float64), dim=dim))
    assert seq.load_state_dict({"0." + k: v for k, v in sd.items()}) == ([], [])
    np.testing.assert_allclose(seq[0].weight.array, old.weight.detach().numpy(), atol=1e-14)
    assert list(seq.state_dict()) == ["0.bias", "0.parametrizations.weight.original0",
                                      "0.parametrizations.weight.original1"]


def test_spectral_norm_parametrization_of_conv_transpose2d_normalizes_its_output_dim_as_torch():
    """A ConvTranspose2d's weight (in, out, kH, kW) is normalized along dim 1, its output channels, as torch's."""
    torch = pytest.importorskip("torch")
    t = torch.nn.ConvTranspose2d(2, 3, 2).double()
    ours = nn.ConvTranspose2d(2, 3, 2, dtype=tg.float64)
    ours.load_state_dict(t.state_dict())
    torch.nn.utils.parametrizations.spectral_norm(t)
    Ps.spectral_norm(ours)
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [tuple(v.shape) for v in t.state_dict().values()]
    ours.load_state_dict(t.state_dict())  # (torch's random u, v)
    x = np.random.default_rng(4).standard_normal((2, 2, 3, 3))
    np.testing.assert_allclose(ours(tg.tensor(x)).array, t(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_register_stack_cache_and_remove():
    torch = pytest.importorskip("torch")
    tpz = torch.nn.utils.parametrize

    class TSym(torch.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    class TDouble(torch.nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, A):
            return A / 2

    t, ours = torch.nn.Linear(3, 3).double(), nn.Linear(3, 3).double()
    ours.load_state_dict(t.state_dict())
    param = ours.weight
    for tm, om in [(TSym(), Sym()), (TDouble(), Double())]:
        tpz.register_parametrization(t, "weight", tm)
        P.register_parametrization(ours, "weight", om)
    assert ours.parametrizations.weight.original is param  # (an optimizer holding it still works)
    assert list(ours.state_dict()) == list(t.state_dict()) == ["bias", "parametrizations.weight.original"]
    np.testing.assert_allclose(ours.weight.array, t.weight.detach().numpy())
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "weight") and not P.is_parametrized(ours, "bias")
    assert P.type_before_parametrizations(ours) is nn.Linear
    with P.cached():
        assert ours.weight is ours.weight
    assert ours.weight is not ours.weight
    twin = copy.deepcopy(ours)
    assert type(twin) is type(ours) and twin.parametrizations.weight.original is not param
    with pytest.raises(KeyError, match="already exists"):  # (torch's: a Parameter may not replace the property)
        ours.weight = nn.Parameter(tg.zeros(3, 3))
    value = np.random.randn(3, 3)
    t.weight = torch.tensor(value)
    ours.weight = tg.tensor(value)
    np.testing.assert_allclose(param.array, t.parametrizations.weight.original.detach().numpy())
    tpz.remove_parametrizations(t, "weight")
    P.remove_parametrizations(ours, "weight")
    assert type(ours) is nn.Linear and ours.weight is param and list(ours.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.array, t.weight.detach().numpy())
    P.register_parametrization(ours, "weight", Double())
    P.remove_parametrizations(ours, "weight", leave_parametrized=False)
    np.testing.assert_allclose(ours.weight.array, t.weight.detach().numpy() / 2)


def test_parametrization_errors_as_torch():
    class Rows(nn.Module):
        def forward(self, X):
            return X[:2]

    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        P.register_parametrization(nn.Linear(3, 3), "nope", Sym())
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(nn.Linear(3, 3), "weight", Rows())
    m = P.register_parametrization(nn.Linear(3, 3), "weight", Rows(), unsafe=True)
    assert m.weight.shape == (2, 3)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(nn.Linear(2, 2), "weight")
    with pytest.raises(ValueError, match="Expected a matrix"):
        Ps.orthogonal(nn.LSTM(2, 2), "bias_hh_l0")
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        Ps.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(Ps.weight_norm(nn.Linear(2, 2)), "weight", leave_parametrized=False)
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        P.register_parametrization(nn.Linear(2, 2), "weight", Sym()).__getstate__()


@given(n=st.integers(1, 4), k=st.integers(1, 4), omap=st.sampled_from(["matrix_exp", "cayley", "householder"]))
def test_orthogonal_map_gradients_match_central_differences(n, k, omap):
    m = Ps.orthogonal(nn.Linear(k, n).double(), orthogonal_map=omap)
    orth = m.parametrizations.weight[0]
    X = np.random.randn(n, k) * 0.5
    if omap == "householder":
        np.fill_diagonal(X, -1.5)  # (householder reads its diagonal truncated to ints as signs: no gradient there)
    assert tg.gradcheck(lambda x: orth(x), (tg.tensor(X, requires_grad=True),))


def test_functional_call_matches_torch_and_restores_the_module():
    torch = pytest.importorskip("torch")
    t, ours = torch.nn.LSTM(3, 4).double(), nn.LSTM(3, 4).double()
    ours.load_state_dict(t.state_dict())
    own = ours.weight_hh_l0
    w = np.random.randn(16, 4)
    tw, ow = torch.tensor(w, requires_grad=True), tg.tensor(w, requires_grad=True)
    x = np.random.randn(5, 2, 3)
    ty = torch.func.functional_call(t, {"weight_hh_l0": tw}, torch.tensor(x))[0]
    oy = tg.func.functional_call(ours, {"weight_hh_l0": ow}, tg.tensor(x))[0]
    np.testing.assert_allclose(oy.array, ty.detach().numpy(), atol=1e-12)
    ty.sum().backward()
    oy.sum().backward()
    np.testing.assert_allclose(ow.grad.array, tw.grad.numpy(), atol=1e-10)
    assert ours.weight_hh_l0 is own and ours._parameters["weight_hh_l0"] is own and own.grad is None

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            raise RuntimeError("boom")

    b = Boom()
    weight = b.lin.weight
    with pytest.raises(RuntimeError, match="boom"):
        tg.func.functional_call(b, {"lin.weight": tg.zeros(2, 2)}, (tg.zeros(2),))
    assert b.lin.weight is weight and b.lin._parameters["weight"] is weight
    lin = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'foo'.\n\tMissing key\(s\): 'bias'."):
        tg.func.functional_call(lin, {"weight": tg.zeros(2, 2), "foo": tg.zeros(1)}, tg.zeros(2), strict=True)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        tg.func.functional_call(lin, ({"weight": tg.zeros(2, 2)}, {"weight": tg.zeros(2, 2)}), tg.zeros(2))
    y = tg.func.functional_call(lin, ({"weight": tg.zeros(2, 2)}, {"bias": tg.ones(2)}), tg.zeros(2))
    np.testing.assert_allclose(y.array, [1.0, 1.0])
    tied = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False))
    tied[1].weight = tied[0].weight
    np.testing.assert_allclose(tg.func.functional_call(tied, {"0.weight": tg.ones(2, 2)}, tg.ones(2)).array, [4, 4])
    with pytest.raises(ValueError, match="which are tied"):
        tg.func.functional_call(tied, {"0.weight": tg.ones(2, 2), "1.weight": tg.ones(2, 2)}, tg.ones(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.utils.stateless.functional_call(lin, {"weight": tg.zeros(2, 2)}, tg.zeros(2))
    assert caught[0].category is FutureWarning


def test_orthogonal_lstm_on_device(device):
    m = nn.LSTM(3, 4).double()
    Ps.orthogonal(m, "weight_hh_l0")
    ref = nn.LSTM(3, 4).double()
    Ps.orthogonal(ref, "weight_hh_l0")
    m.parametrizations.weight_hh_l0.original.array[...] += np.tril(np.full((16, 4), 0.1), -1)
    ref.load_state_dict(m.state_dict())
    m.to(device)
    x = np.random.randn(5, 2, 3)
    y, _ = m(tg.tensor(x).to(device))
    y.sum().backward()
    y_ref, _ = ref(tg.tensor(x))
    y_ref.sum().backward()
    np.testing.assert_allclose(y.cpu().array, y_ref.array, atol=1e-12)
    np.testing.assert_allclose(m.parametrizations.weight_hh_l0.original.grad.cpu().array,
                               ref.parametrizations.weight_hh_l0.original.grad.array, atol=1e-12)
    w = m.weight_hh_l0.cpu().array
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-12)
    o = Ps.orthogonal(nn.Linear(3, 3).double().to(device))
    o.weight = tg.randn(3, 3, dtype=tg.float64, device=device)
    np.testing.assert_allclose((o.weight.mT @ o.weight).cpu().array, np.eye(3), atol=1e-12)


def test_weight_norm_and_spectral_norm_on_device(device):
    """weight_norm (g v / ||v|| gives back the weight) and spectral_norm (W / (u . W v), from its buffers after a
    training-mode power iteration; sigma W's largest singular value, 3, after the 16 iterations) on the device,
    against numpy, with gradients reaching the originals there."""
    rng = np.random.default_rng(0)
    q1, q2 = np.linalg.qr(rng.standard_normal((4, 3)))[0], np.linalg.qr(rng.standard_normal((3, 3)))[0]
    w = q1 @ np.diag([3.0, 1.0, 0.5]) @ q2.T
    x = tg.tensor(rng.standard_normal((2, 3)), device=device)
    for fn in (Ps.weight_norm, Ps.spectral_norm):
        lin = nn.Linear(3, 4).double()
        lin.weight.array[...] = w
        lin = fn(lin.to(device))
        got = lin.weight
        assert got.device == device
        if fn is Ps.weight_norm:
            np.testing.assert_allclose(got.numpy(), w, rtol=1e-12, atol=1e-14)
            originals = [lin.parametrizations.weight.original0, lin.parametrizations.weight.original1]
        else:
            sn = lin.parametrizations.weight[0]
            assert sn._u.device == sn._v.device == device
            sigma = sn._u.numpy() @ w @ sn._v.numpy()
            np.testing.assert_allclose(got.numpy(), w / sigma, rtol=1e-12)
            assert abs(sigma - 3.0) < 1e-9
            originals = [lin.parametrizations.weight.original]
        (lin(x) ** 2).sum().backward()
        assert all(p.grad is not None and p.grad.device == device for p in originals)


@pytest.mark.parametrize("cls, names", [("GRU", ["weight_hh_l0"]), ("LSTM", ["weight_ih_l1", "weight_hh_l1"]),
                                        ("RNN", ["weight_ih_l0_reverse"])])
def test_spectral_norm_on_a_recurrent_layer_trains_as_torchs(cls, names):
    """torch's RNNBase.forward reads its weights through _update_flat_weights (hasattr and getattr of the first
    parametrized one, then of every one), so spectral_norm's power iteration runs 4 times per training forward for
    the first parametrized weight and twice for each other; the layer reads them as often, so u, v, the weights and
    the losses stay torch's over a few Adam steps."""
    torch = pytest.importorskip("torch")
    kw = dict(num_layers=2, bidirectional=cls == "RNN", batch_first=True)
    theirs = getattr(torch.nn, cls)(3, 4, **kw).double()
    ours = getattr(nn, cls)(3, 4, **kw).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    for m, lib in ((theirs, torch.nn), (ours, nn)):
        for n in names:
            lib.utils.parametrizations.spectral_norm(m, n)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})  # (the same u and v)
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    results = []
    for m, lib in ((theirs, torch), (ours, tg)):
        opt = lib.optim.Adam(m.parameters(), lr=0.01)
        out = []
        for _ in range(3):
            opt.zero_grad()
            y, _ = m(lib.tensor(x))
            loss = y.pow(2).sum()
            loss.backward()
            opt.step()
            out.append(loss.item())
        m.eval()
        out += [m(lib.tensor(x))[0].detach().numpy()]
        out += [v.detach().numpy() for _, v in sorted(m.state_dict().items())]
        results.append(out)
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
