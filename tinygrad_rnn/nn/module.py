"""Module and Parameter: named, nested containers of trainable tensors (PyTorch's API)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as trainable (requires_grad=True by default)."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


class Module:
    """Base class: Parameters and Modules assigned as attributes are registered by name."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if not isinstance(value, Parameter):
            self._parameters.pop(name, None)
        if not isinstance(value, Module):
            self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Register a Parameter, or None for an absent one (e.g. bias=False keeps the name)."""
        if param is None:
            object.__setattr__(self, name, None)
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        else:
            setattr(self, name, param)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            stack.extend(reversed([(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]))

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self) -> Iterator["Module"]:
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs; a Parameter shared by two modules appears once."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters(recurse=recurse))

    def num_parameters(self) -> int:
        """Total number of trainable scalars (independent of sequence length for RNNs)."""
        return sum(p.size for p in self.parameters())

    # ------------------------------------------------------------------ modes and state
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def _apply(self, fn: Any) -> "Module":
        for p in self.parameters():
            p.data = fn(p.data)
            if p.grad is not None:
                p.grad = Tensor(fn(p.grad.data))
        return self

    def to(self, device_or_dtype: Any) -> "Module":
        """Move (in place) every parameter to 'cpu'/'cuda', or cast it to a float dtype."""
        if isinstance(device_or_dtype, str) and device_or_dtype.split(":")[0] in ("cpu", "cuda"):
            device = backend.check_device(device_or_dtype)
            return self._apply(lambda a: backend.to_device(a, device))
        dtype = np.dtype(device_or_dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: parameters must stay floating point, got {dtype}")
        return self._apply(lambda a: a.astype(dtype))

    def cuda(self) -> "Module":
        return self.to("cuda")

    def cpu(self) -> "Module":
        return self.to("cpu")

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def state_dict(self) -> "OrderedDict[str, Tensor]":
        """Dotted name -> Tensor (sharing the parameter's data, detached from the graph)."""
        return OrderedDict((k, p.detach()) for k, p in self._all_named_parameters())

    def load_state_dict(self, state_dict: Dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or numpy arrays) into the parameters of the same names.

        Shapes must match; with strict=True missing and unexpected keys are errors too.
        All problems are reported together, by name.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        bad_shape = []
        for k, p in own.items():
            if k in state_dict:
                v = state_dict[k]
                shape = tuple(getattr(v, "shape", np.shape(v)))
                if shape != p.shape:
                    bad_shape.append(f"{k}: checkpoint {shape} vs model {p.shape}")
        problems = [f"wrong shapes: {'; '.join(bad_shape)}"] if bad_shape else []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + " | ".join(problems))
        params = dict(self._all_named_parameters())
        for k in own:
            if k in state_dict:
                v = state_dict[k]
                arr = v.data if isinstance(v, Tensor) else v
                p = params[k]
                p.data[...] = backend.to_device(backend.to_device(arr, "cpu").astype(p.dtype), p.device)
        return IncompatibleKeys(missing, unexpected)

    def _all_named_parameters(self, prefix: str = "") -> Iterator[Tuple[str, Parameter]]:
        """Every (name, Parameter) under every path that reaches it, as PyTorch's state_dict lists them:
        a shared Parameter, or any Parameter of a shared submodule, appears once per name."""
        for k, p in self._parameters.items():
            if p is not None:
                yield prefix + k, p
        for k, m in self._modules.items():
            if m is not None:
                yield from m._all_named_parameters(f"{prefix}{k}.")

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ")" if not lines else head + "\n  " + "\n  ".join(lines) + "\n)"
