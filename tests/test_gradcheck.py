"""gradcheck / gradgradcheck themselves: they pass correct ops and catch wrong ones."""
import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Function, Tensor
from strategies import tensor


class WrongSquare(Function):
    """x^2 with a wrong backward (x instead of 2x)."""

    saved_inputs = (0,)

    def forward(self, x):
        return x * x

    def backward(self, g):
        return (g * self.saved[0],)


class WrongSecondInput(Function):
    """a * b, correct for a, but the gradient for b is off by +1 at flat index 2 only."""

    saved_inputs = (0, 1)

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.saved
        bump = np.zeros(b.shape)
        bump.reshape(-1)[2] = 1.0
        return g * b, g * a + Tensor._make(bump)


class FirstOrderOnlyCube(Function):
    """x^3 whose backward treats x as a constant: right first derivative, zero second derivative."""

    saved_inputs = (0,)

    def forward(self, x):
        return x ** 3

    def backward(self, g):
        x = Tensor._make(self.saved[0].array)  # cut from the graph: create_graph cannot see it
        return (g * 3 * x * x,)


class NaNAwayFromInput(Function):
    """2x at exactly x = 1, nan anywhere else: the numeric derivative is nan."""

    def forward(self, x):
        return np.where(x == 1.0, 2 * x, np.nan)

    def backward(self, g):
        return (g * 2,)


def test_gradcheck_passes_correct_ops(device):
    rng = np.random.default_rng(0)
    a, b = tensor(rng.normal(size=(3, 4)), device), tensor(rng.normal(size=(4, 2)), device)
    assert tg.gradcheck(lambda x, y: (x @ y).tanh() * x.sum(), [a, b]) is True
    assert tg.gradcheck(lambda x: x.softmax(-1), [a]) is True
    assert tg.gradgradcheck(lambda x, y: (x @ y).sigmoid(), [a, b]) is True


def test_gradcheck_passes_non_tensor_and_constant_arguments():
    x = tensor([0.5, 1.5])
    c = tensor([2.0, 3.0], requires_grad=False)
    assert tg.gradcheck(lambda t, k, s: t * k * s, [x, c, 4.0])


def test_gradcheck_names_input_index_and_values():
    x = tensor([0.5, -1.5, 2.0])
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda t: WrongSquare()(t), [x])
    msg = str(info.value)
    assert "input 0" in msg and "index" in msg and "analytic" in msg and "numeric" in msg
    # the worst element is x = 2.0 (index 2): analytic r*2.0 vs numeric r*4.0
    m = re.search(r"index \((\d+),\).*analytic (\S+) vs numeric (\S+?) ", msg)
    assert m, msg
    k, analytic, numeric = int(m.group(1)), float(m.group(2)), float(m.group(3))
    assert k == 2
    assert numeric == pytest.approx(2 * analytic, rel=1e-6)


def test_gradcheck_names_the_wrong_input_and_element():
    a = tensor(np.linspace(0.5, 1.0, 6).reshape(2, 3))
    b = tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
    with pytest.raises(tg.GradcheckError, match=r"input 1 \(shape \(2, 3\)\) at index \(0, 2\)"):
        tg.gradcheck(lambda x, y: WrongSecondInput()(x, y), [a, b])


def test_gradcheck_refuses_an_input_whose_elements_share_memory():
    """Perturbing one element of an expand() view would move all three at once: a wrong numeric gradient."""
    x = tg.tensor([1.0], dtype=tg.float64).expand(3).detach().requires_grad_()
    with pytest.raises(ValueError, match=r"gradcheck: input 0 \(shape \(3,\)\) is read-only \(e\.g\. an expand"):
        tg.gradcheck(lambda t: (t * t).sum(), [x])
    assert tg.gradcheck(lambda t: (t * t).sum(), [x.clone().detach().requires_grad_()])


def test_gradcheck_fails_on_nan_numeric_gradient():
    with pytest.raises(tg.GradcheckError, match="input 0"):
        with np.errstate(invalid="ignore"):
            tg.gradcheck(lambda t: NaNAwayFromInput()(t), [tensor([1.0])])


def test_gradcheck_fails_on_infinite_analytic_gradient():
    with np.errstate(divide="ignore", invalid="ignore"):  # sqrt(0 - eps) is nan
        with pytest.raises(tg.GradcheckError):
            tg.gradcheck(lambda t: t.sqrt(), [tensor([0.0, 1.0])])


def test_gradgradcheck_catches_wrong_second_derivative():
    x = tensor([0.5, -1.0, 1.5])
    assert tg.gradcheck(lambda t: FirstOrderOnlyCube()(t), [x])  # first order is right
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradgradcheck(lambda t: FirstOrderOnlyCube()(t), [x])
    assert tg.gradgradcheck(lambda t: t ** 3, [x])


def test_gradcheck_rejects_float32():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda t: t * 2, [x])


def test_gradcheck_needs_a_differentiable_input():
    with pytest.raises(ValueError, match="requires_grad"):
        tg.gradcheck(lambda t: t * 2, [tensor([1.0], requires_grad=False)])


def test_gradcheck_leaves_inputs_unchanged():
    v = np.array([0.25, -0.75])
    x = tensor(v)
    tg.gradcheck(lambda t: t.exp(), [x])
    np.testing.assert_array_equal(x.numpy(), v)
    assert x.grad is None


def test_gradcheck_says_what_is_wrong_with_an_output():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    with pytest.raises(TypeError, match="fn must return a Tensor or a tuple/list of Tensors, got float"):
        tg.gradcheck(lambda a: 1.0, [x])
    with pytest.raises(TypeError, match="returned a torch.float32 output; central differences need torch.float64"):
        tg.gradcheck(lambda a: a.float() * 2, [x])
    assert tg.gradcheck(lambda a: (a * 2, a.argmax()), [x])  # an integer output alongside is fine


def test_gradcheck_raise_exception_false_returns_false():
    """raise_exception=False (torch's keyword): a mismatch returns False instead of raising; a correct op still
    returns True, and invalid arguments still raise."""
    x = tensor([0.5, -1.0, 1.5])
    assert tg.gradcheck(lambda t: WrongSquare()(t), [x], raise_exception=False) is False
    assert tg.gradcheck(lambda t: t * t, [x], raise_exception=False) is True
    assert tg.gradgradcheck(lambda t: FirstOrderOnlyCube()(t), [x], raise_exception=False) is False
    assert tg.gradgradcheck(lambda t: t ** 3, [x], raise_exception=False) is True
    with pytest.raises(ValueError, match="requires_grad"):
        tg.gradcheck(lambda t: t * 2, [tensor([1.0], requires_grad=False)], raise_exception=False)


def test_gradcheck_from_tg_autograd_takes_torchs_keywords():
    from tinygrad_rnn.autograd import GradcheckError, gradcheck, gradgradcheck
    x = tensor([0.5, 2.0], dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda t: t * t, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
                     check_undefined_grad=True, check_grad_dtypes=True, fast_mode=True)
    assert gradgradcheck(lambda t: t ** 3, (x,), None, eps=1e-6, atol=1e-5, rtol=1e-3, nondet_tol=0.0,
                         gen_non_contig_grad_outputs=True, check_grad_dtypes=True, fast_mode=True)
    assert gradcheck(lambda t: WrongSquare()(t), (x,), raise_exception=False) is False
    assert gradcheck(lambda t: WrongSquare()(t), (x,), check_backward_ad=False)  # (nothing asked: torch's True)
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: WrongSquare()(t), (x,))
    assert gradcheck(lambda t: t * t, (x,), check_forward_ad=True)
    with pytest.raises(GradcheckError, match="forward-mode"):  # (the forward check alone: torch's keywords)
        gradcheck(lambda t: WrongSquare()(t), (x,), check_forward_ad=True, check_backward_ad=False)
    for kw in ({"check_batched_grad": True}, {"masked": True}):
        with pytest.raises(NotImplementedError, match=next(iter(kw))):
            gradcheck(lambda t: t * t, (x,), **kw)
    with pytest.raises(NotImplementedError, match="check_fwd_over_rev"):
        gradgradcheck(lambda t: t * t, (x,), check_fwd_over_rev=True)
    with pytest.raises(ValueError, match="nondet_tol"):
        gradcheck(lambda t: t * t, (x,), nondet_tol=-1.0)
