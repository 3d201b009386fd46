"""torch.utils.hooks's RemovableHandle, for code that imports it from there (to annotate or check the handles that
register_hook and Module's hook registrations return, or to make its own)."""
from __future__ import annotations

import weakref
from abc import ABCMeta
from typing import Any, Dict, Optional

from ..tensor import _Handle

__all__ = ["RemovableHandle"]


class RemovableHandle(metaclass=ABCMeta):
    """A handle that removes a hook: ``remove()``, or leaving a ``with`` block over it. The engine's own handles
    count as RemovableHandles (isinstance is True); one made here is torch's: ``RemovableHandle(hooks_dict)``
    takes the next ``id``, under which the caller stores its hook in ``hooks_dict``; remove() deletes that entry
    (and the one in each of ``extra_dict``, a dict or a list of them), once, if the dicts are still alive."""

    next_id: int = 0

    def __init__(self, hooks_dict: Dict[int, Any], *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = _ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = [] if extra_dict is None else extra_dict if isinstance(extra_dict, list) else [extra_dict]
        self.extra_dict_ref = tuple(_ref(d) for d in extras)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            hooks: Optional[Dict[int, Any]] = ref()
            if hooks is not None and self.id in hooks:
                del hooks[self.id]

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


RemovableHandle.register(_Handle)


def _ref(d: Dict[int, Any]) -> Any:
    """A weak reference to d (an OrderedDict, as torch's registries), or a strong one where d (a plain dict) takes
    none: torch refuses a plain dict."""
    try:
        return weakref.ref(d)
    except TypeError:
        return lambda: d
