"""Token streams for language modelling: a character vocabulary and truncated-BPTT batches.

A corpus of N tokens is cut into B parallel streams (an (N // B, B) array, time-major);
``bptt_batches`` walks them in chunks of k steps, so the hidden state at the end of one
chunk is the right initial state for the next (carry it over, detached).
"""
from __future__ import annotations

from typing import Iterator, List, Sequence, Tuple

import numpy as np

from .tensor import Tensor


class CharVocab:
    """Maps the characters of a text to ids 0..V-1 (sorted, so the mapping is reproducible)."""

    def __init__(self, text: str) -> None:
        if not text:
            raise ValueError("CharVocab: the text is empty")
        self.chars: List[str] = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"CharVocab.encode: characters not in the vocabulary: {unknown[:10]!r}")
        return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def batchify(tokens: np.ndarray, batch_size: int) -> np.ndarray:
    """(N,) ids -> (N // B, B): B contiguous streams side by side, the tail dropped."""
    tokens = np.asarray(tokens)
    n = len(tokens) // batch_size
    if n < 2:
        raise ValueError(f"batchify: {len(tokens)} tokens are too few for batch_size={batch_size}")
    return tokens[: n * batch_size].reshape(batch_size, n).T.copy()


def bptt_batches(streams: np.ndarray, seq_len: int) -> Iterator[Tuple[Tensor, Tensor]]:
    """(inputs, targets) chunks of shape (k, B), k <= seq_len, targets shifted one step ahead."""
    if seq_len <= 0:
        raise ValueError(f"bptt_batches: seq_len must be positive, got {seq_len}")
    for start in range(0, len(streams) - 1, seq_len):
        k = min(seq_len, len(streams) - 1 - start)
        yield Tensor(streams[start:start + k]), Tensor(streams[start + 1:start + 1 + k])
