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
Everything runs in this one process: there are no worker processes.
"""
from __future__ import annotations

import bisect
import copy
import math
import warnings
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any, Callable, Iterable, Iterator, List, Optional

import numpy as np

from ... import backend
from ...creation import as_tensor, randperm, tensor
from ...ops import stack
from ...tensor import Tensor, float64

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
            raise ValueError(f"TensorDataset: the tensors must have the same first dim (one row per sample), got "
                             f"shapes {[t.shape for t in tensors]}")
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
            raise ValueError("ConcatDataset: expected at least one dataset")
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


def get_worker_info() -> None:
    """torch's: information about the DataLoader worker process this runs in, None in the main process. There are
    no worker processes here (num_workers=0 only), so always None: an IterableDataset that splits its stream by
    worker sees the one main process."""
    return None


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
            raise ValueError(f"WeightedRandomSampler: weights must be one non-empty sequence of finite, non-negative "
                             f"numbers, not all zero; got shape {w.shape}")
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
    Argument clashes raise ValueError as in torch. ``num_workers`` must be 0: this engine loads in the one process
    it runs in, and anything else raises NotImplementedError rather than pretend to run workers.
    The arguments come in torch's order. ``pin_memory`` (and ``pin_memory_device``, ``in_order``) are accepted and
    change nothing: batches are host arrays already and come in order; ``worker_init_fn`` is never called (there
    are no workers), ``timeout`` must be 0, and the worker-only ``multiprocessing_context``, ``prefetch_factor`` and
    ``persistent_workers`` raise ValueError as in torch at num_workers=0.
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
            raise NotImplementedError(f"DataLoader: num_workers={num_workers}: this engine loads data in one "
                                      "process; use num_workers=0")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be non-negative, got {timeout}")
        if timeout > 0:  # (torch's in-process iterator refuses it when iterating)
            raise ValueError(f"DataLoader: timeout={timeout} applies to worker processes; loading here is in this "
                             "process (num_workers=0), which takes timeout=0 only")
        for name, value, unset in (("multiprocessing_context", multiprocessing_context, None),
                                   ("prefetch_factor", prefetch_factor, None),
                                   ("persistent_workers", bool(persistent_workers), False)):
            if value is not unset:
                raise ValueError(f"DataLoader: {name}={value!r} needs worker processes (num_workers > 0), which this "
                                 "engine does not run; leave it unset")
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
            self.dataset, self.batch_size, self.drop_last, self.num_workers = dataset, batch_size, drop_last, 0
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
        self.dataset, self.batch_size, self.drop_last, self.num_workers = dataset, batch_size, drop_last, num_workers
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.pin_memory, self.timeout, self.worker_init_fn = bool(pin_memory), timeout, worker_init_fn
        self.collate_fn = collate_fn or (default_convert if batch_sampler is None else default_collate)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            yield from self._stream()
        elif self.batch_sampler is None:
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
        else:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def _stream(self) -> Iterator[Any]:
        """An IterableDataset's samples (a fresh iter each epoch), in batches of batch_size, the last shorter one
        dropped with drop_last; each sample alone with batch_size=None."""
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        """The number of batches; for an IterableDataset, from its len() (a TypeError if it defines none)."""
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)


def _import_submodules() -> None:
    """torch.utils.data's submodule paths (utils.data.sampler, .dataset, .dataloader, .distributed), imported after
    the names they re-export (imported by name, not bound here: 'dataset' and 'sampler' are parameter names above)."""
    import importlib
    for sub in ("dataloader", "dataset", "distributed", "sampler"):
        importlib.import_module(f"{__name__}.{sub}")


_import_submodules()
