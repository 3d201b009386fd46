"""torch.nn.utils.parametrizations: orthogonal, weight_norm and spectral_norm written as parametrizations
(nn.utils.parametrize), so their tensors live under module.parametrizations.<name> with torch's state_dict keys."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from ... import backend
from ...autograd import no_grad
from ...creation import eye, randn, zeros
from ...linalg import householder_product, matrix_exp, qr, solve
from ...ops import cat
from ...tensor import Tensor
from .. import functional as F
from ..module import Module
from . import parametrize

_MAPS = ("matrix_exp", "cayley", "householder")


def _diag_sign(x: Tensor, trunc: bool) -> Tensor:
    """The diagonal of x's matrices as a detached (..., 1, k) row: truncated to ints (torch's .int()) or signs."""
    xp = backend.xp_of(x.array)
    d = xp.diagonal(x.array, axis1=-2, axis2=-1)
    d = xp.trunc(d) if trunc else xp.sign(d)
    return Tensor._make(xp.expand_dims(d, -2).astype(x.dtype))


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * float(backend.xp_of(q.array).finfo(q.dtype).eps)
    return bool(backend.xp_of(q.array).allclose((q.mT @ q).array, eye(k, dtype=q.dtype, device=q.device).array,
                                               atol=eps))


def _make_orthogonal(a: Tensor) -> Tensor:
    """Q of a's QR decomposition, its columns' signs making diag(R) >= 0 (torch's)."""
    q, r = qr(a)
    return q * _diag_sign(r, trunc=False)


def _geqrf(a: Any) -> Tuple[Any, Any]:
    """LAPACK geqrf of each matrix of the array a (..., n, k), n >= k: (reflectors and R packed, tau)."""
    xp = backend.xp_of(a)
    flat = a.reshape(-1, *a.shape[-2:])
    parts = [xp.linalg.qr(m, mode="raw") for m in flat]
    h = xp.stack([p[0].T for p in parts]) if parts else xp.zeros(flat.shape, a.dtype)
    tau = xp.stack([p[1] for p in parts]) if parts else xp.zeros(flat.shape[:1] + flat.shape[-1:], a.dtype)
    return h.reshape(a.shape).astype(a.dtype), tau.reshape(a.shape[:-2] + (a.shape[-1],))


class _Orthogonal(Module):
    """The parametrization of orthogonal(), as torch's: X (..., n, k) to an orthogonal matrix through matrix_exp or
    cayley of the skew-symmetric matrix built from X's lower triangle, or householder reflections; with
    use_trivialization, left-multiplied by the buffer ``base`` (set by right_inverse), so the tensor starts at the
    orthogonalized weight and the original at -I."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape, self.orthogonal_map = weight.shape, orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X, n, k = X.mT, k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                X = cat([X, zeros(*X.shape[:-2], n, n - k, dtype=X.dtype, device=X.device)], dim=-1)
            A = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                ident = eye(n, dtype=A.dtype, device=A.device)
                Q = solve(ident - A * 0.5, ident + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau) * _diag_sign(X, trunc=True)
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {Q.shape}.")
            Q_init, n, k = Q, Q.shape[-2], Q.shape[-1]
            transpose = n < k
            if transpose:
                Q, n, k = Q.mT, k, n
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                              "parametrizations when use_trivialization=False.")
                a, tau = _geqrf(Q.array)
                xp = backend.xp_of(a)
                d = xp.sign(xp.diagonal(a, axis1=-2, axis2=-1)) * xp.where(tau == 0, -1, 1).astype(a.dtype)
                idx = xp.arange(k)
                a[..., idx, idx] = d
                A = Tensor._make(a)
                return A.mT if transpose else A
            if n == k:
                Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
            else:
                N = randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(cat([Q, N], dim=-1))
            self.base = Q
            xp = backend.xp_of(Q_init.array)
            neg_id = xp.zeros_like(Q_init.array)
            idx = xp.arange(min(Q_init.shape[-2:]))
            neg_id[..., idx, idx] = -1
            return Tensor._make(neg_id)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: Optional[str] = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain module.<name> (a matrix, or a batch of them) to be orthogonal (orthonormal columns or rows for a
    non-square one), as torch.nn.utils.parametrizations.orthogonal: e.g. an RNN's hidden-to-hidden matrix. Maps
    'matrix_exp' (the default for square matrices), 'cayley' and 'householder' (the default otherwise).
    use_trivialization (default): the original starts at -I and the weight at its own QR-orthogonalized value
    (the buffer base; a non-square one completed with random columns, as torch's). Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """torch.norm_except_dim(v, 2, dim): the 2-norm over every dim but ``dim``, kept; dim -1: of the whole."""
    if dim == -1:
        return (v * v).sum().sqrt()
    dim %= max(v.ndim, 1)
    if v.ndim <= 1:
        return v.abs()
    return (v * v).sum(dim=tuple(d for d in range(v.ndim) if d != dim), keepdim=True).sqrt()


class _WeightNorm(Module):
    """weight_norm's parametrization: (g, v) to v * g / ||v||, the norm over every dim but ``dim``."""

    def __init__(self, dim: Optional[int] = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> Tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: Optional[int] = 0) -> Module:
    """module.<name> as g * v / ||v|| (Salimans & Kingma 2016), as torch.nn.utils.parametrizations.weight_norm:
    g is module.parametrizations.<name>.original0 (the norms, kept dims) and v original1 (the direction); the norm
    is over every dim but ``dim`` (None or -1: the whole tensor). Returns the module. As torch's, load_state_dict
    takes a checkpoint of the old nn.utils.weight_norm too: its '<name>_g'/'<name>_v' keys are renamed to
    parametrizations.<name>.original0/original1 (a load pre-hook)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(state_dict: Dict[str, Any], prefix: str, *_: Any) -> None:
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0, original1 = state_dict.pop(g_key), state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    """spectral_norm's parametrization, as torch's: W / sigma, sigma = u . (W_mat v) from the buffers _u and _v,
    which n_power_iterations steps of power iteration update in place (no gradient) on each computation in
    training mode (15 steps at creation); a 1-d weight is just normalized."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got "
                             f"{dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim, self.eps = dim % ndim, eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = randn(h, dtype=weight.dtype, device=weight.device)
            v = randn(w, dtype=weight.dtype, device=weight.device)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def _normalize(self, x: Any) -> Any:
        xp = backend.xp_of(x)
        return x / xp.maximum(xp.sqrt((x * x).sum()), self.eps)

    def _power_method(self, mat: Tensor, n: int) -> None:
        w = mat.array
        for _ in range(n):
            self._u.array[...] = self._normalize(w @ self._v.array)
            self._v.array[...] = self._normalize(w.T @ self._u.array)
        self._u._bump_version()
        self._v._bump_version()

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.detach().clone(), self._v.detach().clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: Optional[int] = None) -> Module:
    """module.<name> divided by its spectral norm, estimated by power iteration (Miyato et al. 2018), as
    torch.nn.utils.parametrizations.spectral_norm: buffers parametrizations.<name>.0._u and ._v (random unit
    vectors; torch draws other random numbers), dim the output dim (default 0; 1 for ConvTranspose1d and 2d). Returns
    the module."""
    from ..layers import _ConvTransposeNd
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
