"""tg.jit, torch.jit's names as a porting shim: script / trace return what they are given (nothing runs), the
decorators return what they decorate, is_scripting / is_tracing are False, save / load raise."""
import typing
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


class _Branchy(nn.Module):
    """Data-dependent control flow: torch's trace would freeze one branch; here both stay live."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        if not tg.jit.is_scripting() and x.sum().item() > 0:
            return self.lin(x)
        return -self.lin(x)

    @tg.jit.export
    def extra(self, x):
        return x * 2

    @tg.jit.ignore
    def debug(self):
        return "python"

    @tg.jit.unused
    def unused_method(self):
        return "still runs"


def test_script_and_trace_return_the_module_or_function_unchanged(device):
    m = _Branchy().to(device)
    pos, neg = tg.ones(1, 3, device=device), -tg.ones(1, 3, device=device)
    with pytest.warns(DeprecationWarning, match=r"`torch.jit.script` is deprecated"):
        assert tg.jit.script(m) is m
    calls = []

    def f(x):
        calls.append(1)
        return x * 3
    with pytest.warns(DeprecationWarning, match=r"`torch.jit.trace` is deprecated"):
        traced_m = tg.jit.trace(m, pos)
        traced_f = tg.jit.trace(f, (pos,), check_trace=False, strict=False)
    assert traced_m is m and traced_f is f and calls == []  # (trace runs nothing)
    np.testing.assert_allclose(traced_m(neg).tolist(), (-m.lin(neg)).tolist())
    np.testing.assert_allclose(traced_m(pos).tolist(), m.lin(pos).tolist())
    assert traced_f(pos).tolist() == [[3.0, 3.0, 3.0]]
    assert m.extra(pos).tolist() == [[2.0] * 3] and m.debug() == "python"
    assert m.unused_method() == "still runs"
    with pytest.warns(DeprecationWarning, match="trace_method"):
        assert tg.jit.trace_module(m, {"forward": pos}) is m
    with pytest.raises(AttributeError, match="expected torch.nn.Module"):
        tg.jit.trace_module(f, {"forward": pos})
    with pytest.raises(RuntimeError, match="jit.script: expected a Module or a function"), \
            pytest.warns(DeprecationWarning):
        tg.jit.script(3)


def test_script_keeps_gradients_flowing():
    m = nn.Linear(2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        s = tg.jit.script(m)
    s(tg.ones(4, 2)).sum().backward()
    assert m.weight.grad is not None and m.weight.grad.numpy().tolist() == [[4.0, 4.0]]


def test_decorators_flags_and_annotations_as_torch():
    torch = pytest.importorskip("torch")
    assert tg.jit.is_scripting() is torch.jit.is_scripting() is False
    assert tg.jit.is_tracing() is torch.jit.is_tracing() is False
    assert tg.jit.Final is typing.Final is torch.jit.Final
    d = {}
    assert tg.jit.annotate(typing.Dict[str, int], d) is d is torch.jit.annotate(typing.Dict[str, int], d)
    assert tg.jit.Attribute(0.5, float) == torch.jit.Attribute(0.5, float) == (0.5, float)
    assert tg.jit.Attribute(0.5, float).value == 0.5

    def g():
        return 1
    for dec in (tg.jit.ignore, tg.jit.unused, tg.jit.export, tg.jit.script_if_tracing, tg.jit.interface):
        assert dec(g) is g
    assert tg.jit.ignore()(g) is g and tg.jit.ignore(drop=False)(g) is g
    with pytest.warns(FutureWarning, match=r"ignore\(True\) has been deprecated"):
        assert tg.jit.ignore(True)(g) is g
    with pytest.raises(RuntimeError, match="must be a bool or a function but got 3"):
        tg.jit.ignore(3)
    with pytest.raises(RuntimeError, match="must be a bool or a function but got 3"):
        torch.jit.ignore(3)
    prop = property(lambda self: 1)
    assert tg.jit.unused(prop) is prop


def test_script_module_base_and_script_method_run_as_python():
    with pytest.warns(DeprecationWarning, match="script_method"):
        class M(tg.jit.ScriptModule):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(tg.ones(2))
                self.scale = tg.jit.Attribute(0.5, float)

            @tg.jit.script_method
            def forward(self, x):
                return x * self.w
    m = M()
    assert isinstance(m, nn.Module) and m(tg.full((2,), 3.0)).numpy().tolist() == [3.0, 3.0]
    assert [n for n, _ in m.named_parameters()] == ["w"] and m.scale == 0.5


def test_freeze_and_optimize_for_inference_return_the_module():
    m = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="only implemented for modules in eval mode"), \
            pytest.warns(DeprecationWarning, match="`torch.jit.freeze` is deprecated"):
        tg.jit.freeze(m)
    with pytest.warns(DeprecationWarning):
        assert tg.jit.freeze(m.eval()) is m
    m.train()
    with pytest.warns(DeprecationWarning, match="optimize_for_inference"):
        assert tg.jit.optimize_for_inference(m) is m and not m.training


def test_save_and_load_raise_saying_there_is_no_torchscript(tmp_path):
    m = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="jit.save: there is no TorchScript here.*state_dict"):
        tg.jit.save(m, tmp_path / "m.pt")
    with pytest.raises(RuntimeError, match="jit.load: there is no TorchScript here"):
        tg.jit.load(tmp_path / "m.pt", map_location="cpu")
    assert not (tmp_path / "m.pt").exists()


def test_signatures_follow_torchs():
    torch = pytest.importorskip("torch")
    import inspect
    for name in ("script", "trace", "trace_module", "ignore", "annotate", "save", "load", "freeze",
                 "optimize_for_inference"):
        ours = list(inspect.signature(getattr(tg.jit, name)).parameters)
        theirs = list(inspect.signature(getattr(torch.jit, name)).parameters)
        assert ours == theirs, name
