"""Property tests for every differentiable op.

Each test draws small random shapes (size-1 dims, 0-d and empty tensors where the op
allows them) and values, checks the forward result against a numpy reference, checks
that every input's gradient has the input's shape, and compares autograd with central
differences in float64 (tg.gradcheck); elementwise, matmul and reduction ops are also
checked to second order (tg.gradgradcheck). Values that would sit on a kink, a tie or
outside an op's domain are excluded by the strategies in strategies.py.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import ops
from strategies import (arrays, broadcast_pair, check_half_rounds_float32_once, check_op, distinct, exact_logsumexp,
                        floats, nonzero, np_axis, positive, reduce_dims, reduced_count, shapes, tensor, with_fixtures)


# ============================================================================ elementwise binary
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.parametrize("op", list(BINARY))
@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_binary_broadcasting(device, op, pair, data):
    sa, sb = pair
    a = data.draw(arrays(sa), label="a")
    b = data.draw(nonzero(sb) if op == "div" else arrays(sb), label="b")
    fn, ref = BINARY[op]
    check_op(fn, ref, [a, b], device, gradgrad=True)


SCALAR_FORMS = {
    "x + c": (lambda x, c: x + c, lambda x, c: x + c),
    "c + x": (lambda x, c: c + x, lambda x, c: c + x),
    "x - c": (lambda x, c: x - c, lambda x, c: x - c),
    "c - x": (lambda x, c: c - x, lambda x, c: c - x),
    "x * c": (lambda x, c: x * c, lambda x, c: x * c),
    "c * x": (lambda x, c: c * x, lambda x, c: c * x),
    "x / c": (lambda x, c: x / c, lambda x, c: x / c),
    "c / x": (lambda x, c: c / x, lambda x, c: c / x),
}


@pytest.mark.parametrize("form", list(SCALAR_FORMS))
@with_fixtures
@given(shape=shapes(min_side=0), c=st.one_of(floats(0.25, 3.0), floats(-3.0, -0.25), st.sampled_from([-3, -1, 1, 2])),
       data=st.data())
def test_python_scalar_constants(device, form, shape, c, data):
    """Reflected and plain forms with a Python int/float constant; the constant gets no gradient."""
    x = data.draw(nonzero(shape) if form == "c / x" else arrays(shape), label="x")
    fn, ref = SCALAR_FORMS[form]
    check_op(lambda t: fn(t, c), lambda a: ref(a, c), [x], device, gradgrad=True)
    assert fn(tensor(x, device), c).dtype == np.float64


@pytest.mark.parametrize("form", list(SCALAR_FORMS))
@given(pair=broadcast_pair(), data=st.data())
def test_numpy_array_constants(form, pair, data):
    """A numpy array on either side (numpy defers `ndarray op Tensor` to the Tensor's reflected op)."""
    sx, sc = pair
    x = data.draw(nonzero(sx) if form == "c / x" else arrays(sx), label="x")
    c = data.draw(nonzero(sc) if form == "x / c" else arrays(sc), label="c")
    fn, ref = SCALAR_FORMS[form]
    out = fn(tensor(x), c)
    assert isinstance(out, tg.Tensor)
    check_op(lambda t: fn(t, c), lambda a: ref(a, c), [x], "cpu", gradgrad=True)


def test_neg():
    x = tensor([1.5, -2.0])
    y = -x
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [-1.5, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, -1.0])


# ============================================================================ pow
INT_POWERS = [-2, -1, 0, 1, 2, 3]
REAL_POWERS = [0.5, -0.5, 1.5, 2.5, -1.25]


@with_fixtures
@given(shape=shapes(min_side=0), p=st.sampled_from(INT_POWERS + [float(p) for p in INT_POWERS]), data=st.data())
def test_pow_integer_scalar_exponent(device, shape, p, data):
    x = data.draw(nonzero(shape, 0.5, 2.0), label="x")  # any sign; 0 excluded for negative powers
    check_op(lambda t: t ** p, lambda a: np.power(a, float(p)), [x], device, gradgrad=True)


def test_power_zero_passes_on_a_zero_gradient_whatever_reaches_it(device):
    """d(x ** 0)/dx = 0 even where the gradient arriving is inf or nan (g * 0 would be nan), as in torch."""
    x = tensor([1.0, 2.0], device)
    ((x ** 0) * tg.tensor([np.inf, 1.0], device=device)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


@with_fixtures
@given(shape=shapes(min_side=0), p=st.sampled_from(REAL_POWERS), data=st.data())
def test_pow_real_scalar_exponent(device, shape, p, data):
    x = data.draw(positive(shape), label="x")
    check_op(lambda t: t.pow(p), lambda a: np.power(a, p), [x], device, gradgrad=True)


@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_pow_tensor_exponent(device, pair, data):
    sa, sb = pair
    base = data.draw(positive(sa, 0.25, 2.5), label="base")
    ex = data.draw(arrays(sb, -2.0, 2.0), label="exponent")
    check_op(lambda a, b: a ** b, np.power, [base, ex], device, gradgrad=True)


@with_fixtures
@given(shape=shapes(min_side=0), base=st.one_of(floats(0.2, 3.0), st.integers(1, 3)), data=st.data())
def test_number_to_tensor_power(device, shape, base, data):
    x = data.draw(arrays(shape, -2.0, 2.0), label="x")
    check_op(lambda t: base ** t, lambda a: np.power(float(base), a), [x], device, gradgrad=True)


@given(pair=broadcast_pair(), data=st.data())
def test_pow_with_numpy_array_operands(pair, data):
    sa, sb = pair
    base = data.draw(positive(sa), label="base")
    ex = data.draw(arrays(sb, -2.0, 2.0), label="exponent")
    check_op(lambda e: base ** e, lambda e: np.power(base, e), [ex], "cpu", gradgrad=True)
    check_op(lambda b: b ** ex, lambda b: np.power(b, ex), [base], "cpu", gradgrad=True)


# ============================================================================ matmul
@st.composite
def matmul_shapes(draw, max_nkm=4, batch_side=3):
    n, k, m = (draw(st.integers(1, max_nkm)) for _ in range(3))
    k = draw(st.sampled_from([k, k, k, 0]))  # an empty inner dim now and then
    a1d, b1d = draw(st.booleans()), draw(st.booleans())
    ba, bb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1,
                                                     max_side=batch_side)).input_shapes
    return ((k,) if a1d else ba + (n, k)), ((k,) if b1d else bb + (k, m))


@with_fixtures
@given(ab=matmul_shapes(), data=st.data())
def test_matmul(device, ab, data):
    """1-D, 2-D and batched N-D operands with numpy's promotion and batch broadcasting."""
    sa, sb = ab
    a, b = data.draw(arrays(sa), label="a"), data.draw(arrays(sb), label="b")
    check_op(lambda x, y: x @ y, np.matmul, [a, b], device)


@with_fixtures
@given(ab=matmul_shapes(max_nkm=3, batch_side=2), data=st.data())
def test_matmul_second_order(device, ab, data):
    sa, sb = ab
    a, b = data.draw(arrays(sa), label="a"), data.draw(arrays(sb), label="b")
    check_op(lambda x, y: x @ y, np.matmul, [a, b], device, gradgrad=True)


@with_fixtures
@given(ab=matmul_shapes(max_nkm=3, batch_side=2), ta=st.booleans(), tb=st.booleans(), data=st.data())
def test_matmul_of_transposed_operands(device, ab, ta, tb, data):
    """MatMul(ta, tb): op(a) @ op(b), op transposing the last two dims of an operand of 2+ dims (what the
    matmul backward and F.linear record instead of a transpose), in the first and second order."""
    sa, sb = ab
    ta, tb = ta and len(sa) > 1, tb and len(sb) > 1
    swap = lambda s, t: s[:-2] + (s[-1], s[-2]) if t else s  # noqa: E731
    a, b = data.draw(arrays(swap(sa, ta)), label="a"), data.draw(arrays(swap(sb, tb)), label="b")
    ref = lambda x, y: np.matmul(x.swapaxes(-1, -2) if ta else x, y.swapaxes(-1, -2) if tb else y)  # noqa: E731
    check_op(lambda x, y: ops.MatMul(ta, tb)(x, y), ref, [a, b], device, gradgrad=True)


@given(ab=matmul_shapes(max_nkm=3, batch_side=2), data=st.data())
def test_matmul_with_numpy_constant(ab, data):
    sa, sb = ab
    a, b = data.draw(arrays(sa), label="a"), data.draw(arrays(sb), label="b")
    check_op(lambda x: x @ b, lambda x: np.matmul(x, b), [a], "cpu")
    check_op(lambda y: a @ y, lambda y: np.matmul(a, y), [b], "cpu")


@with_fixtures
@given(nkm=st.tuples(*[st.sampled_from([0, 1, 2, 3, 3]) for _ in range(3)]), data=st.data())
def test_mm_dot_outer(device, nkm, data):
    """mm of two matrices, dot of two vectors of one length, outer of any two vectors (empty ones too)."""
    n, k, m = nkm
    a, b = data.draw(arrays((n, k)), label="a"), data.draw(arrays((k, m)), label="b")
    check_op(lambda x, y: x.mm(y), np.matmul, [a, b], device, gradgrad=True)
    check_op(tg.mm, np.matmul, [a, b], device)
    u, v, w = data.draw(arrays((k,)), label="u"), data.draw(arrays((k,)), label="v"), data.draw(arrays((m,)), label="w")
    check_op(lambda x, y: x.dot(y), np.dot, [u, v], device, gradgrad=True)
    check_op(tg.dot, np.dot, [u, v], device)
    check_op(lambda x, y: x.outer(y), np.outer, [u, w], device, gradgrad=True)
    check_op(tg.outer, np.outer, [u, w], device)


def test_mm_dot_outer_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"mm: expected \(n, m\) and \(m, p\) matrices, got shapes \(2, 3\) and "
                                         r"\(3,\)"):
        tg.ones(2, 3).mm(tg.ones(3))
    for a, b in (((2, 3), (2, 2)), ((1, 2, 3), (3, 2)), ((3,), (3, 2))):
        with pytest.raises(ValueError, match="mm: expected"):
            tg.mm(tg.ones(a), tg.ones(b))
    with pytest.raises(ValueError, match=r"dot: expected two 1-D tensors of the same length, got shapes \(3,\) and "
                                         r"\(4,\)"):
        tg.ones(3).dot(tg.ones(4))
    for a, b in (((3,), (3, 1)), ((), ()), ((1, 3), (3,))):
        with pytest.raises(ValueError, match="dot: expected two 1-D tensors"):
            tg.dot(tg.ones(a), tg.ones(b))
    with pytest.raises(ValueError, match=r"outer: expected two 1-D tensors, got shapes \(3,\) and \(1, 2\)"):
        tg.ones(3).outer(tg.ones(1, 2))
    with pytest.raises(ValueError, match=r"outer: .*got shapes \(\) and \(2,\)"):
        tg.outer(tg.ones(()), tg.ones(2))
    for f in (lambda: tg.ones(2, 2).mm(tg.ones(2, 2, dtype=tg.float64)), lambda: tg.ones(2).dot(tg.ones(2).double())):
        with pytest.raises(TypeError, match=r"(mm|dot): .* the operands must have the same dtype"):  # (as torch)
            f()
    with pytest.raises(TypeError, match="outer: other must be a Tensor, got ndarray"):
        tg.ones(2).outer(np.ones(2))
    ints = tg.tensor([1, 2, 3])
    assert ints.dot(ints).dtype == np.int64 and ints.dot(ints).item() == 14 and ints.dot(ints).shape == ()
    assert ints.reshape(3, 1).mm(ints.reshape(1, 3)).dtype == np.int64
    assert ints.outer(tg.ones(2)).dtype == np.float32  # (outer promotes, as a product: torch's dtypes)
    assert tg.ones(2).outer(tg.ones(3, dtype=tg.float64)).dtype == np.float64
    assert tg.ones(0).dot(tg.ones(0)).tolist() == 0.0 and tg.ones(2, 0).mm(tg.ones(0, 3)).tolist() == [[0.0] * 3] * 2


# ============================================================================ einsum
EINSUM = [  # (equation, each operand's dims named by letter; '...' dims use x, y)
    ("ij,jk->ik", ["ij", "jk"]), ("bij,bjk->bik", ["bij", "bjk"]), ("i,j->ij", ["i", "j"]), ("ij->", ["ij"]),
    ("ij->ji", ["ij"]), ("ij,jk", ["ij", "jk"]), ("ij->i", ["ij"]), ("i,i", ["i", "i"]), ("ijk->kj", ["ijk"]),
    ("bn,anm,bm->ba", ["bn", "anm", "bm"]), ("ab,c->abc", ["ab", "c"]), ("ij,kl->", ["ij", "kl"]),
    ("...ij,...jk->...ik", ["xyij", "yjk"]), ("i...->...", ["ixy"]), ("...,...->...", ["xy", "y"]),
    (",i->i", ["", "i"]),
    ("zA,AB", ["zA", "AB"]),
    ("ii->i", ["ii"]), ("ii", ["ii"]), ("iij->j", ["iij"]), ("ij,jj->i", ["ij", "jj"]), ("bii->bi", ["bii"]),
    ("iji->ji", ["iji"]), ("iiii->i", ["iiii"]),
]


@pytest.mark.parametrize("equation, dims", EINSUM)
@with_fixtures
@given(data=st.data())
def test_einsum(device, equation, dims, data):
    """Against np.einsum, with gradients and second derivatives (each operand's gradient is an einsum too; a
    letter only one operand has comes back by broadcasting)."""
    size = {c: data.draw(st.sampled_from([1, 2, 3, 2, 3, 0]), label=c) for c in sorted(set("".join(dims)))}
    xs = [data.draw(arrays(tuple(size[c] for c in d)), label=f"operand {i}") for i, d in enumerate(dims)]
    check_op(lambda *ts: tg.einsum(equation, *ts), lambda *a: np.einsum(equation, *a), xs, device, gradgrad=True)


@pytest.mark.parametrize("equation, dims", [
    ("ij,jk->ik", ["ij", "jk"]), ("bij,bjk->bik", ["bij", "bjk"]), ("ij,ij->ij", ["ij", "ij"]), ("i,i", ["i", "i"]),
    ("...ij,...jk->...ik", ["xyij", "yjk"]), ("bi,bi,bi->b", ["bi", "bi", "bi"]), ("ij,kj->ikj", ["ij", "kj"]),
])
@with_fixtures
@given(data=st.data())
def test_einsum_broadcasts_size_one_dims(device, equation, dims, data):
    """A letter of size 1 in some operands and n in others is n everywhere, as torch's einsum (the reference
    broadcasts the arrays first); the size-1 operand's gradient sums over the copies."""
    size = {c: data.draw(st.sampled_from([0, 2, 3]), label=c) for c in sorted(set("".join(dims)))}
    ones = [data.draw(st.lists(st.booleans(), min_size=len(d), max_size=len(d)), label=f"ones {i}")
            for i, d in enumerate(dims)]
    shapes_ = [tuple(1 if one else size[c] for c, one in zip(d, o)) for d, o in zip(dims, ones)]
    xs = [data.draw(arrays(sh), label=f"operand {i}") for i, sh in enumerate(shapes_)]

    full = {c: max((n for sh, d in zip(shapes_, dims) for n, l in zip(sh, d) if l == c), key=lambda n: n != 1)
            for c in size}  # (1 where every operand has it at 1)

    def ref(*arrays_):
        return np.einsum(equation, *[np.broadcast_to(a, tuple(full[c] for c in d)) for a, d in zip(arrays_, dims)])

    check_op(lambda *ts: tg.einsum(equation, *ts), ref, xs, device, gradgrad=True)


@with_fixtures
@given(shape=shapes(min_dims=2, max_dims=4, min_side=0), offset=st.integers(-4, 4), data=st.data())
def test_diagonal(device, shape, offset, data):
    """x.diagonal(offset, dim1, dim2) as numpy's (the diagonal appended last); the gradient puts it back on a
    diagonal of zeros (second derivatives too)."""
    dim1 = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim1")
    dim2 = data.draw(st.integers(-len(shape), len(shape) - 1).filter(lambda d: d % len(shape) != dim1 % len(shape)),
                     label="dim2")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.diagonal(offset, dim1, dim2), lambda a: np.diagonal(a, offset, dim1, dim2), [x], device,
             gradgrad=True)


@with_fixtures
@given(n=st.integers(0, 4), m=st.integers(0, 4), k=st.integers(-5, 5), data=st.data())
def test_diag_and_trace(device, n, m, k, data):
    """diag of a 1-d x: a matrix with x on diagonal k; of a 2-d x: its diagonal k (numpy's np.diag both ways);
    trace: np.trace. With gradients and second derivatives."""
    v, a = data.draw(arrays((n,)), label="v"), data.draw(arrays((n, m)), label="a")
    check_op(lambda t: tg.diag(t, k), lambda x: np.diag(x, k), [v], device, gradgrad=True)
    check_op(lambda t: t.diag(k), lambda x: np.diag(x, k), [a], device, gradgrad=True)
    check_op(lambda t: tg.trace(t), np.trace, [a], device, gradgrad=True)
    assert tg.tensor(np.ones((n, m), np.int32), device=device).trace().dtype == np.int64  # (as torch's)


def test_einsum_sublist_form_as_torchs(device):
    """torch.einsum's sublist form, operands interleaved with their subscript lists (0-25 'A'-'Z', 26-51 'a'-'z',
    Ellipsis '...') and an optional output list, with gradients; a subscript out of range is torch's ValueError.
    We took the equation string only."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    for args in (([0, 1], [1, 2]), ([0, 1], [1, 2], [2, 0]), ([27, 1], [1, 0]), ([Ellipsis, 1], [1, 51], [51])):
        outs, grads = [], []
        for T in (tg, torch):
            x = T.tensor(a, device=device) if T is tg else T.tensor(a)
            y = T.tensor(b, device=device) if T is tg else T.tensor(b)
            x.requires_grad_(), y.requires_grad_()
            out = T.einsum(x, args[0], y, *args[1:])
            (out ** 2).sum().backward()
            outs.append(out.detach().cpu().numpy())
            grads.append([x.grad.cpu().numpy(), y.grad.cpu().numpy()])
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)
        for g, h in zip(*grads):
            np.testing.assert_allclose(g, h, rtol=1e-12)
    np.testing.assert_allclose(tg.einsum(tg.tensor(a, device=device), [Ellipsis, 0], [0]).cpu().numpy(), a.sum(0))
    with pytest.raises(ValueError, match=r"^einsum\(\): subscript in subscript list is not within the valid range "
                                         r"\[0, 52\)$"):
        tg.einsum(tg.tensor(a, device=device), [0, 52])


def test_einsum_traces_and_names_bad_input():
    x = np.random.default_rng(0).standard_normal((3, 3))
    assert tg.einsum("ii->", tg.tensor(x)).item() == pytest.approx(np.trace(x))
    np.testing.assert_array_equal(tg.einsum("ii->i", [tg.tensor(x)]).numpy(), np.diag(x))  # (operands as a list)
    counts = tg.einsum("ij->", tg.tensor(np.ones((3, 200), np.uint8)))  # (an integer sum is int64, as torch's)
    assert counts.dtype == np.int64 and counts.item() == 600
    assert tg.einsum("ij->ji", tg.tensor(np.ones((2, 3), np.int32))).dtype == np.int32
    a, b = tensor(np.ones((2, 3))), tensor(np.ones((4, 4)))
    for call, err, match in (
            (lambda: tg.einsum("ij,jk->ik", a, b), ValueError,
             r"einsum: subscript 'j' has size 3 in one place and 4 in operand 1 \(shape \(4, 4\)\); sizes must "
             "match or be 1"),
            (lambda: tg.einsum("ii->", a), ValueError, r"einsum: subscript 'i' is repeated in operand 0 \(shape "
             r"\(2, 3\)\) over dims of sizes 2 and 3; a diagonal needs equal sizes"),
            (lambda: tg.einsum("iii->i", tg.ones(2, 2, 3)), ValueError, r"repeated in operand 0 \(shape \(2, 2, 3\)\)"),
            (lambda: tg.einsum("...i,...i->...", tg.ones(2, 3), tg.ones(4, 3)), ValueError,
             r"einsum: the '...' dim -1 has size 2 in one place and 4 in operand 1 \(shape \(4, 3\)\)"),
            (lambda: tg.einsum("i,i->", tg.ones(2).bool(), tg.ones(2).bool()), TypeError,
             "einsum: boolean operands multiply only one at a time"),
            (lambda: a.diagonal(0, 1, -1), ValueError, "diagonal: dim1 and dim2 must be different dims, got 1 and -1"),
            (lambda: tg.ones(3).diagonal(), ValueError,
             r"diagonal: the input needs two dims at least, got shape \(3,\)"),
            (lambda: tg.ones(2, 2, 2).diag(), ValueError, "diag: the input must be 1-d .* or 2-d"),
            (lambda: tg.ones(3).trace(), ValueError, r"trace: the input must be a matrix \(2-d\), got shape \(3,\)"),
            (lambda: tg.einsum("ij->ik", a), ValueError, "output subscripts 'ik' must be distinct letters"),
            (lambda: tg.einsum("ij->ii", a), ValueError, "output subscripts 'ii' must be distinct letters"),
            (lambda: tg.einsum("ij", tensor(np.ones((2, 3, 4)))), ValueError,
             r"subscripts 'ij' name 2 dims, but operand 0 has shape \(2, 3, 4\)"),
            (lambda: tg.einsum("ij,jk", a), ValueError, "has 2 operand subscripts for 1 operands"),
            (lambda: tg.einsum("i1", a), ValueError, "must be letters a-z, A-Z and at most one '...'"),
            (lambda: tg.einsum("i\u00e9", a), ValueError, "must be letters a-z, A-Z"),
            (lambda: tg.einsum("ij,jk", a, tg.ones(3, 4)), TypeError, "operands must have one dtype"),
            (lambda: tg.einsum("ij", np.ones((2, 3))), TypeError, "operand 0 is a ndarray, expected a Tensor")):
        with pytest.raises(err, match=match):
            call()

def test_einsum_promotes_mixed_dtypes_where_torch_multiplies(device):
    """Operands of several dtypes: where no product sums a letter torch multiplies them (mul promotes: a real delta
    times a complex A is complex, as mamba's selective_scan_ref writes it) and the real operand's gradient is the
    real part; a product that sums a letter refuses two dtypes (a RuntimeError, as torch's bmm)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cases = [("bdl,dn->bdln", [(2, 3, 4), (3, 5)], ["float64", "complex128"]),
             ("bdl,dn,bdl->bdln", [(2, 3, 4), (3, 5), (2, 3, 4)], ["float64", "complex128", "float64"]),
             ("i,j,j->i", [(3,), (4,), (4,)], ["float32", "float64", "float64"]),  # (the sum meets one dtype)
             ("ii,j->j", [(3, 3), (4,)], ["float32", "float64"])]
    for eq, shapes_, dtypes in cases:
        arrays_ = [(rng.standard_normal(s) + (1j * rng.standard_normal(s) if d.startswith("complex") else 0)).astype(d)
                   for s, d in zip(shapes_, dtypes)]
        ours = [tg.tensor(a, requires_grad=True, device=device) for a in arrays_]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays_]
        y, ty = tg.einsum(eq, *ours), torch.einsum(eq, *theirs)
        assert str(y.dtype) == str(ty.dtype), eq
        w = rng.standard_normal(tuple(ty.shape))
        (y.abs() * tg.tensor(w, device=device)).sum().backward()
        (ty.abs() * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-6, err_msg=eq)
        for o, t in zip(ours, theirs):
            assert str(o.grad.dtype) == str(t.grad.dtype), eq
            np.testing.assert_allclose(o.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6, err_msg=eq)
    a, c = tg.ones(2, 3, dtype=tg.float64), tg.ones(3, 4, dtype=tg.complex128)
    with pytest.raises(RuntimeError, match=r"einsum: operands must have one dtype \(as torch\) where a product sums "
                                           r"over 'j' \(operand 1 and the ones before it\)"):
        tg.einsum("ij,jk->ik", a, c)
    with pytest.raises(RuntimeError, match="where a product sums over 'j'"):
        tg.einsum("ij,j,jk->ik", a, tg.ones(3, dtype=tg.float64), c)


# ============================================================================ elementwise unary
def _sigmoid(a):
    return np.where(a >= 0, 1 / (1 + np.exp(-np.abs(a))), np.exp(-np.abs(a)) / (1 + np.exp(-np.abs(a))))


UNARY = {
    "neg": (lambda t: -t, np.negative, arrays),
    "exp": (lambda t: t.exp(), np.exp, arrays),
    "log": (lambda t: t.log(), np.log, positive),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, positive),
    "abs": (lambda t: t.abs(), np.abs, nonzero),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda s: arrays(s, -3.0, 3.0)),
    "sigmoid": (lambda t: t.sigmoid(), _sigmoid, lambda s: arrays(s, -4.0, 4.0)),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0.0), nonzero),
    "softplus": (lambda t: F.softplus(t), lambda a: np.logaddexp(0.0, a), lambda s: arrays(s, -6.0, 6.0)),
    "log1p": (lambda t: t.log1p(), np.log1p, lambda s: arrays(s, -0.75, 3.0)),
    "expm1": (lambda t: t.expm1(), np.expm1, arrays),
    "sin": (lambda t: t.sin(), np.sin, lambda s: arrays(s, -4.0, 4.0)),
    "cos": (lambda t: t.cos(), np.cos, lambda s: arrays(s, -4.0, 4.0)),
    "square": (lambda t: t.square(), np.square, arrays),
    "reciprocal": (lambda t: t.reciprocal(), np.reciprocal, nonzero),
    "rsqrt": (lambda t: t.rsqrt(), lambda a: 1 / np.sqrt(a), positive),
    "silu": (lambda t: F.silu(t), lambda a: a * _sigmoid(a), lambda s: arrays(s, -6.0, 6.0)),
    "logsigmoid": (lambda t: F.logsigmoid(t), lambda a: -np.logaddexp(0.0, -a), lambda s: arrays(s, -6.0, 6.0)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda a: np.where(a > 0, a, 0.2 * a), nonzero),
    "elu": (lambda t: F.elu(t, 1.5), lambda a: np.where(a > 0, a, 1.5 * np.expm1(np.minimum(a, 0))), nonzero),
    "hardtanh": (lambda t: F.hardtanh(t, -1.0, 0.5), lambda a: np.clip(a, -1.0, 0.5),
                 lambda s: hnp.arrays(np.float64, s, elements=_grid(-2, 2, 0.125))),
}


@pytest.mark.parametrize("op", list(UNARY))
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_unary(device, op, shape, data):
    fn, ref, values = UNARY[op]
    x = data.draw(values(shape), label="x")
    check_op(fn, ref, [x], device, gradgrad=True)


@pytest.mark.parametrize("op, ref", [(ops.TanhGrad, lambda g, y: g * (1 - y * y)),
                                     (ops.SigmoidGrad, lambda g, y: g * y * (1 - y))])
@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_activation_backward_ops(device, op, ref, pair, data):
    """tanh's and sigmoid's backward, each one node of (g, y), differentiable in both (the third derivative of
    tanh or sigmoid goes through them again), with broadcasting."""
    g, y = data.draw(arrays(pair[0]), label="g"), data.draw(arrays(pair[1], -0.99, 0.99), label="y")
    check_op(lambda a, b: op()(a, b), ref, [g, y], device, gradgrad=True)


def test_activations_at_their_edges_and_as_modules():
    """Gradients at the kinks as torch's (leaky_relu: the slope at 0; elu: alpha at 0), no nan from a large x
    in elu's unused branch, a finite logsigmoid far out, and the modules equal to their functions."""
    x = tg.tensor([0.0, 800.0, -800.0], dtype=tg.float64, requires_grad=True)
    for fn, want_y, want_g in ((lambda t: F.leaky_relu(t, 0.1), [0.0, 800.0, -80.0], [0.1, 1.0, 0.1]),
                               (lambda t: F.elu(t, 2.0), [0.0, 800.0, -2.0], [2.0, 1.0, 0.0]),
                               (F.logsigmoid, [-np.log(2), 0.0, -800.0], [0.5, 0.0, 1.0])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (no overflow inside)
            y = fn(x)
            (g,) = tg.grad(y.sum(), x)
        np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-12)
        np.testing.assert_allclose(g.numpy(), want_g, rtol=1e-12)
        assert not np.signbit(y.numpy()[1])  # (logsigmoid(800) is +0.0, as torch's, not -0.0)
    v = tg.randn(3, 4)
    for module, fn in ((tg.nn.SiLU(), F.silu), (tg.nn.LogSigmoid(), F.logsigmoid),
                       (tg.nn.LeakyReLU(0.3), lambda t: F.leaky_relu(t, 0.3)),
                       (tg.nn.ELU(0.5), lambda t: F.elu(t, 0.5)),
                       (tg.nn.Hardtanh(-0.5, 2.0), lambda t: F.hardtanh(t, -0.5, 2.0))):
        np.testing.assert_array_equal(module(v).numpy(), fn(v).numpy())
    assert repr(tg.nn.LeakyReLU(0.3)) == "LeakyReLU(negative_slope=0.3)" and repr(tg.nn.ELU()) == "ELU(alpha=1.0)"
    assert repr(tg.nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    edges = tg.tensor([-1.0, 0.5, 0.0, 2.0, np.nan], dtype=tg.float64, requires_grad=True)
    (g,) = tg.grad(F.hardtanh(edges, -1.0, 0.5).sum(), edges)  # 0 at the bounds (clamp's is 1), 1 at nan
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 1.0, 0.0, 1.0])
    far = tg.tensor([-np.inf, np.inf, -3.0, 3.0, 1.5], dtype=tg.float64, requires_grad=True)
    (g,) = tg.grad(F.hardswish(far).sum(), far)  # (x/3 + 1/2 inside; torch's 0 and 1 at the infinities, not nan)
    np.testing.assert_array_equal(g.numpy(), [0.0, 1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(1\) must not exceed max_val \(0\)"):
        F.hardtanh(v, 1, 0)
    with pytest.raises(TypeError, match="silu"):
        F.silu(np.ones(3))


def test_relu_gradient_passes_at_nan_as_torch():
    """torch's relu backward (threshold_backward) zeroes the gradient only where the output is <= 0: at nan (and
    inf) it passes, as hardtanh's and relu6's do here; relu's mask was x > 0, which is False at nan."""
    x = tg.tensor([np.nan, np.inf, -np.inf, -0.0, 0.0, 2.0, -3.0], dtype=tg.float64, requires_grad=True)
    y = x.relu()
    (g,) = tg.grad((y * tg.tensor([2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], dtype=tg.float64)).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [2.0, 3.0, 0.0, 0.0, 0.0, 7.0, 0.0])
    np.testing.assert_array_equal(y.numpy(), [np.nan, np.inf, 0.0, 0.0, 0.0, 2.0, 0.0])
    (g,) = tg.grad(x.abs().sum(), x)  # (abs's is sgn(x), 0 at nan, as torch's: not nan)
    np.testing.assert_array_equal(g.numpy(), [0.0, 1.0, -1.0, 0.0, 0.0, 1.0, -1.0])


def test_relu_and_clamp_block_an_infinite_gradient_as_torch():
    """torch's relu and clamp backward select (where(mask, g, 0)), so an inf or nan gradient arriving where the
    input was cut off gives 0 there; a product with a 0/1 mask made it inf * 0 = nan (relu(x).sqrt() at 0). abs's
    is a product, grad * sgn(x), as torch's: nan there."""
    x = tg.tensor([0.0, 4.0, -1.0], dtype=tg.float64, requires_grad=True)
    x.relu().sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.25, 0.0])
    x.grad = None
    x.clamp(min=0.0).sqrt().sum().backward()  # (x = 0 is inside [0, inf): sqrt's inf passes there)
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, 0.25, 0.0])
    x.grad = None
    x.abs().sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [np.nan, 0.25, -0.5])


def _np_pad(a, amounts, **np_pad_options):
    """F.pad's reference: np.pad of a after cropping where an amount is negative ((left, right) pairs from the
    last dim back, as torch orders them)."""
    widths = [(0, 0)] * a.ndim
    for j in range(len(amounts) // 2):
        d, lo, hi = a.ndim - 1 - j, amounts[2 * j], amounts[2 * j + 1]
        a = a[(slice(None),) * d + (slice(max(-lo, 0), a.shape[d] - max(-hi, 0)),)]
        widths[d] = (max(lo, 0), max(hi, 0))
    return np.pad(a, widths, **np_pad_options)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3), value=st.sampled_from([0.0, -1.5]), data=st.data())
def test_pad_constant(device, shape, value, data):
    """F.pad against np.pad (negative amounts crop first), with gradients and second derivatives."""
    k = data.draw(st.integers(0, len(shape)), label="padded dims")
    amounts = []
    for d in range(len(shape) - 1, len(shape) - 1 - k, -1):  # (the last dim first, as torch orders them)
        lo = data.draw(st.integers(-shape[d], 2), label=f"left {d}")
        amounts += [lo, data.draw(st.integers(-(shape[d] + lo) if lo < 0 else -shape[d], 2), label=f"right {d}")]

    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: F.pad(t, tuple(amounts), value=value), lambda a: _np_pad(a, amounts, constant_values=value),
             [x], device, gradgrad=True)


_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@with_fixtures
@given(mode=st.sampled_from(sorted(_NP_PAD_MODE)), k=st.integers(1, 3), extra=st.integers(1, 2), data=st.data())
def test_pad_reflect_replicate_circular(device, mode, k, extra, data):
    """The other modes of F.pad against np.pad's reflect, edge and wrap, on the last k dims of a tensor with one
    or two dims more, each padded up to its limit (reflect: size - 1, circular: size); negative amounts crop
    first. With gradients (each element's copies summed) and second derivatives."""
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=k + extra, max_size=k + extra), label="shape"))
    amounts = []
    for d in range(len(shape) - 1, len(shape) - 1 - k, -1):
        crop = data.draw(st.integers(0, shape[d] - 1), label=f"crop {d}")
        n = shape[d] - crop
        most = {"reflect": n - 1, "circular": n}.get(mode, 3)
        lo, hi = (data.draw(st.integers(0, most), label=f"pad {d}") for _ in range(2))
        amounts += [-crop, hi] if data.draw(st.booleans(), label=f"crop left {d}") else [lo, -crop]

    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: F.pad(t, tuple(amounts), mode=mode), lambda a: _np_pad(a, amounts, mode=_NP_PAD_MODE[mode]),
             [x], device, gradgrad=True)


def test_pad_modes_crop_first_and_name_bad_input():
    x = tg.arange(4.0).reshape(1, 4)
    assert F.pad(x, (-1, 2), mode="reflect").tolist() == [[1.0, 2.0, 3.0, 2.0, 1.0]]  # (torch's results)
    assert F.pad(x, (-1, 2), mode="replicate").tolist() == [[1.0, 2.0, 3.0, 3.0, 3.0]]
    assert F.pad(x, (-1, 2), mode="circular").tolist() == [[1.0, 2.0, 3.0, 1.0, 2.0]]
    assert F.pad(x, (2, 3), mode="reflect").tolist() == [[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0]]
    for call, match in (
            (lambda: F.pad(x, (4, 0), mode="reflect"), r"pad: mode 'reflect' pads dim 1 \(size 4 after any "
                                                         r"cropping\) by at most 3 on a side, got \(4, 0\)"),
            (lambda: F.pad(x, (5, 0), mode="circular"), "by at most 4 on a side"),
            (lambda: F.pad(x, (1, 1), mode="reflect", value=0.0), "pad: mode 'reflect' takes no value"),
            (lambda: F.pad(tg.ones(4), (1, 1), mode="replicate"),
             r"pad: mode 'replicate' pads the last 1-3 dims of a tensor with one or two dims more .* shape \(4,\)"),
            (lambda: F.pad(tg.ones(1, 2, 3, 4), (1, 1), mode="circular"), "got 1 \\(left, right\\) pairs"),
            (lambda: F.pad(x, (-3, -2), mode="reflect"), r"crops more than dim 1"),
            (lambda: F.pad(x, (1, 1), mode="mirror"), "pad: mode must be 'constant', 'reflect', 'replicate' or "
                                                      "'circular', got 'mirror'")):
        with pytest.raises(ValueError, match=match):
            call()


def test_pad_modes_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for trial in range(60):
        mode = sorted(_NP_PAD_MODE)[trial % 3]
        k = 1 + trial % 3
        shape = tuple(int(v) for v in rng.integers(2, 5, size=k + 1 + trial % 2))
        amounts = [int(v) for v in rng.integers(0, 2, size=2 * k)]
        a, w = rng.standard_normal(shape), None
        t = torch.tensor(a, requires_grad=True)
        ours = tg.tensor(a, requires_grad=True)
        ty, oy = torch.nn.functional.pad(t, tuple(amounts), mode=mode), F.pad(ours, amounts, mode=mode)
        w = rng.standard_normal(tuple(ty.shape))
        (ty * torch.tensor(w)).sum().backward()
        (oy * tg.tensor(w)).sum().backward()
        np.testing.assert_allclose(oy.numpy(), ty.detach().numpy(), rtol=1e-14, err_msg=f"{mode} {shape} {amounts}")
        np.testing.assert_allclose(ours.grad.numpy(), t.grad.numpy(), rtol=1e-13, atol=1e-15, err_msg=f"{mode} {shape}")


def test_pad_errors_and_flatten_modules():
    x = tg.ones(2, 3)
    with pytest.raises(ValueError, match=r"pad: expected an even number of padding amounts, at most 2 per dim \(4"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: padding \(-2, -2\) crops more than dim 1 of shape \(2, 3\) holds"):
        F.pad(x, (-2, -2))
    with pytest.raises(ValueError, match=r"pad: padding \(-4, 4\) crops more than dim 1"):
        F.pad(x, (-4, 4))  # (the other side's padding does not make up for it)
    assert F.pad(tg.tensor([1, 2]), (1, 0), value=7).tolist() == [7, 1, 2]  # (the input's dtype)
    y = tg.randn(2, 3, 4)
    assert tg.nn.Flatten()(y).shape == (2, 12) and tg.nn.Flatten(0, 1)(y).shape == (6, 4)
    assert tg.nn.Unflatten(1, (2, 6))(tg.nn.Flatten()(y)).shape == (2, 2, 6)
    assert repr(tg.nn.Unflatten(1, [2, 6])) == "Unflatten(dim=1, unflattened_size=(2, 6))"
    assert repr(tg.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_log1p_and_expm1_keep_tiny_values_exact():
    tiny = tg.tensor([1e-10, -3e-9], dtype=tg.float32)
    np.testing.assert_array_equal(tiny.log1p().numpy(), np.log1p(tiny.numpy()))  # log(1 + x) would give 0
    np.testing.assert_array_equal(tiny.expm1().numpy(), np.expm1(tiny.numpy()))
    assert tg.tensor([1, 2]).log1p().dtype == np.float32 and tg.tensor([4]).rsqrt().tolist() == [0.5]


def test_expm1_gradient_is_exp_where_the_value_rounds_to_minus_one():
    """d expm1(x)/dx = e^x: as y + 1 it was 0 once y rounded to -1 (x < -17 in float32), and so were elu's, celu's
    and selu's gradients far left (torch's kernels give e^x there)."""
    x = np.array([-30.0, -20.0, -9.0, -1e-3, 2.0], np.float32)
    t = tg.tensor(x, requires_grad=True)
    t.expm1().sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.exp(x.astype(np.float64)), rtol=1e-6)
    for f, slope in ((lambda u: F.elu(u), np.exp), (lambda u: F.celu(u, 0.5), lambda a: np.exp(2 * a))):
        t = tg.tensor(x[:3], requires_grad=True)
        f(t).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), slope(x[:3].astype(np.float64)), rtol=1e-6)
    h = tg.tensor(np.array([-9.0, -12.0], np.float16), requires_grad=True)
    F.elu(h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy().astype(np.float64), np.exp([-9.0, -12.0]), rtol=2e-3)


@pytest.mark.parametrize("op", ["floor", "ceil", "trunc", "round", "sign"])
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_rounding_ops_match_numpy_and_pass_zero_gradient(device, op, shape, data):
    """Piecewise constant: numpy's values (round: half to even, on a grid of halves to hit the ties) and a zero
    gradient, as torch gives, even for an inf upstream gradient."""
    x = data.draw(hnp.arrays(np.float64, shape, elements=_grid(-3, 3) | floats(-3, 3)), label="x")
    t = tensor(x, device)
    y = getattr(t, op)()
    np.testing.assert_array_equal(y.numpy(), getattr(np, op)(x))
    assert y.dtype == np.float64 and y.device == device
    (g,) = tg.grad(y, t, grad_outputs=[tg.tensor(np.full(shape, np.inf), device=device)])
    np.testing.assert_array_equal(g.numpy(), np.zeros(shape))


def test_rounding_ops_on_integers_and_decimals():
    ints = tg.tensor([-3, 0, 7], dtype=tg.int32)
    for op in ("floor", "ceil", "trunc", "round"):
        y = getattr(ints, op)()
        assert y.dtype == np.int32 and y.tolist() == [-3, 0, 7]
    assert ints.sign().tolist() == [-1, 0, 1] and ints.sign().dtype == np.int32
    assert tg.tensor([True, False]).sign().tolist() == [True, False]
    assert tg.tensor([1.2345, -0.125], dtype=tg.float64).round(decimals=2).tolist() == [1.23, -0.12]
    half = tg.tensor([1234.5678, 125.0, 0.5, 65504.0], dtype=tg.float16)  # (scaled in float32: no overflow)
    assert half.round(decimals=2).tolist() == [1235.0, 125.0, 0.5, 65504.0]
    assert half.round(decimals=2).dtype == np.float16
    assert half.round(decimals=-1).tolist() == [1240.0, 120.0, 0.0, 65504.0]  # (1234.5678 is 1235 in float16)
    with pytest.raises(TypeError, match="round: decimals= needs a floating-point tensor, got torch.int64"):
        tg.tensor([127, 15]).round(decimals=-1)
    assert tg.tensor([np.nan, -0.0, -2.0, np.inf]).sign().tolist()[::2] == [0.0, -1.0]  # (nan -> 0, as torch)
    assert tg.sign.__wrapped__ is tg.Tensor.sign and tg.round(tg.tensor([2.5])).tolist() == [2.0]
    assert tg.tensor([True, False]).square().dtype == np.int64  # (as torch)
    with pytest.raises(TypeError, match="round: decimals must be an int, got float"):
        tg.tensor([1.0]).round(1.5)


# ============================================================================ maximum / minimum / clamp / where / lerp
@pytest.mark.parametrize("op", ["maximum", "minimum"])
@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_maximum_minimum(device, op, pair, data):
    a, b = data.draw(distinct(list(pair)), label="ab")  # no ties between any two values
    fn = {"maximum": tg.maximum, "minimum": tg.minimum}[op]
    check_op(fn, getattr(np, op), [a, b], device, gradgrad=True)
    method = getattr(tensor(a, device), op)(tensor(b, device))
    np.testing.assert_array_equal(method.numpy(), getattr(np, op)(a, b))


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@with_fixtures
@given(shape=shapes(max_side=3), data=st.data())
def test_maximum_minimum_ties(device, op, shape, data):
    """Values on a coarse grid, so ties are common: the winner takes the gradient, a tie splits it in half."""
    grid = hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0]))
    a, b, w = data.draw(grid, label="a"), data.draw(grid, label="b"), data.draw(arrays(shape), label="w")
    ta, tb = tensor(a, device), tensor(b, device)
    (getattr(tg, op)(ta, tb) * tg.tensor(w, device=device)).sum().backward()
    wins = (a > b) if op == "maximum" else (a < b)
    share = wins + 0.5 * (a == b)
    np.testing.assert_allclose(ta.grad.numpy(), w * share, rtol=1e-12, atol=0)
    np.testing.assert_allclose(tb.grad.numpy(), w * (1 - share), rtol=1e-12, atol=0)


@pytest.mark.parametrize("op", ["fmax", "fmin"])
@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_fmax_fmin_property(device, op, pair, data):
    """numpy's fmax / fmin (a nan loses to a number) and, without ties, the winner's gradient (gradcheck)."""
    a, b = data.draw(distinct(list(pair)), label="ab")
    check_op(getattr(tg, op), getattr(np, op), [a, b], device, gradgrad=True)
    assert getattr(tensor(a, device), op)(tensor(b, device)).dtype == np.float64


@pytest.mark.parametrize("op", ["fmax", "fmin"])
@with_fixtures
@given(shape=shapes(max_side=3), data=st.data())
def test_fmax_fmin_nans_and_ties(device, op, shape, data):
    """Values with nans and ties: a takes the whole gradient where it is >= b (<= for fmin) or b is nan, as torch's
    fmax / fmin (no half shares at ties, unlike maximum); b elsewhere."""
    grid = hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0, np.nan]))
    a, b, w = data.draw(grid, label="a"), data.draw(grid, label="b"), data.draw(arrays(shape), label="w")
    ta, tb = tensor(a, device), tensor(b, device)
    out = getattr(tg, op)(ta, tb)
    np.testing.assert_array_equal(out.numpy(), getattr(np, op)(a, b))
    (out * tg.tensor(w, device=device)).sum().backward()
    with np.errstate(invalid="ignore"):
        share = ((a >= b) if op == "fmax" else (a <= b)) | np.isnan(b)
    np.testing.assert_array_equal(ta.grad.numpy(), w * share)
    np.testing.assert_array_equal(tb.grad.numpy(), w * ~share)


def test_fmax_fmin_dtypes_and_errors():
    x = tg.tensor([1, 5], dtype=tg.int32)
    assert tg.fmax(x, tg.tensor([3, 3], dtype=np.int8)).tolist() == [3, 5] and tg.fmax(x, x).dtype == np.int32
    assert tg.fmin(x, tg.tensor(2.5)).tolist() == [1.0, 2.5] and tg.fmin(x, tg.tensor(2.5)).dtype == np.float32
    with pytest.raises(TypeError, match="fmax: other must be a Tensor, got float"):  # (as torch)
        tg.fmax(x, 2.0)
    with pytest.raises(ValueError, match=r"fmin: inputs \(2,\) torch.int32 cpu, \(3,\) torch.int32 cpu"):
        x.fmin(tg.ones(3, dtype=tg.int32))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "bool"])
def test_integer_maximum_minimum_do_not_wrap(device, dtype):
    """Integer and bool minimum is numpy's own (negating to reuse maximum would wrap 0 in uint8, -128 in int8)."""
    info = np.iinfo(dtype) if dtype != "bool" else None
    lo, hi = (False, True) if info is None else (info.min, info.max)
    a, b = np.array([lo, hi, lo], dtype), np.array([hi, lo, lo], dtype)
    for name in ("minimum", "maximum"):
        out = getattr(tg, name)(tg.tensor(a, device=device), tg.tensor(b, device=device))
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(out.numpy(), getattr(np, name)(a, b))


def _grid(lo, hi, offset=0.0):
    """Multiples of 0.25 (plus offset) in [lo, hi]: values on the offset grid never touch a bound."""
    return st.integers(int(lo * 4), int(hi * 4)).map(lambda k: k * 0.25 + offset)


@with_fixtures
@given(shape=shapes(min_side=0), bounds=st.tuples(st.one_of(st.none(), _grid(-2, 0)), st.one_of(
    st.none(), _grid(0.25, 2))).filter(lambda b: b != (None, None)), data=st.data())
def test_clamp_scalar_bounds(device, shape, bounds, data):
    lo, hi = bounds
    x = data.draw(hnp.arrays(np.float64, shape, elements=_grid(-3, 3, 0.125)), label="x")

    def ref(a):
        a = a if lo is None else np.maximum(a, lo)
        return a if hi is None else np.minimum(a, hi)

    check_op(lambda t: t.clamp(lo, hi), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.clamp(t, min=lo, max=hi), ref, [x], device)


def test_clamp_tensor_bounds_at_ties_and_crossed_bounds(device):
    """torch's rules: at x == a bound the gradient goes to x; where min > max the result is max (and so is the
    gradient's destination)."""
    x = tensor(np.array([1.0, 2.0, 3.0, 0.0]), device)
    lo = tensor(np.array([1.0, 0.0, 0.0, 2.5]), device)
    hi = tensor(np.array([3.0, 2.0, 5.0, 1.5]), device)
    out = x.clamp(lo, hi)
    out.backward(tensor(np.array([1.0, 2.0, 3.0, 4.0]), device, requires_grad=False))
    assert out.tolist() == [1.0, 2.0, 3.0, 1.5]
    assert x.grad.tolist() == [1.0, 2.0, 3.0, 0.0]
    assert lo.grad.tolist() == [0.0, 0.0, 0.0, 0.0] and hi.grad.tolist() == [0.0, 0.0, 0.0, 4.0]



def test_clamp_scalar_bounds_at_ties(device):
    """torch's rule for number bounds too (the property test keeps x off them, where central differences are
    one-sided): at x == min or x == max the gradient passes, as inside; outside it is 0. clamp_min/clamp_max
    and the one-sided forms as well."""
    x = tensor(np.array([-1.0, 0.5, 0.0, -2.0, 3.0]), device)
    up = tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), device, requires_grad=False)
    for fn, want in ((lambda t: t.clamp(-1.0, 0.5), [1.0, 2.0, 3.0, 0.0, 0.0]),
                     (lambda t: tg.clamp(t, min=-1.0), [1.0, 2.0, 3.0, 0.0, 5.0]),
                     (lambda t: t.clamp(max=0.5), [1.0, 2.0, 3.0, 4.0, 0.0]),
                     (lambda t: t.clamp_min(-1.0), [1.0, 2.0, 3.0, 0.0, 5.0]),
                     (lambda t: t.clamp_max(0.5), [1.0, 2.0, 3.0, 4.0, 0.0])):
        (g,) = tg.grad((fn(x) * up).sum(), x)
        assert g.tolist() == want

def test_clamp_tensor_bounds_route_gradients_as_torch_at_nans_and_crossed_bounds(device):
    """torch's clamp with tensor bounds gives the gradient to input where min <= x <= max, to min where
    x < min < max, to max where x > max or max < min, and to none at a nan (input's or a bound's) or where
    min == max is taken; the nans and min == max gave it to input or min (as the scalar-bound clamp already did)."""
    torch = pytest.importorskip("torch")
    v = [np.array([np.nan, 0.5, 2.0, -1.0, 0.3, 0.7, 0.5, 0.1, 0.4]),
         np.array([0.0, np.nan, 0.0, 0.0, 0.5, 0.5, 0.5, 0.6, 0.0]),
         np.array([1.0, 1.0, np.nan, 1.0, 0.5, 0.2, 0.5, 0.3, 1.0])]
    w = tg.tensor(np.arange(1.0, 10.0), device=device)
    for bounds in ((1, 2), (1, None), (None, 2)):
        ts = [tg.tensor(a, device=device, requires_grad=True) for a in v]
        rs = [torch.tensor(a, requires_grad=True) for a in v]
        args = [None if i is None else ts[i] for i in bounds]
        targs = [None if i is None else rs[i] for i in bounds]
        y, ty = tg.clamp(ts[0], *args), torch.clamp(rs[0], *targs)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        (y * w).sum().backward()
        (ty * torch.arange(1.0, 10.0, dtype=torch.float64)).sum().backward()
        for t, r in zip(ts, rs):
            assert (t.grad is None) == (r.grad is None)
            if t.grad is not None:
                np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())


@with_fixtures
@given(sh=st.sampled_from([0, 1, 1, 1]).flatmap(lambda lo: hnp.mutually_broadcastable_shapes(
    num_shapes=3, max_dims=3, min_side=lo, max_side=3)), data=st.data())
def test_clamp_tensor_bounds(device, sh, data):
    sx, slo, shi = sh.input_shapes
    x = data.draw(hnp.arrays(np.float64, sx, elements=_grid(-3, 3, 0.125)), label="x")
    lo = data.draw(hnp.arrays(np.float64, slo, elements=_grid(-2, 0)), label="lo")
    hi = data.draw(hnp.arrays(np.float64, shi, elements=_grid(0.25, 2)), label="hi")
    check_op(lambda t, a, b: t.clamp(a, b), lambda t, a, b: np.minimum(np.maximum(t, a), b), [x, lo, hi], device,
             gradgrad=True)
    # a tensor bound with a scalar on the other side, and one-sided
    check_op(lambda t, a: t.clamp(min=a, max=1.0), lambda t, a: np.minimum(np.maximum(t, a), 1.0), [x, lo], device)
    check_op(lambda t, b: t.clamp(max=b), np.minimum, [x, hi], device)


@with_fixtures
@given(sh=st.sampled_from([0, 1, 1, 1]).flatmap(lambda lo: hnp.mutually_broadcastable_shapes(
    num_shapes=3, max_dims=4, min_side=lo, max_side=3)), data=st.data())
def test_where(device, sh, data):
    sc, sa, sb = sh.input_shapes
    cond = data.draw(hnp.arrays(np.bool_, sc), label="cond")
    a, b = data.draw(arrays(sa), label="a"), data.draw(arrays(sb), label="b")
    c = tg.tensor(cond, device=device)
    check_op(lambda x, y: tg.where(c, x, y), lambda x, y: np.where(cond, x, y), [a, b], device, gradgrad=True)
    check_op(lambda x, y: x.where(c, y), lambda x, y: np.where(cond, x, y), [a, b], device)
    if device == "cpu":  # a numpy condition
        check_op(lambda x, y: tg.where(cond, x, y), lambda x, y: np.where(cond, x, y), [a, b], device)


@with_fixtures
@given(pair=broadcast_pair(), value=floats(), as_tensor=st.booleans(), data=st.data())
def test_masked_fill(device, pair, value, as_tensor, data):
    """value where the mask is True, x elsewhere; the mask broadcasts with x (size-1, missing and empty dims).
    x's gradient passes where it is kept; a 0-d tensor value gets the sum of the filled places' gradients. In
    place (the mask broadcasting to x), the same values and gradients."""
    sm, sx = pair
    mask = data.draw(hnp.arrays(np.bool_, sm), label="mask")
    x = data.draw(arrays(sx), label="x")
    m = tg.tensor(mask, device=device)
    ref = lambda a, v=value: np.where(mask, v, a)  # noqa: E731
    if as_tensor:
        check_op(lambda t, v: t.masked_fill(m, v), ref, [x, np.array(value)], device, gradgrad=True)
    else:
        check_op(lambda t: t.masked_fill(m, value), ref, [x], device, gradgrad=True)
    if np.broadcast_shapes(sm, sx) == sx:
        check_op(lambda t, v: t.clone().masked_fill_(m, v), ref, [x, np.array(value)], device)
        if device == "cpu":  # a numpy mask
            check_op(lambda t: t * 1.0 + t.masked_fill(mask, value), lambda a: a + ref(a), [x], device)


WEIGHTS = st.one_of(floats(-1.5, 1.5), st.sampled_from([-0.5, 0.5, 0.0, 1.0]))  # (torch switches formula at 0.5)


@with_fixtures
@given(sh=st.sampled_from([0, 1, 1, 1]).flatmap(lambda lo: hnp.mutually_broadcastable_shapes(
    num_shapes=3, max_dims=3, min_side=lo, max_side=3)), data=st.data())
def test_lerp(device, sh, data):
    """start + weight (end - start), with a number or a tensor weight; start, end and weight broadcast, and each
    gets its gradient (1 - weight, weight, end - start)."""
    ss, se, sw = sh.input_shapes
    a, b = data.draw(arrays(ss), label="start"), data.draw(arrays(se), label="end")
    w = data.draw(hnp.arrays(np.float64, sw, elements=WEIGHTS), label="weight")
    ref = lambda x, y, z: x + z * (y - x)  # noqa: E731
    check_op(lambda x, y, z: x.lerp(y, z), ref, [a, b, w], device, gradgrad=True)
    c = data.draw(WEIGHTS, label="number weight")
    check_op(lambda x, y: tg.lerp(x, y, c), lambda x, y: ref(x, y, c), [a, b], device, gradgrad=True)


@pytest.mark.parametrize("weight", [0.25, 0.75, "tensor"])
def test_lerp_float16_computes_in_float32_and_rounds_once(device, weight):
    """As torch's half kernel: in float16 end - start overflowed for ends of opposite signs past ~3.3e4, so a
    finite lerp came out +-inf (and its gradient in the weight inf)."""
    start = np.array([-4e4, 4e4, -3e4, 1.0, 100.0, -6e4])
    end = np.array([4e4, -4e4, 5e4, 3.0, -250.0, 6e4])
    if weight == "tensor":
        y, *_ = check_half_rounds_float32_once(tg.lerp, [start, end, np.linspace(0, 1, 6)], device)
    else:
        y, *_ = check_half_rounds_float32_once(lambda a, b: tg.lerp(a, b, weight), [start, end], device)
    assert np.isfinite(y.numpy()).all()


def test_lerp_numpy_weights_and_0d_promotion_as_torch():
    """A numpy weight is a number: np.uint8(5)'s 1 - w wrapped to 252 (torch: start + 5 (end - start)). A 0-d weight
    promotes as in any op: beside 0-d start and end its wider float wins, beside integer ones it makes them float."""
    start, end = tg.tensor([1.0, 2.0]), tg.tensor([3.0, 5.0])
    assert start.lerp(end, np.uint8(5)).tolist() == [11.0, 17.0]
    assert start.lerp(end, np.int8(-2)).tolist() == [-3.0, -4.0]
    half = tg.tensor([1.0, 2.0], dtype=tg.float64).lerp(tg.tensor([2.0, 4.0], dtype=tg.float64), np.float16(0.7))
    np.testing.assert_allclose(half.numpy(), [1.7001953125, 3.400390625], rtol=1e-15)  # (w = 0.7001953125 exactly)
    s0, e0 = tg.tensor(1.0, requires_grad=True), tg.tensor(3.0)
    w = tg.tensor(0.25, dtype=tg.float64, requires_grad=True)
    out = s0.lerp(e0, w)
    assert out.dtype == np.float64 and out.item() == 1.5
    out.backward()
    assert s0.grad.dtype == np.float32 and s0.grad.item() == 0.75 and w.grad.dtype == np.float64 and w.grad.item() == 2
    ints = tg.tensor([1, 2]).lerp(tg.tensor([3, 6]), tg.tensor(0.5))
    assert ints.dtype == np.float32 and ints.tolist() == [2.0, 4.0]


def test_lerp_dtypes_exact_ends_and_errors():
    big, one = tg.tensor([1e16], dtype=tg.float64), tg.tensor([1.0], dtype=tg.float64)
    assert big.lerp(one, 1.0).item() == 1.0 and big.lerp(one, tg.tensor([1.0], dtype=tg.float64)).item() == 1.0
    assert big.lerp(one, 0.0).item() == 1e16  # (start + 1 (end - start) would give 0 here: torch's ends are exact)
    half = tg.tensor([1.0, 2.0], dtype=tg.float16)
    assert half.lerp(tg.tensor([3.0, 5.0], dtype=tg.float16), 0.5).dtype == np.float16
    x = tg.tensor([1.0, 2.0])
    assert x.lerp(tg.tensor([3.0, 5.0]), tg.tensor(0.5, dtype=tg.float64)).dtype == np.float32  # (0-d: a number)
    with pytest.raises(TypeError, match="lerp: input and end must have one floating-point dtype, got torch.int64 "
                                        "and torch.int64"):
        tg.tensor([1, 2]).lerp(tg.tensor([3, 5]), 0.5)
    with pytest.raises(TypeError, match="lerp: input and end .* got torch.float32 and torch.float64"):
        x.lerp(tg.tensor(3.0, dtype=tg.float64), 0.5)
    with pytest.raises(TypeError, match=r"lerp: a weight tensor with dims must have the input's dtype "
                                        r"torch.float32, got torch.float64 of shape \(2,\)"):
        x.lerp(x, tg.tensor([0.5, 2.0], dtype=tg.float64))
    with pytest.raises(TypeError, match="lerp: weight must be a number or a Tensor, got str"):
        x.lerp(x, "0.5")
    with pytest.raises(TypeError, match="lerp: other must be a Tensor, got float"):
        x.lerp(3.0, 0.5)
    with pytest.raises(ValueError, match=r"lerp: the input \(2,\), end \(3,\) and weight \(\) do not broadcast"):
        x.lerp(tg.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"lerp: the input \(2,\), end \(2,\) and weight \(3,\) do not broadcast"):
        x.lerp(x, tg.ones(3))


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_nan_to_num(device, shape, data):
    """nan, inf and -inf replaced; the gradient passes where x is finite and is 0 at the replaced elements (torch's).
    The replacements for inf are drawn finite here: gradcheck sums the outputs."""
    x = data.draw(arrays(shape), label="x")
    kind = data.draw(hnp.arrays(np.int8, shape, elements=st.sampled_from([0, 0, 1, 2, 3])), label="kind")
    x = np.where(kind == 1, np.nan, np.where(kind == 2, np.inf, np.where(kind == 3, -np.inf, x)))
    nan, posinf, neginf = (data.draw(st.one_of(floats(-3, 3), st.none()) if i == 0 else floats(-3, 3), label=name)
                           for i, name in enumerate(("nan", "posinf", "neginf")))
    ref = lambda a: np.nan_to_num(a, nan=0.0 if nan is None else nan, posinf=posinf, neginf=neginf)  # noqa: E731
    check_op(lambda t: t.nan_to_num(nan, posinf, neginf), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.nan_to_num(t, posinf=posinf, neginf=neginf), lambda a: np.nan_to_num(
        a, posinf=posinf, neginf=neginf), [x], device)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_nan_to_num_defaults_gradient_and_integers(device, dtype):
    x = tg.tensor(np.array([1.0, np.nan, np.inf, -np.inf], dtype), device=device, requires_grad=True)
    big = float(np.finfo(dtype).max)
    y = x.nan_to_num()
    assert y.dtype == dtype and y.tolist() == [1.0, 0.0, big, -big]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 0.0]  # (torch's gradient)
    assert x.nan_to_num(nan=1e40).tolist()[1] == (math.inf if dtype != np.float64 else 1e40)  # (as torch: inf)
    n = tg.tensor([1, 2], device=device)
    out = n.nan_to_num(nan=1.5)
    assert out.dtype == np.int64 and out.tolist() == [1, 2] and out.array is not n.array
    assert tg.tensor([True], device=device).nan_to_num().dtype == np.bool_
    with pytest.raises(TypeError, match="nan_to_num: posinf must be a number or None, got str"):
        x.nan_to_num(posinf="big")


# ============================================================================ reductions
@pytest.mark.parametrize("op", ["sum", "mean"])
@with_fixtures
@given(keepdim=st.booleans(), data=st.data())
def test_sum_mean(device, op, keepdim, data):
    shape = data.draw(shapes(min_side=0 if op == "sum" else 1), label="shape")  # the mean of nothing is nan
    dim = data.draw(reduce_dims(len(shape)), label="dim")
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: getattr(np, op)(a, axis=np_axis(dim, a.ndim), keepdims=keepdim)  # noqa: E731
    check_op(lambda t: getattr(t, op)(dim, keepdim=keepdim), ref, [x], device, gradgrad=True)



def test_sum_and_mean_take_a_dtype_on_each_device(device):
    """As torch's dtype=: the input cast to it first and the result in it (float32 summed in float64, float16
    past 65504 in float32, ints averaged, an int32 sum int32), the gradient in the input's dtype."""
    x = np.array([[1e8, 1.0, -1e8], [0.1, 0.2, 0.3]], np.float32)
    t = tg.tensor(x, device=device, requires_grad=True)
    s = t.sum(1, dtype=tg.float64)
    assert s.dtype == np.float64 and s.tolist() == x.astype(np.float64).sum(1).tolist()  # (float32: [0, 0.6])
    s.backward(tg.tensor([1.0, 2.0], dtype=tg.float64, device=device))
    assert t.grad.dtype == np.float32 and t.grad.tolist() == [[1.0] * 3, [2.0] * 3]
    m = tg.mean(t, (0, -1), keepdim=True, dtype=tg.float64)
    # within float64's rounding at 1e8 (ulp 1.5e-8), whose order CuPy's reduction picks; float32 would give 0.1
    assert m.dtype == np.float64 and m.shape == (1, 1) and abs(m.item() - x.astype(np.float64).mean()) < 1e-8
    half = tg.tensor(np.full(3, 30000.0, np.float16), device=device).sum(dtype=tg.float32)
    assert half.dtype == np.float32 and half.item() == 90000.0
    ints = tg.tensor([[1, 2], [4, 4]], device=device)
    assert ints.mean(dtype=tg.float64).item() == 2.75 and ints.mean(0, dtype="float32").tolist() == [2.5, 3.0]
    assert ints.sum(dtype=tg.int32).dtype == np.int32 and tg.sum(ints, 1, dtype=tg.float64).tolist() == [3.0, 8.0]
    assert tg.tensor([True, True, False], device=device).sum(dtype=tg.float16).dtype == np.float16


def test_mean_and_var_divide_as_torch_so_an_exact_sum_gives_the_rounded_quotient(device):
    """mean is sum / n and var sum of squares / (n - correction), divided as torch's (one rounding): they multiplied
    by 1/n, two roundings, so a float32 accuracy (5 of 6 right) printed 0.83333337 where torch's is 0.8333333."""
    hits = tg.tensor([1., 1., 1., 0., 1., 1.], device=device)
    assert hits.mean().item() == float(np.float32(5) / np.float32(6)) == 0.8333333134651184
    assert tg.tensor([[3.], [0.], [0.]], dtype=tg.float64, device=device).mean(0).item() == 1.0
    ints = tg.tensor([0., 1., 1., 4., 0., 3., 0.], device=device)  # sum of squares 14 + 2/7: divided by 6
    assert ints.var().item() == float(np.float32(np.sum((np.array([0, 1, 1, 4, 0, 3, 0]) - 9 / 7) ** 2) / 6))
    torch = pytest.importorskip("torch")
    rows = (np.random.default_rng(0).random((200, 6)) < 0.5).astype(np.float32)
    assert [tg.tensor(r).mean().item() for r in rows] == [torch.tensor(r).mean().item() for r in rows]


def test_sum_and_mean_take_a_dtype():
    """torch's dtype= keyword (keyword only): the input is cast to it first and reduced in it (an int32 sum stays
    int32, a uint8 one wraps, a bool one is any), a float dtype keeps the gradient, which comes back in the input's
    dtype; a float16 mean is the float32 mean rounded once (torch's on the CPU); a dtype that cannot carry a gradient
    is refused for a tensor that requires grad (sum, prod, cumsum, cumprod; mean wants a float dtype anyway)."""
    a = np.array([[1.5, 2.5], [3.0, 300.0]], np.float32)
    x = tg.tensor(a, requires_grad=True)
    s = x.sum(1, dtype=tg.float64)
    assert s.dtype == np.float64 and s.tolist() == [4.0, 303.0]
    s.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    m = tg.mean(x, 0, keepdim=True, dtype=tg.float64)
    assert m.dtype == np.float64 and m.shape == (1, 2) and m.tolist() == [[2.25, 151.25]]
    m.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [[1.5, 1.5], [1.5, 1.5]]
    ints = tg.tensor(np.array([[1, 2], [3, 2 ** 30]], np.int32))
    assert ints.sum(dtype=tg.int32).dtype == np.int32 and ints.sum().dtype == np.int64
    assert ints.sum(dtype=tg.int32).item() == 6 + 2 ** 30 and ints.sum(0, dtype=tg.float64).tolist() == [4.0, 2 ** 30 + 2]
    assert tg.tensor(np.array([200, 100], np.uint8)).sum(dtype=np.uint8).item() == 44
    assert tg.tensor([True, False]).sum(dtype=tg.bool).item() is True
    assert x.detach().sum(dtype=tg.int64).item() == 1 + 2 + 3 + 300  # (cast first: 1.5 -> 1)
    assert ints.mean(dtype=tg.float64).item() == (6 + 2 ** 30) / 4
    half = tg.tensor(np.array([100000, 0], np.int32)).mean(dtype=tg.float16)  # (100000 itself is past float16)
    assert half.dtype == np.float16 and half.item() == np.float16(50000.0)
    with pytest.raises(TypeError, match="mean: dtype must be a floating point type, got torch.int64"):
        ints.mean(dtype=tg.int64)
    for reduce in (lambda t: t.sum(dtype=tg.int64), lambda t: t.prod(dtype=tg.int32), lambda t: t.cumsum(0, tg.int64),
                   lambda t: t.cumprod(0, dtype=tg.int64)):
        with pytest.raises(RuntimeError, match=r"dtype=torch.int(32|64) cannot carry a gradient back to this "
                                               r"torch.float32 tensor of shape \(2, 2\), which requires grad"):
            reduce(x)
        with tg.no_grad():
            assert reduce(x).dtype.kind == "i"
    with pytest.raises(TypeError):
        x.sum(0, False, tg.float64)  # (keyword only, as torch's)

@with_fixtures
@given(shape=shapes(min_side=0), keepdim=st.booleans(), data=st.data())
def test_prod(device, shape, keepdim, data):
    """Values from a small grid with 0 in it, so slices with one zero and with several come up: a product is a
    polynomial, so central differences are exact enough there, to second order. (Nonzero values keep |x| >= 0.25:
    the second derivative through y / x cancels two terms of size y / x^2, as torch's does.)"""
    dim = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label="dim")
    values = st.sampled_from([0.0, 0.5, -1.5, 2.0]) | floats(0.25, 2) | floats(-2, -0.25)
    x = data.draw(hnp.arrays(np.float64, shape, elements=values), label="x")
    if dim is None:
        check_op(lambda t: t.prod(), np.prod, [x], device, gradgrad=True)
    else:
        ref = lambda a: np.prod(a, axis=dim if a.ndim else None, keepdims=keepdim and a.ndim > 0)  # noqa: E731
        check_op(lambda t: t.prod(dim, keepdim=keepdim), ref, [x], device, gradgrad=True)


def test_prod_gradient_is_the_product_of_the_others():
    """At zeros, where y / x is nan: one zero gets the others' product, the rest 0; two zeros give 0 throughout."""
    x = np.array([[2.0, 0.0, 3.0, -1.0], [0.0, 5.0, 0.0, 2.0], [1.5, 2.0, -2.0, 0.5]])
    want = np.array([[np.prod(np.delete(row, i)) for i in range(4)] for row in x])
    t = tg.tensor(x, requires_grad=True)
    t.prod(1).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), want)
    (g,) = tg.grad(t.prod(1).sum(), t, create_graph=True)  # (written with ops, for higher derivatives)
    np.testing.assert_array_equal(g.numpy(), want)
    t.grad = None
    t.prod().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros_like(x))  # (three zeros in all)
    wide = tg.tensor(np.r_[0.0, np.full(5000, 1.0001)], requires_grad=True)  # (one zero: first order is O(n))
    wide.prod().backward()
    np.testing.assert_allclose(wide.grad.numpy()[:2], [1.0001 ** 5000, 0.0], rtol=1e-9)
    assert tg.tensor([2, 3, 4]).prod().dtype == np.int64 and tg.tensor([True, True]).prod().tolist() == 1
    assert tg.tensor([2, 3]).prod(dtype=tg.float64).dtype == np.float64 and tg.prod.__wrapped__ is tg.Tensor.prod
    half = tg.tensor([300.0, 300.0, 1 / 300], dtype=tg.float16).prod()
    assert half.dtype == np.float16 and np.isclose(float(half), 300.0, rtol=1e-3)  # (in float32, as torch on CUDA)
    h = tg.tensor([300.0, 300.0, 1 / 300, 0.0], dtype=tg.float16, requires_grad=True)
    h.prod().backward()  # (the others' products in float32 too: 300 at the zero, not inf)
    assert h.grad.dtype == np.float16 and np.isclose(float(h.grad.numpy()[3]), 300.0, rtol=1e-2)
    big = tg.tensor([300.0, 300.0, 3.0, 0.5], dtype=tg.float16, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (past 65504 the gradient is inf, without numpy's cast warning)
        big.prod().backward()
    assert np.isinf(big.grad.numpy()[3]) and np.isfinite(big.grad.numpy()[:3]).all()
    with pytest.raises(TypeError, match="prod: dim must be an int, got tuple"):
        t.prod((0, 1))
    with pytest.raises(IndexError, match="prod"):
        t.prod(2)


@pytest.mark.parametrize("op", ["amax", "amin"])
@with_fixtures
@given(shape=shapes(), keepdim=st.booleans(), data=st.data())
def test_amax_amin(device, op, shape, keepdim, data):
    """Values only, over None, an int or a tuple of dims (0-d and size-1 dims included)."""
    dim = data.draw(reduce_dims(len(shape)), label="dim")
    (x,) = data.draw(distinct([shape]), label="x")  # distinct values: a unique arg-max in every group
    ref = lambda a: getattr(np, op)(a, axis=np_axis(dim, a.ndim), keepdims=keepdim)  # noqa: E731
    check_op(lambda t: getattr(t, op)(dim, keepdim=keepdim), ref, [x], device, gradgrad=True)


@pytest.mark.parametrize("op", ["max", "min"])
@with_fixtures
@given(shape=shapes(), keepdim=st.booleans(), data=st.data())
def test_max_min_along_a_dim(device, op, shape, keepdim, data):
    """x.max(dim) is the named tuple (values, indices), as in torch; the values are differentiable."""
    nd = len(shape)
    dim = data.draw(st.integers(-max(nd, 1), max(nd, 1) - 1), label="dim")
    (x,) = data.draw(distinct([shape]), label="x")
    ax = np_axis(dim, nd)
    ref = lambda a: getattr(np, op)(a, axis=ax, keepdims=keepdim)  # noqa: E731
    check_op(lambda t: getattr(t, op)(dim, keepdim=keepdim).values, ref, [x], device, gradgrad=True)
    out = getattr(tensor(x, device), op)(dim, keepdim)
    values, indices = out  # unpacks like torch's torch.return_types.max
    assert out.values is values and out.indices is indices and type(out).__name__ == op
    assert indices.dtype == np.int64 and not indices.requires_grad and indices.device == device
    assert indices.shape == values.shape == np.shape(ref(x))
    np.testing.assert_array_equal(indices.numpy(), getattr(np, "arg" + op)(x, axis=ax, keepdims=keepdim))


@pytest.mark.parametrize("op", ["max", "min"])
@with_fixtures
@given(shape=shapes(), data=st.data())
def test_max_min_of_all_elements(device, op, shape, data):
    (x,) = data.draw(distinct([shape]), label="x")
    check_op(lambda t: getattr(t, op)(), getattr(np, op), [x], device, gradgrad=True)
    assert getattr(tensor(x, device), op)().shape == ()


def _tie_grads(x, op, dim, keepdim):
    """The gradient of sum(op(x) * w) under torch's tie rules, built in numpy: max()/amax split a
    row's gradient evenly among its tied extremes, max(dim) gives it all to the first one."""
    pick = np.max if op in ("max", "amax") else np.min
    w = np.random.default_rng(1).standard_normal(np.shape(pick(x, axis=dim, keepdims=keepdim)))
    ext = pick(x, axis=dim, keepdims=True)
    wk = w if keepdim or dim is None else np.expand_dims(w, dim)
    if op in ("max", "min") and dim is not None:  # one winner: the first extreme along dim
        first = (np.arange(x.shape[dim]).reshape([-1 if i == dim else 1 for i in range(x.ndim)])
                 == (np.argmax if op == "max" else np.argmin)(x, axis=dim, keepdims=True))
        return w, first * wk
    hit = (x == ext).astype(np.float64)
    return w, hit / hit.sum(axis=dim, keepdims=True) * wk


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
@with_fixtures
@given(shape=shapes(min_dims=1, max_side=3), keepdim=st.booleans(), data=st.data())
def test_tie_rules(device, op, shape, keepdim, data):
    """Values on a coarse grid, so ties are common: each function keeps torch's rule for them."""
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0])), label="x")
    dim = data.draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)), label="dim")
    w, expected = _tie_grads(x, op, dim, keepdim)
    t = tensor(x, device)
    out = getattr(t, op)() if dim is None else getattr(t, op)(dim, keepdim)
    out = out.values if op in ("max", "min") and dim is not None else out
    (out * tg.tensor(w, dtype=np.float64, device=device)).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
@given(shape=shapes(min_dims=1, max_side=3), keepdim=st.booleans(), data=st.data())
def test_max_min_amax_amin_match_torch(op, shape, keepdim, data):
    """Values, indices and gradients (ties included) against PyTorch, where it is installed."""
    torch = pytest.importorskip("torch")
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 0.5, 1.0])), label="x")
    nd = len(shape)
    dims = st.integers(-nd, nd - 1)
    if op in ("amax", "amin"):
        dims = st.one_of(dims, st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
    dim = data.draw(st.one_of(st.none(), dims), label="dim")
    ours, theirs = tensor(x), torch.tensor(x, requires_grad=True)
    if dim is None:
        a, b = getattr(ours, op)(), getattr(theirs, op)()
    else:
        a, b = getattr(ours, op)(dim, keepdim), getattr(theirs, op)(dim, keepdim)
    if op in ("max", "min") and dim is not None:
        np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
        assert a.indices.dtype == np.int64
        a, b = a.values, b.values
    np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
    w = np.random.default_rng(2).standard_normal(a.shape)
    (a * tg.tensor(w, dtype=np.float64)).sum().backward()
    (b * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_max_min_of_a_nan_as_torch(op):
    """A nan extreme: x.max()/x.min() give the gradient to the nans (torch's evenly_distribute_backward; it
    went nan everywhere), torch.amax/amin's is nan throughout, and neither warns."""
    x = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, 0.0]])
    t = tensor(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(t, op)().backward(tg.tensor(3.0, dtype=np.float64))
    expected = np.isnan(x) * 1.5 if op in ("max", "min") else np.full(x.shape, np.nan)
    np.testing.assert_array_equal(t.grad.numpy(), expected)
    torch = pytest.importorskip("torch")
    theirs = torch.tensor(x, requires_grad=True)
    getattr(theirs, op)().backward(torch.tensor(3.0, dtype=torch.float64))
    np.testing.assert_array_equal(t.grad.numpy(), theirs.grad.numpy())


def test_max_min_forms_and_errors():
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    v, i = x.max(1)  # the bug this API change fixes: with values only, this unpacked the two rows
    assert v.tolist() == [5.0, 7.0] and i.tolist() == [1, 0]
    assert x.min(0, keepdim=True).indices.tolist() == [[0, 1, 0]]
    assert x.max(dim=-1, keepdim=True).values.shape == (2, 1)
    np.testing.assert_array_equal(x.max(tg.full((3,), 4.0)).numpy(), [[4, 5, 4], [7, 4, 7]])  # tg.maximum
    np.testing.assert_array_equal(x.min(tg.full((3,), 4.0)).numpy(), [[1, 4, 2], [4, 0, 4]])
    assert x.amax().item() == 7.0 and x.amax(()).item() == 7.0 and x.amin((0, 1)).item() == 0.0
    s = tg.tensor(3.0)
    assert s.max(0).values.item() == 3.0 and s.max(-1).indices.item() == 0 and s.max(0).indices.shape == ()
    assert tg.zeros(0, 3).max(1).values.shape == (0,) and tg.zeros(0, 3).amax(1).shape == (0,)
    assert tg.tensor([3, 1]).max(0).values.dtype == np.int64
    with pytest.raises(TypeError, match=r"max: dim must be an int, got \(0, 1\); .* amax"):
        x.max((0, 1))
    with pytest.raises(IndexError, match="min: dim 2 is out of range"):
        x.min(2)
    with pytest.raises(ValueError, match=r"max: dim 1 of the input \(shape \(2, 0\)\) has size 0"):
        tg.zeros(2, 0).max(1)
    with pytest.raises(ValueError, match=r"amin: dim 0 of the input \(shape \(0, 2\)\) has size 0"):
        tg.zeros(0, 2).amin(0)
    with pytest.raises(ValueError, match=r"min: the input \(shape \(0,\)\) is empty"):
        tg.zeros(0).min()


@with_fixtures
@given(shape=shapes(), keepdim=st.booleans(), data=st.data())
def test_var(device, shape, keepdim, data):
    dim = data.draw(reduce_dims(len(shape)), label="dim")
    correction = data.draw(st.sampled_from([0, 1]) if reduced_count(shape, dim) > 1 else st.just(0))
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.var(a, axis=np_axis(dim, a.ndim), ddof=correction, keepdims=keepdim)  # noqa: E731
    check_op(lambda t: t.var(dim, keepdim=keepdim, correction=correction), ref, [x], device, gradgrad=True)


@with_fixtures
@given(shape=shapes(), keepdim=st.booleans(), p=st.sampled_from([1, 2, 3, 1.5, 0.5]), data=st.data())
def test_norm_and_std(device, shape, keepdim, p, data):
    """norm and std end in Root (s ** (1/p)): checked against numpy and central differences away from 0."""
    dim = data.draw(reduce_dims(len(shape)), label="dim")
    x = data.draw(nonzero(shape), label="x")
    ax = np_axis(dim, len(shape))
    ref = lambda a: (np.abs(a) ** p).sum(axis=ax, keepdims=keepdim) ** (1 / p)  # noqa: E731
    check_op(lambda t: t.norm(p, dim, keepdim), ref, [x], device, gradgrad=True)
    correction = data.draw(st.sampled_from([0, 1]) if reduced_count(shape, dim) > 1 else st.just(0))
    ref = lambda a: np.std(a, axis=ax, ddof=correction, keepdims=keepdim)  # noqa: E731
    (x,) = data.draw(distinct([shape]), label="x with distinct values")  # std > 0: differentiable
    if reduced_count(shape, dim) > 1:  # (a single value has std 0 for every x: no point to differentiate at)
        check_op(lambda t: t.std(dim, keepdim=keepdim, correction=correction), ref, [x], device, gradgrad=True)


def test_var_and_std_of_data_far_from_zero():
    """float32 1e6 + noise of std 0.1: the mean is off by about an ulp of the data (0.06), whose square added half
    again to the variance; torch's (Welford's) is right to float32 rounding, as these now are."""
    x = (1e6 + np.random.default_rng(0).standard_normal((3, 1000)) * 0.1).astype(np.float32)
    a = x.astype(np.float64)
    t = tg.tensor(x)
    np.testing.assert_allclose(t.var(1).numpy(), a.var(1, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(t.std(1, correction=0).numpy(), a.std(1), rtol=1e-4)
    np.testing.assert_allclose(t.var().numpy(), a.var(ddof=1), rtol=1e-4)
    np.testing.assert_allclose(tg.var_mean(t, 1)[0].numpy(), a.var(1, ddof=1), rtol=1e-4)


def test_var_and_std_of_tiny_and_huge_float32_data():
    """As torch's CPU kernel, float32 var and std are computed in float64: the squares of 1e-25s underflowed to a
    std of 0 (zero gradient), of 1e19s overflowed to inf, where the std (and var, 1e38) is a float32."""
    rng = np.random.default_rng(0)
    for scale in (1e-25, 1e19):
        x = (rng.standard_normal((2, 50)) * scale).astype(np.float32)
        a = x.astype(np.float64)
        t = tg.tensor(x, requires_grad=True)
        std = t.std(1)
        std.sum().backward()
        np.testing.assert_allclose(std.numpy(), a.std(1, ddof=1), rtol=1e-6)
        c = a - a.mean(1, keepdims=True)
        np.testing.assert_allclose(t.grad.numpy(), c / (49 * a.std(1, ddof=1, keepdims=True)), rtol=1e-5)
    np.testing.assert_allclose(tg.tensor(x).var(1).numpy(), a.var(1, ddof=1), rtol=1e-6)


def test_norm_of_zeros_and_std_of_a_constant_have_zero_gradient(device):
    """sqrt(s) has an infinite slope at s = 0; like torch, the norm of a zero vector and the std of a
    constant take the subgradient 0 there instead of inf * 0 = nan."""
    for f in (lambda t: t.norm(), lambda t: t.norm(3), lambda t: t.norm(2, 0).sum(), lambda t: t.std()):
        for x in (tg.zeros(3, device=device, requires_grad=True), tg.ones(3, device=device, requires_grad=True)):
            if f(x).item() == 0:
                f(x).backward()
                assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_norm_below_one_has_zero_gradient_at_zero_entries(device, p):
    """|x|^p (p < 1) has an infinite slope at 0, which times sign(0) = 0 gave nan; torch takes 0 there, and the
    other entries keep d/dx_i = s^(1/p - 1) |x_i|^(p - 1) sign(x_i), s = sum |x|^p."""
    x = np.array([[0.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    t = tg.tensor(x, device=device, requires_grad=True)
    t.norm(p, 1).sum().backward()
    s = (np.abs(x[0]) ** p).sum()
    a = np.where(x[0] != 0, np.abs(x[0]), 1.0)  # (the formula at the non-zero entries only)
    row = np.where(x[0] != 0, s ** (1 / p - 1) * a ** (p - 1) * np.sign(x[0]), 0.0)
    np.testing.assert_allclose(t.grad.numpy(), [row, [0.0, 0.0, 0.0]], rtol=1e-12)


def test_norm_that_overflows_has_torch_finite_gradient():
    """A float32 norm past 3.4e38 is inf, as torch's; its gradient is torch's x * g / inf = 0 for p = 2, and
    sign(x) for p = 1, where y / (p s) = inf / inf made it nan (and normalize's and pairwise_distance's too)."""
    x = np.array([[1e20, -3e20], [2.0, -1.0]], np.float32)
    t, u, v = (tg.tensor(a, requires_grad=True) for a in (x, np.array([3e38, -3e38, 3e38], np.float32), x))
    with np.errstate(over="ignore"):  # (the forward's overflow)
        t.norm(2, 1).sum().backward()
        u.norm(1).backward()
        F.normalize(v, dim=1).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [[0.0, 0.0], [2 / 5 ** 0.5, -1 / 5 ** 0.5]], rtol=1e-6)
    assert u.grad.tolist() == [1.0, -1.0, 1.0]
    assert np.isfinite(v.grad.numpy()).all() and v.grad.numpy()[0].tolist() == [0.0, 0.0]


@with_fixtures
@given(shape=shapes(), keepdim=st.booleans(), data=st.data())
def test_logsumexp(device, shape, keepdim, data):
    dim = data.draw(reduce_dims(len(shape)), label="dim")
    x = data.draw(arrays(shape, -5.0, 5.0), label="x")

    def ref(a):
        ax = np_axis(dim, a.ndim)
        m = np.max(a, axis=ax, keepdims=True)
        out = m + np.log(np.sum(np.exp(a - m), axis=ax, keepdims=True))
        return out if keepdim else np.sum(out, axis=ax)  # summing size-1 dims drops them

    check_op(lambda t: t.logsumexp(dim, keepdim=keepdim), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.logsumexp(t, dim, keepdim), ref, [x], device)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@with_fixtures
@given(shape=shapes(min_dims=0), data=st.data())
def test_softmax_log_softmax(device, op, shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-max(nd, 1), max(nd, 1) - 1), label="dim")
    x = data.draw(arrays(shape, -5.0, 5.0), label="x")

    def ref(a):
        ax = None if a.ndim == 0 else dim
        z = a - np.max(a, axis=ax, keepdims=True)
        lse = np.log(np.sum(np.exp(z), axis=ax, keepdims=True))
        return np.exp(z - lse) if op == "softmax" else z - lse

    check_op(lambda t: getattr(t, op)(dim), ref, [x], device, gradgrad=True)


# ============================================================================ movement
@st.composite
def reshape_target(draw, shape):
    """A shape with the same element count: a permutation of the dims, maybe with 1s and one -1."""
    dims = list(draw(st.permutations(list(shape))))
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and int(np.prod(shape)) > 0 and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_reshape_view_flatten_all(device, shape, data):
    target = data.draw(reshape_target(shape), label="target")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.reshape(target), lambda a: a.reshape(target), [x], device)
    if target:  # (t.reshape() with no sizes is an error, as torch's)
        check_op(lambda t: t.reshape(*target), lambda a: a.reshape(target), [x], device)
    check_op(lambda t: t.view(target), lambda a: a.reshape(target), [x], device)


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_permute_and_T(device, shape, data):
    perm = tuple(data.draw(st.permutations(range(len(shape))), label="perm"))
    x = data.draw(arrays(shape), label="x")
    if perm:
        check_op(lambda t: t.permute(*perm), lambda a: np.transpose(a, perm), [x], device)
    check_op(lambda t: t.permute(perm), lambda a: np.transpose(a, perm), [x], device)
    with warnings.catch_warnings():  # (x.T off 2-d: torch's deprecation note, once a process)
        warnings.simplefilter("ignore", UserWarning)
        check_op(lambda t: t.T, lambda a: a.T, [x], device)


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=0), data=st.data())
def test_transpose_swapaxes(device, shape, data):
    nd = len(shape)
    d0, d1 = (data.draw(st.integers(-nd, nd - 1)) for _ in range(2))
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.transpose(d0, d1), lambda a: np.swapaxes(a, d0, d1), [x], device)
    check_op(lambda t: t.swapaxes(d0, d1), lambda a: np.swapaxes(a, d0, d1), [x], device)


@with_fixtures
@given(shape=shapes(min_side=1, max_side=2), data=st.data())
def test_expand_broadcast_to(device, shape, data):
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2), label="lead"))
    grown = tuple(data.draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    target = lead + grown
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.broadcast_to(a, target)  # noqa: E731
    check_op(lambda t: t.broadcast_to(target), ref, [x], device, gradgrad=True)
    keep = lead + tuple(-1 if s == g and data.draw(st.booleans()) else g for s, g in zip(shape, grown))
    if keep:
        check_op(lambda t: t.expand(*keep), ref, [x], device)
    check_op(lambda t: t.expand(keep), ref, [x], device)


@with_fixtures
@given(shape=shapes(min_side=1, max_side=2), data=st.data())
def test_squeeze_unsqueeze(device, shape, data):
    nd = len(shape)
    dim = data.draw(reduce_dims(nd), label="dim")
    x = data.draw(arrays(shape), label="x")
    axes = set(range(nd)) if dim is None or nd == 0 else {d % nd for d in ((dim,) if isinstance(dim, int) else dim)}
    squeezed = tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1))
    check_op(lambda t: t.squeeze(dim), lambda a: a.reshape(squeezed), [x], device)
    u = data.draw(st.integers(-nd - 1, nd), label="unsqueeze dim")
    check_op(lambda t: t.unsqueeze(u), lambda a: np.expand_dims(a, u), [x], device)


@with_fixtures
@given(shape=shapes(min_dims=0, min_side=0), data=st.data())
def test_flatten(device, shape, data):
    nd = len(shape)
    if nd == 0:
        check_op(lambda t: t.flatten(), lambda a: a.reshape(1), [data.draw(arrays(shape))], device)
        check_op(lambda t: t.flatten(-1, 0), lambda a: a.reshape(1), [data.draw(arrays(shape))], device)
        with pytest.raises(IndexError, match="flatten: dim 1 is out of range"):  # (torch refuses it too)
            tensor(np.zeros(()), device).flatten(0, 1)
        return
    s = data.draw(st.integers(0, nd - 1), label="start")
    e = data.draw(st.integers(s, nd - 1), label="end")
    start = s - nd if data.draw(st.booleans()) else s
    end = e - nd if data.draw(st.booleans()) else e
    target = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.flatten(start, end), lambda a: a.reshape(target), [x], device)


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=0), data=st.data())
def test_narrow_select(device, shape, data):
    """narrow keeps ``length`` elements from ``start`` (negative: counted from the end) along dim; select takes the
    slice at ``index`` without the dim. Both are slices: the gradient reaches those elements only."""
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    n = shape[dim]
    start = data.draw(st.integers(-n, n), label="start")
    first = start + n if start < 0 else start
    length = data.draw(st.integers(0, n - first), label="length")
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.take(a, np.arange(first, first + length, dtype=np.int64), axis=dim)  # noqa: E731
    check_op(lambda t: t.narrow(dim, start, length), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.narrow(t, dim, start, length), ref, [x], device)
    if n:
        index = data.draw(st.integers(-n, n - 1), label="index")
        check_op(lambda t: t.select(dim, index), lambda a: np.take(a, index, axis=dim), [x], device, gradgrad=True)
        check_op(lambda t: tg.select(t, dim, index), lambda a: np.take(a, index, axis=dim), [x], device)


def test_narrow_select_are_views_and_check_their_arguments(device):
    x = tg.arange(12.0, device=device).reshape(3, 4)
    x.narrow(1, -2, 2).fill_(0.0)  # (views, as torch's: the write shows in x, and x's version counts it)
    x.select(0, 0).fill_(-1.0)
    assert x.tolist() == [[-1.0] * 4, [4.0, 5.0, 0.0, 0.0], [8.0, 9.0, 0.0, 0.0]] and x._version == 2
    assert x.narrow(0, 3, 0).shape == (0, 4) and x.narrow(0, -3, 3).shape == (3, 4)
    with pytest.raises(IndexError, match=r"narrow: start 4 is out of range for dim 0 of size 3 \(tensor shape "
                                         r"\(3, 4\); valid starts are -3..3\)"):
        x.narrow(0, 4, 0)
    with pytest.raises(IndexError, match="narrow: start -4 is out of range"):
        x.narrow(0, -4, 1)
    with pytest.raises(ValueError, match=r"narrow: start 2 \+ length 2 exceeds the size 3 of dim 0"):
        x.narrow(-2, 2, 2)
    with pytest.raises(ValueError, match=r"narrow: start 0 \+ length 4 exceeds"):  # (start -3 counted from the end)
        x.narrow(0, -3, 4)
    with pytest.raises(ValueError, match="narrow: length must be non-negative, got -1"):
        x.narrow(0, 0, -1)
    with pytest.raises(ValueError, match="narrow: a 0-d tensor has no dim to narrow"):
        tg.tensor(3.0).narrow(0, 0, 1)
    with pytest.raises(TypeError, match="narrow: start must be an int, got float"):
        x.narrow(0, 1.0, 1)
    with pytest.raises(IndexError, match="narrow: dim 2 is out of range"):
        x.narrow(2, 0, 1)
    with pytest.raises(IndexError, match=r"select: index -4 is out of range for dim 0 of size 3 \(tensor shape "
                                         r"\(3, 4\); valid indices are -3..2\)"):
        x.select(0, -4)
    with pytest.raises(IndexError, match="select: index 0 is out of range for dim 0 of size 0"):
        tg.ones(0, 2).select(0, 0)
    with pytest.raises(IndexError, match="select: a 0-d tensor has no dim to select from"):
        tg.tensor(3.0).select(0, 0)
    with pytest.raises(TypeError, match="select: index must be an int, got bool"):
        x.select(0, True)


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_movedim(device, shape, data):
    """The dims in source go to the places in destination (ints or tuples, negative ones too), the rest keep
    their order: numpy's moveaxis."""
    nd = len(shape)
    k = data.draw(st.integers(0, nd), label="k")
    src, dst = (data.draw(st.permutations(range(nd)), label=name)[:k] for name in ("source", "destination"))
    src, dst = ([d - nd if data.draw(st.booleans()) else d for d in dims] for dims in (src, dst))
    if k == 1 and data.draw(st.booleans(), label="as ints"):
        src, dst = src[0], dst[0]
    else:
        src, dst = tuple(src), list(dst)
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.moveaxis(a, src, dst)  # noqa: E731
    check_op(lambda t: t.movedim(src, dst), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.movedim(t, src, dst), ref, [x], device)


def test_movedim_forms_and_errors():
    x = tg.ones(2, 3, 4)
    assert x.movedim(0, -1).shape == (3, 4, 2) and x.movedim((), ()).shape == (2, 3, 4)
    assert tg.tensor(3.0).movedim(0, -1).shape == ()
    with pytest.raises(ValueError, match=r"movedim: source \(0, 1\) and destination \(2,\) name different numbers"):
        x.movedim((0, 1), (2,))
    with pytest.raises(ValueError, match=r"movedim: source \(0, -3\) repeats a dim \(tensor shape \(2, 3, 4\)\)"):
        x.movedim((0, -3), (1, 2))
    with pytest.raises(ValueError, match=r"movedim: destination \[1, 1\] repeats a dim"):
        x.movedim([0, 1], [1, 1])
    with pytest.raises(TypeError, match=r"movedim: source and destination must both be ints or both sequences of "
                                        r"ints, got 0 and \(1,\)"):
        x.movedim(0, (1,))
    with pytest.raises(IndexError, match="movedim: dim 3 is out of range"):
        x.movedim(3, 0)
    with pytest.raises(IndexError, match="movedim: dim 1 is out of range for a tensor with 0 dims"):
        tg.tensor(3.0).movedim(0, 1)


@st.composite
def unflatten_args(draw):
    """(shape, dim, sizes): dim of shape is the product of sizes, where one size may be given as -1."""
    base = draw(shapes(max_dims=2, max_side=3))
    sizes = draw(st.lists(st.sampled_from([1, 2, 3, 3, 0]), min_size=1, max_size=3))
    d = draw(st.integers(0, len(base)))
    shape = base[:d] + (math.prod(sizes),) + base[d:]
    if math.prod(sizes) and draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    dim = d - len(shape) if draw(st.booleans()) else d
    return shape, dim, tuple(sizes) if draw(st.booleans()) else sizes


@with_fixtures
@given(args=unflatten_args(), data=st.data())
def test_unflatten(device, args, data):
    shape, dim, sizes = args
    x = data.draw(arrays(shape), label="x")
    d = dim % len(shape)
    ref = lambda a: a.reshape(shape[:d] + tuple(sizes) + shape[d + 1:])  # noqa: E731  (numpy infers the -1)
    check_op(lambda t: t.unflatten(dim, sizes), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.unflatten(t, dim, sizes), ref, [x], device)


def test_unflatten_errors():
    x = tg.ones(2, 3, 4)
    assert x.unflatten(1, [1, 3, 1]).shape == (2, 1, 3, 1, 4) and tg.ones(2, 0).unflatten(1, (2, -1)).shape == (2, 2, 0)
    with pytest.raises(ValueError, match=r"unflatten: sizes \(3, 2\) do not multiply up to the size 4 of dim 2 "
                                         r"\(tensor shape \(2, 3, 4\)\)"):
        x.unflatten(-1, (3, 2))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(3, -1\) do not multiply up"):
        x.unflatten(-1, (3, -1))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(0, -1\) do not multiply up"):  # (-1 beside a 0: any size)
        tg.ones(2, 0).unflatten(1, (0, -1))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(-1, -1\) must be non-negative, but for one -1"):
        x.unflatten(-1, (-1, -1))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(-2, -2\) must be non-negative"):
        x.unflatten(-1, (-2, -2))
    with pytest.raises(ValueError, match="unflatten: sizes must be non-empty"):
        x.unflatten(1, ())
    with pytest.raises(TypeError, match="unflatten: sizes must be a tuple or list of ints, got int"):
        x.unflatten(1, 3)
    with pytest.raises(TypeError, match="unflatten: each size must be an int, got float"):
        x.unflatten(1, (3.0,))
    with pytest.raises(IndexError, match="unflatten: a 0-d tensor has no dim to unflatten"):
        tg.tensor(3.0).unflatten(0, (1,))
    with pytest.raises(IndexError, match="unflatten: dim 3 is out of range"):
        x.unflatten(3, (4,))


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_roll(device, shape, data):
    """Elements pushed off the end come back at the start: numpy's roll (dims may repeat, their shifts add up;
    dims None rolls the flattened tensor)."""
    nd = len(shape)
    x = data.draw(arrays(shape), label="x")
    if nd == 0 or data.draw(st.booleans(), label="dims None"):
        shift = data.draw(st.integers(-7, 7), label="shift")
        check_op(lambda t: t.roll(shift), lambda a: np.roll(a, shift), [x], device, gradgrad=True)
        return
    k = data.draw(st.integers(1, 3), label="k")
    dims = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k), label="dims")
    shifts = data.draw(st.lists(st.integers(-7, 7), min_size=k, max_size=k), label="shifts")
    if k == 1 and data.draw(st.booleans(), label="as ints"):
        dims, shifts = dims[0], shifts[0]
    ref = lambda a: np.roll(a, shifts, axis=dims)  # noqa: E731
    check_op(lambda t: t.roll(shifts, dims), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.roll(t, shifts=shifts, dims=dims), ref, [x], device)


def test_roll_is_a_copy_and_checks_its_arguments():
    x = tg.arange(6.0).reshape(2, 3)
    for y in (x.roll(0, 1), x.roll(3, 1), x.roll(1)):  # (a copy even where nothing moves, as torch's)
        assert not np.shares_memory(y.array, x.array)
    assert tg.tensor(3.0).roll(1).tolist() == 3.0 and tg.ones(0, 3).roll(1, 0).shape == (0, 3)
    with pytest.raises(ValueError, match=r"roll: shifts \(1,\) and dims \(0, 1\) must have one \(non-zero\) length"):
        x.roll((1,), (0, 1))
    with pytest.raises(ValueError, match=r"roll: shifts \(\) and dims \(\) must have one"):
        x.roll((), ())
    with pytest.raises(ValueError, match="roll: 2 shifts need as many dims"):
        x.roll((1, 2))
    with pytest.raises(IndexError, match=r"roll: a 0-d tensor has no dims to roll \(got dims \(0,\)"):
        tg.tensor(3.0).roll(1, 0)
    with pytest.raises(IndexError, match="roll: dim 2 is out of range"):
        x.roll(1, 2)
    with pytest.raises(TypeError, match="roll: each shift must be an int, got float"):
        x.roll(1.0)


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_flip(device, shape, data):
    """The order along each of dims reversed (ints, negative ones, none; a 0-d tensor takes dim 0 or -1, as
    torch's): numpy's flip, a copy whose gradient is the upstream one flipped back. fliplr is flip(1), flipud
    flip(0)."""
    nd = len(shape)
    if nd:
        dims = data.draw(st.lists(st.integers(-nd, nd - 1), max_size=nd, unique_by=lambda d: d % nd), label="dims")
    else:
        dims = data.draw(st.sampled_from([[], [0], [-1]]), label="dims")
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.flip(a, tuple(dims)) if a.ndim else a  # noqa: E731
    check_op(lambda t: t.flip(tuple(dims)), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.flip(t, dims), ref, [x], device)
    if dims:
        check_op(lambda t: t.flip(*dims), ref, [x], device)
    if nd >= 1:
        check_op(lambda t: t.flipud(), np.flipud, [x], device)
    if nd >= 2:
        check_op(lambda t: tg.fliplr(t), np.fliplr, [x], device)


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=0), data=st.data())
def test_unbind(device, shape, data):
    """The slices along dim, each without it (negative dims too): one output per slice, none for an empty dim,
    and each slice's gradient reaches its own elements only."""
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    x = data.draw(arrays(shape), label="x")
    if not shape[dim]:  # (no output: nothing to differentiate)
        assert tg.unbind(tensor(x, device), dim) == () and tensor(x, device).unbind(dim) == ()
        return
    ref = lambda a: tuple(np.take(a, i, axis=dim) for i in range(shape[dim]))  # noqa: E731
    check_op(lambda t: t.unbind(dim), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.unbind(t, dim), ref, [x], device)


@with_fixtures
@given(shape=shapes(min_side=0), pair=broadcast_pair(), data=st.data())
def test_other_names_are_their_ops(device, shape, pair, data):
    """torch's other names and the *_as forms, each with its values and gradients: absolute (abs), fix (trunc, a
    zero gradient off the integers), true_divide (div, broadcasting), swapdims (transpose), clone and contiguous
    (copies), type_as, expand_as, view_as and reshape_as (another tensor's dtype or shape), concat (cat)."""
    nd = len(shape)
    x = data.draw(nonzero(shape), label="x")
    check_op(tg.absolute, np.abs, [x], device)
    off_integers = data.draw(hnp.arrays(np.float64, shape, elements=_grid(-2, 2, 0.125)), label="off integers")
    check_op(lambda t: t.fix(), np.trunc, [off_integers], device)
    a, b = data.draw(arrays(pair[0]), label="a"), data.draw(nonzero(pair[1]), label="b")
    check_op(lambda u, v: u.true_divide(v), np.true_divide, [a, b], device)
    if nd:
        d0, d1 = (data.draw(st.integers(-nd, nd - 1), label="swapped dim") for _ in range(2))
        check_op(lambda t: tg.swapdims(t, d0, d1), lambda u: np.swapaxes(u, d0, d1), [x], device)
    check_op(lambda t: t.clone() * t, np.square, [x], device)
    check_op(lambda t: t.T.contiguous(), lambda u: u.T, [x], device)
    check_op(lambda t: t.type_as(tg.zeros(1, dtype=tg.float64, device=device)), lambda u: u, [x], device)
    grown = tuple(data.draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    lead = tuple(data.draw(st.lists(st.integers(0, 2), max_size=2), label="lead"))
    other = tg.zeros(lead + grown, device=device)
    check_op(lambda t: t.expand_as(other), lambda u: np.broadcast_to(u, other.shape), [x], device)
    target = tg.zeros(*reversed(shape), 1, device=device)
    check_op(lambda t: t.view_as(target) + t.reshape_as(target), lambda u: 2 * u.reshape(target.shape), [x], device)
    if nd:
        dim = data.draw(st.integers(-nd, nd - 1), label="cat dim")
        check_op(lambda u, v: tg.concat([u, v], dim), lambda u, v: np.concatenate([u, v], dim), [x, x * 2], device)


@with_fixtures
@given(bnkm=st.tuples(*[st.sampled_from([0, 1, 2, 3, 3]) for _ in range(4)]), data=st.data())
def test_bmm_and_ger(device, bnkm, data):
    """bmm: one matrix product per batch entry, (b, n, k) @ (b, k, m) (empty sizes too); ger: outer."""
    bs, n, k, m = bnkm
    a, b = data.draw(arrays((bs, n, k)), label="a"), data.draw(arrays((bs, k, m)), label="b")
    check_op(lambda x, y: x.bmm(y), np.matmul, [a, b], device, gradgrad=True)
    check_op(tg.bmm, np.matmul, [a, b], device)
    u, v = data.draw(arrays((n,)), label="u"), data.draw(arrays((m,)), label="v")
    check_op(lambda x, y: x.ger(y), np.outer, [u, v], device, gradgrad=True)
    check_op(tg.ger, np.outer, [u, v], device)


# ============================================================================ indexing
def test_getitem_of_unique_indices_writes_its_gradient(device):
    """unique=True (the caller vouches no element is picked twice, as packing does) gives the same values,
    gradients and second derivatives as the summing backward, without add.at."""
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    idx = (np.array([2, 0, 1, 2]), np.array([3, 1, 0, 0]))
    check_op(lambda t: ops.getitem(t, idx, unique=True), lambda a: a[idx], [x], device, gradgrad=True)
    t = tensor(x, device)
    (ops.getitem(t, idx, unique=True) * 2).sum().backward()
    want = np.zeros_like(x)
    want[idx] = 2
    np.testing.assert_array_equal(t.grad.numpy(), want)


@with_fixtures
@given(shape=shapes(min_dims=2, min_side=1), data=st.data())
def test_getitem_basic(device, shape, data):
    """ints, slices (negative steps too), None and Ellipsis."""
    index = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True), label="index")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t[index], lambda a: a[index], [x], device)


@with_fixtures
@given(n=st.integers(1, 5), index=st.one_of(st.integers(-5, 4), st.slices(5)), data=st.data())
def test_getitem_1d(device, n, index, data):
    if isinstance(index, int):
        index = index % n
    x = data.draw(arrays((n,)), label="x")
    check_op(lambda t: t[index], lambda a: a[index], [x], device)


@st.composite
def advanced_index(draw, shape, with_int=False):
    """Integer arrays (with repeats and negative values) mixed with slices, ints and None; ``with_int``: at
    least one int (the shape needs 2 dims)."""
    nd = len(shape)
    k = draw(st.integers(2 if with_int else 1, nd))
    ishape = draw(shapes(min_dims=0, max_dims=2, max_side=3))
    kinds = [draw(st.sampled_from(["array", "array", "slice", "int"])) for _ in range(k)]
    if "array" not in kinds:
        kinds[draw(st.integers(0, k - 1))] = "array"
    if with_int and "int" not in kinds:
        kinds[draw(st.sampled_from([j for j in range(k) if kinds[j] != "array" or kinds.count("array") > 1]))] = "int"
    parts = []
    for d, kind in enumerate(kinds):
        if kind == "array":
            parts.append(draw(hnp.arrays(np.int64, ishape, elements=st.integers(-shape[d], shape[d] - 1))))
        elif kind == "slice":
            parts.append(draw(st.slices(shape[d])))
        else:
            parts.append(draw(st.integers(-shape[d], shape[d] - 1)))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


def ints_then_rest(a, index):
    """a[index] by torch's rule: each integer picks along its dim first (np.take, last dim first so the others
    keep their place), then the index without the integers applies; numpy would broadcast the integers with
    the index arrays instead."""
    dims, d = [], 0
    for i in index:
        if isinstance(i, (int, np.integer)):
            dims.append((d, i))
        d += i is not None
    for d, i in reversed(dims):
        a = np.take(a, i, axis=d)
    return a[tuple(i for i in index if not isinstance(i, (int, np.integer)))]


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=1), data=st.data())
def test_getitem_integer_arrays(device, shape, data):
    """Advanced indexing: repeated indices must accumulate in the gradient (checked numerically); integers
    mixed with index arrays apply first, as in torch. gradgrad: under create_graph the gradient is recorded as
    ops (IndexAdd), not added into the buffer in place as a first-order backward does, and must accumulate too."""
    index = data.draw(advanced_index(shape), label="index")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t[index], lambda a: ints_then_rest(a, index), [x], device, gradgrad=True)


@with_fixtures
@given(shape=shapes(min_dims=3, min_side=1), data=st.data())
def test_getitem_integers_with_index_arrays(device, shape, data):
    """An int and an index array together (often apart, where numpy's and torch's layouts differ)."""
    index = data.draw(advanced_index(shape, with_int=True), label="index")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t[index], lambda a: ints_then_rest(a, index), [x], device)


@settings(max_examples=60)
@given(shape=shapes(min_dims=3, min_side=1), data=st.data())
def test_mixed_indices_match_torch(shape, data):
    """The spec itself, where torch is installed: values, the gradient and setitem for an int mixed with index
    arrays, slices and None (the reference above restates torch's rule; this asks torch)."""
    torch = pytest.importorskip("torch")
    index = data.draw(advanced_index(shape, with_int=True), label="index")
    assume(all(not isinstance(i, slice) or (i.step or 1) > 0 for i in index))  # (torch has no negative steps)
    a = data.draw(arrays(shape), label="x")
    t_index = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    ta = torch.tensor(a, requires_grad=True)
    want = ta[t_index]
    x = tg.tensor(a, requires_grad=True)
    got = x[index]
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    w = np.arange(1.0, 1.0 + want.numel()).reshape(tuple(want.shape))
    (got * tg.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ta.grad.numpy())
    y, ty = tg.tensor(a), torch.tensor(a)
    y[index] = 7.0  # (one value: where an index repeats a position, which write wins is not specified)
    ty[t_index] = 7.0
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_integers_apply_before_index_arrays_as_in_torch():
    """x[0, :, [0, 2, 1]] is x[0][:, [0, 2, 1]]: numpy would broadcast the 0 with the list and put the list's
    dim first (a transposed result); a 0-d integer tensor counts as an integer, and setitem follows the same rule."""
    x = tg.tensor(np.arange(18.0).reshape(2, 3, 3), requires_grad=True)
    y = x[0, :, [0, 2, 1]]
    assert y.tolist() == [[0.0, 2.0, 1.0], [3.0, 5.0, 4.0], [6.0, 8.0, 7.0]]  # row r of x[0] is 3r, 3r+1, 3r+2
    assert x[tg.tensor(1), :, [2]].tolist() == [[11.0], [14.0], [17.0]]
    (y * tg.tensor([[1.0, 10.0, 100.0]] * 3)).sum().backward()
    assert x.grad.numpy()[0, 0].tolist() == [1.0, 100.0, 10.0] and x.grad.numpy()[1].sum() == 0
    assert tg.zeros(4, 5, 6, 7)[:, 0, :, [0, 1]].shape == (4, 6, 2)
    z = tg.zeros(2, 3, 4)
    z[0, :, [1, 3]] = tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert z.numpy()[0].tolist() == [[0.0, 1.0, 0.0, 2.0], [0.0, 3.0, 0.0, 4.0], [0.0, 5.0, 0.0, 6.0]]
    assert tg.zeros(2, 3)[[]].shape == (0, 3)  # (an empty list is an empty integer index, not float64)


def test_ellipsis_of_no_dims_keeps_index_arrays_together_as_in_torch():
    """An Ellipsis that stands for no dims is no slice between index arrays: x[:, [1, 2], ..., [0, 0]] on 3 dims is
    x[:, [1, 2], [0, 0]], the arrays' dim in their place, as in torch (numpy would move it to the front). Values,
    the gradient (summed at the repeated element) and setitem."""
    a = np.arange(40.0).reshape(4, 5, 2)
    x = tg.tensor(a, requires_grad=True)
    y = x[0:3, [1, 1], ..., [0, 0]]
    np.testing.assert_array_equal(y.numpy(), a[0:3, [1, 1], [0, 0]])
    w = np.arange(6.0).reshape(3, 2)
    (y * tg.tensor(w)).sum().backward()
    want = np.zeros_like(a)
    want[0:3, 1, 0] = w.sum(1)
    np.testing.assert_array_equal(x.grad.numpy(), want)
    b = np.arange(24.0).reshape(2, 3, 4)
    assert tg.tensor(b)[-1, [0, 2], ..., tg.tensor([[1, 3]])].tolist() == b[-1][[0, 2], [[1, 3]]].tolist()
    z = tg.zeros(4, 5, 2, dtype=tg.float64)  # (an index put takes its destination's dtype, as torch's)
    z[0:3, [1, 2], ..., [0, 1]] = tg.tensor(w)
    want = np.zeros((4, 5, 2))
    want[0:3, [1, 2], [0, 1]] = w
    np.testing.assert_array_equal(z.numpy(), want)
    with pytest.raises(IndexError, match="single ellipsis"):
        z[..., [0], ...]


def test_integers_apply_before_a_python_bool_as_in_torch():
    """True and False in an index are index arrays (of a new dim) to numpy and torch, so integers apply first there
    too: x[0, :, True] is x[0][:, True], (3, 1), where numpy would put True's dim first, (1, 3). A write with
    only integers before a bool (x[True, 1] = v on 1 dim) reached a numpy scalar copy and failed."""
    a = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(a, requires_grad=True)
    y = x[0, :, True]
    np.testing.assert_array_equal(y.numpy(), a[0][:, None])
    (y * tg.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert x[1, :, False].shape == (3, 0)
    z = tg.zeros(2, 3)
    z[0, :, True] = tg.tensor([[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(z.numpy(), [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    v = tg.zeros(3)
    v[True, 1] = 5.0
    v[False, tg.tensor(2)] = 7.0
    np.testing.assert_array_equal(v.numpy(), [0.0, 5.0, 0.0])


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=1), data=st.data())
def test_getitem_boolean_mask(device, shape, data):
    k = data.draw(st.integers(1, len(shape)), label="mask dims")
    mask = data.draw(hnp.arrays(np.bool_, shape[:k]), label="mask")
    tail = data.draw(st.sampled_from([(), (slice(None),), (Ellipsis,)]) if k < len(shape) else st.just(()))
    index = (mask,) + tail
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t[index], lambda a: a[index], [x], device)
    check_op(lambda t: t[tg.tensor(mask, device=device)], lambda a: a[mask], [x], device)


def test_getitem_repeated_indices_accumulate(device):
    x = tensor([10.0, 20.0, 30.0, 40.0], device)
    idx = [0, 2, 0, 0, 3, 2]
    y = x[idx]
    np.testing.assert_array_equal(y.numpy(), [10.0, 30.0, 10.0, 10.0, 40.0, 30.0])
    (y * tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], device, requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0 + 3.0 + 4.0, 0.0, 2.0 + 6.0, 5.0])
    # the same with a Tensor index on a 2-D tensor, rows picked twice
    w = tensor(np.arange(6.0).reshape(3, 2), device)
    w[tg.tensor([2, 2, 0], device=device)].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])


def test_range_indexes_as_its_list_as_torch(device):
    """A range in an index is the index array of its integers, as in torch (Rainbow's
    ``log_ps[range(batch_size), actions]``): getitem, its gradient, setitem; an empty range picks nothing."""
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    for index in ((range(2), [0, 2]), (slice(None), range(1, 3)), range(2), range(0), (range(2), 1, range(1, 3))):
        x = tensor(a, device)
        ta = torch.tensor(a, requires_grad=True)
        y, want = x[index], ta[index]
        np.testing.assert_array_equal(y.numpy(), want.detach().numpy())
        y.sum().backward()
        want.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), ta.grad.numpy())
        x, ta = tg.tensor(a, device=device), torch.tensor(a)
        x[index], ta[index] = -1.0, -1.0
        np.testing.assert_array_equal(x.numpy(), ta.numpy())


def test_uint8_index_is_a_boolean_mask_as_in_torch(device):
    """A uint8 index tensor is a mask (its non-zero entries), as torch reads it (with a deprecation warning), in
    getitem, setitem and index_put_; read as integer positions it picked other rows without a word."""
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(3, 4)
    u = np.array([1, 0, 2], np.uint8)
    x = tensor(a, device)
    with pytest.warns(UserWarning, match="uint8"):
        y = x[tg.tensor(u, device=device)]
    np.testing.assert_array_equal(y.numpy(), a[[0, 2]])
    with pytest.warns(UserWarning, match="uint8"):
        y[tg.tensor(np.array([0, 1], np.uint8), device=device)].sum().backward()
    with pytest.warns(UserWarning, match="uint8"):
        z = x[:, tg.tensor(np.array([1, 0, 1, 0], np.uint8), device=device)]
    np.testing.assert_array_equal(z.numpy(), a[:, [0, 2]])
    with pytest.warns(UserWarning, match="uint8"):
        assert x[tg.tensor(np.uint8(1), device=device)].shape == (1, 3, 4)  # (0-d: as True, a new dim)
    assert x[np.uint8(1)].shape == (4,)  # (a numpy scalar is an int, in torch too)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (integer arrays of uint8 tensors inside the package stay positions)
        np.testing.assert_array_equal(x.gather(1, tg.tensor(np.array([[3], [0], [1]], np.uint8))).numpy(),
                                      [[3.0], [4.0], [9.0]])
        assert F.embedding(tg.tensor(np.array([2, 0], np.uint8)), x).tolist() == [a[2].tolist(), a[0].tolist()]
    ta = torch.tensor(a, requires_grad=True)
    with pytest.warns(UserWarning, match="uint8"):
        torch_y = ta[torch.tensor(u)]
        torch_y[torch.tensor(np.array([0, 1], np.uint8))].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ta.grad.numpy())
    w = tensor(a, device, requires_grad=False)
    with pytest.warns(UserWarning, match="uint8"):
        w[tg.tensor(u, device=device)] = tg.tensor([-1.0, -2.0, -3.0, -4.0], dtype=w.dtype, device=device)
        w.index_put_((tg.tensor(np.array([0, 1, 0], np.uint8), device=device),), tensor(9.0, device, False))
    np.testing.assert_array_equal(w.numpy(), [[-1.0, -2.0, -3.0, -4.0], [9.0] * 4, [-1.0, -2.0, -3.0, -4.0]])


# ============================================================================ cat / stack / split / chunk
@with_fixtures
@given(base=shapes(min_dims=1, max_dims=3, max_side=3), n=st.integers(1, 3), data=st.data())
def test_cat(device, base, n, data):
    nd = len(base)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    d = dim % nd
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n), label="sizes")
    xs = [data.draw(arrays(base[:d] + (s,) + base[d + 1:])) for s in sizes]
    check_op(lambda *ts: tg.cat(ts, dim), lambda *a: np.concatenate(a, axis=dim), xs, device)
    check_op(lambda *ts: tg.cat(list(ts), dim=dim), lambda *a: np.concatenate(a, axis=dim), xs, device)


def test_cat_passes_over_empty_1d_tensors_as_torch():
    """torch.cat's legacy rule: an input of shape (0,) is passed over whatever the others' shapes, so out =
    cat([out, x]) grows from out = tensor([]); its gradient is empty, the others' as without it."""
    a = np.arange(6.0).reshape(2, 3)
    x, e = tg.tensor(a, requires_grad=True), tg.zeros(0, requires_grad=True)
    y = tg.cat([e, x, e], dim=-1)
    np.testing.assert_array_equal(y.numpy(), a)
    (y * tg.tensor(a)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a)
    assert e.grad.shape == (0,)
    assert tg.cat([tg.tensor([]), tg.ones(2, 2, dtype=tg.int64)]).dtype == np.float32  # (its dtype still counts)
    assert tg.cat([tg.zeros(0), tg.zeros(0)], dim=1).shape == (0,)
    with pytest.raises(ValueError, match="0-d"):
        tg.cat([tg.zeros(0), tg.tensor(1.0)])


@with_fixtures
@given(shape=shapes(min_dims=0, max_dims=3, max_side=3, min_side=0), n=st.integers(1, 3), data=st.data())
def test_stack(device, shape, n, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd - 1, nd), label="dim")
    xs = [data.draw(arrays(shape)) for _ in range(n)]
    check_op(lambda *ts: tg.stack(ts, dim), lambda *a: np.stack(a, axis=dim), xs, device)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=0), data=st.data())
def test_split(device, shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    n = shape[dim]
    if data.draw(st.booleans(), label="by size"):
        arg = data.draw(st.integers(1, 5), label="split_size")
        sizes = [min(arg, n - s) for s in range(0, n, arg)] or [0]
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3), label="cuts"))
        bounds = [0] + cuts + [n]
        arg = sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    x = data.draw(arrays(shape), label="x")
    starts = np.cumsum([0] + sizes)

    def ref(a):
        return tuple(np.take(a, np.arange(s, s + k), axis=dim) for s, k in zip(starts, sizes))

    check_op(lambda t: t.split(arg, dim), ref, [x], device)
    check_op(lambda t: tg.split(t, arg, dim=dim), ref, [x], device)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), chunks=st.integers(1, 5), data=st.data())
def test_chunk(device, shape, chunks, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    n = shape[dim]
    size = -(-n // chunks)  # torch.chunk: pieces of ceil(n / chunks), the last may be smaller
    x = data.draw(arrays(shape), label="x")

    def ref(a):
        return tuple(np.take(a, np.arange(s, min(s + size, n)), axis=dim) for s in range(0, n, size))

    check_op(lambda t: t.chunk(chunks, dim), ref, [x], device)
    check_op(lambda t: tg.chunk(t, chunks, dim), ref, [x], device)
    assert len(tg.chunk(tensor(x, device), chunks, dim)) <= chunks


def test_chunk_of_an_empty_dim_gives_chunks_empty_pieces(device):
    """As torch (numpy's split would give one piece)."""
    x = tg.zeros(2, 0, device=device)
    assert [c.shape for c in x.chunk(3, 1)] == [(2, 0)] * 3 and [c.shape for c in x.chunk(1, -1)] == [(2, 0)]


# ============================================================================ gather / index_select
@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), data=st.data())
def test_gather(device, shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    d = dim % nd
    ishape = tuple(data.draw(st.integers(0, 4)) if i == d else data.draw(st.integers(1, s))
                   for i, s in enumerate(shape))
    idx = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)), label="index")
    x = data.draw(arrays(shape), label="x")
    sub = tuple(slice(None) if i == d else slice(0, s) for i, s in enumerate(ishape))
    ref = lambda a: np.take_along_axis(a[sub], idx, axis=d)  # noqa: E731
    check_op(lambda t: t.gather(dim, idx), ref, [x], device)
    check_op(lambda t: tg.gather(t, dim, tg.tensor(idx, device=device)), ref, [x], device)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), data=st.data())
def test_index_select(device, shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    idx = data.draw(hnp.arrays(np.int64, st.integers(0, 5).map(lambda k: (k,)),
                               elements=st.integers(0, shape[dim] - 1)), label="index")
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.take(a, idx, axis=dim)  # noqa: E731
    check_op(lambda t: t.index_select(dim, idx), ref, [x], device)
    check_op(lambda t: tg.index_select(t, dim, tg.tensor(idx, device=device)), ref, [x], device)


def test_index_select_takes_a_0d_index_as_torch():
    """A 0-d index picks one slice and keeps the dim (size 1), as torch's; on a 0-d input too."""
    a = np.arange(12.0).reshape(3, 4)
    x = tg.tensor(a, requires_grad=True)
    y = x.index_select(-1, tg.tensor(2))
    np.testing.assert_array_equal(y.numpy(), a[:, [2]])
    (y * tg.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 3.0, 0.0]])
    assert tg.index_select(tg.tensor(5.0), 0, tg.tensor(0)).shape == ()


@pytest.mark.parametrize("index", ["x[:, :, [0, 2]]", "x[:, [2, 0]]", "x[:, [0, 1], [0, 2]]", "x[:, :, [[0, 1]]]",
                                   "x[..., T.tensor([True, False, True, False, True])]", "x[[1, 0], :, [0, 2]]",
                                   "x.index_select(2, T.tensor([0, 2]))", "x.index_select(1, T.tensor([3]))"])
def test_advanced_indexing_results_are_row_major_as_torch(device, index):
    """Index arrays copy, and torch's copy is row-major, so a view() of it works; numpy's result for an index
    array past the first dim is laid out otherwise, which view() refused."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    ours = eval(index, {"x": tg.tensor(a, device=device, requires_grad=True), "T": tg})
    theirs = eval(index, {"x": torch.tensor(a, requires_grad=True), "T": torch})
    assert ours.is_contiguous() and theirs.is_contiguous()
    assert [s for s, n in zip(ours.stride(), ours.shape) if n > 1] == \
        [s for s, n in zip(theirs.stride(), theirs.shape) if n > 1]  # (a size-1 dim's stride is never used)
    np.testing.assert_array_equal(ours.view(-1).detach().cpu().numpy(), theirs.view(-1).detach().numpy())


@pytest.mark.parametrize("expr", ["T.cat([x.mT, x.mT], 0)", "T.einsum('bij,bkj->bik', x, x)", "T.softmax(x.mT, -1)",
                                  "T.log_softmax(x.mT, 1)", "T.cumsum(x.mT, 1)", "x.mT.sum(0)", "x.mT.mean(0)",
                                  "x.permute(2, 0, 1).sum(-1, keepdim=True)", "x.permute(2, 1, 0).amax(1)",
                                  "x.permute(2, 1, 0).prod(2)", "T.tril(x.permute(2, 1, 0))", "T.logcumsumexp(x.mT, 1)",
                                  "T.nn.functional.logsigmoid(x.mT)", "T.nn.functional.layer_norm(x.mT, (4,))",
                                  "T.nn.functional.rms_norm(x.mT, (4,))", "T.count_nonzero(x.permute(2, 1, 0), 2)"])
def test_results_of_strided_inputs_are_row_major_as_torch(device, expr):
    """torch writes its reductions, scans, softmaxes, cat and einsum row-major whatever the inputs' strides, so a
    view() of the result works (torch.cat([h.transpose(0, 1), ...]).view(...)); numpy kept a transposed input's
    layout, which view() refused. Values and gradients as torch's."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    x, xt = tg.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = eval(expr, {"x": x, "T": tg}), eval(expr, {"x": xt, "T": torch})
    assert ours.is_contiguous() and theirs.is_contiguous()
    np.testing.assert_allclose(ours.view(-1).detach().cpu().numpy(), theirs.view(-1).detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    if theirs.requires_grad:
        w = np.random.default_rng(1).standard_normal(theirs.numel())
        (ours.view(-1) * tg.tensor(w, device=device)).sum().backward()
        (theirs.view(-1) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


# ============================================================================ cumsum / repeat / sort / topk
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_cumsum(device, shape, data):
    """Each x_i reaches every later running sum: the gradient is g summed from the end."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1) if shape else st.sampled_from([0, -1]), label="dim")
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.cumsum(a, axis=dim) if a.ndim else a  # noqa: E731
    check_op(lambda t: t.cumsum(dim), ref, [x], device, gradgrad=True)


@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_cumprod(device, shape, data):
    """Running products, with zeros drawn often (the gradient's exact path at zeros, to second order: a
    product is a polynomial, so central differences hold there). Nonzero values keep |x| >= 0.25 (see
    test_prod)."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1) if shape else st.sampled_from([0, -1]), label="dim")
    values = st.sampled_from([0.0, 0.5, -1.5, 2.0]) | floats(0.25, 2) | floats(-2, -0.25)
    x = data.draw(hnp.arrays(np.float64, shape, elements=values), label="x")
    ref = lambda a: np.cumprod(a, axis=dim) if a.ndim else a  # noqa: E731
    check_op(lambda t: t.cumprod(dim), ref, [x], device, gradgrad=True)


def test_cumprod_dtypes_and_prod_second_order_memory():
    assert tg.tensor([1, 2, 3], dtype=tg.int32).cumprod(0).dtype == np.int64 and tg.cumprod is ops.cumprod
    assert tg.tensor([2.0, 3.0]).cumprod(0, dtype=tg.float64).dtype == np.float64
    for run in (tg.cumsum, tg.cumprod):  # (an explicit dtype is the result's, as torch)
        assert run(tg.tensor([1, 2]), 0, dtype=tg.int32).dtype == np.int32
    x32 = np.random.default_rng(0).uniform(0.99, 1.012, 5000).astype(np.float32)
    exact = np.cumprod(x32.astype(np.float64))  # (float32 products run in float64 on the CPU, as torch's)
    assert np.abs(tg.tensor(x32).cumprod(0).numpy() / exact - 1).max() < 2e-7
    half = tg.tensor([300.0, 300.0, 1 / 300], dtype=tg.float16).cumprod(0)  # (multiplied in float32)
    assert np.isinf(half.numpy()[1]) and np.isclose(float(half.numpy()[2]), 300.0, rtol=1e-2)
    x = tg.tensor([[2.0, 0.0, 3.0]], dtype=tg.float64, requires_grad=True)
    with np.errstate(divide="ignore"):  # (sqrt's gradient at 0 is inf)
        x.cumprod(1).sqrt().sum().backward()  # (an inf gradient after the zero must not reach the factors before it)
    assert np.isfinite(x.grad.numpy()[0, 0]) and x.grad.numpy()[0, 0] == pytest.approx(0.5 ** 1.5)
    with pytest.raises(TypeError, match="cumprod: dim must be an int"):
        tg.ones(3).cumprod((0,))
    import tracemalloc
    x = np.random.default_rng(0).random(3000)
    x[7] = 0.0
    t = tg.tensor(x, requires_grad=True)
    tracemalloc.start()
    (g,) = tg.grad(t.prod(), t, create_graph=True)  # (with a zero: running products, not a (n, n) table)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * x.nbytes
    np.testing.assert_allclose(g.numpy()[7], np.prod(np.delete(x, 7)), rtol=1e-10)


def test_cumsum_cumprod_with_a_narrower_dtype_take_the_gradient_in_the_inputs_dtype(device):
    """x.cumsum(d, dtype=float32) of a float64 x: the values are the float32 run, and the gradient comes back to
    float64 before it is summed from the end, as torch's cumsum_backward(grad.to(self.scalar_type())) (it was
    summed in float32 and then cast: ~1e-8 off torch's). cumprod alike, from the float64 x and float32 y."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, (2, 30))
    w = rng.standard_normal((2, 30))
    w32 = w.astype(np.float32).astype(np.float64)  # (the gradient reaching the float32 result)
    for run in ("cumsum", "cumprod"):
        t = tg.tensor(x, requires_grad=True, device=device)
        y = getattr(t, run)(1, dtype=tg.float32)
        assert y.dtype == tg.float32
        (y.double() * tg.tensor(w, device=device)).sum().backward()
        assert t.grad.dtype == tg.float64
        y64 = y.numpy().astype(np.float64)
        want = (np.cumsum(w32[:, ::-1], 1)[:, ::-1] if run == "cumsum"
                else np.cumsum((w32 * y64)[:, ::-1], 1)[:, ::-1] / x)
        np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-13)
        assert not np.array_equal(want, want.astype(np.float32))  # (not a float32 run's)
        torch = pytest.importorskip("torch")
        tt = torch.tensor(x, requires_grad=True)
        (getattr(tt, run)(1, dtype=torch.float32).double() * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-13)


def test_cumsum_dtypes_and_errors():
    assert tg.tensor([True, True, False]).cumsum(0).tolist() == [1, 2, 2]
    assert tg.tensor(np.array([200, 100], np.uint8)).cumsum(0).tolist() == [200, 300]  # (int64, as torch)
    assert tg.tensor(np.array([1, 2], np.int32)).cumsum(0).dtype == np.int64
    half = tg.tensor(np.full(4000, 0.1, np.float16)).cumsum(0)  # (summed in float32, as torch: a float16
    assert half.dtype == np.float16 and half[-1].item() == 400.0  # running sum stalls at 256, where 0.1 < ulp / 2)
    x = np.random.default_rng(0).random(100000).astype(np.float32)  # (running float32 sums accumulate in
    np.testing.assert_array_equal(tg.tensor(x).cumsum(0).numpy(),  # float64 on the CPU, as torch's do)
                                  np.cumsum(x.astype(np.float64)).astype(np.float32))
    assert tg.tensor([1, 2]).cumsum(0, dtype=tg.float64).tolist() == [1.0, 3.0]
    assert tg.cumsum(tg.tensor([1, 2]), 0, tg.float32).dtype == np.float32
    with pytest.raises(TypeError, match="cumsum: dim must be an int, got NoneType"):
        tg.ones(3).cumsum(None)
    with pytest.raises(IndexError, match="cumsum: dim 1 is out of range"):
        tg.ones(3).cumsum(1)


@with_fixtures
@given(shape=shapes(min_side=0, max_dims=3), data=st.data())
def test_repeat(device, shape, data):
    """torch's repeat is numpy's tile (extra leading repeats add dims); the copies' gradients add up."""
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 2), label="reps"))
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.repeat(*reps) if reps else t.repeat(()), lambda a: np.tile(a, reps), [x], device, gradgrad=True)


def test_repeat_errors():
    with pytest.raises(ValueError, match=r"repeat: 1 repeats given for a tensor with 2 dims \(shape \(1, 2\)\)"):
        tg.ones(1, 2).repeat(2)
    with pytest.raises(ValueError, match=r"repeat: repeats must be non-negative ints, got \(2, -1\)"):
        tg.ones(1, 2).repeat(2, -1)
    assert tg.ones(2).repeat((2, 1)).shape == (2, 2)  # (a tuple, as torch takes too)


@with_fixtures
@given(shape=shapes(), descending=st.booleans(), data=st.data())
def test_sort_values(device, shape, descending, data):
    """Sorting moves each value, with its gradient, to its place; checked where values are distinct
    (a tie is where the order, so the function, switches)."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1) if shape else st.sampled_from([0, -1]), label="dim")
    (x,) = data.draw(distinct([shape]), label="x")
    ax = dim if shape else None

    def ref(a):
        out = np.sort(a, axis=ax) if a.ndim else a
        return np.flip(out, ax) if descending and a.ndim else out

    check_op(lambda t: t.sort(dim, descending).values, ref, [x], device, gradgrad=True)
    k = data.draw(st.integers(0, shape[dim] if shape else 1), label="k")
    largest = data.draw(st.booleans(), label="largest")

    def ref_top(a):
        if not a.ndim:  # (torch gives a 0-d input back, for k = 0 too)
            return a
        out = np.sort(a, axis=ax)
        out = np.flip(out, ax) if largest else out
        return np.take(out, np.arange(k), axis=ax)

    check_op(lambda t: t.topk(k, dim, largest).values, ref_top, [x], device, gradgrad=True)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_and_puts_nan_last_or_first(device, descending):
    """Equal values keep their order in x, both ways (as torch's stable sort; the plain flip of an ascending
    argsort would reverse them); NaN sorts as the largest value."""
    x = tg.tensor([[2.0, 1.0, 2.0, np.nan, 1.0, 3.0]], device=device)
    values, idx = x.sort(1, descending)
    want = [5, 0, 2, 1, 4] if descending else [1, 4, 0, 2, 5]
    want = [3] + want if descending else want + [3]
    assert idx.tolist() == [want] and idx.dtype == np.int64
    np.testing.assert_array_equal(values.numpy(), x.numpy()[:, want])
    assert x.argsort(1, descending).tolist() == [want] and tg.argsort(x, -1, descending).tolist() == [want]
    top = x.topk(3, largest=descending)
    assert top.indices.tolist() == [want[:3]]


def test_topk_errors_and_tuple_names():
    x = tg.tensor([[1.0, 5.0, 3.0]])
    v, i = tg.topk(x, 2)
    assert v.tolist() == [[5.0, 3.0]] and i.tolist() == [[1, 2]]
    assert tg.sort(x).values.tolist() == [[1.0, 3.0, 5.0]] and type(tg.sort(x)).__name__ == "sort"
    with pytest.raises(ValueError, match=r"topk: k must be in 0..3 \(the size of dim -1 of shape \(1, 3\)\), "
                                         "got 4"):
        x.topk(4)
    with pytest.raises(IndexError, match="sort: dim 2 is out of range"):
        x.sort(2)
    for f in (lambda: x.sort((0,)), lambda: x.argsort(None), lambda: x.topk(1, (1,))):
        with pytest.raises(TypeError, match="dim must be an int"):
            f()
    with pytest.raises(TypeError, match="topk: k must be an int, got float"):
        x.topk(2.0)
    assert x.sort(stable=True).indices.tolist() == [[0, 2, 1]] and tg.sort(x, 1, True, stable=True).values.tolist() \
        == [[5.0, 3.0, 1.0]] and x.argsort(stable=True).tolist() == [[0, 2, 1]]  # (torch's keyword; always stable)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_topk_outputs_are_row_major_as_torch(device, dim):
    """torch's topk writes new row-major tensors, so ``topk(...).indices.view(-1)`` works (RIMs' top-k mask); the
    first k of a sort were a strided view here, which view() refused."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    ours, theirs = tg.tensor(a, device=device).topk(2, dim), torch.tensor(a).topk(2, dim)
    for o, t in zip(ours, theirs):
        assert o.is_contiguous() == t.is_contiguous() is True and o.stride() == t.stride()
        np.testing.assert_array_equal(o.view(-1).cpu().numpy(), t.view(-1).numpy())


@with_fixtures
@given(shape=shapes(min_dims=2, min_side=0), diagonal=st.integers(-3, 3), upper=st.booleans(), data=st.data())
def test_tril_triu(device, shape, diagonal, upper, data):
    """The last two dims' lower (upper) triangle from the diagonal-th diagonal; the gradient passes only there."""
    x = data.draw(arrays(shape), label="x")
    op = "triu" if upper else "tril"
    check_op(lambda t: getattr(t, op)(diagonal), lambda a: getattr(np, op)(a, diagonal), [x], device, gradgrad=True)


def test_tril_triu_keep_dtypes_and_refuse_vectors():
    b = tg.tensor([[True, True], [True, True]])
    assert tg.triu(b).tolist() == [[True, True], [False, True]] and tg.tril(b, -1).dtype == np.bool_
    assert tg.tensor([[1, 2], [3, 4]]).tril().tolist() == [[1, 0], [3, 4]]
    with pytest.raises(ValueError, match=r"tril: the input must have at least 2 dims .*got shape \(3,\)"):
        tg.ones(3).tril()
    with pytest.raises(TypeError, match="triu: diagonal must be an int, got float"):
        tg.ones(2, 2).triu(0.5)


# ============================================================================ logical functions
LOGICAL_VALUES = {np.bool_: st.booleans(), np.int64: st.sampled_from([0, 1, -2]),
                  np.float64: st.sampled_from([0.0, -0.0, 0.5, np.nan, np.inf])}


@pytest.mark.parametrize("op", ["and", "or", "xor"])
@with_fixtures
@given(pair=broadcast_pair(), dtypes=st.tuples(*[st.sampled_from(list(LOGICAL_VALUES))] * 2), data=st.data())
def test_logical_functions_take_any_dtype(device, op, pair, dtypes, data):
    """torch.logical_*: nonzero (nan and inf too) is True, whatever the dtype; a bool result, broadcast."""
    a, b = (data.draw(hnp.arrays(dt, s, elements=LOGICAL_VALUES[dt])) for dt, s in zip(dtypes, pair))
    x, y = tg.tensor(a, device=device), tg.tensor(b, device=device)
    want = getattr(np, f"logical_{op}")(a, b)
    for out in (getattr(x, f"logical_{op}")(y), getattr(tg, f"logical_{op}")(x, y)):
        assert out.dtype == np.bool_ and out.device == device
        np.testing.assert_array_equal(out.numpy(), want)
    for out in (x.logical_not(), tg.logical_not(x)):
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out.numpy(), np.logical_not(a))


def test_logical_functions_take_tensors_only():
    x = tg.tensor([0.0, 2.0], requires_grad=True)
    assert not x.logical_and(x).requires_grad and x.logical_not().tolist() == [True, False]
    with pytest.raises(TypeError, match="logical_or: other must be a Tensor, got int"):  # (as torch)
        x.logical_or(1)
    with pytest.raises(TypeError, match="logical_xor: input must be a Tensor, got list"):
        tg.logical_xor([1, 0], x)
    with pytest.raises(ValueError, match=r"logical_and: inputs \(2,\) torch.bool cpu, \(3,\) torch.bool cpu: "
                                         r".*broadcast"):
        x.logical_and(tg.ones(3))
    with pytest.raises(TypeError, match="bitwise_and: needs integer or bool operands .*got torch.float32 and int"):
        tg.tensor([1.0, 0.0]) & 1  # (the operators are bitwise: no float ones, as torch)


BITWISE = {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
           "bitwise_left_shift": np.left_shift, "bitwise_right_shift": np.right_shift}
BITWISE_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64]


@pytest.mark.parametrize("op", list(BITWISE))
@with_fixtures
@given(pair=broadcast_pair(), dtypes=st.tuples(*[st.sampled_from(BITWISE_DTYPES)] * 2), data=st.data())
def test_bitwise_ops_property(device, op, pair, dtypes, data):
    """torch's bitwise ops and their operators: numpy's values in the promoted dtype (torch's for tensors with dims;
    a 0-d one of the same kind takes the other's dtype), broadcast; a shift by a negative amount or by the width or
    more gives 0 or the sign, as torch (and numpy; CuPy's kernels are C's << and >>, undefined there, so a GPU run
    checks them). Method, function, operator and in-place forms agree."""
    if op.endswith("shift") and dtypes == (np.bool_, np.bool_):
        dtypes = (np.bool_, np.int8)
    a, b = (data.draw(hnp.arrays(dt, s, elements=st.booleans() if dt == np.bool_ else
                                 st.integers(0 if dt == np.uint8 else -70, 70))) for dt, s in zip(dtypes, pair))
    x, y = tg.tensor(a, device=device), tg.tensor(b, device=device)
    ints = a.dtype.kind != "b" and b.dtype.kind != "b"
    dtype = b.dtype if ints and a.ndim == 0 < b.ndim else a.dtype if ints and b.ndim == 0 < a.ndim \
        else np.result_type(a, b)
    want = BITWISE[op](a.astype(dtype), b.astype(dtype))
    operator = {"bitwise_and": "__and__", "bitwise_or": "__or__", "bitwise_xor": "__xor__",
                "bitwise_left_shift": "__lshift__", "bitwise_right_shift": "__rshift__"}[op]
    for out in (getattr(x, op)(y), getattr(tg, op)(x, y), getattr(x, operator)(y)):
        assert out.dtype == dtype and out.shape == want.shape and not out.requires_grad
        np.testing.assert_array_equal(out.numpy(), want)
    if want.shape == a.shape and want.dtype == a.dtype:
        z = tg.tensor(a, device=device)
        assert getattr(z, op + "_")(y) is z
        np.testing.assert_array_equal(z.numpy(), want)


def test_bitwise_operators_as_torch():
    """& | ^ ~ << >> on integer tensors are bitwise, on bool ones logical; numbers on either side and in-place forms;
    shifts past the width as torch's (0, or the sign); floats, bool shifts and an int result into a bool tensor are
    refused, as torch."""
    x = tg.tensor([12, -7, 5], dtype=tg.int32)
    assert (x & 6).tolist() == [4, 0, 4] and (6 & x).tolist() == [4, 0, 4] and (x & 6).dtype == np.int32
    assert (x | 1).tolist() == [13, -7, 5] and (x ^ -1).tolist() == [-13, 6, -6] and (~x).tolist() == [-13, 6, -6]
    assert (x << 2).tolist() == [48, -28, 20] and (x >> 1).tolist() == [6, -4, 2] and (1 << x[2:]).tolist() == [32]
    assert (x >> 40).tolist() == [0, -1, 0] and (x << 40).tolist() == [0, 0, 0] and (x << -1).tolist() == [0, 0, 0]
    assert (64 >> tg.tensor([2, 3])).tolist() == [16, 8]
    b = tg.tensor([True, False, True])
    assert (b & tg.tensor([True, True, False])).tolist() == [True, False, False]
    assert (~b).tolist() == [False, True, False]
    assert (b & 1).tolist() == [1, 0, 1] and (b & 1).dtype == np.int64 and (b ^ True).dtype == np.bool_
    assert (b << 1).tolist() == [2, 0, 2]
    y = x
    y &= 6
    y |= tg.tensor([1, 1, 1], dtype=tg.int32)
    y ^= 2
    y <<= 1
    y >>= 2
    assert y is x and x.tolist() == [3, 1, 3] and x.dtype == np.int32
    assert tg.bitwise_not(x).tolist() == [-4, -2, -4] and x.bitwise_not_() is x and x.tolist() == [-4, -2, -4]
    with pytest.raises(TypeError, match="bitwise_and: needs integer or bool operands .*got torch.int64 and float"):
        tg.tensor([1]) & 1.5
    with pytest.raises(TypeError, match="bitwise_not: needs an integer or bool tensor, got torch.float32"):
        ~tg.tensor([1.0])
    with pytest.raises(TypeError, match="bitwise_left_shift: cannot shift bool tensors"):
        b << b
    with pytest.raises(TypeError, match="bitwise_and_: the result is torch.int64, which this torch.bool tensor "
                                        "cannot hold"):
        b &= tg.tensor([1, 1, 1])
    with pytest.raises(ValueError, match=r"bitwise_xor: inputs \(3,\) torch.bool cpu, \(2,\) torch.bool cpu"):
        b ^ tg.tensor([True, False])


# ============================================================================ floor division / remainder
@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_remainder(device, pair, data):
    """a % b = a - b floor(a / b), with the divisor's sign; d/da = 1, d/db = -floor(a / b), away from the
    jumps (where a / b is an integer)."""
    a = data.draw(arrays(pair[0], -4.0, 4.0), label="a")
    b = data.draw(nonzero(pair[1], 0.5, 2.0), label="b")
    q = np.broadcast_to(a / b, np.broadcast_shapes(a.shape, b.shape))
    assume(np.all(np.abs(q - np.round(q)) > 0.05))
    check_op(lambda x, y: x % y, np.remainder, [a, b], device, gradgrad=True)


@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_floor_divide_matches_numpy_and_is_a_constant(device, pair, data):
    a = data.draw(arrays(pair[0], -4.0, 4.0), label="a")
    b = data.draw(nonzero(pair[1], 0.5, 2.0), label="b")
    out = tensor(a, device) // tensor(b, device)
    np.testing.assert_array_equal(out.numpy(), np.floor_divide(a, b))
    assert not out.requires_grad  # (a step function: torch records no usable derivative either)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@given(data=st.data())
def test_float_divmod_is_numpys_rule(dtype, data):
    """The CuPy path's // and % of floats (ops.float_divmod, run here with numpy as xp) agree bit for bit with
    numpy's, signed zeros, inf and nan included (CuPy's own floor(a / b) gives 1.0 // 0.1 = 10)."""
    edge = st.sampled_from([0.0, -0.0, 0.1, -0.1, 0.3, 1.0, -1.0, 2.5, -7.5, 3.0, 1e-30, 1e30, np.inf, -np.inf, np.nan])
    values = st.one_of(edge, st.floats(-1e4, 1e4, width=64 if dtype == np.float64 else 32))
    a = data.draw(st.lists(values, min_size=1, max_size=12), label="a")
    b = data.draw(st.lists(values, min_size=len(a), max_size=len(a)), label="b")
    with np.errstate(all="ignore"):  # (1e30 is inf in float16; x / 0 and inf % x warn)
        a, b = np.array(a, dtype=dtype), np.array(b, dtype=dtype)
        got = ops.float_divmod(np, a, b)
        want = np.floor_divide(a, b), np.remainder(a, b)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_array_equal(g, w)
        assert np.array_equal(np.signbit(g), np.signbit(w))
    assert ops.float_divmod(np, np.array([1.0]), np.array([0.1]))[0].tolist() == [9.0]
    mixed = [(np.array([60000.0, 1.0], np.float16), np.array([0.01, 0.1], np.float32)),  # (float32, as numpy)
             (np.array([7, -7, 1], np.int64), np.array([0.1, 2.5, 0.1], np.float32)),  # (an int and a float)
             (np.array([-44, -62, -99], np.int8), np.array([-0.0223, -0.02457, -0.1053], np.float16))]  # (float16,
    # through float32 as numpy: in float16 itself these quotients come out 1972, 2522, 939)
    for a, b in mixed:
        for g, w in zip(ops.float_divmod(np, a, b), (np.floor_divide(a, b), np.remainder(a, b))):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
    # pairs whose (a - a % b) / b lands just below an integer, which the quotient must round up
    a, b = np.array([-5.442589828573099, 6.564749350763358, -3.139228]), np.array([-0.971364804793446,
                                                                                    -0.49740553682445876, 0.053437967])
    np.testing.assert_array_equal(ops.float_divmod(np, a, b)[0], np.floor_divide(a, b))


def test_floor_divide_and_remainder_on_integers_and_numbers():
    n = tg.tensor([7, -7, 6])
    assert (n // 2).tolist() == [3, -4, 3] and (n % 3).tolist() == [1, 2, 0] and (n % -3).tolist() == [-2, -1, 0]
    assert (20 // n).tolist() == [2, -3, 3] and (20 % n).tolist() == [6, -1, 2] and (n // 2).dtype == np.int64
    assert (n // 2.0).dtype == np.float32 and (tg.tensor([7.5]) % 2).tolist() == [1.5]
    assert tg.floor_divide(n, 2).tolist() == [3, -4, 3] and tg.remainder(n, 4).tolist() == [3, 1, 2]
    assert n.floor_divide(4).tolist() == [1, -2, 1] and n.remainder(4).tolist() == [3, 1, 2]
    for f in (lambda: n // tg.tensor([1, 0, 1]), lambda: n % 0):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            f()
    empty = tg.zeros((0, 3), dtype=tg.int8)  # nothing divided: no error, as torch
    for out in (empty // 0, empty % tg.tensor([0, 1, 2], dtype=tg.int8), tg.fmod(empty, 0),
                empty.div(0, rounding_mode="trunc")):
        assert out.shape == (0, 3) and out.dtype == np.int8
    b = tg.tensor([True, False])
    for f in (lambda: b // b, lambda: b % True):
        with pytest.raises(TypeError, match="both operands are bool"):
            f()


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.float32, np.float64])
@given(data=st.data())
def test_div_rounding_modes(dtype, data):
    """div's rounding_mode: 'floor' is a // b, 'trunc' rounds toward zero (C's integer division), both in the
    operands' dtype, a step with a gradient of 0 (torch's); a tensor or a number divisor, against Python's own
    arithmetic."""
    lo = 0 if dtype == np.uint8 else -60
    a = data.draw(st.lists(st.integers(lo, 60), min_size=1, max_size=8), label="a")
    b = data.draw(st.lists(st.integers(lo, 9).filter(bool), min_size=len(a), max_size=len(a)), label="b")
    if np.dtype(dtype).kind == "f":
        a = [x + data.draw(st.sampled_from([0.0, 0.25, -0.5]), label="frac") for x in a]
    x = tg.tensor(np.array(a, dtype), requires_grad=np.dtype(dtype).kind == "f")
    y = tg.tensor(np.array(b, dtype))
    trunc = [math.trunc(p / q) if np.dtype(dtype).kind == "f" else abs(p) // abs(q) * (1 if (p < 0) == (q < 0)
                                                                                       else -1) for p, q in zip(a, b)]
    for out, want in ((x.div(y, rounding_mode="floor"), [p // q for p, q in zip(a, b)]),
                      (tg.div(x, y, rounding_mode="trunc"), trunc),
                      (x.div(b[0], rounding_mode="trunc"), [t for t in (
                          [math.trunc(p / b[0]) for p in a] if np.dtype(dtype).kind == "f" else
                          [abs(p) // abs(b[0]) * (1 if (p < 0) == (b[0] < 0) else -1) for p in a])])):
        assert out.dtype == dtype and out.tolist() == want and out.requires_grad == x.requires_grad
    if x.requires_grad:
        (g,) = tg.grad(x.div(y, rounding_mode="floor").sum(), x)
        assert g.tolist() == [0.0] * len(a)
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor', got 'round'"):
        x.div(y, rounding_mode="round")


def test_floor_divide_and_remainder_in_place_and_0d(device):
    """//= and %= write into the tensor (its views see it), as torch's; a 0-d quotient is an array of its own,
    so an in-place change reaches its aliases."""
    x = tg.tensor([7.0, -3.0, 5.0], device=device)
    y, view = x, x[0:2]
    y %= 2
    assert y is x and x.tolist() == [1.0, 1.0, 1.0] and view.tolist() == [1.0, 1.0]
    x //= 0.5
    assert x.tolist() == [2.0, 2.0, 2.0] and x.remainder_(3).floor_divide_(2) is x and x.tolist() == [1.0] * 3
    n = tg.tensor([7, 8], device=device)
    with pytest.raises(TypeError, match=r"//=: the result is torch.float32, which this torch.int64 tensor cannot hold"):
        n //= 2.5
    q = tg.tensor(7.0, device=device) // 2
    alias = q.detach()
    q.zero_()
    assert alias.item() == 0.0


def test_remainder_gradient_uses_the_forward_quotient():
    """d(a % b)/db = -(a // b), the quotient the forward used: floor(a / b) rounds 1.0 / 0.1 up to 10, where
    1.0 // 0.1 (numpy's, Python's and torch's) is 9, as 1.0 % 0.1 = 0.0999... says."""
    a = tg.tensor([1.0, 0.3], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([0.1, 0.1], dtype=tg.float64, requires_grad=True)
    (a % b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), -np.floor_divide([1.0, 0.3], [0.1, 0.1]))
    assert b.grad.tolist()[0] == -9.0


# ============================================================================ astype / to
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_astype_roundtrip(device, shape, data):
    """float64 -> float32 -> float64: the gradient passes through each cast unchanged (looser
    tolerances: the float32 step rounds the perturbed inputs)."""
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: a.astype(np.float32).astype(np.float64) * 3.0  # noqa: E731
    for fn in (lambda t: t.astype(np.float32).astype(np.float64) * 3.0,
               lambda t: t.float().double() * 3.0,
               lambda t: t.to(np.float32).to("float64") * 3.0):
        check_op(fn, ref, [x], device, gradcheck_kw=dict(eps=1e-3, atol=1e-3, rtol=1e-2))


def test_cast_gradient_dtype_and_device(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)  # float32 leaf
    seen = []
    x.register_hook(lambda g: seen.append(g.dtype))  # the gradient flowing out of the cast
    y = x.double()
    assert y.dtype == np.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert seen == [np.float32]
    assert x.grad.dtype == np.float32 and x.grad.device == device
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    assert x.to(device) is x and x.astype(np.float32) is x
    z = x.to(device).to("cpu")
    assert z.device == "cpu"


# ============================================================================ numerical stability
def _strict():
    """numpy warnings become errors and over/divide/invalid floating-point events raise. Underflow
    stays ignored (numpy's default, never a warning): exp(-2000) -> 0.0 is the correctly
    rounded result, and Python's math.exp gives the same 0.0 for the reference values."""
    ctx = warnings.catch_warnings()
    return ctx, np.errstate(all="raise", under="ignore")


def _exact_sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_at_1000(device, dtype):
    vals = [1000.0, -1000.0, 0.0, 999.0, -999.5]
    ctx, err = _strict()
    with ctx, err:
        warnings.simplefilter("error")
        x = tg.tensor(np.array(vals, dtype=dtype), dtype=dtype, device=device, requires_grad=True)
        sm, lsm, lse, sig = x.softmax(-1), x.log_softmax(0), x.logsumexp(), x.sigmoid()
        w = tg.tensor(np.array([0.5, -1.0, 2.0, 1.5, -0.25], dtype=dtype), device=device)
        (sm * w).sum().backward()
        g_sm = x.grad.numpy().copy()
        x.grad = None
        (lsm * w).sum().backward()
        g_lsm = x.grad.numpy().copy()
        x.grad = None
        lse.backward()
        g_lse = x.grad.numpy().copy()
        x.grad = None
        (sig * w).sum().backward()
        g_sig = x.grad.numpy().copy()

    L = exact_logsumexp(vals)
    p = [math.exp(v - L) for v in vals]
    wl = [0.5, -1.0, 2.0, 1.5, -0.25]
    s_dot = math.fsum(pi * wi for pi, wi in zip(p, wl))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for got in (sm, lsm, lse, sig):
        assert np.isfinite(got.numpy()).all()
    np.testing.assert_allclose(sm.numpy(), p, rtol=rtol, atol=0)
    np.testing.assert_allclose(lsm.numpy(), [v - L for v in vals], rtol=rtol, atol=0)
    np.testing.assert_allclose(lse.item(), L, rtol=rtol)
    np.testing.assert_allclose(sig.numpy(), [_exact_sigmoid(v) for v in vals], rtol=rtol, atol=0)
    np.testing.assert_allclose(g_sm, [pi * (wi - s_dot) for pi, wi in zip(p, wl)], rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(g_lsm, [wi - pi * math.fsum(wl) for pi, wi in zip(p, wl)], rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(g_lse, p, rtol=rtol, atol=0)
    np.testing.assert_allclose(g_sig, [wi * _exact_sigmoid(v) * (1 - _exact_sigmoid(v)) for v, wi in zip(vals, wl)],
                               rtol=rtol, atol=1e-30)


def test_softplus_at_the_extremes(device):
    """log(1 + e^x) is exactly x for large x and inf at inf, with the gradient sigmoid(x): 1 at x = inf (where
    the log-sum-exp form gave nan, and so did BCE with logits at x = -inf), 0 at -inf."""
    x = tensor([-np.inf, -1000.0, 0.0, 1000.0, np.inf], device)
    y = F.softplus(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, np.log(2.0), 1000.0, np.inf])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.5, 1.0, 1.0])
    z = tensor([-np.inf], device)
    with np.errstate(invalid="ignore"):  # (the loss itself is -inf + inf = nan there, as in torch)
        F.binary_cross_entropy_with_logits(z, tg.tensor([0.5], device=device)).backward()
    assert z.grad.tolist() == [-0.5]  # sigmoid(z) - y
    assert F.softplus(tg.tensor([0, 1])).dtype == np.float32


@pytest.mark.parametrize("dtype,v", [(np.float32, -20.0), (np.float32, -80.0), (np.float64, -30.0),
                                     (np.float64, -700.0), (np.float32, 20.0), (np.float64, 40.0)])
def test_sigmoid_keeps_relative_precision(device, dtype, v):
    """sigmoid(v) for large negative v is tiny but representable: it must not round to 0."""
    ctx, err = _strict()
    with ctx, err:
        warnings.simplefilter("error")
        x = tg.tensor(np.array([v], dtype=dtype), dtype=dtype, device=device, requires_grad=True)
        y = x.sigmoid()
        y.sum().backward()
    expected = _exact_sigmoid(v)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.item(), expected, rtol=rtol)
    # y (1 - y): exact to relative precision where y is tiny; where y rounds to 1 (v >> 0) the
    # gradient may round to 0, an absolute error below the dtype's epsilon
    np.testing.assert_allclose(x.grad.item(), expected * (1 - expected), rtol=rtol,
                               atol=0 if v < 0 else float(np.finfo(dtype).eps))


@pytest.mark.parametrize("shape,dim", [((2, 3), 1), ((2, 3), 0), ((3, 2, 2), (0, 2))])
def test_logsumexp_large_rows(device, shape, dim):
    rng = np.random.default_rng(1)
    a = rng.choice([1000.0, -1000.0, 998.0, 0.5], size=shape)
    ctx, err = _strict()
    with ctx, err:
        warnings.simplefilter("error")
        out = tg.tensor(a, dtype=np.float64, device=device).logsumexp(dim, keepdim=False).numpy()
    axes = (dim,) if isinstance(dim, int) else dim
    keep = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, keep + list(axes)).reshape([a.shape[i] for i in keep] + [-1])
    expected = np.array([exact_logsumexp(row) for row in moved.reshape(-1, moved.shape[-1])]).reshape(out.shape)
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def test_dtype_promotion_follows_torch():
    """Python numbers and mixed-dtype lists promote as in torch: a bool tensor plus an int counts, an int
    tensor clamped to float bounds is float, int ** int stays exact, and cat's floats keep their dtype."""
    b = tg.tensor([True, False])
    assert (b + 1).dtype == np.int64 and (b + 1).tolist() == [2, 1]
    assert (b * 2.5).dtype == np.float32 and (b * 2.5).tolist() == [2.5, 0.0]
    assert (b + True).dtype == np.bool_
    i = tg.tensor([0, 1, 2])
    assert (i + 1).dtype == np.int64 and (i * 0.5).dtype == np.float32
    c = i.clamp(0.5, 1.5)
    assert c.dtype == np.float32 and c.tolist() == [0.5, 1.0, 1.5]
    assert i.clamp(0, 1).dtype == np.int64
    p = 2 ** tg.tensor([30, 0])
    assert p.dtype == np.int64 and p.tolist() == [2 ** 30, 1]
    assert (2 ** tg.tensor([-1])).tolist() == [0]  # torch: an integer power, truncated
    assert (2.0 ** tg.tensor([3])).dtype == np.float32
    assert tg.cat([tg.tensor([1]), tg.tensor([1.0])]).dtype == np.float32
    assert tg.stack([tg.tensor([1]), tg.tensor([1.0], dtype=tg.float64)]).dtype == np.float64
    assert tg.cat([tg.tensor([1]), tg.tensor([True])]).dtype == np.int64


def test_subtraction_refuses_a_bool_operand_as_torch(device):
    """torch refuses a bool tensor or a Python bool on either side of a subtraction (-, sub, sub_, rsub), not only
    two bool tensors; other dtypes and addition are untouched."""
    b, i, f = (tg.tensor(v, device=device) for v in ([True, False], [1, 2], [1.0, 2.0]))
    for bad in (lambda: b - 2, lambda: 2 - b, lambda: b - i, lambda: i - b, lambda: f - True, lambda: True - f,
                lambda: b.sub(i), lambda: i.clone().sub_(b), lambda: tg.sub(i, b), lambda: tg.rsub(b, 1),
                lambda: b - b):
        with pytest.raises(RuntimeError, match="subtract"):
            bad()
    assert (i - 1).tolist() == [0, 1] and (f - i).tolist() == [0.0, 0.0] and (b + 1).tolist() == [2, 1]
    torch = pytest.importorskip("torch")
    for bad in (lambda: torch.tensor([True]) - 2, lambda: torch.tensor([1.0]) - True, lambda: torch.rsub(
            torch.tensor([True]), 1)):
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor is not supported"):
            bad()


def test_add_and_sub_scale_other_by_alpha_in_the_promoted_dtype(device):
    """add/sub(input, other, alpha) as torch: alpha * other in the dtype input and other promote to, not in
    other's (uint8 200 * 2 wrapped to 144; a float32 0-d other rounded before meeting float64); alpha an integer
    for integer results and a bool only for bool ones (a bool alpha passed as 1 before)."""
    i16 = tg.tensor(np.array([1, -3], np.int16), device=device)
    u8 = tg.tensor(np.array([200, 7], np.uint8), device=device)
    for out in (i16.add(u8, alpha=2), tg.sub(i16, u8, alpha=-2), i16.clone().add_(u8, alpha=2)):
        assert out.dtype == np.int16 and out.tolist() == [401, 11]
    x = tg.tensor([1.0], dtype=tg.float64, device=device)
    third = tg.tensor(np.float32(1 / 3), device=device)
    assert x.add(third, alpha=3).item() == 1 + 3 * float(np.float32(1 / 3))
    b = tg.tensor([True, False], device=device)
    assert b.add(b, alpha=2).dtype == np.bool_ and b.add(b, alpha=False).tolist() == [True, False]
    for bad in (lambda: tg.tensor([1.0]).add(1.0, alpha=True), lambda: tg.tensor([1]).sub(tg.tensor([2]), alpha=1.0),
                lambda: tg.tensor([1]).add_(2, alpha=0.5)):
        with pytest.raises(TypeError, match="alpha must be a number"):
            bad()


def test_all_and_any_of_a_uint8_tensor_are_uint8(device):
    """torch's all/any give uint8 0s and 1s for a uint8 tensor (its old mask dtype), bools for every other."""
    u = tg.tensor(np.array([[3, 0], [1, 2]], np.uint8), device=device)
    for out, want in ((u.all(), 0), (u.any(), 1), (tg.all(u, 1), [0, 1]), (u.any(0, keepdim=True), [[1, 1]]),
                      (tg.tensor(np.zeros((2, 0), np.uint8)).all(1), [1, 1])):
        assert out.dtype == np.uint8 and out.tolist() == want
    for dtype in (tg.int8, tg.bool, tg.float16):
        assert tg.ones(2, dtype=dtype, device=device).all().dtype == np.bool_
        assert tg.ones(2, dtype=dtype, device=device).any(0).dtype == np.bool_


def test_an_int_number_beside_an_integer_tensor_wraps_into_its_dtype(device):
    """As torch's: a Python int operand of an integer tensor's binary op is a 64-bit integer cast (wrapped) to the
    tensor's dtype, not an OverflowError: torchvision's posterize is img & -2 ** (8 - bits) on uint8. where's and
    pow's number is torch's checked Scalar (-255 .. 255 for uint8, int8's own range), a RuntimeError beyond; an int
    past 64 bits is an OverflowError."""
    u = tg.tensor(np.array([5, 200, 255], np.uint8), device=device)
    i8 = tg.tensor(np.array([5, -100, 127], np.int8), device=device)
    cases = {"and": (lambda T, u, i: u & -32, [0, 192, 224]),
             "or": (lambda T, u, i: u | -32, [229, 232, 255]),
             "xor": (lambda T, u, i: T.bitwise_xor(u, -1), [250, 55, 0]),
             "add": (lambda T, u, i: u + 300, [49, 244, 43]),
             "radd": (lambda T, u, i: -3 + u, [2, 197, 252]),
             "rsub": (lambda T, u, i: 300 - u, [39, 100, 45]),
             "mul_": (lambda T, u, i: u.clone().mul_(300), [220, 96, 212]),
             "i8": (lambda T, u, i: i + 200, [-51, 100, 71]),
             "fmod": (lambda T, u, i: T.fmod(u, 300), [5, 24, 35]),
             "rem": (lambda T, u, i: T.remainder(u, -3), [5, 200, 2]),
             "floordiv": (lambda T, u, i: u // -3, [0, 0, 1]),
             "eq": (lambda T, u, i: u == -1, [False, False, True]),
             "gt": (lambda T, u, i: u > 300, [False, True, True]),
             "where": (lambda T, u, i: T.where(u > 100, u, -1), [255, 200, 255]),
             "masked_fill": (lambda T, u, i: u.masked_fill(u < 100, -255), [1, 200, 255]),
             "pow": (lambda T, u, i: u.pow(255), [205, 0, 255]),
             "2**63": (lambda T, u, i: u + 2 ** 63, [5, 200, 255])}
    for name, (f, want) in cases.items():
        got = f(tg, u, i8)
        assert got.tolist() == want, name
        assert got.dtype == (tg.bool if isinstance(want[0], bool) else u.dtype if name != "i8" else tg.int8), name
    assert (tg.tensor([1], device=device) + 2 ** 63).tolist() == [1 - 2 ** 63]
    with pytest.raises(RuntimeError, match="where: value cannot be converted to type torch.uint8 without overflow"):
        tg.where(u > 100, u, -256)
    with pytest.raises(RuntimeError, match="where: value cannot be converted to type torch.int8 without overflow"):
        i8.masked_fill(i8 > 0, 200)
    with pytest.raises(RuntimeError, match="pow: value cannot be converted to type torch.uint8 without overflow"):
        u.pow(256)
    with pytest.raises(OverflowError, match="add: .* does not fit in 64 bits"):
        u + 2 ** 64
    torch = pytest.importorskip("torch")
    tu, ti = torch.tensor([5, 200, 255], dtype=torch.uint8), torch.tensor([5, -100, 127], dtype=torch.int8)
    for name, (f, want) in cases.items():
        assert f(torch, tu, ti).tolist() == want, name


def test_a_number_over_a_tensor_is_its_reciprocal_times_the_number(device):
    """As torch's Tensor.__rtruediv__ (self.reciprocal() * other): rounded twice, so 255 / t in float32 can be a
    last bit off the correctly rounded quotient (255 / 159 is 1.6037734747, not 1.6037735939), which an autocontrast
    cast to uint8 shows (254, not 255); the gradient is -number / t ** 2."""
    x = np.array([159.0, 3.0, 7.0, 0.3], np.float32)
    t = tg.tensor(x, device=device)
    np.testing.assert_array_equal((255 / t).numpy(), np.reciprocal(x) * np.float32(255))
    assert (255 / t).numpy()[0] == np.float32(1.6037734747)
    assert (t * (255 / t)).to(tg.uint8).tolist()[0] == 254
    assert (255 / tg.tensor([2, 4], device=device)).dtype == tg.float32
    v = tg.tensor([0.7, -2.5], dtype=tg.float64, device=device, requires_grad=True)
    (3.0 / v).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), -3.0 / np.array([0.7, -2.5]) ** 2, rtol=1e-15)
    torch = pytest.importorskip("torch")
    for dt, num in ((np.float32, 255), (np.float32, 2.5), (np.float64, -3), (np.int64, 255), (np.uint8, 7),
                    (np.float16, 3)):
        a = np.random.default_rng(0).uniform(1, 250, 500).astype(dt)
        ours, theirs = (num / tg.tensor(a, device=device)).numpy(), (num / torch.tensor(a)).numpy()
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_integer_true_division_is_float32_division_of_the_values():
    """int / int as torch's: both sides made float32 first, so a number (or 0-d tensor) outside an int tensor's
    dtype is not wrapped into it (uint8 / np.int64(-4) divided by 252) nor refused (int8 / 300)."""
    f32 = lambda *v: np.array(v, np.float32)  # noqa: E731
    u = tg.tensor(np.array([1, 200, 7], np.uint8))
    for d in (np.int64(-4), -4, tg.tensor(-4)):
        assert (u / d).dtype == np.float32 and (d / u).dtype == np.float32
        np.testing.assert_array_equal((u / d).numpy(), f32(1, 200, 7) / np.float32(-4))
        np.testing.assert_array_equal((d / u).numpy(), np.float32(-4) / f32(1, 200, 7))
    i = tg.tensor(np.array([3, -6], np.int8))
    np.testing.assert_array_equal((i / 300).numpy(), f32(3, -6) / np.float32(300))
    np.testing.assert_array_equal(i.div(np.int64(2 ** 40)).numpy(), f32(3, -6) / np.float32(2 ** 40))
    assert (i / tg.tensor(np.array([2, 4], np.int64))).tolist() == [1.5, -1.5]
    assert (tg.tensor([True, False]) / True).dtype == np.float32 and (tg.tensor(5) / 2).tolist() == 2.5
    assert (i / tg.tensor(2.0, dtype=tg.float64)).dtype == np.float64  # (a float side: the usual promotion)


def test_an_empty_dim_means_every_dim_in_reductions():
    """torch reads dim=() (or []) in a reduction as all dims, not as none (numpy's reading)."""
    x = tg.tensor(np.arange(6.0).reshape(2, 1, 3))
    for f in (lambda t, d: t.sum(d), lambda t, d: t.mean(d), lambda t, d: t.amax(d), lambda t, d: t.var(d),
              lambda t, d: t.std(d), lambda t, d: t.logsumexp(d), lambda t, d: t.norm(2, d)):
        for empty in ((), []):
            np.testing.assert_allclose(f(x, empty).numpy(), f(x, None).numpy(), rtol=1e-12)
            assert f(x, empty).shape == ()
    assert x.squeeze(()).shape == (2, 1, 3)  # not a reduction: () squeezes nothing, as in torch


def test_a_python_bool_in_an_index_adds_a_dim_like_none():
    """x[True, [4]] on (5, 2): True adds a dim and consumes none, so [4] indexes dim 0 (as numpy and torch)."""
    x = tg.tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
    y = x[True, [4]]
    assert y.tolist() == [[8.0, 9.0]]
    y.sum().backward()
    assert x.grad.numpy()[4].tolist() == [1.0, 1.0] and x.grad.numpy().sum() == 2.0
    assert x[False].shape == (0, 5, 2) and x[1, True].shape == (1, 2)
    for mask in (np.True_, tg.tensor(True)):  # a 0-d mask acts the same (numpy alone would refuse it)
        assert x[mask].shape == (1, 5, 2) and x[mask, [4]].tolist() == [[8.0, 9.0]]
    assert x[tg.tensor(False)].shape == (0, 5, 2) and tg.tensor(1.0)[tg.tensor(True)].shape == (1,)


def test_host_masks_indices_targets_and_arrays_meet_tensors_on_any_device(device):
    """Index-like host data (a numpy mask, class targets, raw arrays of the tensor's own module) work with
    tensors on any device, as integer indices do; on cuda this is where np.asarray(cupy array) would fail."""
    from tinygrad_rnn import backend, nn
    from tinygrad_rnn.viz import hidden_states
    xp = backend.module_for(device)
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    mask = np.array([True, False, True])
    y = tg.where(mask, x, 0.0)
    assert y.device == device and y.tolist() == [1.0, 0.0, 3.0]
    assert tg.where(tg.tensor(mask, device=device), 1.0, 2.0).device == device
    assert x.masked_fill(mask, 9.0).tolist() == [9.0, 2.0, 9.0]
    assert (tg.tensor(mask, device=device) & True).device == device
    emb = nn.Embedding(4, 2, padding_idx=0).to(device)
    assert emb(np.array([0, 3])).device == device and F.embedding(xp.asarray([1, 0]), emb.weight).shape == (2, 2)
    logits = tg.tensor(np.eye(3), device=device, requires_grad=True)
    loss = F.cross_entropy(logits, [0, 1, -100], weight=np.array([1.0, 2.0, 1.0]))
    loss.backward()
    assert loss.device == device and logits.grad.device == device
    z = tg.zeros(3, device=device)
    z.copy_(xp.asarray([4.0, 5.0, 6.0]))
    assert z.tolist() == [4.0, 5.0, 6.0]
    assert x.reshape(3, 1).gather(0, xp.asarray([[2], [0]])).tolist() == [[3.0], [1.0]]
    assert x.index_select(0, xp.asarray([1])).tolist() == [2.0]
    (g,) = tg.grad(x.sum(), x)  # sum's gradient is a broadcast view inside: handed out as memory of its own
    g.zero_()
    assert g.tolist() == [0.0, 0.0, 0.0]
    rnn = nn.LSTM(2, 3).to(device)
    h = hidden_states(rnn, [[0.0, 1.0], [1.0, 0.0]])  # a list (float64 to numpy) on a float32 model
    assert h.shape == (2, 3) and h.dtype == np.float32


def test_review_regressions_in_ops():
    """argmax of an empty tensor along a non-empty dim is empty (as torch); a nan tensor bound wins in clamp;
    numpy scalars promote like Python numbers; int ** negative int truncates like torch; norm of ints is
    float32."""
    assert tg.zeros(0, 3).argmax(1).shape == (0,) and tg.zeros(3, 0).argmax(0).shape == (0,)
    with pytest.raises(ValueError, match="empty along the reduced dim"):
        tg.zeros(3, 0).argmax(1)
    out = tg.tensor([1.0, 5.0]).clamp(tg.tensor([np.nan]))
    assert np.isnan(out.numpy()).all()
    assert np.isnan(tg.tensor([np.nan]).clamp(tg.tensor([0.0]), tg.tensor([1.0])).item())
    assert (tg.tensor([1, 2]) * np.float32(0.5)).tolist() == [0.5, 1.0]
    assert tg.tensor([1, 3]).clamp(np.float32(1.5)).tolist() == [1.5, 3.0]
    assert (tg.tensor([True]) + np.int64(1)).tolist() == [2]
    p = 2 ** tg.tensor([3, -1])
    assert p.dtype == np.int64 and p.tolist() == [8, 0] and (1 ** tg.tensor([-2])).tolist() == [1]
    n = tg.tensor([3, 4]).norm()
    assert n.dtype == np.float32 and n.item() == 5.0


@pytest.mark.parametrize("call", [
    lambda x, k: x.narrow(1, k(1), k(2)), lambda x, k: x.select(k(0), k(1)), lambda x, k: x.split(k(2), k(1)),
    lambda x, k: x.chunk(2, k(-1)), lambda x, k: x.roll(k(1), k(0)), lambda x, k: x.sum(k(1)),
    lambda x, k: x.sum((k(0), k(1))), lambda x, k: x.amax(k(1)), lambda x, k: x.topk(k(2)),
    lambda x, k: x.softmax(k(1)), lambda x, k: F.log_softmax(x, k(-1)), lambda x, k: x.unsqueeze(k(0)),
    lambda x, k: x.repeat(k(2), 1), lambda x, k: x.tril(k(1)), lambda x, k: x.diff(k(1)),
    lambda x, k: x.tile((k(2),)), lambda x, k: x.repeat_interleave(k(2), k(0)), lambda x, k: x.cumsum(k(0)),
    lambda x, k: x.unflatten(1, (k(2), 2)), lambda x, k: x.round(decimals=k(1)), lambda x, k: x.transpose(k(0), 1),
    lambda x, k: F.pad(x, (k(1), 0)), lambda x, k: x.max(dim=k(1)), lambda x, k: x.min(k(0), True),
    lambda x, k: x.min(k(1), keepdim=True), lambda x, k: x.split([k(1), k(3)], 1), lambda x, k: x.chunk(k(3)),
    lambda x, k: x.reshape(k(4), -1), lambda x, k: x[:1].expand(k(2), 4), lambda x, k: x.permute(k(1), 0),
    lambda x, k: tg.zeros(k(2), 3) + x.sum(), lambda x, k: tg.full((k(2),), 1.0), lambda x, k: tg.ones((k(1), 2)),
    lambda x, k: F.one_hot(tg.tensor([0, 2]), k(4)),
])
def test_zero_d_integer_tensors_serve_as_ints(call):
    """A 0-d integer tensor works wherever an int does, as in torch (it reads its value)."""
    x = tg.arange(12.0).reshape(3, 4)
    want, got = call(x, int), call(x, lambda v: tg.tensor(v))
    want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_only_zero_d_integer_tensors_serve_as_ints():
    x = tg.arange(12.0).reshape(3, 4)
    with pytest.raises(TypeError, match=r"narrow: start must be an int, got a torch.float32 tensor of shape \(\)"):
        x.narrow(0, tg.tensor(1.0), 1)
    with pytest.raises(TypeError, match=r"narrow: length must be an int, got a torch.int64 tensor of shape \(1,\)"):
        x.narrow(0, 0, tg.tensor([1]))
    with pytest.raises(TypeError, match=r"split: split_size \(or a list of section sizes\) must be an int, got a "
                                        r"torch.float32 tensor"):
        x.split(tg.tensor(1.0))
    with pytest.raises(TypeError, match="split: each section size must be an int, got float"):
        x.split([1.5, 2.5], 1)
    with pytest.raises(TypeError, match="chunk: chunks must be an int, got float"):
        x.chunk(2.0)
    for call, op in ((lambda: x.reshape(tg.tensor(2.0), -1), "reshape"),
                     (lambda: x.expand(tg.tensor(3.0), 4), "expand"),
                     (lambda: x.permute(tg.tensor(1.0), 0), "permute")):
        with pytest.raises(TypeError, match=f"{op}: sizes and dims must be ints, got a torch.float32 tensor of shape"):
            call()
    with pytest.raises(TypeError, match="one_hot: num_classes must be an int, got float"):
        F.one_hot(tg.tensor([1]), 2.5)


def test_max_and_min_tell_other_from_dim_as_torch():
    """A Tensor alone by position (or other=) is the elementwise max/min; with keepdim, or as dim=, a 0-d integer
    tensor is a dim; anything else is refused by name."""
    x = tg.tensor([[1.0, 5.0], [3.0, 2.0]])
    assert x.max(tg.tensor(2.0)).tolist() == [[2.0, 5.0], [3.0, 2.0]] == x.max(other=tg.tensor(2.0)).tolist()
    assert x.max(dim=tg.tensor(1)).indices.tolist() == [1, 0]
    assert x.min(tg.tensor(1), True).values.tolist() == [[1.0], [2.0]]
    assert x.max(0, keepdim=True).values.tolist() == [[3.0, 5.0]] and x.min().item() == 1.0
    for call, match in ((lambda: x.max(1, True, 3), r"max: expected \(dim=None, keepdim=False\) or \(other\)"),
                        (lambda: x.min(1, dim=1), "min: expected"), (lambda: x.max(foo=1), "max: expected"),
                        (lambda: x.max(x, keepdim=True), "max: dim must be an int"),
                        (lambda: x.min(other=x, dim=1), "min: other .* takes no dim or keepdim")):
        with pytest.raises(TypeError, match=match):
            call()
    with pytest.raises(TypeError, match="sum: dim must be an int or a tuple of ints, got tensor"):
        x.sum(tg.tensor(True))


QUIET = {  # ops whose forward makes inf or nan of finite inputs: (function, inputs at those points)
    "log": (lambda x: x.log(), [0.0, -1.0, 2.0]),
    "log2": (lambda x: x.log2(), [0.0, -1.0, 2.0]),
    "log10": (lambda x: x.log10(), [0.0, -1.0, 2.0]),
    "log1p": (lambda x: x.log1p(), [-1.0, -2.0, 2.0]),
    "exp": (lambda x: x.exp(), [1000.0, -1000.0, 1.0]),
    "exp2": (lambda x: x.exp2(), [2000.0, 1.0]),
    "expm1": (lambda x: x.expm1(), [1000.0, 1.0]),
    "sqrt": (lambda x: x.sqrt(), [0.0, -1.0, 4.0]),
    "div": (lambda x: x / tg.tensor([0.0, 0.0, 2.0], dtype=x.dtype), [1.0, 0.0, 2.0]),
    "rdiv": (lambda x: 1 / x, [0.0, 1.0, -0.0]),
    "remainder": (lambda x: x % tg.tensor([0.0, 2.0, 3.0], dtype=x.dtype), [1.0, 3.0, -4.0]),
    "fmod": (lambda x: x.fmod(tg.tensor([0.0, 2.0, 3.0], dtype=x.dtype)), [1.0, 3.0, -4.0]),
    "pow": (lambda x: x ** -1.0, [0.0, 2.0]),
    "pow_half": (lambda x: x ** 0.5, [-1.0, 0.0, 4.0]),
    "pow_tensor": (lambda x: x ** tg.tensor([0.5, -1.0, 2.0], dtype=x.dtype), [-1.0, 0.0, 1e200]),
    "rpow": (lambda x: 10.0 ** x, [400.0, 1.0]),
    "sinh": (lambda x: x.sinh(), [1000.0, 1.0]),
    "cosh": (lambda x: x.cosh(), [1000.0, 1.0]),
    "asin": (lambda x: x.asin(), [2.0, 1.0, 0.5]),
    "acos": (lambda x: x.acos(), [2.0, 1.0, 0.5]),
    "acosh": (lambda x: x.acosh(), [0.0, 1.0, 2.0]),
    "atanh": (lambda x: x.atanh(), [1.0, -1.0, 2.0, 0.5]),
    "xlogy": (lambda x: tg.xlogy(x, tg.tensor([0.0, -1.0, 2.0], dtype=x.dtype)), [1.0, 1.0, 0.0]),
    "prod": (lambda x: x.prod(), [1e200, 1e200, 0.5]),
    "cumprod": (lambda x: x.cumprod(0), [1e200, 1e200, 0.5]),
    "half": (lambda x: x.half(), [1e5, -1e5, 1.0]),  # (a cast past the narrower dtype's range: inf)
    "float": (lambda x: x.float(), [1e300, 1.0]),
    "sum_half": (lambda x: x.half().sum(), [6e4, 6e4]),  # (summed in float32, then past float16's range)
    "softmax": (lambda x: x.softmax(0), [1e308, -1e308, 0.0]),  # (x - max past the dtype's range: -inf)
    "log_softmax": (lambda x: x.log_softmax(0), [1e308, -1e308, 0.0]),
}


@pytest.mark.parametrize("name", sorted(QUIET))
def test_inf_and_nan_of_finite_inputs_come_quietly_as_torchs(name):
    """log 0, x / 0, exp overflow, sqrt of a negative: inf or nan (torch's values), forward and backward, without
    numpy's RuntimeWarnings (torch warns of none of them)."""
    torch = pytest.importorskip("torch")
    fn, values = QUIET[name]
    x = tg.tensor(values, dtype=tg.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        y.backward(tg.ones_like(y))
    torch_fns = {"xlogy": lambda t: torch.xlogy(t, torch.tensor([0.0, -1.0, 2.0], dtype=t.dtype)),
                 "div": lambda t: t / torch.tensor([0.0, 0.0, 2.0], dtype=t.dtype),
                 "remainder": lambda t: t % torch.tensor([0.0, 2.0, 3.0], dtype=t.dtype),
                 "fmod": lambda t: t.fmod(torch.tensor([0.0, 2.0, 3.0], dtype=t.dtype)),
                 "pow_tensor": lambda t: t ** torch.tensor([0.5, -1.0, 2.0], dtype=t.dtype)}
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    ty = torch_fns.get(name, fn)(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-15)
    # (torch's gradients of remainder and fmod at a zero divisor: see their own tests; prod's of the others'
    # product 1e200 * 0.5, where torch divides an inf product by 1e200)
    if name not in ("remainder", "fmod", "prod"):
        ty.backward(torch.ones_like(ty))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_quiet_without_numpys_error_state_variable(monkeypatch):
    """The fallback (numpy 1.x has no error-state context variable): np.errstate, quiet as well."""
    from tinygrad_rnn import backend
    monkeypatch.setattr(backend, "_ERRSTATE", None)
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.log().backward(tg.ones(2))
    assert x.grad.tolist() == [math.inf, 1.0]


@pytest.mark.parametrize("dtype", [tg.float16, tg.float32, tg.float64])
def test_softmax_of_a_fully_masked_row_is_nan_quietly_as_torchs(dtype):
    """A row masked with -inf throughout (attention over padding): softmax and log_softmax give nan, as torch's,
    without numpy's warnings (0 / 0 and log 0 - -inf), forward and backward; the other rows are untouched."""
    torch = pytest.importorskip("torch")
    mask = [[False, True], [True, True]]
    for op in ("softmax", "log_softmax"):
        x = tg.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=dtype, requires_grad=True)
        tx = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=getattr(torch, str(np.dtype(dtype))), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = getattr(x.masked_fill(tg.tensor(mask), -math.inf), op)(-1)
            y.backward(tg.ones_like(y))
        ty = getattr(tx.masked_fill(torch.tensor(mask), -math.inf), op)(-1)
        ty.backward(torch.ones_like(ty))
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_floor_division_by_zero_is_quiet_as_torchs():
    """x // 0 and div(rounding_mode='floor') of floats: inf, nan and -inf without numpy's RuntimeWarnings, as
    torch's (as x / 0 and 'trunc' are)."""
    torch = pytest.importorskip("torch")
    x, zero = tg.tensor([1.0, 0.0, -1.0]), tg.tensor([0.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [x // zero, x // 0, x.div(zero, rounding_mode="floor"), tg.floor_divide(x, 0.0)]
    want = torch.tensor([1.0, 0.0, -1.0]) // 0
    for y in results:
        np.testing.assert_array_equal(y.numpy(), want.numpy())


def test_nan_to_num_out_as_torchs(device):
    """torch.nan_to_num(..., out=): written into out (input itself too, as EDM's loop cleans param.grad), out's
    dtype must be input's, and no autograd through it."""
    torch = pytest.importorskip("torch")
    a = np.array([1.0, np.nan, np.inf, -np.inf])
    g = tg.tensor(a, device=device)
    assert tg.nan_to_num(g, nan=0, posinf=1e5, neginf=-1e5, out=g) is g
    np.testing.assert_array_equal(g.numpy(), torch.nan_to_num(torch.tensor(a), nan=0, posinf=1e5, neginf=-1e5))
    o = tg.empty(0, device=device, dtype=tg.float64)
    assert tg.nan_to_num(tg.tensor(a, device=device), out=o) is o
    np.testing.assert_array_equal(o.numpy(), torch.nan_to_num(torch.tensor(a)).numpy())
    with pytest.raises(RuntimeError, match="nan_to_num: dtype of out: torch.float32 should be same as input: "
                                           "torch.float64"):
        tg.nan_to_num(tg.tensor(a, device=device), out=tg.zeros(4, device=device, dtype=tg.float32))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        tg.nan_to_num(tg.tensor(a, device=device, requires_grad=True), out=tg.zeros(4, device=device,
                                                                                    dtype=tg.float64))
