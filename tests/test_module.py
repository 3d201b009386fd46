"""Module / Parameter bookkeeping, the feed-forward layers and the small functional helpers.

Names, orders and counts are PyTorch's documented behaviour (named_parameters:
each module's own parameters, then its children depth-first in assignment order;
a shared Parameter once; state_dict lists every name). Layer outputs are checked
against numpy (x @ W.T + b, W[idx]) and gradients against central differences.
"""
import copy
import os
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

from strategies import arrays, check_op, distinct, shapes, with_fixtures

CLOSE64 = dict(rtol=1e-12, atol=1e-12)


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.embed = nn.Embedding(5, 3)
        self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 4, bias=False)])
        self.head = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.1))
        self.plain = tg.zeros(7)  # a plain Tensor attribute is not a parameter
        self.width = 3

    def forward(self, idx):
        h = self.embed(idx) * self.scale
        for layer in self.layers:
            h = layer(h).tanh()
        return self.head(h)


TOY_NAMES = ["scale", "embed.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight",
             "head.0.weight", "head.0.bias"]
TOY_SHAPES = [(1,), (5, 3), (4, 3), (4,), (4, 4), (2, 4), (2,)]


class Tied(nn.Module):
    """Weight tying: the decoder reuses the embedding matrix."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Embedding(5, 3)
        self.dec = nn.Linear(3, 5)
        self.dec.weight = self.enc.weight


class SharedChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 3)
        self.b = self.a


def t64(a, requires_grad=False, device="cpu"):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=np.float64, device=device, requires_grad=requires_grad)


# ============================================================================ registration and traversal
def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(np.zeros((2, 3)))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.shape == (2, 3)
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    assert nn.Parameter(tg.zeros(2, dtype=np.float64)).dtype == np.float64
    assert repr(p).startswith("Parameter containing:")


def test_dotted_names_in_pytorch_order():
    m = Toy()
    assert [k for k, _ in m.named_parameters()] == TOY_NAMES
    assert [p.shape for p in m.parameters()] == TOY_SHAPES
    assert [k for k, _ in m.named_modules()] == ["", "embed", "layers", "layers.0", "layers.1", "head", "head.0",
                                                 "head.1"]
    assert [type(c).__name__ for c in m.children()] == ["Embedding", "ModuleList", "Sequential"]
    assert [k for k, _ in m.named_children()] == ["embed", "layers", "head"]
    assert len(list(m.modules())) == 8
    assert [k for k, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert [k for k, _ in m.layers.named_parameters(prefix="layers")] == TOY_NAMES[2:5]
    assert list(m.state_dict()) == TOY_NAMES
    # every name resolves to the very object by attribute access
    for name, p in m.named_parameters():
        obj = m
        for part in name.split("."):
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        assert obj is p


def test_num_parameters():
    assert Toy().num_parameters() == sum(int(np.prod(s)) for s in TOY_SHAPES)  # 1+15+16+16+10
    assert nn.Linear(7, 3).num_parameters() == 7 * 3 + 3
    assert nn.Linear(7, 3, bias=False).num_parameters() == 21


def test_reassignment_and_bias_none():
    m = nn.Linear(3, 2, bias=False)
    assert m.bias is None and [k for k, _ in m.named_parameters()] == ["weight"]
    m.bias = nn.Parameter(np.zeros(2))
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    m.bias = None  # no longer a parameter, but the slot stays (as torch's, and as bias=False's)
    assert [k for k, _ in m.named_parameters()] == ["weight"] and "bias" in m._parameters and m.bias is None
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'bias'"):
        m.bias = tg.zeros(2)
    seq = nn.Sequential(nn.Linear(1, 1))
    seq.extra = nn.Linear(1, 2)
    assert "extra.weight" in dict(seq.named_parameters())
    with pytest.raises(TypeError, match="Sequential: cannot assign a int to submodule 'extra' "
                                        r"\(a Module or None expected"):
        seq.extra = 5  # (as torch: a submodule's name takes a Module or None)
    seq.extra = None  # the slot stays, empty, as in torch
    assert "extra.weight" not in dict(seq.named_parameters()) and len(list(seq.children())) == 1
    assert seq.extra is None and "extra" in seq._modules and "(extra): None" in repr(seq)
    del seq.extra
    seq.extra = 5  # a plain attribute once the slot is gone
    assert seq.extra == 5 and "extra" not in seq._modules


def test_delattr_unregisters():
    m = Toy()
    del m.scale, m.head
    assert [k for k, _ in m.named_parameters()] == TOY_NAMES[1:5]
    assert list(m.state_dict()) == TOY_NAMES[1:5] and len(list(m.children())) == 2
    assert not hasattr(m, "scale")
    lin = nn.Linear(2, 2)
    del lin.bias
    assert [k for k, _ in lin.named_parameters()] == ["weight"]


def test_named_members_remove_duplicate_and_memo_as_torch():
    """torch's remove_duplicate=False lists a shared module or Parameter under every name (as state_dict does),
    and named_modules' first parameter is torch's memo (modules to leave out, collecting those listed). (Both
    keywords were refused; a positional argument was the prefix.)"""
    lin = nn.Linear(2, 2)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    net.w = nn.Parameter(tg.ones(1))
    net.v = net.w
    assert [k for k, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert [k for k, _ in net.named_parameters(remove_duplicate=False)] == \
        ["w", "v", "0.weight", "0.bias", "2.weight", "2.bias"] == list(net.state_dict())
    assert [k for k, _ in net.named_parameters(prefix="m", recurse=False, remove_duplicate=False)] == ["m.w", "m.v"]
    net.register_buffer("b", tg.zeros(1))
    net[1].register_buffer("b", net.b)
    assert [k for k, _ in net.named_buffers(remove_duplicate=False)] == ["b", "1.b"]
    assert [k for k, _ in net.named_buffers()] == ["b"]
    memo = {lin}
    assert [k for k, _ in net.named_modules(memo, "top")] == ["top", "top.1"] and len(memo) == 3

def test_get_parameter_and_get_buffer_follow_a_dotted_path():
    """torch's get_parameter / get_buffer: the tensor at 'sub.name'; an AttributeError for a missing name, one of
    another kind, or (get_parameter) an empty slot; get_buffer gives an empty buffer slot's None. (They were
    missing.)"""
    net = nn.Sequential(nn.Linear(2, 3, bias=False), nn.BatchNorm1d(3, track_running_stats=False))
    net.register_buffer("scale", tg.ones(1), persistent=False)
    assert net.get_parameter("0.weight") is net[0].weight and net.get_parameter("1.bias") is net[1].bias
    assert net.get_buffer("scale") is net.scale and net.get_buffer("1.running_mean") is None
    with pytest.raises(AttributeError, match="Linear at '0' has no attribute 'nope'"):
        net.get_parameter("0.nope")
    with pytest.raises(AttributeError, match="has 'scale', which is not a parameter"):
        net.get_parameter("scale")
    with pytest.raises(AttributeError, match="'0.bias' is an empty parameter slot"):
        net.get_parameter("0.bias")
    with pytest.raises(AttributeError, match="has 'weight', which is not a buffer"):
        net.get_buffer("1.weight")
    with pytest.raises(AttributeError, match="has no submodule '5'"):
        net.get_buffer("5.running_var")

def test_module_dict_update_and_keys_refuse_bad_input_clearly():
    """ModuleDict.update names what it expected (torch's checks) for a non-iterable or an element that is not a
    pair, changing nothing, and a non-str key is a TypeError, as torch's. (Bare Python errors: "'int' object is
    not iterable", 'not enough values to unpack'; a KeyError.)"""
    md = nn.ModuleDict({"a": nn.Tanh()})
    with pytest.raises(TypeError, match="ModuleDict.update: expected a mapping or .key, module. pairs, got int"):
        md.update(3)
    with pytest.raises(ValueError, match=r"ModuleDict.update: element 1 must be a \(key, module\) pair, got \('c',\)"):
        md.update([("b", nn.ReLU()), ("c",)])
    with pytest.raises(TypeError, match="ModuleDict: a key must be a str, got int"):
        md[1] = nn.ReLU()
    assert list(md) == ["a"]

def test_deepcopy_of_a_module_leaves_the_parameters_hooks_and_grads_behind():
    """As torch's Parameter.__deepcopy__: the copy's Parameters are new ones (shared ones still shared) with the
    data and requires_grad, but no .grad and none of the original's tensor hooks, so a backward through the copy
    runs no hook of the original (an optimizer step in a post-accumulate hook). (The hooks and grads were copied.)"""
    lin, log = nn.Linear(2, 2), []
    net = nn.Sequential(lin, lin)
    lin.weight.requires_grad_(False)
    lin.bias.register_hook(lambda g: log.append("hook"))
    lin.bias.register_post_accumulate_grad_hook(lambda p: log.append("post"))
    net(tg.ones(1, 2)).sum().backward()
    log.clear()
    twin = copy.deepcopy(net)
    assert twin[0] is twin[1] and twin[0].bias is not lin.bias and isinstance(twin[0].bias, nn.Parameter)
    assert twin[0].bias.grad is None and not twin[0].weight.requires_grad and twin[0].bias.requires_grad
    np.testing.assert_array_equal(twin[0].weight.numpy(), lin.weight.numpy())
    twin(tg.ones(1, 2)).sum().backward()
    assert log == [] and twin[0].bias.grad is not None

def test_register_parameter_checks_type():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(np.ones(2)))
    m.register_parameter("b", None)
    assert [k for k, _ in m.named_parameters()] == ["w"] and m.b is None
    with pytest.raises(TypeError, match="register_parameter"):
        m.register_parameter("v", tg.ones(2))


def test_register_parameter_checks_the_name_as_torch():
    """As torch's (and as register_buffer and add_module did): a name with '.' (which a state dict's dotted path
    could not reach), an empty one or one naming another attribute (a method, 'training', a buffer) is a KeyError,
    a non-str a TypeError; re-registering a parameter's own name is fine. They were accepted: 'forward' became a
    Parameter, hiding the method."""
    m = nn.Linear(2, 2)
    m.register_buffer("buf", tg.zeros(1))
    for name in ("a.b", "", "forward", "training", "buf"):
        with pytest.raises(KeyError, match="register_parameter: (attribute|parameter name)"):
            m.register_parameter(name, nn.Parameter(tg.ones(1)))
    with pytest.raises(TypeError, match="register_parameter: parameter name must be a str, got int"):
        m.register_parameter(1, None)
    with pytest.raises(TypeError, match="register_buffer: buffer name must be a str, got int"):
        m.register_buffer(1, None)
    m.register_parameter("bias", None)
    assert [k for k, _ in m.named_parameters()] == ["weight"] and callable(m.forward)


def test_setattr_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_shared_parameter_once_in_parameters_but_every_name_in_state_dict():
    m = Tied()
    assert m.dec.weight is m.enc.weight
    assert [k for k, _ in m.named_parameters()] == ["enc.weight", "dec.bias"]
    assert m.num_parameters() == 15 + 5
    sd = m.state_dict()
    assert list(sd) == ["enc.weight", "dec.weight", "dec.bias"]
    # loading writes the shared tensor once per name, and the tie survives
    new = {k: np.full(v.shape, float(i)) for i, (k, v) in enumerate(sd.items())}
    new["dec.weight"] = new["enc.weight"]
    m.load_state_dict(new)
    assert m.dec.weight is m.enc.weight and (m.enc.weight.numpy() == 0).all()


def test_shared_submodule_listed_under_every_path_in_state_dict():
    m = SharedChild()
    assert [k for k, _ in m.named_parameters()] == ["a.weight", "a.bias"]
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert m.num_parameters() == 9
    m.load_state_dict({k: v.numpy() for k, v in SharedChild().state_dict().items()})  # strict: keys match


# ============================================================================ modes and grads
def test_train_eval_propagate():
    m = Toy()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m.head.eval()
    assert m.training and not m.head.training and not m.head[1].training and m.layers.training
    m.train(False)
    assert not any(x.training for x in m.modules())


def test_zero_grad():
    m = Toy()
    m.eval()
    m(np.array([[0, 1], [2, 4]])).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    for p in m.parameters():
        assert p.grad.shape == p.shape and (p.grad.numpy() == 0).all()
    m(np.array([1])).sum().backward()  # accumulates into the zeroed grads
    assert any((p.grad.numpy() != 0).any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_zero_grad_set_to_none_false_zeroes_in_place():
    """As torch: the existing gradient arrays are zeroed, not replaced (code holding them sees the zeros)."""
    m = nn.Linear(3, 2)
    m(tg.randn(4, 3)).sum().backward()
    arrays = [p.grad.array for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    assert all(p.grad.array is a and not a.any() for p, a in zip(m.parameters(), arrays))


def test_apply_visits_children_first_then_self_and_returns_self():
    m, seen = Toy(), []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Embedding", "Linear", "Linear", "ModuleList", "Linear", "Dropout", "Sequential", "Toy"]

    def init_linear(mod):
        if isinstance(mod, nn.Linear):
            mod.weight.array[...] = 0.5
    m.apply(init_linear)
    assert all((lin.weight.numpy() == 0.5).all() for lin in (m.layers[0], m.layers[1], m.head[0]))
    assert not (m.embed.weight.numpy() == 0.5).all()


def test_requires_grad_freezes_and_unfreezes():
    m = Toy()
    m.eval()
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    m.layers.requires_grad_()
    m(np.array([1, 2])).sum().backward()
    assert [k for k, p in m.named_parameters() if p.grad is not None] == ["layers.0.weight", "layers.0.bias",
                                                                          "layers.1.weight"]


def test_to_double_float_keep_parameter_identity():
    m = Toy()
    m.eval()
    before = {k: (p, p.numpy().copy()) for k, p in m.named_parameters()}
    m(np.array([1, 2])).sum().backward()
    assert m.to("float64") is m
    for k, p in m.named_parameters():
        assert p is before[k][0] and p.dtype == np.float64 and p.requires_grad
        assert p.grad.dtype == np.float64
        np.testing.assert_array_equal(p.numpy(), before[k][1])
    assert m(np.array([1])).dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 and p is before[k][0] for k, p in m.named_parameters())
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    m.to(np.float32)
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert m.to("cpu") is m and all(p.device == "cpu" for p in m.parameters())
    assert m.to("cpu", non_blocking=True) is m  # (torch's keyword, as in model.to(device, non_blocking=True))
    with pytest.raises(TypeError, match="floating point"):
        m.to("int64")


def test_to_keeps_weight_tying():
    m = Tied().double()
    assert m.dec.weight is m.enc.weight and m.enc.weight.dtype == np.float64


# ============================================================================ state dicts
def test_state_dict_round_trip_with_tensors_and_numpy():
    a, b = Toy(), Toy()
    sd = a.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    assert [v.shape for v in sd.values()] == TOY_SHAPES
    saved = {k: v.numpy().copy() for k, v in sd.items()}

    params, arrays = list(b.parameters()), [p.array for p in b.parameters()]
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert all(p is q and p.array is a for p, q, a in zip(b.parameters(), params, arrays))  # copied in place
    for k, p in b.named_parameters():
        np.testing.assert_array_equal(p.numpy(), saved[k])
    b.layers[0].weight.array[...] = 7.0  # a copy, not an alias of a's parameters
    np.testing.assert_array_equal(a.layers[0].weight.numpy(), saved["layers.0.weight"])

    c = Toy().double()  # numpy arrays load too, cast to each parameter's dtype
    c.load_state_dict(OrderedDict((k, v.astype(np.float32)) for k, v in saved.items()))
    for k, p in c.named_parameters():
        assert p.dtype == np.float64
        np.testing.assert_array_equal(p.numpy(), saved[k].astype(np.float32))
    c.eval()
    a.eval()
    idx = np.array([[0, 4], [3, 3]])
    # (float64 against float32, from an unseeded init: outputs near 0 differ by float32's rounding, ~1e-8 absolute)
    np.testing.assert_allclose(c(idx).numpy(), a(idx).numpy(), rtol=1e-5, atol=1e-6)


# ============================================================================ buffers
class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)
        self.register_buffer("running", tg.ones(3))
        self.register_buffer("count", tg.tensor(np.array([4], dtype=np.int64)))
        self.register_buffer("scratch", tg.zeros(2), persistent=False)
        self.register_buffer("absent", None)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))


def test_buffers_are_listed_and_persistent_ones_are_in_state_dict_in_torch_order():
    m = WithBuffers()
    assert [k for k, _ in m.named_buffers()] == ["running", "count", "scratch"]
    assert [b.shape for b in m.buffers()] == [(3,), (1,), (2,)]
    assert list(m.state_dict()) == ["scale", "running", "count", "lin.weight", "lin.bias"]  # torch's order
    assert [k for k, _ in m.named_parameters()] == ["scale", "lin.weight", "lin.bias"]  # buffers are not trained
    outer = nn.Sequential(m)
    assert [k for k, _ in outer.named_buffers()] == ["0.running", "0.count", "0.scratch"]
    assert [k for k, _ in outer.named_buffers(recurse=False)] == []
    assert "0.running" in outer.state_dict() and "0.scratch" not in outer.state_dict()


def test_buffers_move_with_to_float_double_and_load():
    m = WithBuffers()
    m.double()
    assert m.running.dtype == np.float64 and m.scratch.dtype == np.float64
    assert m.count.dtype == np.int64  # only floating-point buffers are cast
    assert m._buffers["running"] is m.running and m.state_dict()["running"].dtype == np.float64
    m.float()
    assert m.running.dtype == np.float32 and m.count.dtype == np.int64
    m.to("cpu")
    assert all(b.device == "cpu" for b in m.buffers())
    sd = {k: v.numpy() + 1 for k, v in m.state_dict().items()}
    running = m.running
    m.load_state_dict(sd)
    assert m.running is running  # copied in place, like parameters
    np.testing.assert_array_equal(m.running.numpy(), 2 * np.ones(3))
    np.testing.assert_array_equal(m.count.numpy(), [5])
    np.testing.assert_array_equal(m.scratch.numpy(), np.zeros(2))  # not persistent: not loaded
    del sd["count"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "count"'):
        m.load_state_dict(sd)


def test_buffer_assignment_deletion_and_errors():
    m = WithBuffers()
    m.running = tg.zeros(3)
    assert list(m.buffers())[0] is m.running and m.state_dict()["running"].numpy().sum() == 0
    m.absent = tg.ones(1)
    assert "absent" in m.state_dict()
    with pytest.raises(TypeError, match="cannot assign a list to buffer 'running'"):
        m.running = [1.0, 2.0]
    del m.running
    assert "running" not in m.state_dict() and not hasattr(m, "running")
    with pytest.raises(TypeError, match="register_buffer: 'b' must be a Tensor"):
        m.register_buffer("b", np.ones(3))
    with pytest.raises(TypeError, match="not a Parameter"):
        m.register_buffer("b", nn.Parameter(np.ones(3)))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("lin", tg.ones(1))
    with pytest.raises(KeyError, match="without '.'"):
        m.register_buffer("a.b", tg.ones(1))


README_TO_TORCH = "{k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()}"


def test_state_dict_to_and_from_torch_as_the_readme_says():
    """torch -> ours loads unchanged (tensors or numpy); ours -> torch needs the README's conversion."""
    torch = pytest.importorskip("torch")
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    assert README_TO_TORCH in readme
    torch_lstm, ours = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True), nn.LSTM(3, 4, num_layers=2,
                                                                                      bidirectional=True)
    sd = torch_lstm.state_dict()
    for source in (sd, {k: v.numpy() for k, v in sd.items()}, dict(torch_lstm.named_parameters())):
        ours.load_state_dict(source)
        for k, p in ours.named_parameters():
            np.testing.assert_array_equal(p.numpy(), sd[k].numpy())
    back = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(RuntimeError):  # our Tensors are not torch tensors
        back.load_state_dict(ours.state_dict())
    back.load_state_dict(eval(README_TO_TORCH, {"torch": torch, "ours": ours}))
    for k, v in back.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())


def test_state_dict_and_load_state_dict_take_torchs_keywords():
    """state_dict(destination=, prefix=, keep_vars=) and load_state_dict(assign=) as torch's."""
    m = Toy()
    m.register_buffer("count", tg.tensor(np.array(3, np.int64)))
    names = list(m.state_dict())
    assert list(m.state_dict(prefix="net.")) == ["net." + k for k in names]
    kept = m.state_dict(keep_vars=True)
    assert kept["layers.0.weight"] is m.layers[0].weight and kept["count"] is m.count
    assert m.state_dict()["layers.0.weight"] is not m.layers[0].weight
    into = {"epoch": 1}
    assert m.state_dict(destination=into) is into and list(into) == ["epoch"] + names

    source = {k: np.asarray(v.numpy(), np.float64) + 1 for k, v in m.state_dict().items()}
    source["head.0.weight"] = nn.Parameter(source["head.0.weight"])
    m.embed.weight.requires_grad = False
    old = m.layers[0].weight
    assert m.load_state_dict(source, assign=True) == ([], [])
    assert m.layers[0].weight is not old and m.layers[0].weight.dtype == np.float64
    assert m.layers[0].weight.array is source["layers.0.weight"]  # the value itself, not a copy
    assert m.head[0].weight is source["head.0.weight"]  # a Parameter given is used as it is
    assert isinstance(m.embed.weight, nn.Parameter) and not m.embed.weight.requires_grad
    assert m.layers[0].weight.requires_grad and m.count.dtype == np.float64
    assert [p for p in m.parameters()][2] is m.layers[0].weight  # registered, so an optimizer made now sees it
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), np.asarray(source[k].numpy() if isinstance(source[k], tg.Tensor)
                                                            else source[k]))


def test_load_state_dict_takes_torch_tensors_of_dtypes_numpy_lacks():
    """A bfloat16 / float8 torch state dict loads into a float32 model, as into torch's (copy_ converts it)."""
    torch = pytest.importorskip("torch")
    source = torch.nn.Linear(3, 2)
    for dtype in (torch.bfloat16, torch.float8_e4m3fn):
        sd = {k: v.to(dtype) for k, v in source.state_dict().items()}
        expected = torch.nn.Linear(3, 2)
        expected.load_state_dict(sd)
        ours = nn.Linear(3, 2)
        ours.load_state_dict(sd)
        for k, v in expected.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[k].numpy(), v.numpy())


def test_unexpected_keys_in_torchs_order():
    """torch lists unexpected keys module by module (in state_dict order), each module's in the dict's order."""
    torch = pytest.importorskip("torch")

    def build(lib):
        root = lib.Module()
        root.enc = lib.Sequential(lib.Linear(2, 2), lib.Sequential(lib.Linear(2, 2)))
        root.head = lib.Linear(2, 1)
        return root
    ours, theirs = build(nn), build(torch.nn)
    extra = ["head.x", "enc.1.0.y", "zz", "enc.1.q", "enc.7.weight", "head.y", "a.b.c", "enc.0.z"]
    sd = {k: np.zeros(1) for k in extra}
    sd.update({k: v.numpy() for k, v in ours.state_dict().items()})
    result = ours.load_state_dict(sd, strict=False)
    expected = theirs.load_state_dict({k: torch.zeros(v.shape) for k, v in sd.items()}, strict=False)
    assert result.unexpected_keys == expected.unexpected_keys
    assert result.missing_keys == expected.missing_keys == []
    with pytest.raises(RuntimeError, match="Unexpected key\\(s\\) in state_dict: " + ", ".join(
            f'"{k}"' for k in expected.unexpected_keys)):
        ours.load_state_dict(sd)


def test_load_state_dict_reports_problems_by_name():
    m = Toy()
    orig = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    sd = dict(orig)
    del sd["layers.0.bias"], sd["scale"]
    sd["layers.2.weight"] = np.zeros((4, 4))
    sd["head.0.weight"] = np.zeros((4, 2))
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Toy:")
    for name in ("layers.0.bias", "scale", "layers.2.weight", "head.0.weight"):
        assert name in msg, name
    assert "Missing" in msg and "Unexpected" in msg and "[4, 2]" in msg and "[2, 4]" in msg
    for k, p in m.named_parameters():  # nothing was loaded
        np.testing.assert_array_equal(p.numpy(), orig[k])


def test_load_state_dict_non_strict_returns_keys():
    m = Toy()
    sd = {k: np.full(v.shape, 0.5) for k, v in m.state_dict().items()}
    del sd["embed.weight"]
    sd["bogus"] = np.zeros(3)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["embed.weight"] and unexpected == ["bogus"]
    assert (m.layers[1].weight.numpy() == 0.5).all() and (m.embed.weight.numpy() != 0.5).any()
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "embed.weight"'):
        m.load_state_dict(sd)
    # a wrong shape is an error even when not strict (PyTorch behaviour)
    sd2 = {k: v.numpy() for k, v in m.state_dict().items()}
    sd2["scale"] = np.zeros(2)
    with pytest.raises(RuntimeError, match=r"scale.*\[2\].*\[1\]"):
        m.load_state_dict(sd2, strict=False)



def test_load_state_dict_result_prints_as_torchs():
    """load_state_dict's result prints as torch's _IncompatibleKeys (``print(model.load_state_dict(sd))`` in every
    fine-tuning notebook): '<All keys matched successfully>' when nothing is missing or unexpected."""
    torch = pytest.importorskip("torch")
    for T in (tg, torch):
        T.manual_seed(0)
    ours, theirs = tg.nn.Linear(2, 3), torch.nn.Linear(2, 3)
    for sd_ours, sd_theirs, strict in ((ours.state_dict(), theirs.state_dict(), True),
                                       ({"weight": tg.zeros(3, 2), "extra": tg.ones(1)},
                                        {"weight": torch.zeros(3, 2), "extra": torch.ones(1)}, False)):
        got, want = ours.load_state_dict(sd_ours, strict=strict), theirs.load_state_dict(sd_theirs, strict=strict)
        assert repr(got) == repr(want) and str(got) == str(want)
        assert tuple(got) == tuple(want) and got.missing_keys == want.missing_keys
    from tinygrad_rnn.nn.modules.module import _IncompatibleKeys
    assert isinstance(got, _IncompatibleKeys)


def test_module_walks_survive_a_modules_attribute_shadowing_the_method():
    """dreamer-pytorch keeps ``self.modules = [self.fc1, ...]`` (for its FreezeParameters), shadowing the method:
    torch's own walks (load_state_dict, _apply's .double() / .to() / .float()) never call modules(), so neither
    may ours."""
    torch = pytest.importorskip("torch")
    results = []
    for T in (torch, tg):
        class M(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = T.nn.Linear(2, 3)
                self.bn = T.nn.BatchNorm1d(3)
                self.modules = [self.fc1]

        m = M()
        m.load_state_dict({k: T.full(tuple(v.shape), 0.5) for k, v in m.state_dict().items()})
        m.double()
        m.bn.running_mean.add_(1)
        m.to(T.float32).float()
        results.append({k: (v.detach().numpy(), str(v.dtype)) for k, v in m.state_dict().items()})
        assert m.modules == [m.fc1]
    for k in results[1]:
        np.testing.assert_array_equal(results[0][k][0], results[1][k][0])
        assert results[0][k][1] == results[1][k][1], k


def _hook_log(lib, conv):
    """Every state_dict / load_state_dict hook of a small tree, logged with its arguments (as torch's calls)."""
    log = []

    class Extra(lib.Module):
        def __init__(self):
            super().__init__()
            self.lin, self.k = lib.Linear(2, 3), 0

        def get_extra_state(self):
            return {"k": self.k}

        def set_extra_state(self, state):
            log.append(("set_extra", dict(state)))
            self.k = state["k"]
    root = lib.Sequential(Extra(), lib.Linear(3, 1))
    for name, m in root.named_modules():
        m.register_state_dict_pre_hook(lambda mod, prefix, kv, n=name: log.append(("pre", n, prefix, kv)))
        m.register_state_dict_post_hook(lambda mod, sd, prefix, lm, n=name: log.append(("post", n, prefix, list(sd),
                                                                                          dict(lm))))
        m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, lm, strict, mk, uk, em, n=name: log.append(
            ("load_pre", mod is root.get_submodule(n), prefix, sorted(sd), dict(lm), strict, list(mk), list(uk))))
        m._register_load_state_dict_pre_hook(lambda sd, prefix, *rest, n=name: log.append(("no_module", n, prefix,
                                                                                             len(rest))))
        m.register_load_state_dict_post_hook(lambda mod, keys, n=name: log.append(("load_post", n, list(keys[0]),
                                                                                   list(keys[1]))))
    sd = root.state_dict(keep_vars=True)
    log.append(("keys", list(sd), sorted(sd._metadata.items())))
    source = {k: v if k.endswith("_extra_state") else conv(np.full(tuple(v.shape), 2.0))
              for k, v in sd.items()}
    source["0._extra_state"], source["zz"] = {"k": 5}, conv(np.zeros(1))
    del source["1.bias"]
    result = root.load_state_dict(source, strict=False)
    log.append(("result", list(result[0]), list(result[1]), root[0].k, root[1].weight.detach().sum().item()))
    return log


def test_state_dict_and_load_state_dict_hooks_run_in_torchs_order_with_its_arguments():
    """The four public hooks and torch's private _register_load_state_dict_pre_hook(with_module=False): the same
    calls, order and arguments as torch's (pre-hooks parents first, post-hooks after the children; each module's
    keys, local_metadata {'version': 1}, the missing/unexpected lists so far), get/set_extra_state's key."""
    torch = pytest.importorskip("torch")
    theirs = _hook_log(torch.nn, lambda a: torch.from_numpy(np.asarray(a, np.float64)).float())
    ours = _hook_log(nn, lambda a: np.asarray(a, np.float64))
    assert ours == theirs


def test_save_and_load_from_state_dict_overrides_extra_state_and_private_hooks_as_torch(tmp_path):
    """A subclass's _save_to_state_dict / _load_from_state_dict change what is saved and loaded; _version reaches
    _load_from_state_dict as local_metadata; the private _register_state_dict_hook's dict is kept at the root
    only and a public post-hook must return None; extra state goes through tg.save, or is refused by name."""
    torch = pytest.importorskip("torch")

    def run(lib, conv):
        seen = []

        class M(lib.Linear):
            _version = 3

            def _save_to_state_dict(self, d, prefix, keep_vars):
                super()._save_to_state_dict(d, prefix, keep_vars)
                d[prefix + "w2"] = d[prefix + "weight"] * 2

            def _load_from_state_dict(self, sd, prefix, local_metadata, *rest):
                seen.append((sd.pop(prefix + "w2", None) is not None, dict(local_metadata)))
                super()._load_from_state_dict(sd, prefix, local_metadata, *rest)
        m = lib.Sequential(M(2, 1, bias=False))
        with lib_no_grad(lib):
            m[0].weight[...] = conv([[1.0, 2.0]])
        sd = m.state_dict()
        out = [list(sd), np.asarray(sd["0.w2"]).tolist()]
        out.append(tuple(m.load_state_dict({k: conv(np.full(tuple(v.shape), 3.0)) for k, v in sd.items()})))
        m.load_state_dict(dict(sd), assign=True)
        out += [seen, m[0].weight.detach().numpy().tolist()]
        m[0]._register_state_dict_hook(lambda *a: {"x": 1})
        out.append(list(m.state_dict()))
        m._register_state_dict_hook(lambda *a: {"y": 2})
        out.append(list(m.state_dict()))
        hook = lambda *a: {}  # noqa: E731
        m.register_state_dict_post_hook(hook)
        with pytest.raises(RuntimeError, match="must return None"):
            m.state_dict()
        with pytest.raises(RuntimeError, match="previously registered via register_state_dict_post_hook"):
            m._register_state_dict_hook(hook)
        m.register_load_state_dict_post_hook(lambda *a: 1)
        with pytest.raises(AssertionError):
            m.load_state_dict(sd, strict=False)
        return out
    assert run(nn, np.asarray) == run(torch.nn, lambda a: torch.tensor(a, dtype=torch.float32))

    class E(nn.Linear):
        def get_extra_state(self):
            return self.extra

        def set_extra_state(self, state):
            self.extra = state
    m, back = E(2, 1), E(2, 1)
    m.extra = {"step": 3, "names": ["a", "b"], "arr": np.arange(3.0)}
    assert list(m.state_dict()) == ["weight", "bias", "_extra_state"]
    tg.save(m.state_dict(), tmp_path / "e.npz")
    assert back.load_state_dict(tg.load(tmp_path / "e.npz")) == ([], [])
    assert back.extra["step"] == 3 and back.extra["names"] == ["a", "b"] and back.extra["arr"].tolist() == [0, 1, 2]
    assert nn.Linear(2, 1).load_state_dict(m.state_dict(), strict=False) == ([], ["_extra_state"])
    assert back.load_state_dict(nn.Linear(2, 1).state_dict(), strict=False) == (["_extra_state"], [])
    m.extra = object()
    with pytest.raises(TypeError, match=r"cannot save a object at obj\['_extra_state'\]"):
        tg.save(m.state_dict(), tmp_path / "f.npz")


def lib_no_grad(lib):
    return tg.no_grad() if lib is nn else __import__("torch").no_grad()


def test_load_state_dict_with_hooks_loads_as_torch_and_without_them_loads_nothing_on_error():
    """Without load hooks an error loads nothing (ours); with one, modules load as they are reached, as torch's,
    and a load post-hook that clears the missing keys makes a strict load succeed; a 1-element value loads into a
    0-d buffer, as torch's."""
    m = nn.Sequential(nn.Linear(1, 1), nn.Linear(1, 1))
    sd = {k: np.full(tuple(v.shape), 7.0) for k, v in m.state_dict().items()}
    sd["1.weight"] = np.zeros((2, 2))
    with pytest.raises(RuntimeError, match=r"size mismatch for 1.weight: copying a param with shape "
                                           r"torch.Size\(\[2, 2\]\) from checkpoint, the shape in current model is "
                                           r"torch.Size\(\[1, 1\]\)."):
        m.load_state_dict(sd)
    assert m[0].weight.item() != 7.0
    m[1].register_load_state_dict_pre_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict(sd)
    assert m[0].weight.item() == 7.0  # (torch copies before it reports)
    del sd["1.weight"]
    m[1].register_load_state_dict_post_hook(lambda mod, keys: keys.missing_keys.clear())
    assert m.load_state_dict(sd) == ([], [])
    b = nn.Module()
    b.register_buffer("c", tg.tensor(1.0))
    b.load_state_dict({"c": np.array([5.0])})
    assert b.c.shape == () and b.c.item() == 5.0

def test_set_submodule_type_to_empty_share_memory_compile_and_init_arguments_as_torch():
    """set_submodule's replace / add / strict and errors, type() casting integer buffers too, share_memory and
    compile as no-ops (compile returns None and leaves forward as it is), bfloat16 refused, torch's
    call_super_init, _version, dump_patches and T_destination; each as torch's where torch's is observable."""
    torch = pytest.importorskip("torch")
    for lib in (nn, torch.nn):
        m = lib.Sequential(lib.Linear(1, 1), lib.Sequential(lib.Tanh()))
        m.set_submodule("1.0", lib.ReLU())
        m.set_submodule("1.extra", lib.Tanh())
        assert [type(c).__name__ for c in m[1].children()] == ["ReLU", "Tanh"]
        with pytest.raises(AttributeError):
            m.set_submodule("1.missing", lib.Tanh(), strict=True)
        with pytest.raises(ValueError):
            m.set_submodule("", lib.Tanh())
        with pytest.raises(ValueError):
            m.set_submodule("0", 3)
        m[0].register_buffer("count", torch.tensor(3) if lib is torch.nn else tg.tensor(3))
        with pytest.raises(AttributeError):
            m.set_submodule("0.count", lib.Tanh())
        assert m.type(torch.float64 if lib is torch.nn else tg.float64) is m
        assert str(m[0].weight.dtype).endswith("float64") and str(m[0].count.dtype).endswith("float64")
        m.type("torch.FloatTensor")
        assert str(m[0].weight.dtype).endswith("float32")
        assert m.share_memory() is m
        assert m._version == 1 and m.dump_patches is False and m.call_super_init is False
        assert lib.Module.T_destination.__name__ == "T_destination"
        with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
            lib.Module(3)
        with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
            lib.Module(x=3)

        class Mixin:
            def __init__(self, a):
                self.a = a

        class M(lib.Module, Mixin):
            call_super_init = True
        assert M(a=2).a == 2 and M(5).a == 5
    x = tg.tensor(np.ones((2, 1), np.float32))
    lin = nn.Linear(1, 1)
    assert lin.compile(fullgraph=False, dynamic=None, backend="inductor", mode="max-autotune") is None
    assert "forward" not in lin.__dict__ and lin(x).shape == (2, 1)
    with pytest.raises(TypeError, match="parameters must stay floating point"):
        lin.type(tg.int64)
    with pytest.raises(TypeError, match="Linear.bfloat16: numpy has no bfloat16"):
        lin.bfloat16()


def test_register_backward_hook_runs_as_torchs_where_it_agrees_and_is_refused_elsewhere():
    """torch's legacy hook: a FutureWarning; on a one-Function module (Tanh) the gradients torch gives, and its
    return value replaces grad_input; on a module whose forward is several Functions or has parameters a clear
    error, not other gradients; never on one module with a full backward hook (torch's RuntimeError)."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(3, 2))
    seen = {}
    for lib, make in ((torch.nn, lambda a: torch.tensor(a, requires_grad=True)),
                      (nn, lambda a: tg.tensor(a, requires_grad=True))):
        m, log = lib.Tanh(), []

        def hook(mod, grad_input, grad_output, log=log):
            log.append([g.detach().numpy().copy() if lib is torch.nn else g.numpy() for g in grad_input + grad_output])
            return (grad_input[0] * 2,)
        with pytest.warns(FutureWarning):
            m.register_backward_hook(hook)
            xt = make(x)
            (m(xt) * make(x)).sum().backward()
        seen[lib] = log + [xt.grad.numpy()]
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            m.register_full_backward_hook(lambda *a: None)
        full = lib.Tanh()
        full.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            full.register_backward_hook(lambda *a: None)
    for a, b in zip(seen[nn][0] + seen[nn][1:], seen[torch.nn][0] + seen[torch.nn][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for m in (nn.Linear(2, 2, dtype=np.float64), nn.Sequential(nn.Tanh(), nn.ReLU())):
        with pytest.warns(FutureWarning):
            m.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="register_backward_hook .* use register_full_backward_hook"):
            m(tg.tensor(x, requires_grad=True))


def test_to_empty_gives_new_memory_of_each_shape_and_dtype_on_device(device):
    """to_empty(device=, recurse=) as torch's: every parameter (kept as the same object) and buffer gets memory of
    its shape and dtype on the device; recurse=False leaves the children alone."""
    m = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.BatchNorm1d(3))
    weight, before = m[0].weight, m[1].running_mean
    before_shapes = {k: (v.shape, v.dtype) for k, v in m.state_dict().items()}
    assert m.to_empty(device=device, recurse=False) is m and m[0].weight.device == "cpu"
    m.to_empty(device=device)
    assert m[0].weight is weight and m[1].running_mean is not before
    for k, v in m.state_dict().items():
        assert v.device == device and v.shape == before_shapes[k][0] and v.dtype == before_shapes[k][1], k

def test_buffer_assigned_to_a_module_registers_a_buffer_as_torch():
    """torch 2.5's nn.Buffer: assigned as an attribute it registers a buffer with its persistence (also over an
    existing buffer); register_buffer's own persistent argument wins; data's memory and requires_grad are kept."""
    torch = pytest.importorskip("torch")
    results = []
    for lib, ones in ((torch.nn, torch.ones), (nn, tg.ones)):
        m = lib.Module()
        data = ones(2)
        m.b = lib.Buffer(data, persistent=False)
        out = [isinstance(m.b, lib.Buffer), list(m.state_dict()), [k for k, _ in m.named_buffers()]]
        m.register_buffer("c", lib.Buffer(ones(1), persistent=False))
        m.b = lib.Buffer(ones(2) * 0)
        out += [list(m.state_dict()), tuple(lib.Buffer().shape), lib.Buffer(ones(1, requires_grad=True)).requires_grad]
        m.w = lib.Parameter(ones(1))
        with pytest.raises(TypeError):
            m.w = lib.Buffer(ones(1))
        m.x = 5
        with pytest.raises(KeyError):
            m.x = lib.Buffer(ones(1))
        results.append(out)
    assert results[0] == results[1]
    data = tg.ones(2)
    m = nn.Module()
    m.b = nn.Buffer(data)
    data.array[0] = 7.0
    assert m.b.numpy().tolist() == [7.0, 1.0]


LAZY = [("LazyLinear", (5,), {}, (4, 3)), ("LazyLinear", (5,), {"bias": False}, (2, 6, 7)),
        ("LazyConv1d", (4, 3), {"groups": 2}, (2, 6, 7)), ("LazyConv1d", (4, 3), {}, (6, 7)),
        ("LazyConvTranspose1d", (4, 3), {"groups": 2, "stride": 2}, (2, 6, 7)), ("LazyBatchNorm1d", (), {}, (4, 3)),
        ("LazyBatchNorm1d", (), {"affine": False}, (2, 6, 7)), ("LazyInstanceNorm1d", (), {}, (2, 6, 7)),
        ("LazyInstanceNorm1d", (), {"track_running_stats": False, "bias": False}, (2, 6, 7)),
        ("LazyConv2d", (4, (3, 1)), {"groups": 2, "padding": "same"}, (2, 6, 5, 4)),
        ("LazyConv2d", (4, 2), {"padding_mode": "reflect", "padding": 1}, (6, 5, 4)),
        ("LazyConvTranspose2d", (4, 3), {"groups": 2, "stride": (2, 1)}, (2, 6, 3, 4)),
        ("LazyConvTranspose2d", (2, 2), {}, (3, 3, 2)), ("LazyBatchNorm2d", (), {}, (2, 3, 4, 2)),
        ("LazyBatchNorm2d", (), {"affine": False, "momentum": None}, (2, 3, 2, 2)),
        ("LazyInstanceNorm2d", (), {}, (2, 3, 4, 2)), ("LazyInstanceNorm2d", (), {"affine": False}, (2, 3, 2, 2)),
        ("LazyConv3d", (4, (2, 1, 2)), {"groups": 2, "stride": (1, 2, 1)}, (2, 6, 3, 4, 3)),
        ("LazyConv3d", (2, 3), {"padding": "same", "padding_mode": "circular"}, (3, 3, 2, 3)),
        ("LazyConvTranspose3d", (4, 2), {"groups": 2, "stride": 2, "output_padding": 1}, (1, 6, 2, 3, 2)),
        ("LazyConvTranspose3d", (2, (1, 2, 2)), {"bias": False}, (3, 2, 2, 3)),
        ("LazyBatchNorm3d", (), {}, (2, 3, 2, 2, 3)), ("LazyBatchNorm3d", (), {"bias": False}, (2, 3, 1, 2, 2)),
        ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 2, 3)),
        ("LazyInstanceNorm3d", (), {"track_running_stats": False}, (1, 3, 2, 1, 2))]


@pytest.mark.parametrize("name, args, kwargs, shape", LAZY)
def test_lazy_modules_infer_their_sizes_and_become_the_plain_class_as_torch(name, args, kwargs, shape):
    """Before the first forward: the state dict (UninitializedParameter / UninitializedBuffer values), repr, and a
    shape that cannot be read; after it: torch's class, state dict keys and shapes, and (with torch's values
    loaded) its output, in float64."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=shape)
    t = getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs)
    o = getattr(nn, name)(*args, dtype=np.float64, **kwargs)
    lazy_t = {k: type(v).__name__ if torch.nn.parameter.is_lazy(v) else v.tolist() for k, v in t.state_dict().items()}
    lazy_o = {k: type(v).__name__ if nn.module.is_lazy(v) else v.numpy().tolist() for k, v in o.state_dict().items()}
    assert lazy_o == lazy_t and repr(o) == repr(t)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        next(t for t in list(o.parameters()) + list(o.buffers()) if nn.module.is_lazy(t)).shape
    t(torch.tensor(x))
    o(tg.tensor(x))
    assert type(o).__name__ == type(t).__name__ and repr(o) == repr(t) and o._forward_pre_hooks == []
    assert [(k, tuple(v.shape)) for k, v in o.state_dict().items()] == [(k, tuple(v.shape)) for k, v in
                                                                         t.state_dict().items()]
    assert all(type(p) is nn.Parameter for p in o.parameters()) and all(type(b) is tg.Tensor for b in o.buffers())
    o.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    np.testing.assert_allclose(o(tg.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_lazy_module_loads_a_state_dict_and_takes_an_optimizer_before_its_first_forward_as_torch():
    """A lazy module's tensors take the shapes of a state dict loaded into it (in_features set at the forward,
    which must agree: torch's AssertionError); an optimizer built before the first forward steps its parameters
    after it (torch allows it); an uninitialized value does not load into a plain module; deepcopy stays lazy."""
    src = nn.Linear(4, 3, dtype=np.float64)
    lazy = nn.LazyLinear(3, dtype=np.float64)
    assert lazy.load_state_dict(src.state_dict()) == ([], []) and lazy.weight.shape == (3, 4)
    assert type(lazy) is nn.LazyLinear and lazy.in_features == 0
    with pytest.raises(AssertionError, match="in_features inferred from input: 5 is not equal to in_features from "
                                             "self.weight: 4"):
        lazy(tg.tensor(np.ones((2, 5))))
    np.testing.assert_array_equal(lazy(tg.tensor(np.eye(4))).numpy(), src(tg.tensor(np.eye(4))).numpy())
    assert type(lazy) is nn.Linear and lazy.in_features == 4
    with pytest.raises(RuntimeError, match="weight: the checkpoint's value is uninitialized"):
        nn.Linear(2, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    assert nn.LazyLinear(3).load_state_dict(nn.LazyLinear(3).state_dict()) == ([], [])
    lazy = copy.deepcopy(nn.LazyLinear(2, dtype=np.float64))
    weight = lazy.weight
    opt = tg.optim.SGD(lazy.parameters(), lr=0.5)
    x = tg.tensor(np.ones((1, 3)))
    lazy(x).sum().backward()
    before = weight.numpy().copy()
    opt.step()
    assert lazy.weight is weight and type(weight) is nn.Parameter
    np.testing.assert_allclose(weight.numpy(), before - 0.5, rtol=1e-12)


def test_lazy_module_on_device(device):
    """Uninitialized tensors made on a device are materialized there, with their dtype."""
    m = nn.Sequential(nn.LazyLinear(3, device=device, dtype=np.float64), nn.LazyBatchNorm1d(device=device,
                                                                                           dtype=np.float64))
    assert m[0].weight.device == device
    y = m(tg.tensor(np.ones((4, 2)), device=device))
    assert y.shape == (4, 3) and y.device == device
    assert all(v.device == device for v in m.state_dict().values())
    assert m[0].weight.dtype == np.float64 and type(m[1]) is nn.BatchNorm1d


@pytest.mark.parametrize("cls", [nn.LazyBatchNorm1d, lambda: nn.LazyInstanceNorm1d(track_running_stats=True)])
def test_lazy_norm_buffers_stay_uninitialized_through_to_and_double(cls):
    """Module.to / double before the first forward cast a lazy norm's running statistics but keep them
    uninitialized (torch's), so the first forward still materializes them, in the new dtype."""
    for convert in (lambda m: m.to(tg.float64), lambda m: m.double()):
        m = convert(cls())
        assert nn.module.is_lazy(m.running_mean) and m.running_mean.dtype == np.float64
        y = m(tg.tensor(np.arange(12.0).reshape(2, 3, 2)))
        assert y.dtype == np.float64 and m.running_mean.shape == (3,) and m.running_var.dtype == np.float64

def test_repr_is_readable():
    text = repr(Toy())
    assert text.startswith("Toy(\n")
    assert "  (embed): Embedding(5, 3)\n" in text
    assert "  (layers): ModuleList(\n    (0): Linear(in_features=3, out_features=4, bias=True)\n" in text
    assert "    (1): Linear(in_features=4, out_features=4, bias=False)\n  )\n" in text
    assert "    (1): Dropout(p=0.1, inplace=False)\n" in text
    assert text.endswith("\n)")
    assert repr(nn.Embedding(10, 4, padding_idx=-1)) == "Embedding(10, 4, padding_idx=9)"
    assert repr(nn.Module()) == "Module()"


# ============================================================================ Linear
@given(st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(1, 3), max_size=2), st.booleans(),
       st.integers(0, 2 ** 32 - 1))
def test_linear_matches_numpy_and_gradcheck(fin, fout, lead, bias, seed):
    lin = nn.Linear(fin, fout, bias=bias, dtype=np.float64)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=tuple(lead) + (fin,))
    W = lin.weight.numpy()
    expected = x @ W.T + (lin.bias.numpy() if bias else 0.0)
    xt = t64(x, requires_grad=True)
    out = lin(xt)
    assert out.shape == tuple(lead) + (fout,)
    np.testing.assert_allclose(out.numpy(), expected, **CLOSE64)
    params = [lin.weight] + ([lin.bias] if bias else [])
    assert tg.gradcheck(lambda a, *ps: lin(a), [xt] + params)


def test_linear_gradients_closed_form():
    lin = nn.Linear(3, 2, dtype=np.float64)
    x = np.arange(6.0).reshape(2, 3)
    g = np.array([[1.0, -1.0], [0.5, 2.0]])
    (lin(t64(x)) * t64(g)).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), g.T @ x, **CLOSE64)
    np.testing.assert_allclose(lin.bias.grad.numpy(), g.sum(0), **CLOSE64)


def test_linear_dtypes_must_match():
    """As torch: no silent promotion of the input or the bias to the weight's dtype (or the other way); a 3-d
    input's error shows its own shape's dtypes, not a flattened matmul's."""
    lin = nn.Linear(4, 3)
    with pytest.raises(TypeError, match="linear: input is torch.float64, weight torch.float32, bias torch.float32; "
                                        "they must share"):
        lin(tg.randn(2, 3, 4, dtype=tg.float64))
    with pytest.raises(TypeError, match="linear: input is torch.float32, weight torch.float32, bias torch.float64"):
        F.linear(tg.randn(2, 4), lin.weight, lin.bias.double())


def test_linear_shape_error():
    with pytest.raises(ValueError, match="linear"):
        nn.Linear(3, 2)(tg.zeros(4, 5))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D \(out_features, in_features\), got shape \(3,\)"):
        F.linear(tg.ones(2, 3), tg.ones(3))


def test_linear_on_device(device):
    lin = nn.Linear(3, 2, device=device, dtype=np.float64)
    assert lin.weight.device == device
    x = np.random.default_rng(0).normal(size=(4, 3))
    out = lin(t64(x, device=device))
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), x @ lin.weight.numpy().T + lin.bias.numpy(), **CLOSE64)
    out.sum().backward()
    assert lin.weight.grad.device == device


# ============================================================================ Embedding
def test_embedding_lookup_matches_numpy_indexing():
    emb = nn.Embedding(6, 4)
    W = emb.weight.numpy()
    for idx in (np.array(3), np.array([0, 5, 2]), np.array([[1, 1], [4, 0], [5, 2]])):
        out = emb(idx)
        assert out.shape == idx.shape + (4,)
        np.testing.assert_array_equal(out.numpy(), W[idx])
    np.testing.assert_array_equal(emb(tg.tensor([2, 0])).numpy(), W[[2, 0]])  # an int64 Tensor works too


def test_embedding_repeated_indices_accumulate():
    emb = nn.Embedding(5, 3, dtype=np.float64)
    idx = np.array([[1, 3, 1], [1, 0, 3]])
    G = np.random.default_rng(0).normal(size=(2, 3, 3))
    (emb(idx) * t64(G)).sum().backward()
    expected = np.zeros((5, 3))
    for pos in np.ndindex(*idx.shape):
        expected[idx[pos]] += G[pos]
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, **CLOSE64)
    assert (emb.weight.grad.numpy()[[2, 4]] == 0).all()
    np.testing.assert_allclose(emb.weight.grad.numpy()[1], G[0, 0] + G[0, 2] + G[1, 0], **CLOSE64)


@pytest.mark.parametrize("padding_idx", [0, 2, -1])
def test_embedding_padding_idx(padding_idx):
    emb = nn.Embedding(4, 3, padding_idx=padding_idx, dtype=np.float64)
    pad = padding_idx % 4
    assert (emb.weight.numpy()[pad] == 0).all()  # initialised to zero
    emb.weight.array[pad] = 1.5  # even a non-zero padding row gets no gradient
    a, b = [r for r in range(4) if r != pad][:2]
    idx = np.array([pad, a, pad, a, b])
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy()[0], np.full(3, 1.5))
    (out * t64(np.arange(15.0).reshape(5, 3))).sum().backward()
    grad = emb.weight.grad.numpy()
    assert (grad[pad] == 0).all()
    np.testing.assert_allclose(grad[a], np.arange(3.0, 6.0) + np.arange(9.0, 12.0), **CLOSE64)
    np.testing.assert_allclose(grad[b], np.arange(12.0, 15.0), **CLOSE64)


def test_embedding_gradcheck():
    # without padding_idx (whose zero gradient is by design not the true derivative)
    emb = nn.Embedding(4, 2, dtype=np.float64)
    idx = np.array([[0, 1], [3, 0]])
    assert tg.gradcheck(lambda w: emb(idx) * 2.0, [emb.weight])


@with_fixtures
@given(n=st.integers(1, 4), d=st.integers(0, 3), data=st.data())
def test_embedding_property(device, n, d, data):
    """weight[input] for any index shape (0-d, size-1, empty): its gradient against central differences; with a
    padding_idx (negative too) the same rows, and the gradient without padding_idx's, zero in the padding row
    (by design, so not a central difference there)."""
    idx = data.draw(hnp.arrays(np.int64, shapes(max_dims=2, min_side=0), elements=st.integers(0, n - 1)), label="idx")
    w = data.draw(arrays((n, d)), label="weight")
    check_op(lambda t: F.embedding(idx, t), lambda a: a[idx], [w], device, gradgrad=True)
    check_op(lambda t: F.embedding(tg.tensor(idx, device=device), t), lambda a: a[idx], [w], device)
    pad = data.draw(st.integers(-n, n - 1), label="padding_idx")
    up = np.random.default_rng(0).standard_normal(idx.shape + (d,))
    want = np.zeros((n, d))
    np.add.at(want, idx, up)
    want[pad % n] = 0.0
    wt = tg.tensor(w, device=device, requires_grad=True)
    out = F.embedding(idx, wt, padding_idx=pad)
    np.testing.assert_array_equal(out.numpy(), w[idx])
    out.backward(tg.tensor(up, device=device))
    np.testing.assert_allclose(wt.grad.numpy(), want, rtol=1e-12, atol=1e-15)

def test_embedding_out_of_range():
    emb = nn.Embedding(4, 2)
    for bad in (np.array([0, 4]), np.array([-1, 2]), np.array([[0], [-5]])):
        with pytest.raises(IndexError, match="embedding"):
            emb(bad)
    with pytest.raises(TypeError, match="embedding"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D \(num_embeddings, embedding_dim\)"):
        F.embedding(np.array([0, 1]), tg.ones(4))


def _bag_reference(w, flat, starts, ends, mode, psw, pad):
    """numpy: each bag's rows (padding_idx left out) summed (scaled by psw), averaged or maxed; empty bags zero."""
    out = np.zeros((len(starts), w.shape[1]))
    for b, (i, j) in enumerate(zip(starts, ends)):
        keep = [k for k in range(i, j) if pad is None or flat[k] != pad % w.shape[0]]
        if keep:
            rows = w[flat[keep]] * (1.0 if psw is None else psw.reshape(-1)[keep][:, None])
            out[b] = rows.max(0) if mode == "max" else rows.sum(0) / (len(keep) if mode == "mean" else 1)
    return out


@with_fixtures
@given(n=st.integers(1, 4), d=st.integers(1, 3), mode=st.sampled_from(["sum", "mean", "max"]), data=st.data())
def test_embedding_bag_property(device, n, d, mode, data):
    """F.embedding_bag against a numpy loop over the bags, its gradients against central differences: a 2-d input
    (a bag a row) or a 1-d one cut at offsets (empty bags too, include_last_offset), padding_idx, per_sample_weights
    for 'sum' (distinct weights for 'max', so that no maximum ties)."""
    two_d = data.draw(st.booleans(), label="2-d")
    if two_d:
        shape = data.draw(st.tuples(st.integers(0, 3), st.integers(0, 3)), label="shape")
    else:
        shape = (data.draw(st.integers(0, 6), label="length"),)
    idx = np.asarray(data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, n - 1)), label="idx"))
    last = data.draw(st.booleans(), label="include_last_offset")
    if two_d:
        offsets, starts = None, np.arange(shape[0]) * shape[1]
        ends = starts + shape[1]
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, shape[0]), max_size=3), label="cuts"))
        offsets = np.array([0] + cuts + ([shape[0]] if last else []), np.int64)
        bounds = list(offsets) + ([] if last else [shape[0]])
        starts, ends = np.array(bounds[:-1], np.int64), np.array(bounds[1:], np.int64)
    pad = data.draw(st.none() | st.integers(-n, n - 1), label="padding_idx")
    w = data.draw(distinct([(n, d)]), label="weight")[0] if mode == "max" else data.draw(arrays((n, d)), label="w")
    psw = data.draw(arrays(shape), label="psw") if mode == "sum" and data.draw(st.booleans()) else None
    kw = dict(offsets=None if offsets is None else tg.tensor(offsets, device=device), mode=mode,
              include_last_offset=last, padding_idx=pad)
    flat = idx.reshape(-1)
    if psw is None:
        check_op(lambda t: F.embedding_bag(tg.tensor(idx, device=device), t, **kw),
                 lambda a: _bag_reference(a, flat, starts, ends, mode, None, pad), [w], device)
    else:
        check_op(lambda t, p: F.embedding_bag(idx, t, per_sample_weights=p, **kw),
                 lambda a, p: _bag_reference(a, flat, starts, ends, mode, p, pad), [w, psw], device, gradgrad=True)


def test_embedding_bag_max_ties_and_empty_bags():
    """'max': a tie's gradient goes to the bag's first maximum, as torch's; an empty bag (or one of padding only)
    gives zeros and no gradient."""
    w = t64([[1.0, 2.0], [1.0, 2.0], [0.0, 3.0], [5.0, 5.0]], requires_grad=True)
    out = F.embedding_bag(np.array([0, 1, 2, 3]), w, np.array([0, 3, 3]), mode="max", padding_idx=3)
    assert out.tolist() == [[1.0, 3.0], [0.0, 0.0], [0.0, 0.0]]
    out.sum().backward()
    assert w.grad.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]


@pytest.mark.parametrize("offsets", [[0, 2, 5, 8], [0, 2, 5, 6], [0, 2], [0, 2, 2, 5]])
@pytest.mark.parametrize("mode, sparse", [("sum", False), ("mean", True), ("max", False)])
def test_embedding_bag_include_last_offset_runs_the_last_bag_to_the_end_as_torch(device, offsets, mode, sparse):
    """include_last_offset=True with offsets[-1] short of len(input): torch's last bag still runs to the end of
    input (values and weight gradient), where this refused it."""
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(0).standard_normal((10, 3))
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(w0, requires_grad=True, device=dev)
        out = lib.nn.functional.embedding_bag(lib.tensor([1, 2, 4, 5, 4, 3, 2, 9], device=dev), w,
                                              lib.tensor(offsets, device=dev), mode=mode, sparse=sparse,
                                              include_last_offset=True)
        (out * lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)), device=dev)).sum() \
            .backward()
        g = w.grad.to_dense() if w.grad.is_sparse else w.grad
        got.append((out.detach().cpu().numpy(), g.detach().cpu().numpy()))
    for x, y in zip(got[0], got[1]):
        np.testing.assert_allclose(y, x, rtol=1e-13, atol=1e-15)


def test_embedding_bag_errors():
    w = tg.ones(5, 3)
    cases = [((np.array([1, 2]), w, np.array([1])), {}, ValueError, r"offsets\[0\] must be 0"),
             ((np.array([1, 2]), w, np.array([0, 2, 1])), {}, ValueError, "non-decreasing"),
             ((np.array([1, 2]), w, np.array([0, 3])), {}, ValueError, r"offsets\[-1\] must be at most .* 2, got 3"),
             ((np.array([1, 2]), w, np.zeros(0, np.int64)), {}, ValueError, "non-empty 1-d"),
             ((np.array([1, 2]), w, np.array([0.0])), {}, TypeError, "offsets must be integers"),
             ((np.array([1, 2]), w), {}, ValueError, "1-d input needs offsets"),
             ((np.array([[1, 2]]), w, np.array([0])), {}, ValueError, "offsets must be None"),
             ((np.zeros((1, 1, 2), np.int64), w), {}, ValueError, r"1-d \(with offsets\) or 2-d"),
             ((np.array([[1, 5]]), w), {}, IndexError, r"\[0, 5\)"),
             ((np.array([[1.0]]), w), {}, TypeError, "integers"),
             ((np.array([[1]]), tg.ones(5)), {}, ValueError, "weight must be 2-D"),
             ((np.array([[1]]), w), dict(mode="median"), ValueError, "mode must be one of"),
             ((np.array([[1]]), w), dict(padding_idx=5), ValueError, r"padding_idx must lie in \[-5, 4\]"),
             ((np.array([[1]]), w), dict(include_last_offset=1), TypeError, "include_last_offset must be a bool"),
             ((np.array([[1]]), w), dict(per_sample_weights=tg.ones(1, 1)), NotImplementedError, "mode='sum'"),
             ((np.array([[1]]), w), dict(mode="sum", per_sample_weights=tg.ones(1, 2)), ValueError, r"\(1, 2\)"),
             ((np.array([[1]]), w), dict(mode="sum", per_sample_weights=t64([[1.0]])), TypeError, "float64")]
    for args, kw, err, match in cases:
        with pytest.raises(err, match="embedding_bag: .*" + match):
            F.embedding_bag(*args, **kw)


def test_embedding_bag_module():
    """nn.EmbeddingBag: torch's repr, a zero padding row at init, forward(input, offsets, per_sample_weights), and
    from_pretrained (a frozen copy, or trained with freeze=False)."""
    bag = nn.EmbeddingBag(5, 3, mode="max", include_last_offset=True, padding_idx=-2, dtype=np.float64)
    assert repr(bag) == "EmbeddingBag(5, 3, mode='max', padding_idx=3)" and list(bag.state_dict()) == ["weight"]
    assert (bag.weight.numpy()[3] == 0).all() and repr(nn.EmbeddingBag(2, 1)) == "EmbeddingBag(2, 1, mode='mean')"
    W = bag.weight.numpy()
    np.testing.assert_array_equal(bag(tg.tensor([0, 1, 4]), tg.tensor([0, 2, 3])).numpy(),
                                  np.stack([W[[0, 1]].max(0), W[4]]))
    table = np.arange(6.0).reshape(3, 2)
    frozen = nn.EmbeddingBag.from_pretrained(table, mode="sum")
    assert not frozen.weight.requires_grad and frozen.mode == "sum"
    assert frozen(tg.tensor([[0, 1], [2, 2]])).tolist() == [[2.0, 4.0], [8.0, 10.0]]
    table[0, 0] = 99.0
    assert frozen.weight.numpy()[0, 0] == 0.0
    trained = nn.EmbeddingBag.from_pretrained(table, freeze=False, padding_idx=0)
    out = trained(tg.tensor([0, 1, 2]), tg.tensor([0, 2]))
    assert out.tolist() == [[2.0, 3.0], [4.0, 5.0]]  # bag 0 is row 1 alone: row 0 is padding
    out.sum().backward()
    assert trained.weight.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match="EmbeddingBag: mode must be one of"):
        nn.EmbeddingBag(5, 3, mode="median")
    with pytest.raises(ValueError, match="EmbeddingBag.from_pretrained: embeddings must be 2-D"):
        nn.EmbeddingBag.from_pretrained(np.ones(3))


# ============================================================================ Dropout
def test_dropout_eval_is_identity():
    d = nn.Dropout(0.5).eval()
    x = tg.randn(50, 40)
    out = d(x)
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.9, training=False).numpy(), x.numpy())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_zeroes_p_and_scales(p):
    x = tg.tensor(np.random.default_rng(99).uniform(1.0, 2.0, (300, 400)), requires_grad=True)
    tg.manual_seed(0)  # a different stream from x's, so the mask is independent of the values
    out = nn.Dropout(p)(x)
    v, xv = out.numpy(), x.numpy()
    dropped = v == 0
    assert abs(dropped.mean() - p) < 0.01  # 120,000 draws: std of the fraction < 0.0015
    np.testing.assert_allclose(v[~dropped], xv[~dropped] / (1 - p), rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0.0, 1 / (1 - p)), rtol=1e-6)
    assert abs(v.mean() - xv.mean()) / xv.mean() < 0.02  # the expectation is kept


def test_dropout_edge_probabilities_and_validation():
    x = tg.randn(10, 10)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()
    for p in (-0.1, 1.1):
        with pytest.raises(ValueError, match="Dropout"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match="dropout"):
            F.dropout(x, p)


def test_dropout_on_device(device):
    tg.manual_seed(0)
    x = tg.ones(200, 100, device=device)
    out = nn.Dropout(0.25)(x)
    assert out.device == device
    v = out.numpy()
    assert abs((v == 0).mean() - 0.25) < 0.02
    np.testing.assert_allclose(v[v != 0], 1 / 0.75, rtol=1e-6)


# ============================================================================ containers
# ============================================================================ activations
@pytest.mark.parametrize("module, ref", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Identity(54, unused="ignored"), lambda x: x),
    (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
    (nn.LogSoftmax(1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
])
def test_activation_modules_match_numpy(module, ref):
    x = np.random.default_rng(3).normal(size=(4, 3))
    np.testing.assert_allclose(module(t64(x)).numpy(), ref(x), **CLOSE64)
    assert list(module.parameters()) == [] and list(module.state_dict()) == []


def test_activation_in_sequential_and_repr():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.LogSoftmax(dim=-1))
    x = tg.randn(5, 3)
    lin0, lin2 = net[0], net[2]
    h = np.maximum(x.numpy() @ lin0.weight.numpy().T + lin0.bias.numpy(), 0)
    z = h @ lin2.weight.numpy().T + lin2.bias.numpy()
    np.testing.assert_allclose(net(x).numpy(), z - np.log(np.exp(z).sum(-1, keepdims=True)), rtol=1e-5, atol=1e-6)
    assert "(1): ReLU()" in repr(net) and "(3): LogSoftmax(dim=-1)" in repr(net)
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"


def test_sequential_indexing_len_and_forward():
    l1, l2 = nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 2, dtype=np.float64)
    seq = nn.Sequential(l1, l2)
    assert len(seq) == 2 and seq[0] is l1 and seq[1] is l2 and seq[-1] is l2
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 1 and sub[0] is l2
    with pytest.raises(IndexError):
        seq[2]
    x = np.random.default_rng(0).normal(size=(5, 3))
    h = x @ l1.weight.numpy().T + l1.bias.numpy()
    np.testing.assert_allclose(seq(t64(x)).numpy(), h @ l2.weight.numpy().T + l2.bias.numpy(), **CLOSE64)
    assert [k for k, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_module_list_indexing_len_iter_append():
    ml = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 2)])
    assert len(ml) == 2 and ml[-1].out_features == 2
    extra = nn.Linear(2, 3)
    assert ml.append(extra) is ml and len(ml) == 3 and ml[2] is extra
    assert list(ml) == [ml[0], ml[1], extra]
    part = ml[:2]
    assert isinstance(part, nn.ModuleList) and list(part) == [ml[0], ml[1]]
    assert [k for k, _ in ml.named_parameters()][-2:] == ["2.weight", "2.bias"]
    with pytest.raises(TypeError, match="ModuleList"):
        ml.append(tg.zeros(1))
    assert len(nn.ModuleList()) == 0


@pytest.mark.parametrize("cls", [lambda *m: nn.Sequential(*m), lambda *m: nn.ModuleList(m)])
def test_positional_containers_set_delete_insert_pop_like_torch(cls):
    """m[i] = module keeps the name at i; del (an index or a slice), insert and pop renumber the rest '0', '1', ...,
    and the parameters follow the modules."""
    a, b, c, d, e = (nn.Linear(1, k) for k in range(1, 6))
    m = cls(a, b, c, d)
    del m[1]
    assert list(m) == [a, c, d] and list(m._modules) == ["0", "1", "2"] and m[1] is c
    m.insert(-1, e)
    assert list(m) == [a, c, e, d]
    assert m.pop(0) is a and list(m) == [c, e, d] and m.pop() is d and list(m) == [c, e]
    m[-1] = b
    assert list(m) == [c, b] and list(m._modules) == ["0", "1"]
    assert [k for k, _ in m.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert m[1].out_features == 2 and not hasattr(m, "2")
    assert m.insert(2, a) is m  # (n: the end; torch's Sequential.insert returns it too, for chaining)
    del m[0:2]
    assert list(m) == [a] and list(m._modules) == ["0"]
    m.extend([b, c])
    part = m.pop(slice(1, 3))
    assert list(part) == [b, c] and type(part) is type(m) and list(m) == [a]
    with pytest.raises(IndexError, match="insert: index 3 is out of range for 1 modules"):
        m.insert(3, b)
    with pytest.raises(IndexError, match=r"__setitem__: index 3 is out of range for 1 modules"):
        m[3] = b
    with pytest.raises(TypeError, match=r"__setitem__: expected a Module, got function"):
        m[0] = tg.tanh
    with pytest.raises(TypeError, match=r"insert: expected a Module"):
        m.insert(0, tg.zeros(1))
    with pytest.raises(TypeError, match=r"__delitem__: an index must be an int, got str"):
        del m["0"]
    with pytest.raises(IndexError, match="pop: index 1 is out of range"):
        m.pop(1)


def test_renumbering_keeps_empty_slots():
    """An empty slot (None) is a slot: del, insert and pop renumber it with the others, as torch does."""
    a, b = nn.Linear(1, 1), nn.Linear(1, 2)
    s = nn.Sequential(a, b)
    s.add_module("2", None)
    del s[0]
    assert list(s._modules.items()) == [("0", b), ("1", None)] and s[1] is None and len(s) == 2
    s.insert(0, a)
    assert list(s._modules.items()) == [("0", a), ("1", b), ("2", None)] and s.pop() is None and len(s) == 2


def test_sequential_runs_its_modules_in_their_new_order():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = tg.randn(4, 2)
    expected = seq[2](seq[0](x))
    del seq[1]
    np.testing.assert_allclose(seq(x).numpy(), expected.numpy(), rtol=1e-6)


# ============================================================================ one_hot, sequence_mask
def test_one_hot_values_and_errors():
    idx = np.array([[0, 3], [2, 2]])
    out = F.one_hot(idx, 5)
    assert out.dtype == np.int64 and out.shape == (2, 2, 5)
    np.testing.assert_array_equal(out.numpy(), np.eye(5, dtype=np.int64)[idx])
    np.testing.assert_array_equal(F.one_hot(tg.tensor([1, 0])).numpy(), [[0, 1], [1, 0]])  # inferred C = 2
    for bad in (np.array([0, 5]), np.array([-1, 0])):
        with pytest.raises(ValueError, match="one_hot"):
            F.one_hot(bad, 5)
    with pytest.raises(TypeError, match="one_hot"):
        F.one_hot(np.array([0.0]), 2)


def test_sequence_mask():
    lengths = np.array([3, 1, 4, 0])
    expected = np.array([[t < n for n in lengths] for t in range(4)])  # (T, B)
    m = F.sequence_mask(lengths)
    assert m.dtype == np.bool_ and m.shape == (4, 4)
    np.testing.assert_array_equal(m.numpy(), expected)
    np.testing.assert_array_equal(F.sequence_mask(lengths, batch_first=True).numpy(), expected.T)
    np.testing.assert_array_equal(F.sequence_mask(tg.tensor([2, 1]), max_len=5).numpy(),
                                  np.array([[t < n for n in (2, 1)] for t in range(5)]))
    assert F.sequence_mask(np.array([], dtype=np.int64)).shape == (0, 0)
    with pytest.raises(ValueError, match="sequence_mask"):
        F.sequence_mask(np.array([[1, 2]]))
    with pytest.raises(TypeError, match="sequence_mask"):
        F.sequence_mask(np.array([1.0, 2.0]))


def test_module_registration_errors_and_torch_rules():
    """Mistakes that would silently drop parameters or layers raise, as in torch."""
    lin = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'weight'"):
        lin.weight = tg.zeros(2, 3)  # would unregister the weight: never trained, never saved
    assert [k for k, _ in lin.named_parameters()] == ["weight", "bias"]
    lin.bias = None  # None is allowed (an absent parameter)
    assert [k for k, _ in lin.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="Sequential: item 1 is a function"):
        nn.Sequential(nn.Linear(2, 2), tg.tanh, nn.Linear(2, 2))
    seq = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3), nn.Linear(3, 1))
    assert list(seq[1:].state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]  # names kept
    assert seq[1:](tg.ones(1, 2)).shape == (1, 1) and seq[-1] is list(seq.children())[-1]
    with pytest.raises(KeyError, match="'0' already exists"):
        seq.register_parameter("0", nn.Parameter(tg.ones(1)))
    with pytest.raises(ValueError, match="mode must be a bool"):
        seq.train("no")
    with pytest.raises(ValueError, match="expected 'cpu', 'cuda' or a float dtype, got 'tpu'"):
        seq.to("tpu")


def test_sequential_from_an_ordered_dict_names_its_children_by_the_keys():
    """torch's Sequential(OrderedDict([(name, module), ...])): children, state_dict keys and indexing by those
    names, in that order (it was a TypeError, 'item 0 is a OrderedDict'). A plain dict is not taken (torch's
    neither: it is not a Module)."""
    a, b = nn.Linear(2, 3), nn.Linear(3, 1)
    seq = nn.Sequential(OrderedDict([("enc", a), ("act", nn.Tanh()), ("head", b)]))
    assert [k for k, _ in seq.named_children()] == ["enc", "act", "head"] and seq.enc is a and seq[-1] is b
    assert list(seq.state_dict()) == ["enc.weight", "enc.bias", "head.weight", "head.bias"]
    x = tg.randn(4, 2)
    np.testing.assert_array_equal(seq(x).numpy(), b(a(x).tanh()).numpy())
    assert list(seq[1:]._modules) == ["act", "head"]
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["enc", "act", "head", "3"]  # (torch's append: str(len(self)))
    with pytest.raises(TypeError, match="Sequential: item 'act' is a function"):
        nn.Sequential(OrderedDict([("enc", a), ("act", tg.tanh)]))
    with pytest.raises(TypeError, match="Sequential: item 0 is a dict"):
        nn.Sequential({"enc": a})


def test_module_list_plus_and_plus_equals_as_torch():
    """ModuleList += modules extends it in place (the same object, registered: it was a TypeError, unsupported
    operand), and + gives a new ModuleList of both, renumbered, as torch's."""
    a, b, c = nn.Linear(1, 1), nn.Tanh(), nn.Linear(2, 2)
    layers = nn.ModuleList([a])
    same = layers
    layers += [b, c]
    assert layers is same and list(layers) == [a, b, c]
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    both = nn.ModuleList([c]) + layers
    assert isinstance(both, nn.ModuleList) and list(both) == [c, a, b, c] and len(layers) == 3
    assert list(both._modules) == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module, got int"):
        layers += [3]


def test_module_list_extend_needs_an_iterable():
    """As torch ('ModuleList.extend should be called with an iterable'): extend(5), extend(Linear) and ModuleList(5)
    were Python's bare "'int' object is not iterable"; a Sequential, being iterable, extends."""
    a, b = nn.Linear(1, 1), nn.Tanh()
    for make in (lambda bad: nn.ModuleList().extend(bad), lambda bad: nn.ModuleList(bad),
                 lambda bad: nn.Sequential().extend(bad)):
        for bad in (5, a):
            with pytest.raises(TypeError, match=f"(ModuleList|Sequential).extend: expected an iterable of Modules, "
                                                f"got {type(bad).__name__}"):
                make(bad)
    assert list(nn.ModuleList().extend(nn.Sequential(a, b))) == [a, b] and list(nn.ModuleList((a, b))) == [a, b]


def test_sequential_plus_times_and_their_in_place_forms_as_torch():
    """torch's Sequential + Sequential and * n give a new Sequential of the same modules, renumbered (n times: the
    parameters shared); += and *= extend it in place; anything but a Sequential (+) or a positive int (*) is
    refused. (All four were unsupported operands.)"""
    a, b, c = nn.Linear(1, 1), nn.Tanh(), nn.ReLU()
    first, second = nn.Sequential(a, b), nn.Sequential(OrderedDict(relu=c))
    both = first + second
    assert isinstance(both, nn.Sequential) and list(both) == [a, b, c] and list(both._modules) == ["0", "1", "2"]
    assert list(first) == [a, b] and list(first * 2) == [a, b, a, b] == list(2 * first)
    assert [k for k, _ in (first * 2).named_parameters()] == ["0.weight", "0.bias"]  # (shared: listed once)
    same = first
    first += second
    first *= 2
    assert first is same and list(first) == [a, b, c] * 2 and list(first._modules) == [str(i) for i in range(6)]
    with pytest.raises(ValueError, match="only a Sequential can be added"):
        first + [c]
    with pytest.raises(ValueError, match="must be positive"):
        first * 0
    with pytest.raises(TypeError, match="unsupported operand"):
        first * 2.0

def test_module_list_repr_folds_repeated_modules_as_torch():
    """torch's ModuleList repr folds a run of modules printing alike into '(i-j): n x ...' (nested too); a
    Sequential's does not fold. (Each was listed.)"""
    lin = "Linear(in_features=2, out_features=2, bias=True)"
    layers = nn.ModuleList([nn.ReLU()] + [nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(layers) == f"ModuleList(\n  (0): ReLU()\n  (1-3): 3 x {lin}\n  (4): ReLU()\n)"
    nested = nn.Sequential(nn.ModuleList([nn.Tanh(), nn.Tanh()]), nn.Tanh(), nn.Tanh())
    assert repr(nested) == "Sequential(\n  (0): ModuleList(\n    (0-1): 2 x Tanh()\n  )\n  (1): Tanh()\n  (2): Tanh()\n)"
    assert repr(nn.ModuleList([nn.Tanh()])) == "ModuleList(\n  (0): Tanh()\n)" and repr(nn.ModuleList()) == "ModuleList()"

def test_a_submodule_under_two_names_is_visited_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = self.a

    m = Tied()
    calls = []
    m.apply(lambda mod: calls.append(type(mod).__name__))  # an in-place init would otherwise run twice
    assert calls == ["Linear", "Tied"] and [k for k, _ in m.named_children()] == ["a"]


def test_train_calls_each_childs_own_train():
    class Child(nn.Module):
        seen = []

        def train(self, mode=True):
            Child.seen.append(mode)
            return super().train(mode)

    root = nn.Sequential(Child(), nn.Sequential(Child()))
    root.eval()
    assert Child.seen == [False, False] and not any(m.training for m in root.modules())
    root.train()
    assert Child.seen[2:] == [True, True] and all(m.training for m in root.modules())


def test_repr_puts_extra_repr_on_its_own_line_when_there_are_children():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 3)

        def extra_repr(self):
            return "hello"

    assert repr(M()) == "M(\n  hello\n  (a): Linear(in_features=2, out_features=3, bias=True)\n)"


def test_module_dict_registers_by_key_like_torch():
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 1)})
    assert list(md) == ["enc", "dec"] and len(md) == 2 and "enc" in md and isinstance(md["dec"], nn.Linear)
    assert [n for n, _ in md.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    md["extra"] = nn.Tanh()
    md.update([("head", nn.Linear(1, 1))])
    assert list(md.keys()) == ["enc", "dec", "extra", "head"] and len(list(md.values())) == 4
    assert md.pop("extra").__class__ is nn.Tanh and "extra" not in md
    del md["head"]
    assert [k for k, _ in md.items()] == ["enc", "dec"]

    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 2)})

        def forward(self, x):
            return self.heads["a"](x) + self.heads["b"](x)

    m = Heads().double()
    assert list(m.state_dict()) == ["heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]
    assert all(p.dtype == np.float64 for p in m.parameters())
    m(tg.ones(1, 2, dtype=tg.float64)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    with pytest.raises(KeyError, match="'forward' is already an attribute of ModuleDict"):
        nn.ModuleDict({"forward": nn.Tanh()})
    with pytest.raises(KeyError, match="a key must be a non-empty string without '.'"):
        md["a.b"] = nn.Tanh()
    with pytest.raises(TypeError, match="the value for 'x' must be a Module, got int"):
        md["x"] = 3
    assert md.enc is md["enc"]  # keys read as attributes too
    md.extra = nn.Linear(1, 1)
    md["extra"] = nn.Tanh()
    assert md.extra is md["extra"] and isinstance(md.extra, nn.Tanh)
    del md["extra"]
    assert not hasattr(md, "extra")
    md["extra"] = nn.Linear(2, 2)  # a deleted key can come back
    md.clear()
    assert len(md) == 0 and list(md.parameters()) == []
    with pytest.raises(AttributeError, match="no attribute or key 'nothing'"):
        md.nothing


def test_module_to_takes_device_and_dtype_like_torch():
    m = nn.Linear(2, 2)
    assert m.to(None) is m and m.weight.dtype == np.float32
    assert m.to("cpu", tg.float64).weight.dtype == np.float64
    assert m.to(dtype=tg.float32, device="cpu").weight.dtype == np.float32
    with pytest.raises(TypeError, match="parameters must stay floating point"):
        m.to(tg.int64)
    with pytest.raises(ValueError, match="Linear.to: device must be 'cpu' or 'cuda'"):  # (before the cast: the
        m.to("cuda:x", tg.float64)                                                        # module stays float32)
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32


def test_embedding_from_pretrained_copies_and_freezes():
    table = np.arange(6.0).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.weight.dtype == np.float64
    assert emb(tg.tensor([2, 0])).tolist() == [[4.0, 5.0], [0.0, 1.0]]
    table[0, 0] = 99.0
    assert emb.weight.numpy()[0, 0] == 0.0  # a copy
    trainable = nn.Embedding.from_pretrained(tg.tensor(np.ones((4, 3), np.float32)), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert trainable.weight.numpy()[1].tolist() == [1.0, 1.0, 1.0]  # the given padding row is kept
    trainable(tg.tensor([1, 2])).sum().backward()
    assert trainable.weight.grad.numpy()[1].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="from_pretrained: embeddings must be 2-D"):
        nn.Embedding.from_pretrained(np.ones(3))
    with pytest.raises(ValueError, match=r"_weight has shape \(5, 3\), expected .* \(10, 4\)"):
        nn.Embedding(10, 4, _weight=tg.ones(5, 3))
    tg.manual_seed(0)
    nn.Embedding.from_pretrained(np.ones((50, 4)))  # draws no random init, as torch's (the seed's stream goes on)
    after = tg.randn(3).tolist()
    tg.manual_seed(0)
    assert tg.randn(3).tolist() == after


def _layers(L):
    """Layers whose parameters and buffers torch makes in the default dtype (and one told its dtype)."""
    n = L.nn
    return {"Linear": lambda: n.Linear(2, 3), "Embedding": lambda: n.Embedding(4, 2),
            "LayerNorm": lambda: n.LayerNorm(2), "RMSNorm": lambda: n.RMSNorm(2),
            "BatchNorm1d": lambda: n.BatchNorm1d(2), "PReLU": lambda: n.PReLU(), "Conv1d": lambda: n.Conv1d(2, 2, 3),
            "MultiheadAttention": lambda: n.MultiheadAttention(4, 2, kdim=3, vdim=3),
            "RNN": lambda: n.RNN(2, 3, 2, bidirectional=True), "LSTM": lambda: n.LSTM(2, 3, proj_size=2),
            "GRU": lambda: n.GRU(2, 3), "RNNCell": lambda: n.RNNCell(2, 3), "LSTMCell": lambda: n.LSTMCell(2, 3),
            "GRUCell": lambda: n.GRUCell(2, 3), "Linear(dtype=float32)": lambda: n.Linear(2, 3, dtype=L.float32)}


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_layers_make_parameters_and_buffers_in_the_default_dtype_as_torchs(dtype):
    """Under torch.set_default_dtype every layer's parameters and float buffers are of the default dtype (they were
    float32 always, so a float64 model refused float64 inputs); BatchNorm's num_batches_tracked stays int64."""
    torch = pytest.importorskip("torch")
    from conftest import default_dtype
    with default_dtype(dtype):
        ours = {k: [(n, str(np.dtype(t.dtype))) for n, t in f().state_dict().items()] for k, f in _layers(tg).items()}
        want = {k: [(n, str(t.dtype).replace("torch.", "")) for n, t in f().state_dict().items()]
                for k, f in _layers(torch).items()}
    assert ours == want


def test_embedding_arguments_in_torch_order():
    """torch's positional order: padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight, _freeze,
    device, dtype (EmbeddingBag: max_norm, norm_type, scale_grad_by_freq, mode, sparse, ...)."""
    emb = nn.Embedding(4, 3, None, 1.5, 1.0, False, True, None, False, "cpu", np.float64)
    assert (emb.max_norm, emb.norm_type, emb.sparse, emb.weight.dtype) == (1.5, 1.0, True, np.float64)
    emb = nn.Embedding(4, 3, 0, device="cpu", dtype=np.float64)
    assert emb.weight.dtype == np.float64 and emb.weight.numpy()[0].tolist() == [0.0] * 3
    w = tg.tensor(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(nn.Embedding(3, 2, _weight=w).weight.numpy(), w.numpy())
    assert not nn.Embedding(3, 2, _weight=w, _freeze=True).weight.requires_grad
    bag = nn.EmbeddingBag(4, 3, 2.0, 1.0, False, "sum", True)
    assert (bag.max_norm, bag.norm_type, bag.mode, bag.sparse) == (2.0, 1.0, "sum", True)
    assert nn.Embedding(4, 3, None, None, 2.0, True).scale_grad_by_freq
    for make in (lambda: nn.EmbeddingBag(4, 3, scale_grad_by_freq=True),
                 lambda: F.embedding_bag(tg.tensor([[0]]), tg.ones(2, 2), scale_grad_by_freq=True)):
        with pytest.raises(NotImplementedError, match="scale_grad_by_freq=True is not supported"):
            make()


def test_embedding_reprs_as_torch():
    torch = pytest.importorskip("torch")
    for kw in (dict(), dict(padding_idx=1, max_norm=1.0, norm_type=1.0, sparse=True), dict(max_norm=1)):
        assert repr(nn.Embedding(3, 2, **kw)) == repr(torch.nn.Embedding(3, 2, **kw))
    for kw in (dict(), dict(max_norm=1.0, norm_type=3.0, mode="sum", sparse=True, padding_idx=0)):
        assert repr(nn.EmbeddingBag(3, 2, **kw)) == repr(torch.nn.EmbeddingBag(3, 2, **kw))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("bag", [False, True])
def test_embedding_max_norm_and_sparse_match_torch(device, norm_type, bag):
    """max_norm renormalizes the rows looked up, in the weight itself, as torch's (repeated indices once, rows not
    looked up left alone); sparse=True gives torch's sparse gradient, dense: the values and gradients match."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 3)) * np.array([[0.1], [2.0], [0.5], [3.0], [1.0], [4.0]])
    idx = np.array([1, 0, 3, 1, 2, 3])
    offsets = np.array([0, 2, 5])
    ours = (nn.EmbeddingBag(6, 3, max_norm=1.0, norm_type=norm_type, mode="sum", sparse=True, dtype=np.float64)
            if bag else nn.Embedding(6, 3, max_norm=1.0, norm_type=norm_type, sparse=True, dtype=np.float64))
    ours.to(device)
    ref = (torch.nn.EmbeddingBag(6, 3, max_norm=1.0, norm_type=norm_type, mode="sum", sparse=True)
           if bag else torch.nn.Embedding(6, 3, max_norm=1.0, norm_type=norm_type, sparse=True)).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(W))
    ours.weight.data.copy_(tg.tensor(W, device=device))
    args = (tg.tensor(idx, device=device),) + ((tg.tensor(offsets, device=device),) if bag else ())
    out = ours(*args)
    want = ref(torch.from_numpy(idx), *((torch.from_numpy(offsets),) if bag else ()))
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.weight.numpy(), ref.weight.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert ours.weight.numpy()[[4, 5]].tolist() == W[[4, 5]].tolist()  # not looked up: not renormalized
    g = rng.normal(size=want.shape)
    (out * tg.tensor(g, device=device)).sum().backward()
    (want * torch.from_numpy(g)).sum().backward()
    assert ours.weight.grad.is_sparse  # (an entry per position looked up, as torch's)
    assert ours.weight.grad._indices().tolist() == ref.weight.grad._indices().tolist()
    np.testing.assert_allclose(ours.weight.grad.to_dense().numpy(), ref.weight.grad.to_dense().numpy(), rtol=1e-12)


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_scale_grad_by_freq_matches_torch(device, padding_idx):
    """scale_grad_by_freq: each row's gradient over the number of times its index occurs in the batch, as torch's
    (values unchanged; with max_norm and padding_idx too)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    W = rng.normal(size=(5, 3)) * 2
    idx = np.array([[1, 1, 2, 0], [1, 3, 0, 3]])
    g = rng.normal(size=(2, 4, 3))
    for max_norm in (None, 1.0):
        w = tg.tensor(W, requires_grad=True, device=device)
        out = F.embedding(tg.tensor(idx, device=device), w, padding_idx, max_norm, scale_grad_by_freq=True)
        (out * tg.tensor(g, device=device)).sum().backward()
        tw = torch.tensor(W, requires_grad=True)
        want = torch.nn.functional.embedding(torch.from_numpy(idx), tw, padding_idx, max_norm,
                                             scale_grad_by_freq=True)
        (want * torch.from_numpy(g)).sum().backward()
        np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)
    emb = nn.Embedding(5, 3, padding_idx, scale_grad_by_freq=True, dtype=np.float64).to(device)
    ref = torch.nn.Embedding(5, 3, padding_idx, scale_grad_by_freq=True).double()
    assert repr(emb) == repr(ref)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(emb.weight.numpy()))
    emb(tg.tensor(idx, device=device)).sum().backward()
    ref(torch.from_numpy(idx)).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-12)


@with_fixtures
@given(n=st.integers(1, 5), d=st.integers(1, 3), data=st.data())
def test_embedding_scale_grad_by_freq_property(device, n, d, data):
    """The gradient of sum(embedding(idx, w, scale_grad_by_freq=True) * G) is G at each position over its index's
    count, summed into its row (the padding row none); its own gradient (second order) is a constant, so zero."""
    idx = np.asarray(data.draw(hnp.arrays(np.int64, st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                          elements=st.integers(0, n - 1)), label="idx"))
    pad = data.draw(st.none() | st.integers(0, n - 1), label="padding_idx")
    W, G = data.draw(arrays((n, d)), label="w"), data.draw(arrays(idx.shape + (d,)), label="g")
    w = tg.tensor(W, requires_grad=True, device=device)
    out = F.embedding(tg.tensor(idx, device=device), w, pad, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.numpy(), W[idx])
    (grad,) = tg.autograd.grad((out * tg.tensor(G, device=device)).sum(), w, create_graph=True)
    want = np.zeros((n, d))
    counts = np.bincount(idx.reshape(-1), minlength=n)
    for pos in np.ndindex(idx.shape):
        if idx[pos] != pad:
            want[idx[pos]] += G[pos] / counts[idx[pos]]
    np.testing.assert_allclose(grad.numpy(), want, rtol=1e-12, atol=1e-14)
    if grad.requires_grad:
        (second,) = tg.autograd.grad(grad.sum(), w, allow_unused=True)
        assert second is None or not second.numpy().any()


def test_embedding_bag_sparse_flag_as_the_text_classification_tutorial():
    """nn.EmbeddingBag(vocab_size, embed_dim, sparse=False) (torch's tutorial) builds; F.embedding_bag takes
    torch's positional order (input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode)."""
    bag = nn.EmbeddingBag(5, 2, sparse=False)
    w = bag.weight.numpy()
    out = F.embedding_bag(tg.tensor([0, 1, 4]), bag.weight, tg.tensor([0, 2]), None, 2, False, "sum")
    np.testing.assert_allclose(out.numpy(), [w[0] + w[1], w[4]], rtol=1e-6)


def test_load_state_dict_raises_torchs_runtime_error_with_its_message():
    """A checkpoint that does not fit raises torch's RuntimeError ('Error(s) in loading state_dict for ...', missing,
    then unexpected keys, then size mismatches), so a port's ``except RuntimeError`` around load_state_dict (a
    fallback to strict=False, a partial load) catches it: it was a ValueError, which such code let through."""
    torch = pytest.importorskip("torch")

    def failure(lib, sd):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
        with pytest.raises(RuntimeError) as info:
            m.load_state_dict({k: lib.tensor(v) for k, v in sd.items()})
        return str(info.value)
    good = {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3), "2.weight": np.zeros((1, 3)), "2.bias": np.zeros(1)}
    cases = [{k: v for k, v in good.items() if k != "2.bias"}, dict(good, extra=np.zeros(1)),
             dict(good, **{"0.weight": np.zeros((2, 3))}),
             dict({k: v for k, v in good.items() if k != "0.bias"}, x=np.zeros(1), **{"2.weight": np.zeros(3)})]
    for sd in cases:
        assert failure(tg, sd) == failure(torch, sd)


def test_load_state_dict_needs_a_mapping_of_tensors_or_arrays():
    m = nn.Linear(1, 1)
    with pytest.raises(TypeError, match=r"Linear.load_state_dict: expected a mapping of parameter/buffer names "
                                        r"to Tensors or arrays .*got list"):
        m.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match=r'(?s)While copying the parameter named "weight", expected torch.Tensor or '
                                           r"Tensor-like object from checkpoint but received <class 'NoneType'>.*"
                                           r"received <class 'str'>"):
        m.load_state_dict({"weight": None, "bias": "0.5"})
    m.load_state_dict(OrderedDict(weight=np.array([[2.0]]), bias=tg.tensor([0.5])))  # arrays and Tensors load
    assert m.weight.item() == 2.0 and m.bias.item() == 0.5


def test_add_module_get_submodule_append_extend_and_flatten_parameters_as_torch():
    m = nn.Module()
    m.add_module("enc", nn.Linear(2, 3))
    m.register_module("head", nn.Sequential(nn.Linear(3, 1)))
    m.add_module("unused", None)  # (a named slot for a module, as torch allows)
    assert list(dict(m.named_parameters())) == ["enc.weight", "enc.bias", "head.0.weight", "head.0.bias"]
    assert m.get_submodule("head.0") is m.head[0] and m.get_submodule("") is m and m.unused is None
    with pytest.raises(AttributeError, match="Linear at 'head.0' has no submodule 'x'"):
        m.get_submodule("head.0.x")
    for bad, err in (("a.b", KeyError), ("", KeyError), ("enc2", TypeError)):
        with pytest.raises(err):
            m.add_module(bad, nn.Tanh() if err is KeyError else "not a module")
    with pytest.raises(TypeError, match="module name must be a str"):
        m.add_module(3, nn.Tanh())
    with pytest.raises(TypeError, match="target must be a dotted str"):
        m.get_submodule(None)
    m.w = nn.Parameter(tg.zeros(1))
    with pytest.raises(KeyError, match="attribute 'w' already exists"):
        m.add_module("w", nn.Tanh())
    s = nn.Sequential(nn.Linear(2, 2)).append(nn.Tanh())
    assert len(s) == 2 and isinstance(s[1], nn.Tanh) and list(s.state_dict()) == ["0.weight", "0.bias"]
    ml = nn.ModuleList().extend([nn.Linear(1, 1), nn.Tanh()])
    assert len(ml) == 2 and list(ml.state_dict()) == ["0.weight", "0.bias"]
    lstm = nn.LSTM(2, 3)
    before = {k: v.numpy().copy() for k, v in lstm.state_dict().items()}
    assert lstm.flatten_parameters() is None  # torch's cuDNN packing: nothing to do, nothing changes
    assert all(np.array_equal(before[k], v.numpy()) for k, v in lstm.state_dict().items())


def test_repr_puts_each_line_of_a_multi_line_extra_repr_on_its_own_line():
    """torch's layout: extra_repr's lines, indented, before the children; a module with no children but a
    multi-line extra_repr is laid out the same way. (Its later lines were not indented, and a leaf's came
    inline: 'M(k=1\\nj=2)'.)"""
    class M(nn.Module):
        def extra_repr(self):
            return "k=1\nj=2"

    parent = M()
    parent.act = nn.ReLU()
    assert repr(parent) == "M(\n  k=1\n  j=2\n  (act): ReLU()\n)"
    assert repr(nn.Sequential(M())) == "Sequential(\n  (0): M(\n    k=1\n    j=2\n  )\n)"


# ----------------------------------------------------------------------------- forward hooks
def test_forward_hooks_see_and_may_replace_inputs_and_outputs():
    lin = nn.Linear(3, 2, dtype=tg.float64)
    x = tg.randn(4, 3, dtype=tg.float64)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: calls.append(("pre", m, args[0].shape)))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(("post", args[0] is x, out.shape)))
    y = lin(x)
    assert calls == [("pre", lin, (4, 3)), ("post", True, (4, 2))]
    np.testing.assert_array_equal(y.numpy(), (x @ lin.weight.T + lin.bias).numpy())
    pre.remove()
    post.remove()
    pre.remove()  # (a second remove does nothing)
    calls.clear()
    lin(x)
    assert calls == []

    with lin.register_forward_pre_hook(lambda m, args: args[0] * 2):  # a bare value: the one argument
        with lin.register_forward_hook(lambda m, args, out: out + 1):
            np.testing.assert_allclose(lin(x).numpy(), lin.forward(x * 2).numpy() + 1)
    np.testing.assert_array_equal(lin(x).numpy(), lin.forward(x).numpy())  # (removed on leaving the blocks)


def test_forward_hook_order_kwargs_and_gradients():
    order = []
    m = nn.Tanh()
    m.register_forward_hook(lambda mod, a, out: order.append("second"))
    m.register_forward_hook(lambda mod, a, out: order.append("first"), prepend=True)
    m(tg.ones(2))
    assert order == ["first", "second"]

    gru = nn.GRU(2, 3, dtype=tg.float64)
    seen = {}

    def pre(mod, args, kwargs):
        seen["kwargs"] = dict(kwargs)
        return args, {**kwargs, "lengths": [1, 2]}
    gru.register_forward_pre_hook(pre, with_kwargs=True)
    gru.register_forward_hook(lambda mod, args, kwargs, out: seen.setdefault("out", out), with_kwargs=True)
    x = tg.randn(2, 2, 2, dtype=tg.float64, requires_grad=True)
    out, h = gru(x)
    assert seen["kwargs"] == {} and seen["out"][0] is out
    assert np.all(out.numpy()[1, 0] == 0)  # (the hook's lengths reached forward: step 1 of sequence 0 is padding)
    (seen["out"][0] ** 2).sum().backward()  # what a hook keeps is part of the graph
    assert x.grad is not None and gru.weight_ih_l0.grad is not None

    bad = nn.ReLU()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="ReLU: a forward pre-hook registered with_kwargs must return None or "
                                           r"\(args, kwargs\), got tuple"):
        bad(tg.ones(2))
    with pytest.raises(TypeError, match="register_forward_hook: hook must be callable, got int"):
        bad.register_forward_hook(3)


def test_forward_hook_always_call_runs_when_the_call_raises():
    """torch's always_call=True: when forward raises, such a forward hook still runs (output None, the arguments
    the pre-hooks made), others do not, and the error propagates; one raising itself only warns then. (The keyword
    was refused.)"""
    class Failing(nn.Module):
        def forward(self, x, k=1):
            raise ValueError("boom")

    m, log = Failing(), []
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    m.register_forward_hook(lambda mod, args, out: log.append("plain"))

    def bad(mod, args, out):
        raise KeyError("hook")
    m.register_forward_hook(bad, always_call=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: log.append((args[0].tolist(), kwargs, out)),
                            always_call=True, with_kwargs=True)
    with pytest.warns(UserWarning, match="always_call=True raised an exception"):
        with pytest.raises(ValueError, match="boom"):
            m(tg.ones(1), k=3)
    assert log == [([2.0], {"k": 3}, None)]
    ok, log = nn.Identity(), []
    ok.register_forward_hook(lambda mod, args, out: log.append(out.tolist()), always_call=True)
    ok(tg.ones(1))
    assert log == [[1.0]]  # (once, on a call that succeeds)

def test_a_hook_handle_removes_its_own_registration_once():
    """A hook registered twice (once with prepend) keeps the other registration, in its place, when one handle is
    removed, even twice, as torch's: handles removed the first equal entry, so the prepended one went first and a
    second remove() took the other one too."""
    m, order = nn.Identity(), []

    def h(mod, args, out):
        order.append("h")
    first = m.register_forward_hook(h)
    m.register_forward_hook(lambda mod, args, out: order.append("g"))
    m.register_forward_hook(h, prepend=True)
    first.remove()
    first.remove()
    m(tg.ones(1))
    assert order == ["h", "g"]

def test_full_backward_hooks_see_each_step_of_a_shared_cell():
    """An RNN cell called at every step: its full backward hook runs once per call, last step first (backward's
    order), with that step's dL/dh' (grad_output, what retain_grad keeps on h') and dL/dx_t, dL/dh (grad_input);
    a pre-hook sees grad_output first. A hook's tuple replaces grad_input; removing the handles stops them."""
    tg.manual_seed(0)
    cell = nn.RNNCell(3, 4, dtype=tg.float64)
    xs = [tg.randn(2, 3, dtype=tg.float64, requires_grad=True) for _ in range(3)]
    seen, pre = [], []
    handles = [cell.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go))),
               cell.register_full_backward_pre_hook(lambda m, go: pre.append(go))]
    h, hs = tg.zeros(2, 4, dtype=tg.float64), []
    for x in xs:
        h = cell(x, h)
        h.retain_grad()
        hs.append(h)
    (h * h).sum().backward()
    assert len(seen) == len(pre) == 3
    for (gi, go), p, step in zip(seen, pre, reversed(range(3))):
        assert len(go) == 1 and len(gi) == 2 and p[0] is go[0]
        np.testing.assert_allclose(go[0].numpy(), hs[step].grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(gi[0].numpy(), xs[step].grad.numpy(), rtol=1e-12)
        want = np.zeros((2, 4)) if step == 0 else hs[step - 1].grad.numpy()  # (h0 takes no gradient: torch's zeros)
        np.testing.assert_allclose(gi[1].numpy(), want, rtol=1e-12)
    for hd in handles:
        hd.remove()
    lin = nn.Linear(3, 2, dtype=tg.float64)
    x = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    lin(x).sum().backward()
    want, x.grad = x.grad.numpy(), None
    with lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,)):
        lin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * want, rtol=1e-12)
    calls = []
    with lin.register_full_backward_hook(lambda m, gi, go: calls.append(gi)):  # (no input takes a gradient)
        lin(x.detach()).sum().backward()
    assert calls == [(None,)] and len(seen) == 3
    with lin.register_full_backward_hook(lambda m, gi, go: (None,)):  # (no input takes a gradient: Nones only)
        lin(x.detach()).sum().backward()
    with lin.register_full_backward_hook(lambda m, gi, go: (go[0],)):
        with pytest.raises(RuntimeError, match="Linear: a full backward hook of a module none of whose inputs "
                                               "requires grad must return None or a tuple of None"):
            lin(x.detach()).sum().backward()
    with lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0])):
        with pytest.raises(RuntimeError, match="Linear: a full backward hook must return None or a tuple of 1 "
                                               r"Tensors or None \(grad_input\), got 2 items"):
            lin(x).sum().backward()


def test_full_backward_hooks_match_torch():
    """grad_input and grad_output as torch's: a Linear (hooks and pre-hooks changing the gradients, two calls),
    and an LSTM, whose grad_output is (dL/doutput, None): torch counts the output's top-level items, and (h, c)
    is a tuple."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)

    def run(lib, m, x, pre=None, post=None, calls=1):
        log = []
        as_np = (lambda g: None if g is None else g.detach().numpy().copy()) if lib is torch else \
            (lambda g: None if g is None else g.numpy().copy())
        handles = [m.register_full_backward_pre_hook(
                       lambda mod, go: (log.append([as_np(g) for g in go]), pre and pre(go))[1]),
                   m.register_full_backward_hook(
                       lambda mod, gi, go: (log.append([as_np(g) for g in gi + go]), post and post(gi))[1])]
        x, loss = lib.tensor(x, requires_grad=True), 0
        for _ in range(calls):
            out = m(x)
            loss = loss + ((out[0] if isinstance(out, tuple) else out) ** 2).sum()
        loss.backward()
        for hd in handles:
            hd.remove()
        return log, x.grad.numpy()

    torch.manual_seed(0)
    t_lin = torch.nn.Linear(3, 2, dtype=torch.float64)
    o_lin = nn.Linear(3, 2, dtype=tg.float64)
    o_lin.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in t_lin.state_dict().items()})
    torch.manual_seed(1)
    t_lstm = torch.nn.LSTM(3, 2, dtype=torch.float64)
    o_lstm = nn.LSTM(3, 2, dtype=tg.float64)
    o_lstm.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in t_lstm.state_dict().items()})
    x, xs = rng.standard_normal((4, 3)), rng.standard_normal((5, 2, 3))
    cases = [(t_lin, o_lin, x, {}), (t_lin, o_lin, x, {"calls": 2}),
             (t_lin, o_lin, x, {"pre": lambda go: (go[0] * 3,), "post": lambda gi: (gi[0] - 1,)}),
             (t_lstm, o_lstm, xs, {})]
    for t_mod, o_mod, arr, kw in cases:
        (t_log, t_grad), (o_log, o_grad) = run(torch, t_mod, arr, **kw), run(tg, o_mod, arr, **kw)
        np.testing.assert_allclose(o_grad, t_grad, rtol=1e-10)
        assert len(o_log) == len(t_log)
        for a, b in zip(o_log, t_log):
            assert [g is None for g in a] == [g is None for g in b]
            for ga, gb in zip(a, b):
                if ga is not None:
                    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-14)


def test_full_backward_hook_grad_input_zeros_as_torch():
    """grad_input holds zeros (torch's materialized gradients) for every tensor argument no gradient reached: one
    that does not require grad (an integer index too), one that requires grad but is unused, as an RNN's h0 that
    does not require grad; those that require grad get the zeros as their .grad, as torch's. Non-tensor
    arguments stay None. (They were None.)"""
    torch = pytest.importorskip("torch")

    def run(lib, M):
        m, log = M(), []
        m.register_full_backward_hook(lambda mod, gi, go: log.append(gi))
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y, z = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([4.0, 5.0])
        a, _ = m(x, lib.tensor([0, 2]), y, z, 3.0)
        a.sum().backward()
        gi = [None if g is None else (g.numpy() if lib is tg else g.detach().numpy()) for g in log[0]]
        return len(log), gi, [t.grad.numpy() for t in (x, y)]

    def module(base):
        class M(base):
            def forward(self, x, idx, y, z, s):
                return x[idx] * 2 + s, y
        return M

    (t_n, t_gi, t_grads), (o_n, o_gi, o_grads) = run(torch, module(torch.nn.Module)), run(tg, module(nn.Module))
    assert o_n == t_n == 1 and o_gi[4] is None and t_gi[4] is None
    for a, b in zip(o_gi[:4], t_gi[:4]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    for a, b in zip(o_grads, t_grads):
        np.testing.assert_array_equal(a, b)
    rnn, seen = nn.RNN(3, 4), []
    rnn.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    out, _ = rnn(tg.randn(5, 2, 3, requires_grad=True), tg.randn(1, 2, 4))
    out.sum().backward()
    np.testing.assert_array_equal(seen[0][1].numpy(), np.zeros((1, 2, 4), np.float32))


def test_full_backward_hook_runs_only_after_the_outputs_node():
    """As torch's, a module's full backward hook runs only when its outputs' node ran first in the same backward:
    an LSTM's loss of c_n alone (a nested item, not among the outputs the hook wraps) reaches the input without
    it, so no hook call; nor in a second backward of c_n after one through the output (retain_graph), where the
    hook had run again with the first backward's grad_output."""
    torch = pytest.importorskip("torch")

    def calls(lib, lstm):
        log = []
        lstm.register_full_backward_hook(lambda mod, gi, go: log.append([g is None for g in gi + go]))
        x = lib.ones(4, 2, 3, requires_grad=True)
        _, (_, c) = lstm(x)
        c.sum().backward()
        n_c_alone = len(log)
        out, (_, c) = lstm(x)
        (out.sum() + c.sum()).backward(retain_graph=True)
        c.sum().backward()
        return n_c_alone, log

    assert calls(tg, nn.LSTM(3, 2)) == calls(torch, torch.nn.LSTM(3, 2)) == (0, [[False, False, True]])


def test_full_backward_hooks_are_those_registered_at_the_call():
    """As torch's, a call's backward runs the full backward hooks and pre-hooks the module had when it was called:
    removing one after the forward (before backward) does not stop it for that call, and one registered after the
    forward does not run for it; the next call sees the change. (They were looked up at backward.)"""
    torch = pytest.importorskip("torch")

    def log_of(lib, lin):
        log = []
        first = [lin.register_full_backward_hook(lambda m, gi, go: log.append("hook1")),
                 lin.register_full_backward_pre_hook(lambda m, go: log.append("pre1"))]
        x = lib.ones(2, 3, requires_grad=True)
        y = lin(x)
        for hd in first:
            hd.remove()
        lin.register_full_backward_hook(lambda m, gi, go: log.append("hook2"))
        lin.register_full_backward_pre_hook(lambda m, go: log.append("pre2"))
        y.sum().backward()
        log.append("|")
        lin(x).sum().backward()
        return log

    assert log_of(tg, nn.Linear(3, 2)) == log_of(torch, torch.nn.Linear(3, 2)) == \
        ["pre1", "hook1", "|", "pre2", "hook2"]


def test_module_half():
    lin = nn.Linear(2, 2).half()
    assert lin.weight.dtype == np.float16 and lin.bias.dtype == np.float16


def _with_parameter_containers(lib):
    """One module built the same way with torch.nn (lib=torch) or ours (lib=None)."""
    mod = tg if lib is None else lib
    tnn = nn if lib is None else lib.nn

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.lin = tnn.Linear(2, 3)
            self.pl = tnn.ParameterList([tnn.Parameter(mod.zeros(2, 3)), mod.ones(3)])  # (a tensor becomes one)
            self.pl.append(tnn.Parameter(mod.zeros(4)))
            self.pd = tnn.ParameterDict({"w": tnn.Parameter(mod.ones(2)), "b": mod.zeros(1)})  # (sorted: b, w)
            self.pd["a"] = tnn.Parameter(mod.ones(3, 1))
            self.nested = tnn.ModuleList([tnn.ParameterDict(OrderedDict([("z", tnn.Parameter(mod.ones(1))),
                                                                        ("y", tnn.Parameter(mod.ones(2)))]))])

    return Net()


def test_parameter_list_and_dict_keys_and_state_dict_round_trip_with_torch():
    """Registered under torch's names and order: named_parameters and state_dict list the same keys, and a
    state dict moves between the two both ways."""
    torch = pytest.importorskip("torch")
    theirs, ours = _with_parameter_containers(torch), _with_parameter_containers(None)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert "pd.b" in ours.state_dict() and list(ours.state_dict()).index("pd.b") < list(ours.state_dict()).index("pd.w")
    with torch.no_grad():
        for i, p in enumerate(theirs.parameters()):
            p.copy_(torch.arange(p.numel(), dtype=p.dtype).reshape(p.shape) + i)
    ours.load_state_dict(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    back = _with_parameter_containers(torch)
    back.load_state_dict(eval(README_TO_TORCH, {"torch": torch, "ours": ours}))
    for k, v in back.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), theirs.state_dict()[k].numpy(), err_msg=k)


def test_parameter_list_behaves_like_torchs():
    m = _with_parameter_containers(None)
    pl = m.pl
    assert len(pl) == 3 and [p.shape for p in pl] == [(2, 3), (3,), (4,)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in pl)
    first, second = pl[0], pl[-2]
    part = pl[1:]
    assert isinstance(part, nn.ParameterList) and list(part) == [pl[1], pl[2]] and part[0] is second
    assert [k for k, _ in part.named_parameters()] == ["0", "1"]  # (renumbered, as torch's slice)
    t = tg.ones(5)
    pl[0] = t  # (a Tensor becomes a Parameter sharing its memory)
    assert pl[0] is not first and pl[0].shape == (5,) and np.shares_memory(pl[0].array, t.array)
    assert [k for k, _ in m.named_parameters()][2:5] == ["pl.0", "pl.1", "pl.2"]  # (the position keeps its name)
    pl += [nn.Parameter(tg.ones(1))]
    pl.extend((tg.zeros(2),))
    assert len(pl) == 5 and list(m.state_dict())[4:7] == ["pl.2", "pl.3", "pl.4"]
    m.double()  # (to() sees them: converted in place, the same Parameters)
    assert pl[0].dtype == np.float64 and m.pl[1] is second and m.state_dict()["pl.1"].dtype == np.float64
    sum(p.sum() for p in pl).backward()
    assert all(p.grad is not None for p in pl)
    with pytest.raises(IndexError, match="ParameterList.__getitem__: index 5 is out of range for 5 parameters"):
        pl[5]
    with pytest.raises(TypeError, match="ParameterList.append: expected a Parameter or a Tensor, got list"):
        pl.append([1.0])
    with pytest.raises(TypeError, match="ParameterList.extend: expected an iterable of Parameters, got Tensor"):
        pl.extend(tg.ones(2))
    with pytest.raises(TypeError, match="ParameterList.__getitem__: indices must be ints or slices, got str"):
        pl["0"]
    with pytest.raises(TypeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        pl.append(tg.ones(2, dtype=tg.int64))
    assert repr(nn.ParameterList([tg.zeros(2, 3)])) == "ParameterList(  (0): Parameter containing: " \
                                                       "[torch.float32 of size 2x3])"
    assert repr(nn.ParameterList()) == "ParameterList()" and len(nn.ParameterList()) == 0


def test_parameter_containers_print_as_torchs():
    """ParameterList and ParameterDict print as torch's (their extra_repr): sizes as 2x3, ParameterList by dtype,
    ParameterDict by torch.typename ('torch.DoubleTensor'), a single entry on the container's line."""
    torch = pytest.importorskip("torch")

    def reprs(T):
        class M(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.pl = T.nn.ParameterList([T.nn.Parameter(T.ones(2))])
                self.lin = T.nn.Linear(1, 1)
        two = [T.nn.Parameter(T.ones(2, 3)), T.nn.Parameter(T.ones(4, dtype=T.float64))]
        return [repr(T.nn.ParameterList(two)), repr(T.nn.ParameterDict({"b": two[1], "a": two[0]})),
                repr(T.nn.ParameterDict({"w": two[0]})), repr(T.nn.ParameterList()), repr(M())]
    assert reprs(tg) == reprs(torch)


def test_parameter_dict_behaves_like_torchs():
    pd = nn.ParameterDict({"w": tg.ones(2), "b": tg.zeros(1)})
    assert list(pd) == ["b", "w"] and list(pd.keys()) == ["b", "w"]  # (a plain dict in sorted order, as torch)
    assert list(nn.ParameterDict(OrderedDict([("w", tg.ones(1)), ("b", tg.ones(1))]))) == ["w", "b"]
    assert list(nn.ParameterDict([("w", tg.ones(1)), ("b", tg.ones(1))])) == ["w", "b"]
    assert isinstance(pd["w"], nn.Parameter) and pd.w is pd["w"] and "w" in pd and "x" not in pd and len(pd) == 2
    pd["a"] = nn.Parameter(tg.ones(3))
    assert [k for k, _ in pd.named_parameters()] == ["b", "w", "a"] and list(reversed(pd)) == ["a", "w", "b"]
    old = pd["w"]
    pd["w"] = tg.full((2,), 7.0)  # (replaced in its place)
    assert list(pd) == ["b", "w", "a"] and pd.w is not old and pd.w.tolist() == [7.0, 7.0]
    assert pd.get("nothing") is None and pd.get("a") is pd["a"] and [v for v in pd.values()][0] is pd["b"]
    assert pd.setdefault("c", tg.ones(1)) is pd["c"] and pd.setdefault("c", tg.zeros(9)).shape == (1,)
    assert pd.pop("c").shape == (1,) and "c" not in pd and not hasattr(pd, "c")
    key, value = pd.popitem()
    assert key == "a" and value.shape == (3,) and list(pd) == ["b", "w"]
    copy = pd.copy()
    assert list(copy) == ["b", "w"] and copy["w"] is pd["w"]
    pd.update({"z": tg.ones(1), "y": tg.ones(1)})
    assert list(pd) == ["b", "w", "y", "z"]
    del pd["y"]
    assert list(pd.items())[-1][0] == "z" and not hasattr(pd, "y")
    with pytest.raises(KeyError, match="'update' is already an attribute of ParameterDict"):
        pd["update"] = tg.ones(1)
    with pytest.raises(KeyError, match="a key must be a non-empty string without '.'"):
        pd["a.b"] = tg.ones(1)
    with pytest.raises(TypeError, match="ParameterDict: a key must be a str, got int"):
        pd[0] = tg.ones(1)
    with pytest.raises(TypeError, match="ParameterDict.__setitem__: expected a Parameter or a Tensor, got float"):
        pd["q"] = 1.0
    with pytest.raises(KeyError):
        del pd["nothing"]
    with pytest.raises(ValueError, match="ParameterDict.update: element 0 must be a .key, parameter. pair"):
        pd.update([("a", tg.ones(1), 3)])
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == [] and repr(pd) == "ParameterDict()"


def _x(*shape):
    return tg.tensor(np.random.default_rng(0).standard_normal(shape), dtype=tg.float64)


# each module's forward argument names are torch's (nn.Linear(3, 4)(input=t) as torch.nn.Linear's forward(input))
FORWARD_KEYWORDS = [
    (lambda: nn.Linear(3, 4, dtype=tg.float64), {"input": _x(2, 3)}),
    (lambda: nn.LayerNorm(3, dtype=tg.float64), {"input": _x(2, 3)}),
    (lambda: nn.RMSNorm(3, dtype=tg.float64), {"x": _x(2, 3)}),
    (lambda: nn.BatchNorm1d(3, dtype=tg.float64), {"input": _x(4, 3)}),
    (lambda: nn.Dropout(0.0), {"input": _x(2, 3)}),
    (lambda: nn.ReLU(), {"input": _x(2, 3)}),
    (lambda: nn.LeakyReLU(0.2), {"input": _x(2, 3)}),
    (lambda: nn.Softplus(), {"input": _x(2, 3)}),
    (lambda: nn.GLU(), {"input": _x(2, 4)}),
    (lambda: nn.PReLU(dtype=tg.float64), {"input": _x(2, 3)}),
    (lambda: nn.Conv1d(2, 3, 2, dtype=tg.float64), {"input": _x(1, 2, 5)}),
    (lambda: nn.Conv1d(2, 3, 2, padding=1, padding_mode="reflect", dtype=tg.float64), {"input": _x(1, 2, 5)}),
    (lambda: nn.MaxPool1d(2), {"input": _x(1, 2, 4)}),
    (lambda: nn.AdaptiveAvgPool1d(2), {"input": _x(1, 2, 4)}),
    (lambda: nn.Flatten(), {"input": _x(2, 3, 2)}),
    (lambda: nn.Unflatten(1, (2, 2)), {"input": _x(2, 4)}),
    (lambda: nn.Identity(), {"input": _x(2)}),
    (lambda: nn.Softmax(-1), {"input": _x(2, 3)}),
    (lambda: nn.LogSoftmax(-1), {"input": _x(2, 3)}),
    (lambda: nn.Softmin(-1), {"input": _x(2, 3)}),
    (lambda: nn.Sequential(nn.Linear(3, 2, dtype=tg.float64), nn.Tanh()), {"input": _x(2, 3)}),
    (lambda: nn.Embedding(5, 2, dtype=tg.float64), {"input": tg.tensor([[1, 4], [0, 2]])}),
    (lambda: nn.CosineSimilarity(), {"x1": _x(2, 3), "x2": _x(2, 3) + 1}),
    (lambda: nn.MSELoss(), {"input": _x(2, 3), "target": _x(2, 3) * 2}),
    (lambda: nn.PoissonNLLLoss(), {"log_input": _x(2, 3), "target": _x(2, 3).abs()}),
    (lambda: nn.GaussianNLLLoss(), {"input": _x(2, 3), "target": _x(2, 3) + 1, "var": _x(2, 3).abs() + 1}),
    (lambda: nn.MarginRankingLoss(0.5), {"input1": _x(4), "input2": _x(4) * 2, "target": tg.tensor([1., -1, 1, -1])}),
    (lambda: nn.CosineEmbeddingLoss(), {"input1": _x(2, 3), "input2": _x(2, 3) + 1, "target": tg.tensor([1., -1])}),
    (lambda: nn.TripletMarginLoss(), {"anchor": _x(2, 3), "positive": _x(2, 3) + 1, "negative": _x(2, 3) * 2}),
    (lambda: nn.RNN(3, 2, dtype=tg.float64), {"input": _x(2, 1, 3), "hx": _x(1, 1, 2)}),
    (lambda: nn.LSTMCell(3, 2, dtype=tg.float64), {"input": _x(1, 3), "hx": (_x(1, 2), _x(1, 2) + 1)}),
]


def _flat(out):
    """The arrays of a forward's output, a Tensor or a (nested) tuple of them."""
    return [a for o in out for a in _flat(o)] if isinstance(out, tuple) else [out.numpy()]


@pytest.mark.parametrize("make, kwargs", FORWARD_KEYWORDS,
                         ids=[f"{make().__class__.__name__}-{i}" for i, (make, _) in enumerate(FORWARD_KEYWORDS)])
def test_forward_takes_torchs_keyword_names(make, kwargs):
    m = make()
    positional = _flat(m(*kwargs.values()))
    for got, want in zip(_flat(m(**kwargs)), positional):
        np.testing.assert_array_equal(got, want)
    first = next(iter(kwargs))
    seen = {}

    def pre(mod, args, kw):  # a pre-hook sees (and can replace) the keyword torch's users pass
        seen.update(kw)
        return args, {**kw, first: kwargs[first]}
    m.register_forward_pre_hook(pre, with_kwargs=True)
    for got, want in zip(_flat(m(**{**kwargs, first: None})), positional):
        np.testing.assert_array_equal(got, want)
    assert first in seen


def test_subclass_forward_calls_parents_by_torchs_keyword():
    class Scaled(nn.Linear):
        def forward(self, input):
            return super().forward(input=input) * 2

    m = Scaled(3, 4, dtype=tg.float64)
    x = _x(2, 3)
    np.testing.assert_allclose(m(input=x).numpy(), 2 * nn.Linear.forward(m, x).numpy(), **CLOSE64)


def test_a_users_module_runs_on_complex_tensors_as_torchs(device):
    """Module.__call__ and Sequential only dispatch, so a module of the user's whose forward uses complex-audited ops
    runs on complex tensors, values and gradients as torch's (it was refused as 'call: complex128 input is not
    supported'); a layer of the package that is not audited for complex still refuses it, naming itself."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    w0 = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))

    def run(lib, dev):
        class Rotate(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = lib.nn.Parameter(lib.tensor(w0, **({"device": dev} if dev else {})))

            def forward(self, z):
                return (z @ self.w).exp() * z.conj()

        seen = []
        m = lib.nn.Sequential(Rotate(), Rotate())
        m[0].register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
        z = lib.tensor(z0, requires_grad=True, **({"device": dev} if dev else {}))
        out = m(z)
        out.abs().sum().backward()
        return out, z.grad, m[0].w.grad, seen

    ours, theirs = run(tg, device), run(torch, None)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert [str(d) for d in ours[3]] == [str(d) for d in theirs[3]] == ["torch.complex128"]
    with pytest.raises(tg.ComplexNotSupportedError, match="ReLU.forward"):
        nn.Sequential(nn.ReLU())(tg.tensor(z0, device=device))
    m = nn.Sequential(nn.Linear(2, 2, dtype=tg.float64), Scale(tg.tensor(z0[0, :2], device=device)))
    m.double().float().half()  # (complex parameters stay as they are, as torch's; floating ones are cast)
    assert m[0].weight.dtype == tg.float16 and m[1].w.dtype == tg.complex128
    np.testing.assert_array_equal(m[1].w.detach().numpy(), z0[0, :2])


class Scale(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)


def _clone_module(module):
    """learn2learn's clone_module, as written there: a shallow copy of the module's __dict__ and registries, then
    each parameter replaced by a differentiable clone, each submodule by its clone, through the registries."""
    clone = module.__new__(type(module))
    clone.__dict__ = module.__dict__.copy()
    clone._parameters = clone._parameters.copy()
    clone._buffers = clone._buffers.copy()
    clone._modules = clone._modules.copy()
    for key, param in module._parameters.items():
        if param is not None:
            clone._parameters[key] = param.clone()
    for key in clone._modules:
        clone._modules[key] = _clone_module(module._modules[key])
    return clone


def _update_module(module, updates):
    """learn2learn's update_module: each parameter p replaced, in the registry, by p + update (a non-leaf)."""
    for key, p in module._parameters.items():
        if p is not None and p in updates:
            module._parameters[key] = p + updates[p]
    for child in module._modules.values():
        _update_module(child, updates)
    return module


def test_writing_a_registry_entry_sets_the_attribute_as_torchs():
    """module._parameters['weight'] = w makes module.weight w (torch's __getattr__ reads the registry; here the
    registry writes the attribute); del and pop remove it; an assigned copy of a registry belongs to its new module;
    a plain value (and __dict__ itself) may be assigned before Module.__init__, as torch allows."""
    m = nn.Linear(2, 3)
    w = m.weight * 2
    m._parameters["weight"] = w
    assert m.weight is w and dict(m.named_parameters())["weight"] is w
    m._buffers["scale"] = tg.ones(3)
    assert m.scale is m._buffers["scale"] and "scale" in m.state_dict()
    del m._buffers["scale"]
    assert not hasattr(m, "scale")
    assert m._parameters.pop("bias") is not None and not hasattr(m, "bias")
    seq = nn.Sequential(nn.Linear(2, 2))
    seq._modules["0"] = nn.Tanh()
    assert isinstance(seq[0], nn.Tanh) and isinstance(getattr(seq, "0"), nn.Tanh)
    clone = m.__new__(type(m))
    clone.__dict__ = m.__dict__.copy()
    clone._parameters = clone._parameters.copy()
    clone._parameters["weight"] = tg.zeros(3, 2)
    assert clone.weight.sum().item() == 0 and m.weight is w  # (the copy is the clone's: m keeps its own)
    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) before"):
        nn.Module.__new__(nn.Module).weight = nn.Parameter(tg.ones(1))


def test_learn2learn_clone_and_update_module_maml_matches_torch():
    """MAML written with learn2learn's clone_module / update_module (registry writes): the meta-gradient through
    two inner steps (create_graph) is torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))

    def meta_grads(lib):
        model = lib.nn.Sequential(lib.nn.Linear(2, 5), lib.nn.Tanh(), lib.nn.Linear(5, 1)).double()
        with lib.no_grad():
            for p in model.parameters():
                p.copy_(lib.tensor(np.random.default_rng(p.numel()).standard_normal(tuple(p.shape))))
        learner = _clone_module(model)
        X, Y = lib.tensor(x), lib.tensor(y)
        for _ in range(2):
            params = list(learner.parameters())
            loss = lib.nn.functional.mse_loss(learner(X[:3]), Y[:3])
            grads = lib.autograd.grad(loss, params, create_graph=True)
            _update_module(learner, {p: -0.1 * g for p, g in zip(params, grads)})
        lib.nn.functional.mse_loss(learner(X[3:]), Y[3:]).backward()
        return [p.grad.numpy() for p in model.parameters()]
    for got, want in zip(meta_grads(tg), meta_grads(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
