"""CTC loss (F.ctc_loss, nn.CTCLoss) against a reference that enumerates every alignment.

The reference is the definition itself, not the recursion: p(l | x) sums, over every path of T_n classes whose
collapse (merge repeats, then drop blanks) is l, the product of the path's per-frame probabilities. With T <= 5
frames and C <= 4 classes that is at most 1024 paths per sequence.
"""
import ctypes
import itertools
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.nn import ctc

from strategies import exact_logsumexp, with_fixtures


def collapse(path, blank):
    out = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
    return [c for c in out if c != blank]


def ref_nll(lp, labels, blank):
    """-log sum over the paths of lp's T frames that collapse to labels of exp(sum_t lp[t, path_t])."""
    T, C = lp.shape
    terms = [sum(lp[t, c] for t, c in enumerate(path)) for path in itertools.product(range(C), repeat=T)
             if collapse(list(path), blank) == list(labels)]
    if not terms:
        return np.inf
    return -exact_logsumexp(terms)


@st.composite
def ctc_case(draw):
    T, N, C = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(2, 4))
    blank = draw(st.integers(0, C - 1))
    classes = [c for c in range(C) if c != blank]
    tlen = [draw(st.integers(0, 3)) for _ in range(N)]
    ilen = [draw(st.integers(0, T)) for _ in range(N)]
    labels = [[draw(st.sampled_from(classes)) for _ in range(k)] for k in tlen]
    seed = draw(st.integers(0, 2 ** 16))
    lp = np.random.default_rng(seed).normal(size=(T, N, C)) * 1.5  # any real numbers: not only log_softmax
    return lp, labels, ilen, tlen, blank


def padded(labels, extra=0, fill=0):
    S = max(len(l) for l in labels) + extra
    return np.array([list(l) + [fill] * (S - len(l)) for l in labels], np.int64).reshape(len(labels), S)


@with_fixtures
@given(ctc_case(), st.sampled_from(["none", "sum", "mean"]), st.booleans(), st.booleans())
def test_loss_matches_alignment_enumeration(device, case, reduction, zero_infinity, concatenated):
    lp, labels, ilen, tlen, blank = case
    nll = np.array([ref_nll(lp[:ilen[n], n], labels[n], blank) if ilen[n] else (0.0 if not tlen[n] else np.inf)
                    for n in range(len(labels))])
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    expected = {"none": nll, "sum": nll.sum(), "mean": (nll / np.maximum(tlen, 1)).mean()}[reduction]
    targets = np.concatenate([np.array(l, np.int64) for l in labels]) if concatenated else padded(labels, 1, blank)
    x = tg.tensor(lp, device=device)
    out = F.ctc_loss(x, tg.tensor(targets, device=device), ilen, tuple(tlen), blank, reduction, zero_infinity)
    assert out.device == device and out.dtype == np.float64 and out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@with_fixtures
@given(ctc_case(), st.sampled_from(["none", "sum", "mean"]))
def test_gradient_matches_central_differences(device, case, reduction):
    """The derivative with respect to log_probs themselves (any real numbers), with every infinite loss zeroed
    (an impossible target's gradient is nan, tested below)."""
    lp, labels, ilen, tlen, blank = case
    x = tg.tensor(lp, device=device, requires_grad=True)
    assert tg.gradcheck(lambda x: F.ctc_loss(x, padded(labels), ilen, tlen, blank, reduction, True), (x,))


@pytest.mark.parametrize("T,C,labels", [(1, 2, []), (1, 2, [1]), (3, 3, [2, 2]), (4, 3, [1, 2, 1])])
def test_unbatched_and_size_one(device, T, C, labels):
    """(T, C) log_probs are one sequence: a 0-d loss, the same as the batch of one, with the gradient."""
    lp = np.random.default_rng(T).normal(size=(T, C))
    x = tg.tensor(lp, device=device, requires_grad=True)
    for reduction in ("none", "sum", "mean"):
        one = F.ctc_loss(x, tg.tensor(labels, dtype=np.int64), T, len(labels), reduction=reduction)
        batch = F.ctc_loss(x.unsqueeze(1), [labels or [1]], [T], [len(labels)], reduction=reduction)
        assert one.shape == ()
        np.testing.assert_allclose(one.numpy(), batch.numpy().reshape(()), rtol=1e-12)
        np.testing.assert_allclose(one.numpy() * max(len(labels), 1) if reduction == "mean" else one.numpy(),
                                   ref_nll(lp, labels, 0), rtol=1e-10)
    assert tg.gradcheck(lambda x: F.ctc_loss(x, tg.tensor(labels, dtype=np.int64), [T], [len(labels)]), (x,))


def test_impossible_target_gives_inf_and_nan_gradient_unless_zero_infinity(device):
    """Two frames cannot spell [1, 1] (a blank must separate the repeats): loss inf and a nan gradient for every
    class on that sequence's frames (torch's convention), 0 past them; zero_infinity makes both 0. The other sequence is
    untouched either way."""
    lp = np.log(np.full((3, 2, 3), 1 / 3))
    targets, ilen, tlen = [[1, 1], [2, 0]], [2, 3], [2, 1]
    grads = {}
    for zero_infinity in (False, True):
        x = tg.tensor(lp, device=device, requires_grad=True)
        loss = F.ctc_loss(x, targets, ilen, tlen, reduction="none", zero_infinity=zero_infinity)
        assert (loss.numpy()[0] == 0) if zero_infinity else np.isposinf(loss.numpy()[0])
        assert np.isclose(loss.numpy()[1], ref_nll(lp[:, 1], [2], 0), rtol=1e-12)
        loss.sum().backward()
        g = grads[zero_infinity] = x.grad.numpy()
        if zero_infinity:
            assert (g[:, 0] == 0).all()
        else:
            assert np.isnan(g[:2, 0]).all() and (g[2:, 0] == 0).all()
    np.testing.assert_array_equal(grads[False][:, 1], grads[True][:, 1])


def test_empty_input_and_empty_target(device):
    """No frames: probability 1 for no labels, 0 for any; no labels: every frame blank."""
    lp = np.random.default_rng(0).normal(size=(4, 3, 3))
    x = tg.tensor(lp, device=device, requires_grad=True)
    loss = F.ctc_loss(x, [[1], [1], [1]], [0, 0, 4], [0, 1, 0], blank=tg.tensor(2), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, np.inf, -lp[:, 2, 2].sum()], rtol=1e-12)  # (blank: a 0-d int
    # tensor serves as an int)
    F.ctc_loss(x, [[1], [1], [1]], [0, 0, 4], [0, 1, 0], blank=2, reduction="sum", zero_infinity=True).backward()
    expected = np.zeros_like(lp)
    expected[:, 2, 2] = -1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_empty_targets_as_python_lists():
    """No labels at all, given as empty lists (float64 to numpy when empty): every frame must be blank."""
    lp = np.random.default_rng(4).normal(size=(3, 2, 3))
    for targets in ([], [[], []]):
        loss = F.ctc_loss(tg.tensor(lp), targets, [3, 2], [0, 0], reduction="none")
        np.testing.assert_allclose(loss.numpy(), [-lp[:, 0, 0].sum(), -lp[:2, 1, 0].sum()], rtol=1e-12)


def test_a_masked_class_gets_a_zero_gradient(device):
    """A class at -inf (masked out of the logits) has probability 0: its gradient is 0 and the others' are
    those of the same problem without that class (torch gives nan everywhere here)."""
    logits = np.random.default_rng(6).normal(size=(5, 1, 4))
    masked = logits.copy()
    masked[:, :, 3] = -np.inf
    x = tg.tensor(masked, device=device, requires_grad=True)
    F.ctc_loss(x.log_softmax(2), [[1, 2]], [5], [2]).backward()
    y = tg.tensor(logits[:, :, :3], device=device, requires_grad=True)
    F.ctc_loss(y.log_softmax(2), [[1, 2]], [5], [2]).backward()
    assert (x.grad.numpy()[:, :, 3] == 0).all()
    np.testing.assert_allclose(x.grad.numpy()[:, :, :3], y.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_logits_gradient_matches_finite_differences_through_log_softmax(device):
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.normal(size=(6, 3, 4)), device=device, requires_grad=True)
    targets, ilen, tlen = tg.tensor([[1, 2, 3], [3, 3, 0], [2, 0, 0]]), [6, 5, 4], [3, 2, 1]
    assert tg.gradcheck(lambda x: F.ctc_loss(x.log_softmax(2), targets, ilen, tlen), (x,))


def test_float32_and_float16():
    """float32 runs in float32; float16 runs in float32 and rounds the loss once (in float16 throughout, over
    60 frames, the loss was off by 1.5e-3 and the gradient by 0.1), both against float64."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(60, 4, 6))
    args = ([[1, 2, 3, 4, 1, 2, 3, 4], [5, 5, 1, 3, 2, 2, 2, 2], [2, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 3, 3, 3, 3]],
            [60, 50, 20, 45], [8, 8, 1, 8])
    x64 = tg.tensor(logits, requires_grad=True)
    ref = F.ctc_loss(x64.log_softmax(2), *args, reduction="none")
    ref.sum().backward()
    for dtype, rtol, atol in ((np.float32, 1e-5, 5e-5), (np.float16, 6e-4, 5e-3)):
        x = tg.tensor(logits.astype(dtype), requires_grad=True)
        loss = F.ctc_loss(x.log_softmax(2), *args, reduction="none")
        assert loss.dtype == dtype
        np.testing.assert_allclose(loss.numpy().astype(np.float64), ref.numpy(), rtol=rtol)
        loss.sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad.numpy().astype(np.float64), x64.grad.numpy(), atol=atol)


def test_float32_gradient_of_a_long_sequence():
    """1000 frames, 100 labels, a loss of ~1.4e4: float32's gradient within 2e-3 of float64's (3.6e-4: the
    posteriors are normalized frame by frame; as exp(alpha + beta - lp + loss) they were off by 4.2e-3)."""
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(1000, 2, 30)) * 5
    args = (rng.integers(1, 30, (2, 100)), [1000, 900], [100, 90])
    grads = []
    for dtype in (np.float64, np.float32):
        x = tg.tensor(logits.astype(dtype), requires_grad=True)
        F.ctc_loss(x.log_softmax(2), *args, reduction="sum").backward()
        grads.append(x.grad.numpy().astype(np.float64))
    assert np.abs(grads[1] - grads[0]).max() < 2e-3


def test_frames_past_an_input_length_reach_nothing(device):
    """Padded frames may hold anything (nan from a masked log_softmax, inf): the loss and the gradient are
    those of clean padding, the padding's gradient 0, without a warning."""
    lp = np.log(np.full((5, 2, 3), 1 / 3))
    dirty = lp.copy()
    dirty[3:, 1] = [np.nan, np.inf, -np.inf]
    grads = []
    for a in (lp, dirty):
        x = tg.tensor(a, device=device, requires_grad=True)
        with np.errstate(all="raise"):
            loss = F.ctc_loss(x, [[1, 2], [2, 0]], [5, 3], [2, 1], reduction="none")
            loss.sum().backward()
        grads.append(x.grad.numpy())
        np.testing.assert_allclose(loss.numpy(), [ref_nll(lp[:, 0], [1, 2], 0), ref_nll(lp[:3, 1], [2], 0)])
    np.testing.assert_array_equal(grads[0], grads[1])
    assert (grads[1][3:, 1] == 0).all()


def test_frames_past_the_longest_input_are_not_computed(device):
    """When every input is shorter than T, the recursions stop at the longest one's last frame: the loss is that
    of the frames up to it, whatever the rest holds, and the rest's gradient is 0."""
    lp = np.random.default_rng(3).normal(size=(7, 2, 3))
    lp[4:] = np.nan
    x = tg.tensor(lp, device=device, requires_grad=True)
    with np.errstate(all="raise"):
        loss = F.ctc_loss(x, [[1, 2], [2, 0]], [4, 2], [2, 1], reduction="none")
        assert loss.grad_fn.lpx.shape[0] == 4
        loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [ref_nll(lp[:4, 0], [1, 2], 0), ref_nll(lp[:2, 1], [2], 0)])
    g = x.grad.numpy()
    assert g.shape == lp.shape and (g[4:] == 0).all() and (g[2:, 1] == 0).all() and np.isfinite(g).all()


def test_transposed_log_probs(device):
    """(N, T, C) log-probabilities transposed to (T, N, C), a view that is not contiguous (the example's)."""
    logits = np.random.default_rng(7).normal(size=(3, 6, 4))
    args = ([[1, 2], [3, 3], [2, 0]], [6, 5, 4], [2, 2, 1])
    x = tg.tensor(logits, device=device, requires_grad=True)
    y = tg.tensor(logits.transpose(1, 0, 2).copy(), device=device, requires_grad=True)
    a = F.ctc_loss(x.log_softmax(2).transpose(0, 1), *args, reduction="sum")
    b = F.ctc_loss(y.log_softmax(2), *args, reduction="sum")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    a.backward()
    b.backward()
    np.testing.assert_allclose(x.grad.numpy().transpose(1, 0, 2), y.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_module_matches_functional_and_double_backward_is_refused():
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.normal(size=(5, 2, 3)), requires_grad=True)
    args = ([[1, 2], [2, 0]], [5, 4], [2, 1])
    m = nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    assert repr(m) == "CTCLoss(reduction='sum')"
    np.testing.assert_array_equal(m(x, *args).numpy(), F.ctc_loss(x, *args, reduction="sum").numpy())
    with pytest.raises(RuntimeError, match="ctc_loss: double backward"):
        tg.grad(m(x, *args), x, create_graph=True)


@pytest.mark.parametrize("call,error,match", [
    (lambda x: F.ctc_loss(x.numpy(), [[1]], [3], [1]), TypeError, "log_probs must be a Tensor"),
    (lambda x: F.ctc_loss(x[0, 0], [[1]], [3], [1]), ValueError, r"\(T, N, C\) or \(T, C\)"),
    (lambda x: F.ctc_loss(x[:0], [[1]], [0], [1]), ValueError, "non-empty"),
    (lambda x: F.ctc_loss(x.long(), [[1]], [3], [1]), ValueError, "floating point"),
    (lambda x: F.ctc_loss(x, [[1]], [3], [1], blank=4), ValueError, r"blank must be a class index in \[0, 4\)"),
    (lambda x: F.ctc_loss(x, [[1]], [3], [1], reduction="avg"), ValueError, "reduction must be one of"),
    (lambda x: F.ctc_loss(x, [[1]], [3, 3], [1]), ValueError, r"input_lengths must have shape \(1,\)"),
    (lambda x: F.ctc_loss(x, [[1]], [4], [1]), ValueError, "input length 4 exceeds the 3 frames"),
    (lambda x: F.ctc_loss(x, [[1]], [-1], [1]), ValueError, "input_lengths must be >= 0"),
    (lambda x: F.ctc_loss(x, [[1]], [3.0], [1]), TypeError, "input_lengths must be integers"),
    (lambda x: F.ctc_loss(x, [[1.0]], [3], [1]), TypeError, "targets must be integers"),
    (lambda x: F.ctc_loss(x, [[1]], [3], [2]), ValueError, "target length 2 exceeds the 1 columns"),
    (lambda x: F.ctc_loss(x, [1, 2], [3], [1]), ValueError, r"length 2 must be sum\(target_lengths\) = 1"),
    (lambda x: F.ctc_loss(x, [[[1]]], [3], [1]), ValueError, r"targets must be \(1, S\)"),
    (lambda x: F.ctc_loss(x, [[0]], [3], [1]), ValueError, r"target 0 \(sequence 0, position 0\) is the blank"),
    (lambda x: F.ctc_loss(x, [[2, 4]], [3], [2]), ValueError, "target 4 .* out of range for 4 classes"),
    (lambda x: F.ctc_loss(x.expand(3, 2, 4), [[1, 2], [1]], [3, 3], [2, 1]), ValueError, "rows of different lengths"),
    (lambda x: F.ctc_loss(x, [[1]], [3], [1], zero_infinity="no"), TypeError, "zero_infinity must be a bool"),
    (lambda x: F.ctc_loss(x, np.array([[2 ** 63]], np.uint64), [3], [1]), ValueError, r"out of range$"),
])
def test_errors_name_the_op_and_what_was_expected(call, error, match):
    x = tg.tensor(np.zeros((3, 1, 4)), requires_grad=True)
    with pytest.raises(error, match=match):
        call(x)


def test_matches_torch_values_and_logit_gradients():
    """torch's gradient with respect to log_probs adds exp(log_probs) (pytorch#52241); through the log_softmax
    that makes them, the logits' gradients agree, as do the losses."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for trial in range(40):
        T, N, C = int(rng.integers(1, 12)), int(rng.integers(1, 5)), int(rng.integers(2, 6))
        blank, S = int(rng.integers(0, C)), int(rng.integers(0, 6))
        tlen, ilen = rng.integers(0, S + 1, N), rng.integers(0, T + 1, N)
        targets = rng.choice([c for c in range(C) if c != blank], (N, S))
        logits = rng.normal(size=(T, N, C)) * 2
        reduction, zero_infinity = ["none", "sum", "mean"][trial % 3], bool(trial % 2)
        xt = torch.tensor(logits, requires_grad=True)
        lt = torch.nn.functional.ctc_loss(xt.log_softmax(2), torch.tensor(targets), torch.tensor(ilen),
                                          torch.tensor(tlen), blank, reduction, zero_infinity)
        lt.sum().backward()
        x = tg.tensor(logits, requires_grad=True)
        loss = F.ctc_loss(x.log_softmax(2), targets, ilen, tlen, blank, reduction, zero_infinity)
        loss.sum().backward()
        np.testing.assert_allclose(loss.numpy(), lt.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)


# ----------------------------------------------------------------------------- the CUDA kernels on the CPU
_CPU_PRELUDE = """#include <cmath>
#include <cstring>
#include <algorithm>
using std::log; using std::exp;
static double max(double a, double b) { return std::fmax(a, b); }  /* CUDA's max: fmax (a nan is dropped) */
static float __int_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
struct Index { int x; };
static Index blockIdx, threadIdx, blockDim;
static void __syncthreads() {}
#define __device__
#define __global__
"""
_CPU_RUN = """
extern "C" void run(int beta, const real* lpx, const bool* skip, const long long* ilen, const long long* tlen,
                    real* out, int T, int N, int L) {
    blockDim.x = 1;  /* one thread per block: it visits every position s in turn, as the threads do together */
    threadIdx.x = 0;
    for (int n = 0; n < N; ++n) {
        blockIdx.x = n;
        if (beta) ctc_beta(lpx, skip, ilen, tlen, out, T, N, L); else ctc_alpha(lpx, skip, ilen, tlen, out, T, N, L);
    }
}
"""


@pytest.fixture(scope="module")
def kernels_on_cpu(tmp_path_factory):
    """ctc._CUDA_SOURCE, the kernels CuPy runs, compiled as C++ for float64 (one block after another, one
    thread each: within a frame the threads write only the next frame's row, so the order does not matter)."""
    cxx = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler to build the CTC kernels for the CPU")
    folder = tmp_path_factory.mktemp("ctc_kernels")
    src, lib = folder / "ctc.cpp", folder / "ctc.so"
    src.write_text(_CPU_PRELUDE + "#define real double\n#define NEG __int_as_float(0xff800000)\n" + ctc._CUDA_SOURCE
                   + _CPU_RUN)
    subprocess.run([cxx, "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, capture_output=True)
    return ctypes.CDLL(str(lib))


@given(ctc_case())
def test_cuda_kernels_compute_the_numpy_recursions(kernels_on_cpu, case):
    """alpha (as pre) and beta from the CUDA source equal the numpy loops': the same -inf pattern, the same values."""
    lp, labels, ilen, tlen, blank = case
    x = tg.tensor(lp, requires_grad=True)
    fn = F.ctc_loss(x, padded(labels), ilen, tlen, blank, reduction="none").grad_fn
    assert isinstance(fn, ctc.CTC)
    for beta, want in ((0, fn.pre), (1, fn._beta_numpy(fn.lpx))):
        lpx, skip = np.ascontiguousarray(fn.lpx), np.ascontiguousarray(fn.skip)
        il, tl = (np.ascontiguousarray(a, np.int64) for a in (fn.input_lengths, fn.target_lengths))
        out = np.full(lpx.shape, np.nan)
        ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (lpx, skip, il, tl, out)]
        kernels_on_cpu.run(ctypes.c_int(beta), *ptr, *(ctypes.c_int(n) for n in lpx.shape))
        np.testing.assert_array_equal(np.isneginf(out), np.isneginf(want))
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


def test_cuda_kernels_keep_nan_as_the_numpy_recursions(kernels_on_cpu):
    """A nan log-probability whose other paths are impossible (an empty target: the blank alone) stays nan in the
    CUDA recursions, as in the numpy loops and torch (lse3 took fmax's -inf for an impossible position: an inf
    loss, 0 under zero_infinity). Against the numpy pre and beta, nan where they hold nan."""
    lp = np.log(np.full((4, 2, 3), 1 / 3))
    lp[1, 0, 0] = np.nan  # sequence 0: empty target, a nan blank at frame 1
    lp[2, 1, 2] = np.nan  # sequence 1: a nan at a class off its labels (no effect)
    with np.errstate(invalid="ignore"):  # (the numpy recursion's logaddexp warns on the nan it carries)
        loss = F.ctc_loss(tg.tensor(lp, requires_grad=True), padded([[], [1]]), [4, 4], [0, 1], 0,
                          reduction="none")
    assert np.isnan(loss.numpy()[0]) and np.isfinite(loss.numpy()[1])
    fn = loss.grad_fn
    assert isinstance(fn, ctc.CTC)
    for beta, want in ((0, fn.pre), (1, fn._beta_numpy(fn.lpx))):
        lpx, skip = np.ascontiguousarray(fn.lpx), np.ascontiguousarray(fn.skip)
        il, tl = (np.ascontiguousarray(a, np.int64) for a in (fn.input_lengths, fn.target_lengths))
        out = np.zeros(lpx.shape)
        ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (lpx, skip, il, tl, out)]
        kernels_on_cpu.run(ctypes.c_int(beta), *ptr, *(ctypes.c_int(n) for n in lpx.shape))
        assert np.isnan(want).any()
        np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
