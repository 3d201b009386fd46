"""Learning-rate schedules, like torch.optim.lr_scheduler: call ``scheduler.step()`` once per
epoch *after* ``optimizer.step()``; each step writes the new lr into every param group."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Dict, List, Optional

from .optimizer import Optimizer, check_int, check_number


class LRScheduler:
    """Base class: ``last_epoch`` counts scheduler steps (-1 before the first); ``base_lrs`` are the
    groups' 'initial_lr'. Subclasses give ``get_lr()`` (recursive form, from the current lrs) and
    ``_get_closed_form_lr()`` (lr as a function of last_epoch, used by ``step(epoch)``).

    The constructor takes one step, during which ``_initial`` is True: ExponentialLR's and
    CosineAnnealingLR's recursive forms then keep the lrs the optimizer has, so resuming with
    last_epoch >= 0 does not move the lr one step ahead of itself (torch 2.x's behaviour; StepLR
    applies its rule at that step, as torch's does)."""

    _initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be an Optimizer, got {type(optimizer).__name__}")
        check_int(name, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: param 'initial_lr' is not specified in param_groups[{i}] when "
                                   f"resuming with last_epoch={last_epoch}; construct with last_epoch=-1 or "
                                   "load the optimizer's state_dict first")
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._opt_steps_at_start = optimizer._step_count
        self._initial = True
        try:
            self.step()
        finally:
            self._initial = False

    def get_lr(self) -> List[float]:
        raise NotImplementedError

    def get_last_lr(self) -> List[float]:
        """The lr of each param group as set by the latest ``step()``."""
        return self._last_lr

    def step(self, epoch: Optional[int] = None) -> None:
        """Advance one epoch (or jump to ``epoch``, deprecated in torch) and set each group's lr."""
        self._step_count += 1
        if self._step_count == 2 and self.optimizer._step_count == self._opt_steps_at_start:
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call "
                          "`optimizer.step()` first, then `lr_scheduler.step()`; otherwise the first value "
                          "of the learning rate schedule is skipped.", UserWarning, stacklevel=2)
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated (as in torch); call "
                          "`scheduler.step()` with no argument.", UserWarning, stacklevel=2)
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> Dict[str, Any]:
        """Every attribute except the optimizer (save the optimizer's own state_dict separately)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


_LRScheduler = LRScheduler


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        check_int("StepLR", "step_size", step_size, 1)
        check_number("StepLR", "gamma", gamma, lambda v: v > 0, "> 0")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> List[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_number("ExponentialLR", "gamma", gamma, lambda v: v > 0, "> 0")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        if self._initial:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> List[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2 (SGDR without restarts;
    past T_max the cosine keeps going, so the lr rises again, as in torch)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check_number("CosineAnnealingLR", "T_max", T_max, lambda v: v > 0, "> 0")
        check_number("CosineAnnealingLR", "eta_min", eta_min, lambda v: v >= 0, ">= 0")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups, e, T = self.optimizer.param_groups, self.last_epoch, self.T_max
        if self._initial:
            return [group["lr"] for group in groups]
        if (e - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _get_closed_form_lr(self) -> List[float]:
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch), one function for every param group or a list of one per group.
    The functions are not part of state_dict() (nor is anything else that cannot be saved without pickle)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n:
            raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per param group), got {len(lambdas)}")
        if not all(callable(f) for f in lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the epoch (or a list of them)")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (the number of milestones <= epoch); a milestone given twice counts twice."""

    def __init__(self, optimizer: Optimizer, milestones: Any, gamma: float = 0.1, last_epoch: int = -1) -> None:
        marks = list(milestones)
        if not all(isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 0 for m in marks):
            raise ValueError(f"MultiStepLR: milestones must be non-negative ints, got {marks!r}")
        check_number("MultiStepLR", "gamma", gamma, lambda v: v > 0, "> 0")
        self.milestones: Dict[int, int] = {}
        for m in marks:
            self.milestones[int(m)] = self.milestones.get(int(m), 0) + 1
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        k = self.milestones.get(self.last_epoch, 0)
        return [group["lr"] * self.gamma ** k for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> List[float]:
        passed = sum(c for m, c in self.milestones.items() if m <= self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Multiply every group's lr by ``factor`` once a metric has stopped improving for more than
    ``patience`` epochs: ``scheduler.step(val_loss)`` after each epoch. An improvement beats the best so
    far by ``threshold`` (relative: best * (1 -+ threshold); absolute: best -+ threshold, for mode 'min'
    / 'max'); after a reduction, ``cooldown`` epochs pass before bad epochs count again; no lr goes below
    its ``min_lr``, and a change smaller than ``eps`` is skipped. As torch's."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: Any = 0.0,
                 eps: float = 1e-8) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', got "
                             f"{mode!r} and {threshold_mode!r}")
        check_number(name, "factor", factor, lambda v: 0 <= v < 1, "in [0, 1)")
        check_int(name, "patience", patience, 0)
        check_int(name, "cooldown", cooldown, 0)
        check_number(name, "threshold", threshold, lambda v: v >= 0, ">= 0")
        check_number(name, "eps", eps, lambda v: v >= 0, ">= 0")
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"{name}: expected {n} min_lrs (one per param group), got {len(min_lrs)}")
        for v in min_lrs:
            check_number(name, "min_lr", v, lambda x: x >= 0, ">= 0")
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr  # (for groups added later)
        self.optimizer, self.min_lrs, self.factor, self.patience = optimizer, min_lrs, factor, int(patience)
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.cooldown, self.eps = int(cooldown), eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, value: float) -> bool:
        sign = 1 if self.mode == "min" else -1  # 'max' is 'min' of the negated metric
        a, best = sign * value, sign * self.best
        return a < (best * (1 - sign * self.threshold) if self.threshold_mode == "rel" else best - self.threshold)

    def step(self, metrics: Any, epoch: Optional[int] = None) -> None:  # type: ignore[override]
        """One epoch's metric (a number or a one-element Tensor)."""
        value = float(metrics.item() if hasattr(metrics, "item") else metrics)
        if epoch is None:
            self.last_epoch += 1
        else:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated (as in torch); call "
                          "`scheduler.step(metrics)`.", UserWarning, stacklevel=2)
            self.last_epoch = epoch
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):  # a group was added since: torch's rule
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups but min_lr was "
                                   f"a list of {len(self.min_lrs)}; give one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(groups, self.min_lrs):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in groups]
