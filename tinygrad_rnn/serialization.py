"""save / load for state dicts: one .npz file, no pickle, written atomically.

Layout: every array (a Tensor's data, a numpy/cupy array, a numpy scalar) is an
entry 'a0', 'a1', ...; the structure around them (dicts, OrderedDicts, lists, tuples, numbers,
strings, None) is a JSON document stored as a uint8 entry '__tinygrad_rnn__',
together with a format name and version and each array's dtype and shape. An array
met twice (one Tensor saved under two names, or Tensors sharing one array, as a
state_dict's tied weights) is stored once and comes back shared, as torch.save keeps
storages shared; one Tensor, list or dict object met twice comes back as one object, as
torch.load gives (its nodes share an "id"); an OrderedDict's _metadata (a state_dict's module versions) comes
back with it, as torch.save keeps it; a view of another array comes back with
memory of its own. A sparse COO tensor (tg.sparse's) is a node over two arrays, its indices and values, with
its size, coalesced flag and requires_grad: such a file is format version 2 (one without stays version 1, which
older readers take). Files
are read with ``np.load(..., allow_pickle=False)``, so loading a file from an
untrusted source cannot run code. ``save`` writes a temporary file in the target
directory, fsyncs it and renames it over the target, so a crash mid-save leaves
the previous checkpoint whole.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import secrets
import stat
import sys
from collections import OrderedDict
from typing import IO, Any, BinaryIO, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import backend
from .nn.module import Parameter
from .sparse import SparseCooTensor
from .tensor import Tensor, _AttributeTypeError, complex_ok, dtype_name

FORMAT_NAME = "tinygrad_rnn"
FORMAT_VERSION = 2  # (2: sparse COO tensors, "sparse_coo" nodes; a file without one is still written as 1)
HEADER_KEY = "__tinygrad_rnn__"
ARRAY_KINDS = "biufc"  # bool, signed/unsigned int, float, complex: all stored without pickle
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip: what np.load reads as .npz

PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]


class SerializationError(RuntimeError, ValueError):
    """load() cannot read this file: missing, truncated, corrupt, or not written by save() (a RuntimeError, as
    torch.load's for a damaged archive, and a ValueError, as raised here before)."""


class CheckpointNotFoundError(SerializationError, FileNotFoundError):
    """load() was given a path with no file (also a FileNotFoundError, as torch.load raises)."""


class _CheckpointIsADirectoryError(SerializationError, IsADirectoryError):
    """load() was given a directory's path (also an IsADirectoryError, as torch.load raises)."""


def _check_file_argument(f: Any, op: str, method: str) -> None:
    """f a path (str, bytes, os.PathLike) or a file object with ``method``; else an AttributeError naming op, as torch's
    (the object has no 'write', or no 'seek'), and a TypeError, as raised here before (os.fspath's)."""
    if not hasattr(f, method) and not isinstance(f, (str, bytes, os.PathLike)):
        raise _AttributeTypeError(f"{op}: expected 'f' to be a string, path, or a file-like object with a "
                                  f"'{method}' attribute, got {type(f).__name__}")


class _EmptyCheckpointError(SerializationError, EOFError):
    """load() was given an empty file: an EOFError, as torch.load's (its unpickler runs out of input), and a
    SerializationError, as raised here before."""


class _NotACheckpointError(SerializationError, pickle.UnpicklingError):
    """load() was given a file that is no zip archive (text, a .npy array): a pickle.UnpicklingError, as torch.load's
    (which reads such a file as a legacy pickle), and a SerializationError, as raised here before."""


# --------------------------------------------------------------------------- encoding
_PRIMITIVES = (type(None), bool, int, float, str)


class _Encoder:
    """Builds the JSON tree of obj. Arrays found go to ``arrays`` (each array object once, by id) and are
    referenced by index; a Tensor or container met more than once gets an "id" shared by all its nodes, so that
    load gives back one object, as torch.load does (readers that ignore "id" still get equal values)."""

    def __init__(self) -> None:
        self.arrays: List[Any] = []
        self.seen: Dict[int, int] = {}  # id(array) -> index in arrays
        self.active: set = set()  # ids of the containers being encoded: a cycle check
        self.nodes: Dict[int, List[dict]] = {}  # id(Tensor or container) -> its nodes
        self.sparse = False  # a sparse COO tensor was met: the file is format version 2

    def tree(self, obj: Any) -> Any:
        tree = self.encode(obj, "obj")
        for n, nodes in enumerate(ns for ns in self.nodes.values() if len(ns) > 1):
            for node in nodes:
                node["id"] = n
        return tree

    def encode(self, obj: Any, where: str) -> Any:
        """JSON-able description of obj (obj stays alive while saving, so its id() stays its own)."""
        if isinstance(obj, np.generic):  # before the primitives: np.float64 subclasses float
            return {"$": "scalar", "i": self.add_array(np.asarray(obj), where, share=False)}
        if isinstance(obj, _PRIMITIVES):
            return obj
        if isinstance(obj, Tensor):
            node = {"$": "tensor", "i": self.add_array(obj.array, where), "device": obj.device}
            if obj.requires_grad:
                node["rg"] = True
            if isinstance(obj, Parameter):
                node["cls"] = "Parameter"
            return self.shared(obj, node)
        if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
            return {"$": "array", "i": self.add_array(obj, where), "device": backend.device_of(obj)}
        if isinstance(obj, SparseCooTensor):  # (its indices and values as two arrays; format version 2)
            self.sparse = True
            node = {"$": "sparse_coo", "i": self.add_array(obj._indices().array, f"{where}._indices()"),
                    "v": self.add_array(obj._values().array, f"{where}._values()"), "device": obj.device,
                    "size": list(obj.shape), "coalesced": obj.is_coalesced()}
            if obj.requires_grad and obj.is_leaf:
                node["rg"] = True
            return self.shared(obj, node)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"save: {where} contains itself (a reference cycle); cannot save it")
            self.active.add(id(obj))
            try:
                values: List[Any] = []  # (loops, not comprehensions: one Python frame per level)
                if isinstance(obj, dict):
                    for k, v in obj.items():
                        if not isinstance(k, _PRIMITIVES):
                            raise TypeError(f"save: dict key {k!r} at {where} is a {type(k).__name__}; keys must "
                                            "be str, int, float, bool or None")
                        values.append(self.encode(v, f"{where}[{k!r}]"))
                    node = {"$": "dict", "k": list(obj), "v": values}
                    if isinstance(obj, OrderedDict):  # (a state_dict): other dict subclasses come back dicts
                        node["ordered"] = True
                        metadata = getattr(obj, "_metadata", None)
                        if metadata is not None:  # (a state_dict's per-module versions, as torch.save keeps them)
                            node["meta"] = self.encode(metadata, f"{where}._metadata")
                else:
                    for i, v in enumerate(obj):
                        values.append(self.encode(v, f"{where}[{i}]"))
                    node = {"$": "tuple" if isinstance(obj, tuple) else "list", "v": values}
            finally:
                self.active.discard(id(obj))
            return self.shared(obj, node)
        hint = ""
        if hasattr(obj, "state_dict") and callable(obj.state_dict):  # (torch.save(model): pickles the whole object)
            hint = (f" (a whole {type(obj).__name__} would need pickle, which save never uses: save its state_dict() "
                    "and load that into a new one with load_state_dict)")
        raise TypeError(f"save: cannot save a {type(obj).__name__} at {where}; supported: dict, list, tuple, "
                        f"Tensor, numpy/cupy array or scalar, int, float, bool, str, None{hint}")

    def shared(self, obj: Any, node: dict) -> dict:
        self.nodes.setdefault(id(obj), []).append(node)
        return node

    def add_array(self, a: Any, where: str, share: bool = True) -> int:
        if share and id(a) in self.seen:
            return self.seen[id(a)]
        if a.dtype.kind not in ARRAY_KINDS:
            raise TypeError(f"save: the array at {where} has dtype {dtype_name(a.dtype)}; only bool, integer, float "
                            "and complex arrays can be saved (other dtypes would need pickle)")
        self.arrays.append(backend.to_device(a, "cpu"))
        if share:
            self.seen[id(a)] = len(self.arrays) - 1
        return len(self.arrays) - 1


def _entries(obj: Any) -> Dict[str, np.ndarray]:
    encoder = _Encoder()
    try:
        tree = encoder.tree(obj)
        arrays = encoder.arrays
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION if encoder.sparse else 1, "tree": tree,
                  "arrays": [[a.dtype.str, list(a.shape)] for a in arrays]}
        text = json.dumps(header, ensure_ascii=True, separators=(",", ":"))
    except RecursionError:
        raise ValueError(f"save: obj nests containers deeper than save can write under Python's recursion limit "
                         f"({sys.getrecursionlimit()}); flatten it (as a state_dict's dotted names) or raise the "
                         "limit with sys.setrecursionlimit") from None
    entries = {HEADER_KEY: np.frombuffer(text.encode("ascii"), dtype=np.uint8)}
    entries.update((f"a{i}", a) for i, a in enumerate(arrays))
    return entries


def _too_deep(name: str) -> SerializationError:
    return SerializationError(f"load: {name} nests containers deeper than load can read under Python's "
                              f"recursion limit ({sys.getrecursionlimit()}); raise it with sys.setrecursionlimit")


def save(obj: Any, f: PathOrFile) -> None:
    """Write obj (nested dicts / lists / tuples of Tensors, arrays, numbers, strings) to f, a path or a binary
    file object (torch.save's names and order).

    The file is written exactly at the path (no '.npz' is appended). A path is replaced
    atomically: temp file in the same directory, flush + fsync, os.replace. A binary
    file object is written to directly (no atomicity). A path whose directory does not
    exist raises FileNotFoundError naming the path (directories are not created).
    """
    _check_file_argument(f, "save", "write")
    entries = _entries(obj)
    if hasattr(f, "write"):
        _check_binary(f, "save", "wb")
        np.savez(f, **entries)
        return
    atomic_write(f, lambda out: np.savez(out, **entries), "save")


def atomic_write(path: Any, write: Callable[[BinaryIO], None], op: str) -> None:
    """Call write(f) on a temporary file beside path, fsync it, then os.replace it over path.

    A crash or an error midway leaves the previous file whole and no temporary file behind;
    the file keeps the old file's permissions. A missing directory raises FileNotFoundError
    naming path (directories are not created), a path that is a directory IsADirectoryError.
    """
    target = os.path.realpath(os.fspath(path))
    if os.path.isdir(target):  # (os.replace would fail only after the write, naming our temporary file)
        raise IsADirectoryError(f"{op}: cannot write {os.fspath(path)!r}: it is a directory; give a file name")
    directory, base = os.path.split(target)
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileNotFoundError:  # name the target, not our temp file
        raise FileNotFoundError(f"{op}: cannot write {os.fspath(path)!r}: directory {directory!r} does not "
                                "exist") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if os.path.exists(target):
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- decoding
def _read(path: PathOrFile, name: str) -> Tuple[Any, List[np.ndarray]]:
    """The header's tree and the arrays, checked against the header; SerializationError otherwise."""
    if hasattr(path, "read"):
        return _read_file(path, name)
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"load: no such file: {name}")
    if os.path.isdir(path):
        raise _CheckpointIsADirectoryError(f"load: {name} is a directory, not a checkpoint file")
    with open(path, "rb") as f:  # ours to close, even when np.load fails half way
        return _read_file(f, name)


def _read_file(f: IO[bytes], name: str) -> Tuple[Any, List[np.ndarray]]:
    not_ours = f"load: {name} is not a checkpoint written by tinygrad_rnn.save"
    _check_binary(f, "load", "rb")
    head = _peek(f)
    if not head:
        raise _EmptyCheckpointError(f"{not_ours}: the file is empty")
    if head.startswith(b"\x93NUMPY"):
        raise _NotACheckpointError(f"{not_ours}: it holds a single .npy array, not an .npz archive")
    if not head.startswith(ZIP_MAGIC):  # (np.load would take anything else for a pickle, and say so)
        raise _NotACheckpointError(f"{not_ours}: it is not an .npz (zip) archive (it starts with {head!r})")
    try:
        npz = np.load(f, allow_pickle=False)
    except PermissionError:
        raise
    except Exception as e:
        raise SerializationError(f"{not_ours}: it is not a readable .npz archive (truncated or corrupt?): "
                                 f"{type(e).__name__}: {e}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise SerializationError(f"{not_ours}: np.load did not read it as an .npz archive")
    with npz:
        if HEADER_KEY not in npz.files:
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in npz.files):
                raise SerializationError(f"{not_ours}: it looks like a torch.save file (a pickle in a zip), which "
                                         "this package never unpickles; load it with torch and pass the state dict "
                                         "to load_state_dict, which takes torch tensors")
            raise SerializationError(f"{not_ours}: it is an .npz archive without a '{HEADER_KEY}' entry "
                                     f"(entries: {sorted(npz.files)[:10]})")
        try:
            raw = npz[HEADER_KEY]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"header entry has dtype {dtype_name(raw.dtype)} and shape {raw.shape}, expected 1-d "
                                 "torch.uint8")
            header = json.loads(raw.tobytes().decode("ascii"))
            if not isinstance(header, dict):
                raise ValueError(f"header is a JSON {type(header).__name__}, expected an object")
        except PermissionError:
            raise
        except RecursionError:
            raise _too_deep(name) from None
        except Exception as e:
            raise SerializationError(f"load: {name} is corrupt: unreadable header ({type(e).__name__}: {e})") from None
        if header.get("format") != FORMAT_NAME:
            raise SerializationError(f"{not_ours}: header format is {header.get('format')!r}")
        version = header.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SerializationError(f"load: {name} is corrupt: format version {version!r} is not a positive int")
        if version > FORMAT_VERSION:
            raise SerializationError(f"load: {name} has format version {version}, newer than this tinygrad_rnn "
                                     f"reads (up to {FORMAT_VERSION}); upgrade tinygrad_rnn")
        specs = header.get("arrays")
        if not isinstance(specs, list) or "tree" not in header:
            raise SerializationError(f"load: {name} is corrupt: header lacks 'tree' or 'arrays'")
        arrays = []
        for i, spec in enumerate(specs):
            key = f"a{i}"
            if key not in npz.files:
                raise SerializationError(f"load: {name} is corrupt: array entry {key!r} is missing "
                                         f"(header lists {len(specs)} arrays)")
            try:
                a = npz[key]
            except PermissionError:
                raise
            except Exception as e:
                raise SerializationError(f"load: {name} is corrupt: cannot read array entry {key!r} "
                                         f"({type(e).__name__}: {e})") from None
            if not (isinstance(spec, list) and len(spec) == 2 and spec[0] == a.dtype.str
                    and spec[1] == list(a.shape)):
                raise SerializationError(f"load: {name} is corrupt: array {key!r} has dtype {a.dtype.str} and "
                                         f"shape {list(a.shape)}, the header says {spec!r}")
            arrays.append(a)
    return header["tree"], arrays


def _check_binary(f: Any, op: str, mode: str) -> None:
    """A text-mode file object (open(path) without 'b', io.StringIO) cannot hold an .npz archive: say so."""
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{op}: {getattr(f, 'name', type(f).__name__)!r} is a text-mode file object; a checkpoint "
                        f"is binary: open the file with mode {mode!r} (or pass its path)")


def _peek(f: IO[bytes], n: int = 8) -> bytes:
    """The first n bytes from the current position, which is left where it was."""
    pos = f.tell()
    head = f.read(n)
    f.seek(pos)
    return head


class _Decoder:
    def __init__(self, arrays: List[np.ndarray], device: Any, name: str) -> None:
        self.arrays, self.device, self.name = arrays, device, name
        self.placed: Dict[Tuple[int, str], Any] = {}  # (index, device) -> array there: shared stays shared
        self.objects: Dict[int, Any] = {}  # a node's "id" -> the object made for it

    def corrupt(self, where: str, what: str) -> SerializationError:
        return SerializationError(f"load: {self.name} is corrupt: {what} at {where}")

    def array(self, node: dict, where: str) -> np.ndarray:
        i = node.get("i")
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self.arrays):
            raise self.corrupt(where, f"array index {i!r} out of range (file has {len(self.arrays)} arrays)")
        return self.arrays[i]

    def place(self, node: dict, where: str) -> Any:
        a = self.array(node, where)
        device = node.get("device", "cpu")
        if device not in ("cpu", "cuda"):
            raise self.corrupt(where, f"unknown device {device!r}")
        if self.device is not None:
            device = self.device if isinstance(self.device, str) else self.mapped(a, device)
        if device == "cuda" and not backend.cuda_available():
            raise RuntimeError(f"load: {self.name} holds data saved on 'cuda' (at {where}) but CUDA is not "
                               "available here; pass map_location='cpu'")
        key = (node["i"], device)
        if key not in self.placed:
            self.placed[key] = backend.to_device(a, device)
        return self.placed[key]

    def mapped(self, a: np.ndarray, saved: str) -> str:
        """The device a map_location dict or callable sends an array saved on ``saved`` to, as torch.load's: the
        dict maps location names ('cuda:0', 'cpu'; others stay); the callable gets (storage, location), the
        storage here a CPU Tensor of the array, and returns it moved (its device is taken) or None (stays)."""
        location = "cuda:0" if saved == "cuda" else saved
        m = self.device
        if isinstance(m, dict):
            target = m.get(location, m.get(saved, saved))
        else:
            moved = m(Tensor(backend.to_device(a, "cpu")), location)
            target = saved if moved is None else getattr(moved, "device", moved)
        return backend.check_device(str(target), "load: map_location")

    def tensor(self, node: dict, where: str) -> Tensor:
        """A leaf Tensor, or nn.Parameter, with the requires_grad it was saved with (torch.load's)."""
        rg, cls = node.get("rg", False), node.get("cls")
        if not isinstance(rg, bool) or cls not in (None, "Parameter"):
            raise self.corrupt(where, f"a tensor with requires_grad {rg!r} and class {cls!r}")
        data = self.place(node, where)
        if rg and data.dtype.kind not in "fc":
            raise self.corrupt(where, f"a {dtype_name(data.dtype)} tensor that requires grad")
        return Parameter(data, requires_grad=rg) if cls else Tensor(data, requires_grad=rg)

    def sparse(self, node: dict, where: str) -> SparseCooTensor:
        """A sparse COO tensor (torch.load's: a leaf, requires_grad as saved), its indices checked against its
        size as sparse_coo_tensor checks them, so a corrupt file cannot index past it."""
        idx = self.place(node, where)
        val = self.place({"i": node.get("v"), "device": node.get("device", "cpu")}, where)
        size, rg, coalesced = node.get("size"), node.get("rg", False), node.get("coalesced")
        if not (isinstance(size, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                               for n in size) and isinstance(rg, bool) and isinstance(coalesced, bool)):
            raise self.corrupt(where, f"a sparse tensor with size {size!r}, requires_grad {rg!r}, coalesced "
                                      f"{coalesced!r}")
        sd = idx.shape[0] if idx.ndim == 2 else -1
        if idx.dtype != np.int64 or sd < 0 or val.ndim < 1 or val.shape[0] != idx.shape[1] or \
                len(size) != sd + val.ndim - 1 or list(val.shape[1:]) != size[sd:] or \
                (rg and val.dtype.kind not in "fc"):
            raise self.corrupt(where, f"a sparse tensor of size {size} with {dtype_name(idx.dtype)} indices "
                                      f"{idx.shape} and {dtype_name(val.dtype)} values {val.shape}")
        if idx.shape[1] and (bool((idx < 0).any()) or bool((idx.max(1) >= backend.xp_of(idx).asarray(
                size[:sd], dtype=np.int64)).any())):
            raise self.corrupt(where, f"a sparse tensor of size {size} with indices out of range")
        out = SparseCooTensor(Tensor(idx), Tensor(val), tuple(size), coalesced)
        return out.requires_grad_(True) if rg else out

    def decode(self, node: Any, where: str) -> Any:
        """The object node describes; nodes with one "id" give one object (a Tensor or container saved twice).
        One Python frame per level (loops, not comprehensions), so that load reads as deep as json does."""
        if isinstance(node, _PRIMITIVES):
            return node
        if not isinstance(node, dict):
            raise self.corrupt(where, f"unexpected JSON {type(node).__name__}")
        ref = node.get("id")
        if ref is not None:
            if not isinstance(ref, int) or isinstance(ref, bool):
                raise self.corrupt(where, f"object id {ref!r} is not an int")
            if ref in self.objects:
                return self.objects[ref]
        kind = node.get("$")
        if kind == "tensor":
            out = self.tensor(node, where)
        elif kind == "array":
            out = self.place(node, where)
        elif kind == "sparse_coo":
            out = self.sparse(node, where)
        elif kind == "scalar":
            a = self.array(node, where)
            if a.ndim != 0:
                raise self.corrupt(where, f"a scalar entry with shape {a.shape}")
            out = a[()]
        elif kind in ("list", "tuple"):
            values = node.get("v")
            if not isinstance(values, list):
                raise self.corrupt(where, f"a {kind} without a value list")
            items = []
            for i, v in enumerate(values):
                items.append(self.decode(v, f"{where}[{i}]"))
            out = tuple(items) if kind == "tuple" else items
        elif kind == "dict":
            keys, values = node.get("k"), node.get("v")
            if not (isinstance(keys, list) and isinstance(values, list) and len(keys) == len(values)
                    and all(isinstance(k, _PRIMITIVES) for k in keys)):
                raise self.corrupt(where, "a dict whose keys and values do not pair up")
            out = OrderedDict() if node.get("ordered") else {}
            for k, v in zip(keys, values):
                out[k] = self.decode(v, f"{where}[{k!r}]")
            if "meta" in node and node.get("ordered"):
                out._metadata = self.decode(node["meta"], f"{where}._metadata")  # type: ignore[attr-defined]
        else:
            raise self.corrupt(where, f"unknown node type {kind!r}")
        if ref is not None:
            self.objects[ref] = out
        return out


def load(f: PathOrFile, map_location: Any = None, *, weights_only: Optional[bool] = None) -> Any:
    """Read what ``save`` wrote to f, a path or a binary file object (torch.load's names). Tensors come back as
    leaf Tensors with the requires_grad they had (a computed one is a leaf now), nn.Parameters as Parameters,
    as torch.load gives; arrays as arrays, on the device they were saved from, or where ``map_location`` says, as
    torch's: a device ('cpu' / 'cuda', a tg.device) for all, a dict of locations (``{'cuda:0': 'cpu'}``), or a
    callable ``(storage, location)`` returning the storage moved or None (``lambda storage, loc: storage``: the CPU).

    Raises SerializationError (a ValueError naming the file and the problem) for a missing,
    truncated, corrupt or foreign file; never unpickles anything, so every load is what torch's
    weights_only=True gives (the keyword is accepted, either value, and changes nothing).
    """
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        device = map_location
    else:
        device = backend.check_device(map_location, "load: map_location")
    _check_file_argument(f, "load", "read")
    name = repr(getattr(f, "name", f)) if hasattr(f, "read") else repr(os.fspath(f))
    tree, arrays = _read(f, name)
    try:
        return _Decoder(arrays, device, name).decode(tree, "obj")
    except RecursionError:
        raise _too_deep(name) from None


# a complex tensor loads as saved (see tensor.complex_check)
for _fn in (_Decoder.tensor, _Decoder.decode, load):
    complex_ok(_fn)
del _fn
