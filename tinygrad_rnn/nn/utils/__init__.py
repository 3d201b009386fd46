"""Gradient clipping, flat parameter vectors, skip_init, weight_norm and spectral_norm, like torch.nn.utils; padding
variable-length sequences in ``rnn``, like torch.nn.utils.rnn; ``parametrize``, ``parametrizations``, ``stateless``,
``fusion`` (conv/linear-batchnorm folding), ``convert_parameters`` and ``prune`` as torch's."""
from __future__ import annotations

import inspect
import math
import warnings
from typing import Any, Iterable, List, Optional, Union

import numpy as np

from ... import backend
from ...ops import cat
from ...tensor import ComplexNotSupportedError, Tensor, _RuntimeValueError, complex_ok, dtype_name
from .. import init
from ..module import Module, Parameter
from . import rnn  # noqa: F401  (nn.utils.rnn.pad_sequence, as torch.nn.utils.rnn)
from . import fusion, parametrizations, parametrize, stateless  # noqa: F401  (torch.nn.utils's submodules)
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: F401

Params = Union[Tensor, Iterable[Tensor]]


def _as_list(parameters: Params, fn: str) -> List[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameters must be Tensors, but item {i} is a {type(p).__name__}")
    return params


def _vector_norm(a: Any, p: float) -> Any:
    """torch.linalg.vector_norm of a flat view of array a, as a 0-d array on a's device."""
    xp = backend.xp_of(a)
    x = xp.abs(a.astype(np.result_type(a.dtype, np.float32), copy=False)).ravel()
    if p == math.inf:
        return x.max() if x.size else xp.zeros((), x.dtype)
    if p == -math.inf:
        return x.min() if x.size else xp.asarray(math.inf, x.dtype)
    if p == 0:
        return xp.count_nonzero(x).astype(x.dtype)
    if p == 1:
        return x.sum()
    if p == 2:
        return xp.sqrt(xp.sum(x * x))
    return xp.sum(x ** p) ** (1.0 / p)


def _write(t: Tensor, value: Any) -> None:
    """Store value into t.array in place (so other references see it); rebind if the array is read-only."""
    if not backend.is_writable(t.array):
        t.array = value.astype(t.dtype)
    else:
        t.array[...] = value
    t._bump_version()


def get_total_norm(tensors: Params, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Optional[bool] = None) -> Tensor:
    """The norm_type-norm of the tensors' norms (the norm of them all joined into one vector), a 0-d Tensor on the
    first one's device (0.0 for none), as torch.nn.utils.get_total_norm; foreach is accepted and ignored."""
    return _total_norm("get_total_norm", _as_list(tensors, "get_total_norm"), norm_type, error_if_nonfinite)


def _no_sparse(op: str, tensors: List[Any], what: str) -> None:
    """torch's norms and clamps have no sparse COO kernel: a sparse gradient (F.embedding(sparse=True)'s) is
    refused as there (NotImplementedError)."""
    for t in tensors:
        if t.is_sparse:
            raise NotImplementedError(f"{op}: a sparse COO gradient (shape {tuple(t.shape)}) is not supported: "
                                      f"torch has no sparse kernel for {what} (Could not run 'aten::{what}' with "
                                      "arguments from the 'SparseCPU' backend); use the gradient's to_dense()")


def _total_norm(op: str, tensors: List[Tensor], norm_type: float, error_if_nonfinite: bool) -> Tensor:
    _no_sparse(op, tensors, "linalg_vector_norm")
    arrays = [t.array for t in tensors]
    norm_type = float(norm_type)
    if math.isnan(norm_type):
        raise ValueError(f"{op}: norm_type must be a number (the p of the p-norm, or inf or -inf), got nan")
    if not arrays:
        return Tensor(0.0)  # (the default dtype, as torch's)
    xp, device = backend.xp_of(arrays[0]), backend.device_of(arrays[0])
    # an inf/nan total is reported or applied, as in torch; a negative p takes 0 ** p = inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        total = _vector_norm(xp.stack([backend.to_device(_vector_norm(a, norm_type), device) for a in arrays]),
                             norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is {float(total)}, so it "
                           "cannot be clipped. To scale the gradients by the non-finite norm anyway, set "
                           "error_if_nonfinite=False")
    return Tensor._make(total)


def clip_grads_with_norm_(parameters: Params, max_norm: float, total_norm: Tensor,
                          foreach: Optional[bool] = None) -> None:
    """Scale every gradient in place by min(1, max_norm / (total_norm + 1e-6)), total_norm as get_total_norm
    gives it (computed apart, e.g. over several groups of parameters), as torch.nn.utils.clip_grads_with_norm_."""
    grads = [p.grad for p in _as_list(parameters, "clip_grads_with_norm_") if p.grad is not None]
    max_norm = _max_norm("clip_grads_with_norm_", max_norm)
    if not isinstance(total_norm, Tensor) or total_norm.numel() != 1:
        raise TypeError(f"clip_grads_with_norm_: total_norm must be a one-element Tensor (get_total_norm's), got "
                        f"{getattr(total_norm, 'shape', type(total_norm).__name__)}")
    total = total_norm.array.reshape(())
    coef = backend.xp_of(total).minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        c = backend.to_device(coef, g.device).astype(g.dtype)
        with np.errstate(invalid="ignore"):
            _write(g, g.array * c)


def _max_norm(op: str, max_norm: Any) -> float:
    max_norm = float(max_norm)
    if math.isnan(max_norm) or max_norm < 0:
        raise ValueError(f"{op}: max_norm must be >= 0, got {max_norm}")
    return max_norm


def clip_grad_norm_(parameters: Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Scale all gradients in place by min(1, max_norm / (total + 1e-6)), where total is the norm_type-norm of the
    per-gradient norms (the norm of all gradients joined into one vector): get_total_norm, then
    clip_grads_with_norm_. Returns total as a 0-d Tensor (0.0 when no parameter has a gradient)."""
    params = _as_list(parameters, "clip_grad_norm_")
    max_norm = _max_norm("clip_grad_norm_", max_norm)
    total = _total_norm("clip_grad_norm_", [p.grad for p in params if p.grad is not None], norm_type,
                        error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters: Params, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Optional[bool] = None) -> Tensor:
    """torch's deprecated name of clip_grad_norm_ (with its FutureWarning)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Params, clip_value: float, foreach: Optional[bool] = None) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    if math.isnan(clip_value) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    params = _as_list(parameters, "clip_grad_value_")
    _no_sparse("clip_grad_value_", [p.grad for p in params if p.grad is not None], "clamp_min_")
    for p in params:
        if p.grad is not None:
            if p.grad.dtype.kind == "c":  # (numpy clips complex numbers by their real parts; torch refuses them)
                raise ComplexNotSupportedError("clip_grad_value_: clamp is not supported for complex types (a "
                                               f"{dtype_name(p.grad.dtype)} gradient of shape {p.grad.shape})")
            xp = backend.xp_of(p.grad.array)
            _write(p.grad, xp.clip(p.grad.array, -clip_value, clip_value))


@complex_ok
def parameters_to_vector(parameters: Params) -> Tensor:
    """All parameters flattened and joined into one 1-d Tensor (differentiable: cat of reshapes; real and complex
    parameters make a complex vector, as torch's cat promotes)."""
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise ValueError(f"parameters_to_vector: parameters are on different devices ({sorted(devices)})")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Params) -> None:
    """Copy consecutive slices of the 1-d vec into each parameter's data (in place, keeping its dtype; a complex
    vec into a real parameter keeps the real parts and warns, as torch's copy_: torch's makes that parameter
    complex)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: vec must be a Tensor, got {type(vec).__name__}")
    params = _as_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise _RuntimeValueError(f"vector_to_parameters: vec has shape {vec.shape}, expected ({total},) "
                                 f"(the parameters have {total} elements in all)")
    start = 0
    for p in params:
        n = p.numel()
        chunk = backend.to_device(vec.array[start:start + n], p.device).reshape(p.shape)
        if chunk.dtype.kind == "c" and p.dtype.kind != "c":
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=2)
            chunk = chunk.real
        _write(p, chunk)
        start += n


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """module_cls(*args, **kwargs) with its nn.init calls skipped (so neither their time nor the random generator is
    spent), as torch.nn.utils.skip_init, for weights about to be overwritten: the parameters hold whatever they were
    made with (zeros here, garbage in torch). Only this thread's nn.init calls are skipped, as torch's builds on the
    meta device and touches nothing global. Like torch's, the class must take a device argument."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"skip_init: expected a Module class, got {module_cls!r}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError(f"skip_init: {module_cls.__name__} must take a 'device' argument to skip initialization")
    with init._skipped():
        return module_cls(*args, **kwargs)


class WeightNorm:
    """The forward pre-hook of weight_norm: sets module.<name> to g * v / ||v|| from the parameters <name>_g and
    <name>_v before every forward, as torch's (the norm over every dim but ``dim``; dim -1: over them all)."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def _norm(self, v: Tensor) -> Tensor:
        if self.dim == -1:
            return (v * v).sum().sqrt()
        if v.ndim == 1:  # (no other dim: the norm of each element, as torch's; sum(dim=()) would sum them all)
            return v.abs()
        return (v * v).sum(dim=tuple(d for d in range(v.ndim) if d != self.dim), keepdim=True).sqrt()

    def compute_weight(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / self._norm(v))

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.array))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def _normed_parameter(module: Module, name: str, hook_cls: type, op: str) -> Parameter:
    """module's parameter ``name`` for weight_norm / spectral_norm (``op``), checked: a Parameter, not already
    under such a hook."""
    for hook, _, _ in module._forward_pre_hooks or ():
        if isinstance(hook, hook_cls) and hook.name == name:
            raise RuntimeError(f"{op}: cannot register two {op} hooks on the same parameter {name!r}")
    weight = module._parameters.get(name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"{op}: {type(module).__name__} has no parameter {name!r}"
                         + (" (it is None)" if name in module._parameters else ""))
    return weight


def _remove_norm(module: Module, name: str, hook_cls: type, op: str) -> Module:
    """remove_weight_norm / remove_spectral_norm: the hook on ``name`` undone and unregistered."""
    hooks = module._forward_pre_hooks or []
    for entry in hooks:
        if isinstance(entry[0], hook_cls) and entry[0].name == name:
            entry[0].remove(module)
            hooks.remove(entry)
            return module
    raise ValueError(f"remove_{op}: {op} of {name!r} not found in {type(module).__name__}")


def weight_norm(module: Module, name: str = "weight", dim: Optional[int] = 0) -> Module:
    """Reparametrize module.<name> as g * v / ||v|| (Salimans & Kingma 2016), as torch.nn.utils.weight_norm: the
    parameter is replaced by <name>_g (the norms, kept dims of size 1) and <name>_v (the direction, the weight's
    values), and a forward pre-hook recomputes the weight from them before every call (so an LSTM's weight_hh_l0
    can be normalized, AWD-LSTM style). The norm is over every dim but ``dim``; dim None or -1 takes the norm of
    the whole tensor, as torch's (other negative dims count from the end). Returns the module. Deprecated, as
    torch's (its FutureWarning first): parametrizations.weight_norm is the current form."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    weight = _normed_parameter(module, name, WeightNorm, "weight_norm")
    if dim is None:
        dim = -1
    if dim != -1 and not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"weight_norm: dim {dim} is out of range for the {weight.ndim}-d {name!r} of shape "
                         f"{weight.shape} (expected -1 or a dim in [-{weight.ndim}, {weight.ndim - 1}])")
    fn = WeightNorm(name, dim if dim == -1 else dim % weight.ndim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(fn._norm(weight).array.copy()))
    module.register_parameter(name + "_v", Parameter(weight.array))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo weight_norm: module.<name> becomes a Parameter again, holding g * v / ||v||, and <name>_g, <name>_v and
    the hook go, as torch.nn.utils.remove_weight_norm. Returns the module."""
    return _remove_norm(module, name, WeightNorm, "weight_norm")


class SpectralNorm:
    """The forward pre-hook of spectral_norm: sets module.<name> to <name>_orig / sigma, sigma = u . W v estimating
    the largest singular value of <name>_orig as a matrix (dim first, the rest flattened), as torch's. In training
    mode each call first runs n_power_iterations steps of power iteration on the buffers <name>_u and <name>_v (in
    place, no gradient); in eval mode they are used as they are. The gradient flows through W only."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def _matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def _normalize(self, x: Any) -> Any:
        return x / backend.xp_of(x).maximum(backend.xp_of(x).sqrt((x * x).sum()), self.eps)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self._matrix(weight)
        if do_power_iteration:
            w = mat.array
            for _ in range(self.n_power_iterations):
                _write(v, self._normalize(w.T @ u.array))
                _write(u, self._normalize(w @ v.array))
        uc, vc = Tensor._make(u.array.copy()), Tensor._make(v.array.copy())
        sigma = ((uc.reshape(-1, 1) * mat) * vc.reshape(1, -1)).sum()
        return weight / sigma

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.array))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: Optional[int] = None) -> Module:
    """Divide module.<name> by its spectral norm (Miyato et al. 2018), estimated by power iteration, as
    torch.nn.utils.spectral_norm: the parameter becomes <name>_orig, random unit vectors <name>_u and <name>_v
    (the matrix's height and width; torch draws other random numbers) become buffers, and a SpectralNorm forward
    pre-hook recomputes the weight before every call. dim (default 0; 1 for ConvTranspose1d and 2d, whose weight
    is (in, out, *k)) is the output dim. Returns the module."""
    from ..layers import _ConvTransposeNd
    if n_power_iterations <= 0:
        raise ValueError(f"spectral_norm: expected n_power_iterations to be positive, got {n_power_iterations}")
    weight = _normed_parameter(module, name, SpectralNorm, "spectral_norm")
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    if not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"spectral_norm: dim {dim} is out of range for the {weight.ndim}-d {name!r} of shape "
                         f"{weight.shape}")
    fn = SpectralNorm(name, n_power_iterations, dim % weight.ndim, eps)
    h, w = fn._matrix(weight).shape
    gen, xp = backend.rng(weight.device), backend.xp_of(weight.array)
    u = fn._normalize(xp.asarray(gen.standard_normal(h)).astype(weight.dtype))
    v = fn._normalize(xp.asarray(gen.standard_normal(w)).astype(weight.dtype))
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, Tensor._make(weight.array))
    module.register_buffer(name + "_u", Tensor._make(u))
    module.register_buffer(name + "_v", Tensor._make(v))
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo spectral_norm: module.<name> becomes a Parameter again, holding <name>_orig / sigma with the current u
    and v (no power iteration), and <name>_orig, _u, _v and the hook go, as torch.nn.utils.remove_spectral_norm."""
    return _remove_norm(module, name, SpectralNorm, "spectral_norm")


from . import convert_parameters  # noqa: E402,F401  (torch's submodule: re-exports parameters_to_vector and co.)
from . import prune  # noqa: E402,F401  (torch.nn.utils.prune)
from . import clip_grad  # noqa: E402,F401  (torch.nn.utils.clip_grad: the clipping functions' module path)
