"""torch.quasirandom: SobolEngine, (scrambled) Sobol sequences from Joe and Kuo's direction numbers, in gray-code
order as torch's. Unscrambled points are torch's, bit for bit; scrambling (a random linear matrix scramble and digital
shift per dimension) draws from tg's generator, so its points differ from torch's draws. Dimensions up to 1111 (the
first of torch's 21201: the table is packed in _sobol_directions.py)."""
import base64
import zlib
from typing import Any, Optional

import numpy as np

from . import backend, creation
from .tensor import Tensor, get_default_dtype

__all__ = ["SobolEngine"]

_STATE_CACHE: dict = {}


def _directions(dimension: int) -> np.ndarray:
    """The (dimension, MAXBIT) int64 direction numbers v_kj = m_kj 2^(MAXBIT - 1 - j) (torch's sobolstate), by
    Bratley and Fox's recurrence (Algorithm 659) from the packed primitive polynomials and initial numbers."""
    if "table" not in _STATE_CACHE:
        from ._sobol_directions import DIMENSIONS, PACKED
        raw = zlib.decompress(base64.b64decode(PACKED))
        poly = np.frombuffer(raw[:4 * DIMENSIONS], "<u4").astype(np.int64)
        _STATE_CACHE["table"] = (poly, np.frombuffer(raw[4 * DIMENSIONS:], "<u2").astype(np.int64))
    poly, init = _STATE_CACHE["table"]
    maxbit = SobolEngine.MAXBIT
    ss = np.zeros((dimension, maxbit), np.int64)
    ss[0] = 1
    start = 0
    for k in range(1, dimension):
        p = int(poly[k])
        m = p.bit_length() - 1
        row = [int(v) for v in init[start:start + m]]
        start += m
        for j in range(m, maxbit):
            newv, pow2 = row[j - m], 1
            for i in range(m):
                pow2 <<= 1
                if (p >> (m - 1 - i)) & 1:
                    newv ^= pow2 * row[j - i - 1]
            row.append(newv)
        ss[k] = row
    return ss << np.arange(maxbit - 1, -1, -1, dtype=np.int64)


class SobolEngine:
    """torch.quasirandom.SobolEngine(dimension, scramble=False, seed=None): ``draw(n)`` gives the next n points of
    the dimension-d Sobol sequence in [0, 1)^d (the first is 0 unscrambled), ``draw_base2(m)`` 2^m of them (keeping
    the total a power of 2, as torch insists), ``fast_forward(n)`` skips n, ``reset()`` starts again. scramble=True:
    an Owen-style linear matrix scramble and a digital shift drawn from a generator seeded with ``seed``."""
    MAXBIT = 30
    MAXDIM = 21201
    DIMENSIONS = 1111  # (the dimensions whose direction numbers are packed here)

    def __init__(self, dimension: int, scramble: bool = False, seed: Optional[int] = None) -> None:
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]")
        if dimension > self.DIMENSIONS:
            raise ValueError(f"SobolEngine: dimension {dimension} is beyond the {self.DIMENSIONS} dimensions whose "
                             f"direction numbers are packed here (torch's table has {self.MAXDIM})")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        state = _directions(dimension)
        shift = np.zeros(dimension, np.int64)
        if scramble:
            state, shift = self._scrambled(state)
        self.sobolstate = Tensor._make(state)
        self.shift = Tensor._make(shift)
        self.quasi = self.shift.clone()
        self._first_point = (self.quasi / 2 ** self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    def _scrambled(self, state: np.ndarray) -> Any:
        """state's direction numbers times a random lower-triangular binary matrix with a unit diagonal per dimension
        (digit i of the result, from the most significant, the parity of row i against the digits), and a random
        MAXBIT-bit shift: from tg's generator, seeded with self.seed where one was given."""
        g = backend.Generator()
        if self.seed is not None:
            g.manual_seed(self.seed)
        d, bits = self.dimension, self.MAXBIT
        shift = creation.randint(2, (d, bits), generator=g).array.astype(np.int64)
        shift = shift @ (np.int64(1) << np.arange(bits, dtype=np.int64))
        ltm = np.tril(creation.randint(2, (d, bits, bits), generator=g).array.astype(np.int64), -1)
        ltm[:, np.arange(bits), np.arange(bits)] = 1
        digits = (state[:, :, None] >> np.arange(bits - 1, -1, -1, dtype=np.int64)) & 1  # (d, j, i): MSB first
        scrambled = np.einsum("dik,djk->dji", ltm, digits) & 1
        return scrambled @ (np.int64(1) << np.arange(bits - 1, -1, -1, dtype=np.int64)), shift

    def _points(self, start: int, n: int) -> np.ndarray:
        """The integer points of indices start .. start + n - 1: the shift XOR the direction numbers of the bits set
        in each index's gray code (torch's sequence, which steps by the rightmost zero bit)."""
        idx = np.arange(start, start + n, dtype=np.int64)
        gray = idx ^ (idx >> 1)
        state = self.sobolstate.array
        out = np.broadcast_to(self.shift.array, (n, self.dimension)).copy()
        for b in range(int(gray.max(initial=0)).bit_length()):
            out ^= ((gray >> b) & 1)[:, None] * state[:, b]
        return out

    def draw(self, n: int = 1, out: Optional[Tensor] = None, dtype: Any = None) -> Tensor:
        """The next n points, an (n, dimension) tensor of dtype (the default dtype unless given); into out if given."""
        dtype = get_default_dtype() if dtype is None else dtype
        ints = self._points(self.num_generated, n)
        if n:
            self.quasi = Tensor._make(ints[-1].copy())
        self.num_generated += n
        result = creation.tensor(ints * (1.0 / 2 ** self.MAXBIT), dtype=dtype)
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(self, m: int, out: Optional[Tensor] = None, dtype: Any = None) -> Tensor:
        """The next 2^m points; the total drawn must stay a power of 2 (torch's ValueError otherwise)."""
        n = 2 ** m
        total_n = self.num_generated + n
        if not (total_n & (total_n - 1) == 0):
            raise ValueError("The balance properties of Sobol' points require n to be a power of 2. "
                             f"{self.num_generated} points have been previously generated, then: "
                             f"n={self.num_generated}+2**{m}={total_n}. If you still want to do this, please use "
                             "'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> "SobolEngine":
        """Back to the first point."""
        self.quasi = self.shift.clone()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> "SobolEngine":
        """Skip the next n points."""
        if n > 0:
            self.quasi = Tensor._make(self._points(self.num_generated + n - 1, 1)[0])
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        fmt_string = [f"dimension={self.dimension}"]
        if self.scramble:
            fmt_string += ["scramble=True"]
        if self.seed is not None:
            fmt_string += [f"seed={self.seed}"]
        return self.__class__.__name__ + "(" + ", ".join(fmt_string) + ")"
