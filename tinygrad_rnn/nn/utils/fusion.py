"""Folding an eval-mode BatchNorm into the convolution or Linear before it, as torch.nn.utils.fusion: y = bn(conv(x))
becomes one conv with weight W s and bias (b - running_mean) s + beta, s = gamma / sqrt(running_var + eps) per
channel (for inference: the running statistics are frozen into the weights)."""
from __future__ import annotations

import copy
from typing import Optional, Tuple

from ...autograd import no_grad
from ...creation import ones_like, zeros_like
from ...tensor import Tensor
from ..module import Module, Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _eval_pair(op: str, first: Module, bn: Module) -> None:
    """torch's checks: both modules in eval mode, bn with running statistics."""
    if first.training or bn.training:
        raise AssertionError(f"{op}: fusion only for eval! Call .eval() on the {type(first).__name__} and the "
                             f"{type(bn).__name__} first (training: {first.training}, {bn.training})")
    if getattr(bn, "running_mean", None) is None or getattr(bn, "running_var", None) is None:
        raise AssertionError(f"{op}: bn.running_mean and bn.running_var must not be None (a {type(bn).__name__} "
                             "built with track_running_stats=True)")


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A new convolution (a deep copy of ``conv``, which is left alone) computing bn(conv(x)) of the two eval-mode
    modules, as torch.nn.utils.fuse_conv_bn_eval; transpose=True for a ConvTranspose, whose weight holds the output
    channels in dim 1."""
    _eval_pair("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Optional[Tensor], bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Optional[Tensor], bn_b: Optional[Tensor],
                         transpose: bool = False) -> Tuple[Parameter, Parameter]:
    """(weight, bias) of the convolution followed by the batch norm, as torch.nn.utils.fuse_conv_bn_weights: each
    output channel's kernel times s = bn_w / sqrt(bn_rv + bn_eps) (bn_w None: 1; the channel dim 0, or 1 with
    transpose), bias (conv_b - bn_rm) s + bn_b (None: 0). New leaf Parameters in conv_w's and conv_b's dtypes (the
    bias in conv_w's when conv_b is None), requires_grad copied from them (False for a missing conv_b, as torch's)."""
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    with no_grad():
        conv_b = zeros_like(bn_rm) if conv_b is None else conv_b
        bn_w = ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = zeros_like(bn_rm) if bn_b is None else bn_b
        rsqrt = (bn_rv + bn_eps).rsqrt()
        shape = ((1, -1) if transpose else (-1, 1)) + (1,) * (conv_w.ndim - 2)
        w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(dtype=w_dtype)
        b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A new Linear (a deep copy of ``linear``) computing bn(linear(x)) of the two eval-mode modules, as
    torch.nn.utils.fuse_linear_bn_eval; bn.num_features must be linear.out_features or 1."""
    _eval_pair("fuse_linear_bn_eval", linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"fuse_linear_bn_eval: to fuse, linear.out_features == bn.num_features or "
                             f"bn.num_features == 1, got linear.out_features={linear.out_features} and "
                             f"bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Optional[Tensor], bn_rm: Tensor, bn_rv: Tensor,
                           bn_eps: float, bn_w: Tensor, bn_b: Tensor) -> Tuple[Parameter, Parameter]:
    """(weight, bias) of the Linear followed by the batch norm, as torch.nn.utils.fuse_linear_bn_weights: row o of
    the weight times s = bn_w / sqrt(bn_rv + bn_eps), bias (linear_b - bn_rm) s + bn_b (linear_b None: 0). bn_w and
    bn_b are required, as torch's (an affine BatchNorm's). New leaf Parameters, dtypes and requires_grad as
    fuse_conv_bn_weights'."""
    for name, t in (("bn_w", bn_w), ("bn_b", bn_b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"fuse_linear_bn_weights: {name} must be a Tensor (an affine BatchNorm's), got "
                            f"{type(t).__name__}")
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    with no_grad():
        linear_b = zeros_like(bn_rm) if linear_b is None else linear_b
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
        b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)
