"""torch.utils.dlpack's names: ``to_dlpack`` (a tensor's memory as a DLPack capsule) and ``from_dlpack`` (a tensor
sharing another library's memory); both live in creation.py."""
from ..creation import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]
