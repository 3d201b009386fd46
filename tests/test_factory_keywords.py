"""The creation functions' keywords against torch's: layout, pin_memory, out=, generator, requires_grad (and
torch's keyword-only rules), values, dtypes and errors compared with torch in float64."""
import functools

import numpy as np
import pytest

import tinygrad_rnn as tg

torch = pytest.importorskip("torch")

# name: (positional args given the library and an input tensor x, deterministic values?, torch has out=?)
CASES = {
    "empty": (lambda m, x: (2, 3), False, True),
    "zeros": (lambda m, x: (2, 3), True, True),
    "ones": (lambda m, x: ((2, 3),), True, True),
    "full": (lambda m, x: ((2, 3), 1.5), True, True),
    "rand": (lambda m, x: (2, 3), False, True),
    "randn": (lambda m, x: (2, 3), False, True),
    "randint": (lambda m, x: (1, 5, (2, 3)), False, True),
    "randperm": (lambda m, x: (6,), False, True),
    "arange": (lambda m, x: (1, 7, 2), True, True),
    "linspace": (lambda m, x: (0.0, 1.0, 5), True, True),
    "logspace": (lambda m, x: (0.0, 2.0, 5), True, True),
    "eye": (lambda m, x: (3, 4), True, True),
    "normal": (lambda m, x: (0.0, 1.0, (2, 3)), False, True),
    "scalar_tensor": (lambda m, x: (2.5,), True, False),
    "empty_like": (lambda m, x: (x,), False, False),
    "zeros_like": (lambda m, x: (x,), True, False),
    "ones_like": (lambda m, x: (x,), True, False),
    "full_like": (lambda m, x: (x, 2.5), True, False),
    "rand_like": (lambda m, x: (x,), False, False),
    "randn_like": (lambda m, x: (x,), False, False),
    "randint_like": (lambda m, x: (x, 1, 5), False, False),
    "hann_window": (lambda m, x: (5,), True, False),
    "kaiser_window": (lambda m, x: (5,), True, False),
}
GENERATOR = {"rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like", "randint_like"}
FLOAT_KEEPS = {"randint", "randperm", "randint_like"}  # (their default dtype is an integer one, or input's)


def _call(m, name, x, **kw):
    args, _, _ = CASES[name]
    return getattr(m, name)(*args(m, x), **kw)


def _inputs(device):
    return tg.zeros(2, 3, dtype=tg.float64, device=device), torch.zeros(2, 3, dtype=torch.float64)


def _same(ours, theirs, values):
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    if values:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_strided_layout_and_pin_memory_accepted(name, device):
    x, tx = _inputs(device)
    kw = dict(dtype=tg.float64, layout=tg.strided, pin_memory=False)
    ours = _call(tg, name, x, device=device, **kw)
    theirs = _call(torch, name, tx, dtype=torch.float64, layout=torch.strided, pin_memory=False)
    _same(ours, theirs, CASES[name][1])
    assert ours.device == device and ours.layout == tg.strided and not ours.requires_grad
    _same(_call(tg, name, x, dtype=tg.float64, device=device, layout=None),
          _call(torch, name, tx, dtype=torch.float64, layout=None), CASES[name][1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout_must_be_a_layout(name):
    x, tx = _inputs("cpu")
    for m, t in ((tg, x), (torch, tx)):
        with pytest.raises(TypeError, match="layout"):
            _call(m, name, t, layout="strided")


@pytest.mark.parametrize("name", sorted(CASES))
def test_requires_grad_float_and_integer(name, device):
    x, tx = _inputs(device)
    ours = _call(tg, name, x, dtype=tg.float64, device=device, requires_grad=True)
    assert ours.requires_grad and ours.is_leaf
    if name.endswith("_window") or name in ("normal",):
        return
    for m, t, kw in ((tg, x, {"device": device}), (torch, tx, {})):  # (torch's RuntimeError and message)
        if name in ("rand", "randn", "rand_like", "randn_like"):  # (no integer samples, as torch's)
            with pytest.raises(NotImplementedError):
                _call(m, name, t, dtype=m.int64, requires_grad=True, **kw)
            continue
        with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require"):
            _call(m, name, t, dtype=m.int64, requires_grad=True, **kw)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2]))
def test_out(name, device):
    x, tx = _inputs(device)
    out = tg.empty(0, dtype=tg.float64, device=device)
    tout = torch.empty(0, dtype=torch.float64)
    ours = _call(tg, name, x, out=out)
    theirs = _call(torch, name, tx, out=tout)
    assert ours is out and ours.device == device
    _same(ours, theirs, CASES[name][1])
    for m, o in ((tg, tg.empty(0, dtype=tg.float32, device=device)), (torch, torch.empty(0))):
        with pytest.raises(RuntimeError, match="dtype Double does not match dtype of out parameter"):
            _call(m, name, x if m is tg else tx, out=o, dtype=m.float64)


@pytest.mark.parametrize("name", sorted(n for n in CASES if not CASES[n][2]))
def test_no_out_where_torch_has_none(name):
    x, tx = _inputs("cpu")
    for m, t in ((tg, x), (torch, tx)):
        with pytest.raises(TypeError):
            _call(m, name, t, out=m.empty(0))


@pytest.mark.parametrize("name", sorted(GENERATOR))
def test_generator(name, device):
    x, _ = _inputs(device)
    draws = [_call(tg, name, x, device=device, generator=tg.Generator(device).manual_seed(7)) for _ in range(2)]
    np.testing.assert_array_equal(draws[0].numpy(), draws[1].numpy())


@pytest.mark.parametrize("name", ["full", "eye", "tensor", "as_tensor", "zeros_like", "ones_like", "empty_like",
                                  "full_like", "rand_like", "randn_like"])
def test_dtype_is_keyword_only(name):
    """torch's parser takes no positional dtype here (eye(3, 3, dtype) nor tensor(data, dtype))."""
    x, tx = _inputs("cpu")
    positional = {"full": lambda m, t: ((2,), 1.0), "eye": lambda m, t: (3, 3), "tensor": lambda m, t: ([1.0],),
                  "as_tensor": lambda m, t: ([1.0],), "full_like": lambda m, t: (t, 1.0)}.get(name, lambda m, t: (t,))
    for m, t in ((tg, x), (torch, tx)):
        with pytest.raises(TypeError):
            getattr(m, name)(*positional(m, t), m.float64)
        assert str(getattr(m, name)(*positional(m, t), dtype=m.float64).dtype) == "torch.float64"


def test_tensor_takes_pin_memory_not_layout_or_out():
    assert tg.tensor([1.0], pin_memory=False).tolist() == torch.tensor([1.0], pin_memory=False).tolist()
    for m in (tg, torch):
        for kw in ({"layout": m.strided}, {"out": None}):
            with pytest.raises(TypeError):
                m.tensor([1.0], **kw)
        with pytest.raises(TypeError):
            m.as_tensor([1.0], pin_memory=False)


@pytest.mark.parametrize("name", ["zeros", "empty", "zeros_like"])
def test_sparse_coo_layout(name, device):
    x, tx = _inputs(device)
    ours = _call(tg, name, x, dtype=tg.float64, device=device, layout=tg.sparse_coo)
    theirs = _call(torch, name, tx, dtype=torch.float64, layout=torch.sparse_coo)
    assert ours.layout == tg.sparse_coo and theirs.layout == torch.sparse_coo
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype) and ours.device == device
    assert ours._nnz() == theirs._nnz() == 0 and ours.sparse_dim() == theirs.sparse_dim()
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())


@pytest.mark.parametrize("name,error", [("ones", RuntimeError), ("full", RuntimeError), ("full_like", RuntimeError),
                                        ("hann_window", RuntimeError), ("rand", NotImplementedError),
                                        ("randn", NotImplementedError), ("arange", NotImplementedError),
                                        ("eye", NotImplementedError), ("randn_like", NotImplementedError)])
def test_sparse_coo_layout_refused_as_torch(name, error):
    x, tx = _inputs("cpu")
    for m, t in ((tg, x), (torch, tx)):
        with pytest.raises(error):
            _call(m, name, t, layout=m.sparse_coo)


def test_randperm_and_randint_dtype_default_and_out_dtype():
    assert tg.randperm(4).dtype == np.int64 and tg.randint(3, (2,)).dtype == np.int64
    out = tg.empty(0, dtype=tg.int32)
    assert tg.randperm(4, out=out) is out and out.dtype == np.int32 and sorted(out.tolist()) == [0, 1, 2, 3]
    out = tg.empty(0, dtype=tg.int32)
    assert tg.randint(0, 3, (5,), out=out) is out and out.shape == (5,) and out.dtype == np.int32
    tout = torch.empty(0, dtype=torch.int32)
    assert torch.randperm(4, out=tout).dtype == torch.int32


def test_out_with_requires_grad_marks_out():
    for m in (tg, torch):
        out = m.empty(0, dtype=m.float64)
        r = m.zeros(2, out=out, requires_grad=True)
        assert r is out and out.requires_grad and out.is_leaf


SIGNATURE_NAMES = ("empty zeros ones full rand randn randint randperm arange linspace logspace eye tensor as_tensor "
                   "empty_like zeros_like ones_like full_like rand_like randn_like randint_like empty_strided "
                   "scalar_tensor normal hann_window hamming_window blackman_window bartlett_window kaiser_window "
                   "tril_indices triu_indices bernoulli multinomial").split()


@functools.lru_cache(maxsize=None)
def _torch_overloads():
    """{name: [(positional names, keyword-only names)]} from torch's _VariableFunctions.pyi (its parser's
    signatures; inspect.signature gives none for these builtins)."""
    import ast
    import os
    path = os.path.join(os.path.dirname(torch.__file__), "_C", "_VariableFunctions.pyi")
    if not os.path.exists(path):
        pytest.skip("this torch ships no _VariableFunctions.pyi")
    found = {}
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            found.setdefault(node.name, []).append(([x.arg for x in a.posonlyargs + a.args],
                                                    [x.arg for x in a.kwonlyargs]))
    return found


@pytest.mark.parametrize("name", SIGNATURE_NAMES)
def test_keywords_match_torchs_signatures(name):
    """Every keyword torch's signatures take, ours takes (names aside), and those only keyword-only in all of
    torch's overloads are keyword-only here."""
    import inspect
    overloads = _torch_overloads()[name]
    theirs = set().union(*(set(k) for _, k in overloads)) - {"names"}
    positional = set().union(*(set(p) for p, _ in overloads))
    params = inspect.signature(getattr(tg, name)).parameters.values()
    ours_pos = {p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD}
    ours_kw = {p.name for p in params if p.kind == p.KEYWORD_ONLY}
    assert theirs <= ours_pos | ours_kw, sorted(theirs - ours_pos - ours_kw)
    # (the .pyi lists tensor's and as_tensor's dtype as positional, which torch's parser refuses: keyword-only here)
    assert not (ours_pos & (theirs - positional)), sorted(ours_pos & (theirs - positional))


def test_triangle_indices_keywords():
    for m in (tg, torch):
        got = m.tril_indices(3, 3, layout=m.strided, pin_memory=False)
        assert got.tolist() == torch.tril_indices(3, 3).tolist()
        with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require"):
            m.triu_indices(3, 3, requires_grad=True)


def test_bernoulli_and_multinomial_out():
    for m in (tg, torch):
        out = m.empty(0, dtype=m.int64)
        assert m.multinomial(m.ones(2, 3, dtype=m.float64), 2, out=out) is out and tuple(out.shape) == (2, 2)
        out = m.empty(0, dtype=m.float64)
        assert m.bernoulli(m.full((4,), 0.5, dtype=m.float64), out=out) is out and tuple(out.shape) == (4,)
        with pytest.raises(TypeError):
            m.bernoulli(m.full((4,), 0.5, dtype=m.float64), 0.3, out=out)
