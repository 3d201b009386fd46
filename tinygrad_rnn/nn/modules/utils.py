"""torch.nn.modules.utils's names, which custom layers copied from torch's import: ``_single``, ``_pair``,
``_triple``, ``_quadruple`` (a tuple or list as a tuple, anything else repeated: conv and pool sizes), ``_ntuple``,
``_reverse_repeat_tuple`` (a conv's padding in F.pad's order), all nn's own (layers.py), and
``consume_prefix_in_state_dict_if_present`` (strip 'module.' from a DataParallel checkpoint's keys)."""
from __future__ import annotations

from typing import Any, Dict

from ..layers import _ntuple, _pair, _quadruple, _reverse_repeat_tuple, _single, _triple


def consume_prefix_in_state_dict_if_present(state_dict: Dict[str, Any], prefix: str) -> None:
    """Strip prefix from the keys of state_dict that have it, in place (and from its ``_metadata``, if any), as
    torch's: a DataParallel model's checkpoint ('module.' keys) loads into the bare model."""
    for key in list(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix):]] = state_dict.pop(key)
    meta = getattr(state_dict, "_metadata", None)
    if meta is not None:
        for key in list(meta.keys()):
            if len(key) and (key == prefix.replace(".", "") or key.startswith(prefix)):
                meta[key[len(prefix):]] = meta.pop(key)


__all__ = ["_ntuple", "_single", "_pair", "_triple", "_quadruple", "_reverse_repeat_tuple",
           "consume_prefix_in_state_dict_if_present"]
