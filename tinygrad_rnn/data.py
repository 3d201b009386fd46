"""Token streams for language modelling, and batches of variable-length sequences.

A corpus of N tokens is cut into B parallel streams (an (N // B, B) array, time-major);
``bptt_batches`` walks them in chunks of k steps, so the hidden state at the end of one
chunk is the right initial state for the next (carry it over, detached).

Separate sequences of different lengths (snippets to classify, lines to tag) are padded
into one (B, T) array with their lengths (``pad_sequences``), for an RNN called with
``lengths=``; ``length_batches`` groups sequences of similar length so that little of a
batch is padding, and ``stratified_split`` holds out the same share of every class.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .ops import int_arg
from .tensor import Tensor, dtype_name


def _whole(r: Any) -> Optional[int]:
    """r as an int when it is a whole number; None for a fraction, NaN, inf, a string or an array."""
    if isinstance(r, (str, bytes)):
        return None
    try:
        i = int(r)
        return i if float(r) == i else None
    except (TypeError, ValueError, OverflowError):
        return None


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
        """A 1-d sequence of whole-number ids in [0, V) -> the text. A fraction, NaN, inf, a row of a 2-d array
        or a string of digits is refused, not truncated or parsed by int() (1.7 -> 1, "12" -> 1, 2)."""
        raw = list(ids)
        whole = [_whole(r) for r in raw]
        if None in whole:
            k = whole.index(None)
            raise ValueError(f"CharVocab.decode: ids must be whole numbers (a 1-d sequence), got {raw[k]!r} at {k}")
        bad = [i for i in whole if not 0 <= i < len(self.chars)]
        if bad:
            raise IndexError(f"CharVocab.decode: id {bad[0]} is out of range for {len(self.chars)} characters")
        return "".join(self.chars[i] for i in whole)


def batchify(tokens: np.ndarray, batch_size: int) -> np.ndarray:
    """(N,) ids -> (N // B, B): B contiguous streams side by side, the tail dropped."""
    tokens, batch_size = np.asarray(tokens), int_arg(batch_size, "batchify", "batch_size")
    if tokens.ndim != 1:
        raise ValueError(f"batchify: tokens must be one 1-d stream of ids (N,), got shape {tokens.shape}")
    if batch_size < 1:
        raise ValueError(f"batchify: batch_size must be positive, got {batch_size}")
    n = len(tokens) // batch_size
    if n < 2:
        raise ValueError(f"batchify: {len(tokens)} tokens are too few for batch_size={batch_size}")
    return tokens[: n * batch_size].reshape(batch_size, n).T.copy()


def bptt_batches(streams: np.ndarray, seq_len: int) -> Iterator[Tuple[Tensor, Tensor]]:
    """(inputs, targets) chunks of shape (k, B), k <= seq_len, targets shifted one step ahead.

    Each chunk is a copy: inputs and targets overlap in the streams, so writing into views would
    change the targets and the corpus.
    """
    seq_len = int_arg(seq_len, "bptt_batches", "seq_len")
    if seq_len <= 0:
        raise ValueError(f"bptt_batches: seq_len must be positive, got {seq_len}")
    for start in range(0, len(streams) - 1, seq_len):
        k = min(seq_len, len(streams) - 1 - start)
        yield Tensor(streams[start:start + k].copy()), Tensor(streams[start + 1:start + 1 + k].copy())


def ascii_ids(text: str) -> np.ndarray:
    """(len(text),) int64 ids in 0..127: a character's code point if it is below 127, else 127.

    A fixed vocabulary that needs no fitting, so held-out text has no unknown characters:
    everything outside ASCII (and DEL) shares the one id 127.
    """
    return np.minimum(np.fromiter(map(ord, text), dtype=np.int64, count=len(text)), 127)


def pad_sequences(seqs: Sequence[Any], pad: int = 0, dtype: Any = np.int64) -> Tuple[np.ndarray, np.ndarray]:
    """B sequences of lengths L_b -> (padded (B, T), lengths (B,)), T = max L_b.

    Row b holds seqs[b] in padded[b, :L_b] and ``pad`` after it: batch-first, for an RNN with
    batch_first=True and ``lengths=lengths`` (pad targets with a loss's ignore_index).
    """
    raw = [np.asarray(s) for s in seqs]
    if not raw:
        raise ValueError("pad_sequences: no sequences")
    dtype = np.dtype(dtype)
    for a in raw:  # (what an integer dtype would silently change, 1.5 -> 1 or 300 -> 44 in uint8, is refused)
        if a.dtype.kind in "fiub" and dtype.kind in "iub" and a.size and not np.array_equal(a.astype(dtype), a):
            raise ValueError(f"pad_sequences: values of dtype {dtype_name(a.dtype)} do not fit dtype "
                             f"{dtype_name(dtype)} unchanged (pass dtype=)")
    if dtype.kind in "iub" and np.asarray(pad).astype(dtype) != pad:
        raise ValueError(f"pad_sequences: pad={pad!r} does not fit dtype {dtype_name(dtype)} unchanged (pass dtype=)")
    arrays = [a.astype(dtype) for a in raw]
    bad = [a.shape for a in arrays if a.ndim != 1]
    if bad:
        raise ValueError(f"pad_sequences: each sequence must be 1-d, got shape {bad[0]}")
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    padded = np.full((len(arrays), int(lengths.max())), pad, dtype=dtype)
    for row, a in zip(padded, arrays):
        row[:len(a)] = a
    return padded, lengths


def length_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator,
                   pool: int = 50) -> List[np.ndarray]:
    """Index batches covering every sequence once, in random order, each batch of similar lengths.

    The indices are shuffled, cut into pools of ``pool`` batches, each pool sorted by length and cut
    into batches of ``batch_size`` (the last may be smaller), and the batches shuffled: batches
    padded to their longest member waste little, yet every epoch differs.
    """
    batch_size, pool = int_arg(batch_size, "length_batches", "batch_size"), int_arg(pool, "length_batches", "pool")
    if batch_size < 1 or pool < 1:
        raise ValueError(f"length_batches: batch_size and pool must be positive, got {batch_size} and {pool}")
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * pool):
        piece = order[start:start + batch_size * pool]
        piece = piece[np.argsort(lengths[piece], kind="stable")]
        batches += [piece[i:i + batch_size] for i in range(0, len(piece), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def stratified_split(labels: Sequence[int], test_fraction: float, seed: int = 0,
                     groups: Optional[Sequence[Any]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(train, test) sorted index arrays: about ``test_fraction`` of each class goes to test.

    Without groups, round(test_fraction * n_c) random items of each class c (n_c the class's
    count; at least one, and one is kept for training, when n_c >= 2). With ``groups`` (one key per
    item, e.g. the file it came from; every group must hold one class) whole groups move: each
    class's groups are taken in random order into test while that brings its test count closer
    to test_fraction * n_c, at least one group, never all (a class in a single group trains only).
    So no group straddles the split: nothing near-duplicated within a file is both learned and tested.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"stratified_split: test_fraction must be in (0, 1), got {test_fraction}")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"stratified_split: labels must be a non-empty 1-d sequence, got shape {y.shape}")
    if groups is not None:
        if len(groups) != len(y):
            raise ValueError(f"stratified_split: {len(groups)} groups for {len(y)} labels")
        classes_of: dict = {}
        for g, c in zip(groups, y):
            classes_of.setdefault(g, set()).add(c)
        mixed = [g for g, cs in classes_of.items() if len(cs) > 1]
        if mixed:
            raise ValueError(f"stratified_split: group {mixed[0]!r} holds more than one class")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        target = test_fraction * len(members)
        if groups is None:
            k = min(max(int(round(target)), 1), len(members) - 1)
            test.append(rng.permutation(members)[:k])
            continue
        keys = [groups[i] for i in members]
        sizes = Counter(keys)
        names = list(sizes)  # in order of first appearance, so the seed alone decides
        chosen: set = set()
        count = 0
        for i in rng.permutation(len(names))[:-1]:  # never all of a class's groups
            g = names[i]
            if not chosen or abs(count + sizes[g] - target) < abs(count - target):
                chosen.add(g)
                count += sizes[g]
        test.append(np.array([m for m, k in zip(members, keys) if k in chosen], dtype=np.int64))
    test_idx = np.sort(np.concatenate(test)).astype(np.int64)
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx
