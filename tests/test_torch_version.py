"""tg.__version__ / tg.torch_version.TorchVersion against torch.torch_version.TorchVersion's comparisons."""
import operator
import pickle

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.torch_version import TorchVersion

torch = pytest.importorskip("torch")
TorchsVersion = torch.torch_version.TorchVersion
PVersion = pytest.importorskip("torch._vendor.packaging.version").Version  # (what torch's compares with)

MINE = ["0.1.0", "1.10.0a", "2.13.0+cpu", "1.9", "2.0.0rc1", "2.1.0.dev20230801", "1.0.post1", "1!0.5", "parrot",
        "1.13.1+cu117", "2.0"]
OTHERS = ["0.1", "0.1.0", "0.09", "1.10", "1.2.1", "1.10.0a", "2.13", "2.13.0", "2.13.0+cpu", "2.13.0+cu121",
          "2.0.0b1", "2.0.0", "2.1.0.dev1", "1.0", "1.0.post2", "abc", "", (0, 1), (1, 10), (2, 13, 0), (1,), [2, 0],
          ("a", "b"), 2, 2.5, None]
OPS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


def _outcome(f):
    try:
        return f()
    except Exception as e:  # noqa: BLE001  (the type is compared)
        return type(e).__name__


@pytest.mark.parametrize("mine", MINE)
def test_comparisons_as_torchs(mine):
    for other in OTHERS + [PVersion(v) for v in ("0.1", "1.10.0a", "2.13.0", "2.0.0rc1")]:
        for op in OPS:
            got = _outcome(lambda: op(TorchVersion(mine), other))
            want = _outcome(lambda: op(TorchsVersion(mine), other))
            assert got == want, (mine, op.__name__, other)
            got = _outcome(lambda: op(other, TorchVersion(mine)))  # (reflected)
            want = _outcome(lambda: op(other, TorchsVersion(mine)))
            assert got == want, (other, op.__name__, mine)


def test_version_is_a_str_as_torchs():
    v = tg.__version__
    assert isinstance(v, str) and isinstance(v, TorchVersion) and type(torch.__version__).__name__ == "TorchVersion"
    assert v == "0.1.0" and str(v) == "0.1.0" and repr(v) == "'0.1.0'" and hash(v) == hash("0.1.0")
    assert v.split(".") == ["0", "1", "0"] and f"{v}" == "0.1.0" and {v: 1}["0.1.0"] == 1
    assert tg.version.__version__ is v and tg.torch_version.TorchVersion is TorchVersion
    assert pickle.loads(pickle.dumps(v)) == v
    # (the value is this package's, not a torch version: ported torch-version branches take their older side)
    assert v < "1.10" and v < (1, 10) and not v >= "2.0" and v < "0.09" and str(v) > "0.09"  # (0.09 is 0.9)


def test_packaging_version_outside_torch():
    """packaging's own Version (torch's compares only with its vendored one) compares as a version here too."""
    packaging_version = pytest.importorskip("packaging.version")
    assert tg.__version__ == packaging_version.Version("0.1") and tg.__version__ < packaging_version.Version("1.0")
