"""The context manager behind cudnn.flags and mkldnn.flags."""
import contextlib
from types import ModuleType
from typing import Any, Iterator


@contextlib.contextmanager
def set_flags(module: ModuleType, **values: Any) -> Iterator[None]:
    """Set module's attributes to ``values`` in the block and put the old ones back after it."""
    old = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)
