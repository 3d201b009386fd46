"""tg.distributed (no backend: is_available() False, torch's errors for an uninitialized process group) and
utils.data.DistributedSampler with explicit num_replicas / rank: torch's index partition."""
import itertools

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.utils.data import DistributedSampler, TensorDataset


def test_queries_and_errors_as_torchs_uninitialized_process_group():
    torch = pytest.importorskip("torch")
    tdist = torch.distributed
    assert tg.distributed.is_available() is False and tg.distributed.is_initialized() is tdist.is_initialized() is False
    assert not (tg.distributed.is_nccl_available() or tg.distributed.is_gloo_available()
                or tg.distributed.is_mpi_available() or tg.distributed.is_torchelastic_launched())
    for name in ("get_rank", "get_world_size", "get_backend", "barrier", "destroy_process_group"):
        with pytest.raises(Exception) as theirs:
            getattr(tdist, name)()
        with pytest.raises(type(theirs.value), match=str(theirs.value).split(",")[0]):
            getattr(tg.distributed, name)()
    with pytest.raises(RuntimeError, match="no distributed backend here"):
        tg.distributed.init_process_group("gloo", rank=0, world_size=1)


CONFIGS = [(n, r, drop) for n in (0, 1, 2, 3, 5, 7, 10, 11, 16) for r in (1, 2, 3, 4, 8) for drop in (False, True)
           if not (n == 0 and not drop)]


@pytest.mark.parametrize("n,replicas,drop_last", CONFIGS)
def test_unshuffled_indices_are_torchs(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                                     drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (7, 4, False), (16, 4, True),
                                                  (2, 5, False)])
def test_shuffled_partition_properties(n, replicas, drop_last):
    """All ranks see one permutation (seeded by seed + epoch), split as torch splits it: disjoint shares covering
    every index (padding repeats the first; drop_last cuts the tail), a new order after set_epoch."""
    def shares(epoch, seed=0):
        out = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, seed=seed, drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out
    first = shares(0)
    assert shares(0) == first and all(len(p) == len(DistributedSampler(range(n), replicas, 0, drop_last=drop_last))
                                      for p in first)
    flat = list(itertools.chain(*first))
    if drop_last:
        assert len(set(flat)) == len(flat) == (n // replicas) * replicas
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas
    # rebuilding torch's interleave from the shares gives one permutation (+ its padding)
    order = [first[r][i] for i in range(len(first[0])) for r in range(replicas)]
    perm = order[:n] if not drop_last else order
    assert len(set(perm)) == len(perm)
    assert shares(1) != first or n < 3
    assert shares(0, seed=5) != first or n < 3


def test_errors_and_loader():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(10), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match=r"Invalid rank -1"):
        DistributedSampler(range(10), num_replicas=2, rank=-1)
    with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
        DistributedSampler(range(10))
    with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
        DistributedSampler(range(10), num_replicas=2)
    from tinygrad_rnn.utils.data.distributed import DistributedSampler as D
    assert D is DistributedSampler is tg.utils.data.DistributedSampler
    ds = TensorDataset(tg.arange(10))
    loader = tg.utils.data.DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]
