"""Optimizer base class: parameter groups, per-parameter state, state_dict in PyTorch's format.

Subclasses implement ``_update(p, grad, state, group)``, an in-place array update
of ``p.array`` (numpy or cupy, chosen by ``backend.xp_of``); ``step()`` calls it for
every parameter that has a gradient, without recording a graph.

torch's implementation options are taken with torch's names and positions and kept in each group (so state dicts
have torch's keys and load into torch and back): foreach (None, True or False) and fused=None/False change
nothing here, foreach=True being a speed hint for torch's multi-tensor kernels (there is one implementation here);
fused=True, capturable=True and differentiable=True change what a step does (a fused kernel, CUDA-graph capture,
a step recorded for autograd), which is not implemented: NotImplementedError names the option.
"""
from __future__ import annotations

import functools
import math
import numbers
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from .. import backend
from ..autograd import enable_grad, no_grad
from ..nn.module import _foreign_array, zero_grad_
from ..tensor import (ComplexNotSupportedError, Tensor, _Handle, _KeyValueError, _TypeValueError, complex_ok,
                      get_default_dtype)

ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]]]


class _RequiredParameter:
    """The class of ``required``: torch's marker for an option with no default (``def __init__(self, params,
    lr=required)`` in a custom optimizer), which every parameter group must then give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def check_number(opt: str, name: str, value: Any, ok: Callable[[float], bool], want: str) -> None:
    """Raise ValueError '<opt>: invalid <name> <value> (must be <want>)' unless ok(value)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _TypeValueError(f"{opt}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    if math.isnan(value) or not ok(value):
        raise ValueError(f"{opt}: invalid {name} {value!r} (must be {want})")


def check_int(opt: str, name: str, value: Any, lo: int) -> None:
    """Raise ValueError '<opt>: <name> must be an int >= <lo>' unless value is one (a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{opt}: {name} must be an int >= {lo}, got {value!r}")


def nonneg(opt: str, group: Dict[str, Any], *names: str) -> None:
    """Raise ValueError unless each named option is a number >= 0 (lr may also be a 1-element Tensor, as torch's)."""
    for name in names:
        value = group[name]
        if name == "lr" and isinstance(value, Tensor):
            if value.numel() != 1:
                raise ValueError(f"{opt}: Tensor lr must be 1-element, got shape {value.shape}")
            value = float(value)
        check_number(opt, name, value, lambda v: v >= 0, ">= 0")


def _as_lr(value: Any) -> Any:
    """A loaded group's lr or initial_lr: a Tensor of its own (another library's, a torch optimizer's, through its
    __array__), a number as it is."""
    if isinstance(value, Tensor):
        return value.clone()
    if hasattr(value, "__array__") and not isinstance(value, numbers.Number):
        return Tensor(np.array(_foreign_array(value)))
    return value


def check_betas(opt: str, betas: Any) -> None:
    """Raise ValueError unless betas is a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        check_number(opt, f"betas[{i}]", b, lambda v: 0 <= v < 1, "in [0, 1)")


def check_flag(opt: str, group: Dict[str, Any], *names: str) -> None:
    """Raise TypeError unless each named option is True or False."""
    for name in names:
        if not isinstance(group[name], bool):
            raise TypeError(f"{opt}: {name} must be True or False, got {group[name]!r}")


_UNSUPPORTED = {"fused": "torch's fused kernels", "capturable": "capture in a CUDA graph",
                "differentiable": "a step recorded for autograd (the update here is in place, under no_grad)"}


def check_torch_options(opt: str, group: Dict[str, Any]) -> None:
    """foreach, fused, capturable and differentiable (those the group has): foreach and fused None or a bool,
    the others bools; fused, capturable or differentiable True is a NotImplementedError naming it."""
    for name in ("foreach", "fused", "capturable", "differentiable"):
        if name not in group:
            continue
        value = group[name]
        if not (isinstance(value, bool) or value is None and name in ("foreach", "fused")):
            raise TypeError(f"{opt}: {name} must be {'None, ' if name in ('foreach', 'fused') else ''}True or "
                            f"False, got {value!r}")
        if value and name in _UNSUPPORTED:
            raise NotImplementedError(f"{opt}: {name}=True ({_UNSUPPORTED[name]}) is not implemented; pass "
                                      f"{name}=False")


_global_step_pre_hooks: List[Any] = []
_global_step_post_hooks: List[Any] = []


def register_optimizer_step_pre_hook(hook: Callable[..., Any]) -> _Handle:
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's step (torch's global hook, run before the
    optimizer's own): args are step's positional arguments with the optimizer first, as torch passes them; an
    (args, kwargs) pair it returns replaces them. ``handle.remove()`` unregisters it."""
    return _add_hook(_global_step_pre_hooks, hook, False, "register_optimizer_step_pre_hook")


def register_optimizer_step_post_hook(hook: Callable[..., Any]) -> _Handle:
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's step (torch's global hook, run after the
    optimizer's own). ``handle.remove()`` unregisters it."""
    return _add_hook(_global_step_post_hooks, hook, False, "register_optimizer_step_post_hook")


def _add_hook(hooks: List[Any], hook: Callable[..., Any], prepend: bool, where: str) -> _Handle:
    """Register hook in the list (first with prepend); the entry is a 1-tuple of its own, so that the same function
    registered twice has two registrations, each removed by its own handle."""
    if not callable(hook):
        raise TypeError(f"{where}: hook must be callable, got {type(hook).__name__}")
    entry = (hook,)
    hooks.insert(0, entry) if prepend else hooks.append(entry)
    return _Handle(hooks, entry)


def _run_step_pre_hooks(opt: "Optimizer", args: Tuple[Any, ...], kwargs: Dict[str, Any]
                        ) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
    """The global, then the optimizer's step pre-hooks, in order; each may replace (args, kwargs)."""
    for (hook,) in [*_global_step_pre_hooks, *opt._optimizer_step_pre_hooks]:
        result = hook(opt, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(f"{type(opt).__name__}.step: a step pre-hook must return None or a tuple "
                                   f"(new_args, new_kwargs), but got {result!r}")
            args, kwargs = result
    return args, kwargs


def _counted(step: Callable[..., Any]) -> Callable[..., Any]:
    """step, counting each outermost call in ``_step_count`` (a step that calls super().step() counts once), so
    a scheduler can tell whether the optimizer has stepped: torch's schedulers wrap step() for the same reason.
    The outermost call also runs the step pre- and post-hooks (global and the optimizer's), as torch's
    profile_hook_step does: args holds the optimizer first, then step's arguments."""
    @functools.wraps(step)
    def counted(self: "Optimizer", *args: Any, **kwargs: Any) -> Any:
        if self._in_step:
            return step(self, *args, **kwargs)
        self._in_step = True
        try:
            if not (_global_step_pre_hooks or self._optimizer_step_pre_hooks or _global_step_post_hooks
                    or self._optimizer_step_post_hooks):
                return step(self, *args, **kwargs)
            full, kwargs = _run_step_pre_hooks(self, (self, *args), kwargs)
            out = step(*full, **kwargs)
            for (hook,) in [*self._optimizer_step_post_hooks, *_global_step_post_hooks]:
                hook(self, full, kwargs)
            return out
        finally:
            self._in_step = False
            self._step_count += 1
    counted._counts_steps = True  # type: ignore[attr-defined]
    return counted


def scalar_state(value: float, p: Optional[Tensor] = None) -> Tensor:
    """A 0-d state Tensor holding value ('step', ASGD's 'eta' and 'mu', NAdam's 'mu_product'), as torch keeps them:
    torch's scalar dtype (float64 where the default dtype is, else float32), on the CPU, or on p's device."""
    dtype = np.float64 if get_default_dtype() == np.float64 else np.float32
    array = np.array(value, dtype=dtype)
    return Tensor._make(array if p is None else backend.to_device(array, p.device))


def zeros_state(p: Tensor) -> Tensor:
    """A state Tensor of zeros of p's shape, dtype and device (exp_avg, momentum_buffer, square_avg, ...)."""
    return Tensor._make(backend.xp_of(p.array).zeros_like(p.array))


def apply_weight_decay(p: Tensor, g: Any, group: Dict[str, Any]) -> Any:
    """The gradient after weight decay: g + weight_decay * p (L2), or g itself after p *= 1 - lr * weight_decay
    where the group has decoupled_weight_decay=True."""
    wd = group["weight_decay"]
    if wd == 0:
        return g
    if group.get("decoupled_weight_decay", False):
        p.array *= 1 - group["lr"] * wd
        return g
    return g + wd * p.array


class Optimizer:
    """Base class, like torch.optim.Optimizer.

    params: an iterable of Tensors (or of (name, Tensor) pairs, as named_parameters() gives: the names go to
    the group's 'param_names'), or of dicts {'params': [...], <option>: value}
    whose options override ``defaults`` for that group. ``state[p]`` holds each parameter's buffers as torch's,
    under its keys: Tensors on p's device ('step' a 0-d float Tensor on the CPU; see scalar_state), which the
    update changes in place through their arrays. torch's foreach, fused, capturable and differentiable
    options: foreach=True is honoured as a no-op, the others True refused (see the module docstring).
    lr may be a 1-element Tensor, as torch's: each step reads its value (a scheduler fills it in place).
    torch's step, state_dict and load_state_dict hooks (register_*_hook) run for every subclass: step is wrapped
    once per class (its outermost call runs the hooks), at the cost of one check when none is registered.
    """

    _scalar_state: Tuple[str, ...] = ("step",)  # 0-d state: a number loaded under these keys becomes a Tensor
    # options a loaded group may lack, saved before they existed: it takes these values (torch's rule), not the
    # constructor's
    _legacy_options: Dict[str, Any] = {}
    _in_step = False
    _step_count = 0  # (also for a subclass that never calls Optimizer.__init__: Lookahead wrappers, as torch runs)
    # complex parameters: "pairs" (torch's rule) updates each one's view_as_real, its gradient's and its complex
    # state's, so |g|^2, sqrt, sign, ... act on the real and imaginary parts apart (see _update_pairs); True where
    # _update is linear in p and grad, so the complex arrays update as they are (SGD, ASGD); False refuses them
    _complex_params: Any = "pairs"
    _HOOKS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
              "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
              "_optimizer_load_state_dict_post_hooks")
    # (each instance gets its own lists; these empty ones serve an optimizer unpickled from before hooks existed)
    _optimizer_step_pre_hooks = _optimizer_step_post_hooks = _optimizer_state_dict_pre_hooks = ()
    _optimizer_state_dict_post_hooks = _optimizer_load_state_dict_pre_hooks = _optimizer_load_state_dict_post_hooks = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own step() (a custom optimizer written as torch's docs show) is counted as Optimizer's."""
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_counts_steps", False):
            cls.step = _counted(step)  # type: ignore[method-assign]

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]) -> None:
        for name in self._HOOKS:
            setattr(self, name, [])
        self.defaults = dict(defaults)
        self._check(self.defaults)
        self.state: Dict[Tensor, Dict[str, Any]] = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        self._step_count = 0
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a single Tensor "
                            f"(shape {params.shape}); wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered collection (a list), not a set: the order of a "
                            "set changes between runs, which breaks state_dict")
        if isinstance(params, dict):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a dict; "
                            "pass a list of param groups ([{'params': ...}])")
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ subclasses fill these in
    def _check_group(self, group: Dict[str, Any]) -> None:
        """Raise ValueError for an invalid hyperparameter in a group (or in the defaults)."""

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        raise NotImplementedError

    def _check(self, group: Dict[str, Any]) -> None:
        check_torch_options(type(self).__name__, group)
        self._check_group(group)

    def _init_state(self, p: Tensor, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        """Create the per-parameter buffers the first time p is updated."""

    def _state_shape(self, p: Tensor, key: str) -> Tuple[int, ...]:
        """The shape of p's array state under ``key`` (checked when a state dict is loaded)."""
        return p.shape

    # ------------------------------------------------------------------ hooks (torch's)
    def _register(self, name: str, hook: Callable[..., Any], prepend: bool) -> _Handle:
        return _add_hook(vars(self).setdefault(name, []), hook, prepend,
                         f"{type(self).__name__}.register{name[len('_optimizer'):-1]}")

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> _Handle:
        """Call ``hook(optimizer, args, kwargs)`` before each step() (after the global pre-hooks): args are
        step's positional arguments with the optimizer first, as torch passes them; an (args, kwargs) pair it
        returns replaces them. ``handle.remove()`` unregisters it."""
        return self._register("_optimizer_step_pre_hooks", hook, False)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> _Handle:
        """Call ``hook(optimizer, args, kwargs)`` after each step() (before the global post-hooks)."""
        return self._register("_optimizer_step_post_hooks", hook, False)

    def register_state_dict_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer)`` before state_dict() builds its dict (prepend: before the hooks already there)."""
        return self._register("_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer, state_dict)`` on the dict state_dict() built; a dict it returns replaces it."""
        return self._register("_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer, state_dict)`` before load_state_dict() reads a (shallow) copy of the dict it
        was given; a dict it returns is loaded instead."""
        return self._register("_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _Handle:
        """Call ``hook(optimizer)`` once load_state_dict() has loaded the state and the groups."""
        return self._register("_optimizer_load_state_dict_post_hooks", hook, prepend)

    def __getstate__(self) -> Dict[str, Any]:
        """The attributes without the hooks (as torch's): a pickled or deep-copied optimizer has none, and an
        optimizer with a lambda hook pickles."""
        return {k: v for k, v in self.__dict__.items() if k not in self._HOOKS}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        """Take the attributes in state (unpickling, and load_state_dict's state and groups, as torch's)."""
        self.__dict__.update(state)
        for name in self._HOOKS:
            if not isinstance(self.__dict__.get(name), list):
                setattr(self, name, [])

    # ------------------------------------------------------------------ public API
    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group {'params': ..., options}; missing options come from ``defaults``."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise _KeyValueError(f"{name}.add_param_group: param_group has no 'params' key (keys: "
                                 f"{sorted(param_group)})")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be in an ordered collection (a list), not a set: "
                            "the order of a set changes between runs, which breaks state_dict")
        group["params"] = params = list(params)
        named = [isinstance(p, tuple) for p in params]
        if any(named):  # (name, Tensor) pairs from named_parameters(), as torch takes them
            if not all(named) or any(len(p) != 2 for p in params):
                raise ValueError(f"{name}: the parameters of a group must all be (name, Tensor) pairs, as "
                                 "named_parameters() gives, or all be Tensors")
            group["param_names"] = [n for n, _ in params]
            group["params"] = params = [p for _, p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}, "
                                 f"computed by {p.grad_fn.name}); optimize the leaf it came from")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{name}: a parameter group contains the same parameter more than once")
        if self.param_groups and ("param_names" in group) != ("param_names" in self.param_groups[0]):
            raise ValueError(f"{name}: all parameter groups must be named (named_parameters()) or all unnamed; "
                             f"cannot add a group {'with' if 'param_names' in group else 'without'} names")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        for key, value in self.defaults.items():
            if value is required and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {key}")
            group.setdefault(key, value)
        self._check(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: ``grad = None`` (default), or zero it in place as torch does."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:  # (the field, as step reads it: no property call per parameter)
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    zero_grad_(p)

    @staticmethod
    def _closure_loss(closure: Callable[[], Any]) -> Any:
        """closure() evaluated with grad on, as every step runs its closure (callers check for None themselves, so
        that a step without a closure pays no call)."""
        with enable_grad():
            return closure()

    @_counted
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Update every parameter that has a gradient; returns closure() (evaluated with grad on) if given."""
        loss = None if closure is None else self._closure_loss(closure)
        refuses_sparse = type(self)._update_sparse is Optimizer._update_sparse
        with no_grad():
            for group in self.param_groups:
                if isinstance(group["lr"], Tensor):  # (torch's tensor lr: its value now, as a number)
                    group = dict(group, lr=float(group["lr"]))
                if refuses_sparse:  # (a group's sparse gradient refused before any of its parameters steps, as
                    for p in group["params"]:  # torch's _init_group; attribute reads only, no call per parameter)
                        g = p._grad
                        if g is not None and type(g) is not Tensor and g.is_sparse:
                            raise RuntimeError(self._sparse_refusal
                                               or f"{type(self).__name__} does not support sparse gradients")
                for p in group["params"]:
                    grad = p._grad  # (the field, as the engine reads it: no property call per parameter)
                    if grad is None:
                        continue
                    if type(grad) is not Tensor and grad.is_sparse:  # (sparse COO, F.embedding(sparse=True)'s)
                        self._step_sparse(p, grad, group)
                        continue
                    grad = grad.array
                    if grad.shape != p.array.shape:
                        raise ValueError(f"{type(self).__name__}.step: gradient shape {grad.shape} does not match "
                                         f"parameter shape {p.shape}")
                    state = self.state.get(p, {})
                    if not state:
                        if not self._complex_params and grad.dtype.kind == "c":
                            _refuse_complex(self, p)
                        self._init_state(p, state, group)
                    if grad.dtype.kind == "c" and self._complex_params is not True:
                        self._update_pairs(p, grad, state, group)
                    else:
                        self._update(p, grad, state, group)
                    if state:  # (SGD without momentum keeps nothing: p gets no entry, as in torch's state_dict)
                        self.state[p] = state
                        for key in state:  # (the state Tensors were written in place too: t._bump_version(),
                            t = state[key]  # without a call per tensor on this loop)
                            if t.__class__ is Tensor:
                                if t._vc is None:
                                    t._vc = [1]
                                else:
                                    t._vc[0] += 1
                    p._bump_version()  # a graph that saved p's old values must not backpropagate with these
        return loss

    def _step_sparse(self, p: Tensor, grad: Any, group: Dict[str, Any]) -> None:
        """One parameter's step with a sparse COO gradient: _update_sparse, for the optimizers torch lets take one
        (SGD, Adagrad; SparseAdam has its own step); step refuses it for the others, with torch's error, before a
        group's parameters step."""
        state = self.state.get(p, {})
        if not state:
            self._init_state(p, state, group)
        self._update_sparse(p, grad, state, group)
        if state:
            self.state[p] = state
        p._bump_version()

    # torch's refusal of a sparse gradient where it is not the default "<name> does not support sparse gradients"
    _sparse_refusal: Optional[str] = None

    def _update_sparse(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        """_update for a sparse COO gradient (tg.sparse.SparseCooTensor), in place; not overridden: refused."""
        raise NotImplementedError

    def _update_pairs(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        """_update on a complex parameter as torch's: on view_as_real of p, of its gradient and of each complex
        state array (in place, through views of their memory), so each real and imaginary part is updated as a
        real parameter of its own. State the update creates (a real pair array) is kept complex, as torch keeps it."""
        if not self._complex_params:
            _refuse_complex(self, p)
        views = {k: Tensor._make(_real_pairs(v.array)) for k, v in state.items()
                 if isinstance(v, Tensor) and v.array.dtype.kind == "c"}
        pairs = {**state, **views}
        self._update(Tensor._make(_real_pairs(p.array)), _real_pairs(grad), pairs, group)
        for k, v in pairs.items():
            if v is not views.get(k, state.get(k)):  # (a Tensor the update made or replaced)
                a = getattr(v, "array", None)
                state[k] = (Tensor._make(a.view(p.dtype)[..., 0]) if getattr(a, "shape", None) == p.shape + (2,)
                            and a.dtype.kind == "f" else v)

    def state_dict(self) -> Dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]} like torch.

        Parameters are numbered in group order; state arrays are references, not
        copies (as in torch), so deepcopy the result to keep a snapshot in memory. The state dict pre-hooks run
        first; each post-hook sees the dict and may return another.
        """
        for (hook,) in list(self._optimizer_state_dict_pre_hooks):
            hook(self)
        index: Dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": groups}
        for (hook,) in list(self._optimizer_state_dict_post_hooks):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore state and group options from ``state_dict()`` output (possibly from ``load``).

        Buffers are copied into Tensors of their own on each parameter's device, floating-point ones in its
        dtype, as torch's ('step' keeps its dtype; a number under a 0-d key becomes a 0-d Tensor). The current
        parameters are kept. The load pre-hooks see (and may replace) the dict first; the post-hooks run once it
        is loaded.
        """
        name = type(self).__name__
        if self._optimizer_load_state_dict_pre_hooks:  # (on a shallow copy, as torch's)
            state_dict = state_dict.copy() if isinstance(state_dict, dict) else state_dict
            for (hook,) in list(self._optimizer_load_state_dict_pre_hooks):
                result = hook(self, state_dict)
                if result is not None:
                    state_dict = result
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            # (torch: a KeyError for a missing key; for no dict at all, an AttributeError from its .copy())
            raise (_KeyValueError if isinstance(state_dict, dict) else ValueError)(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups', got "
                f"{sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(s['params'])} parameters "
                                 f"in the state dict but {len(g['params'])} in this optimizer")
        id_map = {saved: p for g, s in zip(self.param_groups, saved_groups)
                  for saved, p in zip(s["params"], g["params"])}
        state: Dict[Any, Dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                p = id_map[key]
                state[p] = {k: _cast(p, v, k, self._scalar_state) for k, v in value.items()}
                for k, v in state[p].items():  # (a parameter list in another order gives other shapes)
                    if hasattr(v, "shape") and v.ndim and v.shape != (shape := self._state_shape(p, k)):
                        wants = f" (so {k!r} should have shape {shape})" if shape != p.shape else ""
                        raise ValueError(f"{name}.load_state_dict: state {k!r} of saved parameter {key} has shape "
                                         f"{v.shape}, but the parameter it maps to has shape {p.shape}{wants}; are "
                                         "the parameters passed in the same order as when the state was saved?")
            else:
                state[key] = value
        groups = []
        for g, s in zip(self.param_groups, saved_groups):
            new = {k: (tuple(v) if isinstance(v, list) and isinstance(g.get(k), tuple) else v)
                   for k, v in s.items() if k != "params"}
            for key in ("lr", "initial_lr"):
                if key in new:
                    new[key] = _as_lr(new[key])
            for key, value in self.defaults.items():
                new.setdefault(key, self._legacy_options.get(key, value))
            if "param_names" in g:  # (a state dict saved without names keeps this optimizer's, as torch's)
                new.setdefault("param_names", g["param_names"])
            new["params"] = g["params"]
            self._check(new)
            groups.append(new)
        self.__setstate__({"state": state, "param_groups": groups})
        for (hook,) in list(self._optimizer_load_state_dict_post_hooks):
            hook(self)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def _refuse_complex(opt: Optimizer, p: Tensor) -> None:
    """Raise ComplexNotSupportedError: opt (its _complex_params False) does not update complex parameters."""
    raise ComplexNotSupportedError(f"{type(opt).__name__} does not support complex parameters (a {p.dtype} one of "
                                   f"shape {p.shape})")


def _real_pairs(a: Any) -> Any:
    """A complex array's memory as its real and imaginary parts, a last dim of 2 (torch's view_as_real; a view)."""
    return a[..., None].view(a.real.dtype)


def _cast(p: Tensor, value: Any, key: Any, scalars: Tuple[str, ...] = ("step",)) -> Any:
    """A state value from a state dict as a Tensor of its own on p's device (floats also in p's dtype, except
    'step', torch's rule); another library's tensors (a torch optimizer's state dict) and numpy/CuPy arrays come in
    through their arrays. A number under the ``scalars`` keys (a state dict saved when they were numbers) becomes a
    0-d Tensor (see scalar_state); other numbers stay numbers, as torch's."""
    if isinstance(value, Tensor):
        value = value.array
    elif hasattr(value, "__array__") and not (isinstance(value, np.ndarray) or backend.is_cupy_array(value)):
        value = np.asarray(_foreign_array(value))  # (a torch bfloat16 tensor through float32: numpy has none)
    if isinstance(value, np.ndarray) or backend.is_cupy_array(value):
        if key == "step" and value.ndim == 0:  # (torch keeps a loaded step as it is; an integer one becomes float)
            return Tensor._make(value.copy() if value.dtype.kind == "f" else scalar_state(value.item()).array)
        value = backend.to_device(value, p.device)
        if key != "step" and value.dtype.kind == "f" and p.dtype.kind == "f":  # (a complex p's state keeps its
            return Tensor._make(value.astype(p.dtype, copy=True))  # dtype, as torch's: it casts floating p's only)
        return Tensor._make(value.copy())
    if key in scalars and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _cast(p, scalar_state(value).array, key, scalars)
    if isinstance(value, dict):
        return {k: _cast(p, v, k, scalars) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(p, v, key, scalars) for v in value)
    return value


# step runs the closure (through _closure_loss) and updates through arrays: a complex loss computed in the closure is
# judged by its own ops, and step refuses complex parameters where _update is not right for them (see
# tensor.complex_check)
complex_ok(Optimizer.__dict__["step"].__wrapped__)
complex_ok(Optimizer.__dict__["step"])
complex_ok(Optimizer._closure_loss)
# (these keep a complex parameter's state complex, as torch's: made like it, updated through its real pairs, loaded
# as it is)
for _fn in (zeros_state, Optimizer._update_pairs, Optimizer.load_state_dict, _cast):
    complex_ok(_fn)
del _fn
