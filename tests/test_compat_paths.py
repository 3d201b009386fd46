"""torch's import paths that ported scripts use: nn.parameter, nn.modules.<file>, utils.hooks, utils.data.sampler /
dataset / dataloader, tg.random (fork_rng) and tg.backends (recorded switches)."""
import importlib

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

SUBMODULES = ["module", "linear", "rnn", "conv", "activation", "loss", "container", "dropout", "normalization",
              "sparse", "pooling", "batchnorm", "transformer", "padding", "pixelshuffle", "upsampling", "flatten",
              "instancenorm", "adaptive", "distance", "fold", "channelshuffle", "lazy"]


@pytest.mark.parametrize("sub", SUBMODULES)
def test_nn_modules_submodules_hold_torchs_classes_that_exist_here(sub):
    torch_nn = pytest.importorskip("torch.nn")
    theirs = importlib.import_module(f"torch.nn.modules.{sub}")
    ours = importlib.import_module(f"tinygrad_rnn.nn.modules.{sub}")
    names = [n for n in dir(theirs) if not n.startswith("_") and isinstance(getattr(theirs, n), type)
             and getattr(theirs, n).__module__ == theirs.__name__ and hasattr(nn, n)]
    assert names and sorted(ours.__all__) == sorted(names)
    for n in names:
        assert getattr(ours, n) is getattr(nn, n) is getattr(nn.modules, n)
    assert getattr(torch_nn.modules, sub) is theirs and getattr(nn.modules, sub) is ours


def test_private_bases_and_parameter_module():
    from tinygrad_rnn.nn.modules.batchnorm import _BatchNorm
    from tinygrad_rnn.nn.modules.conv import _ConvNd
    from tinygrad_rnn.nn.modules.loss import _Loss
    from tinygrad_rnn.nn.parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
    assert isinstance(nn.BatchNorm1d(2), _BatchNorm) and isinstance(nn.Conv1d(1, 1, 1), _ConvNd)
    assert isinstance(nn.MSELoss(), _Loss)
    assert Parameter is nn.Parameter and Buffer is nn.Buffer and UninitializedBuffer is nn.UninitializedBuffer
    assert is_lazy(UninitializedParameter()) and not is_lazy(Parameter(tg.ones(1)))


def test_private_bases_follow_torchs_class_tree():
    """isinstance(m, _ConvNd) finds the transposed convs too, as torch's _ConvTransposeNd(_ConvNd) does (scripts
    initialise every conv that way); every class here answers as torch's for each exported base."""
    torch_nn = pytest.importorskip("torch.nn")
    bases = {}
    for sub in SUBMODULES:
        theirs, ours = (importlib.import_module(f"{pkg}.nn.modules.{sub}") for pkg in ("torch", "tinygrad_rnn"))
        bases.update({n: (getattr(ours, n), getattr(theirs, n)) for n in dir(ours) if n.startswith("_")
                      and not n.startswith("__") and isinstance(getattr(ours, n), type) and hasattr(theirs, n)})
    assert {"_ConvNd", "_ConvTransposeNd", "_BatchNorm", "_Loss"} <= set(bases)
    for name in dir(nn):
        cls, theirs = getattr(nn, name), getattr(torch_nn, name, None)
        if isinstance(cls, type) and isinstance(theirs, type):
            for base, (ours_b, theirs_b) in bases.items():
                assert issubclass(cls, ours_b) == issubclass(theirs, theirs_b), (name, base)
    conv_t = nn.ConvTranspose2d(2, 3, 2, stride=2)
    assert isinstance(conv_t, bases["_ConvNd"][0]) and conv_t(tg.ones(1, 2, 2, 2)).shape == (1, 3, 4, 4)
    lazy = nn.LazyConvTranspose1d(3, 2)
    assert lazy(tg.ones(1, 2, 4)).shape == (1, 3, 5) and lazy.weight.shape == (2, 3, 2)


def test_utils_hooks_removable_handle():
    from tinygrad_rnn.utils.hooks import RemovableHandle
    m = nn.Linear(2, 2)
    calls = []
    handle = m.register_forward_hook(lambda *a: calls.append(1))
    assert isinstance(handle, RemovableHandle) and isinstance(tg.ones(1, requires_grad=True).register_hook(
        lambda g: g), RemovableHandle)
    with handle:
        m(tg.ones(1, 2))
    m(tg.ones(1, 2))
    assert calls == [1]
    hooks, extra = {}, {}
    h = RemovableHandle(hooks, extra_dict=extra)
    hooks[h.id] = extra[h.id] = "hook"
    h2 = RemovableHandle(hooks)
    assert h2.id == h.id + 1
    h.remove()
    h.remove()
    assert hooks == {} and extra == {}


def test_utils_data_submodule_paths():
    import tinygrad_rnn.utils.data.dataloader as dataloader
    import tinygrad_rnn.utils.data.dataset as dataset
    import tinygrad_rnn.utils.data.sampler as sampler
    from tinygrad_rnn.utils import data
    assert sampler.RandomSampler is data.RandomSampler and sampler.BatchSampler is data.BatchSampler
    assert dataset.TensorDataset is data.TensorDataset and dataset.random_split is data.random_split
    assert dataloader.DataLoader is data.DataLoader and dataloader.default_collate is data.default_collate
    assert data.sampler is sampler and data.dataset is dataset


def test_random_fork_rng_restores_the_generator_and_initial_seed(device):
    tg.random.manual_seed(5)
    expected = tg.rand(3, device=device).numpy()
    tg.random.manual_seed(5)
    with tg.random.fork_rng():
        tg.random.manual_seed(7)
        assert tg.random.initial_seed() == 7
        tg.rand(4, device=device)
    assert tg.random.initial_seed() == 5
    np.testing.assert_array_equal(tg.rand(3, device=device).numpy(), expected)
    state = tg.random.get_rng_state()
    with tg.random.fork_rng(enabled=False):
        tg.rand(2)
    assert not np.array_equal(tg.random.get_rng_state().numpy(), state.numpy())
    tg.random.set_rng_state(state)
    assert np.array_equal(tg.random.get_rng_state().numpy(), state.numpy())
    assert isinstance(tg.random.seed(), int)


def test_backends_record_their_settings():
    import tinygrad_rnn.backends.cudnn as cudnn
    assert cudnn.enabled and not cudnn.benchmark and not cudnn.deterministic and cudnn.allow_tf32
    cudnn.benchmark = True
    try:
        assert tg.backends.cudnn.benchmark
        with cudnn.flags(enabled=False, deterministic=True):
            assert not cudnn.enabled and cudnn.deterministic and not cudnn.benchmark
        assert cudnn.enabled and not cudnn.deterministic and cudnn.benchmark
    finally:
        cudnn.benchmark = False
    assert not cudnn.is_available() and tg.backends.mkldnn.enabled and not tg.backends.mps.is_available()
    assert tg.backends.cuda.matmul.allow_tf32 is False
    assert tg.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")


def test_version_module_as_torchs():
    """tg.version, read by environment printouts (print(torch.version.cuda)): __version__ is the package's, cuda the
    CUDA runtime's version where a GPU is used (None without one, as torch's CPU build), hip None, debug False."""
    import tinygrad_rnn.version as version
    assert version is tg.version and version.__version__ == tg.__version__
    assert version.hip is None and version.debug is False and isinstance(version.git_version, str)
    if tg.cuda_available():
        assert isinstance(version.cuda, str) and version.cuda.count(".") == 1
    else:
        assert version.cuda is None
    with pytest.raises(AttributeError, match="rocm"):
        version.rocm


def test_nn_modules_utils_as_torchs():
    """torch.nn.modules.utils, imported by custom layers copied from torch's: _single/_pair/_triple/_quadruple,
    _ntuple, _reverse_repeat_tuple and consume_prefix_in_state_dict_if_present, with torch's results."""
    pytest.importorskip("torch")
    from torch.nn.modules import utils as theirs

    from tinygrad_rnn.nn.modules import utils as ours
    for name in ("_single", "_pair", "_triple", "_quadruple"):
        for v in (3, (1, 2), [4, 5, 6]):
            assert getattr(ours, name)(v) == getattr(theirs, name)(v)
    assert ours._ntuple(5)(2) == theirs._ntuple(5)(2) and ours._ntuple(2, "x").__name__ == "x"
    assert ours._reverse_repeat_tuple((1, 2, 3), 2) == theirs._reverse_repeat_tuple((1, 2, 3), 2)
    m = nn.DataParallel(nn.Linear(2, 1))
    sd = m.state_dict()
    ours.consume_prefix_in_state_dict_if_present(sd, "module.")
    assert list(sd) == ["weight", "bias"]
    nn.Linear(2, 1).load_state_dict(sd)
    assert importlib.import_module("tinygrad_rnn.nn.modules.utils") is ours
