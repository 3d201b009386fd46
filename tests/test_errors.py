"""Every misuse raises ValueError/TypeError/IndexError/RuntimeError naming the op and the
shapes involved; detect_anomaly names the op whose forward or backward made a nan or inf."""
import re
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from strategies import tensor
from tinygrad_rnn import Tensor
from tinygrad_rnn.data import batchify
from tinygrad_rnn.nn import functional as F


def raises(exc, *parts):
    """pytest.raises whose message must contain every one of ``parts`` (literally)."""
    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{re.escape(p)})" for p in parts))


def test_matmul_inner_dimension_mismatch(device):
    a, b = tg.zeros(3, 4, device=device), tg.zeros(5, 2, device=device)
    with pytest.raises(ValueError, match=re.escape("matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ")):
        a @ b
    with raises(ValueError, "matmul", "(2, 3, 4)", "(5,)", "4 and 5"):
        tg.zeros(2, 3, 4, device=device) @ tg.zeros(5, device=device)
    with raises(ValueError, "matmul", "(3,)", "(4,)"):
        tg.zeros(3, device=device) @ tg.zeros(4, device=device)
    with raises(ValueError, "matmul", "()"):
        tg.zeros((), device=device) @ tg.zeros(3, device=device)


@pytest.mark.parametrize("op,fn", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                   ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                                   ("maximum", tg.maximum), ("pow", lambda a, b: a ** b)])
def test_non_broadcastable_binary_ops(device, op, fn):
    a, b = tg.ones(2, 3, device=device), tg.ones(4, device=device)
    with raises(ValueError, op, "(2, 3)", "(4,)"):
        fn(a, b)


def test_reshape_to_wrong_size():
    with raises(ValueError, "reshape", "(2, 3)", "(4,)"):
        tg.zeros(2, 3).reshape(4)
    with raises(ValueError, "reshape", "(2, 3)", "(4, -1)"):
        tg.zeros(2, 3).reshape(4, -1)
    for bad in ((-2, 3), (2, -3)):  # (numpy's reshape read any negative size as -1; torch refuses it)
        for make in (lambda: tg.zeros(2, 3).reshape(bad), lambda: tg.zeros(2, 3).view(*bad),
                     lambda: tg.reshape(tg.zeros(2, 3), bad)):
            with raises(ValueError, "reshape", "invalid size", str(min(bad))):
                make()


def test_cat_and_stack_mismatched_shapes():
    with raises(ValueError, "cat", "(2, 3)", "(2, 4)"):
        tg.cat([tg.zeros(2, 3), tg.zeros(2, 4)], dim=0)
    with raises(ValueError, "cat", "(2, 3)", "(2, 3, 1)"):
        tg.cat([tg.zeros(2, 3), tg.zeros(2, 3, 1)])
    with raises(ValueError, "stack", "(2,)", "(3,)"):
        tg.stack([tg.zeros(2), tg.zeros(3)])
    with raises(ValueError, "cat", "empty"):
        tg.cat([])


def test_backward_on_non_scalar_without_gradient():
    x = tg.ones(2, 3, requires_grad=True)
    with raises(RuntimeError, "backward", "scalar", "(2, 3)"):
        (x * 2).backward()


def test_backward_gradient_of_wrong_shape():
    x = tg.ones(3, requires_grad=True)
    with raises(ValueError, "backward", "(2,)", "(3,)"):
        (x * 2).backward(np.ones(2, np.float32))
    with raises(ValueError, "grad", "(1, 3)", "(3,)"):
        tg.grad(x * 2, x, grad_outputs=[tg.ones(1, 3)])


def test_backward_without_requires_grad():
    with raises(RuntimeError, "backward", "does not require grad"):
        tg.ones(2).sum().backward()
    with tg.no_grad():
        y = tg.ones(2, requires_grad=True).sum()
    with raises(RuntimeError, "does not require grad"):
        y.backward()


def test_requires_grad_on_integer_tensor():
    with raises(TypeError, "requires_grad", "int64", "(2,)"):
        tg.tensor([1, 2], requires_grad=True)
    with raises(TypeError, "requires_grad", "int32", "(3,)"):
        tg.Tensor(np.zeros(3, np.int32), requires_grad=True)
    with raises(TypeError, "requires_grad", "bool"):
        tg.tensor([True]).requires_grad_()


def test_indexing_out_of_range(device):
    x = tg.zeros(3, 4, device=device)
    with raises(IndexError, "getitem", "(3, 4)", "5"):
        x[5]
    with raises(IndexError, "getitem", "(3, 4)"):
        x[:, -5]
    with raises(IndexError, "getitem", "(3, 4)"):
        x[0, 0, 0]
    with raises(IndexError, "getitem", "float"):
        x[np.array([0.5])]
    with raises(IndexError, "gather"):
        x.gather(2, np.zeros((3, 4), np.int64))
    with raises(IndexError, "sum", "dim 2"):
        x.sum(2)


def test_integer_array_index_out_of_range(device):
    """Checked before numpy/CuPy sees the index: CuPy would wrap an out-of-range index around silently."""
    x = tg.zeros(3, 4, device=device)
    with raises(IndexError, "getitem", "index 3", "dim 0 of size 3", "(3, 4)"):
        x[np.array([0, 3])]
    with raises(IndexError, "getitem", "index -5", "dim 1 of size 4", "(3, 4)"):
        x[:, tg.tensor([0, -5])]
    with raises(IndexError, "getitem", "index 4", "dim 1 of size 4"):
        x[..., [[1], [4]]]
    with raises(IndexError, "getitem", "index 3", "dim 0 of size 3"):
        x[tg.tensor(3)]  # a 0-d index tensor is checked too (then taken as an int, torch's rule)
    with raises(IndexError, "gather", "index 9", "dim 1 of size 4", "(3, 4)"):
        x.gather(1, np.full((3, 4), 9))
    with raises(IndexError, "index_select", "index 7", "dim 0 of size 3", "(3, 4)"):
        x.index_select(0, tg.tensor([1, 7]))
    with raises(IndexError, "setitem", "index 3", "dim 0 of size 3"):
        x[np.array([3])] = 1.0
    assert x._version == 0  # a rejected assignment changes nothing
    y = tg.arange(12, device=device).reshape(3, 4)
    assert y[np.array([-3, 2]), np.array([-1, 0])].tolist() == [3, 8]  # in range, negative included
    assert y[np.zeros(0, np.int64)].shape == (0, 4)


def test_hook_returning_wrong_shape():
    x = tg.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: tg.ones(2))
    with raises(ValueError, "hook", "(3,)", "(2,)"):
        y.sum().backward()
    z = tg.ones(3, requires_grad=True)
    z.register_hook(lambda g: "not a tensor")
    with raises(ValueError, "hook", "(3,)", "str"):
        (z * 2).sum().backward()


def test_register_hook_needs_requires_grad():
    with raises(RuntimeError, "register_hook", "does not require grad"):
        tg.ones(2).register_hook(lambda g: g)


def test_other_argument_errors():
    x = tg.zeros(2, 3)
    with raises(ValueError, "split", "[1, 1]", "3"):
        x.split([1, 1], dim=1)
    with raises(ValueError, "chunk", "0"):
        x.chunk(0)
    with raises(ValueError, "permute", "(0, 0)", "(2, 3)"):
        x.permute(0, 0)
    for dims in [(0, 2), (0, 3), (-3, 1), (1, -4)]:  # (out of range, also where d % 2 would name a dim: IndexError)
        with raises(IndexError, "permute", f"dim {dims[0] if dims[0] < 0 else dims[1]}", "out of range", "2 dims"):
            x.permute(*dims)
        with raises(IndexError, "permute", "out of range"):
            x.T.permute(*dims)
    with raises(ValueError, "broadcast_to", "(2, 3)", "(4, 3)"):
        x.broadcast_to((4, 3))
    with raises(TypeError, "where", "condition"):
        tg.where(np.array([1, 0, 1]), tg.zeros(3), tg.ones(3))
    with raises(ValueError, "where", "(2,)", "(3,)"):
        tg.where(np.array([True, False]), tg.zeros(3), tg.ones(3))
    with raises(ValueError, "index_select", "1-D"):
        x.index_select(0, np.zeros((1, 1), np.int64))
    with raises(TypeError, "mul", "str"):
        x * "a"
    with raises(TypeError, "tensor", "str"):
        tg.tensor("abc")
    with raises(IndexError, "getitem", "boolean mask of shape (2,)", "(3,)"):
        x[:, tg.tensor([True, False])]  # never a silent wrong selection
    with raises(ValueError, "chunk", "0-d"):
        tg.ones(()).chunk(2)


# ============================================================================ detect_anomaly
def test_edge_inputs_get_errors_that_name_the_op():
    with raises(TypeError, "abs", "(1,) torch.bool"):  # numpy's own TypeError subclass, re-raised naming the op
        tg.tensor([True]).abs()
    with raises(ValueError, "argmax", "(0,)", "empty"):
        tg.zeros(0).argmax()
    with raises(ValueError, "argmin", "(2, 0)", "empty"):
        tg.zeros(2, 0).argmin(1)
    with raises(ValueError, "arange", "step must be nonzero"):
        tg.arange(0, 5, 0)
    with raises(OverflowError, "add", str(2 ** 64), "64 bits"):  # (300 wraps into uint8, as torch's)
        tg.tensor(np.array([1], np.uint8)) + 2 ** 64
    with raises(IndexError, "stack", "dim 3", "(2,)"):
        tg.stack([tg.ones(2), tg.ones(2)], 3)
    with raises(IndexError, "gather", "0..2", "-1"):
        tg.ones(2, 3).gather(1, tg.tensor([[0], [-1]]))
    with raises(ValueError, "split", ">= 0", "[4, -1]"):
        tg.ones(3).split([4, -1])
    with raises(ValueError, "flatten", "start_dim 1", "end_dim 0"):
        tg.ones(2, 3).flatten(1, 0)
    with raises(ValueError, "batchify", "batch_size must be positive"):
        batchify(np.arange(10), 0)


def test_argmax_of_a_0d_tensor_is_0_as_in_torch():
    for dim in (None, 0, -1):
        out = tg.tensor(3.0).argmax(dim)
        assert out.shape == () and out.item() == 0 and out.dtype == np.int64
    with raises(IndexError, "argmin", "dim 1"):
        tg.tensor(3.0).argmin(1)


def test_anomaly_names_forward_op():
    x = tensor([1.0, -1.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        with raises(FloatingPointError, "forward of log", "(2,)"):
            with tg.detect_anomaly():
                x.log()
        with raises(FloatingPointError, "forward of div"):
            with tg.detect_anomaly():
                x / tensor([0.0, 1.0], requires_grad=False)
        y = x.log()  # no anomaly mode: nan passes silently
    assert np.isnan(y.numpy()[1])


def test_anomaly_names_backward_op():
    x = tensor([0.0, 4.0])
    with np.errstate(divide="ignore"):
        with tg.detect_anomaly():
            y = x.sqrt()  # forward is finite (0 and 2)
            with raises(FloatingPointError, "backward of sqrt"):
                y.sum().backward()
        # without anomaly mode the inf reaches .grad silently
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_anomaly_names_the_first_bad_backward_in_a_chain():
    x = tensor([0.0, 1.0])
    with np.errstate(all="ignore"), tg.detect_anomaly():
        loss = (x.sqrt() * 3).exp().sum()
        with raises(FloatingPointError, "backward of sqrt"):
            loss.backward()


def test_anomaly_as_decorator_and_restored():
    @tg.detect_anomaly()
    def f(t):
        return t.log()

    with np.errstate(invalid="ignore"):
        with raises(FloatingPointError, "log"):
            f(tensor([-1.0]))
        tensor([-1.0]).log()  # mode restored afterwards: no error


class NanGrad(tg.Function):
    """Identity whose backward returns nan straight from an array (no op inside it to catch the nan first)."""

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return Tensor(np.full(g.shape, np.nan))


def test_anomaly_backward_nan_is_a_runtime_error_naming_the_function_as_torch():
    x = tensor([1.0, 2.0], dtype=np.float64)
    with tg.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'NanGrad' returned nan values in its 0th output"):
            NanGrad()(x * 2).sum().backward()
    NanGrad()(x * 2).sum().backward()  # off: nan reaches .grad silently
    assert np.isnan(x.grad.numpy()).all()


def test_set_detect_anomaly_and_is_anomaly_enabled():
    x = tensor([1.0], dtype=np.float64)
    try:
        assert not tg.is_anomaly_enabled() and tg.is_anomaly_check_nan_enabled()  # (torch's default check_nan)
        with tg.autograd.set_detect_anomaly(True):
            assert tg.is_anomaly_enabled() and tg.is_anomaly_check_nan_enabled()
            with pytest.raises(RuntimeError, match="NanGrad"):
                NanGrad()(x).sum().backward()
            with tg.detect_anomaly(check_nan=False):  # on, but nothing checked (torch records tracebacks only)
                assert tg.is_anomaly_enabled() and not tg.is_anomaly_check_nan_enabled()
                NanGrad()(x).sum().backward()
            assert tg.is_anomaly_check_nan_enabled()
        assert not tg.is_anomaly_enabled()
        tg.autograd.set_detect_anomaly(True)  # at once, without a with block
        assert tg.is_anomaly_enabled()
        tg.autograd.set_detect_anomaly(False)
        assert not tg.is_anomaly_enabled()
    finally:
        tg.autograd.set_detect_anomaly(False)


def _anomaly_states(lib):
    """is_anomaly_enabled / is_anomaly_check_nan_enabled through the anomaly switches (torch and tg alike)."""
    seen = [(lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled())]
    with lib.autograd.detect_anomaly(check_nan=False):
        seen.append((lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()))
    seen.append((lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()))
    lib.autograd.set_detect_anomaly(False, check_nan=False)
    seen.append((lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()))
    lib.autograd.set_detect_anomaly(True, check_nan=False)
    seen.append((lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()))
    lib.autograd.set_detect_anomaly(False)
    seen.append((lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()))
    return seen


def test_is_anomaly_check_nan_enabled_reports_the_setting_with_the_mode_off_as_torch():
    """torch keeps check_nan (True by default) apart from the mode: it read False outside anomaly mode here."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _anomaly_states(torch)
    assert _anomaly_states(tg) == theirs
    assert theirs[0] == (False, True) and theirs[3] == (False, False)


def test_second_backward_message():
    x = tensor([1.0])
    y = (x * x).sum()
    y.backward()
    with raises(RuntimeError, "second time", "retain_graph=True"):
        y.backward()


def test_tensors_on_different_devices_are_named(monkeypatch):
    """Checked before any op runs; simulated on the CPU with a stand-in 'cupy' whose arrays are an ndarray subclass."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        pass

    class FakeCupy:
        ndarray = FakeGPUArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    a, b = tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((2, 3)).view(FakeGPUArray))
    assert (a.device, b.device) == ("cpu", "cuda")
    for op in (lambda: a + b, lambda: b * a, lambda: tg.stack([a, b])):
        with raises(ValueError, "different devices", "cpu", "cuda"):
            op()
    assert (a + a).device == "cpu"


def test_softmax_needs_a_dim_and_mean_a_float_input():
    """As torch: the Tensor methods need softmax's dim; F.softmax, F.log_softmax, F.softmin and the modules take
    None (the default) as torch's deprecated implicit choice, with its warning: dim 0 for a 0-d, 1-d or 3-d input,
    else 1. An integer mean has no agreed result dtype."""
    torch = pytest.importorskip("torch")
    x = tg.ones(2, 3, 4)
    for f in (lambda: x.softmax(), lambda: x.log_softmax()):
        with pytest.raises(TypeError, match="dim"):
            f()
    for bad in ((0, 1), 1.0):
        with pytest.raises(TypeError, match="softmax: dim must be one int"):
            tg.nn.functional.softmax(x, bad)
    with pytest.raises(TypeError, match="log_softmax: dim must be one int"):
        x.log_softmax(None)
    rng = np.random.default_rng(0)
    for shape in ((), (3,), (2, 3), (2, 3, 4), (2, 3, 2, 2)):
        a = rng.normal(size=shape)
        for name in ("softmax", "log_softmax", "softmin"):
            with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been deprecated"):
                got = getattr(tg.nn.functional, name)(tg.tensor(a))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = getattr(torch.nn.functional, name)(torch.tensor(a))
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
        for module in ("Softmax", "LogSoftmax", "Softmin"):
            ours, theirs = getattr(tg.nn, module)(), getattr(torch.nn, module)()
            assert repr(ours) == repr(theirs) == f"{module}(dim=None)"
            with pytest.warns(UserWarning, match="Implicit dimension choice"):
                got = ours(tg.tensor(a))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                np.testing.assert_allclose(got.numpy(), theirs(torch.tensor(a)).numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match=r"mean: the input is torch.int64; .* use x.float\(\).mean\(\)"):
        tg.arange(4).mean()
    with pytest.raises(TypeError, match="mean: the input is torch.bool"):
        (tg.arange(4) > 1).mean(0)
    assert (tg.arange(4) > 1).float().mean().item() == 0.5


@pytest.mark.parametrize("call, parts", [
    (lambda: tg.nn.LayerNorm(3)(np.ones((2, 3), np.float32)), ("LayerNorm", "input must be a Tensor", "ndarray")),
    (lambda: tg.nn.CrossEntropyLoss()(np.ones((2, 3), np.float32), np.array([0, 1])),
     ("CrossEntropyLoss", "input must be a Tensor", "ndarray")),
    (lambda: tg.nn.Linear(3, 2)([[1.0, 2.0, 3.0]]), ("Linear", "input must be a Tensor", "list")),
    (lambda: tg.nn.MSELoss()(tg.ones(2), 1.0), ("MSELoss", "target must be a Tensor", "float")),
    (lambda: tg.nn.GRUCell(3, 4)(tg.ones(2, 3), [[0.0] * 4] * 2), ("GRUCell", "hx must be a Tensor", "list")),
    (lambda: tg.nn.RNNCell(3, 4)(np.ones((2, 3))), ("RNNCell", "input must be a Tensor", "ndarray")),
    (lambda: tg.nn.Tanh()([0.5]), ("Tanh", "input must be a Tensor", "list")),
    (lambda: tg.nn.functional.mse_loss(np.ones(2), tg.ones(2)), ("mse_loss", "input must be a Tensor", "ndarray")),
    (lambda: tg.nn.functional.cross_entropy([[1.0, 2.0]], np.array([0])), ("cross_entropy", "input", "list")),
    (lambda: tg.nn.functional.linear(np.ones(3), tg.ones(2, 3)), ("linear", "input must be a Tensor", "ndarray")),
])
def test_layers_and_losses_take_tensors(call, parts):
    """As torch's: a TypeError naming the layer or loss and the type it got, not an AttributeError from inside."""
    with raises(TypeError, *parts):
        call()


def test_layer_norm_refuses_mixed_dtypes():
    """torch raises 'mixed dtype'; numpy would silently compute in float64 with float32 parameters."""
    with raises(TypeError, "LayerNorm", "input is torch.float64", "parameters are torch.float32", "convert one side"):
        tg.nn.LayerNorm(4)(tg.ones(2, 4, dtype=tg.float64))
    with raises(TypeError, "layer_norm", "input is torch.float32", "weight is torch.float64"):
        tg.nn.functional.layer_norm(tg.ones(2, 4), 4, tg.ones(4, dtype=tg.float64))
    assert tg.nn.LayerNorm(4).double()(tg.ones(2, 4, dtype=tg.float64)).dtype == tg.float64


def test_fused_sequences_refuse_mixed_dtypes():
    from tinygrad_rnn.nn import fused
    T, B, I, H = 3, 2, 4, 5
    f32 = lambda *s: tg.zeros(*s)  # noqa: E731
    f64 = lambda *s: tg.zeros(*s, dtype=tg.float64)  # noqa: E731
    with raises(TypeError, "lstm_sequence", "mixed float dtypes", "x torch.float32", "w_ih torch.float64"):
        fused.lstm_sequence(f32(T, B, I), None, None, f64(4 * H, I), f64(4 * H, H), None, None)
    with raises(TypeError, "gru_sequence", "mixed float dtypes", "h0 torch.float64"):
        fused.gru_sequence(f32(T, B, I), f64(B, H), f32(3 * H, I), f32(3 * H, H), None, None)
    with raises(TypeError, "rnn_sequence", "mixed float dtypes", "b_hh torch.float64"):
        fused.rnn_sequence(f32(T, B, I), None, f32(H, I), f32(H, H), f32(H), f64(H))
    out, h = fused.gru_sequence(f64(T, B, I), None, f64(3 * H, I), f64(3 * H, H), None, None)
    assert out.dtype == h.dtype == tg.float64


def test_assigned_grad_must_match_the_tensor():
    """As torch: .grad takes None or a Tensor of the tensor's shape, dtype and device; a mismatch would fail later,
    far from the assignment (an optimizer's step, a backward adding in place) or broadcast silently."""
    x = tg.zeros(3, requires_grad=True)
    with pytest.raises(TypeError, match="grad: an assigned gradient must be a Tensor or None, got ndarray"):
        x.grad = np.zeros(3, np.float32)
    for bad, shown in ((tg.zeros(1), r"\(1,\) torch.float32"),
                       (tg.zeros(3, dtype=tg.float64), r"\(3,\) torch.float64")):
        with pytest.raises(ValueError, match=shown + r" cpu but the tensor is \(3,\) torch.float32 cpu"):
            x.grad = bad
    assert x.grad is None
    x.grad = tg.ones(3)
    (x * 2).sum().backward()  # (backward adds into the assigned gradient)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])
    x.grad = None
    assert x.grad is None


@pytest.mark.parametrize("op, call", [
    ("cat", lambda x, d: tg.cat([x, x], d)), ("stack", lambda x, d: tg.stack([x, x], d)),
    ("split", lambda x, d: x.split(1, d)), ("chunk", lambda x, d: x.chunk(2, d)),
    ("gather", lambda x, d: x.gather(d, tg.zeros(2, 3, dtype=tg.int64))),
    ("index_select", lambda x, d: x.index_select(d, tg.tensor([0]))), ("unbind", lambda x, d: x.unbind(d)),
    ("transpose", lambda x, d: x.transpose(0, d)), ("transpose", lambda x, d: x.transpose(d, 1)),
    ("flatten", lambda x, d: x.flatten(d)),
])
def test_single_dim_ops_refuse_none_and_lists(op, call):
    """As torch: these take one int dim. None and lists went through the reductions' dim parser, which reads None as
    every dim and [1] as dim 1, and the first was taken: x.transpose(0, None) was x, x.flatten([1]) flattened from 1
    and tg.cat([v, v], None) joined 1-d tensors along dim 0; other cases gave 'too many values to unpack'."""
    x = tg.ones(2, 3)
    for bad in (None, [1], [0, 1], (1,)):
        with raises(TypeError, op, "dim must be an int", type(bad).__name__):
            call(x, bad)
    v = tg.ones(3)
    with raises(TypeError, "cat", "dim must be an int", "NoneType"):
        tg.cat([v, v], None)
    with raises(TypeError, "index_select", "dim must be an int", "NoneType"):
        v.index_select(None, tg.tensor([0]))


def test_flatten_of_a_0d_tensor_checks_its_dims():
    """torch: a 0-d tensor's dims are -1 and 0; others were ignored and the result was (1,)."""
    for bad in (1, -2, 5):
        with raises(IndexError, "flatten", f"dim {bad}", "out of range"):
            tg.tensor(2.0).flatten(bad)
    assert tg.tensor(2.0).flatten(0, -1).shape == (1,)


def test_only_bool_integer_and_float_dtypes():
    """torch has no string, bytes, object or long double complex dtype (complex64 and complex128 it has): numpy's
    np.dtype read x.to('a') as bytes ('|S32' of '1.0'), zeros(dtype=str) made a string tensor and astype(None)
    float64, silently."""
    x = tg.ones(2)
    with raises(ValueError, "device must be 'cpu' or 'cuda'", "'a'"):
        x.to("a")  # (a string that is not a supported dtype is a device, as torch reads it)
    for make, op in [(lambda d: x.to(d), "to"), (lambda d: x.astype(d), "astype"),
                     (lambda d: tg.zeros(2, dtype=d), "zeros"),
                     (lambda d: tg.ones(2, dtype=d), "ones"), (lambda d: tg.full((2,), 1.0, dtype=d), "full"),
                     (lambda d: tg.tensor([1.0], dtype=d), "tensor"),
                     (lambda d: tg.as_tensor([1.0], dtype=d), "as_tensor"),
                     (lambda d: tg.Tensor([1.0], dtype=d), "tensor")]:
        for bad, shown in [(str, "<U"), (object, "object"), (np.clongdouble, "complex"), (np.bytes_, "|S")]:
            with raises(TypeError, op, f"dtype {shown}", "not supported", "bool, an integer, a floating point"):
                make(bad)
    with raises(TypeError, "astype", "None"):
        x.astype(None)
    assert x.to("float64").dtype == tg.float64 and x.to("cpu", tg.int32).dtype == tg.int32
    assert tg.zeros(2, dtype=np.uint8).dtype == np.uint8 and tg.full((1,), True).dtype == tg.bool_


def test_fill_values_are_numbers():
    """As torch (fill_value must be a Number): numpy's full broadcast a list over the rows, full((2, 3), [1, 2, 3]),
    made nan of None and 3.0 of '3'; fill_ and index_fill_ wrote a list's values, as copy_ would."""
    for make, op in [(lambda v: tg.full((2, 3), v), "full"), (lambda v: tg.full_like(tg.ones(2, 3), v), "full"),
                     (lambda v: tg.ones(2).new_full((2, 3), v), "full")]:
        for bad, kind in [([1.0, 2.0, 3.0], "list"), (None, "NoneType"), ("3", "str"), (np.ones(3), "ndarray")]:
            with raises(TypeError, op, "fill_value must be a number", kind):
                make(bad)
    for make, op in [(lambda v: tg.ones(2).fill_(v), "fill_"),
                     (lambda v: tg.ones(2).index_fill_(0, tg.tensor([0, 1]), v), "index_fill_")]:
        for bad, kind in [([4.0, 5.0], "list of shape (2,)"), (np.ones(2), "ndarray of shape (2,)")]:
            with raises(TypeError, op, "must be a number or a 0-d tensor", kind):
                make(bad)
    assert tg.full((2,), np.True_).dtype == tg.bool_ and tg.full((2,), tg.tensor(3)).tolist() == [3, 3]
    assert tg.ones(2).fill_(np.float64(3)).tolist() == [3.0, 3.0]


def test_allclose_names_shapes_that_do_not_broadcast():
    """numpy's isclose raised its own 'operands could not be broadcast together', and a str rtol a ufunc TypeError."""
    with raises(ValueError, "allclose", "input (3,)", "other (4,)", "do not broadcast"):
        tg.allclose(tg.ones(3), tg.ones(4))
    with raises(ValueError, "allclose", "input (2, 3)", "other (3, 1)"):
        tg.ones(2, 3).allclose(tg.ones(3, 1))
    for name, kw in [("rtol", dict(rtol="a")), ("atol", dict(atol=-1.0)), ("rtol", dict(rtol=None))]:
        with raises(ValueError, "allclose", f"{name} must be a number >= 0"):
            tg.allclose(tg.ones(3), tg.ones(3), **kw)
    assert tg.allclose(tg.ones(2, 3), tg.ones(3)) and not tg.allclose(tg.ones(3), tg.zeros(1))


@pytest.mark.parametrize("op, call", [
    ("cumsum", lambda v: tg.cumsum(v, 0)), ("cumprod", lambda v: tg.cumprod(v, 0)), ("sort", lambda v: tg.sort(v)),
    ("argsort", lambda v: tg.argsort(v)), ("topk", lambda v: tg.topk(v, 1)),
    ("logsumexp", lambda v: tg.logsumexp(v, 0)),
    ("narrow", lambda v: tg.narrow(v, 0, 0, 1)), ("select", lambda v: tg.select(v, 0, 0)),
    ("movedim", lambda v: tg.movedim(v, 0, 0)), ("unflatten", lambda v: tg.unflatten(v, 0, (1, 2))),
    ("roll", lambda v: tg.roll(v, 1)), ("split", lambda v: tg.split(v, 1)), ("chunk", lambda v: tg.chunk(v, 2)),
    ("gather", lambda v: tg.gather(v, 0, tg.tensor([0]))), ("index_select", lambda v: tg.index_select(v, 0, [0])),
    ("nan_to_num", lambda v: tg.nan_to_num(v)), ("unique", lambda v: tg.unique(v)),
    ("clamp", lambda v: tg.clamp(v, 0, 1)), ("zeros_like", lambda v: tg.zeros_like(v)),
    ("ones_like", lambda v: tg.ones_like(v)), ("randn_like", lambda v: tg.randn_like(v)),
    ("full_like", lambda v: tg.full_like(v, 2.0)),
])
def test_function_forms_name_a_non_tensor_input(op, call):
    """As torch's TypeError: these read x.ndim, x.array or x.shape first, and a list, array or None gave an
    AttributeError ('list' object has no attribute 'ndim') from inside the op."""
    for bad, kind in [([1.0, 2.0], "list"), (np.ones(2), "ndarray"), (None, "NoneType"), (2, "int")]:
        with raises(TypeError, op, "input must be a Tensor", kind):
            call(bad)


def test_binary_ops_need_a_tensor_operand():
    """tg.maximum(2, 2) raised AttributeError: 'int' object has no attribute 'dtype'."""
    for op, f in [("maximum", tg.maximum), ("minimum", tg.minimum), ("floor_divide", tg.floor_divide)]:
        with raises(TypeError, op, "expected a Tensor operand", "int and NoneType"):
            f(2, None)
    assert tg.maximum(tg.tensor([1, 5]), 3).tolist() == [3, 5]


@pytest.mark.parametrize("call, exc, parts", [
    (lambda x: F.tanh([0.5]), TypeError, ("tanh", "input must be a Tensor", "list")),
    (lambda x: F.sigmoid(None), TypeError, ("sigmoid", "input must be a Tensor", "NoneType")),
    (lambda x: F.softmax(np.ones(3), 0), TypeError, ("softmax", "input must be a Tensor", "ndarray")),
    (lambda x: F.log_softmax(2.0, 0), TypeError, ("log_softmax", "input must be a Tensor", "float")),
    (lambda x: F.linear(x, 2), TypeError, ("linear", "weight must be a Tensor", "int")),
    (lambda x: F.linear(x, tg.ones(2, 3), [1.0, 2.0]), TypeError, ("linear", "bias must be a Tensor", "list")),
    (lambda x: F.embedding(tg.tensor([0]), None), TypeError, ("embedding", "weight must be a Tensor", "NoneType")),
    (lambda x: F.batch_norm(x, 0.0, 1.0), TypeError, ("batch_norm", "running_mean must be a Tensor", "float")),
    (lambda x: F.layer_norm(x, None), TypeError, ("layer_norm", "normalized_shape", "int or a tuple of ints", "None")),
    (lambda x: F.rms_norm(x, True), TypeError, ("rms_norm", "normalized_shape", "True")),
    (lambda x: F.layer_norm(x, (3.0,)), TypeError, ("layer_norm", "each size in normalized_shape", "float")),
    (lambda x: F.dropout(x, None), TypeError, ("dropout", "p must be a real number", "None")),
    (lambda x: F.dropout(x, True), TypeError, ("dropout", "p must be a real number", "bool")),
    (lambda x: F.leaky_relu(x, x), TypeError, ("leaky_relu", "negative_slope must be a real number", "Tensor")),
    (lambda x: F.elu(x, "a"), TypeError, ("elu", "alpha must be a real number", "str")),
    (lambda x: F.celu(x, tg.ones(2, 3)), TypeError, ("celu", "alpha must be a real number", "Tensor")),
    (lambda x: F.hardtanh(x, None), TypeError, ("hardtanh", "min_val must be a real number", "NoneType")),
])
def test_functional_arguments_are_checked(call, exc, parts):
    """As torch's TypeErrors: these gave AttributeErrors ('int' object has no attribute 'ndim'), Python's own
    comparison errors ('<=' not supported between 'float' and 'NoneType'), 'the truth value of a tensor is
    ambiguous', or took a tensor negative_slope elementwise (torch: must be a Number). A bool p made dropout zero
    everything (p = 1); layer_norm(x, True) normalized over the last dim."""
    with raises(exc, *parts):
        call(tg.randn(2, 3))


def test_retain_grad_needs_requires_grad():
    """As torch ("can't retain_grad on Tensor that has requires_grad=False"): it returned silently and .grad stayed
    None after backward."""
    with raises(RuntimeError, "retain_grad", "(2,)", "does not require grad"):
        tg.ones(2).retain_grad()
    with tg.no_grad():
        y = tg.ones(2, requires_grad=True) * 2
    with raises(RuntimeError, "retain_grad", "does not require grad"):
        y.retain_grad()
    leaf = tg.ones(2, requires_grad=True)
    leaf.retain_grad()  # (a leaf that requires grad keeps its .grad anyway)
    (leaf * 3).sum().backward()
    assert leaf.grad.tolist() == [3.0, 3.0]


def test_one_hot_num_classes_below_minus_one():
    """torch refuses them; -5 was read as -1 (inferred from the largest index)."""
    with raises(ValueError, "one_hot", "num_classes", "-5"):
        F.one_hot(tg.tensor([0, 1]), -5)
    assert F.one_hot(tg.tensor([0, 2]), -1).shape == (2, 3)
    assert F.one_hot(tg.zeros(0, dtype=tg.int64), 0).shape == (0, 0)


def test_reductions_name_themselves_for_an_unsupported_dtype():
    """prod with a dtype no tensor has names the reduction (it said 'astype' or 'tensor', from inside), as do the
    others; sum, mean and prod take complex dtypes, as torch's."""
    x = tg.ones(3)
    assert x.prod(dtype=complex).item() == 1 + 0j
    for op, call in (("prod", lambda: x.prod(dtype=np.clongdouble)),
                     ("sum", lambda: x.sum(dtype=np.clongdouble)), ("mean", lambda: x.mean(dtype=np.clongdouble))):
        with pytest.raises((TypeError, NotImplementedError), match=f"{op}: .*complex.* not supported"):
            call()
    assert x.sum(dtype=complex).item() == 3 + 0j and x.mean(dtype=complex).item() == 1 + 0j


@pytest.mark.parametrize("op, call", [
    ("sum", lambda x, k: x.sum(0, k)), ("mean", lambda x, k: x.mean(0, keepdim=k)),
    ("prod", lambda x, k: x.prod(0, k)), ("amax", lambda x, k: x.amax(0, k)), ("amin", lambda x, k: x.amin(0, k)),
    ("max", lambda x, k: x.max(0, k)), ("min", lambda x, k: x.min(0, keepdim=k)),
    ("var", lambda x, k: x.var(0, keepdim=k)), ("std", lambda x, k: x.std(0, keepdim=k)),
    ("logsumexp", lambda x, k: x.logsumexp(0, k)), ("argmax", lambda x, k: x.argmax(0, k)),
    ("norm", lambda x, k: x.norm(2, 0, k)), ("any", lambda x, k: x.any(0, k)), ("all", lambda x, k: x.all(0, k)),
    ("nansum", lambda x, k: tg.nansum(x, 0, k)), ("nanmean", lambda x, k: tg.nanmean(x, 0, k)),
    ("median", lambda x, k: x.median(0, k)), ("kthvalue", lambda x, k: tg.kthvalue(x, 1, 0, k)),
    ("pairwise_distance", lambda x, k: F.pairwise_distance(x, x, keepdim=k)),
])
def test_keepdim_must_be_a_bool(op, call):
    """As torch ('argument keepdim must be bool'): 2 or 'no' were read by their truth, so x.sum(0, 'no') kept the
    dim, and None raised numpy's "'NoneType' object cannot be interpreted as an integer"."""
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    for bad in (1, 0, "no", None, np.bool_(True), tg.tensor(True)):
        shown = "bool tensor" if isinstance(bad, tg.Tensor) else type(bad).__name__
        with raises(TypeError, op, "keepdim must be a bool", shown):
            call(x, bad)
    kept = call(x, True)
    assert (kept[0] if isinstance(kept, tuple) else kept).ndim == 2


def test_requires_grad_flags_must_be_bools():
    """torch: requires_grad_ takes a bool (TypeError), the attribute too (RuntimeError); 'x' and 1 turned gradients
    on and None turned them off, silently."""
    x = tg.ones(2)
    for bad in (1, "x", None, np.bool_(True)):
        with raises(TypeError, "requires_grad_", "must be a bool", type(bad).__name__):
            x.requires_grad_(bad)
        with raises(RuntimeError, "requires_grad must be a bool", type(bad).__name__):
            x.requires_grad = bad
    assert not x.requires_grad and x.requires_grad_().requires_grad


def test_size_takes_an_int_dim():
    """torch: size(dim) takes an int; size(True) was size(1) and size(1.0) a bare 'tuple indices must be ...'."""
    x = tg.ones(2, 3)
    for bad in (True, 1.0, "a", [1]):
        with raises(TypeError, "size", "dim must be an int", type(bad).__name__):
            x.size(bad)
    assert x.size(np.int64(1)) == 3 and x.size(tg.tensor(-1)) == 3 and x.size(dim=0) == 2


def test_creation_sizes_are_ints():
    """As torch: a bool size alone (zeros(True), new_ones(True)) or first in a tuple is refused, a later one counts as
    0 or 1 (zeros(2, True) is (2, 1)); a float, None or str size is a TypeError. The bools reached numpy's full as a
    bare 'an integer is required', and new_ones's error named ones."""
    x = tg.ones(2)
    for op, make in [("zeros", tg.zeros), ("ones", tg.ones), ("empty", tg.empty), ("randn", tg.randn),
                     ("new_zeros", x.new_zeros), ("new_ones", x.new_ones), ("new_empty", x.new_empty)]:
        for bad in [(True,), ((True, 2),), (2.0,), (None,), ("2",)]:
            with raises(TypeError, f"{op}: sizes must be non-negative integers", repr(bad[0])[:4]):
                make(*bad)
        with raises(ValueError, f"{op}: sizes must be non-negative integers", "-1"):
            make(2, -1)
        assert make(2, True).shape == (2, 1) and make((3, False)).shape == (3, 0)
        assert make(np.int64(2), tg.tensor(3)).shape == (2, 3)


def test_device_strings_are_checked_and_name_the_call():
    """x.to('gpu') said only "device must be 'cpu' or 'cuda'", without the op; 'cudax' or 'cuda:a' were taken for
    'cuda' (any string starting so), and 'cpu:0', which torch takes, was refused."""
    x, m = tg.ones(2), tg.nn.Linear(2, 2)
    for bad in ("gpu", "cpux", "cudax", "cuda:a", "cpu:", 5):
        with raises(ValueError, "to: device must be 'cpu' or 'cuda'", repr(str(bad))):
            x.to(bad)
        with raises(ValueError, "Linear.to:", repr(bad)):
            m.to(bad)
        with raises(ValueError, "load: map_location: device must be 'cpu' or 'cuda'", repr(str(bad))):
            tg.load("unused", map_location=bad)
    assert x.to("cpu:0").device == "cpu" and x.to("cpu:1") is x


@pytest.mark.parametrize("op, call", [
    ("sort", lambda x, b: x.sort(0, b)), ("sort", lambda x, b: x.sort(0, stable=b)),
    ("argsort", lambda x, b: x.argsort(0, b)), ("topk", lambda x, b: x.topk(1, 0, b)),
    ("topk", lambda x, b: x.topk(1, 0, True, b)), ("var", lambda x, b: x.var(0, b)), ("std", lambda x, b: x.std(0, b)),
])
def test_sort_topk_and_var_flags_must_be_bools(op, call):
    """As torch: descending, stable, largest, sorted and unbiased are bools. x.var(0, 0) was the unbiased variance
    (0 is not False) where biased was asked for, and sort(0, 'no') sorted descending."""
    x = tg.tensor([[1.0, 2.0], [4.0, 3.0], [0.0, 5.0]])
    for bad in (0, 1, "no", np.bool_(False)):
        with raises(TypeError, op, "must be a bool", type(bad).__name__):
            call(x, bad)
    np.testing.assert_allclose(x.var(0, False).numpy(), x.numpy().var(0), rtol=1e-6)


def test_std_and_var_of_an_integer_tensor_name_themselves():
    """As torch ('std and var only support floating point'): the error named mean, which var calls."""
    for call, op, dtype in ((lambda: tg.tensor([1, 2]).std(), "std", "int64"),
                            (lambda: tg.var(tg.tensor([True]), 0), "var", "bool"),
                            (lambda: tg.std_mean(tg.tensor([1, 2], dtype=tg.uint8)), "std", "uint8")):
        with raises(TypeError, op, "expects a floating-point tensor", dtype):
            call()


_BARE_DTYPE = re.compile(r"(?<!torch\.)\b(float|int|uint|complex)(8|16|32|64|128)\b")
_DTYPE_MISUSE = [  # (call, the torch dtype name its message must say)
    (lambda d: tg.arange(3, dtype=tg.bool_, device=d), "torch.bool"),
    (lambda d: tg.linspace(0, 1, 3, dtype=tg.bool_, device=d), "torch.bool"),
    (lambda d: tg.randperm(300, dtype=np.uint8, device=d), "torch.uint8"),
    (lambda d: tg.full((2,), float("nan"), dtype=np.int64, device=d), "torch.int64"),
    (lambda d: tg.rand(2, dtype=np.int32, device=d), "torch.int32"),
    (lambda d: tg.tensor([2**70], device=d), "torch.int64"),
    (lambda d: tg.finfo(np.int64), "torch.int64"),
    (lambda d: tg.iinfo(np.float32), "torch.float32"),
    (lambda d: tg.ones(2, device=d).to(np.dtype("U3")), "<U3"),
    (lambda d: tg.ones(2, dtype=tg.uint8, device=d) ** -1, "torch.uint8"),
    (lambda d: tg.ones(2, 3, device=d).masked_fill(tg.ones(2, 3, dtype=tg.int64, device=d), 0), "torch.int64"),
    (lambda d: tg.ones(3, device=d).index_select(0, tg.ones(2, device=d)), "torch.float32"),
    (lambda d: tg.ones(3, dtype=tg.int64, device=d).round(decimals=1), "torch.int64"),
    (lambda d: tg.ones(2, 2, device=d).cumsum_(0, dtype=tg.float64), "torch.float64"),
    (lambda d: tg.ones(3, device=d).view(np.float64), "torch.float64"),
    (lambda d: tg.ones(3, dtype=tg.int64, device=d).quantile(0.5), "torch.int64"),
    (lambda d: tg.searchsorted(tg.arange(4.0, device=d), tg.ones(2, device=d),
                               sorter=tg.zeros(4, dtype=tg.int32, device=d)), "torch.int32"),
    (lambda d: tg.ones(2, 2, dtype=tg.int64, device=d).norm(dtype=tg.float16), "torch.int64"),
    (lambda d: tg.linalg.vector_norm(tg.ones(3, device=d), dtype=tg.float16), "torch.float16"),
    (lambda d: tg.linalg.inv(tg.ones(2, 2, dtype=tg.int64, device=d)), "torch.int64"),
    (lambda d: tg.ones(2, device=d).float_power_(2), "torch.float64"),
    (lambda d: tg.multinomial(tg.ones(3, dtype=tg.int64, device=d), 1), "torch.int64"),
    (lambda d: tg.nn.functional.embedding(tg.ones(2, device=d), tg.ones(3, 2, device=d)), "torch.float32"),
    (lambda d: tg.nn.functional.cross_entropy(tg.ones(2, 3, device=d), tg.ones(2, device=d)), "torch.float32"),
    (lambda d: tg.nn.Linear(2, 2).to(device=d).to(tg.int64), "torch.int64"),
    (lambda d: tg.nn.RNN(2, 3).to(device=d)(tg.ones(4, 1, 2, dtype=tg.float64, device=d)), "torch.float64"),
    (lambda d: tg.nn.functional.layer_norm(tg.ones(2, 3, dtype=tg.int64, device=d), (3,)), "torch.int64"),
    (lambda d: tg.nn.init.normal_(tg.ones(2, dtype=tg.int64, device=d)), "torch.int64"),
    (lambda d: tg.save({"a": np.array(["x"])}, __import__("io").BytesIO()), "<U1"),
    (lambda d: tg.signal.windows.kaiser(5, dtype=np.int64), "torch.int64"),
    (lambda d: tg.testing.make_tensor(2, dtype=tg.int64, device=d, requires_grad=True), "torch.int64"),
    (lambda d: tg.autograd.gradcheck(lambda x: x, (tg.ones(2, requires_grad=True, device=d),)), "torch.float32"),
]


@pytest.mark.parametrize("case", range(len(_DTYPE_MISUSE)))
def test_dtype_misuse_messages_name_torch_dtypes(case, device):
    """Every message about a dtype names it as torch's do ('torch.float32'), never numpy's bare 'float32', whether
    the dtype came from a tensor, a numpy array or a dtype= argument."""
    call, name = _DTYPE_MISUSE[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:
            call(device)
    text = str(info.value)
    assert name in text, text
    # (kaiser & co. say torch's own words, 'expects float32 or float64 dtypes', before the dtype they got)
    assert not _BARE_DTYPE.search(text.replace("expects float32 or float64 dtypes", "")), text
