"""torch.nn.modules.container's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Container, Sequential, ModuleList, ModuleDict
from ..module import ParameterList, ParameterDict

__all__ = ["Container", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
