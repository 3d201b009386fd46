"""Gradient clipping, flat parameter vectors and conv/linear-batchnorm fusion (tinygrad_rnn.nn.utils) against numpy
and torch."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, fuse_conv_bn_eval,
                                  fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights, get_total_norm,
                                  parameters_to_vector, remove_spectral_norm, remove_weight_norm, skip_init,
                                  spectral_norm, vector_to_parameters, weight_norm)


def with_grads(grads, device="cpu"):
    """Leaf parameters whose .grad are copies of the given arrays."""
    params = []
    for g in grads:
        p = tg.tensor(np.zeros(g.shape, g.dtype), device=device, requires_grad=True)
        p.grad = tg.tensor(np.array(g), device=device)
        params.append(p)
    return params


def np_norm(grads, p):
    flat = np.concatenate([np.ravel(g) for g in grads]).astype(np.float64)
    with np.errstate(divide="ignore"):  # a negative p meets 0 ** p = inf
        return np.linalg.norm(flat, ord=p)


grad_lists = st.lists(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
               elements=st.floats(-100, 100, allow_nan=False, allow_subnormal=False)),
    min_size=1, max_size=4)


@given(grads=grad_lists, max_norm=st.floats(0.01, 50),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, 0.5, math.inf, -1.0, -math.inf]))
def test_clip_grad_norm_matches_numpy(grads, max_norm, norm_type):
    params = with_grads(grads)
    arrays = [p.grad.array for p in params]
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    want = np_norm(grads, norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == () and not total.requires_grad
    np.testing.assert_allclose(total.item(), want, rtol=1e-9, atol=1e-12)
    coef = min(1.0, max_norm / (want + 1e-6))
    for p, g, a in zip(params, grads, arrays):
        assert p.grad.array is a, "gradients are scaled in place"
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-9, atol=1e-12)
    assert np_norm([p.grad.numpy() for p in params], norm_type) <= max_norm * (1 + 1e-9) or coef == 1.0


@given(groups=st.lists(grad_lists, min_size=1, max_size=3), max_norm=st.floats(0.01, 50),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf, -math.inf]))
def test_total_norm_over_groups_then_clip_with_it(groups, max_norm, norm_type):
    """torch 2.6's split of clip_grad_norm_: get_total_norm of each group's gradients, the norm of those norms as
    the total (the norm of everything joined), then clip_grads_with_norm_ scales each group by the one total."""
    params = [with_grads(g) for g in groups]
    per_group = [get_total_norm([p.grad for p in ps], norm_type) for ps in params]
    total = get_total_norm(per_group, norm_type, foreach=True)
    want = np_norm([g for gs in groups for g in gs], norm_type)
    np.testing.assert_allclose(total.item(), want, rtol=1e-9, atol=1e-12)
    for ps in params:
        clip_grads_with_norm_(ps, max_norm, total)
    coef = min(1.0, max_norm / (want + 1e-6))
    for ps, gs in zip(params, groups):
        for p, g in zip(ps, gs):
            np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-9, atol=1e-12)


def test_total_norm_of_no_tensors_is_a_0_of_the_default_dtype(float64_default):
    """torch.nn.utils.get_total_norm([]) is torch.tensor(0.0): of the default dtype (it was float32 always)."""
    total = get_total_norm([])
    assert total.dtype == np.float64 and total.item() == 0.0 and clip_grad_norm_([], 1.0).dtype == np.float64


def test_total_norm_and_clip_with_norm_match_torch_and_refuse_bad_input():
    (a,) = with_grads([np.array([3.0, 4.0])])
    with pytest.raises(TypeError, match="clip_grads_with_norm_: total_norm must be a one-element Tensor"):
        clip_grads_with_norm_([a], 1.0, 5.0)
    with pytest.raises(ValueError, match="clip_grads_with_norm_: max_norm must be >= 0"):
        clip_grads_with_norm_([a], -1.0, tg.tensor(5.0))
    with pytest.raises(RuntimeError, match="get_total_norm: the total norm of order 2.0 of the gradients is inf"):
        get_total_norm([tg.tensor([np.inf])], error_if_nonfinite=True)
    assert get_total_norm([]).item() == 0.0 and clip_grad_norm_([a], 1.0, foreach=False).item() == 5.0
    torch = pytest.importorskip("torch")
    g = [np.array([1.0, -2.0]), np.array([[3.0]])]
    for p in (2.0, 1.0, math.inf):
        ours = get_total_norm([tg.tensor(x) for x in g], p)
        np.testing.assert_allclose(ours.item(), torch.nn.utils.get_total_norm([torch.tensor(x) for x in g], p).item())


def test_clip_grad_norm_by_hand(device):
    a, b = with_grads([np.array([3.0, 0.0], np.float32), np.array([[4.0]], np.float32)], device)
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total.dtype == np.float32 and total.device == device
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [[0.8]], rtol=1e-5)
    assert a.grad.dtype == np.float32
    assert clip_grad_norm_([a, b], max_norm=10.0).item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)


def test_clip_grad_norm_inf_norm():
    a, b = with_grads([np.array([1.0, -7.0]), np.array([2.0])])
    assert clip_grad_norm_([a, b], 3.5, norm_type="inf").item() == 7.0
    np.testing.assert_allclose(a.grad.numpy(), [0.5, -3.5], rtol=1e-6)


def test_clip_grad_norm_single_tensor_skips_missing_and_empty():
    (a,) = with_grads([np.array([6.0, 8.0])])
    b = tg.ones(3, requires_grad=True)
    assert clip_grad_norm_(a, 5.0).item() == pytest.approx(10.0)
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0], rtol=1e-6)
    assert clip_grad_norm_([b], 1.0).item() == 0.0
    assert b.grad is None
    assert clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    a, b = with_grads([np.array([1.0, np.inf]), np.array([1.0])])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 .* is inf"):
        clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0])
    (c,) = with_grads([np.array([np.nan])])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_(c, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_([a, b], 1.0).item())


def test_clip_grad_norm_with_backward():
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (w * w).sum().backward()
    total = clip_grad_norm_([w], 1.0)
    assert total.item() == pytest.approx(2 * math.sqrt(30), rel=1e-6)
    assert np.linalg.norm(w.grad.numpy()) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("kw, match", [
    (dict(max_norm=-1.0), "max_norm must be >= 0"),
    (dict(max_norm=1.0, norm_type=math.nan), "norm_type must be a number"),
])
def test_clip_grad_norm_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        clip_grad_norm_(with_grads([np.ones(2)]), **kw)
    with pytest.raises(TypeError, match="item 1 is a ndarray"):
        clip_grad_norm_([tg.ones(1), np.ones(1)], 1.0)


@given(grads=grad_lists, clip=st.floats(0, 50))
def test_clip_grad_value(grads, clip):
    params = with_grads(grads)
    arrays = [p.grad.array for p in params]
    assert clip_grad_value_(params, clip) is None
    for p, g, a in zip(params, grads, arrays):
        assert p.grad.array is a
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -clip, clip))


def test_clip_grad_value_single_tensor_and_errors(device):
    (a,) = with_grads([np.array([-3.0, 0.5, 2.0], np.float32)], device)
    clip_grad_value_(a, 1)
    np.testing.assert_array_equal(a.grad.numpy(), np.array([-1.0, 0.5, 1.0], np.float32))
    assert a.grad.dtype == np.float32
    clip_grad_value_([tg.ones(2, requires_grad=True)], 1.0)
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be >= 0, got -1.0"):
        clip_grad_value_(a, -1)


def test_clip_grad_value_refuses_complex_gradients_as_torch(device):
    """numpy's clip orders complex numbers by their real parts, so a complex gradient was clipped silently wrong
    ([3+4j] to [1+0j]); torch's clamp refuses complex types, and so does this now (a NotImplementedError)."""
    z = tg.tensor(np.array([3 + 4j, -0.5 + 0.3j]), requires_grad=True, device=device)
    (z * z.conj()).real.sum().backward()
    before = z.grad.numpy().copy()
    with pytest.raises(tg.ComplexNotSupportedError, match="clip_grad_value_: clamp is not supported for complex"):
        clip_grad_value_([z], 1.0)
    np.testing.assert_array_equal(z.grad.numpy(), before)


@given(shapes=st.lists(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), min_size=1, max_size=4))
def test_vector_round_trip(shapes):
    rng = np.random.default_rng(len(shapes))
    values = [rng.standard_normal(s) for s in shapes]
    params = [tg.tensor(np.array(v), requires_grad=True) for v in values]
    vec = parameters_to_vector(params)
    want = np.concatenate([v.ravel() for v in values])
    assert vec.shape == (want.size,) and vec.dtype == np.float64
    np.testing.assert_array_equal(vec.numpy(), want)
    new = [tg.zeros(s, dtype=np.float64, requires_grad=True) for s in shapes]
    data = [p.array for p in new]
    vector_to_parameters(vec * 2, new)
    for p, v, d in zip(new, values, data):
        assert p.array is d and p.shape == v.shape
        np.testing.assert_array_equal(p.numpy(), 2 * v)


def test_parameters_to_vector_is_differentiable(device):
    a = tg.tensor(np.arange(6.0).reshape(2, 3), device=device, requires_grad=True)
    b = tg.tensor([10.0, 20.0], device=device, requires_grad=True)
    w = tg.tensor(np.arange(8.0), device=device)
    (parameters_to_vector([a, b]) * w).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b.grad.numpy(), [6.0, 7.0])


def test_vector_to_parameters_keeps_dtype_and_checks_size():
    p = tg.zeros(2, 2, dtype=np.float32, requires_grad=True)
    vector_to_parameters(tg.tensor(np.arange(4.0)), p)
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p.numpy(), [[0, 1], [2, 3]])
    with pytest.raises(ValueError, match=r"vec has shape \(5,\), expected \(4,\)"):
        vector_to_parameters(tg.zeros(5), [p])
    with pytest.raises(TypeError, match="vec must be a Tensor"):
        vector_to_parameters(np.zeros(4), [p])
    with pytest.raises(ValueError, match="got no parameters"):
        parameters_to_vector([])


@pytest.mark.filterwarnings("ignore:Casting complex values to real:UserWarning")  # (torch's own _foreach_norm)
def test_complex_gradients_norm_and_clip_as_torchs(device):
    """get_total_norm, clip_grad_norm_ and clip_grads_with_norm_ take complex gradients as torch's: each element
    counts by its modulus, and the real scale multiplies both parts."""
    torch = pytest.importorskip("torch")
    grads = [np.array([3 + 4j, -0.2 + 5j, 0.1j]), np.array([[2.0, -3.0], [0.5, 0.0]]), np.array(1 - 1j)]
    for norm_type in (2.0, 1.0, 3.0, math.inf, 0.0):
        ours = get_total_norm([tg.tensor(g, device=device) for g in grads], norm_type)
        want = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type)
        np.testing.assert_allclose(ours.numpy(), want.numpy(), rtol=1e-12)
        params, tparams = with_grads(grads, device), []
        for g in grads:
            t = torch.zeros(g.shape, dtype=torch.tensor(g).dtype, requires_grad=True)
            t.grad = torch.tensor(g)
            tparams.append(t)
        total = clip_grad_norm_(params, 1.5, norm_type)
        np.testing.assert_allclose(total.numpy(), torch.nn.utils.clip_grad_norm_(tparams, 1.5, norm_type).numpy(),
                                   rtol=1e-12)
        for p, t in zip(params, tparams):
            assert p.grad.dtype == t.grad.numpy().dtype
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_parameters_to_vector_complex_as_torchs(device):
    """parameters_to_vector of complex and real parameters is a complex vector (cat's promotion), with torch's
    gradients (a real parameter gets the real part); vector_to_parameters writes it back, a complex slice into a
    real parameter keeping the real parts with torch's copy_ warning (torch's makes that parameter complex)."""
    torch = pytest.importorskip("torch")
    z, x = np.array([[1 + 2j, -3 + 0.5j]]), np.array([1.0, 2.0, -1.0])
    w = np.array([1, 2j, 3, 4 - 1j, 0.5 + 0.5j])
    out = []
    for lib, kw in ((tg, {"device": device}), (torch, {})):
        a, b = lib.tensor(z, requires_grad=True, **kw), lib.tensor(x, requires_grad=True, **kw)
        vec = lib.nn.utils.parameters_to_vector([a, b])
        (vec * lib.tensor(w, **kw)).real.sum().backward()
        out.append([vec.detach().cpu().numpy() if lib is tg else vec.detach().numpy(), a.grad.cpu().numpy()
                    if lib is tg else a.grad.numpy(), b.grad.cpu().numpy() if lib is tg else b.grad.numpy()])
    for ours, theirs in zip(*out):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    a = tg.zeros(1, 2, dtype=tg.complex128, device=device, requires_grad=True)
    b = tg.zeros(3, dtype=tg.float64, device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary part"):
        vector_to_parameters(tg.tensor(w, device=device), [a, b])
    np.testing.assert_array_equal(a.numpy(), w[None, :2])
    assert b.dtype == np.float64
    np.testing.assert_array_equal(b.numpy(), w[2:].real)


def test_convert_parameters_is_torchs_submodule_of_the_same_functions():
    from tinygrad_rnn.nn.utils import convert_parameters
    assert convert_parameters.parameters_to_vector is parameters_to_vector
    assert convert_parameters.vector_to_parameters is vector_to_parameters


def _eval_bn(nd, n, affine, device="cpu", dtype=np.float64):
    bn = getattr(nn, f"BatchNorm{nd}d")(n, affine=affine, eps=1e-3, dtype=dtype, device=device)
    rng = np.random.default_rng(n)
    bn.running_mean.array[...] = rng.standard_normal(n)
    bn.running_var.array[...] = rng.uniform(0.5, 2.0, n)
    if affine:
        bn.weight.array[...], bn.bias.array[...] = rng.standard_normal(n), rng.standard_normal(n)
    return bn.eval()


@pytest.mark.parametrize("make, transpose, shape", [
    (lambda d: nn.Conv2d(3, 4, 3, dtype=np.float64, device=d), False, (2, 3, 5, 6)),
    (lambda d: nn.Conv1d(3, 4, 2, bias=False, stride=2, dtype=np.float64, device=d), False, (2, 3, 7)),
    (lambda d: nn.ConvTranspose2d(3, 4, 2, stride=2, dtype=np.float64, device=d), True, (2, 3, 4, 5)),
    (lambda d: nn.ConvTranspose1d(2, 4, 3, bias=False, dtype=np.float64, device=d), True, (2, 2, 5))])
@pytest.mark.parametrize("affine", [True, False])
def test_fuse_conv_bn_eval_computes_bn_of_conv_in_a_new_module(device, make, transpose, shape, affine):
    conv = make(device).eval()
    bn = _eval_bn(len(shape) - 2, 4, affine, device)
    before = {k: v.numpy().copy() for k, v in conv.state_dict().items()}
    fused = fuse_conv_bn_eval(conv, bn, transpose)
    assert type(fused) is type(conv) and fused is not conv and fused.weight.device == device
    assert isinstance(fused.weight, nn.Parameter) and isinstance(fused.bias, nn.Parameter)
    assert fused.weight.requires_grad and fused.bias.requires_grad == (conv.bias is not None)  # (as torch's)
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in conv.state_dict().items())
    x = tg.tensor(np.random.default_rng(1).standard_normal(shape), device=device)
    np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("features", [4, 1])
def test_fuse_linear_bn_eval_computes_bn_of_linear(device, bias, features):
    linear = nn.Linear(3, 4, bias=bias, dtype=np.float64, device=device).eval()
    bn = _eval_bn(1, features, True, device)
    fused = fuse_linear_bn_eval(linear, bn)
    x = tg.tensor(np.random.default_rng(2).standard_normal((5, 3)), device=device)
    np.testing.assert_allclose(fused(x).numpy(), bn(linear(x).reshape(-1, features)).reshape(5, 4).numpy(),
                               atol=1e-12)
    assert fused is not linear and fused.bias.requires_grad == bias and (linear.bias is None) == (not bias)


def test_fusion_matches_torch_and_refuses_training_modules():
    torch = pytest.importorskip("torch")
    from torch.nn.utils import fusion as tfusion
    rng = np.random.default_rng(3)
    conv_w, conv_b = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(4)
    rm, rv, g, b = rng.standard_normal(4), rng.uniform(0.5, 2, 4), rng.standard_normal(4), rng.standard_normal(4)
    for weights, bias, transpose in [(conv_w, conv_b, False), (conv_w, None, False), (conv_w.swapaxes(0, 1), None,
                                                                                      True)]:
        for bn_w, bn_b in [(g, b), (None, None)]:
            args = [weights, bias, rm, rv, 1e-3, bn_w, bn_b]
            ours = fuse_conv_bn_weights(*[tg.tensor(a, requires_grad=a is weights) if isinstance(a, np.ndarray)
                                          else a for a in args], transpose)
            theirs = tfusion.fuse_conv_bn_weights(*[torch.tensor(a, requires_grad=a is weights)
                                                    if isinstance(a, np.ndarray) else a for a in args], transpose)
            for o, t in zip(ours, theirs):
                np.testing.assert_allclose(o.numpy(), t.detach().numpy(), atol=1e-14)
                assert o.requires_grad == t.requires_grad and o.is_leaf
    lin_w = rng.standard_normal((4, 3)).astype(np.float32)
    for bias, stats in [(conv_b.astype(np.float32), (rm, rv, g, b)), (None, (rm[:1], rv[:1], g[:1], b[:1]))]:
        args = [lin_w, bias, *stats[:2], 1e-5, *stats[2:]]
        ours = fuse_linear_bn_weights(*[tg.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        theirs = tfusion.fuse_linear_bn_weights(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        for o, t in zip(ours, theirs):
            assert o.dtype == np.float32 and o.shape == tuple(t.shape)
            np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-6)
    with pytest.raises(AssertionError, match="fuse_conv_bn_eval: fusion only for eval"):
        fuse_conv_bn_eval(nn.Conv1d(2, 3, 1), _eval_bn(1, 3, True))
    with pytest.raises(AssertionError, match="fuse_linear_bn_eval: fusion only for eval"):
        fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(3))
    with pytest.raises(AssertionError, match="bn.running_mean and bn.running_var must not be None"):
        fuse_conv_bn_eval(nn.Conv1d(2, 3, 1).eval(), nn.BatchNorm1d(3, track_running_stats=False).eval())
    with pytest.raises(AssertionError, match="linear.out_features=4 and bn.num_features=3"):
        fuse_linear_bn_eval(nn.Linear(2, 4).eval(), _eval_bn(1, 3, True))


def test_skip_init_builds_the_module_without_running_nn_init():
    tg.manual_seed(0)
    expected = tg.randn(3).numpy()
    tg.manual_seed(0)
    m = skip_init(nn.Linear, 4, 5, bias=False, dtype=tg.float64)
    np.testing.assert_array_equal(tg.randn(3).numpy(), expected)  # (no random draw was spent)
    assert m.weight.shape == (5, 4) and m.weight.dtype == np.float64 and m.bias is None and m.weight.requires_grad
    lstm = skip_init(nn.LSTM, 3, 4, num_layers=2)
    assert len(list(lstm.parameters())) == 8 and lstm(tg.randn(2, 1, 3))[0].shape == (2, 1, 4)
    assert np.abs(nn.init.uniform_(tg.zeros(3), 1.0, 2.0).numpy()).min() >= 1.0  # (nn.init is back)
    with pytest.raises(ValueError):
        skip_init(nn.Linear, 4, -1)
    assert np.abs(nn.init.uniform_(tg.zeros(3), 1.0, 2.0).numpy()).min() >= 1.0  # (back after an error too)
    with pytest.raises(RuntimeError, match="skip_init: expected a Module class"):
        skip_init(int)
    with pytest.raises(RuntimeError, match="skip_init: Sequential must take a 'device' argument"):
        skip_init(nn.Sequential)


def test_skip_init_skips_only_in_its_own_thread_and_restores_nn_init_after_overlapping_calls():
    import threading
    entered, release, seen = threading.Event(), threading.Event(), {}

    class Waits(nn.Module):  # (holds its skip_init open while the main thread builds and skips too)
        def __init__(self, device=None):
            super().__init__()
            entered.set()
            release.wait(5)

    def other():
        seen["m"] = skip_init(Waits)

    t = threading.Thread(target=other)
    t.start()
    assert entered.wait(5)
    seen["linear"] = nn.Linear(4, 5).weight.numpy().copy()  # (another thread's module is initialised)
    m = skip_init(nn.Linear, 4, 5)  # (ends while the other thread's skip_init is still open)
    release.set()
    t.join(5)
    assert np.abs(seen["linear"]).sum() > 0 and np.abs(m.weight.numpy()).sum() == 0
    assert np.abs(nn.init.uniform_(tg.zeros(3), 1.0, 2.0).numpy()).min() >= 1.0  # (nn.init is back for good)


def _torch_twin(torch, tmod, ours):
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    return ours


@pytest.mark.parametrize("dim", [0, 1, None, -2])
def test_weight_norm_matches_torch_values_and_gradients_of_g_and_v(dim):
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # (torch's old weight_norm is deprecated)
        t = torch.nn.Linear(4, 3).double()
        m = weight_norm(_torch_twin(torch, t, nn.Linear(4, 3, dtype=tg.float64)), dim=dim)
        torch.nn.utils.weight_norm(t, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_g", "weight_v"]
    np.testing.assert_allclose(m.weight_g.numpy(), t.weight_g.detach().numpy())  # (g from the weight's norms)
    with torch.no_grad():
        t.weight_g.mul_(1.7), t.weight_v.add_(0.3)
    _torch_twin(torch, t, m)
    x, w = np.random.default_rng(0).standard_normal((5, 4)), np.random.default_rng(1).standard_normal((5, 3))
    yt, ym = t(torch.tensor(x)), m(tg.tensor(x))
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), atol=1e-12)
    (yt * torch.tensor(w)).sum().backward()
    (ym * tg.tensor(w)).sum().backward()
    for n in ("weight_g", "weight_v", "bias"):
        np.testing.assert_allclose(m.get_parameter(n).grad.numpy(), t.get_parameter(n).grad.numpy(), atol=1e-12)
    torch.nn.utils.remove_weight_norm(t)
    assert remove_weight_norm(m) is m and list(m.state_dict()) == ["bias", "weight"]
    assert isinstance(m.weight, nn.Parameter) and not m._forward_pre_hooks
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), atol=1e-12)


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
@pytest.mark.parametrize("fused", [True, False])
def test_weight_norm_of_an_lstm_hidden_weight_reaches_the_recurrence(fused):
    """AWD-LSTM's weight-normalized weight_hh_l0: the layer reads the weight the hook recomputed each call."""
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        t = torch.nn.utils.weight_norm(torch.nn.LSTM(3, 4).double(), "weight_hh_l0")
    m = weight_norm(nn.LSTM(3, 4, dtype=tg.float64, fused=fused), "weight_hh_l0")
    x = np.random.default_rng(2).standard_normal((5, 2, 3))
    for _ in range(2):  # (the second call after g changed: the weight is recomputed, not kept)
        with torch.no_grad():
            t.weight_hh_l0_g.mul_(0.5)
        _torch_twin(torch, t, m)
        yt, ym = t(torch.tensor(x))[0], m(tg.tensor(x))[0]
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), atol=1e-12)
        (yt ** 2).sum().backward()
        (ym ** 2).sum().backward()
        for n, p in t.named_parameters():
            np.testing.assert_allclose(m.get_parameter(n).grad.numpy(), p.grad.numpy(), atol=1e-12)
            p.grad = None
        m.zero_grad()


def test_old_weight_norm_warns_as_torch_deprecated():
    """nn.utils.weight_norm is deprecated in torch (a FutureWarning naming parametrizations.weight_norm, before any
    check); a port written against it saw no warning here."""
    with pytest.warns(FutureWarning, match=r"^`torch.nn.utils.weight_norm` is deprecated in favor of "
                                           r"`torch.nn.utils.parametrizations.weight_norm`.$"):
        weight_norm(nn.Linear(2, 2))
    with pytest.warns(FutureWarning), pytest.raises(ValueError):
        weight_norm(nn.Linear(2, 2), "nope")


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_weight_norm_of_a_vector_and_its_errors():
    m = weight_norm(nn.LayerNorm(4, dtype=tg.float64))
    m.weight_v.array[...] = [1.0, -2.0, 3.0, 0.5]
    m(tg.zeros(1, 4, dtype=tg.float64))
    np.testing.assert_allclose(m.weight.numpy(), np.sign([1.0, -2.0, 3.0, 0.5]))  # (each element's own norm)
    with pytest.raises(RuntimeError, match="weight_norm: cannot register two weight_norm hooks on the same"):
        weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm: Linear has no parameter 'nope'"):
        weight_norm(nn.Linear(2, 2), "nope")
    with pytest.raises(ValueError, match=r"weight_norm: Linear has no parameter 'bias' \(it is None\)"):
        weight_norm(nn.Linear(2, 2, bias=False), "bias")
    with pytest.raises(IndexError, match="weight_norm: dim 5 is out of range"):
        weight_norm(nn.Linear(2, 2), dim=5)
    with pytest.raises(ValueError, match="remove_weight_norm: weight_norm of 'weight' not found in Linear"):
        remove_weight_norm(nn.Linear(2, 2))


@pytest.mark.parametrize("make, kw", [("Linear", {}), ("Linear", {"dim": 1, "n_power_iterations": 3}),
                                      ("ConvTranspose1d", {}), ("ConvTranspose2d", {})])
def test_spectral_norm_matches_torch_in_train_and_eval(make, kw):
    """Power iteration on the u, v buffers in training only; gradient through the weight with u, v held fixed."""
    torch = pytest.importorskip("torch")
    args = (4, 3) if make == "Linear" else (2, 3, 3)
    t, m = getattr(torch.nn, make)(*args).double(), getattr(nn, make)(*args, dtype=tg.float64)
    spectral_norm(_torch_twin(torch, t, m), **kw)
    torch.nn.utils.spectral_norm(t, **kw)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert m.weight_u.shape == tuple(t.weight_u.shape) and m.weight_v.shape == tuple(t.weight_v.shape)
    _torch_twin(torch, t, m)  # (torch's random u, v)
    shapes = {"Linear": (5, 4), "ConvTranspose1d": (2, 2, 6), "ConvTranspose2d": (2, 2, 4, 5)}
    x = np.random.default_rng(3).standard_normal(shapes[make])
    for mode in ("train", "train", "eval"):
        getattr(t, mode)(), getattr(m, mode)()
        yt, ym = t(torch.tensor(x)), m(tg.tensor(x))
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), atol=1e-12)
        for n in ("weight_u", "weight_v"):
            np.testing.assert_allclose(m.get_buffer(n).numpy(), t.get_buffer(n).numpy(), atol=1e-12)
        (yt ** 2).sum().backward()
        (ym ** 2).sum().backward()
        np.testing.assert_allclose(m.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), atol=1e-12)
        t.weight_orig.grad, m.weight_orig.grad = None, None
    torch.nn.utils.remove_spectral_norm(t)
    assert remove_spectral_norm(m) is m and list(m.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), atol=1e-12)


def test_spectral_norm_converges_to_the_largest_singular_value_and_checks_arguments():
    m = spectral_norm(nn.Linear(6, 5, dtype=tg.float64), n_power_iterations=50)
    assert abs(np.linalg.norm(m.weight_u.numpy()) - 1) < 1e-12
    m(tg.zeros(1, 6, dtype=tg.float64))
    assert abs(np.linalg.norm(m.weight.numpy(), 2) - 1) < 1e-9
    with pytest.raises(RuntimeError, match="spectral_norm: cannot register two spectral_norm hooks"):
        spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm: expected n_power_iterations to be positive, got 0"):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="spectral_norm: Linear has no parameter 'bias'"):
        spectral_norm(nn.Linear(2, 2, bias=False), "bias")
    with pytest.raises(IndexError, match="spectral_norm: dim 3 is out of range"):
        spectral_norm(nn.Linear(2, 2), dim=3)
    with pytest.raises(ValueError, match="remove_spectral_norm: spectral_norm of 'weight' not found in Linear"):
        remove_spectral_norm(nn.Linear(2, 2))
