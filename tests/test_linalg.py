"""tg.linalg: norms, inv, det, slogdet, solve and the decompositions.

Forward against numpy (np.linalg on stacked matrices, or the norms' formulas), gradients (and second derivatives for
the matrix functions) against central differences in float64 over hypothesis shapes: batch dims (0-size ones
included), 1x1 matrices, vectors. Kinks are kept out of reach by construction: |x| bounded away from 0 and distinct
for the norms (no ties for inf / -inf), column (row) sums of |A| separated for the matrix 1 (inf) norms, and
diagonally dominant matrices (well-conditioned, det away from 0) for the rest. Values, gradients at the zero vector
and errors are compared with torch where it is installed.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from strategies import arrays, check_op, distinct, reduce_dims, shapes, with_fixtures

try:
    import torch
except ImportError:  # (the torch comparisons skip; the rest runs)
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
ORDS = [2, 1, math.inf, -math.inf, 3, 0.5, 1.5, -1, -2.5]


@st.composite
def _apart(draw, shape):
    """Values with distinct |x|, all >= 0.25, and random signs: no kink of abs, max or min within reach of eps."""
    (v,) = draw(distinct([shape]))
    signs = draw(hnp.arrays(np.bool_, shape))
    magnitude = v - (v.min() if v.size else 0) + 0.25
    return np.where(signs, magnitude, -magnitude)


def _np_vector_norm(x, ord, dim, keepdim):
    a = np.abs(x)
    axis = None if dim is None or x.ndim == 0 else dim
    if ord == math.inf:
        return a.max(axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return a.min(axis=axis, keepdims=keepdim)
    return (a ** ord).sum(axis=axis, keepdims=keepdim) ** (1 / ord)


# ----------------------------------------------------------------------------- vector_norm
@with_fixtures
@given(st.sampled_from(ORDS), st.booleans(), st.data())
def test_vector_norm_property(device, ord, keepdim, data):
    shape = data.draw(shapes(0, 3, max_side=3))
    x = data.draw(_apart(shape))
    dim = data.draw(reduce_dims(len(shape)))
    check_op(lambda t: tg.linalg.vector_norm(t, ord, dim, keepdim), lambda a: _np_vector_norm(a, ord, dim, keepdim),
             [x], device, rtol=1e-6)


def test_vector_norm_zero_count_and_dtype():
    x = tg.tensor([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]], dtype=tg.float32)
    assert tg.linalg.vector_norm(x, 0, 1).tolist() == [2.0, 1.0]
    out = tg.linalg.vector_norm(x, dtype=tg.float64)
    assert out.dtype == tg.float64 and out.item() == pytest.approx(math.sqrt(1.5 ** 2 + 4 + 9))
    assert tg.linalg.vector_norm(x, dim=()).item() == pytest.approx(out.item())  # (() is every dim, as torch's)


@needs_torch
@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, -1, -2.5, math.inf, -math.inf])
@pytest.mark.parametrize("values", [[0.0, 0.0, 0.0], [0.0, 1.5, -2.0, 0.0], [0.5, 1.5, -2.0, 3.0]])
def test_vector_norm_matches_torch_at_zeros(ord, values):
    """Values and gradients as torch's, with zeros: the subgradient 0 of the 2-norm at the zero vector, and 0 (with a
    zero gradient) for a negative ord where an element is 0."""
    x = tg.tensor(values, dtype=tg.float64, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, yt = tg.linalg.vector_norm(x, ord), torch.linalg.vector_norm(xt, ord)
    y.backward()
    yt.backward()
    np.testing.assert_allclose(y.item(), yt.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_tensor_norm_takes_a_negative_p():
    """x.norm(-1) is torch's (sum |x|^-1)^-1, as torch.norm's; it was refused."""
    x = tg.tensor([1.0, -2.0, 4.0], dtype=tg.float64)
    assert x.norm(-1).item() == pytest.approx(1 / (1 + 1 / 2 + 1 / 4))
    assert x.norm(-2.0).item() == pytest.approx((1 + 1 / 4 + 1 / 16) ** -0.5)


# ----------------------------------------------------------------------------- matrix_norm and norm
@st.composite
def _separated(draw, shape, ord):
    """A batch of matrices whose column (ord +-1) or row (ord +-inf) sums of |A| are far apart, none near a kink."""
    u = draw(arrays(shape, 0.25, 0.75))
    signs = draw(hnp.arrays(np.bool_, shape))
    axis = -1 if abs(ord) == 1 else -2
    magnitude = u + np.arange(shape[axis]).reshape((-1, 1) if axis == -2 else (-1,))
    return np.where(signs, magnitude, -magnitude)


def _np_matrix_norm(a, ord, keepdim):
    if ord == "fro":
        out = np.sqrt((a * a).sum(axis=(-2, -1)))
    else:
        sums = np.abs(a).sum(axis=-2 if abs(ord) == 1 else -1)
        out = sums.max(axis=-1) if ord > 0 else sums.min(axis=-1)
    return out[..., None, None] if keepdim else out


@with_fixtures
@given(st.sampled_from(["fro", 1, -1, math.inf, -math.inf]), st.booleans(), st.data())
def test_matrix_norm_property(device, ord, keepdim, data):
    batch = data.draw(shapes(0, 2, min_side=0, max_side=3))
    shape = batch + (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    a = data.draw(_separated(shape, 1 if ord == "fro" else ord))  # (fro too: no element near its kink at 0)
    check_op(lambda t: tg.linalg.matrix_norm(t, ord, keepdim=keepdim), lambda x: _np_matrix_norm(x, ord, keepdim),
             [a], device)
    moved = np.moveaxis(a, (-2, -1), (0, 2)) if a.ndim == 3 else None
    if moved is not None:  # (dims other than the last two: the same norms)
        check_op(lambda t: tg.linalg.matrix_norm(t, ord, dim=(0, 2)), lambda x: _np_matrix_norm(a, ord, False),
                 [moved], device)


@needs_torch
@pytest.mark.parametrize("shape", [(3,), (3, 4), (2, 3, 4), ()])
@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, math.inf, -1.5, 3])
@pytest.mark.parametrize("dim", [None, 0, (0,), (0, -1), (-1, 0)])
def test_norm_dispatch_matches_torch(shape, ord, dim):
    """tg.linalg.norm's choice of vector or matrix norm, and its errors, as torch.linalg.norm's."""
    a = np.random.default_rng(0).standard_normal(shape)
    try:
        expected = torch.linalg.norm(torch.tensor(a), ord, dim)
    except (RuntimeError, TypeError, IndexError):
        with pytest.raises((ValueError, TypeError, IndexError), match="linalg"):
            tg.linalg.norm(tg.tensor(a), ord, dim)
        return
    out = tg.linalg.norm(tg.tensor(a), ord, dim)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_norm_errors_name_the_function():
    a = tg.ones(2, 3)
    with pytest.raises(TypeError, match="linalg.vector_norm.*floating point.*torch.int64"):
        tg.linalg.vector_norm(tg.ones(3, dtype=tg.int64))
    with pytest.raises(TypeError, match="linalg.vector_norm.*torch.float32 without narrowing"):
        tg.linalg.vector_norm(a.double(), dtype=tg.float32)
    with pytest.raises(ValueError, match="linalg.vector_norm.*inf norm.*empty"):
        tg.linalg.vector_norm(tg.zeros(0, 3), math.inf)
    with pytest.raises(ValueError, match="linalg.matrix_norm.*ord 3"):
        tg.linalg.matrix_norm(a, 3)
    with pytest.raises(ValueError, match=r"linalg.matrix_norm.*at least 2 dims.*\(3,\)"):
        tg.linalg.matrix_norm(tg.ones(3))
    with pytest.raises(TypeError, match=r"linalg.matrix_norm.*'nuc'.*torch.float16.*\(2, 3\)"):
        tg.linalg.matrix_norm(a.half(), "nuc")
    with pytest.raises(ValueError, match=r"linalg.matrix_norm.*ord -2.*\(0, 3\)"):
        tg.linalg.matrix_norm(tg.ones(0, 3), -2)
    with pytest.raises(ValueError, match=r"linalg.norm.*1-D or 2-D.*\(1, 2, 3\)"):
        tg.linalg.norm(tg.ones(1, 2, 3), 1)


# ----------------------------------------------------------------------------- inv, det, slogdet, solve
@st.composite
def _well_conditioned(draw, batch_min_side=0):
    """A batch (maybe empty) of n by n matrices, 2 I plus entries in [-0.5, 0.5] / n, a row maybe negated: det
    stays >= 1.5^n away from 0 in size, of either sign."""
    batch = draw(shapes(0, 2, min_side=batch_min_side, max_side=2))
    n = draw(st.integers(1, 3))
    a = 2 * np.eye(n) + draw(arrays(batch + (n, n), -0.5, 0.5)) / n
    flip = draw(hnp.arrays(np.bool_, batch + (1, 1)))
    return np.where(flip & (np.arange(n)[:, None] == 0), -a, a)


@with_fixtures
@given(_well_conditioned())
def test_inv_det_slogdet_property(device, a):
    check_op(tg.linalg.inv, np.linalg.inv, [a], device, gradgrad=True)
    check_op(tg.linalg.det, np.linalg.det, [a], device, gradgrad=True)
    check_op(lambda t: tuple(tg.linalg.slogdet(t)), lambda x: tuple(np.linalg.slogdet(x)), [a], device,
             gradgrad=True)


@with_fixtures
@given(_well_conditioned(), st.booleans(), st.data())
def test_solve_property(device, a, left, data):
    n = a.shape[-1]
    k = data.draw(st.integers(1, 2))
    kind = data.draw(st.sampled_from(["matrix", "broadcast"] + (["vector", "batched vector"] if left else [])))
    if kind == "vector":
        b_shape = (n,)
    elif kind == "batched vector":
        b_shape = a.shape[:-1]
    else:
        b_shape = (a.shape[:-2] if kind == "matrix" else (2,) + (1,) * (a.ndim - 2)) + ((n, k) if left else (k, n))
    b = data.draw(arrays(b_shape))

    def ref(x, y):
        if not left:
            return np.swapaxes(np.linalg.solve(np.swapaxes(x, -1, -2), np.swapaxes(y, -1, -2)), -1, -2)
        return np.linalg.solve(x, y[..., None])[..., 0] if kind.endswith("vector") else np.linalg.solve(x, y)
    check_op(lambda x, y: tg.linalg.solve(x, y, left=left), ref, [a, b], device, gradgrad=True)


def test_slogdet_is_a_named_tuple_and_det_grad_at_a_singular_matrix():
    a = tg.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=tg.float64, requires_grad=True)
    sign, logabsdet = result = tg.linalg.slogdet(a)
    assert result.sign is sign and result.logabsdet is logabsdet
    assert sign.item() == 0 and logabsdet.item() == -math.inf
    tg.linalg.det(a).backward()  # (0 at an exactly singular matrix, as torch's)
    assert a.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("call", [tg.linalg.inv, lambda a: tg.linalg.solve(a, tg.ones(2, 3, dtype=tg.float64))])
def test_singular_matrices_raise_naming_the_function(call):
    a = tg.tensor(np.stack([2 * np.eye(3), np.ones((3, 3))]))
    with pytest.raises(tg.linalg.LinAlgError, match=r"linalg.(inv|solve).*singular.*batch element 1.*\(2, 3, 3\)"):
        call(a)
    assert issubclass(tg.linalg.LinAlgError, RuntimeError)  # (as torch.linalg.LinAlgError)


def test_matrix_function_errors():
    with pytest.raises(ValueError, match=r"linalg.det.*square.*\(2, 3\)"):
        tg.linalg.det(tg.ones(2, 3))
    with pytest.raises(ValueError, match=r"linalg.inv.*at least 2 dims.*\(3,\)"):
        tg.linalg.inv(tg.ones(3))
    with pytest.raises(TypeError, match="linalg.inv.*floating point.*torch.int64"):
        tg.linalg.inv(tg.ones(2, 2, dtype=tg.int64))
    with pytest.raises(TypeError, match="linalg.slogdet.*torch.float16"):
        tg.linalg.slogdet(tg.ones(2, 2, dtype=tg.float16))
    with pytest.raises(TypeError, match="linalg.solve.*same dtype.*torch.float64.*torch.float32"):
        tg.linalg.solve(tg.ones(2, 2, dtype=tg.float64), tg.ones(2))
    with pytest.raises(ValueError, match=r"linalg.solve.*AX = B.*\(4,\)"):
        tg.linalg.solve(tg.ones(3, 3), tg.ones(4))
    with pytest.raises(ValueError, match=r"linalg.solve.*XA = B.*\(3,\)"):
        tg.linalg.solve(tg.ones(3, 3), tg.ones(3), left=False)
    with pytest.raises(ValueError, match=r"linalg.solve.*\(2,\).*\(3,\).*broadcast"):
        tg.linalg.solve(tg.ones(2, 3, 3), tg.ones(3, 3, 1))


@needs_torch
def test_matrix_functions_match_torch():
    """Values and gradients of inv, det, slogdet and solve (batched, broadcast) as torch's, in float32 too."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((4, 1, 3, 2))
    for dt, tdt, tol in ((tg.float64, torch.float64, 1e-10), (tg.float32, torch.float32, 1e-4)):
        fns = [(tg.linalg.inv, torch.linalg.inv), (tg.linalg.det, torch.linalg.det),
               (lambda x: tg.linalg.slogdet(x).logabsdet, lambda x: torch.linalg.slogdet(x).logabsdet),
               (lambda x: tg.linalg.solve(x, tg.tensor(b, dtype=dt)),
                lambda x: torch.linalg.solve(x, torch.tensor(b, dtype=tdt)))]
        for ours, theirs in fns:
            x = tg.tensor(a, dtype=dt, requires_grad=True)
            xt = torch.tensor(a, dtype=tdt, requires_grad=True)
            y, yt = ours(x), theirs(xt)
            assert y.dtype == dt and y.shape == tuple(yt.shape)
            np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
            y.sum().backward()
            yt.sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- cholesky
def _gram(x):
    """x x^T: symmetric positive-definite for the well-conditioned x, so central differences (which move both
    triangles of it) check the symmetric gradient that the decompositions give, as torch's."""
    return x @ (x.mT if isinstance(x, tg.Tensor) else np.swapaxes(x, -1, -2))


@with_fixtures
@given(_well_conditioned(), st.booleans())
def test_cholesky_property(device, x, upper):
    def ref(a):
        lower = np.linalg.cholesky(_gram(a))
        return np.swapaxes(lower, -1, -2) if upper else lower
    check_op(lambda t: tg.linalg.cholesky(_gram(t), upper=upper), ref, [x], device, gradgrad=True)


@needs_torch
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_matches_torch(upper):
    """Values and gradients as torch's, for an A whose other triangle holds garbage (not read: the lower triangle
    for upper=False, the upper one for upper=True), in float32 too."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 3))
    a = x @ np.swapaxes(x, -1, -2) + np.eye(3) + np.triu(rng.standard_normal((2, 3, 3)), 1)
    a = np.swapaxes(a, -1, -2) if upper else a
    w = rng.standard_normal(a.shape)
    for dt, tdt, tol in ((tg.float64, torch.float64, 1e-10), (tg.float32, torch.float32, 1e-4)):
        t, tt = tg.tensor(a, dtype=dt, requires_grad=True), torch.tensor(a, dtype=tdt, requires_grad=True)
        y, yt = tg.linalg.cholesky(t, upper=upper), torch.linalg.cholesky(tt, upper=upper)
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
        (y * tg.tensor(w, dtype=dt)).sum().backward()
        (yt * torch.tensor(w, dtype=tdt)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=tol, atol=tol)


def test_cholesky_errors():
    with pytest.raises(tg.linalg.LinAlgError, match=r"linalg.cholesky: \(Batch element 1\).*\(2, 2, 2\).*not "
                                                     r"positive-definite.*leading minor of order 2"):
        tg.linalg.cholesky(tg.tensor(np.stack([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])))
    with pytest.raises(tg.linalg.LinAlgError, match="linalg.cholesky.*leading minor of order 1"):
        tg.linalg.cholesky(-tg.eye(3))
    with pytest.raises(tg.linalg.LinAlgError, match="linalg.cholesky.*order 2"):  # (upper=True reads the upper)
        tg.linalg.cholesky(tg.tensor([[4.0, 100.0], [1.0, 3.0]]), upper=True)
    with pytest.raises(ValueError, match=r"linalg.cholesky.*square.*\(2, 3\)"):
        tg.linalg.cholesky(tg.ones(2, 3))
    with pytest.raises(TypeError, match="linalg.cholesky.*floating point.*torch.int64"):
        tg.linalg.cholesky(tg.ones(2, 2, dtype=tg.int64))


# ----------------------------------------------------------------------------- eigh and eigvalsh
@st.composite
def _spread_spectrum(draw, rows=None):
    """A batch (maybe empty) of n by n matrices (rows by n where given): a permuted diagonal 1, 2, ..., n with
    random signs plus entries in [-0.1, 0.1] / n, so the eigenvalues (singular values) stay at least 0.8 apart and
    the gradients of the eigenvectors (singular vectors) are well-conditioned."""
    batch = draw(shapes(0, 2, min_side=0, max_side=2))
    n = draw(st.integers(1, 3))
    m = n if rows is None else draw(rows(n))
    diagonal = draw(st.permutations(range(1, n + 1))) * np.where(draw(hnp.arrays(np.bool_, n)), 1, -1)
    return np.eye(m, n) * diagonal + draw(arrays(batch + (m, n), -0.1, 0.1)) / n


def _sym(x):
    return (x + (x.mT if isinstance(x, tg.Tensor) else np.swapaxes(x, -1, -2))) / 2


@with_fixtures
@given(_spread_spectrum(), st.sampled_from("LU"))
def test_eigh_property(device, x, uplo):
    """Eigenvalues and the squared eigenvectors (which do not depend on each one's arbitrary sign), of (x + x^T) / 2
    (central differences then move both triangles, checking the symmetric gradient); eigvalsh alike."""
    def ref(a):
        values, vectors = np.linalg.eigh(_sym(a))
        return values, vectors ** 2
    check_op(lambda t: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(tg.linalg.eigh(_sym(t), uplo)), ref, [x],
             device, gradgrad=True)
    check_op(lambda t: tg.linalg.eigvalsh(_sym(t), uplo), lambda a: np.linalg.eigvalsh(_sym(a)), [x], device)


@needs_torch
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(uplo):
    """Values, and gradients of a loss of the eigenvalues and |V| (independent of the eigenvectors' signs, as
    torch's docs advise), as torch's, for an A whose unread triangle holds garbage; eigvalsh's gradient at a
    repeated eigenvalue (the identity) too."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 4))
    a = a + np.swapaxes(a, -1, -2) + np.triu(rng.standard_normal((2, 4, 4)), 1) * (1 if uplo == "L" else 0)
    a = a + np.tril(rng.standard_normal((2, 4, 4)), -1) * (1 if uplo == "U" else 0)
    w = rng.standard_normal(a.shape)
    t, tt = tg.tensor(a, requires_grad=True, dtype=tg.float64), torch.tensor(a, requires_grad=True)
    (values, vectors), (values_t, vectors_t) = tg.linalg.eigh(t, uplo), torch.linalg.eigh(tt, uplo)
    np.testing.assert_allclose(values.detach().numpy(), values_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(abs(vectors.detach().numpy()), abs(vectors_t.detach().numpy()), atol=1e-10)
    ((vectors.abs() * tg.tensor(w)).sum() + values.exp().sum()).backward()
    ((vectors_t.abs() * torch.tensor(w)).sum() + values_t.exp().sum()).backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-10)
    eye, eye_t = tg.eye(3, dtype=tg.float64, requires_grad=True), torch.eye(3, dtype=torch.float64, requires_grad=True)
    (tg.linalg.eigvalsh(eye, uplo) * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    (torch.linalg.eigvalsh(eye_t, uplo) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(eye.grad.numpy(), eye_t.grad.numpy(), atol=1e-12)


def test_eigh_result_and_errors():
    result = tg.linalg.eigh(tg.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=tg.float64))
    assert result.eigenvalues.tolist() == pytest.approx([1.0, 3.0])
    np.testing.assert_allclose(abs(result.eigenvectors.numpy()), np.full((2, 2), 0.5 ** 0.5))
    assert type(result).__name__ == "linalg_eigh" and result[0] is result.eigenvalues
    with pytest.raises(ValueError, match="linalg.eigh: UPLO must be 'L' or 'U'.*'X'"):
        tg.linalg.eigh(tg.eye(2), "X")
    with pytest.raises(ValueError, match=r"linalg.eigvalsh.*square.*\(2, 3\)"):
        tg.linalg.eigvalsh(tg.ones(2, 3))
    with pytest.raises(TypeError, match="linalg.eigh.*floating point.*torch.int64"):
        tg.linalg.eigh(tg.ones(2, 2, dtype=tg.int64))


# ----------------------------------------------------------------------------- svd, svdvals and their norms
@with_fixtures
@given(_spread_spectrum(rows=lambda n: st.integers(1, 4)), st.booleans())
def test_svd_property(device, x, full_matrices):
    """S and the squares of U and Vh (independent of each pair's arbitrary sign; full_matrices: their first k
    columns / rows, the rest being an arbitrary basis) of well-separated singular values, tall, wide and square."""
    k = min(x.shape[-2:])

    def ours(t):
        u, s, vh = tg.linalg.svd(t, full_matrices)
        return s, u[..., :k] ** 2, vh[..., :k, :] ** 2

    def ref(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return s, u ** 2, vh ** 2
    check_op(ours, ref, [x], device, gradgrad=not full_matrices)
    check_op(tg.linalg.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), [x], device)


@needs_torch
@pytest.mark.parametrize("shape", [(2, 4, 2), (2, 2, 4), (3, 3)])
@pytest.mark.parametrize("full_matrices", [False, True])
def test_svd_matches_torch(shape, full_matrices):
    """Shapes, values, and gradients of losses that do not depend on the singular vectors' signs (|U|, |Vh| and
    U diag(S) Vh, as torch's docs advise), as torch's, full_matrices=True included."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal(shape)
    t, tt = tg.tensor(a, requires_grad=True, dtype=tg.float64), torch.tensor(a, requires_grad=True)
    (u, s, vh), (u_t, s_t, vh_t) = tg.linalg.svd(t, full_matrices), torch.linalg.svd(tt, full_matrices)
    assert (u.shape, s.shape, vh.shape) == (tuple(u_t.shape), tuple(s_t.shape), tuple(vh_t.shape))
    np.testing.assert_allclose(s.detach().numpy(), s_t.detach().numpy(), rtol=1e-12)
    w_u, w_vh = rng.standard_normal(u.shape), rng.standard_normal(vh.shape)
    k = s.shape[-1]
    ((u.abs() * tg.tensor(w_u)).sum() + (vh.abs() * tg.tensor(w_vh)).sum() + s.sum()
     + ((u[..., :k] * s.unsqueeze(-2)) @ vh[..., :k, :]).exp().sum()).backward()
    ((u_t.abs() * torch.tensor(w_u)).sum() + (vh_t.abs() * torch.tensor(w_vh)).sum() + s_t.sum()
     + ((u_t[..., :k] * s_t.unsqueeze(-2)) @ vh_t[..., :k, :]).exp().sum()).backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-10)


@needs_torch
@pytest.mark.parametrize("ord", ["nuc", 2, -2])
@pytest.mark.parametrize("shape, dim", [((3, 3), (-2, -1)), ((2, 4, 2), (-1, -2)), ((3, 2, 4), (0, 2)),
                                        ((0, 3, 2), (-2, -1)), ((3, 0), (0, 1))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_singular_value_norms_match_torch(ord, shape, dim, keepdim):
    """matrix_norm's 'nuc', 2 and -2 (by svdvals) over any pair of dims: values, shapes, gradients and the error
    for -2 of an empty matrix, as torch's."""
    a = np.random.default_rng(5).standard_normal(shape)
    t, tt = tg.tensor(a, requires_grad=True, dtype=tg.float64), torch.tensor(a, requires_grad=True)
    try:
        expected = torch.linalg.matrix_norm(tt, ord, dim, keepdim)
    except IndexError:
        with pytest.raises(ValueError, match="linalg.matrix_norm.*ord -2"):
            tg.linalg.matrix_norm(t, ord, dim, keepdim)
        return
    out = tg.linalg.matrix_norm(t, ord, dim, keepdim)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    if expected.requires_grad:
        out.exp().sum().backward()
        expected.exp().sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_svd_result_and_errors():
    result = tg.linalg.svd(tg.tensor([[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]], dtype=tg.float64))
    assert type(result).__name__ == "linalg_svd" and result[1] is result.S
    assert result.S.tolist() == pytest.approx([4.0, 3.0]) and result.U.shape == (3, 3) and result.Vh.shape == (2, 2)
    assert tg.linalg.svd(tg.ones(2, 3, 0), full_matrices=False).U.shape == (2, 3, 0)
    with pytest.raises(ValueError, match=r"linalg.svd.*at least 2 dims.*\(3,\)"):
        tg.linalg.svd(tg.ones(3))
    with pytest.raises(TypeError, match="linalg.svdvals.*floating point.*torch.int64"):
        tg.linalg.svdvals(tg.ones(2, 2, dtype=tg.int64))
    with pytest.raises(ValueError, match="linalg.svd.*driver.*'gesvd'"):
        tg.linalg.svd(tg.ones(2, 2), driver="gesvd")


# ----------------------------------------------------------------------------- qr
@with_fixtures
@given(_spread_spectrum(rows=lambda n: st.integers(1, 4)), st.booleans())
def test_qr_property(device, x, complete):
    """Q and R as numpy's (LAPACK's Householder QR, as torch's) and their gradients against central differences
    (second ones too), for tall, wide and square matrices of full rank; 'complete' where differentiable (m <= n).
    Entries off the diagonal are kept >= 0.05 in size: where a column is exactly zero below the diagonal LAPACK skips
    its reflection, and the signs of Q's column and R's row jump (torch's too)."""
    x = x + np.where(x >= 0, 0.05, -0.05) * (1 - np.eye(*x.shape[-2:]))
    mode = "complete" if complete and x.shape[-2] <= x.shape[-1] else "reduced"
    check_op(lambda t: tuple(tg.linalg.qr(t, mode)), lambda a: np.linalg.qr(a, mode), [x], device, gradgrad=True)


@needs_torch
@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 3), (2, 3, 5), (1, 4), (4, 1), (2, 0, 3), (3, 0)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_matches_torch(shape, mode):
    """Shapes, values and gradients (of Q, of R and of both) as torch's; where torch refuses the gradient ('r', or
    'complete' of a tall matrix) so does qr, naming it."""
    rng = np.random.default_rng(8)
    a = rng.standard_normal(shape)
    (q, r), (q_t, r_t) = tg.linalg.qr(tg.tensor(a), mode), torch.linalg.qr(torch.tensor(a), mode)
    assert (q.shape, r.shape) == (tuple(q_t.shape), tuple(r_t.shape)) and q.dtype == np.float64
    np.testing.assert_allclose(q.numpy(), q_t.numpy(), atol=1e-12)
    np.testing.assert_allclose(r.numpy(), r_t.numpy(), atol=1e-12)
    w_q, w_r = rng.standard_normal(q.shape), rng.standard_normal(r.shape)
    for use in ((True, False), (False, True), (True, True)):
        t, tt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        (q, r), (q_t, r_t) = tg.linalg.qr(t, mode), torch.linalg.qr(tt, mode)
        loss = (q * tg.tensor(w_q)).sum() * use[0] + (r * tg.tensor(w_r)).sum() * use[1]
        loss_t = (q_t * torch.tensor(w_q)).sum() * use[0] + (r_t * torch.tensor(w_r)).sum() * use[1]
        try:
            loss_t.backward()
        except RuntimeError:
            with pytest.raises(RuntimeError, match="linalg.qr: .*(mode='r'|mode='complete' is not differentiable)"):
                loss.backward()
            continue
        loss.backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_qr_result_and_errors():
    result = tg.linalg.qr(tg.tensor([[3.0, 1.0], [4.0, 2.0]], dtype=tg.float64), mode="r")
    assert type(result).__name__ == "linalg_qr" and result[1] is result.R and result.Q.shape == (0,)
    assert tg.linalg.qr(tg.ones(2, 3)).Q.dtype == np.float32 and "qr" in tg.linalg.__all__
    with pytest.raises(ValueError, match=r"linalg.qr.*at least 2 dims.*\(3,\)"):
        tg.linalg.qr(tg.ones(3))
    with pytest.raises(ValueError, match="linalg.qr: mode must be one of .*'full'"):
        tg.linalg.qr(tg.ones(2, 2), "full")
    with pytest.raises(TypeError, match="linalg.qr.*floating point.*torch.int64"):
        tg.linalg.qr(tg.ones(2, 2, dtype=tg.int64))


def test_an_in_place_change_to_an_output_leaves_eigh_and_svd_gradients_right():
    """eigh's and svd's backward read their own copies of the outputs: doubling V (or U) in place after the
    forward pass does not change the gradient (their outputs once were the arrays backward read)."""
    a = np.random.default_rng(3).standard_normal((4, 3))
    sym = a[:3] + a[:3].T
    for f, x in ((lambda t: tg.linalg.eigh(t), sym), (lambda t: tg.linalg.svd(t, full_matrices=False), a)):
        grads = []
        for change in (False, True):
            t = tg.tensor(x, requires_grad=True)
            out = f(t)
            loss = (out[0] * 0.5).sum() + (out[1] * 2.0).sum()  # (products with numbers: nothing else is saved)
            if change:
                with tg.no_grad():
                    out[0].mul_(2)
                    out[1].mul_(2)
            loss.backward()
            grads.append(t.grad.numpy())
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


@with_fixtures
@given(_well_conditioned())
def test_logdet_property(device, a):
    """logdet is log det: numpy's slogdet's logabsdet where the sign is +1 (a row negated flips it: nan there, as
    torch's); gradients by gradcheck on the matrices with a positive determinant."""
    sign, logabs = np.linalg.slogdet(a)
    out = tg.logdet(tg.tensor(a, device=device))
    np.testing.assert_allclose(out.numpy(), np.where(sign > 0, logabs, np.nan), rtol=1e-12)
    positive = np.where((sign > 0)[..., None, None], a, np.abs(a))
    check_op(lambda t: t.logdet(), lambda x: np.linalg.slogdet(x)[1], [positive], device, gradgrad=True)
    assert tg.logdet(tg.zeros(2, 2, dtype=tg.float64)).item() == -np.inf


# ----------------------------------------------------------------------------- matrix_power, matrix_exp
def _np_expm(a):
    """exp(a) by a 40-term Taylor series of a / 2^8, squared 8 times (float64; a's norm here stays below ~10)."""
    x = a / 256.0
    out = term = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    for k in range(1, 40):
        term = term @ x / k
        out = out + term
    for _ in range(8):
        out = out @ out
    return out


@with_fixtures
@given(_well_conditioned(), st.integers(-2, 3))
def test_matrix_power_and_exp_property(device, a, n):
    """matrix_power (negative n through inv) as numpy's, matrix_exp as its Taylor series; gradients (exp's by the
    block-matrix exponential, itself a matrix_exp) and second ones against central differences."""
    check_op(lambda t: tg.linalg.matrix_power(t, n), lambda x: np.linalg.matrix_power(x, n), [a], device,
             gradgrad=n != 0)
    check_op(tg.linalg.matrix_exp, _np_expm, [a * (n + 2) / 2], device, gradgrad=True, rtol=1e-9)


@needs_torch
def test_matrix_power_and_exp_match_torch():
    """Values (large norms too: several squarings, each matrix of a batch scaled by its own power of 2) and
    gradients as torch's, in float32 too; n = 0 gives the identity and a zero gradient."""
    rng = np.random.default_rng(10)
    a = rng.standard_normal((3, 3, 3)) * np.array([0.01, 1.0, 20.0])[:, None, None]
    w = rng.standard_normal(a.shape)
    for dt, tdt, tol in ((tg.float64, torch.float64, 1e-9), (tg.float32, torch.float32, 1e-4)):
        for ours, theirs in ((tg.linalg.matrix_exp, torch.linalg.matrix_exp), (lambda x: x.matrix_exp(), None),
                             (lambda x: tg.linalg.matrix_power(x, -3), lambda x: torch.linalg.matrix_power(x, -3)),
                             (lambda x: x.matrix_power(0), lambda x: x.matrix_power(0))):
            theirs = theirs or torch.linalg.matrix_exp
            x, xt = tg.tensor(a[:2], dtype=dt, requires_grad=True), torch.tensor(a[:2], dtype=tdt, requires_grad=True)
            y, yt = ours(x), theirs(xt)
            np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
            (y * tg.tensor(w[:2], dtype=dt)).sum().backward()
            (yt * torch.tensor(w[:2], dtype=tdt)).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
        big = tg.linalg.matrix_exp(tg.tensor(a, dtype=dt)).numpy()
        np.testing.assert_allclose(big, torch.linalg.matrix_exp(torch.tensor(a, dtype=tdt)).numpy(), rtol=tol * 10)


# ----------------------------------------------------------------------------- pinv, matrix_rank, cond, lstsq
@with_fixtures
@given(_spread_spectrum(rows=lambda n: st.integers(1, 4)))
def test_pinv_and_lstsq_property(device, x):
    """pinv of tall, wide and square matrices of full rank as numpy's, with torch's pinv_backward against central
    differences (second order too); lstsq's solution (pinv(A) B) as numpy's, of a vector B and a matrix one."""
    check_op(tg.linalg.pinv, np.linalg.pinv, [x], device, gradgrad=True)
    b = np.broadcast_to(np.cos(np.arange(x.shape[-2] * 2)).reshape(x.shape[-2], 2), x.shape[:-2] + (x.shape[-2], 2))
    check_op(lambda a, y: tg.linalg.lstsq(a, y).solution, lambda a, y: np.linalg.pinv(a) @ y, [x, b.copy()], device,
             gradgrad=True)
    check_op(lambda a, y: tg.linalg.lstsq(a, y).solution, lambda a, y: (np.linalg.pinv(a) @ y[..., None])[..., 0],
             [x, b[..., 0].copy()], device)


@with_fixtures
@given(_spread_spectrum())
def test_pinv_hermitian_property(device, x):
    check_op(lambda t: tg.linalg.pinv(_sym(t), hermitian=True), lambda a: np.linalg.pinv(_sym(a)), [x], device,
             gradgrad=True)


@needs_torch
@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 3), (2, 3, 5), (0, 2, 2), (3, 0)])
@pytest.mark.parametrize("tol", [{}, {"atol": 0.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.3}, {"atol": 0.0},
                                 {"hermitian": True}])
def test_pinv_and_matrix_rank_match_torch(shape, tol):
    """Values and gradients as torch's, with a rank-deficient matrix in the batch and atol / rtol (numbers and a
    batch Tensor); matrix_rank's counts alike."""
    if tol.get("hermitian") and shape[-1] != shape[-2]:
        return
    rng = np.random.default_rng(11)
    a = rng.standard_normal(shape)
    if a.ndim == 3 and a.size:
        a[-1, :, 0] = a[-1, :, 1]
    if tol.get("hermitian"):
        a = a + np.swapaxes(a, -1, -2)
    t, tt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = tg.linalg.pinv(t, **tol), torch.linalg.pinv(tt, **tol)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-10)
    assert tg.linalg.matrix_rank(t, **tol).tolist() == torch.linalg.matrix_rank(tt, **tol).tolist()
    if y.numel() and "atol" not in tol and a.ndim == 2:
        w = rng.standard_normal(y.shape)
        (y * tg.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-10)
    batch_tol = np.array([0.1, 100.0])
    a2 = rng.standard_normal((2, 3, 3))
    np.testing.assert_allclose(tg.linalg.pinv(tg.tensor(a2), atol=tg.tensor(batch_tol)).numpy(),
                               torch.linalg.pinv(torch.tensor(a2), atol=torch.tensor(batch_tol)).numpy(), atol=1e-12)


@needs_torch
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shape, b_shape", [((2, 5, 3), (2, 5, 2)), ((3, 3), (3,)), ((2, 3, 5), (2, 3, 1)),
                                            ((1, 4, 2), (3, 4, 1)), ((2, 4, 3), (2, 4))])
def test_lstsq_matches_torch(driver, shape, b_shape):
    """Which fields are filled (and their shapes and dtypes) per driver, as torch's CPU; values and gradients of
    the solution and residuals, for vector and broadcast B."""
    if driver == "gels" and shape[-2] < shape[-1]:
        return  # (gels assumes full column rank: torch's answer for a wide A is LAPACK's minimum-norm one too)
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal(shape), rng.standard_normal(b_shape)
    t, tt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    u, ut = tg.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, expected = tg.linalg.lstsq(t, u, driver=driver), torch.linalg.lstsq(tt, ut, driver=driver)
    assert type(out).__name__ == "linalg_lstsq"
    loss, loss_t = 0, 0
    for ours, theirs in zip(out, expected):
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-10)
        if theirs.dtype == torch.float64 and theirs.requires_grad:
            w = rng.standard_normal(ours.shape)
            loss, loss_t = loss + (ours * tg.tensor(w)).sum(), loss_t + (theirs * torch.tensor(w)).sum()
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(u.grad.numpy(), ut.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_lstsq_of_a_rank_deficient_matrix_is_the_minimum_norm_solution():
    a = tg.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]], dtype=tg.float64)
    out = tg.linalg.lstsq(a, tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64), driver="gelsd")
    np.testing.assert_allclose(out.solution.numpy(), [0.2, 0.4], atol=1e-12)  # (x1 + 2 x2 = 1, the shortest x)
    assert out.rank.item() == 1 and out.residuals.shape == (0,) and out.singular_values.shape == (2,)


@needs_torch
@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf])
def test_cond_matches_torch(p):
    """Values as torch's for a batch with a singular matrix (inf, or the huge 'nuc' number torch's singular values
    give), and gradients for a regular one."""
    rng = np.random.default_rng(13)
    a = np.stack([rng.standard_normal((3, 3)) + 2 * np.eye(3), [[1.0, 2, 0], [2, 4, 0], [0, 0, 1]]])
    np.testing.assert_allclose(tg.linalg.cond(tg.tensor(a), p).numpy(), torch.linalg.cond(torch.tensor(a), p).numpy(),
                               rtol=1e-9)
    t, tt = tg.tensor(a[0], requires_grad=True), torch.tensor(a[0], requires_grad=True)
    if p is None or p in (2, -2, "nuc"):  # (torch's backward of the others fails: it modifies inv_ex's output)
        tg.linalg.cond(t, p).backward()
        torch.linalg.cond(tt, p).backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8)
    if p is None:
        assert tg.linalg.cond(tg.tensor(rng.standard_normal((2, 4, 3)))).shape == (2,)


# ----------------------------------------------------------------------------- triangular solves and LU
@with_fixtures
@given(_well_conditioned(), st.booleans(), st.booleans(), st.booleans(), st.data())
def test_solve_triangular_property(device, a, upper, left, unit, data):
    """X against numpy's solve with A's triangle (unit diagonal for unitriangular), B broadcast over A's batch;
    gradients (on A's triangle only, as torch's) against central differences, second order too."""
    n = a.shape[-1]
    b = data.draw(arrays((2,) + (1,) * (a.ndim - 2) + ((n, 2) if left else (2, n))))

    def tri(x):
        x = np.triu(x) if upper else np.tril(x)
        return x - np.diagonal(x, 0, -2, -1)[..., None] * np.eye(n) + np.eye(n) if unit else x

    def ref(x, y):
        if left:
            return np.linalg.solve(tri(x), y)
        return np.swapaxes(np.linalg.solve(np.swapaxes(tri(x), -1, -2), np.swapaxes(y, -1, -2)), -1, -2)
    check_op(lambda x, y: tg.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit), ref, [a, b],
             device, gradgrad=True)


def _np_lu(a):
    """Doolittle LU with partial pivoting (the first largest |pivot|), LAPACK getrf's packing and 1-based pivots."""
    lu = np.array(a, dtype=np.float64)
    flat = lu.reshape((-1,) + lu.shape[-2:])
    m, n = lu.shape[-2:]
    pivots = np.zeros((flat.shape[0], min(m, n)), np.int32)
    for x, piv in zip(flat, pivots):
        for j in range(min(m, n)):
            p = j + int(np.argmax(np.abs(x[j:, j])))
            piv[j] = p + 1
            x[[j, p]] = x[[p, j]]
            x[j + 1:, j] /= x[j, j]
            x[j + 1:, j + 1:] -= np.outer(x[j + 1:, j], x[j, j + 1:])
    return lu, pivots.reshape(lu.shape[:-2] + (min(m, n),))


@with_fixtures
@given(_spread_spectrum(rows=lambda n: st.integers(1, 4)))
def test_lu_property(device, x):
    """lu_factor's packed LU as a hand-written Doolittle LU (pivots distinct by construction) for square, tall and
    wide matrices, with torch's linalg_lu_backward against central differences (second order too); linalg.lu's
    P L U is A."""
    check_op(lambda t: tg.linalg.lu_factor(t).LU, lambda a: _np_lu(a)[0], [x], device, gradgrad=True)
    assert tg.linalg.lu_factor(tg.tensor(x, device=device)).pivots.tolist() == _np_lu(x)[1].tolist()
    p, lower, upper = tg.linalg.lu(tg.tensor(x, device=device))
    np.testing.assert_allclose((p @ lower @ upper).numpy(), x, atol=1e-12)


@with_fixtures
@given(_well_conditioned(), st.booleans(), st.booleans())
def test_lu_solve_property(device, a, left, adjoint):
    """lu_solve(lu_factor(A), B) as numpy's solve of A (A^T for adjoint; X A = B for left=False), with gradients
    through both to A and B, second order too."""
    n = a.shape[-1]
    b = np.cos(np.arange(2 * n)).reshape((n, 2) if left else (2, n))

    def ref(x, y):
        x = np.swapaxes(x, -1, -2) if adjoint else x
        return np.linalg.solve(x, y) if left else np.swapaxes(np.linalg.solve(np.swapaxes(x, -1, -2), y.T), -1, -2)
    check_op(lambda x, y: tg.linalg.lu_solve(*tg.linalg.lu_factor(x), y, left=left, adjoint=adjoint), ref, [a, b],
             device, gradgrad=True)


@needs_torch
@pytest.mark.parametrize("shape", [(2, 3, 3), (4, 2), (2, 2, 5), (1, 1), (2, 0, 3), (3, 0)])
def test_lu_matches_torch(shape):
    """lu_factor, lu_factor_ex, lu and lu_unpack: values, pivots, info and gradients as torch's."""
    rng = np.random.default_rng(14)
    a = rng.standard_normal(shape)
    t, tt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for ours, theirs in zip(tg.linalg.lu_factor_ex(t), torch.linalg.lu_factor_ex(tt)):
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)
    (p, lower, upper), (p_t, lower_t, upper_t) = tg.linalg.lu(t), torch.linalg.lu(tt)
    for ours, theirs in ((p, p_t), (lower, lower_t), (upper, upper_t)):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)
    w_l, w_u = rng.standard_normal(lower.shape), rng.standard_normal(upper.shape)
    ((lower * tg.tensor(w_l)).sum() + (upper * tg.tensor(w_u)).sum()).backward()
    ((lower_t * torch.tensor(w_l)).sum() + (upper_t * torch.tensor(w_u)).sum()).backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-10)
    if a.size:
        lu_, piv = torch.linalg.lu_factor(torch.tensor(a))
        unpacked = tg.lu_unpack(tg.tensor(lu_.numpy()), tg.tensor(piv.numpy()))
        for ours, theirs in zip(unpacked, torch.lu_unpack(lu_, piv)):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated:UserWarning")
def test_lu_errors_and_singular_matrices():
    a = tg.tensor(np.stack([np.eye(2), [[1.0, 2.0], [2.0, 4.0]]]))
    lu_, pivots, info = tg.linalg.lu_factor_ex(a)
    assert info.tolist() == [0, 2] and info.dtype == np.int32 and pivots.tolist() == [[1, 2], [2, 2]]
    assert lu_.numpy()[1].tolist() == [[2.0, 4.0], [0.5, 0.0]]
    with pytest.raises(tg.linalg.LinAlgError, match=r"linalg.lu_factor: \(Batch element 1\): U\[2,2\] is zero"):
        tg.linalg.lu_factor(a)
    with pytest.raises(tg.linalg.LinAlgError, match=r"linalg.lu_factor_ex: .*U\[2,2\] is zero"):
        tg.linalg.lu_factor_ex(a, check_errors=True)
    assert tg.linalg.lu(a).U.numpy()[1].tolist() == [[2.0, 4.0], [0.0, 0.0]]  # (lu takes it, as torch's)
    with pytest.raises(ValueError, match=r"linalg.lu_factor.*at least 2 dims.*\(3,\)"):
        tg.linalg.lu_factor(tg.ones(3))
    with pytest.raises(ValueError, match=r"linalg.solve_triangular.*B must have at least 2 dims.*\(3,\)"):
        tg.linalg.solve_triangular(tg.eye(3), tg.ones(3), upper=True)
    with pytest.raises(ValueError, match=r"linalg.solve_triangular.*incompatible shapes.*\(3, 3\).*\(2, 3\)"):
        tg.linalg.solve_triangular(tg.eye(3), tg.ones(2, 3), upper=True)
    with pytest.raises(RuntimeError, match=r"triangular_solve: Expected b and A to have the same dtype"):
        tg.triangular_solve(tg.ones(3, 1, dtype=tg.float64), tg.eye(3))  # (linalg.solve_triangular casts B)
    out = tg.linalg.solve_triangular(tg.zeros(2, 2), tg.ones(2, 1), upper=True)  # (a zero diagonal: no error)
    assert not np.isfinite(out.numpy()).any()


@needs_torch
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_and_lu_solve_match_torch(upper, left, unit):
    """Values and gradients as torch's with broadcast batches (A's other triangle holding garbage)."""
    rng = np.random.default_rng(15)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((4, 1, 3, 2) if left else (4, 1, 2, 3))
    fns = [(lambda x, y: tg.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit),
            lambda x, y: torch.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit)),
           (lambda x, y: tg.linalg.lu_solve(*tg.linalg.lu_factor(x), y, left=left, adjoint=unit),
            lambda x, y: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), y, left=left, adjoint=unit))]
    for ours, theirs in fns:
        t, tt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        u, ut = tg.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
        y, yt = ours(t, u), theirs(tt, ut)
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
        w = rng.standard_normal(y.shape)
        (y * tg.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(u.grad.numpy(), ut.grad.numpy(), rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------- products and compositions
@with_fixtures
@given(st.data())
def test_cross_vecdot_multi_dot_property(device, data):
    (sa, sb) = data.draw(st.sampled_from([((3,), (3,)), ((2, 3), (1, 3)), ((2, 1, 3), (1, 4, 3))]))
    x, y = data.draw(arrays(sa)), data.draw(arrays(sb))
    check_op(tg.linalg.cross, lambda p, q: np.cross(p, q), [x, y], device, gradgrad=True)
    check_op(tg.linalg.vecdot, lambda p, q: (p * q).sum(-1), [x, y], device, gradgrad=True)
    sides = data.draw(st.lists(st.integers(1, 3), min_size=3, max_size=5))
    vec_first, vec_last = data.draw(st.booleans()), data.draw(st.booleans())
    mats = [data.draw(arrays((p, q))) for p, q in zip(sides[:-1], sides[1:])]
    if vec_first:
        mats[0] = mats[0][0]
    if vec_last:
        mats[-1] = mats[-1][:, 0]
    check_op(lambda *ms: tg.linalg.multi_dot(ms), lambda *ms: np.linalg.multi_dot(ms), mats, device, gradgrad=True)


@needs_torch
@pytest.mark.filterwarnings("ignore:torch.(triangular_solve|qr|chain_matmul):UserWarning")
def test_small_linalg_functions_match_torch():
    """vander, diagonal, matmul, tensorinv, tensorsolve, chain_matmul and the *_ex functions, values and infos,
    as torch's; the old API (torch.svd's V, torch.qr's some, triangular_solve, cholesky_solve / _inverse)."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal((2, 3))
    pairs = [(tg.linalg.vander(tg.tensor(x), N=4), torch.linalg.vander(torch.tensor(x), N=4)),
             (tg.linalg.diagonal(tg.tensor(x), offset=1), torch.linalg.diagonal(torch.tensor(x), offset=1))]
    t4 = rng.standard_normal((4, 6, 8, 3))
    pairs.append((tg.linalg.tensorinv(tg.tensor(t4)), torch.linalg.tensorinv(torch.tensor(t4))))
    a, b = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    pairs.append((tg.linalg.tensorsolve(tg.tensor(a), tg.tensor(b)), torch.linalg.tensorsolve(torch.tensor(a),
                                                                                          torch.tensor(b))))
    ms = [rng.standard_normal(s) for s in ((2, 3), (3, 4), (4, 1))]
    pairs.append((tg.chain_matmul(*map(tg.tensor, ms)), torch.linalg.multi_dot([torch.tensor(m) for m in ms])))
    sing = np.stack([rng.standard_normal((3, 3)) + 3 * np.eye(3), np.ones((3, 3))])
    spd = np.stack([np.eye(3) * 2, -np.eye(3)])
    for ours, theirs in ((tg.linalg.inv_ex(tg.tensor(sing)), torch.linalg.inv_ex(torch.tensor(sing))),
                         (tg.linalg.solve_ex(tg.tensor(sing), tg.tensor(x.T)),
                          torch.linalg.solve_ex(torch.tensor(sing), torch.tensor(x.T))),
                         (tg.linalg.cholesky_ex(tg.tensor(spd)), torch.linalg.cholesky_ex(torch.tensor(spd)))):
        assert ours.info.tolist() == theirs.info.tolist() and ours.info.dtype == np.int32
        pairs.append((ours[0][0], theirs[0][0]))  # (the failing matrix's values are unspecified)
    m = rng.standard_normal((4, 3))
    pairs += [(u, v) for u, v in zip(tg.svd(tg.tensor(m), compute_uv=False), torch.svd(torch.tensor(m),
                                                                                       compute_uv=False))]
    u, s, v = tg.svd(tg.tensor(m))
    np.testing.assert_allclose(((u * s) @ v.mT).numpy(), m, atol=1e-12)
    pairs += list(zip(tg.tensor(m.T).qr(some=False), torch.tensor(m.T).qr(some=False)))
    tri = np.triu(rng.standard_normal((3, 3))) + 3 * np.eye(3)
    pairs += list(zip(tg.triangular_solve(tg.tensor(m[:3]), tg.tensor(tri), transpose=True),
                      torch.triangular_solve(torch.tensor(m[:3]), torch.tensor(tri), transpose=True)))
    for upper in (False, True):
        factor = tri if upper else tri.T
        pairs.append((tg.tensor(m[:3]).cholesky_solve(tg.tensor(factor), upper),
                      torch.tensor(m[:3]).cholesky_solve(torch.tensor(factor), upper)))
        pairs.append((tg.cholesky_inverse(tg.tensor(factor), upper), torch.cholesky_inverse(torch.tensor(factor),
                                                                                           upper)))
    for ours, theirs in pairs:
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


@with_fixtures
@given(_well_conditioned())
def test_cholesky_solve_and_inverse_property(device, x):
    """cholesky_solve and cholesky_inverse from the factor of x x^T (its triangle taken with tril, since their
    gradient is torch's full-matrix one) against numpy's solve and inv, with gradients, second order too."""
    b = np.cos(np.arange(x.shape[-1] * 2)).reshape(x.shape[-1], 2)
    lower = np.linalg.cholesky(_gram(x))
    check_op(lambda y, f: tg.cholesky_solve(y, f.tril()), lambda y, f: np.linalg.solve(_gram(x), y), [b, lower],
             device, gradgrad=True)
    check_op(lambda f: tg.cholesky_inverse(f.mT.triu(), upper=True), lambda f: np.linalg.inv(_gram(x)), [lower],
             device, gradgrad=True)


def test_new_linalg_errors_name_the_function():
    with pytest.raises(ValueError, match=r"linalg.matrix_power.*square.*\(2, 3\)"):
        tg.linalg.matrix_power(tg.ones(2, 3), 2)
    with pytest.raises(TypeError, match="linalg.matrix_power.*floating point.*torch.int64"):
        tg.linalg.matrix_power(tg.ones(2, 2, dtype=tg.int64), -1)
    assert tg.linalg.matrix_power(tg.ones(2, 2, dtype=tg.int64), 3).tolist() == [[4, 4], [4, 4]]
    with pytest.raises(tg.linalg.LinAlgError, match="linalg.inv.*singular"):
        tg.linalg.matrix_power(tg.ones(2, 2), -1)
    with pytest.raises(ValueError, match=r"linalg.matrix_exp.*square.*\(2, 3\)"):
        tg.linalg.matrix_exp(tg.ones(2, 3))
    with pytest.raises(ValueError, match=r"linalg.pinv.*hermitian.*square.*\(2, 3\)"):
        tg.linalg.pinv(tg.ones(2, 3), hermitian=True)
    with pytest.raises(ValueError, match=r"linalg.lstsq.*driver.*'foo'"):
        tg.linalg.lstsq(tg.eye(2), tg.eye(2), driver="foo")
    with pytest.raises(ValueError, match=r"linalg.lstsq.*incompatible.*\(3, 3\).*\(2, 3\)"):
        tg.linalg.lstsq(tg.eye(3), tg.ones(2, 3))
    with pytest.raises(ValueError, match=r"linalg.cond.*square.*\(2, 3\)"):
        tg.linalg.cond(tg.ones(2, 3), "fro")
    with pytest.raises(ValueError, match="linalg.cond: p 3"):
        tg.linalg.cond(tg.eye(2), 3)
    with pytest.raises(ValueError, match="linalg.cross.*same number of dims"):
        tg.linalg.cross(tg.ones(2, 3), tg.ones(3))
    with pytest.raises(ValueError, match="linalg.multi_dot.*at least 2"):
        tg.linalg.multi_dot([tg.eye(2)])
    with pytest.raises(ValueError, match=r"linalg.multi_dot.*tensors 0 and 1.*\(2, 3\)"):
        tg.linalg.multi_dot([tg.ones(2, 3), tg.ones(2, 3)])
    with pytest.raises(ValueError, match="linalg.vander.*N must be greater than 1"):
        tg.linalg.vander(tg.ones(3), N=1)
    with pytest.raises(ValueError, match="linalg.tensorinv.*product"):
        tg.linalg.tensorinv(tg.ones(2, 3, 2), 1)
    with pytest.raises(tg.linalg.LinAlgError, match="linalg.inv_ex.*singular.*batch element 1"):
        tg.linalg.inv_ex(tg.tensor(np.stack([np.eye(2), np.ones((2, 2))])), check_errors=True)
    with pytest.raises(tg.linalg.LinAlgError, match="linalg.cholesky_ex: .*not positive-definite.*order 1"):
        tg.linalg.cholesky_ex(-tg.eye(2), check_errors=True)


def _np_householder_product(a, tau):
    m, n = a.shape[-2:]
    q = np.broadcast_to(np.eye(m), a.shape[:-2] + (m, m)).copy()
    for i in range(tau.shape[-1]):
        v = np.tril(a, -1)[..., :, i:i + 1] + np.eye(m, n)[:, i:i + 1]
        q = q - (q @ v) @ (tau[..., i:i + 1, None] * np.swapaxes(v, -1, -2))
    return q[..., :, :n]


@with_fixtures
@given(st.data())
def test_householder_product_property(device, data):
    """householder_product as the product of its reflections written out in numpy, gradients to A and tau (second
    order too) against central differences, for k <= n <= m."""
    batch = data.draw(shapes(0, 1, max_side=2))
    n = data.draw(st.integers(1, 3))
    m, k = data.draw(st.integers(n, 4)), data.draw(st.integers(0, n))
    a, tau = data.draw(arrays(batch + (m, n))), data.draw(arrays(batch + (k,)))
    check_op(tg.linalg.householder_product, _np_householder_product, [a, tau], device, gradgrad=k > 0)


@needs_torch
def test_householder_product_matches_torch():
    """torch.geqrf's packed reflections give Q as numpy's qr; values and errors as torch's."""
    a = np.random.default_rng(17).standard_normal((2, 4, 3))
    packed, tau = torch.geqrf(torch.tensor(a))
    q = tg.linalg.householder_product(tg.tensor(packed.numpy()), tg.tensor(tau.numpy()))
    np.testing.assert_allclose(q.numpy(), torch.linalg.householder_product(packed, tau).numpy(), atol=1e-12)
    np.testing.assert_allclose(q.numpy(), np.linalg.qr(a)[0], atol=1e-12)
    with pytest.raises(ValueError, match=r"linalg.householder_product.*at least as many rows.*\(2, 3\)"):
        tg.linalg.householder_product(tg.ones(2, 3), tg.ones(2))
    with pytest.raises(ValueError, match=r"linalg.householder_product.*tau must be.*\(4,\)"):
        tg.linalg.householder_product(tg.ones(4, 3), tg.ones(4))


def test_ex_forms_rank_cond_unpack_vander_and_tensorinv_on_device(device):
    """inv_ex, solve_ex and cholesky_ex (info, nans for the failing matrix of the batch), matrix_rank, cond,
    lu_unpack, vander and tensorinv on the device, against numpy; cholesky refuses a matrix that is not
    positive-definite there too (cuSOLVER reports it through its info only)."""
    # the second singular (diagonal: its singular value 0 exactly, whatever the SVD), so not positive-definite
    a = np.stack([[[2.0, 1.0], [1.0, 3.0]], [[1.0, 0.0], [0.0, 0.0]]])
    t = tg.tensor(a, device=device)
    inverse, info = tg.linalg.inv_ex(t)
    assert inverse.device == info.device == device and info.tolist() == [0, 2]
    np.testing.assert_allclose(inverse[0].numpy(), np.linalg.inv(a[0]), rtol=1e-12)
    assert np.isnan(inverse[1].numpy()).all()
    x, info = tg.linalg.solve_ex(t, tg.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=tg.float64, device=device))
    np.testing.assert_allclose(x[0].numpy(), np.linalg.solve(a[0], [1.0, 0.0]), rtol=1e-12)
    assert info.tolist() == [0, 2] and np.isnan(x[1].numpy()).all()
    lower, info = tg.linalg.cholesky_ex(t)
    np.testing.assert_allclose(lower[0].numpy(), np.linalg.cholesky(a[0]), rtol=1e-12)
    assert info.tolist() == [0, 2] and np.isnan(lower[1].numpy()).all()
    with pytest.raises(tg.linalg.LinAlgError, match=r"Batch element 1.*order 2"):
        tg.linalg.cholesky(t)
    assert tg.linalg.matrix_rank(t).tolist() == [2, 1]
    np.testing.assert_allclose(tg.linalg.cond(t[0]).item(), np.linalg.cond(a[0]), rtol=1e-12)
    np.testing.assert_allclose(tg.linalg.cond(t, 1).numpy(), [np.linalg.cond(a[0], 1), math.inf], rtol=1e-12)
    p, lower, upper = tg.lu_unpack(*tg.linalg.lu_factor(t[:1]))
    assert p.device == device
    np.testing.assert_allclose((p @ lower @ upper).numpy(), a[:1], rtol=1e-12)
    np.testing.assert_array_equal(tg.linalg.vander(tg.tensor([1.0, 2.0, 3.0], device=device)).numpy(),
                                  np.vander([1.0, 2.0, 3.0], increasing=True))
    np.testing.assert_allclose(tg.linalg.tensorinv(t[0], ind=1).numpy(), np.linalg.tensorinv(a[0], ind=1),
                               rtol=1e-12)


def _eig_loss(m, A, w, c):
    """A real loss of eig that does not depend on the eigenvectors' phases: Re(sum L * w) + sum |V|^2 c."""
    L, V = m.linalg.eig(A)
    Va = V.abs()
    return m.view_as_real(L * w).sum() + (Va * Va * c).sum()


def _eig_args(rng, is_complex):
    A = rng.standard_normal((2, 3, 3)) + (1j * rng.standard_normal((2, 3, 3)) if is_complex else 0)
    return A, rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)), rng.standard_normal((3, 3))


@pytest.mark.parametrize("is_complex", [False, True])
def test_eig_and_eigvals_match_torch(is_complex):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    A, w, c = _eig_args(rng, is_complex)
    got, ref = [], []
    for m, out in ((tg, got), (torch, ref)):
        a = m.tensor(A, requires_grad=True)
        L, V = m.linalg.eig(a)
        _eig_loss(m, a, m.tensor(w), m.tensor(c)).backward()
        b = m.tensor(A, requires_grad=True)
        m.view_as_real(m.linalg.eigvals(b) * m.tensor(w)).sum().backward()
        out += [L, V.abs(), a.grad, m.linalg.eigvals(b), b.grad]  # (each eigenvector's phase is arbitrary)
    assert got[0].dtype == tg.complex128 and got[2].dtype == (tg.complex128 if is_complex else tg.float64)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.detach().numpy(), r.detach().resolve_conj().numpy(), rtol=1e-10, atol=1e-12)


@given(seed=st.integers(0, 2 ** 32 - 1), is_complex=st.booleans())
def test_eig_gradient_matches_central_differences(seed, is_complex):
    rng = np.random.default_rng(seed)
    A, w, c = _eig_args(rng, is_complex)
    w, c = tg.tensor(w), tg.tensor(c)
    L = np.linalg.eigvals(A)
    gaps = np.abs(L[:, :, None] - L[:, None, :]) + np.eye(3)
    if gaps.min() < 0.1:  # (near-repeated eigenvalues: eigenvector gradients blow up, as torch's)
        A = A + np.diag([0.0, 1.0, 2.0])
    a = tg.tensor(A, requires_grad=True)
    _eig_loss(tg, a, w, c).backward()
    got, h = a.grad.numpy().reshape(-1), 1e-6
    for k in range(A.size):
        for step in ((1, 1j) if is_complex else (1,)):
            vals = []
            for sign in (1, -1):
                v = A.copy().reshape(-1)
                v[k] += sign * h * step
                vals.append(float(_eig_loss(tg, tg.tensor(v.reshape(A.shape)), w, c).item()))
            fd = (vals[0] - vals[1]) / (2 * h)
            part = got[k].real if step == 1 else got[k].imag
            assert abs(part - fd) <= 1e-5 * max(1, abs(fd)), (k, step, part, fd)


def test_eig_refuses_ill_defined_and_higher_order_gradients():
    a = tg.tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="ill-defined"):
        tg.view_as_real(tg.linalg.eig(a).eigenvectors).sum().backward()
    with pytest.raises(RuntimeError, match="higher-order"):
        tg.autograd.grad(tg.view_as_real(tg.linalg.eigvals(a)).sum(), (a,), create_graph=True)
    with pytest.raises(ValueError, match="square"):
        tg.linalg.eig(tg.ones(2, 3))


def test_old_api_functions_warn_their_deprecation_as_torchs(monkeypatch, device):
    """torch.triangular_solve, torch.cholesky, torch.qr and torch.lu_solve (and their Tensor methods) give torch's
    deprecation UserWarning once a process (TORCH_WARN_ONCE), torch.lu at every call (Python's warnings.warn); the
    values are linalg's. We gave none."""
    import importlib
    import warnings
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(importlib.import_module("tinygrad_rnn.tensor"), "_WARNED_ONCE", set())
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    b = np.array([[1.0], [2.0]])
    calls = [("triangular_solve", lambda T, A, B: T.triangular_solve(B, A)),
             ("cholesky", lambda T, A, B: T.cholesky(A)),
             ("qr", lambda T, A, B: T.qr(A)),
             ("lu_solve", lambda T, A, B: T.lu_solve(B, *T.linalg.lu_factor(A))),
             ("lu", lambda T, A, B: T.lu(A))]
    for name, call in calls:
        A, B = tg.tensor(a, device=device), tg.tensor(b, device=device)
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            call(tg, A, B)
            call(tg, A, B)  # (a second call: torch.lu's warns again, the others do not)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            call(torch, torch.tensor(a), torch.tensor(b))
        ours = [str(w.message) for w in ours if w.category is UserWarning]
        assert len(ours) == (2 if name == "lu" else 1), (name, ours)
        assert ours[0].startswith(f"torch.{name} is deprecated in favor of torch.linalg."), ours
        for msg in theirs:  # (torch's own once-a-process warning may have been given already)
            assert str(msg.message).startswith(ours[0]), (name, str(msg.message), ours[0])
        assert ours[0].endswith(")") or ours[0].endswith(".")
    A = tg.tensor(a, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A.cholesky(), A.qr(), tg.tensor(b, device=device).triangular_solve(A)  # (once only, methods too)
        np.testing.assert_allclose(tg.cholesky(A).cpu().numpy(), np.linalg.cholesky(a))


@pytest.mark.filterwarnings("ignore:Casting complex values to real discards the imaginary part:UserWarning")
@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated:UserWarning")
def test_solve_triangular_casts_B_to_As_dtype_as_torchs(device):
    """torch.linalg.solve_triangular takes a B of another dtype (float32 or float64, an integer, even complex with
    its warning) and solves in A's dtype, B's gradient in B's own; torch.triangular_solve refuses the mix with a
    RuntimeError. We refused both with a TypeError."""
    torch = pytest.importorskip("torch")
    a = np.array([[2.0, 0.0], [1.0, 3.0]])
    for adt, bdt in [("float64", "float32"), ("float32", "float64"), ("float64", "int64"), ("complex128", "float64"),
                     ("float32", "complex64")]:
        ours_ab = tg.tensor(a, device=device).to(getattr(tg, adt)), tg.tensor([[1.0], [2.0]], device=device)
        ours_ab = ours_ab[0], ours_ab[1].to(getattr(tg, bdt))
        theirs_ab = torch.tensor(a).to(getattr(torch, adt)), torch.tensor([[1.0], [2.0]]).to(getattr(torch, bdt))
        grads = bdt.startswith("float") and not adt.startswith("complex")
        if grads:
            for t in ours_ab + theirs_ab:
                t.requires_grad_()
        ours = tg.linalg.solve_triangular(*ours_ab, upper=False)
        theirs = torch.linalg.solve_triangular(*theirs_ab, upper=False)
        assert str(ours.dtype) == str(theirs.dtype), (adt, bdt)
        np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-6)
        if grads:
            ours.sum().backward()
            theirs.sum().backward()
            for o, t in zip(ours_ab, theirs_ab):
                assert str(o.grad.dtype) == str(t.grad.dtype)
                np.testing.assert_allclose(o.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="Expected b and A to have the same dtype"):
        tg.triangular_solve(tg.ones(2, 1, device=device), tg.tensor(a, device=device))
