"""tg.autograd.graph and grad_fn introspection: next_functions, name(), metadata, node hooks, saved-tensor hooks,
multi-gradient hooks and increment_version, compared with torch's in float64 (or closed forms)."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from strategies import tensor

G = tg.autograd.graph


def _walk(root):
    """Every edge under root as (node name, next node's name, input_nr), sorted."""
    out, stack, seen = [], [root], {}
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for nxt, nr in node.next_functions:
            out.append((node.name(), None if nxt is None else nxt.name(), nr))
            if nxt is not None:
                stack.append(nxt)
    return sorted(out, key=str)


def test_next_functions_of_a_small_expression_match_torch():
    torch = pytest.importorskip("torch")
    xs = np.random.default_rng(0).normal(size=(3, 3, 3))
    structure, identity = [], []
    for lib in (tg, torch):
        x = lib.tensor(xs[0], requires_grad=True)
        c = lib.tensor(xs[1])
        w = lib.tensor(xs[2], requires_grad=True)
        y = ((x * c).tanh() + x * w).sum()
        structure.append(_walk(y.grad_fn))
        add = y.grad_fn.next_functions[0][0]
        left, right = add.next_functions
        mul_c = left[0].next_functions[0][0]
        acc = mul_c.next_functions[0][0]
        identity.append((mul_c.next_functions[1], acc.variable is x, acc is right[0].next_functions[0][0],
                         acc.next_functions, acc.name(), y.grad_fn.name(), isinstance(acc, lib.autograd.graph.Node),
                         isinstance(y.grad_fn, lib.autograd.graph.Node), type(acc.metadata) is dict))
    assert structure[0] == structure[1]
    assert identity[0] == identity[1]
    assert identity[0][:3] == ((None, 0), True, True)


def test_unrolled_rnn_cell_shares_one_accumulate_grad_node_per_weight():
    """3 steps of h = tanh(x W_ih^T + h W_hh^T + b): W_hh's AccumulateGrad node is reached once per step's use and is
    one object, as torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=s) for s in [(3, 2, 4), (5, 4), (5, 5), (5,)]]
    counts = []
    for lib in (tg, torch):
        xs, w_ih, w_hh, b = [lib.tensor(a, requires_grad=k > 0) for k, a in enumerate(arrays)]
        h = lib.zeros(2, 5, dtype=lib.float64)
        for t in range(3):
            h = (xs[t] @ w_ih.T + h @ w_hh.T + b).tanh()
        uses, stack, seen = {}, [h.sum().grad_fn], {}
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node  # (held: torch makes its Python node objects on demand, ids could be reused)
            for nxt, _ in node.next_functions:
                if nxt is not None and nxt.name().endswith("AccumulateGrad"):
                    uses.setdefault(id(nxt), [nxt, 0])[1] += 1
                elif nxt is not None:
                    stack.append(nxt)
        assert len(uses) == 3  # one node per weight, whichever step reached it
        names = {id(w_ih): "w_ih", id(w_hh): "w_hh", id(b): "b"}
        counts.append({names.get(id(n.variable), "?"): k for n, k in uses.values()})
    assert counts[0] == counts[1] == {"w_ih": 3, "w_hh": 3, "b": 3}


def test_accumulate_grad_node_is_made_lazily_and_cached_while_held():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    first = y.grad_fn.next_functions[0][0]
    assert first is y.grad_fn.next_functions[1][0] and first.variable is x
    assert first.metadata == {} and first.metadata is first.metadata


def test_name_and_metadata():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).log_softmax(0)
    assert y.grad_fn.name() == "LogSoftmaxBackward0" and (x * x).grad_fn.name() == "MulBackward0"
    assert (x * x).grad_fn.name + "" == "mul"  # (messages still read the op's name)
    y.grad_fn.metadata["k"] = 1
    y.sum().backward()
    assert y.grad_fn.metadata == {"k": 1}  # kept after the node released its saved values


def _hooked_backward(lib, replace):
    """Gradients, hook arguments and replaced results of node pre/post hooks and AccumulateGrad hooks."""
    xs = np.array([0.3, -1.2, 2.0])
    x = lib.tensor(xs, requires_grad=True)
    c = lib.tensor([1.5, -0.5, 2.0], dtype=lib.float64)
    y = (x * c).tanh().sum()
    mul = y.grad_fn.next_functions[0][0].next_functions[0][0]
    acc = mul.next_functions[0][0]
    log = []
    hs = [mul.register_prehook(lambda go: log.append(("pre", [g.tolist() for g in go])) or
                               ((go[0] * 2,) if replace else None)),
          mul.register_hook(lambda gi, go: log.append(("post", [None if g is None else g.tolist() for g in gi],
                                                       [g.tolist() for g in go])) or
                            ((gi[0] * 10, None) if replace else None)),
          acc.register_prehook(lambda go: log.append(("accpre", [g.tolist() for g in go]))),
          acc.register_hook(lambda gi, go: log.append(("accpost", gi, [g.tolist() for g in go])))]
    y.backward(retain_graph=True)
    first = x.grad.tolist()
    for h in hs:
        h.remove()
    x.grad = None
    y.backward()
    return log, first, x.grad.tolist()


@pytest.mark.parametrize("replace", [False, True])
def test_node_hooks_match_torch(replace):
    torch = pytest.importorskip("torch")
    ours, theirs = _hooked_backward(tg, replace), _hooked_backward(torch, replace)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)  # removed: plain gradient again
    assert [e[0] for e in ours[0]] == [e[0] for e in theirs[0]] == ["pre", "post", "accpre", "accpost"]
    assert ours[0][3][1] == () and ours[0][1][1][1] is None and theirs[0][1][1][1] is None
    for a, b in zip(ours[0], theirs[0]):
        for u, v in zip(a[1:], b[1:]):
            assert len(u) == len(v)
            for p, q in zip(u, v):
                assert (p is None) == (q is None)
                if p is not None:
                    np.testing.assert_allclose(p, q, rtol=1e-12)


def test_node_hook_errors_and_grad_capture():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    w = (z * z).sum()
    ran = []
    h = z.grad_fn.register_prehook(lambda go: ran.append(1))
    (g,) = tg.autograd.grad(w, z, retain_graph=True)  # z's own node does not run: its pre-hook neither (torch)
    assert ran == [] and g.tolist() == [4.0, 8.0]
    h.remove()
    for bad, err in [(lambda go: go[0], TypeError), (lambda go: (go[0], go[0]), RuntimeError),
                     (lambda go: (go[0][:1],), RuntimeError)]:
        h = z.grad_fn.register_prehook(bad)
        with pytest.raises(err):
            w.backward(retain_graph=True)
        h.remove()


def test_prehooks_of_an_op_with_several_outputs_see_every_output():
    class Two(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    p, q = Two.apply(x)
    seen = []
    p.grad_fn.register_prehook(lambda go: seen.append([g.tolist() for g in go]) or (go[0], go[1] * 0))
    assert (p * 2).grad_fn.next_functions[0] == (p.grad_fn, 0) and (q * 2).grad_fn.next_functions[0] == (q.grad_fn, 1)
    (p.sum() + 5 * q.sum()).backward()
    assert seen == [[[1.0, 1.0], [5.0, 5.0]]] and x.grad.tolist() == [2.0, 2.0]


def _saved_log(lib):
    xs = np.array([0.5, -1.0, 2.0])
    x = lib.tensor(xs, requires_grad=True)
    w = lib.tensor(xs[::-1].copy(), requires_grad=True)
    log = []

    def pack(t):
        log.append(("pack", tuple(t.shape), t.grad_fn is not None, lib.is_grad_enabled()))
        return ("boxed", t.detach().numpy().copy(), t.grad_fn is not None)

    def unpack(p):
        log.append(("unpack",))
        return lib.tensor(p[1])

    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = (x * w).tanh().sum() + (x * 2).sum()
    y.backward()
    return log, x.grad.tolist(), w.grad.tolist()


def test_saved_tensors_hooks_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _saved_log(tg), _saved_log(torch)
    assert ours[0] == theirs[0]
    assert [e[0] for e in ours[0]] == ["pack"] * 3 + ["unpack"] * 3
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_saved_tensors_hooks_nesting_retain_graph_and_errors():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, -1.0], requires_grad=True)
    calls = []
    with G.saved_tensors_hooks(lambda t: calls.append("outer") or t, lambda t: calls.append("u") or t):
        with G.saved_tensors_hooks(lambda t: calls.append("inner") or t, lambda t: t):
            x * w
        y = (x * w).sum()
    assert calls == ["inner", "inner", "outer", "outer"]
    y.backward(retain_graph=True)
    y.backward()
    assert calls.count("u") == 4 and x.grad.tolist() == [6.0, -2.0]  # unpacked again by the second backward
    with G.saved_tensors_hooks(lambda t: 3, lambda p: p):
        y = (x * w).sum()
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor"):
        y.backward()
    with G.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with G.save_on_cpu():
                pass
    with pytest.raises(RuntimeError, match="outer active"):
        with G.save_on_cpu():
            with G.disable_saved_tensors_hooks("outer active"):
                pass
    with G.save_on_cpu():  # (the disabled state ended with its context)
        pass


def test_save_on_cpu_round_trip_and_double_backward(device):
    """save_on_cpu gives the same first and second derivatives as without it: d/dw sum(d/dx tanh(x w x))."""
    xs, ws = np.array([0.3, -0.7, 1.1]), np.array([1.2, 0.4, -0.8])
    results = []
    for hooks in (False, True):
        x, w = tensor(xs, device), tensor(ws, device)
        if hooks:
            with G.save_on_cpu(pin_memory=True):
                y = (x * w * x).tanh().sum()
        else:
            y = (x * w * x).tanh().sum()
        (g,) = tg.autograd.grad(y, x, create_graph=True)
        (h,) = tg.autograd.grad(g.sum(), w)
        assert g.device == h.device == x.device
        results.append((g.detach().numpy(), h.numpy()))
    u = xs * ws * xs
    np.testing.assert_allclose(results[1][0], (1 - np.tanh(u) ** 2) * 2 * xs * ws, rtol=1e-10)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_saved_tensors_hooks_on_a_custom_function_match_torch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (tg, torch):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                y = a * b
                ctx.save_for_backward(a, y)
                return y

            @staticmethod
            def backward(ctx, g):
                a, y = ctx.saved_tensors
                return g * y / a, g * a

        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        log = []
        with lib.autograd.graph.saved_tensors_hooks(lambda t: log.append(("pack", t.grad_fn is not None)) or t * 1,
                                                    lambda p: log.append(("unpack",)) or p):
            y = F.apply(x, w)
        y.sum().backward()
        out.append((log, x.grad.tolist(), w.grad.tolist()))
    assert out[0] == out[1]


def test_multi_grad_hook_all_and_any_match_torch():
    torch = pytest.importorskip("torch")
    got = []
    for lib in (tg, torch):
        a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        c, d = a * b, a * b
        log = []
        h = lib.autograd.graph.register_multi_grad_hook(
            (a, b, c, d), lambda grads: log.append([None if g is None else g.tolist() for g in grads]))
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        h.remove()
        c.sum().backward(retain_graph=True)
        h = lib.autograd.graph.register_multi_grad_hook((a, b, c), lambda g: log.append(("any", g.tolist())),
                                                        mode="any")
        (c.sum() + d.sum()).backward()
        h.remove()
        got.append(log)
    assert got[0] == got[1]
    assert len(got[0]) == 3 and got[0][1][1] is None
    with pytest.raises(ValueError, match="mode"):
        G.register_multi_grad_hook([tg.tensor([1.0], requires_grad=True)], print, mode="some")


def test_increment_version_makes_backward_refuse_a_changed_saved_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    w.array[0] = 5.0  # (behind the engine's back)
    G.increment_version([w])
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()
    G.increment_version(x)
    assert x._version == 1


def test_node_hooks_on_device(device):
    x = tensor([0.5, -1.0], device)
    y = (x * x).sum()
    mul = y.grad_fn.next_functions[0][0]
    seen = []
    mul.register_hook(lambda gi, go: seen.append(gi[0].device) or (gi[0] * 0, gi[1]))
    mul.next_functions[0][0].register_prehook(lambda go: (go[0] + 1,))
    y.backward()
    assert seen == [x.device]
    np.testing.assert_allclose(x.grad.numpy(), [0.5 + 1, -1.0 + 1])  # (x's gradients summed, then + 1)


@pytest.mark.parametrize("cls", [tg.nn.LSTM, tg.nn.GRU, tg.nn.RNNCell])
def test_fused_rnn_layers_under_saved_tensors_hooks_give_the_same_gradients(cls):
    """The fused ops' declared saved inputs and output go through the hooks (their private arrays do not)."""
    tg.manual_seed(0)
    m = cls(3, 4).double()
    x = tg.tensor(np.random.default_rng(0).normal(size=(5, 2, 3) if cls is not tg.nn.RNNCell else (2, 3)))
    grads, calls = [], [0, 0]
    for hooks in (False, True):
        m.zero_grad()
        if hooks:
            with G.saved_tensors_hooks(lambda t: calls.__setitem__(0, calls[0] + 1) or (t.device, t.cpu()),
                                       lambda p: calls.__setitem__(1, calls[1] + 1) or p[1].to(p[0])):
                out = m(x)
        else:
            out = m(x)
        ((out[0] if isinstance(out, tuple) else out) ** 2).sum().backward()
        grads.append([p.grad.numpy().copy() for p in m.parameters()])
    assert calls[0] == calls[1] > 0
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_unpacked_saved_inputs_require_grad_as_the_saved_ones_so_checkpoint_works_under_hooks():
    """An unpacked saved input keeps requires_grad (torch's: it is the saved variable, grad_fn and all): checkpoint's
    backward reruns its segment on leaves requiring grad where the saved inputs do, and under saved_tensors_hooks
    it saw none, so the input got no gradient."""
    from tinygrad_rnn.utils.checkpoint import checkpoint
    us, vs = np.array([0.3, -0.7, 1.1]), np.array([1.2, 0.4, -0.8])
    u, v = tg.tensor(us, requires_grad=True), tg.tensor(vs, requires_grad=True)
    with G.saved_tensors_hooks(lambda t: t.numpy().copy(), tg.tensor):
        y = checkpoint(lambda a, b: (a * b).tanh(), u, v, use_reentrant=False).sum()
    y.backward()
    sech2 = 1 - np.tanh(us * vs) ** 2
    np.testing.assert_allclose(u.grad.numpy(), sech2 * vs, rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), sech2 * us, rtol=1e-12)
    seen = []

    class F(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.saved_tensors[0].requires_grad)
            return g * 2

    with G.saved_tensors_hooks(lambda t: t.numpy().copy(), tg.tensor):
        F.apply(u * 1).sum().backward()
    assert seen == [True]


def _prehook_returning_none(lib):
    """Three pre-hooks that drop gradients (None: torch's undefined gradient): on a product's node, on a leaf's
    AccumulateGrad node, and on one of a custom Function's two outputs."""
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    x, w, v, u = (lib.tensor([1.0, 2.0], requires_grad=True) for _ in range(4))
    seen = []
    y = x * 2
    y.grad_fn.register_prehook(lambda go: (None,))
    y.grad_fn.register_hook(lambda gi, go: seen.append(("mul", gi[0], go)))
    acc = (v * 1).grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: (None,))
    acc.register_hook(lambda gi, go: seen.append(("acc", gi, go)))
    v.register_post_accumulate_grad_hook(lambda t: seen.append(("post", t.grad)))
    p, q = Two.apply(u)
    p.grad_fn.register_prehook(lambda go: (go[0], None))
    ((y + w).sum() + (v * 3).sum() + p.sum() + 5 * q.sum()).backward()
    grads = [None if t.grad is None else t.grad.tolist() for t in (x, w, v, u)]
    return grads, seen


def test_prehook_returning_none_stops_the_gradient_as_torch():
    torch = pytest.importorskip("torch")
    ours, seen = _prehook_returning_none(tg)
    theirs, seen_torch = _prehook_returning_none(torch)
    assert ours == theirs == [None, [1.0, 1.0], None, [2.0, 2.0]]
    # (the two engines visit the independent branches in different orders)
    assert sorted(seen, key=str) == sorted(seen_torch, key=str) == [("acc", (), (None,)), ("mul", None, (None,)),
                                                                    ("post", None)]


def test_saved_tensors_by_torchs_names(device):
    """grad_fn._saved_self / _saved_other / _saved_result, as torch's "Autograd mechanics" shows them: the saved
    input is the input itself, the saved result equals the output (a new object), an op that saves no such tensor
    has no such attribute, after backward they are freed (torch's RuntimeError), and under saved_tensors_hooks they
    come through the unpack hook."""
    torch = pytest.importorskip("torch")
    a = np.array([0.5, -1.0, 2.0])
    for lib, dev in ((tg, device), (torch, "cpu")):
        x = lib.tensor(a, requires_grad=True, device=dev)
        y = x.pow(2)
        assert x.equal(y.grad_fn._saved_self) and x is y.grad_fn._saved_self
        e = x.exp()
        assert e.equal(e.grad_fn._saved_result) and e is not e.grad_fn._saved_result
        z = x * x.detach()
        assert z.grad_fn._saved_other.equal(x.detach())
        with pytest.raises(AttributeError, match="_saved_self"):
            e.grad_fn._saved_self
        e.sum().backward()
        with pytest.raises(RuntimeError, match="directly access saved tensors after they have already been freed"):
            e.grad_fn._saved_result
        seen = []
        with lib.autograd.graph.saved_tensors_hooks(lambda t: ("packed", t), lambda p: seen.append(p[0]) or p[1]):
            w = x.exp()
        assert w.grad_fn._saved_result.equal(w) and seen == ["packed"]


def test_name_of_ops_whose_node_is_named_per_call(device):
    """grad_fn.name() and the tensor's repr for ops whose Function takes its name per call (sign, floor, ceil,
    trunc, round; torch.special's elementwise functions; linalg.ldl_factor): name() raised "'str' object is not
    callable", and so did print(y). Torch's names where they agree."""
    torch = pytest.importorskip("torch")
    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True, device=device)
    tx = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    for op in ("sign", "floor", "ceil", "trunc", "round"):
        y, ty = getattr(x, op)(), getattr(tx, op)()
        assert y.grad_fn.name() == ty.grad_fn.name() and f"grad_fn=<{ty.grad_fn.name()}>" in repr(y)
    y = tg.special.i0e(x)
    assert isinstance(y.grad_fn.name(), str) and "grad_fn=<" in repr(y)
    a = tg.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=tg.float64, requires_grad=True, device=device)
    ld = tg.linalg.ldl_factor(a).LD
    assert isinstance(ld.grad_fn.name(), str) and "grad_fn=<" in repr(ld)


def test_name_of_a_namespaced_op_as_torchs(device):
    """torch.linalg's ops name their nodes LinalgDetBackward0, LinalgSvdBackward0, ...; ours kept the dot
    ('Linalg.detBackward0')."""
    torch = pytest.importorskip("torch")
    a = [[2.0, 1.0], [1.0, 3.0]]
    m = tg.tensor(a, dtype=tg.float64, requires_grad=True, device=device)
    tm = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    for op in ("det", "slogdet", "eigh", "svd", "qr", "pinv", "matrix_exp"):
        y, ty = getattr(tg.linalg, op)(m), getattr(torch.linalg, op)(tm)
        y, ty = (y[0], ty[0]) if isinstance(ty, tuple) else (y, ty)
        assert y.grad_fn.name() == ty.grad_fn.name()


def test_name_of_ops_torch_names_otherwise(device):
    """Nodes torch names otherwise than the op: x.double() ToCopyBackward0, expand ExpandBackward0, diag_embed
    DiagEmbedBackward0, conv1d ConvolutionBackward0, linalg.inv LinalgInvExBackward0, ...; ours said
    CastBackward0, BroadcastToBackward0, DiagonalembedBackward0, ConvndBackward0, LinalgInvBackward0."""
    torch = pytest.importorskip("torch")
    a = [[2.0, 1.0], [1.0, 3.0]]
    cases = [lambda T, m: m.float(), lambda T, m: m.expand(3, 2, 2), lambda T, m: T.broadcast_to(m, (3, 2, 2)),
             lambda T, m: T.diag_embed(m), lambda T, m: T.nn.functional.conv1d(m[None], m[None]),
             lambda T, m: T.linalg.inv(m), lambda T, m: T.linalg.cholesky(m), lambda T, m: T.linalg.solve(m, m),
             lambda T, m: T.linalg.lu_factor(m)[0]]
    m = tg.tensor(a, dtype=tg.float64, requires_grad=True, device=device)
    tm = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    for case in cases:
        assert case(tg, m).grad_fn.name() == case(torch, tm).grad_fn.name()


def test_name_of_a_node_named_per_call_stays_after_backward(device):
    """A node named per call (log2's Logbase, special.i0e's Unary, linalg.inv's) kept its name only until a backward
    without retain_graph released it: then name() and the output's repr gave its class's (LogbaseBackward0,
    UnaryBackward0); torch's name stays."""
    x = tg.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=tg.float64, requires_grad=True, device=device)
    for y in (tg.log2(x), tg.special.i0e(x), tg.linalg.inv(x)):
        before = y.grad_fn.name()
        y.sum().backward()
        assert y.grad_fn.name() == before and f"grad_fn=<{before}>" in repr(y)
