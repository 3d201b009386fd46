"""tg.return_types, torch.return_types': the named results of max, sort, linalg.qr, ... are tuples named and printed
as torch's structseqs, with namedtuple's _fields, and pickle by tinygrad_rnn.return_types' path."""
import pickle

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import return_types

X = [[1.0, 5.0, 3.0], [2.0, 0.0, 4.0]]
A = [[2.0, 1.0], [1.0, 3.0]]
CASES = {
    "max": lambda m, x, a: x.max(0), "min": lambda m, x, a: x.min(1), "sort": lambda m, x, a: x.sort(1),
    "topk": lambda m, x, a: x.topk(2), "kthvalue": lambda m, x, a: x.kthvalue(2), "mode": lambda m, x, a: x.mode(1),
    "median": lambda m, x, a: x.median(1), "aminmax": lambda m, x, a: m.aminmax(x),
    "frexp": lambda m, x, a: m.frexp(x), "cummax": lambda m, x, a: m.cummax(x, 1),
    "histogram": lambda m, x, a: m.histogram(x[0], 3),
    "linalg_slogdet": lambda m, x, a: m.linalg.slogdet(a), "linalg_eigh": lambda m, x, a: m.linalg.eigh(a),
    "linalg_qr": lambda m, x, a: m.linalg.qr(a), "svd": lambda m, x, a: m.svd(a),
    "linalg_lu_factor": lambda m, x, a: m.linalg.lu_factor(a), "linalg_inv_ex": lambda m, x, a: m.linalg.inv_ex(a),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_repr_and_type_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = CASES[name](tg, tg.tensor(X), tg.tensor(A, dtype=tg.float64))
    theirs = CASES[name](torch, torch.tensor(X), torch.tensor(A, dtype=torch.float64))
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    assert type(ours).__name__ == type(theirs).__name__ == name
    assert type(ours) is getattr(tg.return_types, name)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    assert type(ours)._fields == type(theirs).__match_args__  # (the same field names, in order)


def test_tuple_behaviour_and_pickling():
    r = tg.tensor(X).max(1)
    values, indices = r
    assert r[0] is values and r.values is values and r.indices is indices and r._fields == ("values", "indices")
    assert r == (values, indices) and isinstance(r, tuple)
    back = pickle.loads(pickle.dumps(r))
    assert type(back) is return_types.max and type(back).__module__ == "tinygrad_rnn.return_types"
    np.testing.assert_array_equal(back.values.numpy(), values.numpy())


def test_every_torch_type_here_has_torchs_fields():
    torch = pytest.importorskip("torch")
    for name, cls in return_types.by_name.items():
        assert getattr(torch.return_types, name).__match_args__ == cls._fields, name
    assert return_types.structseq("max", ("values", "indices")) is return_types.max  # (made once)


def test_constructed_from_a_sequence_as_torchs_structseq(device):
    """torch.return_types.max((values, indices)) (a structseq's one sequence argument, as code that rebuilds a
    result calls it) works as torch's; ours required the fields as separate arguments. n_fields and
    n_sequence_fields are torch's, and each type is in __all__."""
    torch = pytest.importorskip("torch")
    for T, kw in ((torch, {}), (tg, dict(device=device))):
        v, i = T.tensor([3.0, 1.0], **kw), T.tensor([0, 1], **kw)
        r = T.return_types.topk((v, i))
        assert r.values is v and r.indices is i and type(r) is T.return_types.topk
        assert T.return_types.linalg_lstsq([v, v, i, v]).rank is i
        assert (r.n_fields, r.n_sequence_fields, T.return_types.max.n_unnamed_fields) == (2, 2, 0)
        with pytest.raises(TypeError, match=r"takes a 2-sequence \(3-sequence given\)"):
            T.return_types.max((v, i, i))
        assert "linalg_eigh" in T.return_types.__all__ and "sort" in T.return_types.__all__
    assert tg.return_types.max(v, i).indices is i  # (namedtuple's form too)
