"""F.conv1d / nn.Conv1d, F.conv_transpose1d / nn.ConvTranspose1d, the 1-d pools (max, avg, adaptive avg and max) and
F.interpolate / nn.Upsample; their 2-d and 3-d forms (conv3d, conv_transpose3d, the 3-d pools, BatchNorm3d,
InstanceNorm3d, dropout3d) at the end.

Forward against numpy references written from the definitions (loops over output positions and kernel taps,
windows enumerated as torch's docs describe them), gradients against central differences in float64 and second
derivatives, over hypothesis shapes, strides, paddings, dilations and groups (L = 1, kernel = L, 'same' with
even kernels, groups = C among them). Torch-gated tests compare values, indices and gradients with PyTorch over
grids of configurations with their edge cases, state dicts both ways and reprs.
"""
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from strategies import arrays, check_half_rounds_float32_once, check_op, distinct, tensor, with_fixtures
from tinygrad_rnn import nn


# ----------------------------------------------------------------------------- references from the definitions
def same_split(kernel_size, dilation):
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, j] = b[o] + sum_{c, k} w[o, c, k] x_pad[n, g C_g + c, j stride + k dilation], g = o's group."""
    unbatched = x.ndim == 2
    x = x[None] if unbatched else x
    (O, Cg, K), N = w.shape, x.shape[0]
    left, right = {"same": same_split(K, dilation), "valid": (0, 0)}.get(padding, (padding, padding))
    xp = np.pad(x, ((0, 0), (0, 0), (left, right)))
    n_out = (xp.shape[2] - dilation * (K - 1) - 1) // stride + 1
    out = np.zeros((N, O, n_out))
    for o in range(O):
        g = o // (O // groups)
        for j in range(n_out):
            for c in range(Cg):
                for k in range(K):
                    out[:, o, j] += w[o, c, k] * xp[:, g * Cg + c, j * stride + k * dilation]
    if b is not None:
        out += b[:, None]
    return out[0] if unbatched else out


def window_starts(L, k, s, p, d, ceil_mode):
    """Start of each pooling window in the unpadded input (torch's docs: L_out = (L + 2p - d (k - 1) - 1) / s + 1,
    rounded down, or up with ceil_mode, where windows that would start in the right padding are left out)."""
    span = L + 2 * p - d * (k - 1) - 1
    n = (math.ceil(span / s) if ceil_mode else math.floor(span / s)) + 1
    return [j * s - p for j in range(n) if j * s - p < L]


def pool_ref(x, k, s=None, p=0, d=1, ceil_mode=False, kind="max", count_include_pad=True):
    """Each window's max (with the position of its maximum) or mean; -inf / 0 outside the input."""
    s = k if s is None else s
    L = x.shape[-1]
    vals, idx = [], []
    for start in window_starts(L, k, s, p, d, ceil_mode):
        pos = [start + i * d for i in range(k)]
        inside = [q for q in pos if 0 <= q < L]
        if kind == "max":
            window = np.stack([x[..., q] if 0 <= q < L else np.full(x.shape[:-1], -np.inf) for q in pos], -1)
            vals.append(window.max(-1))
            idx.append(np.asarray(pos)[window.argmax(-1)])
        else:
            size = min(start + k, L + p) - start if count_include_pad else len(inside)
            vals.append(sum(x[..., q] for q in inside) / size)
    return (np.stack(vals, -1), np.stack(idx, -1)) if kind == "max" else np.stack(vals, -1)


def adaptive_ref(x, size, kind):
    """Window j covers floor(j L / size) .. ceil((j + 1) L / size) - 1."""
    L = x.shape[-1]
    spans = [(j * L // size, -(-(j + 1) * L // size)) for j in range(size)]
    if kind == "avg":
        return np.stack([x[..., a:b].mean(-1) for a, b in spans], -1)
    return np.stack([x[..., a:b].max(-1) for a, b in spans], -1), \
        np.stack([a + x[..., a:b].argmax(-1) for a, b in spans], -1)


# ----------------------------------------------------------------------------- conv1d: definition and gradients
@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 4))
    stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from([0, 1, 2, 3, "valid"] + (["same", "same"] if stride == 1 else [])))
    left, right = {"same": same_split(k, dilation), "valid": (0, 0)}.get(padding, (padding, padding))
    least = max(1, dilation * (k - 1) + 1 - left - right)
    L = draw(st.integers(least, least + 4))
    shape = (cg * groups, L) if draw(st.booleans()) else (draw(st.integers(1, 2)), cg * groups, L)
    return dict(shape=shape, weight=(og * groups, cg, k), stride=stride, padding=padding, dilation=dilation,
                groups=groups, bias=draw(st.booleans()))


@with_fixtures
@given(cfg=conv_configs(), data=st.data())
def test_conv1d_matches_loops_and_central_differences(device, cfg, data):
    x = data.draw(arrays(cfg["shape"]), label="x")
    w = data.draw(arrays(cfg["weight"]), label="w")
    opts = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
    if cfg["bias"]:
        b = data.draw(arrays(cfg["weight"][:1]), label="b")
        check_op(lambda x, w, b: F.conv1d(x, w, b, **opts), lambda x, w, b: conv1d_ref(x, w, b, **opts), [x, w, b],
                 device)
    else:
        check_op(lambda x, w: F.conv1d(x, w, **opts), lambda x, w: conv1d_ref(x, w, **opts), [x, w], device)


@pytest.mark.parametrize("shape,weight,opts", [
    ((2, 3, 1), (4, 3, 1), {}),                                         # L = 1
    ((2, 3, 1), (4, 3, 3), {"padding": 1}),                             # L = 1, kernel past it, padded
    ((2, 2, 5), (3, 2, 5), {}),                                         # kernel = L: one output
    ((1, 2, 5), (3, 2, 2), {"padding": "same"}),                        # even kernels: the extra zero on the right
    ((1, 2, 6), (2, 2, 4), {"padding": "same", "dilation": 2}),
    ((2, 4, 7), (4, 1, 3), {"groups": 4, "padding": 1}),                # depthwise: groups = C
    ((2, 4, 7), (8, 1, 3), {"groups": 4, "stride": 2, "dilation": 2}),  # two filters per channel
    ((3, 5), (2, 3, 2), {"stride": 3}),                                 # unbatched (C, L)
])
def test_conv1d_edge_shapes(device, shape, weight, opts):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(weight), rng.standard_normal(weight[0])
    check_op(lambda x, w, b: F.conv1d(x, w, b, **opts), lambda x, w, b: conv1d_ref(x, w, b, **opts), [x, w, b],
             device, gradgrad=True)


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_conv1d_padding_modes_pad_as_numpy(device, mode, np_mode):
    rng = np.random.default_rng(1)
    m = nn.Conv1d(2, 3, 4, padding="same", dilation=2, padding_mode=mode, dtype=tg.float64, device=device)
    x = rng.standard_normal((2, 2, 6))
    want = conv1d_ref(np.pad(x, ((0, 0), (0, 0), same_split(4, 2)), mode=np_mode), m.weight.numpy(), m.bias.numpy(),
                      dilation=2)
    np.testing.assert_allclose(m(tensor(x, device)).numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m(tensor(x[0], device)).numpy(), want[0], rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(m, [tensor(x, device)])


def test_conv1d_gradients_of_gradients_and_no_weight_gradient():
    rng = np.random.default_rng(2)
    x, w = tensor(rng.standard_normal((2, 4, 9))), tensor(rng.standard_normal((6, 2, 3)))
    fn = lambda x, w: F.conv1d(x, w, stride=2, padding=2, dilation=2, groups=2)  # noqa: E731
    assert tg.gradgradcheck(fn, [x, w])
    frozen = tensor(w.numpy(), requires_grad=False)
    F.conv1d(x, frozen, groups=2).sum().backward()
    assert frozen.grad is None and x.grad.shape == x.shape


# ----------------------------------------------------------------------------- nn.Conv1d
def test_conv1d_module_parameters_init_and_repr():
    m = nn.Conv1d(6, 8, 5, groups=2)
    assert [(k, p.shape) for k, p in m.named_parameters()] == [("weight", (8, 3, 5)), ("bias", (8,))]
    assert m.kernel_size == (5,) and m.stride == (1,) and m.padding == (0,) and m.dilation == (1,)
    assert m.weight.dtype == np.float32 and nn.Conv1d(2, 3, 1, dtype=tg.float64).weight.dtype == np.float64
    assert nn.Conv1d(2, 3, 1, bias=False).bias is None
    wide = nn.Conv1d(60, 2000, 5, groups=2)  # torch's init: U(-b, b), b = 1 / sqrt(fan_in), fan_in = 30 * 5
    bound = 1 / math.sqrt(150)  # (kaiming_uniform_ with a = sqrt(5) for the weight)
    for a in (wide.weight.numpy(), wide.bias.numpy()):
        assert 0.99 * bound < np.abs(a).max() <= bound and abs(a.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert repr(nn.Conv1d(16, 33, 3, stride=2)) == "Conv1d(16, 33, kernel_size=(3,), stride=(2,))"
    assert repr(nn.Conv1d(4, 8, (4,), padding="same", dilation=2, groups=2, bias=False, padding_mode="circular")) == (
        "Conv1d(4, 8, kernel_size=(4,), stride=(1,), padding=same, dilation=(2,), groups=2, bias=False, "
        "padding_mode=circular)")
    assert repr(nn.Conv1d(4, 8, 3, padding=(1,))) == "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=(1,))"
    assert repr(nn.Sequential(nn.Conv1d(1, 2, 3, padding="valid"))).endswith(
        "(0): Conv1d(1, 2, kernel_size=(3,), stride=(1,), padding=valid)\n)")


def test_conv1d_module_on_device(device):
    m = nn.Conv1d(3, 4, 3, padding=1, device=device, dtype=tg.float64)
    x = tg.randn(2, 3, 5, dtype=tg.float64, device=device, requires_grad=True)
    y = m(x)
    assert y.device == device and y.shape == (2, 4, 5)
    y.sum().backward()
    assert m.weight.grad.device == device and x.grad.shape == x.shape
    want = conv1d_ref(x.numpy(), m.weight.numpy(), m.bias.numpy(), padding=1)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- conv1d errors
def test_conv1d_errors_name_the_op_and_shapes():
    x, w = tg.zeros(2, 4, 10), tg.zeros(3, 4, 3)
    cases = [
        (lambda: F.conv1d(tg.zeros(2, 5, 10), w), ValueError,
         r"conv1d: input \(2, 5, 10\) has 5 channels, but weight \(3, 4, 3\) with groups=1 expects 4"),
        (lambda: F.conv1d(x, tg.zeros(6, 2, 3), groups=3), ValueError,
         r"conv1d: input \(2, 4, 10\) has 4 channels, but weight \(6, 2, 3\) with groups=3 expects 6"),
        (lambda: F.conv1d(x, tg.zeros(3, 2, 3), groups=2), ValueError,
         r"conv1d: weight \(3, 2, 3\) has 3 output channels \(dim 0\), not divisible by groups=2"),
        (lambda: F.conv1d(tg.zeros(2, 4, 2), tg.zeros(3, 4, 5), padding=1), ValueError,
         r"conv1d: input \(2, 4, 2\) padded by \(1, 1\) has length 4, shorter than the kernel's reach 5 "
         r"\(kernel_size 5, dilation 1\)"),
        (lambda: F.conv1d(tg.zeros(4, 3), w, dilation=2), ValueError,
         r"padded by \(0, 0\) has length 3, shorter than the kernel's reach 5 \(kernel_size 3, dilation 2"),
        (lambda: F.conv1d(x, w, padding="full"), ValueError, "conv1d: padding must be an int, 'valid' or 'same', got "
                                                             "'full'"),
        (lambda: F.conv1d(x, w, padding="same", stride=2), ValueError,
         r"conv1d: padding='same' is not supported for strided convolutions \(stride=2\)"),
        (lambda: F.conv1d(x, w, padding=-1), ValueError, "conv1d: padding must be at least 0, got -1"),
        (lambda: F.conv1d(x, w, stride=0), ValueError, "conv1d: stride must be at least 1, got 0"),
        (lambda: F.conv1d(x, w, groups=0), ValueError, "conv1d: groups must be at least 1, got 0"),
        (lambda: F.conv1d(x, w, stride=(1, 2)), TypeError, r"conv1d: stride must be an int or a tuple of one int"),
        (lambda: F.conv1d(x, w, tg.zeros(4)), ValueError,
         r"conv1d: bias must have shape \(3,\), one value per output channel of weight \(3, 4, 3\), got \(4,\)"),
        (lambda: F.conv1d(tg.zeros(10), w), ValueError,
         r"conv1d: expected a 2-d \(C, L: unbatched\) or 3-d \(N, C, L: batched\) input, got shape \(10,\)"),
        (lambda: F.conv1d(x, tg.zeros(3, 4)), ValueError,
         r"conv1d: weight must be 3-d \(out_channels, in_channels / groups, kernel_size\) with kernel_size >= 1, "
         r"got shape \(3, 4\)"),
        (lambda: F.conv1d(x, w.double()), TypeError, "conv1d: input is torch.float32, weight torch.float64; they "
                                                     "must share one"),
        (lambda: F.conv1d(x.long(), w), TypeError, "conv1d: input must be floating point, got torch.int64"),
        (lambda: F.conv1d(np.zeros((2, 4, 10)), w), TypeError, "conv1d: input must be a Tensor, got ndarray"),
        (lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError, r"Conv1d: out_channels \(6\) must be divisible by groups "
                                                           r"\(4\)"),
        (lambda: nn.Conv1d(5, 4, 3, groups=2), ValueError, r"Conv1d: in_channels \(5\) must be divisible by groups"),
        (lambda: nn.Conv1d(4, 6, 3, padding_mode="zero"), ValueError,
         "Conv1d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got 'zero'"),
        (lambda: nn.Conv1d(4, 6, 3, stride=2, padding="same"), ValueError,
         "Conv1d: padding='same' is not supported for strided convolutions"),
        (lambda: nn.Conv1d(4, 6, 3)(tg.zeros(2, 3, 5)), ValueError, "conv1d: input \\(2, 3, 5\\) has 3 channels"),
        (lambda: nn.Conv1d(4, 6, 3, padding_mode="reflect")(tg.zeros(5)), ValueError, "conv1d: expected a 2-d"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


# ----------------------------------------------------------------------------- conv1d against torch
def _conv_grid():
    for k in (1, 2, 3, 5):
        for stride in (1, 2, 3):
            for padding in (0, 1, 2, "valid") + (("same",) if stride == 1 else ()):
                for dilation in (1, 2):
                    for groups, c, o in ((1, 3, 4), (2, 4, 6), (4, 4, 4)):
                        left, right = {"same": same_split(k, dilation), "valid": (0, 0)}.get(padding, (padding,) * 2)
                        least = max(1, dilation * (k - 1) + 1 - left - right)
                        for L in (least, least + 3):
                            yield (2, c, L), (o, c // groups, k), dict(stride=stride, padding=padding,
                                                                        dilation=dilation, groups=groups)


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")  # (torch's own note)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv1d_values_and_gradients_match_torch(dtype):
    torch = pytest.importorskip("torch")
    rng, tol = np.random.default_rng(3), {"float64": 1e-12, "float32": 2e-5}[dtype]
    configs = list(_conv_grid()) + [((0, 3, 5), (2, 3, 2), {}), ((3, 6), (4, 3, 3), {"padding": 1})]
    for shape, wshape, opts in configs:
        x, w, b = (rng.standard_normal(s).astype(dtype) for s in (shape, wshape, wshape[:1]))
        ours = [tg.tensor(a, requires_grad=True) for a in (x, w, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        y, ty = F.conv1d(*ours, **opts), torch.nn.functional.conv1d(*theirs, **opts)
        r = rng.standard_normal(ty.shape).astype(dtype)
        (y * tg.tensor(r)).sum().backward()
        (ty * torch.tensor(r)).sum().backward()
        assert y.shape == tuple(ty.shape) and y.dtype == np.dtype(dtype), (shape, wshape, opts)
        for a, t in zip([y] + [t.grad for t in ours], [ty] + [t.grad for t in theirs]):
            scale = max(1.0, float(np.abs(t.detach().numpy()).max(initial=0)))
            np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=0, atol=tol * scale, err_msg=str(opts))


def test_conv1d_modules_match_torch_and_state_dicts_move_both_ways():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for kw in (dict(padding="same", padding_mode="reflect"), dict(padding=2, padding_mode="circular"),
               dict(padding=3, padding_mode="replicate", dilation=2), dict(stride=2, groups=2, bias=False)):
        theirs = torch.nn.Conv1d(4, 6, 4, dtype=torch.float64, **kw)
        ours = nn.Conv1d(4, 6, 4, dtype=tg.float64, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
        ours.load_state_dict(theirs.state_dict())
        x = rng.standard_normal((2, 4, 9))
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-12, atol=1e-12)
        back = torch.nn.Conv1d(4, 6, 4, dtype=torch.float64, **kw)
        back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in nn.Conv1d(4, 6, 4, dtype=tg.float64,
                                                                                     **kw).state_dict().items()})
        ours.load_state_dict(back.state_dict())
        np.testing.assert_array_equal(ours.weight.numpy(), back.weight.detach().numpy())


# ----------------------------------------------------------------------------- pools: definitions and gradients
def conv_tbc_ref(x, w, b, pad):
    """torch.conv_tbc by its definition: y[t, n, o] = b[o] + sum_{k, c} w[k, c, o] x_p[t + k, n, c], x_p the input
    with pad zero steps on each side of time (a negative pad drops steps)."""
    xp = np.pad(x, ((pad, pad), (0, 0), (0, 0))) if pad >= 0 else x[-pad:x.shape[0] + pad]
    K = w.shape[0]
    return np.stack([b + sum(xp[t + k] @ w[k] for k in range(K)) for t in range(xp.shape[0] - K + 1)])


@with_fixtures
@given(time=st.integers(1, 6), batch=st.integers(1, 2), cin=st.integers(1, 3), cout=st.integers(1, 3),
       kernel=st.integers(1, 3), pad=st.integers(-1, 2), data=st.data())
def test_conv_tbc_matches_its_definition_and_central_differences(device, time, batch, cin, cout, kernel, pad, data):
    """fairseq's ConvTBC (torch.conv_tbc): values by the definition, first and second derivatives by central
    differences."""
    if time + 2 * pad - kernel + 1 < 1:
        return
    x = data.draw(arrays((time, batch, cin)), label="x")
    w = data.draw(arrays((kernel, cin, cout)), label="w")
    b = data.draw(arrays((cout,)), label="b")
    check_op(lambda x, w, b: tg.conv_tbc(x, w, b, pad), lambda x, w, b: conv_tbc_ref(x, w, b, pad), [x, w, b],
             device, gradgrad=True)


@pytest.mark.parametrize("pad", [0, 1, 3, -1])
def test_conv_tbc_matches_torch(pad):
    """torch.conv_tbc's values, gradients and second-order gradients; F.conv_tbc is the same function; torch's
    checks (with its messages) and a contiguous (time, batch, out) result."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(pad + 5)
    arrs = [rng.standard_normal(s) for s in ((5, 2, 3), (3, 3, 4), (4,))]
    res = []
    for T in (torch, tg):
        ts = [T.tensor(a, requires_grad=True) for a in arrs]
        y = T.conv_tbc(*ts, pad)
        g = T.autograd.grad((y ** 2).sum(), ts, create_graph=True)
        g2 = T.autograd.grad(sum((gg ** 2).sum() for gg in g), ts)
        assert y.is_contiguous()
        res.append([y.detach().numpy()] + [a.detach().numpy() for a in (*g, *g2)])
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    assert F.conv_tbc is tg.conv_tbc
    x, w, b = (tg.tensor(a) for a in arrs)
    assert tg.conv_tbc(x, w, bias=b, pad=2).shape == (7, 2, 4)
    for args, msg in (((x[0], w, b), "Input must have 3 dims"), ((x, w[0], b), "Weight tensor must have 3 dims"),
                      ((x, w, b[None]), "Bias must be 1-D"), ((x, w[:, :2], b), r"Input dim 2 \(input channels\)"),
                      ((x, w, b[:3]), "Bias size must equal dim 2")):
        with pytest.raises(RuntimeError, match=msg):
            tg.conv_tbc(*args)
    with pytest.raises(TypeError, match="conv_tbc: bias must be a Tensor"):
        tg.conv_tbc(x, w, None)


@st.composite
def conv_backward_configs(draw):
    """(d, x shape, w shape, conv kwargs, output shape): a valid F.conv{d}d call with groups, strides that leave
    input rows unused, paddings and dilations."""
    d, groups = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    N, cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ks = [draw(st.integers(1, 3)) for _ in range(d)]
    stride, dil, pad = ([draw(st.integers(lo, 2)) for _ in range(d)] for lo in (1, 1, 0))
    least = [max(dl * (k - 1) + 1 - 2 * p, 1) for k, dl, p in zip(ks, dil, pad)]
    size = [draw(st.integers(n, n + 4 - d)) for n in least]
    out = [(n + 2 * p - dl * (k - 1) - 1) // s + 1 for n, p, dl, k, s in zip(size, pad, dil, ks, stride)]
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    return d, (N, cg * groups, *size), (og * groups, cg, *ks), kw, (N, og * groups, *out)


@with_fixtures
@given(config=conv_backward_configs(), data=st.data())
def test_nn_grad_conv_gradients_are_the_convolutions_adjoints(device, config, data):
    """torch.nn.grad's conv{d}d_input and conv{d}d_weight by the adjoint identity <conv(x, w), g> = <x,
    conv_input(g)> = <w, conv_weight(x, g)>, independent of how the engine differentiates; differentiable in the
    given tensor and in grad_output (central differences)."""
    d, xs, ws, kw, outs = config
    x, w, g = (tensor(data.draw(arrays(s), label=n), device) for s, n in ((xs, "x"), (ws, "w"), (outs, "g")))
    conv = getattr(F, f"conv{d}d")(x, w, **kw)
    gx = getattr(nn.grad, f"conv{d}d_input")(xs, w, g, **kw)
    gw = getattr(nn.grad, f"conv{d}d_weight")(x, ws, g, **kw)
    want = float((conv * g).sum())
    np.testing.assert_allclose(float((x * gx).sum()), want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(float((w * gw).sum()), want, rtol=1e-9, atol=1e-9)
    assert gx.shape == xs and gw.shape == ws
    assert tg.gradcheck(lambda w, g: getattr(nn.grad, f"conv{d}d_input")(xs, w, g, **kw), [w, g])
    assert tg.gradcheck(lambda x, g: getattr(nn.grad, f"conv{d}d_weight")(x, ws, g, **kw), [x, g])


def test_nn_grad_matches_torch():
    """torch.nn.grad's six functions, their values and their gradients (through grad_output and the given tensor)
    against torch's; a grad_output of the wrong shape or a size of the wrong length is refused naming the op."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for d in (1, 2, 3):
        xs, ws, kw = (2, 4) + (5,) * d, (6, 2) + (3,) * d, dict(stride=2, padding=1, dilation=1, groups=2)
        gs = (2, 6) + (3,) * d
        arrs = [rng.standard_normal(s) for s in (xs, ws, gs)]
        res = []
        for T in (torch, tg):
            x, w, g = (T.tensor(a, requires_grad=True) for a in arrs)
            gx = getattr(T.nn.grad, f"conv{d}d_input")(xs, w, g, **kw)
            gw = getattr(T.nn.grad, f"conv{d}d_weight")(x, ws, g, **kw)
            second = T.autograd.grad((gx ** 2).sum() + (gw ** 3).sum(), (x, w, g))
            res.append([t.detach().numpy() for t in (gx, gw, *second)])
        for a, b in zip(*res):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    w, g = tg.zeros(6, 2, 3, 3), tg.zeros(2, 6, 4, 4)
    with pytest.raises(RuntimeError, match=r"conv2d_input: grad_output must have the convolution's output shape "
                                           r"\(2, 6, 3, 3\)"):
        nn.grad.conv2d_input((2, 4, 5, 5), w, g, groups=2)
    with pytest.raises(RuntimeError, match="conv2d_weight: the weight size must have 4 entries"):
        nn.grad.conv2d_weight(tg.zeros(2, 4, 5, 5), (6, 2, 3), g, groups=2)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_nn_grad_refuses_a_padding_string_as_torch(device, padding):
    """torch.nn.grad's functions take padding as numbers only: 'same'/'valid' raise a RuntimeError in torch (aten's
    schema check), so here too rather than a result torch never gives."""
    torch = pytest.importorskip("torch")
    x, w, g = tg.zeros(1, 2, 5, device=device), tg.zeros(3, 2, 3, device=device), tg.zeros(1, 3, 5, device=device)
    tx, tw, tgo = torch.zeros(1, 2, 5), torch.zeros(3, 2, 3), torch.zeros(1, 3, 5)
    for T, (a, b, c) in ((torch, (tx, tw, tgo)), (tg, (x, w, g))):
        with pytest.raises(RuntimeError):
            T.nn.grad.conv1d_input((1, 2, 5), b, c, padding=padding)
        with pytest.raises(RuntimeError):
            T.nn.grad.conv1d_weight(a, (3, 2, 3), c, padding=padding)
    with pytest.raises(RuntimeError, match="conv1d_weight: padding must be an int or a tuple of 1 ints"):
        tg.nn.grad.conv1d_weight(x, (3, 2, 3), g, padding=padding)


@st.composite
def pool_configs(draw, dilation=True):
    k = draw(st.integers(1, 4))
    stride = draw(st.sampled_from([None, 1, 2, 3]))
    p, d = draw(st.integers(0, k // 2)), draw(st.integers(1, 3)) if dilation else 1
    ceil_mode = draw(st.booleans())
    least = max(d, d * (k - 1) + 1 - 2 * p)  # (L >= d: every window holds an element of the input)
    L = draw(st.integers(least, least + 5))
    shape = (draw(st.integers(1, 2)), L) if draw(st.booleans()) else (draw(st.integers(1, 2)), 2, L)
    opts = dict(kernel_size=k, stride=stride, padding=p, ceil_mode=ceil_mode)
    if dilation:
        opts["dilation"] = d
    return shape, opts


@with_fixtures
@given(cfg=pool_configs(), data=st.data())
def test_max_pool1d_matches_its_definition_and_central_differences(device, cfg, data):
    shape, opts = cfg
    (x,) = data.draw(distinct([shape]), label="x")  # (no ties: a tie is a kink)
    k, s, p, d, c = (opts[n] for n in ("kernel_size", "stride", "padding", "dilation", "ceil_mode"))
    values, index = pool_ref(x, k, s, p, d, c)
    check_op(lambda t: F.max_pool1d(t, **opts), lambda a: values, [x], device, gradgrad=True)
    got, where = F.max_pool1d(tensor(x, device), return_indices=True, **opts)
    assert where.dtype == np.int64 and where.device == device
    np.testing.assert_array_equal(where.numpy(), index)


@with_fixtures
@given(cfg=pool_configs(dilation=False), count_include_pad=st.booleans(), data=st.data())
def test_avg_pool1d_matches_its_definition_and_central_differences(device, cfg, count_include_pad, data):
    shape, opts = cfg
    x = data.draw(arrays(shape), label="x")
    k, s, p, c = (opts[n] for n in ("kernel_size", "stride", "padding", "ceil_mode"))
    want = pool_ref(x, k, s, p, 1, c, "avg", count_include_pad)
    check_op(lambda t: F.avg_pool1d(t, count_include_pad=count_include_pad, **opts), lambda a: want, [x], device,
             gradgrad=True)


@with_fixtures
@given(cfg=pool_configs(dilation=False), norm_type=st.sampled_from([1, 2, 3, 1.5, -1.0]), data=st.data())
def test_lp_pool1d_matches_its_definition_and_central_differences(device, cfg, norm_type, data):
    """F.lp_pool1d: (sum of x^p over each window)^(1/p), a ceil_mode window cut short scaled to kernel_size terms
    (torch's avg_pool1d-times-kernel_size form); positive x, so that every power is real."""
    shape, opts = cfg
    opts = dict(opts, padding=0)
    k, s, c = (opts[n] for n in ("kernel_size", "stride", "ceil_mode"))
    if shape[-1] < k:  # (no window without padding)
        return
    x = data.draw(arrays(shape, 0.5, 2.0), label="x")
    check_op(lambda t: F.lp_pool1d(t, norm_type, k, s, c),
             lambda a: (pool_ref(a ** norm_type, k, s, 0, 1, c, "avg") * k) ** (1.0 / norm_type), [x], device,
             gradgrad=True)


def test_lp_pool1d_matches_torch_with_zero_windows_and_negative_values():
    """Values and gradients as torch's for signed inputs and windows of zeros (whose gradient is zero, not nan)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for p, k, s, c in [(2, 3, None, False), (1, 2, 1, True), (3, 3, 2, True), (1.5, 2, None, False), (-1, 1, 1, False)]:
        x = rng.standard_normal((2, 3, 7))
        x[0, :, :4] = 0.0
        ours, theirs = tensor(x), torch.tensor(x, requires_grad=True)
        y, ty = F.lp_pool1d(ours, p, k, s, c), torch.nn.functional.lp_pool1d(theirs, p, k, s, c)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14, equal_nan=True)
        g = rng.standard_normal(y.shape)
        (y * tensor(g, requires_grad=False)).sum().backward()
        (ty * torch.from_numpy(g)).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True)
    m, tm = nn.LPPool1d(2, 3, 2, True), torch.nn.LPPool1d(2, 3, 2, True)
    assert repr(m) == repr(tm) and repr(nn.LPPool1d(1.5, 4)) == repr(torch.nn.LPPool1d(1.5, 4))
    assert list(m.state_dict()) == []
    x = np.abs(rng.standard_normal((3, 8)))
    np.testing.assert_allclose(m(tensor(x)).numpy(), tm(torch.from_numpy(x)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [math.inf, -math.inf])
def test_lp_pools_of_infinite_norm_type_are_max_pools_of_abs_as_torch(norm_type):
    """norm_type inf: each window's largest |x| (-inf: its smallest), torch's max_pool of |x| (not the nan and inf
    of the power formula), gradient the sign of x at that element."""
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(11)
    for ours, theirs, shape in [(F.lp_pool1d, tf.lp_pool1d, (2, 3, 7)), (F.lp_pool2d, tf.lp_pool2d, (2, 5, 6))]:
        for k, s, c in [(2, None, False), (3, 2, True)]:
            _compare_with_torch(torch, lambda x: ours(x, norm_type, k, s, c), lambda x: theirs(x, norm_type, k, s, c),
                                [rng.standard_normal(shape)], rng)


@with_fixtures
@given(L=st.integers(1, 7), size=st.integers(1, 9), unbatched=st.booleans(), data=st.data())
def test_adaptive_pools_match_their_definition_and_central_differences(device, L, size, unbatched, data):
    shape = (2, L) if unbatched else (2, 2, L)
    (x,) = data.draw(distinct([shape]), label="x")
    check_op(lambda t: F.adaptive_avg_pool1d(t, size), lambda a: adaptive_ref(a, size, "avg"), [x], device,
             gradgrad=True)
    values, index = adaptive_ref(x, size, "max")
    check_op(lambda t: F.adaptive_max_pool1d(t, size), lambda a: values, [x], device)
    _, where = nn.AdaptiveMaxPool1d(size, return_indices=True)(tensor(x, device))
    np.testing.assert_array_equal(where.numpy(), index)


def test_max_pool_gradient_goes_to_one_element_per_window():
    """Ties: the first maximum takes the whole gradient, and overlapping windows add up there (torch's rule)."""
    x = tensor([[[1.0, 3.0, 3.0, 0.0, 3.0]]])
    y, index = F.max_pool1d(x, 3, stride=1, return_indices=True)
    assert y.tolist() == [[[3.0, 3.0, 3.0]]] and index.tolist() == [[[1, 1, 2]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[0.0, 2.0, 1.0, 0.0, 0.0]]]
    x = tensor([[[-math.inf] * 3]])
    y, index = F.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)  # all -inf: the first input element
    y.sum().backward()
    assert index.tolist() == [[[0, 0, 1]]] and x.grad.tolist() == [[[2.0, 1.0, 0.0]]]
    # a window with no input element (positions -1 and 2 of a length-2 input): -inf, torch's index (past the end)
    # and no gradient; torch's CPU kernel adds that gradient to the next row's first element instead
    x = tensor([[[1.0, 2.0], [3.0, 4.0]]])
    y, index = F.max_pool1d(x, 2, stride=1, padding=1, dilation=3, return_indices=True)
    y.sum().backward()
    assert y.tolist() == [[[-math.inf], [-math.inf]]] and index.tolist() == [[[2], [2]]]
    assert x.grad.tolist() == [[[0.0, 0.0], [0.0, 0.0]]]


# ----------------------------------------------------------------------------- pools against torch
def _pool_grid():
    for k in (1, 2, 3, 4):
        for stride in (None, 1, 2, 3):
            for p in range(k // 2 + 1):
                for d in (1, 2, 3):
                    for ceil_mode in (False, True):
                        least = max(d, d * (k - 1) + 1 - 2 * p)
                        for L in (least, least + 1, least + 5):
                            yield L, dict(kernel_size=k, stride=stride, padding=p, ceil_mode=ceil_mode), d


def _close(ours, theirs, **kw):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=0, atol=1e-12, **kw)


@pytest.mark.parametrize("values", ["random", "ties"])
def test_pools_match_torch_values_indices_and_gradients(values):
    torch = pytest.importorskip("torch")
    tF, rng = torch.nn.functional, np.random.default_rng(5)
    for L, opts, d in _pool_grid():
        x = rng.standard_normal((2, 3, L)) if values == "random" else rng.integers(0, 3, (2, 3, L)).astype(float)
        r = None
        for ours_fn, their_fn, kw in ((F.max_pool1d, tF.max_pool1d, dict(dilation=d, return_indices=True)),
                                      (F.avg_pool1d, tF.avg_pool1d, dict(count_include_pad=True)),
                                      (F.avg_pool1d, tF.avg_pool1d, dict(count_include_pad=False))):
            if ours_fn is F.avg_pool1d and d > 1:
                continue
            xs, tx = tensor(x), torch.tensor(x, requires_grad=True)
            y, ty = ours_fn(xs, **opts, **kw), their_fn(tx, **opts, **kw)
            if isinstance(y, tuple):
                np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy(), err_msg=str(opts))
                y, ty = y[0], ty[0]
            r = rng.standard_normal(ty.shape)
            (y * tg.tensor(r)).sum().backward()
            (ty * torch.tensor(r)).sum().backward()
            _close(y, ty, err_msg=str((opts, kw)))
            _close(xs.grad, tx.grad, err_msg=str((opts, kw)))
    for L in range(1, 8):
        for size in range(1, 10):
            x = rng.standard_normal((2, 3, L)) if values == "random" else rng.integers(0, 3, (2, 3, L)).astype(float)
            for ours_fn, their_fn in ((F.adaptive_avg_pool1d, tF.adaptive_avg_pool1d),
                                      (lambda a, n: F.adaptive_max_pool1d(a, n, True),
                                       lambda a, n: tF.adaptive_max_pool1d(a, n, True))):
                xs, tx = tensor(x), torch.tensor(x, requires_grad=True)
                y, ty = ours_fn(xs, size), their_fn(tx, size)
                if isinstance(y, tuple):
                    np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy())
                    y, ty = y[0], ty[0]
                y.sum().backward()
                ty.sum().backward()
                _close(y, ty)
                _close(xs.grad, tx.grad)


def test_max_pools_match_torch_on_nan_inf_and_unbatched_inputs():
    torch = pytest.importorskip("torch")
    tF, nan, inf = torch.nn.functional, math.nan, math.inf
    rows = [[nan, 1.0, nan, 2.0, 0.5], [1.0, nan, 3.0, nan, nan], [-inf, -inf, -inf, -inf, -inf],
            [inf, 2.0, inf, -inf, 1.0], [-inf, 1.0, -inf, -inf, -inf]]
    for opts in (dict(kernel_size=5), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, padding=1,
                 dilation=3, stride=1), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)):
        x = np.array(rows)
        xs, tx = tensor(x), torch.tensor(x, requires_grad=True)
        (y, i), (ty, ti) = F.max_pool1d(xs, return_indices=True, **opts), tF.max_pool1d(tx, return_indices=True,
                                                                                          **opts)
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        y.backward(tg.ones(*y.shape, dtype=tg.float64))
        ty.backward(torch.ones_like(ty))
        np.testing.assert_array_equal(xs.grad.numpy(), tx.grad.numpy())
    x = np.array(rows)
    (y, i), (ty, ti) = F.adaptive_max_pool1d(tensor(x), 2, True), tF.adaptive_max_pool1d(torch.tensor(x), 2, True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


def test_pool_modules_and_reprs_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [(nn.MaxPool1d(3), torch.nn.MaxPool1d(3)),
             (nn.MaxPool1d(3, 2, 1, 2, True, True), torch.nn.MaxPool1d(3, 2, 1, 2, True, True)),
             (nn.AvgPool1d(3), torch.nn.AvgPool1d(3)), (nn.AvgPool1d(4, 3, 2, True, False),
                                                        torch.nn.AvgPool1d(4, 3, 2, True, False)),
             (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4)),
             (nn.AdaptiveMaxPool1d(4, True), torch.nn.AdaptiveMaxPool1d(4, True))]
    x = np.random.default_rng(6).standard_normal((2, 3, 11))
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == []
        y, ty = ours(tensor(x)), theirs(torch.from_numpy(x))
        for a, t in zip(y if isinstance(y, tuple) else (y,), ty if isinstance(ty, tuple) else (ty,)):
            np.testing.assert_allclose(a.numpy(), t.numpy(), atol=1e-12)
    assert repr(nn.MaxPool1d(2)) == "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool1d(2, 1)) == "AvgPool1d(kernel_size=(2,), stride=(1,), padding=(0,))"
    assert repr(nn.AdaptiveMaxPool1d(3)) == "AdaptiveMaxPool1d(output_size=3)"


def test_pools_on_device_keep_dtype_and_device(device):
    x = tg.randn(2, 3, 8, device=device, requires_grad=True)
    for y in (F.max_pool1d(x, 2), F.avg_pool1d(x, 3, 1, 1), F.adaptive_avg_pool1d(x, 3), F.adaptive_max_pool1d(x, 5),
              F.max_pool1d(x[0], 3, return_indices=True)[0]):
        assert y.device == device and y.dtype == np.float32
        y.sum().backward()
    assert x.grad.device == device


def test_pool_errors_name_the_op_and_shapes():
    x = tg.zeros(2, 3, 5)
    cases = [
        (lambda: F.max_pool1d(x, 3, padding=2), ValueError,
         "max_pool1d: padding should be at most half of kernel_size, got padding=2 and kernel_size=3"),
        (lambda: F.avg_pool1d(x, 2, padding=2), ValueError,
         "avg_pool1d: padding should be at most half of kernel_size"),
        (lambda: F.max_pool1d(x, 3, stride=0), ValueError, "max_pool1d: stride must be at least 1, got 0"),
        (lambda: F.max_pool1d(x, 0), ValueError, "max_pool1d: kernel_size must be at least 1, got 0"),
        (lambda: F.max_pool1d(tg.zeros(2, 3, 2), 4), ValueError,
         r"max_pool1d: input \(2, 3, 2\) padded by 0 on each side is shorter than a window \(kernel_size 4, "
         r"dilation 1: 4 positions\); the output would have length 0"),
        (lambda: F.max_pool1d(tg.zeros(2, 3, 3), 2, dilation=3), ValueError, "dilation 3: 4 positions"),
        (lambda: F.avg_pool1d(tg.zeros(5), 2), ValueError, r"avg_pool1d: expected a 2-d \(C, L: unbatched\) or 3-d"),
        (lambda: F.max_pool1d(tg.tensor([[1, 2, 3]]), 2), TypeError,
         "max_pool1d: input must be floating point, got torch.int64"),
        (lambda: F.adaptive_avg_pool1d(tg.zeros(2, 3, 0), 2), ValueError,
         r"adaptive_avg_pool1d: input \(2, 3, 0\) has length 0; adaptive pooling needs at least one element"),
        (lambda: F.adaptive_max_pool1d(x, -1), ValueError,
         "adaptive_max_pool1d: output_size must be at least 0, got -1"),
        (lambda: nn.AdaptiveAvgPool1d((2, 3))(x), TypeError,
         "adaptive_avg_pool1d: output_size must be an int or a tuple of one int"),
        (lambda: nn.MaxPool1d(2)([1.0, 2.0]), TypeError, "MaxPool1d: input must be a Tensor, got list"),
        (lambda: F.lp_pool1d(x, 0, 2), ValueError, "lp_pool1d: norm_type must be non-zero"),
        (lambda: F.lp_pool1d(x, 2, 6), ValueError, r"lp_pool1d: input \(2, 3, 5\) padded by 0 .*kernel_size 6"),
        (lambda: F.lp_pool1d(tg.tensor([[1, 2, 3]]), 2, 2), TypeError, "lp_pool1d: input must be floating point"),
        (lambda: nn.LPPool1d("2", 2)(x), TypeError, "lp_pool1d: norm_type must be a real number"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


@pytest.mark.parametrize("pool", [lambda x: F.avg_pool1d(x, 3, 2, padding=1), lambda x: F.adaptive_avg_pool1d(x, 3)])
def test_average_pools_in_float16_sum_in_float32_and_round_once(device, pool):
    """As torch's half kernels: in float16 the window sums were rounded before the division, so a window averaging
    3e4 (summing past 65504) came out inf."""
    x = np.array([[[3e4, 4e4, 5e4, 3e4, 6e4, 2e4, -4e4], [1.0, 2.0, 3.0, -1e-3, 0.5, 0.25, 7.0]]])
    y, _ = check_half_rounds_float32_once(pool, [x], device)
    assert np.isfinite(y.numpy()).all()


@with_fixtures
@given(cfg=pool_configs(dilation=False), data=st.data())
def test_max_unpool1d_puts_each_value_at_its_index_and_passes_central_differences(device, cfg, data):
    shape, opts = cfg
    (x,) = data.draw(distinct([shape]), label="x")
    k, s, p = (opts[n] for n in ("kernel_size", "stride", "padding"))
    values, index = F.max_pool1d_with_indices(tensor(x, device), **opts)
    n_out = (values.shape[-1] - 1) * (k if s is None else s) + k - 2 * p
    flat = index.numpy().reshape(-1, index.shape[-1])
    if flat.max() >= n_out or any(len(set(row)) < len(row) for row in flat):
        return  # (past the default length torch refuses too; a shared index: torch's gradient goes to each value)
    v = values.numpy()

    def ref(a):
        out = np.zeros(a.shape[:-1] + (n_out,))
        np.put_along_axis(out, index.numpy(), a, -1)
        return out
    check_op(lambda t: F.max_unpool1d(t, index, k, s, p), ref, [v], device)


def test_max_unpool1d_and_with_indices_match_torch():
    torch = pytest.importorskip("torch")
    tF, rng = torch.nn.functional, np.random.default_rng(9)
    for L, k, s, p in ((5, 2, None, 0), (9, 3, 2, 1), (9, 3, 1, 1), (9, 2, 3, 0)):
        x = rng.standard_normal((2, 3, L))
        (y, i), (ty, ti) = F.max_pool1d_with_indices(tensor(x), k, s, p), tF.max_pool1d_with_indices(
            torch.tensor(x), k, s, p)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        for size in (None, [(ty.shape[2] - 1) * (s or k) + k - 2 * p + ((s or k) > 1)]):
            v, tv = tensor(y.numpy()), torch.tensor(ty.numpy(), requires_grad=True)
            u, tu = nn.MaxUnpool1d(k, s, p)(v, i, size), torch.nn.MaxUnpool1d(k, s, p)(tv, ti, size)
            np.testing.assert_array_equal(u.numpy(), tu.detach().numpy())
            r = rng.standard_normal(tu.shape)
            (u * tg.tensor(r)).sum().backward()
            (tu * torch.tensor(r)).sum().backward()
            np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy())
        np.testing.assert_array_equal(F.max_unpool1d(y[0], i[0], k, s, p).numpy(),
                                      tF.max_unpool1d(ty[0], ti[0], k, s, p).numpy())
    (y, i), (ty, ti) = F.adaptive_max_pool1d_with_indices(tensor(x), 4), tF.adaptive_max_pool1d_with_indices(
        torch.tensor(x), 4)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert repr(nn.MaxUnpool1d(3, 2, 1)) == repr(torch.nn.MaxUnpool1d(3, 2, 1))
    z = tg.zeros(1, 1, 3)
    for fn, pattern in ((lambda: F.max_unpool1d(z, tg.tensor([[[0, 1, 9]]]), 2),
                         "an index is outside the output of length 6"),
                        (lambda: F.max_unpool1d(z, tg.tensor([[[0, 1]]]), 2),
                         r"indices of shape \(1, 1, 2\) must have the input's shape \(1, 1, 3\)"),
                        (lambda: F.max_unpool1d(z, tg.tensor([[[0, 1, 2]]]), 2, output_size=[9]),
                         "invalid output_size .9. .the length must be between 4 and 8")):
        with pytest.raises(ValueError, match="max_unpool1d: " + pattern):
            fn()


# ----------------------------------------------------------------------------- interpolate / nn.Upsample
def interpolate_ref(x, n_out, mode, align_corners=False, ratio=None):
    """Output j reads source position s(j) of x: floor(j r) ('nearest'), floor((j + 1/2) r) ('nearest-exact'),
    or for 'linear' (1 - w) x[floor(s)] + w x[floor(s) + 1] at s = max((j + 1/2) r - 1/2, 0), or j (L - 1) / (n_out
    - 1) with align_corners; r = L / n_out unless given; 'area' averages windows as adaptive pooling."""
    L = x.shape[-1]
    r = L / n_out if ratio is None else ratio
    if mode == "area":
        return adaptive_ref(x, n_out, "avg")
    out = []
    for j in range(n_out):
        if mode in ("nearest", "nearest-exact"):
            out.append(x[..., min(math.floor((j + (0.5 if mode == "nearest-exact" else 0)) * r), L - 1)])
            continue
        s = (j * (L - 1) / (n_out - 1) if n_out > 1 else 0.0) if align_corners else max((j + 0.5) * r - 0.5, 0.0)
        i = min(math.floor(s), L - 1)
        w = s - i
        out.append((1 - w) * x[..., i] + w * x[..., min(i + 1, L - 1)])
    return np.stack(out, -1)


@with_fixtures
@given(L=st.integers(1, 6), n_out=st.integers(1, 9), mode=st.sampled_from(["nearest", "nearest-exact", "linear",
       "area"]), align_corners=st.booleans(), data=st.data())
def test_interpolate_matches_its_definition_and_central_differences(device, L, n_out, mode, align_corners, data):
    x = data.draw(arrays((1, 2, L)), label="x")
    ac = align_corners if mode == "linear" else None
    check_op(lambda t: F.interpolate(t, n_out, mode=mode, align_corners=ac),
             lambda a: interpolate_ref(a, n_out, mode, bool(ac)), [x], device)


def test_interpolate_and_upsample_match_torch():
    """Sizes and scale factors (recomputed or not) over every 1-d mode, in float64 and float32 (scales computed
    in float32 for the nearest modes, as torch's kernels). Left out: torch's nearest gradient where a scale_factor
    gives L_out = 2 L (its backward then reads j // 2 while its forward read floor(j / scale_factor))."""
    torch = pytest.importorskip("torch")
    tF, rng = torch.nn.functional, np.random.default_rng(7)
    modes = [("nearest", None), ("nearest-exact", None), ("area", None), ("linear", False), ("linear", True),
             ("linear", None)]
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        for L in (1, 3, 5):
            x = rng.standard_normal((2, 3, L)).astype(dtype)
            cfgs = [dict(size=n) for n in (1, 4, 7, 2 * L)]
            cfgs += [dict(scale_factor=f) for f in (0.7, 1.0, 2.0, 1 / 3, 2.2, (1.5,))]
            cfgs += [dict(scale_factor=f, recompute_scale_factor=True) for f in (0.7, 2.2)]
            for cfg in cfgs:
                for mode, ac in modes:
                    tx = torch.tensor(x, requires_grad=True)
                    try:
                        ty = tF.interpolate(tx, mode=mode, align_corners=ac, **cfg)
                    except RuntimeError:
                        with pytest.raises(ValueError, match="interpolate: input and output lengths must be greater"):
                            F.interpolate(tensor(x, dtype=dtype), mode=mode, align_corners=ac, **cfg)
                        continue
                    xs = tensor(x, dtype=dtype)
                    y = F.interpolate(xs, mode=mode, align_corners=ac, **cfg)
                    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=0, atol=tol, err_msg=str(cfg))
                    if ty.numel() == 0 or (mode == "nearest" and "scale_factor" in cfg and ty.shape[2] == 2 * L):
                        continue
                    r = rng.standard_normal(ty.shape).astype(dtype)
                    (y * tg.tensor(r)).sum().backward()
                    (ty * torch.tensor(r)).sum().backward()
                    np.testing.assert_allclose(xs.grad.numpy(), tx.grad.numpy(), rtol=0, atol=tol, err_msg=str(cfg))
    x = rng.standard_normal((2, 3, 5))
    with pytest.warns(UserWarning, match="`nn.functional.upsample_nearest` is deprecated"):
        np.testing.assert_array_equal(F.upsample_nearest(tensor(x), scale_factor=2).numpy(),
                                      tF.interpolate(torch.tensor(x), scale_factor=2).numpy())
    want = tF.interpolate(torch.tensor(x), 8, mode="linear", align_corners=True).numpy()
    with pytest.warns(UserWarning, match="`nn.functional.upsample` is deprecated"):
        np.testing.assert_allclose(F.upsample(tensor(x), 8, mode="linear", align_corners=True).numpy(), want,
                                   atol=1e-12)
    for args, kw in (((), dict(scale_factor=2)), ((7,), dict(mode="linear")), ((), dict(scale_factor=(1.5,),
                     mode="linear", align_corners=True)), ((4,), dict(mode="area"))):
        ours, theirs = nn.Upsample(*args, **kw), torch.nn.Upsample(*args, **kw)
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == []
        np.testing.assert_allclose(ours(tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), atol=1e-12)


def test_interpolate_errors_name_the_function_and_what_was_expected():
    x = tg.zeros(2, 3, 4)
    cases = [
        (lambda: F.interpolate(x), ValueError, "interpolate: either size or scale_factor should be defined"),
        (lambda: F.interpolate(x, 3, 2), ValueError, "interpolate: only one of size or scale_factor"),
        (lambda: F.interpolate(x, 3, recompute_scale_factor=True), ValueError, "not meaningful with an explicit size"),
        (lambda: F.interpolate(x, 3, align_corners=True), ValueError,
         "interpolate: align_corners option can only be set with the interpolating modes"),
        (lambda: F.interpolate(x, 3, mode="bilinear"), NotImplementedError,
         r"interpolate: Got 3D input, but bilinear mode needs 4D input \(input of shape \(2, 3, 4\)\)"),
        (lambda: F.interpolate(tg.zeros(3, 4), 2, mode="linear"), NotImplementedError,
         r"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported \(got 2D"),
        (lambda: nn.Upsample(scale_factor=2, mode="linear")(tg.zeros(1, 1, 2, 2)), NotImplementedError,
         "Got 4D input, but linear mode needs 3D input"),
        (lambda: F.interpolate(x, 3, mode="cubic"), NotImplementedError, "interpolate: unknown mode 'cubic'"),
        (lambda: F.interpolate(x, 3, antialias=True), ValueError, "interpolate: the anti-alias option is restricted "
                                                                  "to bilinear, bicubic, and lanczos modes"),
        (lambda: F.interpolate(x, scale_factor=(2, 2)), ValueError, r"scale_factor \(2, 2\) has 2"),
        (lambda: F.interpolate(x, 0), ValueError, r"input and output lengths must be greater than 0, got input of "
                                                  r"shape \(2, 3, 4\) and output length 0"),
        (lambda: F.interpolate(tg.tensor([[[1, 2]]]), 3), TypeError, "interpolate: input must be floating point"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


# ----------------------------------------------------------------------------- conv_transpose1d / nn.ConvTranspose1d
def conv_transpose1d_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Loops from the definition: x[n, c, j] w[c, o, k] added at output position j stride + k dilation - padding of
    channel group(c) O_g + o; L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1."""
    unbatched = x.ndim == 2
    x = x[None] if unbatched else x
    (n, c, length), (_, og, k) = x.shape, w.shape
    n_out = (length - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    y = np.zeros((n, og * groups, n_out))
    for ci in range(c):
        g = ci // (c // groups)
        for o in range(og):
            for kk in range(k):
                for j in range(length):
                    pos = j * stride + kk * dilation - padding
                    if 0 <= pos < n_out:
                        y[:, g * og + o, pos] += x[:, ci, j] * w[ci, o, kk]
    if b is not None:
        y += b[None, :, None]
    return y[0] if unbatched else y


@st.composite
def conv_transpose_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 4))
    stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    output_padding = draw(st.integers(0, max(stride, dilation) - 1))
    L = draw(st.integers(1, 4))
    full = (L - 1) * stride + dilation * (k - 1) + output_padding + 1
    padding = draw(st.integers(0, (full - 1) // 2))
    shape = (cg * groups, L) if draw(st.booleans()) else (draw(st.integers(1, 2)), cg * groups, L)
    return dict(shape=shape, weight=(cg * groups, og, k), stride=stride, padding=padding,
                output_padding=output_padding, dilation=dilation, groups=groups, bias=draw(st.booleans()))


@with_fixtures
@given(cfg=conv_transpose_configs(), data=st.data())
def test_conv_transpose1d_matches_loops_and_central_differences(device, cfg, data):
    x = data.draw(arrays(cfg["shape"]), label="x")
    w = data.draw(arrays(cfg["weight"]), label="w")
    opts = {k: cfg[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    if cfg["bias"]:
        b = data.draw(arrays((cfg["weight"][1] * cfg["groups"],)), label="b")
        check_op(lambda x, w, b: F.conv_transpose1d(x, w, b, **opts),
                 lambda x, w, b: conv_transpose1d_ref(x, w, b, **opts), [x, w, b], device)
    else:
        check_op(lambda x, w: F.conv_transpose1d(x, w, **opts), lambda x, w: conv_transpose1d_ref(x, w, **opts),
                 [x, w], device)


def test_conv_transpose1d_is_conv1d_adjoint_and_second_order():
    """<conv_transpose1d(y, w), x> = <y, conv1d(x, w)> for the same stride, padding, dilation and groups (with the
    output_padding that restores x's length), and gradients of gradients check."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 10)), rng.standard_normal((6, 2, 3))
    opts = dict(stride=2, padding=1, dilation=2, groups=2)
    y = F.conv1d(tensor(x), tensor(w), **opts)
    g = rng.standard_normal(y.shape)
    back = F.conv_transpose1d(tensor(g), tensor(w), output_padding=1, **opts)
    assert back.shape == x.shape
    np.testing.assert_allclose((back.numpy() * x).sum(), (y.numpy() * g).sum(), rtol=1e-12)
    fn = lambda a, b: F.conv_transpose1d(a, b, stride=2, padding=1, output_padding=1, dilation=2, groups=2)  # noqa
    assert tg.gradgradcheck(fn, [tensor(g), tensor(w)])


def test_conv_transpose1d_module_init_repr_output_size():
    m = nn.ConvTranspose1d(4, 6, 3, stride=2, groups=2)
    assert m.weight.shape == (4, 3, 3) and m.bias.shape == (6,) and list(m.state_dict()) == ["weight", "bias"]
    wide = nn.ConvTranspose1d(6, 2000, 5, groups=2)  # torch's fan_in: weight.shape[1] * kernel_size = 1000 * 5
    bound = 1 / math.sqrt(5000)
    assert bound * 0.95 < abs(wide.weight.numpy()).max() <= bound and abs(wide.bias.numpy()).max() <= bound
    assert nn.ConvTranspose1d(2, 3, 1, bias=False, dtype=tg.float64).weight.dtype == np.float64
    shown = nn.ConvTranspose1d(4, 6, (3,), stride=2, padding=1, output_padding=1, dilation=2, groups=2, bias=False)
    assert repr(shown) == ("ConvTranspose1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), "
                           "output_padding=(1,), groups=2, bias=False)")
    x = tg.zeros(2, 4, 5)
    assert m(x).shape == (2, 6, 11) and m(x, [12]).shape == (2, 6, 12) and m(x, (2, 6, 12)).shape == (2, 6, 12)
    assert m(x[0], [12]).shape == (6, 12)
    for size in ([10], [13]):
        with pytest.raises(ValueError, match=r"ConvTranspose1d: requested an output size of \[\d+\], but valid "
                                              r"sizes range from \[11\] to \[12\]"):
            m(x, size)
    with pytest.raises(ValueError, match='only "zeros" padding mode'):
        nn.ConvTranspose1d(4, 6, 3, padding_mode="reflect")


def test_conv_transpose1d_errors_name_the_op_and_shapes():
    x, w = tg.zeros(2, 4, 5), tg.zeros(4, 3, 3)
    cases = [
        (lambda: F.conv_transpose1d(x, w, output_padding=1), r"output_padding must be smaller than either stride or "
                                                             r"dilation, got output_padding=1, stride=1, dilation=1"),
        (lambda: F.conv_transpose1d(x, tg.zeros(3, 3, 3)), r"input \(2, 4, 5\) has 4 channels, but weight \(3, 3, 3\) "
                                                           r"expects 3"),
        (lambda: F.conv_transpose1d(x, w, groups=3), r"weight \(4, 3, 3\) has 4 input channels \(dim 0\), not "
                                                     r"divisible by groups=3"),
        (lambda: F.conv_transpose1d(x, w, tg.zeros(4)), r"bias must have shape \(3,\)"),
        (lambda: F.conv_transpose1d(x, w, padding=4), r"gives an output of length -1 .* must be at least 1"),
        (lambda: F.conv_transpose1d(tg.zeros(2, 4, 0), w), r"gives an output of length"),
        (lambda: F.conv_transpose1d(x, w, padding=-1), r"padding must be at least 0"),
        (lambda: F.conv_transpose1d(tg.zeros(4), w), r"expected a 2-d \(C, L: unbatched\) or 3-d"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match="conv_transpose1d: .*" + msg):
            call()
    with pytest.raises(TypeError, match="conv_transpose1d: input is torch.float64, weight torch.float32"):
        F.conv_transpose1d(x.double(), w)
    assert F.conv_transpose1d(tg.zeros(0, 4, 5), w).shape == (0, 3, 7)


@pytest.mark.parametrize("cfg", [
    dict(shape=(2, 4, 5), weight=(4, 3, 3), stride=2, padding=1, output_padding=1, groups=2, dilation=1),
    dict(shape=(1, 3, 7), weight=(3, 2, 1)),
    dict(shape=(3, 6, 4), weight=(6, 1, 4), stride=3, padding=2, output_padding=2, groups=3, dilation=2),
    dict(shape=(2, 2, 1), weight=(2, 2, 5), padding=2, dilation=3, output_padding=2),
    dict(shape=(4, 5), weight=(4, 2, 3), stride=2, output_padding=1),
])
def test_conv_transpose1d_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    cfg = dict(cfg)
    rng = np.random.default_rng(len(cfg))
    x, w = rng.standard_normal(cfg.pop("shape")), rng.standard_normal(cfg.pop("weight"))
    b = rng.standard_normal(w.shape[1] * cfg.get("groups", 1))
    ours_in, theirs_in = [tensor(a) for a in (x, w, b)], [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ours, theirs = F.conv_transpose1d(*ours_in, **cfg), torch.nn.functional.conv_transpose1d(*theirs_in, **cfg)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = rng.standard_normal(ours.shape)
    (ours * tensor(seed, requires_grad=False)).sum().backward()
    (theirs * torch.tensor(seed)).sum().backward()
    for o, t in zip(ours_in, theirs_in):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose1d_module_state_dict_and_output_size_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, groups=2, dilation=2).double()
    ours = nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, groups=2, dilation=2, dtype=tg.float64)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((2, 4, 5))
    assert repr(ours) == repr(theirs)
    for size in (None, [11], [12], (2, 6, 12)):
        np.testing.assert_allclose(ours(tensor(x), size).numpy(), theirs(torch.tensor(x), size).detach().numpy(),
                                   rtol=1e-12)


# ----------------------------------------------------------------------------- 2-d: references from the definitions
def _pairs(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, i, j] = b[o] + sum_{c, a, e} w[o, c, a, e] x_pad[n, g C_g + c, i sh + a dh, j sw + e dw]."""
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    (O, Cg, KH, KW), (sh, sw), (dh, dw) = w.shape, _pairs(stride), _pairs(dilation)
    if isinstance(padding, str):
        pads = [same_split(KH, dh), same_split(KW, dw)] if padding == "same" else [(0, 0), (0, 0)]
    else:
        pads = [(p, p) for p in _pairs(padding)]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    oh, ow = (xp.shape[2] - dh * (KH - 1) - 1) // sh + 1, (xp.shape[3] - dw * (KW - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], O, oh, ow))
    for o in range(O):
        g = o // (O // groups)
        for c in range(Cg):
            for a in range(KH):
                for e in range(KW):
                    out[:, o] += w[o, c, a, e] * xp[:, g * Cg + c, a * dh:a * dh + sh * (oh - 1) + 1:sh,
                                                    e * dw:e * dw + sw * (ow - 1) + 1:sw]
    if b is not None:
        out += b[:, None, None]
    return out[0] if unbatched else out


def pool2d_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, kind="max", count_include_pad=True,
               divisor_override=None):
    """Each window's max over its input elements, or its sum over m: divisor_override, the window's area within the
    padded input, or its number of input elements."""
    k, (p0, p1), (d0, d1) = _pairs(kernel_size), _pairs(padding), _pairs(dilation)
    s = k if stride is None else _pairs(stride)
    H, W = x.shape[-2:]
    hs, ws = window_starts(H, k[0], s[0], p0, d0, ceil_mode), window_starts(W, k[1], s[1], p1, d1, ceil_mode)
    out = np.zeros(x.shape[:-2] + (len(hs), len(ws)))
    for i, h0 in enumerate(hs):
        for j, w0 in enumerate(ws):
            rows = [h0 + a * d0 for a in range(k[0]) if 0 <= h0 + a * d0 < H]
            cols = [w0 + a * d1 for a in range(k[1]) if 0 <= w0 + a * d1 < W]
            block = x[..., rows, :][..., cols]
            if kind == "max":
                out[..., i, j] = block.max((-2, -1))
                continue
            if divisor_override:
                m = divisor_override
            elif count_include_pad:
                m = (min(h0 + k[0], H + p0) - h0) * (min(w0 + k[1], W + p1) - w0)
            else:
                m = len(rows) * len(cols)
            out[..., i, j] = block.sum((-2, -1)) / m
    return out


def adaptive2d_ref(x, output_size, kind):
    (H, W), out_hw = x.shape[-2:], _pairs(output_size)
    oh, ow = (H if out_hw[0] is None else out_hw[0]), (W if out_hw[1] is None else out_hw[1])
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            block = x[..., i * H // oh:-(-(i + 1) * H // oh), j * W // ow:-(-(j + 1) * W // ow)]
            out[..., i, j] = block.max((-2, -1)) if kind == "max" else block.mean((-2, -1))
    return out


@st.composite
def conv2d_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride, dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))), (draw(st.integers(1, 2)), 1)
    padding = draw(st.sampled_from([0, 1, (1, 0), (0, 2), "valid"] + (["same"] if stride == (1, 1) else [])))
    pads = {"same": [same_split(k[0], dilation[0]), same_split(k[1], dilation[1])], "valid": [(0, 0)] * 2}.get(
        padding, [(p, p) for p in _pairs(padding)]) if isinstance(padding, str) else [(p, p) for p in _pairs(padding)]
    least = [max(1, d * (kk - 1) + 1 - lo - hi) for kk, d, (lo, hi) in zip(k, dilation, pads)]
    hw = (draw(st.integers(least[0], least[0] + 2)), draw(st.integers(least[1], least[1] + 2)))
    shape = (cg * groups,) + hw if draw(st.booleans()) else (1, cg * groups) + hw
    return dict(shape=shape, weight=(og * groups, cg) + k, stride=stride, padding=padding, dilation=dilation,
                groups=groups, bias=draw(st.booleans()))


@with_fixtures
@given(cfg=conv2d_configs(), data=st.data())
def test_conv2d_matches_loops_and_central_differences(device, cfg, data):
    x = data.draw(arrays(cfg["shape"]), label="x")
    w = data.draw(arrays(cfg["weight"]), label="w")
    opts = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
    if cfg["bias"]:
        b = data.draw(arrays(cfg["weight"][:1]), label="b")
        check_op(lambda x, w, b: F.conv2d(x, w, b, **opts), lambda x, w, b: conv2d_ref(x, w, b, **opts), [x, w, b],
                 device)
    else:
        check_op(lambda x, w: F.conv2d(x, w, **opts), lambda x, w: conv2d_ref(x, w, **opts), [x, w], device)


def test_conv2d_and_conv_transpose2d_second_order_and_adjoint():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 2, 4, 3)), rng.standard_normal((2, 2, 2, 2))
    opts = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    check_op(lambda x, w: F.conv2d(x, w, **opts), lambda x, w: conv2d_ref(x, w, **opts), [x, w], "cpu",
             gradgrad=True)
    # <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> (the transpose is the adjoint in x), and its second order
    y = rng.standard_normal(conv2d_ref(x, w, **opts).shape)
    lhs = (conv2d_ref(x, w, **opts) * y).sum()
    back = F.conv_transpose2d(tg.tensor(y), tg.tensor(w), **opts)
    assert back.shape == x.shape
    np.testing.assert_allclose((back.numpy() * x).sum(), lhs, rtol=1e-12)
    assert tg.gradgradcheck(lambda y, w: F.conv_transpose2d(y, w, **opts),
                            [tensor(y[:, :, :2, :2]), tensor(w)])



def conv_transpose2d_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Loops from the definition: x[n, c, i, j] w[c, o, a, e] added at output position (i sh + a dh - ph, j sw + e dw
    - pw) of channel group(c) O_g + o (conv_transpose1d_ref in each spatial dim)."""
    (n, c, H, W), (_, og, KH, KW) = x.shape, w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = _pairs(stride), _pairs(padding), _pairs(output_padding), _pairs(dilation)
    oh, ow = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1, (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1
    y = np.zeros((n, og * groups, oh, ow))
    for ci in range(c):
        g = ci // (c // groups)
        for o, a, e, i, j in np.ndindex(og, KH, KW, H, W):
            r, q = i * sh + a * dh - ph, j * sw + e * dw - pw
            if 0 <= r < oh and 0 <= q < ow:
                y[:, g * og + o, r, q] += x[:, ci, i, j] * w[ci, o, a, e]
    return y if b is None else y + b[None, :, None, None]


@pytest.mark.parametrize("opts", [dict(), dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2)),
                                  dict(stride=2, groups=2, dilation=2, output_padding=1)])
def test_conv_transpose2d_and_instance_norm2d_on_device(device, opts):
    """conv_transpose2d (a matmul into columns and FoldNd's strided adds, on the device) against its loops, with
    gradients; InstanceNorm2d against each channel of each sample normalized over (H, W)."""
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 1, 2, 3)), rng.standard_normal(
        opts.get("groups", 1))
    check_op(lambda x, w, b: F.conv_transpose2d(x, w, b, **opts), lambda x, w, b: conv_transpose2d_ref(x, w, b, **opts),
             [x, w, b], device)
    x = rng.standard_normal((2, 3, 4, 5)) * 2 + 1
    mean, var = x.mean((-2, -1), keepdims=True), x.var((-2, -1), keepdims=True)
    y = nn.InstanceNorm2d(3, dtype=tg.float64, device=device)(tensor(x, device))
    assert y.device == device
    np.testing.assert_allclose(y.numpy(), (x - mean) / np.sqrt(var + 1e-5), atol=1e-12)

@st.composite
def pool2d_configs(draw, dilation=True):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.sampled_from([None, 1, 2, (1, 2)]))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    least = [max(dd, dd * (kk - 1) + 1 - 2 * pp) for kk, pp, dd in zip(k, p, d)]  # (a window holds an input element)
    hw = (draw(st.integers(least[0], least[0] + 2)), draw(st.integers(least[1], least[1] + 2)))
    shape = (2,) + hw if draw(st.booleans()) else (1, 2) + hw
    opts = dict(kernel_size=k, stride=stride, padding=p, ceil_mode=draw(st.booleans()))
    if dilation:
        opts["dilation"] = d
    return shape, opts


@with_fixtures
@given(cfg=pool2d_configs(), data=st.data())
def test_max_pool2d_matches_its_definition_and_central_differences(device, cfg, data):
    shape, opts = cfg
    (x,) = data.draw(distinct([shape]), label="x")  # (no ties: a tie is a kink)
    check_op(lambda x: F.max_pool2d(x, **opts), lambda x: pool2d_ref(x, **opts), [x], device)


@with_fixtures
@given(cfg=pool2d_configs(dilation=False), count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, None, 3]), data=st.data())
def test_avg_pool2d_matches_its_definition_and_central_differences(device, cfg, count_include_pad, divisor_override,
                                                                   data):
    shape, opts = cfg
    x = data.draw(arrays(shape), label="x")
    check_op(lambda x: F.avg_pool2d(x, **opts, count_include_pad=count_include_pad,
                                    divisor_override=divisor_override),
             lambda x: pool2d_ref(x, **opts, kind="avg", count_include_pad=count_include_pad,
                                  divisor_override=divisor_override), [x], device)


@with_fixtures
@given(hw=st.tuples(st.integers(1, 3), st.integers(1, 4)),
       size=st.sampled_from([1, 2, 3, (2, 5), (None, 2), (4, None)]), unbatched=st.booleans(), data=st.data())
def test_adaptive_pools2d_match_their_definition_and_central_differences(device, hw, size, unbatched, data):
    (x,) = data.draw(distinct([((1,) if unbatched else (1, 1)) + hw]), label="x")
    check_op(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: adaptive2d_ref(x, size, "avg"), [x], device)
    check_op(lambda x: F.adaptive_max_pool2d(x, size), lambda x: adaptive2d_ref(x, size, "max"), [x], device)



def _first_max_index2d(x, rows, cols):
    """The flat index h W + w of the first maximum, in row-major order, among x[..., rows, cols] (one 2-d window);
    where all are -inf, the window's first element."""
    W = x.shape[-1]
    block = x[..., rows, :][..., cols].reshape(x.shape[:-2] + (-1,))
    flat = np.array([h * W + w for h in rows for w in cols])
    return flat[block.argmax(-1)]


@pytest.mark.parametrize("k, s, p, d, ceil_mode", [(3, 2, 1, 1, True), ((2, 3), (1, 2), (1, 1), (2, 1), False),
                                                   (2, 1, 1, 2, False), ((3, 2), 2, (1, 0), 1, True)])
def test_max_pool2d_and_adaptive_max_pool2d_indices_on_device(device, k, s, p, d, ceil_mode):
    """The 2-d indices (taps unravelled, moved out of the padding and ravelled again on the device) against the
    first maximum of each window, also where a window's input elements are all -inf."""
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 5 * 6).reshape(2, 3, 5, 6).astype(np.float64)
    x[1, 2] = -np.inf
    (k0, k1), (s0, s1), (p0, p1), (d0, d1) = _pairs(k), _pairs(s), _pairs(p), _pairs(d)
    H, W = x.shape[-2:]
    hs, ws = window_starts(H, k0, s0, p0, d0, ceil_mode), window_starts(W, k1, s1, p1, d1, ceil_mode)
    expected = np.zeros(x.shape[:-2] + (len(hs), len(ws)), np.int64)
    for i, h0 in enumerate(hs):
        for j, w0 in enumerate(ws):
            rows = [h0 + a * d0 for a in range(k0) if 0 <= h0 + a * d0 < H]
            cols = [w0 + a * d1 for a in range(k1) if 0 <= w0 + a * d1 < W]
            expected[..., i, j] = _first_max_index2d(x, rows, cols)
    values, index = F.max_pool2d(tensor(x, device), k, s, p, d, ceil_mode, return_indices=True)
    assert index.device == device and index.dtype == np.int64
    np.testing.assert_array_equal(index.numpy(), expected)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x.reshape(2, 3, -1), expected.reshape(2, 3, -1),
                                                                     -1).reshape(expected.shape))
    out = (2, 4)
    expected = np.zeros(x.shape[:-2] + out, np.int64)
    for i in range(out[0]):
        for j in range(out[1]):
            rows = list(range(i * H // out[0], -(-(i + 1) * H // out[0])))
            cols = list(range(j * W // out[1], -(-(j + 1) * W // out[1])))
            expected[..., i, j] = _first_max_index2d(x, rows, cols)
    _, index = F.adaptive_max_pool2d(tensor(x, device), out, return_indices=True)
    assert index.device == device and index.dtype == np.int64
    np.testing.assert_array_equal(index.numpy(), expected)

def unfold_ref(x, k, dilation, padding, stride):
    """Column (c, a, e) of block (i, j): x_pad[n, c, i sh + a dh, j sw + e dw], blocks in row-major order."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _pairs(k), _pairs(dilation), _pairs(padding), _pairs(stride)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1, (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], x.shape[1], kh, kw, oh, ow))
    for a in range(kh):
        for e in range(kw):
            for i in range(oh):
                for j in range(ow):
                    out[:, :, a, e, i, j] = xp[:, :, i * sh + a * dh, j * sw + e * dw]
    return out.reshape(x.shape[0], -1, oh * ow)


@with_fixtures
@given(k=st.tuples(st.integers(1, 2), st.integers(1, 3)), dilation=st.sampled_from([1, (2, 1)]),
       padding=st.sampled_from([0, (1, 0)]), stride=st.sampled_from([1, (1, 2)]), data=st.data())
def test_unfold_fold_and_pixel_shuffle_match_their_definitions_and_central_differences(device, k, dilation, padding,
                                                                                       stride, data):
    x = data.draw(arrays((1, 1, 3, 4)), label="x")
    opts = dict(dilation=dilation, padding=padding, stride=stride)
    check_op(lambda x: F.unfold(x, k, **opts), lambda x: unfold_ref(x, k, **opts), [x], device)
    cols = data.draw(arrays(unfold_ref(x, k, **opts).shape), label="cols")
    # fold is unfold's adjoint: <fold(cols), x> = <cols, unfold(x)>
    folded = F.fold(tensor(cols, device), (3, 4), k, **opts)
    np.testing.assert_allclose((folded.numpy() * x).sum(), (cols * unfold_ref(x, k, **opts)).sum(), atol=1e-10)
    assert tg.gradcheck(lambda c: F.fold(c, (3, 4), k, **opts), [tensor(cols, device)])
    y = data.draw(arrays((1, 4, 2, 3)), label="y")
    r = 2
    shuffled = np.zeros((1, 1, 4, 6))
    for c in range(1):
        for i in range(r):
            for j in range(r):
                shuffled[:, c, i::r, j::r] = y[:, c * r * r + i * r + j]
    check_op(lambda y: F.pixel_shuffle(y, r), lambda y: shuffled, [y], device)
    check_op(lambda s: F.pixel_unshuffle(s, r), lambda s: y, [shuffled], device)


def test_2d_ops_on_device_keep_dtype_and_device(device):
    x = tg.randn(2, 3, 6, 5, device=device)
    conv = nn.Conv2d(3, 4, 3, padding="same", padding_mode="reflect", device=device)
    outs = [conv(x), F.max_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, (2, 3)),
            F.adaptive_max_pool2d(x, 2), nn.ConvTranspose2d(3, 2, 2, stride=2, device=device)(x),
            F.unfold(x, 2), F.pixel_shuffle(tg.randn(1, 8, 2, 2, device=device), 2), F.interpolate(x, scale_factor=2),
            nn.BatchNorm2d(3, device=device)(x), F.dropout2d(x, 0.5)]
    for y in outs:
        assert y.device == device and y.dtype == np.float32
    loss = sum(y.sum() for y in outs[:6])
    loss.backward()
    assert conv.weight.grad.device == device
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.device == device and idx.dtype == np.int64


def test_2d_errors_name_the_op_and_shapes():
    x, w = tg.zeros(2, 3, 5, 5), tg.zeros(4, 3, 2, 2)
    cases = [
        (lambda: F.conv2d(tg.zeros(5, 5), w), ValueError, r"conv2d: expected a 3-d \(C, H, W: "
                                                                              r"unbatched\) or 4-d"),
        (lambda: F.conv2d(x, tg.zeros(4, 3, 2)), ValueError, r"conv2d: weight must be 4-d \(out_channels, in_channels "
                                                             r"/ groups, kH, kW\)"),
        (lambda: F.conv2d(x, tg.zeros(4, 3, 6, 2)), ValueError, r"conv2d: input \(2, 3, 5, 5\) padded by .* shorter "
                                                                r"than the kernel's reach \(6, 2\)"),
        (lambda: F.conv2d(x, w, stride=(1, 2, 3)), TypeError, r"conv2d: stride must be a single int or a tuple of 2"),
        (lambda: F.conv2d(x, w, padding="same", stride=(1, 2)), ValueError,
         r"conv2d: padding='same' is not supported for strided convolutions \(stride=\(1, 2"),
        (lambda: F.conv_transpose2d(x, tg.zeros(3, 2, 2, 2), stride=(2, 1), output_padding=1), ValueError,
         "conv_transpose2d: output_padding must be smaller than either stride or dilation"),
        (lambda: F.max_pool2d(x, 3, padding=(1, 2)), ValueError, "max_pool2d: padding should be at most half of "
                                                                 r"kernel_size, got padding=\(1, 2\)"),
        (lambda: F.max_pool2d(x, (2, 6)), ValueError, r"max_pool2d: input \(2, 3, 5, 5\) padded by \(0, 0\) on each "
                                                      r"side is shorter than a window"),
        (lambda: F.avg_pool2d(x, 2, divisor_override=0), ValueError, "avg_pool2d: divisor_override must be non-zero"),
        (lambda: F.adaptive_avg_pool2d(x, (2, 3, 4)), ValueError, "adaptive_avg_pool2d: output_size must be an int or "
                                                                  "a tuple of 2"),
        (lambda: F.adaptive_max_pool2d(tg.zeros(1, 2, 0, 3), 2), ValueError, "adaptive_max_pool2d: .*spatial size 0"),
        (lambda: F.fold(tg.zeros(2, 12, 7), (4, 5), 2), ValueError,
         r"fold: .*number of sliding blocks 3 \* 4 = 12, but got input.size\(2\)=7"),
        (lambda: F.fold(tg.zeros(2, 13, 12), (4, 5), 2), ValueError, "fold: expected size of input's dimension 1 to be "
                                                                     "divisible by the product of kernel_size"),
        (lambda: F.unfold(x, 6), ValueError, r"unfold: .*sliding blocks would have shape \(0, 0\)"),
        (lambda: F.pixel_shuffle(tg.zeros(1, 3, 2, 2), 2), ValueError, "pixel_shuffle: .*input.size\\(-3\\)=3 is not "
                                                                       "divisible by 4"),
        (lambda: F.pixel_unshuffle(tg.zeros(1, 3, 3), 2), ValueError, r"pixel_unshuffle: .*input.size\(-2\)=3"),
        (lambda: nn.BatchNorm2d(3)(tg.zeros(2, 3, 4)), ValueError, r"BatchNorm2d: expected a 4-d \(N, C, H, W\) input"),
        (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "Conv2d: padding='same' is not supported"),
        (lambda: nn.ConvTranspose2d(3, 3, 3, stride=2)(x[:, :, :2, :2], (9, 9)), ValueError,
         r"ConvTranspose2d: requested an output size of \[9, 9\], but valid sizes range from \[5, 5\] to \[6, 6\]"),
        (lambda: nn.CircularPad2d(1)(tg.zeros(4, 4)), ValueError, "CircularPad2d: expected 3D or 4D input"),
        (lambda: F.interpolate(x, size=(3,)), ValueError, r"interpolate: input of shape \(2, 3, 5, 5\) has 2 spatial "
                                                          r"dimensions, but size \(3,\) has 1"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


# ----------------------------------------------------------------------------- 2-d against torch
def _compare_with_torch(torch, ours_fn, theirs_fn, arrays_in, rng, tol=1e-12):
    ours = [tg.tensor(a, requires_grad=True) for a in arrays_in]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays_in]
    y, ty = ours_fn(*ours), theirs_fn(*theirs)
    if isinstance(ty, tuple):
        np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy())
        y, ty = y[0], ty[0]
    assert y.shape == tuple(ty.shape)
    r = rng.standard_normal(tuple(ty.shape))
    with np.errstate(invalid="ignore"):  # (with +-inf in y the loss is inf - inf = nan; only gradients are compared)
        (y * tg.tensor(r)).sum().backward()
    (ty * torch.tensor(r)).sum().backward()
    for a, t in zip([y] + [t.grad for t in ours], [ty] + [t.grad for t in theirs]):
        np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=0, atol=tol)


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")  # (torch's own note)
def test_conv2d_and_conv_transpose2d_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(6)
    for k, s, p, d, g in [((1, 1), 1, 0, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1), 2), ((3, 3), 1, "same", 2, 1),
                          ((2, 2), 1, "same", 1, 4), ((3, 2), 2, "valid", 1, 1)]:
        for shape in [(2, 4, 6, 7), (4, 5, 5)]:
            x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 4 // g) + k), rng.standard_normal(4)
            _compare_with_torch(torch, lambda x, w, b: F.conv2d(x, w, b, s, p, d, g),
                                lambda x, w, b: tf.conv2d(x, w, b, s, p, d, g), [x, w, b], rng)
    for k, s, p, op, d, g in [((2, 3), (2, 3), (1, 0), (1, 2), 1, 2), (3, 2, 1, 1, 1, 1), ((1, 2), 1, 0, 0, (2, 1), 1)]:
        for shape in [(2, 4, 3, 4), (4, 2, 3)]:
            x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 6 // g) + _pairs(k)), rng.standard_normal(6)
            _compare_with_torch(torch, lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, g, d),
                                lambda x, w, b: tf.conv_transpose2d(x, w, b, s, p, op, g, d), [x, w, b], rng)


@pytest.mark.parametrize("values", ["random", "ties", "inf_nan"])
def test_pools2d_match_torch_values_indices_and_gradients(values):
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(7)
    for shape in [(2, 3, 6, 7), (3, 5, 5)]:
        x = {"random": rng.standard_normal(shape), "ties": np.round(rng.standard_normal(shape))}.get(values)
        if x is None:
            x = rng.standard_normal(shape)
            x.reshape(-1)[rng.choice(x.size, 6, replace=False)] = [np.nan, -np.inf, -np.inf, np.inf, -np.inf, -np.inf]
        for args in [(3, 2, 1, 1, True), ((2, 3), None, (1, 0), (2, 1), False), (2, (1, 2), 0, 1, True)]:
            _compare_with_torch(torch, lambda x: F.max_pool2d(x, *args, return_indices=True),
                                lambda x: tf.max_pool2d(x, *args, return_indices=True), [x], rng)
        for args in [(3, 2, 1, True, False, None), ((2, 3), (2, 1), (1, 1), False, True, 5), (2, None, 0, True, True)]:
            _compare_with_torch(torch, lambda x: F.avg_pool2d(x, *args), lambda x: tf.avg_pool2d(x, *args), [x], rng)
        for size in [1, (2, 4), (None, 3), (7, 2)]:
            _compare_with_torch(torch, lambda x: F.adaptive_avg_pool2d(x, size),
                                lambda x: tf.adaptive_avg_pool2d(x, size), [x], rng)
            _compare_with_torch(torch, lambda x: F.adaptive_max_pool2d(x, size, True),
                                lambda x: tf.adaptive_max_pool2d(x, size, True), [x], rng)


def test_unfold_fold_pixel_shuffle_pad_and_interpolate_2d_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 5, 6))
    for k, d, p, s in [(2, 1, 0, 1), ((2, 3), (2, 1), (1, 0), (2, 1))]:
        _compare_with_torch(torch, lambda x: F.unfold(x, k, d, p, s), lambda x: tf.unfold(x, k, d, p, s), [x], rng)
        _compare_with_torch(torch, lambda x: F.unfold(x, k, d, p, s), lambda x: tf.unfold(x, k, d, p, s), [x[0]], rng)
        cols = rng.standard_normal(tuple(tf.unfold(torch.tensor(x), k, d, p, s).shape))
        _compare_with_torch(torch, lambda c: F.fold(c, (5, 6), k, d, p, s), lambda c: tf.fold(c, (5, 6), k, d, p, s),
                            [cols], rng)
    _compare_with_torch(torch, lambda y: F.pixel_shuffle(y, 2), lambda y: tf.pixel_shuffle(y, 2),
                        [rng.standard_normal((2, 1, 8, 2, 3))], rng)
    _compare_with_torch(torch, lambda y: F.pixel_unshuffle(y, 3), lambda y: tf.pixel_unshuffle(y, 3),
                        [rng.standard_normal((2, 6, 9))], rng)
    for amounts, mode in [((1, 2, 0, 1), "reflect"), ((1, 2, 3, 1), "replicate"), ((1, 2, 3, 1), "circular"),
                          ((1, -2, 3, 1), "constant")]:
        _compare_with_torch(torch, lambda x: F.pad(x, amounts, mode), lambda x: tf.pad(x, amounts, mode), [x], rng)
    for mode, kw in [("nearest", dict(scale_factor=2)), ("nearest", dict(size=(7, 4))),
                     ("nearest-exact", dict(scale_factor=(1.5, 0.5))), ("area", dict(size=(2, 4)))]:
        _compare_with_torch(torch, lambda x: F.interpolate(x, mode=mode, **kw),
                            lambda x: tf.interpolate(x, mode=mode, **kw), [x], rng)


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input:UserWarning")  # (torch's and ours, as torch's)
def test_2d_modules_match_torch_reprs_and_state_dicts_move_both_ways():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    for kw in (dict(padding="same", padding_mode="reflect"), dict(padding=(2, 1), padding_mode="circular"),
               dict(padding=3, padding_mode="replicate", dilation=(2, 1)), dict(stride=(2, 1), groups=2, bias=False)):
        theirs, ours = torch.nn.Conv2d(4, 6, 3, dtype=torch.float64, **kw), nn.Conv2d(4, 6, 3, dtype=tg.float64, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
        bound = 1 / math.sqrt(4 // ours.groups * 9)  # (kaiming_uniform with a = sqrt(5))
        assert 0.8 * bound < np.abs(ours.weight.numpy()).max() <= bound
        ours.load_state_dict(theirs.state_dict())
        for shape in [(2, 4, 7, 8), (4, 6, 5)]:
            x = rng.standard_normal(shape)
            np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                                       atol=1e-12)
        back = torch.nn.Conv2d(4, 6, 3, dtype=torch.float64, **kw)
        back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
        np.testing.assert_array_equal(back.weight.detach().numpy(), ours.weight.numpy())
    theirs = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, groups=2, dtype=torch.float64)
    ours = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, groups=2, dtype=tg.float64)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((1, 4, 3, 4))
    for size in [None, (8, 9), [1, 6, 7, 8]]:
        np.testing.assert_allclose(ours(tg.tensor(x), size).numpy(), theirs(torch.tensor(x), size).detach().numpy(),
                                   atol=1e-12)
    pairs = [(nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
             (nn.AvgPool2d((2, 3), count_include_pad=False, divisor_override=4),
              torch.nn.AvgPool2d((2, 3), count_include_pad=False, divisor_override=4)),
             (nn.AdaptiveAvgPool2d((None, 3)), torch.nn.AdaptiveAvgPool2d((None, 3))),
             (nn.AdaptiveMaxPool2d(2), torch.nn.AdaptiveMaxPool2d(2)),
             (nn.ZeroPad2d((1, 2, 0, 3)), torch.nn.ZeroPad2d((1, 2, 0, 3))),
             (nn.ZeroPad2d(-1), torch.nn.ZeroPad2d(-1)),
             (nn.ConstantPad2d(2, 3.5), torch.nn.ConstantPad2d(2, 3.5)),
             (nn.ReflectionPad2d((1, 2, 0, 3)), torch.nn.ReflectionPad2d((1, 2, 0, 3))),
             (nn.ReplicationPad2d(2), torch.nn.ReplicationPad2d(2)),
             (nn.CircularPad2d((1, 0, 2, 1)), torch.nn.CircularPad2d((1, 0, 2, 1))),
             (nn.Unfold((2, 3), padding=1), torch.nn.Unfold((2, 3), padding=1)),
             (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)), (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2)),
             (nn.UpsamplingNearest2d((3, 7)), torch.nn.UpsamplingNearest2d((3, 7))),
             (nn.Dropout2d(0.3), torch.nn.Dropout2d(0.3))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        ours.eval(), theirs.eval()
        for shape in [(2, 4, 6, 8), (4, 6, 8)]:
            x = rng.standard_normal(shape)
            try:
                expected = theirs(torch.tensor(x)).numpy()
            except (RuntimeError, ValueError):  # (UpsamplingNearest2d's size (3, 7) for a 1-d input)
                with pytest.raises((TypeError, ValueError)):
                    ours(tg.tensor(x))
                continue
            np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), expected, atol=1e-12)
    assert repr(nn.Fold((4, 5), 2)) == repr(torch.nn.Fold((4, 5), 2))


# ----------------------------------------------------------------------------- 3-d pads, channel shuffle, Softmax2d
_NP_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@with_fixtures
@given(mode=st.sampled_from(list(_NP_PAD_MODES)), batched=st.booleans(),
       spatial=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 3)), data=st.data())
def test_3d_pads_and_channel_shuffle_match_numpy_and_central_differences(device, mode, batched, spatial, data):
    lead = (1, 2) if batched else (2,)
    most = {"reflect": [n - 1 for n in spatial], "circular": list(spatial)}.get(mode, [2, 2, 2])
    amounts = [data.draw(st.integers(0, most[2 - i // 2]), label=f"pad{i}") for i in range(6)]
    x = data.draw(arrays(lead + spatial), label="x")
    module = {"constant": nn.ZeroPad3d, "reflect": nn.ReflectionPad3d, "replicate": nn.ReplicationPad3d,
              "circular": nn.CircularPad3d}[mode](tuple(amounts))
    widths = [(0, 0)] * len(lead) + [tuple(amounts[4 - 2 * i:6 - 2 * i]) for i in range(3)]
    check_op(module, lambda x: np.pad(x, widths, mode=_NP_PAD_MODES[mode]), [x], device)
    groups = data.draw(st.sampled_from([1, 2, 3, 6]), label="groups")
    y = data.draw(arrays((data.draw(st.integers(1, 2), label="n"), 6) + spatial[:data.draw(st.integers(1, 2))]),
                  label="y")
    shuffled = y.reshape((y.shape[0], groups, 6 // groups) + y.shape[2:]).swapaxes(1, 2).reshape(y.shape)
    check_op(lambda y: F.channel_shuffle(y, groups), lambda y: shuffled, [y], device, gradgrad=True)


def test_3d_pads_channel_shuffle_and_softmax2d_match_torch_and_keep_the_device(device):
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(10)
    for name, args in [("ConstantPad3d", ((1, 2, 0, 1, 2, -1), 2.5)), ("ConstantPad3d", (1, -0.5)),
                       ("ZeroPad3d", ((1, 2, 0, 1, 2, 1),)), ("ZeroPad3d", (-1,)), ("ReflectionPad3d", (1,)),
                       ("ReflectionPad3d", ((1, 2, 0, 1, 2, 1),)), ("ReplicationPad3d", (2,)),
                       ("ReplicationPad3d", ((0, 3, 1, 0, -1, 2),)), ("CircularPad3d", ((1, 0, 2, 1, 0, 2),))]:
        ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(ours) == repr(theirs)
        for shape in [(2, 3, 3, 4, 5), (3, 4, 5, 6)] + ([(1, 2, 2, 3, 4, 5)] if "Constant" in name else []):
            _compare_with_torch(torch, ours, theirs, [rng.standard_normal(shape)], rng)
    assert F.channel_shuffle(tg.zeros(1, 0, 2, requires_grad=True), 3).shape == (1, 0, 2)  # (torch's backward fails)
    for shape, groups in [((1, 6, 2), 3), ((2, 6, 2, 3), 2), ((2, 6, 2, 1, 2), 6), ((0, 6, 2), 3)]:
        x = rng.standard_normal(shape)
        for ours in [F.channel_shuffle, F.native_channel_shuffle, tg.channel_shuffle, tg.native_channel_shuffle]:
            _compare_with_torch(torch, lambda x: ours(x, groups), lambda x: tf.channel_shuffle(x, groups), [x], rng)
        np.testing.assert_array_equal(tg.native_channel_shuffle(tg.tensor(x), groups).numpy(),
                                      torch.native_channel_shuffle(torch.tensor(x), groups).numpy())  # (no backward)
    assert repr(nn.ChannelShuffle(2)) == repr(torch.nn.ChannelShuffle(2))
    x = rng.standard_normal((2, 6, 3))
    _compare_with_torch(torch, nn.ChannelShuffle(3), torch.nn.ChannelShuffle(3), [x], rng)
    np.testing.assert_array_equal(F.channel_shuffle(tg.tensor(np.arange(12).reshape(1, 6, 2)), 2).numpy(),
                                  tf.channel_shuffle(torch.arange(12).reshape(1, 6, 2), 2).numpy())
    assert repr(nn.Softmax2d()) == repr(torch.nn.Softmax2d())
    for shape in [(3, 4, 5), (2, 3, 4, 1)]:
        _compare_with_torch(torch, nn.Softmax2d(), torch.nn.Softmax2d(), [rng.standard_normal(shape)], rng,
                            tol=1e-15)
    x = tg.randn(2, 6, 3, 4, 5, device=device)
    for y in [nn.ReflectionPad3d(1)(x), nn.CircularPad3d((1, 0, 2, 1, 0, 2))(x), nn.ConstantPad3d(1, 2.0)(x),
              nn.ReplicationPad3d(1)(x), F.channel_shuffle(x, 3), nn.Softmax2d()(x[0])]:
        assert y.device == device and y.dtype == np.float32


def test_3d_pads_channel_shuffle_and_softmax2d_errors():
    cases = [
        (lambda: nn.ReflectionPad3d(1)(tg.zeros(3, 4, 5)), ValueError, "pad: mode 'reflect' pads the last 1-3 dims"),
        (lambda: nn.ReflectionPad3d(3)(tg.zeros(1, 3, 3, 4, 5)), ValueError, r"pad: mode 'reflect' pads dim 2 .* by "
                                                                             "at most 2 on a side"),
        (lambda: nn.CircularPad3d(1)(tg.zeros(1, 1, 2, 3, 4, 5)), ValueError, "CircularPad3d: expected 4D or 5D"),
        (lambda: F.channel_shuffle(tg.zeros(2, 6), 3), ValueError, r"channel_shuffle: expects input with > 2 dims "
                                                                   r"\(N, C, \*\), but got input with shape \(2, 6\)"),
        (lambda: F.channel_shuffle(tg.zeros(1, 6, 2), 4), ValueError, "channel_shuffle: the number of channels must "
                                                                      "be divisible by groups, got 6 channels and 4"),
        (lambda: F.native_channel_shuffle(tg.zeros(1, 6, 2), 0), ValueError,
         "native_channel_shuffle: the number of groups .* must be positive, got groups=0"),
        (lambda: F.channel_shuffle(tg.zeros(1, 6, 2), 2.0), TypeError, "channel_shuffle: groups must be an int"),
        (lambda: nn.Softmax2d()(tg.zeros(4, 5)), ValueError, "Softmax2d: expected input to be 3D or 4D, got 2D"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


# ----------------------------------------------------------------------------- affine_grid and grid_sample
def _normalized(pixels, size, align_corners):
    """grid_sample's normalized coordinate of pixel coordinates along a dim of ``size`` (its inverse map)."""
    return 2 * pixels / max(size - 1, 1) - 1 if align_corners else (2 * pixels + 1) / size - 1


@pytest.mark.filterwarnings("ignore:affine_grid. Since version 1.3.0:UserWarning")  # (a unit-size grid, as torch's)
@with_fixtures
@given(mode=st.sampled_from(["bilinear", "nearest", "bicubic"]),
       padding_mode=st.sampled_from(["zeros", "border", "reflection"]), align_corners=st.booleans(),
       hw=st.tuples(st.integers(1, 3), st.integers(1, 3)), data=st.data())
def test_grid_sample_and_affine_grid_gradients_match_central_differences(device, mode, padding_mode, align_corners,
                                                                          hw, data):
    (h, w), out = hw, (data.draw(st.integers(1, 2), label="h_out"), data.draw(st.integers(1, 2), label="w_out"))
    x = data.draw(arrays((1, 1, h, w)), label="x")
    # points off the kinks: pixel coordinates k + f, f in [0.15, 0.35] or [0.65, 0.85] (folds at k and k + 1/2)
    cells = data.draw(arrays((1,) + out + (2,), -2.0, 4.0), label="cells")
    frac = data.draw(arrays((1,) + out + (2,), 0.15, 0.35), label="frac")
    flip = data.draw(hnp.arrays(bool, (1,) + out + (2,)), label="flip")
    pixels = np.floor(cells) + np.where(flip, 1 - frac, frac)
    grid = np.stack([_normalized(pixels[..., 0], w, align_corners), _normalized(pixels[..., 1], h, align_corners)],
                    -1)
    fn = lambda x, g: F.grid_sample(x, g, mode, padding_mode, align_corners)  # noqa: E731
    y = fn(tensor(x, device), tensor(grid, device))
    assert y.shape == (1, 1) + out and y.device == device
    assert tg.gradcheck(fn, [tensor(x, device), tensor(grid, device, requires_grad=mode != "nearest")])
    theta = data.draw(arrays((1, 2, 3)), label="theta")
    assert tg.gradcheck(lambda t: F.affine_grid(t, (1, 2) + out, align_corners), [tensor(theta, device)])


def test_affine_grid_and_grid_sample_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(11)
    for align_corners in (True, False):
        for size in [(2, 3, 4, 5), (1, 1, 1, 3), (2, 2, 3, 4, 5), (1, 1, 2, 1, 1)]:
            theta = rng.standard_normal((size[0], len(size) - 2, len(size) - 1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (align_corners with a unit-size grid: torch's warning and ours)
                _compare_with_torch(torch, lambda t: F.affine_grid(t, size, align_corners),
                                    lambda t: tf.affine_grid(t, size, align_corners), [theta], rng)
        for mode, padding_mode in [(m, p) for m in ("bilinear", "nearest", "bicubic")
                                   for p in ("zeros", "border", "reflection")]:
            for x_shape, grid_shape in [((2, 3, 4, 5), (2, 3, 6, 2)), ((1, 2, 1, 3), (1, 4, 2, 2)),
                                        ((1, 1, 5, 1), (1, 2, 2, 2))]:
                x, grid = rng.standard_normal(x_shape), rng.uniform(-2.5, 2.5, grid_shape)
                ours = [tg.tensor(a, requires_grad=True) for a in (x, grid)]
                theirs = [torch.tensor(a, requires_grad=True) for a in (x, grid)]
                y = F.grid_sample(*ours, mode, padding_mode, align_corners)
                ty = tf.grid_sample(*theirs, mode, padding_mode, align_corners)
                r = rng.standard_normal(tuple(ty.shape))
                (y * tg.tensor(r)).sum().backward()
                (ty * torch.tensor(r)).sum().backward()
                np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-12)
                np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), atol=1e-12)
                np.testing.assert_allclose(ours[1].grad.numpy(), theirs[1].grad.numpy(), atol=1e-12)  # (nearest: 0)
    x, theta = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 2, 3))  # (the spatial transformer's pair)
    _compare_with_torch(torch, lambda x, t: F.grid_sample(x, F.affine_grid(t, (2, 3, 3, 6), False), "bilinear",
                                                          "zeros", False),
                        lambda x, t: tf.grid_sample(x, tf.affine_grid(t, (2, 3, 3, 6), False), "bilinear", "zeros",
                                                    False), [x, theta], rng)


def test_grid_sample_grid_gradient_is_zero_on_the_clipped_bounds_as_torch():
    """'border' and 'reflection' clip the pixel coordinate into [0, size - 1]; torch's clip passes no gradient to a
    point lying exactly on a bound (a plain clamp's gradient there is 1)."""
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(12)
    x = rng.standard_normal((1, 2, 3, 4))
    for align_corners in (True, False):
        pixels = np.array([[0.0, 0.0], [3.0, 2.0], [0.0, 1.5], [1.25, 2.0], [-0.5, 2.5], [3.5, -0.5], [1.0, 1.0]])
        grid = np.stack([_normalized(pixels[:, 0], 4, align_corners), _normalized(pixels[:, 1], 3, align_corners)],
                        -1).reshape(1, 1, -1, 2)
        for padding_mode in ("border", "reflection"):
            _compare_with_torch(torch, lambda x, g: F.grid_sample(x, g, "bilinear", padding_mode, align_corners),
                                lambda x, g: tf.grid_sample(x, g, "bilinear", padding_mode, align_corners),
                                [x, grid], rng)


@with_fixtures
@given(padding_mode=st.sampled_from(["zeros", "border", "reflection"]), align_corners=st.booleans(),
       dhw=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)), data=st.data())
def test_volumetric_grid_sample_gradients_match_central_differences(device, padding_mode, align_corners, dhw, data):
    """5-d (N, C, D, H, W) input, (N, D_out, H_out, W_out, 3) grid of (x, y, z): trilinear sampling's gradients."""
    d, h, w = dhw
    x = data.draw(arrays((1, 2, d, h, w)), label="x")
    cells = data.draw(arrays((1, 1, 2, 1, 3), -2.0, 4.0), label="cells")  # (points off the kinks, as above)
    frac = data.draw(arrays((1, 1, 2, 1, 3), 0.15, 0.35), label="frac")
    flip = data.draw(hnp.arrays(bool, (1, 1, 2, 1, 3)), label="flip")
    pixels = np.floor(cells) + np.where(flip, 1 - frac, frac)
    grid = np.stack([_normalized(pixels[..., k], n, align_corners) for k, n in enumerate((w, h, d))], -1)
    fn = lambda x, g: F.grid_sample(x, g, "bilinear", padding_mode, align_corners)  # noqa: E731
    assert fn(tensor(x, device), tensor(grid, device)).shape == (1, 2, 1, 2, 1)
    assert tg.gradcheck(fn, [tensor(x, device), tensor(grid, device)])


def test_volumetric_grid_sample_matches_torch():
    """grid_sample of a 5-d input (trilinear 'bilinear' and 'nearest', every padding), and with affine_grid's 3-d
    grid: values and gradients as torch's; 'bicubic' refused for it as torch."""
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(13)
    for align_corners in (True, False):
        for mode, padding_mode in [(m, p) for m in ("bilinear", "nearest") for p in ("zeros", "border", "reflection")]:
            for x_shape, grid_shape in [((2, 3, 4, 5, 3), (2, 2, 3, 2, 3)), ((1, 2, 1, 3, 1), (1, 3, 1, 2, 3))]:
                x, grid = rng.standard_normal(x_shape), rng.uniform(-1.5, 1.5, grid_shape)
                _compare_with_torch(torch, lambda x, g: F.grid_sample(x, g, mode, padding_mode, align_corners),
                                    lambda x, g: tf.grid_sample(x, g, mode, padding_mode, align_corners),
                                    [x, grid], rng)  # (nearest: the grid's gradient zeros, as torch's)
    x, theta = rng.standard_normal((2, 2, 3, 4, 5)), rng.standard_normal((2, 3, 4))
    _compare_with_torch(torch, lambda x, t: F.grid_sample(x, F.affine_grid(t, (2, 2, 2, 3, 4), False),
                                                          align_corners=False),
                        lambda x, t: tf.grid_sample(x, tf.affine_grid(t, (2, 2, 2, 3, 4), False), align_corners=False),
                        [x, theta], rng)
    x5 = tg.zeros(1, 1, 2, 2, 2)
    with pytest.raises(RuntimeError, match="grid_sample: bicubic interpolation only supports 4D input"):
        F.grid_sample(x5, tg.zeros(1, 1, 1, 1, 3), "bicubic", align_corners=False)
    with pytest.raises(RuntimeError, match=r"grid_sample: expected a 5-d grid \(N, D_out, H_out, W_out, 3\)"):
        F.grid_sample(x5, tg.zeros(1, 1, 1, 1, 2), align_corners=False)
    with pytest.raises(RuntimeError, match=r"grid_sample: expected a 5-d grid"):
        F.grid_sample(x5, tg.zeros(1, 1, 1, 3), align_corners=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_nan_and_inf_points_read_no_pixel_on_any_device(device, padding_mode, dtype):
    """A nan or infinite grid point reads nothing (its docstring: 0 for 'nearest', nan for 'bilinear') on every
    device: a float32-to-int64 cast of nan gives 0 on a GPU, which read pixel 0 there."""
    x = tg.tensor(np.arange(1.0, 13.0).reshape(1, 1, 3, 4), dtype=dtype, device=device)
    nan, inf = math.nan, math.inf
    points = np.array([[nan, 0.0], [0.0, nan], [nan, nan], [inf, 0.0], [-inf, 0.0], [0.0, inf], [0.2, -0.3]])
    grid = tg.tensor(points.reshape(1, 1, -1, 2), dtype=dtype, device=device)
    for align_corners in (False, True):
        near = F.grid_sample(x, grid, "nearest", padding_mode, align_corners).numpy().ravel()
        blend = F.grid_sample(x, grid, "bilinear", padding_mode, align_corners).numpy().ravel()
        cubic = F.grid_sample(x, grid, "bicubic", padding_mode, align_corners).numpy().ravel()
        assert np.isnan(cubic[:-1]).all() and np.isfinite(cubic[-1])  # (as torch's: the weights are nan)
        for k, (px, py) in enumerate(points[:-1]):
            if math.isnan(px) or math.isnan(py) or padding_mode != "border":  # (border clamps an inf point inside)
                assert near[k] == 0.0 and math.isnan(blend[k]), (padding_mode, align_corners, k, near[k], blend[k])
        assert near[-1] == 7.0  # (pixel (x 1.9, y 0.55) rounds to (2, 1): 7)


def test_affine_grid_and_grid_sample_errors_and_default_warning():
    x, grid, theta = tg.zeros(1, 1, 2, 3), tg.zeros(1, 2, 3, 2), tg.zeros(1, 2, 3)
    with pytest.warns(UserWarning, match="affine_grid: Default grid_sample and affine_grid behavior has changed"):
        F.affine_grid(theta, (1, 1, 2, 3))
    with pytest.warns(UserWarning, match="grid_sample: Default grid_sample and affine_grid behavior has changed"):
        F.grid_sample(x, grid)
    cases = [
        (lambda: F.affine_grid(theta, (1, 2, 3), False), ValueError, r"affine_grid: only 4-d and 5-d sizes"),
        (lambda: F.affine_grid(theta, (2, 1, 2, 3), False), ValueError, r"affine_grid: expected theta of shape "
                                                                        r"\(2, 2, 3\) for size \(2, 1, 2, 3\)"),
        (lambda: F.affine_grid(tg.zeros(1, 2, 3, dtype=tg.int64), (1, 1, 2, 3), False), TypeError,
         "affine_grid: expected theta to have a floating point dtype"),
        (lambda: F.affine_grid(theta, (1, 1, 0, 3), False), ValueError, "affine_grid: expected a non-zero"),
        (lambda: F.grid_sample(x, grid, "cubic", align_corners=False), ValueError, "grid_sample: expected mode"),
        (lambda: F.grid_sample(x, grid, padding_mode="wrap", align_corners=False), ValueError,
         "grid_sample: expected padding_mode"),
        (lambda: F.grid_sample(tg.zeros(1, 2, 3), grid, align_corners=False), ValueError, "grid_sample: expected a "
                                                                                          "4-d"),
        (lambda: F.grid_sample(x, grid[..., :1], align_corners=False), ValueError, r"grid_sample: expected a 4-d "
                                                                                   r"grid \(N, H_out, W_out, 2\)"),
        (lambda: F.grid_sample(tg.zeros(2, 1, 2, 3), grid, align_corners=False), ValueError,
         "grid_sample: expected grid and input to have the same batch size"),
        (lambda: F.grid_sample(x, grid.double(), align_corners=False), TypeError,
         "grid_sample: expected input and grid to have the same floating point dtype"),
        (lambda: F.grid_sample(tg.zeros(1, 1, 0, 3), grid, align_corners=False), ValueError,
         r"grid_sample: expected input to have non-empty spatial dimensions, got shape \(1, 1, 0, 3\)"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


@with_fixtures
@given(cfg=pool2d_configs(dilation=False), norm_type=st.sampled_from([1, 2, 3, 1.5]), data=st.data())
def test_lp_pool2d_and_max_unpool2d_match_their_definitions_and_central_differences(device, cfg, norm_type, data):
    shape, opts = cfg
    opts = dict(kernel_size=opts["kernel_size"], stride=opts["stride"], ceil_mode=opts["ceil_mode"])
    least = [k for k in opts["kernel_size"]]
    shape = shape[:-2] + tuple(max(n, k) for n, k in zip(shape[-2:], least))
    x = data.draw(arrays(shape, 0.25, 2.0), label="x")  # (positive: x^p of a fractional p)
    check_op(lambda x: F.lp_pool2d(x, norm_type, **opts),
             lambda x: (pool2d_ref(x ** norm_type, kind="avg", **opts) * math.prod(opts["kernel_size"]))
             ** (1 / norm_type), [x], device)
    even = shape[:-2] + tuple(2 * max(n // 2, 1) for n in shape[-2:])  # (pooled by 2 and unpooled: the same size)
    (v,) = data.draw(distinct([even]), label="v")
    values, indices = F.max_pool2d(tensor(v, device), 2, return_indices=True)
    expected = np.zeros(v.shape[:-2] + (values.shape[-2] * 2, values.shape[-1] * 2))
    for pos in np.ndindex(*values.shape):  # (each value at its flat index h W_out + w)
        h, w = divmod(int(indices.numpy()[pos]), expected.shape[-1])
        expected[pos[:-2] + (h, w)] = values.numpy()[pos]
    check_op(lambda y: F.max_unpool2d(y, indices, 2), lambda y: expected, [values.numpy()], device)


def test_lp_pool2d_instance_norm2d_max_unpool2d_and_with_indices_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 5, 6))
    for norm_type, k, s, c in [(2, 2, None, True), (1.5, (2, 3), (2, 1), False), (1, 3, 1, False)]:
        a = np.abs(x) + 0.1 if norm_type != 1 else x
        _compare_with_torch(torch, lambda x: F.lp_pool2d(x, norm_type, k, s, c),
                            lambda x: tf.lp_pool2d(x, norm_type, k, s, c), [a], rng)
    assert repr(nn.LPPool2d(2, 3, 2)) == repr(torch.nn.LPPool2d(2, 3, 2))
    _compare_with_torch(torch, lambda x: F.max_pool2d_with_indices(x, 2), lambda x: tf.max_pool2d_with_indices(x, 2),
                        [x], rng)
    _compare_with_torch(torch, lambda x: F.adaptive_max_pool2d_with_indices(x, (2, 4)),
                        lambda x: tf.adaptive_max_pool2d_with_indices(x, (2, 4)), [x], rng)
    for k, s, p, shape, size in [(2, None, 0, (2, 3, 4, 6), None), ((2, 3), (2, 3), (1, 1), (3, 4, 6), (5, 6)),
                                 (2, 2, 0, (1, 2, 5, 5), (1, 2, 5, 5))]:
        _, idx = tf.max_pool2d(torch.tensor(rng.standard_normal(shape)), k, s, p, return_indices=True)
        v = rng.standard_normal(tuple(idx.shape))  # (stride >= kernel: no repeated index, which torch leaves undefined)
        _compare_with_torch(torch, lambda v: F.max_unpool2d(v, idx.numpy(), k, s, p, size),
                            lambda v: tf.max_unpool2d(v, idx, k, s, p, size), [v], rng)
        assert repr(nn.MaxUnpool2d(k, s, p)) == repr(torch.nn.MaxUnpool2d(k, s, p))
    for kw in [dict(), dict(affine=True, track_running_stats=True), dict(track_running_stats=True, momentum=None)]:
        ours, theirs = nn.InstanceNorm2d(3, dtype=tg.float64, **kw), torch.nn.InstanceNorm2d(3, dtype=torch.float64,
                                                                                              **kw)
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
        for step, shape in enumerate([(2, 3, 4, 5), (3, 4, 5), (2, 3, 3, 3)]):
            if step == 2:
                ours.eval(), theirs.eval()
            _compare_with_torch(torch, ours, theirs, [rng.standard_normal(shape) * 2 + 1], rng, tol=1e-10)
        for a, t in zip(ours.state_dict().values(), theirs.state_dict().values()):
            np.testing.assert_allclose(a.numpy(), t.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected 3D or 4D input \(got 2D input"):
        nn.InstanceNorm2d(3)(tg.zeros(3, 4))
    with pytest.raises(ValueError, match=r"max_unpool2d: invalid output_size \(9, 9\) \(the size of spatial dim 0 "
                                         r"must be between 2 and 6"):
        F.max_unpool2d(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 2, 2, dtype=tg.int64), 2, output_size=(9, 9))


def interpolate2d_ref(x, size, mode, align_corners=False):
    """Output (a, b) is sum over rows i and columns k of u_i v_k x[..., i, k], u and v each dim's 1-d weights
    (interpolate_ref's source positions: one input position with weight 1 for the nearest modes, two blended ones
    for 'bilinear'); 'area' averages windows as adaptive pooling."""
    if mode == "area":
        return adaptive2d_ref(x, size, "avg")

    def weights(j, L, n):
        r = L / n
        if mode != "bilinear":
            return {min(math.floor((j + (0.5 if mode == "nearest-exact" else 0)) * r), L - 1): 1.0}
        s = (j * (L - 1) / (n - 1) if n > 1 else 0.0) if align_corners else max((j + 0.5) * r - 0.5, 0.0)
        i = min(math.floor(s), L - 1)
        out = {i: 1 - (s - i)}
        out[min(i + 1, L - 1)] = out.get(min(i + 1, L - 1), 0.0) + (s - i)
        return out
    (H, W), (oh, ow) = x.shape[-2:], size
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for a in range(oh):
        for b in range(ow):
            for i, u in weights(a, H, oh).items():
                for k, v in weights(b, W, ow).items():
                    out[..., a, b] += u * v * x[..., i, k]
    return out


@with_fixtures
@given(hw=st.tuples(st.integers(1, 3), st.integers(1, 3)), size=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       mode=st.sampled_from(["nearest", "nearest-exact", "bilinear", "area"]), align_corners=st.booleans(),
       data=st.data())
def test_interpolate_2d_matches_its_definition_and_central_differences(device, hw, size, mode, align_corners, data):
    x = data.draw(arrays((1, 2) + hw), label="x")
    ac = align_corners if mode == "bilinear" else None
    check_op(lambda t: F.interpolate(t, size, mode=mode, align_corners=ac),
             lambda a: interpolate2d_ref(a, size, mode, bool(ac)), [x], device)


def test_bilinear_interpolate_and_upsampling_bilinear2d_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(11)
    for ac in (False, True):
        for kw in (dict(size=(5, 7)), dict(scale_factor=(1.5, 0.5)), dict(size=(1, 9)),
                   dict(scale_factor=2.3, recompute_scale_factor=True)):
            _compare_with_torch(torch, lambda x: F.interpolate(x, mode="bilinear", align_corners=ac, **kw),
                                lambda x: tf.interpolate(x, mode="bilinear", align_corners=ac, **kw),
                                [rng.standard_normal((2, 3, 4, 5))], rng)
    ours, theirs = nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)
    assert repr(ours) == repr(theirs)
    _compare_with_torch(torch, ours, theirs, [rng.standard_normal((1, 2, 3, 4))], rng)
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float16)  # (blended in float32, rounded once, as torch's)
    np.testing.assert_array_equal(F.interpolate(tg.tensor(x), scale_factor=2, mode="bilinear").numpy(),
                                  tf.interpolate(torch.tensor(x), scale_factor=2, mode="bilinear").numpy())
    assert tg.gradgradcheck(lambda t: F.interpolate(t, size=(4, 5), mode="bilinear"), [tensor(x[:1, :1], "cpu")])


def keys_cubic(x, a):
    """Keys' cubic convolution kernel: (a + 2)|x|^3 - (a + 3)|x|^2 + 1 below 1, a|x|^3 - 5a|x|^2 + 8a|x| - 4a below
    2, else 0."""
    x = abs(x)
    if x < 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a if x < 2 else 0.0


def resample_weights(L, n, mode, align_corners=False, ratio=None, antialias=False):
    """(n, L) matrix of the input positions output j reads along one dim: r = (L - 1) / (n - 1) with align_corners,
    else L / n (or the ratio given). 'linear': s = j r or max((j + 1/2) r - 1/2, 0), blending floor(s) and the next;
    'cubic': s not clamped, weights W(t + 1), W(t), W(1 - t), W(2 - t) at floor(s) - 1 .. + 2 (clamped), t = s -
    floor(s), W Keys' kernel with a = -0.75. antialias (PIL): output j centred at c = r (j + 1/2) averages the inputs
    k within the filter's support (1, 2 or 3 for triangle, cubic a = -0.5, Lanczos-3; times r when r > 1) of c -
    1/2 with weights f((k - c + 1/2) / max(r, 1)), normalised; an unchanged size is kept."""
    r = ((L - 1) / (n - 1) if n > 1 else 0.0) if align_corners else (L / n if ratio is None else ratio)
    w = np.zeros((n, L))
    if antialias:
        if L == n:
            return np.eye(L)
        f = {"linear": lambda x: max(1 - abs(x), 0.0), "cubic": lambda x: keys_cubic(x, -0.5),
             "lanczos": lambda x: np.sinc(x) * np.sinc(x / 3) if abs(x) < 3 else 0.0}[mode]
        support = {"linear": 1, "cubic": 2, "lanczos": 3}[mode] * max(r, 1.0)
        for j in range(n):
            c = r * (j + 0.5)
            for k in range(max(int(c - support + 0.5), 0), min(int(c + support + 0.5), L)):
                w[j, k] = f((k - c + 0.5) / max(r, 1.0))
            w[j] /= w[j].sum()
        return w
    for j in range(n):
        s = j * r if align_corners else (j + 0.5) * r - 0.5
        if mode == "linear":
            s = max(s, 0.0)
        i = min(math.floor(s), L - 1)
        t = min(max(s - i, 0.0), 1.0)
        if mode == "linear":
            w[j, i] += 1 - t
            w[j, min(i + 1, L - 1)] += t
        else:
            for k, wk in zip(range(i - 1, i + 3), (keys_cubic(t + 1, -0.75), keys_cubic(t, -0.75),
                                                   keys_cubic(1 - t, -0.75), keys_cubic(2 - t, -0.75))):
                w[j, min(max(k, 0), L - 1)] += wk
    return w


def separable_ref(x, size, mode, align_corners=False, antialias=False):
    """x resampled along each spatial dim in turn by resample_weights."""
    for i, n in enumerate(size):
        ax = x.ndim - len(size) + i
        w = resample_weights(x.shape[ax], n, mode, align_corners, antialias=antialias)
        x = np.moveaxis(np.tensordot(x, w, axes=([ax], [1])), -1, ax)
    return x


@with_fixtures
@given(mode=st.sampled_from(["bicubic", "trilinear", "bilinear-aa", "bicubic-aa", "lanczos-aa"]),
       align_corners=st.booleans(), data=st.data())
def test_bicubic_trilinear_and_antialias_match_their_definitions_and_central_differences(device, mode,
                                                                                        align_corners, data):
    """Inputs of sides 1 to 4 (2 for trilinear) and output sides 1 to 3 (size-1 dims, up and down); the gradient
    against central differences."""
    nd = 3 if mode == "trilinear" else 2
    shape = data.draw(st.tuples(*[st.integers(1, 2 if nd == 3 else 4)] * nd), label="shape")
    size = data.draw(st.tuples(*[st.integers(1, 3)] * nd), label="size")
    x = data.draw(arrays((1, 1) + shape), label="x")
    name, aa = mode.split("-")[0], mode.endswith("-aa")
    ac = align_corners and name != "lanczos"
    kind = {"bicubic": "cubic", "trilinear": "linear", "bilinear": "linear", "lanczos": "lanczos"}[name]
    check_op(lambda t: F.interpolate(t, size, mode=name, align_corners=ac, antialias=aa),
             lambda a: separable_ref(a, size, kind, ac, aa), [x], device)


def _interpolate_vs_torch(torch, x, tol=1e-12, grad=True, **kw):
    """F.interpolate against torch's: values (and the gradient of a random weighting), or the same error type."""
    tx, xs = torch.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    try:
        ty = torch.nn.functional.interpolate(tx, **kw)
    except RuntimeError:
        with pytest.raises(ValueError, match="interpolate: input and output"):
            F.interpolate(xs, **kw)
        return
    y = F.interpolate(xs, **kw)
    assert y.shape == tuple(ty.shape) and y.dtype == x.dtype, kw
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=0, atol=tol, err_msg=str(kw))
    if grad and ty.numel():
        r = np.random.default_rng(0).standard_normal(ty.shape).astype(x.dtype)
        (y * tg.tensor(r)).sum().backward()
        (ty * torch.tensor(r)).sum().backward()
        np.testing.assert_allclose(xs.grad.numpy(), tx.grad.numpy(), rtol=0, atol=tol, err_msg=str(kw))


def test_bicubic_interpolate_matches_torch():
    """Sizes and scale factors (recomputed or not) up and down, odd sizes and size-1 dims, both align_corners, in
    float64 and float32; float16 to the bit (torch's kernel keeps its weights in float16)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    cfgs = [dict(size=s) for s in (1, (7, 3), (2, 9))] + [dict(scale_factor=f) for f in (0.5, 1.0, 2.2, (1.5, 0.7))]
    cfgs += [dict(scale_factor=1 / 3, recompute_scale_factor=True)]
    for hw, dtype, tol in (((1, 1), np.float64, 1e-12), ((3, 5), np.float64, 1e-12), ((6, 1), np.float64, 1e-12),
                           ((3, 5), np.float32, 1e-5)):
        x = rng.standard_normal((1, 2) + hw).astype(dtype)
        for cfg, ac in itertools.product(cfgs, (False, True)):
            _interpolate_vs_torch(torch, x, tol, mode="bicubic", align_corners=ac, **cfg)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float16)
    for cfg in (dict(size=(4, 9)), dict(scale_factor=0.6, align_corners=True)):
        np.testing.assert_array_equal(F.interpolate(tg.tensor(x), mode="bicubic", **cfg).numpy(),
                                      torch.nn.functional.interpolate(torch.tensor(x), mode="bicubic", **cfg).numpy())
    assert tg.gradgradcheck(lambda t: F.interpolate(t, size=(3, 2), mode="bicubic"),
                            [tensor(rng.standard_normal((1, 1, 2, 2)), "cpu")])


def test_antialias_interpolate_matches_torch():
    """bilinear, bicubic and lanczos with antialias=True, down and up, both align_corners (lanczos refuses True),
    values and gradients. torch's forward of a (H, W) -> (H', 1) resize with H' != H repeats its first row (its
    backward and its transposed input agree with ours), and its backward resamples a dim of unchanged size that its
    forward kept, so those are checked on the transposed input and against central differences."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    cfgs = [dict(size=s) for s in (1, (3, 2), (5, 8))] + [dict(scale_factor=f) for f in (0.5, 0.13, 2.0, 1 / 3)]
    cfgs += [dict(scale_factor=0.3, recompute_scale_factor=True), dict(scale_factor=(1.5, 0.7))]
    for mode in ("bilinear", "bicubic", "lanczos"):
        for hw in ((1, 1), (8, 9), (17, 6)):
            for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
                x = rng.standard_normal((1, 2) + hw).astype(dtype)
                for cfg, ac in itertools.product(cfgs, (False, True) if mode != "lanczos" else (False,)):
                    try:
                        out = torch.nn.functional.interpolate(torch.zeros(hw)[None, None], **cfg).shape[2:]
                        if out[1] == 1 and out[0] != hw[0]:
                            continue
                    except RuntimeError:  # (an empty output: both refuse it)
                        pass
                    _interpolate_vs_torch(torch, x, tol, mode=mode, align_corners=ac, antialias=True, **cfg)
    x = rng.standard_normal((1, 2, 9, 7))
    ours = F.interpolate(tg.tensor(x), size=(4, 1), mode="bicubic", antialias=True).numpy()
    theirs = torch.nn.functional.interpolate(torch.tensor(x).transpose(2, 3), size=(1, 4), mode="bicubic",
                                             antialias=True).transpose(2, 3).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    same_h = F.interpolate(tg.tensor(x), scale_factor=(1.05, 0.5), mode="bilinear", antialias=True)
    np.testing.assert_allclose(same_h.numpy(), torch.nn.functional.interpolate(
        torch.tensor(x), scale_factor=(1.05, 0.5), mode="bilinear", antialias=True).numpy(), rtol=0, atol=1e-12)
    assert tg.gradcheck(lambda t: F.interpolate(t, scale_factor=(1.05, 0.5), mode="bilinear", antialias=True),
                        [tensor(x[:1, :1, :3], "cpu")])


def test_interpolate_new_modes_keep_dtype_and_device(device):
    x4, x5 = tg.randn(2, 3, 6, 5, device=device), tg.randn(2, 3, 4, 5, 3, device=device)
    outs = [F.interpolate(x4, scale_factor=2, mode="bicubic"), F.interpolate(x4, (3, 2), mode="bicubic",
            antialias=True, align_corners=True), F.interpolate(x4, scale_factor=0.5, mode="lanczos", antialias=True),
            F.interpolate(x5, scale_factor=1.5, mode="trilinear"), F.interpolate(x5, (2, 3, 4), mode="area"),
            F.interpolate(x5, (7, 3, 2), mode="nearest-exact"), nn.Upsample(scale_factor=2, mode="nearest")(x5)]
    for y in outs:
        assert y.device == device and y.dtype == np.float32
    y = F.interpolate(x4.astype(np.float16).requires_grad_(), (5, 7), mode="bicubic")
    y.sum().backward()
    assert y.dtype == np.float16 and y.device == device


# ----------------------------------------------------------------------------- 3-d: references from the definitions
def _triples(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * 3


def conv3d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, j] = b[o] + sum_{c, k} w[o, c, k] x_pad[n, g C_g + c, j stride + k dilation], j and k running over
    the three spatial dims (one strided slice of x_pad per kernel tap)."""
    unbatched = x.ndim == 4
    x = x[None] if unbatched else x
    (O, Cg), K, s, d = w.shape[:2], w.shape[2:], _triples(stride), _triples(dilation)
    if isinstance(padding, str):
        pads = [same_split(k, dd) if padding == "same" else (0, 0) for k, dd in zip(K, d)]
    else:
        pads = [(p, p) for p in _triples(padding)]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    n_out = [(n - dd * (k - 1) - 1) // ss + 1 for n, k, ss, dd in zip(xp.shape[2:], K, s, d)]
    out = np.zeros((x.shape[0], O) + tuple(n_out))
    for o, c in np.ndindex(O, Cg):
        g = o // (O // groups)
        for tap in np.ndindex(*K):
            at = tuple(slice(t * dd, t * dd + ss * (m - 1) + 1, ss) for t, dd, ss, m in zip(tap, d, s, n_out))
            out[:, o] += w[(o, c) + tap] * xp[(slice(None), g * Cg + c) + at]
    if b is not None:
        out += b[:, None, None, None]
    return out[0] if unbatched else out


def conv_transpose3d_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """x[n, c, i] w[c, o, k] added at output position i stride + k dilation - padding of channel group(c) O_g + o,
    in each of the three spatial dims."""
    unbatched = x.ndim == 4
    x = x[None] if unbatched else x
    (C, Og), K = w.shape[:2], w.shape[2:]
    s, p, op, d = _triples(stride), _triples(padding), _triples(output_padding), _triples(dilation)
    size = x.shape[2:]
    n_out = [(n - 1) * ss - 2 * pp + dd * (k - 1) + o + 1 for n, ss, pp, dd, k, o in zip(size, s, p, d, K, op)]
    y = np.zeros((x.shape[0], Og * groups) + tuple(n_out))
    for c, o in np.ndindex(C, Og):
        g = c // (C // groups)
        for tap in np.ndindex(*K):
            for i in np.ndindex(*size):
                at = tuple(ii * ss + t * dd - pp for ii, ss, t, dd, pp in zip(i, s, tap, d, p))
                if all(0 <= a < m for a, m in zip(at, n_out)):
                    y[(slice(None), g * Og + o) + at] += x[(slice(None), c) + i] * w[(c, o) + tap]
    if b is not None:
        y += b[:, None, None, None]
    return y[0] if unbatched else y


def pool3d_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, kind="max",
               count_include_pad=True, divisor_override=None):
    """Each window's max over its input elements (with its first maximum's flat index (d H + h) W + w), or its sum
    over m: divisor_override, the window's volume within the padded input, or its number of input elements."""
    k, p, d = _triples(kernel_size), _triples(padding), _triples(dilation)
    s = k if stride is None else _triples(stride)
    size = x.shape[-3:]
    starts = [window_starts(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip(size, k, s, p, d)]
    out = np.zeros(x.shape[:-3] + tuple(len(st_) for st_ in starts))
    index = np.zeros(out.shape, np.int64)
    for j in np.ndindex(*out.shape[-3:]):
        first = [st_[jj] for st_, jj in zip(starts, j)]
        taps = [[f + a * dd for a in range(kk) if 0 <= f + a * dd < n] for f, kk, dd, n in zip(first, k, d, size)]
        cells = list(itertools.product(*taps))
        block = np.stack([x[(Ellipsis,) + c] for c in cells], -1)
        if kind == "max":
            out[(Ellipsis,) + j] = block.max(-1)
            index[(Ellipsis,) + j] = np.array([np.ravel_multi_index(c, size) for c in cells])[block.argmax(-1)]
            continue
        if divisor_override:
            m = divisor_override
        elif count_include_pad:
            m = math.prod(min(f + kk, n + pp) - f for f, kk, n, pp in zip(first, k, size, p))
        else:
            m = len(cells)
        out[(Ellipsis,) + j] = block.sum(-1) / m
    return (out, index) if kind == "max" else out


def adaptive3d_ref(x, output_size, kind):
    """Window j of a dim of size L (output size L_out) covers floor(j L / L_out) .. ceil((j + 1) L / L_out) - 1."""
    size = x.shape[-3:]
    out_size = tuple(n if o is None else o for n, o in zip(size, _triples(output_size)))
    out = np.zeros(x.shape[:-3] + out_size)
    for j in np.ndindex(*out_size):
        at = tuple(slice(jj * n // m, -(-(jj + 1) * n // m)) for jj, n, m in zip(j, size, out_size))
        block = x[(Ellipsis,) + at]
        out[(Ellipsis,) + j] = block.max((-3, -2, -1)) if kind == "max" else block.mean((-3, -2, -1))
    return out


# ----------------------------------------------------------------------------- 3-d: definitions and gradients
@st.composite
def conv3d_configs(draw):
    """Tiny 3-d convolutions (a gradcheck perturbs each element): sides up to 3, kernels up to 2."""
    groups = draw(st.sampled_from([1, 1, 2]))
    k = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride, dilation = tuple(draw(st.integers(1, 2)) for _ in range(3)), (draw(st.integers(1, 2)), 1, 1)
    padding = draw(st.sampled_from([0, 1, (1, 0, 0), "valid"] + (["same"] if stride == (1, 1, 1) else [])))
    if padding == "same":
        pads = [same_split(kk, dd) for kk, dd in zip(k, dilation)]
    else:
        pads = [(0, 0)] * 3 if padding == "valid" else [(p, p) for p in _triples(padding)]
    least = [max(1, dd * (kk - 1) + 1 - lo - hi) for kk, dd, (lo, hi) in zip(k, dilation, pads)]
    size = tuple(draw(st.integers(n, n + 1)) for n in least)
    shape = (groups,) + size if draw(st.booleans()) else (1, groups) + size
    return dict(shape=shape, weight=(groups * draw(st.integers(1, 2)), 1) + k, stride=stride, padding=padding,
                dilation=dilation, groups=groups, bias=draw(st.booleans()))


@with_fixtures
@given(cfg=conv3d_configs(), data=st.data())
def test_conv3d_and_conv_transpose3d_match_loops_and_central_differences(device, cfg, data):
    x = data.draw(arrays(cfg["shape"]), label="x")
    w = data.draw(arrays(cfg["weight"]), label="w")
    b = data.draw(arrays(cfg["weight"][:1]), label="b") if cfg["bias"] else None
    opts = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
    inputs = [x, w] + ([b] if cfg["bias"] else [])
    check_op(lambda x, w, *b: F.conv3d(x, w, *b, **opts), lambda x, w, *b: conv3d_ref(x, w, *b, **opts), inputs,
             device)
    if isinstance(opts["padding"], str):
        return
    # the transpose, with the conv's weight read as (in, out / groups, *k): conv_transpose3d_ref's loops
    y = data.draw(arrays(conv3d_ref(x, w, **opts).shape), label="y")
    output_padding = tuple(max(ss, dd) - 1 for ss, dd in zip(opts["stride"], opts["dilation"]))
    topts = dict(opts, output_padding=output_padding)
    check_op(lambda y, w: F.conv_transpose3d(y, w, **topts), lambda y, w: conv_transpose3d_ref(y, w, **topts),
             [y, w], device)


@st.composite
def pool3d_configs(draw):
    k = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride = draw(st.sampled_from([None, 1, (1, 2, 1)]))
    p, d = tuple(draw(st.integers(0, kk // 2)) for kk in k), (draw(st.integers(1, 2)), 1, 1)
    least = [max(dd * (kk - 1) + 1 - 2 * pp, kk, dd) for kk, pp, dd in zip(k, p, d)]  # (avg_pool3d: at least k)
    size = tuple(draw(st.integers(n, n + 1)) for n in least)
    shape = (2,) + size if draw(st.booleans()) else (1, 2) + size
    return shape, dict(kernel_size=k, stride=stride, padding=p, ceil_mode=draw(st.booleans())), d


@with_fixtures
@given(cfg=pool3d_configs(), count_include_pad=st.booleans(), data=st.data())
def test_pools3d_match_their_definitions_and_central_differences(device, cfg, count_include_pad, data):
    """max_pool3d (distinct values: one maximum a window) with its indices, avg_pool3d and max_unpool3d (each value
    back at its index) against the definitions, gradients against central differences."""
    shape, opts, dilation = cfg
    (x,) = data.draw(distinct([shape]), label="x")
    expected, expected_index = pool3d_ref(x, dilation=dilation, **opts)
    check_op(lambda x: F.max_pool3d(x, dilation=dilation, **opts), lambda x: expected, [x], device)
    values, index = F.max_pool3d(tensor(x, device), dilation=dilation, return_indices=True, **opts)
    assert index.device == device and index.dtype == np.int64
    np.testing.assert_array_equal(index.numpy(), expected_index)
    check_op(lambda x: F.avg_pool3d(x, count_include_pad=count_include_pad, **opts),
             lambda x: pool3d_ref(x, kind="avg", count_include_pad=count_include_pad, **opts), [x], device)
    if opts["stride"] is not None or dilation != (1, 1, 1):  # (unpooling needs windows that do not overlap)
        return
    unpooled = np.zeros(shape[:-3] + (math.prod(shape[-3:]),))
    np.put_along_axis(unpooled, expected_index.reshape(shape[:-3] + (-1,)), expected.reshape(shape[:-3] + (-1,)), -1)
    check_op(lambda v: F.max_unpool3d(v, index, opts["kernel_size"], None, opts["padding"], shape[-3:]),
             lambda v: unpooled.reshape(shape), [values.numpy()], device)


def test_3d_ops_on_device_keep_dtype_and_device(device):
    """The 3-d forms, modules and lazy modules on the device: float32 in, float32 on the device out, gradients
    there, indices int64 there; conv3d and the pools also against the definitions there, in float64."""
    rng = np.random.default_rng(3)
    x64, w64 = rng.standard_normal((1, 2, 3, 4, 3)), rng.standard_normal((2, 1, 2, 1, 2))
    opts = dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2)
    check_op(lambda x, w: F.conv3d(x, w, **opts), lambda x, w: conv3d_ref(x, w, **opts), [x64, w64], device)
    check_op(lambda x: F.max_pool3d(x, 2, 1, 1, ceil_mode=True), lambda x: pool3d_ref(x, 2, 1, 1, ceil_mode=True)[0],
             [x64], device)
    check_op(lambda x: F.adaptive_avg_pool3d(x, (2, None, 2)), lambda x: adaptive3d_ref(x, (2, None, 2), "avg"),
             [x64], device)
    x = tg.randn(2, 3, 4, 6, 5, device=device)
    conv = nn.Conv3d(3, 4, 3, padding="same", padding_mode="reflect", device=device)
    lazy = nn.LazyConv3d(2, (1, 2, 2), device=device)
    outs = [conv(x), lazy(x), nn.ConvTranspose3d(3, 2, 2, stride=2, device=device)(x),
            nn.LazyConvTranspose3d(2, 2, device=device)(x), F.max_pool3d(x, 2, ceil_mode=True),
            F.avg_pool3d(x, 3, 2, 1), F.lp_pool3d(x, 2, 2), F.adaptive_avg_pool3d(x, (2, 3, 1)),
            F.adaptive_max_pool3d(x, 2), nn.BatchNorm3d(3, device=device)(x), nn.LazyBatchNorm3d(device=device)(x),
            nn.InstanceNorm3d(3, device=device)(x[0]), nn.LazyInstanceNorm3d(device=device)(x), F.dropout3d(x, 0.5)]
    for y in outs:
        assert y.device == device and y.dtype == np.float32
    sum(y.sum() for y in outs[:4]).backward()
    assert conv.weight.grad.device == device and lazy.weight.grad.device == device and type(lazy) is nn.Conv3d
    for pool in (F.max_pool3d, F.adaptive_max_pool3d):
        values, idx = pool(x, 2, return_indices=True)
        assert idx.device == device and idx.dtype == np.int64
    values, idx = F.max_pool3d(x, 2, return_indices=True)
    back = F.max_unpool3d(values, idx, 2, output_size=x.shape[2:])
    assert back.device == device and back.shape == x.shape


def test_dropout3d_drops_whole_channels_of_batched_and_unbatched_inputs_as_torch():
    """A 5-d (N, C, D, H, W) or 4-d (C, D, H, W) input: each channel all zero or all 1/(1-p) (inplace too); any
    other rank warns, as torch's, and is taken as unbatched (its dim 0 the channels); identity in eval mode."""
    for shape in [(2, 3, 2, 3, 2), (4, 2, 3, 2)]:
        for inplace in (False, True):
            x = tg.ones(*shape, dtype=tg.float64)
            y = F.dropout3d(x, 0.5, inplace=inplace)
            assert y.shape == shape and (y is x) == inplace
            flat = y.numpy().reshape(shape[:-3] + (-1,))
            assert ((flat == 0).all(-1) | (flat == 2).all(-1)).all()
    for shape in [(3, 4, 5), (3, 2, 2, 2, 2, 2)]:
        with pytest.warns(UserWarning, match=f"dropout3d: Received a {len(shape)}-D input to dropout3d"):
            y = F.dropout3d(tg.ones(*shape, dtype=tg.float64), 0.5).numpy().reshape(shape[0], -1)
        assert ((y == 0).all(-1) | (y == 2).all(-1)).all()
    m = nn.Dropout3d(0.3).eval()
    x = tg.randn(2, 2, 2, 2, 2)
    assert m(x) is x and F.dropout3d(x, 0.0) is x and (F.dropout3d(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="dropout3d: dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout3d(x, 1.5)


def test_3d_errors_name_the_op_and_shapes():
    cases = [
        (lambda: F.conv3d(tg.zeros(2, 3, 4), tg.zeros(2, 3, 1, 1, 1)), ValueError,
         r"conv3d: expected a 4-d \(C, D, H, W: unbatched\) or 5-d \(N, C, D, H, W: batched\) input, got shape "
         r"\(2, 3, 4\)"),
        (lambda: F.conv3d(tg.zeros(1, 3, 4, 4, 4), tg.zeros(2, 3, 1, 1)), ValueError,
         r"conv3d: weight must be 5-d \(out_channels, in_channels / groups, kD, kH, kW\)"),
        (lambda: F.conv3d(tg.zeros(1, 3, 2, 4, 4), tg.zeros(2, 3, 3, 1, 1)), ValueError,
         r"conv3d: input \(1, 3, 2, 4, 4\) padded by .* shorter than the kernel's reach \(3, 1, 1\)"),
        (lambda: F.conv3d(tg.zeros(1, 3, 4, 4, 4), tg.zeros(2, 3, 1, 1, 1), stride=(1, 2)), TypeError,
         r"conv3d: stride must be a single int or a tuple of 3 ints, got \(1, 2\)"),
        (lambda: F.conv_transpose3d(tg.zeros(1, 3, 4, 4, 4), tg.zeros(3, 2, 3, 1, 1), output_padding=(0, 0, 1)),
         ValueError, "conv_transpose3d: output_padding must be smaller than either stride or dilation"),
        (lambda: F.max_pool3d(tg.zeros(3, 4, 4), 2), ValueError, r"max_pool3d: expected a 4-d \(C, D, H, W"),
        (lambda: F.avg_pool3d(tg.zeros(1, 3, 2, 4, 4), 3, 1, 1), ValueError,
         r"avg_pool3d: input \(1, 3, 2, 4, 4\) is smaller than kernel_size \(3, 3, 3\)"),
        (lambda: F.adaptive_avg_pool3d(tg.zeros(1, 3, 4, 4, 4), (2, 2)), ValueError,
         "adaptive_avg_pool3d: output_size must be an int or a tuple of 3"),
        (lambda: F.max_unpool3d(tg.zeros(3, 2, 2, 2), tg.zeros(3, 2, 2, 2, dtype=tg.int64), 2,
                                output_size=(3, 4, 4, 4)), ValueError, "max_unpool3d: output_size should hold 3 or 5"),
        (lambda: nn.BatchNorm3d(3)(tg.zeros(3, 4, 4, 4)), ValueError,
         r"BatchNorm3d: expected a 5-d \(N, C, D, H, W\) input, got shape \(3, 4, 4, 4\)"),
        (lambda: nn.InstanceNorm3d(3)(tg.zeros(3, 4, 4)), ValueError, r"InstanceNorm3d: expected 4D or 5D input"),
        (lambda: nn.Conv3d(3, 2, (1, 2)), TypeError, "Conv3d: kernel_size must be a single int or a tuple of 3"),
        (lambda: nn.LazyConv3d(2, 1)(tg.zeros(2, 3, 4)), RuntimeError,
         r"Expected 4D \(unbatched\) or 5D \(batched\) input to LazyConv3d, but got input of size: \(2, 3, 4\)"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


# ----------------------------------------------------------------------------- 3-d against torch
@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")  # (torch's own note)
def test_conv3d_and_conv_transpose3d_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(12)
    for k, s, p, d, g in [((1, 1, 1), 1, 0, 1, 1), ((2, 3, 1), (1, 2, 1), (1, 0, 1), (2, 1, 1), 2),
                          ((3, 3, 3), 1, "same", 2, 1), ((2, 2, 2), 1, "same", 1, 4), ((3, 2, 1), 2, "valid", 1, 1)]:
        for shape in [(2, 4, 5, 6, 4), (4, 5, 5, 4)]:
            x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 4 // g) + k), rng.standard_normal(4)
            _compare_with_torch(torch, lambda x, w, b: F.conv3d(x, w, b, s, p, d, g),
                                lambda x, w, b: tf.conv3d(x, w, b, s, p, d, g), [x, w, b], rng)
    for k, s, p, op, d, g in [((2, 3, 1), (2, 3, 1), (1, 0, 0), (1, 2, 0), 1, 2), (3, 2, 1, 1, 1, 1),
                              ((1, 2, 2), 1, 0, 0, (2, 1, 1), 1), (2, 2, 0, 1, 2, 2)]:
        for shape in [(2, 4, 3, 4, 2), (4, 2, 3, 2)]:
            x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 6 // g) + _triples(k)), rng.standard_normal(6)
            _compare_with_torch(torch, lambda x, w, b: F.conv_transpose3d(x, w, b, s, p, op, g, d),
                                lambda x, w, b: tf.conv_transpose3d(x, w, b, s, p, op, g, d), [x, w, b], rng)


@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")  # (inf + -inf in a window)
@pytest.mark.parametrize("values", ["random", "ties", "inf_nan"])
def test_pools3d_match_torch_values_indices_and_gradients(values):
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(13)
    for shape in [(2, 2, 4, 5, 6), (3, 5, 4, 5)]:
        x = {"random": rng.standard_normal(shape), "ties": np.round(rng.standard_normal(shape))}.get(values)
        if x is None:
            x = rng.standard_normal(shape)
            x.reshape(-1)[rng.choice(x.size, 6, replace=False)] = [np.nan, -np.inf, -np.inf, np.inf, -np.inf, -np.inf]
        for args in [(3, 2, 1, 1, True), ((2, 3, 1), None, (1, 0, 0), (2, 1, 1), False), (2, (1, 2, 1), 0, 1, True)]:
            _compare_with_torch(torch, lambda x: F.max_pool3d(x, *args, return_indices=True),
                                lambda x: tf.max_pool3d(x, *args, return_indices=True), [x], rng)
        _compare_with_torch(torch, lambda x: F.max_pool3d_with_indices(x, 2),
                            lambda x: tf.max_pool3d_with_indices(x, 2), [x], rng)
        for args in [(3, 2, 1, True, False, None), ((2, 3, 1), (2, 1, 1), (1, 1, 0), False, True, 5),
                     (2, None, 0, True, True)]:
            _compare_with_torch(torch, lambda x: F.avg_pool3d(x, *args), lambda x: tf.avg_pool3d(x, *args), [x], rng)
        for size in [1, (2, 4, 3), (None, 3, 2), (7, 2, 1)]:
            _compare_with_torch(torch, lambda x: F.adaptive_avg_pool3d(x, size),
                                lambda x: tf.adaptive_avg_pool3d(x, size), [x], rng)
            _compare_with_torch(torch, lambda x: F.adaptive_max_pool3d(x, size, True),
                                lambda x: tf.adaptive_max_pool3d(x, size, True), [x], rng)
        _compare_with_torch(torch, lambda x: F.adaptive_max_pool3d_with_indices(x, 2),
                            lambda x: tf.adaptive_max_pool3d_with_indices(x, 2), [x], rng)
        if values == "inf_nan":
            continue
        for norm_type, k, s, c in [(2, 2, None, True), (1.5, (2, 3, 1), (2, 1, 1), False), (1, 3, 1, False),
                                   (math.inf, 2, 1, True), (-math.inf, (1, 2, 2), None, False)]:
            a = np.abs(x) + 0.1 if norm_type == 1.5 else x
            _compare_with_torch(torch, lambda x: F.lp_pool3d(x, norm_type, k, s, c),
                                lambda x: tf.lp_pool3d(x, norm_type, k, s, c), [a], rng)
    for k, s, p, shape, size in [(2, None, 0, (2, 3, 4, 6, 2), None),
                                 ((2, 3, 1), (2, 3, 1), (1, 1, 0), (3, 4, 6, 2), (5, 6, 2)),
                                 (2, 2, 0, (1, 2, 5, 5, 4), (1, 2, 5, 5, 4))]:
        _, idx = tf.max_pool3d(torch.tensor(rng.standard_normal(shape)), k, s, p, return_indices=True)
        v = rng.standard_normal(tuple(idx.shape))  # (stride >= kernel: no repeated index, which torch leaves undefined)
        _compare_with_torch(torch, lambda v: F.max_unpool3d(v, idx.numpy(), k, s, p, size),
                            lambda v: tf.max_unpool3d(v, idx, k, s, p, size), [v], rng)


def test_3d_modules_match_torch_reprs_and_state_dicts_move_both_ways():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    for kw in (dict(padding="same", padding_mode="reflect"), dict(padding=(2, 1, 0), padding_mode="circular"),
               dict(padding=2, padding_mode="replicate", dilation=(2, 1, 1)),
               dict(stride=(2, 1, 2), groups=2, bias=False)):
        theirs, ours = torch.nn.Conv3d(4, 6, 3, dtype=torch.float64, **kw), nn.Conv3d(4, 6, 3, dtype=tg.float64, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
        bound = 1 / math.sqrt(4 // ours.groups * 27)  # (kaiming_uniform with a = sqrt(5))
        assert 0.8 * bound < np.abs(ours.weight.numpy()).max() <= bound
        ours.load_state_dict(theirs.state_dict())
        for shape in [(2, 4, 5, 6, 4), (4, 5, 5, 4)]:
            _compare_with_torch(torch, ours, theirs, [rng.standard_normal(shape)], rng, tol=1e-10)
        back = torch.nn.Conv3d(4, 6, 3, dtype=torch.float64, **kw)
        back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
        np.testing.assert_array_equal(back.weight.detach().numpy(), ours.weight.numpy())
    theirs = torch.nn.ConvTranspose3d(4, 6, (3, 2, 1), stride=2, groups=2, dtype=torch.float64)
    ours = nn.ConvTranspose3d(4, 6, (3, 2, 1), stride=2, groups=2, dtype=tg.float64)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((1, 4, 3, 4, 2))
    for size in [None, (8, 9, 4), [1, 6, 7, 8, 3]]:
        np.testing.assert_allclose(ours(tg.tensor(x), size).numpy(), theirs(torch.tensor(x), size).detach().numpy(),
                                   atol=1e-12)
        np.testing.assert_allclose(ours(tg.tensor(x[0]), size and size[-3:]).numpy(),
                                   theirs(torch.tensor(x[0]), size and size[-3:]).detach().numpy(), atol=1e-12)
    pairs = [(nn.MaxPool3d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool3d(3, 2, 1, ceil_mode=True)),
             (nn.MaxPool3d((2, 1, 2), dilation=(1, 1, 2), return_indices=True),
              torch.nn.MaxPool3d((2, 1, 2), dilation=(1, 1, 2), return_indices=True)),
             (nn.AvgPool3d((2, 3, 1), count_include_pad=False, divisor_override=4),
              torch.nn.AvgPool3d((2, 3, 1), count_include_pad=False, divisor_override=4)),
             (nn.AdaptiveAvgPool3d((None, 3, 2)), torch.nn.AdaptiveAvgPool3d((None, 3, 2))),
             (nn.AdaptiveMaxPool3d(2, True), torch.nn.AdaptiveMaxPool3d(2, True)),
             (nn.LPPool3d(1.5, (2, 1, 2), 1, True), torch.nn.LPPool3d(1.5, (2, 1, 2), 1, True)),
             (nn.Dropout3d(0.3), torch.nn.Dropout3d(0.3))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == []
        ours.eval(), theirs.eval()
        for shape in [(2, 4, 6, 8, 5), (4, 6, 8, 5)]:
            _compare_with_torch(torch, ours, theirs, [np.abs(rng.standard_normal(shape)) + 0.1], rng)
    for k, s, p in [(2, None, 0), ((1, 2, 3), (1, 2, 1), (0, 1, 1))]:
        ours, theirs = nn.MaxUnpool3d(k, s, p), torch.nn.MaxUnpool3d(k, s, p)
        assert repr(ours) == repr(theirs)
        v, i = torch.nn.functional.max_pool3d(torch.tensor(rng.standard_normal((2, 3, 4, 6, 6))), k, s, p,
                                              return_indices=True)
        np.testing.assert_array_equal(ours(tg.tensor(v.numpy()), i.numpy()).numpy(), theirs(v, i).numpy())
    for ours, theirs in [(nn.BatchNorm3d(3, dtype=tg.float64), torch.nn.BatchNorm3d(3, dtype=torch.float64)),
                         (nn.BatchNorm3d(3, momentum=None, affine=False, dtype=tg.float64),
                          torch.nn.BatchNorm3d(3, momentum=None, affine=False, dtype=torch.float64)),
                         (nn.InstanceNorm3d(3, dtype=tg.float64), torch.nn.InstanceNorm3d(3, dtype=torch.float64)),
                         (nn.InstanceNorm3d(3, affine=True, track_running_stats=True, dtype=tg.float64),
                          torch.nn.InstanceNorm3d(3, affine=True, track_running_stats=True, dtype=torch.float64))]:
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
        shapes = [(2, 3, 2, 3, 2), (1, 3, 2, 2, 3), (2, 3, 3, 2, 2)]
        if isinstance(ours, nn.InstanceNorm3d):
            shapes[1] = shapes[1][1:]  # (unbatched)
        for step, shape in enumerate(shapes):
            if step == 2:
                ours.eval(), theirs.eval()
            _compare_with_torch(torch, ours, theirs, [rng.standard_normal(shape) * 2 + 1], rng, tol=1e-10)
        for a, t in zip(ours.state_dict().values(), theirs.state_dict().values()):
            np.testing.assert_allclose(a.numpy(), t.numpy(), atol=1e-12)
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def test_3d_interpolate_and_upsample_match_torch():
    """nearest, nearest-exact, area and trilinear on (N, C, D, H, W): sizes and scale factors up and down, odd and
    size-1 dims, both align_corners; values and gradients in float64 (float32 for trilinear). nn.Upsample with the
    new modes and F.upsample_bilinear (torch's deprecation warning) likewise."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    cfgs = [dict(size=s) for s in (1, (3, 1, 4))] + [dict(scale_factor=f) for f in (0.5, 2.0, (1.5, 0.7, 1 / 3))]
    cfgs += [dict(scale_factor=2.2, recompute_scale_factor=True)]
    for dhw in ((1, 1, 1), (3, 4, 5), (2, 1, 3)):
        x = rng.standard_normal((2, 2) + dhw)
        for cfg in cfgs:
            for mode, ac in (("nearest", None), ("nearest-exact", None), ("area", None), ("trilinear", False),
                             ("trilinear", True)):
                grad = not (mode == "nearest" and "scale_factor" in cfg)  # (torch's nearest backward: reads j // 2)
                _interpolate_vs_torch(torch, x, mode=mode, align_corners=ac, grad=grad, **cfg)
            _interpolate_vs_torch(torch, x.astype(np.float32), 1e-5, mode="trilinear", **cfg)
    x = rng.standard_normal((1, 2, 3, 4, 5))
    for args, kw in (((), dict(scale_factor=2, mode="trilinear")), (((3, 5, 2),), dict(mode="nearest-exact")),
                     ((), dict(scale_factor=(1.5, 0.5, 2.0), mode="trilinear", align_corners=True)),
                     ((2,), dict(mode="area"))):
        ours, theirs = nn.Upsample(*args, **kw), torch.nn.Upsample(*args, **kw)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), atol=1e-12)
    ours, theirs = nn.Upsample(scale_factor=1.5, mode="bicubic"), torch.nn.Upsample(scale_factor=1.5, mode="bicubic")
    np.testing.assert_allclose(ours(tg.tensor(x[0])).numpy(), theirs(torch.tensor(x[0])).numpy(), atol=1e-12)
    with pytest.warns(UserWarning, match="`nn.functional.upsample_bilinear` is deprecated"):
        y = F.upsample_bilinear(tg.tensor(x[0]), scale_factor=2)
    with pytest.warns(UserWarning):
        want = torch.nn.functional.upsample_bilinear(torch.tensor(x[0]), scale_factor=2)
    np.testing.assert_allclose(y.numpy(), want.numpy(), atol=1e-12)


def test_interpolate_mode_and_rank_errors_are_torchs():
    x3, x4, x5 = tg.zeros(1, 2, 3), tg.zeros(1, 2, 3, 4), tg.zeros(1, 2, 2, 3, 4)
    cases = [
        (lambda: F.interpolate(x3, 2, mode="bicubic"), NotImplementedError,
         r"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported \(got 3D\).*\(got bicubic\); mode "
         r"'bicubic' needs a 4-d input, got shape \(1, 2, 3\)"),
        (lambda: F.interpolate(x5, 2, mode="bicubic"), NotImplementedError, r"\(got 5D\)"),
        (lambda: F.interpolate(x4, 2, mode="trilinear"), NotImplementedError,
         r"interpolate: Got 4D input, but trilinear mode needs 5D input \(input of shape \(1, 2, 3, 4\)\)"),
        (lambda: F.interpolate(x5, 2, mode="linear"), NotImplementedError, "Got 5D input, but linear mode needs 3D"),
        (lambda: F.interpolate(x5, 2, mode="bilinear"), NotImplementedError, "Got 5D input, but bilinear mode needs"),
        (lambda: nn.Upsample(scale_factor=2, mode="trilinear")(x3), NotImplementedError, "Got 3D input, but trilinear"),
        (lambda: F.interpolate(tg.zeros(1, 1, 1, 1, 1, 1), 2), NotImplementedError, r"supported \(got 6D, shape"),
        (lambda: F.interpolate(x4, 2, mode="lanczos"), ValueError, "interpolate: Lanczos mode requires antialias=True"),
        (lambda: F.interpolate(x4, 2, mode="lanczos", antialias=True, align_corners=True), ValueError,
         "interpolate: Lanczos mode does not support align_corners=True"),
        (lambda: F.interpolate(x5, 2, mode="trilinear", antialias=True), ValueError,
         r"the anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-d input \(got "
         r"mode 'trilinear' and input shape \(1, 2, 2, 3, 4\)\)"),
        (lambda: F.interpolate(x3, 2, mode="bilinear", antialias=True), ValueError, "requires a 4-d input"),
        (lambda: F.interpolate(x4, 2, mode="nearest", antialias=True), ValueError, "the anti-alias option"),
        (lambda: F.interpolate(x5, scale_factor=(2, 2)), ValueError, r"has 3 spatial dimensions, but scale_factor"),
        (lambda: F.interpolate(x5, 2, mode="trilinear", align_corners=True, recompute_scale_factor=True), ValueError,
         "recompute_scale_factor is not meaningful with an explicit size"),
    ]
    for fn, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            fn()


def _fractional_ref(x, k, out, u):
    """fractional max pooling by loops: torch's generate_intervals starts trunc((i + u) alpha) - trunc(u alpha),
    alpha = (L - k) / (out - 1), the last L - k; u[n, c] per spatial dim in order."""
    n_b, c = x.shape[:2]
    vals = np.empty((n_b, c) + tuple(out))
    for b, ch in itertools.product(range(n_b), range(c)):
        starts = []
        for d, (length, kk, m) in enumerate(zip(x.shape[2:], k, out)):
            alpha = (length - kk) / (m - 1) if m > 1 else 0.0
            starts.append([int((i + u[b, ch, d]) * alpha) - int(u[b, ch, d] * alpha) for i in range(m - 1)]
                          + [length - kk])
        for pos in itertools.product(*[range(m) for m in out]):
            window = tuple(slice(s[p], s[p] + kk) for s, p, kk in zip(starts, pos, k))
            vals[(b, ch) + pos] = x[(b, ch) + window].max()
    return vals


@with_fixtures
@given(nd=st.sampled_from([2, 3]), data=st.data())
def test_fractional_max_pools_match_loops_and_central_differences(device, nd, data):
    spatial = tuple(data.draw(st.integers(1, 6 - nd), label="L") for _ in range(nd))
    k = tuple(data.draw(st.integers(1, n), label="k") for n in spatial)
    out = tuple(data.draw(st.integers(1, n - kk + 1), label="out") for n, kk in zip(spatial, k))
    shape = (data.draw(st.integers(1, 2), label="N"), 2) + spatial
    (x,) = data.draw(distinct([shape]), label="x")  # (no ties: a tie is a kink)
    u = data.draw(hnp.arrays(np.float64, shape[:2] + (nd,), elements=st.floats(0, 0.99)), label="u")
    fn = F.fractional_max_pool2d if nd == 2 else F.fractional_max_pool3d
    samples = tg.tensor(u[..., ::-1].copy() if nd == 2 else u, dtype=tg.float64, device=device)  # (2-d: W then H)
    check_op(lambda t: fn(t, k, out, _random_samples=samples), lambda a: _fractional_ref(a, k, out, u), [x], device,
             gradgrad=True)


@pytest.mark.parametrize("values", ["random", "ties"])
def test_fractional_max_pools_match_torch_with_fixed_samples(values):
    torch = pytest.importorskip("torch")
    tF, rng = torch.nn.functional, np.random.default_rng(11)
    for nd, dtype, trial in itertools.product((2, 3), (np.float64, np.float32), range(6)):
        spatial = tuple(int(v) for v in rng.integers(2, 8 if nd == 2 else 6, nd))
        k = tuple(int(rng.integers(1, n)) for n in spatial)
        out = tuple(int(rng.integers(0, n - kk + (2 if nd == 2 else 1))) for n, kk in zip(spatial, k))
        shape = ((int(rng.integers(0, 3)),) if trial % 3 else ()) + (3,) + spatial
        x = rng.standard_normal(shape) if values == "random" else rng.integers(0, 3, shape).astype(float)
        x, u = x.astype(dtype), rng.random((max(shape[0], 1) + 1 if len(shape) == nd + 2 else 1, 3, nd)).astype(dtype)
        ours, theirs = (F.fractional_max_pool2d, tF.fractional_max_pool2d) if nd == 2 else (
            F.fractional_max_pool3d, tF.fractional_max_pool3d)
        xs, tx = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (y, i), (ty, ti) = (ours(xs, k, out, return_indices=True, _random_samples=tg.tensor(u)),
                            theirs(tx, k, out, return_indices=True, _random_samples=torch.tensor(u)))
        np.testing.assert_array_equal(i.numpy(), ti.numpy(), err_msg=str((shape, k, out)))
        assert y.dtype == dtype and i.dtype == np.int64
        r = rng.standard_normal(ty.shape).astype(dtype)
        y.backward(tg.tensor(r))
        ty.backward(torch.tensor(r))
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        np.testing.assert_allclose(xs.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    nan, inf = math.nan, math.inf
    x = np.array([[[[nan, 1, nan, 2], [-inf, -inf, -inf, -inf], [3, nan, 0, 0]]]])
    u = np.array([[[0.3, 0.6]]])
    (y, i), (ty, ti) = (F.fractional_max_pool2d(tg.tensor(x), 2, (2, 3), None, True, tg.tensor(u)),
                        tF.fractional_max_pool2d(torch.tensor(x), 2, (2, 3), None, True, torch.tensor(u)))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_fractional_max_pools_draw_windows_and_check_arguments():
    tg.manual_seed(3)
    x = tg.randn(3, 4, 11, 9, dtype=tg.float64)
    tg.manual_seed(4)
    y, i = F.fractional_max_pool2d_with_indices(x, (3, 2), output_ratio=(0.5, 0.7))
    tg.manual_seed(4)
    assert y.shape == (3, 4, 5, 6) and np.array_equal(F.fractional_max_pool2d(x, (3, 2), None, (0.5, 0.7)).numpy(),
                                                       y.numpy())
    a = x.numpy()
    np.testing.assert_array_equal(np.take_along_axis(a.reshape(3, 4, -1), i.numpy().reshape(3, 4, -1), 2),
                                  y.numpy().reshape(3, 4, -1))
    np.testing.assert_array_equal(y.numpy()[..., 0, 0], a[..., :3, :2].max((-2, -1)))  # (the first windows start
    np.testing.assert_array_equal(y.numpy()[..., -1, -1], a[..., -3:, -2:].max((-2, -1)))  # at 0, the last at L - k)
    rows, cols = np.divmod(i.numpy(), 9)
    assert (np.diff(rows, axis=2) >= -2).all() and (np.diff(cols, axis=3) >= -1).all()
    z = F.fractional_max_pool3d(tg.randn(2, 5, 6, 7), 2, output_ratio=0.5)
    assert z.shape == (2, 2, 3, 3) and z.dtype == np.float32
    u = tg.rand(3, 4, 2, dtype=tg.float64)
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(ValueError, match="pool width 3 too large relative to input width 9"):
        F.fractional_max_pool2d(x, 3, (4, 8), _random_samples=u)
    with pytest.raises(TypeError, match="_random_samples torch.float32"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=u.float())
    with pytest.raises(ValueError, match=r"shape \(N', C, 2\)"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=u[:2])
    with pytest.raises(ValueError, match="non-zero size"):
        F.fractional_max_pool2d(x[:, :0], 2, 3)
    m = nn.FractionalMaxPool2d(2, output_size=3, _random_samples=u)
    assert repr(m) == "FractionalMaxPool2d()" and list(m.state_dict()) == ["_random_samples"]
    assert m.kernel_size == (2, 2) and m.output_size == (3, 3) and m.output_ratio is None
    np.testing.assert_array_equal(m(x).numpy(), F.fractional_max_pool2d(x, 2, 3, _random_samples=u).numpy())
    m3 = nn.FractionalMaxPool3d(2, output_ratio=0.5, return_indices=True)
    assert m3.output_ratio == (0.5,) * 3 and list(m3.state_dict()) == [] and len(m3(x)) == 2
    for args, msg in (((2,), "either an output size"), ((2, 3, 0.5), "only one of"),
                      ((2, None, 1.0), "between 0 and 1"), ((0, 3), "greater than 0")):
        with pytest.raises(ValueError, match=msg):
            nn.FractionalMaxPool2d(*args)


def test_fractional_max_pools_on_device(device):
    rng = np.random.default_rng(12)
    for nd, fn in ((2, F.fractional_max_pool2d), (3, F.fractional_max_pool3d)):
        x, u = rng.standard_normal((2, 3) + (6,) * nd), rng.random((2, 3, nd))
        xd = tg.tensor(x, device=device, requires_grad=True)
        y, i = fn(xd, 2, 3, return_indices=True, _random_samples=tg.tensor(u, device=device))
        y.sum().backward()
        xc = tg.tensor(x, requires_grad=True)
        yc, ic = fn(xc, 2, 3, return_indices=True, _random_samples=tg.tensor(u))
        yc.sum().backward()
        assert y.device == i.device == xd.grad.device == device and i.dtype == np.int64
        np.testing.assert_array_equal(y.numpy(), yc.numpy())
        np.testing.assert_array_equal(i.numpy(), ic.numpy())
        np.testing.assert_array_equal(xd.grad.numpy(), xc.grad.numpy())
        drawn = fn(tg.tensor(x.astype(np.float32), device=device), 2, output_ratio=0.5)
        assert drawn.device == device and drawn.dtype == np.float32 and drawn.shape == (2, 3) + (3,) * nd


def test_sync_batch_norm_matches_torch_outside_a_process_group():
    """SyncBatchNorm on (N, C), (N, C, L) and 5-d input, training then eval, as torch's without torch.distributed
    initialised (BatchNorm's statistics); convert_sync_batchnorm swaps every BatchNorm and keeps its tensors."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(23)
    ours, theirs = nn.SyncBatchNorm(3, momentum=0.3, dtype=tg.float64), torch.nn.SyncBatchNorm(3, momentum=0.3,
                                                                                               dtype=torch.float64)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    for step, shape in enumerate([(4, 3), (2, 3, 5), (2, 3, 2, 2, 3)]):
        if step == 2:
            ours.eval(), theirs.eval()
        _compare_with_torch(torch, ours, theirs, [rng.standard_normal(shape) * 2 + 1], rng, tol=1e-10)
    for a, t in zip(ours.state_dict().values(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), t.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="at least 2-d"):
        ours(tg.zeros(3, dtype=tg.float64))
    bn = nn.BatchNorm2d(4, affine=False)
    bn.eval()
    model = nn.Sequential(nn.Conv2d(2, 4, 3), bn, nn.Sequential(nn.BatchNorm1d(5, momentum=None)))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group="group")
    assert synced is model and type(model[0]) is nn.Conv2d
    assert [type(m) for m in (model[1], model[2][0])] == [nn.SyncBatchNorm, nn.SyncBatchNorm]
    assert model[1].running_mean is bn.running_mean and not model[1].training and model[1].weight is None
    assert model[2][0].momentum is None and model[2][0].process_group == "group"
    lone = nn.BatchNorm1d(2)
    assert type(nn.SyncBatchNorm.convert_sync_batchnorm(lone)) is nn.SyncBatchNorm


@pytest.mark.parametrize("case", ["groups_out", "groups_transposed", "bias"])
def test_conv_weight_and_bias_errors_are_torchs_runtime_error(device, case):
    """A weight whose channels do not divide by groups and a bias of the wrong shape raise a RuntimeError, as
    torch's ('Given groups=2, expected weight to be divisible by 2 at dimension 0'); ours raised a plain
    ValueError (still one: the error is both)."""
    torch = pytest.importorskip("torch")
    for T, kw in ((torch, {}), (tg, dict(device=device))):
        x = T.zeros(1, 2, 5, dtype=T.float64, **kw)
        call = {"groups_out": lambda: T.nn.functional.conv1d(x, T.zeros(3, 1, 3, dtype=T.float64, **kw), groups=2),
                "groups_transposed": lambda: T.nn.functional.conv_transpose1d(
                    T.zeros(1, 3, 5, dtype=T.float64, **kw), T.zeros(3, 2, 3, dtype=T.float64, **kw), groups=2),
                "bias": lambda: T.nn.functional.conv1d(x, T.zeros(3, 2, 3, dtype=T.float64, **kw),
                                                       T.zeros(4, dtype=T.float64, **kw))}[case]
        with pytest.raises(RuntimeError):
            call()


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("amounts", [(0, 0), (0, 0, 0, 0), (-1, 0), (0, -2)])
def test_pad_with_nothing_to_pad_returns_a_new_tensor(device, mode, amounts):
    """F.pad in a gathering mode with zero (or only cropping) amounts gives a new tensor, as torch's: writing the
    result leaves the input as it was (it returned the input itself, or a view of it), and the gradient still
    reaches the input."""
    x = tg.tensor(np.arange(12.0).reshape(1, 3, 4), device=device, requires_grad=True)
    out = F.pad(x, amounts, mode=mode)
    assert out is not x and out.data_ptr() != x.data_ptr()
    kept = out.detach().numpy().copy()
    with tg.no_grad():
        out.mul_(0)
    np.testing.assert_array_equal(x.detach().numpy(), np.arange(12.0).reshape(1, 3, 4))
    out = F.pad(x, amounts, mode=mode)
    np.testing.assert_array_equal(out.detach().numpy(), kept)
    out.sum().backward()
    cut = [slice(None)] * 3
    lo, hi = amounts[:2]
    cut[2] = slice(max(-lo, 0), 4 - max(-hi, 0))
    expected = np.zeros((1, 3, 4))
    expected[tuple(cut)] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
