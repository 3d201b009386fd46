"""Variable-length sequences for the recurrent layers, like torch.nn.utils.rnn.

Two ways in, both differentiable: a padded batch (pad_sequence) passed with ``lengths=`` (the real
length of each sequence), or, as in torch, a PackedSequence (pack_padded_sequence, pack_sequence),
which the layers take in place of the padded input and return as their output.
"""
from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ... import backend, ops
from ...creation import full
from ...ops import cat, stack
from ...tensor import Tensor, _RuntimeValueError, host_ints
from ..fused import _check_lengths

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence", "unpack_sequence",
           "pad_sequence", "unpad_sequence", "invert_permutation"]


def invert_permutation(permutation: Optional[Tensor]) -> Optional[Tensor]:
    """torch.nn.utils.rnn.invert_permutation: the permutation q with q[p[i]] = i (None stays None), as PackedSequence
    uses for unsorted_indices."""
    if permutation is None:
        return None
    if not isinstance(permutation, Tensor) or permutation.ndim != 1 or permutation.dtype.kind not in "iu":
        raise TypeError(f"invert_permutation: expected a 1-d integer tensor, got {permutation!r}")
    xp = backend.xp_of(permutation.array)
    out = xp.empty_like(permutation.array)
    out[permutation.array] = xp.arange(permutation.shape[0], dtype=permutation.dtype)
    return Tensor(out)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """B tensors (L_b, *) -> one (T, B, *) tensor, T = max L_b ((B, T, *) with batch_first), each
    sequence followed (padding_side='right') or preceded ('left') by padding_value. Gradients reach
    each sequence's own elements. Pass ``lengths=[L_b ...]`` to the layer alongside."""
    seqs = list(sequences)
    if not seqs:
        raise _RuntimeValueError("pad_sequence: no sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    first = seqs[0]
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is a {type(s).__name__}, expected a Tensor")
        if s.ndim == 0 or s.shape[1:] != first.shape[1:]:
            raise _RuntimeValueError(f"pad_sequence: sequence {i} has shape {s.shape}, but every sequence must be "
                                     f"(L, *) with the trailing dims of sequence 0, {first.shape[1:]}")
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


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> List[Tensor]:
    """The inverse of pad_sequence: a (T, B, *) batch ((B, T, *) with batch_first) -> B tensors (L_b, *),
    each sequence's first lengths[b] steps."""
    x = _time_major(padded_sequences, batch_first, "unpad_sequence")
    lens = _check_lengths(lengths, x.shape[0], x.shape[1], "unpad_sequence", shortest=0)
    if lens is None:
        raise TypeError("unpad_sequence: lengths is required (one int per sequence)")
    return [x[:int(n), b] for b, n in enumerate(lens)]


# --------------------------------------------------------------------------- packed sequences
class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


class PackedSequence(_PackedFields):
    """A batch of variable-length sequences packed step by step, as torch's: with the sequences sorted
    longest first, ``data`` (N, *) holds step 0 of every sequence, then step 1 of those at least 2 long,
    and so on (N = the sum of the lengths, no padding); ``batch_sizes[t]`` (int64, on the CPU) is how many
    sequences have a step t; ``sorted_indices[k]`` is the input sequence that came k-th in that order
    (None when the input was sorted already) and ``unsorted_indices`` its inverse. Make one with
    pack_padded_sequence or pack_sequence; the recurrent layers take it in place of a padded input."""

    __slots__ = ()

    def __new__(cls, data: Tensor, batch_sizes: Any, sorted_indices: Optional[Any] = None,
                unsorted_indices: Optional[Any] = None) -> "PackedSequence":
        if not isinstance(data, Tensor) or data.ndim == 0:
            raise TypeError(f"PackedSequence: data must be a Tensor (N, *), got "
                            f"{getattr(data, 'shape', type(data).__name__)}")
        bs = host_ints(batch_sizes, "PackedSequence", "batch_sizes")
        if bs.ndim != 1 or not bs.size or bs.min() < 1 or np.any(np.diff(bs) > 0) or bs.sum() != data.shape[0]:
            raise ValueError(f"PackedSequence: batch_sizes must be a non-increasing 1-D run of positive counts "
                             f"summing to data's {data.shape[0]} rows, got {bs.tolist()}")
        perms = []
        for name, p in (("sorted_indices", sorted_indices), ("unsorted_indices", unsorted_indices)):
            if p is not None:
                p = host_ints(p, "PackedSequence", name)
                if p.shape != (bs[0],) or not np.array_equal(np.sort(p), np.arange(bs[0])):
                    raise ValueError(f"PackedSequence: {name} must be a permutation of 0..{bs[0] - 1}, "
                                     f"got {p.tolist()}")
            perms.append(p)
        if perms[0] is not None and perms[1] is None:
            perms[1] = np.argsort(perms[0])
        elif perms[0] is None and perms[1] is not None:
            raise ValueError("PackedSequence: unsorted_indices given without sorted_indices")
        on = [None if p is None else Tensor(backend.to_device(p, data.device)) for p in perms]
        return super().__new__(cls, data, Tensor(bs), *on)

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """data.to(...) (a device, a dtype, both); the indices follow data's device, batch_sizes stays on
        the CPU. Itself when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices)

    def _with_data(self, data: Tensor) -> "PackedSequence":
        """The same packing around other rows (a layer's output), without the checks and their host copies."""
        return _PackedFields.__new__(type(self), data, *self[1:])

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def cuda(self) -> "PackedSequence":
        return self.to("cuda")

    def float(self) -> "PackedSequence":
        return self.to(np.float32)

    def double(self) -> "PackedSequence":
        return self.to(np.float64)

    def half(self) -> "PackedSequence":
        return self.to(np.float16)

    def long(self) -> "PackedSequence":
        return self.to(np.int64)

    def int(self) -> "PackedSequence":
        return self.to(np.int32)

    def short(self) -> "PackedSequence":
        return self.to(np.int16)

    def char(self) -> "PackedSequence":
        return self.to(np.int8)

    def byte(self) -> "PackedSequence":
        return self.to(np.uint8)

    def pin_memory(self) -> "PackedSequence":
        """self: pinning is a no-op here, as Tensor.pin_memory (host arrays are what torch would pin)."""
        return self

    def is_pinned(self) -> bool:
        """False, as data.is_pinned(): nothing here lives in pinned memory."""
        return self.data.is_pinned()

    @property
    def is_cuda(self) -> bool:
        return self.data.device == "cuda"

    def _lengths(self) -> np.ndarray:
        """Each sequence's length, in sorted order (longest first)."""
        bs = self.batch_sizes.array
        return (bs[:, None] > np.arange(bs[0])).sum(0)

    def _padded(self, padding_value: float = 0.0, total_length: Optional[int] = None,
                original_order: bool = True) -> Tensor:
        """data as a padded (T, B, *) batch, its columns in the input's order (or sorted, longest first):
        each row of data written to its own (t, b), so the gradient is a gather."""
        bs, data = self.batch_sizes.array, self.data
        t, b = _steps(bs)
        if original_order and self.sorted_indices is not None:
            b = backend.to_device(self.sorted_indices.array, "cpu")[b]
        shape = (len(bs) if total_length is None else total_length, int(bs[0]))
        index = tuple(backend.to_device(i, data.device) for i in (t, b))
        out = ops.IndexAdd(shape + data.shape[1:], index, unique=True)(data)
        if padding_value == 0:
            return out
        empty = np.ones(shape, bool)
        empty[t, b] = False
        return ops.masked_fill(out, empty.reshape(shape + (1,) * (data.ndim - 1)), padding_value)


def _steps(batch_sizes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(t, b) of every packed row in data's order: step by step, the sorted sequences in turn."""
    return np.nonzero(np.arange(batch_sizes[0]) < batch_sizes[:, None])


def _time_major(x: Any, batch_first: bool, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be {'(B, T, *)' if batch_first else '(T, B, *)'}, got shape {x.shape}")
    return x.transpose(0, 1) if batch_first else x


def _pack(x: Tensor, batch_sizes: np.ndarray, sorted_indices: Optional[np.ndarray] = None) -> Tensor:
    """The packed rows of a time-major padded batch whose column sorted_indices[k] is the k-th longest."""
    t, b = _steps(batch_sizes)
    return ops.getitem(x, (t, b if sorted_indices is None else sorted_indices[b]), unique=True)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """A padded batch (T, B, *) ((B, T, *) with batch_first) and each sequence's length -> PackedSequence.
    With enforce_sorted the lengths must be non-increasing; otherwise the sequences are sorted here (stably)
    and the order is kept in sorted_indices, so that pad_packed_sequence and the layers' h_n give them back
    in the input's order. Float lengths are truncated to integers, as torch's int64 cast does.
    Differentiable in input."""
    x = _time_major(input, batch_first, "pack_padded_sequence")
    if lengths is None:
        raise TypeError("pack_padded_sequence: lengths is required (one int per sequence)")
    if 0 in x.shape[:2]:
        raise ValueError(f"pack_padded_sequence: cannot pack an empty batch (input shape {input.shape}: no "
                         f"{'sequences' if x.shape[1] == 0 else 'time steps'})")
    a = backend.to_device(lengths.array if isinstance(lengths, Tensor) else backend.as_array(lengths), "cpu")
    if a.dtype.kind in "fb":  # torch casts lengths to int64, truncating (a float mask's mask.sum(1) packs there)
        lengths = a.astype(np.int64)
    lens = _check_lengths(lengths, x.shape[0], x.shape[1], "pack_padded_sequence")
    order = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(f"pack_padded_sequence: lengths {lens.tolist()} must be sorted in decreasing order "
                               "when enforce_sorted is True; pass enforce_sorted=False to have them sorted here")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
    batch_sizes = (lens > np.arange(lens[0])[:, None]).sum(1)
    return PackedSequence(_pack(x, batch_sizes, order), batch_sizes, order)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """The inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *) with batch_first, lengths
    (B,) int64), the sequences in the order they were packed in. ``total_length`` pads to that many steps
    (at least the longest sequence's). Differentiable in sequence.data."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    T = len(sequence.batch_sizes.array)
    if total_length is not None:
        total_length = ops.int_arg(total_length, "pad_packed_sequence", "total_length")
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length must be at least the longest sequence's length, "
                             f"{T}, got {total_length}")
    padded = sequence._padded(padding_value, total_length)
    lens = sequence._lengths()
    if sequence.unsorted_indices is not None:
        lens = lens[backend.to_device(sequence.unsorted_indices.array, "cpu")]
    return (padded.transpose(0, 1) if batch_first else padded), Tensor(lens.astype(np.int64))


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """B tensors (L_b, *) -> PackedSequence (pad_sequence, then pack_padded_sequence)."""
    seqs = list(sequences)
    return pack_padded_sequence(pad_sequence(seqs), [s.shape[0] for s in seqs], enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> List[Tensor]:
    """The inverse of pack_sequence: B tensors (L_b, *) in the order they were packed in."""
    padded, lens = pad_packed_sequence(packed_sequences)
    return unpad_sequence(padded, lens)
