"""torch.backends.cpu.get_cpu_capability."""


def get_cpu_capability() -> str:
    """The widest vector instruction set numpy found on this CPU, in torch's words: 'AVX512', 'AVX2' or 'DEFAULT'
    (numpy's kernels choose their own)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # (numpy < 2)
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if features.get("AVX512F") and features.get("AVX512BW"):
        return "AVX512"
    return "AVX2" if features.get("AVX2") else "DEFAULT"
