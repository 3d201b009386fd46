"""PyTorch compatibility: a state dict exported from torch.nn.LSTM/GRU/RNN (as numpy arrays)
loads unchanged into ours and gives the same outputs and gradients.

The expected values were produced by PyTorch 2.13 (tests/fixtures/make_torch_reference.py),
not by this package, and are stored in tests/fixtures/torch_rnn_reference.npz.
"""
import math
import os

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "torch_rnn_reference.npz"), allow_pickle=False)
LAYERS = {
    "lstm": lambda fused: nn.LSTM(3, 4, num_layers=2, bidirectional=True, fused=fused, dtype=tg.float64),
    "gru": lambda fused: nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, fused=fused,
                                dtype=tg.float64),
    "rnn_tanh": lambda fused: nn.RNN(3, 4, num_layers=2, fused=fused, dtype=tg.float64),
    "rnn_relu": lambda fused: nn.RNN(3, 4, nonlinearity="relu", bidirectional=True, fused=fused, dtype=tg.float64),
    "lstm_proj": lambda fused: nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, fused=fused,
                                       dtype=tg.float64),
}


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_pytorch(name, fused):
    m = LAYERS[name](fused)
    prefix = f"{name}/param/"
    state = {k[len(prefix):]: REF[k] for k in REF.files if k.startswith(prefix)}
    assert [k for k, _ in m.named_parameters()] == list(state)  # torch's order, which optimizer states follow
    m.load_state_dict(state)  # strict: same names, same shapes
    x = tg.tensor(REF[f"{name}/x"], requires_grad=True)
    h0 = tg.tensor(REF[f"{name}/h0"], requires_grad=True)
    lstm = name.startswith("lstm")
    hx = (h0, tg.tensor(REF[f"{name}/c0"], requires_grad=True)) if lstm else h0
    y, st = m(x, hx)
    h_n = st[0] if lstm else st
    ((y * tg.tensor(REF[f"{name}/w"])).sum() + (h_n * h_n).sum()).backward()
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), REF[f"{name}/output"], **close)
    np.testing.assert_allclose(h_n.numpy(), REF[f"{name}/h_n"], **close)
    np.testing.assert_allclose(x.grad.numpy(), REF[f"{name}/grad_x"], **close)
    np.testing.assert_allclose(h0.grad.numpy(), REF[f"{name}/grad_h0"], **close)
    if lstm:
        np.testing.assert_allclose(st[1].numpy(), REF[f"{name}/c_n"], **close)
        np.testing.assert_allclose(hx[1].grad.numpy(), REF[f"{name}/grad_c0"], **close)
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{name}/grad/{k}"], err_msg=k, **close)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("name", ["packed_lstm", "packed_gru"])
def test_packed_sequence_matches_pytorch(name, fused):
    """pack_padded_sequence(enforce_sorted=False) into a layer, hx in the input's order: the packed output
    (data, batch_sizes, sorted_indices), h_n/c_n and every gradient as PyTorch's."""
    lstm = name == "packed_lstm"
    m = (nn.LSTM(3, 4, num_layers=2, bidirectional=True, fused=fused, dtype=tg.float64) if lstm else
         nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, fused=fused, dtype=tg.float64))
    prefix = f"{name}/param/"
    m.load_state_dict({k[len(prefix):]: REF[k] for k in REF.files if k.startswith(prefix)})
    x = tg.tensor(REF[f"{name}/x"], requires_grad=True)
    hx = [tg.tensor(REF[f"{name}/{k}"], requires_grad=True) for k in (("h0", "c0") if lstm else ("h0",))]
    packed = nn.utils.rnn.pack_padded_sequence(x, REF[f"{name}/lengths"], batch_first=m.batch_first,
                                               enforce_sorted=False)
    y, st = m(packed, tuple(hx) if lstm else hx[0])
    h_n = st[0] if lstm else st
    ((y.data * tg.tensor(REF[f"{name}/w"])).sum() + (h_n * h_n).sum()).backward()
    close = dict(rtol=1e-10, atol=1e-12)
    assert y.batch_sizes.tolist() == REF[f"{name}/batch_sizes"].tolist()
    assert y.sorted_indices.tolist() == REF[f"{name}/sorted_indices"].tolist()
    np.testing.assert_allclose(y.data.numpy(), REF[f"{name}/data"], **close)
    np.testing.assert_allclose(h_n.numpy(), REF[f"{name}/h_n"], **close)
    if lstm:
        np.testing.assert_allclose(st[1].numpy(), REF[f"{name}/c_n"], **close)
    np.testing.assert_allclose(x.grad.numpy(), REF[f"{name}/grad_x"], **close)
    for k, h in zip(("h0", "c0"), hx):
        np.testing.assert_allclose(h.grad.numpy(), REF[f"{name}/grad_{k}"], err_msg=k, **close)
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{name}/grad/{k}"], err_msg=k, **close)


def test_global_settings_and_deprecated_names_as_torchs():
    """torch's global switches kept and of no effect here (matmul precision, interop threads, warn_always,
    flush_denormal), set_default_tensor_type, is_storage, tg.dtype for isinstance, binomial, to_dlpack."""
    torch = pytest.importorskip("torch")
    assert tg.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    try:
        tg.set_float32_matmul_precision("high")
        assert tg.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            tg.set_float32_matmul_precision("xyz")
        assert tg.get_float32_matmul_precision() == "high"
    finally:
        tg.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="expects a positive integer"):
        tg.set_num_interop_threads(0)
    assert tg.get_num_interop_threads() >= 1 and tg.set_flush_denormal(True) is False
    assert not tg.is_warn_always_enabled() and not tg.is_storage(tg.ones(1))
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            tg.set_default_tensor_type(tg.DoubleTensor)
        assert tg.ones(1).dtype == np.float64
        with pytest.warns(UserWarning):
            tg.set_default_tensor_type("torch.FloatTensor")
        assert tg.ones(1).dtype == np.float32
        with pytest.warns(UserWarning), pytest.raises(TypeError, match="only floating-point types"):
            tg.set_default_tensor_type(tg.LongTensor)
    finally:
        tg.set_default_dtype(tg.float32)
    assert isinstance(tg.float32, tg.dtype) and isinstance(tg.ones(1).dtype, tg.dtype)
    assert not isinstance("float32", tg.dtype) and not isinstance(float, tg.dtype)
    with pytest.raises(TypeError):
        tg.dtype("float32")
    tg.manual_seed(0)
    draws = tg.binomial(tg.full((4000,), 10.0, dtype=tg.float64), tg.full((4000,), 0.3, dtype=tg.float64))
    assert draws.dtype == np.float64 and abs(draws.mean().item() - 3.0) < 0.15 and draws.max().item() <= 10
    assert tg.binomial(tg.tensor([5.0]), tg.tensor([0.0])).tolist() == [0.0]
    with pytest.raises(ValueError, match="floating-point"):
        tg.binomial(tg.tensor([10]), tg.tensor([0.5]))
    x = tg.arange(3.0)
    from tinygrad_rnn.utils.dlpack import from_dlpack, to_dlpack
    assert torch.utils.dlpack.from_dlpack(to_dlpack(x)).tolist() == [0.0, 1.0, 2.0]
    assert from_dlpack(x).tolist() == [0.0, 1.0, 2.0]


def test_data_parallel_container_nllloss2d_clip_grad_norm_and_invert_permutation():
    """Single-process forms of torch's names old scripts use: DataParallel runs the module and prefixes its
    state_dict with 'module.'; nn.Container, NLLLoss2d and clip_grad_norm warn as torch's and work."""
    torch = pytest.importorskip("torch")
    inner = nn.Linear(2, 3)
    wrapped = nn.DataParallel(inner)
    theirs = torch.nn.DataParallel(torch.nn.Linear(2, 3))
    assert list(wrapped.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    assert wrapped.module is inner and repr(wrapped) == repr(theirs)
    x = tg.ones(4, 2)
    np.testing.assert_array_equal(wrapped(x).numpy(), inner(x).numpy())
    assert nn.parallel.data_parallel(inner, x).shape == (4, 3)
    with pytest.warns(FutureWarning, match="nn.Container` is deprecated"):
        c = nn.Container(a=nn.Linear(1, 1))
    assert list(dict(c.named_children())) == ["a"]
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        loss = nn.NLLLoss2d()
    logp = tg.tensor(np.log(np.full((1, 2, 2, 2), 0.5)))
    assert abs(loss(logp, tg.zeros(1, 2, 2, dtype=tg.int64)).item() - math.log(2)) < 1e-6
    p = nn.Parameter(tg.ones(3))
    (p * 10).sum().backward()
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        total = nn.utils.clip_grad_norm([p], 1.0)
    assert abs(total.item() - math.sqrt(300)) < 1e-4 and abs(p.grad.norm().item() - 1.0) < 1e-4
    from tinygrad_rnn.nn.utils.clip_grad import clip_grad_norm_  # noqa: F401  (torch's module path)
    perm = [2, 0, 3, 1]
    assert nn.utils.rnn.invert_permutation(tg.tensor(perm)).tolist() == \
        torch.nn.utils.rnn.invert_permutation(torch.tensor(perm)).tolist()
    assert nn.utils.rnn.invert_permutation(None) is None
