"""tg.special: torch.special's names. Most are functions defined elsewhere under their torch.special names
(expit is sigmoid, gammaln is lgamma, psi is digamma); the few torch.special adds are composed of existing ops,
so their gradients come from those ops (entr's, a small Function, is torch's formula)."""
from __future__ import annotations

import math
from typing import Any

from . import composed, ops
from .backend import xp_of
from .functions import digamma, erf, erfc, erfinv, exp2, expm1, lgamma, log1p, log_softmax, softmax
from .ops import _float_operands, _input, logsumexp, polygamma
from .tensor import Function, Tensor

__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p", "log_softmax",
           "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax",
           "xlog1py", "xlogy"]

gammaln, psi = lgamma, digamma
logit, sinc, xlogy = composed.logit, composed.sinc, composed.xlogy


def expit(input: Tensor) -> Tensor:
    """torch.special.expit: 1 / (1 + e^-x), the logistic sigmoid."""
    return _input("special.expit", input).sigmoid()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 (torch.special's name)
    """torch.special.round: input rounded to ``decimals`` places, halves to even (Tensor.round)."""
    return _input("special.round", input).round(decimals=decimals)


class Entr(Function):
    """-x ln x for x > 0, 0 at x = 0, -inf for x < 0 (entropy's summand); d/dx = -(1 + ln x), as torch's: inf at 0
    and nan below it."""

    name = "special.entr"
    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        xp = xp_of(x)
        return xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)), xp.where(x == 0, 0, -xp.inf)).astype(x.dtype)

    def backward(self, g):
        (x,) = self.saved
        return (-g * (x.log() + 1),)


def entr(input: Tensor) -> Tensor:
    """torch.special.entr: -x ln x elementwise (see Entr); integers are made the default dtype."""
    return Entr()(_input("special.entr", input)._floating())


def ndtr(input: Tensor) -> Tensor:
    """torch.special.ndtr: the standard normal CDF, erfc(-x / sqrt 2) / 2 (erfc keeps the far left tail's digits)."""
    x = _input("special.ndtr", input)._floating()
    return erfc(x * -math.sqrt(0.5)) * 0.5


def ndtri(input: Tensor) -> Tensor:
    """torch.special.ndtri: ndtr's inverse, sqrt 2 erfinv(2 p - 1): -inf at 0, inf at 1, nan outside [0, 1]."""
    p = _input("special.ndtri", input)._floating()
    return erfinv(p * 2 - 1) * math.sqrt(2)


def xlog1py(input: Any, other: Any) -> Tensor:
    """torch.special.xlog1py: input * log1p(other), 0 where input is 0 unless other is nan; gradients as torch's
    (ops.XLogY with log1p)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"special.xlog1py: one of input and other must be a Tensor, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    return ops.XLogY(log1p=True)(*_float_operands("special.xlog1py", input, other))


def multigammaln(input: Tensor, p: int) -> Tensor:
    """torch.special.multigammaln: log of the multivariate gamma function of dimension p, p (p - 1) / 4 ln pi plus
    the sum over j < p of lgamma(x - j / 2); every element must exceed (p - 1) / 2, as torch requires."""
    x = _input("special.multigammaln", input)._floating()
    p = ops.int_arg(p, "special.multigammaln", "p")
    if p < 1:
        raise ValueError(f"special.multigammaln: p must be at least 1, got {p}")
    if x.numel() and bool((x.data <= (p - 1) / 2).any()):
        raise ValueError(f"special.multigammaln: all elements must be greater than (p - 1) / 2 = {(p - 1) / 2}")
    terms = x.unsqueeze(-1) - Tensor._make(xp_of(x.data).arange(p, dtype=x.dtype) / 2)
    return terms.lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)

