"""Layers, cells, losses and initialisers (PyTorch's torch.nn names)."""
from . import attention, functional, fused, grad, init, utils
from .layers import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveLogSoftmaxWithLoss, AdaptiveMaxPool1d,
                     AdaptiveMaxPool2d, AlphaDropout, AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, BCELoss,
                     BCEWithLogitsLoss, Bilinear, CELU, CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d,
                     Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, CosineEmbeddingLoss, CosineSimilarity,
                     CrossEntropyLoss, CTCLoss, Dropout, Dropout1d, Dropout2d, ELU, Embedding, EmbeddingBag,
                     FeatureAlphaDropout, Flatten, Fold, GaussianNLLLoss, GELU, GLU, GroupNorm, Hardshrink,
                     Hardsigmoid, Hardswish, Hardtanh, HingeEmbeddingLoss, HuberLoss, Identity, InstanceNorm1d,
                     InstanceNorm2d, KLDivLoss, L1Loss, LayerNorm, LeakyReLU, Linear, LocalResponseNorm, LogSigmoid,
                     LogSoftmax, LPPool1d, LPPool2d, MarginRankingLoss, MaxPool1d, MaxPool2d, MaxUnpool1d, MaxUnpool2d,
                     Mish, ModuleDict, ModuleList, MSELoss, MultiheadAttention, MultiLabelMarginLoss,
                     MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, PairwiseDistance, PixelShuffle,
                     PixelUnshuffle, PoissonNLLLoss, PReLU, ReflectionPad1d, ReflectionPad2d, ReLU, ReLU6,
                     ReplicationPad1d, ReplicationPad2d, RMSNorm, RReLU, SELU, Sequential, Sigmoid, SiLU, SmoothL1Loss,
                     SoftMarginLoss, Softmax, Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold,
                     TripletMarginLoss, TripletMarginWithDistanceLoss, Unflatten, Unfold, Upsample,
                     UpsamplingBilinear2d, UpsamplingNearest2d, ZeroPad1d, ZeroPad2d)
from .layers import (ChannelShuffle, CircularPad3d, ConstantPad3d, ReflectionPad3d, ReplicationPad3d, Softmax2d,
                     ZeroPad3d)
from .layers import (AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, BatchNorm3d, Conv3d, ConvTranspose3d, Dropout3d,
                     FractionalMaxPool2d, FractionalMaxPool3d, InstanceNorm3d, LPPool3d, MaxPool3d, MaxUnpool3d,
                     SyncBatchNorm)
from .layers import Container, LinearCrossEntropyLoss, NLLLoss2d
from . import parallel
from .parallel import DataParallel
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d,
                   LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
                   LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear, LazyModuleMixin)
from .linear_cross_entropy import LinearCrossEntropyOptions
from .module import (Buffer, Module, Parameter, ParameterDict, ParameterList, UninitializedBuffer,
                     UninitializedParameter)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from . import modules, parameter  # noqa: E402  (torch's paths: nn.modules.<file>, nn.parameter)

__all__ = ["attention", "functional", "fused", "init", "utils", "modules", "parameter", "Module", "Parameter",
           "LinearCrossEntropyLoss", "LinearCrossEntropyOptions",
           "ParameterList", "ParameterDict",
           "Buffer", "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d",
           "LazyConvTranspose1d", "LazyBatchNorm1d", "LazyInstanceNorm1d", "LazyConv2d", "LazyConvTranspose2d",
           "LazyBatchNorm2d", "LazyInstanceNorm2d", "LazyConv3d", "LazyConvTranspose3d", "LazyBatchNorm3d",
           "LazyInstanceNorm3d",
           "Linear", "Bilinear", "Embedding", "EmbeddingBag", "LayerNorm", "RMSNorm", "Dropout", "Dropout1d",
           "Dropout2d", "AlphaDropout", "FeatureAlphaDropout",
           "Sequential", "ModuleList", "ModuleDict", "ReLU", "Tanh", "Sigmoid", "Identity", "Softmax", "LogSoftmax",
           "SiLU", "LogSigmoid", "LeakyReLU", "ELU", "Hardtanh", "Flatten", "Unflatten",
           "GELU", "ReLU6", "SELU", "CELU", "Mish", "Softsign", "Hardsigmoid", "Hardswish", "Softmin", "GLU",
           "Softplus", "RReLU", "Threshold", "Softshrink", "Hardshrink", "Tanhshrink", "PReLU",
           "CosineSimilarity", "PairwiseDistance",
           "Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d", "LPPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
           "MaxUnpool1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool2d", "LPPool2d", "MaxUnpool2d", "Unfold", "Fold", "PixelShuffle", "PixelUnshuffle",
           "UpsamplingNearest2d", "UpsamplingBilinear2d",
           "Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "LPPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
           "MaxUnpool3d", "BatchNorm3d", "InstanceNorm3d", "Dropout3d", "FractionalMaxPool2d", "FractionalMaxPool3d",
           "BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm",
           "Upsample", "ConstantPad1d", "ZeroPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d",
           "ConstantPad2d", "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d",
           "ConstantPad3d", "ZeroPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d", "ChannelShuffle",
           "Softmax2d",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCELoss",
           "BCEWithLogitsLoss", "CTCLoss",
           "GaussianNLLLoss", "PoissonNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "CosineEmbeddingLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss",
           "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss",
           "AdaptiveLogSoftmaxWithLoss",
           "MultiheadAttention", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU",
           "TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "Transformer", "SyncBatchNorm", "Container", "NLLLoss2d", "DataParallel", "parallel"]
