"""torch.backends.cuda's matmul settings, recorded with torch's defaults and of no effect: CuPy's matmuls run in
the tensors' own precision (TF32 is not turned on here)."""
from types import SimpleNamespace

from .. import backend

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)


def is_built() -> bool:
    """Whether the CUDA path can run (CuPy and a GPU present)."""
    return backend.cuda_available()
