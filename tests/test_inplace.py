"""In-place ops recorded as torch's (``x += y``, ``x.mul_(y)``, ``x.relu_()``; the activations' ``inplace=True``,
F.relu_ and kin, the modules' ``inplace``), the ``dtype=`` of softmax, log_softmax and softmin, and torch's argument
names in nn.functional (``input`` first).

An in-place call is the out-of-place function written into its input, which then stands for the result in the
graph. The tests hold its values and gradients to numpy references written from the math (central differences
in float64 over hypothesis shapes, 0-d and size-1 included), check what it refuses (a leaf that requires grad,
memory something else holds) and that a node which saved the old values refuses to backpropagate, and, where
torch is installed, compare a network of in-place modules with torch's.
"""
import copy
import inspect
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn as nn
import tinygrad_rnn.nn.functional as F
from strategies import arrays, check_op, shapes, with_fixtures

_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)


def _elu(a, alpha):
    return np.where(a > 0, a, alpha * (np.exp(np.minimum(a, 0)) - 1))


INPLACE = {  # name: (the function with inplace as its keyword, numpy reference from the math)
    "relu": (lambda t, **k: F.relu(t, **k), lambda a: np.maximum(a, 0)),
    "relu6": (lambda t, **k: F.relu6(t, **k), lambda a: np.clip(a, 0, 6)),
    "leaky_relu": (lambda t, **k: F.leaky_relu(t, 0.2, **k), lambda a: np.where(a > 0, a, 0.2 * a)),
    "elu": (lambda t, **k: F.elu(t, 0.7, **k), lambda a: _elu(a, 0.7)),
    "selu": (lambda t, **k: F.selu(t, **k), lambda a: _SELU[1] * _elu(a, _SELU[0])),
    "celu": (lambda t, **k: F.celu(t, 1.5, **k), lambda a: np.where(a > 0, a, 1.5 * (np.exp(np.minimum(a, 0) / 1.5) - 1))),
    "hardtanh": (lambda t, **k: F.hardtanh(t, -1.0, 2.0, **k), lambda a: np.clip(a, -1.0, 2.0)),
    "silu": (lambda t, **k: F.silu(t, **k), lambda a: a / (1 + np.exp(-a))),
    "mish": (lambda t, **k: F.mish(t, **k), lambda a: a * np.tanh(np.log1p(np.exp(a)))),
    "hardsigmoid": (lambda t, **k: F.hardsigmoid(t, **k), lambda a: np.clip(a / 6 + 0.5, 0, 1)),
    "hardswish": (lambda t, **k: F.hardswish(t, **k), lambda a: a * np.clip(a / 6 + 0.5, 0, 1)),
    "threshold": (lambda t, **k: F.threshold(t, 0.5, -2.0, **k), lambda a: np.where(a > 0.5, a, -2.0)),
}
UNDERSCORED = {  # torch's F.relu_ and kin: the in-place call by another name
    "relu_": (F.relu_, "relu"),
    "leaky_relu_": (lambda t: F.leaky_relu_(t, 0.2), "leaky_relu"),
    "elu_": (lambda t: F.elu_(t, 0.7), "elu"),
    "hardtanh_": (lambda t: F.hardtanh_(t, -1.0, 2.0), "hardtanh"),
    "selu_": (F.selu_, "selu"),
    "celu_": (lambda t: F.celu_(t, 1.5), "celu"),
    "threshold_": (lambda t: F.threshold_(t, 0.5, -2.0), "threshold"),
}


def _off_kinks(shape):
    """Multiples of 0.25 plus 0.125 in [-7, 7]: never on the kinks (0, 0.5, -1, 2, +-3, 6) nor within gradcheck's
    eps of them."""
    return hnp.arrays(np.float64, shape, elements=st.integers(-28, 27).map(lambda k: k * 0.25 + 0.125))


def _in_place_of_a_copy(fn):
    """x -> fn(x * 1, inplace=True): the in-place call on a non-leaf (a leaf that requires grad is refused)."""
    return lambda t: fn(t * 1, inplace=True)


@pytest.mark.parametrize("name", sorted(INPLACE))
@with_fixtures
@given(data=st.data())
def test_in_place_values_and_gradients_match_the_math(name, device, data):
    fn, ref = INPLACE[name]
    a = data.draw(shapes().flatmap(_off_kinks))
    check_op(_in_place_of_a_copy(fn), ref, [a], device)


@pytest.mark.parametrize("name", sorted(UNDERSCORED))
def test_underscored_forms_are_the_in_place_call(name):
    fn, base = UNDERSCORED[name]
    a = np.linspace(-4.1, 4.3, 12).reshape(3, 4)
    x = tg.tensor(a) * 1
    assert fn(x) is x
    np.testing.assert_array_equal(x.numpy(), INPLACE[base][0](tg.tensor(a)).numpy())


@pytest.mark.parametrize("name", ["tril", "triu"])
@with_fixtures
@given(data=st.data())
def test_tril_triu_in_place_property(name, device, data):
    """x.tril_(k) / x.triu_(k): numpy's tril / triu of the last two dims, written into x (returned), whose gradient
    is the upstream one with the zeroed places zeroed."""
    a = data.draw(shapes(2, 4, min_side=0, max_side=4).flatmap(arrays))
    k = data.draw(st.integers(-4, 4))
    x = tg.tensor(a, device=device)
    assert getattr(x, name + "_")(k) is x
    np.testing.assert_array_equal(x.numpy(), getattr(np, name)(a, k))
    check_op(lambda t: getattr(t * 1, name + "_")(k), lambda v: getattr(np, name)(v, k), [a], device)
    with pytest.raises(ValueError, match=f"{name}"):
        getattr(tg.ones(3, device=device), name + "_")()


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_returns_its_input_holding_the_out_of_place_result(name):
    fn = INPLACE[name][0]
    a = tg.randn(3, 5, requires_grad=True)
    x = a * 3
    memory, version = id(x.array), x._version  # (holding x.array itself would count as sharing it)
    out = fn(x, inplace=True)
    assert out is x and id(x.array) == memory and x._version == version + 1
    np.testing.assert_array_equal(x.numpy(), fn(a * 3).numpy())
    x.sum().backward()  # the gradient reaches a through fn's node
    g = a.grad.numpy().copy()
    a.grad = None
    fn(a * 3).sum().backward()
    np.testing.assert_array_equal(g, a.grad.numpy())


def test_in_place_dropout_keeps_its_mask_and_scales_the_gradient():
    a = tg.ones(400, requires_grad=True)
    x = a * 1
    tg.manual_seed(3)
    assert F.dropout(x, 0.25, True, inplace=True) is x
    kept = x.numpy() != 0
    assert 0.6 < kept.mean() < 0.9
    np.testing.assert_allclose(x.numpy()[kept], 1 / 0.75, rtol=1e-6)
    x.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), kept / 0.75, rtol=1e-6)
    tg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(a * 1, 0.25, True).numpy(), x.numpy())  # the out-of-place draw


@pytest.mark.parametrize("inplace", [False, True])
def test_dropout_refuses_an_integer_input_it_would_scale(inplace):
    """As torch's: 1/(1-p) does not fit an integer dtype (it rounded, to 1 for p < 1/2: no scaling at all)."""
    x = tg.arange(1, 9)
    with pytest.raises(TypeError, match="dropout: the input must be floating point.*torch.int64"):
        F.dropout(x, 0.3, True, inplace)
    assert x.tolist() == list(range(1, 9))
    assert F.dropout(x, 1.0, True, inplace).tolist() == [0] * 8  # (p = 1 and p = 0 need no scale, as in torch)


def test_in_place_dropout_does_nothing_when_it_does_nothing():
    """Not training, or p = 0: the input itself, untouched (no version bump that would break a saved graph)."""
    a = tg.randn(4, requires_grad=True)
    y = a.exp()  # exp saves its output
    for call in (lambda: F.dropout(y, 0.5, False, inplace=True), lambda: F.dropout(y, 0.0, True, inplace=True),
                 lambda: nn.Dropout(0.5, inplace=True).eval()(y)):
        assert call() is y and y._version == 0
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(a.numpy()), rtol=1e-6)


def test_in_place_refuses_a_leaf_that_requires_grad():
    a = tg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="relu: a leaf tensor that requires grad cannot be changed in place"):
        F.relu(a, inplace=True)
    assert a._version == 0


def test_in_place_refuses_memory_something_else_holds():
    """Its graph would not see the change (torch tracks every view; this engine follows the views of basic indexing,
    reshape, permute, expand and diagonal, see test_writes_with_other_views_alive_match_torch, and refuses memory
    anything else holds: here an output exp saved, where torch refuses at backward)."""
    a = tg.randn(3, 4, requires_grad=True)
    x = a.exp()
    before = x.numpy().copy()
    with pytest.raises(RuntimeError, match="elu: this tensor of shape .* shares its memory"):
        F.elu(x, inplace=True)
    np.testing.assert_array_equal(x.numpy(), before)


_ALIASES = {"view as another dtype": lambda lib, x: x.view(lib.int64),
            "reshaped view of a detach()": lambda lib, x: x.detach().reshape(12),
            "detached view": lambda lib, x: x[1].detach(), "detach()": lambda lib, x: x.detach(),
            "a row of detach().t()": lambda lib, x: x.detach().t()[1]}


@pytest.mark.parametrize("case", list(_ALIASES))
def test_in_place_with_aliases_outside_the_graph_alive_matches_torch(case, device):
    """x changed in place (recorded) while x.view(dtype), x.detach(), a view of one, or a view's detach() is alive:
    torch's aliases outside x's graph, which read the written values while their graphs stay as they were (ours
    refused the change)."""
    torch = pytest.importorskip("torch")
    got = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        a = lib.tensor(np.linspace(-2, 2, 12).reshape(3, 4), dtype=lib.float64, device=dev, requires_grad=True)
        x = a * 2
        keep = _ALIASES[case](lib, x)
        x.add_(1.0)
        x[0].mul_(3.0)
        (x * x).sum().backward()
        got.append((x.tolist(), keep.tolist(), a.grad.tolist(), x._version))
    assert got[0] == got[1]


@pytest.mark.parametrize("alias", ["x.data.cpu().numpy()", "x.numpy()", "x.data", "x[1:].data.numpy()"])
def test_in_place_with_numpy_or_data_aliases_held_matches_torch(alias, device):
    """The arrays numpy() hands out and .data's tensors share the memory without the version counter, in torch
    too: an in-place change while one is held (learning-to-learn's ``losses.append(loss.data.cpu().numpy())``
    before ``all_losses += loss``) is made, the alias sees it, and the gradient is the new graph's."""
    torch = pytest.importorskip("torch")
    if device != "cpu" and "numpy" in alias:
        pytest.skip("numpy() of a cuda tensor is a copy on the host (torch's raises)")
    got = {}
    for T in (tg, torch):
        a = T.tensor([1.0, 2.0, 3.0], dtype=T.float64, requires_grad=True)
        if T is tg:
            a = a.to(device).detach().requires_grad_()
        x = a * 2  # (mul saves its inputs, not its output)
        if "numpy" in alias and T is torch:
            held = eval(alias.replace("x.numpy()", "x.detach().numpy()"), {"x": x})
        else:
            held = eval(alias, {"x": x})
        x += a ** 2
        x.sum().backward()
        held = held if isinstance(held, np.ndarray) else held.cpu().numpy()
        got[T] = (np.asarray(held).copy(), x.detach().cpu().numpy(), a.grad.cpu().numpy())
    for ours, theirs in zip(got[tg], got[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=0)


def test_in_place_still_refuses_a_tensor_sharing_memory_beside_a_numpy_alias():
    """numpy()'s arrays are not counted, the other holders still are: the node that saved the output exp made
    beside one (a reshaped view is now followed, as torch's, and a view of another dtype too)."""
    a = tg.randn(3, 4, requires_grad=True)
    x = a.exp()
    held = x.numpy()
    with pytest.raises(RuntimeError, match="add_: this tensor of shape .* shares its memory"):
        x.add_(1.0)
    assert held is not None


@pytest.mark.parametrize("make", [lambda t: t.max(1)[0], lambda t: t.repeat(2, 1), lambda t: t.reshape(2, 6),
                                  lambda t: (t * 1).T])
def test_in_place_on_a_view_nothing_else_holds_is_recorded(make):
    """numpy hands back some results as views of a temporary (max(dim), repeat) and a view whose base is gone is
    alone with its memory: recorded, with the out-of-place gradient."""
    a = tg.randn(3, 4, requires_grad=True)
    y = make(a * 1)
    F.elu(y, inplace=True)
    (y * y).sum().backward()
    g = a.grad.numpy().copy()
    a.grad = None
    (F.elu(make(a * 1)) ** 2).sum().backward()
    np.testing.assert_allclose(g, a.grad.numpy(), rtol=1e-6)


def test_a_node_that_saved_the_old_values_refuses_to_backpropagate():
    a = tg.randn(3, requires_grad=True)
    w = tg.randn(3, requires_grad=True)
    x = a * 2
    y = x * w  # saves x
    F.relu(x, inplace=True)
    with pytest.raises(RuntimeError, match="mul saved for backward was changed in place"):
        y.sum().backward()


def test_a_saved_input_no_wanted_gradient_reads_may_change_in_place_as_in_torch():
    """x * c, x / c and x @ C with a constant c read x's values for no gradient (torch does not save x there):
    changing x in place afterwards leaves their backward right, so it runs; with c requiring grad it still
    refuses."""
    a = tg.tensor([1.0, -2.0, 3.0], dtype=tg.float64, requires_grad=True)
    c, m = tg.tensor([2.0, 4.0, 8.0], dtype=tg.float64), tg.ones(3, 2, dtype=tg.float64)
    x = a * 1.0
    y = (x * 3.0).sum() + (x * c).sum() + (x / c).sum() + (x @ m).sum()
    x.add_(5.0)
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 + np.array([2.0, 4.0, 8.0]) + 1 / np.array([2.0, 4.0, 8.0]) + 2)
    for op in (lambda x, w: x * w, lambda x, w: w / (x * x + 1), lambda x, w: x @ w.reshape(3, 1)):
        w = tg.tensor([2.0, 4.0, 8.0], dtype=tg.float64, requires_grad=True)
        x = a * 1.0
        y = op(x, w).sum()
        x.add_(5.0)
        with pytest.raises(RuntimeError, match="saved for backward was changed in place"):
            y.backward()
    x = a * 1.0
    y = (x / tg.tensor(2.0, dtype=tg.float64, requires_grad=True)).sum()  # d/d(divisor) reads x
    x.add_(5.0)
    with pytest.raises(RuntimeError, match="div saved for backward was changed in place"):
        y.backward()
    lin = nn.Linear(3, 2)  # an input that needs no gradient: the weight's values are read by no wanted gradient
    y = lin(tg.ones(1, 3)).sum()
    nn.init.constant_(lin.weight, 0.5)
    y.backward()
    np.testing.assert_array_equal(lin.weight.grad.numpy(), np.ones((2, 3)))


def test_without_a_graph_the_write_goes_through_views_as_in_torch():
    a = tg.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    with tg.no_grad():
        v = a[:2]
        assert F.relu(a, inplace=True) is a  # a leaf that requires grad, under no_grad: allowed, as in torch
    np.testing.assert_array_equal(v.numpy(), [0.0, 2.0])
    b = tg.tensor([-2, 5])  # no grad anywhere: integers keep their dtype
    assert F.relu(b, inplace=True) is b and b.dtype == np.int64 and b.tolist() == [0, 5]


def test_in_place_refuses_a_result_of_another_dtype_or_read_only_memory():
    x = tg.tensor([1, -2])
    with pytest.raises(TypeError, match="silu: the result is torch.float32, which this torch.int64 tensor cannot hold"):
        F.silu(x, inplace=True)
    assert x.tolist() == [1, -2]
    with pytest.raises(ValueError, match=r"relu: this tensor of shape \(3,\) is read-only"):
        F.relu(tg.tensor([-1.0]).expand(3), inplace=True)
    with pytest.raises(TypeError, match="selu: the result is torch.float32, which this torch.int64 tensor cannot hold"):
        F.selu(x, inplace=True)
    with pytest.raises(RuntimeError, match="relu6: a leaf tensor that requires grad cannot be changed in place"):
        nn.ReLU6(inplace=True)(tg.randn(2, requires_grad=True))


ARITHMETIC = {  # name: (the in-place call on (tensor, operand), numpy reference)
    "+=": (lambda t, o: t.__iadd__(o), lambda a, b: a + b),
    "-=": (lambda t, o: t.__isub__(o), lambda a, b: a - b),
    "*=": (lambda t, o: t.__imul__(o), lambda a, b: a * b),
    "/=": (lambda t, o: t.__itruediv__(o), lambda a, b: a / b),
    "add_": (lambda t, o: t.add_(o, alpha=-0.5), lambda a, b: a - 0.5 * b),
    "sub_": (lambda t, o: t.sub_(o, alpha=2), lambda a, b: a - 2 * b),
    "mul_": (lambda t, o: t.mul_(o), lambda a, b: a * b),
    "div_": (lambda t, o: t.div_(o), lambda a, b: a / b),
    "clamp_min_": (lambda t, o: t.clamp_min_(o), lambda a, b: np.maximum(a, b)),
    "clamp_max_": (lambda t, o: t.clamp_max_(o), lambda a, b: np.minimum(a, b)),
    "pow_": (lambda t, o: t.abs_().add_(0.5).pow_(o), lambda a, b: (np.abs(a) + 0.5) ** b),
    "**=": (lambda t, o: t.abs_().add_(0.5).__ipow__(o), lambda a, b: (np.abs(a) + 0.5) ** b),
}
UNARY_METHODS = {  # name: (x.name_(), numpy reference); x drawn in [0.5, 2]
    "relu_": (lambda t: t.relu_(), lambda a: np.maximum(a, 0)),
    "sigmoid_": (lambda t: t.sigmoid_(), lambda a: 1 / (1 + np.exp(-a))),
    "tanh_": (lambda t: t.tanh_(), np.tanh),
    "exp_": (lambda t: t.exp_(), np.exp),
    "log_": (lambda t: t.log_(), np.log),
    "sqrt_": (lambda t: t.sqrt_(), np.sqrt),
    "abs_": (lambda t: t.neg_().abs_(), np.abs),
    "neg_": (lambda t: t.neg_(), np.negative),
    "sin_": (lambda t: t.sin_(), np.sin),
    "cos_": (lambda t: t.cos_(), np.cos),
    "reciprocal_": (lambda t: t.reciprocal_(), np.reciprocal),
    "rsqrt_": (lambda t: t.rsqrt_(), lambda a: 1 / np.sqrt(a)),
    "square_": (lambda t: t.square_(), np.square),
    "nan_to_num_": (lambda t: t.nan_to_num_(), np.nan_to_num),
}
TENSOR_OPERANDS = {  # in-place methods whose operands must be tensors: (the call on (tensor, operand), reference)
    "lerp_": (lambda t, o: t.lerp_(o, 0.25), lambda a, b: a + 0.25 * (b - a)),
    "addcmul_": (lambda t, o: t.addcmul_(o, o + 1, value=-0.5), lambda a, b: a - 0.5 * b * (b + 1)),
    "addcdiv_": (lambda t, o: t.addcdiv_(o, o * o + 1, value=2), lambda a, b: a + 2 * b / (b * b + 1)),
    "clip_": (lambda t, o: t.clip_(o), np.maximum),
}
STEPS = {"floor_": np.floor, "ceil_": np.ceil, "trunc_": np.trunc, "sign_": np.sign, "round_": np.round}


@pytest.mark.parametrize("name", sorted(ARITHMETIC))
@pytest.mark.parametrize("other_shape", [(), (3,), (2, 1), (2, 3)])
def test_in_place_arithmetic_writes_into_the_same_memory(name, other_shape):
    """The result lands in the tensor's own memory (a view of it sees the change; the object and its
    array stay the same) and bumps its version, whatever broadcasts into its shape."""
    call, expect = ARITHMETIC[name]
    rng = np.random.default_rng(0)
    base = tg.tensor(rng.uniform(1, 2, (2, 3)))
    other = rng.uniform(1, 2, other_shape)
    want = expect(base.numpy(), other)
    view, array, version = base[1], base.array, base._version
    for operand in (tg.tensor(other), float(other) if other.ndim == 0 else other):
        t = tg.tensor(base.numpy())
        assert call(t, operand) is t
        np.testing.assert_allclose(t.numpy(), want)
    assert call(base, tg.tensor(other)) is base and base.array is array and base._version > version
    np.testing.assert_allclose(view.numpy(), want[1])


def test_ipow_is_in_place_as_torchs(device):
    """x **= y changes x's memory, as torch's __ipow__ (pow_): without __ipow__ Python rebound x to a new tensor,
    so an alias or a view of x (a parameter an optimizer holds) kept the old values, silently."""
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    alias, view = x, x[1:]
    x **= 2
    assert x is alias and view.tolist() == [4.0, 9.0] and alias.tolist() == [1.0, 4.0, 9.0]
    n = tg.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match="the result is torch.float32, which this torch.int64 tensor cannot hold"):
        n **= 0.5


def test_div_in_place_takes_rounding_mode_as_div():
    """x.div_(y, rounding_mode=...) as torch's: floor or trunc in place, an integer tensor keeping its dtype."""
    a, b = np.array([-3.5, 2.5, 7.0, -1.0]), np.array([2.0, -2.0, 2.0, 3.0])
    for mode, want in (("floor", np.floor(a / b)), ("trunc", np.trunc(a / b)), (None, a / b)):
        t = tg.tensor(a)
        assert t.div_(tg.tensor(b), rounding_mode=mode) is t and t.dtype == np.float64
        np.testing.assert_array_equal(t.numpy(), want)
    i = tg.tensor([-7, 7])
    assert i.div_(2, rounding_mode="floor") is i and i.dtype == np.int64 and i.tolist() == [-4, 3]
    assert i.div_(-2, rounding_mode="trunc").tolist() == [2, -1]


_FLOOR, _TRUNC = [-2.0, -2.0, 3.0], [-1.0, -1.0, 3.0]


@pytest.mark.parametrize("call, want, differentiable", [(lambda y, b: y.floor_divide_(b), _FLOOR, False),
                                                         (lambda y, b: y.__ifloordiv__(b), _FLOOR, False),
                                                         (lambda y, b: y.div_(b, rounding_mode="floor"), _FLOOR, True),
                                                         (lambda y, b: y.div_(b, rounding_mode="trunc"), _TRUNC, True)])
def test_an_in_place_step_on_a_non_leaf_passes_zero_gradient(call, want, differentiable):
    """A step without a gradient (floor_divide_, //=, div_ with rounding_mode) keeps a non-leaf in its graph, its
    old values getting 0 (torch's div_); it made the tensor a leaf that requires grad, gathering .grad itself."""
    x = tg.tensor([-3.5, 2.5, 7.0], requires_grad=True)
    y = x * 1
    assert call(y, tg.tensor([2.0, -2.0, 2.0])) is y
    assert y.grad_fn is not None and not y.is_leaf
    np.testing.assert_array_equal(y.detach().numpy(), want)
    (y * 3).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):  # (as torch's: y stays a non-leaf)
        assert y.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))
    b = tg.tensor([2.0, 2.0, 2.0], requires_grad=True)  # only the operand requires grad: floor_divide_ (no
    z = tg.tensor([-3.5, 2.5, 7.0])  # gradient in torch) leaves this tensor out, div_ records it (0 to b), as torch
    call(z, b)
    assert z.requires_grad == differentiable
    if differentiable:
        z.sum().backward()
        np.testing.assert_array_equal(b.grad.numpy(), np.zeros(3))


@st.composite
def _into(draw):
    """A shape and one that broadcasts into it (dims dropped from the left or set to 1)."""
    shape = draw(shapes())
    lead = draw(st.integers(0, len(shape)))
    other = tuple(1 if draw(st.booleans()) else n for n in shape[lead:])
    return shape, other


@pytest.mark.parametrize("name", sorted(ARITHMETIC) + sorted(TENSOR_OPERANDS))
@with_fixtures
@given(data=st.data())
def test_recorded_in_place_arithmetic_values_and_gradients(name, device, data):
    """While the graph is recorded, x op= y makes x the result's node (as torch): gradients reach the old x and
    y, checked against central differences. Values on a grid keep clamp off its kinks and / off zero."""
    call, ref = {**ARITHMETIC, **TENSOR_OPERANDS}[name]
    shape, other = data.draw(_into())
    grid = st.integers(-8, 7).map(lambda k: k * 0.25 + 0.125)  # (|v| >= 0.125, never a tie between a and b)
    a = data.draw(hnp.arrays(np.float64, shape, elements=grid))
    b = data.draw(hnp.arrays(np.float64, other, elements=grid.map(lambda v: v + 0.0625)))
    check_op(lambda t, o: call(t * 1, o), ref, [a, b], device)


@pytest.mark.parametrize("name", sorted(UNARY_METHODS))
@with_fixtures
@given(data=st.data())
def test_recorded_in_place_methods_values_and_gradients(name, device, data):
    call, ref = UNARY_METHODS[name]
    a = data.draw(shapes().flatmap(lambda s: hnp.arrays(np.float64, s, elements=st.floats(0.5, 2.0))))
    check_op(lambda t: call(t * 1), ref, [a], device)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_in_place_steps_write_their_values_and_pass_no_gradient(device, name):
    """floor_, ceil_, trunc_, sign_ and round_ (half to even) write into the tensor's own memory; recorded, the old
    values get a zero gradient (the steps are flat between their jumps), as torch's."""
    v = np.array([-1.5, -0.5, 0.0, 0.4, 0.5, 1.5, 2.7])
    x = tg.tensor(v, device=device, requires_grad=True)
    y = x * 1
    ptr = y.data_ptr()  # (holding y.array would count as a second holder of the memory, which is refused)
    assert getattr(y, name)() is y and y.data_ptr() == ptr
    np.testing.assert_array_equal(y.numpy(), STEPS[name](v))
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(v))


def test_in_place_on_a_tensor_without_grad_joins_the_graph_through_its_operand():
    """h += w * 2 with only w requiring grad: h becomes a non-leaf whose gradient reaches w (as in torch)."""
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    h = tg.zeros(2)
    h += w * 2
    assert h.requires_grad and h.grad_fn is not None
    (h * h).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 8 * w.numpy())
    acc = tg.zeros(2, dtype=tg.float32)  # a float64 operand into float32: the cast is recorded too
    w64 = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    acc += w64 * 3
    assert acc.dtype == np.float32
    acc.sum().backward()
    assert w64.grad.dtype == np.float64 and w64.grad.tolist() == [3.0, 3.0]


def test_a_residual_block_with_in_place_ops_matches_torch():
    """out = relu(linear(x)) * 1; out += x; then mul_, clamp_max_, relu_: torch's idioms, gradients as torch's.
    (The * 1: torch refuses to change relu's saved output in place, where this engine's relu saves a mask.)"""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((5, 4)), rng.standard_normal((4, 4))

    def block(lib, x, w):
        out = (x @ w.T).relu() * 1
        out += x
        out.mul_(0.5).clamp_max_(0.8)
        out.relu_()
        return (out ** 2).sum()

    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    ox, ow = (tg.tensor(a, requires_grad=True) for a in (x, w))
    block(torch, tx, tw).backward()
    block(tg, ox, ow).backward()
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ow.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


MODULES = [  # (ours, the same module in torch by name and arguments)
    ("ReLU", (True,)), ("ReLU", ()), ("ReLU6", (True,)), ("LeakyReLU", (0.1, True)), ("ELU", (0.5, True)),
    ("SELU", (True,)), ("CELU", (2.0, True)), ("Hardtanh", (-2.0, 2.0, True)), ("SiLU", (True,)),
    ("Threshold", (0.1, 2.0, True)), ("Dropout", (0.3, True)), ("Dropout", ()), ("LeakyReLU", ()),
    ("Mish", (True,)), ("Hardsigmoid", (True,)), ("Hardswish", (True,)),
]


@pytest.mark.parametrize("name,args", MODULES)
def test_module_reprs_are_torchs(name, args):
    torch = pytest.importorskip("torch")
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_a_network_of_in_place_modules_trains_as_torchs():
    torch = pytest.importorskip("torch")
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(5, 6), lib.nn.ReLU(inplace=True), lib.nn.Linear(6, 6),
                                 lib.nn.Hardtanh(-0.5, 0.5, inplace=True), lib.nn.Linear(6, 4),
                                 lib.nn.LeakyReLU(0.1, True), lib.nn.Linear(4, 1))
    theirs, ours = build(torch).double(), build(tg).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((7, 5))
    out_t = theirs(torch.from_numpy(x))
    out_o = ours(tg.tensor(x))
    np.testing.assert_allclose(out_o.numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    out_t.pow(2).sum().backward()
    out_o.pow(2).sum().backward()
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_casts_to_dtype_first(name):
    x32 = tg.randn(3, 5, requires_grad=True)
    out = getattr(F, name)(x32, 1, dtype=tg.float64)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), getattr(F, name)(x32.double(), 1).numpy())
    out.sum().backward()
    assert x32.grad.dtype == np.float32
    with pytest.raises(TypeError, match=f"{name}: dtype must be a floating"):
        getattr(F, name)(x32, 1, dtype=tg.int64)


def test_softmax_dtype_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    for name in ("softmax", "log_softmax", "softmin"):
        ours = getattr(F, name)(tg.tensor(a), dim=-1, dtype=tg.float64)
        theirs = getattr(torch.nn.functional, name)(torch.from_numpy(a), dim=-1, dtype=torch.float64)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)
    assert tg.softmax(tg.tensor(a), 1, dtype=tg.float64).dtype == np.float64  # the function form too


def test_softmin_casts_an_integer_input_straight_to_dtype():
    """Not through float32, which cannot tell 2^24 + 1 from 2^24 (torch's softmin: 0.269, 0.731)."""
    out = F.softmin(tg.tensor([[16777217, 16777216]]), 1, dtype=tg.float64)
    np.testing.assert_allclose(out.numpy(), [[1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-12)


TORCH_NAMES = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "hardtanh", "silu", "mish", "hardsigmoid",
               "hardswish", "threshold", "dropout", "tanh", "sigmoid", "softsign", "glu", "normalize", "layer_norm", "embedding", "softmax", "log_softmax", "softmin"]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_functional_arguments_have_torchs_names_and_places(name):
    """Every argument ours takes is torch's, in torch's place (so keyword and positional calls carry over), up to
    torch's own extras (its _stacklevel, out=, and options we do not have)."""
    torch = pytest.importorskip("torch")
    ours = list(inspect.signature(getattr(F, name)).parameters)
    theirs = [p for p in inspect.signature(getattr(torch.nn.functional, name)).parameters if p != "_stacklevel"]
    assert ours[0] == "input"
    assert [p for p in theirs if p in ours] == ours, (ours, theirs)


def test_input_keyword_works():
    x = tg.tensor([[-1.0, 2.0]])
    assert F.relu(input=x).tolist() == [[0.0, 2.0]]
    assert F.embedding(input=tg.tensor([1]), weight=tg.eye(2)).tolist() == [[0.0, 1.0]]
    assert F.linear(input=x, weight=tg.eye(2)).tolist() == [[-1.0, 2.0]]  # (torch's is a builtin, named so)
    assert F.softmax(input=x, dim=1).shape == (1, 2)
    assert F.gelu(input=x).shape == F.logsigmoid(input=x).shape == (1, 2)  # (torch's are builtins: no signature)


def test_retain_grad_before_an_in_place_call_keeps_the_new_values_gradient():
    """As torch's: .grad is the gradient of the result (retain_grad follows the tensor), while a hook registered
    before sees the old values' gradient."""
    a = tg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    x = a * 2
    x.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    F.silu(x, inplace=True)
    F.elu(x, inplace=True)
    (x * tg.tensor([1.0, 2.0, 3.0])).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    assert len(seen) == 1 and not np.array_equal(seen[0], [1.0, 2.0, 3.0])
    x.retain_grad()  # (again after: still one)
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("shape,offset,d1,d2", [((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1), ((4, 3), -2, 0, 1),
                                                 ((2, 3, 4), 1, 2, 0), ((3, 3), 5, 0, 1), ((2, 3, 4), -1, 1, 2)])
def test_diagonal_is_a_view_writes_reach_the_tensor(shape, offset, d1, d2):
    """torch.diagonal's view semantics: x.diagonal().fill_(v) sets x's diagonal (torch's idiom for masking a
    similarity matrix); the two share a version counter, so a graph that saved either sees a change to the other."""
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x = tg.tensor(a.copy())
    x.diagonal(offset, d1, d2).fill_(-1.0)
    want = np.moveaxis(a.copy(), (d1, d2), (-2, -1))
    n = want.shape[-1]
    for i in range(max(-offset, 0), want.shape[-2]):
        if 0 <= i + offset < n:
            want[..., i, i + offset] = -1.0
    np.testing.assert_array_equal(x.numpy(), np.moveaxis(want, (-2, -1), (d1, d2)))
    v = x.diagonal(offset, d1, d2)
    x += 1
    assert v._version == x._version == 2


def test_a_saved_diagonal_sees_its_base_change():
    w = tg.randn(3, requires_grad=True)
    x = tg.ones(3, 3)
    y = (x.diagonal() * w).sum()  # mul saves the diagonal
    x.fill_(2.0)
    with pytest.raises(RuntimeError, match="mul saved for backward was changed in place"):
        y.backward()


def test_hardtanh_and_relu6_keep_an_integer_dtype_as_torch():
    """torch clips an integer tensor in its own dtype, the bounds truncated toward 0; in place too."""
    torch = pytest.importorskip("torch")
    a = np.array([-3, -1, 0, 2, 5, 9])
    for args in ((), (-1.5, 2.5), (0.0, 6.0)):
        ours, theirs = F.hardtanh(tg.tensor(a), *args), torch.nn.functional.hardtanh(torch.tensor(a), *args)
        assert ours.dtype == np.int64 and ours.tolist() == theirs.tolist()
    x = tg.tensor(a)
    assert F.relu6(x, inplace=True) is x and x.dtype == np.int64
    assert x.tolist() == torch.nn.functional.relu6(torch.tensor(a)).tolist()


# ============================================================================ writes recorded (setitem, fill_, copy_)
@st.composite
def _write_case(draw):
    """(shape, index, value shape): a basic index, a boolean mask or an integer array without repeats (with a
    repeat, which write wins is unspecified, so the value's derivative is not a function to check), and a value
    shape that broadcasts to the target, leading 1s included."""
    shape = draw(shapes(min_dims=1))
    kind = draw(st.sampled_from(["basic", "mask", "array"]))
    if kind == "basic":
        index = draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
        index = index if isinstance(index, tuple) else (index,)
    elif kind == "mask":
        k = draw(st.integers(1, len(shape)))
        index = (draw(hnp.arrays(np.bool_, shape[:k])),)
    else:
        d = draw(st.integers(0, len(shape) - 1))
        picks = draw(st.lists(st.integers(0, shape[d] - 1), unique=True, max_size=shape[d]))
        index = (slice(None),) * d + (np.array(picks, dtype=np.int64),)
    target = np.empty(shape)[index].shape
    value = tuple([draw(st.sampled_from([1, n])) for n in target])[draw(st.integers(0, len(target))):]
    return shape, index, (1,) * draw(st.integers(0, 1)) + value


def _written(a, index, v):
    """a with a[index] = v, in numpy: with an Ellipsis the target is a view even for one element, so v may carry
    leading 1s (torch drops them)."""
    out = np.array(a, dtype=np.float64)
    out[index if [i for i in index if i is Ellipsis] else index + (Ellipsis,)] = v
    return out


@with_fixtures
@given(case=_write_case(), data=st.data())
def test_setitem_records_values_and_gradients(device, case, data):
    """y[index] = v on a non-leaf y, recorded as torch's CopySlices: y's gradient skips the written positions,
    v's is y's gradient there summed back to v's shape (central differences, second order too)."""
    shape, index, vshape = case
    a, v = data.draw(arrays(shape), label="x"), data.draw(arrays(vshape), label="v")

    def write(x, value):
        y = x * 1
        y[index] = value
        return y

    check_op(write, lambda x, value: _written(x, index, value), [a, v], device, gradgrad=True)
    check_op(lambda x: write(x, 2.5), lambda x: _written(x, index, 2.5), [a], device)


@with_fixtures
@given(case=_write_case(), data=st.data())
def test_a_buffer_without_grad_joins_the_graph_through_the_value(device, case, data):
    shape, index, vshape = case
    v = data.draw(arrays(vshape), label="v")

    def write(value):
        y = tg.zeros(shape, dtype=tg.float64, device=device)
        y[index] = value
        return y

    check_op(write, lambda value: _written(np.zeros(shape), index, value), [v], device)


def test_outputs_written_into_a_buffer_step_by_step_match_the_stacked_ones():
    """The loop people write in torch: outputs[t] = h, the shared cell weights' gradient summed over the steps."""
    tg.manual_seed(0)
    cell = nn.RNNCell(3, 4, fused=False)
    x = tg.randn(5, 2, 3)

    def run(collect):
        cell.zero_grad()
        h, hs = tg.zeros(2, 4), []
        for t in range(5):
            h = cell(x[t], h)
            hs.append(h)
        out = collect(hs)
        (out * tg.arange(40.0).reshape(5, 2, 4)).sum().backward()
        return out.numpy(), [p.grad.numpy().copy() for p in cell.parameters()]

    def into_buffer(hs):
        buf = tg.zeros(5, 2, 4)
        for t, h in enumerate(hs):
            buf[t] = h
        return buf

    out, grads = run(into_buffer)
    want_out, want_grads = run(tg.stack)
    np.testing.assert_allclose(out, want_out)
    for g, w in zip(grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_fill_zero_copy_and_sampling_are_recorded_writes():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for write in (lambda z: z.zero_(), lambda z: z.fill_(4.0), lambda z: z.uniform_(), lambda z: z.normal_()):
        z = w * 2
        write(z)
        (z * w).sum().backward()  # z no longer depends on w: only the direct factor's gradient, z itself
        np.testing.assert_array_equal(w.grad.numpy(), z.detach().numpy())
        w.grad = None
    z = tg.zeros(2, 3)
    z.copy_(w * 3)  # src broadcast over the rows: its gradient sums them
    z.sum().backward()
    assert w.grad.tolist() == [6.0, 6.0, 6.0]
    s, z = tg.tensor(2.0, requires_grad=True), tg.zeros(4)
    z.fill_(s * s)  # fill_ with a 0-d tensor: every element's gradient reaches it
    z.sum().backward()
    assert s.grad.item() == 16.0


def test_copy_takes_non_blocking_as_torch(device):
    """x.copy_(src, non_blocking=True), as ported code writes for host-to-device copies (torch's signature): the
    copy is the same, done when copy_ returns, and recorded the same."""
    w = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    for kwargs in ({"non_blocking": True}, {"non_blocking": False}, {}):
        z = tg.zeros(3, 2, device=device)
        assert z.copy_(w * 2, **kwargs) is z
        (g,) = tg.autograd.grad(z.sum(), [w])
        assert z.tolist() == [[2.0, 4.0]] * 3 and g.tolist() == [6.0, 6.0]
    assert list(inspect.signature(tg.Tensor.copy_).parameters) == ["self", "src", "non_blocking"]


def test_a_value_of_another_dtype_gets_its_own_dtypes_gradient():
    w = tg.tensor(1.5, dtype=tg.float64, requires_grad=True)
    v = w * 1
    v.retain_grad()  # (a non-leaf: no leaf's cast hides the dtype its gradient arrives in)
    y = tg.zeros(3)
    y[1] = v
    assert y.dtype == tg.float32
    (y * 2).sum().backward()
    assert v.grad.dtype == tg.float64 and v.grad.item() == 2.0
    assert w.grad.dtype == tg.float64 and w.grad.item() == 2.0


def test_an_integer_tensor_takes_a_value_with_grad_unrecorded_as_torchs():
    v = tg.tensor(2.7, requires_grad=True)
    y = tg.zeros(3, dtype=tg.int64)
    y[0] = v
    assert y.tolist() == [2, 0, 0] and not y.requires_grad


def test_recorded_writes_refuse_what_the_graph_could_not_follow():
    w = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad cannot be changed in place"):
        w[0] = 1.0
    buf = tg.zeros(2, 3)  # (a view of its detach() alive beside a view of it is followed now, as torch's: see
    # test_in_place_with_aliases_outside_the_graph_alive_matches_torch)
    with pytest.raises(ValueError, match=r"setitem: cannot write source of shape \(2,\) into a tensor of shape "
                                         r"\(2, 3\) at \(0\): could not broadcast"):
        buf[0] = w[:2] * 2
    assert buf.tolist() == [[0.0] * 3] * 2 and buf._version == 0 and not buf.requires_grad  # nothing written


def test_a_node_that_saved_the_written_tensor_refuses_to_backpropagate():
    w = tg.ones(3, requires_grad=True)
    y = w * 2
    z = y * y  # saves y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="changed in place"):
        z.sum().backward()


def test_retain_grad_before_a_recorded_write_keeps_the_new_values_gradient():
    w = tg.ones(3, requires_grad=True)
    y = w * 2
    y.retain_grad()
    y[0] = w[0] * 10
    (y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert y.grad.tolist() == [1.0, 2.0, 3.0]
    assert w.grad.tolist() == [10.0, 4.0, 6.0]


@pytest.mark.parametrize("shape,index", [((3, 4), (1,)), ((3, 4), (slice(None), [2, 0])), ((3, 4), ([1, 1, 0],)),
                                         ((2, 3, 4), (0, slice(None), [1, 3])), ((3, 4), (Ellipsis, 1)),
                                         ((3, 4), (np.array([[True, False, True, False]] * 3),))])
def test_recorded_setitem_matches_torch(shape, index):
    """Values and both gradients against torch's, repeated indices included (every copy of the value gets its
    gradient, as torch's index_put_)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    t_index = tuple(torch.tensor(i) if isinstance(i, (list, np.ndarray)) else i for i in index)
    target = torch.zeros(shape)[t_index].shape
    v = rng.standard_normal(tuple(target))
    w = rng.standard_normal(shape)
    x, xv = tg.tensor(a, requires_grad=True), tg.tensor(v, requires_grad=True)
    tx, tv = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
    y, ty = x * 1, tx * 1
    y[index] = xv * 1
    ty[t_index] = tv * 1
    if not any(isinstance(i, list) and len(set(i)) < len(i) for i in index):  # (a repeat: which write wins varies)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    (y * tg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(xv.grad.numpy(), tv.grad.numpy())


def test_a_recorded_copy_or_fill_that_fails_names_its_op_once():
    w = tg.ones(3, requires_grad=True)
    for write, op in ((lambda y: y.copy_(tg.ones(4, requires_grad=True)), "copy_"),
                      (lambda y: y.__setitem__(slice(None), tg.ones(4, requires_grad=True)), "setitem")):
        with pytest.raises(ValueError, match=rf"^{op}: cannot write source of shape \(4,\) into a tensor of shape"):
            write(w * 2)


def test_a_write_that_detect_anomaly_refuses_leaves_the_tensor_as_it_was():
    w = tg.ones(3, requires_grad=True)
    y = w * 2
    node, v = y.grad_fn, w[0] * float("nan")
    with tg.autograd.detect_anomaly(), pytest.raises(FloatingPointError, match="forward of setitem"):
        y[0] = v
    assert y.tolist() == [2.0, 2.0, 2.0] and y._version == 0 and y.grad_fn is node
    with tg.autograd.detect_anomaly():
        y[1] = w[1] * 5  # a finite write is recorded as without anomaly detection
    y.sum().backward()
    assert y.tolist() == [2.0, 5.0, 2.0] and w.grad.tolist() == [2.0, 5.0, 2.0]


def test_a_value_viewing_the_written_tensor_is_refused_with_a_hint_to_clone_it():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = w * 2
    with pytest.raises(RuntimeError, match=r"setitem: the value \(shape \(\), a view of this tensor's memory\)"
                                           r".*clone\(\)"):
        y[0] = y[1]
    with pytest.raises(RuntimeError, match=r"copy_: the value \(shape \(3,\), a view of this tensor's memory\)"):
        y.copy_(y.detach())
    y[0] = y[1].clone()  # what the message asks for
    y.sum().backward()
    assert y.tolist() == [4.0, 4.0, 6.0] and w.grad.tolist() == [0.0, 4.0, 2.0]


def test_none_is_refused_as_a_value_as_in_torch():
    y = tg.zeros(3)
    for write in (lambda: y.__setitem__(0, None), lambda: y.fill_(None), lambda: y.copy_(None)):
        with pytest.raises(TypeError, match="cannot write None"):
            write()  # (numpy would write nan)
    assert y.tolist() == [0.0, 0.0, 0.0]


def test_a_list_of_tensors_with_grad_is_refused_as_a_value():
    """buf[0:2] = [h1, h2] would write the numbers and drop their gradient (torch refuses a list outright)."""
    h = tg.tensor(1.0, requires_grad=True)
    buf = tg.zeros(3)
    with pytest.raises(TypeError, match=r"setitem: the value is a list holding tensors that require grad.*tg.stack"):
        buf[0:2] = [h, h * 2]
    assert buf.tolist() == [0.0, 0.0, 0.0]
    buf[0:2] = [1.0, 2.0]  # (numbers, or tensors under no_grad, are written as before)
    with tg.no_grad():
        buf[1:3] = (h, h * 3)
    assert buf.tolist() == [1.0, 1.0, 3.0]
    buf[0:2] = tg.stack([h, h * 2])
    buf.sum().backward()
    assert h.grad.item() == 3.0


def test_fill_takes_a_number_or_a_0d_tensor_as_torchs():
    with pytest.raises(ValueError, match=r"fill_: the value must be a number or a 0-d tensor, got a tensor of shape "
                                         r"\(2,\)"):
        tg.zeros(2).fill_(tg.ones(2))
    assert tg.zeros(2).fill_(tg.tensor(3.0)).tolist() == [3.0, 3.0]


def test_in_place_on_a_view_writes_through_its_base():
    """x[i] += v (Python: t = x[i]; t += v; x[i] = t), x[:, 1:].mul_(w), a row clamped in place: the view and its
    base hold the memory alone, so the op is recorded on the base as x[i] = x[i] op v (torch's CopySlices), and the
    view reads the written base; values and gradients against torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, h, w = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4))
    for lib, T in ((tg, tg.tensor), (torch, torch.tensor)):
        x0, h0 = T(a, requires_grad=True), T(h, requires_grad=True)
        x = x0 * 1
        x[0] += h0 * 2
        x[:, 1:3].mul_(h0[:2])
        x[2].clamp_(-0.5, 0.5)
        buf = lib.zeros(3, 4, dtype=x.dtype)
        buf[1] += h0
        t = x[1]
        t -= buf[1]
        ((x * T(w)).sum() + (t * 3).sum()).backward()
        if lib is tg:
            got = (x.detach().numpy(), x0.grad.numpy(), h0.grad.numpy())
        else:
            want = (x.detach().numpy(), x0.grad.numpy(), h0.grad.numpy())
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-12)


@with_fixtures
@given(case=_write_case(), data=st.data())
def test_augmented_assignment_into_an_index_values_and_gradients(device, case, data):
    """y[index] += v for a basic index (a view: written through y); an index array or a mask makes a copy, whose
    sum Python writes back with setitem; both against numpy and central differences."""
    shape, index, vshape = case
    target = np.empty(shape)[index].shape
    vshape = vshape[max(0, len(vshape) - len(target)):]  # (an in-place op keeps the view's shape: no extra dims)
    a, v = data.draw(arrays(shape), label="x"), data.draw(arrays(vshape), label="v")

    def add(x, value):
        y = x * 1
        y[index] += value
        return y

    def ref(x, value):
        out = np.array(x, dtype=np.float64)
        target = index if [i for i in index if i is Ellipsis] else index + (Ellipsis,)
        out[target] = out[target] + value
        return out

    check_op(add, ref, [a, v], device, gradgrad=True)


_WITH_VIEWS = {  # name: f(lib, x, w) -> a tensor, in-place writes while other views of the memory are alive
    "write beside a view (k[1] = v.sum() * w)": lambda lib, x, w: _k_write_beside(x, w),
    "base scaled under a view": lambda lib, x, w: _base_scaled(x),
    "base += under a view": lambda lib, x, w: _base_added(x, w),
    "sibling view scaled": lambda lib, x, w: _sibling(x),
    "view of a view written": lambda lib, x, w: _view_of_view(x, w),
    "x[i] += view": lambda lib, x, w: _add_a_view(x),
    "rows of a buffer, each kept": lambda lib, x, w: _rows(lib, x),
    "base without grad takes a value that has it": lambda lib, x, w: _plain_base(lib, x, w),
    "base scaled under detach() and a view": lambda lib, x, w: _under_detach(x, w),
    "unsqueeze view scaled": lambda lib, x, w: _through(x, lambda k: k.unsqueeze(0), lambda v: v.mul_(w)),
    "x[None] scaled": lambda lib, x, w: _through(x, lambda k: k[None], lambda v: v.mul_(w)),
    "squeeze view added to": lambda lib, x, w: _through(x, lambda k: k[1:2].squeeze(0), lambda v: v.add_(w)),
    "view(-1) part scaled": lambda lib, x, w: _through(x, lambda k: k.view(-1), lambda v: v[1:5].mul_(2.0)),
    "reshape filled": lambda lib, x, w: _through(x, lambda k: k.reshape(2, 6), lambda v: v.fill_(2.0)),
    "transpose column scaled": lambda lib, x, w: _through(x, lambda k: k.t(), lambda v: v[:, 0].mul_(3.0)),
    "permute copied into": lambda lib, x, w: _through(x, lambda k: k.permute(1, 0), lambda v: v.copy_(
        w.unsqueeze(1).expand(4, 3) * 1)),
    "movedim row written": lambda lib, x, w: _through(x, lambda k: k.movedim(0, 1), lambda v: v.__setitem__(
        1, w[:3] * 2)),
    "unsqueeze of a row scaled": lambda lib, x, w: _through(x, lambda k: k[1].unsqueeze(0), lambda v: v.mul_(w)),
    "base scaled under unsqueeze": lambda lib, x, w: _through(x, lambda k: k.unsqueeze(1), lambda v: None,
                                                               lambda k: k.mul_(w)),
    "row scaled under reshape": lambda lib, x, w: _through(x, lambda k: k.reshape(2, 6), lambda v: None,
                                                            lambda k: k[1].mul_(w)),
    "base added under T and a row": lambda lib, x, w: _through(x, lambda k: k.T, lambda v: None,
                                                                lambda k: (k[1].add_(w), k.mul_(2.0))),
    "base scaled under expand": lambda lib, x, w: _through(x, lambda k: k[0].expand(3, 4), lambda v: None,
                                                            lambda k: k.mul_(w)),
    "row of an expand scaled": lambda lib, x, w: _through(x, lambda k: k[0].expand(3, 4), lambda v: v[1].mul_(w)),
    "row of an expand set": lambda lib, x, w: _through(x, lambda k: k[1].expand(3, 4), lambda v: v.__setitem__(
        2, w * 2)),
    "element of an expand set": lambda lib, x, w: _through(x, lambda k: k[1].expand(3, 4), lambda v: v.__setitem__(
        (0, 1), w[0])),
    "slice of an expand filled": lambda lib, x, w: _through(x, lambda k: k[2].expand(2, 4), lambda v: v[1:].fill_(
        3.0)),
    "part of an expanded row added to": lambda lib, x, w: _through(x, lambda k: k.unsqueeze(1).expand(3, 2, 4),
                                                                    lambda v: v[:, 1, 1:3].t().add_(w[:3])),
    "diagonal filled": lambda lib, x, w: _through(x, lambda k: k.diagonal(), lambda v: v.fill_(2.0)),
    "upper diagonal scaled": lambda lib, x, w: _through(x, lambda k: k.diagonal(1), lambda v: v.mul_(w[:3])),
    "diagonal of t() scaled": lambda lib, x, w: _through(x, lambda k: k.t().diagonal(), lambda v: v.mul_(w[1:])),
    "row scaled under a diagonal": lambda lib, x, w: _through(x, lambda k: k.diagonal(-1), lambda v: None,
                                                               lambda k: k[1].mul_(w)),
}


def _through(x, view, change, base_change=None):
    """A view of k = x * 1 made, changed in place (``change``) and, or, k changed (``base_change``): k and the
    view read after."""
    k = x * 1
    v = view(k)
    change(v)
    if base_change is not None:
        base_change(k)
    return (k * k * 1.5).sum() + (v * v).sum() + k[0].sum()


def _under_detach(x, w):
    k = x * 1
    d, v = k.detach(), k[0]
    k.mul_(w)
    return (k * d).sum() + (v * v).sum()


def _k_write_beside(x, w):
    k = x.clone()
    v = k[0]
    k[1] = v.sum() * w[0]
    return k.sum() + (v * 3).sum()


def _base_scaled(x):
    k = x * 1
    v = k[0:2]
    k.mul_(2)
    return (v * v).sum()


def _base_added(x, w):
    k = x * 1
    v = k[1]
    k += w
    return (v * 2).sum() + k[0].sum()


def _sibling(x):
    k = x * 1
    v, rest = k[0], k[1:]
    rest.mul_(3)
    return (v * 2).sum() + k.sum() + rest.sum()


def _view_of_view(x, w):
    k = x * 1
    v = k[1:]
    v2, u = v[0], k[0]
    v2.mul_(w[0])
    return u.sum() + v.sum() + (k * k).sum() + v2.sum()


def _add_a_view(x):
    k = x * 1
    u = k[0]
    k[1] += u * 3
    return (k * k).sum() + u.sum()


def _rows(lib, x):
    h = lib.zeros(x.shape, dtype=x.dtype)
    rows = []
    for i in range(x.shape[0]):
        h[i] = lib.tanh(x[i] + (h[i - 1] if i else 0.0))
        rows.append(h[i])
    return h.sum() + sum((r * r).sum() for r in rows)


def _plain_base(lib, x, w):
    k = lib.zeros(x.shape, dtype=x.dtype)
    v, rest = k[0], k[1:]
    k[1] = w * 2
    return (rest * 3).sum() + v.sum() + (k * x).sum()


@pytest.mark.parametrize("case", list(_WITH_VIEWS))
def test_writes_with_other_views_alive_match_torch(device, case):
    """An in-place change to a tensor, or to one of its views x[i], while other views x[j] (basic indexing) are alive
    is written into the base (torch's CopySlices) and every view is rebased on the written base, as torch's views
    are: values and gradients against torch in float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    results = []
    for lib in (tg, torch):
        kw = {"device": device} if lib is tg else {}
        x, w = (lib.tensor(v, dtype=lib.float64, requires_grad=True, **kw) for v in (a, b))
        out = _WITH_VIEWS[case](lib, x, w)
        out.backward()
        results.append([out.detach().cpu().numpy()] + [t.grad.cpu().numpy() if t.grad is not None else None
                                                       for t in (x, w)])
    for g, e in zip(*results):
        if e is None:
            assert g is None or not g.any()
        else:
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@with_fixtures
@given(case=_write_case(), view=st.data())
def test_a_write_rebases_the_views_alive_values_and_gradients(device, case, view):
    """y[index] = v while a view y[j] is alive: the view reads, and differentiates, the written y (central
    differences, second order too)."""
    shape, index, vshape = case
    j = view.draw(hnp.basic_indices(shape, min_dims=0, allow_ellipsis=True), label="view")
    j = j if isinstance(j, tuple) else (j,)
    a, v = view.draw(arrays(shape), label="x"), view.draw(arrays(vshape), label="v")

    def write(x, value):
        y = x * 1
        seen = y[j]
        y[index] = value
        return y, seen * 1

    def ref(x, value):
        y = _written(x, index, value)
        return y, y[j if Ellipsis in j else j + (Ellipsis,)]

    check_op(write, ref, [a, v], device, gradgrad=True)


@with_fixtures
@given(data=st.data())
def test_writes_through_reshaped_and_permuted_views_values_and_gradients(device, data):
    """A view of y = x * 1 made by permute (transpose, t, movedim) then unsqueeze (view, reshape), scaled in place
    by v, and y then written at a basic index while the view lives: y and the view read, and differentiate, the
    written memory (central differences, second order too)."""
    shape = data.draw(shapes(min_dims=1, max_dims=3), label="shape")
    perm = tuple(data.draw(st.permutations(range(len(shape))), label="perm"))
    d = data.draw(st.integers(0, len(shape)), label="unsqueeze")
    j = data.draw(hnp.basic_indices(shape, min_dims=0), label="index")
    j = j if isinstance(j, tuple) else (j,)
    vshape = tuple(shape[p] for p in perm)
    vshape = vshape[:d] + (1,) + vshape[d:]
    a, v = data.draw(arrays(shape), label="x"), data.draw(arrays(vshape), label="v")

    def write(x, value):
        y = x * 1
        seen = y.permute(perm).unsqueeze(d)
        seen.mul_(value)
        y[j] = y[j] * 0.5
        return y, seen * 1

    def ref(x, value):
        y = np.array(x)
        seen = np.expand_dims(y.transpose(perm), d)
        seen *= value
        target = j if Ellipsis in j else j + (Ellipsis,)
        y[target] = y[target] * 0.5
        return y, np.expand_dims(y.transpose(perm), d)

    check_op(write, ref, [a, v], device, gradgrad=True)


def test_writing_into_an_expand_view_is_torchs_error_and_a_base_write_rebases_it(device):
    """An expand view is read-only (torch's RuntimeError, a ValueError too as before), while its base may be
    written in place, which the view then reads and differentiates as torch's."""
    torch = pytest.importorskip("torch")
    a = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    x = a * 1
    v = x[:1].expand(3)
    for change in (lambda: v.add_(1.0), lambda: v.mul_(a[0]), lambda: v.copy_(a[:1].expand(3) * 1)):
        with pytest.raises(RuntimeError, match=r"is read-only: unsupported operation: more than one element of the "
                                               r"written-to tensor refers to a single memory location"):
            change()
    assert x._version == 0
    x.mul_(3.0)
    (v * v).sum().backward()
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = t * 1
    u = y[:1].expand(3)
    y.mul_(3.0)
    (u * u).sum().backward()
    assert v.tolist() == u.tolist() and x._version == y._version
    np.testing.assert_allclose(a.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-12)


def test_a_write_leaves_the_views_it_did_not_touch_as_they_were():
    """Rows kept while the next row is written keep their nodes (their values, and so gradients, are unchanged);
    a row the write overlaps, and a view of the base that joins the graph, are rebased."""
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    h = tg.zeros(3, 2)
    whole, row2 = h[:], h[2]
    h[0] = a * 1
    row0 = h[0]
    node, row2_node = row0.grad_fn, row2.grad_fn
    assert row2.requires_grad and whole.requires_grad  # (h joined the graph: so did its views, as torch's)
    h[1] = a * 2
    assert row0.grad_fn is node and row2.grad_fn is row2_node and whole.grad_fn is not None
    h[0] += 1.0
    assert row0.grad_fn is not node and row0.tolist() == [2.0, 3.0]


def _row_loop(lib, x, w, u, kept="rows"):
    """h[t + 1] = tanh(x[t] @ w + h[t].clone() @ u), each row written kept alive (``kept``: "rows", h[t + 1] each;
    "pairs", h[t:t + 2] each) while the next rows are written."""
    steps, batch, hidden = x.shape[0], x.shape[1], w.shape[1]
    h = lib.zeros(steps + 1, batch, hidden, dtype=x.dtype, device=x.device)
    outs = []
    for t in range(steps):
        h[t + 1] = lib.tanh(x[t] @ w + h[t].clone() @ u)
        outs.append(h[t + 1] if kept == "rows" else h[t:t + 2])
    return h, outs


@pytest.mark.parametrize("kept", ["rows", "pairs"])
def test_rows_written_while_every_row_lives_match_torch(device, kept):
    """A recurrence written row by row into a buffer, each row kept (the rows, or views of two rows each): values,
    gradients and the buffer's _version against torch in float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    data = rng.standard_normal((7, 2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 4)) * 0.5
    results = []
    for lib in (tg, torch):
        kw = {"device": device} if lib is tg else {}
        x, w, u = (lib.tensor(v, dtype=lib.float64, requires_grad=True, **kw) for v in data)
        h, outs = _row_loop(lib, x, w, u, kept)
        loss = sum((o * o).sum() * (k + 1) for k, o in enumerate(outs)) + h.sum()
        loss.backward()
        results.append([h.detach().cpu().numpy(), loss.detach().cpu().numpy(), h._version]
                       + [t.grad.cpu().numpy() for t in (x, w, u)])
    for g, e in zip(*results):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


_VIEWS = [lambda k: k[1], lambda k: k[2:4], lambda k: k[:, 1], lambda k: k.t(), lambda k: k.unsqueeze(0),
          lambda k: k[3].unsqueeze(1), lambda k: k.view(-1), lambda k: k.diagonal(), lambda k: k[1:].t(),
          lambda k: k[0], lambda k: k[4:], lambda k: k[::2]]


@with_fixtures
@given(steps=st.lists(st.tuples(st.integers(0, len(_VIEWS) - 1), st.integers(-1, 7), st.integers(0, 3)),
                      min_size=1, max_size=8), rows=st.sampled_from([6, 20]))
def test_writes_among_many_live_views_match_torch(device, steps, rows):
    """Views of a buffer (rows, slices, columns, t(), unsqueeze, view, diagonal, views of views) made and kept while
    the buffer or one of them is changed in place, step by step: values, gradients and versions against torch in
    float64 (the views a write reaches found by where they lie, see _ViewIndex: 20 rows make some views wide)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(steps))
    data = rng.standard_normal((rows, 3)), rng.standard_normal(3)
    results = []
    for lib in (tg, torch):
        kw = {"device": device} if lib is tg else {}
        x, w = (lib.tensor(v, dtype=lib.float64, requires_grad=True, **kw) for v in data)
        k = x * 1
        views = []
        for make, target, change in steps:
            views.append(_VIEWS[make](k))
            t = k if target < 0 else views[target % len(views)]
            if change == 0:
                t.mul_(w[0])
            elif change == 1:
                t.add_(w[1] * 2)
            elif change == 2:
                t.fill_(0.5)
            else:
                t[0] = w[2] * 3
        loss = (k * k).sum() + sum((v * v).sum() * (i + 2) for i, v in enumerate(views))
        loss.backward()
        grads = [np.zeros(t.shape) if t.grad is None else t.grad.cpu().numpy() for t in (x, w)]
        results.append([loss.detach().cpu().numpy(), k._version] + grads + [v.detach().cpu().numpy() for v in views])
    for g, e in zip(*results):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_a_row_write_checks_only_the_views_it_may_reach(monkeypatch):
    """The views a write checks and rebases: those made since the last write and those whose memory it may overlap,
    not every live view, so rows kept at every step cost the same at each (linear in the steps, where walking
    every view made the loop quadratic: 1 s at 1000 steps, 17 s at 4000). Counted, not timed: the views whose
    references are checked (Tensor._reference_counts) and rebased (_rebase_views) over 50 and 200 steps."""
    tensor_module = __import__("importlib").import_module("tinygrad_rnn.tensor")
    counts = {"checked": 0, "rebased": 0}
    references, rebase = tensor_module.Tensor._reference_counts, tensor_module._rebase_views

    def counted_references(self):
        counts["checked"] += 1
        return references(self)

    def counted_rebase(views, written):
        counts["rebased"] += len(views)
        return rebase(views, written)

    monkeypatch.setattr(tensor_module.Tensor, "_reference_counts", counted_references)
    monkeypatch.setattr(tensor_module, "_rebase_views", counted_rebase)
    totals = []
    for steps in (50, 200):
        counts.update(checked=0, rebased=0)
        x = tg.randn(steps, 2, 3, dtype=tg.float64, requires_grad=True)
        w, u = tg.randn(3, 4, dtype=tg.float64, requires_grad=True), tg.randn(4, 4, dtype=tg.float64)
        h, outs = _row_loop(tg, x, w, u)
        assert len(outs) == steps and counts["rebased"] <= 2 * steps  # (the row written, if one of it lives)
        totals.append(dict(counts))
    assert totals[1]["checked"] <= 5 * totals[0]["checked"] and totals[1]["rebased"] <= 5 * totals[0]["rebased"]
    h[3] = h[3] * 2  # (a row kept is still rebased when written)
    assert outs[2].grad_fn is not None and counts["rebased"] == totals[1]["rebased"] + 1


def test_a_base_written_while_a_view_made_under_no_grad_lives_is_refused():
    """torch raises when such a view is next used (its grad_fn would be ambiguous); here the write itself is refused
    and changes nothing."""
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    k = a * 2
    with tg.no_grad():
        v = k[0]
    with pytest.raises(RuntimeError, match=r"mul_: a view \(shape \(\)\) of this memory was made under no_grad"):
        k.mul_(2)
    assert k.tolist() == [2.0, 4.0, 6.0] and k._version == 0 and v.item() == 2.0


def test_a_tensor_with_live_views_copies_and_pickles(device):
    """The version counter lists the live views by weak reference: a deep copy or a pickle of the tensor takes none
    of them, and a recorded write into the copy goes on as into a tensor without views."""
    w = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    x = tg.zeros(2, 3, dtype=tg.float64, device=device)
    v = x[0]
    for y in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        y[1] = w * 2
        (y * y).sum().backward()
        assert y.tolist() == [[0.0] * 3, [2.0, 4.0, 6.0]] and w.grad.tolist() == [8.0, 16.0, 24.0]
        w.grad = None
    assert x.tolist() == [[0.0] * 3] * 2 and v._base[0] is x


def test_a_view_of_a_leaf_that_requires_grad_is_refused_as_torch():
    w = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\+=: a leaf tensor that requires grad cannot be changed in place"):
        w[0] += 1.0
    assert w.tolist() == [[1.0] * 3] * 2


# ============================================================================ scatter_, index_add_, index_fill_, index_copy_
@st.composite
def _along_case(draw, unique):
    """(shape, dim, index): a 1-d integer index into dim (repeats unless ``unique``)."""
    shape = draw(shapes(min_dims=1))
    d = draw(st.integers(0, len(shape) - 1))
    n = shape[d]
    picks = st.lists(st.integers(0, n - 1), unique=unique, max_size=n if unique else 5)
    return shape, d, np.array(draw(picks), dtype=np.int64)


def _np_along(a, d, idx):
    return (slice(None),) * d + (idx,)


@with_fixtures
@given(case=_along_case(unique=True), data=st.data())
def test_index_copy_values_and_gradients(device, case, data):
    shape, d, idx = case
    src_shape = shape[:d] + (idx.size,) + shape[d + 1:]
    a, s = data.draw(arrays(shape), label="x"), data.draw(arrays(src_shape), label="source")

    def ref(x, src):
        out = x.copy()
        out[_np_along(out, d, idx)] = src
        return out

    check_op(lambda x, src: (x * 1).index_copy_(d, tg.tensor(idx), src), ref, [a, s], device)
    check_op(lambda x, src: x.index_copy(d, tg.tensor(idx), src), ref, [a, s], device)


@with_fixtures
@given(case=_along_case(unique=False), data=st.data())
def test_index_fill_and_index_add_values_and_gradients(device, case, data):
    """Repeated indices included: index_fill_ writes a slice once (the value's gradient counts it once, as torch's),
    index_add_ adds every repeat."""
    shape, d, idx = case
    a = data.draw(arrays(shape), label="x")
    v = data.draw(arrays(()), label="value")

    def fill(x, value):
        out = x.copy()
        out[_np_along(out, d, idx)] = value
        return out

    check_op(lambda x, value: (x * 1).index_fill_(d, tg.tensor(idx), value), fill, [a, v], device)
    check_op(lambda x: x.index_fill(d, idx, 2.5), lambda x: fill(x, 2.5), [a], device)
    src_shape = shape[:d] + (idx.size,) + shape[d + 1:]
    s = data.draw(arrays(src_shape), label="source")

    def add(x, src):
        out = x.copy()
        np.add.at(out, _np_along(out, d, idx), src * 0.5)
        return out

    check_op(lambda x, src: (x * 1).index_add_(d, tg.tensor(idx), src, alpha=0.5), add, [a, s], device)


@with_fixtures
@given(case=_along_case(unique=False), data=st.data())
def test_scatter_and_scatter_add_in_place_values_and_gradients(device, case, data):
    """index of x's shape but idx's length along dim, its entries drawn per position (no repeats for scatter_,
    whose written value at a repeat is unspecified)."""
    shape, d, _ = case
    n = shape[d]
    idx = np.stack([data.draw(st.permutations(range(n)), label="perm") for _ in range(int(np.prod(shape)) // n)])
    idx = np.moveaxis(idx.reshape(shape[:d] + shape[d + 1:] + (n,)), -1, d)
    a, s = data.draw(arrays(shape), label="x"), data.draw(arrays(shape), label="src")

    def scatter(x, src, add):
        out = x.copy()
        grids = list(np.meshgrid(*[np.arange(m) for m in shape], indexing="ij"))
        grids[d] = idx
        (np.add.at(out, tuple(grids), src) if add else out.__setitem__(tuple(grids), src))
        return out

    check_op(lambda x, src: (x * 1).scatter_(d, tg.tensor(idx), src), lambda x, src: scatter(x, src, False),
             [a, s], device)
    check_op(lambda x, src: (x * 1).scatter_add_(d, tg.tensor(idx), src), lambda x, src: scatter(x, src, True),
             [a, s], device)


def test_index_and_scatter_in_place_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, s, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 2)), 1.5
    idx = np.array([3, 1])
    for name, ours, theirs in (
            ("index_copy_", lambda x, src, val: x.index_copy_(1, tg.tensor(idx), src),
             lambda x, src, val: x.index_copy_(1, torch.tensor(idx), src)),
            ("index_fill_", lambda x, src, val: x.index_fill_(1, tg.tensor([1, 1, 3]), val),
             lambda x, src, val: x.index_fill_(1, torch.tensor([1, 1, 3]), val)),
            ("index_add_", lambda x, src, val: x.index_add_(1, tg.tensor([3, 3]), src, alpha=2.0),
             lambda x, src, val: x.index_add_(1, torch.tensor([3, 3]), src, alpha=2.0)),
            ("scatter_", lambda x, src, val: x.scatter_(1, tg.tensor([[0, 2], [1, 3], [3, 0]]), src),
             lambda x, src, val: x.scatter_(1, torch.tensor([[0, 2], [1, 3], [3, 0]]), src)),
            ("scatter_add_", lambda x, src, val: x.scatter_add_(1, tg.tensor([[0, 0], [1, 3], [3, 3]]), src),
             lambda x, src, val: x.scatter_add_(1, torch.tensor([[0, 0], [1, 3], [3, 3]]), src))):
        xs = [tg.tensor(a, requires_grad=True), tg.tensor(s, requires_grad=True), tg.tensor(v, requires_grad=True)]
        ts = [torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True),
              torch.tensor(v, requires_grad=True)]
        y, ty = ours(xs[0] * 1, xs[1] * 1, xs[2] * 1), theirs(ts[0] * 1, ts[1] * 1, ts[2] * 1)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), err_msg=name)
        w = rng.standard_normal(a.shape)
        (y * tg.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        for x, t in zip(xs, ts):
            assert (x.grad is None) == (t.grad is None), name
            if t.grad is not None:
                np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), err_msg=name)
    labels = np.array([2, 0, 1])  # torch's one-hot idiom
    np.testing.assert_array_equal(tg.zeros(3, 4).scatter_(1, tg.tensor(labels)[:, None], 1.0).numpy(),
                                  torch.zeros(3, 4).scatter_(1, torch.tensor(labels)[:, None], 1.0).numpy())


def test_index_fill_and_copy_refuse_what_torch_refuses():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"index_copy_: source must be a torch.float32 tensor of shape \(2, 1\)"):
        x.index_copy_(1, tg.tensor([0]), tg.ones(2, 2))
    with pytest.raises(ValueError, match=r"index_copy_: source must be a torch.float32 tensor "
                                         r"of shape \(2, 1\).*torch.float64"):
        x.index_copy_(1, tg.tensor([0]), tg.ones(2, 1, dtype=tg.float64))
    with pytest.raises(ValueError, match=r"index_fill_: the value must be a number or a 0-d tensor"):
        x.index_fill_(1, tg.tensor([0]), tg.ones(2))
    with pytest.raises(IndexError, match=r"index_fill_: index 3 is out of range for dim 1 of size 3"):
        x.index_fill_(1, tg.tensor([3]), 1.0)
    with pytest.raises(IndexError, match=r"index_fill_: index -4 is out of range for dim 1 of size 3"):
        x.index_fill_(1, tg.tensor([-4]), 1.0)
    with pytest.raises(IndexError, match=r"index_fill_: index 1 is out of range"):
        tg.tensor(1.0).index_fill_(0, tg.tensor([1]), 1.0)
    assert x.tolist() == [[0.0] * 3] * 2


def test_index_fill_takes_negative_indices_and_a_0d_tensor_as_torch():
    """Negative indices count from the end (-1 and 3 name one slice, whose value gradient counts once), and a 0-d
    tensor is one element at dim 0 or -1; torch's forward (its backward fails on negative indices)."""
    a = np.arange(8.0).reshape(2, 4)
    x, v = tg.tensor(a, requires_grad=True), tg.tensor(9.0, requires_grad=True)
    y = (x * 1).index_fill_(1, tg.tensor([-1, 3, 0]), v)
    np.testing.assert_array_equal(y.numpy(), [[9.0, 1.0, 2.0, 9.0], [9.0, 5.0, 6.0, 9.0]])
    (y * tg.tensor(a)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 2.0, 0.0], [0.0, 5.0, 6.0, 0.0]])
    assert v.grad.item() == 0.0 + 3.0 + 4.0 + 7.0
    s, v = tg.tensor(2.0, requires_grad=True), tg.tensor(5.0, requires_grad=True)
    y = (s * 1).index_fill_(-1, tg.tensor([-1, 0]), v)
    y.backward()
    assert (y.item(), s.grad.item(), v.grad.item()) == (5.0, 0.0, 1.0)
    assert tg.tensor(2.0).index_fill(0, tg.tensor([], dtype=tg.int64), 5.0).item() == 2.0


def test_index_copy_takes_a_0d_tensor_as_one_element_as_torch(device):
    """A 0-d tensor is one element at dim 0 or -1 (index 0-d or of one entry, source 0-d or of shape (1,)), as
    torch's index_copy; it was refused. The gradient leaves the overwritten value and reaches source."""
    torch = pytest.importorskip("torch")
    for dim, index, src in [(0, 0, 3.0), (-1, [0], 3.0), (0, [0], [3.0])]:
        x, s = tg.tensor(1.0, requires_grad=True, device=device), tg.tensor(src, requires_grad=True, device=device)
        tx, ts = torch.tensor(1.0, requires_grad=True), torch.tensor(src, requires_grad=True)
        y, ty = (x * 1).index_copy(dim, tg.tensor(index, device=device), s), tx.index_copy(dim, torch.tensor(index), ts)
        assert y.shape == () and y.item() == ty.item() == 3.0
        (y * 2).backward()
        (ty * 2).backward()
        assert x.grad.item() == tx.grad.item() == 0.0
        np.testing.assert_array_equal(s.grad.numpy(), ts.grad.numpy())
    z = tg.tensor(1.0, device=device)
    assert z.index_copy_(0, tg.tensor([0, 0], device=device), tg.tensor([3.0, 4.0], device=device)) is z
    assert z.item() == 4.0  # (the last of a repeated index, as torch's forward on the cpu)
    with pytest.raises(IndexError, match="index_copy_: index 1 is out of range"):
        z.index_copy_(0, tg.tensor([1], device=device), tg.tensor(3.0, device=device))
    with pytest.raises(IndexError, match="out of range"):
        z.index_copy_(1, tg.tensor([0], device=device), tg.tensor(3.0, device=device))
    with pytest.raises(ValueError, match=r"index_copy_: source must be a torch.float32 tensor of shape \(1,\)"):
        z.index_copy_(0, tg.tensor([0], device=device), tg.tensor([[3.0]], device=device))


@with_fixtures
@given(data=st.data())
def test_index_put_values_and_gradients(device, data):
    """Index tensors for the leading dims (an integer array per dim, or a mask); accumulate adds at repeats, a
    plain put needs distinct positions (at a repeat the written value is unspecified)."""
    shape = data.draw(shapes(min_dims=1), label="shape")
    k = data.draw(st.integers(1, len(shape)), label="indexed dims")
    accumulate = data.draw(st.booleans(), label="accumulate")
    if data.draw(st.booleans(), label="mask"):
        index = (data.draw(hnp.arrays(np.bool_, shape[:k]), label="mask"),)
    else:
        m = data.draw(st.integers(0, 4), label="positions")
        cells = st.tuples(*[st.integers(0, n - 1) for n in shape[:k]])
        picked = data.draw(st.lists(cells, min_size=m, max_size=m, unique=not accumulate), label="cells")
        index = tuple(np.array([c[j] for c in picked], dtype=np.int64).reshape(len(picked)) for j in range(k))
    target = np.empty(shape)[index].shape
    vshape = target[data.draw(st.integers(0, len(target)), label="dropped leading dims"):]
    a, v = data.draw(arrays(shape), label="x"), data.draw(arrays(vshape), label="values")

    def ref(x, values):
        out = x.copy()
        if accumulate:
            np.add.at(out, index, np.broadcast_to(values, target))
        else:
            out[index] = values
        return out

    idx = tuple(tg.tensor(i) for i in index)
    check_op(lambda x, values: (x * 1).index_put_(idx, values, accumulate), ref, [a, v], device)
    check_op(lambda x, values: x.index_put(idx, values, accumulate=accumulate), ref, [a, v], device)


def test_index_put_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4))
    for index, vshape, accumulate in ((([0, 2, 0], [1, 3, 1]), (3,), True), (([1, 2],), (4,), False),
                                      ((np.array([True, False, True]),), (2, 4), False), (([2, 2],), (), True)):
        v = rng.standard_normal(vshape)
        x, xv = tg.tensor(a, requires_grad=True), tg.tensor(v, requires_grad=True)
        t, tv = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
        y = (x * 1).index_put_(tuple(tg.tensor(i) for i in index), xv * 1, accumulate)
        ty = (t * 1).index_put_(tuple(torch.tensor(i) for i in index), tv * 1, accumulate)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
        w = rng.standard_normal(a.shape)
        (y * tg.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
        np.testing.assert_allclose(xv.grad.numpy(), tv.grad.numpy())


def test_index_put_refuses_what_torch_refuses():
    x = tg.zeros(3, 4)
    with pytest.raises(TypeError, match="index_put_: indices must be a tuple of Tensors"):
        x.index_put_(tg.tensor([0]), tg.tensor(1.0))
    with pytest.raises(TypeError, match="index_put_: values must be a torch.float32 Tensor"):
        x.index_put_((tg.tensor([0]),), 1.0)
    with pytest.raises(RuntimeError, match="index_put_: values must be a torch.float32 Tensor"):  # (torch's type)
        x.index_put_((tg.tensor([0]),), tg.tensor(1.0, dtype=tg.float64))
    with pytest.raises(IndexError, match="index_put_: index tensors must be integer or boolean"):
        x.index_put_((tg.tensor([0.5]),), tg.tensor(1.0))
    with pytest.raises(IndexError, match="index_put_: index 5 is out of range for dim 0 of size 3"):
        x.index_put_((tg.tensor([5]),), tg.tensor(1.0))
    with pytest.raises(ValueError, match="index_put_: the indices and values of shape"):
        x.index_put_((tg.tensor([0, 1]), tg.tensor([0, 1, 2])), tg.tensor(1.0), accumulate=True)
    assert x.tolist() == [[0.0] * 4] * 3


def test_a_new_tensor_from_tensors_with_grad_warns_as_torchs():
    """tg.tensor([h1, h2]) copies the values into a new leaf: the gradient stops there, so it warns (torch warns on
    the same conversion); detached values, numbers and tg.stack do not."""
    h = tg.tensor(1.0, requires_grad=True)
    with pytest.warns(UserWarning, match=r"tensor: the values of tensors that require grad .*tg.stack"):
        t = tg.tensor([h, h * 2])
    assert t.tolist() == [1.0, 2.0] and not t.requires_grad
    with pytest.warns(UserWarning, match="drops their gradient"):
        tg.Tensor((h,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.tensor([h.detach(), 2.0])
        tg.tensor([1.0, 2.0])
        with tg.no_grad():
            tg.tensor([h * 2])
        tg.stack([h, h * 2])


@pytest.mark.parametrize("view", ["x", "x[1:]", "x.t()", "x[None][0]"])
def test_an_augmented_write_into_a_view_of_a_view_matches_torch(device, view):
    """y[0] += w where y is itself a view of x (Python: t = y[0]; t += w; y[0] = t): the in-place op on y[0] has
    written y, and so x, already; the final setitem writes nothing (it raised that the value shares the memory
    written), though it moves the version on, as torch's. Values, gradients and _version against torch in
    float64."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tg, torch):
        kw = {"device": device} if lib is tg else {}
        a = lib.tensor(np.arange(12.0).reshape(3, 4) / 7, dtype=lib.float64, requires_grad=True, **kw)
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True, **kw)
        x = a * 1
        y = {"x": lambda: x, "x[1:]": lambda: x[1:], "x.t()": lambda: x.t(), "x[None][0]": lambda: x[None][0]}[view]()
        y[0] += w.sum() if y.shape[1] == 4 else w
        loss = (x * x).sum() + (y * 3).sum()
        loss.backward()
        results.append([x.detach().cpu().numpy(), a.grad.cpu().numpy(), w.grad.cpu().numpy(), x._version])
    for g, e in zip(*results):
        np.testing.assert_allclose(g, e, rtol=1e-12)


_MULTI = {"unbind": (lambda x: x.unbind(0), "Unbind"), "unbind(1)": (lambda x: x.unbind(1), "Unbind"),
          "split": (lambda x: x.split(2), "Split"), "chunk": (lambda x: x.chunk(2), "Split"),
          "tg.split": (lambda x: x.split([1, 3]), "SplitWithSizes"),
          "split_with_sizes": (lambda x: x.split_with_sizes([1, 3]), "SplitWithSizes")}


@pytest.mark.parametrize("case", list(_MULTI))
def test_outputs_of_a_function_returning_several_views_refuse_in_place_changes_as_torch(device, case):
    """torch refuses changing in place, with grad on, an output of unbind, split, chunk or split_with_sizes (or a view
    of one) that requires grad, or one written with a value that does; once their base is changed in place, the
    gradient through such an output raises (torch's raises when the output is next used). Under no_grad, without
    grad, and for tensor_split and the unsafe_ forms, the change goes through. Messages against torch's."""
    torch = pytest.importorskip("torch")
    split, name = _MULTI[case]
    a = tg.ones(4, 3, dtype=tg.float64, device=device, requires_grad=True)
    t = torch.ones(4, 3, dtype=torch.float64, requires_grad=True)
    changes = [lambda outs, a: outs[1].mul_(2), lambda outs, a: outs[1].zero_(),
               lambda outs, a: outs[1].__setitem__(0, 5.0), lambda outs, a: outs[1][0:1].mul_(2)]
    for change in changes:
        messages = []
        for lib, base in ((tg, a), (torch, t)):
            outs = split(base * 1)
            with pytest.raises(RuntimeError) as info:
                change(outs, base)
            messages.append(str(info.value))
        assert messages[0].endswith(messages[1]) and "This view is the output of a function that returns multiple " \
            "views" in messages[0]
    assert f"Output 1 of {name} is a view and is being modified inplace" in str(pytest.raises(
        RuntimeError, lambda: split(a * 1)[1].add_(1.0)).value)
    outs = split(tg.zeros(4, 3, dtype=tg.float64, device=device))
    with pytest.raises(RuntimeError, match="copy_: A view was created in no_grad mode and is being modified inplace "
                                           "with grad mode enabled. This view is the output of a function"):
        outs[0].copy_(tg.ones(outs[0].shape, dtype=tg.float64, device=device, requires_grad=True) * 2)
    x = a * 1
    outs = split(x)
    x.mul_(3.0)
    with pytest.raises(RuntimeError, match=f"Output 0 of {name} is a view and its base or another view of its base "
                                           "has been modified inplace"):
        (outs[0] * 1).sum().backward()
    assert np.all(outs[0].cpu().numpy() == 3.0)  # (its values are the written ones)
    x = tg.zeros(4, 3, dtype=tg.float64, device=device)
    outs = split(x)  # (made outside the graph, which their base then joins)
    x.copy_(a * 2)
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode and its base or another view of its "
                                           "base has been modified inplace with grad mode enabled. This view is"):
        (outs[1] * 1).sum().backward()
    for ok in (lambda x: x.tensor_split(2), lambda x: x.unsafe_split(2), lambda x: tg.unsafe_chunk(x, 2),
               lambda x: tg.unsafe_split_with_sizes(x, [1, 3]), lambda x: x.unsafe_split_with_sizes([1, 3])):
        x = a * 1
        outs = ok(x)
        outs[0].mul_(2.0)
        (x * x).sum().backward()
        assert x.tolist()[0] == [2.0] * 3 and a.grad.tolist()[0] == [8.0] * 3
        a.grad = None
    with tg.no_grad():
        x = a * 1
        split(x)[0].mul_(2.0)
    y = tg.ones(4, 3, dtype=tg.float64, device=device)
    split(y)[0].mul_(2.0)
    assert x.tolist() == y.tolist() and x.sum().item() > 12.0


def test_writes_into_a_view_go_through_its_base():
    """buf[1].copy_(v), buf[0][1] = v, buf[0].fill_(s): a view alone with its base is written as the base's write."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    v, s, w = rng.standard_normal(3), rng.standard_normal(()), rng.standard_normal((3, 3))
    results = []
    for lib, T in ((tg, tg.tensor), (torch, torch.tensor)):
        v0, s0 = T(v, requires_grad=True), T(s, requires_grad=True)
        buf = lib.zeros(3, 3, dtype=v0.dtype)
        buf[1].copy_(v0 * 2)
        buf[0][1] = v0[2] * 5
        buf[2].fill_(s0 * 1)
        (buf * T(w)).sum().backward()
        results.append((buf.detach().numpy(), v0.grad.numpy(), s0.grad.numpy()))
    for g, e in zip(*results):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_a_view_outside_its_bases_graph_is_refused_in_place():
    """A view made under no_grad of a base that requires grad, and a view given requires_grad_(): writing through
    the base would silently drop the base's gradient there (torch refuses both)."""
    a, w = tg.tensor([1., 2., 3.], requires_grad=True), tg.tensor(10., requires_grad=True)
    y = a * 2
    with tg.no_grad():
        v = y[1:]
    with pytest.raises(RuntimeError):
        v += w
    buf = tg.zeros(3)
    u = buf[1:].requires_grad_()
    with pytest.raises(RuntimeError):
        u.mul_(w)
    with pytest.raises(RuntimeError):
        u[0] = w


@pytest.mark.parametrize("change", [lambda v: v.mul_(3.0), lambda v: v.__setitem__(0, 5.0), lambda v: v.fill_(1.0),
                                    lambda v: v.__iadd__(tg.tensor(10.0, requires_grad=True))])
def test_a_view_made_under_no_grad_is_not_changed_with_grad_on(change):
    """Its base's graph would not see the change (a constant operand made it unrecorded, silently: a.grad lost the
    factor); torch raises too. Under no_grad the change goes through, as torch's."""
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 2
    with tg.no_grad():
        v = y[1:]
    with pytest.raises(RuntimeError, match=r"this view \(shape \(2,\)\) was made under no_grad"):
        change(v)
    assert y.tolist() == [2.0, 4.0, 6.0]
    with tg.no_grad():
        change(v)


# ============================================================================ in-place shape ops and comparisons
@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3), data=st.data())
def test_in_place_shape_ops_match_their_out_of_place_forms(device, shape, data):
    """unsqueeze_, squeeze_, transpose_ (swapaxes_, swapdims_) and t_ give the out-of-place op's shape and values on
    the tensor itself, and the gradient of the out-of-place op (gradcheck through a non-leaf)."""
    nd = len(shape)
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    u = data.draw(st.integers(-nd - 1, nd))
    cases = [("unsqueeze_", (u,), lambda a: np.expand_dims(a, u)), ("squeeze_", (), np.squeeze),
             ("squeeze_", (d0,), lambda a: np.squeeze(a, d0) if a.shape[d0] == 1 else a),
             ("transpose_", (d0, d1), lambda a: np.swapaxes(a, d0, d1)),
             ("swapaxes_", (d0, d1), lambda a: np.swapaxes(a, d0, d1)),
             ("swapdims_", (d1, d0), lambda a: np.swapaxes(a, d0, d1))]
    if nd <= 2:
        cases.append(("t_", (), lambda a: a.T))
    a = data.draw(arrays(shape), label="a")
    for name, args, ref in cases:
        def fn(t):
            y = t * 1
            assert getattr(y, name)(*args) is y
            return y
        check_op(fn, ref, [a], device, gradgrad=True)
        t = tg.tensor(a, device=device)
        getattr(t, name)(*args)
        np.testing.assert_array_equal(t.numpy(), ref(a))


def test_in_place_shape_ops_autograd_and_memory_as_torch():
    """A leaf that requires grad is refused (torch's rule) but not under no_grad; a node that saved the tensor
    refuses to backpropagate after its shape changed, one that did not is unaffected; views keep the memory."""
    x = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="unsqueeze_: a leaf tensor that requires grad cannot be changed in place"):
        x.unsqueeze_(0)
    with tg.no_grad():
        assert x.t_().shape == (3, 2) and x.requires_grad and x.grad_fn is None
    x = tg.ones(2, 3, requires_grad=True)
    y = x * 1
    saved, fine = y * y, y.exp()
    y.t_()
    y.backward(tg.tensor(np.arange(6.0).reshape(3, 2), dtype=tg.float32))
    assert x.grad.tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    fine.sum().backward()
    with pytest.raises(RuntimeError, match="mul saved for backward was changed in place"):
        saved.sum().backward()
    w = tg.zeros(2, 3)
    v = w[0]
    v.unsqueeze_(0).add_(1.0)
    assert v.shape == (1, 3) and w.tolist() == [[1.0] * 3, [0.0] * 3]
    w[0, 0] = 5.0
    assert v.tolist() == [[5.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="t: expects a tensor with at most 2 dims"):
        tg.ones(3, 1, 2).t_()
    assert tg.tensor(2.0).t_().shape == () and tg.ones(2, 1, 1).squeeze_((1, 2)).shape == (2,)


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_in_place_comparisons_keep_the_dtype(op):
    """x.lt_(y) is x.lt(y) cast to x's dtype, written into x (other broadcasts to x's shape, not past it); no
    gradient reaches x's old values, as torch's; a leaf that requires grad is refused."""
    a, b = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, -1.0]]), np.array([2.0, 2.0, 1.0])
    ref = getattr(np, {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater",
                       "ge": "greater_equal"}[op])
    want = ref(a, b)
    for dtype in (tg.float32, tg.int64):
        x = tg.tensor(a, dtype=dtype)
        assert getattr(x, op + "_")(tg.tensor(b)) is x
        assert x.dtype == dtype and (x.numpy() == want).all()
    x = tg.tensor([1, 2, 3])
    assert getattr(x, op + "_")(2.5).tolist() == ref([1, 2, 3], 2.5).astype(int).tolist()
    leaf = tg.tensor(a, requires_grad=True)
    y = leaf * 2
    getattr(y, op + "_")(tg.tensor(b) * 2)
    (g,) = tg.grad(y.sum(), leaf)
    assert g.tolist() == [[0.0] * 3] * 2
    with pytest.raises(RuntimeError, match=f"{op}_: a leaf tensor that requires grad"):
        getattr(leaf, op + "_")(1.0)
    with pytest.raises(ValueError, match=rf"{op}_: the result has the broadcast shape \(2, 2, 3\)"):
        getattr(tg.tensor(a), op + "_")(tg.ones(2, 1, 3))
    assert tg.tensor([1.0, 2.0]).greater_(1.5).tolist() == [0.0, 1.0]
    assert tg.tensor([1.0, 2.0]).less_equal_(1.5).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("shape, wrap", [((5, 3), False), ((7, 3), True), ((5, 3), True), ((3, 5), True),
                                         ((2, 2, 2), False), ((0, 2), False), ((1, 4), True)])
def test_fill_diagonal_is_numpys_fill_diagonal(device, shape, wrap):
    """fill_diagonal_ writes numpy's fill_diagonal places (wrap restarting a tall matrix's diagonal); the old
    diagonal gets no gradient, a 0-d tensor value the sum of the diagonal's; an integer tensor takes the value
    cast, as torch's."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    expected = a.copy()
    np.fill_diagonal(expected, 2.5, wrap=wrap)
    x = tg.tensor(a, device=device, requires_grad=True)
    value = tg.tensor(2.5, device=device, requires_grad=True)
    y = x * 1
    assert y.fill_diagonal_(value, wrap=wrap) is y
    np.testing.assert_array_equal(y.numpy(), expected)
    g = rng.standard_normal(shape)
    (y * tg.tensor(g, device=device)).sum().backward()
    on = expected == 2.5
    np.testing.assert_array_equal(x.grad.numpy(), np.where(on, 0.0, g))
    np.testing.assert_allclose(value.grad.item(), g[on].sum())
    assert tg.zeros(2, 2, dtype=tg.int64).fill_diagonal_(2.5).tolist() == [[2, 0], [0, 2]]


def test_fill_diagonal_refuses_what_torch_refuses():
    with pytest.raises(ValueError, match=r"fill_diagonal_: all dims of a tensor with more than 2 must have one length"):
        tg.zeros(2, 3, 2).fill_diagonal_(1.0)
    with pytest.raises(ValueError, match=r"fill_diagonal_: expects a tensor with at least 2 dims"):
        tg.zeros(2).fill_diagonal_(1.0)


def test_addr_addbmm_gcd_lcm_in_place_write_the_out_of_place_result():
    """addr_, addbmm_, gcd_ and lcm_ hold what addr, addbmm, gcd and lcm return; gradients reach addr_'s vectors
    and the old values scaled by beta. pin_memory is self and is_pinned False (host arrays need no pinning)."""
    rng = np.random.default_rng(1)
    a, v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(4)
    b1, b2 = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5, 4))
    x, u, w = (tg.tensor(v, requires_grad=True) for v in (a, v1, v2))
    y = x * 1
    assert y.addr_(u, w, beta=2, alpha=0.5) is y
    np.testing.assert_allclose(y.numpy(), 2 * a + 0.5 * np.outer(v1, v2))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 2.0))
    np.testing.assert_allclose(u.grad.numpy(), 0.5 * v2.sum() * np.ones(3))
    z = tg.tensor(a)
    np.testing.assert_allclose(z.addbmm_(tg.tensor(b1), tg.tensor(b2), alpha=-1).numpy(),
                               a - np.einsum("bij,bjk->ik", b1, b2))
    i1, i2 = np.array([[12, -18, 0], [7, 5, 0]]), np.array([8, 12, 0])
    assert tg.tensor(i1).gcd_(tg.tensor(i2)).tolist() == np.gcd(i1, i2).tolist()
    assert tg.tensor(i1).lcm_(tg.tensor(i2)).tolist() == np.lcm(i1, i2).tolist()
    assert z.pin_memory() is z and z.is_pinned() is False


# torch's in-place forms made from the out-of-place methods (tensor._in_place_form), and float_power_
_U = np.array([[0.3, -0.6, 0.45], [0.15, -0.35, 0.7]])  # inside (-1, 1), off 0 and off the integers
_P = np.abs(_U) + 0.2  # inside (0, 1)
_O = np.array([[0.8, 1.3, -0.55], [1.1, -0.9, 0.4]])  # operands off 0
FORMS = {  # name: (input, the call's other arguments (arrays become tensors that require grad), keywords)
    **{n: (_U, (), {}) for n in ("exp2", "expm1", "sinc", "deg2rad", "rad2deg", "tan", "sinh", "cosh", "asin",
                                 "acos", "atan", "asinh", "atanh", "arcsin", "arccos", "arctan", "arcsinh",
                                 "arctanh", "absolute", "negative", "sgn", "frac", "fix", "logical_not", "exp",
                                 "sigmoid", "tanh", "abs", "neg", "sign", "erf", "erfinv", "square")},
    **{n: (_P, (), {}) for n in ("log10", "log1p", "log2", "logit", "log", "sqrt", "rsqrt", "lgamma", "digamma")},
    **{n: (_P + 1.0, (), {}) for n in ("acosh", "arccosh")},
    **{n: (_U, (_O,), {}) for n in ("atan2", "arctan2", "hypot", "fmod", "multiply", "divide", "true_divide",
                                    "subtract", "heaviside", "logical_and", "logical_or", "logical_xor")},
    "xlogy": (_U, (_P,), {}), "float_power": (_P, (_O,), {}), "fmod-number": (_U, (0.25,), {}),
    "subtract-alpha": (_U, (_O,), {"alpha": -2}), "divide-trunc": (_U, (_O,), {"rounding_mode": "trunc"}),
    "logit-eps": (_P, (0.3,), {}), "cumsum": (_U, (1,), {}), "cumprod": (_U, (), {"dim": -2}),
    "round": (_U, (), {"decimals": 1}), "clip": (_U, (-0.4, 0.5), {}), "polygamma": (_P, (1,), {}),
    "addmv": (_U[0], (_O.T * 1, _P[:, 0] * 1), {"beta": 0.5, "alpha": -2}),
    "ldexp": (_U, (np.array([[2.0, -3.0, 0.0], [1.0, 5.0, -1.0]]),), {}), "nextafter": (_U, (_O,), {}),
    "mvlgamma": (_P + 1.0, (2,), {}),
}
NO_TORCH_GRAD = {"heaviside"}  # (torch has no derivative for it; ours is 0, a step's)
TRIGAMMA = {"digamma", "polygamma"}  # (torch's trigamma, a series of its own, is ~1e-9 off: test_more_ops checks ours)


def _form_call(lib, name, device=None):
    """(x * 1 for a float64 leaf x, the leaves: x and the tensor operands, the method name, args, kwargs)."""
    a, args, kwargs = FORMS[name]
    make = (lambda v: tg.tensor(v, device=device, requires_grad=True)) if lib is tg else (
        lambda v: lib.tensor(v, requires_grad=True))
    x = make(a)
    operands = [make(v) if isinstance(v, np.ndarray) else v for v in args]
    return x * 1, [x] + [o for o in operands if not isinstance(o, (int, float))], name.split("-")[0], operands, kwargs


@pytest.mark.parametrize("name", sorted(FORMS))
def test_in_place_forms_match_torch_in_values_and_gradients(name, device):
    """x.name_(...) on a non-leaf holds torch's in-place result (float64) and is x.name(...); the gradient
    reaching x and the operands is torch's out-of-place one (torch has no in-place derivative for some, asinh_)."""
    torch = pytest.importorskip("torch")
    y, leaves, method, args, kwargs = _form_call(tg, name, device)
    want = getattr(y, method)(*args, **kwargs).detach().numpy()
    assert getattr(y, f"{method}_")(*args, **kwargs) is y and y.dtype == np.float64 and y.device == device
    ty, t_leaves, _, t_args, _ = _form_call(torch, name)
    with torch.no_grad():
        t_in_place = getattr(ty.clone(), f"{method}_")(*t_args, **kwargs).numpy()
    rtol = 1e-8 if name in TRIGAMMA else 1e-12
    np.testing.assert_allclose(y.detach().numpy(), t_in_place, rtol=rtol, atol=1e-15)
    np.testing.assert_array_equal(y.detach().numpy(), want)
    weights = np.linspace(0.5, 1.5, y.numel()).reshape(y.shape)
    (y * tg.tensor(weights, device=device)).sum().backward()
    t_out = getattr(ty, method)(*t_args, **kwargs)
    if t_out.requires_grad and name not in NO_TORCH_GRAD:
        try:
            (t_out * torch.tensor(weights)).sum().backward()
        except NotImplementedError as e:  # (torch 2.11 has no derivative for nextafter; 2.13 has)
            pytest.skip(f"this torch ({torch.__version__}) has no derivative to compare with: {e}")
    for mine, theirs in zip(leaves, t_leaves):
        got = np.zeros(mine.shape) if mine.grad is None else mine.grad.numpy()
        expected = np.zeros(theirs.shape) if theirs.grad is None else theirs.grad.numpy(force=True)  # (a ZeroTensor)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_in_place_forms_refuse_a_leaf_and_a_saved_tensor_as_the_other_in_place_ops(name):
    """A leaf that requires grad is refused (as torch), and a node that saved the tensor before it changed refuses
    to backpropagate (as torch's version counter)."""
    y, (x, *_), method, args, kwargs = _form_call(tg, name)
    with pytest.raises(RuntimeError, match=f"{method}_: a leaf tensor that requires grad cannot be changed"):
        getattr(x, f"{method}_")(*args, **kwargs)
    loss = (y * y).sum()  # (mul saves y)
    getattr(y, f"{method}_")(*args, **kwargs)
    with pytest.raises(RuntimeError, match="saved for backward was changed in place"):
        loss.backward()


_GRID = st.integers(-8, 7).map(lambda k: k * 0.25 + 0.125)  # (never an integer or 0: no kink of frac, fix, abs)
PROPERTY_FORMS = {  # name: (numpy reference, elements of the input, of the operand (None: unary)); one of each kind
    "sinh": (np.sinh, _GRID, None), "asin": (np.arcsin, _GRID.map(lambda v: v / 2.5), None),
    "acosh": (np.arccosh, _GRID.map(lambda v: abs(v) + 1.0), None), "sinc": (np.sinc, _GRID, None),
    "logit": (lambda a: np.log(a / (1 - a)), _GRID.map(lambda v: v / 4.5 + 0.5), None),
    "frac": (lambda a: a - np.trunc(a), _GRID, None),
    "atan2": (np.arctan2, _GRID, _GRID), "xlogy": (lambda a, b: a * np.log(b), _GRID, _GRID.map(abs)),
    "float_power": (np.power, _GRID.map(abs), _GRID),
}


@pytest.mark.parametrize("name", sorted(PROPERTY_FORMS))
@with_fixtures
@given(data=st.data())
def test_in_place_forms_gradients_match_central_differences(name, device, data):
    """x.name_(y) recorded on a non-leaf: values from the math and gradients (x's and a broadcast operand's) against
    central differences in float64, over hypothesis shapes (0-d and size-1 included)."""
    ref, elements, operand = PROPERTY_FORMS[name]
    if operand is None:
        a = data.draw(shapes().flatmap(lambda s: hnp.arrays(np.float64, s, elements=elements)))
        check_op(lambda t: getattr(t * 1, f"{name}_")(), ref, [a], device)
        return
    shape, other = data.draw(_into())
    a, b = data.draw(hnp.arrays(np.float64, shape, elements=elements)), data.draw(hnp.arrays(np.float64, other,
                                                                                             elements=operand))
    check_op(lambda t, o: getattr(t * 1, f"{name}_")(o), ref, [a, b], device)


def test_in_place_forms_keep_the_dtype_as_torch():
    """A result the tensor's dtype cannot hold is refused (sinh_ of an int tensor; float_power_, whose result is
    float64, of a float32 one; cumsum_ with another dtype=), as torch; logical_not_ writes 0/1 in the dtype."""
    with pytest.raises(TypeError, match="sinh_: the result is torch.float32, which this torch.int64 tensor cannot "
                                        "hold"):
        tg.tensor([1, 2]).sinh_()
    with pytest.raises(TypeError, match="float_power_: the result is torch.float64, but this tensor is torch.float32"):
        tg.ones(2).float_power_(2)
    with pytest.raises(TypeError, match="cumsum_: dtype=torch.float64 differs from this tensor's torch.float32"):
        tg.ones(2).cumsum_(0, dtype=tg.float64)
    assert tg.ones(3).cumsum_(0, dtype=tg.float32).tolist() == [1.0, 2.0, 3.0]
    t = tg.tensor([0.0, 2.5])
    assert t.logical_not_() is t and t.dtype == np.float32 and t.tolist() == [1.0, 0.0]
    assert tg.tensor([0, 3]).logical_or_(tg.tensor([0, 0])).tolist() == [0, 1]
    assert tg.Tensor.exp_.__name__ == "exp_" and list(inspect.signature(tg.Tensor.cumsum_).parameters) == [
        "self", "dim", "dtype", "axis"]


def test_deprecated_scalar_first_overloads_as_torch(device):
    """torch's deprecated add(alpha, other), sub(alpha, other) (methods, in-place forms and torch.add/sub) and
    addcmul/addcdiv(value, tensor1, tensor2), still in old code (p.data.add_(-lr, p.grad.data), an old Adam's
    exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)): the same values as torch's and its UserWarning; the
    gradients through them too."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A, B, C = (rng.normal(size=(2, 3)) for _ in range(3))
    C = np.abs(C) + 0.5
    forms = [lambda t, a, b, c: a.add(-0.5, b), lambda t, a, b, c: a.sub(2, b),
             lambda t, a, b, c: t.add(a, -1.5, b), lambda t, a, b, c: t.sub(a, 0.25, b),
             lambda t, a, b, c: (a * 1).add_(-0.5, b), lambda t, a, b, c: (a * 1).sub_(3, b),
             lambda t, a, b, c: (a * 1).addcmul_(0.1, b, c), lambda t, a, b, c: (a * 1).addcdiv_(-0.3, b, c),
             lambda t, a, b, c: t.addcmul(a, 2, b, c), lambda t, a, b, c: a.addcdiv(0.5, b, c)]
    for form in forms:
        ours = [tg.tensor(v, requires_grad=True, device=device) for v in (A, B, C)]
        theirs = [torch.tensor(v, requires_grad=True) for v in (A, B, C)]
        with pytest.warns(UserWarning, match="This overload of .* is deprecated"):
            out = form(tg, *ours)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = form(torch, *theirs)
        np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12)
        out.sum().backward()
        want.sum().backward()
        for o, t in zip(ours, theirs):
            assert (o.grad is None) == (t.grad is None)
            if t.grad is not None:
                np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="addcmul_: takes"):
        tg.zeros(2).addcmul_(tg.ones(2), tg.ones(2), tg.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the usual forms do not warn
        tg.ones(2).add(tg.ones(2), alpha=2), tg.ones(2).add_(1), tg.zeros(2).addcmul_(tg.ones(2), tg.ones(2), value=2)


_RESULT_SAVED = {  # name: the in-place op; torch's derivative of each reads its result, which it saves as x itself
    "exp_": lambda x: x.exp_(), "tanh_": lambda x: x.tanh_(), "sigmoid_": lambda x: x.sigmoid_(),
    "sqrt_": lambda x: x.sqrt_(), "tan_": lambda x: x.tan_(), "exp2_": lambda x: x.exp2_(),
    "cumprod_": lambda x: x.cumprod_(0),
}


@pytest.mark.parametrize("name", list(_RESULT_SAVED))
@pytest.mark.parametrize("where", ["tensor", "view", "base after a view's"])
def test_an_in_place_result_changed_again_refuses_backward_as_torchs(device, name, where):
    """x.exp_() saves its result, x itself in torch's: a later in-place change to x's memory (x, a view of it, or
    its base) makes backward refuse, as torch's; without one, values and gradients are torch's. An op whose
    derivative reads its input (erfinv_) keeps a copy of it, and backward runs after the change, as torch's."""
    torch = pytest.importorskip("torch")
    a = np.array([0.5, 1.5, 0.25, 0.75])
    grads = []
    for lib in (tg, torch):
        kw = {"device": device} if lib is tg else {}
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True, **kw)
        y = x * 1
        target = y if where == "tensor" else y[1:3]
        _RESULT_SAVED[name](target)
        (y * y).sum().backward()
        grads.append(x.grad.cpu().numpy())
        x.grad = None
        y = x * 1
        target = y if where == "tensor" else y[1:3]
        _RESULT_SAVED[name](target)
        (y if where == "base after a view's" else target).add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation|changed in place"):
            y.sum().backward()
        y = x * 0.1
        y.erfinv_()
        y.add_(1)
        y.sum().backward()
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_allclose(grads[0], grads[2], rtol=1e-12)
    np.testing.assert_allclose(grads[1], grads[3], rtol=1e-12)


def test_setitem_advanced_index_refuses_another_dtype_as_torch(device):
    """x[advanced index] = a tensor of another dtype: torch's index_put RuntimeError (basic indexing casts; a
    0-d value through a boolean mask is torch's masked_fill_, which casts too)."""
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        dev = device if lib is tg else "cpu"
        a = lib.zeros(3, 2, dtype=lib.float64, device=dev)
        mask = lib.tensor([True, False, True], device=dev)
        for index, value in [([0, 2], lib.ones(2, 2, dtype=lib.float32)), (mask, lib.ones(2, 2)),
                             ((0, [0, 1]), lib.ones(2, dtype=lib.float32)), ([1], lib.tensor(2.0)),
                             ((Ellipsis, [0]), lib.ones(3, 1, dtype=lib.int64))]:
            b = a.clone()
            with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
                b[index] = value.to(dev).to(lib.float32) if value.dtype == lib.float64 else value.to(dev)
        b = a.clone()
        b[0] = lib.ones(2, dtype=lib.float32, device=dev)
        b[mask] = lib.tensor(2.0, dtype=lib.float32, device=dev)
        b[[1]] = 3.0
        np.testing.assert_array_equal(b.cpu().numpy(), [[2, 2], [3, 3], [2, 2]])
        assert b.dtype == lib.float64


def test_an_empty_diagonal_is_a_view_so_the_base_may_still_be_written(device):
    """x.diagonal(1) of a (1, 1) x (no element) is a view of x as torch's: x[0] += v beside it is allowed and the
    gradient matches torch's (the empty diagonal was a fresh array, which counted as another holder of x's memory)."""
    torch = pytest.importorskip("torch")
    got = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        a = lib.ones(2, 1, 3, dtype=lib.float64, device=dev, requires_grad=True)
        x = a * 1
        d = x.unsqueeze(-3).diagonal(1, 2, 1)
        x[0] += 2 * a[1]
        (x * x).sum().backward()
        got.append((d.shape, x._version, x.tolist(), a.grad.tolist()))
    assert tuple(got[0][0]) == tuple(got[1][0]) and got[0][1:] == got[1][1:]


def test_an_expand_that_repeats_nothing_is_writable_as_torchs(device):
    """x.squeeze(0).expand(1, 3) only adds a dim of 1: no element stands for many, so torch writes it in place
    (through x); it was refused as read-only. An expand that repeats elements stays torch's RuntimeError."""
    torch = pytest.importorskip("torch")
    got = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        a = lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64, device=dev, requires_grad=True)
        x = a * 1
        x.squeeze(0).expand(1, 3).mul_(2.0)
        with pytest.raises(RuntimeError):
            x.expand(2, 1, 3).add_(1.0)
        (x * x).sum().backward()
        got.append((x.tolist(), x._version, a.grad.tolist()))
    assert got[0] == got[1]


def test_a_part_of_an_expand_whose_elements_are_apart_is_written_as_torchs(device):
    """x.expand(3, 4)[0], a slice or an element of it, shares no memory among its own elements: torch writes it in
    place (into x; the other rows, which read x, see it) where ours refused the read-only view. A part whose elements
    share memory stays torch's RuntimeError; advanced indexing into the expand writes with torch's deprecation
    warning under no_grad (the graph recorded: its error)."""
    torch = pytest.importorskip("torch")
    got = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        x = lib.zeros(4, dtype=lib.float64, device=dev)
        e = x.expand(3, 4)
        e[0].add_(1.0)
        e[2][1:3] = 5.0
        e[1, 3] = -1.0
        e[0, [0, 1]] = 7.0
        e.unsqueeze(0)[:, 1].mul_(2.0)
        e[:, 2].fill_(-3.0)  # (torch's fill_ and zero_ by a number write shared elements without a graph)
        for change in (lambda: e[:, 1].add_(1.0), lambda: e[0:2].fill_(x[0]), lambda: e.__setitem__(Ellipsis, 1.0)):
            with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
                change()
        with pytest.warns(UserWarning, match="index_put_ on expanded tensors is deprecated"):
            e[[1]] = 3.0
        with pytest.warns(UserWarning, match="on expanded tensors is deprecated"):
            e[lib.tensor([False, True, False], device=dev)] = 4.0
        a = lib.ones(4, dtype=lib.float64, device=dev, requires_grad=True)
        y = a * 1
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            y.expand(3, 4)[:, 1:].mul_(2.0)
        y.expand(2, 4).zero_()  # (written; torch refuses at backward, as here)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            y.sum().backward()
        got.append((x.tolist(), e.tolist(), x._version, y.tolist()))
    assert got[0] == got[1]


@pytest.mark.parametrize("grad", [False, True])
def test_writes_into_empty_expand_views_are_torchs(device, grad):
    """An expand to a size of 0 (x.unsqueeze(0).expand(0, 3, 4), x[:, None].expand(3, 0, 4)) has no element that
    stands for another: torch writes it in place (nothing changes but the version), with or without a graph; ours
    refused it as read-only, and its advanced-index write as one into shared elements."""
    torch = pytest.importorskip("torch")
    got = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        a = lib.arange(12.0, dtype=lib.float64, device=dev).reshape(3, 4).requires_grad_(grad)
        k = a * 1
        e, v = k.unsqueeze(0).expand(0, 3, 4), k[:, None].expand(3, 0, 4)
        e[lib.zeros(0, dtype=lib.long, device=dev)] = 2.0
        e.add_(1.0)
        e[...] = 2.0
        v.mul_(2.0)
        v[1:, :, 2:] = 5.0
        e.fill_(3.0)
        if grad:
            (k * k).sum().backward()
        got.append((k.tolist(), k._version, tuple(e.shape), tuple(v.shape), a.grad.tolist() if grad else None))
    assert got[0] == got[1]


def test_a_view_of_a_no_grad_view_changed_with_grad_on_is_torchs_error(device):
    """A view made with grad on from a view made under no_grad of a tensor that requires grad (v.t(), v[0],
    v.unsqueeze(0)) changed in place with grad on: torch's RuntimeError, as for the no_grad view itself (ours wrote
    it, its base's graph not seeing the change); so is an advanced-index write into the no_grad view, empty too."""
    torch = pytest.importorskip("torch")
    for lib, dev in ((tg, device), (torch, "cpu")):
        a = lib.arange(12.0, dtype=lib.float64, device=dev).reshape(3, 4).requires_grad_()
        k = a * 1
        with lib.no_grad():
            v, e = k[1:], k.expand(2, 3, 4)
        for change in (lambda: v.t().add_(1.0), lambda: v[0].mul_(2.0), lambda: v.unsqueeze(0)[0, 1].zero_(),
                       lambda: v.view(-1)[2:2].add_(1.0)):
            with pytest.raises(RuntimeError, match="is a view of a view which was created in no_grad mode and is "
                                                   "being modified inplace with grad mode enabled"):
                change()
        for change in (lambda: v.__setitem__(lib.zeros(0, dtype=lib.long, device=dev), 2.0),
                       lambda: e.__setitem__(e > 100, 2.0)):
            with pytest.raises(RuntimeError, match="(created in no_grad mode|made under no_grad)"):
                change()
        assert k._version == 0


@pytest.mark.parametrize("case", list(_MULTI))
def test_an_output_of_several_views_raises_after_any_change_to_its_base_as_torchs(device, case):
    """An output of unbind, split, chunk or split_with_sizes whose base is changed in place where the output does not
    lie (another row, an empty slice) raises torch's error too (ours only did for a change over the output; torch
    raises when the output is next used, ours when backward reaches it), while the base's own gradient is right."""
    torch = pytest.importorskip("torch")
    split, name = _MULTI[case]
    for change in (lambda x: x[3].mul_(2.0), lambda x: x[2:2].add_(1.0), lambda x: x[-1:].zero_()):
        grads = []
        for lib, dev in ((tg, device), (torch, "cpu")):
            a = lib.ones(4, 3, dtype=lib.float64, device=dev, requires_grad=True)
            x = a * 1
            outs = split(x)
            change(x)
            with pytest.raises(RuntimeError, match=f"Output 0 of {name} is a view and its base or another view of "
                                                   "its base has been modified inplace"):
                (outs[0] * 1).sum().backward()
            (x * x).sum().backward()
            grads.append(a.grad.tolist())
        assert grads[0] == grads[1]


def test_a_detach_alias_changed_by_a_value_that_requires_grad_records_it_alone_as_torchs(device):
    """x.detach() (or a view of it) changed in place by a value that requires grad: torch records the change on the
    alias alone (x sees the values, its graph stays as it was; a node that saved x then refuses, by the version
    counter they share); ours refused it as memory something else holds."""
    torch = pytest.importorskip("torch")
    got = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        a = lib.tensor([0.5, 1.0, 2.0, 3.0], dtype=lib.float64, device=dev, requires_grad=True)
        w = lib.tensor([2.0, 3.0, 4.0, 5.0], dtype=lib.float64, device=dev, requires_grad=True)
        x = a * 1
        d = x.detach()
        u = d[1:]
        d.mul_(w)
        u[1:].add_(w[:2] * w[:2])
        ((d * x).sum() + (u * u).sum()).backward()
        got.append((x.tolist(), d.tolist(), a.grad.tolist(), w.grad.tolist(), x._version))
        y = x * x
        x.detach()[0].mul_(w[0])
        with pytest.raises(RuntimeError, match="modified by an inplace operation|changed in place after the forward"):
            y.sum().backward()
    assert got[0] == got[1]


_RANDOM_VIEWS = ("slice", "select", "unsqueeze", "transpose", "expand", "diagonal", "detach", "unbind", "narrow")
_RANDOM_WRITES = ("add_", "mul_", "fill_", "zero_", "copy_", "row", "index", "sin_", "base")


def _random_view(lib, t, kind, p):
    """A view of t of ``kind`` (p picks its place), or None where t has no such view."""
    n0 = t.shape[0] if t.ndim else 0
    if kind == "slice" and t.ndim:
        a = p % (n0 + 1)
        return t[a:a + (p // 3) % (n0 + 1 - a)]
    if kind == "select" and n0:
        return t[p % n0]
    if kind == "unsqueeze":
        return t.unsqueeze(p % (t.ndim + 1))
    if kind == "transpose" and t.ndim >= 2:
        return t.transpose(0, t.ndim - 1)
    if kind == "expand":
        return t.unsqueeze(0).expand(p % 3, *t.shape)
    if kind == "diagonal" and t.ndim >= 2:
        return t.diagonal(p % 3 - 1)
    if kind == "detach":
        return t.detach()
    if kind == "unbind" and n0:
        return t.unbind(0)[p % n0]
    if kind == "narrow" and t.ndim:
        return t.narrow(t.ndim - 1, 0, p % (t.shape[-1] + 1))
    return None


def _random_write(lib, t, kind, p, value):
    """t changed in place by ``kind`` (value: a leaf of t's shape that requires grad, or None)."""
    if kind == "add_":
        t.add_(1.5)
    elif kind == "mul_":
        t.mul_(value * 0.5 + 1)
    elif kind == "fill_":
        t.fill_(p % 5 - 2.0)
    elif kind == "zero_":
        t.zero_()
    elif kind == "copy_":
        t.copy_(value * 2)
    elif kind == "row" and t.ndim and t.shape[0]:
        t[p % t.shape[0]] = value[0] * 3
    elif kind == "index" and t.ndim and t.shape[0]:
        t[lib.tensor([p % t.shape[0]])] = 0.5
    elif kind == "sin_":
        t.sin_()


def _run_program(lib, program, values):
    """Run the views and writes of ``program`` on a = values (float64, requires grad): each step's outcome ('ok' or
    'raised'), the tensors' values, and the gradients of a and the written values (or that backward raised)."""
    a = lib.tensor(values, dtype=lib.float64, requires_grad=True)
    tensors, leaves, outcomes = [a * 1], [a], []
    for step, (is_view, kind, target, p) in enumerate(program):
        t = tensors[0 if kind == "detach" else target % len(tensors)]  # (x.detach() only: see the test)
        try:
            if is_view:
                v = _random_view(lib, t, kind, p)
                if v is not None:
                    tensors.append(v)
            else:
                w = lib.tensor(np.linspace(-1.0, 1.0, max(t.numel(), 1))[:t.numel()].reshape(t.shape) + step,
                               dtype=lib.float64, requires_grad=True)
                leaves.append(w)
                if kind == "base":
                    tensors[0].mul_(1.25)
                else:
                    _random_write(lib, t, kind, p, w)
            outcomes.append("ok")
        except (RuntimeError, ValueError) as e:
            outcomes.append("multi" if "its base has been modified" in str(e) or "leaf Variable" in str(e) else
                            "raised")  # (see test_random_views_and_writes_match_torch)
            break
    seen = [t.tolist() for t in tensors]
    try:
        loss = sum(((t * t).sum() * (i + 1) for i, t in enumerate(tensors) if t.requires_grad), a.sum() * 0)
        loss.backward()
        grads = [None if g.grad is None else g.grad.tolist() for g in leaves]
    except RuntimeError as e:
        grads = "multi" if "its base has been modified" in str(e) else "raised"
    return outcomes, seen, grads


@settings(max_examples=150, deadline=None)
@given(shape=st.sampled_from([(3, 4), (2, 2), (4,), (0, 3), (2, 0), (3, 1, 2)]),
       program=st.lists(st.tuples(st.sampled_from(_RANDOM_VIEWS + _RANDOM_WRITES), st.integers(0, 5),
                                  st.integers(0, 11)), min_size=1, max_size=8))
def test_random_views_and_writes_match_torch(shape, program):
    """Random chains of views (slices, select, unsqueeze, transpose, expand, diagonal, detach, unbind, narrow,
    empty ones too) and in-place writes through them or their base, while the others live: which steps torch refuses,
    the values every tensor reads, and the gradients (or backward's refusal), against torch in float64. (detach()
    of a view, then written by a value that requires grad, is left out: not followed yet in every chain.)"""
    torch = pytest.importorskip("torch")
    program = [(k in _RANDOM_VIEWS, k, target, p) for k, target, p in program]
    values = np.arange(float(np.prod(shape))).reshape(shape) / 4 - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _run_program(torch, program, values)
        got = _run_program(tg, program[:len(want[0]) - 1] if want[0][-1] == "multi" else program, values)
    if want[0][-1] == "multi" or want[2] == "multi":
        # (an output of unbind whose base changed: torch raises when it is next used, after any change to the
        # memory; ours at backward, after a recorded one. And a view of a tensor that did not require grad, which
        # then joined the graph in place, is a 'leaf Variable' to torch's in-place check until its grad_fn is
        # first read, a quirk not followed here. The values read until then agree)
        for g, e in zip(got[1], want[1]):
            np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float), rtol=1e-12)
        return
    assert got[0] == want[0]
    for g, e in zip(got[1], want[1]):
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float), rtol=1e-12, atol=1e-12)
    assert (got[2] == "raised") == (want[2] == "raised")
    if want[2] != "raised":
        for g, e in zip(got[2], want[2]):
            assert (g is None) == (e is None) or not np.any(g or e)
            if g is not None and e is not None:
                np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [
    [("slice", 0, 1), ("detach", 0, 0), ("add_", 0, 0)],  # (x[1:1].detach() alive: x written)
    [("detach", 0, 0), ("slice", 1, 4), ("add_", 0, 0), ("copy_", 1, 0)],  # (x, then x.detach(), written)
    [("detach", 0, 0), ("slice", 0, 0), ("slice", 1, 0), ("mul_", 1, 0)],  # (views of x and x.detach() alive)
    [("expand", 0, 0), ("detach", 0, 0), ("add_", 2, 0)],  # (an empty expand's detach() written)
    [("expand", 0, 2), ("expand", 1, 0), ("add_", 2, 0)],  # (an empty expand of an expand written)
    [("unbind", 0, 0), ("expand", 1, 2), ("fill_", 2, 0)],  # (an expand of an unbind output filled)
])
def test_view_and_write_chains_the_differential_test_found_match_torch(case):
    """Chains test_random_views_and_writes_match_torch found differing from torch (refused here, or a view of
    x.detach() not rebased when the detach() was written after x)."""
    test_random_views_and_writes_match_torch.hypothesis.inner_test(shape=(3, 4), program=case)
