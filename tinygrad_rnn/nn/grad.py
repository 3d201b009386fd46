"""torch.nn.grad: a convolution's gradients with respect to its input and to its weight, given the gradient of its
output, for code that writes a convolution's backward by hand (a custom autograd.Function, a hypernetwork).

Each is the engine's own gradient of ``F.conv{1,2,3}d``: the convolution is linear in each argument, so the result
does not depend on the values standing in for the other one, only on its shape. The results are differentiable
(with respect to the weight or input given, and to ``grad_output``) when grad mode is on, as torch's."""
from typing import Sequence, Union

from .. import autograd
from ..creation import zeros
from ..tensor import Tensor, _RuntimeValueError
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]

_Size = Union[int, Sequence[int]]


def _gradient(op: str, d: int, wrt: str, shape: Sequence[int], other: Tensor, grad_output: Tensor, stride: _Size,
              padding: _Size, dilation: _Size, groups: int) -> Tensor:
    """dL/d(input) or dL/d(weight) of F.conv{d}d, a tensor of the given shape, from grad_output: the engine's
    gradient of the convolution at a stand-in of that shape (zeros; the result does not depend on them)."""
    shape = tuple(int(n) for n in shape)
    if len(shape) != d + 2:
        layout = "(N, C_in, ...)" if wrt == "input" else "(C_out, C_in/groups, ...)"
        raise _RuntimeValueError(f"{op}: the {wrt} size must have {d + 2} entries {layout}, got {shape}")
    if isinstance(padding, str):  # torch.nn.grad's padding is numbers only (aten's SymInt[]): no 'same'/'valid'
        raise _RuntimeValueError(f"{op}: padding must be an int or a tuple of {d} ints (torch.nn.grad takes no "
                                 f"padding string), got {padding!r}")
    free = zeros(shape, dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
    x, w = (free, other) if wrt == "input" else (other, free)
    out = getattr(F, f"conv{d}d")(x, w, None, stride, padding, dilation, groups)
    if out.shape != grad_output.shape:
        raise _RuntimeValueError(f"{op}: grad_output must have the convolution's output shape {tuple(out.shape)} "
                                 f"(the {wrt} of shape {shape} with these arguments), got {tuple(grad_output.shape)}")
    create = autograd.is_grad_enabled() and (other.requires_grad or grad_output.requires_grad)
    return autograd.grad(out, free, grad_output, create_graph=create)[0]


def conv1d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _Size = 1,
                 padding: _Size = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """dL/d input (shape input_size, (N, C_in, L)) of F.conv1d(input, weight, ...) given dL/d output."""
    return _gradient("conv1d_input", 1, "input", input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _Size = 1,
                  padding: _Size = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """dL/d weight (shape weight_size, (C_out, C_in/groups, k)) of F.conv1d(input, weight, ...) given dL/d output."""
    return _gradient("conv1d_weight", 1, "weight", weight_size, input, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _Size = 1,
                 padding: _Size = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """dL/d input (shape input_size, (N, C_in, H, W)) of F.conv2d(input, weight, ...) given dL/d output."""
    return _gradient("conv2d_input", 2, "input", input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _Size = 1,
                  padding: _Size = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """dL/d weight (shape weight_size, (C_out, C_in/groups, kH, kW)) of F.conv2d given dL/d output."""
    return _gradient("conv2d_weight", 2, "weight", weight_size, input, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: _Size = 1,
                 padding: _Size = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """dL/d input (shape input_size, (N, C_in, D, H, W)) of F.conv3d(input, weight, ...) given dL/d output."""
    return _gradient("conv3d_input", 3, "input", input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: _Size = 1,
                  padding: _Size = 0, dilation: _Size = 1, groups: int = 1) -> Tensor:
    """dL/d weight (shape weight_size, (C_out, C_in/groups, kD, kH, kW)) of F.conv3d given dL/d output."""
    return _gradient("conv3d_weight", 3, "weight", weight_size, input, grad_output, stride, padding, dilation, groups)
