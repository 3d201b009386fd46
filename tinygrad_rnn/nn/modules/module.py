"""torch.nn.modules.module's names, for code that imports them from there (the classes live in nn's own files), and
torch's private _IncompatibleKeys (load_state_dict's result), which code imports from here for type hints."""
from ..module import Module, _IncompatibleKeys

__all__ = ["Module"]
_PRIVATE = (_IncompatibleKeys,)  # (torch's private name, imported from here by user code)
