"""torch.nn.modules.loss's names, for code that imports them from there (the classes live in nn's own files); with
torch's base class _Loss."""
from ..layers import (L1Loss, NLLLoss, NLLLoss2d, PoissonNLLLoss, GaussianNLLLoss, KLDivLoss, MSELoss, BCELoss,
                      BCEWithLogitsLoss, HingeEmbeddingLoss, MultiLabelMarginLoss, SmoothL1Loss, HuberLoss,
                      SoftMarginLoss, CrossEntropyLoss, LinearCrossEntropyLoss, MultiLabelSoftMarginLoss,
                      CosineEmbeddingLoss, MarginRankingLoss, MultiMarginLoss, TripletMarginLoss,
                      TripletMarginWithDistanceLoss, CTCLoss, _Loss)

_BASES = (_Loss,)  # (torch's private bases, imported from here by user code)
__all__ = ["L1Loss", "NLLLoss", "NLLLoss2d", "PoissonNLLLoss", "GaussianNLLLoss", "KLDivLoss", "MSELoss", "BCELoss",
           "BCEWithLogitsLoss", "HingeEmbeddingLoss", "MultiLabelMarginLoss", "SmoothL1Loss", "HuberLoss",
           "SoftMarginLoss", "CrossEntropyLoss", "LinearCrossEntropyLoss", "MultiLabelSoftMarginLoss",
           "CosineEmbeddingLoss", "MarginRankingLoss", "MultiMarginLoss", "TripletMarginLoss",
           "TripletMarginWithDistanceLoss", "CTCLoss"]
