"""tg.autograd.forward_ad (dual_level, make_dual, unpack_dual) against torch.autograd.forward_ad in float64, against
central differences along the tangent, and its errors against torch's."""
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import arrays, shapes

fwAD = tg.autograd.forward_ad
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # (torch's)


def rand(*shape):
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape)


def lstm_cell(lib, x, h, c, w_ih, w_hh, b):
    """One LSTM step written in ops (torch's gate order i, f, g, o)."""
    gates = x @ w_ih.T + h @ w_hh.T + b
    i, f, g, o = gates.chunk(4, 1)
    c2 = lib.sigmoid(f) * c + lib.sigmoid(i) * lib.tanh(g)
    return lib.sigmoid(o) * lib.tanh(c2), c2


# (name, f(lib, F, *inputs) with lib tg or torch and F its nn.functional, input shapes); each input gets a tangent
OPS = [
    ("elementwise", lambda lib, F, x, y: lib.sin(x) * lib.exp(y) + x / (y * y + 1) - lib.tanh(x) ** 3, [(3, 4)] * 2),
    ("matmul", lambda lib, F, a, b: a @ b, [(3, 4), (4, 2)]),
    ("batched_matmul", lambda lib, F, a, b: lib.matmul(a, b), [(2, 3, 4), (2, 4, 5)]),
    ("reductions", lambda lib, F, x: lib.stack([x.sum(1), x.mean(1), x.amax(1), (x * x).sum(1).sqrt()]), [(3, 5)]),
    ("logsumexp", lambda lib, F, x: lib.logsumexp(x, 0), [(4, 3)]),
    ("indexing", lambda lib, F, x: x[1:, ::2] * x[0][::2] + x[lib.tensor([2, 0])][:, 1:2], [(3, 4)]),
    ("where", lambda lib, F, x, y: lib.where(x > 0, x * y, y - x), [(3, 4)] * 2),
    ("conv2d", lambda lib, F, x, w, b: F.conv2d(x, w, b, stride=1, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    ("conv1d", lambda lib, F, x, w: F.conv1d(x, w, stride=2), [(2, 3, 7), (2, 3, 3)]),
    ("softmax", lambda lib, F, x: F.softmax(x, dim=-1) + F.log_softmax(x * 2, dim=0), [(3, 4)]),
    ("layer_norm", lambda lib, F, x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    ("lstm_cell", lambda lib, F, *a: lib.cat(lstm_cell(lib, *a), 1), [(2, 3), (2, 4), (2, 4), (16, 3), (16, 4),
                                                                         (16,)]),
]


@pytest.mark.parametrize("name,f,shapes_", OPS, ids=[o[0] for o in OPS])
def test_unpack_dual_matches_torch_forward_ad(device, name, f, shapes_):
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    xs = [rand(*s) for s in shapes_]
    ts = [rand(*s[::-1]).T.copy() + 0.5 for s in shapes_]  # (other values than the primals)
    with tfw.dual_level():
        duals = [tfw.make_dual(torch.tensor(x), torch.tensor(t)) for x, t in zip(xs, ts)]
        out = f(torch, torch.nn.functional, *duals)
        want_p, want_t = tfw.unpack_dual(out)
    with fwAD.dual_level():
        duals = [fwAD.make_dual(tg.tensor(x, device=device), tg.tensor(t, device=device)) for x, t in zip(xs, ts)]
        out = f(tg, tg.nn.functional, *duals)
        got = fwAD.unpack_dual(out)
    assert isinstance(got, fwAD.UnpackedDualTensor)
    assert not got.primal.requires_grad and not got.tangent.requires_grad  # (as torch's: nothing requires grad)
    np.testing.assert_allclose(got.primal.numpy(), want_p.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.tangent.numpy(), want_t.numpy(), rtol=1e-10, atol=1e-12)


def composite(x):
    return (tg.tanh(x) * x.exp()).sum(-1, keepdim=True) + (x * x).softmax(-1) / (1 + x * x)


@given(st.data())
def test_unpack_dual_is_the_directional_derivative(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x, t = data.draw(arrays(shape)), data.draw(arrays(shape))
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(composite(fwAD.make_dual(tg.tensor(x), tg.tensor(t)))).tangent
    h = 1e-6
    central = (composite(tg.tensor(x + h * t)).numpy() - composite(tg.tensor(x - h * t)).numpy()) / (2 * h)
    np.testing.assert_allclose(tangent.numpy(), central, rtol=1e-5, atol=1e-7)


def test_several_duals_sum_their_contributions_and_agree_with_func_jvp(device):
    x, y = tg.tensor(rand(3, 4), device=device), tg.tensor(rand(4, 2), device=device)
    tx, ty = tg.tensor(rand(4, 3).T.copy(), device=device), tg.tensor(rand(2, 4).T.copy(), device=device)

    def f(a, b):
        return tg.tanh(a @ b) * 2
    _, want = tg.func.jvp(f, (x, y), (tx, ty))
    with fwAD.dual_level():
        got = fwAD.unpack_dual(f(fwAD.make_dual(x, tx), fwAD.make_dual(y, ty))).tangent
        only_x = fwAD.unpack_dual(f(fwAD.make_dual(x, tx), y)).tangent
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(only_x.numpy(), tg.func.jvp(lambda a: f(a, y), (x,), (tx,))[1].numpy(), rtol=1e-12)


def test_dual_itself_constant_and_level_end(device):
    x = tg.tensor(rand(3), device=device)
    t = tg.tensor(rand(3) + 1, device=device)
    with fwAD.dual_level() as level:
        assert level == 0
        d = fwAD.make_dual(x, t)
        assert fwAD.unpack_dual(d).tangent is t  # (the tangent given, as torch's)
        np.testing.assert_array_equal(fwAD.unpack_dual(d).primal.numpy(), x.numpy())
        assert fwAD.unpack_dual(x).tangent is None and fwAD.unpack_dual(x).primal is x
        assert fwAD.unpack_dual(d.detach() * 2).tangent is None  # (does not depend on the dual)
        np.testing.assert_array_equal(fwAD.unpack_dual(d * 0 + 1).tangent.numpy(), np.zeros(3))  # (it does)
        p = fwAD.unpack_dual(d * 3).primal
        assert fwAD.unpack_dual(p).tangent is None and fwAD.unpack_dual(p * d).tangent is not None
        np.testing.assert_allclose(fwAD.unpack_dual(p * d).tangent.numpy(), 3 * x.numpy() * t.numpy())
        y = d.sin()
    assert fwAD.unpack_dual(y).tangent is None and fwAD.unpack_dual(y).primal is y  # (the level is closed)
    with fwAD.dual_level():  # a new level: the old duals have no tangent in it
        assert fwAD.unpack_dual(y).tangent is None

    @fwAD.dual_level()
    def jvp_sin(a, v):
        return fwAD.unpack_dual(fwAD.make_dual(a, v).sin()).tangent
    np.testing.assert_allclose(jvp_sin(x, t).numpy(), np.cos(x.numpy()) * t.numpy(), rtol=1e-12)
    assert fwAD._state.level == -1


def test_forward_ad_works_under_no_grad_not_under_inference_mode(device):
    x = tg.tensor(rand(3), device=device)
    t = tg.tensor(rand(3), device=device)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        with tg.no_grad():
            y = d.exp() * 2
        with tg.set_grad_enabled(False):
            z = d.sin()
        with tg.inference_mode():
            w = d.cos()
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), 2 * np.exp(x.numpy()) * t.numpy())
        np.testing.assert_allclose(fwAD.unpack_dual(z).tangent.numpy(), np.cos(x.numpy()) * t.numpy())
        assert fwAD.unpack_dual(w).tangent is None  # (as torch's)
    with tg.no_grad():  # a level opened under no_grad, and no_grad after the level: records nothing again
        with fwAD.dual_level():
            d = fwAD.make_dual(x, t)
            np.testing.assert_allclose(fwAD.unpack_dual(d * d).tangent.numpy(), 2 * x.numpy() * t.numpy())
    with tg.no_grad():
        assert not (tg.tensor([1.0], requires_grad=True) * 2).requires_grad


def test_no_grad_inside_a_level_stays_no_grad_for_updates(device):
    """Recording kept under no_grad for forward AD must not break what no_grad is for: initialisers and
    parameter updates in place, is_grad_enabled(); an in-place op there still carries the tangent."""
    x, t = tg.tensor(rand(2), device=device), tg.tensor(rand(2) + 1, device=device)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        lin = tg.nn.Linear(2, 3, device=device, dtype=tg.float64)  # (init writes the parameters under no_grad)
        opt = tg.optim.Adam(lin.parameters(), lr=0.1)
        lin(x).sum().backward()
        opt.step()
        with tg.no_grad():
            assert not tg.is_grad_enabled()
            lin.weight.mul_(2)
            lin.bias.unsqueeze_(0)
            lin.bias.squeeze_(0)
            lin.weight[0] = 1.0
            buf = tg.zeros(3, device=device, dtype=tg.float64)
            buf += lin(d)
        with tg.no_grad():  # (one in the graph, whose tangent an unrecorded change would miss, is refused)
            y = d * 1
            alias = y.unfold(0, 1, 1)  # (a view the graph does not follow: detach(), view(dtype), x[i], reshape's
            with pytest.raises(RuntimeError, match="shares its memory"):  # it does, see test_inplace)
                y.mul_(2)
            np.testing.assert_array_equal(alias.numpy()[:, 0], x.numpy())
        assert lin.weight.is_leaf and lin.bias.is_leaf and lin.bias.shape == (3,)
        want = lin.weight.detach().numpy() @ t.numpy()
        np.testing.assert_allclose(fwAD.unpack_dual(buf).tangent.detach().numpy(), want, rtol=1e-12)
        assert tg.is_grad_enabled()
    with tg.no_grad():
        with fwAD.dual_level():
            fwAD.make_dual(x, t)
            assert not tg.is_grad_enabled()
        assert not tg.is_grad_enabled() and not (lin.weight * 2).requires_grad


def test_grad_mode_after_a_level_closes_across_grad_mode_contexts_is_torchs():
    """A level that closes inside a grad-mode context, or outlives one, leaves grad mode as torch's: recording kept
    for the duals under no_grad ended with the level (set_grad_enabled(False) called in a level left ops recording
    after it; a level opened under no_grad and closed after it left grad mode off for good), and no_grad around
    duals made under enable_grad keeps their tangents."""
    torch = pytest.importorskip("torch")

    def modes(lib, case):
        fw = lib.autograd.forward_ad
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        t = lib.ones(2, dtype=lib.float64)
        try:
            if case == "set_grad_enabled_in_level":
                with fw.dual_level():
                    fw.make_dual(x, t)
                    lib.set_grad_enabled(False)
                return lib.is_grad_enabled(), (x * 2).requires_grad
            if case == "level_outlives_no_grad":
                with lib.no_grad():
                    fw.enter_dual_level()
                    fw.make_dual(x, t)
                fw.exit_dual_level()
                return lib.is_grad_enabled(), (x * 2).requires_grad
            if case == "level_closes_in_enable_grad":
                with lib.no_grad():
                    fw.enter_dual_level()
                    fw.make_dual(x, t)
                    with lib.enable_grad():
                        fw.exit_dual_level()
                    inside = (x * 2).requires_grad
                return lib.is_grad_enabled(), inside, (x * 2).requires_grad
            if case == "level_closes_in_no_grad":
                with fw.dual_level():
                    fw.make_dual(x, t)
                    with lib.no_grad():
                        fw.exit_dual_level()
                        inside = (x * 2).requires_grad
                        fw.enter_dual_level()
                return lib.is_grad_enabled(), inside
            if case == "dual_made_in_enable_grad":
                with fw.dual_level():
                    with lib.no_grad():
                        with lib.enable_grad():
                            d = fw.make_dual(x.detach(), t)
                        tangent = fw.unpack_dual(d * 3).tangent
                        return lib.is_grad_enabled(), None if tangent is None else tangent.tolist()
        finally:
            if fw.dual_level.__module__.startswith("tinygrad_rnn") and fw._state.level >= 0:  # (after a failure)
                fw.exit_dual_level()
            lib.set_grad_enabled(True)

    for case in ["set_grad_enabled_in_level", "level_outlives_no_grad", "level_closes_in_enable_grad",
                 "level_closes_in_no_grad", "dual_made_in_enable_grad"]:
        assert modes(tg, case) == modes(torch, case), case
        assert tg.is_grad_enabled() and (tg.ones(1, requires_grad=True) * 2).requires_grad


def test_in_place_on_a_dual_matches_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    xa, ta = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    out = []
    for lib, mod in ((torch, tfw), (tg, fwAD)):
        with mod.dual_level():
            d = mod.make_dual(lib.tensor(xa), lib.tensor(ta))
            d.mul_(lib.tensor([3.0, 0.5]))
            e = d.sin()
            with lib.no_grad():
                d2 = mod.make_dual(lib.tensor(xa), lib.tensor(ta))
                d2.mul_(3)
            out.append([mod.unpack_dual(v).tangent.numpy() for v in (d, e, d2.exp())])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_reverse_over_forward_matches_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    xa, ta = rand(4), rand(4) + 1
    with tfw.dual_level():
        x, t = torch.tensor(xa, requires_grad=True), torch.tensor(ta, requires_grad=True)
        j = tfw.unpack_dual((tfw.make_dual(x, t) ** 3).sin().sum()).tangent
        want = torch.autograd.grad(j, [x, t])
    with fwAD.dual_level():
        x, t = tg.tensor(xa, requires_grad=True), tg.tensor(ta, requires_grad=True)
        d = fwAD.make_dual(x, t)
        j = fwAD.unpack_dual((d ** 3).sin().sum()).tangent
        assert j.requires_grad
        got = tg.autograd.grad(j, [x, t])
        (d * 2).sum().backward()  # (the dual is a view of a primal that requires grad: gradients reach it)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 2.0))


class Cube(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x


class CubeOnce(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    @tg.autograd.function.once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x


def test_autograd_function_and_once_differentiable(device):
    x, t = tg.tensor(rand(3), device=device), tg.tensor(rand(3), device=device)
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(Cube.apply(fwAD.make_dual(x, t))).tangent
        np.testing.assert_allclose(tangent.numpy(), 3 * x.numpy() ** 2 * t.numpy(), rtol=1e-12)
        with pytest.raises(RuntimeError, match="unpack_dual: forward AD .*once_differentiable"):
            fwAD.unpack_dual(CubeOnce.apply(fwAD.make_dual(x * 1, t)))


class CubeOnArrays(tg.autograd.Function):
    """A backward written on arrays (not differentiable in g): the double-vjp trick would read a zero tangent."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return tg.tensor(g.numpy(), device=g.device) * 3 * x * x  # (through x alone: still not through g)


def test_a_backward_not_differentiable_in_its_gradient_is_refused_not_a_zero_tangent(device):
    x, t = tg.tensor(rand(3), device=device), tg.tensor(rand(3), device=device)
    message = "CubeOnArraysBackward: forward-mode AD .* gradient 0 does not depend on them"
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match=message):
            fwAD.unpack_dual(CubeOnArrays.apply(fwAD.make_dual(x, t) * 2))
    with pytest.raises(RuntimeError, match=message):
        tg.func.jvp(CubeOnArrays.apply, (x,), (t,))
    with pytest.raises(RuntimeError, match=message):
        tg.func.jacfwd(CubeOnArrays.apply)(x)
    xr = x.detach().requires_grad_()  # (reverse mode, double backward included, is as before)
    g, = tg.autograd.grad(CubeOnArrays.apply(xr).sum(), xr, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.numpy() ** 2, rtol=1e-12)
    _, jt = tg.func.jvp(Cube.apply, (x,), (t,))
    np.testing.assert_allclose(jt.numpy(), 3 * x.numpy() ** 2 * t.numpy(), rtol=1e-12)
    # (a gradient read off an unused output's materialized zeros alone is no sign of a backward on arrays)
    _, jt = tg.func.jvp(lambda a, b: TwoOutputs.apply(a, b)[0], (x, x * 2), (t, t))
    np.testing.assert_allclose(jt.numpy(), 2 * t.numpy(), rtol=1e-12)


class TwoOutputs(tg.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2, b * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2, gb * 3


def test_gradient_hooks_do_not_run_saved_tensor_hooks_do(device):
    x = tg.tensor(rand(3), device=device, requires_grad=True)
    t = tg.tensor(rand(3), device=device)
    calls = []
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        with tg.autograd.graph.saved_tensors_hooks(lambda a: calls.append("pack") or a,
                                                   lambda a: calls.append("unpack") or a):
            y = d.sin() * 2
        y.retain_grad()
        handle = y.register_hook(lambda g: calls.append("hook") or g * 10)
        d.register_hook(lambda g: calls.append("dual hook") or g * 10)
        for _ in range(2):  # (the graph stays: it may be asked again)
            tangent = fwAD.unpack_dual(y * 3).tangent
            np.testing.assert_allclose(tangent.numpy(), 6 * np.cos(x.numpy()) * t.numpy(), rtol=1e-12)
        assert "hook" not in calls and "dual hook" not in calls and "unpack" in calls
        assert y.grad is None and x.grad is None
        handle.remove()  # (the hooks are back, their handles still work)
        (y * 3).sum().backward()
    assert calls.count("dual hook") == 1 and "hook" not in calls
    np.testing.assert_allclose(x.grad.numpy(), 60 * np.cos(x.numpy()), rtol=1e-12)


def test_fused_and_reference_recurrences_match_torch():
    """The double-vjp trick through the layers and cells, fused (whose create_graph backward recomputes the
    composed equations) or not, gives torch's tangents."""
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    tg.manual_seed(0)
    x, t = rand(5, 2, 3), rand(2, 5, 3).transpose(1, 0, 2).copy()
    for cls, steps in (("LSTM", x), ("GRU", x), ("RNN", x), ("LSTMCell", x[0]), ("GRUCell", x[0])):
        tangent = t if steps is x else t[0]
        theirs = getattr(torch.nn, cls)(3, 4).double()
        with tfw.dual_level():
            want = tfw.unpack_dual(theirs(tfw.make_dual(torch.tensor(steps), torch.tensor(tangent)))[0]).tangent
        for fused in (True, False):
            ours = getattr(tg.nn, cls)(3, 4, fused=fused).double()
            ours.load_state_dict(theirs.state_dict())
            with fwAD.dual_level():
                got = fwAD.unpack_dual(ours(fwAD.make_dual(tg.tensor(steps), tg.tensor(tangent)))[0]).tangent
            assert got.requires_grad and want.requires_grad  # (it depends on the layer's weights)
            np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def errors(mod, lib):
    """(what was raised, its message) for each misuse, by torch's forward_ad (mod) or ours."""
    x = lib.tensor(np.arange(3.0))
    out = []

    def attempt(f):
        try:
            f()
            out.append(None)
        except Exception as e:  # noqa: BLE001  (any type: compared with torch's)
            out.append((type(e).__name__, str(e)))
    attempt(lambda: mod.make_dual(x, x))
    attempt(lambda: mod.exit_dual_level())
    with mod.dual_level():
        attempt(lambda: mod.make_dual(x, lib.tensor(np.zeros(4))))
        attempt(lambda: mod.make_dual(lib.tensor([1, 2]), lib.tensor([1, 2])))
        attempt(lambda: mod.make_dual(x, lib.tensor([1, 2, 3])))
        attempt(mod.enter_dual_level)
        attempt(lambda: mod.make_dual(x, x, level=5))
        attempt(lambda: mod.exit_dual_level(level=3))
        d = mod.make_dual(x, x)
        attempt(lambda: mod.make_dual(d, x))
        attempt(lambda: mod.make_dual(d * 2, x))
        attempt(lambda: mod.unpack_dual(d, level=5))
        out.append(mod.unpack_dual(x, level=5).tangent)
    return out


def test_errors_match_torch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    ours, theirs = errors(fwAD, tg), errors(tfw, torch)
    for a, b in zip(ours, theirs):
        assert a == b
    assert fwAD._state.level == -1 and not tg.autograd.forward_ad._state.duals


def test_names_and_signatures_match_torch():
    pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    assert sorted(fwAD.__all__) == sorted(tfw.__all__)
    for name in ("make_dual", "unpack_dual", "enter_dual_level", "exit_dual_level"):
        ours, theirs = inspect.signature(getattr(fwAD, name)), inspect.signature(getattr(tfw, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
            (p.name, p.kind, p.default) for p in theirs.parameters.values()]
    assert fwAD.UnpackedDualTensor._fields == ("primal", "tangent")
    assert issubclass(fwAD.UnpackedDualTensor, tuple)


@pytest.mark.parametrize("f", [lambda x, w: (x @ w).tanh(), lambda x, w: tg.nn.functional.softmax(x[:, :2] * w[0], -1),
                               lambda x, w: x[:, 1:].exp().sum(0) * w[1, :2]])
def test_gradcheck_checks_forward_ad(device, f):
    x = tg.tensor(rand(3, 3), device=device, requires_grad=True)
    w = tg.tensor(rand(3, 2) + 0.1, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(f, (x, w), check_forward_ad=True)
    assert tg.autograd.gradcheck(f, (x, w), check_forward_ad=True, check_backward_ad=False)
