"""tg.linalg.ldl_factor / ldl_factor_ex / ldl_solve against torch's (LAPACK sytrf / sytrs, Bunch-Kaufman): the same
pivots and LD for symmetric indefinite matrices (1x1 and 2x2 blocks), batches, float32; solutions; errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg


def _symmetric(rng, shape, small_diagonal=False):
    a = rng.standard_normal(shape)
    a = a + np.swapaxes(a, -1, -2)
    if small_diagonal:  # (forces 2x2 pivots)
        n = shape[-1]
        a[..., np.arange(n), np.arange(n)] *= 0.01
    return a


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 70])
@pytest.mark.parametrize("small_diagonal", [False, True])
def test_ldl_factor_and_solve_match_torch(n, small_diagonal, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n)
    for _ in range(6):
        a = _symmetric(rng, (n, n), small_diagonal)
        LD, piv = tg.linalg.ldl_factor(tg.tensor(a, device=device))
        tLD, tpiv = torch.linalg.ldl_factor(torch.tensor(a))
        assert piv.dtype == tg.int32 and LD.shape == (n, n)
        np.testing.assert_array_equal(piv.cpu().numpy(), tpiv.numpy())
        np.testing.assert_allclose(LD.cpu().numpy(), tLD.numpy(), rtol=1e-10, atol=1e-12)
        b = rng.standard_normal((n, 3))
        x = tg.linalg.ldl_solve(LD, piv, tg.tensor(b, device=device))
        np.testing.assert_allclose(x.cpu().numpy(), torch.linalg.ldl_solve(tLD, tpiv, torch.tensor(b)).numpy(),
                                   rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a @ x.cpu().numpy(), b, atol=1e-8)
    if small_diagonal and n > 2:
        assert (tpiv.numpy() < 0).any()  # (2x2 blocks were exercised)


def test_batches_broadcast_float32_and_ex(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = _symmetric(rng, (2, 3, 6, 6), True)
    out = tg.linalg.ldl_factor_ex(tg.tensor(a, device=device))
    tout = torch.linalg.ldl_factor_ex(torch.tensor(a))
    assert out._fields == ("LD", "pivots", "info") and out.info.shape == (2, 3) and not out.info.cpu().numpy().any()
    np.testing.assert_array_equal(out.pivots.cpu().numpy(), tout.pivots.numpy())
    np.testing.assert_allclose(out.LD.cpu().numpy(), tout.LD.numpy(), rtol=1e-10, atol=1e-12)
    b = rng.standard_normal((3, 6, 2))  # (batch dims broadcast)
    x = tg.linalg.ldl_solve(out.LD, out.pivots, tg.tensor(b, device=device))
    np.testing.assert_allclose(x.cpu().numpy(), torch.linalg.ldl_solve(tout.LD, tout.pivots, torch.tensor(b)).numpy(),
                               rtol=1e-8, atol=1e-10)
    a32 = _symmetric(rng, (5, 5)).astype(np.float32)
    LD, piv = tg.linalg.ldl_factor(tg.tensor(a32, device=device), hermitian=True)
    tLD, tpiv = torch.linalg.ldl_factor(torch.tensor(a32))
    assert LD.dtype == tg.float32
    np.testing.assert_array_equal(piv.cpu().numpy(), tpiv.numpy())
    np.testing.assert_allclose(LD.cpu().numpy(), tLD.numpy(), rtol=1e-5, atol=1e-6)


def test_singular_errors_and_no_derivative():
    torch = pytest.importorskip("torch")
    zeros = np.zeros((3, 3))
    out, tout = tg.linalg.ldl_factor_ex(tg.tensor(zeros)), torch.linalg.ldl_factor_ex(torch.tensor(zeros))
    assert int(out.info) == int(tout.info) == 1
    np.testing.assert_array_equal(out.pivots.numpy(), tout.pivots.numpy())
    with pytest.raises(tg.linalg.LinAlgError, match="could not be completed"):
        tg.linalg.ldl_factor(tg.tensor(zeros))
    with pytest.raises(tg.linalg.LinAlgError, match="could not be completed"):
        tg.linalg.ldl_factor_ex(tg.tensor(zeros), check_errors=True)
    with pytest.raises(ValueError, match="must be square"):
        tg.linalg.ldl_factor(tg.ones(3, 4, dtype=tg.float64))
    LD, piv = tg.linalg.ldl_factor(tg.eye(4, dtype=tg.float64) * 2)
    with pytest.raises(RuntimeError, match="Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is 4 "
                                           "by 4 but each b matrix is 3 by 2"):
        tg.linalg.ldl_solve(LD, piv, tg.ones(3, 2, dtype=tg.float64))
    a = tg.tensor(_symmetric(np.random.default_rng(1), (3, 3)), requires_grad=True)
    LD, piv = tg.linalg.ldl_factor(a)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        LD.sum().backward()
    b = tg.ones(3, 1, dtype=tg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not implemented"):
        tg.linalg.ldl_solve(LD.detach(), piv, b).sum().backward()


@pytest.mark.parametrize("shape, b_shape", [((0, 0), (0, 2)), ((3, 0, 0), (3, 0, 1)), ((0, 2, 2), (0, 2, 1)),
                                            ((2, 2), (2, 0))])
def test_empty_matrices_and_batches_as_torchs(shape, b_shape, device):
    """An empty matrix or batch factors and solves to empty results of torch's shapes (it raised numpy's reshape
    error: -1 over no elements)."""
    a = tg.tensor(2 * np.eye(shape[-1]) + np.zeros(shape), dtype=tg.float64, device=device)
    LD, pivots, info = tg.linalg.ldl_factor_ex(a)
    assert LD.shape == shape and pivots.shape == shape[:-1] and info.shape == shape[:-2] and info.dtype == tg.int32
    x = tg.linalg.ldl_solve(LD, pivots, tg.zeros(b_shape, dtype=tg.float64, device=device))
    assert x.shape == b_shape


@pytest.mark.parametrize("pivots", [[0, 2], [1, 0], [1, 5], [-3, -3], [0, 0]])
def test_ldl_solve_refuses_pivots_out_of_range_as_torch(pivots, device):
    """Pivots outside 1..n in absolute value are torch's RuntimeError (0 gave nan or garbage silently: a swap with
    row -1; beyond n an IndexError)."""
    eye = tg.eye(2, dtype=tg.float64, device=device)
    with pytest.raises(RuntimeError, match=r"Pivots given to ldl_solve must all satisfy \|pivot\| (>= 1|<= "
                                           r"LD.size\(-2\))"):
        tg.linalg.ldl_solve(eye, tg.tensor(pivots, dtype=tg.int32, device=device), eye)
