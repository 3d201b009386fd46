"""torch.backends.mps: there is no Apple GPU path here."""


def is_available() -> bool:
    """False: no MPS device."""
    return False


def is_built() -> bool:
    """False: no MPS support."""
    return False
