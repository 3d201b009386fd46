"""Pruning, as torch.nn.utils.prune: a pruned parameter ``<name>`` becomes the Parameter ``<name>_orig`` and a buffer
``<name>_mask`` (1 where kept, 0 where pruned, of the parameter's dtype), and a forward pre-hook (the pruning method
itself) sets the plain attribute ``module.<name>`` to ``<name>_orig * <name>_mask`` before every call, so the
gradient reaching <name>_orig is the weight's times the mask. Pruning the same parameter again composes the masks
through a PruningContainer (the new method sees only the entries, or channels, still kept); remove() makes the
pruned values a plain Parameter again. An nn.LSTM's weight_hh_l0 can be pruned: its layers (fused or not) read the
weights as attributes, the recomputed ones. Ties in the magnitudes are broken by tg.topk's order, which may differ
from torch's; the random methods draw from this package's generators, not torch's."""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from ...autograd import no_grad
from ...creation import ones_like, rand, rand_like, zeros_like
from ...tensor import Tensor
from ..module import Module

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured", "l1_unstructured",
           "random_structured", "ln_structured", "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


def _pre_hooks(module: Module) -> list:
    return module._forward_pre_hooks if module._forward_pre_hooks is not None else []


def _drop_attr(module: Module, name: str) -> None:
    """Unregister ``name`` wherever it is (parameter, buffer, plain attribute), as del of torch's registries."""
    if name in module.__dict__ or name in module._parameters or name in module._buffers:
        delattr(module, name)


class BasePruningMethod(ABC):
    """torch's base of the pruning methods: compute_mask(t, default_mask) is the method; apply() prunes a module's
    tensor with it (registering <name>_orig, <name>_mask and the instance as a forward pre-hook); an instance
    called as the hook recomputes the pruned tensor."""

    _tensor_name: Optional[str] = None
    PRUNING_TYPE: str

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask for t (the importance scores), given the mask so far (default_mask)."""

    def apply_mask(self, module: Module) -> Tensor:
        """<name>_orig * <name>_mask (the mask cast to the parameter's dtype): the pruned tensor."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {type(module).__name__} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Optional[Tensor] = None,
              **kwargs: Any) -> "BasePruningMethod":
        """Prune module.<name> with cls(*args, **kwargs) (torch's): on a tensor already pruned the method joins a
        PruningContainer with the earlier ones and sees only what is still kept. importance_scores (the tensor's
        shape) rank the entries instead of the tensor's values. Returns the hook (the method or the container)."""
        method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(f"importance_scores should have the same shape as parameter {name} of "
                                     f"{type(module).__name__}, got {importance_scores.shape} vs {orig.shape}")
        else:
            importance_scores = orig
        fresh = not isinstance(method, PruningContainer)
        if fresh:
            module.register_parameter(name + "_orig", orig)
            _drop_attr(module, name)
            default_mask = ones_like(orig, requires_grad=False)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if fresh:
                orig = module._parameters[name + "_orig"]
                _drop_attr(module, name + "_orig")
                _drop_attr(module, name + "_mask")
                _drop_attr(module, name)
                module.register_parameter(name, orig)
            raise
        return method

    def prune(self, t: Tensor, default_mask: Optional[Tensor] = None,
              importance_scores: Optional[Tensor] = None) -> Tensor:
        """t times its mask (computed from importance_scores, default t), without touching any module."""
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError(f"importance_scores should have the same shape as tensor t, got "
                                     f"{importance_scores.shape} vs {t.shape}")
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else ones_like(t, requires_grad=False)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruned tensor permanent: <name> becomes the Parameter <name>_orig holding orig * mask, and
        <name>_orig and <name>_mask go (the hook is unregistered by the function remove)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {type(module).__name__} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        name = self._tensor_name
        _drop_attr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.array = weight.array
        _drop_attr(module, name + "_orig")
        _drop_attr(module, name + "_mask")
        setattr(module, name, orig)


def _composite_method(cls: type, module: Module, name: str, *args: Any, **kwargs: Any) -> BasePruningMethod:
    """cls(*args, **kwargs) for module.<name>, joined with the pruning hook already on it (unregistered here)."""
    hooks = _pre_hooks(module)
    found = [e for e in hooks if isinstance(e[0], BasePruningMethod) and e[0]._tensor_name == name]
    if len(found) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module "
                             f"{type(module).__name__}. Use a PruningContainer.")
    for entry in found:
        hooks.remove(entry)
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if found:
        old = found[0][0]
        if isinstance(old, PruningContainer):
            old.add_pruning_method(method)
            return old
        container = PruningContainer(old)
        container.add_pruning_method(method)
        return container
    return method


class PruningContainer(BasePruningMethod):
    """The pruning methods applied in turn to one tensor: its mask is the last one's, computed on the entries
    (unstructured) or channels (structured) the earlier masks kept."""

    def __init__(self, *args: Any) -> None:
        self._pruning_methods: Tuple[BasePruningMethod, ...] = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: Optional[BasePruningMethod]) -> None:
        """Append a method acting on the same tensor name (TypeError for a non-method, ValueError for another
        name), as torch's."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named '{self._tensor_name}' to "
                             f"PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Iterator[BasePruningMethod]:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: Any) -> Any:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """default_mask with the last method's mask written where it still keeps: the kept entries (unstructured),
        the channels along method.dim with any kept entry (structured), or everything (global)."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            slc: Any = default_mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute `dim` '
                                     "defined.")
            n_dims, dim = t.ndim, method.dim
            dim = dim + n_dims if dim < 0 else dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            keep = default_mask.sum(dim=[d for d in range(n_dims) if d != dim]) != 0
            slc = tuple(keep if d == dim else slice(None) for d in range(n_dims))
        elif kind == "global":
            slc = tuple(slice(None) for _ in range(t.ndim))
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        partial = method.compute_mask(t[slc], default_mask=default_mask[slc])
        new_mask[slc] = partial.to(dtype=new_mask.dtype)
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing: the mask of ones (to make a tensor look pruned)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> "BasePruningMethod":  # type: ignore[override]
        return super().apply(module, name)


def _unstructured_mask(amount: Any, t: Tensor, default_mask: Tensor, pruned: Callable[[int], Tensor]) -> Tensor:
    """A copy of default_mask with k more entries set to 0, k = amount (an int, or a fraction of t's entries,
    rounded, checked as torch's): the flat positions pruned(k) gives (computed under no_grad)."""
    k = _compute_nparams_toprune(amount, t.numel())
    _validate_pruning_amount(k, t.numel())
    mask = default_mask.clone()
    if k != 0:
        with no_grad():
            mask.view(-1)[pruned(k)] = 0
    return mask


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries (an int, or a fraction of them, rounded) chosen at random among those kept."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: Any) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return _unstructured_mask(self.amount, t, default_mask,
                                  lambda k: rand_like(t.detach()).view(-1).topk(k).indices)

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any) -> "BasePruningMethod":  # type: ignore[override]
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (an int, or a fraction of them, rounded) of smallest absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: Any) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return _unstructured_mask(self.amount, t, default_mask,
                                  lambda k: t.detach().abs().reshape(-1).topk(k, largest=False).indices)

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any,  # type: ignore[override]
              importance_scores: Optional[Tensor] = None) -> "BasePruningMethod":
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _structured_count(amount: Any, t: Tensor, dim: int) -> Tuple[int, int]:
    """(t's size along dim, how many of those channels amount prunes: an int, or a fraction, rounded), t, dim and
    the count checked as torch's."""
    _validate_structured_pruning(t)
    _validate_pruning_dim(t, dim)
    size = t.shape[dim]
    k = _compute_nparams_toprune(amount, size)
    _validate_pruning_amount(k, size)
    return size, k


def _channel_mask(t: Tensor, dim: int, channels: Any, default_mask: Tensor) -> Tensor:
    """default_mask times a mask of ones in the channels to keep (a bool vector or indices) along dim, zeros
    elsewhere."""
    with no_grad():
        mask = zeros_like(t.detach(), requires_grad=False)
        mask[tuple(channels if d == dim % t.ndim else slice(None) for d in range(t.ndim))] = 1
        mask *= default_mask.to(dtype=mask.dtype)
    return mask


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim`` (an int, or a fraction of them, rounded), chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        size, k = _structured_count(self.amount, t, self.dim)
        if k == 0:
            return default_mask
        with no_grad():
            prob = rand(size, device=t.device)
            keep = prob > prob.kthvalue(k).values
        return _channel_mask(t, self.dim, keep, default_mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any, dim: int = -1) -> "BasePruningMethod":  # type: ignore
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` (an int, or a fraction of them, rounded) of smallest L``n``
    norm (n as torch.norm's p: a number, inf, -inf, 'fro' or 'nuc'), taken over every other dim."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        size, k = _structured_count(self.amount, t, self.dim)
        with no_grad():
            keep = _compute_norm(t.detach(), self.n, self.dim).topk(size - k, largest=True).indices
        return default_mask if k == 0 else _channel_mask(t, self.dim, keep, default_mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount: Any, n: Any, dim: int,  # type: ignore[override]
              importance_scores: Optional[Tensor] = None) -> "BasePruningMethod":
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where a given mask (of the tensor's shape) is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask shape "
                                 f"{self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> "BasePruningMethod":  # type: ignore[override]
        return super().apply(module, name, mask=mask)


def identity(module: Module, name: str) -> Module:
    """Apply a mask of ones to module.<name> (it then looks pruned: <name>_orig, <name>_mask). Returns module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    """Prune ``amount`` random entries of module.<name> (an int, or a fraction in [0, 1]). Returns module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: Any, importance_scores: Optional[Tensor] = None) -> Module:
    """Prune the ``amount`` entries of module.<name> of smallest |importance_scores| (default: the tensor's own
    values). Returns module."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: Any, dim: int) -> Module:
    """Prune ``amount`` random channels of module.<name> along dim. Returns module."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: Any, n: Any, dim: int,
                  importance_scores: Optional[Tensor] = None) -> Module:
    """Prune the ``amount`` channels of module.<name> along dim of smallest Ln norm (of importance_scores, default
    the tensor). Returns module."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable, pruning_method: type, importance_scores: Optional[Dict] = None,
                        **kwargs: Any) -> None:
    """Prune the (module, name) pairs together: pruning_method(**kwargs) (an unstructured one) ranks all their
    entries (importance_scores[(module, name)] where given) as one vector, and each tensor gets its slice of the
    mask through custom_from_mask, as torch's."""
    from . import parameters_to_vector
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = parameters_to_vector([importance_scores.get((m, n), getattr(m, n)) for m, n in parameters])
    default_mask = parameters_to_vector([getattr(m, n + "_mask", None) if hasattr(m, n + "_mask")
                                         else ones_like(getattr(m, n), requires_grad=False) for m, n in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = container.compute_mask(scores.detach(), default_mask.detach())
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        n = param.numel()
        custom_from_mask(module, name, mask=final_mask[pointer:pointer + n].view_as(param))
        pointer += n


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune module.<name> where ``mask`` is 0. Returns module."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of module.<name> permanent: a plain Parameter holding the pruned values, without
    <name>_orig, <name>_mask or the hook. ValueError when it is not pruned. Returns module."""
    hooks = _pre_hooks(module)
    for entry in hooks:
        if isinstance(entry[0], BasePruningMethod) and entry[0]._tensor_name == name:
            entry[0].remove(module)
            hooks.remove(entry)
            return module
    raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned before pruning can be "
                     "removed")


def is_pruned(module: Module) -> bool:
    """Whether module or any submodule has a pruning hook."""
    return any(isinstance(entry[0], BasePruningMethod)
               for _, m in module.named_modules() for entry in _pre_hooks(m))


def _validate_pruning_amount_init(amount: Any) -> None:
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):  # (torch's topk then refuses a bool k)
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_pruning_amount(amount: Any, tensor_size: int) -> None:
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")


def _validate_structured_pruning(t: Tensor) -> None:
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {tuple(t.shape)} with {t.ndim} dims")


def _compute_nparams_toprune(amount: Any, tensor_size: int) -> int:
    """amount as a count: an int as it is, a fraction times tensor_size rounded half to even (Python's round)."""
    if isinstance(amount, numbers.Integral):
        return int(amount)
    return round(amount * tensor_size)


def _validate_pruning_dim(t: Tensor, dim: int) -> None:
    if dim >= t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _compute_norm(t: Tensor, n: Any, dim: int) -> Tensor:
    """The Ln norm of t over every dim but ``dim`` (one value per channel)."""
    dims = list(range(t.ndim))
    dims.remove(dims[dim])
    return t.norm(p=n, dim=dims)
