"""torch.nn.modules.sparse's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Embedding, EmbeddingBag

__all__ = ["Embedding", "EmbeddingBag"]
