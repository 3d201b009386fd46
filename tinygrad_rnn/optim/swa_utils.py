"""Stochastic weight averaging and EMA of a model's weights, like torch.optim.swa_utils: AveragedModel, the
averaging functions it takes, SWALR (anneal to a constant lr) and update_bn (recompute BatchNorm statistics)."""
from __future__ import annotations

import copy
import itertools
import math
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..creation import tensor as _tensor
from ..nn.layers import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor, complex_ok
from .adafactor import _lerp_
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer, check_int

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]

AvgFn = Callable[[Tensor, Tensor, Any], Tensor]
MultiAvgFn = Callable[[List[Tensor], List[Tensor], Any], None]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _write(t: Tensor, values: Any) -> None:
    """t's data set to values in place (cast to t's dtype, truncating toward zero for an integer t, as torch's
    copy_), its version bumped."""
    t.array[...] = values.astype(t.dtype, copy=False) if hasattr(values, "astype") else values
    t._bump_version()


def _count(num_averaged: Any) -> float:
    return float(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)


def _zipped(averaged: Iterable[Tensor], current: Iterable[Tensor]) -> Iterator[Tuple[Tensor, Tensor]]:
    """Pairs of averaged and current tensors, as zip(strict=True) (Python 3.10+; this package supports 3.9)."""
    averaged, current = list(averaged), list(current)
    if len(averaged) != len(current):
        raise ValueError(f"swa_utils: {len(averaged)} averaged tensors against {len(current)} current ones")
    return zip(averaged, current)


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """In place, for lists of averaged and current tensors: ema = lerp(ema, current, 1 - decay) (floating
    tensors, rounded as torch's lerp), ema * decay + current * (1 - decay) cast back for integer ones."""
    _check_decay(decay)

    def ema_update(ema_param_list: Sequence[Tensor], current_param_list: Sequence[Tensor], _: Any) -> None:
        for ema, cur in _zipped(ema_param_list, current_param_list):
            if ema.dtype.kind in "fc":
                _lerp_(ema.array, cur.array, 1 - decay)
                ema._bump_version()
            else:
                _write(ema, ema.array * decay + cur.array * (1 - decay))
    return complex_ok(ema_update)


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """In place, for lists of averaged and current tensors: avg = lerp(avg, current, 1 / (num_averaged + 1))
    (floating tensors), avg + (current - avg) / (num_averaged + 1) cast back for integer ones."""
    def swa_update(averaged_param_list: Sequence[Tensor], current_param_list: Sequence[Tensor],
                   num_averaged: Any) -> None:
        n = _count(num_averaged)
        for avg, cur in _zipped(averaged_param_list, current_param_list):
            if avg.dtype.kind in "fc":
                _lerp_(avg.array, cur.array, 1 / (n + 1))
                avg._bump_version()
            else:
                _write(avg, avg.array + (cur.array - avg.array) / (n + 1))
    return complex_ok(swa_update)


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """ema, current, num_averaged -> decay * ema + (1 - decay) * current (a new tensor)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return complex_ok(ema_update)


def get_swa_avg_fn() -> AvgFn:
    """averaged, current, num_averaged -> averaged + (current - averaged) / (num_averaged + 1) (a new tensor)."""
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (_count(num_averaged) + 1)
    return complex_ok(swa_update)


class AveragedModel(Module):
    """A copy of model (moved to device if given) whose parameters (and buffers, with use_buffers=True) are a
    running average of the model's, updated by update_parameters(model): the first call copies the model's values,
    later ones average them with avg_fn(averaged, current, n_averaged) -> new value, or multi_avg_fn(averaged list,
    current list, n_averaged) in place, or (neither given) the equal-weight SWA average
    averaged + (current - averaged) / (n_averaged + 1), as torch's on the CPU. Without use_buffers the buffers are
    copied from the model. The state dict has torch's keys: 'n_averaged' (an int64 count) and 'module.<name>'; the
    functions are not saved. forward calls the copy."""

    def __init__(self, model: Module, device: Optional[str] = None, avg_fn: Optional[AvgFn] = None,
                 multi_avg_fn: Optional[MultiAvgFn] = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a Module, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _tensor(0, dtype=np.int64, device=device))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average model's current parameters (and buffers, with use_buffers) into this copy; n_averaged += 1."""
        mine: Iterable[Tensor] = (itertools.chain(self.module.parameters(), self.module.buffers())
                                  if self.use_buffers else self.parameters())
        theirs: Iterable[Tensor] = (itertools.chain(model.parameters(), model.buffers())
                                    if self.use_buffers else model.parameters())
        n = int(self.n_averaged.item())
        with no_grad():
            pairs = [(a.detach(), Tensor._make(backend.to_device(m.array, a.device))) for a, m in zip(mine, theirs)]
            if n == 0:
                for a, m in pairs:
                    _write(a, m.array)
            elif self.avg_fn is not None:
                for a, m in pairs:
                    _write(a, self.avg_fn(a, m, self.n_averaged).array)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn([a for a, _ in pairs], [m for _, m in pairs], self.n_averaged)
            else:
                for a, m in pairs:
                    _write(a, a.array + (m.array - a.array) / (n + 1))
            if not self.use_buffers:
                for b_swa, b_model in _zipped(self.module.buffers(), model.buffers()):
                    _write(b_swa, backend.to_device(b_model.array, b_swa.device))
            self.n_averaged.add_(1)


# an averaged copy of a complex model, as torch's: the averages are linear (lerp) in each complex value
for _fn in (AveragedModel.__init__, AveragedModel.forward, AveragedModel.update_parameters):
    complex_ok(_fn)
del _fn


def update_bn(loader: Iterable[Any], model: Module, device: Optional[str] = None) -> None:
    """Recompute every BatchNorm1d's and BatchNorm2d's (_BatchNorm's, as torch) running statistics in one pass over
    loader: they are reset and, in train mode with momentum None, become the cumulative average over the batches
    (each a tensor, or a list or tuple whose first element is the input; moved to device if given); momenta and
    train/eval mode are restored after."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for input in loader:
                if isinstance(input, (list, tuple)):
                    input = input[0]
                if device is not None:
                    input = input.to(device)
                model(input)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to its swa_lr (one for all groups or one per group, kept in the group as
    'swa_lr') over anneal_epochs steps, then keeps it there: at step s, t = clamp(s / max(1, anneal_epochs), 0, 1)
    and alpha = (1 - cos(pi t)) / 2 ('cos') or t ('linear'); lr = swa_lr alpha + lr0 (1 - alpha), lr0 the lr
    the schedule started from, recovered from the group's current lr as torch's does (so another scheduler may
    have moved it)."""

    def __init__(self, optimizer: Optimizer, swa_lr: Any, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SWALR: optimizer must be an Optimizer, got {type(optimizer).__name__}")
        swa_lrs = _per_group("SWALR", "swa_lr", optimizer, swa_lr)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy!r}")
        check_int("SWALR", "anneal_epochs", anneal_epochs, 0)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        self._set_anneal_func(anneal_strategy)
        self.anneal_epochs = int(anneal_epochs)
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> List[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) for group in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(groups, prev_lrs)]

    def state_dict(self) -> Dict[str, Any]:
        """Every attribute but the optimizer and the anneal function (named by '_anneal_strategy'), as torch's."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
