"""Complex tensors: values and gradients (torch's conjugate Wirtinger convention) against torch in complex128 and
against central differences of the real and imaginary parts; every other op refuses complex input."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg

C = np.complex128

# (the old linear algebra forms, torch.lu at every call, warn their deprecation in both libraries)
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of torch.linalg:UserWarning")


def _z(device, values):
    return tg.tensor(np.asarray(values, C), device=device, requires_grad=True)


def _in_place_chain(m, z, w, x):
    """The in-place forms of the audited ops, on tensors in the graph (not leaves), as torch's."""
    y = z * 1
    y.mul_(w).add_(x, alpha=0.5).sub_(w, alpha=1 - 1j).div_(w * w.conj() + 3)
    y += z
    y -= 0.5j
    y *= w
    y /= (2 + 1j)
    y.pow_(2)
    y.conj_physical_()
    y = y.tanh_() * 1
    y = y.exp_() * 1
    y.unsqueeze_(0).t_()
    y = y.sigmoid_() + m.outer(z, w).tril_().triu_(-1).sum(1, keepdim=True)
    y = y.sin_() * 1
    y = y.cos_() * w.reshape(3, 1)
    y = y.sqrt_() * 1
    y.square_()
    y.neg_()
    y = y.log_() * 1
    y.masked_fill_(x.reshape(3, 1) > 1, 0.5 + 1j)
    y.squeeze_()
    y = y.reciprocal_() * 1
    y = y.sgn_() * 1 + z.add(w, alpha=0.5 + 2j)
    return m.view_as_real(y).sum()


def _svd_loss(m, a, full):
    """A loss of linalg.svd's factors that does not depend on the phase of each singular vector pair (torch
    refuses one that does): |U|, |Vh|, S and U Vh."""
    u, s, vh = m.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    u, vh = u[..., :k], vh[..., :k, :]
    return (u.abs() ** 3).sum() + (vh.abs() ** 2 * 0.5).sum() + (s * s).sum() + m.view_as_real(u @ vh).sum()


def _hermitian(m, z, w, x):
    """A Hermitian positive-definite matrix of the leaves."""
    return m.outer(z, z.conj()) + m.outer(w, w.conj()) * 0.5 + m.diag(x * x + 1 + 0j)


def _cholesky_loss(m, z, w, x):
    a = _hermitian(m, z, w, x)
    lower, upper = m.linalg.cholesky(a), m.linalg.cholesky(a, upper=True)
    l2, info = m.linalg.cholesky_ex(a * 2, upper=True)
    return m.view_as_real(lower * (1 + 2j) + lower ** 2 + upper * (0.5 - 1j) + l2).sum() \
        + m.view_as_real(m.cholesky_solve(m.outer(z, w), lower) + m.cholesky_solve(m.outer(w, x + 1j), l2, True)
                         + m.cholesky_inverse(upper, True) * (0.3 - 1j) + m.cholesky_inverse(lower)).sum()


def _lu_loss(m, z, w, x):
    a = m.outer(z, w) + m.diag(x + 4 + 0j)
    lu, piv = m.linalg.lu_factor(a)
    p, lower, upper = m.linalg.lu(m.stack([z, w * 2]).mT)
    p2, l2, u2 = m.lu_unpack(*m.linalg.lu_factor(m.stack([w, z])))
    out = m.view_as_real(lu * (1 + 1j) + lu ** 2).sum() + m.view_as_real(l2 @ u2 @ m.outer(z, w)).sum()
    out = out + (lower.abs() ** 2).sum()
    out = out + m.view_as_real(upper * (0.5 - 2j)).sum() + m.view_as_real(m.lu_solve(m.outer(w, z), *m.lu(a))).sum()
    for adjoint in (False, True):
        out = out + m.view_as_real(m.linalg.lu_solve(lu, piv, m.outer(z, w)[:, :2], adjoint=adjoint) * (1 - 1j)).sum()
        out = out + (m.linalg.lu_solve(lu, piv, m.stack([w, z]), left=False, adjoint=adjoint).abs() ** 2).sum()
    return out


def _pinv_lstsq_loss(m, z, w, x):
    a = m.outer(z, w) + m.diag(x + 4 + 0j)
    out = m.view_as_real(m.linalg.pinv(a) * (1 + 1j) + m.pinverse(m.outer(w, z) + m.diag(z + 3)) ** 2).sum()
    out = out + m.view_as_real(m.linalg.pinv(m.stack([z, w])) @ m.linalg.pinv(m.stack([w, z * 2]).mT)).sum()
    out = out + (m.linalg.pinv(_hermitian(m, z, w, x), hermitian=True).abs() ** 2).sum()
    for driver, b in (("gelsy", m.outer(w, z)[:, :2]), ("gelsd", m.stack([z, w]).mT), ("gels", w)):
        sol, res, rank, values = m.linalg.lstsq(m.stack([z, w * 2, z * w, w + 1]).mT if driver == "gels" else a, b,
                                                driver=driver)
        out = out + m.view_as_real(sol * (0.5 - 1j)).sum() + res.sum()
    return out + m.linalg.cond(a) + m.linalg.cond(a, "nuc") * m.linalg.cond(a, -2)


def _gather_scatter_loss(m, z, w, x):
    """gather, take, take_along_dim, scatter (a tensor, a complex number), scatter_add, index_add,
    index_put (accumulate too), masked_select, repeat_interleave, rot90, diag_embed: values moved, gradients
    gathered or scattered back."""
    def i(v):
        return m.tensor(v, device=z.device)
    out = z.gather(0, i([2, 0, 0])) * w + m.take(m.outer(z, w), i([0, 4, 8])) + m.take_along_dim(
        m.outer(w, z), i([[1], [0], [2]]), 1)[:, 0] + z.scatter(0, i([1]), w[:1]) * 2 + m.scatter(
        w, 0, i([0, 2]), (z * w)[:2]) + m.scatter_add(z, 0, i([0, 0, 2]), w) + z.index_add(0, i([2, 2]), w[:2],
                                                                                           alpha=2.5)
    out = out + m.index_put(w, (i([0, 1]),), z[1:]) * (0.5 + 1j) + w.index_put((i([1, 1]),), z[:2], accumulate=True)
    out = out + m.repeat_interleave(z, 2)[1:4] + z.repeat_interleave(i([1, 0, 2])) + z.scatter(0, i([2]), 1j) * w
    out = out + m.rot90(m.outer(z, w))[0] + m.outer(w, z).rot90(-1, (1, 0))[2] + m.diag_embed(m.outer(z, w)).sum((0, 1))
    return m.view_as_real(out).sum() + m.view_as_real(m.masked_select(m.outer(z, w), m.outer(x, x) > 0.5).sum()
                                                      + m.diag_embed(z * w, 1)[1:, 2].sum()).sum()


def _addc_lerp_loss(m, z, w, x):
    """addcmul / addcdiv (a complex value, real operands promoting) and lerp (a complex weight: a number, a 0-d
    tensor, one per element on both sides of |weight| = 0.5), and their in-place forms."""
    out = m.addcmul(z, w, z, value=1j) + z.addcdiv(w, z + 2, value=0.5 - 1j) + m.addcmul(z, x, w) + m.addcdiv(
        w, z, x + 3) + m.lerp(z, w, 0.3) + z.lerp(w, 0.7 - 0.2j) + m.lerp(z, w, x * 0.4 + 0.3j) + m.lerp(
        w, z, m.tensor(0.3j, device=z.device)) + m.lerp(x + 0j, z, 0.5)
    y = z * 1
    y.addcmul_(w, w, value=2j).lerp_(w, 0.25 + 0.5j).addcdiv_(z, w).lerp_(z * 2, w)
    return m.view_as_real(out + y).sum()


# each case: f(tg or torch module, z, w, x) -> a real scalar loss, from complex z, w and real x
_CASES = {
    "mul_add": lambda m, z, w, x: m.view_as_real(z * w + z - w).sum(),
    "div": lambda m, z, w, x: m.view_as_real(z / w).sum() + m.view_as_real(2.5 / w).sum(),
    "promote": lambda m, z, w, x: m.view_as_real(x * z + x / w - x).sum(),
    "scalar": lambda m, z, w, x: m.view_as_real(z * (1 - 2j) + (0.5 + 1j) / w).sum(),
    "abs": lambda m, z, w, x: (z * w).abs().sum(),
    "angle": lambda m, z, w, x: (z * w).angle().sum(),
    "conj": lambda m, z, w, x: m.view_as_real(z.conj() * w).sum(),
    "real_imag": lambda m, z, w, x: (z * w).real.sum() * 2 + (z * w).imag.sum() * 3,
    "complex": lambda m, z, w, x: m.view_as_real(m.complex(x, x * x) * z).sum(),
    "polar": lambda m, z, w, x: m.view_as_real(m.polar(x * x + 1, x) * w).sum(),
    "view_as_complex": lambda m, z, w, x: m.view_as_complex(m.view_as_real(z) * 3).abs().sum(),
    "sum_reshape": lambda m, z, w, x: (z.reshape(3, 1) * w).sum(0).abs().sum(),
    "neg_sub": lambda m, z, w, x: (-(z - w)).abs().sum(),
    "getitem": lambda m, z, w, x: (z[1:] * w[[0, 0]]).abs().sum() + z[-1].angle(),
    "mean_exp": lambda m, z, w, x: m.view_as_real((z * 0.5).exp() * w).mean() + (z * w).mean().abs(),
    "matmul": lambda m, z, w, x: (m.matmul(z.reshape(3, 1), w.reshape(1, 3)) @ w + z @ w
                                  + (x * 1j + z).reshape(1, 3) @ z.reshape(3, 1)).abs().sum(),
    # elementwise (holomorphic: g conj(f'(z)))
    "log_sqrt": lambda m, z, w, x: m.view_as_real(w.log() * 2 + (z * w).sqrt() + m.log(z) - m.sqrt(w)).sum(),
    "sin_cos": lambda m, z, w, x: m.view_as_real(z.sin() * w.cos() + m.sin(w * 0.5)).sum(),
    "tanh_sigmoid": lambda m, z, w, x: m.view_as_real(z.tanh() * w + w.sigmoid() + m.tanh(x * 1j)).sum(),
    "log1p_expm1_sinh_cosh": lambda m, z, w, x: m.view_as_real(z.log1p() * w + m.expm1(w * 0.5) + z.sinh()
                                                               + m.cosh(w) * m.log1p(z * 1e-9) * 1e9).sum(),
    "pow": lambda m, z, w, x: m.view_as_real(z ** 2 + z ** 2.5 + w ** (0.5 - 1j) + z ** w + 2 ** z
                                             + (x * x + 1) ** (1 + 1j) + (1 - 2j) ** z + z.pow(x)).sum(),
    "reciprocal_square": lambda m, z, w, x: m.view_as_real(z.reciprocal() * w.square() + m.reciprocal(w)).sum(),
    "tan_inverse_trig": lambda m, z, w, x: m.view_as_real(z.tan() * w + m.tan(w * 0.3) + m.asin(z) * 0.5 + w.acos()
                                                          + m.atan(z * w) + z.asinh() * w + m.acosh(w) + z.atanh()
                                                          + m.arcsin(x * 0.3 + 0j) + m.acosh(x - 2 + 0j)).sum(),
    "exp2_log2_log10_rsqrt": lambda m, z, w, x: m.view_as_real(
        z.exp2() * w + m.exp2(x * 1j) + m.log2(z) + w.log10() * z + z.rsqrt() + m.rsqrt(w * 2) + m.log10(x * x + 1j)
    ).sum(),
    "true_divide_rsub": lambda m, z, w, x: m.view_as_real(m.true_divide(z, w) + z.true_divide(x + 2) + m.rsub(z, w)
                                                          + m.rsub(w, z, alpha=2) + m.rsub(z, 1 - 2j)).sum(),
    "gather_scatter": _gather_scatter_loss,
    "addcmul_addcdiv_lerp": _addc_lerp_loss,
    # (complex convolutions: three real ones, as torch's)
    "conv": lambda m, z, w, x: m.view_as_real(
        m.nn.functional.conv1d(m.stack([z, w * 2]), m.stack([w[:2], z[1:]])[:, None], w[1:], padding=1, groups=2) ** 2
    ).sum()
    + m.view_as_real(m.nn.functional.conv2d(m.outer(z, w)[None, None], m.outer(w, x + 1j)[None, None, :2, 1:],
                                            stride=(1, 2), padding="valid") * (1 - 2j)).sum()
    + m.view_as_real(m.nn.functional.conv3d(m.outer(z, w)[None, None, None], m.outer(w, z)[None, None, None, 1:],
                                            z[:1], dilation=(1, 2, 1)) ** 2).sum(),
    "sgn": lambda m, z, w, x: m.view_as_real(z.sgn() * w + m.sgn(z * w)).sum(),
    "where_tril": lambda m, z, w, x: m.view_as_real(m.where(x > 0, z, w) + z.masked_fill(x < 0, 1j).sum()
                                                    + m.outer(z, w).tril().sum(0) - m.outer(w, z).triu(1)[0]).sum(),
    "adjoint": lambda m, z, w, x: m.view_as_real(m.outer(z, w).mH @ z + m.outer(w, x * 1j).adjoint()[1]
                                                 + m.outer(w, z).H[0] + m.outer(z, z).mT[2]).sum(),
    # shapes, indexing and running sums
    "cat_stack": lambda m, z, w, x: m.view_as_real(m.cat([z, w, x]) * m.cat([w, x * 1j, z]).flip(0)
                                                   + m.cat([m.stack([z, w], 1).reshape(-1), x])
                                                   + m.stack([x, z])[1].repeat(3)).sum(),
    "split_chunk": lambda m, z, w, x: m.view_as_real(m.cat(m.outer(z, w).split([1, 2], 1), 1).sum(1)
                                                     + m.cat(w.chunk(2) + z.split(2)[::-1])[1:4]).sum(),
    "roll_flip": lambda m, z, w, x: m.view_as_real(z.roll(1) * w + m.outer(z, w).roll((1, -1), (0, 1))[0]
                                                   + m.flip(z, [0]) + m.outer(w, z).fliplr()[1]).sum(),
    "diagonal_trace": lambda m, z, w, x: m.view_as_real(m.outer(z, w).diagonal(1).sum() + m.outer(w, z).trace()
                                                        + m.diag(z)[1] + m.outer(z, x + 0j).diagonal()).sum(),
    "cumsum": lambda m, z, w, x: m.view_as_real(z.cumsum(0) * w + m.cumsum(m.outer(w, z), 1)[1]).sum(),
    "logsumexp": lambda m, z, w, x: m.view_as_real(m.logsumexp(m.outer(z, w), 1) + (z * 3).logsumexp(0)
                                                   + m.outer(w, z + x).logsumexp((0, 1), keepdim=True)[0]).sum(),
    "logcumsumexp": lambda m, z, w, x: m.view_as_real(m.logcumsumexp(m.outer(z, w) * 2, 1)[1] + (z * 3j).logcumsumexp(0)
                                                      + m.logcumsumexp(m.outer(w, x + 0j), 0)[2]).sum(),
    "logaddexp": lambda m, z, w, x: m.view_as_real(m.logaddexp(z, w * 3) + (z * 2j).logaddexp(w)
                                                   + m.logaddexp(x + 0j, w)).sum(),
    "cumprod": lambda m, z, w, x: m.view_as_real(z.cumprod(0) * w + m.cumprod(m.outer(w, z), 1)[1]
                                                 + m.cumprod(m.cat([z[:1] * 0, w[1:]]), 0)).sum(),
    "vander": lambda m, z, w, x: m.view_as_real(m.linalg.vander(z, N=3).sum(0) * w[0] + m.linalg.vander(
        m.stack([z, w]))[1, 2]).sum(),
    "prod": lambda m, z, w, x: m.view_as_real(z.prod() * w + m.prod(m.outer(w, z), 1) + m.outer(z, w).prod(0, True)[0]
                                              + m.cat([z[:1] * 0, w]).prod()).sum(),
    "index": lambda m, z, w, x: m.view_as_real(m.outer(z, w)[[2, 0], 1:].sum(0) + m.outer(z, w)[x > 0].sum()
                                               + z.unbind(0)[1] * w.narrow(0, 1, 2) + m.outer(w, z).select(1, 2)[:2]
                                               + m.conj_physical(z)[::2]).sum(),
    # reductions with real results (var, std: sum |z - mean|^2; norms: of |z|)
    "var_std": lambda m, z, w, x: (z * w).var() + m.outer(z, w).var(1, keepdim=True).sum() + z.std(correction=0)
    + m.outer(w, z).std(0).sum() + m.var_mean(z)[0] * 2 + m.view_as_real(m.std_mean(w)[1]).sum(),
    "norms": lambda m, z, w, x: z.norm() + (z * w).norm(1) + w.norm(float("inf")) + m.outer(z, w).norm(dim=1).sum()
    + m.linalg.vector_norm(z, 3) + m.linalg.vector_norm(m.outer(w, z), 0.5, dim=0).sum() + m.linalg.norm(z * w)
    + m.linalg.norm(m.outer(z, w)) + m.linalg.norm(m.outer(w, z), 1) + m.linalg.norm(m.outer(z, w), float("-inf"))
    + m.linalg.matrix_norm(m.outer(z, w) + 1) + m.linalg.norm(m.outer(z, w), 2, dim=1).sum()
    + m.linalg.vector_norm(z * w, 1.5, dtype=m.complex128)
    + m.linalg.matrix_norm(m.outer(w, z), "nuc", dtype=m.cdouble),
    # linear algebra (gradients with conjugate transposes)
    "inv_det_solve": lambda m, z, w, x: m.view_as_real(m.linalg.inv(m.outer(z, w) + m.diag(x + 4 + 0j))[1]
                                                       + m.linalg.det(m.outer(w, z) + m.diag(z + 3))
                                                       + m.linalg.solve(m.outer(z, z) + m.diag(w + 4), w)
                                                       + m.linalg.solve(m.outer(w, w) + m.diag(x + 5 + 0j),
                                                                        m.outer(z, w), left=False)[0]
                                                       + m.inverse(m.outer(w, z) + m.diag(z + 3))[2]
                                                       + m.det(m.outer(z, w) + m.diag(x + 4 + 0j))).sum(),
    "linear": lambda m, z, w, x: m.view_as_real(m.nn.functional.linear(m.outer(z, w)[:2], m.outer(w, x + 1j), z)
                                                + m.nn.functional.linear(w, m.outer(z, z))).sum(),
    "svdvals": lambda m, z, w, x: (m.linalg.svdvals(m.outer(z, w) + m.diag(x + 4 + 0j)) * m.linalg.svdvals(
        m.stack([z, w]))[0]).sum() + m.linalg.svdvals(m.stack([w, z * 2]).mT[None])[0, 1]
    + m.linalg.matrix_norm(m.outer(z, w) + m.diag(x + 4 + 0j), "nuc") + m.linalg.norm(m.outer(w, z) + m.diag(z + 3), 2)
    + m.linalg.norm(m.outer(w, w) + m.diag(z + 4), -2) + (m.outer(z, z) + m.diag(w + 4)).norm("nuc"),
    "eigvalsh": lambda m, z, w, x: (m.linalg.eigvalsh(m.outer(z, z.conj()) + m.outer(w * 1j, w.conj()) + m.outer(
        w, -1j * w.conj()) + m.diag(x + 0j)) * m.linalg.eigh(m.outer(z, w) + m.outer(z, w).mH + 3, "U")[0]).sum(),
    "svd": lambda m, z, w, x: _svd_loss(m, m.outer(z, w) + m.diag(x * 2 + 6 + 0j), False)
    + _svd_loss(m, m.outer(w, z) + m.diag(x + 4 + 0j), True) + _svd_loss(m, m.stack([z, w * 2]), False)
    + _svd_loss(m, m.stack([w, z * 2]), True) + _svd_loss(m, m.stack([w, z * 2]).mT[None], False)
    + (lambda usv: m.view_as_real(usv[0] @ usv[2].mH).sum() + usv[1].sum())(m.svd(m.stack([z, w * 2]).mT)),
    "qr": lambda m, z, w, x: sum(
        m.view_as_real(q * (1.5 + 0.5j) + q ** 2).sum() + (r.abs() ** 2).sum() + m.view_as_real(r * (1 - 2j)).sum()
        for q, r in (m.linalg.qr(m.outer(z, w) + m.diag(x + 4 + 0j)), m.linalg.qr(m.stack([z, w * 2])),
                     m.linalg.qr(m.stack([w, z]), "complete"), m.linalg.qr(m.stack([w, z * 2]).mT[None]),
                     m.qr(m.outer(w, z) + m.diag(z + 3)))),
    "cholesky": _cholesky_loss,
    "eigh_vectors": lambda m, z, w, x: (lambda lv, lv2: (lv[1].abs() ** 3).sum() + (lv[0] * lv[0]).sum()
                                        + m.view_as_real((lv[1] * lv[0]) @ lv[1].mH * (1 - 1j)).sum()
                                        + (lv2[1][..., :1, :].abs() * lv2[0]).sum())(
        m.linalg.eigh(_hermitian(m, z, w, x)), m.linalg.eigh(m.outer(z, w) + m.outer(z, w).mH + m.diag(x * 3), "U")),
    "slogdet_logdet": lambda m, z, w, x: (lambda sl, sl2: sl[1] + m.view_as_real(sl[0] * (1 - 2j) * sl[1]).sum()
                                          + m.view_as_real(sl2[0] * (0.5 + 1j)).sum() + sl2[1].sum())(
        m.linalg.slogdet(m.outer(z, w) + m.diag(x + 4 + 0j)),
        m.slogdet(m.stack([m.outer(w, z), m.outer(z, z)]) + m.diag(w * 1j + 3)))
    + m.view_as_real(m.logdet(m.outer(w, z) + m.diag(z + 3)) * (2 - 1j)).sum(),
    "solve_triangular": lambda m, z, w, x: m.view_as_real(
        m.linalg.solve_triangular(m.outer(z, w) + m.diag(x + 4 + 0j), m.outer(w, z)[:, :2], upper=True) * (1 + 1j)
        + m.linalg.solve_triangular(m.outer(z, z) + 3, m.outer(z, w)[:, 1:], upper=False, unitriangular=True)
        + m.linalg.solve_triangular(m.outer(w, z) + m.diag(w + 4), m.stack([z, w]), upper=False, left=False).mT
        + m.triangular_solve(m.outer(w, x + 1j)[:, :2], m.outer(z, w) + m.diag(x + 4 + 0j), transpose=True)[0] ** 2
        ).sum(),
    "lu": _lu_loss,
    "pinv_lstsq": _pinv_lstsq_loss,
    "linalg_products": lambda m, z, w, x: m.view_as_real(
        m.linalg.multi_dot([m.outer(z, w), m.outer(w, z) * 2, z]) + m.chain_matmul(m.outer(z, w), m.outer(w, x + 1j))[1]
        + m.linalg.diagonal(m.outer(z, w) @ m.outer(w, z)) * (1 - 1j) + m.linalg.vecdot(z, w)
        + m.linalg.vecdot(m.outer(z, w), m.outer(w, z) * (1 + 2j), dim=0) + m.linalg.cross(z, w) * (2 + 1j)
        + m.cross(m.outer(z, w), m.outer(w, x + 1j), dim=0)[1]
        + m.linalg.tensorinv(m.outer(z, w) + m.diag(x + 4 + 0j), 1)[0] * (0.5 + 1j)
        + m.linalg.tensorsolve(m.outer(w, z) + m.diag(z + 3), w) ** 2
        + m.linalg.householder_product(m.stack([z, w]).mT, w[:2])[:, 1]
        + m.linalg.inv_ex(m.outer(z, w) + m.diag(x + 4 + 0j))[0][2]
        + m.linalg.solve_ex(m.outer(w, z) + m.diag(z + 3), m.outer(z, w))[0][0]).sum()
    + m.view_as_real(m.linalg.vander(z * 0.5) * (1 - 1j) + m.linalg.vander(m.stack([w, z]) * 0.5, N=4)[1, :, 1:]).sum(),
    "norm_forms": lambda m, z, w, x: m.nuclear_norm(m.outer(z, w) + m.diag(x + 4 + 0j))
    + m.frobenius_norm(m.outer(w, z), (0, 1)) + m.view_as_real(m.linalg.matmul(m.outer(z, w), w)).sum()
    + m.nuclear_norm(m.stack([m.outer(z, z) + m.diag(w + 3), m.outer(w, z) + m.diag(x + 4 + 0j)]), (1, 2)).sum(),
    "matrix_exp_power": lambda m, z, w, x: m.view_as_real(
        m.linalg.matrix_exp(m.outer(z, w) * 0.3) * (1 - 1j)
        + m.matrix_exp(m.stack([m.outer(w, z) * 0.3, m.diag(z)])).sum(0)
        + m.linalg.matrix_power(m.outer(z, w) + m.diag(x + 4 + 0j), -2) + m.matrix_power(m.outer(w, z), 0)
        + m.linalg.matrix_power((m.outer(z, z) + m.diag(w)) * 0.5, 3) * (0.5 + 1j)).sum(),
    # products (vdot conjugates its first argument, as torch's)
    "products": lambda m, z, w, x: m.view_as_real(m.vdot(z, w) + m.dot(z, w) + m.inner(w, z) + m.outer(z, w)[1]
                                                  + m.einsum("i,j->ij", z, w)[2] + m.einsum("i,i->", z, w)
                                                  + m.kron(z, w)[2:5] + m.bmm(m.outer(z, w)[None],
                                                                              m.outer(w, x + 0j)[None])[0, 1]).sum(),
    # the in-place forms of the audited ops
    "in_place": _in_place_chain,
    # writes through a diagonal view (torch's CopySlices: diagonal_scatter), views alive; diagonal_scatter itself
    "diagonal_view_writes": lambda m, z, w, x: _diagonal_writes(m, z, w, x),
    # cdouble, the *_copy views (torch's view_as_complex_copy has no gradient: its view_as_complex stands for it)
    "cdouble_copies": lambda m, z, w, x: m.view_as_real(
        (m.view_as_complex_copy if m is tg else m.view_as_complex)(m.view_as_real_copy(z * w) * 2) * x.cdouble()
        + (x * x).cdouble() * w.cdouble()).sum(),
}


def _diagonal_writes(m, z, w, x):
    y = m.outer(z, w) * 1
    seen, row = y.diagonal(), y[1]
    seen.mul_(w)
    y.diagonal(1).add_(z[:2] * (1 - 2j))
    y.t().diagonal(-1)[1:].copy_(w[:1] * x[:1])
    y.diagonal().mul_(0.1).sin_()  # (scaled: a complex sin grows as e^|Im|, past what differences resolve)
    y.mul_(0.5 + 1j)
    out = y + m.diagonal_scatter(m.outer(w, z), z * w, 0) + m.diagonal_scatter(y * 1, z[1:], -1)
    return m.view_as_real(out).sum() + (seen * seen).abs().sum() + m.view_as_real(row * z).sum()


def _leaves(device, rng):
    z = _z(device, rng.standard_normal(3) + 1j * rng.standard_normal(3))
    w = _z(device, rng.standard_normal(3) + 1j * rng.standard_normal(3) + 0.5)
    x = tg.tensor(rng.standard_normal(3), dtype=tg.float64, device=device, requires_grad=True)
    return z, w, x


@pytest.mark.filterwarnings("ignore:.*(is deprecated|deprecated in favor):UserWarning")  # (torch's old forms: lu, qr...)
@pytest.mark.parametrize("case", sorted(_CASES))
def test_complex_ops_match_torch(case, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z, w, x = _leaves(device, rng)
    zt, wt, xt = (torch.tensor(t.numpy(), requires_grad=True) for t in (z, w, x))
    out, ref = _CASES[case](tg, z, w, x), _CASES[case](torch, zt, wt, xt)
    out.backward()
    ref.backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    for t, r in ((z, zt), (w, wt), (x, xt)):
        if r.grad is None:
            assert t.grad is None or np.all(t.grad.numpy() == 0)
        else:
            rg = r.grad.resolve_conj().numpy()
            assert t.grad.dtype == rg.dtype
            np.testing.assert_allclose(t.grad.numpy(), rg, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", sorted(_CASES))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_complex_gradients_match_central_differences(case, seed, device):
    """z.grad = dL/dx + i dL/dy for z = x + iy (torch's convention), each part against a central difference."""
    rng = np.random.default_rng(seed)
    z, w, x = _leaves(device, rng)
    f = _CASES[case]
    with np.errstate(over="ignore", invalid="ignore"):
        value = f(tg, z, w, x)
    assume(np.isfinite(value.item()))  # (a draw where the function overflows to nan, torch's too: nothing to compare)
    value.backward()
    h = 1e-6
    for leaf in (z, w, x):
        base = leaf.detach().numpy().copy()
        got = np.zeros_like(base) if leaf.grad is None else leaf.grad.numpy()
        steps = (1, 1j) if base.dtype.kind == "c" else (1,)
        for k in range(base.size):
            for step in steps:
                vals = []
                for sign in (1, -1):
                    v = base.copy()
                    v[k] += sign * h * step
                    args = [tg.tensor(v, device=device) if t is leaf else t.detach() for t in (z, w, x)]
                    vals.append(float(f(tg, *args).item()))
                fd = (vals[0] - vals[1]) / (2 * h)
                part = got[k].real if step == 1 else got[k].imag
                assert abs(part - fd) <= 1e-5 * max(1, abs(fd)), (case, k, step, part, fd)


def test_lerp_complex_weight_of_real_tensors_as_torchs(device):
    """A complex number weight with real input and end is refused, as torch's; a 0-d complex tensor weight promotes
    them to complex, as torch's (a 0-d tensor of a higher category wins: float64 ones and a complex64 0-d weight
    give complex128, as float64 + tensor(1j) does; result_dtype gave complex64, the 0-d one's own dtype)."""
    torch = pytest.importorskip("torch")
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device)
    with pytest.raises(RuntimeError, match="lerp: value cannot be converted to type torch.float64"):
        tg.lerp(x, x * 2, 0.3j)
    got = tg.lerp(x, x * 2, tg.tensor(0.3j, device=device))
    ref = torch.lerp(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([2.0, 4.0], dtype=torch.float64),
                     torch.tensor(0.3j))
    assert str(ref.dtype).endswith(str(got.dtype))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-15)
    for m in (tg, torch):
        ones = m.ones(2, dtype=m.float32)
        assert str(m.addcmul(ones, ones, m.tensor(1j, dtype=m.complex128)).dtype).endswith("complex64")
        assert str(m.addcmul(ones.double(), ones.double(), m.tensor(1j)).dtype).endswith("complex128")


def test_complex_index_add_alpha_gradient_is_conjugated(device):
    """index_add's source gradient with a complex alpha is g conj(alpha), as alpha * source's (mul's): torch 2.13's
    index_add passes g alpha (not conjugated, against its own convention and a central difference); compared here
    with torch's index_add of alpha * source, and with central differences."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    zs, ws = (rng.standard_normal(3) + 1j * rng.standard_normal(3) for _ in range(2))
    c = np.array([1 - 2j, 0.5 + 1j, 2j])

    def loss(z, w):
        return (z.index_add(0, tg.tensor([2, 0], device=device), w[:2], alpha=1 - 1j) * tg.tensor(c, device=device)
                ).real.sum()
    z, w = tg.tensor(zs, device=device, requires_grad=True), tg.tensor(ws, device=device, requires_grad=True)
    loss(z, w).backward()
    zt, wt = torch.tensor(zs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    (zt.index_add(0, torch.tensor([2, 0]), wt[:2] * (1 - 1j)) * torch.tensor(c)).real.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    h = 1e-6
    for k in range(2):
        for step in (1, 1j):
            v = [ws.copy(), ws.copy()]
            v[0][k] += h * step
            v[1][k] -= h * step
            fd = (loss(tg.tensor(zs, device=device), tg.tensor(v[0], device=device)).item()
                  - loss(tg.tensor(zs, device=device), tg.tensor(v[1], device=device)).item()) / (2 * h)
            part = w.grad.numpy()[k].real if step == 1 else w.grad.numpy()[k].imag
            assert abs(part - fd) < 1e-6


def test_complex_eye_and_linspace_match_torch(device):
    """eye of a complex dtype, and linspace with complex ends (complex64 under the default float32, as torch's) or a
    complex dtype: torch's values (to rounding: torch's vectorised kernel's last bit depends on the CPU); a complex
    end with a real dtype is refused as torch's. Both refused complex before."""
    torch = pytest.importorskip("torch")
    for dt in ("complex64", "complex128"):
        got = tg.eye(2, 3, dtype=getattr(tg, dt), device=device)
        assert got.dtype == getattr(tg, dt) and got.tolist() == torch.eye(2, 3, dtype=getattr(torch, dt)).tolist()
    for start, end, steps, dt in ((0, 1j, 5, None), (1 + 1j, -2 + 3j, 7, "complex128"), (0.1, 0.7, 6, "complex64"),
                                  (1 + 2j, 3, 1, None), (2.5 - 1e3j, 1e-3 + 4j, 33, "complex128"), (1j, 0, 0, None)):
        kw = {} if dt is None else {"dtype": getattr(tg, dt)}
        got = tg.linspace(start, end, steps, device=device, **kw)
        ref = torch.linspace(start, end, steps, **({} if dt is None else {"dtype": getattr(torch, dt)}))
        assert str(ref.dtype).endswith(str(got.dtype)) and got.shape == tuple(ref.shape)
        tol = 1e-15 if got.dtype == tg.complex128 else 2e-7
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=0, atol=tol * max(abs(start), abs(end)))
    assert tg.linspace(tg.tensor(1j, device=device), 2, 3, device=device).tolist() == [1j, 1 + 0.5j, 2 + 0j]
    assert tg.linspace(0, 1j, 3, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="can't be safely cast to passed dtype torch.float64"):
        tg.linspace(0, 1j, 3, dtype=tg.float64)


@pytest.mark.filterwarnings("ignore:torch.range is deprecated")
def test_complex_arange_and_range_raise_torchs_exception_type(device):
    """arange / range with a complex dtype raise a NotImplementedError (ComplexNotSupportedError), as torch's (a
    TypeError before)."""
    torch = pytest.importorskip("torch")
    for m, kw in ((tg, {"device": device}), (torch, {})):
        for dt in (m.complex64, m.complex128):
            with pytest.raises(NotImplementedError, match="arange_cpu\" not implemented for 'Complex"):
                m.arange(5, dtype=dt, **kw)
            with pytest.raises(NotImplementedError, match="range_cpu\" not implemented for 'Complex"):
                m.range(0, 2, dtype=dt, **kw)
    with pytest.raises(tg.ComplexNotSupportedError, match="arange: .*'ComplexDouble'"):
        tg.arange(0.0, 1.0, 0.5, dtype=tg.complex128, device=device)

def test_complex_norms_with_dtype_match_torch(device):
    """vector_norm / matrix_norm / norm with dtype= of a complex input: the input cast to that complex dtype (not
    narrowing), the result its real part dtype, torch's values and gradients; a real dtype or a narrowing one is
    refused with torch's messages (all were refused before)."""
    torch = pytest.importorskip("torch")
    a = np.array([[1 + 2j, 3 - 1j], [0.5j, 2 + 0j]], np.complex64)
    out = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        z = m.tensor(a, requires_grad=True, **kw)
        r = [m.linalg.vector_norm(z, dtype=m.complex128), m.linalg.matrix_norm(z, dtype=m.complex128),
             m.linalg.matrix_norm(z, "nuc", dtype=m.complex128), m.linalg.norm(z, dtype=m.complex128),
             m.linalg.vector_norm(z, 3, dim=1, dtype=m.complex128)]
        assert all(str(t.dtype).endswith("float64") for t in r)
        (r[0] + r[1] + r[2] + r[3] + r[4].sum()).backward()
        out.append([t.detach() for t in r] + [z.grad])
    for g, ref in zip(*out):
        np.testing.assert_allclose(g.numpy(), ref.numpy(), rtol=1e-6)
    z = tg.tensor(a.astype(np.complex128), device=device)
    with pytest.raises(RuntimeError, match="dtype should be complex for complex inputs, but got torch.float64"):
        tg.linalg.vector_norm(z, dtype=tg.float64)
    with pytest.raises(RuntimeError, match="should be convertible without narrowing to the specified dtype"):
        tg.linalg.matrix_norm(z, dtype=tg.complex64)


@pytest.mark.filterwarnings("ignore:.torch.jit.script. is deprecated:DeprecationWarning")  # (torch's gradcheck's own)
def test_gradcheck_and_gradgradcheck_of_complex_functions_as_torchs(device):
    """tg.autograd.gradcheck / gradgradcheck take complex128 inputs and outputs, as torch's (they refused them):
    the Wirtinger derivatives checked by perturbing each real and imaginary part; a wrong complex gradient (a hook
    conjugating it, one dropping its imaginary part) fails, as torch's; check_forward_ad too."""
    torch = pytest.importorskip("torch")
    z, x = np.array([0.3 + 0.2j, -1 + 0.5j, 0.7 - 1.1j]), np.array([0.5, -1.5, 2.0])

    def f(a, b):
        return a * a.conj() * b + a.exp() / (a + 3), (a * b).abs(), a.sin().real * b

    def conjugated(a):
        y = a.exp()
        if y.requires_grad:
            y.register_hook(lambda g: g.conj())
        return y * 2

    def real_part(a):
        y = a * a
        if y.requires_grad:
            y.register_hook(lambda g: g.real + 0j)
        return y.abs()
    for m, kw in ((tg, {"device": device}), (torch, {})):
        a, b = m.tensor(z, requires_grad=True, **kw), m.tensor(x, requires_grad=True, **kw)
        assert m.autograd.gradcheck(f, (a, b)) and m.autograd.gradgradcheck(f, (a, b))
        assert m.autograd.gradcheck(lambda t: t.conj() * 2 + t.tan(), (a,))
        assert m.autograd.gradgradcheck(lambda t: m.view_as_real(t.sin() * t.conj()), (a,))
        for bad in (conjugated, real_part):
            assert m.autograd.gradcheck(bad, (a,), raise_exception=False) is False
            with pytest.raises(Exception, match="(?i)mismatch|numeric"):
                m.autograd.gradcheck(bad, (a,))
    with pytest.raises(tg.autograd.GradcheckError, match=r"input 0 .* analytic \(.*j\) vs numeric"):
        tg.autograd.gradcheck(conjugated, (tg.tensor(z, requires_grad=True, device=device),))
    for m, kw in ((tg, {"device": device}), (torch, {})):  # (forward AD of complex: refused here before)
        a, b = m.tensor(z, requires_grad=True, **kw), m.tensor(x, requires_grad=True, **kw)
        assert m.autograd.gradcheck(f, (a, b), check_forward_ad=True)
    with pytest.raises(TypeError, match="input 0 is torch.complex64; central differences need torch.float64"):
        tg.autograd.gradcheck(lambda t: t * 2, (tg.tensor(z, dtype=tg.complex64, requires_grad=True),))


def test_complex_nan_to_num_as_torchs(device):
    """nan_to_num of a complex tensor replaces each part (the defaults the part dtype's largest values), as torch's;
    without a derivative: refused where the input requires grad, with torch's message (it was refused always)."""
    torch = pytest.importorskip("torch")
    inf, nan = float("inf"), float("nan")
    a = np.array([complex(nan, inf), complex(-inf, 1), complex(2, nan), 1 + 1j])
    for dt in (np.complex64, np.complex128):
        for kw in ({}, {"nan": 1.5, "posinf": 7.0, "neginf": -3.0}):
            got = tg.nan_to_num(tg.tensor(a.astype(dt), device=device), **kw)
            assert got.dtype == dt
            np.testing.assert_array_equal(got.numpy(), torch.nan_to_num(torch.tensor(a.astype(dt)), **kw).numpy())
            np.testing.assert_array_equal(tg.tensor(a.astype(dt), device=device).nan_to_num_(**kw).numpy(),
                                          got.numpy())
    z = tg.tensor(a, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="nan_to_num does not support automatic differentiation for outputs with "
                                           "complex dtype"):
        z.nan_to_num()
    with tg.no_grad():
        assert tg.nan_to_num(z, posinf=2.0).tolist()[0] == 2j


def test_complex_conv_modules_as_torchs(device):
    """nn.Conv1d / Conv2d / Conv3d(dtype=complex), as torch's (refused before): kaiming_uniform_ fills each part of
    the weight U(-b, b), b = 1 / sqrt(fan_in); forward (a padding_mode too) with torch's values and gradients."""
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    m = tg.nn.Conv2d(8, 30, 5, dtype=tg.complex64, device=device)
    assert m.weight.dtype == tg.complex64 == m.bias.dtype
    for part in (m.weight.real, m.weight.imag):
        assert abs(part).max().item() <= 1 / 200 ** 0.5 and abs(part).max().item() > 0.99 / 200 ** 0.5
    rng = np.random.default_rng(6)
    for cls, shape, extra in (("Conv1d", (2, 4, 7), {}), ("Conv2d", (2, 4, 5, 6), {"padding_mode": "circular",
                                                                                   "padding": 1}),
                              ("Conv3d", (1, 4, 3, 4, 4), {"groups": 2, "stride": (1, 2, 1)})):
        x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        ref = getattr(torch.nn, cls)(4, 6, 2, dtype=torch.complex128, **extra)
        mod = getattr(tg.nn, cls)(4, 6, 2, dtype=tg.complex128, device=device, **extra)
        mod.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
        outs = []
        for mo, lib, kw in ((mod, tg, {"device": device}), (ref, torch, {})):
            xs = lib.tensor(x, requires_grad=True, **kw)
            y = mo(xs)
            (y.abs() ** 2).sum().backward()
            outs.append([y.detach(), xs.grad, mo.weight.grad, mo.bias.grad])
        for a, b in zip(*outs):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


# conv_transpose{nd}d options (stride, padding, output_padding, groups, dilation), input (C=4) and weight (4, 3, k)
_CONV_T = [(1, dict(stride=2, padding=1, output_padding=1, groups=2)), (1, dict(dilation=2)),
           (2, dict(stride=(2, 1), padding=(0, 1), groups=1, dilation=(1, 2))), (3, dict(stride=2, groups=4))]


@pytest.mark.parametrize("nd, options", _CONV_T)
def test_complex_conv_transpose_matches_torch(nd, options, device):
    """F.conv_transpose1d / 2d / 3d with complex input, weight and bias (refused before): torch's values and
    gradients in complex128, batched and unbatched."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(nd)
    g = options.get("groups", 1)
    shapes = ((2, 4) + (3,) * nd, (4, 6 // g if g < 4 else 2) + (2,) * nd)
    xs, ws = (rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in shapes)
    bs = rng.standard_normal(ws.shape[1] * g) + 1j * rng.standard_normal(ws.shape[1] * g)
    for batch in (slice(None), 0):
        outs = []
        for m, kw in ((tg, {"device": device}), (torch, {})):
            x, w, b = (m.tensor(a, requires_grad=True, **kw) for a in (xs[batch], ws, bs))
            y = getattr(m.nn.functional, f"conv_transpose{nd}d")(x, w, b, **options)
            m.view_as_real(y * (0.5 - 1j) + y * y.conj()).sum().backward()
            outs.append([y.detach(), x.grad, w.grad, b.grad])
        for a, r in zip(*outs):
            np.testing.assert_allclose(a.numpy(), r.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nd, options", _CONV_T)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_complex_conv_transpose_gradcheck(nd, options, seed, device):
    """conv_transpose's Wirtinger derivatives and their derivatives against central differences (gradcheck and
    gradgradcheck of complex input, weight and bias), a real input's too."""
    rng = np.random.default_rng(seed)
    g = options.get("groups", 1)
    shapes = ((1, 4) + (2,) * nd, (4, 6 // g if g < 4 else 1) + (2,) * nd)
    xs, ws = (rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in shapes)
    bs = rng.standard_normal(ws.shape[1] * g) + 1j * rng.standard_normal(ws.shape[1] * g)
    x, w, b = (tg.tensor(a, requires_grad=True, device=device) for a in (xs, ws, bs))
    f = getattr(tg.nn.functional, f"conv_transpose{nd}d")
    assert tg.autograd.gradcheck(lambda *t: f(*t, **options), (x, w, b))
    if nd < 3:
        assert tg.autograd.gradgradcheck(lambda *t: f(*t, **options), (x, w, b))
    r = tg.tensor(xs.real, requires_grad=True, device=device)
    assert tg.autograd.gradcheck(lambda a, c: f(a.cdouble(), c, **options).abs(), (r, w))


def test_complex_conv_transpose_modules_as_torchs(device):
    """nn.ConvTranspose1d / 2d / 3d(dtype=complex), as torch's (refused before): each part of the weight U(-b, b),
    b = 1 / sqrt(out_channels / groups * prod(kernel_size)); forward (output_size too) with torch's values and
    gradients."""
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    m = tg.nn.ConvTranspose2d(8, 30, 5, dtype=tg.complex64, device=device)
    assert m.weight.dtype == tg.complex64 == m.bias.dtype
    for part in (m.weight.real, m.weight.imag):
        assert 0.99 / 750 ** 0.5 < abs(part).max().item() <= 1 / 750 ** 0.5
    rng = np.random.default_rng(7)
    for cls, shape, extra, size in (("ConvTranspose1d", (2, 4, 5), {"stride": 2}, [11]),
                                    ("ConvTranspose2d", (4, 3, 4), {"padding": 1, "groups": 2}, None),
                                    ("ConvTranspose3d", (1, 4, 2, 3, 2), {"stride": (1, 2, 1)}, None)):
        x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        ref = getattr(torch.nn, cls)(4, 6, 2, dtype=torch.complex128, **extra)
        mod = getattr(tg.nn, cls)(4, 6, 2, dtype=tg.complex128, device=device, **extra)
        mod.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
        outs = []
        for mo, lib, kw in ((mod, tg, {"device": device}), (ref, torch, {})):
            xs = lib.tensor(x, requires_grad=True, **kw)
            y = mo(xs, size)
            (y.abs() ** 2).sum().backward()
            outs.append([y.detach(), xs.grad, mo.weight.grad, mo.bias.grad])
        for a, b in zip(*outs):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def _custom_functions(m):
    """torch-style autograd Functions on complex tensors (module m: tg or torch), backward in the conjugate
    Wirtinger convention: a holomorphic f's gradient g conj(f'(z)), an antiholomorphic one's conj(g) df/dconj(z)."""

    class MulConjExp(m.autograd.Function):  # z conj(w) + exp(z); saves an output, backward in Tensor ops
        @staticmethod
        def forward(ctx, z, w):
            out = z * w.conj() + z.exp()
            ctx.save_for_backward(z, w, out)
            return out

        @staticmethod
        def backward(ctx, g):
            z, w, out = ctx.saved_tensors
            return g * (w + (out - z * w.conj()).conj()), g.conj() * z

    class SquareAbs(m.autograd.Function):  # (z^2, |z|): a complex and a real output, the new-style form
        @staticmethod
        def forward(z):
            return z * z, z.abs()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g1, g2):
            (z,) = ctx.saved_tensors
            return g1 * 2 * z.conj() + g2 * z / z.abs()

    class MulInPlace(m.autograd.Function):  # z *= w, marked dirty
        @staticmethod
        def forward(ctx, z, w):
            ctx.save_for_backward(z.clone(), w)
            z.mul_(w)
            ctx.mark_dirty(z)
            return z

        @staticmethod
        def backward(ctx, g):
            z, w = ctx.saved_tensors
            return g * w.conj(), g * z.conj()

    class SinOnArrays(m.autograd.Function):  # backward on numpy arrays: once differentiable
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z.sin()

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return m.tensor(g.numpy() * np.conj(np.cos(z.numpy())), device=g.device)

    class Rotate(m.autograd.Function):  # a real x to x (1 + 2j): the real part of the complex gradient
        @staticmethod
        def forward(ctx, x):
            return x * (1 + 2j)

        @staticmethod
        def backward(ctx, g):
            return (g * (1 - 2j)).real

    return MulConjExp, SquareAbs, MulInPlace, SinOnArrays, Rotate


def test_custom_autograd_function_with_complex_tensors_matches_torch(device):
    """A torch-style autograd.Function takes and returns complex tensors (refused before), as torch's:
    save_for_backward (an output too), setup_context, several outputs, mark_dirty, once_differentiable, a real input
    with a complex output; values and gradients as torch's in complex128, a second order through a Tensor-op
    backward."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    zs, ws = (rng.standard_normal(3) + 1j * rng.standard_normal(3) for _ in range(2))
    xs = rng.standard_normal(3)
    outs = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        mul_conj_exp, square_abs, mul_in_place, sin_on_arrays, rotate = _custom_functions(m)
        z, w = m.tensor(zs, requires_grad=True, **kw), m.tensor(ws, requires_grad=True, **kw)
        x = m.tensor(xs, requires_grad=True, **kw)
        a = mul_conj_exp.apply(z, w)
        b, r = square_abs.apply(z)
        c = mul_in_place.apply(z * 1, w)
        d = sin_on_arrays.apply(w)
        e = rotate.apply(x)
        assert a.dtype == b.dtype == c.dtype == d.dtype == e.dtype == m.complex128 and r.dtype == m.float64
        loss = m.view_as_real(a * (1 - 0.5j) + b + c * c + d * 2j + e * w).sum() + (r ** 3).sum()
        gz, gw = m.autograd.grad(loss, (z, w), create_graph=True)
        second = m.autograd.grad(m.view_as_real(gz * gz).sum(), w, retain_graph=True)[0]
        loss.backward()
        outs.append([a, b, r, c, d, e, z.grad, w.grad, x.grad, second])
        with pytest.raises(RuntimeError, match="twice a function that was marked with @once_differentiable"):
            v = m.tensor(ws * 1j, requires_grad=True, **kw)
            g2 = m.autograd.grad(sin_on_arrays.apply(w), w, grad_outputs=v, create_graph=True)[0]
            m.view_as_real(g2).sum().backward()
    for got, ref in zip(*outs):
        np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_custom_function_complex_gradient_for_a_real_input_is_refused_as_torchs(device):
    """A backward returning a complex gradient for a real input raises a RuntimeError, as torch's validate_outputs
    does; a real gradient for a complex input becomes complex, as torch's."""
    torch = pytest.importorskip("torch")
    for m, kw in ((tg, {"device": device}), (torch, {})):
        class Wrong(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1j

            @staticmethod
            def backward(ctx, g):
                return g * -1j

        class AbsReal(m.autograd.Function):
            @staticmethod
            def forward(ctx, z):
                return z.abs()

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = m.tensor(np.array([1.0, 2.0]), requires_grad=True, **kw)
        with pytest.raises(RuntimeError, match="complex gradient .* for a real input|input_is_complex"):
            m.view_as_real(Wrong.apply(x)).sum().backward()
        z = m.tensor(np.array([1 + 1j, 2j]), requires_grad=True, **kw)
        AbsReal.apply(z).sum().backward()
        assert z.grad.dtype == m.complex128 and z.grad.tolist() == [2, 2]


def test_saved_tensors_hooks_with_complex_tensors_match_torch(device):
    """saved_tensors_hooks and save_on_cpu over complex ops and a custom complex Function (refused before: packing
    and unpacking were not registered for complex tensors): torch's gradients, to the second order."""
    torch = pytest.importorskip("torch")
    outs = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        mul_conj_exp = _custom_functions(m)[0]
        z = m.tensor(np.array([0.3 + 0.2j, -1 + 0.5j]), requires_grad=True, **kw)
        w = m.tensor(np.array([0.5 - 1j, 2 + 0.1j]), requires_grad=True, **kw)
        with m.autograd.graph.saved_tensors_hooks(lambda t: t * 1, lambda t: t):
            y = z * z.exp() + mul_conj_exp.apply(z, w)
        with m.autograd.graph.save_on_cpu():
            y = y + (w * z).sin() + mul_conj_exp.apply(w * 1, z)
        gz, = m.autograd.grad(m.view_as_real(y).sum(), z, create_graph=True)
        outs.append([gz, m.autograd.grad(m.view_as_real(gz).sum(), w)[0]])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)

@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_custom_complex_function_gradcheck(seed, device):
    """gradcheck and gradgradcheck of custom complex Functions (Wirtinger derivatives against central differences
    of each part; forward AD through a Tensor-op backward too); a backward with a wrong convention (not
    conjugated) fails, as torch's."""
    rng = np.random.default_rng(seed)
    z, w = (tg.tensor(rng.standard_normal(3) + 1j * rng.standard_normal(3), requires_grad=True, device=device)
            for _ in range(2))
    x = tg.tensor(rng.standard_normal(3), requires_grad=True, device=device)
    mul_conj_exp, square_abs, mul_in_place, sin_on_arrays, rotate = _custom_functions(tg)
    assert tg.autograd.gradcheck(mul_conj_exp.apply, (z, w), check_forward_ad=True)  # (forward AD: double vjp)
    assert tg.autograd.gradgradcheck(mul_conj_exp.apply, (z, w))
    assert tg.autograd.gradcheck(lambda a: square_abs.apply(a * 1 + 3), (z,))
    assert tg.autograd.gradcheck(lambda a, b: mul_in_place.apply(a * 1, b), (z, w))
    assert tg.autograd.gradcheck(sin_on_arrays.apply, (w,))
    assert tg.autograd.gradcheck(rotate.apply, (x,))

    class Unconjugated(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g * 2 * ctx.saved_tensors[0]
    assert tg.autograd.gradcheck(Unconjugated.apply, (z,), raise_exception=False) is False


def test_new_creators_of_a_complex_tensor_match_torch(device):
    """new_zeros / new_ones / new_full / new_empty / new_tensor of a complex tensor keep its dtype, as torch's (they
    refused it: forward AD's stand-in cotangents are made by new_zeros)."""
    torch = pytest.importorskip("torch")
    outs = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        z = m.tensor(np.array([1 + 2j, -0.5j]), **kw)
        made = [z.new_zeros(2), z.new_ones((1, 2)), z.new_full((2,), 1.5 - 1j), z.new_empty(0), z.new_tensor([2j])]
        assert all(str(t.dtype) == str(z.dtype) for t in made)
        outs.append(made)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

# forward-mode AD of complex tensors: f(m, z, w, x) of complex (3,) z and w and a float64 (3,) x; each a table row
# compared with torch.autograd.forward_ad's tangents (and torch.func.jvp's) in complex128
_FORWARD_CASES = {
    "arithmetic": lambda m, z, w, x: z * w + z / (w + 2) - z ** 2 + 1j * z - x * z + (z - w) * (0.5 - 2j) + w ** 1.5
    + (z * 0.3) ** w,
    "matmul": lambda m, z, w, x: (z.reshape(3, 1) @ w.reshape(1, 3)) @ z + m.outer(z, x.cdouble()) @ w,
    "exp_log": lambda m, z, w, x: z.exp() * (w + 3).log() + z.sqrt() + (w * w + 1).reciprocal(),
    "trig": lambda m, z, w, x: z.sin() * w.cos() + z.tanh() - w.sigmoid() + (z * 0.5).tan(),
    "parts": lambda m, z, w, x: m.stack([z.abs(), w.angle(), z.real * w.imag, (z * w.conj()).imag]) + x,
    "conj": lambda m, z, w, x: z.conj() * w + m.conj_physical(z * w) + z.sgn(),
    "reductions": lambda m, z, w, x: z.sum() * w + (z * w).mean() + (z * x).sum(0, keepdim=True),
    "views": lambda m, z, w, x: m.cat([z, w.flip(0), z[1:] * w[:2]])[None].expand(2, 8).transpose(0, 1).reshape(4, 4)
    * m.stack([z, w], 1)[1:, 0].unsqueeze(1)[:1],
    "view_as_real": lambda m, z, w, x: m.view_as_complex(m.view_as_real(z * w) * x[:2].reshape(1, 2)) + z,
    "conv": lambda m, z, w, x: m.nn.functional.conv1d(z.reshape(1, 1, 3), w.reshape(1, 1, 3), padding=1)
    + m.nn.functional.conv_transpose1d(w.reshape(1, 1, 3), z.reshape(1, 1, 3))[..., 1:4],
}


def _forward_leaves(rng):
    z, w = (rng.standard_normal(3) + 1j * rng.standard_normal(3) for _ in range(2))
    return z, w + 0.5, rng.standard_normal(3)


@pytest.mark.filterwarnings("ignore:.torch.jit.script. is deprecated:DeprecationWarning",
                            "ignore:Attempted to insert a get_attr Node:UserWarning")  # (torch.func.linearize's own)
@pytest.mark.parametrize("case", sorted(_FORWARD_CASES))
def test_complex_forward_ad_tangents_match_torch(case, device):
    """forward_ad's dual numbers and func.jvp / linearize with complex primals and tangents (refused before), each
    tangent du + i dv of the real and imaginary parts, as torch's: the tangents of the table's ops against
    torch.autograd.forward_ad's and torch.func.jvp's in complex128 (a real x with a real tangent beside them)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    primals, tangents = _forward_leaves(rng), _forward_leaves(rng)
    f = _FORWARD_CASES[case]
    results = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        fa = m.autograd.forward_ad
        with fa.dual_level():
            duals = [fa.make_dual(m.tensor(p, **kw), m.tensor(t, **kw)) for p, t in zip(primals, tangents)]
            primal, tangent = fa.unpack_dual(f(m, *duals))
        value, jvp = m.func.jvp(lambda *a: f(m, *a), tuple(m.tensor(p, **kw) for p in primals),
                                tuple(m.tensor(t, **kw) for t in tangents))
        lin = m.func.linearize(lambda *a: f(m, *a), *(m.tensor(p, **kw) for p in primals))[1](
            *(m.tensor(t, **kw) for t in tangents))
        results.append([primal, tangent, value, jvp, lin])
    for got, ref in zip(*results):
        assert str(got.dtype) == str(ref.dtype)
        np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", sorted(_FORWARD_CASES))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_complex_forward_ad_gradcheck(case, seed, device):
    """gradcheck(check_forward_ad=True) with complex inputs and outputs (refused before): the forward-mode
    derivatives (tangents 1 and i per element) against the central differences of each part, as torch's."""
    rng = np.random.default_rng(seed)
    leaves = [tg.tensor(a, requires_grad=True, device=device) for a in _forward_leaves(rng)]
    assert tg.autograd.gradcheck(lambda *a: _FORWARD_CASES[case](tg, *a), leaves, check_forward_ad=True)


def test_complex_forward_ad_of_a_real_exponent_keeps_the_imaginary_part(device):
    """The tangent of w ** x, complex w, at a real dual x is w^x log(w) tx, complex, which central differences
    confirm (gradcheck with check_forward_ad); torch 2.13's forward AD keeps only its real part (its own gradcheck
    fails there): a difference kept deliberately."""
    w = tg.tensor(np.array([0.3 + 1j, -1 + 0.5j]), device=device)
    x = tg.tensor(np.array([0.7, -1.3]), requires_grad=True, device=device)
    fa = tg.autograd.forward_ad
    with fa.dual_level():
        tangent = fa.unpack_dual(w ** fa.make_dual(x, tg.ones(2, dtype=tg.float64, device=device))).tangent
    np.testing.assert_allclose(tangent.numpy(), (w ** x * w.log()).detach().numpy(), rtol=1e-12)
    assert tg.autograd.gradcheck(lambda e: w ** e, (x,), check_forward_ad=True)


def test_complex_forward_ad_refusals_name_the_op(device):
    """Forward AD of complex tensors refuses, by name, what it cannot do: an op that takes no complex input, a
    once_differentiable Function, jacrev / jacfwd of complex inputs or outputs and a complex tangent of a real
    primal (torch's errors where it has them)."""
    torch = pytest.importorskip("torch")
    z = tg.tensor(np.array([1 + 2j, -0.5j]), device=device)
    fa = tg.autograd.forward_ad
    with fa.dual_level():
        d = fa.make_dual(z, z * 1j)
        with pytest.raises(tg.ComplexNotSupportedError, match="relu: torch.complex128"):
            fa.unpack_dual(tg.relu(d))
        sin_on_arrays = _custom_functions(tg)[3]
        with pytest.raises(RuntimeError, match="unpack_dual: .*double backward.*once_differentiable"):
            fa.unpack_dual(sin_on_arrays.apply(d))
        with pytest.raises(NotImplementedError, match="make_dual: a complex tangent .* of a real primal"):
            fa.make_dual(z.real, z)
        # (a real tangent of a complex primal is taken as complex, as torch's)
        np.testing.assert_array_equal(fa.unpack_dual(fa.make_dual(z, z.real) * 2).tangent.numpy(), [2, 0])
    for m, kw in ((tg, {"device": device}), (torch, {})):
        zc, xr = m.tensor(np.array([1 + 2j, -0.5j]), **kw), m.tensor(np.array([1.0, 2.0]), **kw)
        for jac in (m.func.jacrev, m.func.jacfwd):
            with pytest.raises(RuntimeError, match="Expected all inputs to be real but received complex tensor at "
                                                   "flattened input idx: 0"):
                jac(m.sin)(zc)
            with pytest.raises(RuntimeError, match="Expected all outputs to be real but received complex tensor"):
                jac(lambda a: a * 1j)(xr)


def test_complex_creation_dtypes_and_printing(device):
    torch = pytest.importorskip("torch")
    assert tg.cfloat is tg.complex64 and tg.cdouble is tg.complex128
    assert tg.tensor([1j]).dtype == tg.complex64 and tg.tensor(1 + 2j).dtype == tg.complex64
    z = tg.tensor([[1.5 + 2j, -3j]], device=device)
    assert repr(z) == repr(torch.tensor([[1.5 + 2j, -3j]]))
    z2 = tg.tensor([1 + 2j, 0j], dtype=tg.complex128)
    assert repr(z2) == repr(torch.tensor([1 + 2j, 0j], dtype=torch.complex128))
    assert tg.is_complex(z) and not tg.is_complex(tg.ones(2))
    assert (tg.ones(3) + tg.tensor(1j, dtype=tg.complex128)).dtype == tg.complex64  # (torch's 0-d rule)
    assert (tg.ones(3, dtype=tg.float64) + tg.ones(3, dtype=tg.complex64)).dtype == tg.complex128
    assert (tg.ones(3, dtype=tg.int64) * 1j).dtype == tg.complex64
    assert tg.zeros(2, dtype=tg.complex128).dtype == tg.complex128
    np.testing.assert_array_equal(tg.tensor([1 + 0j, 1j]).isreal().numpy(), [True, False])
    with pytest.raises(RuntimeError, match="imag"):
        tg.ones(2).imag
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        assert tg.tensor([2 + 3j]).float().tolist() == [2.0]


_REFUSED = {
    "relu": lambda z: z.relu(), "erf": lambda z: z.erf(),
    "max": lambda z: z.max(), "sort": lambda z: z.sort(), "lt": lambda z: z < z, "ge": lambda z: z >= 1,
    "argmax": lambda z: z.argmax(), "argsort": lambda z: z.argsort(), "topk": lambda z: z.topk(1),
    "clamp": lambda z: z.clamp(0, 1),
    "mse_loss": lambda z: tg.nn.functional.mse_loss(z, z), "sign": lambda z: z.sign(),
    "cummax": lambda z: z.cummax(0),
    "softmax": lambda z: tg.softmax(z, 0),
    "searchsorted": lambda z: tg.searchsorted(z, z), "long": lambda z: z.long(),
}


@pytest.mark.filterwarnings("ignore:Casting complex values to real")  # (numpy's, inside an op before it is refused)
@pytest.mark.parametrize("op", sorted(_REFUSED))
def test_unaudited_ops_refuse_complex(op, device):
    """The safety rule: an op not made right for complex tensors raises, naming itself and the dtype, rather than
    give a wrong value or gradient (numpy would order complex numbers lexicographically, drop imaginary parts...)."""
    z = tg.tensor([1 + 2j, -1j, 3 + 0j], dtype=tg.complex128, device=device, requires_grad=True)
    with pytest.raises(NotImplementedError, match=rf"{op}: (torch\.)?complex128 input is not supported"):
        _REFUSED[op](z)


def test_isposinf_isneginf_refuse_complex_as_torchs(device):
    """They answered all False for complex input (an infinite complex number has no sign); torch refuses."""
    z = tg.tensor([complex(np.inf, 0), complex(-np.inf, 1)], device=device)
    for name in ("isposinf", "isneginf"):
        with pytest.raises(RuntimeError, match=f"{name} does not support complex inputs"):
            getattr(z, name)()
        with pytest.raises(RuntimeError, match=f"{name} does not support complex inputs"):
            getattr(tg, name)(z)


def test_eq_ne_of_complex_and_real_operands_match_torch(device):
    """eq / ne with a real tensor, a Python number or a complex of another width promote as torch's (they raised,
    naming compare); the ordering comparisons still refuse complex operands."""
    torch = pytest.importorskip("torch")
    a = np.array([1 + 0j, 1j, 2 + 0j])
    outs = []
    for m, dev in ((tg, device), (torch, "cpu")):
        z, r = m.tensor(a, device=dev), m.tensor([1.0, 0.0, 2.0], device=dev)
        outs.append([(z == r), (r == z), (z != 1), (z == 1j), (r == 1j), m.tensor([1, 2], device=dev) == 1 + 0j,
                     z.ne(r), m.eq(r, z), z.to(m.complex64) == z, z == m.tensor(True, device=dev)])
    for got, ref in zip(*outs):
        assert got.tolist() == ref.tolist()
    with pytest.raises(NotImplementedError, match="gt: torch.complex128 input"):
        tg.tensor([1.0], device=device) > tg.tensor(a, device=device)


def test_fills_of_a_complex_value_into_a_real_tensor_are_torchs(device):
    """index_fill_ of a complex 0-d tensor into a real tensor wrote its real part (numpy's cast); torch refuses any
    complex value there, and a complex number with an imaginary part in fill_ / fill_diagonal_ (a TypeError from
    float() here before)."""
    z = tg.tensor(3 - 1j, device=device)
    x = tg.tensor([1.0, 2.0], device=device)
    for value in (z, 1j, 2 + 0j):
        with pytest.raises(RuntimeError, match="index_fill_\\(\\): Converting complex Scalar to non-complex type"):
            x.index_fill(0, tg.tensor([0], device=device), value)
    for call in (lambda: x.clone().fill_(1j), lambda: tg.zeros(2, 2, device=device).fill_diagonal_(1j),
                 lambda: tg.zeros(2, 2, device=device).fill_diagonal_(z)):
        with pytest.raises(RuntimeError, match="value cannot be converted to type torch.float32 without overflow"):
            call()
    assert x.clone().fill_(2 + 0j).tolist() == [2.0, 2.0]
    assert tg.zeros(2, 2, device=device).fill_diagonal_(2 + 0j).tolist() == [[2.0, 0.0], [0.0, 2.0]]
    w = tg.zeros(2, dtype=tg.complex64, device=device)
    assert w.index_fill_(0, tg.tensor([1], device=device), 1j).tolist() == [0j, 1j]


def test_clamp_refuses_a_complex_bound(device):
    """numpy clipped to the bound's real part (x.clamp(max=1j) gave zeros); torch refuses a complex bound."""
    for x in (tg.tensor([1.0, 2.0], device=device), tg.tensor([1, 2], device=device)):
        for call in (lambda: x.clamp(min=1.5 - 2j), lambda: x.clamp(max=1j), lambda: x.clip(0, 1j),
                     lambda: tg.clamp_min(x, np.complex128(1j)), lambda: x.clone().clamp_(max=2j)):
            with pytest.raises(RuntimeError, match="clamp: value cannot be converted to type .* complex"):
                call()


def test_complex_second_order_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    z, w, x = _leaves("cpu", rng)
    zt, wt, xt = (torch.tensor(t.numpy(), requires_grad=True) for t in (z, w, x))
    outs = []
    for m, a, b, c in ((tg, z, w, x), (torch, zt, wt, xt)):
        loss = (a * b / (a + 2)).abs().sum() + (a * c).angle().sum()
        (ga,) = m.autograd.grad(loss, (a,), create_graph=True)
        outs.append(m.autograd.grad(m.view_as_real(ga * b).sum(), (a, b, c)))
    for got, ref in zip(*outs):
        np.testing.assert_allclose(got.numpy(), ref.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)


def test_complex_loss_needs_a_gradient():
    z = tg.tensor([1 + 2j], dtype=tg.complex128, requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        z.sum().backward()
    z.sum().backward(tg.tensor(1 - 1j, dtype=tg.complex128))
    assert z.grad.tolist() == [1 - 1j]
    assert tg.from_numpy(np.array([1j])).dtype == tg.complex128


def test_composed_op_of_audited_primitives_is_refused():
    """A function of this package made of complex-ready primitives is still refused until it is audited itself
    (complex_check walks the stack), so x * conj-less products cannot give a silently wrong vdot or variance."""
    from tinygrad_rnn import composed
    z = tg.tensor([1 + 2j], dtype=tg.complex128)

    def unaudited(t):
        return t * t
    unaudited.__code__ = unaudited.__code__.replace(co_filename=composed.__file__)
    with pytest.raises(NotImplementedError, match="unaudited: torch.complex128"):
        unaudited(z)


def test_recorded_complex_writes_match_torch(device):
    """x[i] = v, zero_, fill_ and copy_ on a complex tensor that requires grad are recorded (setitem's node), as
    torch's: the overwritten values get no gradient, the value written gets its part (a real value the real part;
    a complex one copied into a real tensor its real part, with torch's warning). They were written unrecorded
    (z.grad [3+1j, 3+1j] where torch gives [0, 2-1j]), then refused."""
    torch = pytest.importorskip("torch")
    out = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        z = m.tensor(np.array([1 + 2j, 3 - 1j, 0.5j]), requires_grad=True, **kw)
        w = m.tensor(np.array([1 + 1j, 2j, -1]), requires_grad=True, **kw)
        r = m.tensor(np.array([1.0, 2.0, -0.5]), requires_grad=True, **kw)
        c = m.tensor(np.array([1j, 2 + 1j, 3 - 2j]), **kw)
        y = z * 1
        y[0] = 5j
        y[1:] = w[:2] * r[1:]
        y2 = z * 2
        y2.zero_()
        y3 = z * 3
        y3.copy_(w)
        y3[2] = r[0]
        y4 = r * 1
        with warnings.catch_warnings(record=True) as caught:  # (torch warns once per process: only ours is required)
            warnings.simplefilter("always")
            y4.copy_(w * z)
        assert m is torch or any("Casting complex values to real discards" in str(c.message) for c in caught)
        y5 = z * 1
        y5.copy_(r)
        loss = (y * c).real.sum() + (y2 * c).imag.sum() + (y3 * c).real.sum() + (y4 * r).sum() + (y5 * c).real.sum()
        loss.backward()
        out.append([loss.detach(), z.grad, w.grad, r.grad])
    for a, b in zip(*out):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    v = tg.tensor([1 + 2j, 3 - 1j], dtype=tg.complex128, requires_grad=True).detach().clone()
    v[0] = 5j  # (no graph: written as it is)
    assert v.tolist() == [5j, 3 - 1j]


def test_in_place_change_to_a_reshaped_or_permuted_view_of_a_complex_tensor_in_the_graph(device):
    """y.t().mul_(w), y.view(-1).mul_(w) on a complex y in the graph write through to y (torch's CopySlices), and
    a view of y made before the change (expand) is rebased on the written y, values and gradients as torch's
    (torchaudio's Griffin-Lim: tprev = rebuilt, an stft's transposed output, then tprev.mul_(momentum))."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    out = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        x = m.tensor(a, requires_grad=True, **kw)
        y = x * 1
        e = y.unsqueeze(0).expand(2, 3, 4)
        y.t().mul_(2 - 1j)
        y.view(12).mul_(1j)
        z = e * 1
        loss = y.abs().sum() + (z * z).real.sum()
        loss.backward()
        out.append([y.detach(), z.detach(), x.grad])
    for u, v in zip(*out):
        np.testing.assert_allclose(u.cpu().numpy(), v.numpy(), rtol=1e-12)


def test_in_place_forms_refuse_complex_where_torchs_do(device):
    """abs_ (a real result) refuses a complex tensor, as torch's; the in-place forms of unaudited ops name the op;
    div's rounding modes refuse complex operands as torch's; a complex result does not go into a real tensor, and a
    complex alpha scales only a complex result."""
    z = tg.tensor(np.array([1 + 2j, 3 - 1j]), device=device)
    with pytest.raises(RuntimeError, match="abs_: in-place abs is not supported for complex tensors"):
        z.clone().abs_()
    with pytest.raises(RuntimeError, match="absolute_: in-place absolute is not supported"):
        tg.tensor(np.array([1j]), device=device).absolute_()
    for name, f in (("relu", lambda t: t.relu_()), ("clamp", lambda t: t.clamp_(0, 1)),
                    ("floor", lambda t: t.floor_()), ("sign", lambda t: t.sign_())):
        with pytest.raises(tg.ComplexNotSupportedError, match=f"{name}: torch.complex128 input is not supported"):
            f(z.clone())
    for mode in ("floor", "trunc"):
        with pytest.raises(tg.ComplexNotSupportedError, match=f"div: rounding_mode='{mode}' is not supported"):
            z.clone().div_(2, rounding_mode=mode)
        with pytest.raises(tg.ComplexNotSupportedError, match="is not supported for complex"):
            z.div(2, rounding_mode=mode)
    with pytest.raises(TypeError, match="mul_: the result is torch.complex"):
        tg.ones(2, device=device).mul_(1j)
    with pytest.raises(TypeError, match="alpha must be a number"):
        tg.ones(2, device=device).add(tg.ones(2, device=device), alpha=1j)
    assert tg.abs_(tg.tensor([-1.0, 2.0], device=device)).tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(tg.conj_physical_(z.clone()).numpy(), z.numpy().conj())

def test_isclose_of_complex_tensors_matches_torch():
    """isclose cast complex inputs to the default float dtype, comparing real parts alone (1+1j, 1+2j close)."""
    torch = pytest.importorskip("torch")
    a = np.array([1 + 1j, 1 + 1j, np.nan + 0j, 2j, 1 + 1j])
    b = np.array([1 + 1.00001j, 1.1 + 1j, np.nan + 0j, 2j + 1e-9, 1 + 2j])
    for equal_nan in (False, True):
        np.testing.assert_array_equal(tg.isclose(tg.tensor(a), tg.tensor(b), equal_nan=equal_nan).numpy(),
                                      torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan).numpy())


def test_complex_conversion_and_serialization(tmp_path):
    z = tg.tensor([1 + 2j, 3 - 1j], dtype=tg.complex128, requires_grad=True)
    assert complex(z[1]) == 3 - 1j
    tg.save({"z": z}, tmp_path / "z.tg")
    back = tg.load(tmp_path / "z.tg")["z"]
    assert back.dtype == tg.complex128 and back.requires_grad and back.tolist() == z.tolist()


def test_complex_random_and_full_match_torch(device):
    """randn of a complex dtype: each part N(0, 1/2), so E|z|^2 = 1; rand: each part uniform on [0, 1); full with a
    complex fill_value: complex64 by default, as torch's."""
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    for dt, tdt in ((tg.complex64, torch.complex64), (tg.complex128, torch.complex128)):
        z, u = tg.randn(20000, 2, dtype=dt, device=device), tg.rand(20000, 2, dtype=dt, device=device)
        assert z.dtype == dt and u.dtype == dt and z.shape == (20000, 2)
        assert str(torch.randn(2, dtype=tdt).dtype).endswith(str(z.dtype))
        for part in (z.real, z.imag):
            assert abs(part.mean().item()) < 0.02 and abs(part.var().item() - 0.5) < 0.02
        for part in (u.real, u.imag):
            assert part.min().item() >= 0 and part.max().item() < 1 and abs(part.mean().item() - 0.5) < 0.02
        assert tg.randn_like(z).dtype == dt and tg.rand_like(u).dtype == dt
    assert tg.full((2,), 1 + 1j, device=device).dtype == tg.complex64 == np.dtype(str(torch.full((2,), 1 + 1j).dtype)
                                                                                    .split(".")[1])
    assert tg.full_like(tg.zeros(2, dtype=tg.complex128), 2j).tolist() == [2j, 2j]
    assert tg.full((2,), 3 + 0j, dtype=tg.float64).tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="full: value cannot be converted to type torch.float64"):
        tg.full((2,), 1 + 1j, dtype=tg.float64)
    with pytest.raises(TypeError, match="randn: samples a floating point distribution"):
        tg.randn(2, dtype=tg.int64)


@pytest.mark.parametrize("case", ["log_sqrt", "sin_cos", "tanh_sigmoid", "pow", "reciprocal_square", "sgn",
                                  "log1p_expm1_sinh_cosh", "var_std", "norms", "cumsum", "cumprod", "logsumexp",
                                  "logaddexp", "products", "inv_det_solve", "adjoint", "svd", "qr", "cholesky",
                                  "slogdet_logdet", "solve_triangular", "lu", "svdvals", "pinv_lstsq",
                                  "matrix_exp_power", "linalg_products", "norm_forms", "eigh_vectors",
                                  "tan_inverse_trig", "exp2_log2_log10_rsqrt", "true_divide_rsub", "gather_scatter",
                                  "addcmul_addcdiv_lerp", "conv"])
def test_complex_second_order_gradients_of_audited_ops_match_torch(case):
    """create_graph through the audited ops: their backwards are made of audited Tensor ops, so the gradient of a
    gradient matches torch's."""
    torch = pytest.importorskip("torch")
    z, w, x = _leaves("cpu", np.random.default_rng(2))
    zt, wt, xt = (torch.tensor(t.numpy(), requires_grad=True) for t in (z, w, x))
    outs = []
    for m, a, b, c in ((tg, z, w, x), (torch, zt, wt, xt)):
        (ga,) = m.autograd.grad(_CASES[case](m, a, b, c), (a,), create_graph=True)
        outs.append(m.autograd.grad(m.view_as_real(ga * b).sum(), (a, b, c), allow_unused=True))
    for got, ref in zip(*outs):
        if ref is None:
            assert got is None or np.all(got.numpy() == 0)
        else:
            np.testing.assert_allclose(got.numpy(), ref.resolve_conj().numpy(), rtol=1e-9, atol=1e-12)


def test_complex_casts_writes_and_equality_match_torch(device):
    """to() between complex dtypes (and real into complex: a real gradient back), setitem where nothing is recorded,
    and equality (eq, ne, equal compare both parts; ordering stays refused, as torch's)."""
    torch = pytest.importorskip("torch")
    a = np.array([1 + 2j, -1j, 3 + 0.5j])
    z = tg.tensor(a, device=device, requires_grad=True)
    x = tg.tensor(a.real, device=device, requires_grad=True)
    zt, xt = torch.tensor(a, requires_grad=True), torch.tensor(a.real, requires_grad=True)
    for m, u, r in ((tg, z, x), (torch, zt, xt)):
        v = u.to(m.complex64).to(m.complex128) * r.to(m.complex128) + r.to(m.complex64)
        m.view_as_real(v * (1 - 1j)).sum().backward()
    assert z.to(tg.complex64).dtype == tg.complex64 and x.to(tg.complex64).dtype == tg.complex64
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    assert x.grad.dtype == tg.float64
    w, wt = z.detach().clone(), zt.detach().clone()
    for t in (w, wt):
        t[0] = 5j
        t[1:] = t[1:] * 2
        t[[2]] = t[2] + 1
    assert w.tolist() == wt.tolist()
    b = tg.tensor(np.array([1 + 2j, 1j, 3 + 0.5j]), device=device)
    np.testing.assert_array_equal((z == b).numpy(), [True, False, True])
    np.testing.assert_array_equal((z != b).numpy(), [False, True, False])
    assert tg.equal(z, z.detach().clone()) and not tg.equal(z, b) and not tg.equal(z, z.conj())
    with pytest.raises(NotImplementedError, match="lt: torch.complex128"):
        z < b
    mask = tg.tensor([True, False, False], device=device)
    assert tg.zeros(3, device=device).masked_fill(mask, 2 + 0j).tolist() == [2.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="masked_fill: value cannot be converted to type torch.float32"):
        tg.zeros(3, device=device).masked_fill(mask, 1j)


def test_complex_module_state_dict_save_and_load_match_torch(device, tmp_path):
    """A module with complex parameters: state_dict (detached copies), load_state_dict (copy and assign=True, from
    another module's or torch's), tg.save / tg.load round trip, as torch's (state_dict refused them before)."""
    torch = pytest.importorskip("torch")
    m = tg.nn.Linear(3, 2, dtype=tg.complex128, device=device)
    ref = torch.nn.Linear(3, 2, dtype=torch.complex128)
    sd = m.state_dict()
    assert sd["weight"].dtype == tg.complex128 and not sd["weight"].requires_grad
    assert sorted(sd) == sorted(ref.state_dict())
    other = tg.nn.Linear(3, 2, dtype=tg.complex128, device=device)
    other.load_state_dict(sd)
    np.testing.assert_array_equal(other.weight.numpy(), m.weight.numpy())
    other.load_state_dict(ref.state_dict())
    np.testing.assert_array_equal(other.bias.numpy(), ref.bias.detach().numpy())
    other.load_state_dict(sd, assign=True)
    assert other.weight.requires_grad and other.weight.dtype == tg.complex128
    np.testing.assert_array_equal(other.weight.numpy(), m.weight.numpy())
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    np.testing.assert_array_equal(ref.weight.detach().numpy(), m.weight.numpy())
    tg.save(sd, tmp_path / "m.tg")
    back = tg.load(tmp_path / "m.tg")
    for k in sd:
        assert back[k].dtype == sd[k].dtype
        np.testing.assert_array_equal(back[k].numpy(), sd[k].numpy())


def test_complex_linear_layer_as_torchs(device):
    """nn.Linear(dtype=complex64/complex128), as torch's: each part of the weight and bias U(-k, k), k = 1/sqrt(in);
    its forward (F.linear: x W^T + b) with torch's values and gradients; uniform_ and normal_ on a complex tensor
    draw each part (normal_'s each N(mean, std^2 / 2), as torch's)."""
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    m = tg.nn.Linear(400, 300, dtype=tg.complex64, device=device)
    assert m.weight.dtype == tg.complex64 == m.bias.dtype and m.weight.requires_grad
    for part in (m.weight.real, m.weight.imag):
        assert abs(part).max().item() <= 0.05 and part.max().item() > 0.049 and abs(part.mean().item()) < 1e-3
    m = tg.nn.Linear(3, 2, dtype=tg.complex128, device=device)
    ref = torch.nn.Linear(3, 2, dtype=torch.complex128)
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = np.array([[1 + 2j, -1j, 0.5], [0.3 - 0.2j, 2, 1j]])
    xs, xt = tg.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, want = m(xs), ref(xt)
    (out * out.conj()).real.sum().backward()
    (want * want.conj()).real.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    for a, b in ((m.weight, ref.weight), (m.bias, ref.bias), (xs, xt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    z = tg.zeros(40000, dtype=tg.complex128, device=device).normal_(1.0, 2.0)
    for part in (z.real, z.imag):
        assert abs(part.mean().item() - 1) < 0.03 and abs(part.std().item() - 2 ** 0.5) < 0.03
    u = tg.zeros(40000, dtype=tg.complex64, device=device).uniform_(-2, 1)
    assert u.dtype == tg.complex64
    for part in (u.real, u.imag):
        assert part.min().item() >= -2 and part.max().item() <= 1 and abs(part.mean().item() + 0.5) < 0.03


def test_cfloat_cdouble_conj_bits_and_copy_views_match_torch(device):
    """Tensor.cfloat / cdouble (to complex64 / complex128; a real tensor's gradient the real part), tg.is_conj /
    is_neg (never set here: conj and neg are not lazy, False as torch's for a resolved tensor), resolve_conj /
    resolve_neg (the tensor itself, as torch's for one without the bit), view_as_real_copy / view_as_complex_copy
    (values and gradients as torch's; torch's view_as_complex_copy refuses autograd, this one has view_as_complex's
    gradient)."""
    torch = pytest.importorskip("torch")
    out = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        x = m.tensor(np.array([1.0, -2.0]), requires_grad=True, **kw)
        z = m.tensor(np.array([1 + 2j, 3 - 1j]), requires_grad=True, **kw)
        c = m.tensor(np.array([1j, 2 + 1j]), **kw)
        a, b = x.cfloat(), x.cdouble()
        assert str(a.dtype).endswith("complex64") and str(b.dtype).endswith("complex128")
        assert str(z.cfloat().dtype).endswith("complex64") and str(m.tensor([1, 2], **kw).cdouble().dtype).endswith(
            "complex128")
        r = m.view_as_real_copy(z * c)
        # (torch's view_as_complex_copy has no gradient; here it has view_as_complex's, which torch's stands for)
        y = (m.view_as_complex_copy(r * 2) if m is tg else m.view_as_complex(r * 2)) * c + b * c
        np.testing.assert_array_equal(m.view_as_complex_copy(r.detach()).numpy(), (z * c).detach().numpy())
        loss = m.view_as_real(y).sum() + (a * c.to(a.dtype)).real.sum().to(x.dtype)
        loss.backward()
        out.append([loss.detach(), x.grad, z.grad, r.detach()])
        for t in (x, z, z.conj()):
            assert m.is_conj(t) is (m is torch and t.is_conj()) and t.is_neg() is False and m.is_neg(t) is False
        assert m.resolve_conj(z) is z and z.resolve_neg() is z and x.resolve_conj() is x
    for a, b in zip(*out):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="is_conj: input must be a Tensor"):
        tg.is_conj([1])
    with pytest.raises(RuntimeError, match="view_as_real_copy is only supported for complex tensors"):
        tg.view_as_real_copy(tg.ones(2, device=device))


# nn pieces torch takes complex tensors in: f(module, x, y) from complex (2, 3) x and y
_NN_CASES = {
    "tanh_sigmoid": lambda m, x, y: m.nn.functional.tanh(x) + m.nn.functional.sigmoid(y) + m.nn.Tanh()(y)
    + m.nn.Sigmoid()(x),
    "softsign_tanhshrink": lambda m, x, y: m.nn.functional.softsign(x) * m.nn.functional.tanhshrink(y)
    + m.nn.Softsign()(y) + m.nn.Tanhshrink()(x),
    "normalize": lambda m, x, y: m.nn.functional.normalize(x) + m.nn.functional.normalize(y, p=1, dim=0),
    "pairwise_distance": lambda m, x, y: m.nn.functional.pairwise_distance(x, y)
    + m.nn.functional.pairwise_distance(x, y, p=1, keepdim=True)[:, 0],
    "l1_loss": lambda m, x, y: m.nn.functional.l1_loss(x, y) + m.nn.functional.l1_loss(x, y, reduction="sum")
    + m.nn.L1Loss(reduction="none")(y, x)[1],
    "pad": lambda m, x, y: m.nn.functional.pad(x, (1, 2, 0, 1), value=0.5)[:2, :3] + m.nn.functional.pad(
        y, (-1, 1)) + m.nn.ZeroPad2d(1)(x[None])[0, 1:3, 1:4] + m.nn.ConstantPad1d((2, 0), 2.0)(y)[:, :3],
    "pad_gather": lambda m, x, y: m.nn.functional.pad(x[None], (2, 1), mode="reflect")[0, :, :3]
    + m.nn.functional.pad(y[None], (2, 1), mode="circular")[0, :, 1:4]
    + m.nn.ReplicationPad1d((0, 2))(x)[:, 2:] + m.nn.ReflectionPad1d(1)(y)[:, :3],
    "flatten_index_select": lambda m, x, y: m.nn.Flatten(0)(x).reshape(2, 3) * m.nn.Unflatten(1, (3, 1))(y)[..., 0]
    + m.nn.Identity()(x) + y.index_select(1, m.tensor([2, 0, 0])),
}


@pytest.mark.parametrize("case", sorted(_NN_CASES))
def test_complex_nn_pieces_match_torch(case, device):
    """The nn functions and modules torch runs on complex tensors that are made of audited ops (tanh, sigmoid,
    softsign, tanhshrink, normalize, pairwise_distance, l1_loss, pad in every mode and the Pad modules, Flatten,
    Unflatten, Identity, index_select): torch's values and gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    xs, ys = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)) for _ in range(2))
    out = []
    for m, kw in ((tg, {"device": device}), (torch, {})):
        x, y = m.tensor(xs, requires_grad=True, **kw), m.tensor(ys, requires_grad=True, **kw)
        r = _NN_CASES[case](m, x, y)
        loss = m.view_as_real(r * (1 - 0.5j)).sum() if r.dtype == m.complex128 else (r * r).sum()
        loss.backward()
        out.append([loss.detach(), x.grad, y.grad])
    for a, b in zip(*out):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", sorted(_NN_CASES))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_complex_nn_pieces_gradients_match_central_differences(case, seed, device):
    """x.grad = dL/da + i dL/db for x = a + ib, each part against a central difference."""
    rng = np.random.default_rng(seed)
    xs, ys = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)) for _ in range(2))

    def loss(a, b):
        r = _NN_CASES[case](tg, a, b)
        return tg.view_as_real(r * (1 - 0.5j)).sum() if r.dtype == tg.complex128 else (r * r).sum()
    x, y = tg.tensor(xs, device=device, requires_grad=True), tg.tensor(ys, device=device, requires_grad=True)
    loss(x, y).backward()
    h = 1e-6
    for leaf, base, other in ((x, xs, 0), (y, ys, 1)):
        got = leaf.grad.numpy().reshape(-1)
        for k in range(base.size):
            for step in (1, 1j):
                vals = []
                for sign in (1, -1):
                    v = base.copy().reshape(-1)
                    v[k] += sign * h * step
                    pair = [tg.tensor(xs, device=device), tg.tensor(ys, device=device)]
                    pair[other] = tg.tensor(v.reshape(base.shape), device=device)
                    vals.append(float(loss(*pair).item()))
                fd = (vals[0] - vals[1]) / (2 * h)
                part = got[k].real if step == 1 else got[k].imag
                assert abs(part - fd) <= 1e-5 * max(1, abs(fd)), (case, k, step, part, fd)


def test_complex_nn_refusals_name_the_op(device):
    """The modules of unaudited ops refuse complex input naming themselves (ReLU's forward, mse_loss), as before."""
    z = tg.tensor(np.array([1j, 2 + 0j]), device=device)
    with pytest.raises(tg.ComplexNotSupportedError, match="ReLU.forward: torch.complex128"):
        tg.nn.ReLU()(z)
    with pytest.raises(tg.ComplexNotSupportedError, match="mse_loss: torch.complex128"):
        tg.nn.MSELoss()(z, z)
    with pytest.raises(tg.ComplexNotSupportedError, match="gelu: torch.complex128"):
        tg.nn.GELU()(z)


def test_module_to_a_complex_dtype_as_torchs(device):
    """Module.to(complex dtype) casts the floating and complex parameters (and their gradients) and buffers, with
    torch's warning (it refused before); integer buffers keep their dtype; an integer dtype is refused, as torch's.
    The complex module then runs forward and backward with torch's values and gradients."""
    torch = pytest.importorskip("torch")
    m = tg.nn.Sequential(tg.nn.Linear(3, 2), tg.nn.Tanh(), tg.nn.Linear(2, 1)).to(device)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    m[0].weight.grad = tg.ones(2, 3, device=device)
    for mod, lib in ((m, tg), (ref, torch)):
        with pytest.warns(UserWarning, match="Complex modules are a new feature"):
            mod.to(lib.complex128)
    assert m[0].weight.dtype == m[2].bias.dtype == m[0].weight.grad.dtype == tg.complex128
    x = np.array([[1 + 1j, 2, 3j], [0.5, -1j, 1 - 1j]])
    out = []
    for mod, lib, kw in ((m, tg, {"device": device}), (ref, torch, {})):
        mod.zero_grad()
        y = mod(lib.tensor(x, **kw))
        (y * y.conj()).real.sum().backward()
        out.append([y.detach(), mod[0].weight.grad, mod[2].bias.grad])
    for a, b in zip(*out):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    bn = tg.nn.BatchNorm1d(3)
    with pytest.warns(UserWarning):
        bn.to(tg.complex64)
    assert bn.running_mean.dtype == tg.complex64 and bn.num_batches_tracked.dtype == tg.int64
    with pytest.raises(TypeError, match="parameters must stay floating point or complex, got torch.int64"):
        tg.nn.Linear(2, 2).to(tg.int64)


def test_complex_linalg_refusals():
    """What torch refuses of complex linear algebra, refused here with its message."""
    z = tg.tensor(np.array([[1 + 2j, 0.5j], [3 - 1j, 2 + 0j]]), requires_grad=True)
    with pytest.raises(RuntimeError, match="svd_backward: The singular vectors in the complex case are specified"):
        tg.linalg.svd(z)[0].real.sum().backward()
    with pytest.raises(RuntimeError, match="linalg_eigh_backward: The eigenvectors in the complex case are"):
        tg.linalg.eigh(z + z.mH)[1].real.sum().backward()


def test_complex_lu_pivots_as_lapack(device):
    """A complex pivot is the largest in |Re| + |Im| (LAPACK's izamax), as torch's: 2+2j over 3 here."""
    torch = pytest.importorskip("torch")
    a = np.array([[3 + 0j, 1], [2 + 2j, 1j]])
    lu, piv = tg.linalg.lu_factor(tg.tensor(a, device=device))
    ref = torch.linalg.lu_factor(torch.tensor(a))
    np.testing.assert_allclose(lu.numpy(), ref.LU.numpy(), rtol=1e-15)
    assert piv.tolist() == ref.pivots.tolist() == [2, 2]


def test_complex_rank_cond_and_lstsq_fields_match_torch(device):
    """matrix_rank and cond of complex matrices, and lstsq's fields per driver: real ranks, norms, residuals and
    singular values, as torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3))
    a[1, 2] = a[1, 0] * (1 - 2j)  # (rank 2)
    at, ag = torch.tensor(a), tg.tensor(a, device=device)
    assert tg.linalg.matrix_rank(ag).tolist() == torch.linalg.matrix_rank(at).tolist() == [3, 2]
    h = a @ a.conj().swapaxes(-1, -2)
    assert tg.linalg.matrix_rank(tg.tensor(h, device=device), hermitian=True).tolist() == [3, 2]
    for p in (None, 2, -2, "nuc", "fro", 1, -1, float("inf"), float("-inf")):
        got, ref = tg.linalg.cond(ag[:1], p), torch.linalg.cond(at[:1], p)
        assert got.dtype == tg.float64
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-10)
    b = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))
    a4 = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    for driver in ("gels", "gelsy", "gelsd", "gelss"):
        got = tg.linalg.lstsq(tg.tensor(a4, device=device), tg.tensor(b, device=device), driver=driver)
        ref = torch.linalg.lstsq(torch.tensor(a4), torch.tensor(b), driver=driver)
        for g, r in zip(got, ref):
            assert g.shape == tuple(r.shape) and str(g.dtype) == str(r.dtype)
            np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-10, atol=1e-12)


def test_complex_logcumsumexp_keeps_torchs_branch(device):
    """torch accumulates a complex logcumsumexp as max + log1p(exp(min - max)) (by real part), so an imaginary part
    can leave (-pi, pi]: the same values (and gradients) here, ties, -inf, +inf and nan included; logsumexp's
    is the principal log."""
    torch = pytest.importorskip("torch")
    inf, nan = float("inf"), float("nan")
    rows = [[1 + 5j, 4j, 3 - 7j, -1 + 0j], [1 + 0j, 1 + 6j, 1 + 0j, 2 + 9j],
            [complex(-inf, 2), complex(-inf, -1), 1 + 1j, 0j], [1 + 1j, complex(nan, 0), 2j, 0j],
            [complex(inf, 1), 2j, 0j, 7j]]
    for dtype in (np.complex128, np.complex64):
        for dim in (0, 1):
            a = np.array(rows, dtype)
            a = a if dim == 1 else np.ascontiguousarray(a.T)
            got = tg.logcumsumexp(tg.tensor(a, device=device), dim)
            ref = torch.logcumsumexp(torch.tensor(a), dim)
            assert got.dtype == a.dtype
            np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, 6, 4)) * 3 + 1j * rng.standard_normal((3, 6, 4)) * 6
    w = rng.standard_normal(z.shape + (2,))
    for dim in (0, 1, -1):
        x, xt = tg.tensor(z, device=device, requires_grad=True), torch.tensor(z, requires_grad=True)
        out, ref = tg.logcumsumexp(x, dim), torch.logcumsumexp(xt, dim)
        np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        (tg.view_as_real(out) * tg.tensor(w, device=device)).sum().backward()
        (torch.view_as_real(ref) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)
    big = np.array([[3 + 5j, 4j], [1 + 0j, 1 + 6j]])
    np.testing.assert_allclose(tg.tensor(big, device=device).logsumexp(1).numpy(),
                               torch.tensor(big).logsumexp(1).numpy(), rtol=1e-12)


def test_complex_logaddexp_keeps_torchs_branch(device):
    """torch's complex logaddexp is max + log1p(exp(min - max)) by real part (the first argument the max on a tie):
    its imaginary part can leave (-pi, pi]; the same values here, ties, infinities and nan included, and the
    same gradients. logaddexp2 refuses complex input, as torch's."""
    torch = pytest.importorskip("torch")
    inf, nan = float("inf"), float("nan")
    a = np.array([1 + 5j, complex(-inf, 1), complex(-inf, 2), 3 + 0j, 1 + 1j, complex(inf, 1), complex(nan, 0), 2j])
    b = np.array([4j, 1 + 1j, complex(-inf, -1), 3 + 6j, 1 + 1j, 2j, 1j, complex(1, nan)])
    for x, y in ((a, b), (b, a)):
        got = tg.logaddexp(tg.tensor(x, device=device), tg.tensor(y, device=device)).numpy()
        np.testing.assert_array_equal(got, torch.logaddexp(torch.tensor(x), torch.tensor(y)).numpy())
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 3)) * 2 + 1j * rng.standard_normal((4, 3)) * 5
    w = rng.standard_normal(3) + 1j * rng.standard_normal(3) * 5
    zs, ws = (tg.tensor(v, device=device, requires_grad=True) for v in (z, w))
    zt, wt = (torch.tensor(v, requires_grad=True) for v in (z, w))
    out, ref = tg.logaddexp(zs, ws), torch.logaddexp(zt, wt)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-13)
    (tg.view_as_real(out) * tg.tensor([1.0, -2.0], device=device)).sum().backward()
    (torch.view_as_real(ref) * torch.tensor([1.0, -2.0])).sum().backward()
    for t, r in ((zs, zt), (ws, wt)):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.resolve_conj().numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(NotImplementedError, match="logaddexp2: torch.complex128 input is not supported"):
        tg.logaddexp2(zs, ws)


class _CupyLikeAddAt:
    """numpy, except that add.at refuses what CuPy's refuses (complex and int64 data: 'cupy.add.at only supports
    int32, float16, float32, float64, uint32, uint64'), so backend.scatter_add's way around it runs on the CPU."""

    class add:  # noqa: N801  (stands for the ufunc)
        @staticmethod
        def at(a, index, values):
            if a.dtype.kind == "c" or a.dtype == np.int64:
                raise TypeError("cupy.add.at only supports int32, float16, float32, float64, uint32, uint64")
            np.add.at(a, index, values)

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, np.int64])
def test_scatter_add_of_complex_and_int64_where_add_at_refuses_them(dtype, monkeypatch):
    """backend.scatter_add sums complex (part by part) and int64 (as uint64, the same bits) into repeated indices
    where CuPy's add.at takes neither (a complex gradient through x[[0, 0]] raised TypeError on a GPU)."""
    from tinygrad_rnn import backend
    index = (np.array([0, 2, 0, 0]),)
    values = (np.array([1 + 2j, -3j, 4, -1 - 1j]) if np.dtype(dtype).kind == "c" else
              np.array([2 ** 62, -5, 2 ** 62, -(2 ** 63) + 7])).astype(dtype)
    want = np.zeros(3, dtype)
    np.add.at(want, index, values)
    monkeypatch.setattr(backend, "xp_of", lambda *arrays: _CupyLikeAddAt())
    out = np.zeros(3, dtype)
    backend.scatter_add(out, index, values)
    np.testing.assert_array_equal(out, want)


def _fake_cupy(monkeypatch):
    """A stand-in 'cupy' whose arrays are an ndarray subclass (as test_tensor's), copied to and from the host: the
    package's CUDA-only paths (a copy where a cpu tensor's .cpu() makes none) run on the CPU. Returns the class."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        def get(self):
            return self.view(np.ndarray).copy()

    class FakeCupy:
        ndarray = FakeGPUArray

        @staticmethod
        def asarray(a):
            return np.array(a).view(FakeGPUArray)

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    monkeypatch.setattr(backend, "_cupy_checked", True)
    return FakeGPUArray


def test_save_on_cpu_moves_complex_cuda_tensors(monkeypatch):
    """save_on_cpu's hooks copy a CUDA tensor to the host and back, which a cpu tensor never does (no copy): those
    copies are made in the hooks' frames and Tensor.cpu/.cuda, which complex_check refused for a complex tensor.
    Simulated on the CPU (_fake_cupy)."""
    FakeGPUArray = _fake_cupy(monkeypatch)
    z = tg.Tensor(np.array([0.3 + 0.2j, -1 + 0.5j]).view(FakeGPUArray), requires_grad=True)
    with tg.autograd.graph.save_on_cpu():
        y = z * z  # (mul saves both inputs: packed, each copied to the host)
    assert y.device == "cuda"
    y.backward(tg.Tensor(np.array([1.0 + 0j, 1.0 + 0j]).view(FakeGPUArray)))  # (unpacked: copied back)
    assert z.grad.device == "cuda" and z.grad.dtype == tg.complex128
    np.testing.assert_allclose(z.grad.numpy(), 2 * np.conj(z.numpy()))


def test_complex_module_moves_between_devices(monkeypatch):
    """Module.cuda() / .cpu() of a complex module move its parameters, gradients and buffers, as to('cuda') does
    (their frames were not registered for complex tensors: ComplexNotSupportedError 'cuda'). Simulated on the CPU
    (_fake_cupy)."""
    FakeGPUArray = _fake_cupy(monkeypatch)
    m = tg.nn.Linear(2, 2, dtype=tg.complex128)
    m.register_buffer("b", tg.tensor([1j]))
    m(tg.tensor(np.array([[1 + 1j, -0.5j]]))).abs().sum().backward()
    grad = m.weight.grad.numpy()
    m.cuda()
    assert type(m.weight.grad.array) is FakeGPUArray and type(m.b.array) is FakeGPUArray
    assert (m.weight.device, m.weight.grad.device, m.b.device) == ("cuda", "cuda", "cuda")
    m.cpu()
    assert (m.weight.device, m.weight.grad.device, m.b.device) == ("cpu", "cpu", "cpu")
    np.testing.assert_array_equal(m.weight.grad.numpy(), grad)
