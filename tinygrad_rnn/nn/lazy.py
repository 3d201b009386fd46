"""Lazy modules (torch's LazyModuleMixin): in_features / in_channels / num_features are read from the first
forward's input, the UninitializedParameters and UninitializedBuffers get their shapes then, and the module
becomes the plain class (cls_to_become). A forward pre-hook does it, so the plain class's calls cost nothing more."""
from __future__ import annotations

import itertools
from typing import Any, Dict, List, Optional

import numpy as np

from ..autograd import no_grad
from ..creation import zeros
from ..tensor import Tensor
from .layers import (BatchNorm1d, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                     ConvTranspose3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, Linear)
from .module import UninitializedBuffer, UninitializedParameter, is_lazy


class LazyModuleMixin:
    """torch's LazyModuleMixin: a load_state_dict pre-hook gives an uninitialized tensor the shape of the value
    loaded into it, and a forward pre-hook calls initialize_parameters(*args, **kwargs) at the first call, then
    removes both hooks and turns the module into cls_to_become. As in torch, an optimizer may be built on its
    parameters before that (they stay the same objects); their shapes cannot be read until then."""

    cls_to_become: Optional[type] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def _lazy_load_hook(self, state_dict: Dict[str, Any], prefix: str, *_: Any) -> None:
        """Materialize each uninitialized tensor whose key holds an initialized value, with that value's shape."""
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and t is not None and is_lazy(t) and not is_lazy(state_dict[key]):
                value = state_dict[key]
                t.materialize(tuple(getattr(value, "shape", np.shape(value))))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still uninitialized."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def _infer_parameters(self, module: Any, args: tuple, kwargs: Optional[Dict[str, Any]] = None) -> None:
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook, module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


def _shape(x: Any, op: str) -> tuple:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: the first forward's input must be a Tensor (its shape sets the module's), got "
                        f"{type(x).__name__}")
    return x.shape


class LazyLinear(LazyModuleMixin, Linear):
    """torch.nn.LazyLinear: a Linear whose in_features is the first input's last dim."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *_: Any, **__: Any) -> None:
        shape = _shape(input, "LazyLinear")
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # (loaded from a state dict: the weight's shape is known, in_features not yet)
            if shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {shape[-1]} is not equal to in_features "
                                     f"from self.weight: {self.weight.shape[-1]}")
            self.in_features = shape[-1]


class _LazyConvMixin(LazyModuleMixin):
    """torch's _LazyConvXdMixin: in_channels is the input's dim 1 (dim 0 unbatched), for _nd spatial dims."""

    in_channels: int
    out_channels: int
    groups: int
    kernel_size: tuple
    _nd: int

    def _lazy_conv(self, out_channels: int, bias: bool, device: Optional[str], dtype: Any) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def _weight_shape(self) -> tuple:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor, *_: Any, **__: Any) -> None:
        shape = _shape(input, type(self).__name__)
        if not self.has_uninitialized_params():
            return
        unbatched = self._nd + 1
        if len(shape) not in (unbatched, unbatched + 1):
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {shape}")
        self.in_channels = shape[1] if len(shape) == unbatched + 1 else shape[0]
        if self.in_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({self.in_channels}) must be divisible by groups "
                             f"({self.groups})")
        with no_grad():
            self.weight.materialize(self._weight_shape())
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


class _LazyConv(_LazyConvMixin):
    """LazyConv1d / 2d / 3d: the plain class's arguments after in_channels."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Optional[str] = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype)
        self._lazy_conv(out_channels, bias, device, dtype)

    def _weight_shape(self) -> tuple:
        return (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel_size)


class _LazyConvTranspose(_LazyConvMixin):
    """LazyConvTranspose1d / 2d / 3d: the plain class's arguments after in_channels."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device, dtype)
        self._lazy_conv(out_channels, bias, device, dtype)

    def _weight_shape(self) -> tuple:
        return (self.in_channels, self.out_channels // self.groups) + tuple(self.kernel_size)


class LazyConv1d(_LazyConv, Conv1d):
    """torch.nn.LazyConv1d: a Conv1d whose in_channels is the first input's channel dim."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """torch.nn.LazyConv2d: a Conv2d whose in_channels is the first input's channel dim."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """torch.nn.LazyConv3d: a Conv3d whose in_channels is the first input's channel dim."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """torch.nn.LazyConvTranspose1d: a ConvTranspose1d whose in_channels is the first input's channel dim."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """torch.nn.LazyConvTranspose2d: a ConvTranspose2d whose in_channels is the first input's channel dim."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """torch.nn.LazyConvTranspose3d: a ConvTranspose3d whose in_channels is the first input's channel dim."""

    cls_to_become = ConvTranspose3d


class _LazyNormMixin(LazyModuleMixin):
    """torch's _LazyNormBase: num_features is the input's dim 1 (for an unbatched InstanceNorm input too, as
    torch's); weight, bias, running_mean and running_var uninitialized until then. affine and track_running_stats
    are on by default, as torch's lazy norms (unlike InstanceNorm1d's)."""

    num_features: int
    affine: bool
    track_running_stats: bool

    def __init__(self, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Optional[str] = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = zeros((), dtype=np.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor, *_: Any, **__: Any) -> None:
        shape = _shape(input, type(self).__name__)
        if not self.has_uninitialized_params():
            return
        if len(shape) < 2:
            raise ValueError(f"{type(self).__name__}: expected an input of at least 2 dims (its dim 1 sets "
                             f"num_features), got shape {shape}")
        self.num_features = shape[1]
        lazy: List[Any] = [self.weight, self.bias] if self.affine else []
        lazy += [self.running_mean, self.running_var] if self.track_running_stats else []
        with no_grad():
            for t in lazy:
                if t is not None:
                    t.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormMixin, BatchNorm1d):
    """torch.nn.LazyBatchNorm1d: a BatchNorm1d whose num_features is the first input's dim 1."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormMixin, BatchNorm2d):
    """torch.nn.LazyBatchNorm2d: a BatchNorm2d whose num_features is the first input's dim 1."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormMixin, BatchNorm3d):
    """torch.nn.LazyBatchNorm3d: a BatchNorm3d whose num_features is the first input's dim 1."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormMixin, InstanceNorm1d):
    """torch.nn.LazyInstanceNorm1d: an InstanceNorm1d whose num_features is the first input's dim 1."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormMixin, InstanceNorm2d):
    """torch.nn.LazyInstanceNorm2d: an InstanceNorm2d whose num_features is the first input's dim 1."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormMixin, InstanceNorm3d):
    """torch.nn.LazyInstanceNorm3d: an InstanceNorm3d whose num_features is the first input's dim 1."""

    cls_to_become = InstanceNorm3d
