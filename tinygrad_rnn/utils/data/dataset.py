"""torch.utils.data.dataset's names, for code that imports them from there (defined in utils.data)."""
from . import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,  # noqa: F401
               TensorDataset, random_split)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split"]
