"""torch.nn.attention's backend selection for F.scaled_dot_product_attention: SDPBackend and sdpa_kernel.

There is one implementation of scaled_dot_product_attention here (softmax(q k^T * scale + mask) v with Tensor ops,
torch's MATH backend), so choosing a backend changes nothing in what it computes: sdpa_kernel checks its arguments
as torch's and lets code written for torch run unchanged.
"""
from __future__ import annotations

import contextlib
import enum
from typing import Any, Iterator, List, Union

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """torch's scaled-dot-product-attention backends, with torch's values."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends: Union[List[SDPBackend], SDPBackend], set_priority: bool = False) -> Iterator[Any]:
    """torch's context manager choosing the backends scaled_dot_product_attention may use: backends (one, or a list)
    are checked as torch's and have no effect here, where one implementation (torch's MATH) always runs."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
                             f"{type(backends).__name__}")
    for b in [backends] if isinstance(backends, SDPBackend) else backends:
        if not isinstance(b, SDPBackend):
            raise TypeError(f"sdpa_kernel: each backend must be an SDPBackend, got {type(b).__name__}")
    yield {}
