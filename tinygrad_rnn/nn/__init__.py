"""Layers, cells, losses and initialisers (PyTorch's torch.nn names)."""
from . import functional, fused, init, utils
from .layers import (CELU, ELU, GELU, GLU, SELU, BCELoss, BCEWithLogitsLoss, CosineSimilarity, CrossEntropyLoss,
                     CTCLoss, Dropout, Embedding, Flatten, Hardsigmoid, Hardswish, Hardtanh, HuberLoss, Identity,
                     KLDivLoss, L1Loss, LayerNorm, LeakyReLU, Linear, LogSigmoid, LogSoftmax, Mish, ModuleDict,
                     ModuleList, MSELoss, MultiheadAttention, NLLLoss, PairwiseDistance, ReLU, ReLU6, Sequential,
                     Sigmoid, SiLU, SmoothL1Loss, Softmax, Softmin, Softsign, Tanh, Unflatten)
from .layers import (AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, BatchNorm1d, Conv1d, ConvTranspose1d, MaxPool1d,
                     RMSNorm)
from .layers import (AdaptiveLogSoftmaxWithLoss, CosineEmbeddingLoss, GaussianNLLLoss, Hardshrink,
                     HingeEmbeddingLoss, MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                     MultiMarginLoss, PoissonNLLLoss, PReLU,
                     SoftMarginLoss, Softplus, Softshrink, Tanhshrink, Threshold, TripletMarginLoss,
                     TripletMarginWithDistanceLoss)
from .layers import (AlphaDropout, Bilinear, Dropout1d, FeatureAlphaDropout, GroupNorm, InstanceNorm1d)
from .layers import (RReLU)
from .layers import (CircularPad1d, ConstantPad1d, ReflectionPad1d, ReplicationPad1d, ZeroPad1d)
from .module import Module, Parameter, ParameterDict, ParameterList
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = ["functional", "fused", "init", "utils", "Module", "Parameter", "ParameterList", "ParameterDict",
           "Linear", "Bilinear", "Embedding", "LayerNorm", "RMSNorm", "Dropout", "Dropout1d", "AlphaDropout",
           "FeatureAlphaDropout",
           "Sequential", "ModuleList", "ModuleDict", "ReLU", "Tanh", "Sigmoid", "Identity", "Softmax", "LogSoftmax",
           "SiLU", "LogSigmoid", "LeakyReLU", "ELU", "Hardtanh", "Flatten", "Unflatten",
           "GELU", "ReLU6", "SELU", "CELU", "Mish", "Softsign", "Hardsigmoid", "Hardswish", "Softmin", "GLU",
           "Softplus", "RReLU", "Threshold", "Softshrink", "Hardshrink", "Tanhshrink", "PReLU",
           "CosineSimilarity", "PairwiseDistance",
           "Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
           "BatchNorm1d",
           "ConstantPad1d", "ZeroPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d",
           "Conv1d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "BatchNorm1d", "GroupNorm", "InstanceNorm1d",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCELoss",
           "BCEWithLogitsLoss", "CTCLoss",
           "GaussianNLLLoss", "PoissonNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "CosineEmbeddingLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss",
           "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss",
           "AdaptiveLogSoftmaxWithLoss",
           "MultiheadAttention", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]
