"""Padding variable-length sequences for the recurrent layers, like torch.nn.utils.rnn.

The layers take a padded batch with ``lengths=`` (the real length of each sequence) where torch
takes a PackedSequence; pad_sequence builds the padded batch, differentiably.
"""
from __future__ import annotations

from typing import Sequence

from ...creation import full
from ...ops import cat, stack
from ...tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """B tensors (L_b, *) -> one (T, B, *) tensor, T = max L_b ((B, T, *) with batch_first), each
    sequence followed (padding_side='right') or preceded ('left') by padding_value. Gradients reach
    each sequence's own elements. Pass ``lengths=[L_b ...]`` to the layer alongside."""
    seqs = list(sequences)
    if not seqs:
        raise ValueError("pad_sequence: no sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    first = seqs[0]
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is a {type(s).__name__}, expected a Tensor")
        if s.ndim == 0 or s.shape[1:] != first.shape[1:]:
            raise ValueError(f"pad_sequence: sequence {i} has shape {s.shape}, but every sequence must be (L, *) "
                             f"with the trailing dims of sequence 0, {first.shape[1:]}")
    seqs = [s if s.dtype == first.dtype else s.astype(first.dtype) for s in seqs]  # (the first's dtype, as torch)
    T = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        if s.shape[0] == T:
            rows.append(s)
            continue
        pad = full((T - s.shape[0],) + s.shape[1:], padding_value, dtype=s.dtype, device=s.device)
        rows.append(cat([s, pad] if padding_side == "right" else [pad, s], 0))
    return stack(rows, 0 if batch_first else 1)
