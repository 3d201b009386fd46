"""DataLoader with worker processes (num_workers > 0): the batches of num_workers=0, torch's order for streams, the
workers' seeds and get_worker_info, worker_init_fn, errors from the workers, timeout, persistent workers, and no
worker process left behind. Two workers and tiny datasets, to stay quick."""
import gc
import multiprocessing
import os
import pickle
import random
import time

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.utils.data as data_module
from tinygrad_rnn import backend
from tinygrad_rnn.utils.data import (DataLoader, IterableDataset, SubsetRandomSampler, TensorDataset,
                                     get_worker_info)


def plain(x):
    """A batch as comparable Python values (tensor -> (dtype, nested list)), ours or torch's."""
    if hasattr(x, "numpy") and hasattr(x, "dtype"):
        return ("tensor", str(x.dtype).replace("torch.", ""), x.numpy().tolist())
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


def batches(loader):
    return [plain(b) for b in loader]


def dataset(n=11):
    return TensorDataset(tg.arange(2 * n, dtype=tg.float64).reshape(n, 2), tg.arange(n))


def pairs_collate(samples):
    """A collate_fn of our own: the (x row sum, label) of each sample."""
    return [(float(x.sum().item()), int(y.item())) for x, y in samples]


@pytest.fixture
def children():
    """The worker processes the test leaves alive: none allowed at its end (once the exceptions it caught, whose
    tracebacks hold the loader's iterator in a reference cycle, are collected)."""
    before = set(multiprocessing.active_children())
    yield
    if set(multiprocessing.active_children()) - before:
        gc.collect()  # (slow with torch imported: only when needed)
    left = [p for p in multiprocessing.active_children() if p not in before]
    assert left == [], f"worker processes left alive: {left}"


@pytest.mark.parametrize("kw", [
    dict(batch_size=3), dict(batch_size=1), dict(batch_size=4, drop_last=True), dict(batch_size=None),
    dict(batch_size=3, shuffle=True), dict(batch_size=2, collate_fn=pairs_collate),
    dict(batch_sampler=[[5, 1], [0], [2, 3, 4], [10, 9, 8, 7]]), dict(sampler=[4, 2, 0], batch_size=2),
    dict(batch_size=3, in_order=False), dict(batch_size=2, prefetch_factor=1), dict(batch_size=2, pin_memory=True),
])
def test_map_style_batches_are_those_of_one_process(children, kw):
    """Two epochs of the same loader, with workers and without; a shuffle from equally seeded generators gives
    the same permutations whatever num_workers (the workers' base seed does not advance the generator)."""
    many = dict(kw, generator=tg.Generator().manual_seed(7)) if kw.get("shuffle") else dict(kw)
    one = dict(kw, generator=tg.Generator().manual_seed(7)) if kw.get("shuffle") else dict(kw)
    one.pop("prefetch_factor", None)
    workers, single = DataLoader(dataset(), num_workers=2, **many), DataLoader(dataset(), **one)
    assert len(workers) == len(single)
    for _ in range(2):
        got, want = batches(workers), batches(single)
        if kw.get("in_order") is False:
            got, want = sorted(got, key=repr), sorted(want, key=repr)
        assert got == want


@pytest.mark.parametrize("workers", [0, 2])
def test_a_pass_has_torchs_len(children, workers):
    """len(iter(loader)), as torch's iterator: its sampler's number of index lists, through the pass and with
    persistent workers each epoch; a TypeError for an IterableDataset's pass."""
    torch = pytest.importorskip("torch")
    extra = dict(persistent_workers=True) if workers else {}
    for kw in (dict(batch_size=3), dict(batch_size=4, drop_last=True), dict(batch_size=None),
               dict(batch_sampler=[[5, 1], [0]])):
        ours = DataLoader(dataset(), num_workers=workers, **kw, **extra)
        theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(11)), **kw)
        for _ in range(2):
            it, want = iter(ours), len(iter(theirs))
            assert len(it) == want
            next(it)
            assert len(it) == want
            assert len(list(it)) == want - 1
        del it, ours
    with pytest.raises(TypeError, match="IterableDataset"):
        len(iter(DataLoader(Stream(5, False), batch_size=2, num_workers=workers)))


def test_shuffle_under_manual_seed_matches_one_process(children):
    """Without a generator the package's is used: the same after tg.manual_seed with or without workers, and the
    package's draws after the loop are those without workers too (numpy's global generator untouched)."""
    got = []
    for workers in (0, 2):
        tg.manual_seed(3)
        np.random.seed(3)
        loader = DataLoader(dataset(), batch_size=4, shuffle=True, num_workers=workers)
        got.append((batches(loader), batches(loader), tg.rand(2).tolist(), np.random.random()))
    assert got[0] == got[1]
    sampler = SubsetRandomSampler([1, 3, 5, 7], generator=tg.Generator().manual_seed(1))
    assert sorted(b[1].item() for b in DataLoader(dataset(), sampler=sampler, num_workers=2)) == [1, 3, 5, 7]


class Stream(IterableDataset):
    """range(n), or with ``shard`` each worker's share of it (every num_workers-th from its id)."""

    def __init__(self, n, shard):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info() if self.shard else None
        return iter(range(self.n) if info is None else range(info.id, self.n, info.num_workers))


@pytest.mark.parametrize("shard", [False, True])
@pytest.mark.parametrize("kw", [dict(batch_size=2), dict(batch_size=2, drop_last=True), dict(batch_size=None),
                                dict(batch_size=3, prefetch_factor=1)])
def test_streams_come_in_torchs_order(children, shard, kw):
    """Each worker iterates its own copy (the stream twice over unless it shards by get_worker_info), the
    workers' batches interleaved: torch's output, live."""
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info() if shard else None
            return iter(range(7) if info is None else range(info.id, 7, info.num_workers))

    ours = [plain(b) for b in DataLoader(Stream(7, shard), num_workers=2, **kw)]
    theirs = [plain(b) for b in torch.utils.data.DataLoader(TorchStream(), num_workers=2, **kw)]
    assert ours == theirs


def test_stream_without_torch_sharded_and_duplicated(children):
    """The same orders written out, for runs without torch: worker 0's batch, worker 1's, in turn."""
    sharded = [b.tolist() for b in DataLoader(Stream(7, True), batch_size=2, num_workers=2)]
    assert sharded == [[0, 2], [1, 3], [4, 6], [5]]
    copies = [b.tolist() for b in DataLoader(Stream(3, False), batch_size=2, num_workers=2)]
    assert copies == [[0, 1], [0, 1], [2], [2]]


class Probe(tg.utils.data.Dataset):
    """Sample i: what the worker that loads it knows about itself."""

    offset = 0

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return dict(id=info.id, num_workers=info.num_workers, seed=info.seed, tg_seed=tg.initial_seed(),
                    tg_draw=float(tg.rand(1).item()), py=random.random(), np=float(np.random.random()),
                    offset=info.dataset.offset, pid=os.getpid())


def set_offset(worker_id):
    """A worker_init_fn: configure the worker's copy of the dataset by its id."""
    get_worker_info().dataset.offset = 100 + worker_id


def probe(loader):
    return [{k: v[0].item() if hasattr(v, "shape") else v for k, v in s.items()} for s in loader]


def test_worker_info_seeds_and_worker_init_fn(children):
    """get_worker_info in each worker: id, num_workers, seed = base seed + id (tg.initial_seed too), its dataset a
    copy that worker_init_fn configured; Python's random seeded with the seed, numpy's global generator with
    torch's _generate_state of (base seed, id); None in the main process."""
    main = Probe()
    samples = probe(DataLoader(main, num_workers=2, worker_init_fn=set_offset))
    assert get_worker_info() is None and main.offset == 0  # (the workers set their copies' offsets)
    assert [s["id"] for s in samples] == [0, 1, 0, 1] and {s["num_workers"] for s in samples} == {2}
    assert [s["offset"] for s in samples] == [100, 101, 100, 101]
    base = samples[0]["seed"]
    assert 0 <= base < 2 ** 63 and samples[1]["seed"] == base + 1
    for s in samples[:2]:
        assert s["tg_seed"] == s["seed"] and s["pid"] != os.getpid()
        assert s["tg_draw"] == pytest.approx(float(tg.Generator().manual_seed(s["seed"]).draws("cpu").random()))
        assert s["py"] == random.Random(s["seed"]).random()
        np_seed = data_module._numpy_seed(base, s["id"])
        assert s["np"] == np.random.RandomState(np_seed).random()
    assert samples[0]["tg_draw"] != samples[1]["tg_draw"]


def test_numpy_seed_is_torchs_generate_state():
    worker = pytest.importorskip("torch.utils.data._utils.worker")
    rng = random.Random(0)
    for base, wid in [(0, 0), (2 ** 63 - 1, 7)] + [(rng.randrange(2 ** 63), rng.randrange(16)) for _ in range(50)]:
        assert data_module._numpy_seed(base, wid) == worker._generate_state(base, wid)


class BrokenCuPy:
    """A CuPy whose generators cannot be made: what a worker forked from a process that had used CUDA meets."""

    class ndarray:
        pass

    class random:
        @staticmethod
        def default_rng(seed):
            raise RuntimeError("CUDA driver initialization failed (a forked process)")


def test_seeding_a_worker_makes_no_device_generator(children, monkeypatch):
    """tg.manual_seed (and so each worker's seeding) leaves the CuPy generator to the first draw on the GPU, with
    the same seed: a worker forked from a CUDA process that loads host data starts."""
    monkeypatch.setattr(backend, "_cupy", BrokenCuPy)
    tg.manual_seed(4)
    assert tg.initial_seed() == 4
    samples = probe(DataLoader(Probe(), num_workers=2))
    assert [s["tg_seed"] for s in samples] == [samples[0]["seed"], samples[0]["seed"] + 1] * 2


def test_base_seed_from_generator_or_manual_seed(children):
    """A new base seed each epoch; the same sequence of them from equally seeded generators (the loader's, else
    the package's under tg.manual_seed)."""
    def seeds(**kw):
        loader = DataLoader(Probe(), batch_size=None, num_workers=2, **kw)
        return [probe(loader)[0]["seed"] for _ in range(2)]

    first = seeds(generator=tg.Generator().manual_seed(5))
    assert first[0] != first[1] and seeds(generator=tg.Generator().manual_seed(5)) == first
    tg.manual_seed(11)
    again = seeds()
    tg.manual_seed(11)
    assert seeds() == again != first


class Failing(tg.utils.data.Dataset):
    """Raises ``error`` at index 3 (worker 1's second batch with batch_size=1)."""

    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise self.error
        return i


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


@pytest.mark.parametrize("error, kind", [(ValueError("bad sample 3"), ValueError), (KeyError("k3"), KeyError),
                                         (TwoArgError(1, 2), RuntimeError)])
def test_worker_errors_are_raised_with_worker_and_traceback(children, error, kind):
    """torch's wrapping: the type (RuntimeError when it cannot be made from one message), 'Caught <type> in
    DataLoader worker process <id>.' and the worker's original traceback; the batches before it came."""
    got = []
    with pytest.raises(kind) as info:
        for b in DataLoader(Failing(error), num_workers=2):
            got.append(b.item())
    text = str(info.value) if kind is not KeyError else info.value.args[0]
    assert got == [0, 1, 2]
    assert f"Caught {type(error).__name__} in DataLoader worker process 1." in text
    assert "Original Traceback (most recent call last)" in text and "__getitem__" in text
    assert "raise self.error" in text


def test_worker_errors_match_torchs_message(children):
    torch = pytest.importorskip("torch")

    class TorchFailing(torch.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 3:
                raise ValueError("bad sample 3")
            return i

    messages = []
    for loader in (DataLoader(Failing(ValueError("bad sample 3")), num_workers=2),
                   torch.utils.data.DataLoader(TorchFailing(), num_workers=2)):
        it = iter(loader)
        with pytest.raises(ValueError) as info:
            list(it)
        messages.append(str(info.value).splitlines())
        it._shutdown_workers()  # (the exception's traceback holds the iterator in a cycle: stop torch's now)
    assert [m[:2] for m in messages[0:1]] == [m[:2] for m in messages[1:]]
    assert messages[0][-1] == messages[1][-1] == "ValueError: bad sample 3"


def failing_init(worker_id):
    raise OSError(f"cannot open shard {worker_id}")


def test_worker_init_fn_errors_and_unpicklable_batches(children):
    with pytest.raises(OSError, match="Caught OSError in DataLoader worker process 0"):
        list(DataLoader(range(4), num_workers=2, worker_init_fn=failing_init))
    with pytest.raises(Exception, match="in DataLoader worker process 0") as info:  # (not a hang in the queue)
        list(DataLoader(range(4), num_workers=2, collate_fn=lambda batch: lambda: batch))
    assert isinstance(info.value, (pickle.PicklingError, AttributeError, TypeError))


class Slow(tg.utils.data.Dataset):
    def __init__(self, seconds, at=0):
        self.seconds, self.at = seconds, at

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == self.at:
            time.sleep(self.seconds)
        return i


def test_timeout_raises_runtime_error(children):
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.1 seconds"):
        list(DataLoader(Slow(0.6), num_workers=2, timeout=0.1))
    assert [b.item() for b in DataLoader(Slow(0.05), num_workers=2, timeout=5)] == [0, 1, 2, 3]


def test_in_order_waits_for_a_slow_batch(children):
    assert [b.item() for b in DataLoader(Slow(0.2), num_workers=2)] == [0, 1, 2, 3]
    assert sorted(b.item() for b in DataLoader(Slow(0.2), num_workers=2, in_order=False)) == [0, 1, 2, 3]


class Dies(tg.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 1:
            os._exit(3)
        return i


def test_a_worker_that_dies_is_reported(children, monkeypatch):
    monkeypatch.setattr(data_module, "_STATUS_CHECK_INTERVAL", 0.2)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(DataLoader(Dies(), num_workers=2))


class Pids(tg.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return (i, os.getpid())


def test_persistent_workers_serve_every_epoch(children):
    """The same worker processes each epoch (an epoch broken off early included: its batches in flight are
    discarded), every epoch complete and in order; they stop when the loader goes."""
    loader = DataLoader(Pids(), batch_size=2, num_workers=2, persistent_workers=True)
    first = [(b[0].tolist(), b[1].tolist()) for b in loader]
    pids = {p for _, ps in first for p in ps}
    assert [i for i, _ in first] == [[0, 1], [2, 3], [4, 5]] and len(pids) == 2
    for b in loader:
        break
    for _ in range(2):
        again = [(b[0].tolist(), b[1].tolist()) for b in loader]
        assert again == first
    workers = list(loader._iterator._workers)
    assert all(w.is_alive() for w in workers)
    del loader, b
    assert not any(w.is_alive() for w in workers)


def test_persistent_stream_restarts_each_epoch(children):
    loader = DataLoader(Stream(5, True), batch_size=2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in loader] == [b.tolist() for b in loader] == [[0, 2], [1, 3], [4]]
    del loader


def test_workers_exit_after_a_pass_a_break_or_del(children):
    it = iter(DataLoader(range(10), batch_size=2, num_workers=2))
    workers = list(it._workers)
    assert len(workers) == 2 and all(w.is_alive() for w in workers)
    assert [b.tolist() for b in it] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert not any(w.is_alive() for w in workers)  # (ended with the pass)
    it = iter(DataLoader(range(10), batch_size=2, num_workers=2))
    workers = list(it._workers)
    next(it)
    del it
    assert not any(w.is_alive() for w in workers)
    for b in DataLoader(range(10), num_workers=2):  # (the children fixture checks that these went too)
        break


def test_start_methods_and_worker_argument_errors(children):
    """multiprocessing_context: a start method's name or a context; torch's errors for others, and for
    prefetch_factor below 1 (torch: negative refused, 0 an assertion at iter; here both a ValueError)."""
    for context in ("spawn", multiprocessing.get_context("fork")):
        loader = DataLoader(dataset(4), batch_size=3, num_workers=2 if context != "spawn" else 1,
                            multiprocessing_context=context)
        assert isinstance(loader.multiprocessing_context, multiprocessing.context.BaseContext)
        assert batches(loader) == batches(DataLoader(dataset(4), batch_size=3))
    assert DataLoader(range(3), num_workers=2).prefetch_factor == 2
    assert DataLoader(range(3)).prefetch_factor is None
    with pytest.raises(ValueError, match="valid start method"):
        DataLoader(range(3), num_workers=2, multiprocessing_context="threads")
    with pytest.raises(TypeError, match="valid context object"):
        DataLoader(range(3), num_workers=2, multiprocessing_context=3)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="prefetch_factor"):
            DataLoader(range(3), num_workers=2, prefetch_factor=bad)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(range(3), num_workers=1.5)
    assert [b.item() for b in DataLoader(range(3), num_workers=np.int64(2))] == [0, 1, 2]


def test_worker_argument_errors_match_torch():
    torch = pytest.importorskip("torch")
    for kw, error in ((dict(multiprocessing_context="threads"), ValueError),
                      (dict(multiprocessing_context=3), TypeError), (dict(prefetch_factor=-1), ValueError),
                      (dict(timeout=-1), ValueError)):
        with pytest.raises(error):
            DataLoader(range(3), num_workers=2, **kw)
        with pytest.raises(error):
            torch.utils.data.DataLoader(range(3), num_workers=2, **kw)
