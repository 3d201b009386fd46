"""nn.init: in-place fills with PyTorch's formulas, checked on large seeded tensors.

Expected bounds and standard deviations are computed here from the published
formulas (Glorot & Bengio 2010, He et al. 2015, PyTorch's fan_in = shape[1] *
receptive field, fan_out = shape[0] * receptive field), never read back from
the package. Sample statistics use tensors with 10^5+ elements, so the
tolerances (a few percent) are many standard errors wide yet catch a wrong
formula (a missing sqrt(3), a swapped fan, a wrong gain).
"""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import init

BIG = (400, 300)  # 120,000 elements: fan_in 300, fan_out 400


def big(shape=BIG, dtype=np.float32, device="cpu"):
    return tg.zeros(shape, dtype=dtype, device=device)


def filled_in_place(fn, t, *args, **kwargs):
    """Run an initialiser and check it worked in place (same Tensor, same array, shape, dtype)."""
    arr, shape, dtype = t.array, t.shape, t.dtype
    out = fn(t, *args, **kwargs)
    assert out is t
    assert t.array is arr and t.shape == shape and t.dtype == dtype
    return t.numpy().astype(np.float64)


# ============================================================================ simple fills
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_bounds_and_moments(dtype):
    tg.manual_seed(0)
    v = filled_in_place(init.uniform_, big(dtype=dtype), -0.5, 1.5)
    assert v.min() >= -0.5 and v.max() < 1.5
    assert v.min() < -0.49 and v.max() > 1.49  # the whole range is used
    assert abs(v.mean() - 0.5) < 0.01
    assert abs(v.std() - 2.0 / math.sqrt(12)) < 0.01


def test_uniform_default_range_is_unit_interval():
    tg.manual_seed(1)
    v = filled_in_place(init.uniform_, big())
    assert v.min() >= 0.0 and v.max() < 1.0 and abs(v.mean() - 0.5) < 0.01


def test_normal_moments():
    tg.manual_seed(0)
    v = filled_in_place(init.normal_, big(), 2.0, 0.5)
    assert abs(v.mean() - 2.0) < 0.01
    assert abs(v.std() - 0.5) / 0.5 < 0.02
    tg.manual_seed(0)
    v = filled_in_place(init.normal_, big())
    assert abs(v.mean()) < 0.01 and abs(v.std() - 1.0) < 0.02


def test_constant_zeros_ones_eye():
    t = tg.randn(3, 4)
    np.testing.assert_array_equal(filled_in_place(init.constant_, t, 0.25), np.full((3, 4), 0.25))
    np.testing.assert_array_equal(filled_in_place(init.zeros_, t), np.zeros((3, 4)))
    np.testing.assert_array_equal(filled_in_place(init.ones_, t), np.ones((3, 4)))
    np.testing.assert_array_equal(filled_in_place(init.eye_, t), [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    with pytest.raises(ValueError, match="eye_"):
        init.eye_(tg.zeros(2, 2, 2))


def test_initialisers_fill_parameters_in_place_and_keep_dtype():
    p = nn.Parameter(np.zeros((30, 20)))  # float64
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_, init.orthogonal_):
        before = p.numpy().copy()
        filled_in_place(fn, p)
        assert p.dtype == np.float64 and p.requires_grad and p.is_leaf
        assert not np.array_equal(p.numpy(), before), fn.__name__


# ============================================================================ fan-based initialisers
def test_calculate_gain():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="calculate_gain"):
        init.calculate_gain("swish")


def test_calculate_gain_selu_convolutions_and_bad_slopes_as_torch():
    """torch's table: selu 3/4 (kaiming_normal_(w, nonlinearity='selu') too), conv3d and conv_transpose1d..3d 1;
    a leaky_relu slope that is a bool or not a number is a ValueError (True gave gain 1, a str a TypeError)."""
    assert init.calculate_gain("selu") == 0.75
    for name in ("conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        assert init.calculate_gain(name) == 1.0
    tg.manual_seed(0)
    v = filled_in_place(init.kaiming_uniform_, big(), nonlinearity="selu")
    assert 0.99 * 0.75 * math.sqrt(3 / 300) < np.abs(v).max() <= 0.75 * math.sqrt(3 / 300) * (1 + 1e-6)
    for bad in (True, "0.2", [0.2]):
        with pytest.raises(ValueError, match="calculate_gain: negative_slope"):
            init.calculate_gain("leaky_relu", bad)
    assert init.calculate_gain("leaky_relu", 1) == 1.0 and init.calculate_gain("leaky_relu", np.float32(0.5)) == \
        pytest.approx(math.sqrt(2 / 1.25))


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier_uniform_bound(gain):
    tg.manual_seed(0)
    v = filled_in_place(init.xavier_uniform_, big(), gain=gain)
    a = gain * math.sqrt(6.0 / (300 + 400))
    assert np.abs(v).max() <= a * (1 + 1e-6)
    assert np.abs(v).max() > 0.99 * a
    assert abs(v.std() - a / math.sqrt(3)) / (a / math.sqrt(3)) < 0.02


def test_xavier_normal_std():
    tg.manual_seed(0)
    v = filled_in_place(init.xavier_normal_, big(), gain=2.0)
    std = 2.0 * math.sqrt(2.0 / (300 + 400))
    assert abs(v.std() - std) / std < 0.02 and abs(v.mean()) < 0.05 * std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a,gain", [("relu", 0.0, math.sqrt(2.0)),
                                                  ("leaky_relu", 0.0, math.sqrt(2.0)),
                                                  ("leaky_relu", math.sqrt(5), math.sqrt(2.0 / 6.0)),
                                                  ("tanh", 0.0, 5.0 / 3.0)])
def test_kaiming_uniform_and_normal(mode, nonlinearity, a, gain):
    fan = 300 if mode == "fan_in" else 400
    std = gain / math.sqrt(fan)
    tg.manual_seed(0)
    v = filled_in_place(init.kaiming_uniform_, big(), a=a, mode=mode, nonlinearity=nonlinearity)
    bound = math.sqrt(3.0) * std
    assert np.abs(v).max() <= bound * (1 + 1e-6) and np.abs(v).max() > 0.99 * bound
    tg.manual_seed(0)
    v = filled_in_place(init.kaiming_normal_, big(), a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(v.std() - std) / std < 0.02


def test_fans_include_the_receptive_field():
    # shape (8, 6, 5, 5): fan_in = 6 * 25 = 150, fan_out = 8 * 25 = 200
    t = big((8, 6, 5, 5))
    tg.manual_seed(0)
    init.xavier_uniform_(t)
    a = math.sqrt(6.0 / (150 + 200))
    assert np.abs(t.numpy()).max() <= a * (1 + 1e-6) and np.abs(t.numpy()).max() > 0.95 * a
    tg.manual_seed(0)
    init.kaiming_normal_(big((8, 6, 5, 5)))  # runs on 4-d
    t = big((200, 150, 4))  # fan_in 600, fan_out 800
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2.0 / 800)) / math.sqrt(2.0 / 800) < 0.02


def test_linear_default_init_bound():
    # PyTorch's Linear: U(-1/sqrt(in_features), 1/sqrt(in_features)) for weight and bias
    tg.manual_seed(0)
    lin = nn.Linear(400, 300)
    k = 1 / math.sqrt(400)
    w = lin.weight.numpy()
    assert np.abs(w).max() <= k and np.abs(w).max() > 0.99 * k
    assert np.abs(lin.bias.numpy()).max() <= k


# ============================================================================ structured initialisers
@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8), (4, 2, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    tg.manual_seed(0)
    q = filled_in_place(init.orthogonal_, tg.zeros(shape, dtype=np.float64), gain=gain)
    q = q.reshape(shape[0], -1) / gain
    rows, cols = q.shape
    if rows >= cols:
        np.testing.assert_allclose(q.T @ q, np.eye(cols), atol=1e-12)  # orthonormal columns
    if rows <= cols:
        np.testing.assert_allclose(q @ q.T, np.eye(rows), atol=1e-12)  # orthonormal rows


def test_orthogonal_float32_and_different_draws():
    tg.manual_seed(0)
    a = init.orthogonal_(tg.zeros(16, 16)).numpy().astype(np.float64)
    b = init.orthogonal_(tg.zeros(16, 16)).numpy().astype(np.float64)
    np.testing.assert_allclose(a.T @ a, np.eye(16), atol=1e-5)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("gates", [1, 3, 4])
def test_identity_stacked_blocks(gates):
    H = 5
    w = filled_in_place(init.identity_, tg.randn(gates * H, H), gain=0.5)
    for g in range(gates):
        np.testing.assert_array_equal(w[g * H:(g + 1) * H], 0.5 * np.eye(H))
    with pytest.raises(ValueError, match="identity_"):
        init.identity_(tg.zeros(7, 5))
    with pytest.raises(ValueError, match="identity_"):
        init.identity_(tg.zeros(5))


def test_identity_for_irnn():
    # IRNN: hidden-to-hidden identity, so h_t = relu(h_{t-1} + W_ih x + b) with zero input keeps h
    cell = nn.RNNCell(2, 3, nonlinearity="relu", dtype=np.float64)
    init.identity_(cell.weight_hh)
    init.zeros_(cell.bias_ih)
    init.zeros_(cell.bias_hh)
    h = tg.tensor(np.array([[0.5, 1.0, 2.0]]))
    np.testing.assert_allclose(cell(tg.zeros(1, 2, dtype=np.float64), h).numpy(), h.numpy())


def test_lstm_forget_bias_cell():
    H = 4
    cell = nn.LSTMCell(3, H)
    bih, bhh = cell.bias_ih.numpy().copy(), cell.bias_hh.numpy().copy()
    assert init.lstm_forget_bias_(cell, 1.5) is cell
    new_ih, new_hh = cell.bias_ih.numpy(), cell.bias_hh.numpy()
    np.testing.assert_array_equal(new_ih[H:2 * H], np.full(H, 1.5))
    np.testing.assert_array_equal(new_hh[H:2 * H], np.zeros(H))
    rest = np.r_[0:H, 2 * H:4 * H]  # the input, cell and output gates are untouched
    np.testing.assert_array_equal(new_ih[rest], bih[rest])
    np.testing.assert_array_equal(new_hh[rest], bhh[rest])


def test_lstm_forget_bias_every_layer_and_direction():
    H = 3
    lstm = nn.LSTM(2, H, num_layers=2, bidirectional=True)
    init.lstm_forget_bias_(lstm)
    biases = {k: p.numpy() for k, p in lstm.named_parameters() if "bias" in k}
    assert len(biases) == 8  # 2 layers x 2 directions x (ih, hh)
    for k, b in biases.items():
        np.testing.assert_array_equal(b[H:2 * H], np.ones(H) if "bias_ih" in k else np.zeros(H), err_msg=k)
    with pytest.raises(ValueError, match="lstm_forget_bias_"):
        init.lstm_forget_bias_(nn.LSTMCell(2, 3, bias=False))


# ============================================================================ seeding and errors
def test_manual_seed_reproducible():
    fills = [(init.uniform_, ()), (init.normal_, ()), (init.xavier_uniform_, ()), (init.kaiming_normal_, ()),
             (init.orthogonal_, ())]
    for fn, args in fills:
        tg.manual_seed(123)
        a = fn(tg.zeros(20, 10), *args).numpy().copy()
        b = fn(tg.zeros(20, 10), *args).numpy().copy()
        tg.manual_seed(123)
        c = fn(tg.zeros(20, 10), *args).numpy()
        tg.manual_seed(124)
        d = fn(tg.zeros(20, 10), *args).numpy()
        np.testing.assert_array_equal(a, c)
        assert not np.array_equal(a, b) and not np.array_equal(a, d), fn.__name__
    tg.manual_seed(7)
    w1 = nn.Linear(5, 4).weight.numpy().copy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(5, 4).weight.numpy(), w1)


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
                                init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_])
def test_random_initialisers_take_torchs_generator_keyword(fn):
    """torch 2.13's nn.init.X_(tensor, ..., generator=None): a seeded Generator repeats its draws whatever the package
    generator does between, and leaves the package's alone."""
    tg.manual_seed(5)
    expected = tg.rand(3).numpy()
    tg.manual_seed(5)
    a = fn(tg.zeros(6, 4), generator=tg.Generator().manual_seed(1)).numpy()
    np.testing.assert_array_equal(tg.rand(3).numpy(), expected)
    b = fn(tg.zeros(6, 4), generator=tg.Generator().manual_seed(1)).numpy()
    c = fn(tg.zeros(6, 4), generator=tg.Generator().manual_seed(2)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _sparse_half(t, generator):
    return init.sparse_(t, 0.5, generator=generator)


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
                                init.orthogonal_, init.trunc_normal_, _sparse_half])
def test_initialisers_take_a_generator_of_the_tensors_device(fn, device):
    """As torch's: a Generator of the tensor's device serves, one of another device is refused (trunc_normal_ and
    sparse_ had checked the generator against the cpu whatever the tensor's device)."""
    g = tg.Generator(device).manual_seed(3)
    a = fn(tg.zeros(6, 4, device=device), generator=g).cpu().numpy()
    g.manual_seed(3)
    np.testing.assert_array_equal(fn(tg.zeros(6, 4, device=device), generator=g).cpu().numpy(), a)
    other = "cpu" if device == "cuda" else "cuda"
    with pytest.raises(RuntimeError, match=f"expected a '{device}' generator for a tensor on {device}"):
        fn(tg.zeros(6, 4, device=device), generator=tg.Generator(other))


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_, init.orthogonal_])
@pytest.mark.parametrize("shape", [(5,), ()])
def test_fans_need_two_dims(fn, shape):
    t = tg.zeros(shape)
    with pytest.raises(ValueError, match="2 dim"):
        fn(t)
    assert (t.numpy() == 0).all()  # nothing written


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
@pytest.mark.parametrize("shape, mode", [((0, 5), "fan_out"), ((5, 0), "fan_in"), ((3, 0, 2), "fan_in"),
                                         ((0,), "fan_in")])
def test_kaiming_of_an_empty_tensor_is_a_no_op_with_torchs_warning(fn, shape, mode):
    """As torch's: a size-0 dim leaves the tensor as it is, with a warning (the fan of 0 was a ZeroDivisionError,
    so e.g. kaiming_uniform_(tg.zeros(0, 5), mode='fan_out') failed where torch's returns)."""
    t = tg.zeros(shape)
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        assert fn(t, mode=mode) is t
    assert t.shape == shape


def test_kaiming_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(tg.zeros(3, 3), mode="fan_avg")


def test_init_on_device(device):
    tg.manual_seed(0)
    t = big(device=device)
    init.xavier_uniform_(t)
    assert t.device == device
    a = math.sqrt(6.0 / 700)
    v = t.numpy()
    assert np.abs(v).max() <= a * (1 + 1e-6) and np.abs(v).max() > 0.99 * a
    q = init.orthogonal_(tg.zeros(6, 4, dtype=np.float64, device=device)).numpy()
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    init.constant_(t, 3.0)
    assert t.device == device and (t.numpy() == 3.0).all()
    v = init.trunc_normal_(t, 0.0, 1.0, -0.5, 0.5).numpy()
    assert t.device == device and np.abs(v).max() <= 0.5 and v.std() > 0.25
    w = init.dirac_(tg.ones(4, 2, 3, device=device))
    assert w.device == device and np.array_equal(w.numpy(), dirac_reference((4, 2, 3), 1))
    s = init.sparse_(tg.zeros(10, 6, device=device), 0.3)
    assert s.device == device and ((s.numpy() == 0).sum(axis=0) == 3).all()


@pytest.mark.parametrize("name, kwargs", [
    ("uniform_", dict(a=-2.0, b=3.0)), ("normal_", dict(mean=1.0, std=2.0)), ("constant_", dict(val=0.5)),
    ("zeros_", {}), ("ones_", {}), ("eye_", {}), ("xavier_uniform_", dict(gain=2.0)), ("xavier_normal_", {}),
    ("kaiming_uniform_", dict(a=0.1, mode="fan_out")),
    ("kaiming_normal_", dict(a=0.0, mode="fan_in", nonlinearity="relu")),
    ("orthogonal_", dict(gain=0.5)),
])
def test_initialisers_take_torchs_tensor_keyword(name, kwargs):
    """torch.nn.init.X_(tensor, ...): the keyword form fills as the positional one under one seed."""
    filled = []
    for use_keyword in (True, False):
        tg.manual_seed(0)
        t = tg.zeros(4, 3, dtype=tg.float64)
        out = getattr(init, name)(tensor=t, **kwargs) if use_keyword else getattr(init, name)(t, *kwargs.values())
        assert out is t
        filled.append(t.numpy())
    np.testing.assert_array_equal(*filled)


# ============================================================================ trunc_normal_, dirac_, sparse_
def truncated_normal_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) restricted to [a, b] (the textbook formulas)."""
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    lo, hi = (a - mean) / std, (b - mean) / std
    mass = cdf(hi) - cdf(lo)
    shift = (pdf(lo) - pdf(hi)) / mass
    var = 1 + (lo * pdf(lo) - hi * pdf(hi)) / mass - shift ** 2
    return mean + std * shift, std * math.sqrt(var)


@pytest.mark.parametrize("mean, std, a, b", [
    (0.0, 1.0, -2.0, 2.0),  # torch's defaults: most of the mass inside, normal draws redrawn
    (0.0, 1.0, 1.0, 3.0),  # 16% of the mass: uniform proposals accepted by the density
    (0.5, 2.0, -1.0, 0.2), (1.0, 0.5, 0.0, 10.0),
])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    v = filled_in_place(init.trunc_normal_, big(dtype=np.float64), mean, std, a, b)
    want_mean, want_std = truncated_normal_moments(mean, std, a, b)
    assert v.min() >= a and v.max() <= b
    assert abs(v.mean() - want_mean) < 0.01 * std and abs(v.std() / want_std - 1) < 0.02
    assert np.mean(v < a + 0.1 * (b - a)) > 0  # the tails are reached


def test_trunc_normal_generator_keywords_and_warning():
    draws = [init.trunc_normal_(tensor=tg.zeros(50, dtype=np.float64), mean=0.0, std=1.0, a=-0.5, b=0.5,
                                generator=np.random.default_rng(7)).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*draws)
    assert np.abs(draws[0]).max() <= 0.5
    t = tg.zeros(1000, dtype=np.float32)
    init.trunc_normal_(t, 0.0, 1.0, -0.1, 0.1)
    assert t.dtype == np.float32 and np.abs(t.numpy()).max() <= np.float32(0.1)
    with pytest.warns(UserWarning, match=r"mean is more than 2 std from \[a, b\] in nn.init.trunc_normal_"):
        init.trunc_normal_(tg.zeros(10), mean=5.0)
    with pytest.raises(TypeError, match="trunc_normal_: generator must be a tg.Generator of device .cpu. or a numpy"):
        init.trunc_normal_(tg.zeros(3), generator=1)
    with pytest.raises(TypeError, match="floating point"):
        init.trunc_normal_(tg.zeros(3, dtype=np.int64))


def dirac_reference(shape, groups):
    """Written from the definition: one 1 per (group, kept channel), at the kernel's centre."""
    out = np.zeros(shape)
    per_group = shape[0] // groups
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            out[(g * per_group + d, d) + tuple(k // 2 for k in shape[2:])] = 1
    return out


@pytest.mark.parametrize("shape, groups", [((6, 4, 3), 1), ((6, 4, 3, 5), 2), ((4, 6, 2, 2, 3), 2), ((2, 3, 1), 1),
                                           ((3, 3, 4), 3), ((0, 2, 3), 1)])
def test_dirac_is_the_identity_convolution(shape, groups):
    t = tg.ones(shape, dtype=np.float64)
    np.testing.assert_array_equal(filled_in_place(init.dirac_, t, groups), dirac_reference(shape, groups))
    if shape == (6, 4, 3):  # a stride-1, 'same' convolution with it copies the (first 4) channels through
        x = tg.tensor(np.random.default_rng(0).standard_normal((2, 4, 7)))
        y = tg.nn.functional.conv1d(x, t, padding=1).numpy()
        np.testing.assert_array_equal(y[:, :4], x.numpy())
        assert (y[:, 4:] == 0).all()


@pytest.mark.parametrize("shape, groups, match", [((3, 3), 1, "Only tensors with 3, 4, or 5 dimensions"),
                                                  ((3, 3, 3), 2, "dim 0 must be divisible by groups")])
def test_dirac_refuses_what_torchs_refuses(shape, groups, match):
    with pytest.raises(ValueError, match=match):
        init.dirac_(tg.zeros(shape), groups)


def test_sparse_zeros_per_column_and_std():
    v = filled_in_place(init.sparse_, tg.zeros(100, 2000, dtype=np.float64), 0.35, std=2.0)
    assert ((v == 0).sum(axis=0) == math.ceil(0.35 * 100)).all()
    assert abs(v[v != 0].std() / 2.0 - 1) < 0.02 and abs(v[v != 0].mean()) < 0.02
    again = [init.sparse_(tg.zeros(5, 4), 0.5, generator=np.random.default_rng(1)).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*again)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.sparse_(tg.zeros(3), 0.1)


@pytest.mark.parametrize("old, args", [("uniform", ()), ("normal", ()), ("constant", (0.5,)), ("eye", ()),
                                       ("dirac", ()), ("xavier_uniform", ()), ("xavier_normal", ()),
                                       ("kaiming_uniform", ()), ("kaiming_normal", ()), ("orthogonal", ()),
                                       ("sparse", (0.5,))])
def test_deprecated_aliases_warn_as_torchs_and_fill_as_the_new_names(old, args):
    shape = (4, 3, 3) if old == "dirac" else (4, 3)
    filled = []
    for name in (old, old + "_"):
        tg.manual_seed(0)
        t = tg.zeros(shape, dtype=np.float64)
        if name == old:
            with pytest.warns(FutureWarning, match=rf"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`"):
                assert getattr(init, name)(t, *args) is t
        else:
            getattr(init, name)(t, *args)
        filled.append(t.numpy())
    np.testing.assert_array_equal(*filled)


def test_torchs_private_fan_helpers():
    """init._calculate_fan_in_and_fan_out and _calculate_correct_fan, torch's names that custom layers copied from
    torch's reset_parameters call (bound = 1 / sqrt(fan_in)): the same fans and errors as torch's."""
    torch = pytest.importorskip("torch")
    for shape in [(4, 3), (4, 3, 5), (4, 3, 2, 2), (6, 1, 3, 3, 3)]:
        assert (init._calculate_fan_in_and_fan_out(tg.empty(*shape))
                == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape)))
        for mode in ("fan_in", "fan_out"):
            assert (init._calculate_correct_fan(tg.empty(*shape), mode)
                    == torch.nn.init._calculate_correct_fan(torch.empty(*shape), mode))
    with pytest.raises(ValueError, match="^Fan in and fan out can not be computed for tensor with fewer than 2 "
                                         r"dimensions \(got shape \(3,\)\)"):  # (torch's, SASRec's init loop)
        init._calculate_fan_in_and_fan_out(tg.empty(3))
    with pytest.raises(ValueError, match="fan_in"):
        init._calculate_correct_fan(tg.empty(3, 3), "fan_sideways")
