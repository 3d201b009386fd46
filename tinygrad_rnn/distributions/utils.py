"""torch.distributions.utils: the helpers distributions are written with (broadcast_all, the probs/logits
conversions, clamp_probs, lazy_property, and the lower-triangle packing of CorrCholeskyTransform)."""
from .distribution import broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits
from .transforms import tril_matrix_to_vec, vec_to_tril_matrix

euler_constant = 0.57721566490153286060

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]
