"""In-place activations (torch's ``inplace=True``, F.relu_ and kin, the modules' ``inplace``), the ``dtype=`` of
softmax, log_softmax and softmin, and torch's argument names in nn.functional (``input`` first).

An in-place call is the out-of-place function written into its input, which then stands for the result in the
graph. The tests hold its values and gradients to numpy references written from the math (central differences
in float64 over hypothesis shapes, 0-d and size-1 included), check what it refuses (a leaf that requires grad,
memory something else holds) and that a node which saved the old values refuses to backpropagate, and, where
torch is installed, compare a network of in-place modules with torch's.
"""
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn as nn
import tinygrad_rnn.nn.functional as F
from strategies import check_op, shapes, with_fixtures

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


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_returns_its_input_holding_the_out_of_place_result(name):
    fn = INPLACE[name][0]
    a = tg.randn(3, 5, requires_grad=True)
    x = a * 3
    memory, version = id(x.data), x._version  # (holding x.data itself would count as sharing it)
    out = fn(x, inplace=True)
    assert out is x and id(x.data) == memory and x._version == version + 1
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
    with pytest.raises(RuntimeError, match="relu: in place on a leaf tensor that requires grad"):
        F.relu(a, inplace=True)
    assert a._version == 0


@pytest.mark.parametrize("case", ["view", "base of a view", "detached alias", "saved output"])
def test_in_place_refuses_memory_something_else_holds(case):
    """Its graph would not see the change (torch tracks views; this engine refuses instead)."""
    a = tg.randn(3, 4, requires_grad=True)
    x = a * 2
    keep = None
    if case == "view":
        x = x[1]
    elif case == "base of a view":
        keep = x[1:]
    elif case == "detached alias":
        keep = x.detach()
    else:
        x = a.exp()
    before = x.numpy().copy()
    with pytest.raises(RuntimeError, match="elu: in place on a tensor of shape .* whose memory is shared"):
        F.elu(x, inplace=True)
    np.testing.assert_array_equal(x.numpy(), before)
    assert keep is None or keep.shape


def test_a_node_that_saved_the_old_values_refuses_to_backpropagate():
    a = tg.randn(3, requires_grad=True)
    w = tg.randn(3, requires_grad=True)
    x = a * 2
    y = x * w  # saves x
    F.relu(x, inplace=True)
    with pytest.raises(RuntimeError, match="mul saved for backward was changed in place"):
        y.sum().backward()


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
    with pytest.raises(TypeError, match="silu: in place, the result .float32.* must keep the input's dtype int64"):
        F.silu(x, inplace=True)
    assert x.tolist() == [1, -2]
    with pytest.raises(ValueError, match="relu: in place on a read-only tensor"):
        F.relu(tg.tensor([-1.0]).expand(3), inplace=True)


MODULES = [  # (ours, the same module in torch by name and arguments)
    ("ReLU", (True,)), ("ReLU", ()), ("ReLU6", (True,)), ("LeakyReLU", (0.1, True)), ("ELU", (0.5, True)),
    ("SELU", (True,)), ("CELU", (2.0, True)), ("Hardtanh", (-2.0, 2.0, True)), ("SiLU", (True,)),
    ("Threshold", (0.1, 2.0, True)), ("Dropout", (0.3, True)), ("Dropout", ()), ("LeakyReLU", ()),
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
    with pytest.raises(TypeError, match=f"{name if name != 'softmin' else 'softmax'}: dtype must be a floating"):
        getattr(F, name)(x32, 1, dtype=tg.int64)


def test_softmax_dtype_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    for name in ("softmax", "log_softmax", "softmin"):
        ours = getattr(F, name)(tg.tensor(a), dim=-1, dtype=tg.float64)
        theirs = getattr(torch.nn.functional, name)(torch.from_numpy(a), dim=-1, dtype=torch.float64)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)
    assert tg.softmax(tg.tensor(a), 1, dtype=tg.float64).dtype == np.float64  # the function form too


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
    assert F.softmax(input=x, dim=1).shape == (1, 2)
    assert F.gelu(input=x).shape == F.logsigmoid(input=x).shape == (1, 2)  # (torch's are builtins: no signature)
