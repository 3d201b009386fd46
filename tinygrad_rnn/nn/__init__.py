"""Layers, cells, losses and initialisers (PyTorch's torch.nn names)."""
from . import functional, init
from .layers import (BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Embedding, L1Loss, Linear, ModuleList, MSELoss,
                     NLLLoss, Sequential)
from .module import Module, Parameter
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell

__all__ = ["functional", "init", "Module", "Parameter", "Linear", "Embedding", "Dropout", "Sequential",
           "ModuleList", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss",
           "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]
