"""torch._foreach_* (tg._foreach_mul_(ema, decay) and kin, foreach.py): each form is the Tensor method over a list;
values against torch's in float64 where torch is installed, the in-place forms' return (the list given), the
operand forms (number, list of numbers, list of tensors, one Tensor, alpha=), gradients, and torch's errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.foreach import BINARY, UNARY

try:
    import torch
except ImportError:  # (the torch comparisons skip; the rest runs)
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
RNG = np.random.default_rng(0)
A = [RNG.uniform(0.2, 0.9, (2, 3)), RNG.uniform(0.2, 0.9, (4,)), RNG.uniform(0.2, 0.9, ())]
B = [RNG.uniform(0.2, 0.9, a.shape) for a in A]
C = [RNG.uniform(0.2, 0.9, a.shape) for a in A]


def _tg(arrays, device, grad=False):
    return [tg.tensor(a, device=device, requires_grad=grad) for a in arrays]


def _torch(arrays):
    return [torch.tensor(a) for a in arrays]


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-15)


@needs_torch
@pytest.mark.parametrize("name", UNARY)
def test_unary_forms_match_torch(name, device):
    got = getattr(tg, f"_foreach_{name}")(_tg(A, device))
    assert isinstance(got, tuple)
    _same(got, getattr(torch, f"_foreach_{name}")(_torch(A)))
    xs = _tg(A, device)
    assert getattr(tg, f"_foreach_{name}_")(xs) is xs
    _same(xs, got)


OTHERS = {"number": lambda lib, arrays: 0.7, "numbers": lambda lib, arrays: [0.5, 1.5, 2.0],
          "tensors": lambda lib, arrays: [lib.tensor(a) for a in arrays]}


@needs_torch
@pytest.mark.parametrize("kind", sorted(OTHERS))
@pytest.mark.parametrize("name", BINARY)
def test_binary_forms_match_torch_for_each_kind_of_operand(name, kind, device):
    mine, theirs = OTHERS[kind](tg, B), OTHERS[kind](torch, B)
    if kind == "tensors":
        mine = [t.to(device) for t in mine]
    want = getattr(torch, f"_foreach_{name}")(_torch(A), theirs)
    _same(getattr(tg, f"_foreach_{name}")(_tg(A, device), mine), want)
    xs = _tg(A, device)
    assert getattr(tg, f"_foreach_{name}_")(xs, mine) is xs
    _same(xs, want)


@needs_torch
def test_alpha_one_tensor_pow_of_a_number_and_the_ternary_forms_match_torch(device):
    a, ta = _tg(A, device), _torch(A)
    b, tb = _tg(B, device), _torch(B)
    c, tc = _tg(C, device), _torch(C)
    _same(tg._foreach_add(a, b, alpha=-2.5), torch._foreach_add(ta, tb, alpha=-2.5))
    _same(tg._foreach_sub(a, b, alpha=0.5), torch._foreach_sub(ta, tb, alpha=0.5))
    for name in ("add", "sub", "mul", "div"):
        _same(getattr(tg, f"_foreach_{name}")(a, tg.tensor(3.0, device=device)),
              getattr(torch, f"_foreach_{name}")(ta, torch.tensor(3.0)))
    _same(tg._foreach_pow(2.0, a), torch._foreach_pow(2.0, ta))
    for value in (1, 0.3, [0.5, -1.0, 2.0]):
        _same(tg._foreach_addcmul(a, b, c, value), torch._foreach_addcmul(ta, tb, tc, value))
        _same(tg._foreach_addcdiv(a, b, c, value), torch._foreach_addcdiv(ta, tb, tc, value))
    _same(tg._foreach_addcdiv(a, b, c, tg.tensor([0.5, -1.0, 2.0])),
          torch._foreach_addcdiv(ta, tb, tc, torch.tensor([0.5, -1.0, 2.0])))
    _same(tg._foreach_lerp(a, b, 0.25), torch._foreach_lerp(ta, tb, 0.25))
    _same(tg._foreach_lerp(a, b, c), torch._foreach_lerp(ta, tb, tc))
    for ord in (2, 1, float("inf")):
        _same(tg._foreach_norm(a, ord), torch._foreach_norm(ta, ord))
    _same(tg._foreach_max(a), torch._foreach_max(ta))
    _same(tg._foreach_clone(a), torch._foreach_clone(ta))
    for name, args in (("addcmul_", (b, c, 2.0)), ("lerp_", (b, 0.1)), ("copy_", (b,)), ("zero_", ())):
        xs, ts = _tg(A, device), _torch(A)
        targs = tuple(_torch(B) if x is b else _torch(C) if x is c else x for x in args)
        assert getattr(tg, f"_foreach_{name}")(xs, *args) is xs
        getattr(torch, f"_foreach_{name}")(ts, *targs)
        _same(xs, ts)


def test_an_ema_update_in_place_and_gradients_of_the_out_of_place_forms(device):
    """The EMA update of timm's and diffusers' (mul_ by the decay, add_ the parameters times 1 - decay; or lerp_)
    equals the loop over the methods; an out-of-place form's gradient is its methods'."""
    ema, params = _tg(A, device), _tg(B, device)
    with tg.no_grad():
        tg._foreach_mul_(ema, 0.9)
        tg._foreach_add_(ema, params, alpha=0.1)
    for e, a, p in zip(ema, A, B):
        np.testing.assert_allclose(e.numpy(), 0.9 * a + 0.1 * p, rtol=1e-14)
    ema = _tg(A, device)
    tg._foreach_lerp_(ema, params, 0.1)
    for e, a, p in zip(ema, A, B):
        np.testing.assert_allclose(e.numpy(), a + 0.1 * (p - a), rtol=1e-14)
    xs, ys = _tg(A, device, grad=True), _tg(B, device, grad=True)
    loss = sum(t.sum() for t in tg._foreach_addcdiv(tg._foreach_exp(xs), xs, ys, value=0.5))
    loss = loss + sum(n for n in tg._foreach_norm(tg._foreach_mul(xs, ys)))
    got = tg.autograd.grad(loss, xs + ys)
    loss = sum((x.exp() + 0.5 * x / y).sum() + (x * y).norm() for x, y in zip(xs, ys))
    want = tg.autograd.grad(loss, xs + ys)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12)


def test_gradcheck_through_a_chain_of_forms():
    xs = [tg.tensor(a, requires_grad=True) for a in A[:2]]

    def f(x, y):
        out = tg._foreach_lerp(tg._foreach_sigmoid([x, y]), tg._foreach_pow([x, y], 2), [y, x])
        return tg._foreach_addcmul(out, [x, y], [y, x], [0.5, 2.0])[0].sum() + out[1].sum()

    assert tg.autograd.gradcheck(f, (xs[0], tg.tensor(B[0], requires_grad=True)))


def test_errors_are_torchs():
    a = [tg.ones(2), tg.ones(3)]
    with pytest.raises(RuntimeError, match="at least one tensor"):
        tg._foreach_add([], 1.0)
    with pytest.raises(RuntimeError, match="same number of elements as scalar list"):
        tg._foreach_mul(a, [1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="same number of tensors, got 2 and 1"):
        tg._foreach_add_(a, [tg.ones(2)])
    with pytest.raises(TypeError, match="_foreach_mul: expected a list of Tensors"):
        tg._foreach_mul(tg.ones(2), 2.0)
    with pytest.raises(TypeError, match="alpha"):
        tg._foreach_mul(a, 2.0, alpha=2)
    with pytest.raises(TypeError, match="_foreach_maximum: expected a number, a list"):
        tg._foreach_maximum(a, tg.ones(()))
    assert not hasattr(tg, "__all__") or not any(n.startswith("_foreach") for n in tg.__all__)
