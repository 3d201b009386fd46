"""Datasets, samplers and a DataLoader with torch.utils.data's names and rules, so a PyTorch training loop
carries over::

    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    for epoch in range(10):
        for xb, yb in loader:        # a fresh permutation each epoch, from tg.manual_seed's generator
            ...

A Dataset maps an index to a sample; a sampler yields indices (a batch sampler, lists of them); the loader
fetches each batch's samples and joins them with ``collate_fn`` (default_collate stacks them field by field).
Sequences of different lengths need a collate_fn that pads them, e.g. one built on nn.utils.rnn.pad_sequence;
``tinygrad_rnn.data.length_batches`` gives batches of similar lengths to pass as ``batch_sampler``.
With ``num_workers=0`` everything runs in this one process; with more, worker processes (torch's rules: each with
its copy of the dataset and its own seed, batches sent round-robin and handed back in order) load the batches.
"""
from __future__ import annotations

import atexit
import bisect
import copy
import itertools
import math
import multiprocessing
import multiprocessing.context
import os
import pickle
import queue
import random
import sys
import traceback
import warnings
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, List, Optional

import numpy as np

from ... import backend
from ...creation import as_tensor, randperm, tensor
from ...ops import stack
from ...tensor import Tensor, _AssertionValueError, _RuntimeValueError, float64

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset", "ChainDataset",
           "random_split", "get_worker_info", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "default_collate", "default_convert",
           "DataLoader"]


def _generator(generator: Any, op: str) -> np.random.Generator:
    """The numpy generator to draw from now: a tg.Generator's (a cpu one) or a numpy Generator given, else the
    package's (read at each draw, so tg.manual_seed made after the sampler or loader still applies)."""
    return backend.rng_for(generator, "cpu", op)


def _check_positive_int(op: str, name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")


def _check_bool(op: str, name: str, value: Any, error: type = ValueError) -> None:
    """``error``: the exception torch raises for it (RandomSampler's replacement: a TypeError)."""
    if not isinstance(value, bool):
        raise error(f"{op}: {name} must be a bool, got {value!r}")


# ----------------------------------------------------------------------------- datasets
class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample i, ``len(dataset)`` the number of samples."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: ``iter(dataset)`` yields them (a file read line by line, a generator of sequences).
    A DataLoader cuts the stream into batches of batch_size, in order; ``len`` only if the subclass defines it."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other: "IterableDataset") -> "ChainDataset":  # type: ignore[override]
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """IterableDatasets one after another: the samples of datasets[0], then those of datasets[1], ..."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = datasets

    def _checked(self) -> Iterator[Any]:
        for k, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: dataset {k} is a {type(d).__name__}; ChainDataset chains "
                                "IterableDatasets only (ConcatDataset joins map-style ones)")
            yield d

    def __iter__(self) -> Iterator[Any]:
        for d in self._checked():
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self._checked())


class TensorDataset(Dataset):
    """Sample i is ``tuple(t[i] for t in tensors)``: the tensors are rows of the same samples (inputs, targets)."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor) or t.ndim == 0:
                raise TypeError(f"TensorDataset: argument {i} must be a Tensor with at least one dim, got "
                                f"{getattr(t, 'shape', type(t).__name__)}")
        if len({t.shape[0] for t in tensors}) > 1:
            raise _AssertionValueError(f"TensorDataset: the tensors must have the same first dim (one row per "
                                       f"sample), got shapes {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class StackDataset(Dataset):
    """Datasets of the same length side by side: sample i is ``tuple(d[i] for d in args)``, or with keywords
    ``{name: d[i]}`` (one form or the other, as torch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: datasets are given either as positional arguments (tuple samples) or "
                             "as keywords (dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self.datasets: Any = args or kwargs
        sizes = [len(d) for d in (args or kwargs.values())]
        if len(set(sizes)) > 1:
            raise ValueError(f"StackDataset: size mismatch between datasets, lengths {sizes}")
        self._length = sizes[0]

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order. A list of positions fetches them in one go,
    ``dataset[[indices[i] for i in positions]]`` (as torch: a TensorDataset gives the stacked rows)."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The datasets one after another: index len(datasets[0]) is datasets[1][0]."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise _AssertionValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if not -len(self) <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {len(self)} samples")
        index %= len(self)
        d = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[d][index - (self.cumulative_sizes[d - 1] if d else 0)]


def random_split(dataset: Any, lengths: Sequence[float],
                 generator: Optional[np.random.Generator] = None) -> List[Subset]:
    """Disjoint random Subsets of the given lengths, which sum to len(dataset); or of the given fractions, which
    sum to 1: floor(fraction * len(dataset)) each, then the remainder dealt out one by one from the first
    split on (torch's rule; a float sum a rounding error above 1 counts as 1 here, where torch refuses it).
    Drawn from ``generator`` or the package's seeded one."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1):
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction {i} is {frac}, not between 0 and 1")
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: split {i} is empty", stacklevel=2)
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(lengths)}, "
                         f"not to the dataset's length {n} (nor to 1, as fractions)")
    if not all(isinstance(k, (int, np.integer)) and k >= 0 for k in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing to 1, got {lengths}")
    order = _generator(generator, "random_split").permutation(n).tolist()
    ends = np.cumsum(lengths).tolist()
    return [Subset(dataset, order[end - k:end]) for end, k in zip(ends, lengths)]


@dataclass(frozen=True)
class WorkerInfo:
    """What get_worker_info tells a DataLoader worker process (torch's fields): its ``id`` (0 to num_workers - 1),
    ``num_workers``, the ``seed`` its random generators were given (base seed + id) and its own copy of the
    ``dataset``; ``rng`` and ``worker_method`` as torch's for process workers (None, 'multiprocessing')."""

    id: int
    num_workers: int
    seed: int
    dataset: Any
    rng: Any = None
    worker_method: Optional[str] = "multiprocessing"


_worker_info: Optional[WorkerInfo] = None  # (set in a worker process only)


def get_worker_info() -> Optional[WorkerInfo]:
    """torch's: the WorkerInfo of the DataLoader worker process this runs in, None in the main process. An
    IterableDataset reads it in ``__iter__`` to give each worker its own share of the stream (each worker iterates
    its own copy of the dataset: without that, every worker yields the whole stream)."""
    return _worker_info


# ----------------------------------------------------------------------------- samplers
class Sampler:
    """Yields dataset indices (a batch sampler: lists of them); ``len`` is how many it yields."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order of the indices at each iteration. Without replacement, num_samples (default: every
    index once) is taken from successive permutations; with it, num_samples independent uniform draws."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: Optional[int] = None,
                 generator: Optional[np.random.Generator] = None) -> None:
        _check_bool("RandomSampler", "replacement", replacement, TypeError)
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        self.generator = generator
        _generator(generator, "RandomSampler")  # (a wrong generator is refused here, not at the first epoch)
        _check_positive_int("RandomSampler", "num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k, gen = len(self.data_source), self.num_samples, _generator(self.generator, "RandomSampler")
        if self.replacement:
            return iter(gen.integers(0, n, size=k).tolist())
        return iter(np.concatenate([gen.permutation(n) for _ in range(-(-k // n))])[:k].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order at each iteration (a shuffled validation or training subset)."""

    def __init__(self, indices: Sequence[int], generator: Optional[np.random.Generator] = None) -> None:
        self.indices, self.generator = indices, generator
        _generator(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        order = _generator(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices in [0, len(weights)), index i drawn with probability weights[i] / sum(weights) (with
    replacement, or each at most once): rebalancing classes, say with weights 1 / (count of the sample's class)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Optional[np.random.Generator] = None) -> None:
        _check_positive_int("WeightedRandomSampler", "num_samples", num_samples)
        _check_bool("WeightedRandomSampler", "replacement", replacement)
        w = np.asarray(weights.numpy() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1 or not w.size or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            # (torch: a ValueError for the shape, multinomial's RuntimeError for the values)
            raise (ValueError if w.ndim != 1 else _RuntimeValueError)(
                f"WeightedRandomSampler: weights must be one non-empty sequence of finite, non-negative numbers, not "
                f"all zero; got shape {w.shape}")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: {num_samples} samples without replacement, but only "
                             f"{np.count_nonzero(w)} weights are non-zero")
        self.weights, self.num_samples, self.replacement, self.generator = w, num_samples, replacement, generator
        _generator(generator, "WeightedRandomSampler")

    def __iter__(self) -> Iterator[int]:
        gen = _generator(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        return iter(gen.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """The sampler's indices in lists of batch_size; the last, shorter list is dropped with drop_last."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_positive_int("BatchSampler", "batch_size", batch_size)
        _check_bool("BatchSampler", "drop_last", drop_last)
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[List[int]]:
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """torch.utils.data.DistributedSampler: rank ``rank``'s share of the dataset's indices among ``num_replicas``
    (every num_replicas-th index from ``rank``), torch's partition: padded by repeating the first indices to a
    multiple of num_replicas, or cut to one with ``drop_last``. ``shuffle`` permutes them first, the same way on
    every rank, from a generator seeded with ``seed + epoch`` (``set_epoch`` before each epoch for a new order;
    tg's generator, so not torch's permutation). There are no process groups here: num_replicas and rank must be
    given (without them torch's RuntimeError, as where torch.distributed is unavailable)."""

    def __init__(self, dataset: Any, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        from ... import distributed  # noqa: PLC0415  (tg.distributed: no process group to ask)
        if num_replicas is None:
            if not distributed.is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = distributed.get_world_size()
        if rank is None:
            if not distributed.is_available():
                raise RuntimeError("Requires distributed package to be available")
            rank = distributed.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank, self.epoch = dataset, num_replicas, rank, 0
        self.drop_last, self.shuffle, self.seed = drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = backend.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch, mixed into the shuffle's seed: every rank gets a new order, the same one, each epoch."""
        self.epoch = epoch


# ----------------------------------------------------------------------------- collation
def _rebuild(elem: Any, parts: Any) -> Any:
    """``parts`` (a dict for a mapping, a list for a sequence) in elem's container, as torch rebuilds it: a
    namedtuple keeps its type, another tuple becomes a list, a mutable mapping or sequence (dict, list, deque, a
    subclass) is copied and filled item by item, another is made by its type from the dict or list; a container
    that allows none of this (a range) gives a plain dict or list."""
    if isinstance(elem, tuple):
        return type(elem)(*parts) if hasattr(elem, "_fields") else list(parts)
    try:
        if isinstance(elem, MutableMapping):
            clone = copy.copy(elem)
            clone.update(parts)
            return clone
        if isinstance(elem, MutableSequence):
            clone = copy.copy(elem)
            for i, part in enumerate(parts):
                clone[i] = part
            return clone
        return type(elem)(parts)
    except TypeError:
        return dict(parts) if isinstance(elem, Mapping) else list(parts)


def _numeric_array(a: np.ndarray) -> bool:
    """Not an array of strings or objects, which torch neither collates (a TypeError) nor converts."""
    return a.dtype.kind not in "SUO"


def default_collate(batch: Sequence[Any]) -> Any:
    """A list of samples -> one batch, by the type of the first sample (torch's rules): Tensors are stacked
    along a new dim 0, numpy arrays too (as tensors), Python ints give an int64 tensor (bools a bool one),
    floats a float64 one, numpy scalars a tensor of their dtype, strings stay a list; dicts are collated key by
    key, tuples and lists field by field (a tuple comes back as a list, a namedtuple as itself)."""
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = sorted({tuple(t.shape) for t in batch})
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: cannot stack tensors of different shapes {shapes} into one batch; "
                               "pass a collate_fn that pads them (e.g. with nn.utils.rnn.pad_sequence)")
        return stack(batch, 0)
    if isinstance(elem, np.ndarray) and _numeric_array(elem):
        return default_collate([as_tensor(a) for a in batch])
    if isinstance(elem, (np.number, np.bool_)):
        return tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        return _rebuild(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, Sequence):
        if len({len(e) for e in batch}) > 1:
            raise RuntimeError(f"default_collate: the samples have different numbers of fields, "
                               f"{sorted({len(e) for e in batch})}")
        return _rebuild(elem, [default_collate(list(field)) for field in zip(*batch)])
    raise TypeError(f"default_collate: a batch must hold tensors, numpy arrays, numbers, strings, dicts, tuples or "
                    f"lists; found {type(elem).__name__}")


def default_convert(data: Any) -> Any:
    """One sample as it is, but numpy arrays and scalars made tensors (through tuples, lists and dicts, rebuilt
    as default_collate does): what DataLoader(batch_size=None) applies to each sample, as torch."""
    if (isinstance(data, np.ndarray) and _numeric_array(data)) or isinstance(data, (np.number, np.bool_)):
        return as_tensor(data)
    if isinstance(data, Mapping):
        return _rebuild(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data


# ----------------------------------------------------------------------------- the loader
class DataLoader:
    """Batches of a map-style dataset, one list of indices at a time, each joined by ``collate_fn``.

    The indices come from ``batch_sampler`` (any iterable of index lists; data.length_batches's list is one, the
    same batches every epoch until a new list is drawn), or from ``sampler`` (default: SequentialSampler, or
    RandomSampler with ``shuffle``, drawing a new permutation each epoch from ``generator`` or the package's seeded
    generator) cut into lists of ``batch_size``.
    ``batch_size=None`` turns batching off: each sample goes through ``collate_fn`` (default: default_convert)
    alone. An IterableDataset's stream is cut into batches of ``batch_size`` in order (shuffle, sampler and
    batch_sampler are refused, as torch); ``len`` is the number of batches its own len() gives, if it has one.
    Argument clashes raise ValueError as in torch. The arguments come in torch's order.

    ``num_workers=0`` loads in this process: ``timeout`` must be 0, ``worker_init_fn`` is never called, and the
    worker-only ``multiprocessing_context``, ``prefetch_factor`` and ``persistent_workers`` raise ValueError as in
    torch. ``num_workers > 0`` starts that many worker processes at each ``iter`` (torch's rules): each has its own
    copy of the dataset (and of collate_fn and worker_init_fn), seeds Python's ``random``, tg's generators and
    numpy's global ``np.random`` from a base seed plus its id (get_worker_info tells the seed), then calls
    ``worker_init_fn(worker_id)``. Map-style batches go to the workers round-robin, ``prefetch_factor`` (default 2)
    batches per worker ahead, and come back in order (``in_order=False``: as they finish); each worker iterates its
    own copy of an IterableDataset, so the stream comes once per worker unless it splits itself by
    get_worker_info(), the workers' batches interleaved. Samples cross to this process by pickle. An error in a
    worker is raised here again, naming the worker and carrying its traceback's text; ``timeout`` (seconds, 0: no
    limit) raises RuntimeError when a batch takes longer. The workers stop at the end of the pass, or when the
    iterator is dropped (a ``break``, an error); with ``persistent_workers`` they stay for the next epoch.
    ``multiprocessing_context`` is a start method's name ('fork', 'spawn', 'forkserver') or a context (default:
    the platform's). ``pin_memory`` and ``pin_memory_device`` are accepted and change nothing: batches are host
    arrays already.
    """

    def __init__(self, dataset: Any, batch_size: Optional[int] = 1, shuffle: Optional[bool] = None,
                 sampler: Optional[Iterable[int]] = None, batch_sampler: Optional[Iterable[Sequence[int]]] = None,
                 num_workers: int = 0, collate_fn: Optional[Callable[[Any], Any]] = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Optional[Callable[[int], Any]] = None,
                 multiprocessing_context: Any = None, generator: Optional[np.random.Generator] = None, *,
                 prefetch_factor: Optional[int] = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be non-negative, got {num_workers}; "
                             "use num_workers=0 to load in this process")
        if num_workers > 0:
            num_workers = int(num_workers) if isinstance(num_workers, np.integer) else num_workers
            _check_positive_int("DataLoader", "num_workers", num_workers)
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be non-negative, got {timeout}")
        if num_workers == 0:
            if timeout > 0:  # (torch's in-process iterator refuses it when iterating)
                raise ValueError(f"DataLoader: timeout={timeout} applies to worker processes; loading here is in "
                                 "this process (num_workers=0), which takes timeout=0 only")
            for name, value, unset in (("multiprocessing_context", multiprocessing_context, None),
                                       ("prefetch_factor", prefetch_factor, None),
                                       ("persistent_workers", bool(persistent_workers), False)):
                if value is not unset:
                    raise ValueError(f"DataLoader: {name}={value!r} needs worker processes (num_workers > 0); "
                                     "leave it unset")
        else:
            prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
            _check_positive_int("DataLoader", "prefetch_factor", prefetch_factor)
            multiprocessing_context = _multiprocessing_context(multiprocessing_context)
        self.num_workers, self.prefetch_factor, self.persistent_workers = num_workers, prefetch_factor, \
            bool(persistent_workers)
        self.multiprocessing_context, self.in_order, self.pin_memory_device = multiprocessing_context, in_order, \
            pin_memory_device
        self._iterator: Optional[_WorkerIterator] = None  # (the persistent workers' iterator)
        if isinstance(dataset, IterableDataset):  # (a stream: no indices to sample, shuffle or batch)
            for name, value in (("shuffle", shuffle if shuffle else None), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value is not None:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                                     f"{name}={value!r}")
            if batch_size is None and drop_last:
                raise ValueError("DataLoader: batch_size=None disables batching and is mutually exclusive with "
                                 "drop_last")
            if batch_size is not None:
                _check_positive_int("DataLoader", "batch_size", batch_size)
                _check_bool("DataLoader", "drop_last", drop_last)
            self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
            self.sampler = self.batch_sampler = None
            self.generator, self.pin_memory, self.timeout = generator, bool(pin_memory), timeout
            self.worker_init_fn = worker_init_fn
            self.collate_fn = collate_fn or (default_convert if batch_size is None else default_collate)
            return
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, "
                                 "sampler and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None disables batching and is mutually exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.pin_memory, self.timeout, self.worker_init_fn = bool(pin_memory), timeout, worker_init_fn
        self.collate_fn = collate_fn or (default_convert if batch_sampler is None else default_collate)

    def __iter__(self) -> Iterator[Any]:
        """One pass over the batches: in this process (num_workers=0), else from worker processes started now
        (with persistent_workers, those of the first pass, sent on to the next)."""
        if self.num_workers == 0:
            return _InProcessIterator(self)
        if not self.persistent_workers:
            return _WorkerIterator(self)
        if self._iterator is None:
            self._iterator = _WorkerIterator(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def _in_process(self) -> Iterator[Any]:
        """The batches loaded here, by the fetcher the workers use (an IterableDataset's iter is taken at the first
        batch, a fresh one each epoch; its end ends the pass)."""
        fetcher = self._fetcher()
        for task in self._tasks():
            if fetcher.stream is None:
                yield fetcher.fetch(task)
                continue
            try:
                batch = fetcher.fetch(task)
            except StopIteration:
                return
            yield batch

    @property
    def _batched(self) -> bool:
        """Whether a task is a batch's indices (collate_fn joins a list of samples) rather than one index."""
        return self.batch_size is not None or self.batch_sampler is not None

    def _fetcher(self) -> "_Fetcher":
        return _Fetcher(self.dataset, isinstance(self.dataset, IterableDataset), self._batched, self.collate_fn,
                        self.drop_last)

    def _tasks(self) -> Iterator[Any]:
        """What the workers are sent, one task each: a batch's indices (one index with batching off); for an
        IterableDataset, endlessly, batch_size Nones (one None), as torch's _InfiniteConstantSampler batched."""
        if isinstance(self.dataset, IterableDataset):
            return itertools.repeat(None if self.batch_size is None else [None] * self.batch_size)
        return iter(self._index_lists)

    def __len__(self) -> int:
        """The number of batches; for an IterableDataset, from its len() (a TypeError if it defines none)."""
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_lists)

    @property
    def _index_lists(self) -> Any:
        """The sampler a pass takes its tasks from (batch_sampler, or sampler with batching off); None for an
        IterableDataset, whose pass counts an endless constant sampler."""
        if isinstance(self.dataset, IterableDataset):
            return None
        return self.sampler if self.batch_sampler is None else self.batch_sampler


def _pass_length(index_lists: Any) -> int:
    """len() of a pass's iterator, as torch's: its sampler's length (a TypeError for an IterableDataset's)."""
    if index_lists is None:
        raise TypeError("DataLoader: an iterator over an IterableDataset has no len() (len(loader) takes the "
                        "dataset's len(), if it has one)")
    return len(index_lists)


class _InProcessIterator:
    """One pass of a DataLoader in this process (num_workers=0): its batches, and len() as torch's iterator."""

    def __init__(self, loader: DataLoader) -> None:
        self._batches, self._index_lists = loader._in_process(), loader._index_lists

    def __iter__(self) -> "_InProcessIterator":
        return self

    def __next__(self) -> Any:
        return next(self._batches)

    def __len__(self) -> int:
        return _pass_length(self._index_lists)


# ----------------------------------------------------------------------------- worker processes
_STATUS_CHECK_INTERVAL = 5.0  # seconds between a blocked worker's (or loader's) checks that the other side lives
_exiting = False  # (set at interpreter exit: iterators dropped then leave the workers to multiprocessing's cleanup)
# The index queues of each running _WorkerIterator, by id: held here so that an iterator collected in a reference
# cycle (an exception's traceback holds it) still has them working in its __del__. A queue in the same cycle would
# be closed first (its weakref finalizer runs before __del__), the None that stops each worker lost, and the
# shutdown would wait for the workers' timeout.
_index_queues_held: dict = {}


@atexit.register
def _note_exit() -> None:
    global _exiting
    _exiting = True


def _multiprocessing_context(context: Any) -> Any:
    """DataLoader's multiprocessing_context as a context: a start method's name or a context (torch's errors)."""
    if context is None:
        return None
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid start method in "
                             f"{methods!r}, but got multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context option should be a valid context object or a string "
                        f"specifying the start method, but got multiprocessing_context={context!r}")
    return context


def _base_seed(generator: Any) -> int:
    """A pass's base seed for its workers (worker k seeds with base + k), a 63-bit int from the loader's generator
    or the package's, as torch's. Taken from a child of the generator (numpy's SeedSequence.spawn), which leaves
    the generator's stream as it was, so a shuffle gives the same batches whatever num_workers; a generator whose
    seed cannot spawn children gives a draw from its stream."""
    gen = _generator(generator, "DataLoader")
    try:
        gen = gen.spawn(1)[0]
    except (TypeError, AttributeError):
        pass
    return int(gen.integers(2 ** 63))


def _numpy_seed(base_seed: int, worker_id: int) -> List[int]:
    """Worker worker_id's seed for numpy's global generator: torch's _generate_state, 4 uint32 words hashed from
    the worker id and the base seed's two 32-bit halves (numpy's SeedSequence mixing), so the workers' numpy draws
    differ from each other and from the tg/random seed base + id."""
    mask = 0xFFFFFFFF
    mult_a, state = 0x931E8875, [0x43B0D7E5]

    def hashed(value: int) -> int:
        value = (value ^ state[0]) & mask
        state[0] = (state[0] * mult_a) & mask
        value = (value * state[0]) & mask
        return value ^ (value >> 16)

    def mix(x: int, y: int) -> int:
        r = ((0xCA01F9DD * x) - (0x4973F715 * y)) & mask
        return r ^ (r >> 16)

    pool = [hashed(v) for v in (worker_id, base_seed & mask, base_seed >> 32, 0)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashed(pool[src]))
    out, const = [], 0x8B51F9DD
    for value in pool:
        value ^= const
        const = (const * 0x58F38DED) & mask
        value = (value * const) & mask
        out.append(value ^ (value >> 16))
    return out


class _KeyErrorMessage(str):
    """A KeyError's message that prints as itself (KeyError shows the repr of its argument)."""

    def __repr__(self) -> str:
        return str(self)


class _WorkerError:
    """An exception caught in a worker, sent to the main process as its type and traceback text (traceback
    objects do not pickle) and raised there again with torch's message: 'Caught ValueError in DataLoader worker
    process 1.' then 'Original Traceback (most recent call last): ...'. A type that does not pickle (a class
    defined in a function) comes as a RuntimeError."""

    def __init__(self, worker_id: int) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.text, self.name = "".join(traceback.format_exception(exc_type, exc, tb)), exc_type.__name__
        try:
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:  # noqa: BLE001
            self.exc_type = RuntimeError
        self.where = f"in DataLoader worker process {worker_id}"

    def reraise(self) -> None:
        msg = f"Caught {self.name} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            error = self.exc_type(msg)
        except Exception:  # noqa: BLE001  (a type that takes other arguments)
            raise RuntimeError(msg) from None
        raise error


@dataclass(frozen=True)
class _StreamEnd:
    """A worker's IterableDataset copy is used up."""
    worker_id: int


class _Resume:
    """Sent to persistent workers for a new pass: restart the dataset's iteration (each answers it back)."""


class _Fetcher:
    """One task to one batch, in a worker or in the main process (torch's fetchers): map-style, the samples at the
    indices collated; an IterableDataset, the next batch_size samples of the iteration it started (StopIteration
    once they are used up, a short last batch dropped with drop_last)."""

    def __init__(self, dataset: Any, iterable: bool, batched: bool, collate_fn: Callable, drop_last: bool) -> None:
        self.dataset, self.batched, self.collate_fn, self.drop_last = dataset, batched, collate_fn, drop_last
        self.stream, self.ended = (iter(dataset) if iterable else None), False

    def fetch(self, task: Any) -> Any:
        if self.stream is None:
            return self.collate_fn([self.dataset[i] for i in task] if self.batched else self.dataset[task])
        if self.ended:
            raise StopIteration
        if not self.batched:
            return self.collate_fn(next(self.stream))
        samples = list(itertools.islice(self.stream, len(task)))
        self.ended = len(samples) < len(task)
        if not samples or (self.drop_last and self.ended):
            raise StopIteration
        return self.collate_fn(samples)


def _payload(data: Any, worker_id: int) -> bytes:
    """data pickled in the worker (a batch that does not pickle becomes the error, rather than being lost in the
    queue's feeder thread while the main process waits for it)."""
    try:
        return pickle.dumps(data, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001
        return pickle.dumps(_WorkerError(worker_id), pickle.HIGHEST_PROTOCOL)


def _worker_loop(dataset: Any, iterable: bool, batched: bool, collate_fn: Callable, drop_last: bool,
                 index_queue: Any, data_queue: Any, done_event: Any, base_seed: int,
                 init_fn: Optional[Callable[[int], Any]], worker_id: int, num_workers: int) -> None:
    """A worker process: seed, run worker_init_fn, then answer each (task number, task) of index_queue with
    (task number, pickled batch or _WorkerError or _StreamEnd) on data_queue until None comes (or the main
    process is gone)."""
    global _worker_info
    try:
        seed = base_seed + worker_id
        random.seed(seed)
        backend.manual_seed(seed)
        np.random.seed(_numpy_seed(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        fetcher, init_error = None, None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _Fetcher(dataset, iterable, batched, collate_fn, drop_last)
        except Exception:  # noqa: BLE001
            init_error = _payload(_WorkerError(worker_id), worker_id)
        ended, parent = False, os.getppid()
        while os.getppid() == parent:
            try:
                message = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(message, _Resume):
                data_queue.put((message, None))
                ended = False
                try:
                    fetcher, init_error = _Fetcher(dataset, iterable, batched, collate_fn, drop_last), None
                except Exception:  # noqa: BLE001
                    init_error = _payload(_WorkerError(worker_id), worker_id)
                continue
            if message is None:
                break
            if done_event.is_set() or ended:
                continue
            number, task = message
            if init_error is not None:
                data_queue.put((number, init_error))
                continue
            try:
                data = fetcher.fetch(task)
            except StopIteration:
                if not iterable:
                    data = _WorkerError(worker_id)
                else:
                    data, ended = _StreamEnd(worker_id), True
            except Exception:  # noqa: BLE001
                data = _WorkerError(worker_id)
            data_queue.put((number, _payload(data, worker_id)))
            del data, task, message
    except KeyboardInterrupt:  # (Ctrl-C reaches the workers too; the main process reports it)
        pass
    if done_event.is_set():  # (nobody reads what is left: exit without flushing it)
        data_queue.cancel_join_thread()
        data_queue.close()


class _WorkerIterator:
    """One pass of a DataLoader over worker processes (torch's _MultiProcessingDataLoaderIter's algorithm): tasks
    numbered in order and sent round-robin to the workers that still run, prefetch_factor per worker ahead; the
    answers are handed back in task order (held until their turn), or as they come with in_order=False."""

    def __init__(self, loader: DataLoader) -> None:
        self._shutdown, self._workers, self._index_queues = True, [], []  # (for __del__ should the start fail)
        n = self._num_workers = loader.num_workers
        self._iterable = isinstance(loader.dataset, IterableDataset)
        self._prefetch, self._in_order, self._timeout = loader.prefetch_factor, loader.in_order, loader.timeout
        self._persistent = loader.persistent_workers
        self._status = [True] * n
        base_seed = _base_seed(loader.generator)
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._data_queue, self._done = context.Queue(), context.Event()
        self._shutdown = False
        _index_queues_held[id(self)] = self._index_queues
        try:
            for worker_id in range(n):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()
                worker = context.Process(target=_worker_loop, daemon=True, args=(
                    loader.dataset, self._iterable, loader._batched, loader.collate_fn, loader.drop_last, index_queue,
                    self._data_queue, self._done, base_seed, loader.worker_init_fn, worker_id, n))
                worker.start()
                self._index_queues.append(index_queue)
                self._workers.append(worker)
            self._reset(loader, first=True)
        except BaseException:
            self._shutdown_workers()
            raise

    def __iter__(self) -> "_WorkerIterator":
        return self

    def __len__(self) -> int:
        return _pass_length(self._index_lists)

    def _reset(self, loader: DataLoader, first: bool = False) -> None:
        """A new pass: fresh tasks from the loader's sampler, the workers (persistent ones told to restart their
        datasets, and their answers to the last pass discarded), the first prefetch_factor tasks each sent."""
        n = self._num_workers
        self._tasks, self._index_lists = loader._tasks(), loader._index_lists
        self._send_idx = self._rcvd_idx = self._outstanding = 0
        self._task_info: dict = {}  # task number -> (worker,) while out, (worker, data) when it came early
        self._status, self._worker_tasks = [True] * n, [0] * n
        self._next_worker = itertools.cycle(range(n))
        if not first:
            for index_queue in self._index_queues:
                index_queue.put(_Resume())
            left = n
            while left:
                if isinstance(self._get_data()[0], _Resume):
                    left -= 1
        for _ in range(self._prefetch * n):
            self._try_put_task()

    def _try_get(self, timeout: float) -> Any:
        """(True, (task number, data)) from the workers within timeout seconds, or (False, None); a worker that
        died meanwhile is a RuntimeError, as torch's."""
        try:
            number, payload = self._data_queue.get(timeout=timeout)
        except queue.Empty as e:
            dead = [i for i, w in enumerate(self._workers) if self._status[i] and not w.is_alive()]
            for i in dead:
                self._mark_worker_unavailable(i)
            if dead:
                pids = ", ".join(str(self._workers[i].pid) for i in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly") from e
            return False, None
        return True, (number, None if payload is None else pickle.loads(payload))

    def _get_data(self) -> Any:
        if self._timeout > 0:
            ok, data = self._try_get(self._timeout)
            if not ok:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            return data
        while True:
            ok, data = self._try_get(_STATUS_CHECK_INTERVAL)
            if ok:
                return data

    def __next__(self) -> Any:
        while True:
            while self._rcvd_idx < self._send_idx:  # (skip the tasks of workers whose stream ended)
                info = self._task_info.get(self._rcvd_idx)
                if info and (len(info) == 2 or self._status[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:  # (it came earlier)
                worker_id, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process(data, worker_id)
            number, data = self._get_data()
            self._outstanding -= 1
            if isinstance(data, _StreamEnd):
                if self._persistent:
                    self._status[data.worker_id] = False
                else:
                    self._mark_worker_unavailable(data.worker_id)
                self._try_put_task()
                continue
            if number == self._rcvd_idx or not self._in_order:
                worker_id = self._task_info.pop(number)[0]
                self._rcvd_idx += number == self._rcvd_idx
                return self._process(data, worker_id)
            self._task_info[number] += (data,)

    def _try_put_task(self) -> None:
        """The next task to the next running worker in turn (with in_order=False, one not already holding its
        share of the prefetched tasks); none when the sampler is used up or no worker runs."""
        most = self._prefetch * self._num_workers
        try:
            task = next(self._tasks)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._next_worker)
            if self._status[worker_id] and (self._in_order or
                                            self._worker_tasks[worker_id] < most // sum(self._status)):
                break
        else:
            return
        self._index_queues[worker_id].put((self._send_idx, task))
        self._task_info[self._send_idx] = (worker_id,)
        self._worker_tasks[worker_id] += 1
        self._outstanding += 1
        self._send_idx += 1

    def _process(self, data: Any, worker_id: int) -> Any:
        self._worker_tasks[worker_id] -= 1
        self._try_put_task()
        if isinstance(data, _WorkerError):
            data.reraise()
        return data

    def _mark_worker_unavailable(self, worker_id: int) -> None:
        self._index_queues[worker_id].put(None)
        self._status[worker_id] = False

    def _shutdown_workers(self) -> None:
        """Stop the workers: the done event, None to each, a join; any still alive after that is terminated."""
        if self._shutdown or _exiting:
            return
        self._shutdown = True
        try:
            self._done.set()
            for worker_id in range(len(self._workers)):
                if self._persistent or self._status[worker_id]:
                    self._mark_worker_unavailable(worker_id)
            for worker in self._workers:
                worker.join(timeout=_STATUS_CHECK_INTERVAL)
            for index_queue in self._index_queues:
                index_queue.cancel_join_thread()
                index_queue.close()
        finally:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join(timeout=_STATUS_CHECK_INTERVAL)
            self._data_queue.close()
            _index_queues_held.pop(id(self), None)

    def __del__(self) -> None:
        self._shutdown_workers()


def _import_submodules() -> None:
    """torch.utils.data's submodule paths (utils.data.sampler, .dataset, .dataloader, .distributed), imported after
    the names they re-export (imported by name, not bound here: 'dataset' and 'sampler' are parameter names above)."""
    import importlib
    for sub in ("dataloader", "dataset", "distributed", "sampler"):
        importlib.import_module(f"{__name__}.{sub}")


_import_submodules()
