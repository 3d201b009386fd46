"""Feed-forward layers, activations, containers and loss modules."""
from __future__ import annotations

import math
import numbers
import warnings
from collections import OrderedDict
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from .. import backend, ops
from ..creation import ones, zeros
from ..tensor import (Tensor, _AssertionValueError, _RuntimeTypeError, _RuntimeValueError, _TypeValueError, complex_ok,
                      dtype_name)
from . import functional as F
from . import init
from .module import Module, Parameter, _update_pairs


def _check_input(m: Module, x: Any, name: str = "input") -> None:
    """Layers and losses take Tensors (as torch's): a TypeError naming the module and the type received."""
    if not isinstance(x, Tensor):
        F._check_tensor(type(m).__name__, name, x)


def _param(shape: tuple, dtype: Any, device: Optional[str]) -> Parameter:
    """A zero Parameter of shape, in dtype (None: the default dtype, as torch's layers make theirs)."""
    return Parameter(zeros(*shape, dtype=dtype, device=device))


class Linear(Module):
    """y = x W^T + b; weight (out_features, in_features), init U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Optional[str] = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _param((out_features, in_features), dtype, device)
        self.register_parameter("bias", _param((out_features,), dtype, device) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        init.uniform_(self.weight, -k, k)
        if self.bias is not None:
            init.uniform_(self.bias, -k, k)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class NonDynamicallyQuantizableLinear(Linear):
    """torch.nn.modules.linear's Linear subclass that MultiheadAttention's out_proj is (torch names it so that
    dynamic quantization leaves it alone); a Linear in every other way."""


class Bilinear(Module):
    """y = x1^T A x2 + b (F.bilinear); weight (out_features, in1_features, in2_features) and bias (out_features,),
    init U(-1/sqrt(in1), 1/sqrt(in1)) as torch's."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _param((out_features, in1_features, in2_features), dtype, device)
        self.register_parameter("bias", _param((out_features,), dtype, device) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init.uniform_(self.weight, -k, k)
        if self.bias is not None:
            init.uniform_(self.bias, -k, k)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        _check_input(self, input1, "input1")
        _check_input(self, input2, "input2")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: num_heads attentions, each over embed_dim / num_heads of the projections
    Q = query W_q^T + b_q, K = key W_k^T + b_k, V = value W_v^T + b_v, head h giving
    softmax(Q_h K_h^T / sqrt(head_dim) + masks) V_h; the heads are joined and projected by out_proj. W_q, W_k,
    W_v are stacked in in_proj_weight (3E, E), or are q/k/v_proj_weight when kdim or vdim differs from E (torch's
    names and layouts, so weights move between the two). Inputs are (L, N, E) ((N, L, E) with batch_first, or
    (L, E) unbatched). key_padding_mask (N, S) and attn_mask (L, S) or (N * num_heads, L, S): True (or -inf)
    where a key must not be attended, or floats added to the scores. add_bias_kv appends the learned bias_k and
    bias_v (1, 1, E) to the projected keys and values, add_zero_attn then a zero key and value, each one more key
    that every query may attend (the masks take it in unmasked): S grows by one for each. Returns (output,
    weights): the attention weights after dropout, averaged over the heads (N, L, S) unless
    average_attn_weights=False (N, H, L, S), or None without need_weights. A query with every key masked gets nan
    with need_weights, else 0 (as torch's). is_causal=True is a hint that attn_mask is causal: as torch's, without
    need_weights and key_padding_mask the mask applied is then the causal one (key s <= query l, over every key,
    the added ones included) and attn_mask is not read."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: Optional[int] = None,
                 vdim: Optional[int] = None, batch_first: bool = False, device: Optional[str] = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            # (torch: a ValueError for a size <= 0, an AssertionError for one that does not divide)
            kind = ValueError if embed_dim <= 0 or num_heads <= 0 else _AssertionValueError
            raise kind(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of num_heads "
                       f"({num_heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        E = embed_dim
        self.embed_dim, self.num_heads, self.head_dim, self.dropout = E, num_heads, E // num_heads, dropout
        self.kdim, self.vdim, self.batch_first = kdim or E, vdim or E, batch_first
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param((3 * E, E), dtype, device)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = _param((E, E), dtype, device)
            self.k_proj_weight = _param((E, self.kdim), dtype, device)
            self.v_proj_weight = _param((E, self.vdim), dtype, device)
        self.register_parameter("in_proj_bias", _param((3 * E,), dtype, device) if bias else None)
        if add_bias_kv:
            self.bias_k, self.bias_v = _param((1, 1, E), dtype, device), _param((1, 1, E), dtype, device)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's: Xavier-uniform projections, zero biases (out_proj's weight keeps Linear's init), Xavier-normal
        bias_k and bias_v."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        for b in (self.in_proj_bias, self.out_proj.bias):
            if b is not None:
                init.zeros_(b)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        for name, t in (("query", query), ("key", key), ("value", value)):
            _check_input(self, t, name)
        swap = self.batch_first and query.ndim == key.ndim == value.ndim == 3
        if swap:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        out, weights = F._multi_head_attention(
            "MultiheadAttention", query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight,
            self.out_proj.bias, self.training, key_padding_mask, need_weights, attn_mask,
            not self._qkv_same_embed_dim, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight, None, None,
            average_attn_weights, is_causal)
        return (out.transpose(0, 1) if swap else out), weights


class Embedding(Module):
    """A lookup table: indices (...) -> rows (..., embedding_dim); init N(0, 1), padding row zero. torch's
    arguments in its order: max_norm renormalizes the rows looked up, scale_grad_by_freq divides each row's gradient
    by its index's count in the batch (F.embedding); sparse=True gives the weight torch's sparse COO gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None,
                 max_norm: Optional[float] = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Optional[Tensor] = None, _freeze: bool = False,
                 device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        F._sparse_and_freq("Embedding", scale_grad_by_freq, sparse, freq_ok=True)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise _AssertionValueError(f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} "
                                       "rows")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        if _weight is None:
            self.weight = _param((num_embeddings, embedding_dim), dtype, device)
            self.reset_parameters()
        else:  # (from_pretrained: a copy of the given table, no random init drawn, as in torch)
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected (num_embeddings, "
                                 f"embedding_dim) = {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight.detach().clone(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0
            self.weight._bump_version()

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: Optional[int] = None,
                        max_norm: Optional[float] = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose weight is a copy of ``embeddings`` (num_embeddings, embedding_dim), trained only
        if ``freeze`` is False (as torch's; the padding row is left as given)."""
        w = embeddings if isinstance(embeddings, Tensor) else Tensor(backend.as_array(embeddings))
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {w.shape}")
        emb = cls(w.shape[0], w.shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=w)
        emb.weight.requires_grad = not freeze
        return emb

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}{_norm_options(self)}" + (
            ", sparse=True" if self.sparse else "")


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (F.embedding_bag); init N(0, 1), padding row zero. torch's
    arguments in its order: max_norm renormalizes the rows looked up; sparse=True gives the weight torch's sparse
    COO gradient (mode 'sum' or 'mean'), scale_grad_by_freq=True is not supported."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: Optional[float] = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Optional[Tensor] = None, include_last_offset: bool = False,
                 padding_idx: Optional[int] = None, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        F._sparse_and_freq("EmbeddingBag", scale_grad_by_freq, sparse)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if mode not in F._BAG_MODES:
            raise ValueError(f"EmbeddingBag: mode must be one of 'sum', 'mean' or 'max', got {mode!r}")
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise _AssertionValueError(f"EmbeddingBag: padding_idx {padding_idx} is out of range for "
                                       f"{num_embeddings} rows")
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.include_last_offset = ops.bool_arg(include_last_offset, "EmbeddingBag", "include_last_offset")
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        if _weight is None:
            self.weight = _param((num_embeddings, embedding_dim), dtype, device)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"EmbeddingBag: _weight has shape {tuple(_weight.shape)}, expected (num_embeddings, "
                                 f"embedding_dim) = {(num_embeddings, embedding_dim)}")
            self.weight = Parameter(_weight.detach().clone())

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, max_norm: Optional[float] = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: Optional[int] = None) -> "EmbeddingBag":
        """An EmbeddingBag whose weight is a copy of ``embeddings`` (num_embeddings, embedding_dim), trained only
        if ``freeze`` is False (as torch's; the padding row is left as given)."""
        w = embeddings if isinstance(embeddings, Tensor) else Tensor(backend.as_array(embeddings))
        if w.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got shape {w.shape}")
        bag = cls(w.shape[0], w.shape[1], max_norm, norm_type, scale_grad_by_freq, mode, sparse, _weight=w,
                  include_last_offset=include_last_offset, padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Optional[Tensor] = None) -> Tensor:
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                               self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{_norm_options(self)}, mode={self.mode!r}{pad}"


def _norm_options(m: Any) -> str:
    """Embedding's and EmbeddingBag's repr of max_norm, norm_type and scale_grad_by_freq where not the defaults."""
    s = f", max_norm={m.max_norm}" if m.max_norm is not None else ""
    s += f", norm_type={m.norm_type}" if m.norm_type != 2 else ""
    return s + (", scale_grad_by_freq=True" if m.scale_grad_by_freq else "")


def _normalized_shape(op: str, value: Any) -> Tuple[int, ...]:
    """LayerNorm's and RMSNorm's normalized_shape, an int or a sequence of ints, as a tuple; anything else is a
    TypeError, as torch's (a str's was a ValueError here: both)."""
    shape = (value,) if isinstance(value, numbers.Integral) else value
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable) or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in shape):
        raise _TypeValueError(f"{op}: normalized_shape must be an int or a sequence of ints, got {value!r}")
    return tuple(int(n) for n in shape)


class LayerNorm(Module):
    """Normalize each sample over its trailing dims ``normalized_shape``, then scale and shift per element
    (weight 1, bias 0 at init; elementwise_affine=False: neither)."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape(type(self).__name__, normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine = elementwise_affine
        self.register_parameter("weight", _param(self.normalized_shape, dtype, device) if affine else None)
        self.register_parameter("bias", _param(self.normalized_shape, dtype, device) if affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        w = self.weight if self.weight is not None else self.bias
        if w is not None and input.dtype != w.dtype:  # numpy would silently promote (torch raises "mixed dtype")
            raise _RuntimeTypeError(f"LayerNorm: input is {input.dtype} but the parameters are {dtype_name(w.dtype)}; "
                                    "convert one side (e.g. module.double() or input.float())")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")  # (torch's: whether there is a bias parameter)


class RMSNorm(Module):
    """Scale each sample by the root mean square over its trailing dims ``normalized_shape``, then per element by
    weight (1 at init; elementwise_affine=False: none): F.rms_norm, torch.nn.RMSNorm. eps None is the machine
    epsilon of the dtype it computes in (float32's for float16 input)."""

    def __init__(self, normalized_shape: Any, eps: Optional[float] = None, elementwise_affine: bool = True,
                 device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape(type(self).__name__, normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.register_parameter("weight", _param(self.normalized_shape, dtype, device) if elementwise_affine else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class _NormBase(Module):
    """torch's _NormBase: BatchNorm1d's and InstanceNorm1d's weight (1) and bias (0) when affine, and the buffers
    running_mean (0), running_var (1) and num_batches_tracked (int64, 0-d) when track_running_stats."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Optional[str] = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features = F._one_int(type(self).__name__, "num_features", num_features, 0)
        if momentum is not None:
            F._real(type(self).__name__, "momentum", momentum)
        if not F._real(type(self).__name__, "eps", eps) >= 0:
            raise ValueError(f"{type(self).__name__}: eps must be >= 0, got {eps}")
        self.eps, self.momentum, self.affine, self.track_running_stats = eps, momentum, affine, track_running_stats
        n, track = self.num_features, track_running_stats
        self.register_parameter("weight", _param((n,), dtype, device) if affine else None)
        self.register_parameter("bias", _param((n,), dtype, device) if affine and bias else None)
        self.register_buffer("running_mean", zeros(n, dtype=dtype, device=device) if track else None)
        self.register_buffer("running_var", ones(n, dtype=dtype, device=device) if track else None)
        self.register_buffer("num_batches_tracked", zeros((), dtype=np.int64, device=device) if track else None)
        self.reset_parameters()

    _version = 2  # (torch's: version 2 added num_batches_tracked)

    def _load_from_state_dict(self, state_dict: Dict[str, Any], prefix: str, local_metadata: Dict[str, Any],
                              strict: bool, missing_keys: List[str], unexpected_keys: List[str],
                              error_msgs: List[str]) -> None:
        """As torch's: a state dict older than version 2 (or without '_metadata', e.g. built by hand) that lacks
        num_batches_tracked keeps the module's own rather than missing it."""
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """torch's _BatchNorm: F.batch_norm with weight 1 and bias 0 at init (affine), and the buffers running_mean (0),
    running_var (1) and num_batches_tracked (int64, 0-d) when track_running_stats. Training normalizes with the
    batch's statistics and moves the running ones by momentum (None: their cumulative average, 1 /
    num_batches_tracked); eval mode normalizes with the running ones (with the batch's where there are none)."""

    _ranks: Tuple[int, ...]
    _shapes: str

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        if input.ndim not in self._ranks:
            raise ValueError(f"{type(self).__name__}: expected {self._shapes} input, got shape {input.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / int(self.num_batches_tracked.item())
        batch_stats = self.training or self.running_mean is None
        tracked = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if tracked else None, self.running_var if tracked else None,
                            self.weight, self.bias, batch_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """torch.nn.BatchNorm1d over (N, C) or (N, C, L) input (_BatchNorm)."""

    _ranks, _shapes = (2, 3), "a 2-d (N, C) or 3-d (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """torch.nn.BatchNorm2d over (N, C, H, W) input (_BatchNorm)."""

    _ranks, _shapes = (4,), "a 4-d (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """torch.nn.BatchNorm3d over (N, C, D, H, W) input (_BatchNorm)."""

    _ranks, _shapes = (5,), "a 5-d (N, C, D, H, W)"


class SyncBatchNorm(_BatchNorm):
    """torch.nn.SyncBatchNorm over (N, C, ...) input of 2 dims or more. torch synchronises the batch statistics
    across processes only under an initialised torch.distributed group; there is none here (one process), so it
    normalizes as BatchNorm{1,2,3}d do, which is what torch's does outside a process group. ``process_group`` is
    kept and unused."""

    _ranks, _shapes = range(2, 1 << 16), "an at least 2-d (N, C, ...)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None, device: Optional[str] = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """module with every _BatchNorm in it (itself included) replaced by a SyncBatchNorm holding the same
        parameters, buffers and training flag, as torch's."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, bias=module.bias is not None)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class GroupNorm(Module):
    """torch.nn.GroupNorm: F.group_norm over num_groups groups of the num_channels channels (dim 1), then weight (1
    at init) and bias (0) per channel when affine."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Optional[str] = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        num_groups = F._one_int("GroupNorm", "num_groups", num_groups, 1)
        num_channels = F._one_int("GroupNorm", "num_channels", num_channels, 0)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.register_parameter("weight", _param((num_channels,), dtype, device) if affine else None)
        self.register_parameter("bias", _param((num_channels,), dtype, device) if affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    """torch's _InstanceNorm over (N, C, *spatial) or (C, *spatial) input with _nd spatial dims: F.instance_norm,
    each channel of each sample normalized over its positions. affine and track_running_stats are off by default
    (as torch's); with track_running_stats, eval mode normalizes with the running statistics, which training moves
    by momentum (None: 0, as torch's; num_batches_tracked stays 0)."""

    _nd: int

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Optional[str] = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        op, nd = type(self).__name__, self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{op}: expected {nd + 1}D or {nd + 2}D input (got {input.ndim}D input of shape "
                             f"{input.shape})")
        d = input.ndim - nd - 1
        if input.shape[d] != self.num_features:
            if self.affine:
                raise ValueError(f"{op}: expected input's size at dim={d} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[d]} (input shape {input.shape})")
            warnings.warn(f"{op}: input's size at dim={d} does not match num_features. You can silence "
                          "this warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        unbatched = input.ndim == nd + 1
        x = input.unsqueeze(0) if unbatched else input
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """torch.nn.InstanceNorm1d over (N, C, L) or (C, L) input (_InstanceNorm)."""

    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    """torch.nn.InstanceNorm2d over (N, C, H, W) or (C, H, W) input (_InstanceNorm)."""

    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    """torch.nn.InstanceNorm3d over (N, C, D, H, W) or (C, D, H, W) input (_InstanceNorm)."""

    _nd = 3


class _DropoutNd(Module):
    """torch's _DropoutNd: p and inplace, a function of (input, p, training, inplace)."""

    fn: Any

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = F._dropout_p(type(self).__name__, p), inplace

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return type(self).fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Inverted dropout in training mode, identity in eval mode (inplace=True: see F.dropout)."""

    fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Channel dropout for (N, C, L) or (C, L) inputs (F.dropout1d); identity in eval mode."""

    fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Channel dropout for (N, C, H, W) inputs (F.dropout2d, whose 3-d input is (N, C, L)); identity in eval mode."""

    fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W) inputs (F.dropout3d); identity in eval mode."""

    fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a SELU net's zero mean and unit variance (F.alpha_dropout); identity in eval mode."""

    fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """AlphaDropout of whole channels (F.feature_alpha_dropout); identity in eval mode."""

    fn = staticmethod(F.feature_alpha_dropout)


class _Activation(Module):
    """A function of the input alone as a module (an activation, a pool): ``fn`` applied with the module's
    ``options`` (attributes, in fn's argument order after the input), which its repr lists."""

    fn: Any
    options: Tuple[str, ...] = ()

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return self.fn(input, *[getattr(self, k) for k in self.options])

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)}" for k in self.options)


class _InPlaceActivation(_Activation):
    """An activation torch can run in place: with ``inplace=True`` the result is written into the input, which
    becomes the result (F._activation: torch's values and gradients, not its memory saving). fn takes the flag
    after the options; the repr shows it only when set, as torch's."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return self.fn(input, *[getattr(self, k) for k in self.options], self.inplace)

    def extra_repr(self) -> str:
        return ", ".join([r for r in (super().extra_repr(), "inplace=True" if self.inplace else "") if r])


class ReLU(_InPlaceActivation):
    """max(x, 0) elementwise."""

    fn = staticmethod(F.relu)


class Tanh(_Activation):
    """tanh(x) elementwise."""

    fn = staticmethod(F.tanh)


class Sigmoid(_Activation):
    """1 / (1 + e^-x) elementwise."""

    fn = staticmethod(F.sigmoid)


class SiLU(_InPlaceActivation):
    """x * sigmoid(x) elementwise."""

    fn = staticmethod(F.silu)


class LogSigmoid(_Activation):
    """log(sigmoid(x)) elementwise, computed stably."""

    fn = staticmethod(F.logsigmoid)


class LeakyReLU(_InPlaceActivation):
    """x for x > 0, negative_slope * x elsewhere."""

    fn, options = staticmethod(F.leaky_relu), ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope


class RReLU(_InPlaceActivation):
    """F.rrelu: in training, x <= 0 times a slope drawn from U(lower, upper) per element; in eval mode, times
    (lower + upper) / 2."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.lower, self.upper = lower, upper

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class ELU(_InPlaceActivation):
    """x for x > 0, alpha (e^x - 1) elsewhere."""

    fn, options = staticmethod(F.elu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha


class Hardtanh(_InPlaceActivation):
    """x clipped to [min_val, max_val]."""

    fn, options = staticmethod(F.hardtanh), ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.min_val, self.max_val = min_val, max_val


class GELU(_Activation):
    """x Phi(x) elementwise (approximate='tanh': torch's tanh approximation)."""

    fn, options = staticmethod(F.gelu), ("approximate",)

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise _RuntimeValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ReLU6(_InPlaceActivation):
    """min(max(x, 0), 6) elementwise."""

    fn = staticmethod(F.relu6)


class SELU(_InPlaceActivation):
    """scale * elu(x, alpha) elementwise, with the self-normalizing constants."""

    fn = staticmethod(F.selu)


class CELU(_InPlaceActivation):
    """x for x > 0, alpha (e^(x/alpha) - 1) elsewhere."""

    fn, options = staticmethod(F.celu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha


class Mish(_InPlaceActivation):
    """x tanh(softplus(x)) elementwise."""

    fn = staticmethod(F.mish)


class Softsign(_Activation):
    """x / (1 + |x|) elementwise."""

    fn = staticmethod(F.softsign)


class Hardsigmoid(_InPlaceActivation):
    """relu6(x + 3) / 6 elementwise."""

    fn = staticmethod(F.hardsigmoid)
    extra_repr = _Activation.extra_repr  # (torch's repr shows no inplace here)


class Hardswish(_InPlaceActivation):
    """x relu6(x + 3) / 6 elementwise."""

    fn = staticmethod(F.hardswish)
    extra_repr = _Activation.extra_repr  # (torch's repr shows no inplace here)


class Softmin(_Activation):
    """softmax(-x) over ``dim`` (None: torch's deprecated implicit choice, as Softmax's)."""

    fn, options = staticmethod(F.softmin), ("dim",)

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim


class GLU(_Activation):
    """a * sigmoid(b), a and b the halves of the input along ``dim``."""

    fn, options = staticmethod(F.glu), ("dim",)

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim


class Softplus(_Activation):
    """log(1 + e^(beta x)) / beta elementwise, x itself where beta x > threshold."""

    fn, options = staticmethod(F.softplus), ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold


class LocalResponseNorm(_Activation):
    """F.local_response_norm as a module: each channel divided by (k + alpha * the mean square of ``size``
    neighbouring channels)^beta."""

    fn, options = staticmethod(F.local_response_norm), ("size", "alpha", "beta", "k")

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Threshold(_InPlaceActivation):
    """x where x > threshold, value elsewhere."""

    fn, options = staticmethod(F.threshold), ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.threshold, self.value = threshold, value


class Softshrink(_Activation):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""

    fn, options = staticmethod(F.softshrink), ("lambd",)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    """x where |x| > lambd, 0 elsewhere."""

    fn = staticmethod(F.hardshrink)


class Tanhshrink(_Activation):
    """x - tanh(x) elementwise."""

    fn = staticmethod(F.tanhshrink)


class PReLU(Module):
    """x where x > 0, weight * x elsewhere: ``weight`` (num_parameters,), learnt, init ``init``; one parameter, or
    one per channel (the input's dim 1), as torch's."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Optional[str] = None,
                 dtype: Any = None) -> None:
        super().__init__()
        num_parameters = ops.int_arg(num_parameters, "PReLU", "num_parameters")
        if num_parameters < 0:
            raise ValueError(f"PReLU: num_parameters must be non-negative, got {num_parameters}")
        self.num_parameters, self.init = num_parameters, F._real("PReLU", "init", init)
        self.weight = _param((num_parameters,), dtype, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _ConvNd(Module):
    """torch.nn.Conv1d / Conv2d / Conv3d: F.conv1d / conv2d / conv3d with weight (out_channels, in_channels /
    groups, *kernel_size) and bias (out_channels,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) at init, fan_in =
    in_channels / groups * prod(kernel_size) (torch's kaiming_uniform_ with a = sqrt(5)). The options are kept as
    tuples of one per spatial dim (padding also 'valid' or 'same'); padding_mode 'reflect', 'replicate' or
    'circular' pads the input with F.pad instead of zeros."""

    _nd: int
    _fn: Any

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        op, nd = type(self).__name__, self._nd
        self.in_channels = F._one_int(op, "in_channels", in_channels, 0)
        self.out_channels = F._one_int(op, "out_channels", out_channels, 0)
        self.kernel_size = F._n_ints(op, "kernel_size", kernel_size, 1, nd)
        self.stride = F._n_ints(op, "stride", stride, 1, nd)
        self.dilation = F._n_ints(op, "dilation", dilation, 1, nd)
        self.groups = F._one_int(op, "groups", groups, 1)
        for name, n in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if n % self.groups:
                raise ValueError(f"{op}: {name} ({n}) must be divisible by groups ({self.groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{op}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got "
                             f"{padding_mode!r}")
        self.padding_mode = padding_mode
        pads = F.conv_padding(op, padding, self.kernel_size, self.stride, self.dilation)
        self.padding = padding if isinstance(padding, str) else tuple(lo for lo, _ in pads)
        self._reversed_padding_repeated_twice = F._pad_amounts(pads)  # (torch's name: F.pad's amounts)
        self.weight = _param((self.out_channels, self.in_channels // self.groups) + self.kernel_size, dtype, device)
        self.register_parameter("bias", _param((self.out_channels,), dtype, device) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight.numel():
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = math.prod(self.weight.shape[1:])
            bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        fn = type(self)._fn
        if self.padding_mode == "zeros":
            return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        F._batched(fn.__name__, input, self._nd)
        input = F.pad(input, self._reversed_padding_repeated_twice, self.padding_mode)
        return fn(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s + ("" if self.padding_mode == "zeros" else f", padding_mode={self.padding_mode}")


class Conv1d(_ConvNd):
    """torch.nn.Conv1d over (N, C, L) or (C, L) input (_ConvNd: F.conv1d, weight (O, C / groups, K))."""

    _nd, _fn = 1, staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """torch.nn.Conv2d over (N, C, H, W) or (C, H, W) input (_ConvNd: F.conv2d, weight (O, C / groups, kH, kW))."""

    _nd, _fn = 2, staticmethod(F.conv2d)


class Conv3d(_ConvNd):
    """torch.nn.Conv3d over (N, C, D, H, W) or (C, D, H, W) input (_ConvNd: F.conv3d, weight (O, C / groups, kD, kH,
    kW))."""

    _nd, _fn = 3, staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    """torch.nn.ConvTranspose1d / 2d / 3d: F.conv_transpose1d / 2d / 3d with weight (in_channels, out_channels /
    groups, *kernel_size) and bias (out_channels,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) at init with torch's
    fan_in = out_channels / groups * prod(kernel_size) (weight.shape[1] times the kernel). forward(input,
    output_size) picks the output_padding that gives output_size (the spatial sizes, or the full shape) instead of
    the module's. Only zero padding, as torch's. A _ConvNd, as torch's (isinstance(m, _ConvNd) finds every conv),
    with an __init__ of its own."""

    _nd: int
    _fn: Any

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Optional[str] = None, dtype: Any = None) -> None:
        Module.__init__(self)
        op, nd = type(self).__name__, self._nd
        self.in_channels = F._one_int(op, "in_channels", in_channels, 0)
        self.out_channels = F._one_int(op, "out_channels", out_channels, 0)
        self.kernel_size = F._n_ints(op, "kernel_size", kernel_size, 1, nd)
        self.stride = F._n_ints(op, "stride", stride, 1, nd)
        self.padding = F._n_ints(op, "padding", padding, 0, nd)
        self.output_padding = F._n_ints(op, "output_padding", output_padding, 0, nd)
        self.dilation = F._n_ints(op, "dilation", dilation, 1, nd)
        self.groups = F._one_int(op, "groups", groups, 1)
        for name, n in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if n % self.groups:
                raise ValueError(f"{op}: {name} ({n}) must be divisible by groups ({self.groups})")
        if padding_mode != "zeros":
            raise ValueError(f'{op}: only "zeros" padding mode is supported, got {padding_mode!r}')
        self.padding_mode = padding_mode
        self.weight = _param((self.in_channels, self.out_channels // self.groups) + self.kernel_size, dtype, device)
        self.register_parameter("bias", _param((self.out_channels,), dtype, device) if bias else None)
        self.reset_parameters()

    def _output_padding(self, input: Tensor, output_size: Any) -> Tuple[int, ...]:
        """The output_padding giving output_size (the spatial sizes, or with the batch and channel dims), as
        torch's."""
        if output_size is None:
            return self.output_padding
        op, nd = type(self).__name__, self._nd
        size = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size]
        if len(size) == input.ndim:
            size = size[-nd:]
        if len(size) != nd:
            raise ValueError(f"{op}: for {input.ndim - 1}D input, output_size must have {nd} or {input.ndim} "
                             f"elements (got {len(size)})")
        least = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                 zip(input.shape[-nd:], self.stride, self.padding, self.dilation, self.kernel_size)]
        most = [m + s - 1 for m, s in zip(least, self.stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(size, least, most)):
            raise ValueError(f"{op}: requested an output size of {size}, but valid sizes range from {least} to "
                             f"{most} (for an input of {'length' if nd == 1 else 'size'} "
                             f"{input.shape[-1] if nd == 1 else input.shape[-nd:]})")
        return tuple(n - lo for n, lo in zip(size, least))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        _check_input(self, input)
        fn = type(self)._fn
        F._batched(fn.__name__, input, self._nd)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self._output_padding(input, output_size),
                  self.groups, self.dilation)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        for name, default in (("padding", 0), ("dilation", 1), ("output_padding", 0)):
            if getattr(self, name) != (default,) * self._nd:
                s += f", {name}={getattr(self, name)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")


class ConvTranspose1d(_ConvTransposeNd):
    """torch.nn.ConvTranspose1d over (N, C, L) or (C, L) input (_ConvTransposeNd: F.conv_transpose1d)."""

    _nd, _fn = 1, staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """torch.nn.ConvTranspose2d over (N, C, H, W) or (C, H, W) input (_ConvTransposeNd: F.conv_transpose2d)."""

    _nd, _fn = 2, staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """torch.nn.ConvTranspose3d over (N, C, D, H, W) or (C, D, H, W) input (_ConvTransposeNd: F.conv_transpose3d)."""

    _nd, _fn = 3, staticmethod(F.conv_transpose3d)


class _Pool(_Activation):
    """A pooling function as a module, called as _Activation calls its function (the options in fn's argument
    order); the repr names the first ``shown`` options, as torch's."""

    shown = 1

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)}" for k in self.options[:self.shown])


class MaxPool1d(_Pool):
    """F.max_pool1d as a module (options kept as given, stride defaulting to kernel_size, as torch's)."""

    fn, shown = staticmethod(F.max_pool1d), 5
    options = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode


class MaxUnpool1d(Module):
    """F.max_unpool1d as a module (torch.nn.MaxUnpool1d; kernel_size, stride and padding kept as tuples of one)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(kernel_size if stride is None else stride)
        self.padding = _single(padding)

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        _check_input(self, input)
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(MaxUnpool1d):
    """F.max_unpool2d as a module (torch.nn.MaxUnpool2d; kernel_size, stride and padding kept as pairs)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        Module.__init__(self)
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(kernel_size if stride is None else stride)
        self.padding = _pair(padding)

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        _check_input(self, input)
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


def _single(v: Any) -> tuple:
    """torch's _single: a sequence as a tuple, anything else as a tuple of one."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class MaxUnpool3d(MaxUnpool1d):
    """F.max_unpool3d as a module (torch.nn.MaxUnpool3d; kernel_size, stride and padding kept as triples)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        Module.__init__(self)
        self.kernel_size = _triple(kernel_size)
        self.stride = _triple(kernel_size if stride is None else stride)
        self.padding = _triple(padding)

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        _check_input(self, input)
        return F.max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


def _triple(v: Any) -> tuple:
    """torch's _triple: a sequence as a tuple, anything else three times."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


def _ntuple(n: int, name: str = "parse") -> Any:
    """torch's _ntuple: a parser giving a sequence (tuple or list) as a tuple, anything else n times, as _single,
    _pair, _triple and _quadruple do (nn.modules.utils has them all under torch's path)."""
    def parse(v: Any) -> tuple:
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n

    parse.__name__ = name
    return parse


def _reverse_repeat_tuple(t: Tuple[Any, ...], n: int) -> Tuple[Any, ...]:
    """t reversed with each element repeated n times, as torch's: a conv's padding (h, w) as F.pad's (w, w, h, h)."""
    return tuple(x for x in reversed(t) for _ in range(n))


class AvgPool1d(_Pool):
    """F.avg_pool1d as a module (kernel_size, stride and padding kept as tuples of one, as torch's)."""

    fn, shown = staticmethod(F.avg_pool1d), 3
    options = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(kernel_size if stride is None else stride)
        self.padding, self.ceil_mode, self.count_include_pad = _single(padding), ceil_mode, count_include_pad


class LPPool1d(_Pool):
    """F.lp_pool1d as a module: each window's p-norm (stride kept as given, None by default, as torch's)."""

    fn, shown = staticmethod(F.lp_pool1d), 4
    options = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode


class AdaptiveAvgPool1d(_Pool):
    """F.adaptive_avg_pool1d as a module: the mean of each of output_size windows spread over the input's length."""

    fn, options = staticmethod(F.adaptive_avg_pool1d), ("output_size",)

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size


class AdaptiveMaxPool1d(_Pool):
    """F.adaptive_max_pool1d as a module: the maximum of each of output_size windows (return_indices: and where)."""

    fn, options = staticmethod(F.adaptive_max_pool1d), ("output_size", "return_indices")

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices


class MaxPool2d(MaxPool1d):
    """F.max_pool2d as a module (options kept as given, stride defaulting to kernel_size, as torch's)."""

    fn = staticmethod(F.max_pool2d)


class LPPool2d(LPPool1d):
    """F.lp_pool2d as a module: each (kH, kW) window's p-norm (stride kept as given, None by default, as torch's)."""

    fn = staticmethod(F.lp_pool2d)


class AvgPool2d(_Pool):
    """F.avg_pool2d as a module (options kept as given, stride defaulting to kernel_size, as torch's)."""

    fn, shown = staticmethod(F.avg_pool2d), 3
    options = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Optional[int] = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """F.adaptive_avg_pool2d as a module: the mean of each window of an output_size grid (None keeps a dim)."""

    fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveMaxPool2d(AdaptiveMaxPool1d):
    """F.adaptive_max_pool2d as a module: the maximum of each window of an output_size grid (return_indices: and
    where)."""

    fn = staticmethod(F.adaptive_max_pool2d)


class MaxPool3d(MaxPool1d):
    """F.max_pool3d as a module (options kept as given, stride defaulting to kernel_size, as torch's)."""

    fn = staticmethod(F.max_pool3d)


class AvgPool3d(AvgPool2d):
    """F.avg_pool3d as a module (options kept as given, stride defaulting to kernel_size, as torch's)."""

    fn = staticmethod(F.avg_pool3d)


class LPPool3d(LPPool1d):
    """F.lp_pool3d as a module: each (kD, kH, kW) window's p-norm (stride kept as given, None by default, as
    torch's)."""

    fn = staticmethod(F.lp_pool3d)


class AdaptiveAvgPool3d(AdaptiveAvgPool1d):
    """F.adaptive_avg_pool3d as a module: the mean of each window of an output_size grid (None keeps a dim)."""

    fn = staticmethod(F.adaptive_avg_pool3d)


class AdaptiveMaxPool3d(AdaptiveMaxPool1d):
    """F.adaptive_max_pool3d as a module: the maximum of each window of an output_size grid (return_indices: and
    where)."""

    fn = staticmethod(F.adaptive_max_pool3d)


class FractionalMaxPool2d(Module):
    """F.fractional_max_pool2d as a module (torch.nn.FractionalMaxPool2d): kernel_size, output_size and
    output_ratio kept as pairs (output_ratio within (0, 1)); _random_samples a buffer (fixed window starts, saved
    by state_dict), or None for fresh ones each call."""

    nd, fn = 2, staticmethod(F.fractional_max_pool2d)

    def __init__(self, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                 return_indices: bool = False, _random_samples: Optional[Tensor] = None) -> None:
        super().__init__()
        name, expand = type(self).__name__, (_pair if self.nd == 2 else _triple)
        if any(isinstance(k, numbers.Real) and k <= 0 for k in expand(kernel_size)):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size, self.return_indices = expand(kernel_size), return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = expand(output_size) if output_size is not None else None
        self.output_ratio = expand(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor) -> Any:
        _check_input(self, input)
        return self.fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                       _random_samples=self._random_samples)


class FractionalMaxPool3d(FractionalMaxPool2d):
    """F.fractional_max_pool3d as a module (torch.nn.FractionalMaxPool3d; the options kept as triples)."""

    nd, fn = 3, staticmethod(F.fractional_max_pool3d)


class Upsample(Module):
    """F.interpolate as a module (torch.nn.Upsample: every mode of a 3-d, 4-d or 5-d input, no antialias):
    scale_factor kept as a float (or a tuple of floats), as torch's."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None) -> None:
        super().__init__()
        self.name, self.size, self.mode = type(self).__name__, size, mode
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        shown = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{shown}, mode={self.mode!r}"


def _pair(v: Any) -> tuple:
    """torch's _pair: a sequence as a tuple, anything else twice."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class _Pad1d(Module):
    """F.pad(input, padding, mode) as a module; padding an int (both sides) or (left, right), kept as a tuple."""

    mode = "constant"
    ranks: Optional[Tuple[int, int]] = None  # the input ranks the mode takes (None: any)

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _pair(padding)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        if self.ranks is not None and input.ndim not in self.ranks:
            raise ValueError(f"{type(self).__name__}: expected {self.ranks[0]}D or {self.ranks[1]}D input (got "
                             f"{input.ndim}D input of shape {input.shape})")
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_Pad1d):
    """Pads the last dim with ``value`` (torch.nn.ConstantPad1d); any number of leading dims."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros (torch.nn.ZeroPad1d)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_Pad1d):
    """Pads the last dim of a (C, L) or (N, C, L) input with its reflection about the edge elements."""

    mode = "reflect"


class ReplicationPad1d(_Pad1d):
    """Pads the last dim of a (C, L) or (N, C, L) input by repeating its edge elements."""

    mode = "replicate"


class CircularPad1d(_Pad1d):
    """Pads the last dim of a (C, L) or (N, C, L) input by wrapping around (torch.nn.CircularPad1d)."""

    mode, ranks = "circular", (2, 3)


def _quadruple(v: Any) -> tuple:
    """torch's _quadruple: a sequence as a tuple, anything else four times."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * 4


class _Pad2d(_Pad1d):
    """F.pad(input, padding, mode) over the last two dims; padding an int (every side) or (left, right, top,
    bottom), kept as a tuple."""

    def __init__(self, padding: Any) -> None:
        Module.__init__(self)
        self.padding = _quadruple(padding)


class ConstantPad2d(_Pad2d):
    """Pads the last two dims with ``value`` (torch.nn.ConstantPad2d); any number of leading dims."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    forward, extra_repr = ConstantPad1d.forward, ConstantPad1d.extra_repr


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dims with zeros (torch.nn.ZeroPad2d)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    extra_repr = ZeroPad1d.extra_repr


class ReflectionPad2d(_Pad2d):
    """Pads the last two dims of a (C, H, W) or (N, C, H, W) input with their reflection about the edges."""

    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pads the last two dims of a (C, H, W) or (N, C, H, W) input by repeating their edge elements."""

    mode = "replicate"


class CircularPad2d(_Pad2d):
    """Pads the last two dims of a (C, H, W) or (N, C, H, W) input by wrapping around (torch.nn.CircularPad2d)."""

    mode, ranks = "circular", (3, 4)


def _sextuple(v: Any) -> tuple:
    """torch's _ntuple(6): a sequence as a tuple, anything else six times."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * 6


class _Pad3d(_Pad1d):
    """F.pad(input, padding, mode) over the last three dims; padding an int (every side) or (left, right, top,
    bottom, front, back), kept as a tuple."""

    def __init__(self, padding: Any) -> None:
        Module.__init__(self)
        self.padding = _sextuple(padding)


class ConstantPad3d(_Pad3d):
    """Pads the last three dims with ``value`` (torch.nn.ConstantPad3d); any number of leading dims."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    forward, extra_repr = ConstantPad1d.forward, ConstantPad1d.extra_repr


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dims with zeros (torch.nn.ZeroPad3d)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    extra_repr = ZeroPad1d.extra_repr


class ReflectionPad3d(_Pad3d):
    """Pads the last three dims of a (C, D, H, W) or (N, C, D, H, W) input with their reflection about the edges."""

    mode = "reflect"


class ReplicationPad3d(_Pad3d):
    """Pads the last three dims of a (C, D, H, W) or (N, C, D, H, W) input by repeating their edge elements."""

    mode = "replicate"


class CircularPad3d(_Pad3d):
    """Pads the last three dims of a (C, D, H, W) or (N, C, D, H, W) input by wrapping around
    (torch.nn.CircularPad3d)."""

    mode, ranks = "circular", (4, 5)



class UpsamplingNearest2d(Upsample):
    """torch.nn.UpsamplingNearest2d: Upsample with mode 'nearest' (F.interpolate of an (N, C, H, W) input)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """torch.nn.UpsamplingBilinear2d: Upsample with mode 'bilinear' and align_corners=True."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(_Activation):
    """F.pixel_shuffle as a module: (*, C r^2, H, W) -> (*, C, H r, W r)."""

    fn, options = staticmethod(F.pixel_shuffle), ("upscale_factor",)

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor


class PixelUnshuffle(_Activation):
    """F.pixel_unshuffle as a module: (*, C, H r, W r) -> (*, C r^2, H, W)."""

    fn, options = staticmethod(F.pixel_unshuffle), ("downscale_factor",)

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor


class ChannelShuffle(_Activation):
    """F.channel_shuffle as a module: the channels of an (N, C, *) input split into ``groups`` and interleaved."""

    fn, options = staticmethod(F.channel_shuffle), ("groups",)

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups


class Unfold(Module):
    """F.unfold as a module (options kept as given, as torch's): the sliding blocks of an image as columns."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Unfold):
    """F.fold as a module (options kept as given, as torch's): columns summed back into an output_size image."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()


class CosineSimilarity(Module):
    """F.cosine_similarity(x1, x2, dim, eps): sum(x1 x2) / (||x1|| ||x2||) over dim."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """F.pairwise_distance(x1, x2, p, eps, keepdim): ||x1 - x2 + eps||_p over the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class Flatten(Module):
    """x.flatten(start_dim, end_dim); start_dim=1 keeps the batch dim, as torch's."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """x.unflatten(dim, unflattened_size): dim split into dims of those sizes."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input; any constructor arguments are ignored (a placeholder, as in torch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Softmax(Module):
    """Softmax over ``dim``; None is torch's deprecated implicit choice (0 for a 0-d, 1-d or 3-d input, else 1),
    with its warning."""

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) over ``dim``, computed stably (the input NLLLoss expects)."""

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        return F.log_softmax(input, self.dim)


class Softmax2d(Module):
    """Softmax over the channels at each spatial position of a (C, H, W) or (N, C, H, W) input (dim -3), as
    torch.nn.Softmax2d."""

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input)
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead (shape "
                             f"{input.shape})")
        return F.softmax(input, -3)


class _Positional(Module):
    """Children named by position ('0', '1', ...) with a list's habits, as torch's Sequential and ModuleList:
    ``m[i] = module`` keeps the name at i, ``del m[i]``, ``insert`` and ``pop`` renumber the rest."""

    def _check(self, module: Any, op: str) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.{op}: expected a Module, got {type(module).__name__}")

    def _key(self, i: Any, op: str) -> str:
        """The name of the child at position i (negative from the end)."""
        n, i = len(self._modules), ops.int_arg(i, f"{type(self).__name__}.{op}", "an index")
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__}.{op}: index {i} is out of range for {n} modules")
        return list(self._modules)[i]

    def _renumber(self, modules: Iterable[Optional[Module]]) -> None:
        """Every slot named by its new position, as torch renumbers (an empty slot, None, stays one)."""
        for k in list(self._modules):
            delattr(self, k)
        for k, m in enumerate(modules):
            self._slot(self._modules, str(k), m)

    def append(self, module: Module) -> "_Positional":
        """Add a module at the end (named by its position)."""
        self._check(module, "append")
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "_Positional":
        """Append each module of an iterable (a list, a ModuleList, a Sequential), as torch's."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"{type(self).__name__}.extend: expected an iterable of Modules, got "
                            f"{type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> "_Positional":
        """Put module before position index (-n..n, n meaning the end), renumbering the modules after it."""
        self._check(module, "insert")
        n, index = len(self._modules), ops.int_arg(index, f"{type(self).__name__}.insert", "an index")
        if not -n <= index <= n:
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for {n} modules")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def pop(self, index: Any = -1) -> Any:
        """The module at index (or a container of those in a slice), removed; the rest renumbered."""
        taken = self[index] if isinstance(index, slice) else self._modules[self._key(index, "pop")]
        del self[index]
        return taken

    def __setitem__(self, i: int, module: Module) -> None:
        self._check(module, "__setitem__")
        setattr(self, self._key(i, "__setitem__"), module)

    def __delitem__(self, i: Any) -> None:
        drop = set(list(self._modules)[i]) if isinstance(i, slice) else {self._key(i, "__delitem__")}
        self._renumber([m for k, m in self._modules.items() if k not in drop])

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Container(Module):
    """torch's deprecated nn.Container: a Module holding the keyword arguments as submodules, with torch's
    FutureWarning (subclass Module instead)."""

    def __init__(self, **kwargs: Module) -> None:
        super().__init__()
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
                      "Subclass that instead.", FutureWarning, stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)


class Sequential(_Positional):
    """Modules applied in order; children are named '0', '1', ..., or by the keys of a single OrderedDict argument,
    as torch's (a slice keeps its children's names)."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        named = len(modules) == 1 and isinstance(modules[0], OrderedDict)
        for i, m in (modules[0].items() if named else enumerate(modules)):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {i!r} is a {type(m).__name__}, not a Module (wrap a function "
                                "in a Module subclass)")
            self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, i: Any) -> Any:
        if not isinstance(i, slice):
            return list(self._modules.values())[i]
        part = Sequential()  # the same children under their own names, as torch (state_dict keys stay put)
        for k, m in list(self._modules.items())[i]:
            setattr(part, k, m)
        return part

    def _repeats(self, n: Any, op: str) -> int:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"unsupported operand type(s) for {op}: 'Sequential' and '{type(n).__name__}'")
        if n <= 0:
            raise ValueError(f"Sequential {op} {n}: the multiplication factor must be positive, as in torch")
        return n

    def __add__(self, other: "Sequential") -> "Sequential":
        """A new Sequential of this one's modules, then other's (the same objects), renumbered, as torch's."""
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential + {type(other).__name__}: only a Sequential can be added, as in torch")
        return Sequential(*self, *other)

    def __iadd__(self, other: "Sequential") -> "Sequential":
        """other's modules appended to this one (in place), as torch's."""
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential += {type(other).__name__}: only a Sequential can be added, as in torch")
        return self.extend(list(other))

    def __mul__(self, n: int) -> "Sequential":
        """A new Sequential of this one's modules n times (the same objects, so their parameters are shared),
        renumbered, as torch's."""
        return Sequential(*(list(self) * self._repeats(n, "*")))

    __rmul__ = __mul__

    def __imul__(self, n: int) -> "Sequential":
        return self.extend(list(self) * (self._repeats(n, "*=") - 1))


class ModuleList(_Positional):
    """A list of modules whose parameters are registered (names '0', '1', ...)."""

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, i: Any) -> Any:
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        """A new ModuleList of this one's modules, then other's (renumbered), as torch's."""
        return ModuleList(list(self) + list(other))

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        """extend (``self.layers += [...]``), as torch's."""
        return self.extend(modules)

    def __repr__(self) -> str:
        """torch's: a run of modules with the same repr folded into one line, '(0-2): 3 x Linear(...)'."""
        runs: List[List[Any]] = []  # [first index, last index, repr]
        for i, m in enumerate(self._modules.values()):
            r = repr(m)
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        if not runs:
            return f"{self._get_name()}()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + r.replace("\n", "\n  ") for a, b, r in runs]
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Modules by name (a dict's order), registered like attributes: their parameters are the
    ModuleDict's, under '<key>.<name>'. Reached as md[key] or md.key."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: a key must be a str, got {type(key).__name__}")
        if not key or "." in key:
            raise KeyError(f"ModuleDict: a key must be a non-empty string without '.', got {key!r}")
        if key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict: {key!r} is already an attribute of ModuleDict (as in torch, a key may not "
                           "hide one)")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: the value for {key!r} must be a Module, got {type(module).__name__}")
        self.__dict__.pop(key, None)  # (an entry set as md.key = m: md.key now reads _modules, via __getattr__)
        self._modules[key] = module

    def __getattr__(self, name: str) -> Module:  # (only for names that are not ordinary attributes)
        modules = self.__dict__.get("_modules", {})
        if name in modules:
            return modules[name]
        raise AttributeError(f"ModuleDict has no attribute or key {name!r}")

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        self.__dict__.pop(key, None)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: Any) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[Tuple[str, Module]]:
        return self._modules.items()

    def update(self, modules: Any) -> None:
        """Add (key, module) pairs from a mapping (in its order) or an iterable of pairs."""
        for key, module in _update_pairs("ModuleDict.update", modules, "module", Module):
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self._modules[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]


class _Loss(Module):
    shown: Tuple[str, ...] = ()  # constructor options that extra_repr names before the reduction

    def __init__(self, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__()
        self.reduction = reduction

    def _buffer(self, name: str, value: Any) -> None:
        """Register an optional weight tensor as a buffer, as torch does, so it follows to()/double()
        and state_dict; arrays and lists become Tensors."""
        self.register_buffer(name, value if value is None or isinstance(value, Tensor) else Tensor(value))

    def extra_repr(self) -> str:
        return ", ".join([f"{k}={getattr(self, k)!r}" for k in self.shown] + [f"reduction={self.reduction!r}"])


class CrossEntropyLoss(_Loss):
    def __init__(self, weight: Optional[Tensor] = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0,
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        F._check_ignore_index("CrossEntropyLoss", ignore_index)
        self._buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _check_input(self, input)
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class LinearCrossEntropyLoss(_Loss):
    """torch's nn.LinearCrossEntropyLoss: F.linear_cross_entropy with its own Linear (weight stored flat,
    (C * prod(out_features), in_features), reshaped to (C, *out_features, in_features) in forward) and a class
    ``weight`` buffer; ``options`` (nn.LinearCrossEntropyOptions) picks the chunked path."""

    def __init__(self, in_features: int, num_classes: int, *, out_features: Tuple[int, ...] = (), bias: bool = False,
                 device: Any = None, dtype: Any = None, reduction: str = "mean", weight: Optional[Tensor] = None,
                 ignore_index: Optional[int] = None, label_smoothing: float = 0.0, options: Any = None) -> None:
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(f"expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(reduction)
        self._buffer("weight", weight)
        self.num_classes, self.out_features = num_classes, out_features
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias, device=device,
                             dtype=dtype)
        self.options = options

    def forward(self, input: Tensor, target: Any) -> Tensor:
        lin = self.linear
        weight = lin.weight.reshape((self.num_classes, *self.out_features, lin.in_features))
        bias = None if lin.bias is None else lin.bias.reshape((self.num_classes, *self.out_features))
        return F.linear_cross_entropy(input, weight, target, linear_bias=bias, weight=self.weight,
                                      reduction=self.reduction, ignore_index=self.ignore_index,
                                      label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, reduction={self.reduction}, "
                f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing}, options={self.options}")


class NLLLoss(_Loss):
    def __init__(self, weight: Optional[Tensor] = None, ignore_index: int = -100, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        F._check_ignore_index("NLLLoss", ignore_index)
        self._buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _check_input(self, input)
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)



class NLLLoss2d(NLLLoss):
    """torch's deprecated NLLLoss2d: NLLLoss (which takes (N, C, H, W) input), with torch's FutureWarning."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning,
                      stacklevel=2)
        super().__init__(*args, **kwargs)


class CTCLoss(_Loss):
    """Connectionist temporal classification (F.ctc_loss): labels of unknown alignment to the frames."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        _check_input(self, log_probs, "log_probs")
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                          self.zero_infinity)


class _PairLoss(_Loss):
    """A loss of (input, target) Tensors as a module: ``fn`` with the module's reduction and ``options``
    (attributes passed by name)."""

    fn: Any
    options: Tuple[str, ...] = ()

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        _check_input(self, input)
        _check_input(self, target, "target")
        return self.fn(input, target, reduction=self.reduction, **{k: getattr(self, k) for k in self.options})


class MSELoss(_PairLoss):
    fn = staticmethod(F.mse_loss)


class L1Loss(_PairLoss):
    fn = staticmethod(F.l1_loss)


class SmoothL1Loss(_PairLoss):
    """F.smooth_l1_loss as a module: quadratic for |input - target| < beta, L1 beyond."""

    fn, options = staticmethod(F.smooth_l1_loss), ("beta",)

    def __init__(self, reduction: str = "mean", beta: float = 1.0,
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.beta = beta


class HuberLoss(_PairLoss):
    """F.huber_loss as a module: quadratic for |input - target| < delta, delta-scaled L1 beyond."""

    fn, options = staticmethod(F.huber_loss), ("delta",)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta


class KLDivLoss(_PairLoss):
    """F.kl_div as a module: KL(target || exp(input)) pointwise; reduction='batchmean' is the true KL."""

    fn, options = staticmethod(F.kl_div), ("log_target",)

    def __init__(self, reduction: str = "mean", log_target: bool = False,
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.log_target = log_target


class BCELoss(_PairLoss):
    """F.binary_cross_entropy as a module, on probabilities (BCEWithLogitsLoss takes logits)."""

    fn, options = staticmethod(F.binary_cross_entropy), ("weight",)

    def __init__(self, weight: Optional[Tensor] = None, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self._buffer("weight", weight)


class BCEWithLogitsLoss(_PairLoss):
    fn, options = staticmethod(F.binary_cross_entropy_with_logits), ("weight", "pos_weight")

    def __init__(self, weight: Optional[Tensor] = None, reduction: str = "mean",
                 pos_weight: Optional[Tensor] = None,
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self._buffer("weight", weight)
        self._buffer("pos_weight", pos_weight)


class GaussianNLLLoss(_Loss):
    """F.gaussian_nll_loss as a module: forward(input, target, var), var a Tensor or a number."""

    shown = ("full", "eps")

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var: Any) -> Tensor:
        _check_input(self, input)
        _check_input(self, target, "target")
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class PoissonNLLLoss(_PairLoss):
    """F.poisson_nll_loss as a module: input is the log of the Poisson rate (log_input) or the rate itself."""

    fn, options = staticmethod(F.poisson_nll_loss), ("log_input", "full", "eps")
    shown = options

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return super().forward(log_input, target)


class HingeEmbeddingLoss(_PairLoss):
    """F.hinge_embedding_loss as a module: input where target is 1, max(0, margin - input) where it is -1."""

    fn, options = staticmethod(F.hinge_embedding_loss), ("margin",)
    shown = options

    def __init__(self, margin: float = 1.0, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.margin = margin


class SoftMarginLoss(_PairLoss):
    """F.soft_margin_loss as a module: log(1 + exp(-target input)) for targets +-1."""

    fn = staticmethod(F.soft_margin_loss)


class MultiLabelSoftMarginLoss(_PairLoss):
    """F.multilabel_soft_margin_loss as a module: per-class logistic losses averaged over the classes."""

    fn, options = staticmethod(F.multilabel_soft_margin_loss), ("weight",)

    def __init__(self, weight: Optional[Tensor] = None, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self._buffer("weight", weight)


class _TripleLoss(_Loss):
    """A loss of three Tensors (named ``names``) as a module: ``fn`` with the module's reduction and the
    attributes named in ``shown``. Each subclass's forward takes torch's argument names (forward(input1=...))."""

    fn: Any
    names: Tuple[str, str, str]

    def _triple(self, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
        for name, x in zip(self.names, (a, b, c)):
            _check_input(self, x, name)
        return self.fn(a, b, c, reduction=self.reduction, **{k: getattr(self, k) for k in self.shown})


class MarginRankingLoss(_TripleLoss):
    """F.margin_ranking_loss as a module: forward(input1, input2, target)."""

    fn, names, shown = staticmethod(F.margin_ranking_loss), ("input1", "input2", "target"), ("margin",)

    def __init__(self, margin: float = 0.0, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return self._triple(input1, input2, target)


class CosineEmbeddingLoss(_TripleLoss):
    """F.cosine_embedding_loss as a module: forward(input1, input2, target)."""

    fn, names, shown = staticmethod(F.cosine_embedding_loss), ("input1", "input2", "target"), ("margin",)

    def __init__(self, margin: float = 0.0, reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return self._triple(input1, input2, target)


class TripletMarginLoss(_TripleLoss):
    """F.triplet_margin_loss as a module: forward(anchor, positive, negative)."""

    fn, names = staticmethod(F.triplet_margin_loss), ("anchor", "positive", "negative")
    shown = ("margin", "p", "eps", "swap")

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return self._triple(anchor, positive, negative)


class MultiMarginLoss(_PairLoss):
    """F.multi_margin_loss as a module: a multi-class hinge of (N, C) scores against class indices (N,)."""

    fn, options = staticmethod(F.multi_margin_loss), ("p", "margin", "weight")
    shown = ("p", "margin")

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Optional[Tensor] = None,
                 reduction: str = "mean",
                 *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._legacy_get_string(size_average, reduce)
        super().__init__(reduction)
        if isinstance(p, bool) or p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got {p!r}")
        self._buffer("weight", weight)
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: weight must be 1-d (one per class), got shape {self.weight.shape}")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _check_input(self, input)
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)


class MultiLabelMarginLoss(_Loss):
    """F.multilabel_margin_loss as a module: each sample's classes listed in target up to its first -1."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        _check_input(self, input)
        return F.multilabel_margin_loss(input, target, self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """F.triplet_margin_with_distance_loss as a module: forward(anchor, positive, negative). distance_function
    defaults to a PairwiseDistance() submodule, as torch's (a Module given is registered as one too)."""

    shown = ("margin", "swap")

    def __init__(self, *, distance_function: Optional[Any] = None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        F._real(type(self).__name__, "margin", margin)
        if not margin > 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                             "instead")
        self.distance_function = PairwiseDistance() if distance_function is None else distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        for name, x in (("anchor", anchor), ("positive", positive), ("negative", negative)):
            _check_input(self, x, name)
        return F.triplet_margin_with_distance_loss(anchor, positive, negative,
                                                   distance_function=self.distance_function, margin=self.margin,
                                                   swap=self.swap, reduction=self.reduction)


class _ASMoutput(NamedTuple):
    """AdaptiveLogSoftmaxWithLoss's result (torch's _ASMoutput): each target's log-probability, and the mean of
    their negatives."""

    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """torch.nn.AdaptiveLogSoftmaxWithLoss (Grave et al., efficient softmax approximation for GPUs): the classes
    below cutoffs[0] (the shortlist) and one entry per cluster share a head softmax; cluster i (classes cutoffs[i]
    up to cutoffs[i + 1], the last ending at n_classes) has its own softmax over a projection to
    in_features // div_value ** (i + 1) features. log p(c) = head[c] in the shortlist, head[cluster] + tail[c]
    beyond. Parameters head.weight (head.bias with head_bias) and tail.i.0.weight, tail.i.1.weight, as torch's, so
    state_dicts load across."""

    def __init__(self, in_features: int, n_classes: int, cutoffs: Any, div_value: float = 4.0,
                 head_bias: bool = False, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        op = "AdaptiveLogSoftmaxWithLoss"
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError(f"{op}: cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(f"{op}: cutoffs should be a sequence of unique, positive integers sorted in an "
                             f"increasing order, where each value is between 1 and n_classes-1 ({n_classes - 1}), "
                             f"got {cutoffs}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                                        Linear(hsz, osz, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input: Tensor, target: Any) -> _ASMoutput:
        """(output, loss): output[n] = log p(target[n] | input[n]) for input (N, in_features) and class indices
        (N,), or (in_features,) and a 0-d target (a 0-d output); loss = -output.mean()."""
        op = type(self).__name__
        _check_input(self, input)
        t = backend.to_device(F._index_array(target, op), input.device)
        if t.ndim == 1:
            if input.ndim != 2:
                raise ValueError(f"{op}: a 1-d target expects a 2-d input (N, in_features), got input shape "
                                 f"{input.shape}")
            if input.shape[0] != t.shape[0]:
                raise ValueError(f"{op}: input {input.shape} and target {t.shape} should have the same size in the "
                                 "batch dimension")
        elif t.ndim == 0:
            if input.ndim != 1:
                raise ValueError(f"{op}: a 0-d target expects a 1-d input (in_features,), got input shape "
                                 f"{input.shape}")
        else:
            raise ValueError(f"{op}: a 0-d or 1-d target expected (multi-target is not supported), got target shape "
                             f"{t.shape}")
        batched = t.ndim == 1
        x, t = (input, t) if batched else (input.unsqueeze(0), t.reshape(1))
        bad = (t < 0) | (t >= self.n_classes)
        if bool(bad.any()):
            raise IndexError(f"{op}: target values should be in [0, {self.n_classes - 1}], but values in range "
                             f"[{int(t.min())}, {int(t.max())}] were found")
        xp = backend.xp_of(t)
        head_index = t.copy()
        parts = []
        for i in range(self.n_clusters):
            lo, hi = self.cutoffs[i], self.cutoffs[i + 1]
            rows = xp.nonzero((t >= lo) & (t < hi))[0]
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            logp = self.tail[i](x.index_select(0, rows)).log_softmax(1)
            parts.append((rows, logp.gather(1, Tensor._make(t[rows, None] - lo)).squeeze(1)))
        head_logp = self.head(x).log_softmax(1)
        output = head_logp.gather(1, Tensor._make(head_index[:, None])).squeeze(1)
        for rows, logp in parts:
            output = output.index_add(0, rows, logp)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        head_logp = head_output.log_softmax(1)
        pieces = [head_logp[:, :self.shortlist_size]]
        for i, tail in enumerate(self.tail):
            pieces.append(tail(input).log_softmax(1) + head_logp[:, self.shortlist_size + i].unsqueeze(1))
        return ops.cat(pieces, 1)

    def _check_batch(self, input: Any, method: str) -> None:
        _check_input(self, input)
        if input.ndim != 2:
            raise ValueError(f"{type(self).__name__}.{method}: input must be 2-d (N, in_features), got shape "
                             f"{input.shape}")

    def log_prob(self, input: Tensor) -> Tensor:
        """log p(c | input[n]) for every class: (N, in_features) -> (N, n_classes)."""
        self._check_batch(input, "log_prob")
        return self._full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """log_prob(input).argmax(1), computing the clusters' softmaxes only for the rows whose head argmax is a
        cluster (as torch's: a shortlist class that wins the head wins overall)."""
        self._check_batch(input, "predict")
        head_output = self.head(input)
        output = head_output.argmax(1)
        out = output.array.copy()
        rows = backend.xp_of(out).nonzero(out >= self.shortlist_size)[0]
        if rows.size:
            full = self._full_log_prob(input.index_select(0, rows), head_output.index_select(0, rows))
            out[rows] = full.argmax(1).array
        return Tensor._make(out)


complex_ok(Sequential.forward)  # (dispatch only: each module in it is checked itself, see tensor.complex_check)
# Linear with complex parameters (dtype=tg.complex64), as torch's: zeros, each part U(-k, k), F.linear (audited)
complex_ok(Linear)
# Conv1d / Conv2d / Conv3d with complex parameters, as torch's: kaiming_uniform_ fills each part U(-b, b), forward
# F.conv*d (audited: three real convolutions); a padding_mode other than zeros pads with F.pad (audited, every mode).
# ConvTranspose1d / 2d / 3d likewise (_ConvNd's reset_parameters; F.conv_transpose*d: a complex matmul and FoldNd)
complex_ok(_ConvNd)
complex_ok(_ConvTransposeNd)
complex_ok(_param)  # (a delegation: the layer whose __init__ calls it is checked itself)
# the modules of the nn.functional ops audited for complex tensors: each forward a delegation (to F's function, which
# decides: ReLU's relu refuses complex), or a view of its input
for _fn in (_Activation.forward, _PairLoss.forward, _Pad1d.forward, ConstantPad1d.forward, Flatten.forward,
            Unflatten.forward):
    complex_ok(_fn)
del _fn
