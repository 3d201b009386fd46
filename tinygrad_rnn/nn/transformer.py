"""torch.nn's Transformer modules (Vaswani et al. 2017), built from MultiheadAttention, Linear, LayerNorm and
Dropout with torch's names, defaults and parameter layouts, so state_dicts move between the two either way.

torch's inference fast paths (fused kernels, nested tensors for padded batches) are not here: every call runs the
layers as written, which is torch's own path in training or with gradients enabled. The values are the same up to
rounding, except that torch's TransformerEncoder on its nested-tensor path (eval, no_grad, batch_first, a
src_key_padding_mask) returns 0 before the final norm at padded positions, where these give what the layers
computed there (positions no unpadded output depends on)."""
from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Union

from ..creation import full
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import GELU, Dropout, LayerNorm, Linear, ModuleList, MultiheadAttention, ReLU, _check_input
from .module import Module

Activation = Union[str, Callable[[Tensor], Tensor]]


def _get_activation_fn(activation: Activation, op: str) -> Callable[[Tensor], Tensor]:
    """'relu' or 'gelu' as F.relu / F.gelu (torch's two names); a callable (a function or a module) as it is."""
    if isinstance(activation, str):
        if activation in ("relu", "gelu"):
            return F.relu if activation == "relu" else F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):  # (torch fails only at the first forward: "'int' object is not callable")
        raise TypeError(f"{op}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _get_clones(module: Module, n: int) -> ModuleList:
    """n deep copies of module (its parameters copied, not shared), as torch's encoder and decoder stacks."""
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _first_layer(layers: ModuleList, op: str) -> None:
    """torch's stacks read layers[0] in forward (an IndexError with none): a clear error instead."""
    if len(layers) == 0:
        raise ValueError(f"{op}: it has no layers (num_layers=0), as torch's it cannot run")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with dropout, a residual connection and a LayerNorm:
    x = norm1(x + sa(x)); x = norm2(x + ff(x)), or with norm_first x = x + sa(norm1(x)); x = x + ff(norm2(x)),
    where ff(x) = linear2(dropout(activation(linear1(x)))). Inputs are (S, N, E) ((N, S, E) with batch_first, or
    (S, E) unbatched); src_mask (S, S) or (N * nhead, S, S) and src_key_padding_mask (N, S) as MultiheadAttention's
    attn_mask and key_padding_mask (True or -inf: not attended; floats: added). is_causal is torch's hint that
    src_mask is the causal mask (it needs the mask); the mask given is what is applied."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        activation = _get_activation_fn(activation, type(self).__name__)
        # torch's flag for its fused kernel (1 relu, 2 gelu, 0 other), kept for code that reads it
        self.activation_relu_or_gelu = (1 if activation is F.relu or isinstance(activation, ReLU) else
                                        2 if activation is F.gelu or isinstance(activation, GELU) else 0)
        self.activation = activation

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        _check_input(self, src, "src")
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool = False) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over tgt, attention from tgt to memory (the encoder's output), then a feed-forward block,
    each with dropout, a residual connection and a LayerNorm (norm1, norm2, norm3; before each block with
    norm_first), as TransformerEncoderLayer. tgt is (T, N, E) and memory (S, N, E) ((N, T, E) and (N, S, E) with
    batch_first; 2-d unbatched); tgt_mask (T, T), memory_mask (T, S), tgt_key_padding_mask (N, T) and
    memory_key_padding_mask (N, S) as MultiheadAttention's masks; the *_is_causal hints need their masks."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                                 **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _get_activation_fn(activation, type(self).__name__)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        _check_input(self, tgt, "tgt")
        _check_input(self, memory, "memory")
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool = False) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any,
                   is_causal: bool = False) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer (layers.0, layers.1, ...; each its own parameters), run in turn
    with the same masks, then norm if given. enable_nested_tensor and mask_check choose torch's nested-tensor
    fast path, which is not here: they are kept as attributes and change nothing (use_nested_tensor is False).
    is_causal=None (torch's default: detect a causal mask from its values) passes no hint; the mask given is
    applied either way, so the hint changes no value."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Optional[Module] = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: Optional[bool] = None) -> Tensor:
        _check_input(self, src, "src")
        _first_layer(self.layers, type(self).__name__)
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=bool(is_causal), src_key_padding_mask=src_key_padding_mask)
        return self.norm(output) if self.norm is not None else output


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer (layers.0, ...), each attending to the same memory with the same
    masks, then norm if given. tgt_is_causal=None (torch's default) passes no hint. A module activation (nn.GELU())
    is each copy's own (torch's layer copies replace it by F.relu, an artifact of its __setstate__)."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Optional[Module] = None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: Optional[bool] = None, memory_is_causal: bool = False) -> Tensor:
        _check_input(self, tgt, "tgt")
        _first_layer(self.layers, type(self).__name__)
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return self.norm(output) if self.norm is not None else output


class Transformer(Module):
    """torch.nn.Transformer: a TransformerEncoder of num_encoder_layers layers and a TransformerDecoder of
    num_decoder_layers, each ending in a LayerNorm (or custom_encoder / custom_decoder); every parameter of more
    than one dim is re-initialised Xavier-uniform, as torch's. forward(src, tgt, ...) encodes src and decodes
    tgt against it: src (S, N, E), tgt (T, N, E) ((N, S, E), (N, T, E) with batch_first; 2-d unbatched), giving
    (T, N, E). Masks as the layers'; a causal tgt_mask is generate_square_subsequent_mask(T)."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: Activation = F.relu,
                 custom_encoder: Optional[Module] = None, custom_decoder: Optional[Module] = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Optional[str] = None, dtype: Any = None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, **kw), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, **kw), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Any = None, tgt_mask: Any = None, memory_mask: Any = None,
                src_key_padding_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, src_is_causal: Optional[bool] = None,
                tgt_is_causal: Optional[bool] = None, memory_is_causal: bool = False) -> Tensor:
        _check_input(self, src, "src")
        _check_input(self, tgt, "tgt")
        if src.ndim == 3 and (tgt.ndim < 2 or src.shape[0 if self.batch_first else 1] !=
                              tgt.shape[0 if self.batch_first else 1]):
            raise RuntimeError(f"the batch number of src and tgt must be equal (src {src.shape}, tgt {tgt.shape}, "
                               f"batch_first={self.batch_first})")
        if src.shape[-1:] != (self.d_model,) or tgt.shape[-1:] != (self.d_model,):
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model={self.d_model} (src "
                               f"{src.shape}, tgt {tgt.shape})")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Optional[str] = None, dtype: Any = None) -> Tensor:
        """(sz, sz) float mask, -inf above the diagonal and 0 elsewhere: position i attends to positions <= i."""
        return full((sz, sz), float("-inf"), dtype=dtype, device=device).triu(1)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
