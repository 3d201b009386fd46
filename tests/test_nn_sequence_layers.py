"""torch.nn's sequence (1-d) layers beyond the core set: padding modules, group and instance norm, bilinear,
channel and alpha dropout, rrelu, embedding bags and power-average pooling. Each differentiable function is
gradchecked in float64 over hypothesis shapes, and values, gradients, reprs and state dicts compared with
torch where it is installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures
from tinygrad_rnn import nn

F = nn.functional


def _against_torch(torch, ours, theirs, inputs, rtol=1e-12):
    """ours(*tensors) and theirs(*torch tensors) agree in value and in the gradient of a weighted sum."""
    ts = [tg.tensor(a, requires_grad=True) for a in inputs]
    tts = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, ty = ours(*ts), theirs(*tts)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=1e-14)
    w = np.random.default_rng(0).uniform(0.5, 1.5, y.shape)
    grads = tg.grad(y, ts, tg.tensor(w))
    for g, tg_ in zip(grads, torch.autograd.grad(ty, tts, torch.tensor(w))):
        np.testing.assert_allclose(g.numpy(), tg_.numpy(), rtol=rtol, atol=1e-14)


# ----------------------------------------------------------------------------- padding modules
_PADS = [("ConstantPad1d", (2, 1.5)), ("ConstantPad1d", ((1, -1), -2.0)), ("ZeroPad1d", ((0, 3),)),
         ("ReflectionPad1d", (2,)), ("ReflectionPad1d", ([3, -1],)), ("ReplicationPad1d", ((1, 4),)),
         ("CircularPad1d", ((2, 1),)), ("CircularPad1d", ((-1, 3),))]


@with_fixtures
@given(case=st.sampled_from(_PADS), batched=st.booleans(), seed=st.integers(0, 1000))
def test_padding_modules_gradcheck(device, case, batched, seed):
    cls, args = case
    x = np.random.default_rng(seed).standard_normal((2, 3, 5) if batched else (3, 5))
    assert tg.gradcheck(getattr(nn, cls)(*args), [tg.tensor(x, device=device, requires_grad=True)])


def test_padding_modules_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 5))
    for cls, args in _PADS:
        ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
        assert repr(ours) == repr(theirs) and ours.padding == theirs.padding
        for a in (x, x[0]):
            _against_torch(torch, ours, theirs, [a])
    assert nn.ConstantPad1d(1, 3.0)(tg.ones(2, 2, 2, 2)).shape == (2, 2, 2, 4)  # (any leading dims, as torch)
    with pytest.raises(ValueError, match=r"CircularPad1d: expected 2D or 3D input \(got 1D input"):
        nn.CircularPad1d(1)(tg.ones(4))
    with pytest.raises(ValueError, match="pad: mode 'reflect' pads dim 1 .* by at most 2"):
        nn.ReflectionPad1d(3)(tg.ones(2, 3))
    with pytest.raises(TypeError, match="ZeroPad1d: input must be a Tensor"):
        nn.ZeroPad1d(1)(np.ones(3))
