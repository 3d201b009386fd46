"""The Tensor API: dtype rules, attributes, conversions, repr, creation functions, seeding,
casts, and the numpy/CuPy backend."""
import copy
import math
import os
import pickle
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import backend
from conftest import default_dtype

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
no_cuda = pytest.mark.skipif(tg.cuda_available(), reason="checks the error raised on a machine without a GPU")


def needs_cuda(test):
    """A test for a GPU: marked cuda (so `pytest -m cuda` selects it) and skipped without CuPy and a GPU."""
    skip = pytest.mark.skipif(not tg.cuda_available(), reason="CuPy or a CUDA GPU is not available")
    return pytest.mark.cuda(skip(test))


# ============================================================================ dtype rules
@pytest.mark.parametrize("data,dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2.5]], np.float32), ([1, 2.0], np.float32),
    (3, np.int64), ([1, 2, 3], np.int64), ([[1], [2]], np.int64), (True, np.bool_), ([True, False], np.bool_),
    (np.zeros(2, np.float64), np.float64), (np.zeros(2, np.int32), np.int32), (np.zeros(2, np.float16), np.float16),
    (np.zeros(2, np.bool_), np.bool_), (np.float64(2.0), np.float64), (np.int32(2), np.int32),
])
def test_dtype_of_new_tensors(data, dtype):
    """tg.tensor and tg.as_tensor infer the dtype like torch.tensor; tg.Tensor makes Python data float32
    like torch.Tensor, and keeps the dtype of numpy data (arrays and numpy scalars)."""
    assert tg.tensor(data).dtype == dtype
    assert tg.as_tensor(data).dtype == dtype
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    assert tg.Tensor(data).dtype == (dtype if from_numpy else np.float32)


def test_tensor_infers_the_dtype_of_numpy_values_in_lists_and_refuses_ints_beyond_int64():
    """torch.tensor promotes the dtypes of numpy scalars, arrays and tensors inside a list with the Python values'
    (a float64 one makes float64, where numpy's float64 was cast to float32), and an int beyond int64 among ints is
    an error (numpy made [1, 10**19] float64, then float32, and 2**63 a uint64 tensor)."""
    for data, want in (([np.float64(1), 2], np.float64), ([[np.float64(1)], [2.5]], np.float64),
                       ([np.array([1.0, 2.0]), np.array([3.0, 4.0])], np.float64), ([np.float16(1), 2], np.float16),
                       ([np.int32(1), 2], np.int64), ([np.int32(1), 2.5], np.float32), ([np.uint8(1), True], np.uint8),
                       ([tg.tensor(1.0, dtype=tg.float64)], np.float64), ([2 ** 63, 1.5], np.float32)):
        assert tg.tensor(data).dtype == want and tg.as_tensor(data).dtype == want, data
    for data in ([1, 10 ** 19], 2 ** 63, [[1], [-2 ** 63 - 1]]):
        with pytest.raises(OverflowError, match="tensor: a Python int does not fit in torch.int64"):
            tg.tensor(data)
    assert tg.tensor([1, 10 ** 19], dtype=tg.float32).dtype == np.float32
    assert tg.Tensor([1, 10 ** 19]).dtype == np.float32  # (torch.Tensor: float32 whatever the values)


def test_tensor_constructor_follows_torch_Tensor():
    """torch.Tensor([1, 2]) is float32 where torch.tensor([1, 2]) is int64: code ported from torch that
    builds float data with Tensor(...) must not silently get integer tensors (and integer division)."""
    t = tg.Tensor([1, 2])
    assert t.dtype == np.float32 and t.tolist() == [1.0, 2.0]
    assert (t / 2).tolist() == [0.5, 1.0] and tg.Tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert tg.Tensor([True, False]).tolist() == [1.0, 0.0] and tg.Tensor(3.5).shape == ()
    assert tg.Tensor([1, 2], requires_grad=True).requires_grad  # float32, so it may require grad
    assert tg.Tensor([1, 2], dtype=np.int64).dtype == np.int64
    a = np.arange(3)
    assert tg.Tensor(a).array is a  # numpy arrays are shared and keep their dtype (tg.from_numpy relies on it)
    with pytest.raises(TypeError, match="tensor: cannot make a tensor from str"):
        tg.Tensor("abc")
    torch = pytest.importorskip("torch")
    for data in ([1, 2], [[1.5, 2]], [True], 1.5, 7, [[1], [2]], []):
        assert str(tg.tensor(data).dtype) == str(torch.tensor(data).dtype)
        if isinstance(data, list):
            assert str(tg.Tensor(data).dtype) == str(torch.Tensor(data).dtype)
    for sizes in [(), (3,), (2, 3), (1, 0, 2)]:  # (ints are sizes: nn.Parameter(torch.Tensor(out, in)), custom layers)
        ours, theirs = tg.Tensor(*sizes), torch.Tensor(*sizes)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float32 and not ours.array.any()
    with pytest.raises(RuntimeError, match="negative dimension"):
        tg.Tensor(2, -1)
    with pytest.raises(TypeError, match="takes one argument"):
        tg.Tensor(np.ones(2), np.float64)  # (the dtype is a keyword)


def test_as_tensor_shares_where_it_can():
    a = np.arange(4.0)
    t = tg.as_tensor(a)
    assert t.array is a and t.dtype == np.float64
    x = tg.randn(3, requires_grad=True)
    assert tg.as_tensor(x) is x and tg.as_tensor(x, dtype=np.float32, device="cpu") is x
    d = tg.as_tensor(x, dtype=np.float64)
    assert d.dtype == np.float64 and d.grad_fn is not None  # converted differentiably, as torch
    assert tg.as_tensor([1, 2]).dtype == np.int64 and tg.as_tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_explicit_dtype():
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == np.float64
    assert tg.tensor(np.zeros(2), dtype=np.float32).dtype == np.float32
    assert tg.Tensor([1.5], dtype="float64").dtype == np.float64


def test_arithmetic_dtype_rules():
    f32 = tg.tensor([1.0, 2.0])
    f64 = tg.tensor([1.0, 2.0], dtype=np.float64)
    i64 = tg.tensor([1, 2])
    for out in (f32 * 0.5, 0.5 * f32, f32 + 1, 1 - f32, f32 / 3, 2.0 / f32, f32 ** 2, f32 * np.float64(2.0)):
        assert out.dtype == np.float32
    assert (f64 * 0.5).dtype == np.float64
    assert (i64 * 2).dtype == np.int64 and (i64 + 1).tolist() == [2, 3]
    assert (i64 * f32).dtype == np.float32 and (f32 * i64).dtype == np.float32
    assert (i64 * f64).dtype == np.float64 and (i64 + f64).tolist() == [2.0, 4.0]
    assert (i64 * 0.5).dtype.kind == "f"
    np.testing.assert_array_equal((i64 * 0.5).numpy(), [0.5, 1.0])
    assert (f32 * f64).dtype == np.float64
    assert (f32 < 1.5).dtype == np.bool_ and (f32 < 1.5).tolist() == [True, False]


@pytest.mark.parametrize("a, b, want", [  # torch 2.13's result dtypes for these pairs
    (("float32", (2,)), ("float64", ()), "float32"),
    (("float64", ()), ("float32", (2,)), "float32"),
    (("int32", (2,)), ("int64", ()), "int32"),
    (("int8", (2,)), ("int64", ()), "int8"),
    (("uint8", (2,)), ("int64", ()), "uint8"),
    (("float16", (2,)), ("float64", ()), "float16"),
    (("int32", (2,)), ("float64", ()), "float64"),
    (("int64", (2,)), ("float32", ()), "float32"),
    (("bool", (2,)), ("int64", ()), "int64"),
    (("float32", ()), ("float64", ()), "float64"),
    (("int32", ()), ("float64", ()), "float64"),
    (("float32", (2,)), ("float64", (2,)), "float64"),
])
def test_a_0d_tensor_takes_the_dtype_of_a_tensor_with_dims_of_its_kind(a, b, want):
    x, y = (tg.tensor(np.ones(shape, dtype)) for dtype, shape in (a, b))
    for out in (x + y, x * y) + (() if x.dtype == np.bool_ else (y - x,)):  # (torch refuses a bool subtraction)
        assert out.dtype == np.dtype(want)


def test_a_0d_operand_cast_to_the_others_dtype_keeps_its_gradient():
    x = tg.tensor(np.arange(1.0, 4.0), requires_grad=True)  # float64
    s = tg.tensor(2.0, requires_grad=True)  # float32, 0-d: cast to float64 for the product
    (x * s).sum().backward()
    assert s.grad is not None and s.grad.dtype == np.float32 and s.grad.item() == 6.0
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    t = tg.tensor(3.0, dtype=tg.float64, requires_grad=True)
    out = tg.ones(2) * t  # float32, the 0-d float64 cast down
    assert out.dtype == np.float32 and out.requires_grad
    out.sum().backward()
    assert t.grad.item() == 2.0 and t.grad.dtype == np.float64


def test_int_tensor_to_a_float_power_is_float32():
    assert (tg.arange(5) ** 0.5).dtype == np.float32 and (tg.arange(5) ** 2).dtype == np.int64
    assert (tg.arange(5) ** np.float32(0.5)).dtype == np.float32
    assert (tg.tensor([1, 2], dtype=tg.int32) ** np.int64(2)).dtype == np.int32  # a numpy scalar acts as a number
    np.testing.assert_allclose((tg.arange(5) ** 0.5).numpy(), np.arange(5) ** 0.5, rtol=1e-6)


def test_matmul_needs_one_dtype():
    a, b = tg.ones(2, 3), tg.ones(3, 4, dtype=tg.float64)
    with pytest.raises(TypeError, match=r"matmul: \(2, 3\) torch.float32 @ \(3, 4\) torch.float64: the operands "
                                        r"must have the "
                                        "same dtype"):
        a @ b
    with pytest.raises(TypeError, match="linear: input is torch.float64, weight torch.float32"):
        tg.nn.Linear(3, 2)(tg.ones(5, 3, dtype=tg.float64))
    assert (a @ b.float()).dtype == np.float32 and (a.double() @ b).dtype == np.float64


def test_set_default_dtype_takes_float_dtypes_and_get_default_dtype_gives_the_dtype():
    """As torch's: float16, float32 and float64 can be the default, anything else is a TypeError (and leaves it
    as it was); get_default_dtype returns the dtype itself, tg.float32 or another."""
    assert tg.get_default_dtype() is tg.float32
    for bad in (tg.int64, tg.bool_, np.complex64, np.longdouble, None, "abc"):
        with pytest.raises(TypeError, match="set_default_dtype: only floating point dtypes"):
            tg.set_default_dtype(bad)
    assert tg.get_default_dtype() is tg.float32
    with default_dtype("float64"):
        assert tg.get_default_dtype() is tg.float64 and tg.tensor([0.5]).dtype == np.float64
        tg.set_default_dtype(np.dtype("float16"))
        assert tg.get_default_dtype() is tg.float16 and tg.zeros(1).dtype == np.float16
    assert tg.get_default_dtype() is tg.float32 and tg.tensor([0.5]).dtype == np.float32


def _default_dtype_cases(L):
    """Ops whose float dtype torch takes from the default dtype (and some that keep their own), for tg and torch."""
    i, b, f = L.arange(3), L.tensor([True, False, True]), L.ones(3, dtype=L.float32)
    return {
        "tensor(1.5)": lambda: L.tensor(1.5), "tensor([1, 2.5])": lambda: L.tensor([1, 2.5]),
        "tensor([])": lambda: L.tensor([]), "Tensor([1, 2])": lambda: L.Tensor([1, 2]),
        "tensor(float32 array)": lambda: L.tensor(np.ones(2, np.float32)), "as_tensor([1.])": lambda: L.as_tensor([1.]),
        "zeros": lambda: L.zeros(2), "ones": lambda: L.ones(2), "empty": lambda: L.empty(2),
        "full(1.5)": lambda: L.full((2,), 1.5), "full(1)": lambda: L.full((2,), 1), "rand": lambda: L.rand(2),
        "randn": lambda: L.randn(2), "eye": lambda: L.eye(2), "arange(3)": lambda: L.arange(3),
        "arange(0., 3.)": lambda: L.arange(0., 3.), "arange(0, 1, 0.5)": lambda: L.arange(0, 1, 0.5),
        "linspace": lambda: L.linspace(0, 1, 3), "logspace": lambda: L.logspace(0, 1, 3),
        "zeros_like(int)": lambda: L.zeros_like(i), "rand_like(float32)": lambda: L.rand_like(f),
        "int * 0.5": lambda: i * 0.5, "0.5 - int": lambda: 0.5 - i, "bool * 0.5": lambda: b * 0.5,
        "int + np.float32(1)": lambda: i + np.float32(1), "int / int": lambda: i / (i + 1), "int / 2": lambda: i / 2,
        "2 / int": lambda: 2 / (i + 1), "bool / bool": lambda: b / b, "int * tensor(0.5)": lambda: i * L.tensor(0.5),
        "int ** 0.5": lambda: i ** 0.5, "int.sqrt": lambda: i.sqrt(), "int.exp": lambda: i.exp(),
        "int.sigmoid": lambda: i.sigmoid(), "int.clamp(0.5)": lambda: i.clamp(0.5),
        "int.true_divide": lambda: i.true_divide(2), "deg2rad(int)": lambda: L.deg2rad(i),
        "sinc(int)": lambda: L.sinc(i), "xlogy(int, int)": lambda: L.xlogy(i, i), "atan2": lambda: L.atan2(i, i),
        "where(c, int, 0.5)": lambda: L.where(b, i, 0.5), "where(c, 1.5, 0.5)": lambda: L.where(b, 1.5, 0.5),
        "int // 0.5": lambda: i // 0.5, "fmod(int, 0.5)": lambda: L.fmod(i, 0.5), "cat(int, float32)":
        lambda: L.cat([i, f]), "block_diag()": lambda: L.block_diag(), "float32 * 0.5": lambda: f * 0.5,
        "float32 + tensor(0.5)": lambda: f + L.tensor(0.5), "int.float()": lambda: i.float(),
        "int.new_full(1.5)": lambda: i.new_full((2,), 1.5), "int.cumsum": lambda: i.cumsum(0),
    }


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_default_dtype_decides_float_creation_and_promotion_as_torchs(dtype):
    """torch.set_default_dtype's dtype is that of tensors made from Python floats, of float creation without
    dtype=, and of integers and bools meeting a float or made floating; float32 tensors and .float() keep float32.
    Every case of the table gives torch's dtype (all were float32, so float64 scripts came out float32)."""
    torch = pytest.importorskip("torch")
    with default_dtype(dtype):
        ours, theirs = _default_dtype_cases(tg), _default_dtype_cases(torch)
        got = {k: str(np.dtype(f().dtype)) for k, f in ours.items()}
        want = {k: str(f().dtype).replace("torch.", "") for k, f in theirs.items()}
    assert got == want


# ============================================================================ attributes and conversion
def test_attributes():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    with warnings.catch_warnings():  # (x.T off 2-d: torch's deprecation note, once a process)
        warnings.simplefilter("ignore", UserWarning)
        assert x.T.shape == (4, 3, 2)
        np.testing.assert_array_equal(x.T.numpy(), np.arange(24.0).reshape(2, 3, 4).T)
    assert x.device == "cpu" and x.is_leaf and not x.requires_grad and x.grad is None and x.grad_fn is None
    m = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = m.T
    assert y.tolist() == [[1.0, 3.0], [2.0, 4.0]] and not y.is_leaf and y.requires_grad
    y.sum().backward()
    assert m.grad.shape == (2, 2)


def test_conversions():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = tg.tensor(a)
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.numpy(), a)
    np.testing.assert_array_equal(np.asarray(x), a)
    assert np.array(x, dtype=np.float32).dtype == np.float32
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert len(x) == 2 and [r.tolist() for r in x] == [[1.0, 2.0], [3.0, 4.0]]
    s = tg.tensor([[2.5]])
    assert s.item() == 2.5 and isinstance(s.item(), float)
    assert float(s) == 2.5 and int(tg.tensor(7)) == 7 and isinstance(tg.tensor(7).item(), int)
    assert bool(tg.tensor(1.0)) and not bool(tg.tensor(0.0))
    with pytest.raises(ValueError, match="one element"):
        x.item()
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)


def test_repr_shows_data_dtype_grad_fn():
    x = tg.tensor([1.25, -2.5], requires_grad=True)
    assert repr(x) == "tensor([ 1.2500, -2.5000], requires_grad=True)"
    assert repr(x * 2) == "tensor([ 2.5000, -5.0000], grad_fn=<MulBackward0>)"  # (torch's: the node's name())
    assert re.fullmatch(r"<MulBackward0 object at 0x[0-9a-f]+>", repr((x * 2).grad_fn))
    assert re.fullmatch(r"<AccumulateGrad object at 0x[0-9a-f]+>", repr((x * 2).grad_fn.next_functions[0][0]))
    assert repr(x.sum()) == "tensor(-1.2500, grad_fn=<SumBackward0>)"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])" and repr(tg.tensor([1, 2], dtype=tg.int32)) == (
        "tensor([1, 2], dtype=torch.int32)")


@pytest.fixture
def printoptions():
    """Resets tg's and torch's print options after the test."""
    torch = pytest.importorskip("torch")
    yield torch
    tg.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


def _suffixes_on_one_line(r):
    """A repr with its suffixes joined by ', ' (torch's dtype names, 'torch.float64', are longer than ours, so a
    suffix may move to the next line in one and not the other)."""
    return re.sub(r",\s*\n\s*(dtype|requires_grad|size|device)", r", \1", r.replace("torch.", ""))


def test_repr_and_set_printoptions_match_torch(printoptions):
    torch = printoptions
    rng = np.random.default_rng(0)
    arrays = [np.array([1.5, 2.0, 3.25]), np.array([1.0, 2.0]), np.array([1e-5, 1.0]), np.array([1e10, 1.0]),
              np.arange(12.0).reshape(3, 4) / 7, np.arange(2000.0), np.array([np.nan, -np.inf, 1.5]),
              np.array(3.14159), np.arange(5), np.zeros((0, 3)), np.zeros(0), np.zeros((2, 0), np.int64),
              rng.standard_normal((3, 4, 5)), np.array([True, False]), np.arange(3000).reshape(30, 100),
              np.array([1e9, 2.0]), rng.standard_normal((4, 1200)) * 1e3, np.array([1, 2], np.int32)]
    options = [{}, {"precision": 2}, {"threshold": 5}, {"edgeitems": 1, "threshold": 10}, {"linewidth": 30},
               {"profile": "short"}, {"profile": "full"}, {"sci_mode": True}, {"sci_mode": False},
               {"edgeitems": 0, "threshold": 3}]
    for opts in options:
        tg.set_printoptions(**opts)
        torch.set_printoptions(**opts)
        for a in arrays:
            for b in [a.astype(np.float32), a] if a.dtype == np.float64 else [a]:
                ours, theirs = repr(tg.tensor(b)), repr(torch.tensor(b))
                assert _suffixes_on_one_line(ours) == _suffixes_on_one_line(theirs), (opts, b.dtype, b.shape)
    assert repr(tg.tensor([0.5], dtype=tg.float64, requires_grad=True)) == (
        repr(torch.tensor([0.5], dtype=torch.float64, requires_grad=True)))
    with pytest.raises(ValueError, match="profile"):
        tg.set_printoptions(profile="long")


def test_tensor_copies_its_input():
    a = np.ones(3)
    t = tg.tensor(a)
    a[0] = 5.0
    assert t.tolist() == [1.0, 1.0, 1.0]
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        u = tg.tensor(t)
    t.array[1] = 7.0
    assert u.tolist() == [1.0, 1.0, 1.0]
    src = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        c = tg.tensor(src)
    assert c.is_leaf and not c.requires_grad


def test_T_other_than_2d_warns_once_as_torchs(monkeypatch):
    """x.T of a 1-d or 3-d tensor (and of a 0-d one) is deprecated in torch: its UserWarning, once a process
    (TORCH_WARN_ONCE); a matrix's is quiet. We gave none."""
    import importlib
    import warnings
    monkeypatch.setattr(importlib.import_module("tinygrad_rnn.tensor"), "_WARNED_ONCE", set())
    with pytest.warns(UserWarning, match=r"^The use of `x.T` on tensors of dimension other than 2 to reverse their "
                                         r"shape is deprecated"):
        assert tg.ones(2, 3, 4).T.shape == (4, 3, 2)
    with pytest.warns(UserWarning, match=r"^Tensor.T is deprecated on 0-D tensors"):
        tg.tensor(1.0).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.ones(2).T.shape == (2,) and tg.tensor(2.0).T.item() == 2.0  # (once only)
        assert tg.ones(2, 3).T.shape == (3, 2)


def test_tensor_and_new_tensor_of_a_tensor_warn_as_torchs():
    """torch.tensor(t) and x.new_tensor(t) copy, as here, with torch's UserWarning pointing at detach().clone();
    a list of 0-d tensors, other data and the legacy x.new(t) are quiet, as torch's. We gave no warning."""
    import warnings
    torch = pytest.importorskip("torch")

    def caught(lib, fn):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn(lib)
        return [str(m.message) for m in w if m.category is UserWarning]
    for fn in (lambda T: T.tensor(T.ones(2)), lambda T: T.ones(2).new_tensor(T.ones(2)),
               lambda T: T.tensor([T.tensor(1.0), T.tensor(2.0)]), lambda T: T.ones(2).new_tensor([1, 2]),
               lambda T: T.tensor([1.0]), lambda T: T.ones(2).new(T.ones(3)).shape):
        assert caught(tg, fn) == caught(torch, fn)


# ============================================================================ creation
def test_filled_creation_functions():
    z, o = tg.zeros(2, 3), tg.ones((2, 3))
    assert z.shape == o.shape == (2, 3) and z.dtype == o.dtype == np.float32
    assert z.tolist() == [[0.0] * 3] * 2 and o.tolist() == [[1.0] * 3] * 2
    assert tg.zeros(()).shape == () and tg.zeros(0, 2).shape == (0, 2)
    f = tg.full((2,), 3.5, dtype=np.float64)
    assert f.tolist() == [3.5, 3.5] and f.dtype == np.float64
    e = tg.eye(3)
    np.testing.assert_array_equal(e.numpy(), np.eye(3))
    assert tg.eye(2, 3).shape == (2, 3) and e.dtype == np.float32
    w = tg.zeros(2, 2, requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_arange():
    a = tg.arange(5)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(2, 8, 3).tolist() == [2, 5]
    b = tg.arange(0, 1, 0.25)
    assert b.dtype == np.float32 and b.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.arange(3, dtype=np.float64).dtype == np.float64


def test_an_int_written_into_an_integer_tensor_is_torchs_checked_scalar(device):
    """fill_, setitem, index_fill_ and full take an int as torch's checked Scalar: an unsigned dtype takes -max .. max
    (-1 fills uint8 with 255, as torch's), a signed one its range; beyond, torch's overflow RuntimeError (full's
    ValueError, as before)."""
    u = tg.tensor(np.array([5, 200, 255], np.uint8), device=device)
    assert u.clone().fill_(-1).tolist() == [255, 255, 255]
    v = u.clone()
    v[0] = -1
    v[v < 100] = -2  # (none)
    v[1:] = -3
    assert v.tolist() == [255, 253, 253]
    assert u.index_fill(0, tg.tensor([0], device=device), -1).tolist() == [255, 200, 255]
    assert tg.full((2,), -255, dtype=tg.uint8, device=device).tolist() == [1, 1]
    assert u.new_full((2,), -3).tolist() == [253, 253] and tg.full_like(u, -2).tolist() == [254] * 3
    assert tg.zeros(2, dtype=tg.int8, device=device).fill_(-128).tolist() == [-128, -128]
    for f in (lambda: u.clone().fill_(256), lambda: u.clone().fill_(-256), lambda: u.clone().__setitem__(0, 300),
              lambda: tg.zeros(2, dtype=tg.int8, device=device).fill_(200),
              lambda: tg.zeros(2, dtype=tg.int64, device=device).fill_(2 ** 63)):
        with pytest.raises(RuntimeError, match="value cannot be converted to type torch.u?int(8|64) without overflow"):
            f()
    with pytest.raises(ValueError, match="full: fill_value=-256 cannot be converted to torch.uint8"):
        tg.full((2,), -256, dtype=tg.uint8)


def test_full_refuses_a_value_its_dtype_cannot_hold_and_takes_a_0d_tensor():
    """torch.full refuses nan, inf or an out-of-range value for an integer dtype and a finite value beyond a float
    dtype's range (numpy's casts made -2**63 and inf); a 0-d tensor fill value gives the dtype its number would."""
    for value, dtype in ((float("nan"), tg.int64), (float("inf"), tg.int32), (1e30, tg.int64), (300, np.uint8),
                         (1e40, tg.float32), (70000, tg.float16)):
        with pytest.raises(ValueError, match=f"full: fill_value=.* cannot be converted to torch.{np.dtype(dtype)}"):
            tg.full((2,), value, dtype=dtype)
    with pytest.raises(ValueError, match="full: fill_value=nan"):
        tg.full_like(tg.tensor([1, 2]), float("nan"))
    assert tg.full((2,), -2.7, dtype=tg.int32).tolist() == [-2, -2] and tg.full((1,), float("inf")).tolist() == [np.inf]
    assert tg.full((2,), float("nan"), dtype=tg.bool_).tolist() == [True, True]
    for value, want in ((tg.tensor(3), np.int64), (tg.tensor(True), np.bool_), (tg.tensor(3.0, dtype=tg.float64),
                                                                                  np.float32)):
        assert tg.full((2,), value).dtype == want


def test_arange_follows_torch_for_integer_dtypes_directions_and_long_float_ranges():
    """An integer dtype truncates start, end and step first (torch's int64 arange); a range against the step's
    sign is an error, as torch's; 0-d tensors and end= are taken; float values are start + i * step rounded
    once, not numpy's float32 running sum (which drifted 15 float32 ulps from torch by 2000)."""
    assert tg.arange(0, 2.5, dtype=tg.int64).tolist() == [0, 1]  # (numpy's gave [0, 1, 2])
    assert tg.arange(0.5, dtype=tg.int64).tolist() == []
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        tg.arange(-1.5, 1.5, 0.5, dtype=tg.int64)  # (the step truncates to 0; numpy's gave [-1] * 6)
    for args in ((0, -1), (0, 10, -1), (5.7, 5.78, -1.19)):
        with pytest.raises(ValueError, match="arange: the range .* runs against the sign of step"):
            tg.arange(*args)
    with pytest.raises(ValueError, match="arange: unsupported range"):
        tg.arange(float("nan"))
    a = tg.arange(tg.tensor(3))
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2]
    assert tg.arange(end=3).tolist() == [0, 1, 2] and tg.arange(start=1, end=3).tolist() == [1, 2]
    b = tg.arange(1.5, 2000.3, 0.013)
    want = (1.5 + 0.013 * np.arange(len(b.array))).astype(np.float32)  # (torch's to within 1 float32 ulp at 2000)
    assert b.shape == (153754,) and np.abs(b.numpy() - want).max() <= np.spacing(np.float32(2000))
    assert tg.arange(-5, 5, 0.7).numpy()[2] == np.float32(-3.6)


def test_arange_takes_torchs_out(device):
    """torch.arange(0, n, out=torch.LongTensor(n)) (Tacotron 2's get_mask_from_lengths): the values in out's dtype,
    written into out (resized), which is returned; a dtype other than out's and an out that requires grad refused."""
    o = tg.zeros(5, dtype=tg.int64, device=device)
    r = tg.arange(0.5, 5, out=o)  # (computed in out's int64, as torch's: start truncated)
    assert r is o and o.tolist() == [0, 1, 2, 3, 4] and o.dtype == tg.int64
    f = tg.zeros(5, dtype=tg.float64, device=device)
    with pytest.warns(UserWarning, match="was resized"):  # (torch's resize note)
        assert tg.arange(0, 1, 0.25, out=f) is f and f.tolist() == [0.0, 0.25, 0.5, 0.75] and f.dtype == tg.float64
    assert tg.arange(5, out=tg.LongTensor(5)).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError, match=r"dtype Double does not match dtype of out parameter \(Long\)"):
        tg.arange(0, 5, out=o, dtype=tg.float64)
    with pytest.raises(RuntimeError, match="arange.*don't support automatic differentiation"):
        tg.arange(0, 5, out=tg.zeros(5, requires_grad=True))
    with pytest.raises(TypeError, match="arange: out must be a Tensor"):
        tg.arange(5, out=[0] * 5)


def test_random_creation_functions():
    tg.manual_seed(0)
    n, u, k = tg.randn(100, 100), tg.rand(2000), tg.randint(3, 7, (1000,))
    assert n.shape == (100, 100) and n.dtype == np.float32
    assert abs(float(n.numpy().mean())) < 0.05 and abs(float(n.numpy().std()) - 1) < 0.05
    assert u.dtype == np.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    assert abs(float(u.numpy().mean()) - 0.5) < 0.05
    assert k.dtype == np.int64 and set(k.tolist()) == {3, 4, 5, 6}
    assert set(tg.randint(2, size=50).tolist()) <= {0, 1}
    assert tg.randn(2, 3, dtype=np.float64, requires_grad=True).requires_grad
    assert tg.rand((3,)).shape == (3,)


def test_like_functions():
    x = tg.tensor(np.zeros((2, 3), np.float64))
    for fn in (tg.zeros_like, tg.ones_like, tg.randn_like, tg.rand_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == np.float64 and y.device == x.device
    assert tg.ones_like(x).tolist() == [[1.0] * 3] * 2
    assert tg.full_like(x, 7.0).tolist() == [[7.0] * 3] * 2
    assert tg.zeros_like(x, dtype=np.float32).dtype == np.float32
    assert tg.zeros_like(x, requires_grad=True).requires_grad


def test_set_default_device_places_creations_and_layers(device):
    other = "cpu" if device == "cuda" else None
    try:
        tg.set_default_device(device)
        assert tg.get_default_device() == device
        made = [tg.zeros(2), tg.ones(2, 3), tg.full((2,), 1.5), tg.randn(3), tg.rand(2), tg.randint(0, 5, (3,)),
                tg.arange(4), tg.linspace(0, 1, 5), tg.eye(2), tg.empty(2), tg.tensor([1.0, 2.0]), tg.randperm(3),
                tg.nn.Linear(2, 3).weight, tg.nn.BatchNorm1d(2).running_mean, tg.nn.LSTM(2, 3).weight_hh_l0]
        assert [t.device for t in made] == [device] * len(made)
        assert "device=" not in repr(tg.zeros(2))  # (the default device is not printed, as torch's)
        assert tg.zeros(2, device="cpu").device == "cpu" and tg.from_numpy(np.zeros(2)).device == "cpu"
        if other is not None:
            assert f"device='{other}'" in repr(tg.zeros(2, device=other))
    finally:
        tg.set_default_device(None)
    assert tg.get_default_device() == "cpu" and tg.zeros(1).device == "cpu"
    with pytest.raises(ValueError, match="set_default_device"):
        tg.set_default_device("tpu")



def test_device_objects_read_and_fail_as_torchs(device):
    """tg.device: torch.device's parsing, .type/.index, repr and errors; a str here, so tensor.device is one too
    (equal to 'cpu', where torch's is not) and it goes wherever a device string goes; a context manager for the
    default device."""
    torch = pytest.importorskip("torch")
    assert tg.device(3) == "cuda:3"  # (torch's needs an accelerator present to read an int)
    for args in [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 2), ("mps",), ("cpu", 0)]:
        ours, theirs = tg.device(*args), torch.device(*args)
        assert (repr(ours), str(ours), ours.type, ours.index) == (repr(theirs), str(theirs), theirs.type, theirs.index)
        assert tg.device(ours) is ours and pickle.loads(pickle.dumps(ours)) == ours
        assert pickle.loads(pickle.dumps(ours)).index == ours.index
    for bad in ["xyz", "cpu:x", "cuda:-1", "cuda:1:2"]:
        with pytest.raises(RuntimeError) as ours:
            tg.device(bad)
        with pytest.raises(RuntimeError) as theirs:
            torch.device(bad)
        assert str(ours.value).split(":")[0] == str(theirs.value).split(":")[0]
    with pytest.raises(RuntimeError, match="must not include an index"):
        tg.device("cuda:1", 2)
    x = tg.ones(2, device=device)
    assert x.device == device and x.device.type == device and x.device.index is None
    assert repr(x.device) == f"device(type='{device}')" and tg.Generator(x.device).device.type == device
    assert x.to(tg.device(device)).device == device and tg.nn.Linear(2, 2).to(tg.device(device)).weight.device == device
    with tg.device(device):
        assert tg.zeros(1).device == device and tg.get_default_device().type == device
    assert tg.get_default_device() == "cpu" and isinstance(tg.get_default_device(), tg.device)


def test_legacy_tensor_types_construct_check_and_cast_as_torchs():
    """tg.FloatTensor & co., torch's legacy constructors: sizes, data (cast, numpy arrays too), an alias of a tensor
    of the type, empty; isinstance by dtype and device; Tensor.type(tg.LongTensor)."""
    torch = pytest.importorskip("torch")
    for name in ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
                 "ByteTensor", "BoolTensor"]:
        ours, theirs = getattr(tg, name), getattr(torch, name)
        assert repr(ours) == repr(theirs) and repr(getattr(tg.cuda, name)) == repr(getattr(torch.cuda, name))
        for args in [(), (2, 3), ([1, 0, 2],), ((2, 3),), ([[1.5, 2.0]],), (np.array([1, 2], np.int32),),
                     (np.array([0.5, 2.5]),)]:
            a, b = ours(*args), theirs(*args)
            assert a.shape == tuple(b.shape) and a.dtype == _to_ours(torch, b.dtype) and isinstance(a, ours)
            if args and not isinstance(args[0], int):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert not isinstance(ours(1), tg.cuda.FloatTensor) and ours.dtype == _to_ours(torch, theirs.dtype)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    alias = tg.FloatTensor(x)
    alias.sum().backward()
    assert alias is not x and x.grad.tolist() == [1.0, 1.0] and isinstance(x, tg.FloatTensor)
    assert not isinstance(x, tg.DoubleTensor) and not isinstance(np.ones(2, np.float32), tg.FloatTensor)
    assert x.type(tg.LongTensor).dtype == np.int64 and tg.ones(2).type(tg.DoubleTensor).dtype == np.float64
    for lib in (tg, torch):
        for bad, err in [((2.5,), TypeError), ((lib.ones(2, dtype=lib.int64),), TypeError), ((2, -1), RuntimeError),
                         (([1], [2]), TypeError)]:
            with pytest.raises(err):
                lib.FloatTensor(*bad)


def _to_ours(torch, dtype):
    return np.dtype(str(dtype).removeprefix("torch.").replace("half", "float16"))


def test_cuda_module_without_a_gpu_acts_as_torchs_cpu_build():
    """tg.cuda where there is no GPU: what torch's CPU build allows works (and is a no-op), the rest raises."""
    if tg.cuda.is_available():
        pytest.skip("a GPU is present: see test_cuda_module_on_a_gpu")
    assert tg.cuda.device_count() == 0 and not tg.cuda.is_initialized() and not tg.cuda.is_bf16_supported()
    assert tg.cuda.memory_allocated() == tg.cuda.memory_reserved() == 0
    tg.cuda.empty_cache()
    tg.manual_seed(5)
    before = tg.randn(3).numpy()
    tg.manual_seed(5)
    tg.cuda.manual_seed_all(7)  # (the cuda generator alone: the cpu draws do not change)
    tg.cuda.seed()
    np.testing.assert_array_equal(tg.randn(3).numpy(), before)
    for f in [tg.cuda.current_device, tg.cuda.synchronize, tg.cuda.initial_seed, tg.cuda.get_device_name,
              lambda: tg.cuda.FloatTensor(2)]:
        with pytest.raises(RuntimeError, match="'cuda' is not available"):
            f()


@pytest.mark.cuda
def test_cuda_module_on_a_gpu():
    if not tg.cuda.is_available():
        pytest.skip("CuPy or a CUDA GPU is not available")
    assert tg.cuda.device_count() >= 1 and tg.cuda.current_device() == 0 and tg.cuda.get_device_name()
    x = tg.cuda.FloatTensor([1.0, 2.0])
    assert x.device == "cuda" and isinstance(x, tg.cuda.FloatTensor) and not isinstance(x, tg.FloatTensor)
    assert tg.cuda.is_initialized() and tg.cuda.memory_allocated() > 0
    tg.cuda.synchronize()
    tg.cuda.manual_seed(11)
    a = tg.randn(4, device="cuda").numpy()
    tg.cuda.manual_seed(11)
    assert tg.cuda.initial_seed() == 11
    np.testing.assert_array_equal(tg.randn(4, device="cuda").numpy(), a)
    tg.cuda.empty_cache()


def test_size_compile_variable_and_layout_as_torchs():
    """tg.Size (a tuple with torch's repr, numel, Size slices and sums), tg.compile (no effect: the model comes back),
    the deprecated tg.autograd.Variable (a new leaf sharing memory; every tensor an instance), layout and torch's
    flags for storage kinds that do not exist here."""
    torch = pytest.importorskip("torch")
    for sizes in [[], [2, 3], (4, 0, 1)]:
        ours, theirs = tg.Size(sizes), torch.Size(sizes)
        assert repr(ours) == repr(theirs) and ours == theirs and ours.numel() == theirs.numel()
        assert repr(ours[1:]) == repr(theirs[1:]) and repr(ours + (5,)) == repr(theirs + (5,))
    assert tg.zeros(tg.Size([2, 3])).shape == tg.Size([2, 3]) and tg.ones(6).view(tg.Size([3, 2])).shape == (3, 2)
    got, want = tg.ones(2, 0, 3).size(), torch.ones(2, 0, 3).size()  # (Tensor.size() is a Size, as torch's)
    assert isinstance(got, tg.Size) and repr(got) == repr(want) and got.numel() == 0 and got == (2, 0, 3)
    with pytest.raises(TypeError):
        tg.Size([2.5])
    m = tg.nn.Linear(2, 2)
    assert tg.compile(m) is m and tg.compile(mode="reduce-overhead")(len) is len
    t = tg.ones(2)
    v = tg.autograd.Variable(t, requires_grad=True)
    assert v is not t and v.requires_grad and v.is_leaf and not t.requires_grad
    v.array[0] = 5.0  # (the same memory)
    assert t.tolist() == [5.0, 1.0]
    assert isinstance(t, tg.autograd.Variable) and not isinstance(np.ones(2), tg.autograd.Variable)
    assert not tg.autograd.Variable(v * 2).requires_grad
    x = tg.ones(2)
    assert repr(x.layout) == repr(torch.ones(2).layout) == "torch.strided" and x.layout is tg.strided
    assert pickle.loads(pickle.dumps(tg.strided)) is tg.strided and x.share_memory_() is x and not x.is_shared()
    flags = ["is_sparse", "is_sparse_csr", "is_quantized", "is_nested", "is_meta", "is_mkldnn", "is_mps", "is_xpu"]
    assert [getattr(x, f) for f in flags] == [getattr(torch.ones(2), f) for f in flags] == [False] * len(flags)
    assert not x.is_neg() and not x.is_conj()


def test_a_size_is_sizes_to_the_legacy_constructors_as_torchs():
    """torch.Tensor(x.size()), torch.FloatTensor(size) and x.new(size) take a torch.Size as sizes (Size([]) a 0-d
    tensor); they made a tensor holding the sizes as values (tg.Tensor(tg.Size([2, 3])) was tensor([2., 3.]))."""
    torch = pytest.importorskip("torch")
    for sizes in [[2, 3], [], [4]]:
        for ours, theirs in [(tg.Tensor(tg.Size(sizes)), torch.Tensor(torch.Size(sizes))),
                             (tg.FloatTensor(tg.Size(sizes)), torch.FloatTensor(torch.Size(sizes))),
                             (tg.zeros(2, dtype=tg.float64).new(tg.Size(sizes)),
                              torch.zeros(2, dtype=torch.float64).new(torch.Size(sizes)))]:
            assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
    assert tg.Tensor(tg.Size([2]), dtype=tg.float64).dtype == tg.float64
    assert tg.Tensor((2, 3)).tolist() == torch.Tensor((2, 3)).tolist() == [2.0, 3.0]  # (a plain tuple is data)

def test_manual_seed_reproducibility():
    tg.manual_seed(123)
    a = (tg.randn(4, 3).numpy(), tg.rand(5).numpy(), tg.randint(0, 100, (6,)).numpy())
    tg.manual_seed(123)
    b = (tg.randn(4, 3).numpy(), tg.rand(5).numpy(), tg.randint(0, 100, (6,)).numpy())
    tg.manual_seed(124)
    c = tg.randn(4, 3).numpy()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], c)
    assert not np.array_equal(tg.randn(4, 3).numpy(), c)  # the stream advances


def test_casts():
    x = tg.tensor([1.7, -2.2])
    assert x.float() is x
    d = x.double()
    assert d.dtype == np.float64 and d.float().dtype == np.float32
    assert x.astype(np.float16).dtype == np.float16 and x.to(np.float64).dtype == np.float64
    assert x.long().dtype == np.int64 and x.long().tolist() == [1, -2]
    assert x.astype("int32").dtype == np.int32
    assert x.to("cpu") is x and x.cpu() is x


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_inf_and_nan_cast_to_integers_quietly_as_torchs(device):
    """A float inf or nan cast to an integer dtype (T5's relative-position buckets cast log(0) = -inf to long, then
    torch.where drops it) gives no RuntimeWarning, as torch's (numpy warned 'invalid value encountered in cast');
    x86's values, torch's too, for int64 and int32."""
    x = tg.tensor([-math.inf, math.nan, math.inf, 2.5], dtype=tg.float64, device=device)
    lowest = np.iinfo(np.int64).min
    assert x.to(tg.long).tolist()[3] == 2 and x.long().dtype == tg.int64 and x.int().tolist()[3] == 2
    with np.errstate(invalid="ignore"):
        x86 = np.array([np.inf]).astype(np.int64)[0] == lowest
    if device == "cpu" and x86:
        assert x.long().tolist() == [lowest] * 3 + [2]
        assert x.int().tolist() == [np.iinfo(np.int32).min] * 3 + [2]


# ============================================================================ backend
def test_is_writable_of_device_arrays_reads_strides():
    """A CuPy array has no writeable flag: a zero stride along a dim of size > 1 (a broadcast view) is
    read-only; an empty array shares nothing, whatever its strides (CuPy 14 gives (0, 2) ones zero strides,
    and gradcheck refused them on the GPU). Checked here with stand-ins carrying only shape and strides."""
    from types import SimpleNamespace as Arr
    from tinygrad_rnn import backend
    assert backend.is_writable(Arr(shape=(0, 2), strides=(0, 0), size=0))
    assert backend.is_writable(Arr(shape=(3, 2), strides=(16, 8), size=6))
    assert backend.is_writable(Arr(shape=(1, 2), strides=(0, 8), size=2))
    assert not backend.is_writable(Arr(shape=(3, 2), strides=(0, 8), size=6))


def test_import_and_cpu_work_without_cupy():
    code = textwrap.dedent("""
        import sys
        sys.modules["cupy"] = None  # `import cupy` now raises ImportError
        import numpy as np
        import tinygrad_rnn as tg
        assert not tg.cuda_available()
        x = tg.tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0] and x.device == "cpu"
        for make in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: tg.zeros(2, device="cuda")):
            try:
                make()
            except RuntimeError as e:
                assert "cuda" in str(e) and "not available" in str(e), e
            else:
                raise AssertionError("no error for a cuda tensor without CuPy")
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_every_creation_function_asks_for_the_default_device(monkeypatch):
    """Without a GPU: the default device faked as 'cuda' and the copy to a device recorded, each creation function
    whose device= is left None (and AveragedModel's count) must ask for it, as torch's set_default_device makes
    them; an ndarray given to as_tensor stays where it is (shared)."""
    asked = []
    monkeypatch.setattr(backend, "_default_device", "cuda")
    monkeypatch.setattr(backend, "module_for", lambda device: asked.append(backend.check_device(device)) or np)
    monkeypatch.setattr(backend, "to_device", lambda a, device: asked.append(backend.check_device(device))
                        or np.asarray(a))
    makers = {"tril_indices": lambda: tg.tril_indices(3, 3), "triu_indices": lambda: tg.triu_indices(3, 3),
              "logspace": lambda: tg.logspace(0, 1, 3), "as_tensor": lambda: tg.as_tensor([1.0, 2.0]),
              "tensor": lambda: tg.tensor([1.0]), "zeros": lambda: tg.zeros(2), "arange": lambda: tg.arange(3),
              "AveragedModel": lambda: tg.optim.swa_utils.AveragedModel(tg.nn.Module()).n_averaged}
    for name, make in makers.items():
        asked.clear()
        make()
        assert "cuda" in asked, name
    asked.clear()
    tg.as_tensor(np.zeros(2))
    assert asked == []


def test_device_none_is_the_default_device_and_like_functions_take_device():
    """As torch's: device=None means the default device (the CPU here), and the *_like functions take device=."""
    x = tg.tensor([1.0, 2.0])
    for make in (lambda: tg.full((2,), 1.0, device=None), lambda: tg.zeros(2, device=None),
                 lambda: tg.tensor([1.0], device=None), lambda: tg.arange(3, device=None),
                 lambda: tg.randn(2, device=None), lambda: tg.eye(2, device=None)):
        assert make().device == "cpu"
    for like in (tg.zeros_like, tg.ones_like, tg.empty_like, tg.rand_like, tg.randn_like):
        assert like(x, device="cpu").device == "cpu" and like(x, device=None).shape == (2,)
    assert tg.full_like(x, 7.0, device="cpu").tolist() == [7.0, 7.0]
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        tg.zeros_like(x, device="tpu")


@no_cuda
def test_to_cuda_raises_clear_error_without_gpu():
    x = tg.tensor([1.0])
    with pytest.raises(RuntimeError, match=r"device 'cuda' is not available.*cupy"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="not available"):
        tg.randn(2, device="cuda")
    for device in (0, "cuda:0", None):  # (torch's cuda(device) forms reach the same error, for a module too)
        with pytest.raises(RuntimeError, match="not available"):
            x.cuda(device)
        with pytest.raises(RuntimeError, match="not available"):
            tg.nn.Linear(2, 2).cuda(device)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        tg.zeros(2, device="tpu")


def test_ops_run_on_each_device(device):
    """One RNN step forward and backward on the device, compared with numpy on the host."""
    rng = np.random.default_rng(5)
    w, u, xv, hv = rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    W = tg.tensor(w, device=device, requires_grad=True)
    U = tg.tensor(u, device=device, requires_grad=True)
    h = (tg.tensor(xv, device=device) @ U.T + tg.tensor(hv, device=device) @ W.T).tanh()
    loss = (h.softmax(-1).log() * 0.5).mean() + h.sum(0).max()
    assert h.device == device and loss.device == device and W.array.__class__.__module__.split(".")[0] in (
        "numpy" if device == "cpu" else "cupy",)
    loss.backward()
    assert W.grad.device == device and U.grad.device == device

    hn = np.tanh(xv @ u.T + hv @ w.T)
    np.testing.assert_allclose(h.numpy(), hn, rtol=1e-12)
    assert tg.gradcheck(lambda a, b: (((tg.tensor(xv, device=device) @ b.T + tg.tensor(hv, device=device) @ a.T)
                                       .tanh()) ** 2).sum(), [tg.tensor(w, device=device, requires_grad=True),
                                                              tg.tensor(u, device=device, requires_grad=True)])
    moved = W.to("cpu")
    assert moved.device == "cpu"
    moved.sum().backward()


@needs_cuda
def test_mixing_devices_names_both():
    a = tg.tensor([1.0, 2.0], device="cuda")
    b = tg.tensor([1.0, 2.0])
    for op in (lambda: a + b, lambda: b * a, lambda: tg.cat([a, b]), lambda: a @ b):
        with pytest.raises(ValueError, match=r"(?s)(cuda.*cpu|cpu.*cuda)"):
            op()


@needs_cuda
def test_to_device_roundtrip_gradient():
    x = tg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda"
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]


def test_where_with_two_numbers_and_integer_casts_drop_grad():
    out = tg.where(tg.tensor([True, False]), 1.0, 2.0)
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])
    x = tg.randn(3, requires_grad=True)
    assert x.long().dtype == np.int64 and not x.long().requires_grad
    assert x.double().requires_grad and x.double().grad_fn is not None


def test_where_with_two_numpy_numbers_takes_torchs_default_dtypes():
    """As torch (and as two Python numbers): numpy numbers both give int64 or float32, not their own dtypes."""
    c = tg.tensor([True, False])
    for a, b, dtype in ((np.int8(1), np.uint8(2), np.int64), (np.float64(1.5), np.int16(2), np.float32),
                        (np.float16(0.5), 2, np.float32), (1, np.float64(2.5), np.float32),
                        (np.uint8(3), -3, np.int64)):
        out = tg.where(c, a, b)
        assert out.dtype == dtype and out.tolist() == [a.item() if isinstance(a, np.generic) else a,
                                                      b.item() if isinstance(b, np.generic) else b]


def test_to_unknown_device_names_it():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        tg.randn(2).to("tpu")


def test_torch_idioms():
    """size(), f-strings, abs(), boolean & | ~, integer tensors as indices, clamp with min > max."""
    x = tg.tensor([[-1.5, 0.5, 2.0], [3.0, -0.25, 1.0]])
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3
    with pytest.raises(IndexError, match="size: dim 2"):
        x.size(2)
    assert f"{x.sum():.2f}" == "4.75"
    assert f"{x.sum()}" == "4.75" and f"{tg.tensor(3)}" == "3" and format(tg.tensor(True), "") == "True"  # (torch's)
    assert f"{tg.tensor([1.5])}" == repr(tg.tensor([1.5]))
    np.testing.assert_array_equal(abs(x).numpy(), np.abs(x.numpy()))
    a = x.numpy()
    np.testing.assert_array_equal(((x > 0) & (x < 1)).numpy(), (a > 0) & (a < 1))
    np.testing.assert_array_equal(((x < 0) | (x > 2)).numpy(), (a < 0) | (a > 2))
    np.testing.assert_array_equal((~(x > 0)).numpy(), ~(a > 0))
    assert list(range(tg.tensor(3))) == [0, 1, 2]
    np.testing.assert_array_equal(x.clamp(1.0, 0.0).numpy(), np.zeros((2, 3)))  # torch: max wins
    assert x.var(1, False).shape == (2,)  # torch's positional (dim, unbiased)
    np.testing.assert_allclose(x.std(unbiased=False).numpy(), a.std(), rtol=1e-6)
    np.testing.assert_allclose(x.var(correction=0).numpy(), a.var(), rtol=1e-6)


def test_integer_inputs_to_float_ops_give_float32():
    i = tg.tensor([1, 2])
    for out in (i / 2, i.exp(), i.sigmoid(), i.log_softmax(0), tg.where(i > 1, 1.0, 0.0)):
        assert out.dtype == np.float32
    np.testing.assert_allclose((i / 2).numpy(), [0.5, 1.0])


def test_creation_follows_torch_and_names_bad_sizes():
    assert tg.randint(10, (3,)).shape == (3,)  # torch's randint(high, size)
    assert tg.full((2,), 3).dtype == np.int64 and tg.full((2,), 3.0).dtype == np.float32
    assert tg.full((2,), True).dtype == np.bool_
    for make, op in ((lambda: tg.zeros(-1), "zeros"), (lambda: tg.randn(2, -3), "randn"),
                     (lambda: tg.eye(-1), "eye"), (lambda: tg.randint(5, 2, (1,)), "randint"),
                     (lambda: tg.tensor([[1, 2], [3]]), "tensor")):
        with pytest.raises(ValueError, match=op):
            make()
    with pytest.raises(TypeError, match="randn: samples a floating point distribution"):
        tg.randn_like(tg.tensor([1, 2]))


# ============================================================================ in-place ops and torch conveniences
def test_in_place_ops_on_data_and_their_guard():
    x = tg.arange(6).reshape(2, 3).float()
    x[0] = 7.0
    x[x > 6] = -1.0
    x[:, tg.tensor([0, 2])] = tg.tensor([[10.0, 20.0]])
    np.testing.assert_array_equal(x.numpy(), [[10, -1, 20], [10, 4, 20]])
    np.testing.assert_array_equal(tg.ones(2).fill_(3).numpy(), [3, 3])
    np.testing.assert_array_equal(tg.ones(2, 2).copy_(tg.tensor([1.0, 2.0])).numpy(), [[1, 2], [1, 2]])
    w = tg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad cannot be changed in place"):
        w[0] = 1.0
    with pytest.raises(RuntimeError, match="zero_"):
        w.zero_()
    with tg.no_grad():
        w.zero_()
    assert np.all(w.numpy() == 0) and w.requires_grad
    with pytest.raises(ValueError, match=r"copy_: cannot write source of shape \(3,\) into a tensor of shape \(2,\)"):
        tg.ones(2).copy_(tg.ones(3))


@pytest.mark.parametrize("write", [lambda t: t.copy_(tg.ones(3)), lambda t: t.__setitem__(0, tg.ones(3)),
                                   lambda t: t.__setitem__(5, 1.0)])
def test_failed_write_leaves_data_and_version(write):
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    before = x._version
    with pytest.raises((ValueError, IndexError)):
        write(x)
    assert x._version == before
    np.testing.assert_array_equal(x.numpy(), [[1, 2], [3, 4]])


def test_changing_a_saved_tensor_in_place_is_caught_at_backward():
    a = tg.randn(3, requires_grad=True)
    b = tg.randn(3)
    y = (a * b).sum()
    b.fill_(1.0)
    with pytest.raises(RuntimeError, match="mul saved for backward was changed in place"):
        y.backward()


def test_clone_t_unbind_flip_norm_gradients():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 4)) + 0.1, requires_grad=True)
    c = x.clone()
    assert c.array is not x.array and np.shares_memory(c.array, x.array) is False
    for f in (lambda a: a.clone() * 2, lambda a: a.t(), lambda a: a.unbind(1)[2] * a.unbind(0)[1][:3],
              lambda a: a.flip(0, 1), lambda a: a.norm(), lambda a: a.norm(1, dim=1),
              lambda a: a.norm(float("inf"), dim=0), lambda a: a.norm(3, dim=1, keepdim=True),
              lambda a: a.masked_fill(a.array > 0.5, 0.0)):
        assert tg.gradcheck(f, [x])
    np.testing.assert_allclose(x.norm().item(), np.linalg.norm(x.numpy()))
    np.testing.assert_array_equal(x.flip(1).numpy(), x.numpy()[:, ::-1])

    assert len(x.unbind(1)) == 4 and x.unbind(1)[0].shape == (3,)
    np.testing.assert_array_equal((x > 0).any(1).numpy(), (x.numpy() > 0).any(1))
    np.testing.assert_array_equal((x > 0).all().numpy(), (x.numpy() > 0).all())


def test_top_level_functions_and_from_numpy():
    a = np.array([0.5, -1.0])
    for name in ("exp", "tanh", "sigmoid", "relu", "abs"):
        np.testing.assert_allclose(getattr(tg, name)(tg.tensor(a)).numpy(), getattr(tg.tensor(a), name)().numpy())
    np.testing.assert_allclose(tg.matmul(tg.ones(2, 2), tg.ones(2)).numpy(), [2.0, 2.0])
    shared = tg.from_numpy(a)
    a[0] = 9.0
    assert shared.numpy()[0] == 9.0 and shared.dtype == np.float64


@pytest.mark.parametrize("mask_shape", [(), (3,), (2, 1), (2, 3)])
def test_masked_fill_in_place_writes_where_the_mask_broadcasts(mask_shape):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3))
    mask = rng.random(mask_shape) < 0.5
    x = tg.tensor(a)
    view, array, version = x[1], x.array, x._version
    assert x.masked_fill_(tg.tensor(mask), 7.0) is x and x.array is array and x._version == version + 1
    want = np.where(mask, 7.0, a)
    np.testing.assert_array_equal(x.numpy(), want)
    np.testing.assert_array_equal(view.numpy(), want[1])
    value = tg.tensor(-2.0, dtype=tg.float64)  # (a 0-d tensor value)
    np.testing.assert_array_equal(tg.tensor(a).masked_fill_(mask, value).numpy(), np.where(mask, -2.0, a))


def test_masked_fill_in_place_rules_and_errors():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    mask = tg.tensor([True, False])
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor that requires grad cannot be changed in"):
        w.masked_fill_(mask, 0.0)
    with tg.no_grad():
        w.masked_fill_(mask, 0.0)
    assert w.tolist() == [0.0, 2.0] and w.requires_grad and w._version == 1
    n = tg.tensor([1, 2])
    assert n.masked_fill_(mask, 2.7).tolist() == [2, 2] and n.dtype == np.int64  # (torch's: converted to int64)
    assert tg.tensor([True, False]).masked_fill_(tg.tensor([False, True]), 2).tolist() == [True, True]
    with pytest.raises(ValueError, match=r"masked_fill_: the result has the broadcast shape \(2, 2\), but this "
                                         r"tensor has shape \(2,\)"):
        tg.ones(2).masked_fill_(tg.tensor([[True], [False]]), 0.0)
    with pytest.raises(TypeError, match=r"masked_fill_: mask must be boolean, got dtype torch.int64 \(shape \(2,\)\)"):
        tg.ones(2).masked_fill_(tg.tensor([1, 0]), 0.0)
    with pytest.raises(TypeError, match="masked_fill: mask must be boolean, got dtype torch.float32"):
        tg.ones(2).masked_fill(tg.ones(2), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill_: a value tensor must be 0-d, got shape \(2,\)"):
        tg.ones(2).masked_fill_(mask, tg.ones(2))
    with pytest.raises(TypeError, match="masked_fill_: value must be a number or a 0-d tensor, got str"):
        tg.ones(2).masked_fill_(mask, "a")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_uniform_and_normal_in_place(dtype):
    x = tg.zeros(400, 50, dtype=dtype)
    array, view = x.array, x[0]
    assert x.uniform_(-2.0, 3.0) is x and x.array is array and x.dtype == dtype and x._version == 1
    v = x.numpy().astype(np.float64)
    assert v.min() >= -2.0 and v.max() <= 3.0 and abs(v.mean() - 0.5) < 0.05 and abs(v.std() - 5 / math.sqrt(12)) < 0.05
    np.testing.assert_array_equal(view.numpy(), x.numpy()[0])
    assert x.normal_(1.0, 2.0) is x and x._version == 2
    v = x.numpy().astype(np.float64)
    assert abs(v.mean() - 1.0) < 0.05 and abs(v.std() - 2.0) < 0.05
    assert tg.ones(3, dtype=dtype).uniform_(1.5, 1.5).tolist() == [1.5] * 3
    assert tg.ones(3, dtype=dtype).normal_(0.5, 0.0).tolist() == [0.5] * 3
    assert tg.ones(2, 3).uniform_().numpy().max() < 1.0  # (defaults U(0, 1) and N(0, 1))
    tg.manual_seed(5)
    a = tg.zeros(8).normal_().numpy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(a, tg.nn.init.normal_(tg.zeros(8)).numpy())  # (init draws the same samples)


def test_uniform_and_normal_in_place_rules_and_errors():
    w = tg.zeros(3, requires_grad=True)
    for k, fill in enumerate((lambda t: t.uniform_(), lambda t: t.normal_())):
        before = w.tolist()
        with pytest.raises(RuntimeError, match="(uniform_|normal_): a leaf tensor that requires grad cannot be "
                                               "changed in place while the graph is recorded"):
            fill(w)
        assert w.tolist() == before and w._version == k
        with tg.no_grad():
            fill(w)
        assert w.tolist() != before and w._version == k + 1 and w.requires_grad and w.is_leaf
    tg.nn.init.uniform_(w, -1.0, 1.0)  # (nn.init works under no_grad, as torch's)
    assert w._version == 3
    with pytest.raises(ValueError, match="uniform_: expects finite bounds a <= b, got a=2.0, b=1.0"):
        tg.zeros(3).uniform_(2.0, 1.0)
    with pytest.raises(ValueError, match="uniform_: expects finite bounds"):
        tg.zeros(3).uniform_(0.0, math.inf)
    for std in (-1.0, math.nan):
        with pytest.raises(ValueError, match=f"normal_: std must be >= 0, got {std}"):
            tg.zeros(3).normal_(0.0, std)
    for fill in (lambda t: t.uniform_(), lambda t: t.normal_()):
        with pytest.raises(TypeError, match="(uniform_|normal_): samples a floating point distribution, but this "
                                            "tensor is torch.int64"):
            fill(tg.tensor([1, 2]))
    with pytest.raises(ValueError, match="uniform_: this tensor of shape .* is read-only"):
        tg.zeros(1).expand(3).uniform_()


FILLS = {  # name: (the fill, a statistic of the draws, its value for the distribution)
    "cauchy_": (lambda t: t.cauchy_(2.0, 3.0), np.median, 2.0),  # (no mean: the median, within sigma * 0.03)
    "exponential_": (lambda t: t.exponential_(4.0), np.mean, 0.25),
    "log_normal_": (lambda t: t.log_normal_(1.0, 0.5), lambda v: np.mean(np.log(v)), 1.0),
    "geometric_": (lambda t: t.geometric_(0.25), np.mean, 4.0),
    "random_": (lambda t: t.random_(3, 7), np.mean, 4.5),
}


@pytest.mark.parametrize("name", sorted(FILLS))
def test_random_fills_draw_their_distribution_and_repeat_after_manual_seed(name, device):
    """torch's cauchy_, exponential_, log_normal_, geometric_ and random_ draw from the package generator in place:
    a statistic of 20000 draws near the distribution's (a loose bound), the same draws after the same seed."""
    fill, statistic, want = FILLS[name]
    x = tg.zeros(20000, dtype=tg.float64, device=device)
    tg.manual_seed(3)
    assert fill(x) is x and x.dtype == np.float64 and x._version == 1
    first = x.numpy().copy()
    assert abs(statistic(first) - want) < 0.05 * max(abs(want), 1.0), (name, statistic(first))
    tg.manual_seed(3)
    np.testing.assert_array_equal(fill(tg.zeros(20000, dtype=tg.float64, device=device)).numpy(), first)
    if name == "geometric_":  # (the trial of the first success: 1, 2, ...)
        assert first.min() == 1 and np.array_equal(first, np.round(first))
    if name == "random_":  # (integers in [from, to - 1])
        assert set(np.unique(first)) == {3.0, 4.0, 5.0, 6.0}


def test_random_fill_arguments_and_dtypes_as_torch():
    """The checks torch makes (lambd > 0, sigma > 0, std > 0, p in (0, 1), from < to inside an integer dtype);
    continuous draws need a floating tensor, geometric_ and random_ take integers too; random_(to), the keywords
    from= and to=, and without to the dtype's whole range (2^24 for float32, as torch)."""
    for call, match in ((lambda t: t.exponential_(0.0), "exponential_: expects lambd > 0, got lambd=0.0"),
                        (lambda t: t.exponential_(math.nan), "exponential_: expects lambd > 0"),
                        (lambda t: t.cauchy_(0.0, 0.0), "cauchy_: expects sigma > 0, got sigma=0.0"),
                        (lambda t: t.log_normal_(1.0, -1.0), "log_normal_: expects std > 0, got std=-1.0"),
                        (lambda t: t.geometric_(1.0), r"geometric_: expects p in \(0, 1\), got p=1.0"),
                        (lambda t: t.geometric_(0), r"geometric_: expects p in \(0, 1\), got p=0"),
                        (lambda t: t.random_(5, 5), "random_: expects 'from' to be less than 'to', got from=5 >= to=5"),
                        (lambda t: t.random_(0), "random_: expects 'from' to be less than 'to', got from=0 >= to=0")):
        with pytest.raises(ValueError, match=match):
            call(tg.zeros(3))
    with pytest.raises(ValueError, match="random_: to - 1 = 299 is out of bounds for torch.uint8"):
        tg.zeros(3, dtype=tg.uint8).random_(0, 300)
    with pytest.raises(ValueError, match="random_: from=-1 is out of bounds for torch.uint8"):
        tg.zeros(3, dtype=tg.uint8).random_(-1, 3)
    with pytest.raises(TypeError, match="random_: from must be an int, got float"):
        tg.zeros(3).random_(2.5, 4)
    with pytest.raises(TypeError, match="exponential_: samples a floating point distribution, but this tensor is"):
        tg.zeros(3, dtype=tg.int64).exponential_()
    with pytest.raises(RuntimeError, match="cauchy_: a leaf tensor that requires grad cannot be changed in place"):
        tg.zeros(3, requires_grad=True).cauchy_()
    assert tg.zeros(2000, dtype=tg.int64).geometric_(0.5).numpy().min() == 1
    assert tg.zeros(3).exponential_(math.inf).tolist() == [0.0] * 3
    assert set(tg.zeros(2000).random_(4).tolist()) == {0.0, 1.0, 2.0, 3.0}
    assert set(tg.zeros(2000).random_(2, to=4).tolist()) == {2.0, 3.0}
    assert set(tg.zeros(2000).random_(**{"from": -2, "to": 0}).tolist()) == {-2.0, -1.0}
    big = tg.zeros(20000).random_().numpy()
    assert big.min() >= 0 and big.max() <= 2 ** 24 and big.max() > 2 ** 23
    assert set(tg.zeros(200, dtype=tg.bool_).random_().tolist()) == {False, True}
    assert tg.zeros(2000, dtype=tg.uint8).random_().numpy().max() > 200


def test_flip_is_a_copy_like_torch():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = x.flip(0)
    y.zero_()
    np.testing.assert_array_equal(x.numpy(), [[1, 2], [3, 4]])


# ============================================================================ in-place arithmetic
# (values, gradients and the memory written: tests/test_inplace.py)
def test_parameter_update_with_minus_equals_like_torch():
    """The PyTorch idiom `with no_grad(): p -= lr * p.grad` updates the parameter itself."""
    tg.manual_seed(0)
    m = tg.nn.Linear(3, 1)
    x, y = tg.randn(8, 3), tg.randn(8, 1)
    losses = []
    for _ in range(3):
        loss = ((m(x) - y) ** 2).mean()
        m.zero_grad()
        loss.backward()
        params = list(m.parameters())
        before = [p.numpy().copy() for p in params]
        with tg.no_grad():
            for p in params:
                p -= 0.1 * p.grad
        for p, b in zip(params, before):
            np.testing.assert_allclose(p.numpy(), b - 0.1 * p.grad.numpy(), rtol=1e-6)
            assert p.requires_grad and isinstance(p, tg.nn.Parameter)
        losses.append(loss.item())
    assert losses[2] < losses[1] < losses[0]


def test_in_place_arithmetic_errors():
    w = tg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"-=: a leaf tensor that requires grad cannot be changed in place while "
                                           r"the graph is recorded"):
        w -= 1
    assert w._version == 0
    h = tg.zeros(3)
    with tg.no_grad():
        h += w * 2  # no gradient wanted: a plain write
    np.testing.assert_allclose(h.numpy(), 2 * w.numpy())
    assert h.grad_fn is None and not h.requires_grad  # (recorded: tests/test_inplace.py)
    n = tg.ones(3, dtype=tg.int64)
    with pytest.raises(TypeError, match=r"\+=: the result is torch.float32, which this torch.int64 tensor cannot hold"):
        n += 1.5
    with pytest.raises(TypeError, match="/=: the result is torch.float32"):
        n /= 2
    n += 2
    assert n.tolist() == [3, 3, 3] and n.dtype == np.int64
    u = tg.tensor([1, 2], dtype=np.uint8)
    u += tg.tensor([1, 1], dtype=np.int8)  # integer into integer: allowed, as in torch (numpy's same_kind is not)
    assert u.dtype == np.uint8 and u.tolist() == [2, 3]
    flags = tg.tensor([True, False])
    with pytest.raises(TypeError, match="the result is torch.int64, which this torch.bool tensor cannot hold"):
        flags += 1
    f = tg.ones(3)
    with pytest.raises(ValueError, match=r"\+=: the result has the broadcast shape \(2, 3\), but this tensor has "
                                         r"shape \(3,\)"):
        f += tg.ones(2, 3)
    f += tg.ones(3, dtype=tg.float64)  # float64 into float32: same kind, kept float32 (torch too)
    assert f.dtype == np.float32 and f.tolist() == [2.0, 2.0, 2.0]


def test_in_place_arithmetic_invalidates_a_saved_graph():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.tensor([3.0, 4.0])
    y = (w * x).sum()  # mul saves x
    x += 1
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()
    c = tg.tensor([5.0, -5.0])
    c.clamp_(-1, 2)
    assert c.tolist() == [2.0, -1.0]


# ============================================================================ torch names
def test_torch_dtype_names_and_conversions():
    assert (tg.long, tg.int, tg.float, tg.double, tg.half, tg.bool) == (np.int64, np.int32, np.float32, np.float64,
                                                                      np.float16, np.bool_)
    x = tg.tensor([0.0, 1.5, -2.0])
    assert x.int().tolist() == [0, 1, -2] and x.int().dtype == np.int32
    assert x.bool().tolist() == [False, True, True] and x.half().dtype == np.float16
    assert x.type_as(tg.zeros(1, dtype=tg.float64)).dtype == np.float64
    assert tg.zeros(2, dtype=tg.long).dtype == np.int64 and tg.cuda.is_available() == tg.cuda_available()


def test_torch_small_integer_dtype_names_and_legacy_type():
    """torch.int8, int16 (short), uint8 and the char/short/byte casts; x.type() as torch's: the legacy name without
    a dtype, a cast (self when nothing changes) with a dtype or such a name, an unknown name refused."""
    assert (tg.int8, tg.int16, tg.short, tg.uint8) == (np.int8, np.int16, np.int16, np.uint8)
    x = tg.tensor([1.5, -2.0, 300.0])
    assert x.char().dtype == np.int8 and x.short().tolist() == [1, -2, 300] and x.byte().dtype == np.uint8
    names = [x.astype(t).type() for t in (tg.float, tg.double, tg.half, tg.long, tg.int, tg.short, tg.int8, tg.uint8,
                                          tg.bool)]
    assert names == ["torch.FloatTensor", "torch.DoubleTensor", "torch.HalfTensor", "torch.LongTensor",
                     "torch.IntTensor", "torch.ShortTensor", "torch.CharTensor", "torch.ByteTensor", "torch.BoolTensor"]
    assert x.type(tg.float32) is x and x.type(dtype=tg.int64).tolist() == [1, -2, 300]
    assert x.type("torch.DoubleTensor").dtype == np.float64
    w = tg.ones(2, requires_grad=True)
    (g,) = tg.grad(w.type(tg.float64).sum(), w)
    assert g.dtype == np.float32 and g.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="type: invalid type 'float'"):  # (as torch)
        x.type("float")


def test_type_names_of_complex_tensors_as_torchs():
    """x.type() of a complex tensor is torch's name (it raised KeyError 'complex64'), typename too, and the name
    casts back (x.type('torch.ComplexDoubleTensor')); torch has no legacy class of that name, nor tg."""
    torch = pytest.importorskip("torch")
    for dt, tdt in [(tg.complex64, torch.complex64), (tg.complex128, torch.complex128)]:
        name = torch.zeros(1, dtype=tdt).type()
        assert tg.zeros(1, dtype=dt).type() == tg.typename(tg.zeros(1, dtype=dt)) == name
        assert tg.zeros(2).type(name).dtype == dt and str(torch.zeros(2).type(name).dtype) == f"torch.{np.dtype(dt)}"
    assert not hasattr(tg, "ComplexFloatTensor") and not hasattr(torch, "ComplexFloatTensor")


def test_contiguous_expand_as_and_matmul_method():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.contiguous() is x
    t = x.T
    c = t.contiguous()
    assert c is not t and c.array.flags.c_contiguous and not np.shares_memory(c.array, x.array)
    np.testing.assert_array_equal(c.numpy(), x.numpy().T)
    assert tg.gradcheck(lambda a: a.T.contiguous() * 2, [x])
    assert tg.gradcheck(lambda a: a[:1].expand_as(a) * a, [x])
    w = tg.tensor(np.ones((3, 2)))
    np.testing.assert_array_equal(x.matmul(w).numpy(), (x @ w).numpy())


def test_equal_and_allclose():
    a = tg.tensor([1.0, 2.0])
    assert tg.equal(a, tg.tensor([1.0, 2.0])) and not tg.equal(a, tg.tensor([1.0, 2.5]))
    assert not tg.equal(a, tg.tensor([[1.0, 2.0]]))  # other shape
    assert tg.allclose(a, a + 1e-9) and not tg.allclose(a, a + 1e-3)
    assert tg.allclose(a, a + 1e-3, atol=1e-2)
    nan = tg.tensor([float("nan")])
    assert not tg.allclose(nan, nan) and tg.allclose(nan, nan, equal_nan=True)
    with pytest.raises(TypeError, match="equal: other must be a Tensor, got list"):
        tg.equal(a, [1.0, 2.0])
    with pytest.raises(TypeError, match="allclose: input must be a Tensor, got ndarray"):
        tg.allclose(np.array([1.0, 2.0]), a)


def test_generator_gives_its_own_reproducible_draws(device):
    """tg.Generator, torch's: every random function and in-place fill takes generator=; the same seed (or a clone)
    gives the same draws, apart from the package's generator (whose draws between do not change them); a generator
    of another device is refused, as torch."""
    g = tg.Generator(device)
    assert g.initial_seed() == 67280421310721 and g.device == device  # (torch's default seed)

    def draws(g):
        return [t.tolist() for t in (
            tg.randn(2, 3, generator=g, device=device), tg.rand(4, generator=g, device=device),
            tg.randint(0, 9, (5,), generator=g, device=device), tg.randperm(6, generator=g, device=device),
            tg.normal(2.0, 3.0, (3,), generator=g, device=device),
            tg.normal(tg.zeros(2, 1, device=device), tg.ones(3, device=device), generator=g),
            tg.multinomial(tg.ones(5, device=device), 3, generator=g),
            tg.bernoulli(tg.full((5,), 0.5, device=device), generator=g),
            tg.poisson(tg.full((4,), 3.0, device=device), generator=g),
            tg.randn_like(tg.zeros(3, device=device), generator=g),
            tg.empty(4, device=device).normal_(generator=g), tg.empty(4, device=device).uniform_(generator=g),
            tg.empty(3, device=device).bernoulli_(0.3, generator=g), tg.empty(3, device=device).cauchy_(generator=g),
            tg.empty(3, device=device).exponential_(generator=g), tg.empty(3, device=device).log_normal_(generator=g),
            tg.empty(3, device=device).geometric_(0.4, generator=g),
            tg.empty(3, device=device).random_(7, generator=g))]

    first = draws(g)
    assert draws(g) != first
    g.manual_seed(67280421310721)
    tg.manual_seed(0)
    tg.randn(10, device=device)
    assert draws(g) == first
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    twin = g.clone_state()
    assert draws(g) == draws(twin)
    other = "cuda" if device == "cpu" else "cpu"
    with pytest.raises(RuntimeError, match=f"randn: expected a '{other}' generator for a tensor on {other}"):
        tg.randn(2, generator=tg.Generator(device), device=other)
    with pytest.raises(TypeError, match="randn: generator must be a tg.Generator"):
        tg.randn(2, generator=3, device=device)
    with pytest.raises(TypeError, match="Generator.manual_seed: seed must be an int"):
        g.manual_seed(1.5)


def test_generator_state_and_torch_forms():
    """get_state/set_state replay a cpu generator's draws; the samplers, random_split and nn.init take one; torch's
    normal/poisson overloads, shapes, dtypes and errors."""
    g = tg.Generator().manual_seed(11)
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (48,)
    a = tg.randn(5, generator=g).tolist()
    assert g.set_state(state) is g and tg.randn(5, generator=g).tolist() == a
    split = [tg.utils.data.random_split(range(8), [4, 4], generator=tg.Generator().manual_seed(2))[0].indices
             for _ in range(2)]
    order = [list(tg.utils.data.RandomSampler(range(6), generator=tg.Generator().manual_seed(4))) for _ in range(2)]
    init = [tg.nn.init.trunc_normal_(tg.empty(5), generator=tg.Generator().manual_seed(1)).tolist() for _ in range(2)]
    assert split[0] == split[1] and order[0] == order[1] and init[0] == init[1]
    assert tg.normal(tg.zeros(3, dtype=tg.float64), 2.0).dtype == np.float64
    assert tg.normal(tg.zeros(3), tg.ones(3, dtype=tg.float64)).dtype == np.float32  # (mean's, as torch's)
    assert tg.normal(tg.zeros(3, dtype=tg.float64), tg.ones(3)).dtype == np.float64
    assert tg.normal(1.0, tg.ones(2, 1)).shape == (2, 1) and tg.normal(0.0, 1.0, (2, 3)).dtype == np.float32
    z = tg.normal(tg.full((4000,), 3.0), tg.full((4000,), 2.0), generator=tg.Generator().manual_seed(0)).numpy()
    assert abs(z.mean() - 3) < 5 * 2 / math.sqrt(4000) and abs(z.std() - 2) < 0.15
    k = tg.poisson(tg.full((4000,), 4.0), tg.Generator().manual_seed(0)).numpy()
    assert k.dtype == np.float32 and (k == np.round(k)).all() and abs(k.mean() - 4) < 5 * 2 / math.sqrt(4000)
    one = tg.poisson(tg.tensor(3.0, dtype=tg.float64))  # (a 0-d rate: numpy's draw is a Python int there)
    assert one.shape == () and one.dtype == np.float64 and one.item() == round(one.item()) >= 0
    for bad, err, msg in ((lambda: tg.normal(tg.zeros(2), tg.tensor([-1.0, 1.0])), ValueError, "std >= 0"),
                          (lambda: tg.normal(tg.zeros(2), tg.ones(3)), ValueError, "do not broadcast"),
                          (lambda: tg.normal(0.0, 1.0), TypeError, "pass size="),
                          (lambda: tg.normal(tg.zeros(2), 1.0, (2,)), TypeError, "size= is taken only"),
                          (lambda: tg.normal(tg.zeros(2, dtype=tg.int64), 1.0), TypeError, "floating point"),
                          (lambda: tg.poisson(tg.tensor([-1.0])), ValueError, "non-negative"),
                          (lambda: tg.poisson(tg.tensor([1.0, math.inf])), ValueError, "at most 9.22337e"),
                          (lambda: tg.poisson(tg.tensor([1e19], dtype=tg.float64)), ValueError, "at most")):
        with pytest.raises(err, match=f"(normal|poisson): .*{msg}"):
            bad()


def test_default_generator_is_the_package_generator():
    """tg.manual_seed returns tg.default_generator (torch's), whose methods act on the generator every draw without
    generator= uses: passing it changes nothing, its state round trip and clone repeat the package's draws."""
    g = tg.manual_seed(4)
    assert g is tg.default_generator and g.initial_seed() == 4 == tg.initial_seed() and g.device == "cpu"
    a = tg.randn(3).tolist()
    assert g.manual_seed(4) is g and tg.randn(3, generator=g).tolist() == a
    state = g.get_state()
    x = tg.rand(2).tolist()
    assert g.set_state(state) is g and tg.rand(2).tolist() == x
    twin = g.clone_state()
    assert tg.rand(3, generator=twin).tolist() == tg.rand(3).tolist()
    assert g.seed() == tg.initial_seed()


def test_randperm_is_a_seeded_permutation():
    tg.manual_seed(3)
    p = tg.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype == np.int64
    tg.manual_seed(3)
    assert tg.randperm(10).tolist() == p.tolist()
    with pytest.raises(ValueError, match="randperm: n must be a non-negative integer"):
        tg.randperm(-1)
    with pytest.raises(ValueError, match="randperm: torch.uint8 cannot hold the values 0..299"):
        tg.randperm(300, dtype=np.uint8)
    assert sorted(tg.randperm(256, dtype=np.uint8).tolist()) == list(range(256))
    with pytest.raises(ValueError, match="torch.float16 cannot hold the values 0..2999 exactly"):
        tg.randperm(3000, dtype=np.float16)
    assert len(set(tg.randperm(2049, dtype=np.float16).tolist())) == 2049
    for bad in (lambda: tg.randperm(True), lambda: tg.randperm(2, dtype=bool)):
        with pytest.raises(ValueError, match="randperm"):
            bad()


def test_multinomial_draws_by_weight():
    tg.manual_seed(0)
    draws = tg.multinomial(tg.tensor([0.2, 0.0, 0.8]), 4000, replacement=True)
    assert draws.shape == (4000,) and draws.dtype == np.int64
    counts = np.bincount(draws.numpy(), minlength=3) / 4000
    assert counts[1] == 0 and abs(counts[0] - 0.2) < 0.03 and abs(counts[2] - 0.8) < 0.03
    rows = tg.multinomial(tg.tensor([[1.0, 1.0, 1.0, 0.0], [0.0, 5.0, 5.0, 5.0]]), 3)
    assert rows.shape == (2, 3)
    assert sorted(rows.tolist()[0]) == [0, 1, 2] and sorted(rows.tolist()[1]) == [1, 2, 3]  # without replacement
    tg.manual_seed(1)
    first = tg.multinomial(tg.ones(5), 2).tolist()
    tg.manual_seed(1)
    assert tg.multinomial(tg.ones(5), 2).tolist() == first
    for bad, match in ((tg.tensor([0.5, -0.1]), "non-negative"), (tg.zeros(3), "positive sum"),
                       (tg.tensor([float("nan"), 1.0]), "finite"), (tg.ones(2, 2, 2), r"\(C,\) or \(B, C\)")):
        with pytest.raises(ValueError, match=match):
            tg.multinomial(bad, 1)
    with pytest.raises(ValueError, match="only 1 non-zero weights"):
        tg.multinomial(tg.tensor([0.0, 1.0]), 2)
    with pytest.raises(TypeError, match="weights must be floating point, got torch.int64"):
        tg.multinomial(tg.tensor([1, 2]), 1)
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        tg.multinomial(tg.ones(3), 0)
    assert tg.multinomial(tg.zeros(0, 3), 2).shape == (0, 2)


def test_multinomial_argument_types():
    """As torch: the weights must be a Tensor (a numpy array or list was drawn from), num_samples an int (True was
    numpy's 'expected a sequence of integers', a 0-d int tensor refused) and replacement a bool (1 or 'x' were read
    by their truth)."""
    for bad in (np.array([0.5, 0.5]), [0.5, 0.5]):
        with pytest.raises(TypeError, match="multinomial: input must be a Tensor, got"):
            tg.multinomial(bad, 1)
    for bad in (True, 2.0, "2"):
        with pytest.raises(TypeError, match=f"multinomial: num_samples must be a positive integer, got "
                                            f"{type(bad).__name__}"):
            tg.multinomial(tg.ones(3), bad)
    for bad in (1, "x", None):
        with pytest.raises(TypeError, match=f"multinomial: replacement must be a bool, got {type(bad).__name__}"):
            tg.multinomial(tg.ones(3), 1, replacement=bad)
    assert tg.multinomial(tg.ones(3), tg.tensor(2)).shape == (2,)
    assert tg.multinomial(tg.ones(3), np.int64(3)).shape == (3,)


def test_bernoulli_draws_by_probability(device):
    """tg.bernoulli(p) and x.bernoulli_(p): 0/1 of the input's shape, dtype and device, 1 as often as p says
    (exact at 0 and 1), seeded by manual_seed; probabilities outside [0, 1] are refused."""
    tg.manual_seed(0)
    p = tg.tensor(np.tile([0.0, 0.25, 1.0], (4000, 1)), device=device)
    draws = tg.bernoulli(p)
    assert draws.shape == p.shape and draws.dtype == p.dtype == tg.float64 and draws.device == device
    freq = draws.numpy().mean(0)
    assert freq[0] == 0 and freq[2] == 1 and abs(freq[1] - 0.25) < 0.03
    assert set(np.unique(p.bernoulli().numpy())) <= {0.0, 1.0} and abs(tg.bernoulli(p, 0.5).numpy().mean() - 0.5) < 0.02
    x = tg.zeros(3000, dtype=tg.float64, device=device)
    assert x.bernoulli_(0.75) is x and abs(x.numpy().mean() - 0.75) < 0.03
    x.bernoulli_(tg.tensor([0.0, 1.0, 0.0], dtype=tg.float64, device=device).repeat(1000))
    assert x.numpy().reshape(1000, 3).mean(0).tolist() == [0.0, 1.0, 0.0]
    tg.manual_seed(3)
    first = tg.bernoulli(tg.full((50,), 0.5)).tolist()
    tg.manual_seed(3)
    assert tg.bernoulli(tg.full((50,), 0.5)).tolist() == first
    for bad in (lambda: tg.bernoulli(tg.tensor([1.5])), lambda: tg.zeros(2).bernoulli_(-0.1),
                lambda: tg.bernoulli(tg.tensor([float("nan")]))):
        with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
            bad()
    for dtype in (tg.bool_, tg.int64):  # (a mask drawn in place, as torch)
        mask = tg.zeros(2000, dtype=dtype, device=device).bernoulli_(0.25)
        assert mask.dtype == dtype and set(np.unique(mask.numpy())) == {0, 1} and abs(mask.numpy().mean() - 0.25) < 0.04
    with pytest.raises(ValueError, match=r"bernoulli_: p must be a number or a tensor that broadcasts to \(2,\)"):
        tg.zeros(2).bernoulli_(tg.ones(3) * 0.5)
    with pytest.raises(TypeError, match="bernoulli: input must be a floating-point tensor of probabilities"):
        tg.bernoulli(tg.tensor([1, 0]))
    with pytest.raises(TypeError, match="bernoulli_: p must be a number or a tensor of probabilities, got str"):
        tg.zeros(2).bernoulli_("0.5")


def test_unique_and_bincount_match_torch_and_refuse_bad_input(device):
    """unique's values (sorted; each nan apart), inverse and counts, over all elements or slices along dim; bincount
    with and without weights and minlength: values and dtypes as torch's, on the input's device."""
    a = np.array([[3, 1], [1, 2], [3, 1]])
    values, inverse, counts = tg.unique(tg.tensor(a, device=device), return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and values.device == device
    assert inverse.tolist() == [[2, 0], [0, 1], [2, 0]] and inverse.dtype == np.int64 and counts.tolist() == [3, 1, 2]
    rows, inv, cnt = tg.tensor(a, device=device).unique(dim=0, return_inverse=True, return_counts=True)
    assert rows.tolist() == [[1, 2], [3, 1]] and inv.tolist() == [1, 0, 1] and cnt.tolist() == [1, 2]
    assert tg.unique(tg.tensor([2.0, np.nan, 1.0, np.nan])).numpy().tolist()[:2] == [1.0, 2.0]
    assert tg.unique(tg.tensor([2.0, np.nan, 1.0, np.nan])).shape == (4,)  # (each nan is its own value)
    x = tg.tensor([1, 1, 3], device=device)
    assert x.bincount().tolist() == [0, 2, 0, 1] and tg.bincount(x, minlength=6).tolist() == [0, 2, 0, 1, 0, 0]
    w = tg.bincount(x, tg.tensor([0.5, 1.0, 2.0], device=device))
    assert w.tolist() == [0.0, 1.5, 0.0, 2.0] and w.dtype == tg.float32 and w.device == device
    assert tg.bincount(x, tg.tensor([1, 2, 3], device=device)).dtype == tg.float64
    half = tg.bincount(x, tg.tensor([1e4, 6e4, 1.0], dtype=tg.float16, device=device))  # (torch's: float64, no inf)
    assert half.dtype == tg.float64 and half.tolist()[1] == 7e4
    assert tg.bincount(tg.tensor(np.zeros(0, np.int64), device=device)).tolist() == []
    empty = tg.tensor(np.zeros(0, np.int64), device=device)  # (CuPy's bincount raises on an empty input)
    counted = tg.bincount(empty, tg.zeros(0, dtype=tg.float64, device=device), minlength=3)
    assert counted.tolist() == [0.0, 0.0, 0.0] and counted.dtype == tg.float64 and counted.device == device
    assert tg.bincount(empty, minlength=2).tolist() == [0, 0] and tg.bincount(empty).dtype == tg.int64
    assert tg.unique(tg.zeros(2, 0, device=device), dim=1, return_counts=True)[0].shape == (2, 0)
    for shape, dim in (((0, 3, 2), 2), ((2, 0, 0), 1), ((0, 2), -1)):  # (numpy: one slice, counted shape[dim] times)
        with pytest.raises(ValueError, match=rf"unique: shape .* has an empty dim other than dim {dim}"):
            tg.unique(tg.zeros(shape), dim=dim, return_counts=True)
    for bad in ([-1], [[1]], [1.0]):
        with pytest.raises(ValueError, match="bincount: input must be a 1-d tensor of non-negative integers"):
            tg.bincount(tg.tensor(bad))
    with pytest.raises(ValueError, match=r"bincount: weights must be a tensor of input's shape \(3,\)"):
        tg.bincount(x, tg.ones(2, device=device))
    torch = pytest.importorskip("torch")
    for kw in ({}, {"return_inverse": True, "return_counts": True}, {"dim": 1, "return_inverse": True}):
        ours, theirs = tg.unique(tg.tensor(a), **kw), torch.unique(torch.tensor(a), **kw)
        pairs = zip(ours, theirs) if isinstance(ours, tuple) else [(ours, theirs)]
        for o, t in pairs:
            np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_histc_matches_its_definition_and_torch(device):
    """histc: counts in equal bins over [min, max] in input's dtype, max in the last bin, elements outside and nans
    left out; min == max: the input's range (widened by 1 each way when that is one value too); no gradient."""
    x = tg.tensor([0.5, 1.0, 2.9, 3.0, -0.1, 3.5, np.nan, 1.2], dtype=tg.float64, device=device, requires_grad=True)
    h = tg.histc(x, bins=3, min=0, max=3)
    assert h.tolist() == [1.0, 2.0, 2.0] and h.dtype == tg.float64 and h.device == device and not h.requires_grad
    assert tg.histc(tg.tensor([1.0, 2.0, 1.0, 4.0, 2.5], device=device), bins=4).tolist() == [2.0, 1.0, 1.0, 1.0]
    assert tg.histc(tg.tensor([2.0, 2.0], device=device), bins=4).tolist() == [0.0, 0.0, 2.0, 0.0]
    assert tg.histc(tg.zeros(0, device=device), bins=2).tolist() == [0.0, 0.0]
    outside = tg.histc(tg.tensor([np.nan, 5.0, -1.0], device=device), bins=2, min=0, max=1)  # (none counted)
    assert outside.tolist() == [0.0, 0.0] and outside.dtype == tg.float32 and outside.device == device
    values = np.random.default_rng(3).uniform(-2, 5, 500)
    values = values[np.abs(values * 7 - np.round(values * 7)) > 1e-6]  # (none within rounding of an edge)
    want = np.histogram(values, bins=49, range=(-2, 5))[0]
    np.testing.assert_array_equal(tg.histc(tg.tensor(values, device=device), 49, -2, 5).numpy(), want)
    cases = [(dict(input=tg.tensor([1, 2])), TypeError, "histc: input must be floating point, got torch.int64"),
             (dict(input=tg.ones(3), bins=0), ValueError, "histc: bins must be > 0, got 0"),
             (dict(input=tg.ones(3), min=3, max=1), ValueError, "histc: max must be larger than min"),
             (dict(input=tg.tensor([1.0, np.inf])), ValueError, r"histc: the range \[1.0, inf\] is not finite"),
             (dict(input=tg.ones(3), bins=2.5), TypeError, "histc: bins must be an int"),
             (dict(input=tg.ones(3), min="0"), TypeError, "histc: min must be a real number")]
    for kw, err, match in cases:
        with pytest.raises(err, match=match):
            tg.histc(**kw)
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64):
        r = (np.random.default_rng(4).random(20000) * 10).astype(dtype)
        for lo, hi, bins in ((0.3, 9.1, 7), (0, 0, 1000), (1 / 3, 7 / 3, 13)):
            np.testing.assert_array_equal(tg.histc(tg.tensor(r), bins, lo, hi).numpy(),
                                          torch.histc(torch.from_numpy(r), bins, lo, hi).numpy())


def test_torch_tensor_attributes(device):
    """is_cuda, is_cpu, get_device, ndimension, nelement, itemsize, is_signed, stride (in elements), is_contiguous,
    data_ptr and retains_grad, as torch's on the same shapes and dtypes."""
    x = tg.zeros(3, 4, device=device)
    assert x.is_cuda == (device == "cuda") and x.is_cpu == (device == "cpu")
    assert x.get_device() == (-1 if device == "cpu" else 0)
    assert (x.ndimension(), x.nelement(), x.itemsize, x.is_signed()) == (2, 12, 4, True)
    assert x.stride() == (4, 1) and x.stride(-2) == 4 and x.t().stride() == (1, 4)
    assert x.is_contiguous() and not x.t().is_contiguous() and not x[:, ::2].is_contiguous()
    assert tg.tensor(1.0, device=device).expand(3).stride() == (0,)
    assert x[1].data_ptr() - x.data_ptr() == 16 and x.detach().data_ptr() == x.data_ptr()
    assert not tg.tensor(np.array([1], np.uint8)).is_signed() and not tg.tensor([True]).is_signed()
    assert tg.tensor([1j], device=device).is_signed() and tg.tensor([1], dtype=tg.int8).is_signed()  # (torch's)
    with pytest.raises(IndexError, match="stride: a 0-d tensor has no dims"):
        tg.tensor(1.0).stride(0)
    with pytest.raises(IndexError, match="stride: dim 2 is out of range"):
        x.stride(2)
    w = tg.ones(2, requires_grad=True)
    h = w * 2
    assert not w.retains_grad and not h.retains_grad
    h.retain_grad()
    assert h.retains_grad
    torch = pytest.importorskip("torch")
    t = torch.zeros(3, 4)
    assert (t.stride(), t.t().stride(), t.t().is_contiguous(), t.get_device(), t.itemsize) == (
        x.stride(), x.t().stride(), x.t().is_contiguous(), -1, x.itemsize)


def test_a_star_import_leaves_python_builtins_alone():
    ns = {}
    exec("from tinygrad_rnn import *", ns)
    assert not {"float", "int", "bool"} & set(ns) and ns["long"] is tg.int64 and ns["Tensor"] is tg.Tensor


_DTYPE_NAMES = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16",
                "float32", "float64", "complex64", "complex128")


def test_dtypes_are_the_objects_tensors_carry():
    """tg.float32 & co. are tg.dtype objects, one per dtype, the ones x.dtype returns, so torch's identity tests
    hold (x.dtype is torch.float32, get_default_dtype() is torch.float32) and they print as torch's."""
    torch = pytest.importorskip("torch")
    pairs = [("float16", "half"), ("float32", "float"), ("float64", "double"), ("int8", None), ("int16", "short"),
             ("int32", "int"), ("int64", "long"), ("uint8", None), ("uint16", None), ("uint32", None),
             ("uint64", None), ("bool_", "bool"), ("complex64", "cfloat"), ("complex128", "cdouble")]
    for name, alias in pairs:
        dt = getattr(tg, name)
        x = tg.zeros(2, dtype=dt)
        assert x.dtype is dt and type(dt) is tg.dtype and isinstance(dt, tg.dtype) and {dt: 1}[x.dtype] == 1
        assert tg.tensor(np.zeros(2, np.dtype(name.rstrip("_")))).dtype is dt
        assert alias is None or getattr(tg, alias) is dt
        assert str(getattr(torch, name.rstrip("_"))) == str(dt) == repr(dt) == f"{dt}"
    assert tg.ones(1).dtype is tg.get_default_dtype() is tg.float32 and (tg.ones(1) / 2).dtype is tg.float32
    tg.set_default_dtype(np.float64)
    try:
        assert tg.get_default_dtype() is tg.float64 and tg.ones(1).dtype is tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    assert repr(tg.tensor([1.0], dtype=tg.float64)) == repr(torch.tensor([1.0], dtype=torch.float64))
    assert repr(tg.tensor([1], dtype=tg.uint8)) == repr(torch.tensor([1], dtype=torch.uint8))
    with pytest.raises(TypeError, match="cannot create 'torch.dtype' instances"):
        tg.dtype()


@pytest.mark.parametrize("name", _DTYPE_NAMES)
def test_dtype_attributes_are_torchs(name):
    """is_floating_point, is_complex, is_signed, itemsize, to_real() and to_complex() as torch's dtypes' (float16's
    to_complex is complex64: numpy has no complex32, torch's answer); bfloat16's too."""
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(tg, name.replace("bool", "bool_")), getattr(torch, name)
    for attr in ("is_floating_point", "is_complex", "is_signed", "itemsize"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert str(ours.to_real()) == str(theirs.to_real())
    if theirs.is_floating_point or theirs.is_complex:
        want = "torch.complex64" if name == "float16" else str(theirs.to_complex())
        assert str(ours.to_complex()) == want and ours.to_complex() is getattr(tg, want[6:])
    else:
        with pytest.raises(RuntimeError, match="Unknown Complex ScalarType"):
            theirs.to_complex()
        with pytest.raises(RuntimeError, match="Unknown Complex ScalarType"):
            ours.to_complex()
    b = tg.bfloat16
    assert (b.is_floating_point, b.is_complex, b.is_signed, b.itemsize) == (True, False, True, 2)
    assert b.to_real() is b and b.to_complex() is tg.complex64 and str(torch.bfloat16.to_complex()) == "torch.complex64"


@pytest.mark.parametrize("name", _DTYPE_NAMES)
def test_dtypes_equal_and_hash_as_numpys(name):
    """A tg dtype equals its numpy dtype and scalar type (either side of ==), not other dtypes or strings (as
    torch's), hashes as the numpy dtype (so either keys a dict for the other), and pickles and copies as itself."""
    dt, npd = getattr(tg, name.replace("bool", "bool_")), np.dtype(name)
    assert dt == npd and npd == dt and dt == npd.type and npd.type == dt and not dt != npd and not npd != dt
    assert dt != "float32" and dt != name and dt != None and dt != 1  # noqa: E711
    for other in _DTYPE_NAMES:
        if other != name:
            assert dt != np.dtype(other) and np.dtype(other) != dt and dt != getattr(tg, other.replace("bool", "bool_"))
    assert hash(dt) == hash(npd) and {npd: 1}[dt] == 1 and {dt: 1}[npd] == 1 and npd in {dt} and dt in {npd}
    assert pickle.loads(pickle.dumps(dt)) is dt and copy.copy(dt) is dt and copy.deepcopy([dt])[0] is dt
    assert (dt.kind, dt.name, dt.char, dt.type, dt.str, dt.itemsize) == (npd.kind, npd.name, npd.char, npd.type,
                                                                         npd.str, npd.itemsize)
    assert dt.byteorder == npd.byteorder and dt.alignment == npd.alignment  # (numpy's others, read through)
    with pytest.raises(AttributeError):
        dt.kind = "f"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", _DTYPE_NAMES)
def test_numpy_takes_tg_dtypes_wherever_it_takes_a_dtype(name):
    """Each carries its numpy dtype (.dtype, and numpy 2.4's __numpy_dtype__), which numpy's functions read, with
    no warning: the ones the package and ported code call."""
    dt, npd = getattr(tg, name.replace("bool", "bool_")), np.dtype(name)
    assert dt.dtype is npd and np.dtype(dt) is npd
    assert np.zeros(2, dtype=dt).dtype == npd and np.empty(2, dt).dtype == npd and np.ones(2).astype(dt).dtype == npd
    assert np.array([1], dtype=dt).dtype == npd and np.asarray([1], dt).dtype == npd and np.full(2, 1, dt).dtype == npd
    assert np.issubdtype(dt, np.generic) and np.issubdtype(dt, npd) and np.issubdtype(npd, dt)
    assert np.issubdtype(dt, np.floating) == (npd.kind == "f")
    assert np.result_type(dt, np.int8) == np.result_type(npd, np.int8)
    assert np.promote_types(dt, np.int8) == np.promote_types(npd, np.int8)
    assert np.can_cast(dt, np.complex128) == np.can_cast(npd, np.complex128)
    if npd.kind in "fc":
        assert np.finfo(dt) == np.finfo(npd) and tg.finfo(dt) == tg.finfo(npd)
    elif npd.kind in "iu":
        assert (np.iinfo(dt).min, np.iinfo(dt).max) == (np.iinfo(npd).min, np.iinfo(npd).max)
        assert tg.iinfo(dt) == tg.iinfo(npd)
    for given in (dt, npd, npd.type, name):  # every dtype= argument takes each form, as before
        assert tg.zeros(2, dtype=given).dtype is dt and tg.ones(2).to(given).dtype is dt
        assert tg.tensor([1], dtype=given).dtype is dt
        assert isinstance(given, str) or tg.zeros(2).type(given).dtype is dt  # (type()'s strings name tensor types)


@pytest.mark.parametrize("old, new", [(np.float32, np.int32), (np.float64, np.int64), (np.int16, np.float16),
                                      (np.float32, np.int16), (np.uint8, np.bool_), (np.int8, np.float32),
                                      (np.float32, np.float64), (np.int64, np.uint8)])
def test_view_as_a_dtype_reads_the_same_bytes(old, new):
    """x.view(dtype): numpy's reinterpretation of the bytes (the last dim scaled by the ratio of element sizes), a
    view sharing memory and version, without a gradient (torch's is not differentiable), as torch.Tensor.view."""
    a = np.arange(16).astype(old).reshape(2, 8)
    x = tg.tensor(a, requires_grad=old in (np.float32, np.float64))
    for y in (x.view(new), x.view(dtype=new)):
        assert y.dtype == new and not y.requires_grad
        np.testing.assert_array_equal(y.numpy(), a.view(new))
    y = x.detach().view(new)
    with tg.no_grad():
        y.zero_()
    assert not x.detach().numpy().any() and x._version == 1


def test_view_as_a_dtype_refuses_what_torch_refuses():
    assert tg.tensor(1.0).view(tg.int32).tolist() == 1065353216 and tg.ones(3, 1).view(tg.int32).shape == (3, 1)
    with pytest.raises(ValueError, match="view: a 0-d tensor has no last dim to rescale to view torch.float32 as "
                                         "torch.int16"):
        tg.tensor(1.0).view(np.int16)
    with pytest.raises(ValueError, match="view: the last dim must be contiguous .*stride is 4 .*contiguous"):
        tg.ones(2, 4).t().view(np.int16)
    for bad in (tg.ones(3), tg.ones(2, 4)[:, 1:3], tg.ones(4, 3)[:, :2]):  # (size, offset, a stride of 3 elements)
        with pytest.raises(ValueError, match="must be divisible by 2 to view torch.float32 as torch.float64"):
            bad.view(tg.float64)
    with pytest.raises(TypeError, match="view: expected a shape or a dtype, got both"):
        tg.ones(2).view(2, dtype=tg.int32)


def test_a_broadcast_view_cannot_be_written(device):
    """One element of an expand/broadcast_to view stands for many: an in-place write that reads it back per element
    (+=, copy_, clamp_) is refused, as torch's (CuPy would otherwise write through the stride-0 dims), the same way
    on every device; fill_ of a number and a write into a part whose elements are apart (v[0]) reach the base, as
    torch's."""
    base = tg.tensor([1.0, 2.0], device=device)
    for write in (lambda v: v.__iadd__(1.0), lambda v: v.copy_(tg.zeros(3, 2, device=device)),
                  lambda v: v.clamp_(max=0.0)):
        view = base.expand(3, 2)
        with pytest.raises(ValueError, match=r"this tensor of shape \(3, 2\) is read-only"):
            write(view)
    assert base.tolist() == [1.0, 2.0]
    base.expand(3, 2)[0] = 5.0
    assert base.tolist() == [5.0, 5.0]
    base.expand(3, 2).fill_(0.0)
    assert base.tolist() == [0.0, 0.0]
    base = tg.tensor([1.0, 2.0], device=device)
    c = base.expand(3, 2).clone()
    c += 1
    assert c.tolist() == [[2.0, 3.0]] * 3 and base.tolist() == [1.0, 2.0]


def test_a_0d_tensor_broadcasts_as_a_view(device):
    """A 0-d tensor (the gradient of every full sum) broadcasts through numpy's ndarray constructor on the CPU:
    still a read-only view of its memory, and negative sizes are still refused."""
    base = tg.tensor(2.0, device=device)
    view = base.broadcast_to((2, 0, 3)), base.broadcast_to((3, 2)), base.expand(1, 4)
    assert [v.shape for v in view] == [(2, 0, 3), (3, 2), (1, 4)] and view[1].tolist() == [[2.0] * 2] * 3
    base.fill_(5.0)
    assert view[1].tolist() == [[5.0] * 2] * 3 and view[2].tolist() == [[5.0] * 4]
    with pytest.raises(ValueError, match=r"this tensor of shape \(3, 2\) is read-only"):
        view[1].add_(1.0)
    view[1].fill_(0.0)  # (a number into every element: torch's fill_ writes the one they share)
    assert base.tolist() == 0.0
    for shape in ((-1,), (2, -1)):
        with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(\) to"):
            base.broadcast_to(shape)


def test_to_takes_device_and_dtype_like_torch():
    x = tg.ones(2)
    assert x.to("cpu") is x and x.to(tg.float32) is x
    for y in (x.to(tg.float64), x.to("cpu", tg.float64), x.to(dtype="float64"), x.to(device="cpu", dtype=tg.float64),
              x.to(tg.zeros(1, dtype=tg.float64))):
        assert y.dtype == np.float64 and y.device == "cpu"
    with pytest.raises(TypeError, match="to: expected at most a device and a dtype"):
        x.to("cpu", tg.float64, tg.float32)
    assert x.to(None) is x and x.to(None, None) is x  # (np.dtype(None) would be float64)



def test_to_takes_non_blocking_and_copy_like_torch():
    """x.to(device, non_blocking=True), the training-loop idiom with pinned batches, was a TypeError; copy=True gives
    a new tensor (a differentiable copy) even when nothing changes, as torch's."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu", non_blocking=True) is x and x.to(device="cpu", dtype=tg.float32, non_blocking=True) is x
    y = x.to(copy=True)
    assert y is not x and y.array is not x.array and y.requires_grad
    (y * tg.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert x.to(tg.float64, copy=True).dtype == np.float64

def test_bmm_is_batched_matmul_without_broadcasting():
    a, b = tg.tensor(np.arange(24.0).reshape(2, 3, 4)), tg.tensor(np.ones((2, 4, 5)))
    np.testing.assert_array_equal(tg.bmm(a, b).numpy(), np.matmul(a.numpy(), b.numpy()))
    for bad in (tg.ones(1, 4, 5, dtype=tg.float64), tg.ones(2, 3, 5, dtype=tg.float64)):  # B, then m differs
        with pytest.raises(ValueError, match=r"bmm: expected \(B, n, m\) and \(B, m, p\) with the same B and m"):
            tg.bmm(a, bad)


def test_bmm_mm_equal_allclose_take_torchs_argument_names():
    """torch's keyword names (x.bmm(mat2=m), torch.mm(input, mat2=m), x.equal(other=y), x.allclose(other=y));
    they were a and b. A mat2 that is not a Tensor is named (bmm reported a dtype mismatch, or an AttributeError)."""
    a, b = tg.tensor(np.arange(6.0).reshape(1, 2, 3)), tg.tensor(np.ones((1, 3, 2)))
    np.testing.assert_array_equal(a.bmm(mat2=b).numpy(), tg.bmm(input=a, mat2=b).numpy())
    np.testing.assert_array_equal(tg.mm(input=a[0], mat2=b[0]).numpy(), a[0].mm(b[0]).numpy())
    assert a.equal(other=a.clone()) and tg.equal(input=a, other=a) and a.allclose(other=a + 1e-9, atol=1e-8)
    for bad in (np.ones((1, 3, 2)), [[[1.0]]]):
        with pytest.raises(TypeError, match="bmm: mat2 must be a Tensor"):
            a.bmm(bad)
    with pytest.raises(TypeError, match="mm: mat2 must be a Tensor"):
        tg.mm(a[0], np.ones((3, 2)))


# ============================================================================ torch's rules where numpy's differ
def test_a_bool_is_not_a_dim_but_var_and_std_take_one_as_unbiased():
    """numpy reads True as axis 1; torch refuses a bool dim, except var(unbiased)/std(unbiased) over everything."""
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]], dtype=tg.float64)  # mean 4, squares sum to 40
    for f in (lambda: x.sum(True), lambda: x.mean(False), lambda: x.amax(False), lambda: x.argmax(True),
              lambda: x.unsqueeze(True), lambda: x.transpose(True, False), lambda: x.flatten(True),
              lambda: x.squeeze(False), lambda: x.sum((0, True))):
        with pytest.raises(TypeError, match="dim must be an int"):
            f()
    assert x.var(True).item() == pytest.approx(40 / 5) and x.var(False).item() == pytest.approx(40 / 6)
    assert x.std(False).item() == pytest.approx(math.sqrt(40 / 6))


def test_reductions_accumulate_like_torch():
    """float16 sums accumulate in float32, var/std/norm run in float32 (x^2 overflows float16 past 256);
    bool and unsigned sums are int64; logsumexp of small ints runs in float (the shift by the max would wrap)."""
    h = np.full((4096, 2), 0.1, np.float16)  # summed down the strided axis, numpy's float16 sum stalls at 256
    assert tg.tensor(h).sum(0).tolist() == [np.float16(h[:, 0].astype(np.float32).sum())] * 2  # (409.5)
    assert tg.tensor(np.full(4096, 100.0, np.float16)).mean().item() == 100.0  # (the float16 sum: inf)
    assert tg.tensor(np.array([300.0, 400.0], np.float16)).norm().item() == 500.0
    assert tg.tensor(np.array([0.0, 600.0], np.float16)).std().item() == np.float16(math.sqrt(2 * 300.0 ** 2))
    s = tg.tensor(np.array([200, 100], np.uint8)).sum()
    assert s.dtype == np.int64 and s.item() == 300 and (s + tg.tensor(1)).dtype == np.int64
    assert tg.tensor([True, True, False]).sum().dtype == np.int64
    assert tg.tensor(np.array([200, 100], np.uint8)).logsumexp(0).item() == pytest.approx(200.0)
    assert tg.tensor(np.array([100, -100], np.int8)).logsumexp(0).item() == pytest.approx(100.0)


@pytest.mark.parametrize("c", [1e-8, 65536.0, 0.1, 1e5, 3, np.float64(7e-6)])
def test_float16_times_or_over_a_number_runs_in_float32_and_rounds_once(device, c):
    """As torch's: a float16 x * c, c * x and x / c (and *=, /=) compute in float32 with c's full value, so a loss
    scale of 65536 (float16's largest is 65504) or 1e-8 is not rounded to inf or 0 first; gradients alike. A sum
    keeps float16's rounding of c, as torch's (x + 1e5 is inf)."""
    a = np.array([60000.0, 1.0, 0.5, -3.0, 0.0], np.float16)
    with np.errstate(over="ignore"):
        want_mul = (a.astype(np.float32) * np.float32(c)).astype(np.float16)
        want_div = (a.astype(np.float32) / np.float32(c)).astype(np.float16)
        want_grad = np.full(5, np.float32(1e4) / np.float32(c)).astype(np.float16)
        want_sum = a + np.float16(c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (an overflow to inf is quiet, as torch's)
        x = tg.tensor(a, requires_grad=True, device=device)
        for got, want in ((x * c, want_mul), (c * x, want_mul), (x / c, want_div), (x.mul(c), want_mul)):
            assert got.dtype == np.float16
            np.testing.assert_array_equal(got.numpy(), want)
        y = x.detach().clone()
        y *= c
        np.testing.assert_array_equal(y.numpy(), want_mul)
        y = x.detach().clone()
        y /= c
        np.testing.assert_array_equal(y.numpy(), want_div)
        (x / c).backward(tg.tensor(np.full(5, 1e4, np.float16), device=device))
        np.testing.assert_array_equal(x.grad.numpy(), want_grad)
        np.testing.assert_array_equal((x + c).numpy(), want_sum)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.float16])
def test_float16_times_or_over_a_0d_tensor_reads_it_as_a_number(device, dtype):
    """torch reads a 0-d tensor (without gradient) as x's other operand like a number: a float16 x * t, x / t (and
    x.mul(t), x *= t) compute in float32 with t's own value, where t cast to float16 first made 1e5 inf (and 3e-8
    0). t * x casts t to float16 first in torch too, and stays so."""
    torch = pytest.importorskip("torch")
    a = np.array([0.001, 2.0, 3e-3, -0.5], np.float16)
    for v in (1e5, 3e-8, 0.1, 7):
        with np.errstate(over="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (1e5 cast to float16: its overflow warned)
            t = np.asarray(v, dtype)
            x, c, tx, tc = tg.tensor(a, device=device), tg.tensor(t, device=device), torch.tensor(a), torch.tensor(t)
            y = x.detach().clone()
            y *= c
            for got, want in ((x * c, tx * tc), (x / c, tx / tc), (x.mul(c), tx.mul(tc)), (y, tx * tc),
                              (c * x, tc * tx)):
                assert got.dtype == np.float16
                np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("f", [lambda t: t.mean(), lambda t: t.var(0).sum(), lambda t: t.std(), lambda t: t.norm(),
                               lambda t: t.norm(3, 1).sum()])
def test_float16_reductions_in_float32_have_float32_gradients_cast_back(f):
    """half_in_float32's casts are recorded: the float16 input gets the float32 computation's gradient, rounded."""
    a = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float16)
    x16, x32 = tg.tensor(a, requires_grad=True), tg.tensor(a.astype(np.float32), requires_grad=True)
    f(x16).backward()
    f(x32).backward()
    assert x16.grad.dtype == np.float16
    np.testing.assert_array_equal(x16.grad.numpy(), x32.grad.numpy().astype(np.float16))


def test_var_without_degrees_of_freedom_divides_by_zero_as_torch():
    with pytest.warns(RuntimeWarning, match="no degrees of freedom"):
        assert tg.tensor([1.0, 2.0]).var(correction=2).item() == math.inf
    with pytest.warns(RuntimeWarning, match="no degrees of freedom"):
        assert math.isnan(tg.tensor([1.0]).var().item())


def test_norm_orders_like_torch():
    a = tg.tensor([[0.0, -2.0, 3.0], [1.0, 0.0, -4.0]], dtype=tg.float64)
    assert a.norm("fro").item() == pytest.approx(math.sqrt(30)) and a.norm(None).item() == pytest.approx(math.sqrt(30))
    assert a.norm(0).item() == 4 and a.norm(0, 1).tolist() == [2.0, 2.0]
    assert a.norm(float("inf")).item() == 4 and a.norm(-float("inf"), 1).tolist() == [0.0, 0.0]
    assert a.norm(-1).item() == 0 and a[:, 1:].norm(-1, 1).tolist() == pytest.approx([1.2, 0.0])  # (torch's)
    assert a.norm("nuc").item() == pytest.approx(np.linalg.norm(a.numpy(), "nuc"))  # (the sum of singular values)
    b = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_allclose(b.norm("nuc", (1, 2)).numpy(), [np.linalg.norm(m, "nuc") for m in b.numpy()])
    with pytest.raises(ValueError, match="norm: the 'nuc' norm of a tensor of shape \\(2, 3, 4\\) needs dim"):
        b.norm("nuc")
    with pytest.raises(ValueError, match="norm: p must be"):
        a.norm("max")


def test_norm_takes_torchs_dtype_argument(device):
    """Tensor.norm / tg.norm(..., dtype=): the input cast to a float dtype no narrower first, as torch's (it was an
    unexpected keyword); the gradient comes back in the input's dtype."""
    torch = pytest.importorskip("torch")
    v = np.array([[3.0, -4.0, 0.1], [1.0, 2.0, -0.3]], np.float32)
    x = tg.tensor(v, device=device, requires_grad=True)
    tx = torch.tensor(v, requires_grad=True)
    for args, kwargs in (((), {"dtype": tg.float64}), ((1, 1), {"dtype": np.float64}),
                         (("fro", None, True, tg.float64), {}), ((float("inf"),), {"dtype": tg.float64}),
                         (("nuc",), {"dtype": tg.float64})):
        tkwargs = {k: torch.float64 for k in kwargs}
        targs = tuple(torch.float64 if a is tg.float64 else a for a in args)
        y, ty = x.norm(*args, **kwargs), tx.norm(*targs, **tkwargs)
        assert y.dtype == np.float64 and y.shape == tuple(ty.shape)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
        (g,), (tgr,) = tg.grad(y.sum(), x), torch.autograd.grad(ty.sum(), tx)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g.numpy(), tgr.numpy(), rtol=1e-6)
    assert tg.norm(x, 3, dtype=tg.float64).item() == pytest.approx(torch.norm(tx, 3, dtype=torch.float64).item())
    half = tg.tensor(v.astype(np.float16), device=device)
    assert half.norm(dtype=tg.float32).dtype == np.float32
    with pytest.raises(TypeError, match="norm: the input's dtype torch.float32 does not convert to "
                                        "dtype torch.float16"):
        x.norm(dtype=tg.float16)
    with pytest.raises(TypeError, match="norm: expected a floating point tensor"):
        tg.tensor([3, 4], device=device).norm(dtype=tg.float32)


def test_number_to_tensor_power_is_exact_and_keeps_integers(device):
    """b ** x is a power, not exp(x log b) (which gave 1000.0001 for 10 ** 3.0 in float32); an integer base to
    an integer or bool exponent stays an integer, numpy's integers too, and a base the exponent's dtype cannot
    hold wraps into it first, as in torch: 200 is -56 in int8, (-56)^2 = 3136 = 64 (mod 256); 300 is 44 in
    uint8, 44^2 = 1936 = 144 (mod 256)."""
    def t(a):
        return tg.tensor(a, device=device)

    assert (10 ** t([1.0, 3.0])).tolist() == [10.0, 1000.0]
    assert (2 ** t(np.array([3.0], np.float16))).item() == 8.0
    assert (0.5 ** t(np.array([2.0, 3.0], np.float16))).tolist() == [0.25, 0.125]
    for base, e, want in ((2, t([True, False]), [2, 1]), (np.int64(2), t([1, 2]), [2, 4]),
                          (2, t(np.array([3, 1], np.int32)), [8, 2]), (3, t(np.array([2], np.uint8)), [9]),
                          (200, t(np.array([2], np.int8)), [64]), (300, t(np.array([2], np.uint8)), [144]),
                          (3, t([-1, 0, 2]), [0, 1, 9])):
        out = base ** e
        assert out.dtype == (np.int64 if e.dtype.kind == "b" else e.dtype) and out.tolist() == want
    with pytest.raises(ValueError, match=r"pow: integers to negative integer powers are not allowed "
                                         r"\(torch.uint8 \*\* -1\)"):
        tg.tensor(np.array([1, 2], np.uint8)) ** -1


def test_integer_tensor_to_negative_integer_tensor_powers_truncate_as_torch():
    """torch raises only for a negative Python number as the exponent; an integer exponent tensor's negative entries
    give 1 / a^|b| truncated toward zero: 1 for a = 1, -1 for a = -1 and b odd (1 for b even), 0 otherwise (0 too)
    (numpy raised 'Integers to negative integer powers are not allowed')."""
    a = tg.tensor([2, 3, 1, -1, -1, 0, -2])
    b = tg.tensor([-1, 2, -5, -3, -2, -1, -1])
    assert (a ** b).tolist() == [0, 9, 1, -1, 1, 0, 0] and (a ** b).dtype == np.int64
    assert (a ** tg.tensor(-2)).tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert ((-1) ** b).tolist() == [-1, 1, -1, -1, 1, -1, -1] and (0 ** b).tolist() == [0] * 7
    out = tg.tensor(np.array([1, 2, 255], np.uint8)) ** tg.tensor(np.array([-1, -2, 1], np.int8))
    assert out.dtype == np.int16 and out.tolist() == [1, 0, 255]


def test_bool_powers_keep_torchs_dtypes():
    """torch: a bool tensor to a bool number is bool (x ** True is x, x ** False all True; pow_ too), to an int number
    int64; a bool number to an integer tensor keeps the tensor's dtype; two bools are refused (numpy gave int8, and
    True ** an int tensor float32)."""
    b = tg.tensor([True, False])
    assert (b ** True).dtype == np.bool_ and (b ** True).tolist() == [True, False]
    assert (b ** False).tolist() == [True, True] and (b ** False).dtype == np.bool_
    assert (b ** 2).dtype == np.int64 and (b ** 2).tolist() == [1, 0] and (b ** np.int16(2)).dtype == np.int64
    assert b.clone().pow_(True).tolist() == [True, False]
    e = tg.tensor(np.array([0, 3], np.int8))
    assert (True ** e).dtype == np.int8 and (True ** e).tolist() == [1, 1]
    assert (False ** e).dtype == np.int8 and (False ** e).tolist() == [1, 0]
    for f in (lambda: b ** b, lambda: b ** tg.tensor(True), lambda: True ** b):
        with pytest.raises(TypeError, match="pow: not implemented for .*bool"):
            f()


def test_grad_modes_decorate_generators_and_bare():
    """As torch: the mode holds inside a decorated generator's body on each resume, not in its caller between
    items; no_grad and enable_grad also decorate without parentheses."""
    x = tg.tensor([1.0], requires_grad=True)

    @tg.no_grad()
    def gen():
        sent = yield (x * 2).requires_grad
        yield (x * 3).requires_grad, sent, tg.is_grad_enabled()
        return "done"

    g = gen()
    assert next(g) is False and tg.is_grad_enabled()
    assert g.send("hi") == (False, "hi", False) and tg.is_grad_enabled()
    with pytest.raises(StopIteration, match="done"):
        next(g)

    @tg.no_grad
    def doubled(t):
        return t * 2

    @tg.enable_grad
    def tripled(t):
        return t * 3

    assert not doubled(x).requires_grad and doubled.__name__ == "doubled"
    with tg.no_grad():
        assert tripled(x).requires_grad
    with pytest.raises(TypeError, match="no_grad: takes no argument"):
        tg.no_grad(False)


def test_a_decorated_generator_passes_throw_and_close_through_in_its_mode():
    seen = []

    @tg.no_grad()
    def gen():
        try:
            yield 1
        except KeyError:
            seen.append(("caught", tg.is_grad_enabled()))
            yield 2
        finally:
            seen.append(("closed", tg.is_grad_enabled()))

    g = gen()
    assert next(g) == 1 and g.throw(KeyError("k")) == 2 and tg.is_grad_enabled()
    g.close()
    assert seen == [("caught", False), ("closed", False)] and tg.is_grad_enabled()
    g = gen()
    next(g)
    with pytest.raises(ValueError, match="not caught"):
        g.throw(ValueError("not caught"))
    assert tg.is_grad_enabled()


def test_zero_d_inputs_equality_with_none_and_containment():
    x = tg.tensor(5.0, requires_grad=True)
    y = x.gather(0, tg.tensor(0)) + x.index_select(0, tg.tensor([0]))  # (torch takes a 0-d x as one element)
    assert y.shape == () and y.item() == 10.0
    y.backward()
    assert x.grad.item() == 2.0
    with pytest.raises(IndexError, match="unbind: a 0-d tensor"):
        x.unbind(0)
    with pytest.raises(IndexError, match=r"index_select: a 0-d tensor takes an index of one value, got shape \(2,\)"):
        x.index_select(0, tg.tensor([0, 0]))
    with pytest.raises(IndexError, match="index_select: dim 2 is out of range"):
        tg.arange(3).index_select(2, tg.tensor([-1]))
    assert tg.tensor([[1, 5], [7, 2]]).argmax(keepdim=True).tolist() == [[2]]
    t = tg.tensor([[1, 2], [3, 4]])
    assert (t == None) is False and (t != None) is True and t in [None, t]  # noqa: E711
    assert 3 in t and 5 not in t and tg.tensor([3, 4]) in t
    with pytest.raises(TypeError, match="in: a Tensor can be searched for a number or a Tensor"):
        "a" in t
    assert tg.tensor([1, 2, 3]).masked_fill(tg.tensor([True, False, True]), 1.5).tolist() == [1, 2, 1]  # int64 kept
    assert tg.full((2,), np.int64(3)).dtype == np.int64 and tg.full((2,), np.True_).dtype == np.bool_
    with pytest.raises(ValueError, match=r"clamp: the input \(2, 3\) and the bounds \[\(4,\)\] do not broadcast"):
        tg.randn(2, 3).clamp(tg.randn(4))


def test_more_torch_rules_requires_grad_clamp_index_select_and_grad_memory():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    assert y.requires_grad_() is y and y.requires_grad  # a non-leaf that requires grad: a no-op, as torch
    with pytest.raises(RuntimeError, match="only be changed on a leaf"):
        y.requires_grad_(False)
    assert tg.tensor([True, False]).clamp(2, 5).tolist() == [2, 2]  # int64: bool would have read [True, True]
    for no_bounds in (lambda t: t.clamp(), lambda t: t.clip_(), lambda t: t.clamp_(None, None), tg.clip):
        with pytest.raises(ValueError, match="clamp: at least one of min and max must be given"):  # (was t)
            no_bounds(tg.ones(2))
    with pytest.raises(IndexError, match=r"index_select: index values must lie in 0\.\.2 .* got -1"):
        x.index_select(0, tg.tensor([0, -1]))
    with pytest.raises(ValueError, match="index_select: index must be a 0-d or 1-D integer tensor, "
                                         ".* dtype torch.bool"):
        x.index_select(0, tg.tensor([True, False, True]))
    x.sum().backward(create_graph=True)  # sum's gradient is a broadcast view; .grad gets memory of its own
    with tg.no_grad():
        x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_torch_method_names_for_operators_and_new_tensors():
    a = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([3.0, 2.0, 1.0], dtype=tg.float64)
    for got, want in ((a.add(b), [4, 4, 4]), (a.add(b, alpha=2), [7, 6, 5]), (a.sub(b), [-2, 0, 2]),
                      (a.sub(b, alpha=0.5), [-0.5, 1, 2.5]), (a.mul(b), [3, 4, 3]), (a.div(b), [1 / 3, 1, 3]),
                      (a.neg(), [-1, -2, -3])):
        np.testing.assert_allclose(got.numpy(), want)
    a.add(b, alpha=2).mul(b).sum().backward()  # d/da sum((a + 2b) b) = b
    assert a.grad.tolist() == [3.0, 2.0, 1.0]
    assert [f(b).tolist() for f in (a.eq, a.ne, a.lt, a.le, a.gt, a.ge)] == [
        [False, True, False], [True, False, True], [True, False, False], [True, True, False],
        [False, False, True], [False, True, True]]
    c = tg.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert c.isnan().tolist() == [False, True, False, False] and c.isinf().tolist() == [False, False, True, True]
    assert c.isfinite().tolist() == [True, False, False, False] and tg.tensor([1, 2]).isfinite().tolist() == [True] * 2
    z = a.new_zeros(2, 3)
    assert z.dtype == np.float64 and z.shape == (2, 3) and not z.requires_grad and z.numpy().sum() == 0
    assert a.new_ones((4,), dtype=tg.int64).tolist() == [1, 1, 1, 1]
    full = a.new_full((2,), 5)
    assert full.dtype == np.float64 and full.tolist() == [5.0, 5.0] and not full.requires_grad
    assert tg.tensor([1, 2]).new_full([3], 5.5).tolist() == [5, 5, 5]  # (the int64 of self, as torch)
    assert a.new_full((), 2, dtype=tg.int32).dtype == np.int32 and a.new_full((), 2).shape == ()
    assert a.new_full((2,), 1.0, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="new_full: size must be a tuple or list of ints, got int"):
        a.new_full(2, 1.0)
    data = np.array([1, 2], dtype=np.int32)
    new = a.new_tensor(data)
    assert new.dtype == np.float64 and new.tolist() == [1.0, 2.0] and not new.requires_grad
    new = tg.tensor([7], dtype=tg.int32).new_tensor(data)
    data[0] = 9  # (a copy, as torch's)
    assert new.dtype == np.int32 and new.tolist() == [1, 2]
    assert tg.tensor([1, 2]).new_tensor([1.5, 2]).tolist() == [1, 2]  # (self's int64, as torch)
    assert a.new_tensor([1, 2], dtype=tg.int64).dtype == np.int64 and a.new_tensor(3).shape == ()
    with pytest.warns(UserWarning, match="copy construct"):  # (torch's note)
        new = a.new_tensor(a, requires_grad=True)
    assert new.requires_grad and new.is_leaf and new.array is not a.array
    assert tg.arange(6).view_as(tg.ones(2, 3)).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert tg.arange(6).reshape_as(tg.ones(3, 2)).shape == (3, 2)


def test_new_empty():
    """torch's new_empty: size as ints or one tuple/list, this tensor's dtype and device unless given, requires_grad
    by keyword (floating dtypes only); filled with zeros here, as tg.empty."""
    a = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    e = a.new_empty(2, 3)
    assert e.dtype == np.float64 and e.shape == (2, 3) and e.device == a.device and not e.requires_grad and e.is_leaf
    assert a.new_empty((4,)).shape == (4,) and a.new_empty([0, 2]).shape == (0, 2) and a.new_empty(()).shape == ()
    ints = tg.tensor([1, 2], dtype=tg.int32).new_empty(3)
    assert ints.dtype == np.int32 and not ints.numpy().any()
    assert a.new_empty(2, dtype=tg.int64).dtype == np.int64 and a.new_empty(2, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="Only Tensors of floating point"):
        a.new_empty(2, dtype=tg.int64, requires_grad=True)
    with pytest.raises(ValueError, match="empty: sizes must be non-negative"):
        a.new_empty(-1)


def test_randint_bounds_fit_the_dtype_and_are_integers():
    # torch refuses bounds a dtype cannot hold ("to - 1 is out of bounds"); numpy's cast would wrap them around
    for low, high, dtype in ((0, 300, np.int8), (-1, 2, np.uint8), (0, 3, np.bool_), (0, 2 ** 40, np.int32)):
        with pytest.raises(ValueError, match="randint: .* does not fit"):
            tg.randint(low, high, (4,), dtype=dtype)
    tg.manual_seed(0)
    assert set(tg.randint(0, 2, (200,), dtype=np.bool_).tolist()) == {False, True}
    assert set(tg.randint(-128, 128, (4000,), dtype=np.int8).tolist()) == set(range(-128, 128))
    with pytest.raises(TypeError, match="randint: low and high must be integers"):
        tg.randint(2.5, (3,))
    k = tg.randint(high=5, size=(100,))  # torch's keyword form, low = 0
    assert k.shape == (100,) and set(k.tolist()) <= set(range(5))


def test_multinomial_without_replacement_refuses_more_samples_than_categories_even_with_no_rows():
    with pytest.raises(ValueError, match="only 3 categories"):  # (torch: cannot sample n_sample > prob_dist.size(-1))
        tg.multinomial(tg.zeros(0, 3), 5)
    assert tg.multinomial(tg.zeros(0, 3), 5, replacement=True).shape == (0, 5)
    assert tg.multinomial(tg.zeros(0, 3), 3).shape == (0, 3)


def test_hook_and_split_methods_take_torchs_keyword_names():
    """torch's Tensor.register_hook(hook), register_post_accumulate_grad_hook(hook) and Tensor.split(split_size)."""
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(hook=lambda t: seen.append(t.grad.tolist()))
    y = x * 2
    y.register_hook(hook=lambda g: g * 10)
    y.sum().backward()
    assert x.grad.tolist() == [20.0, 20.0, 20.0] and seen == [[20.0, 20.0, 20.0]]
    for size in (2, [1, 2]):
        assert [p.tolist() for p in x.split(split_size=size)] == [p.tolist() for p in x.split(size)]


def test_size_taking_methods_and_creators_take_torchs_keyword():
    """torch's keyword forms of the *sizes methods (flip/tile/permute(dims=), reshape(shape=), view(size=),
    repeat(repeats=), expand(size=), new_zeros/new_ones/new_empty(size=)) and creators (zeros/ones/empty/rand/
    randn(size=)) equal their positional forms; both forms at once, or neither, is a TypeError naming the op."""
    a = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(a)
    cases = [("flip", "dims", (0, 1), np.flip(a, (0, 1))), ("tile", "dims", (2,), np.tile(a, 2)),
             ("permute", "dims", (1, 0), a.T), ("reshape", "shape", (3, 2), a.reshape(3, 2)),
             ("view", "size", (6,), a.reshape(6)), ("repeat", "repeats", (2, 1), np.tile(a, (2, 1))),
             ("new_zeros", "size", (2,), np.zeros(2)), ("new_ones", "size", (2,), np.ones(2)),
             ("new_empty", "size", (2,), np.zeros(2))]
    for op, name, sizes, want in cases:
        method = getattr(x, op)
        for got in (method(**{name: sizes}), method(**{name: list(sizes)}), method(*sizes), method(sizes)):
            np.testing.assert_array_equal(got.numpy(), want, err_msg=op)
        with pytest.raises(TypeError, match=rf"{op}: got {name} twice"):
            method(*sizes, **{name: sizes})
        with pytest.raises(TypeError, match=rf"{op}: missing the {name} argument"):
            method()
    np.testing.assert_array_equal(x[:1].expand(size=(4, 3)).numpy(), np.broadcast_to(a[:1], (4, 3)))
    assert x[0, 0].view(size=()).shape == () and x[0, 0].reshape(shape=(1, 1)).shape == (1, 1)
    assert x.view(dtype=tg.int64).dtype == np.int64 and x.view(tg.int64).tolist() == a.view(np.int64).tolist()
    with pytest.raises(TypeError, match="view: expected a shape or a dtype"):
        x.view(size=(6,), dtype=tg.int64)
    assert x.new_full(size=(2,), fill_value=3.0).tolist() == [3.0, 3.0]
    for op in ("zeros", "ones", "empty", "rand", "randn"):
        f = getattr(tg, op)
        assert f(size=(2, 3)).shape == f(2, 3).shape == f([2, 3]).shape == (2, 3)
        assert f(size=()).shape == ()
        with pytest.raises(TypeError, match=rf"{op}: missing the size argument"):
            f()
        with pytest.raises(TypeError, match=rf"{op}: got size twice"):
            f(2, size=(2,))
    tg.manual_seed(0)
    r = tg.randn(size=(2, 3))
    tg.manual_seed(0)
    np.testing.assert_array_equal(r.numpy(), tg.randn(2, 3).numpy())
    with pytest.raises(TypeError, match="flip: dims= must be a tuple or list of ints, got int"):
        x.flip(dims=0)
    np.testing.assert_array_equal(x.sum(dim=(0, 1)).numpy(), a.sum())
    np.testing.assert_array_equal(x.mean(dim=(0, 1)).numpy(), a.mean())


def test_type_and_numpy_take_torchs_arguments():
    """x.type() is torch's type string ('torch.FloatTensor', ...); x.type(dtype) and x.type('torch.XTensor')
    cast (itself when already of it); numpy(force=True) is numpy()."""
    x = tg.tensor([1.5, -2.0])
    names = {np.float32: "torch.FloatTensor", np.float64: "torch.DoubleTensor", np.float16: "torch.HalfTensor",
             np.int64: "torch.LongTensor", np.int32: "torch.IntTensor", np.int16: "torch.ShortTensor",
             np.int8: "torch.CharTensor", np.uint8: "torch.ByteTensor", np.bool_: "torch.BoolTensor"}
    for dt, name in names.items():
        assert x.astype(dt).type() == name
        assert x.type(name).dtype == dt and x.type(dtype=dt).dtype == dt and x.type(dt).dtype == dt
    assert x.type(tg.float32) is x and x.type("torch.FloatTensor") is x
    assert x.type(tg.int64).tolist() == x.astype(np.int64).tolist()
    with pytest.raises(ValueError, match="type: invalid type 'float64'"):
        x.type("float64")
    np.testing.assert_array_equal(x.numpy(force=True), x.numpy())


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")  # (torch's)
def test_numpy_ufuncs_take_tensors_as_torchs_do():
    """np.isnan(grad_norm) (WaveRNN's and many training loops' check of clip_grad_norm_'s result), np.sqrt(t) and
    the like run on the tensor's data and give a Tensor back, booleans as uint8, as torch's __array_wrap__; ours
    raised numpy's 'operand does not support ufuncs'. `ndarray op Tensor` stays the Tensor's differentiable
    reflected operator."""
    torch = pytest.importorskip("torch")
    cases = [lambda T: np.isnan(T.tensor(1.5)), lambda T: np.isfinite(T.tensor([1.0, float("inf")])),
             lambda T: np.sqrt(T.tensor([1.0, 4.0])), lambda T: np.exp(T.tensor(1.0, dtype=T.float64)),
             lambda T: np.maximum(T.tensor([1.0, 4.0]), 2), lambda T: np.abs(T.tensor([-1, 2])),
             lambda T: np.add(np.ones(2), T.tensor([1.0, 4.0])), lambda T: np.add.reduce(T.tensor([1.0, 4.0])),
             lambda T: np.equal(T.tensor([1, 2]), T.tensor([1, 3])), lambda T: np.float64(2.0) * T.tensor([1.0, 4.0])]
    for case in cases:
        ours, theirs = case(tg), case(torch)
        assert isinstance(ours, tg.Tensor) and str(ours.dtype) == str(theirs.dtype), (ours, theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours, theirs = np.divmod(tg.tensor([1.0, 4.0]), 3), np.divmod(torch.tensor([1.0, 4.0]), 3)
    assert [o.tolist() for o in ours] == [t.tolist() for t in theirs]
    if np.isnan(tg.tensor(float("nan"))):
        pass
    else:
        raise AssertionError("np.isnan(nan) is false")
    out = np.zeros(2, bool)
    assert np.isnan(tg.tensor([1.0, float("nan")]), out=out) is out and out.tolist() == [False, True]
    x = tg.tensor([1.0, 4.0], requires_grad=True)
    y = np.array([2.0, 3.0]) * x + np.float64(1.0) / x - np.ones(2) ** x
    assert isinstance(y, tg.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 - 1, 3 - 1 / 16])
    assert (np.array([1.0, 5.0]) < tg.tensor([2.0, 3.0])).tolist() == [True, False]
    for T in (torch, tg):  # (an array's in-place operator with a tensor: a TypeError, the array unchanged)
        a = np.zeros(2)
        with pytest.raises(TypeError):
            a += T.ones(2)
        assert a.tolist() == [0.0, 0.0]


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")  # (torch's)
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_numpy_functions_wrap_their_results_of_tensors_as_torchs():
    """np.clip(t, 0, 1), np.argmax(t), np.round(t, 1), np.cumsum(t) (numpy's functions that compute on the array
    and wrap the result with the argument's __array_wrap__) give a Tensor, as torch's; ours gave the bare array or
    numpy scalar. Functions that do not wrap (np.concatenate, np.dot) stay numpy's."""
    torch = pytest.importorskip("torch")
    cases = [lambda T: np.clip(T.tensor([0.5, 2.0]), 0, 1), lambda T: np.argmax(T.tensor([1.0, 3.0, 2.0])),
             lambda T: np.round(T.tensor([1.26]), 1), lambda T: np.cumsum(T.tensor([1.0, 2.0])),
             lambda T: np.argsort(T.tensor([3.0, 1.0])), lambda T: np.squeeze(T.tensor([[1.0]]))]
    for case in cases:
        ours, theirs = case(tg), case(torch)
        assert isinstance(ours, tg.Tensor) and str(ours.dtype) == str(theirs.dtype), (ours, theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for case in (lambda T: np.concatenate([T.tensor([1.0]), T.tensor([2.0])]),
                 lambda T: np.dot(T.tensor([1.0, 2.0]), T.tensor([3.0, 4.0]))):
        ours, theirs = case(tg), case(torch)
        assert type(ours) is type(theirs) and np.array_equal(ours, theirs)


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")  # (torch's)
def test_numpy_functions_refuse_a_tensor_that_requires_grad_as_torchs(device):
    """np.exp(w), np.add(w, 1), np.isnan(w), np.clip(w, 0, 1) of a tensor that requires grad raise torch's
    RuntimeError; ours gave a Tensor without the graph (requires_grad False), a silent detach. `ndarray op w` stays
    the differentiable reflected operator, and a detached tensor still works."""
    torch = pytest.importorskip("torch")
    cases = [lambda w: np.exp(w), lambda w: np.add(w, 1), lambda w: np.isnan(w), lambda w: np.clip(w, 0, 1),
             lambda w: np.negative(w * 2), lambda w: np.add.reduce(w), lambda w: np.cumsum(w)]
    for case in cases:
        with pytest.raises(RuntimeError, match="Can't call numpy"):
            case(torch.tensor([0.5, 2.0], requires_grad=True))
        with pytest.raises(RuntimeError, match="Can't call numpy"):
            case(tg.tensor([0.5, 2.0], requires_grad=True, device=device))
        assert case(tg.tensor([0.5, 2.0], requires_grad=True, device=device).detach()).requires_grad is False
    w = tg.tensor([0.5, 2.0], requires_grad=True, device=device)
    assert (np.array([1.0, 2.0]) * w).requires_grad


def test_numpy_ufunc_at_refuses_a_tensor_to_write_into_as_torchs(device):
    """np.add.at(t, idx, v) raises numpy's TypeError with torch's tensors; ours wrote into the tensor's array in
    place, past its version counter and autograd. An array written with a tensor's values still works."""
    torch = pytest.importorskip("torch")
    for T, kw in ((torch, {}), (tg, dict(device=device))):
        t = T.tensor([1.0, 2.0], dtype=T.float64, **kw)
        with pytest.raises(TypeError):
            np.add.at(t, [0], 1.0)
        assert t.tolist() == [1.0, 2.0]
        a = np.zeros(2)
        np.add.at(a, [0], T.tensor(1.5, dtype=T.float64, **kw))
        assert a.tolist() == [1.5, 0.0]


def test_type_with_a_host_type_name_moves_a_cuda_tensor_to_the_cpu(monkeypatch):
    """torch's x.cuda().type('torch.DoubleTensor') is a CPU tensor (the legacy names carry the device); ours stayed
    on the GPU. Simulated on the CPU with a stand-in 'cupy' whose arrays are an ndarray subclass (as test_errors
    does), which only copies to the host."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        def get(self):
            return self.view(np.ndarray).copy()

    class FakeCupy:
        ndarray = FakeGPUArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    x = tg.Tensor(np.array([1.5, -2.0], np.float32).view(FakeGPUArray))
    assert x.type() == "torch.cuda.FloatTensor"
    for name, dtype in (("torch.DoubleTensor", np.float64), ("torch.FloatTensor", np.float32)):
        y = x.type(name)
        assert (y.device, y.dtype, y.tolist()) == ("cpu", dtype, [1.5, -2.0])
    assert x.type(tg.float64).device == "cuda"


def test_type_names_carry_the_device(device):
    x = tg.tensor([1.5, -2.0], device=device)
    assert x.type() == ("torch.cuda.FloatTensor" if device == "cuda" else "torch.FloatTensor")
    assert x.type("torch.DoubleTensor").device == "cpu" and x.type(tg.float64).device == device
    if device == "cuda":
        y = x.cpu().type("torch.cuda.LongTensor")
        assert (y.device, y.dtype, y.tolist()) == ("cuda", np.int64, [1, -2])
        assert x.type("torch.cuda.FloatTensor") is x


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_unique_consecutive_keeps_the_first_of_each_run(device, dim):
    """unique_consecutive's values, inverse and counts against the runs of equal neighbours (elements, or slices
    along dim; nan equal to nothing, so a run of its own), int64 on the input's device; a 0-d input is one run."""
    a = np.array([[1.0, 1.0, np.nan], [1.0, 1.0, np.nan], [3.0, 3.0, 2.0], [3.0, 3.0, 2.0]])
    t = tg.tensor(a, device=device)
    rows = a.reshape(-1, 1) if dim is None else np.moveaxis(a, dim, 0).reshape(a.shape[dim], -1)
    runs = []
    for i in range(len(rows)):
        if i and (rows[i] == rows[i - 1]).all():
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    rows = a.reshape(-1) if dim is None else np.moveaxis(a, dim, 0)
    values, inverse, counts = tg.unique_consecutive(t, return_inverse=True, return_counts=True, dim=dim)
    expected = rows[[s for s, _ in runs]]
    np.testing.assert_array_equal(values.numpy(), expected if dim is None else np.moveaxis(expected, 0, dim))
    assert counts.tolist() == [n for _, n in runs] and counts.dtype == np.int64 and counts.device == device
    assert inverse.tolist() == np.repeat(np.arange(len(runs)), [n for _, n in runs]).reshape(
        a.shape if dim is None else -1).tolist()
    assert t.unique_consecutive(dim=dim).shape == values.shape
    assert [o.tolist() for o in tg.unique_consecutive(tg.tensor(2.0), True, True)] == [[2.0], 0, [1]]
    with pytest.raises(ValueError, match="unique_consecutive: shape \\(2, 0\\) has an empty dim other than dim 0"):
        tg.unique_consecutive(tg.zeros(2, 0), dim=0)
    with pytest.raises(TypeError, match="unique_consecutive: return_counts must be a bool"):
        tg.unique_consecutive(t, return_counts=1)


def test_finfo_iinfo_and_typename_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("float16", "float32", "float64"):
        ours, theirs = tg.finfo(getattr(tg, name)), torch.finfo(getattr(torch, name))
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
        assert repr(ours) == repr(theirs)
    for name in ("complex64", "complex128"):  # (its parts', as torch's)
        assert repr(tg.finfo(getattr(tg, name))) == repr(torch.finfo(getattr(torch, name)))
    for name in ("int8", "int16", "int32", "int64", "uint8"):
        ours, theirs = tg.iinfo(getattr(tg, name)), torch.iinfo(getattr(torch, name))
        assert (ours.bits, ours.max, ours.min, ours.dtype, repr(ours)) == (
            theirs.bits, theirs.max, theirs.min, theirs.dtype, repr(theirs))
    assert tg.finfo().dtype == "float32" and tg.finfo(tg.float64) == tg.finfo(np.float64)
    for info, dtype in ((tg.finfo, tg.int32), (tg.iinfo, tg.float32), (tg.iinfo, tg.bool_)):
        with pytest.raises(TypeError, match=info.__name__):
            info(dtype)
    assert tg.typename(tg.zeros(2)) == torch.typename(torch.zeros(2)) == "torch.FloatTensor"
    assert tg.typename(tg.zeros(2, dtype=tg.int64)) == "torch.LongTensor"
    assert tg.typename(3) == "int" and tg.typename(tg.nn.Linear(1, 1)) == "tinygrad_rnn.nn.layers.Linear"


def test_seed_initial_seed_and_rng_state():
    tg.manual_seed(7)
    assert tg.initial_seed() == 7
    s = tg.seed()
    assert tg.initial_seed() == s and 0 <= s < 2 ** 63
    a = tg.rand(4)
    tg.manual_seed(s)
    np.testing.assert_array_equal(tg.rand(4).numpy(), a.numpy())
    backend.rng("cpu").integers(0, 10, dtype=np.int32)  # (leaves half of a 64-bit draw in the state)
    state = tg.get_rng_state()
    assert isinstance(state, tg.Tensor) and state.dtype == np.uint8 and state.shape == (48,)
    first = (tg.randn(3).numpy(), backend.rng("cpu").integers(0, 2 ** 31, dtype=np.int32, size=3))
    tg.randn(5)
    tg.set_rng_state(state)
    np.testing.assert_array_equal(tg.randn(3).numpy(), first[0])
    np.testing.assert_array_equal(backend.rng("cpu").integers(0, 2 ** 31, dtype=np.int32, size=3), first[1])
    with pytest.raises(ValueError, match="set_rng_state"):
        tg.set_rng_state(tg.zeros(3, dtype=tg.uint8))
    tg.manual_seed(3)  # (the state holds the seed: setting it brings back initial_seed, as torch's)
    state = tg.get_rng_state()
    tg.manual_seed(5)
    tg.set_rng_state(state)
    assert tg.initial_seed() == 3
    g = tg.Generator().manual_seed(11)
    gs = g.get_state()
    assert g.manual_seed(12).set_state(gs).initial_seed() == 11
    tg.set_rng_state(tg.Tensor(state.numpy()[:40]))  # (a 40-byte state of an older version: the seed stays)
    assert tg.initial_seed() == 3
    tg.manual_seed(-1)  # (torch's: int(seed), a negative one as its uint64)
    assert tg.initial_seed() == 2 ** 64 - 1 and type(tg.initial_seed()) is int
    a = tg.rand(3).numpy()
    tg.manual_seed(2 ** 64 - 1)
    np.testing.assert_array_equal(tg.rand(3).numpy(), a)
    tg.manual_seed(True)
    assert tg.initial_seed() == 1 and type(tg.initial_seed()) is int


def test_deterministic_algorithms_and_num_threads_settings():
    try:
        assert not tg.are_deterministic_algorithms_enabled()
        tg.use_deterministic_algorithms(True, warn_only=True)
        assert tg.are_deterministic_algorithms_enabled() and tg.is_deterministic_algorithms_warn_only_enabled()
    finally:
        tg.use_deterministic_algorithms(False)
    assert not tg.are_deterministic_algorithms_enabled()
    with pytest.raises(ValueError, match="set_num_threads"):
        tg.set_num_threads(0)
    before = tg.get_num_threads()
    assert before >= 1
    if backend.blas_threads() == 0:
        pytest.skip("numpy's BLAS is not OpenBLAS: set_num_threads refuses it")
    try:
        tg.set_num_threads(1)
        assert tg.get_num_threads() == 1 == backend.blas_threads()
    finally:
        tg.set_num_threads(before)
    assert tg.get_num_threads() == before


def test_asarray_keeps_the_graph_unless_requires_grad_is_false():
    """torch 2.13's asarray: requires_grad=None (the default) keeps a tensor's requires_grad and history through a
    dtype conversion or a copy, so the gradient reaches the original; False detaches (sharing memory)."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for kw in ({"dtype": tg.float64}, {"copy": True}):
        out = tg.asarray(x * 3, **kw)
        assert out.requires_grad and out.grad_fn is not None, kw
        (g,) = tg.autograd.grad(out.sum(), x)
        assert g.tolist() == [3.0, 3.0], kw
    y = x * 2
    detached = tg.asarray(y, requires_grad=False)
    assert not detached.requires_grad and y.requires_grad and detached.array is y.array
    assert not tg.asarray(y, copy=True, requires_grad=False).requires_grad
    assert not tg.asarray(y, dtype=tg.float64, requires_grad=False).requires_grad
    assert not tg.asarray(np.ones(2)).requires_grad and not tg.asarray([1.0]).requires_grad


def test_asarray_frombuffer_and_dlpack_share_memory(device):
    torch = pytest.importorskip("torch")
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert tg.asarray(x) is x and tg.asarray(x, requires_grad=True) is x
    y = x * 2
    assert tg.asarray(y, requires_grad=True) is y and tg.asarray(y, dtype=tg.float64).grad_fn is not None
    assert tg.asarray(y, dtype=tg.float64, requires_grad=True).grad_fn is not None
    host = np.arange(3.0)
    shared, copied = tg.asarray(host, device=None if device == "cpu" else device), tg.asarray(host, copy=True)
    host[0] = 7
    assert copied.tolist() == [0.0, 1.0, 2.0] and shared.tolist()[0] == (7.0 if device == "cpu" else 0.0)
    assert tg.asarray([1, 2], device=device).dtype == np.int64 and tg.asarray(3.5).shape == ()
    assert tg.asarray([1.0], device=device, requires_grad=True).requires_grad
    for bad in (lambda: tg.asarray([1, 2], copy=False), lambda: tg.asarray(host, dtype=tg.float32, copy=False),
                lambda: tg.asarray(x, dtype=tg.float64, copy=False)):
        with pytest.raises(ValueError, match="copy=False"):
            bad()
    buf = bytearray(np.array([1, 2, 3], np.int32).tobytes())
    t = tg.frombuffer(buf, dtype=tg.int32, count=2, offset=4)
    assert t.tolist() == [2, 3] and t.dtype == np.int32
    buf[4] = 9
    assert t.tolist() == [9, 3]
    assert tg.frombuffer(buf, dtype=tg.int32).tolist() == torch.frombuffer(buf, dtype=torch.int32).tolist()
    with pytest.raises(ValueError, match="frombuffer"):
        tg.frombuffer(bytearray(3), dtype=tg.int32)
    z = tg.arange(4.0, device=device)
    if device == "cpu":
        theirs = torch.from_dlpack(z)
        z[1] = 9
        assert theirs.tolist() == [0.0, 9.0, 2.0, 3.0]
        source = torch.arange(3)
        ours = tg.from_dlpack(source)
        source[0] = 5
        assert ours.tolist() == [5, 1, 2] and tg.asarray(source).tolist() == [5, 1, 2]
    back = tg.from_dlpack(backend.module_for(device).arange(3.0))
    assert back.device == device and back.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        x.__dlpack__()
    with pytest.raises(TypeError, match="from_dlpack"):
        tg.from_dlpack([1])


def test_memory_format_channels_last_as_torchs(device):
    """torch's memory formats: x.contiguous(memory_format=tg.channels_last) lays a 4-d tensor out as NHWC (torch's
    strides, the same values, the gradient passing through), is_contiguous(memory_format) reports it, to() and
    Module.to(memory_format=) take it (a conv's 4-d weight converted, 2-d ones left), and a wrong rank raises
    torch's RuntimeError."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    x = tg.tensor(a, requires_grad=True, device=device)
    t = torch.tensor(a, requires_grad=True)
    for fmt, tfmt in ((tg.channels_last, torch.channels_last), (tg.contiguous_format, torch.contiguous_format)):
        y, u = x.contiguous(memory_format=fmt), t.contiguous(memory_format=tfmt)
        assert y.stride() == u.stride() and y.shape == tuple(u.shape)
        for f2, t2 in ((tg.channels_last, torch.channels_last), (tg.contiguous_format, torch.contiguous_format)):
            assert y.is_contiguous(memory_format=f2) == u.is_contiguous(memory_format=t2)
        assert y.is_contiguous() == u.is_contiguous()
        np.testing.assert_array_equal(y.numpy(), u.detach().numpy())
        assert x.to(memory_format=fmt).stride() == t.to(memory_format=tfmt).stride()
    y = x.contiguous(memory_format=tg.channels_last)
    assert y.contiguous(memory_format=tg.channels_last) is y
    w = np.arange(5.0)
    (y * tg.tensor(w, device=device)).sum().backward()
    (t.contiguous(memory_format=torch.channels_last) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert (tg.zeros(1, 3, 1, 1).is_contiguous(memory_format=tg.channels_last)
            == torch.zeros(1, 3, 1, 1).is_contiguous(memory_format=torch.channels_last))
    v = tg.zeros(2, 3, 4, 5, 6, device=device).contiguous(memory_format=tg.channels_last_3d)
    assert v.stride() == torch.zeros(2, 3, 4, 5, 6).contiguous(memory_format=torch.channels_last_3d).stride()
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        tg.zeros(2, 3, 4).contiguous(memory_format=tg.channels_last)
    assert repr(tg.channels_last) == "torch.channels_last" and pickle.loads(pickle.dumps(tg.channels_last)) is \
        tg.channels_last
    m = tg.nn.Sequential(tg.nn.Conv2d(3, 4, 3), tg.nn.Linear(6, 2)).to(device).to(memory_format=tg.channels_last)
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(6, 2)).to(memory_format=torch.channels_last)
    assert [p.stride() for p in m.parameters()] == [p.stride() for p in tm.parameters()]
    out = m(tg.randn(2, 3, 8, 8, device=device).to(memory_format=tg.channels_last))
    out.sum().backward()
    assert m[0].weight.grad.shape == (4, 3, 3, 3)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "randn_like", "rand_like", "full_like",
                                  "clone"])
def test_like_and_clone_take_memory_format_as_torchs(name, device):
    """torch.zeros_like(p, memory_format=torch.preserve_format), the form torch's optimizers (and the custom ones
    copied from them) use: the *_like functions and clone take memory_format; preserve_format (the default) keeps a
    channels-last layout, channels_last / contiguous_format give theirs; torch's strides, values as before."""
    torch = pytest.importorskip("torch")
    extra = (2.0,) if name == "full_like" else ()
    ours = (lambda a, **kw: a.clone(**kw)) if name == "clone" else (lambda a, **kw: getattr(tg, name)(a, *extra, **kw))
    theirs = ((lambda a, **kw: a.clone(**kw)) if name == "clone"
              else (lambda a, **kw: getattr(torch, name)(a, *extra, **kw)))
    x, t = tg.ones(2, 3, 4, 5, device=device), torch.ones(2, 3, 4, 5)
    last = (x.contiguous(memory_format=tg.channels_last), t.contiguous(memory_format=torch.channels_last))
    for a, b in ((x, t), last):
        assert ours(a).stride() == theirs(b).stride()
        for fa, fb in ((tg.preserve_format, torch.preserve_format), (tg.channels_last, torch.channels_last),
                       (tg.contiguous_format, torch.contiguous_format)):
            got = ours(a, memory_format=fa)
            assert got.stride() == theirs(b, memory_format=fb).stride() and got.shape == a.shape
            if name in ("ones_like", "full_like", "clone"):
                np.testing.assert_array_equal(got.numpy(), theirs(b, memory_format=fb).numpy())
    p = tg.nn.Parameter(tg.ones(3, device=device))
    assert ours(p, memory_format=tg.preserve_format).stride() == (1,)


def test_empty_takes_memory_format_as_torchs(device):
    """torch.empty(..., memory_format=torch.contiguous_format), as RWKV's WKV wrapper allocates its output: row-major
    by default and for contiguous_format, channels_last(_3d) laid out so for a rank 4 (5) shape; preserve_format and
    a rank the format does not fit are torch's RuntimeErrors."""
    torch = pytest.importorskip("torch")
    for shape, fmts in (((2, 3), ["contiguous_format"]), ((2, 3, 4, 5), ["contiguous_format", "channels_last"]),
                        ((2, 3, 4, 5, 6), ["channels_last_3d"])):
        assert tg.empty(*shape, device=device).stride() == torch.empty(*shape).stride()
        for fmt in fmts:
            got = tg.empty(shape, dtype=tg.float64, device=device, memory_format=getattr(tg, fmt))
            assert got.stride() == torch.empty(shape, memory_format=getattr(torch, fmt)).stride(), (shape, fmt)
            assert got.shape == shape and got.dtype == tg.float64 and not got.numpy().any()
    assert tg.empty(2, 3, 4, 5, requires_grad=True, memory_format=tg.channels_last).requires_grad
    with pytest.raises(RuntimeError, match="empty: unsupported memory format preserve_format"):
        tg.empty(2, 3, memory_format=tg.preserve_format)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        tg.empty(2, 3, memory_format=tg.channels_last)


def test_code_may_set_its_own_attributes_on_a_tensor_as_torchs():
    """t.update = g on any tensor (learn2learn's update_module marks each parameter so, then reads p.update), as
    torch's tensors allow; copies made by deepcopy keep them; a name never set is still an AttributeError."""
    p = tg.ones(2, requires_grad=True) * 2  # (a non-leaf, as a MAML learner's parameters are after one step)
    p.update = -0.1 * p
    assert p.update.shape == (2,) and copy.deepcopy(p.detach()).__dict__ == {}
    p.update = None
    assert p.update is None
    leaf = tg.zeros(3)
    leaf.tag = "x"
    assert copy.deepcopy(leaf).tag == "x"
    with pytest.raises(AttributeError):
        tg.ones(1).never_set


# ============================================================================ pickle and deepcopy
def _pickled(t):
    return pickle.loads(pickle.dumps(t))


def test_pickle_keeps_data_requires_grad_and_attributes_not_graph_or_grad(device):
    """As torch's: a pickled non-leaf comes back a leaf that requires grad (no graph crosses, e.g. from a
    DataLoader worker), .grad is not pickled, attributes set on the tensor are, and a Parameter stays one."""
    a = tg.tensor([1.0, -2.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    a.grad, a.note = tg.ones(3, dtype=tg.float64, device=device), "kept"
    b = a * 2
    pb, pa = _pickled(b), _pickled(a)
    assert pb.is_leaf and pb.grad_fn is None and pb.requires_grad and pb.device == b.device
    np.testing.assert_array_equal(pb.cpu().numpy(), [2.0, -4.0, 6.0])
    assert pa.grad is None and pa.note == "kept" and pa.requires_grad and pa.dtype is tg.float64
    assert not _pickled(b.detach()).requires_grad
    p = tg.nn.Parameter(tg.zeros(2, device=device), requires_grad=False)
    assert type(_pickled(p)) is tg.nn.Parameter and not _pickled(p).requires_grad
    assert type(_pickled(tg.nn.Buffer(tg.zeros(2, device=device)))) is tg.Tensor  # (torch's Buffer is a Tensor)
    s = copy.copy(a)  # (a shallow copy shares the memory, as torch's)
    s.array[0] = 7.0
    assert float(a.array[0]) == 7.0


def test_pickle_agrees_with_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, tg):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        a.grad = lib.ones(2)
        got = (_pickled(a * 3), _pickled(a))
        if lib is torch:
            want = [(t.is_leaf, t.requires_grad, t.grad is None, t.tolist()) for t in got]
    assert [(t.is_leaf, t.requires_grad, t.grad is None, t.tolist()) for t in got] == want


def test_deepcopy_of_a_leaf_copies_grad_and_attributes_and_of_a_non_leaf_its_graph(device):
    a = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    a.grad, a.tag = tg.ones(2, dtype=tg.float64, device=device), [1]
    c = copy.deepcopy(a)
    assert c.is_leaf and c.requires_grad and c.array is not a.array and c.tag == [1] and c.tag is not a.tag
    np.testing.assert_array_equal(c.grad.cpu().numpy(), [1.0, 1.0])
    assert c.grad.array is not a.grad.array
    b = a * a  # (torch refuses a non-leaf; ours copies its graph, its leaves mapped by the same memo)
    a2, b2 = copy.deepcopy([a, b])
    a2.grad = None
    b2.sum().backward()
    np.testing.assert_array_equal(a2.grad.cpu().numpy(), [2.0, 4.0])
    assert a.grad.tolist() == [1.0, 1.0]


def test_pickle_copy_and_deepcopy_take_complex_tensors(device):
    """As torch's: a complex tensor (a leaf with its .grad, a Parameter) pickles, copies and deep-copies (the rebuild
    had refused complex data)."""
    torch = pytest.importorskip("torch")
    for lib, dev in ((torch, "cpu"), (tg, device)):
        a = lib.tensor([1 + 2j, -3j], dtype=lib.complex128, device=dev, requires_grad=True)
        a.grad = lib.tensor([1j, 2.0], dtype=lib.complex128, device=dev)
        p = lib.nn.Parameter(lib.tensor([0.5 - 1j], dtype=lib.complex128, device=dev))
        got = [(type(r).__name__, r.tolist(), r.requires_grad, None if r.grad is None else r.grad.tolist())
               for t in (a, p) for r in (_pickled(t), copy.copy(t), copy.deepcopy(t))]
        if lib is torch:
            want = got
    assert got == want


def test_deepcopy_keeps_memory_shared_between_views_as_torch(device):
    """As torch's deepcopy (one storage, copied once): a tensor, its views and its detach() deep-copied together
    stay over one memory, in whatever order they are copied; the originals are untouched; strides are kept."""
    torch = pytest.importorskip("torch")
    got = {}
    for lib, dev in ((torch, "cpu"), (tg, device)):
        base = lib.arange(12.0, device=dev).reshape(3, 4)
        view, col, alias = base[1:, ::2], base.t()[2], base.detach()
        c_view, c_base, c_alias, c_col, c_t = copy.deepcopy([view, base, alias, col, base.t()])
        with lib.no_grad():
            c_view.add_(100)
            c_alias[0, 0] = -1
        got[lib] = ([t.tolist() for t in (c_base, c_col, c_t)], base.tolist(), c_t.is_contiguous())
    assert got[tg] == got[torch]


def test_deepcopy_keeps_cuda_memory_shared_between_views(monkeypatch):
    """The deepcopy above on CUDA, simulated on the CPU: a stand-in 'cupy' whose arrays are an ndarray subclass with
    CuPy's device pointer (``.data``: ``ptr`` and the allocation ``mem``) and its constructor over a pointer (what
    backend.strided_view uses). A CuPy tensor and its views were each copied alone, so a change through one copy
    did not show in the others, as it does on the CPU and in torch."""
    from tinygrad_rnn import backend
    mems = {}

    class Mem:
        def __init__(self, owner):
            self.ptr, self.size, self.owner = owner.__array_interface__["data"][0], owner.nbytes, owner

    class Pointer:
        def __init__(self, mem, offset):
            self.mem, self.offset, self.ptr = mem, offset, mem.ptr + offset

        def __add__(self, k):
            return Pointer(self.mem, self.offset + k)

    class FakeGPUArray(np.ndarray):
        def __new__(cls, shape, dtype=float, memptr=None, strides=None):
            owner = memptr.mem.owner.reshape(-1).view(np.uint8)
            return np.ndarray(shape, dtype, owner, memptr.offset, strides).view(cls)

        @property
        def data(self):
            owner = self if self.base is None else self.base
            mem = mems.setdefault(id(owner), Mem(owner))
            return Pointer(mem, self.__array_interface__["data"][0] - mem.ptr)

        def get(self):
            return self.view(np.ndarray).copy()

    class FakeCupy:
        ndarray = FakeGPUArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    owned = np.ndarray.__new__(FakeGPUArray, (12,), np.float64)
    owned[...] = np.arange(12.0)
    base = tg.Tensor(owned).reshape(3, 4)
    assert base.device == "cuda"
    c_view, c_base, c_alias, c_col, c_t = copy.deepcopy([base[1:, ::2], base, base.detach(), base.t()[2], base.t()])
    c_view.array += 100
    c_alias.array[0, 0] = -1
    assert c_base.tolist() == [[-1.0, 1.0, 2.0, 3.0], [104.0, 5.0, 106.0, 7.0], [108.0, 9.0, 110.0, 11.0]]
    assert c_col.tolist() == [2.0, 106.0, 110.0] and c_t.tolist() == c_base.t().tolist() and not c_t.is_contiguous()
    assert base.tolist() == np.arange(12.0).reshape(3, 4).tolist() and c_t.device == "cuda"


def test_t_of_a_vector_or_scalar_is_quiet_and_a_view_as_torchs(device):
    """Tensor.t() of a 1-d or 0-d tensor returns it (a view), with no warning (x.T warns there, t() does not);
    more than 2 dims is torch's RuntimeError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for shape in ((3,), ()):
            x = tg.zeros(shape, device=device)
            assert x.t().shape == shape
        assert tg.zeros((2, 3), device=device).t().shape == (3, 2)
    with pytest.raises(RuntimeError, match="at most 2 dims"):
        tg.zeros((2, 3, 4), device=device).t()
