"""tg.special: torch.special's names. Most are functions defined elsewhere under their torch.special names
(expit is sigmoid, gammaln is lgamma, psi is digamma); entr, ndtr, xlog1py and multigammaln are composed of
existing ops, so their gradients come from those ops (entr's, a small Function, is torch's formula). ndtri (by
erfc's inverse in the left tail), the Bessel functions I0, I1, K0, K1 (Cephes' Chebyshev expansions), erfcx and
log_ndtr (Cody's rational approximations), the Hurwitz zeta function, the regularized incomplete gamma functions,
Bessel's J0, J1, Y0, Y1 and Airy's Ai (Cephes' algorithms) and the orthogonal polynomials (torch's recurrences) are
computed here, in float64 on numpy or CuPy arrays, with torch's derivatives (written with Tensor ops, so second
order runs) and, where torch has none, its behaviour: a RuntimeError from backward, or (the modified_bessel_*
names) no graph at all."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable, Sequence, Tuple

import numpy as np

from . import backend, composed, ops
from .backend import xp_of
from .functions import digamma, erf, erfc, erfinv, exp2, expm1, lgamma, log1p, log_softmax, softmax
from .ops import _float_operands, _input, logsumexp, polygamma, zeta_array
from .tensor import Function, Tensor, _OpName, node_named

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
           "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
           "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
           "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]

gammaln, psi = lgamma, digamma
logit, sinc, xlogy = composed.logit, composed.sinc, composed.xlogy


def expit(input: Tensor) -> Tensor:
    """torch.special.expit: 1 / (1 + e^-x), the logistic sigmoid."""
    return _input("special.expit", input).sigmoid()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 (torch.special's name)
    """torch.special.round: input rounded to ``decimals`` places, halves to even (Tensor.round)."""
    return _input("special.round", input).round(decimals=decimals)


class Entr(Function):
    """-x ln x for x > 0, 0 at x = 0, -inf for x < 0, nan at nan (entropy's summand); d/dx = -(1 + ln x), as
    torch's: inf at 0 and nan below it."""

    name = "special.entr"
    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        xp = xp_of(x)
        rest = xp.where(x < 0, -xp.inf, xp.where(x == 0, 0, x))  # (nan stays nan)
        return xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)), rest).astype(x.dtype)

    def backward(self, g):
        (x,) = self.saved
        return (-g * (x.log() + 1),)


def entr(input: Tensor) -> Tensor:
    """torch.special.entr: -x ln x elementwise (see Entr); integers are made the default dtype."""
    return Entr()(_input("special.entr", input)._floating())


def ndtr(input: Tensor) -> Tensor:
    """torch.special.ndtr: the standard normal CDF, erfc(-x / sqrt 2) / 2 for |x| <= 1; beyond, q = ndtr(-|x|) =
    erfcx(|x| / sqrt 2)/2 times e^(-x^2/2) by Cody's split (ops.exp_scaled_square), q or 1 - q: x / sqrt 2 rounded
    put ~x^2 ulp into erfc (torch's is 1.8e-13 off at -36, its derivative 1e-14 at 9): within ~5e-16 of mpmath,
    the derivative too; 0 and 1 past 40."""
    x = _input("special.ndtr", input)._floating()
    far = xp_of(x.array).abs(x.array) > 1
    t = ops.where(far, x.clamp(-40.0, 40.0), 1.0)
    q = erfcx(t.abs() * math.sqrt(0.5)) * ops.exp_scaled_square(t, -0.5) * 0.5
    near = erfc(ops.where(far, 0.0, x) * -math.sqrt(0.5)) * 0.5
    return ops.where(far, ops.where(x.array < 0, q, 1 - q), near)


def ndtri(input: Tensor) -> Tensor:
    """torch.special.ndtri: ndtr's inverse (ndtri_array): -inf at 0, inf at 1, nan outside [0, 1]. d/dp =
    sqrt(2 pi) e^(y^2/2)."""
    return _unary("special.ndtri", ndtri_array, lambda p, y: (y * y / 2).exp() * math.sqrt(2 * math.pi), input)


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
    if x.numel() and bool((x.array <= (p - 1) / 2).any()):
        raise ValueError(f"special.multigammaln: all elements must be greater than (p - 1) / 2 = {(p - 1) / 2}")
    terms = x.unsqueeze(-1) - Tensor._make(xp_of(x.array).arange(p, dtype=x.dtype) / 2)
    return node_named(terms.lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi), "mvlgamma")



def _coefficients(text: str) -> Tuple[float, ...]:
    """Decimal coefficients, highest order first, as floats."""
    return tuple(float(c) for c in text.split())


# S. L. Moshier's Cephes Math Library (public domain; torch's ATen/native/Math.h carries the same tables): Chebyshev
# coefficients, highest order first, of e^-x I0(x) and e^-x I1(x) / x on [0, 8] (argument x/2 - 2) and of
# e^-x sqrt(x) I0(x), e^-x sqrt(x) I1(x) on [8, inf) (argument 32/x - 2), and of K0, K1 (k0.c, k1.c) on (0, 2]
# (argument x^2 - 2) and e^x sqrt(x) K0(x), e^x sqrt(x) K1(x) on (2, inf) (argument 8/x - 2).
_I0E_A = _coefficients("-4.41534164647933937950E-18 3.33079451882223809783E-17 -2.43127984654795469359E-16 "
                       "1.71539128555513303061E-15 -1.16853328779934516808E-14 7.67618549860493561688E-14 "
                       "-4.85644678311192946090E-13 2.95505266312963983461E-12 -1.72682629144155570723E-11 "
                       "9.67580903537323691224E-11 -5.18979560163526290666E-10 2.65982372468238665035E-9 "
                       "-1.30002500998624804212E-8 6.04699502254191894932E-8 -2.67079385394061173391E-7 "
                       "1.11738753912010371815E-6 -4.41673835845875056359E-6 1.64484480707288970893E-5 "
                       "-5.75419501008210370398E-5 1.88502885095841655729E-4 -5.76375574538582365885E-4 "
                       "1.63947561694133579842E-3 -4.32430999505057594430E-3 1.05464603945949983183E-2 "
                       "-2.37374148058994688156E-2 4.93052842396707084878E-2 -9.49010970480476444210E-2 "
                       "1.71620901522208775349E-1 -3.04682672343198398683E-1 6.76795274409476084995E-1")
_I0E_B = _coefficients("-7.23318048787475395456E-18 -4.83050448594418207126E-18 4.46562142029675999901E-17 "
                       "3.46122286769746109310E-17 -2.82762398051658348494E-16 -3.42548561967721913462E-16 "
                       "1.77256013305652638360E-15 3.81168066935262242075E-15 -9.55484669882830764870E-15 "
                       "-4.15056934728722208663E-14 1.54008621752140982691E-14 3.85277838274214270114E-13 "
                       "7.18012445138366623367E-13 -1.79417853150680611778E-12 -1.32158118404477131188E-11 "
                       "-3.14991652796324136454E-11 1.18891471078464383424E-11 4.94060238822496958910E-10 "
                       "3.39623202570838634515E-9 2.26666899049817806459E-8 2.04891858946906374183E-7 "
                       "2.89137052083475648297E-6 6.88975834691682398426E-5 3.36911647825569408990E-3 "
                       "8.04490411014108831608E-1")
_I1E_A = _coefficients("2.77791411276104639959E-18 -2.11142121435816608115E-17 1.55363195773620046921E-16 "
                       "-1.10559694773538630805E-15 7.60068429473540693410E-15 -5.04218550472791168711E-14 "
                       "3.22379336594557470981E-13 -1.98397439776494371520E-12 1.17361862988909016308E-11 "
                       "-6.66348972350202774223E-11 3.62559028155211703701E-10 -1.88724975172282928790E-9 "
                       "9.38153738649577178388E-9 -4.44505912879632808065E-8 2.00329475355213526229E-7 "
                       "-8.56872026469545474066E-7 3.47025130813767847674E-6 -1.32731636560394358279E-5 "
                       "4.78156510755005422638E-5 -1.61760815825896745588E-4 5.12285956168575772895E-4 "
                       "-1.51357245063125314899E-3 4.15642294431288815669E-3 -1.05640848946261981558E-2 "
                       "2.47264490306265168283E-2 -5.29459812080949914269E-2 1.02643658689847095384E-1 "
                       "-1.76416518357834055153E-1 2.52587186443633654823E-1")
_I1E_B = _coefficients("7.51729631084210481353E-18 4.41434832307170791151E-18 -4.65030536848935832153E-17 "
                       "-3.20952592199342395980E-17 2.96262899764595013876E-16 3.30820231092092828324E-16 "
                       "-1.88035477551078244854E-15 -3.81440307243700780478E-15 1.04202769841288027642E-14 "
                       "4.27244001671195135429E-14 -2.10154184277266431302E-14 -4.08355111109219731823E-13 "
                       "-7.19855177624590851209E-13 2.03562854414708950722E-12 1.41258074366137813316E-11 "
                       "3.25260358301548823856E-11 -1.89749581235054123450E-11 -5.58974346219658380687E-10 "
                       "-3.83538038596423702205E-9 -2.63146884688951950684E-8 -2.51223623787020892529E-7 "
                       "-3.88256480887769039346E-6 -1.10588938762623716291E-4 -9.76109749136146840777E-3 "
                       "7.78576235018280120474E-1")
_K0_A = _coefficients("+1.37446543561352307156e-16 +4.25981614279661018399e-14 +1.03496952576338420167e-11 "
                      "+1.90451637722020886025e-09 +2.53479107902614945675e-07 +2.28621210311945178607e-05 "
                      "+1.26461541144692592338e-03 +3.59799365153615016266e-02 +3.44289899924628486886e-01 "
                      "-5.35327393233902768720e-01")
_K0_B = _coefficients("+5.30043377268626276149e-18 -1.64758043015242134646e-17 +5.21039150503902756861e-17 "
                      "-1.67823109680541210385e-16 +5.51205597852431940784e-16 -1.84859337734377901440e-15 "
                      "+6.34007647740507060557e-15 -2.22751332699166985548e-14 +8.03289077536357521100e-14 "
                      "-2.98009692317273043925e-13 +1.14034058820847496303e-12 -4.51459788337394416547e-12 "
                      "+1.85594911495471785253e-11 -7.95748924447710747776e-11 +3.57739728140030116597e-10 "
                      "-1.69753450938905987466e-09 +8.57403401741422608519e-09 -4.66048989768794782956e-08 "
                      "+2.76681363944501510342e-07 -1.83175552271911948767e-06 +1.39498137188764993662e-05 "
                      "-1.28495495816278026384e-04 +1.56988388573005337491e-03 -3.14481013119645005427e-02 "
                      "+2.44030308206595545468e+00")
_K1_A = _coefficients("-7.02386347938628759343e-18 -2.42744985051936593393e-15 -6.66690169419932900609e-13 "
                      "-1.41148839263352776110e-10 -2.21338763073472585583e-08 -2.43340614156596823496e-06 "
                      "-1.73028895751305206302e-04 -6.97572385963986435018e-03 -1.22611180822657148235e-01 "
                      "-3.53155960776544875667e-01 +1.52530022733894777053e+00")
_K1_B = _coefficients("-5.75674448366501715755e-18 +1.79405087314755922667e-17 -5.68946255844285935196e-17 "
                      "+1.83809354436663880070e-16 -6.05704724837331885336e-16 +2.03870316562433424052e-15 "
                      "-7.01983709041831346144e-15 +2.47715442448130437068e-14 -8.97670518232499435011e-14 "
                      "+3.34841966607842919884e-13 -1.28917396095102890680e-12 +5.13963967348173025100e-12 "
                      "-2.12996783842756842877e-11 +9.21831518760500529508e-11 -4.19035475934189648750e-10 "
                      "+2.01504975519703286596e-09 -1.03457624656780970260e-08 +5.74108412545004946722e-08 "
                      "-3.50196060308781257119e-07 +2.40648494783721712015e-06 -1.93619797416608296024e-05 "
                      "+1.95215518471351631108e-04 -2.85781685962277938680e-03 +1.03923736576817238437e-01 "
                      "+2.72062619048444266945e+00")


def _chbevl(t: Any, coefficients: Sequence[float]) -> Any:
    """Cephes' chbevl: the Chebyshev series sum' c_i T_i(t/2) by Clenshaw's recurrence, elementwise."""
    xp = xp_of(t)
    b0, b1, b2 = xp.full_like(t, coefficients[0]), xp.zeros_like(t), xp.zeros_like(t)
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = t * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _scaled_i(x: Any, order: int) -> Any:
    """e^-|x| I0(x) (order 0) or e^-|x| I1(x) (order 1) of a float64 array, Cephes' i0e/i1e: a Chebyshev series
    on |x| <= 8 and one in 32/|x| beyond. I1 is odd, negative for x < 0 (-0.0 gives +0.0, as torch)."""
    xp = xp_of(x)
    a = xp.abs(x)
    small = a <= 8
    near, far = (_I0E_A, _I0E_B) if order == 0 else (_I1E_A, _I1E_B)
    lo = _chbevl(xp.where(small, a, 0.0) / 2 - 2, near)
    if order:
        lo = lo * a
    b = xp.where(small, 8.0, a)
    y = xp.where(small, lo, _chbevl(32 / b - 2, far) / xp.sqrt(b))
    return xp.where(x < 0, -y, y) if order else y


def _k(x: Any, order: int, scaled: bool) -> Any:
    """K0 or K1 (order) of a float64 array, times e^x if scaled, as Cephes' k0/k1/k0e/k1e: on (0, 2] a Chebyshev
    series in x^2 - 2 plus the log(x/2) I term, beyond it one in 8/x - 2. inf at 0, nan below 0 and at nan."""
    xp = xp_of(x)
    small = x <= 2
    s = xp.where(small & (x > 0), x, 1.0)
    if order == 0:
        lo = _chbevl(s * s - 2, _K0_A) - xp.log(0.5 * s) * _scaled_i(s, 0) * xp.exp(s)
    else:
        lo = xp.log(0.5 * s) * _scaled_i(s, 1) * xp.exp(s) + _chbevl(s * s - 2, _K1_A) / s
    if scaled:
        lo = lo * xp.exp(s)
    b = xp.where(small | xp.isnan(x), 4.0, x)
    hi = _chbevl(8 / b - 2, _K0_B if order == 0 else _K1_B) / xp.sqrt(b)
    if not scaled:
        hi = hi * xp.exp(-b)
    y = xp.where(small, lo, hi)
    y = xp.where(x == 0, xp.inf, y)
    return xp.where((x < 0) | xp.isnan(x), xp.nan, y)


def _exp_square(a: Any, scale: float = 1.0) -> Any:
    """e^(scale a^2) without the ~|scale| a^2 ulp error of rounding a^2 (Cody's split, as ops._exp_minus_square;
    ops.exp_scaled_square on Tensors); a within [-64, 64] (s^2 exact)."""
    xp = xp_of(a)
    s = xp.trunc(a * 16) / 16
    return xp.exp(s * s * scale) * xp.exp((a - s) * (a + s) * scale)


def erfcx_array(x: Any) -> Any:
    """e^(x^2) erfc(x) of a float64 array by W. J. Cody's rational approximations, the ones ops.erfc_array uses,
    without the e^(-x^2) factor (his CALERF with jint = 2): P(|x|)/Q(|x|) on [0.5, 4), (1/sqrt(pi) - R(1/x^2)/x^2)/|x|
    from 4 on (~1/(x sqrt(pi)), 0 at inf); e^(x^2) erfc(x) below 0.5; 2 e^(x^2) - erfcx(|x|) for x <= -0.5 (inf
    past about -26.6, where e^(x^2) overflows). nan stays nan."""
    xp = xp_of(x)
    a = xp.abs(x)
    m = xp.clip(a, 0.5, 4.0)
    mid = ops._rational(m, *ops._ERFC_MID)
    b = xp.maximum(a, 4.0)
    t = 1 / (b * b)
    tail = (1 / math.sqrt(math.pi) - t * ops._rational(t, *ops._ERFC_TAIL)) / b
    s = xp.where(a < 0.5, x, 0.0)
    y = xp.where(a < 0.5, xp.exp(s * s) * ops.erfc_array(s), xp.where(a < 4, mid, tail))
    n = xp.where(x <= -0.5, xp.minimum(a, 27.0), 0.0)  # (e^(27^2) overflows already)
    y = xp.where(x <= -0.5, 2 * _exp_square(n) - y, y)
    return xp.where(xp.isnan(x), xp.nan, y)


def log_ndtr_array(x: Any) -> Any:
    """log of the standard normal CDF of a float64 array, as torch's (SciPy's): below -1, log(erfcx(-t)/2) - t^2
    with t = x/sqrt 2, which keeps the far left tail (-x^2/2 - log(-x sqrt(2 pi)) ...) finite; above 1,
    log1p(-erfcx(t)/2 e^(-x^2/2)) (Cody's split: torch's erfc(t) was 1.5e-13 off at 35); else log1p(-erfc(t)/2)."""
    xp = xp_of(x)
    t = x * math.sqrt(0.5)
    left = x < -1
    u = xp.where(left, t, 0.0)
    v = xp.where(left, 0.0, t)
    right = x > 1  # (log1p(-ndtr(-x)), ndtr(-x) as in ndtr: erfc(t) had t's rounding, ~x^2 ulp)
    r = xp.where(right, xp.minimum(x, 40.0), 0.0)
    q = erfcx_array(r * math.sqrt(0.5)) * _exp_square(r, -0.5) / 2
    return xp.where(left, xp.log(erfcx_array(-u) / 2) - u * u,
                    xp.where(right, xp.log1p(-q), xp.log1p(-ops.erfc_array(v) / 2)))


def _erfcinv_small(c: Any) -> Any:
    """erfc's inverse for 0 < c < 0.5: started from erfinv(1 - c) where 1 - c keeps c's digits (c > 1e-12), else
    from erfc(y) ~ e^(-y^2) / (y sqrt(pi)), y^2 ~ -log c - log(pi (-log c)) / 2; then Newton on log erfc(y) =
    log erfcx(y) - y^2 = log c, which stays finite down to the subnormal c (y ~ 27.2)."""
    xp = xp_of(c)
    log_c = xp.log(c)
    start = ops.erfinv_array(xp.where(c > 1e-12, 1 - c, 0.0))
    big = xp.maximum(-log_c, 1.0)
    y = xp.where(c > 1e-12, start, xp.sqrt(big - 0.5 * xp.log(math.pi * big)))
    for _ in range(4):
        e = erfcx_array(y)
        y = y + (xp.log(e) - y * y - log_c) * (math.sqrt(math.pi) / 2) * e
    return y


def ndtri_array(p: Any) -> Any:
    """ndtr's inverse of a float64 array: sqrt 2 erfinv(2 p - 1) from p = 0.25 on (2 p - 1 exact there), and
    -sqrt 2 erfcinv(2 p) below, where 2 p - 1 would round away p's digits (7e-11 relative off at p = 1e-8, -inf
    below 1e-17; torch's Cephes ndtri is finite down to the subnormals). -inf at 0, inf at 1, nan outside [0, 1]."""
    xp = xp_of(p)
    low = (p > 0) & (p < 0.25)
    y = -math.sqrt(2) * _erfcinv_small(xp.where(low, 2 * p, 0.25))
    return xp.where(low, y, ops.erfinv_array(xp.where(low, 0.5, 2 * p - 1)) * math.sqrt(2))


_EPS = ops._MACHEP  # 2^-53, Cephes' MACHEP


def _lgamma1p(a: Any) -> Any:
    """lgamma(1 + a), by its Taylor series (ops._lgamma1p_series) for a below 0.25, where rounding 1 + a would lose
    the digits of a small a."""
    xp = xp_of(a)
    small = xp.abs(a) < 0.25
    return xp.where(small, ops._lgamma1p_series(xp.where(small, a, 0.0)), ops.lgamma_array(xp.where(small, 1.0, a + 1)))


# B_2k / (2k (2k - 1)), k = 1 .. 8: Stirling's series lgamma(a) - ((a - 1/2) log a - a + log(2 pi)/2) in 1/a
_STIRLING = tuple(float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(ops._BERNOULLI[:8], 1))


def _igam_factor(a: Any, x: Any) -> Any:
    """x^a e^-x / Gamma(a). From a = 10 on by Stirling's series, a (log1p(d) - d) + log(a / (2 pi))/2 minus its
    correction in 1/a, d = (x - a)/a: no cancellation of a log x against x + lgamma(a), which cost |a log x| ulp
    (1e-10 relative at a ~ 1e5); below, through those logs (below 1/4 a e^(a log x - x) / Gamma(1 + a), so that
    P(1e-300, 0.5) is not 1 + 5e-14)."""
    xp = xp_of(x)
    big = a >= 10
    b = xp.where(big, a, 10.0)
    d = (x - b) / b
    inv, corr = 1 / b, xp.zeros_like(b)
    for c in reversed(_STIRLING):
        corr = (corr * inv * inv + c)
    stirling = b * (xp.log1p(d) - d) + 0.5 * xp.log(b / (2 * math.pi)) - corr * inv
    s = xp.where(big, 1.0, a)
    tiny = a < 0.25  # (1/Gamma(a) = a / Gamma(1 + a): no lgamma(a) ~ -log a to round, 700 ulp at a = 1e-300)
    logs = s * xp.log(x) - x - xp.where(tiny, _lgamma1p(xp.where(tiny, s, 0.0)), ops.lgamma_array(s))
    return xp.exp(xp.where(big, stirling, logs)) * xp.where(tiny, a, 1.0)


def _until_converged(state: dict, step: Callable[[dict, Any], Any], limit: int = 100000) -> None:
    """Run step(state, active) until it reports every element converged (or limit steps): step updates the
    arrays in state where ``active`` and returns which of them have converged."""
    active = None
    for _ in range(limit):
        done = step(state, active)
        active = ~done if active is None else active & ~done
        if not bool(active.any()):
            return


def _igam_series(a: Any, x: Any) -> Any:
    """P(a, x) by DLMF 8.11.4, x^a e^-x / Gamma(a + 1) times sum x^k / ((a + 1) ... (a + k)) (Cephes' igam)."""
    xp = xp_of(x)
    st = {"r": a.copy(), "c": xp.ones_like(x), "ans": xp.ones_like(x)}

    def step(s, active):
        s["r"] = s["r"] + 1
        c = s["c"] * x / s["r"]
        s["c"] = c if active is None else xp.where(active, c, 0.0)
        s["ans"] = s["ans"] + s["c"]
        return s["c"] <= _EPS * s["ans"]

    _until_converged(st, step, 2000)
    return st["ans"] * _igam_factor(a, x) / a


def _igamc_series(a: Any, x: Any) -> Any:
    """Q(a, x) for x <= 1.1 by DLMF 8.7.3, -expm1(a log x - lgamma(1 + a)) minus x^a / Gamma(a) times
    sum (-x)^n / (n! (a + n)), n >= 1 (Cephes' igamc_series: no cancellation of 1 - P near 1)."""
    xp = xp_of(x)
    st = {"n": 0, "fac": xp.ones_like(x), "sum": xp.zeros_like(x)}

    def step(s, active):
        s["n"] += 1
        s["fac"] = s["fac"] * -x / s["n"]
        term = s["fac"] / (a + s["n"])
        s["sum"] = s["sum"] + (term if active is None else xp.where(active, term, 0.0))
        return xp.abs(term) <= _EPS * xp.abs(s["sum"])

    _until_converged(st, step, 2000)
    power = a * xp.log(x) - _lgamma1p(a)  # (x^a / Gamma(a) = a e^power: no lgamma(a) ~ 690 rounded at a = 1e-300)
    return -xp.expm1(power) - a * xp.exp(power) * st["sum"]


def _igamc_fraction(a: Any, x: Any) -> Any:
    """Q(a, x) for x > 1.1, x >= a by the continued fraction DLMF 8.9.2 (Cephes' igamc), its convergents
    rescaled by 2^-52 when they grow past 2^52."""
    xp = xp_of(x)
    y = 1 - a
    z = x + y + 1
    st = {"y": y, "z": z, "c": 0.0, "pkm2": xp.ones_like(x), "qkm2": x.copy(), "pkm1": x + 1, "qkm1": z * x}
    st["ans"] = st["pkm1"] / st["qkm1"]

    def step(s, active):
        s["c"] += 1
        s["y"], s["z"] = s["y"] + 1, s["z"] + 2
        yc = s["y"] * s["c"]
        pk, qk = s["pkm1"] * s["z"] - s["pkm2"] * yc, s["qkm1"] * s["z"] - s["qkm2"] * yc
        nonzero = qk != 0
        r = pk / xp.where(nonzero, qk, 1.0)
        t = xp.where(nonzero, xp.abs((s["ans"] - r) / r), 1.0)
        keep = nonzero if active is None else nonzero & active
        s["ans"] = xp.where(keep, r, s["ans"])
        big = xp.abs(pk) > 4.503599627370496e15
        scale = xp.where(big, 2.0 ** -52, 1.0)
        s["pkm2"], s["pkm1"], s["qkm2"], s["qkm1"] = s["pkm1"] * scale, pk * scale, s["qkm1"] * scale, qk * scale
        return t <= _EPS

    _until_converged(st, step, 2000)
    return st["ans"] * _igam_factor(a, x)


# Temme's c_k(eta) near eta = 0 (DLMF 8.12.10; Cephes' igam d[k][n]): c0 to eta^5, c1 to eta^2, c2's constant
_TEMME_C0 = (-1 / 3, 1 / 12, -2 / 135, 1 / 864, 1 / 2835, -139 / 777600)
_TEMME_C1 = (-1 / 540, -1 / 288, 1 / 378)
_TEMME_C2 = 25 / 6048


def _temme_eta(mu: Any) -> Tuple[Any, Any]:
    """Temme's eta = sign(mu) sqrt(2 (mu - log1p(mu))) and eta^2 / 2, by the series of mu - log1p(mu) for |mu| <
    0.1 (no cancellation near mu = 0)."""
    xp = xp_of(mu)
    small = xp.abs(mu) < 0.1
    m = xp.where(small, mu, 0.0)
    series, power = xp.zeros_like(mu), m * m
    for k in range(2, 24):
        series += (-1) ** k * power / k
        power = power * m
    half_eta2 = xp.where(small, series, mu - xp.log1p(xp.where(small, 0.0, mu)))
    return xp.sign(mu) * xp.sqrt(2 * half_eta2), half_eta2


def _igam_temme(a: Any, x: Any, upper: bool) -> Any:
    """P(a, x) (Q if upper) for a >= 1e4 and |x - a| < 0.3 a by Temme's uniform asymptotic expansion (DLMF 8.12):
    Q = erfc(eta sqrt(a/2)) / 2 + e^(-a eta^2 / 2) / sqrt(2 pi a) (c0 + c1 / a + c2 / a^2), eta = sign(mu)
    sqrt(2 (mu - log1p(mu))), mu = x/a - 1; P = erfc(-eta sqrt(a/2)) / 2 - the same sum. The terms left out are
    ~1e-15 of it at a = 1e4. There the series of P needs ~8 sqrt(a) terms whose rounding adds up (1e-10 at a = 1e5,
    4% at 1e6)."""
    xp = xp_of(x)
    mu = (x - a) / a
    eta, half_eta2 = _temme_eta(mu)
    near = xp.abs(eta) < 0.01
    e = xp.where(near, 0.0, eta)
    lm = xp.where(near, 1.0, mu)  # (lambda - 1)
    c0 = xp.where(near, _polyval(_TEMME_C0, eta), 1 / lm - 1 / xp.where(near, 1.0, e))
    c1 = xp.where(near, _polyval(_TEMME_C1, eta),
                  1 / xp.where(near, 1.0, e) ** 3 - 1 / lm ** 3 - 1 / lm ** 2 - 1 / (12 * lm))
    tail = xp.exp(-a * half_eta2) / xp.sqrt(2 * math.pi * a) * (c0 + c1 / a + _TEMME_C2 / (a * a))
    z = eta * xp.sqrt(a / 2)
    return ops.erfc_array(z) / 2 + tail if upper else ops.erfc_array(-z) / 2 - tail


def _polyval(coefficients: Sequence[float], x: Any) -> Any:
    """sum of coefficients[k] x^k (Horner)."""
    out = xp_of(x).zeros_like(x)
    for c in reversed(coefficients):
        out = out * x + c
    return out


def _on(f: Callable[[Any, Any], Any], a: Any, x: Any, where: Any, out: Any) -> None:
    """out[where] = f(a[where], x[where]) on the flattened arrays, computing f on those elements only."""
    xp = xp_of(x)
    idx = xp.flatnonzero(where)
    if idx.size:
        out[idx] = f(a[idx], x[idx])


def igamma_array(a: Any, x: Any, upper: bool) -> Any:
    """The regularized lower incomplete gamma function P(a, x) (Q = 1 - P if upper) of broadcast float64 arrays, as
    Cephes' igam/igamc (torch's kernel): P by its series where x <= 1 or x <= a, else 1 - Q; Q by the continued
    fraction for x > 1.1, x >= a (0 where x^a e^-x / Gamma(a) underflows, as Cephes returns early), by the series
    DLMF 8.7.3 for small x and a, else 1 - P; for a >= 1e4 with |x - a| < 0.3 a, Temme's uniform expansion
    (_igam_temme: Cephes uses one from a = 20 on, good to ~1e-9 there, where the series is good to ~1e-13).
    Boundaries as torch's (SciPy's): nan for a < 0 or x < 0 and at a = x = 0; at a = 0, P = 1; at x = 0, P = 0; at
    a = inf, P = 0 (nan if x is inf too); at x = inf, P = 1. Against mpmath within ~1e-13 for a up to 1e4, ~1e-14
    beyond; the series takes ~8 sqrt(a) terms where x is near a large a."""
    xp = xp_of(x)
    a, x = xp.broadcast_arrays(a, x)
    shape, a, x = a.shape, xp.ascontiguousarray(a).reshape(-1), xp.ascontiguousarray(x).reshape(-1)
    regular = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
    sx = xp.where(regular, x, 1.0)
    low_x = -0.4 / xp.log(xp.minimum(sx, 0.5)) < a
    by_p = xp.where(sx > 1.1, sx < a, xp.where(sx <= 0.5, low_x, 1.1 * sx < a))
    if not upper:
        by_p |= (sx <= 1) | (sx <= a)
    v = xp.zeros_like(x)
    _on(_igam_series, a, x, regular & by_p, v)
    fraction, gone = regular & ~by_p & (sx > 1.1), xp.zeros_like(regular)
    _on(lambda a, x: _igam_factor(a, x) == 0, a, x, fraction, gone)  # (Q underflows to 0, as Cephes returns early:
    _on(_igamc_fraction, a, x, fraction & ~gone, v)                  # its convergents would overflow, x ~ 1e100)
    _on(_igamc_series, a, x, regular & ~by_p & (sx <= 1.1), v)
    y = xp.where(by_p != upper, v, 1 - v)
    temme = regular & (a >= 1e4) & (xp.abs(x - a) < 0.3 * a)
    if bool(temme.any()):
        w = xp.zeros_like(x)
        _on(lambda a, x: _igam_temme(a, x, upper), a, x, temme, w)
        y = xp.where(temme, w, y)
    edge = xp.where(xp.isinf(x), 1.0, xp.nan)  # (torch's order of cases: nan a with x = 0 gives 0)
    edge = xp.where(xp.isinf(a), xp.where(xp.isinf(x), xp.nan, 0.0), edge)
    edge = xp.where(x == 0, 0.0, edge)
    edge = xp.where(a == 0, xp.where(x > 0, 1.0, xp.nan), edge)
    edge = xp.where((a < 0) | (x < 0), xp.nan, edge)
    if upper:
        edge = 1 - edge
    return xp.where(regular, xp.clip(y, 0.0, 1.0), edge).reshape(shape)  # (a rounding past 1: P(1e-20, 1))


def _gamma_path_series(a: Any, x: Any) -> Any:
    """-(dP/da) / p(x; a) for x <= max(a, 1.1): P's series differentiated term by term, divided by the density,
    sum over k >= 0 of c_k (psi(a + 1) + sum_{j=1..k} 1/(a + j) - log x), c_0 = x/a, c_k = c_{k-1} x / (a + k).
    For x <= a every term is positive (psi(a + 1) > log(a + 1/2)): no cancellation."""
    xp = xp_of(x)
    base = ops.digamma_array(a + 1) - xp.log(x)
    st = {"k": 0, "c": x / a, "h": xp.zeros_like(x)}
    st["sum"] = st["c"] * base

    def step(s, active):
        s["k"] += 1
        s["c"] = s["c"] * x / (a + s["k"])
        s["h"] = s["h"] + 1 / (a + s["k"])
        term = s["c"] * (base + s["h"])
        s["sum"] = s["sum"] + (term if active is None else xp.where(active, term, 0.0))
        return xp.abs(term) <= _EPS * xp.abs(s["sum"])

    _until_converged(st, step)
    return st["sum"]


def _gamma_path_fraction(a: Any, x: Any) -> Any:
    """(dQ/da) / p(x; a) for x > 1.1, x > a: Q = f x^a e^-x / Gamma(a) with f the continued fraction of
    _igamc_fraction, differentiated in a alongside its convergents (forward mode), so the result is
    x (f' + f (log x - psi(a))), a sum of positive terms."""
    xp = xp_of(x)
    y = 1 - a
    z = x + y + 1
    st = {"y": y, "z": z, "c": 0.0, "pkm2": xp.ones_like(x), "qkm2": x.copy(), "pkm1": x + 1, "qkm1": z * x,
          "dpkm2": xp.zeros_like(x), "dqkm2": xp.zeros_like(x), "dpkm1": xp.zeros_like(x), "dqkm1": -x}
    st["f"] = st["pkm1"] / st["qkm1"]
    st["df"] = (st["dpkm1"] - st["f"] * st["dqkm1"]) / st["qkm1"]

    def step(s, active):
        s["c"] += 1
        s["y"], s["z"] = s["y"] + 1, s["z"] + 2
        yc = s["y"] * s["c"]
        pk, qk = s["pkm1"] * s["z"] - s["pkm2"] * yc, s["qkm1"] * s["z"] - s["qkm2"] * yc
        dpk = s["dpkm1"] * s["z"] - s["pkm1"] - s["dpkm2"] * yc + s["pkm2"] * s["c"]
        dqk = s["dqkm1"] * s["z"] - s["qkm1"] - s["dqkm2"] * yc + s["qkm2"] * s["c"]
        nonzero = qk != 0
        q = xp.where(nonzero, qk, 1.0)
        r = pk / q
        dr = (dpk - r * dqk) / q
        done = nonzero & (xp.abs(s["f"] - r) <= _EPS * xp.abs(r)) & (xp.abs(s["df"] - dr) <= 1e-12 * xp.abs(dr))
        keep = nonzero if active is None else nonzero & active
        s["f"], s["df"] = xp.where(keep, r, s["f"]), xp.where(keep, dr, s["df"])
        scale = xp.where(xp.abs(pk) > 4.503599627370496e15, 2.0 ** -52, 1.0)
        s["pkm2"], s["pkm1"], s["qkm2"], s["qkm1"] = s["pkm1"] * scale, pk * scale, s["qkm1"] * scale, qk * scale
        s["dpkm2"], s["dpkm1"] = s["dpkm1"] * scale, dpk * scale
        s["dqkm2"], s["dqkm1"] = s["dqkm1"] * scale, dqk * scale
        return done  # (f' by a difference of convergents: its last digits wander, so 1e-12 for it)

    _until_converged(st, step)
    return x * (st["df"] + st["f"] * (xp.log(x) - ops.digamma_array(a)))


_TEMME_MU_OVER_ETA = (1.0, 1 / 3, 1 / 36, -1 / 270, 1 / 4320, 1 / 17010)  # (lambda - 1) / eta near eta = 0
_TEMME_C2_SLOPE = -2.6813271604938272e-3  # c2'(0) (Cephes' igam d[2][1])


def _gamma_path_temme(a: Any, x: Any) -> Any:
    """(dQ/da) / p(x; a) for a >= 1e6 and |x - a| < 0.3 a, Temme's expansion (_igam_temme) differentiated in a at
    fixed x: with E = e^(-a eta^2/2) / sqrt(2 pi a), S = c0 + c1/a + c2/a^2 and d eta/da = -mu/(a eta), dQ/da =
    E (mu/eta - eta/2 + (log1p(mu) - 1/(2a)) S - c1/a^2 - 2 c2/a^3 - mu/(a eta) (c0' + c1'/a + c2'/a^2)), and
    p = E (a/x) / Gamma*(a), Gamma*(a) = Gamma(a) e^a a^-a sqrt(a/(2 pi)) (Stirling's series). Terms left out are
    O(1/a^3) of it; the series there needs ~8 sqrt(a) steps (0.8 s for 5 elements at a = 1e8, 4e-11 off)."""
    xp = xp_of(x)
    mu = (x - a) / a
    eta, _ = _temme_eta(mu)
    near = xp.abs(eta) < 0.01
    e = xp.where(near, 1.0, eta)
    m = xp.where(near, 1.0, mu)
    slope = (1 + m) * e / m  # (d mu / d eta)
    c0 = xp.where(near, _polyval(_TEMME_C0, eta), 1 / m - 1 / e)
    c1 = xp.where(near, _polyval(_TEMME_C1, eta), 1 / e ** 3 - 1 / m ** 3 - 1 / m ** 2 - 1 / (12 * m))
    d0 = xp.where(near, _polyval([k * c for k, c in enumerate(_TEMME_C0)][1:], eta), 1 / e ** 2 - slope / m ** 2)
    d1 = xp.where(near, _polyval([k * c for k, c in enumerate(_TEMME_C1)][1:], eta),
                  -3 / e ** 4 + (3 / m ** 4 + 2 / m ** 3 + 1 / (12 * m ** 2)) * slope)
    c2 = _TEMME_C2 + _TEMME_C2_SLOPE * eta
    ratio = xp.where(near, _polyval(_TEMME_MU_OVER_ETA, eta), m / e)  # (mu / eta)
    inv = 1 / a
    bracket = (ratio - eta / 2 + (xp.log1p(mu) - inv / 2) * (c0 + (c1 + c2 * inv) * inv)
               - (c1 + 2 * c2 * inv) * inv * inv - ratio * inv * (d0 + (d1 + _TEMME_C2_SLOPE * inv) * inv))
    corr = xp.zeros_like(a)
    for c in reversed(_STIRLING):
        corr = corr * inv * inv + c
    return (x / a) * xp.exp(corr * inv) * bracket


def standard_gamma_grad_array(x: Any, alpha: Any) -> Any:
    """dx/dalpha of a Gamma(alpha, 1) draw x held at its quantile (implicit reparameterisation, Figurnov et al. 2018):
    -(dP/dalpha)(alpha, x) / p(x; alpha), P the regularized lower incomplete gamma function, of broadcast float64
    arrays. By P's series (x <= alpha or x <= 1.1) or Q's continued fraction (beyond), each differentiated in alpha, and
    from alpha = 1e6 on with |x - alpha| < 0.3 alpha by Temme's expansion so differentiated (_gamma_path_temme): against
    mpmath within ~1e-13 relative for alpha in [1e-6, 1e6], ~1e-15 beyond, where torch's _standard_gamma_grad (Taylor,
    saddle-point and rational approximations) is within ~2e-3 over the bulk and ~10% in far tails. 0 where x is 0 or not
    finite, or alpha is not positive and finite (torch's nan-to-0)."""
    xp = xp_of(x)
    alpha, x = xp.broadcast_arrays(alpha, x)
    shape = x.shape
    a, x = xp.ascontiguousarray(alpha).reshape(-1), xp.ascontiguousarray(x).reshape(-1)
    regular = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
    by_series = (x <= a) | (x <= 1.1)
    temme = regular & (a >= 1e6) & (xp.abs(x - a) < 0.3 * a)
    out = xp.zeros_like(x)
    _on(_gamma_path_series, a, x, regular & by_series & ~temme, out)
    _on(_gamma_path_fraction, a, x, regular & ~by_series & ~temme, out)
    _on(_gamma_path_temme, a, x, temme, out)
    return out.reshape(shape)


def _i0(x: Any) -> Any:
    return _scaled_i(x, 0) * xp_of(x).exp(xp_of(x).abs(x))


def _i1(x: Any) -> Any:
    return _scaled_i(x, 1) * xp_of(x).exp(xp_of(x).abs(x))


class _Unary(Function):
    """An elementwise special function: ``kernel`` on float64 (cast back to the input's dtype); its derivative
    ``slope(x, y)`` (Tensor ops, so second order runs through them), of the input and the output."""

    quiet = True
    saved_inputs = (0,)
    save_output = True

    def __init__(self, name: str, kernel: Callable[[Any], Any], slope: Callable[[Tensor, Tensor], Tensor]) -> None:
        self.name, self.kernel, self.slope = _OpName(name), kernel, slope

    def forward(self, x):
        return self.kernel(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * self.slope(self.saved[0], self.output),)


def _unary(name: str, kernel: Callable[[Any], Any], slope: Callable[[Tensor, Tensor], Tensor], input: Any) -> Tensor:
    return _Unary(name, kernel, slope)(_input(name, input)._floating())


def _near_zero(x: Tensor, value: float, f: Callable[[Tensor], Tensor]) -> Tensor:
    """f(x), but value where |x| <= eps, f reading eps there (torch's i1 backward): the branch not taken stays finite,
    so a second derivative at 0 is 0, not nan."""
    tiny = x.abs() <= np.finfo(x.dtype).eps
    return ops.where(tiny, value, f(ops.where(tiny, float(np.finfo(x.dtype).eps), x)))


def i0(input: Tensor) -> Tensor:
    """torch.special.i0 (torch.i0): the modified Bessel function I0, Cephes' i0 (see _scaled_i); inf past |x| ~ 713,
    where e^|x| overflows. d/dx = I1."""
    return _unary("special.i0", _i0, lambda x, y: i1(x), input)


def _hankel(k: int, order: int) -> Fraction:
    """(-1)^k a_k(order) of Hankel's expansion e^-x I_order(x) ~ (2 pi x)^-1/2 sum (-1)^k a_k / x^k."""
    p = Fraction(1)
    for j in range(1, k + 1):
        p *= 4 * order * order - (2 * j - 1) ** 2
    return (-1) ** k * p / (math.factorial(k) * 8 ** k)


# i1e - i0e for x >= 20 as one expansion: its coefficients differ exactly (within 9e-16 of mpmath from 20 on)
_I_DIFFERENCE = tuple(float(_hankel(k, 1) - _hankel(k, 0)) for k in range(31))


def _scaled_i_slope(x: Tensor, y: Tensor, order: int, formula: Tensor) -> Tensor:
    """The derivative of i0e (order 0) or i1e, ``formula`` (i1e - sgn(x) i0e; i0e - i1e (sgn(x) + 1/x)), which
    cancels for large |x| (3e-12 off at 1e4, 4e-8 at 1e8): from |x| = 20 on its value is taken from D = i1e - i0e
    by Hankel's expansion (sgn(x) D; -D - i1e/x), added as a constant correction so the second derivative stays
    the formula's."""
    xp = xp_of(x.array)
    big = xp.abs(x.array) >= 20
    a = xp.where(big, xp.abs(x.array), 20.0)
    d = xp.zeros_like(a)
    for c in reversed(_I_DIFFERENCE):
        d = d / a + c
    d /= xp.sqrt(2 * math.pi * a)
    exact = xp.sign(x.array) * d if order == 0 else -d - y.array / xp.where(big, x.array, 20.0)
    return formula + Tensor._make(xp.where(big, exact - formula.array, 0.0))


def i0e(input: Tensor) -> Tensor:
    """torch.special.i0e: e^-|x| I0(x), finite everywhere (0 at +-inf); d/dx = i1e(x) - sgn(x) i0e(x)
    (_scaled_i_slope: torch's formula cancels for large |x|, ours keeps the digits there)."""
    return _unary("special.i0e", lambda x: _scaled_i(x, 0),
                  lambda x, y: _scaled_i_slope(x, y, 0, i1e(x) - x.sign() * y), input)


def i1(input: Tensor) -> Tensor:
    """torch.special.i1: the modified Bessel function I1 (odd); d/dx = I0(x) - I1(x)/x, 1/2 at 0 (torch's)."""
    return _unary("special.i1", _i1, lambda x, y: _near_zero(x, 0.5, lambda s: i0(s) - y / s), input)


def i1e(input: Tensor) -> Tensor:
    """torch.special.i1e: e^-|x| I1(x); d/dx = i0e(x) - i1e(x) (sgn(x) + 1/x), 1/2 at 0 (torch's;
    _scaled_i_slope for large |x|)."""
    return _unary("special.i1e", lambda x: _scaled_i(x, 1), lambda x, y: _scaled_i_slope(
        x, y, 1, _near_zero(x, 0.5, lambda s: i0e(s) - y * (s.sign() + 1 / s))), input)


def _erfcx_slope(x: Tensor, y: Tensor) -> Tensor:
    """2 x erfcx(x) - 2/sqrt(pi), which cancels for large x (to -1/(sqrt(pi) x^2)): from x = 2 on its value is
    -2/sqrt(pi) K/(x + K), K = (1/2)/(x + 1/(x + (3/2)/(x + ...))) from erfc's continued fraction (60 terms: within
    1e-16 from 2 on), added to the formula as a constant correction, so its own derivative stays the formula's."""
    xp = xp_of(x.array)
    a = xp.where(x.array >= 2, x.array, 2.0)
    k = xp.zeros_like(a)
    for n in range(60, 0, -1):
        k = (n / 2) / (a + k)
    formula = 2 * x * y - 2 / math.sqrt(math.pi)
    exact = k / (a + k) * (-2 / math.sqrt(math.pi))
    return formula + Tensor._make(xp.where(x.array >= 2, exact - formula.array, 0.0))


def erfcx(input: Tensor) -> Tensor:
    """torch.special.erfcx: the scaled complementary error function e^(x^2) erfc(x) (erfcx_array): ~1/(x sqrt(pi))
    for large x, inf below about -26.6. d/dx = 2 x erfcx(x) - 2/sqrt(pi) (_erfcx_slope: torch's formula, 1e-13 off
    at x = 17, 1e-8 at 1e4 and 0 from ~7e7 on, where the derivative is ~ -1/(sqrt(pi) x^2); ours keeps the
    digits, so there it differs from torch's)."""
    return _unary("special.erfcx", erfcx_array, _erfcx_slope, input)


def _log_ndtr_slope(x: Tensor, y: Tensor) -> Tensor:
    """e^(-x^2/2) / (sqrt(2 pi) ndtr(x)): sqrt(2/pi) / erfcx(-x/sqrt 2) for x < 0 (Mills' ratio); for x >= 0
    e^(-x^2/2) by Cody's split (ops.exp_scaled_square) over sqrt(2 pi) e^y."""
    left = x < 0
    mills = math.sqrt(2 / math.pi) / erfcx(ops.where(left, x, 0.0) * -math.sqrt(0.5))
    right = ops.exp_scaled_square(ops.where(left, 0.0, x), -0.5) / math.sqrt(2 * math.pi)
    return ops.where(left, mills, right / ops.where(left, 0.0, y).exp())


def log_ndtr(input: Tensor) -> Tensor:
    """torch.special.log_ndtr: log of the standard normal CDF, finite far into the left tail (log_ndtr_array).
    d/dx = e^(-x^2/2) / (sqrt(2 pi) ndtr(x)) (_log_ndtr_slope). Torch's e^(-(y + x^2/2)) / sqrt(2 pi) cancels
    for x << 0 (1e-12 off at -100, 1e-8 at -1e4, inf from about -1e10, where the derivative is ~ -x): ours keeps
    the digits there, so it differs from torch's (and is inf at -inf, where torch's is nan)."""
    return _unary("special.log_ndtr", log_ndtr_array, _log_ndtr_slope, input)


def _no_grad(name: str, kernel: Callable[[Any], Any], input: Any) -> Tensor:
    """kernel of input as a Tensor outside the graph: torch's result for these functions has no grad_fn."""
    x = _input(name, input)._floating()
    return Tensor._make(backend.quietly(kernel, x.array.astype(np.float64, copy=False)).astype(x.dtype, copy=False))


def modified_bessel_i0(input: Tensor) -> Tensor:
    """torch.special.modified_bessel_i0: I0 as i0, but, as torch's, not differentiable (no gradient is recorded)."""
    return _no_grad("special.modified_bessel_i0", _i0, input)


def modified_bessel_i1(input: Tensor) -> Tensor:
    """torch.special.modified_bessel_i1: I1 as i1, not differentiable (as torch's)."""
    return _no_grad("special.modified_bessel_i1", _i1, input)


def modified_bessel_k0(input: Tensor) -> Tensor:
    """torch.special.modified_bessel_k0: the modified Bessel function K0 (Cephes' k0): inf at 0, nan below; not
    differentiable (as torch's)."""
    return _no_grad("special.modified_bessel_k0", lambda x: _k(x, 0, False), input)


def modified_bessel_k1(input: Tensor) -> Tensor:
    """torch.special.modified_bessel_k1: K1 (Cephes' k1): inf at 0, nan below; not differentiable (as torch's)."""
    return _no_grad("special.modified_bessel_k1", lambda x: _k(x, 1, False), input)


def scaled_modified_bessel_k0(input: Tensor) -> Tensor:
    """torch.special.scaled_modified_bessel_k0: e^x K0(x) (Cephes' k0e); not differentiable (as torch's)."""
    return _no_grad("special.scaled_modified_bessel_k0", lambda x: _k(x, 0, True), input)


def scaled_modified_bessel_k1(input: Tensor) -> Tensor:
    """torch.special.scaled_modified_bessel_k1: e^x K1(x) (Cephes' k1e); not differentiable (as torch's)."""
    return _no_grad("special.scaled_modified_bessel_k1", lambda x: _k(x, 1, True), input)


class Igamma(Function):
    """P(a, x), or Q(a, x) = 1 - P if upper (igamma_array, float64 inside), a and x broadcast. dP/dx =
    x^(a-1) e^-x / Gamma(a), as torch's; the derivative in a is not implemented, as torch's (backward raises)."""

    quiet = True
    saved_inputs = (0, 1)

    def __init__(self, upper: bool) -> None:
        self.upper, self.name = upper, _OpName("igammac" if upper else "igamma")

    def forward(self, a, x):
        return igamma_array(a.astype(np.float64, copy=False), x.astype(np.float64, copy=False),
                            self.upper).astype(a.dtype, copy=False)

    def backward(self, g):
        a, x = self.saved
        if self.needs_input_grad[0]:
            raise RuntimeError(f"{self.name}: the derivative for '{self.name}: input' (a) is not implemented, as in "
                               "torch; detach a")
        slope = ((a - 1) * x.log() - x - a.lgamma()).exp()
        return None, ops.unbroadcast(-g * slope if self.upper else g * slope, x.shape)


def _igamma(name: str, upper: bool, input: Any, other: Any) -> Tensor:
    return Igamma(upper)(*_float_operands(name, input, other))


def gammainc(input: Any, other: Any) -> Tensor:
    """torch.special.gammainc (torch.igamma): the regularized lower incomplete gamma function P(input, other)."""
    return _igamma("special.gammainc", False, input, other)


def gammaincc(input: Any, other: Any) -> Tensor:
    """torch.special.gammaincc (torch.igammac): the regularized upper incomplete gamma function Q = 1 - P."""
    return _igamma("special.gammaincc", True, input, other)


def igamma(input: Any, other: Any) -> Tensor:
    """torch.igamma: special.gammainc."""
    return _igamma("igamma", False, input, other)


def igammac(input: Any, other: Any) -> Tensor:
    """torch.igammac: special.gammaincc."""
    return _igamma("igammac", True, input, other)


class Zeta(Function):
    """The Hurwitz zeta function zeta(x, q) (zeta_array, float64 inside), x and q broadcast. d/dq = -x zeta(x + 1, q),
    as torch's; the derivative in x is not implemented, as torch's (backward raises)."""

    name = "special.zeta"
    quiet = True
    saved_inputs = (0, 1)

    def forward(self, x, q):
        return zeta_array(x.astype(np.float64, copy=False), q.astype(np.float64, copy=False)).astype(x.dtype,
                                                                                                       copy=False)

    def backward(self, g):
        x, q = self.saved
        if self.needs_input_grad[0]:
            raise RuntimeError("special.zeta: the derivative for 'zeta' in its first argument (x) is not implemented, "
                               "as in torch; detach x")
        return None, ops.unbroadcast(-g * x * Zeta()(x + 1, q), q.shape)


def zeta(input: Any, other: Any) -> Tensor:
    """torch.special.zeta: the Hurwitz zeta function sum over k >= 0 of (other + k)^-input (zeta_array)."""
    return Zeta()(*_float_operands("special.zeta", input, other))


# The three-term recurrences p_{k+1} = A_k(x) p_k - B_k p_{k-1}, p_0 = 1, of the orthogonal polynomial families
# (torch's ATen/native/Math.h *_polynomial_*_forward): p_1(x), then p_{k+1} from (x, k, p_k, p_{k-1})
_RECURRENCES = {
    "t": (lambda x: x, lambda x, k, q, p: (x + x) * q - p),
    "u": (lambda x: x + x, lambda x, k, q, p: (x + x) * q - p),
    "v": (lambda x: x + x - 1, lambda x, k, q, p: (x + x) * q - p),
    "w": (lambda x: x + x + 1, lambda x, k, q, p: (x + x) * q - p),
    "h": (lambda x: x + x, lambda x, k, q, p: (x + x) * q - 2 * k * p),
    "he": (lambda x: x, lambda x, k, q, p: x * q - k * p),
    "l": (lambda x: 1 - x, lambda x, k, q, p: ((2 * k + (1 - x)) * q - k * p) / (k + 1)),
    "p": (lambda x: x, lambda x, k, q, p: ((2 * k + 1) * x * q - k * p) / (k + 1)),
}


def _recurrence(kind: str, x: Any, n: Any) -> Any:
    """p_n(x) by the family's recurrence, each element stepped until its own n (or a nan, as torch's loop)."""
    xp = xp_of(x)
    first, step = _RECURRENCES[kind]
    p, q = xp.ones_like(x), first(x)
    top = int(n.max()) if n.size else 0
    for k in range(1, top):
        active = (k < n) & ~xp.isnan(q)
        if not bool(active.any()):
            break
        p, q = xp.where(active, q, p), xp.where(active, step(x, k, q, p), q)
    return xp.where(n == 0, 1.0, q)


def _chebyshev_trig(kind: str, x: Any, n: Any) -> Any:
    """T, U, V, W for |x| < 1 through theta = acos x: cos(n theta), sin((n+1) theta)/sin theta,
    cos((n+1/2) theta)/cos(theta/2), sin((n+1/2) theta)/sin(theta/2), with torch's values where the divisor is
    degenerate."""
    xp = xp_of(x)
    theta = xp.arccos(x)
    sign = xp.where(n % 2 == 0, 1.0, -1.0)
    if kind == "t":
        return xp.cos(n * theta)
    if kind == "u":
        s = xp.sin(theta)
        return xp.where(s != 0, xp.sin((n + 1) * theta) / xp.where(s != 0, s, 1.0),
                        (n + 1) * xp.cos((n + 1) * theta) / x)
    half = theta / 2
    if kind == "v":
        return xp.where(xp.sin(half) != 1, xp.cos((n + 0.5) * theta) / xp.cos(half), sign * (2 * n + 1))
    s = xp.sin(half)
    return xp.where(xp.cos(half) != 1, xp.sin((n + 0.5) * theta) / xp.where(s != 0, s, 1.0),
                    xp.where(x > 0, 2 * n + 1, sign))


# degree above which torch takes T, U, V, W on |x| < 1 from the trigonometric form (unshifted, shifted)
_TRIG_FROM = {"t": (6, 6), "u": (8, 6), "v": (8, 6), "w": (8, 4)}


def polynomial_array(kind: str, x: Any, n: Any, shifted: bool = False, hermite_limit: int = 512) -> Any:
    """The orthogonal polynomial of family ``kind`` (Chebyshev t, u, v, w; Hermite h, he; Laguerre l; Legendre p)
    and degree n (a float64 array truncated to an integer, as torch's cast: -0.5 is 0) at x, broadcast, with torch's
    cases: 0 for n < 0 (and for nan or |n| >= 2^63, which torch's cast makes negative); the closed values at x = +-1
    (Chebyshev, Legendre) and 1 at x = 0 (Laguerre); Chebyshev's trigonometric form on |x| < 1 past a degree;
    nan for Hermite degrees past hermite_limit (torch's 512 in float64, 128 in float32); else the recurrence.
    shifted: the Chebyshev polynomial at 2x - 1."""
    xp = xp_of(x)
    x, n = xp.broadcast_arrays(x, n)
    n = xp.trunc(n)
    negative = ~(xp.abs(n) < 2.0 ** 63) | (n < 0)
    n = xp.where(negative, 0.0, n)
    if shifted:
        x = x + x - 1
    y = _recurrence(kind, x, xp.where(n > hermite_limit, 0.0, n) if kind in ("h", "he") else n)
    sign = xp.where(n % 2 == 0, 1.0, -1.0)
    if kind in _TRIG_FROM:
        inside = (n > _TRIG_FROM[kind][shifted]) & (xp.abs(x) < 1)
        y = xp.where(inside, _chebyshev_trig(kind, xp.where(inside, x, 0.5), n), y)
        at_one = {"t": 1.0, "u": n + 1, "v": 1.0, "w": 2 * n + 1}[kind]
        at_minus_one = sign * {"t": 1.0, "u": n + 1, "v": 2 * n + 1, "w": 1.0}[kind]
        y = xp.where(x == 1, at_one, xp.where(x == -1, at_minus_one, y))
    elif kind == "p":
        y = xp.where(x == 1, 1.0, xp.where(x == -1, sign, y))
    elif kind == "l":
        y = xp.where(x == 0, 1.0, y)
    else:
        y = xp.where(n > hermite_limit, xp.nan, y)
    return xp.where(negative, 0.0, y)


def _polynomial(name: str, kind: str, shifted: bool, input: Any, n: Any) -> Tensor:
    """torch.special's polynomial ``name`` of (input, n), either a number, in their common float dtype; as torch's,
    not differentiable (the result records no graph)."""
    x, k = _float_operands(f"special.{name}", input, n)
    limit = 512 if x.dtype == np.float64 else 128 if x.dtype == np.float32 else 1024
    out = backend.quietly(polynomial_array, kind, x.array.astype(np.float64, copy=False),
                          k.array.astype(np.float64, copy=False), shifted, limit)
    return Tensor._make(out.astype(x.dtype, copy=False))


def chebyshev_polynomial_t(input: Any, n: Any) -> Tensor:
    """torch.special.chebyshev_polynomial_t: T_n(x), cos(n acos x) on [-1, 1] (polynomial_array)."""
    return _polynomial("chebyshev_polynomial_t", "t", False, input, n)


def chebyshev_polynomial_u(input: Any, n: Any) -> Tensor:
    """torch.special.chebyshev_polynomial_u: U_n(x), the Chebyshev polynomial of the second kind."""
    return _polynomial("chebyshev_polynomial_u", "u", False, input, n)


def chebyshev_polynomial_v(input: Any, n: Any) -> Tensor:
    """torch.special.chebyshev_polynomial_v: V_n(x), the Chebyshev polynomial of the third kind."""
    return _polynomial("chebyshev_polynomial_v", "v", False, input, n)


def chebyshev_polynomial_w(input: Any, n: Any) -> Tensor:
    """torch.special.chebyshev_polynomial_w: W_n(x), the Chebyshev polynomial of the fourth kind."""
    return _polynomial("chebyshev_polynomial_w", "w", False, input, n)


def shifted_chebyshev_polynomial_t(input: Any, n: Any) -> Tensor:
    """torch.special.shifted_chebyshev_polynomial_t: T_n(2x - 1), on [0, 1]."""
    return _polynomial("shifted_chebyshev_polynomial_t", "t", True, input, n)


def shifted_chebyshev_polynomial_u(input: Any, n: Any) -> Tensor:
    """torch.special.shifted_chebyshev_polynomial_u: U_n(2x - 1)."""
    return _polynomial("shifted_chebyshev_polynomial_u", "u", True, input, n)


def shifted_chebyshev_polynomial_v(input: Any, n: Any) -> Tensor:
    """torch.special.shifted_chebyshev_polynomial_v: V_n(2x - 1)."""
    return _polynomial("shifted_chebyshev_polynomial_v", "v", True, input, n)


def shifted_chebyshev_polynomial_w(input: Any, n: Any) -> Tensor:
    """torch.special.shifted_chebyshev_polynomial_w: W_n(2x - 1)."""
    return _polynomial("shifted_chebyshev_polynomial_w", "w", True, input, n)


def hermite_polynomial_h(input: Any, n: Any) -> Tensor:
    """torch.special.hermite_polynomial_h: the physicists' Hermite polynomial H_n(x)."""
    return _polynomial("hermite_polynomial_h", "h", False, input, n)


def hermite_polynomial_he(input: Any, n: Any) -> Tensor:
    """torch.special.hermite_polynomial_he: the probabilists' Hermite polynomial He_n(x)."""
    return _polynomial("hermite_polynomial_he", "he", False, input, n)


def laguerre_polynomial_l(input: Any, n: Any) -> Tensor:
    """torch.special.laguerre_polynomial_l: the Laguerre polynomial L_n(x)."""
    return _polynomial("laguerre_polynomial_l", "l", False, input, n)


def legendre_polynomial_p(input: Any, n: Any) -> Tensor:
    """torch.special.legendre_polynomial_p: the Legendre polynomial P_n(x)."""
    return _polynomial("legendre_polynomial_p", "p", False, input, n)


# Cephes' j0.c, j1.c (J0, J1, Y0, Y1) and airy.c (Ai) rational approximations, as torch's Math.h carries them:
# numerators and denominators highest power first, for x <= 5 in x^2 and beyond in 25/x^2 (with the phase x - pi/4
# or x - 3 pi/4); Ai's in 1/zeta and z^2 for |x| >= 2.09, a power series between. The *_RQ, *_QQ, *_YQ, AFD and
# AGD denominators are monic with the leading 1 left out, evaluated by _p1evl as Cephes does (torch's Math.h takes
# them as written, without that 1: up to 5e-5 relative off, at x ~ 5 and x ~ -2.3).
_J0_PP = _coefficients("7.96936729297347051624e-04 8.28352392107440799803e-02 1.23953371646414299388e+00 "
                       "5.44725003058768775090e+00 8.74716500199817011941e+00 5.30324038235394892183e+00 "
                       "9.99999999999999997821e-01")
_J0_PQ = _coefficients("9.24408810558863637013e-04 8.56288474354474431428e-02 1.25352743901058953537e+00 "
                       "5.47097740330417105182e+00 8.76190883237069594232e+00 5.30605288235394617618e+00 "
                       "1.00000000000000000218e+00")
_J0_QP = _coefficients("-1.13663838898469149931e-02 -1.28252718670509318512e+00 -1.95539544257735972385e+01 "
                       "-9.32060152123768231369e+01 -1.77681167980488050595e+02 -1.47077505154951170175e+02 "
                       "-5.14105326766599330220e+01 -6.05014350600728481186e+00")
_J0_QQ = _coefficients("6.43178256118178023184e+01 8.56430025976980587198e+02 3.88240183605401609683e+03 "
                       "7.24046774195652478189e+03 5.93072701187316984827e+03 2.06209331660327847417e+03 "
                       "2.42005740240291393179e+02")
_J0_RP = _coefficients("-4.79443220978201773821e+09 1.95617491946556577543e+12 -2.49248344360967716204e+14 "
                       "9.70862251047306323952e+15")
_J0_RQ = _coefficients("4.99563147152651017219e+02 1.73785401676374683123e+05 4.84409658339962045305e+07 "
                       "1.11855537045356834862e+10 2.11277520115489217587e+12 3.10518229857422583814e+14 "
                       "3.18121955943204943306e+16 1.71086294081043136091e+18")
_J1_PP = _coefficients("7.62125616208173112003e-04 7.31397056940917570436e-02 1.12719608129684925192e+00 "
                       "5.11207951146807644818e+00 8.42404590141772420927e+00 5.21451598682361504063e+00 "
                       "1.00000000000000000254e+00")
_J1_PQ = _coefficients("5.71323128072548699714e-04 6.88455908754495404082e-02 1.10514232634061696926e+00 "
                       "5.07386386128601488557e+00 8.39985554327604159757e+00 5.20982848682361821619e+00 "
                       "9.99999999999999997461e-01")
_J1_QP = _coefficients("5.10862594750176621635e-02 4.98213872951233449420e+00 7.58238284132545283818e+01 "
                       "3.66779609360150777800e+02 7.10856304998926107277e+02 5.97489612400613639965e+02 "
                       "2.11688757100572135698e+02 2.52070205858023719784e+01")
_J1_QQ = _coefficients("7.42373277035675149943e+01 1.05644886038262816351e+03 4.98641058337653607651e+03 "
                       "9.56231892404756170795e+03 7.99704160447350683650e+03 2.82619278517639096600e+03 "
                       "3.36093607810698293419e+02")
_J1_RP = _coefficients("-8.99971225705559398224e+08 4.52228297998194034323e+11 -7.27494245221818276015e+13 "
                       "3.68295732863852883286e+15")
_J1_RQ = _coefficients("6.20836478118054335476e+02 2.56987256757748830383e+05 8.35146791431949253037e+07 "
                       "2.21511595479792499675e+10 4.74914122079991414898e+12 7.84369607876235854894e+14 "
                       "8.95222336184627338078e+16 5.32278620332680085395e+18")
_Y0_PP = _coefficients("7.96936729297347051624e-04 8.28352392107440799803e-02 1.23953371646414299388e+00 "
                       "5.44725003058768775090e+00 8.74716500199817011941e+00 5.30324038235394892183e+00 "
                       "9.99999999999999997821e-01")
_Y0_PQ = _coefficients("9.24408810558863637013e-04 8.56288474354474431428e-02 1.25352743901058953537e+00 "
                       "5.47097740330417105182e+00 8.76190883237069594232e+00 5.30605288235394617618e+00 "
                       "1.00000000000000000218e+00")
_Y0_QP = _coefficients("-1.13663838898469149931e-02 -1.28252718670509318512e+00 -1.95539544257735972385e+01 "
                       "-9.32060152123768231369e+01 -1.77681167980488050595e+02 -1.47077505154951170175e+02 "
                       "-5.14105326766599330220e+01 -6.05014350600728481186e+00")
_Y0_QQ = _coefficients("6.43178256118178023184e+01 8.56430025976980587198e+02 3.88240183605401609683e+03 "
                       "7.24046774195652478189e+03 5.93072701187316984827e+03 2.06209331660327847417e+03 "
                       "2.42005740240291393179e+02")
_Y0_YP = _coefficients("1.55924367855235737965e+04 -1.46639295903971606143e+07 5.43526477051876500413e+09 "
                       "-9.82136065717911466409e+11 8.75906394395366999549e+13 -3.46628303384729719441e+15 "
                       "4.42733268572569800351e+16 -1.84950800436986690637e+16")
_Y0_YQ = _coefficients("1.04128353664259848412e+03 6.26107330137134956842e+05 2.68919633393814121987e+08 "
                       "8.64002487103935000337e+10 2.02979612750105546709e+13 3.17157752842975028269e+15 "
                       "2.50596256172653059228e+17")
_Y1_PP = _coefficients("7.62125616208173112003e-04 7.31397056940917570436e-02 1.12719608129684925192e+00 "
                       "5.11207951146807644818e+00 8.42404590141772420927e+00 5.21451598682361504063e+00 "
                       "1.00000000000000000254e+00")
_Y1_PQ = _coefficients("5.71323128072548699714e-04 6.88455908754495404082e-02 1.10514232634061696926e+00 "
                       "5.07386386128601488557e+00 8.39985554327604159757e+00 5.20982848682361821619e+00 "
                       "9.99999999999999997461e-01")
_Y1_QP = _coefficients("5.10862594750176621635e-02 4.98213872951233449420e+00 7.58238284132545283818e+01 "
                       "3.66779609360150777800e+02 7.10856304998926107277e+02 5.97489612400613639965e+02 "
                       "2.11688757100572135698e+02 2.52070205858023719784e+01")
_Y1_QQ = _coefficients("7.42373277035675149943e+01 1.05644886038262816351e+03 4.98641058337653607651e+03 "
                       "9.56231892404756170795e+03 7.99704160447350683650e+03 2.82619278517639096600e+03 "
                       "3.36093607810698293419e+02")
_Y1_YP = _coefficients("1.26320474790178026440e+09 -6.47355876379160291031e+11 1.14509511541823727583e+14 "
                       "-8.12770255501325109621e+15 2.02439475713594898196e+17 -7.78877196265950026825e+17")
_Y1_YQ = _coefficients("5.94301592346128195359e+02 2.35564092943068577943e+05 7.34811944459721705660e+07 "
                       "1.87601316108706159478e+10 3.88231277496238566008e+12 6.20557727146953693363e+14 "
                       "6.87141087355300489866e+16 3.97270608116560655612e+18")
_AIRY_AN = _coefficients("3.46538101525629032477e-01 1.20075952739645805542e+01 7.62796053615234516538e+01 "
                         "1.68089224934630576269e+02 1.59756391350164413639e+02 7.05360906840444183113e+01 "
                         "1.40264691163389668864e+01 9.99999999999999995305e-01")
_AIRY_AD = _coefficients("5.67594532638770212846e-01 1.47562562584847203173e+01 8.45138970141474626562e+01 "
                         "1.77318088145400459522e+02 1.64234692871529701831e+02 7.14778400825575695274e+01 "
                         "1.40959135607834029598e+01 1.00000000000000000470e+00")
_AIRY_AFN = _coefficients("-1.31696323418331795333e-01 -6.26456544431912369773e-01 -6.93158036036933542233e-01 "
                          "-2.79779981545119124951e-01 -4.91900132609500318020e-02 -4.06265923594885404393e-03 "
                          "-1.59276496239262096340e-04 -2.77649108155232920844e-06 -1.67787698489114633780e-08")
_AIRY_AFD = _coefficients("1.33560420706553243746e+01 3.26825032795224613948e+01 2.67367040941499554804e+01 "
                          "9.18707402907259625840e+00 1.47529146771666414581e+00 1.15687173795188044134e-01 "
                          "4.40291641615211203805e-03 7.54720348287414296618e-05 4.51850092970580378464e-07")
_AIRY_AGN = _coefficients("1.97339932091685679179e-02 3.91103029615688277255e-01 1.06579897599595591108e+00 "
                          "9.39169229816650230044e-01 3.51465656105547619242e-01 6.33888919628925490927e-02 "
                          "5.85804113048388458567e-03 2.82851600836737019778e-04 6.98793669997260967291e-06 "
                          "8.11789239554389293311e-08 3.41551784765923618484e-10")
_AIRY_AGD = _coefficients("9.30892908077441974853e+00 1.98352928718312140417e+01 1.55646628932864612953e+01 "
                          "5.47686069422975497931e+00 9.54293611618961883998e-01 8.64580826352392193095e-02 "
                          "4.12656523824222607191e-03 1.01259085116509135510e-04 1.17166733214413521882e-06 "
                          "4.91834570062930015649e-09")


def _polevl(t: Any, coefficients: Sequence[float]) -> Any:
    """sum c_i t^(n-i) by Horner, highest power first (Cephes' polevl)."""
    xp = xp_of(t)
    r = xp.zeros_like(t)
    for c in coefficients:
        r = r * t + c
    return r


def _p1evl(t: Any, coefficients: Sequence[float]) -> Any:
    """t^n + sum c_i t^(n-1-i), the monic polynomial whose leading 1 Cephes' tables leave out (Cephes' p1evl)."""
    return _polevl(t, (1.0,) + tuple(coefficients))


def _bessel_far(b: Any, order: int, second: bool, tables: Tuple[Sequence[float], ...]) -> Any:
    """J or Y (second) of order 0 or 1 for x > 5 by Hankel's asymptotic form: sqrt(2/(pi x)) (P cos(phase) -
    5/x Q sin(phase)), sin and cos swapped (and the sign of the Q term) for Y, P and Q rational in 25/x^2. The
    phase x - pi/4 (3 pi/4) is taken through sin x and cos x, whose argument reduction is exact: rounding x - pi/4
    itself cost ~x ulp of the phase (no digits left past 1e16)."""
    xp = xp_of(b)
    pp, pq, qp, qq = tables
    w = 25 / (b * b) if order == 0 else 5 / b * (5 / b)
    p, q = _polevl(w, pp) / _polevl(w, pq), 5 / b * (_polevl(w, qp) / _p1evl(w, qq))
    sin, cos = xp.sin(b), xp.cos(b)
    s, c = (sin - cos, sin + cos) if order == 0 else (-sin - cos, sin - cos)
    s, c = s * math.sqrt(0.5), c * math.sqrt(0.5)
    y = p * s + q * c if second else p * c - q * s
    return y * math.sqrt(2 / math.pi) / xp.sqrt(b)


def bessel_j0_array(x: Any) -> Any:
    """J0 of a float64 array (even), Cephes' j0: (x^2 - r1^2)(x^2 - r2^2) R(x^2) up to 5 (1 - x^2/4 below 1e-5,
    r1, r2 its first zeros), Hankel's form beyond; nan at +-inf and nan, as torch's."""
    xp = xp_of(x)
    a = xp.abs(x)
    z = xp.where(a <= 5, a, 0.0) ** 2
    near = (z - 5.78318596294678452118e+00) * (z - 3.04712623436620863991e+01) * _polevl(z, _J0_RP) / _p1evl(z, _J0_RQ)
    near = xp.where(a < 1e-5, 1 - z / 4, near)
    far = _bessel_far(xp.where(a <= 5, 10.0, a), 0, False, (_J0_PP, _J0_PQ, _J0_QP, _J0_QQ))
    return xp.where(a <= 5, near, far)


def bessel_j1_array(x: Any) -> Any:
    """J1 of a float64 array (odd), Cephes' j1: x (x^2 - r1^2)(x^2 - r2^2) R(x^2) up to 5, Hankel's form beyond."""
    xp = xp_of(x)
    a = xp.abs(x)
    s = xp.where(a <= 5, a, 0.0)
    z = s * s
    near = _polevl(z, _J1_RP) / _p1evl(z, _J1_RQ) * s * (z - 1.46819706421238932572e+01) * (
        z - 4.92184563216946036703e+01)
    far = _bessel_far(xp.where(a <= 5, 10.0, a), 1, False, (_J1_PP, _J1_PQ, _J1_QP, _J1_QQ))
    y = xp.where(a <= 5, near, far)
    return xp.where(x < 0, -y, y)


def bessel_y0_array(x: Any) -> Any:
    """Y0 of a float64 array, Cephes' y0: R(x^2) + 2/pi log(x) J0(x) up to 5, Hankel's form beyond; -inf at 0,
    nan below."""
    xp = xp_of(x)
    near_x = (x > 0) & (x <= 5)
    s = xp.where(near_x, x, 1.0)
    near = _polevl(s * s, _Y0_YP) / _p1evl(s * s, _Y0_YQ) + 2 / math.pi * xp.log(s) * bessel_j0_array(s)
    far = _bessel_far(xp.where(x <= 5, 10.0, x), 0, True, (_Y0_PP, _Y0_PQ, _Y0_QP, _Y0_QQ))
    y = xp.where(x <= 5, near, far)
    return xp.where(x == 0, -xp.inf, xp.where(x < 0, xp.nan, y))


def bessel_y1_array(x: Any) -> Any:
    """Y1 of a float64 array, Cephes' y1: x R(x^2) + 2/pi (J1(x) log x - 1/x) up to 5, Hankel's form beyond; -inf
    at 0, nan below."""
    xp = xp_of(x)
    near_x = (x > 0) & (x <= 5)
    s = xp.where(near_x, x, 1.0)
    near = s * (_polevl(s * s, _Y1_YP) / _p1evl(s * s, _Y1_YQ))
    near = near + 2 / math.pi * (bessel_j1_array(s) * xp.log(s) - 1 / s)
    far = _bessel_far(xp.where(x <= 5, 10.0, x), 1, True, (_Y1_PP, _Y1_PQ, _Y1_QP, _Y1_QQ))
    y = xp.where(x <= 5, near, far)
    return xp.where(x == 0, -xp.inf, xp.where(x < 0, xp.nan, y))


def spherical_bessel_j0_array(x: Any) -> Any:
    """j0(x) = sin(x)/x of a float64 array, its Taylor polynomial below 0.5 (torch's), 0 at +-inf."""
    xp = xp_of(x)
    z = xp.where(xp.abs(x) < 0.5, x, 0.0) ** 2
    series = 1 + z * _polevl(z, (1 / 6227020800, -1 / 39916800, 1 / 362880, -1 / 5040, 1 / 120, -1 / 6))
    s = xp.where(xp.abs(x) < 0.5, 1.0, x)
    y = xp.where(xp.abs(x) < 0.5, series, xp.sin(s) / s)
    return xp.where(xp.isinf(x), 0.0, y)


def _two_product(a: Any, b: Any) -> Tuple[Any, Any]:
    """a b as p + e exactly (Dekker's product: each factor split into 26-bit halves), |a|, |b| below ~1e300."""
    def halves(v):
        t = v * 134217729.0
        hi = t - (t - v)
        return hi, v - hi
    p = a * b
    (ah, al), (bh, bl) = halves(a), halves(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


_TWO_THIRDS_LO = 3.700743415417188e-17  # 2/3 - float(2/3)


def _airy_phase(u: Any) -> Tuple[Any, Any]:
    """zeta = 2/3 u^(3/2) as hi + lo (double-double: sqrt's and both products' roundings kept), so the phase
    zeta + pi/4 keeps its absolute digits for large u (rounded, ~zeta ulp: 2e-12 at u = 1e3, 6e-7 at 1e6)."""
    xp = xp_of(u)
    s = xp.sqrt(u)
    p, e = _two_product(s, s)
    s_lo = ((u - p) - e) / (2 * s)
    q, f = _two_product(u, s)
    hi, g = _two_product(xp.full_like(q, 2 / 3), q)
    return hi, g + (2 / 3) * (f + u * s_lo) + _TWO_THIRDS_LO * q


def airy_ai_array(x: Any) -> Any:
    """Ai of a float64 array, Cephes' airy: for x < -2.09 the oscillating asymptotic form in z = 3/(2 (-x)^3/2)
    (its phase in double-double, _airy_phase: within ~3e-16 of the envelope to x ~ -1e10; rounded, as torch's, it
    cost 2e-12 at -1e3, 6e-7 at -1e6),
    for x >= 2.09 the decaying one in 1/zeta, zeta = 2 x^3/2 / 3 (0 past 103.892), between the Maclaurin series
    c1 f(x) - c2 g(x); nan at +-inf, as torch's."""
    xp = xp_of(x)
    left, right = x < -2.09, x >= 2.09
    u = xp.where(left, -x, 4.0)
    zeta = 2 * u * xp.sqrt(u) / 3
    z = 1 / zeta
    zz = z * z
    # sin and cos of the phase zeta + pi/4 = hi + (lo + pi/4): sin(hi), cos(hi) reduce hi exactly
    hi, lo = _airy_phase(xp.minimum(u, 1e200))
    hi = xp.where(u > 1e200, zeta, hi)
    c, s = xp.cos(lo + 0.25 * math.pi), xp.sin(lo + 0.25 * math.pi)
    sin_t, cos_t = xp.sin(hi) * c + xp.cos(hi) * s, xp.cos(hi) * c - xp.sin(hi) * s
    lo = 5.64189583547756286948e-01 / xp.sqrt(xp.sqrt(u)) * (
        sin_t * (1 + zz * _polevl(zz, _AIRY_AFN) / _p1evl(zz, _AIRY_AFD))
        - cos_t * (z * _polevl(zz, _AIRY_AGN) / _p1evl(zz, _AIRY_AGD)))
    v = xp.where(right & (x <= 103.892), x, 4.0)
    zeta = 2 * v * xp.sqrt(v) / 3
    hi = 5.64189583547756286948e-01 * (_polevl(1 / zeta, _AIRY_AN) / _polevl(1 / zeta, _AIRY_AD)) / (
        2 * xp.sqrt(xp.sqrt(v)) * xp.exp(zeta))
    w = xp.where(left | right | xp.isnan(x), 0.0, x)
    f, g, m, n, k = xp.ones_like(w), w.copy(), xp.ones_like(w), w.copy(), 1.0
    cube = w * w * w
    for _ in range(200):
        m = m * cube / (k + 1) / (k + 2)
        n = n * cube / (k + 2) / (k + 3)
        f, g = f + m, g + n
        k += 3
        if not bool((xp.abs(m / f) > np.finfo(np.float64).eps).any()):
            break
    mid = 0.355028053887817239260 * f - 0.258819403792806798405 * g
    y = xp.where(left, lo, xp.where(right, xp.where(x > 103.892, 0.0, hi), mid))
    return xp.where(xp.isinf(x) | xp.isnan(x), xp.nan, y)


def bessel_j0(input: Tensor) -> Tensor:
    """torch.special.bessel_j0: the Bessel function of the first kind J0 (Cephes' j0); not differentiable (as
    torch's: the result records no graph)."""
    return _no_grad("special.bessel_j0", bessel_j0_array, input)


def bessel_j1(input: Tensor) -> Tensor:
    """torch.special.bessel_j1: J1 (Cephes' j1); not differentiable (as torch's)."""
    return _no_grad("special.bessel_j1", bessel_j1_array, input)


def bessel_y0(input: Tensor) -> Tensor:
    """torch.special.bessel_y0: the Bessel function of the second kind Y0 (Cephes' y0): -inf at 0, nan below; not
    differentiable (as torch's)."""
    return _no_grad("special.bessel_y0", bessel_y0_array, input)


def bessel_y1(input: Tensor) -> Tensor:
    """torch.special.bessel_y1: Y1 (Cephes' y1): -inf at 0, nan below; not differentiable (as torch's)."""
    return _no_grad("special.bessel_y1", bessel_y1_array, input)


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """torch.special.spherical_bessel_j0: sin(x)/x (1 at 0); not differentiable (as torch's)."""
    return _no_grad("special.spherical_bessel_j0", spherical_bessel_j0_array, input)


def airy_ai(input: Tensor) -> Tensor:
    """torch.special.airy_ai: the Airy function Ai (Cephes' airy); not differentiable (as torch's)."""
    return _no_grad("special.airy_ai", airy_ai_array, input)
