"""Layers, cells, losses and initialisers (PyTorch's torch.nn names)."""
from . import functional, fused, init, utils
from .layers import (BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Embedding, Identity, L1Loss, LayerNorm, Linear,
                     LogSoftmax, ModuleDict, ModuleList, MSELoss, NLLLoss, ReLU, Sequential, Sigmoid, Softmax, Tanh)
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell

__all__ = ["functional", "fused", "init", "utils", "Module", "Parameter", "Linear", "Embedding", "LayerNorm", "Dropout",
           "Sequential", "ModuleList", "ModuleDict", "ReLU", "Tanh", "Sigmoid", "Identity", "Softmax", "LogSoftmax",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss",
           "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]
