"""tg.svd_lowrank / tg.pca_lowrank: the randomized factors are not torch's numbers (another generator), so the
reconstructions, singular values, subspaces and gradients are compared with torch's and with exact SVDs."""
import numpy as np
import pytest

import tinygrad_rnn as tg


def _low_rank(rng, shape, rank):
    *batch, m, n = shape
    return rng.standard_normal((*batch, m, rank)) @ rng.standard_normal((*batch, rank, n))


@pytest.mark.parametrize("shape,rank,q", [((20, 8), 3, 4), ((8, 20), 3, 3), ((2, 15, 10), 4, 6), ((12, 12), 12, 12)])
def test_svd_lowrank_reconstructs_and_matches_torchs_singular_values(shape, rank, q, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = _low_rank(rng, shape, rank)
    U, S, V = tg.svd_lowrank(tg.tensor(a, device=device), q=q, niter=3)
    m, n = shape[-2:]
    assert U.shape == (*shape[:-2], m, q) and S.shape == (*shape[:-2], q) and V.shape == (*shape[:-2], n, q)
    recon = (U @ tg.diag_embed(S) @ V.mH).cpu().numpy()
    np.testing.assert_allclose(recon, a, atol=1e-10)
    tU, tS, tV = torch.svd_lowrank(torch.tensor(a), q=q, niter=3)
    np.testing.assert_allclose(S.cpu().numpy(), tS.numpy(), atol=1e-10)
    exact = np.linalg.svd(a, compute_uv=False)[..., :rank]
    np.testing.assert_allclose(S.cpu().numpy()[..., :rank], exact, rtol=1e-10)
    u = U.cpu().numpy()
    np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(q), S.shape + (q,)), atol=1e-10)


def test_svd_lowrank_with_M_and_the_generator_path():
    rng = np.random.default_rng(1)
    a, mm = _low_rank(rng, (10, 7), 2) + 1.5, np.full((1, 7), 1.5)
    g1, g2 = tg.Generator().manual_seed(3), tg.Generator().manual_seed(3)
    U1, S1, V1 = tg.svd_lowrank(tg.tensor(a), q=3, M=tg.tensor(mm), generator=g1)
    U2, S2, V2 = tg.svd_lowrank(tg.tensor(a), q=3, M=tg.tensor(mm), generator=g2)
    assert np.array_equal(U1.numpy(), U2.numpy()) and np.array_equal(S1.numpy(), S2.numpy())
    np.testing.assert_allclose((U1 @ tg.diag(S1) @ V1.mT).numpy(), a - mm, atol=1e-10)
    U3, S3, _ = tg.svd_lowrank(tg.tensor(a), q=3, M=tg.tensor(mm), generator=tg.Generator().manual_seed(4))
    assert not np.allclose(U3.numpy(), U1.numpy())
    np.testing.assert_allclose(S3.numpy(), S1.numpy(), atol=1e-10)
    tg.manual_seed(7)
    first = tg.svd_lowrank(tg.tensor(a), q=3)[0].numpy()
    tg.manual_seed(7)
    assert np.array_equal(tg.svd_lowrank(tg.tensor(a), q=3)[0].numpy(), first)


def test_pca_lowrank_directions_and_variances_as_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = _low_rank(rng, (30, 6), 2) + rng.standard_normal(6) * 4
    U, S, V = tg.pca_lowrank(tg.tensor(a, device=device), q=2)
    tU, tS, tV = torch.pca_lowrank(torch.tensor(a), q=2)
    np.testing.assert_allclose(S.cpu().numpy(), tS.numpy(), rtol=1e-10)
    v, tv = V.cpu().numpy(), tV.numpy()
    np.testing.assert_allclose(v @ v.T, tv @ tv.T, atol=1e-10)  # (the same subspace; signs may differ)
    centered = a - a.mean(0)
    np.testing.assert_allclose((U @ tg.diag(S) @ V.mT).cpu().numpy(), centered, atol=1e-10)
    _, S_nc, _ = tg.pca_lowrank(tg.tensor(a), q=3, center=False)
    np.testing.assert_allclose(S_nc.numpy(), torch.pca_lowrank(torch.tensor(a), q=3, center=False)[1].numpy(),
                               rtol=1e-10)
    assert tg.pca_lowrank(tg.tensor(a))[1].shape == (6,)  # (q = min(6, m, n))
    for lib in (tg, torch):
        with pytest.raises(ValueError, match=r"q\(=7\) must be non-negative integer and not greater than min"):
            lib.pca_lowrank(lib.tensor(a), q=7)
        with pytest.raises(ValueError, match=r"niter\(=-1\) must be non-negative integer"):
            lib.pca_lowrank(lib.tensor(a), niter=-1)


def test_svd_lowrank_gradient_as_torch():
    """Full rank with q = min(m, n): S are A's singular values, so d sum(S) / dA = U V^T whatever the draw."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).standard_normal((7, 5))
    x = tg.tensor(a, requires_grad=True)
    U, S, V = tg.svd_lowrank(x, q=5)
    (S.sum() + (S ** 2).sum()).backward()
    tx = torch.tensor(a, requires_grad=True)
    _, tS, _ = torch.svd_lowrank(tx, q=5)
    (tS.sum() + (tS ** 2).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-9)
