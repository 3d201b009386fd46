"""save / load: round trips, dtypes, atomic writes, bad files, no pickle, exact training resume."""
import builtins
import io
import json
import math
import os
import pickle
import stat
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import optim, serialization
from tinygrad_rnn.serialization import CheckpointNotFoundError, SerializationError, load, save
from tinygrad_rnn.tensor import Tensor


# --------------------------------------------------------------------------- strict equality
def assert_same(a, b, where="obj"):
    """Equal values and equal types all the way down (tuple is not list, 1 is not True or 1.0)."""
    if isinstance(a, Tensor):
        assert type(b) is type(a) and b.requires_grad == a.requires_grad and b.grad_fn is None, where
        assert b.device == a.device, where
        assert_same(a.numpy(), b.numpy(), where)
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), \
            f"{where}: {a.dtype}{np.shape(a)} vs {b.dtype}{np.shape(b)}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert len(a) == len(b), where
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            assert_same(ka, kb, f"{where} key")
            assert_same(va, vb, f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)), where
    else:
        assert a == b, where


# --------------------------------------------------------------------------- strategies
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.uint64, np.bool_,
          np.complex64]
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
arrays = st.sampled_from(DTYPES).flatmap(lambda dt: hnp.arrays(dt, shapes))
scalars = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.from_dtype(np.dtype(dt)).map(lambda v, dt=dt: np.asarray(v, dtype=dt)[()]))
tensors = st.tuples(hnp.arrays(st.sampled_from([np.float32, np.float64]), shapes), st.booleans()).map(
    lambda ar: Tensor(ar[0], requires_grad=ar[1]))
leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
          | arrays | scalars | tensors)
keys = st.text(max_size=6) | st.integers(-3, 3)
trees = st.recursive(leaves, lambda children: (st.lists(children, max_size=4)
                                               | st.lists(children, max_size=4).map(tuple)
                                               | st.dictionaries(keys, children, max_size=4)), max_leaves=12)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("ckpt")


@given(obj=trees)
def test_round_trip_random_structures(obj, scratch):
    path = scratch / "random.ckpt"
    save(obj, path)
    assert_same(obj, load(path))
    assert os.listdir(scratch) == ["random.ckpt"]


def test_round_trip_state_dict_like(tmp_path):
    obj = {
        "model": {"rnn.weight_ih": Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True),
                  "rnn.bias": Tensor(np.zeros(3, np.float64))},
        "optim": {"state": {0: {"step": 3, "exp_avg": np.ones((2, 3), np.float32)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1]}]},
        "epoch": 7, "best": float("inf"), "note": "héllo ✓", "none": None,
        "masks": [np.array([True, False]), np.array([], dtype=np.int64)], "count": np.int64(2 ** 40),
    }
    save(obj, tmp_path / "ck.pt")
    out = load(str(tmp_path / "ck.pt"))
    assert_same(obj, out)
    assert out["model"]["rnn.weight_ih"].dtype == np.float32 and out["model"]["rnn.bias"].dtype == np.float64
    assert out["optim"]["state"][0]["exp_avg"].dtype == np.float32
    assert isinstance(out["masks"][0], np.ndarray) and out["masks"][0].dtype == np.bool_
    assert out["masks"][1].dtype == np.int64
    assert os.listdir(tmp_path) == ["ck.pt"], "written exactly at path, no '.npz' suffix, no leftovers"


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_, np.float16, np.uint8])
def test_dtypes_preserved(tmp_path, dtype):
    a = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    save({"t": Tensor(a), "a": a}, tmp_path / "d")
    out = load(tmp_path / "d")
    assert out["t"].dtype == dtype and out["a"].dtype == dtype
    np.testing.assert_array_equal(out["t"].numpy(), a)


def test_shared_arrays_come_back_shared(tmp_path):
    """As torch.save: a tensor saved under two names, or tied weights in a state_dict, share memory after load."""
    model = tg.nn.Module()
    model.a, model.b = tg.nn.Linear(2, 2), tg.nn.Linear(2, 2)
    model.b.weight = model.a.weight
    t, arr = Tensor(np.arange(4.0)), np.ones(3, np.float32)
    save({"sd": model.state_dict(), "t": t, "again": [t, t.detach()], "arr": arr, "arr2": arr}, tmp_path / "tied")
    out = load(tmp_path / "tied")
    assert out["arr"] is out["arr2"]
    assert out["sd"]["a.weight"].array is out["sd"]["b.weight"].array
    assert not np.shares_memory(out["sd"]["a.bias"].array, out["sd"]["b.bias"].array)
    out["t"].array[0] = 7.0
    assert out["again"][0].numpy()[0] == 7.0 and out["again"][1].numpy()[0] == 7.0
    with zipfile.ZipFile(tmp_path / "tied") as z:  # each stored once: header + weight, 2 biases, t, arr
        assert len(z.namelist()) == 1 + 5


def test_one_object_saved_twice_comes_back_as_one_object(tmp_path):
    """As torch.load: {'a': t, 'b': t}, [t, t] and a list saved twice give back one object, not equal copies."""
    t, inner = Tensor(np.arange(3.0)), [1, 2]
    save({"a": t, "b": t, "l": [t, t, t.detach()], "x": [inner, inner], "y": inner}, tmp_path / "same")
    out = load(tmp_path / "same")
    assert out["a"] is out["b"] is out["l"][0] is out["l"][1]
    assert out["l"][2] is not out["a"] and out["l"][2].array is out["a"].array
    assert out["x"][0] is out["x"][1] is out["y"] and out["y"] == [1, 2]
    save([Tensor(np.ones(2)), Tensor(np.ones(2))], tmp_path / "two")
    first, second = load(tmp_path / "two")
    assert first is not second and not np.shares_memory(first.array, second.array)


def test_requires_grad_and_parameters_kept(tmp_path):
    """As torch.load: requires_grad and the nn.Parameter class come back; a computed tensor comes back a leaf."""
    w = Tensor(np.ones(2), requires_grad=True)
    p, frozen = tg.nn.Parameter(np.arange(3.0)), tg.nn.Parameter(np.zeros(1), requires_grad=False)
    save({"w": w, "y": w * 2, "p": p, "frozen": frozen, "plain": Tensor(np.ones(1))}, tmp_path / "rg")
    out = load(tmp_path / "rg")
    assert type(out["w"]) is Tensor and out["w"].requires_grad and out["w"].is_leaf
    assert type(out["y"]) is Tensor and out["y"].requires_grad and out["y"].grad_fn is None
    np.testing.assert_array_equal(out["y"].numpy(), [2.0, 2.0])
    assert type(out["p"]) is tg.nn.Parameter and out["p"].requires_grad
    assert type(out["frozen"]) is tg.nn.Parameter and not out["frozen"].requires_grad
    assert not out["plain"].requires_grad
    (out["p"] * out["w"][0]).sum().backward()
    np.testing.assert_array_equal(out["p"].grad.numpy(), [1.0, 1.0, 1.0])


def test_ordered_dicts_stay_ordered_dicts(tmp_path):
    """Module.state_dict() is an OrderedDict, as torch's, and torch.load gives an OrderedDict back."""
    sd = tg.nn.Linear(2, 3).state_dict()
    save({"sd": sd, "od": OrderedDict([(2, "b"), ("a", 1)]), "d": {"x": 1}}, tmp_path / "od")
    out = load(tmp_path / "od")
    assert type(out["sd"]) is OrderedDict and list(out["sd"]) == ["weight", "bias"]
    assert type(out["od"]) is OrderedDict and list(out["od"].items()) == [(2, "b"), ("a", 1)]
    assert type(out["d"]) is dict


def test_state_dict_metadata_comes_back(tmp_path):
    """A state_dict's _metadata (each module's version, which _load_from_state_dict reads to load older layouts)
    survives save / load, as torch.save keeps it; a dict without one gets none."""
    sd = tg.nn.Sequential(tg.nn.Linear(2, 2), tg.nn.BatchNorm1d(2)).state_dict()
    save({"sd": sd, "od": OrderedDict(a=1)}, tmp_path / "meta")
    out = load(tmp_path / "meta")
    assert out["sd"]._metadata == sd._metadata and type(out["sd"]._metadata) is OrderedDict
    assert not hasattr(out["od"], "_metadata")


def test_file_objects_and_overwrite(tmp_path):
    buf = io.BytesIO()
    save({"x": [1, 2.5]}, buf)
    buf.seek(0)
    assert load(buf) == {"x": [1, 2.5]}
    path = tmp_path / "c"
    save(1, path)
    os.chmod(path, 0o640)
    save(2, path)
    assert load(path) == 2 and stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_map_location(tmp_path, device):
    t = Tensor(np.arange(3.0))
    save({"t": t, "a": np.ones(2)}, tmp_path / "m")
    out = load(tmp_path / "m", map_location=device)
    assert out["t"].device == device and not out["t"].requires_grad
    np.testing.assert_array_equal(out["t"].numpy(), t.numpy())
    assert load(tmp_path / "m", map_location="cpu")["t"].device == "cpu"
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        load(tmp_path / "m", map_location="tpu")


# --------------------------------------------------------------------------- what cannot be saved
class Opaque:
    pass


def test_unsupported_objects_raise(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot save a Opaque at obj\['a'\]\[1\]"):
        save({"a": [1, Opaque()]}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"cannot save a LSTM at obj; .* save its state_dict\(\)"):
        save(tg.nn.LSTM(2, 3), tmp_path / "x")  # (torch.save(model) pickles it; no pickle here)
    with pytest.raises(TypeError, match="dtype object"):
        save({"a": np.array([None, 1], dtype=object)}, tmp_path / "x")
    with pytest.raises(TypeError, match="dict key"):
        save({("a", 1): 1}, tmp_path / "x")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="reference cycle"):
        save(loop, tmp_path / "x")
    shared = [1]
    save([shared, shared], tmp_path / "x")
    assert load(tmp_path / "x") == [[1], [1]]
    assert os.listdir(tmp_path) == ["x"]


def nested(depth, leaf):
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


def test_too_deep_structures_say_so(tmp_path):
    """A bare RecursionError was what save and load raised; now each names itself and the recursion limit."""
    path = tmp_path / "deep"
    save(nested(300, Tensor(np.ones(1))), path)
    out = load(path)
    for _ in range(150):
        out = out[0]["k"]
    assert isinstance(out, Tensor)
    with pytest.raises(ValueError, match=r"save: obj nests containers deeper .*sys.setrecursionlimit"):
        save(nested(2000, 1), path)
    assert os.listdir(tmp_path) == ["deep"]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)
    try:
        save(nested(2000, Tensor(np.ones(1))), path)
    finally:
        sys.setrecursionlimit(limit)
    with pytest.raises(SerializationError, match=r"load: '.*deep' nests containers deeper .*sys.setrecursionlimit"):
        load(path)


# --------------------------------------------------------------------------- atomic writes
def test_crash_mid_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    old = {"w": Tensor(np.arange(4.0))}
    save(old, path)
    before = path.read_bytes()

    def dies_halfway(f, **entries):
        f.write(b"PK\x03\x04 partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(serialization.np, "savez", dies_halfway)
    with pytest.raises(OSError, match="disk full"):
        save({"w": Tensor(np.zeros(4))}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert_same(old, load(path))
    assert os.listdir(tmp_path) == ["ckpt.npz"], "the temporary file is removed"


def test_crash_at_fsync_or_interrupt_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save([1, 2], path)

    def no_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", no_fsync)
    with pytest.raises(KeyboardInterrupt):
        save([3, 4], path)
    monkeypatch.undo()
    assert load(path) == [1, 2] and os.listdir(tmp_path) == ["ckpt"]


def test_writes_temp_file_then_replaces(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    calls = []
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd):
        calls.append("fsync")
        real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", os.path.dirname(src), dst))
        real_replace(src, dst)

    monkeypatch.setattr(serialization.os, "fsync", fsync)
    monkeypatch.setattr(serialization.os, "replace", replace)
    save({"a": 1}, path)
    assert calls[0] == "fsync" and calls[1] == ("replace", str(tmp_path), str(path))
    assert load(path) == {"a": 1}


# --------------------------------------------------------------------------- bad files
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.ckpt"
    obj = {"w": Tensor(np.arange(20, dtype=np.float32)), "opt": {"state": {0: {"step": 2}}}, "name": "run"}
    save(obj, path)
    return path, obj


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_truncated_file(good_file, keep):
    path, _ = good_file
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(SerializationError, match="good.ckpt"):
        load(path)


@given(pos=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
def test_any_corruption_is_caught_or_harmless(pos, flip, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "flip.ckpt"
    obj = {"w": Tensor(np.arange(20, dtype=np.float32)), "opt": {"state": {0: {"step": 2}}}, "name": "run"}
    save(obj, path)
    data = bytearray(path.read_bytes())
    i = int(pos * len(data))
    data[i] ^= flip
    path.write_bytes(bytes(data))
    try:
        out = load(path)
    except SerializationError as e:
        assert "flip.ckpt" in str(e)
    else:
        assert_same(obj, out)  # a byte zip does not check (a timestamp, say)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="no such file: .*nope"):
        load(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope")
    with pytest.raises(ValueError):
        load(tmp_path / "nope")
    with pytest.raises(SerializationError, match="is a directory"):
        load(tmp_path)


def test_save_into_missing_directory_names_the_target(tmp_path):
    target = tmp_path / "no" / "such" / "x.npz"
    with pytest.raises(FileNotFoundError) as info:
        save({"a": 1}, target)
    msg = str(info.value)
    assert str(target) in msg and "does not exist" in msg and ".tmp" not in msg
    assert not (tmp_path / "no").exists()


def header(text):
    return np.frombuffer(text, np.uint8)


def _torch_like_zip(f):
    """The layout torch.save writes: a zip holding <name>/data.pkl beside the raw storages."""
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("model/data/0", b"\x00" * 16)
        z.writestr("model/version", b"3\n")


@pytest.mark.parametrize("write, match", [
    (lambda f: f.write(b"hello, I am a text file\n"), r"not an \.npz \(zip\) archive"),
    (lambda f: f.write(b"PK is how this text starts\n"), r"not an \.npz \(zip\) archive \(it starts with b'PK is"),
    (lambda f: None, "the file is empty"),
    (lambda f: np.save(f, np.arange(3)), r"single \.npy array"),
    (lambda f: np.savez(f, x=np.arange(3)), r"without a '__tinygrad_rnn__' entry"),
    (lambda f: _torch_like_zip(f), r"looks like a torch.save file \(a pickle in a zip\), which this package never "
                                   "unpickles"),
    (lambda f: np.savez(f, __tinygrad_rnn__=np.arange(3.0)), "unreadable header"),
    (lambda f: np.savez(f, __tinygrad_rnn__=header(b"{not json")), "unreadable header"),
    (lambda f: np.savez(f, __tinygrad_rnn__=header(b"[1, 2]")), "unreadable header"),
    (lambda f: np.savez(f, __tinygrad_rnn__=header(b'{"format": "other"}')), "header format is 'other'"),
])
def test_foreign_files(tmp_path, write, match):
    path = tmp_path / "foreign.bin"
    with open(path, "wb") as f:
        write(f)
    with pytest.raises(SerializationError, match=match) as info:
        load(path)
    assert "foreign.bin" in str(info.value)


def test_text_mode_file_objects_are_refused_by_name(tmp_path):
    """A file opened without 'b' cannot hold a zip: a TypeError saying so, not a UnicodeDecodeError from inside."""
    path = tmp_path / "text.ckpt"
    save({"a": 1}, path)
    with open(path, encoding="utf-8") as f, pytest.raises(TypeError, match=r"text\.ckpt.*text-mode.*'rb'"):
        load(f)
    with open(tmp_path / "out.ckpt", "w", encoding="utf-8") as f, pytest.raises(TypeError, match="'wb'"):
        save({"a": 1}, f)
    with pytest.raises(TypeError, match="StringIO.*text-mode"):
        load(io.StringIO("PK\x03\x04"))


def write_with_header(path, obj, mutate, extra=None):
    """A file as save() writes it, after mutate(header) and with extra/replaced entries."""
    entries = serialization._entries(obj)
    header = json.loads(entries[serialization.HEADER_KEY].tobytes())
    mutate(header)
    entries[serialization.HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    entries.update(extra or {})
    with open(path, "wb") as f:
        np.savez(f, **entries)


@pytest.mark.parametrize("mutate, extra, match", [
    (lambda h: h.update(version=99), None, "format version 99, newer than"),
    (lambda h: h.update(version="1"), None, "format version '1' is not a positive int"),
    (lambda h: h.pop("tree"), None, "lacks 'tree'"),
    (lambda h: h["arrays"].append(["<f4", [1]]), None, "array entry 'a1' is missing"),
    (lambda h: h["arrays"].__setitem__(0, ["<f8", [3]]), None, "the header says"),
    (lambda h: h["tree"]["v"].__setitem__(0, {"$": "array", "i": 5}), None, r"array index 5 out of range"),
    (lambda h: h["tree"]["v"].__setitem__(0, {"$": "module"}), None, r"unknown node type 'module' at obj\['t'\]"),
    (lambda h: h["tree"].update(k=["t"]), None, "do not pair up"),
    (lambda h: h["tree"]["v"][0].update(device="tpu"), None, "unknown device 'tpu'"),
])
def test_corrupt_headers(tmp_path, mutate, extra, match):
    path = tmp_path / "bad"
    write_with_header(path, {"t": Tensor(np.zeros(3, np.float32)), "n": 1}, mutate, extra)
    with pytest.raises(SerializationError, match=match):
        load(path)


def test_cuda_file_needs_map_location_without_gpu(tmp_path):
    if tg.cuda_available():
        pytest.skip("a GPU is present")
    path = tmp_path / "gpu.ckpt"
    write_with_header(path, {"t": Tensor(np.ones(2, np.float32))}, lambda h: h["tree"]["v"][0].update(device="cuda"))
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        load(path)
    assert load(path, map_location="cpu")["t"].device == "cpu"


def test_map_location_dict_and_callable_as_torchs(tmp_path):
    """torch.load's other map_location forms: a dict of location names ({'cuda:0': 'cpu'}) and a callable
    (storage, location) returning the storage moved, or None to keep it where it was saved (the classic
    ``lambda storage, loc: storage`` loads a GPU checkpoint on the CPU)."""
    path = tmp_path / "gpu.ckpt"
    write_with_header(path, {"t": Tensor(np.ones(2, np.float32)), "c": Tensor(np.zeros(1, np.float32))},
                      lambda h: h["tree"]["v"][0].update(device="cuda"))
    seen = []

    def keep(storage, loc):
        seen.append((loc, storage.device))
        return storage
    for ml in (keep, {"cuda:0": "cpu"}, {"cuda": "cpu"}, lambda storage, loc: storage.cpu()):
        out = load(path, map_location=ml)
        assert out["t"].device == out["c"].device == "cpu"
        np.testing.assert_array_equal(out["t"].numpy(), [1.0, 1.0])
    assert sorted(seen) == [("cpu", "cpu"), ("cuda:0", "cpu")]
    assert load(path, map_location=lambda storage, loc: None if loc == "cpu" else storage)["c"].device == "cpu"
    if not tg.cuda_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):  # (None keeps the saved device)
            load(path, map_location=lambda storage, loc: None)
        with pytest.raises(RuntimeError, match="map_location='cpu'"):  # (a location the dict lacks stays)
            load(path, map_location={"cuda:1": "cpu"})
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        load(path, map_location={"cuda:0": "tpu"})


# --------------------------------------------------------------------------- no pickle
class Payload:
    def __reduce__(self):
        return exec, ("import builtins; builtins._tinygrad_rnn_pwned = True",)


def test_load_never_unpickles(tmp_path, monkeypatch):
    seen = []
    real_load = np.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    save({"a": np.ones(2)}, tmp_path / "ok")
    load(tmp_path / "ok")
    assert seen == [False]

    with open(tmp_path / "pickle.pt", "wb") as f:
        pickle.dump({"x": Payload()}, f)
    with pytest.raises(SerializationError):
        load(tmp_path / "pickle.pt")

    obj_array = np.empty(1, dtype=object)
    obj_array[0] = Payload()
    write_with_header(tmp_path / "objarr", {"a": np.zeros(1)}, lambda h: h["arrays"].__setitem__(0, ["|O", [1]]),
                      extra={"a0": obj_array})
    with pytest.raises(SerializationError, match="cannot read array entry 'a0'.*allow_pickle"):
        load(tmp_path / "objarr")
    assert not hasattr(builtins, "_tinygrad_rnn_pwned")


# --------------------------------------------------------------------------- exact resume
def make_model(seed):
    rng = np.random.default_rng(seed)
    return {"W": tg.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True),
            "U": tg.tensor(0.5 * rng.standard_normal((5, 5)).astype(np.float32), requires_grad=True),
            "b": tg.zeros(5, requires_grad=True)}


def rnn_loss(model, xs, y):
    h = tg.zeros(4, 5)
    for x in xs:
        h = (x @ model["W"] + h @ model["U"] + model["b"]).tanh()
    return ((h - y) ** 2).mean()


def train(model, opt, sched, batches):
    for xs, y in batches:
        opt.zero_grad()
        rnn_loss(model, xs, y).backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01),
    lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
], ids=["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_training_resumes_exactly(tmp_path, make_opt):
    rng = np.random.default_rng(3)
    batches = [([tg.tensor(rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(3)],
                tg.tensor(rng.standard_normal((4, 5)).astype(np.float32))) for _ in range(8)]

    def setup(seed):
        model = make_model(seed)
        params = [{"params": [model["W"]]}, {"params": [model["U"], model["b"]], "lr": 0.005}]
        opt = make_opt(params)
        return model, opt, optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    model, opt, sched = setup(0)
    train(model, opt, sched, batches[:3])
    save({"model": model, "optim": opt.state_dict(), "sched": sched.state_dict(), "epoch": 3}, tmp_path / "ck")
    train(model, opt, sched, batches[3:])

    model2, opt2, sched2 = setup(1)
    ck = load(tmp_path / "ck")
    for k, p in model2.items():
        p.array[...] = ck["model"][k].array
    opt2.load_state_dict(ck["optim"])
    sched2.load_state_dict(ck["sched"])
    assert ck["epoch"] == 3
    train(model2, opt2, sched2, batches[3:])
    for k in model:
        np.testing.assert_array_equal(model[k].numpy(), model2[k].numpy(), err_msg=k)
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_save_and_load_take_torchs_argument_names(tmp_path):
    """torch.save(obj, f) and torch.load(f, map_location, *, weights_only): the keyword forms write and read
    what the positional ones do (loads never unpickle, so weights_only changes nothing)."""
    obj = {"w": tg.tensor([[1.0, 2.0]]), "n": 3}
    save(obj=obj, f=tmp_path / "kw.npz")
    save(obj, tmp_path / "pos.npz")
    buf = io.BytesIO()
    save(obj=obj, f=buf)
    buf.seek(0)
    for got in (load(f=tmp_path / "kw.npz", map_location="cpu"), load(tmp_path / "pos.npz", "cpu"),
                load(f=tmp_path / "kw.npz", weights_only=True), load(buf, weights_only=False)):
        assert_same(got, obj)
