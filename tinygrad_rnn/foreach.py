"""torch's ``_foreach_*`` ops: one Tensor method applied over a list of tensors, as EMA and optimizer code calls
them (``torch._foreach_mul_(ema_params, decay)``, ``torch._foreach_lerp_(ema, params, 1 - decay)``,
``torch._foreach_norm(grads)``). Each is a loop over the method that owns the op, never a second implementation,
so values, dtypes, errors and gradients are the method's; torch fuses the loop into a few kernels, here it stays
a loop (same results, no speed-up).

As torch's: an out-of-place form returns a tuple of new tensors; an in-place form (name ending in ``_``) changes the
tensors and returns the list given. The other operand of a binary op is a number, a list of numbers or a list of
tensors (one per tensor), or, for add/sub/mul/div, one Tensor; ``alpha=`` scales it for add and sub. The names
are set on the package by ``FOREACH`` (they are private in torch, so left out of ``__all__``).
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from .linalg import vector_norm
from .tensor import Tensor

# (the Tensor methods torch has a _foreach_ form of, in and out of place)
UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
         "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin",
         "sinh", "sqrt", "tan", "tanh", "trunc")
BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_max", "clamp_min", "pow")
TENSOR_OTHER = ("add", "sub", "mul", "div")  # (those that take one Tensor for the whole list, as torch's)


def _tensors(op: str, tensors: Any) -> Sequence[Tensor]:
    """The list of tensors an op runs over: a non-empty list or tuple of Tensors."""
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{op}: expected a list of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{op}: Tensor list must have at least one tensor.")
    return tensors


def _per_tensor(op: str, tensors: Sequence[Tensor], other: Any, tensor_ok: bool = False) -> Sequence[Any]:
    """other, one per tensor: a number (or, where ``tensor_ok``, one Tensor) repeated, or a list of as many numbers
    or tensors as there are tensors."""
    if isinstance(other, numbers.Number) or (tensor_ok and isinstance(other, Tensor)):
        return [other] * len(tensors)
    if isinstance(other, (list, tuple)):
        if len(other) != len(tensors):
            if any(isinstance(o, Tensor) for o in other):
                raise RuntimeError(f"{op}: Tensor lists must have the same number of tensors, got {len(tensors)} "
                                   f"and {len(other)}")
            raise RuntimeError(f"{op}: Tensor list must have same number of elements as scalar list "
                               f"({len(tensors)} tensors, {len(other)} numbers).")
        return other
    raise TypeError(f"{op}: expected a number, a list of numbers or a list of Tensors"
                    f"{' or a Tensor' if tensor_ok else ''}, got {type(other).__name__}")


def _unary(name: str, in_place: bool) -> Callable[..., Any]:
    method = name + ("_" if in_place else "")

    def op(self: Sequence[Tensor]) -> Any:
        results = [getattr(t, method)() for t in _tensors(f"_foreach_{method}", self)]
        return self if in_place else tuple(results)

    op.__doc__ = f"torch._foreach_{method}: x.{method}() for each tensor x of the list."
    return op


def _binary(name: str, in_place: bool) -> Callable[..., Any]:
    opname = f"_foreach_{name}{'_' if in_place else ''}"
    method = name + "_" if in_place and hasattr(Tensor, name + "_") else name  # (maximum, minimum: copied back)
    tensor_ok = name in TENSOR_OTHER
    takes_alpha = name in ("add", "sub")

    def op(self: Any, other: Any, *, alpha: Optional[Any] = None) -> Any:
        if alpha is not None and not takes_alpha:
            raise TypeError(f"{opname}() got an unexpected keyword argument 'alpha'")
        if name == "pow" and isinstance(self, numbers.Number):  # (torch._foreach_pow(2.0, exponents))
            return tuple(e.__rpow__(self) for e in _tensors(opname, other))
        tensors = _tensors(opname, self)
        kwargs = {} if alpha is None else {"alpha": alpha}
        results = [getattr(t, method)(o, **kwargs) for t, o in zip(tensors, _per_tensor(opname, tensors, other,
                                                                                           tensor_ok))]
        if not in_place:
            return tuple(results)
        if method == name:
            for t, r in zip(tensors, results):
                t.copy_(r)
        return self

    op.__doc__ = (f"torch.{opname}: x.{name}(other) for each tensor x of the list, other a number, a list (one per "
                  f"tensor){' or one Tensor' if tensor_ok else ''}{', scaled by alpha' if takes_alpha else ''}"
                  f"{'; in place' if in_place else ''}.")
    return op


def _ternary(name: str, in_place: bool) -> Callable[..., Any]:
    """addcmul/addcdiv (value a number, a list of numbers or a Tensor of them) and lerp (weight a number or a list)."""
    opname = f"_foreach_{name}{'_' if in_place else ''}"
    method = name + ("_" if in_place else "")

    def op(self: Sequence[Tensor], tensor1: Sequence[Tensor], tensor2: Any = None, value: Any = 1) -> Any:
        tensors = _tensors(opname, self)
        firsts = _per_tensor(opname, tensors, _tensors(opname, tensor1))
        if name == "lerp":
            weights = _per_tensor(opname, tensors, tensor2)
            results = [getattr(t, method)(a, w) for t, a, w in zip(tensors, firsts, weights)]
        else:
            seconds = _per_tensor(opname, tensors, _tensors(opname, tensor2))
            if isinstance(value, Tensor):  # (torch's Tensor of scalars, one per tensor)
                value = value.tolist() if value.ndim else [value.item()] * len(tensors)
            values = _per_tensor(opname, tensors, value)
            results = [getattr(t, method)(a, b, value=v) for t, a, b, v in zip(tensors, firsts, seconds, values)]
        return self if in_place else tuple(results)

    second = "weight" if name == "lerp" else "tensor2, value=1"
    op.__doc__ = f"torch.{opname}(self, tensor1, {second}): x.{method} over the lists, one per tensor."
    return op


def _foreach_norm(self: Sequence[Tensor], ord: Any = 2, dtype: Any = None) -> Tuple[Tensor, ...]:
    """torch._foreach_norm: linalg.vector_norm(x, ord) of each tensor of the list (0-d tensors)."""
    return tuple(vector_norm(t, ord, dtype=dtype) for t in _tensors("_foreach_norm", self))


def _foreach_max(self: Sequence[Tensor]) -> Tuple[Tensor, ...]:
    """torch._foreach_max: the largest element of each tensor of the list (0-d tensors)."""
    return tuple(t.max() for t in _tensors("_foreach_max", self))


def _foreach_clone(self: Sequence[Tensor]) -> Tuple[Tensor, ...]:
    """torch._foreach_clone: a copy of each tensor of the list."""
    return tuple(t.clone() for t in _tensors("_foreach_clone", self))


def _foreach_copy_(self: Sequence[Tensor], src: Sequence[Tensor], non_blocking: bool = False) -> Sequence[Tensor]:
    """torch._foreach_copy_: x.copy_(s) for each pair; returns self."""
    tensors = _tensors("_foreach_copy_", self)
    for t, s in zip(tensors, _per_tensor("_foreach_copy_", tensors, _tensors("_foreach_copy_", src))):
        t.copy_(s, non_blocking)
    return self


def _foreach_zero_(self: Sequence[Tensor]) -> Sequence[Tensor]:
    """torch._foreach_zero_: x.zero_() for each tensor of the list; returns self."""
    for t in _tensors("_foreach_zero_", self):
        t.zero_()
    return self


def _forms() -> Dict[str, Callable[..., Any]]:
    forms: Dict[str, Callable[..., Any]] = {}
    for names, make in ((UNARY, _unary), (BINARY, _binary), (("addcmul", "addcdiv", "lerp"), _ternary)):
        for name in names:
            for in_place in (False, True):
                fn = make(name, in_place)
                fn.__name__ = fn.__qualname__ = f"_foreach_{name}{'_' if in_place else ''}"
                forms[fn.__name__] = fn
    for fn in (_foreach_norm, _foreach_max, _foreach_clone, _foreach_copy_, _foreach_zero_):
        forms[fn.__name__] = fn
    return forms


FOREACH = _forms()
