"""Complex tensors: the ops that make, take apart and look into them (tg.complex, tg.polar, real, imag, conj,
angle, view_as_real, view_as_complex), with torch's gradients.

torch's convention for a real loss L of z = x + iy: z.grad is dL/dx + i dL/dy (the conjugate Wirtinger
derivative), so the backward of an op passes grad * conj(f'(z)) for a holomorphic f, and a real input of a complex
op gets the real part of its gradient. Which ops take complex tensors at all is decided by tensor.complex_check:
only functions registered with ``complex_ok`` (here, and the ops marked in ops.py, composed.py, linalg.py,
creation.py and nn.functional's linear: the README lists them); every other op refuses complex input with a
ComplexNotSupportedError naming it.
"""
from __future__ import annotations

import numpy as np

from .backend import xp_of
from .ops import Cast, _const, unbroadcast
from .tensor import (Function, Tensor, _complex_of, _input, _is_sparse, complex_check, complex_ok, dtype_name,
                     node_named)

__all__ = ["complex", "polar", "view_as_real", "view_as_complex", "view_as_real_copy", "view_as_complex_copy",
           "is_conj", "is_neg", "resolve_conj", "resolve_neg", "real", "imag", "conj", "conj_physical", "angle",
           "is_complex"]


def _part_dtype(dt: np.dtype) -> np.dtype:
    """The float dtype of a complex dtype's parts (complex64: float32)."""
    return np.dtype(np.float32 if dt == np.complex64 else np.float64)


@complex_ok
class Real(Function):
    """z.real: as a copy (torch's is a view); the gradient of a real g is g + 0i."""

    name = "real"
    saves_nothing = True

    def forward(self, z):
        complex_check(z.dtype)
        self.dtype = z.dtype
        return z.real.copy()

    def backward(self, g):
        return (Cast(self.dtype)(g),)


@complex_ok
class Imag(Function):
    """z.imag (a copy); the gradient of a real g is 0 + ig."""

    name = "imag"
    saves_nothing = True

    def forward(self, z):
        complex_check(z.dtype)
        return z.imag.copy()

    def backward(self, g):
        return (ComplexFromParts()(_const(xp_of(g.array).zeros_like(g.array)), g),)


@complex_ok
class Conj(Function):
    """conj(z), whose gradient is conj(g)."""

    name = "conj"
    saves_nothing = True

    def forward(self, z):
        return z.conj()

    def backward(self, g):
        return (Conj()(g),)


@complex_ok
class Angle(Function):
    """arg(z), atan2(y, x); its gradient g * i z / |z|^2 (dL/dx + i dL/dy of atan2), 0 at z = 0, as torch's."""

    name = "angle"
    saved_inputs = (0,)

    def forward(self, z):
        complex_check(z.dtype)
        return xp_of(z).angle(z)

    def backward(self, g):
        (z,) = self.saved
        r2 = (z * z.conj()).real
        zero = r2 == 0
        scale = g / r2.masked_fill(zero, 1)
        return ((z * 1j) * scale.masked_fill(zero, 0),)


@complex_ok
class ComplexAbs(Function):
    """|z| of a complex z; its gradient g * z / |z| (0 at z = 0, torch's sgn), in Tensor ops for higher orders."""

    name = "abs"
    saved_inputs = (0,)

    def forward(self, z):
        complex_check(z.dtype)
        return abs(z)

    def backward(self, g):
        (z,) = self.saved
        r = ComplexAbs()(z)
        return (g * (z / r.masked_fill(r == 0, 1)),)


@complex_ok
class ComplexFromParts(Function):
    """real + i imag of two float tensors of one dtype (torch.complex); the gradients are g's real and imaginary
    parts."""

    name = "complex"
    saves_nothing = True

    def forward(self, re, im):
        if re.dtype != im.dtype or re.dtype.kind != "f" or re.dtype == np.float16:
            raise TypeError("complex: expected both inputs to be torch.float32 or torch.float64 tensors of one dtype, "
                            f"got {dtype_name(re.dtype)} and {dtype_name(im.dtype)}")
        self.shapes = re.shape, im.shape
        out = re.astype(_complex_of(re.dtype))
        out = out + 1j * im  # (broadcasting, as torch.complex)
        return out.astype(_complex_of(re.dtype), copy=False)

    def backward(self, g):
        return unbroadcast(Real()(g), self.shapes[0]), unbroadcast(Imag()(g), self.shapes[1])


@complex_ok
class ViewAsReal(Function):
    """A complex tensor as a real one with a last dim of 2 (real, imaginary): a copy here, a view in torch."""

    name = "view_as_real"
    saves_nothing = True

    def forward(self, z):
        complex_check(z.dtype)
        return xp_of(z).stack([z.real, z.imag], axis=-1)

    def backward(self, g):
        return (ComplexFromParts()(g[..., 0], g[..., 1]),)


@complex_ok
class ViewAsComplex(Function):
    """A float32/float64 tensor whose last dim is 2 as complex numbers (a copy here, a view in torch)."""

    name = "view_as_complex"
    saves_nothing = True

    def forward(self, x):
        if x.dtype not in (np.float32, np.float64):
            raise TypeError("view_as_complex: is only supported for float64 and float32 tensors, but got a tensor of "
                            f"scalar type: {dtype_name(x.dtype)}")
        if x.ndim == 0 or x.shape[-1] != 2:
            raise RuntimeError(f"view_as_complex: Tensor must have a last dimension of size 2, got shape {x.shape}")
        out = x[..., 0].astype(_complex_of(x.dtype))
        out.imag = x[..., 1]
        return out

    def backward(self, g):
        return (ViewAsReal()(g),)


@complex_ok
def is_complex(input: Tensor) -> bool:
    """torch.is_complex: whether input's dtype is complex64 or complex128."""
    return _input("is_complex", input).dtype.kind == "c"


@complex_ok
def real(input: Tensor) -> Tensor:
    """torch.real: the real parts (a real tensor is returned as it is, as torch's)."""
    input = _input("real", input)
    return Real()(input) if input.dtype.kind == "c" else input


@complex_ok
def imag(input: Tensor) -> Tensor:
    """torch.imag: the imaginary parts; a real tensor is a RuntimeError, as torch's."""
    input = _input("imag", input)
    if input.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag()(input)


@complex_ok
def conj(input: Tensor) -> Tensor:
    """torch.conj: the complex conjugate (a copy here; torch's is lazy); a real tensor is returned as it is."""
    if _is_sparse(input):  # (torch's sparse COO conj: sparse.py's method)
        return input.conj()
    input = _input("conj", input)
    return Conj()(input) if input.dtype.kind == "c" else input


@complex_ok
def conj_physical(input: Tensor) -> Tensor:
    """torch.conj_physical: the complex conjugate, computed (as conj here, which is never lazy); a real tensor is
    returned as it is, as torch's."""
    input = _input("conj_physical", input)
    return Conj()(input) if input.dtype.kind == "c" else input


@complex_ok
def angle(input: Tensor) -> Tensor:
    """torch.angle: arg(z) in (-pi, pi] for complex input; for a real one pi where negative, else 0 (nan stays
    nan), with a zero gradient, as torch's."""
    input = _input("angle", input)
    if input.dtype.kind == "c":
        return Angle()(input)
    x = input._floating()
    xp = xp_of(x.array)
    out = xp.where(x.array < 0, np.pi, 0).astype(x.dtype)
    return node_named(_const(xp.where(x.array != x.array, x.array, out)) + x * 0, "angle")


@complex_ok
def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001  (torch's name)
    """torch.complex: real + i imag for two float32 or float64 tensors of one dtype (broadcast)."""
    return ComplexFromParts()(_input("complex", real, "real"), _input("complex", imag, "imag"))


@complex_ok
def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002
    """torch.polar: abs * (cos(angle) + i sin(angle)) for two float32 or float64 tensors of one dtype."""
    r, t = _input("polar", abs, "abs"), _input("polar", angle, "angle")
    return ComplexFromParts()(r * t.cos(), r * t.sin())


@complex_ok
def _view_as_real(input: Tensor, op: str) -> Tensor:
    """view_as_real and view_as_real_copy (``op`` names the caller in the errors)."""
    input = _input(op, input)
    if input.dtype.kind != "c":
        raise RuntimeError(f"{op} is only supported for complex tensors")
    return ViewAsReal()(input)


@complex_ok
def view_as_real(input: Tensor) -> Tensor:
    """torch.view_as_real: a complex tensor as a real one with a last dim of 2 (a copy here; values and gradients
    as torch's view)."""
    return _view_as_real(input, "view_as_real")


@complex_ok
def view_as_complex(input: Tensor) -> Tensor:
    """torch.view_as_complex: a float tensor whose last dim is 2 as complex numbers (a copy here)."""
    return ViewAsComplex()(_input("view_as_complex", input))


@complex_ok
def view_as_real_copy(input: Tensor) -> Tensor:
    """torch.view_as_real_copy: view_as_real's result in memory of its own (view_as_real is a copy here already)."""
    return _view_as_real(input, "view_as_real_copy")


@complex_ok
def view_as_complex_copy(input: Tensor) -> Tensor:
    """torch.view_as_complex_copy: view_as_complex's result in memory of its own (view_as_complex is a copy here)."""
    return ViewAsComplex()(_input("view_as_complex_copy", input))


# conj and neg are never lazy here (conj computes, as conj_physical): so a tensor's conjugate and negative bits are
# never set, and resolving them returns the tensor itself, as torch's do for a tensor without the bit
@complex_ok
def is_conj(input: Tensor) -> bool:
    """torch.is_conj: whether input's conjugate bit is set (never, here: conj is not lazy)."""
    _input("is_conj", input)
    return False


@complex_ok
def is_neg(input: Tensor) -> bool:
    """torch.is_neg: whether input's negative bit is set (never, here)."""
    _input("is_neg", input)
    return False


@complex_ok
def resolve_conj(input: Tensor) -> Tensor:
    """torch.resolve_conj: input with its lazy conjugation done; input itself here (it never has one)."""
    return _input("resolve_conj", input)


@complex_ok
def resolve_neg(input: Tensor) -> Tensor:
    """torch.resolve_neg: input with its lazy negation done; input itself here (it never has one)."""
    return _input("resolve_neg", input)
