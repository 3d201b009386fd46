"""torch.nn.utils.convert_parameters's names, for code that imports them from there: parameters_to_vector and
vector_to_parameters (defined in nn.utils, next to the helpers they share)."""
from . import parameters_to_vector, vector_to_parameters

__all__ = ["parameters_to_vector", "vector_to_parameters"]
