"""Layers, cells, losses and initialisers (PyTorch's torch.nn names)."""
from . import functional, fused, init, utils
from .layers import (AdaptiveAvgPool1d, AdaptiveLogSoftmaxWithLoss, AdaptiveMaxPool1d, AlphaDropout, AvgPool1d,
                     BatchNorm1d, BCELoss, BCEWithLogitsLoss, Bilinear, CELU, CircularPad1d, ConstantPad1d, Conv1d,
                     ConvTranspose1d, CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss, CTCLoss, Dropout,
                     Dropout1d, ELU, Embedding, EmbeddingBag, FeatureAlphaDropout, Flatten, GaussianNLLLoss, GELU, GLU,
                     GroupNorm, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, HingeEmbeddingLoss, HuberLoss, Identity,
                     InstanceNorm1d, KLDivLoss, L1Loss, LayerNorm, LeakyReLU, Linear, LocalResponseNorm, LogSigmoid,
                     LogSoftmax, LPPool1d, MarginRankingLoss, MaxPool1d, MaxUnpool1d, Mish, ModuleDict, ModuleList,
                     MSELoss, MultiheadAttention, MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                     NLLLoss, PairwiseDistance, PoissonNLLLoss, PReLU, ReflectionPad1d, ReLU, ReLU6, ReplicationPad1d,
                     RMSNorm, RReLU, SELU, Sequential, Sigmoid, SiLU, SmoothL1Loss, SoftMarginLoss, Softmax, Softmin,
                     Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold, TripletMarginLoss,
                     TripletMarginWithDistanceLoss, Unflatten, Upsample, ZeroPad1d)
from .lazy import (LazyBatchNorm1d, LazyConv1d, LazyConvTranspose1d, LazyInstanceNorm1d, LazyLinear,
                   LazyModuleMixin)
from .module import (Buffer, Module, Parameter, ParameterDict, ParameterList, UninitializedBuffer,
                     UninitializedParameter)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

__all__ = ["functional", "fused", "init", "utils", "Module", "Parameter", "ParameterList", "ParameterDict",
           "Buffer", "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d",
           "LazyConvTranspose1d", "LazyBatchNorm1d", "LazyInstanceNorm1d",
           "Linear", "Bilinear", "Embedding", "EmbeddingBag", "LayerNorm", "RMSNorm", "Dropout", "Dropout1d",
           "AlphaDropout", "FeatureAlphaDropout",
           "Sequential", "ModuleList", "ModuleDict", "ReLU", "Tanh", "Sigmoid", "Identity", "Softmax", "LogSoftmax",
           "SiLU", "LogSigmoid", "LeakyReLU", "ELU", "Hardtanh", "Flatten", "Unflatten",
           "GELU", "ReLU6", "SELU", "CELU", "Mish", "Softsign", "Hardsigmoid", "Hardswish", "Softmin", "GLU",
           "Softplus", "RReLU", "Threshold", "Softshrink", "Hardshrink", "Tanhshrink", "PReLU",
           "CosineSimilarity", "PairwiseDistance",
           "Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d", "LPPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
           "MaxUnpool1d",
           "BatchNorm1d", "GroupNorm", "InstanceNorm1d", "LocalResponseNorm",
           "Upsample", "ConstantPad1d", "ZeroPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCELoss",
           "BCEWithLogitsLoss", "CTCLoss",
           "GaussianNLLLoss", "PoissonNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "CosineEmbeddingLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss",
           "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss",
           "AdaptiveLogSoftmaxWithLoss",
           "MultiheadAttention", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU",
           "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "Transformer"]
