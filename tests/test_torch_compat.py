"""PyTorch compatibility: a state dict exported from torch.nn.LSTM/GRU/RNN (as numpy arrays)
loads unchanged into ours and gives the same outputs and gradients.

The expected values were produced by PyTorch 2.13 (tests/fixtures/make_torch_reference.py),
not by this package, and are stored in tests/fixtures/torch_rnn_reference.npz.
"""
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
