"""torch.func's functional_call: a module run as a function of the parameters and buffers it is given."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Dict, Optional, Union

from .nn.module import Module
from .nn.utils.stateless import _functional_call
from .tensor import Tensor

__all__ = ["functional_call"]


def functional_call(module: Module, parameter_and_buffer_dicts: Union[Dict[str, Tensor], Sequence[Dict[str, Tensor]]],
                    args: Any = None, kwargs: Optional[Dict[str, Any]] = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """module(*args, **kwargs) (args not a tuple: the one argument) with the tensors named by dotted state_dict keys
    ('lstm.weight_hh_l0', 'parametrizations.weight.original') in place of the module's own for this call, as
    torch.func.functional_call, so gradients reach the given tensors; the module's own are put back afterwards, also
    when the call raises. One dict or a sequence of dicts (a key in two of them is an error). tie_weights: a tensor
    the module holds under several names takes the value given for any of them. strict: missing or unexpected keys
    are a RuntimeError. A parametrized tensor's own name goes through its right_inverse, as torch's."""
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        keys = [k for d in parameter_and_buffer_dicts for k in d]
        repeated = [k for k, n in Counter(keys).items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    return _functional_call(module, tensors, args, kwargs, tie_weights=tie_weights, strict=strict)
