"""tinygrad_rnn.utils.data against torch.utils.data (skipped without torch): the same batches, lengths, collated
structures and argument errors; and its own properties: shuffling covers every index once per epoch, repeats under
tg.manual_seed and changes between epochs; length_batches works as a batch_sampler; an LSTM trains over a loader."""
import math
import warnings
from collections import OrderedDict, deque, namedtuple
from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import length_batches
from tinygrad_rnn.nn.utils.rnn import pad_sequence
from tinygrad_rnn.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                     RandomSampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                                     TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                                     get_worker_info, random_split)

Point = namedtuple("Point", "x y")
sizes = st.integers(0, 40)
batch_sizes = st.integers(1, 9)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def plain(x):
    """A batch, ours or torch's, as comparable Python values: each tensor as (dtype name, nested list),
    containers with their type's name, so that values, dtypes and structure are all compared."""
    if hasattr(x, "numpy") and hasattr(x, "dtype"):
        return ("tensor", str(x.dtype).replace("torch.", "").replace("bool_", "bool"), x.numpy().tolist())
    if isinstance(x, dict):
        return (type(x).__name__, {k: plain(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [plain(v) for v in x])
    return x


def both(torch, n, **kw):
    """The batches of our DataLoader and torch's over the same TensorDataset of n samples."""
    x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    ours = DataLoader(TensorDataset(tg.tensor(x), tg.tensor(y)), **kw)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), **kw)
    assert len(ours) == len(theirs)
    return [plain(b) for b in ours], [plain(b) for b in theirs]


@given(n=sizes, batch_size=batch_sizes, drop_last=st.booleans())
def test_sequential_batches_match_torch(torch, n, batch_size, drop_last):
    ours, theirs = both(torch, n, batch_size=batch_size, drop_last=drop_last)
    assert ours == theirs
    assert len(ours) == (n // batch_size if drop_last else -(-n // batch_size))


def streams(base, n, sized):
    """An IterableDataset of base (our data module or torch's) yielding n (float, array, dict) samples."""
    class Stream(base.IterableDataset):
        def __iter__(self):
            return iter([(float(i), np.arange(3) * i, {"k": np.int64(i)}) for i in range(n)])

    class Sized(Stream):
        def __len__(self):
            return n
    return Sized() if sized else Stream()


@given(n=st.integers(0, 12), batch_size=st.none() | batch_sizes, drop_last=st.booleans())
def test_iterable_dataset_batches_match_torch(torch, n, batch_size, drop_last):
    drop_last = drop_last and batch_size is not None
    ours = DataLoader(streams(tg.utils.data, n, True), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(streams(torch.utils.data, n, True), batch_size=batch_size,
                                         drop_last=drop_last)
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]  # (a fresh stream each epoch)
    assert len(ours) == len(theirs)


def test_iterable_dataset_refuses_samplers_and_has_no_len_unless_defined(torch):
    for kw in ({"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError, match=f"expected unspecified {next(iter(kw))} option"):
            DataLoader(streams(tg.utils.data, 3, False), **kw)
        with pytest.raises(ValueError, match=f"expected unspecified {next(iter(kw))} option"):
            torch.utils.data.DataLoader(streams(torch.utils.data, 3, False), **kw)
    assert len(list(DataLoader(streams(tg.utils.data, 3, False), shuffle=False))) == 3
    for loader in (DataLoader(streams(tg.utils.data, 3, False)),
                   torch.utils.data.DataLoader(streams(torch.utils.data, 3, False))):
        with pytest.raises(TypeError, match="has no len"):
            len(loader)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(streams(tg.utils.data, 3, False), batch_size=0)


def test_chain_and_stack_datasets_match_torch(torch):
    for base in (tg.utils.data, torch.utils.data):
        chained = streams(base, 2, True) + streams(base, 3, True)
        assert isinstance(chained, base.ChainDataset) and len(chained) == 5
        assert [s[0] for s in chained] == [0.0, 1.0, 0.0, 1.0, 2.0]
        assert base.get_worker_info() is None
        stacked = base.StackDataset([1, 2], [3, 4])
        assert stacked[1] == (2, 4) and len(stacked) == 2
        assert base.StackDataset(a=[1, 2], b=[3, 4])[0] == {"a": 1, "b": 3}
        for args, kwargs, match in (((), {}, "[Aa]t least one dataset"), (([1],), {"a": [1]}, "both"),
                                    (([1], [1, 2]), {}, "[Ss]ize mismatch")):
            with pytest.raises(ValueError, match=match):
                base.StackDataset(*args, **kwargs)
    with pytest.raises(TypeError, match="dataset 1 is a list"):
        list(ChainDataset([streams(tg.utils.data, 1, False), [1]]))
    assert isinstance(ChainDataset([]), IterableDataset) and get_worker_info() is None
    batches = list(DataLoader(StackDataset(tg.arange(4), tg.arange(4) * 2), batch_size=3))
    assert [[t.tolist() for t in b] for b in batches] == [[[0, 1, 2], [0, 2, 4]], [[3], [6]]]


@given(n=st.integers(0, 12))
def test_no_batching_matches_torch(torch, n):
    ours, theirs = both(torch, n, batch_size=None)
    assert ours == theirs and len(ours) == n


@given(n=sizes, batch_size=batch_sizes, drop_last=st.booleans(), replacement=st.booleans(),
       num_samples=st.none() | st.integers(1, 50))
def test_sampler_lengths_match_torch(torch, n, batch_size, drop_last, replacement, num_samples):
    assert list(SequentialSampler(range(n))) == list(torch.utils.data.SequentialSampler(range(n)))
    if n == 0 and num_samples is None:
        for make in (RandomSampler, torch.utils.data.RandomSampler):
            with pytest.raises(ValueError):
                make(range(n))
        return
    ours = BatchSampler(RandomSampler(range(n), replacement, num_samples), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(range(n), replacement, num_samples),
                                           batch_size, drop_last)
    assert len(ours) == len(theirs)
    if n:
        assert len(list(ours)) == len(ours) and [len(b) for b in ours] == [len(b) for b in theirs]


def nested_sample(i, make_tensor):
    return {
        "x": make_tensor(np.full((2, 3), i, dtype=np.float32)),
        "array": np.arange(3, dtype=np.int32) + i,
        "int": i, "float": i / 2, "flag": i % 2 == 0, "name": f"s{i}",
        "np_scalars": (np.float32(i), np.int16(i), np.bool_(i > 1)),
        "point": Point(make_tensor(np.array([i, -i])), i),
        "list": [i, [i / 4, i > 0]],
        "ordered": OrderedDict(b=i, a=np.float64(i)),
    }


def test_collate_nested_structures_matches_torch(torch):
    ours = default_collate([nested_sample(i, tg.tensor) for i in range(3)])
    theirs = torch.utils.data.default_collate([nested_sample(i, torch.tensor) for i in range(3)])
    assert plain(ours) == plain(theirs)
    assert isinstance(ours["point"], Point) and isinstance(ours["ordered"], OrderedDict)
    assert ours["float"].dtype == np.float64 and ours["int"].dtype == np.int64 and ours["flag"].dtype == np.bool_
    assert ours["name"] == ["s0", "s1", "s2"] and ours["x"].shape == (3, 2, 3)
    assert default_collate([(1, "a"), (2, "b")])[1] == ["a", "b"]  # (torch gives the tuple ("a", "b") here)


def test_collate_tuple_samples_and_mixed_numbers_match_torch(torch):
    for batch in ([(1, 2.0), (3, 4.5)], [[True, 1], [False, 2]], [1, 2.5], [True, 2]):
        assert plain(default_collate(batch)) == plain(torch.utils.data.default_collate(batch))


class Frozen(Sequence):
    """An immutable sequence that can be made from a list (torch rebuilds it with its type)."""

    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def test_collate_and_convert_keep_other_container_types_as_torch():
    """A deque (mutable, but without slice assignment: was a TypeError from inside default_collate) is filled item
    by item; an immutable sequence or mapping is made by its own type (were a list and a dict); a range, which
    its type cannot remake, becomes a list, as in torch."""
    cases = [([deque([1, 2]), deque([3, 4])], deque, [[1, 3], [2, 4]]),
             ([Frozen([1, 2]), Frozen([3, 4])], Frozen, [[1, 3], [2, 4]]),
             ([MappingProxyType({"a": 1}), MappingProxyType({"a": 2})], MappingProxyType, {"a": [1, 2]}),
             ([range(2), range(2)], list, [[0, 0], [1, 1]])]
    for batch, kind, values in cases:
        out = default_collate(batch)
        assert type(out) is kind
        assert ({k: v.tolist() for k, v in out.items()} if kind is MappingProxyType else [v.tolist() for v in out]) \
            == values
        assert type(default_convert(batch[0])) is kind
    converted = default_convert(deque([np.float32(1.5), np.arange(2)]))
    assert type(converted) is deque and converted[0].dtype == np.float32 and converted[1].tolist() == [0, 1]


def test_collate_errors_match_torch(torch):
    """The same error types as torch; ours name the shapes, the type, and a way out."""
    cases = [
        ([tg.zeros(3), tg.zeros(4)], [torch.zeros(3), torch.zeros(4)], RuntimeError,
         r"different shapes \[\(3,\), \(4,\)\].*collate_fn.*pad_sequence"),
        ([(1, 2), (1,)], [(1, 2), (1,)], RuntimeError, "different numbers of fields"),
        ([object(), object()], None, TypeError, "found object"),
        ([np.array(["a"]), np.array(["b"])], None, TypeError, "found ndarray"),
    ]
    for ours, theirs, error, match in cases:
        with pytest.raises(error, match=match):
            default_collate(ours)
        with pytest.raises(error):
            torch.utils.data.default_collate(ours if theirs is None else theirs)
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_variable_lengths_through_the_loader_need_a_collate_fn():
    seqs = [tg.ones(k) for k in (2, 3, 1)]
    with pytest.raises(RuntimeError, match="pad_sequence"):
        list(DataLoader(seqs, batch_size=3))
    (batch,) = DataLoader(seqs, batch_size=3, collate_fn=lambda b: pad_sequence(b, batch_first=True))
    np.testing.assert_array_equal(batch.numpy(), [[1, 1, 0], [1, 1, 1], [1, 0, 0]])


@given(n=st.integers(0, 60), fractions=st.lists(st.integers(1, 20), min_size=1, max_size=5))
def test_random_split_fraction_lengths_match_torch(torch, n, fractions):
    fractions = [f / sum(fractions) for f in fractions]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = random_split(range(n), fractions, generator=np.random.default_rng(0))
        if sum(fractions) <= 1:  # (torch refuses fractions whose float sum rounds above 1)
            assert [len(s) for s in ours] == [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
    extra = [len(s) - math.floor(n * f) for s, f in zip(ours, fractions)]
    assert sum(len(s) for s in ours) == n and extra == sorted(extra, reverse=True) and set(extra) <= {0, 1}
    assert sum(issubclass(w.category, UserWarning) and "random_split" in str(w.message) for w in caught) == \
        [len(s) for s in ours].count(0)  # each empty split is warned of, as in torch
    assert sorted(i for s in ours for i in s) == list(range(n))


def test_random_split_lengths_rule_and_errors(torch):
    assert [len(s) for s in random_split(range(10), [0.3, 0.3, 0.4])] == [3, 3, 4]
    assert [len(s) for s in random_split(range(11), [0.25, 0.25, 0.5])] == [3, 3, 5]  # floors 2, 2, 5; +1, +1
    a, b = random_split(range(10), [3, 7], generator=np.random.default_rng(1))
    assert sorted(list(a) + list(b)) == list(range(10))
    again = random_split(range(10), [3, 7], generator=np.random.default_rng(1))
    assert list(a) == list(again[0]) and list(b) == list(again[1])
    for lengths, match in (([3, 6], "sum to 9"), ([0.5, 0.4], "sum to 0.9"), ([1.5, -0.5], "not between 0 and 1"),
                           ([12, -2], "non-negative"), ([2.5, 7.5], "non-negative ints")):
        with pytest.raises(ValueError, match=match):
            random_split(range(10), lengths)
        if lengths not in ([12, -2], [2.5, 7.5]):  # (torch slices with them: odd subsets, a TypeError)
            with pytest.raises(ValueError):
                torch.utils.data.random_split(range(10), lengths)
    with pytest.raises(TypeError, match="numpy Generator"):
        random_split(range(10), [5, 5], generator=torch.Generator())


def test_random_split_follows_manual_seed():
    tg.manual_seed(3)
    first = [list(s) for s in random_split(range(20), [0.5, 0.5])]
    tg.manual_seed(3)
    assert [list(s) for s in random_split(range(20), [0.5, 0.5])] == first


def test_loader_argument_errors_match_torch(torch):
    data = list(range(10))
    sampler = SequentialSampler(data)
    clashes = [
        dict(sampler=sampler, shuffle=True),
        dict(batch_sampler=[[0, 1]], batch_size=2), dict(batch_sampler=[[0, 1]], shuffle=True),
        dict(batch_sampler=[[0, 1]], sampler=sampler), dict(batch_sampler=[[0, 1]], drop_last=True),
        dict(batch_size=None, drop_last=True), dict(num_workers=-1), dict(batch_size=0), dict(batch_size=2.0),
    ]
    for kw in clashes:
        with pytest.raises(ValueError):
            DataLoader(data, **kw)
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(data, **kw)
    for make in (RandomSampler, torch.utils.data.RandomSampler):
        with pytest.raises(TypeError):
            make(data, replacement=1)
        with pytest.raises(ValueError):
            make(data, num_samples=0)


def test_loader_refuses_foreign_generators():
    with pytest.raises(TypeError, match="numpy Generator"):
        DataLoader(range(4), shuffle=True, generator=0)


def test_batch_sampler_given_to_the_loader_matches_torch(torch):
    batches = [[3, 1], [0], [2, 4, 5]]
    data = np.arange(6) * 10
    ours, theirs = DataLoader(data, batch_sampler=batches), torch.utils.data.DataLoader(data, batch_sampler=batches)
    assert ours.batch_size is None and len(ours) == len(theirs) == 3
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]


def test_datasets_match_torch(torch):
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ours = TensorDataset(tg.tensor(x), tg.tensor(y))
    theirs = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 6 and plain(ours[4]) == plain(theirs[4])
    cat, tcat = ConcatDataset([range(3), range(10, 14)]), torch.utils.data.ConcatDataset([range(3), range(10, 14)])
    assert len(cat) == len(tcat) and [cat[i] for i in range(-7, 7)] == [tcat[i] for i in range(-7, 7)]
    sub = Subset(ours, [5, 0])
    assert len(sub) == 2 and plain(sub[0]) == plain(theirs[5])


def test_subset_takes_a_list_of_positions_as_torch(torch):
    """subset[[i, j]] is dataset[[indices[i], indices[j]]] (negative positions too): it was a TypeError from
    indexing the list of indices with a list."""
    x = np.arange(10.0).reshape(5, 2)
    ours = Subset(TensorDataset(tg.tensor(x)), [4, 2, 0])
    theirs = torch.utils.data.Subset(torch.utils.data.TensorDataset(torch.tensor(x)), [4, 2, 0])
    for positions in ([0, 2], [-1, 1, 1], []):
        assert plain(ours[positions]) == plain(theirs[positions])
    assert ours[[2, 0]][0].tolist() == x[[0, 4]].tolist()

def test_dataset_errors_and_concatenation():
    with pytest.raises(ValueError, match=r"same first dim.*\(4, 2\), \(5,\)"):
        TensorDataset(tg.zeros(4, 2), tg.zeros(5))
    with pytest.raises(TypeError, match="argument 1"):
        TensorDataset(tg.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        ConcatDataset([])
    with pytest.raises(IndexError, match="out of range"):
        ConcatDataset([range(3)])[3]

    class Squares(Dataset):
        def __init__(self, n):
            self.n = n

        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return self.n

    both_parts = Squares(3) + Squares(2)
    assert isinstance(both_parts, ConcatDataset) and [both_parts[i] for i in range(5)] == [0, 1, 4, 0, 1]
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def epoch_indices(loader):
    return [int(i) for batch in loader for i in batch[0].numpy()]


@given(n=st.integers(1, 40), batch_size=batch_sizes, drop_last=st.booleans())
def test_shuffle_takes_each_index_once_per_epoch(n, batch_size, drop_last):
    loader = DataLoader(TensorDataset(tg.arange(n)), batch_size=batch_size, shuffle=True, drop_last=drop_last)
    assert len(loader) == (n // batch_size if drop_last else -(-n // batch_size))
    for _ in range(2):
        seen = epoch_indices(loader)
        assert len(seen) == len(set(seen)) == (n - n % batch_size if drop_last else n)
        assert set(seen) <= set(range(n))


def test_shuffle_repeats_under_manual_seed_and_changes_between_epochs():
    loader = DataLoader(TensorDataset(tg.arange(30)), batch_size=4, shuffle=True)
    tg.manual_seed(7)
    first = [epoch_indices(loader) for _ in range(3)]
    tg.manual_seed(7)
    assert [epoch_indices(loader) for _ in range(3)] == first
    assert first[0] != first[1] != first[2] and sorted(first[0]) == list(range(30))
    assert first[0] != list(range(30))


def test_own_generator_is_independent_of_manual_seed():
    def run(tg_seed):
        tg.manual_seed(tg_seed)
        loader = DataLoader(TensorDataset(tg.arange(20)), batch_size=5, shuffle=True,
                            generator=np.random.default_rng(11))
        return [epoch_indices(loader) for _ in range(2)]
    assert run(0) == run(1)


def test_random_sampler_num_samples_and_replacement():
    blocks = list(RandomSampler(range(10), num_samples=25))
    assert len(blocks) == 25 and sorted(blocks[:10]) == sorted(blocks[10:20]) == list(range(10))
    assert blocks[:10] != blocks[10:20] and len(set(blocks[20:])) == 5  # a new permutation for each block
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=200))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}


def test_subset_random_sampler_shuffles_its_indices_each_epoch(torch):
    indices = [3, 8, 1, 9, 4, 6]
    tg.manual_seed(0)
    sampler = SubsetRandomSampler(indices)
    epochs = [list(sampler) for _ in range(4)]
    assert all(sorted(e) == sorted(indices) for e in epochs) and len({tuple(e) for e in epochs}) > 1
    assert len(sampler) == len(torch.utils.data.SubsetRandomSampler(indices)) == 6
    tg.manual_seed(0)
    assert [list(sampler) for _ in range(4)] == epochs


def test_weighted_random_sampler_draws_by_weight(torch):
    """Indices drawn in proportion to the weights (a zero weight never), at most once each without replacement;
    lengths and argument errors as torch's (where torch fails only when iterated, we refuse at construction)."""
    weights = [1.0, 0.0, 3.0, 6.0]
    tg.manual_seed(1)
    draws = np.array(list(WeightedRandomSampler(weights, 20000)))
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, np.array(weights) / 10, atol=0.015)
    for _ in range(20):
        once = list(WeightedRandomSampler(tg.tensor(weights), 3, replacement=False))
        assert sorted(once) == [0, 2, 3]
    assert len(WeightedRandomSampler(weights, 7)) == len(torch.utils.data.WeightedRandomSampler(weights, 7))
    for bad in ([], [1.0, -1.0], [0.0, 0.0], [[1.0, 2.0]], [1.0, float("nan")]):
        with pytest.raises(ValueError, match="weights must be"):
            WeightedRandomSampler(bad, 2)
    with pytest.raises(ValueError, match="4 samples without replacement, but only 3 weights are non-zero"):
        WeightedRandomSampler(weights, 4, replacement=False)
    for k in (0, 2.0, True):
        with pytest.raises(ValueError, match="num_samples must be a positive int"):
            WeightedRandomSampler(weights, k)
    loader = DataLoader(TensorDataset(tg.arange(4)), batch_size=5, sampler=WeightedRandomSampler(weights, 10))
    assert [b[0].shape for b in loader] == [(5,), (5,)] and 1 not in np.concatenate([b[0].numpy() for b in loader])


def pad_batch(batch):
    """(sequence (L, I), label) samples -> padded (B, T, I), lengths, labels: a collate_fn for ragged data."""
    seqs, labels = zip(*batch)
    return pad_sequence(seqs, batch_first=True), [s.shape[0] for s in seqs], tg.tensor(labels)


def ragged_dataset(n):
    """Sequences of 2-9 steps of 3 features; the label is whether the first feature sums above 0."""
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((int(k), 3)).astype(np.float32) for k in rng.integers(2, 10, n)]
    return [(tg.tensor(s), int(s[:, 0].sum() > 0)) for s in seqs]


def test_length_batches_work_as_batch_sampler():
    data = ragged_dataset(50)
    lengths = [s.shape[0] for s, _ in data]
    batches = length_batches(lengths, 8, np.random.default_rng(0), pool=2)
    loader = DataLoader(data, batch_sampler=batches, collate_fn=pad_batch)
    assert len(loader) == len(batches) == 7
    seen = 0
    for (x, lens, y), idx in zip(loader, batches):
        assert x.shape == (len(idx), max(lens), 3) and lens == [lengths[i] for i in idx]
        seen += len(idx)
    assert seen == 50


def test_lstm_trains_over_a_loader():
    tg.manual_seed(0)
    train, _ = random_split(ragged_dataset(64), [0.75, 0.25])
    loader = DataLoader(train, batch_size=16, shuffle=True, collate_fn=pad_batch)
    lstm, head = nn.LSTM(3, 16, batch_first=True), nn.Linear(16, 2)
    opt = tg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.03)
    losses = []
    for _ in range(15):
        total = 0.0
        for x, lengths, y in loader:
            _, (h_n, _) = lstm(x, lengths=lengths)
            loss = nn.functional.cross_entropy(head(h_n[-1]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / len(loader))
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]


def test_loader_takes_torchs_arguments_in_torchs_order(torch):
    """torch's DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory,
    drop_last, timeout, worker_init_fn, multiprocessing_context, generator, *, prefetch_factor, persistent_workers,
    pin_memory_device, in_order): the same positions here; the worker options torch refuses without workers are
    refused, the others change nothing."""
    import inspect
    theirs = inspect.signature(torch.utils.data.DataLoader.__init__).parameters.values()
    assert [(p.name, p.kind, p.default) for p in inspect.signature(DataLoader.__init__).parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs]
    data = list(range(5))
    args = (data, 2, False, None, None, 0, None, False, True)  # ... pin_memory=False, drop_last=True
    assert [b.tolist() for b in DataLoader(*args)] == [b.tolist() for b in torch.utils.data.DataLoader(*args)]
    plain = [b.tolist() for b in DataLoader(data, 2)]
    called = []
    for kw in (dict(pin_memory=True), dict(pin_memory_device="cuda"), dict(in_order=False), dict(shuffle=None),
               dict(worker_init_fn=called.append), dict(timeout=0)):
        assert [b.tolist() for b in DataLoader(data, 2, **kw)] == plain, kw
    assert called == []
    for kw in (dict(timeout=-1), dict(timeout=2), dict(multiprocessing_context="spawn"), dict(prefetch_factor=2),
               dict(persistent_workers=True)):
        with pytest.raises(ValueError, match=next(iter(kw))):
            DataLoader(data, **kw)
        with pytest.raises((ValueError, AssertionError)):
            list(torch.utils.data.DataLoader(data, **kw))
