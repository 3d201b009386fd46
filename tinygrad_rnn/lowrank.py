"""torch's randomized low-rank factorizations (torch._lowrank's): ``svd_lowrank`` and ``pca_lowrank``, Halko et
al.'s range finder (a random Gaussian test matrix, ``niter`` subspace iterations with QR) then an exact SVD of the
small projected matrix, all on tg's differentiable ops (matmul, linalg.qr, linalg.svd), batched over leading dims.
The test matrix comes from tg's generator (``tg.manual_seed``), or from ``generator=`` (a keyword torch lacks), so
the factors are not torch's numbers: compare reconstructions, not values."""
from __future__ import annotations

from typing import Any, Optional, Tuple

from . import linalg
from .creation import randn
from .tensor import Tensor, _defaults

__all__ = ["pca_lowrank", "svd_lowrank"]


def _floating(A: Tensor) -> Any:
    return A.dtype if A.dtype.kind in "fc" else _defaults.floating


def _mm(A: Optional[Tensor], B: Tensor) -> Optional[Tensor]:
    return None if A is None else A @ B


def get_approximate_basis(A: Tensor, q: int, niter: Optional[int] = 2, M: Optional[Tensor] = None, *,
                          generator: Any = None) -> Tensor:
    """An (…, m, q) matrix Q with orthonormal columns whose range approximates A's (A - M's): torch's."""
    niter = 2 if niter is None else niter
    R = randn(A.shape[-1], q, dtype=_floating(A), device=A.device, generator=generator)
    X = A @ R
    if M is not None:
        X = X - M @ R
    Q = linalg.qr(X).Q
    for _ in range(niter):
        X = A.mH @ Q
        if M is not None:
            X = X - M.mH @ Q
        Q = linalg.qr(X).Q
        X = A @ Q
        if M is not None:
            X = X - M @ Q
        Q = linalg.qr(X).Q
    return Q


def svd_lowrank(A: Tensor, q: Optional[int] = 6, niter: Optional[int] = 2, M: Optional[Tensor] = None, *,
                generator: Any = None) -> Tuple[Tensor, Tensor, Tensor]:
    """torch.svd_lowrank: (U, S, V) with A - M ≈ U diag(S) V^H, of rank q (default 6), from niter subspace
    iterations (default 2). ``generator`` (tg's extension): the Generator the random test matrix comes from."""
    if not isinstance(A, Tensor):
        raise TypeError(f"svd_lowrank: A must be a Tensor, got {type(A).__name__}")
    q = 6 if q is None else q
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:
        A = A.mH
        if M is not None:
            M = M.mH
    Q = get_approximate_basis(A, q, niter=niter, M=M, generator=generator)
    B = Q.mH @ A
    if M is not None:
        B = B - Q.mH @ M
    U, S, Vh = linalg.svd(B, full_matrices=False)
    V = Vh.mH
    U = Q @ U
    if m < n:
        U, V = V, U
    return U, S, V


def pca_lowrank(A: Tensor, q: Optional[int] = None, center: bool = True, niter: int = 2, *,
                generator: Any = None) -> Tuple[Tensor, Tensor, Tensor]:
    """torch.pca_lowrank: svd_lowrank of A with its column means subtracted (``center``), q = min(6, m, n) by
    default: V's columns are the principal directions, S**2 / (m - 1) the variances along them."""
    if not isinstance(A, Tensor):
        raise TypeError(f"pca_lowrank: A must be a Tensor, got {type(A).__name__}")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter, M=None, generator=generator)
    return svd_lowrank(A - A.mean(dim=-2, keepdim=True), q, niter=niter, M=None, generator=generator)
