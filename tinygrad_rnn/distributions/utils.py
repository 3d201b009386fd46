"""torch.distributions.utils: the helpers distributions are written with (broadcast_all, the probs/logits
conversions, clamp_probs, lazy_property, and the lower-triangle packing of CorrCholeskyTransform), and the private
ones programs import from it (_standard_normal, _sum_rightmost, is_tensor_like)."""
from typing import Any, Optional, Sequence

from ..creation import empty
from ..tensor import Tensor
from .distribution import broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits
from .distribution import sum_rightmost
from .transforms import tril_matrix_to_vec, vec_to_tril_matrix

euler_constant = 0.57721566490153286060
_sum_rightmost = sum_rightmost  # (torch's private name)


def _standard_normal(shape: Sequence[int], dtype: Any, device: Optional[Any]) -> Tensor:
    """N(0, 1) draws of shape in dtype on device, from the package generator (torch's private helper, which
    custom distributions' sample / rsample call: drqv2's TruncatedNormal)."""
    return empty(tuple(shape), dtype=dtype, device=device).normal_()


def is_tensor_like(inp: Any) -> bool:
    """Whether inp is a Tensor (or has a ``__torch_function__``, as torch's rule reads)."""
    return isinstance(inp, Tensor) or hasattr(inp, "__torch_function__")


__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]
