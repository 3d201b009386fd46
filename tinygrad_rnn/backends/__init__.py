"""torch.backends's switches, for scripts that set them: ``cudnn`` (enabled, benchmark, deterministic, allow_tf32,
flags()), ``mkldnn`` (enabled, flags()), ``cuda.matmul.allow_tf32``, ``mps.is_available()`` (False) and
``cpu.get_cpu_capability()``. The settings are recorded and read back, with no effect: this package calls neither
cuDNN nor oneDNN (its ops are numpy's or CuPy's, deterministic and in the tensors' own precision)."""
from . import cpu, cuda, cudnn, mkldnn, mps

__all__ = ["cpu", "cuda", "cudnn", "mkldnn", "mps"]
