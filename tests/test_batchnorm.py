"""F.batch_norm and nn.BatchNorm1d.

Training mode against numpy from the definition (the batch's mean and biased variance over every dim but the
channel dim, running statistics moved by momentum with the unbiased variance, or averaged when momentum is None),
eval mode against the running statistics, gradients and second derivatives against central differences in float64
over hypothesis shapes ((N, C) and (N, C, L)). Torch-gated tests run our module and torch's side by side over
several steps, both modes and every option, and move state dicts both ways.
"""
import inspect
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from strategies import arrays, check_op, tensor, with_fixtures
from tinygrad_rnn import nn

EPS = 1e-5


def normalize_ref(x, mean, var, w=None, b=None, eps=EPS):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    y = y if w is None else y * w.reshape(shape)
    return y if b is None else y + b.reshape(shape)


def batch_stats(x):
    """The batch's per-channel mean, biased and unbiased variance, over every dim but 1."""
    dims = (0,) + tuple(range(2, x.ndim))
    return x.mean(dims), x.var(dims), x.var(dims, ddof=1)


batch_shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.sampled_from([None, 1, 2, 3])).filter(
    lambda s: s[0] * (s[2] or 1) > 1).map(lambda s: s[:2] if s[2] is None else s)


@with_fixtures
@given(shape=batch_shapes, affine=st.booleans(), momentum=st.sampled_from([0.1, 0.5, 1.0]), data=st.data())
def test_training_mode_normalizes_by_the_batch_and_moves_the_running_stats(device, shape, affine, momentum, data):
    x = data.draw(arrays(shape), label="x")
    c = shape[1]
    w, b = data.draw(arrays((c,), 0.5, 1.5), label="w"), data.draw(arrays((c,)), label="b")
    mean, var, unbiased = batch_stats(x)
    r_mean, r_var = tensor(np.linspace(-1, 1, c), device, False), tensor(np.linspace(1, 2, c), device, False)
    y = F.batch_norm(tensor(x, device), r_mean, r_var, tensor(w, device), tensor(b, device), True, momentum)
    np.testing.assert_allclose(y.numpy(), normalize_ref(x, mean, var, w, b), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(r_mean.numpy(), (1 - momentum) * np.linspace(-1, 1, c) + momentum * mean, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(r_var.numpy(), (1 - momentum) * np.linspace(1, 2, c) + momentum * unbiased, rtol=1e-12,
                               atol=1e-12)
    if affine:
        check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                 lambda x, w, b: normalize_ref(x, mean, var, w, b), [x, w, b], device, gradgrad=True, rtol=1e-9,
                 atol=1e-9)
    else:
        check_op(lambda x: F.batch_norm(x, None, None, training=True), lambda x: normalize_ref(x, mean, var), [x],
                 device, gradgrad=True, rtol=1e-9, atol=1e-9)


@with_fixtures
@given(shape=batch_shapes, data=st.data())
def test_eval_mode_normalizes_by_the_running_stats(device, shape, data):
    x = data.draw(arrays(shape), label="x")
    c = shape[1]
    r_mean, r_var = data.draw(arrays((c,)), label="mean"), data.draw(arrays((c,), 0.5, 2.0), label="var")
    w, b = data.draw(arrays((c,), 0.5, 1.5), label="w"), data.draw(arrays((c,)), label="b")
    running = [tensor(r_mean, device, False), tensor(r_var, device, False)]
    check_op(lambda x, w, b: F.batch_norm(x, *running, w, b, eps=0.01), lambda x, w, b: normalize_ref(
        x, r_mean, r_var, w, b, 0.01), [x, w, b], device, gradgrad=True)
    np.testing.assert_array_equal(running[0].numpy(), r_mean)  # (not moved)


def test_module_buffers_state_dict_and_repr():
    bn = nn.BatchNorm1d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [k for k, _ in bn.named_parameters()] == ["weight", "bias"]
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [0.0] * 3
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.dtype == np.int64
    assert not bn.running_mean.requires_grad
    bn.double()
    assert bn.running_var.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    bare = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bare.state_dict()) == [] and bare.running_mean is None and bare.weight is None
    assert list(nn.BatchNorm1d(2, bias=False).state_dict())[:2] == ["weight", "running_mean"]
    assert repr(bn) == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.BatchNorm1d(4, momentum=None, affine=False, track_running_stats=False)) == (
        "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=False)")


@pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm1d])
def test_old_state_dict_without_num_batches_tracked_loads_as_torch(cls):
    """torch's _NormBase is version 2 (it added num_batches_tracked): a state dict of an older version, or one
    without '_metadata' (made by hand), that lacks the key keeps the module's own count; a version-2 one misses it."""
    m = cls(2, affine=True, track_running_stats=True)
    m.num_batches_tracked.fill_(4)
    assert nn.Sequential(m).state_dict()._metadata["0"] == {"version": 2}
    values = {"weight": np.full(2, 3.0), "bias": np.zeros(2), "running_mean": np.full(2, 0.5),
              "running_var": np.ones(2)}
    assert not m.load_state_dict(values).missing_keys
    assert m.running_mean.tolist() == [0.5, 0.5] and m.weight.tolist() == [3.0, 3.0]
    assert m.num_batches_tracked.item() == 4
    old = OrderedDict(values)
    old._metadata = {"": {"version": 1}}
    assert not m.load_state_dict(old).missing_keys and m.num_batches_tracked.item() == 4
    new = OrderedDict(values)
    new._metadata = {"": {"version": 2}}
    with pytest.raises(Exception, match="num_batches_tracked"):
        m.load_state_dict(new)


def test_module_counts_batches_and_averages_them_when_momentum_is_none():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(2, momentum=None, dtype=tg.float64)
    batches = [rng.standard_normal((4, 2, 3)) * (i + 1) + i for i in range(3)]
    for x in batches:
        bn(tensor(x))
    stats = [batch_stats(x) for x in batches]
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([m for m, _, _ in stats], 0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([u for _, _, u in stats], 0), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 3
    bn.eval()
    x = rng.standard_normal((2, 2))  # (N, C) in eval: the running stats, nothing moves
    np.testing.assert_allclose(bn(tensor(x)).numpy(), normalize_ref(x, bn.running_mean.numpy(),
                                                                     bn.running_var.numpy()), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 3
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and bn.running_var.tolist() == [1.0, 1.0]


def test_module_without_running_stats_uses_the_batch_in_both_modes():
    bn = nn.BatchNorm1d(3, track_running_stats=False, dtype=tg.float64).eval()
    x = np.random.default_rng(1).standard_normal((5, 3))
    mean, var, _ = batch_stats(x)
    np.testing.assert_allclose(bn(tensor(x)).numpy(), normalize_ref(x, mean, var), rtol=1e-10)
    tracked = nn.BatchNorm1d(3, dtype=tg.float64)
    tracked.train()(tensor(x))
    tracked.eval()(tensor(x))
    np.testing.assert_allclose(tracked.running_mean.numpy(), 0.1 * mean, rtol=1e-12)


def test_module_on_device(device):
    bn = nn.BatchNorm1d(3, device=device)
    x = tg.randn(4, 3, 5, device=device, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.device == bn.running_mean.device == bn.num_batches_tracked.device == device
    assert bn.weight.grad.device == device and x.grad.shape == x.shape and bn.num_batches_tracked.item() == 1


def test_errors_name_the_op_and_shapes():
    bn = nn.BatchNorm1d(3)
    cases = [
        (lambda: bn(tg.zeros(1, 3)), ValueError,
         r"batch_norm: expected more than 1 value per channel when training, got input of shape \(1, 3\)"),
        (lambda: bn(tg.zeros(1, 3, 1)), ValueError, r"more than 1 value per channel when training, got input of shape "
                                                    r"\(1, 3, 1\)"),
        (lambda: bn(tg.zeros(3)), ValueError, r"BatchNorm1d: expected a 2-d \(N, C\) or 3-d \(N, C, L\) input, got "
                                              r"shape \(3,\)"),
        (lambda: bn(tg.zeros(2, 3, 4, 5)), ValueError, r"BatchNorm1d: expected a 2-d"),
        (lambda: bn(tg.zeros(2, 4)), ValueError, r"batch_norm: running_mean must have shape \(4,\), one value per "
                                                 r"channel \(dim 1\) of the input \(2, 4\), got \(3,\)"),
        (lambda: bn(tg.zeros(2, 3, dtype=tg.float64)), TypeError,
         "batch_norm: input is torch.float64, weight torch.float32, bias torch.float32, running_mean torch.float32, "
         "running_var torch.float32; they must share one dtype"),
        (lambda: F.batch_norm(tg.zeros(2, 3), tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64)), TypeError,
         "batch_norm: input is torch.float32, running_mean torch.float64, running_var torch.float64; they must share"),
        (lambda: F.batch_norm(tg.randn(2, 3), tg.zeros(3), tg.ones(3), training=True, momentum=None), TypeError,
         r"batch_norm: momentum must be a real number, got None \(NoneType\)"),
        (lambda: nn.BatchNorm1d(3, momentum="0.1"), TypeError, "BatchNorm1d: momentum must be a real number, got '0.1'"),
        (lambda: F.batch_norm(tg.zeros(2, 3), tg.zeros(3), tg.ones(3), eps=-1), ValueError,
         "batch_norm: eps must be >= 0, got -1"),
        (lambda: nn.BatchNorm1d(3, eps="a"), TypeError, "BatchNorm1d: eps must be a real number"),
        (lambda: F.batch_norm(tg.zeros(2, 3), None, None), ValueError,
         "batch_norm: running_mean and running_var are needed when training=False"),
        (lambda: F.batch_norm(tg.zeros(3), None, None, training=True), ValueError,
         r"batch_norm: expected an input of at least 2 dims \(N, C, ...\), got shape \(3,\)"),
        (lambda: bn([[1.0, 2.0, 3.0]]), TypeError, "BatchNorm1d: input must be a Tensor, got list"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()
    assert bn.num_batches_tracked.item() == 4  # (as torch, counted before the statistics are checked)
    bn.eval()(tg.zeros(1, 3))  # one sample is fine in eval mode


def test_an_empty_batch_trains_to_an_empty_output():
    """As torch: an empty batch in training gives an empty output and zero parameter gradients, counts a batch and
    leaves the running statistics as they were (their mean over nothing would be nan)."""
    bn = nn.BatchNorm1d(3, dtype=tg.float64)
    with tg.no_grad():
        bn.running_mean.fill_(2.0)
    for shape in ((0, 3), (0, 3, 4), (2, 3, 0)):
        x = tg.zeros(*shape, dtype=tg.float64, requires_grad=True)
        y = bn(x)
        (y.sum() + bn.weight.sum()).backward()
        assert y.shape == shape and x.grad.shape == shape
    np.testing.assert_array_equal(bn.weight.grad.numpy(), [3.0, 3.0, 3.0])  # (only the + weight.sum() term)
    assert bn.running_mean.tolist() == [2.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.num_batches_tracked.item() == 3


# ----------------------------------------------------------------------------- against torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", [{}, {"momentum": None}, {"momentum": 0.5, "eps": 1e-3}, {"affine": False},
                                     {"track_running_stats": False}, {"bias": False}])
def test_module_matches_torch_over_training_steps_and_eval(dtype, options):
    torch = pytest.importorskip("torch")
    rng, tol = np.random.default_rng(2), {"float64": 1e-10, "float32": 2e-5}[dtype]
    ours = nn.BatchNorm1d(4, dtype=getattr(tg, dtype), **options)
    if "bias" in options and "bias" not in inspect.signature(torch.nn.BatchNorm1d).parameters:  # (torch 2.11)
        theirs = torch.nn.BatchNorm1d(4, dtype=getattr(torch, dtype))
        theirs.register_parameter("bias", None)  # (what bias=False makes: a weight and no bias)
    else:
        theirs = torch.nn.BatchNorm1d(4, dtype=getattr(torch, dtype), **options)
    if ours.weight is not None:
        with tg.no_grad():
            ours.weight.copy_(rng.uniform(0.5, 1.5, 4))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    for step, shape in enumerate([(8, 4, 5), (3, 4), (2, 4, 1), (6, 4, 3), (5, 4)] * 2):
        if step == 5:
            ours.eval(), theirs.eval()
        x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
        xs, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(xs), theirs(tx)
        r = rng.standard_normal(shape).astype(dtype)
        (y * tg.tensor(r)).sum().backward()
        (ty * torch.tensor(r)).sum().backward()
        pairs = [(y, ty), (xs.grad, tx.grad)] + [(p.grad, q.grad) for p, q in zip(ours.parameters(),
                                                                                 theirs.parameters())]
        pairs += list(zip(ours.state_dict().values(), theirs.state_dict().values()))
        for a, t in pairs:
            np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=tol, atol=tol, err_msg=f"step {step}")
        ours.zero_grad()
        theirs.zero_grad()


def test_state_dicts_move_both_ways_with_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm1d(3)
    theirs(torch.randn(4, 3) * 2 + 1)
    ours = nn.BatchNorm1d(3)
    ours.load_state_dict(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k].numpy(), v.numpy())
    assert ours.num_batches_tracked.item() == 1 and ours.num_batches_tracked.dtype == np.int64
    ours(tg.randn(5, 3))
    back = torch.nn.BatchNorm1d(3)
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    assert back.num_batches_tracked.item() == 2 and back.num_batches_tracked.dtype == torch.int64
    np.testing.assert_array_equal(back.running_var.numpy(), ours.running_var.numpy())


@pytest.mark.parametrize("training", [True, False])
def test_float16_computes_in_float32_and_rounds_once(device, training):
    """As torch's half kernel: in float16 the squares of the centered values overflowed past 256, so channels of
    magnitude ~1e3 normalized to wrong values (var inf, or rounded) and ~6e4 to nan. The output and gradients are
    float16 and equal the float32 computation rounded to float16; the running statistics stay float16 and move
    as the float32 ones rounded."""
    rng = np.random.default_rng(0)
    v = (rng.standard_normal((6, 4, 3)) * np.array([1.0, 300.0, 3e4, 1e-3])[:, None]).astype(np.float16)
    w, b = rng.uniform(0.5, 1.5, 4).astype(np.float16), rng.standard_normal(4).astype(np.float16)
    mean, var = np.array([0, 10, -100, 0], np.float16), np.array([1, 1e4, 6e4, 1e-6], np.float16)
    up = rng.uniform(0.5, 1.5, v.shape).astype(np.float16)
    results = []
    for dt in (np.float16, np.float32):
        args = [tg.tensor(a.astype(dt), device=device, requires_grad=True) for a in (v, w, b)]
        stats = [tg.tensor(a.astype(dt), device=device) for a in (mean, var)]
        y = F.batch_norm(args[0], *stats, args[1], args[2], training=training)
        y.backward(tg.tensor(up.astype(dt), device=device))
        results.append([y] + [a.grad for a in args] + stats)
    for half, single in zip(*results):
        assert half.dtype == tg.float16
        with np.errstate(over="ignore"):  # (the running variance of the 3e4 channel is inf in float16, as torch's)
            np.testing.assert_array_equal(half.numpy(), single.numpy().astype(np.float16))
    assert np.isfinite(results[0][0].numpy()).all()


def test_training_mode_on_channels_far_from_zero():
    """float32 channels 1e6 + noise of std 0.1: the batch mean was off by about an ulp of the data (0.06), which
    shifted every output by half a unit and added its square to the variance (and to running_var). Values, the
    input's gradient and the running variance now match the float64 formula on the same float32 data."""
    rng = np.random.default_rng(0)
    x = (1e6 + rng.standard_normal((500, 3)) * 0.1).astype(np.float32)
    g = rng.uniform(0.5, 1.5, x.shape)
    a = x.astype(np.float64)
    sigma = np.sqrt(a.var(0) + 1e-5)
    y = (a - a.mean(0)) / sigma
    dx = (g - g.mean(0) - y * (g * y).mean(0)) / sigma
    t = tg.tensor(x, requires_grad=True)
    running_var = tg.zeros(3)
    out = F.batch_norm(t, tg.zeros(3), running_var, training=True, momentum=1.0)
    out.backward(tg.tensor(g.astype(np.float32)))
    np.testing.assert_allclose(out.numpy(), y, atol=1e-3)
    np.testing.assert_allclose(t.grad.numpy(), dx, atol=1e-3)
    np.testing.assert_allclose(running_var.numpy(), a.var(0, ddof=1), rtol=1e-4)


@pytest.mark.parametrize("options", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}])
def test_batchnorm2d_matches_torch_over_training_steps_eval_and_state_dicts(options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    ours, theirs = nn.BatchNorm2d(3, dtype=tg.float64, **options), torch.nn.BatchNorm2d(3, dtype=torch.float64,
                                                                                         **options)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    for step in range(4):
        if step == 3:
            ours.eval(), theirs.eval()
        x = rng.standard_normal((2, 3, 4, 5)) * 3 + 1
        xs, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(xs), theirs(tx)
        r = rng.standard_normal(x.shape)
        (y * tg.tensor(r)).sum().backward()
        (ty * torch.tensor(r)).sum().backward()
        pairs = [(y, ty), (xs.grad, tx.grad)] + list(zip(ours.state_dict().values(), theirs.state_dict().values()))
        for a, t in pairs:
            np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=f"step {step}")
    loaded = nn.BatchNorm2d(3, dtype=tg.float64, **options)
    loaded.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(loaded.eval()(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected a 4-d \(N, C, H, W\) input, got shape \(2, 3, 4\)"):
        ours(tg.zeros(2, 3, 4, dtype=tg.float64))
