"""Learning-rate schedules, like torch.optim.lr_scheduler: call ``scheduler.step()`` once per
epoch *after* ``optimizer.step()``; each step writes the new lr into every param group."""
from __future__ import annotations

import bisect
import math
import numbers
import types
import warnings
from typing import Any, Dict, List, Optional, Sequence

from ..tensor import Tensor
from .optimizer import Optimizer, check_int, check_number


def _lrs(optimizer: Optimizer) -> List[Any]:
    """Each group's lr, a Tensor lr cloned (so the list does not change when the lr is filled), as torch's."""
    return [g["lr"].clone() if isinstance(g["lr"], Tensor) else g["lr"] for g in optimizer.param_groups]


def _set_lr(group: Dict[str, Any], lr: Any) -> None:
    """group['lr'] = lr, or a Tensor lr filled with lr's value in place (the optimizer may hold it), as torch's."""
    if isinstance(group["lr"], Tensor):
        group["lr"].fill_(float(lr))
    else:
        group["lr"] = lr


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
                lr = group["lr"]
                group.setdefault("initial_lr", lr.clone() if isinstance(lr, Tensor) else lr)
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: param 'initial_lr' is not specified in param_groups[{i}] when "
                                   f"resuming with last_epoch={last_epoch}; construct with last_epoch=-1 or "
                                   "load the optimizer's state_dict first")
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step a scheduler takes when made (SequentialLR takes it again for the scheduler it starts)."""
        self._step_count = 0
        self._opt_steps_at_start = self.optimizer._step_count
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
        if epoch is not None:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated (as in torch); call "
                          "`scheduler.step()` with no argument.", UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: Optional[int] = None) -> None:
        """Set each group's lr for the next epoch (the recursive form), or for ``epoch`` (the closed form)."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        self._set_lrs(values)

    def _set_lrs(self, values: Sequence[float]) -> None:
        """Write one lr into each param group; a count that differs (a group added after the scheduler was made,
        which has no base lr or lr_lambda) raises, as torch's strict zip, rather than leave that group's lr as is."""
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__}: computed {len(values)} learning rates for the optimizer's "
                             f"{len(groups)} param groups; a group added with add_param_group after the scheduler was "
                             "made is not scheduled: make the scheduler after adding every group")
        for group, lr in zip(groups, values):
            _set_lr(group, lr)
        self._last_lr = _lrs(self.optimizer)

    def state_dict(self) -> Dict[str, Any]:
        """Every attribute except the optimizer (save the optimizer's own state_dict separately)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


_LRScheduler = LRScheduler


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size). step_size may be a float, kept as given (as torch's: the
    text classification tutorial passes 1.0; 2.5 decays at epochs 5, 10, ...)."""

    def __init__(self, optimizer: Optimizer, step_size: float, gamma: float = 0.1, last_epoch: int = -1) -> None:
        check_number("StepLR", "step_size", step_size, lambda v: v > 0, "> 0")
        check_number("StepLR", "gamma", gamma, lambda v: v > 0, "> 0")
        self.step_size, self.gamma = step_size, gamma
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
        self.lr_lambdas = _lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        _load_keeping_lambdas(self, state_dict)


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


class MultiplicativeLR(LRScheduler):
    """lr = previous lr * lr_lambda(epoch) from epoch 1 on: one function for every param group or a list of
    one per group (not saved by state_dict())."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups = self.optimizer.param_groups
        if self._initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * f(self.last_epoch) for f, group in zip(self.lr_lambdas, groups)]

    def state_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        _load_keeping_lambdas(self, state_dict)


def _per_group(name: str, what: str, optimizer: Optimizer, value: Any) -> List[Any]:
    """One value per param group, from one for all or a list of them."""
    n = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{name}: expected {n} {what}s (one per param group), got {len(values)}")
    return values


def _load_keeping_lambdas(sched: Any, state_dict: Dict[str, Any]) -> None:
    """Load a LambdaLR's or MultiplicativeLR's state but keep its functions: torch's state lists them (None for a
    function, a callable object's __dict__), which would replace them with None; a __dict__ goes back into its
    object, as torch's load_state_dict does."""
    state = dict(state_dict)
    saved = state.pop("lr_lambdas", None) or []
    LRScheduler.load_state_dict(sched, state)
    for fn, attrs in zip(sched.lr_lambdas, saved):
        if attrs is not None:
            fn.__dict__.update(attrs)


def _lambdas(name: str, optimizer: Optimizer, fns: Any) -> List[Any]:
    fns = _per_group(name, "lr_lambda", optimizer, fns)
    if not all(callable(f) for f in fns):
        raise TypeError(f"{name}: lr_lambda must be a function of the epoch (or a list of them)")
    return fns


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for the first total_iters epochs, then base_lr (a constant warm-up)."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        check_number("ConstantLR", "factor", factor, lambda v: 0 < v <= 1, "in (0, 1]")
        check_int("ConstantLR", "total_iters", total_iters, 0)
        self.factor, self.total_iters = factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] / self.factor for group in groups]

    def _get_closed_form_lr(self) -> List[float]:
        f = 1.0 if self.last_epoch >= self.total_iters else self.factor
        return [base_lr * f for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = base_lr * f, f going linearly from start_factor at epoch 0 to end_factor at total_iters (a
    linear warm-up, or decay), then staying there."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        check_number("LinearLR", "start_factor", start_factor, lambda v: 0 < v <= 1, "in (0, 1]")
        check_number("LinearLR", "end_factor", end_factor, lambda v: 0 <= v <= 1, "in [0, 1]")
        check_int("LinearLR", "total_iters", total_iters, 1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups, e, a, b = self.optimizer.param_groups, self.last_epoch, self.start_factor, self.end_factor
        if e == 0:
            return [group["lr"] * a for group in groups]
        if self._initial or e > self.total_iters:
            return [group["lr"] for group in groups]
        ratio = 1.0 + (b - a) / (self.total_iters * a + (e - 1) * (b - a))  # f(e) / f(e - 1)
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> List[float]:
        f = self.start_factor + (self.end_factor - self.start_factor) * min(self.total_iters, self.last_epoch) \
            / self.total_iters
        return [base_lr * f for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = base_lr * (1 - min(epoch, total_iters) / total_iters) ** power: to 0 at total_iters."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        check_int("PolynomialLR", "total_iters", total_iters, 1)
        check_number("PolynomialLR", "power", power, lambda v: v > 0, "> 0")
        self.total_iters, self.power = int(total_iters), power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        groups, e, T = self.optimizer.param_groups, self.last_epoch, self.total_iters
        if self._initial or e > T:
            return [group["lr"] for group in groups]
        ratio = ((1.0 - e / T) / (1.0 - (e - 1) / T)) ** self.power
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> List[float]:
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2, where T_cur counts epochs
    since the last restart and the i-th period lasts T_i = T_0 * T_mult ** i epochs. ``step(epoch)`` may
    take a fractional epoch (step(e + batch / batches) within an epoch), as torch's."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        check_int("CosineAnnealingWarmRestarts", "T_0", T_0, 1)
        check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, 1)
        check_number("CosineAnnealingWarmRestarts", "eta_min", eta_min, lambda v: v >= 0, ">= 0")
        self.T_0, self.T_i, self.T_mult, self.eta_min = int(T_0), int(T_0), int(T_mult), eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * c for base_lr in self.base_lrs]

    def step(self, epoch: Optional[float] = None) -> None:
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch}")
        elif epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:  # the restart before epoch: T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped once per batch: the lr climbs from max_lr / div_factor to max_lr over the
    first pct_start of total_steps, then anneals ('cos' or 'linear') to max_lr / (div_factor *
    final_div_factor); with cycle_momentum, SGD's momentum (Adam's beta1) moves the opposite way, between
    max_momentum and base_momentum. three_phase: up, back down to the start, then to the minimum. Stepping
    past total_steps raises, as torch's."""

    def __init__(self, optimizer: Optimizer, max_lr: Any, total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: Any = 0.85,
                 max_momentum: Any = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        name = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be an Optimizer, got {type(optimizer).__name__}")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
            check_int(name, "epochs", epochs, 1)
            check_int(name, "steps_per_epoch", steps_per_epoch, 1)
            total_steps = epochs * steps_per_epoch
        check_int(name, "total_steps", total_steps, 1)
        check_number(name, "pct_start", pct_start, lambda v: 0 <= v < 1, "in [0, 1): the lr must also come down")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy, self.cycle_momentum = int(total_steps), anneal_strategy, cycle_momentum
        up = float(pct_start * total_steps) - 1
        if three_phase:  # (end step, lr from, lr to, momentum from, momentum to) per phase
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, top in zip(groups, _per_group(name, "max_lr", optimizer, max_lr)):
                group["initial_lr"], group["max_lr"] = top / div_factor, top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: cycle_momentum needs an optimizer with momentum or betas "
                                 f"({type(optimizer).__name__} has neither); pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for group, hi, lo in zip(groups, _per_group(name, "max_momentum", optimizer, max_momentum),
                                         _per_group(name, "base_momentum", optimizer, base_momentum)):
                    _set_momentum(group, self.use_beta1, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> List[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self.use_beta1, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class CyclicLR(LRScheduler):
    """The cyclical learning rate policy, stepped once per batch: each group's lr climbs from base_lr to max_lr
    over step_size_up steps and comes back over step_size_down (step_size_up unless given); the cycle's height
    scales by mode's rule ('triangular': constant, 'triangular2': halved each cycle, 'exp_range': gamma **
    iterations) or by scale_fn of the cycle (scale_mode 'cycle') or of the step ('iterations'). With
    cycle_momentum, SGD's momentum (Adam's beta1) moves the opposite way, between max_momentum and base_momentum.
    As torch's."""

    def __init__(self, optimizer: Optimizer, base_lr: Any, max_lr: Any, step_size_up: int = 2000,
                 step_size_down: Optional[int] = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Any = None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: Any = 0.8, max_momentum: Any = 0.9, last_epoch: int = -1) -> None:
        name = "CyclicLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be an Optimizer, got {type(optimizer).__name__}")
        check_int(name, "step_size_up", step_size_up, 1)
        step_size_down = step_size_up if step_size_down is None else step_size_down
        check_int(name, "step_size_down", step_size_down, 0)
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{name}: mode must be 'triangular', 'triangular2' or 'exp_range' (or give scale_fn), "
                             f"got {mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{name}: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        base_lrs = _per_group(name, "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                _set_lr(group, lr)
        self.max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        self.total_size = float(step_size_up + step_size_down)
        self.step_ratio = step_size_up / self.total_size
        self.mode, self.gamma, self._scale_fn = mode, gamma, scale_fn
        if scale_fn is None:  # (mode's rule: exp_range scales by the step, the others by the cycle)
            scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.scale_mode = scale_mode
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: cycle_momentum needs an optimizer with momentum or betas "
                                 f"({type(optimizer).__name__} has neither); pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for group, hi, lo in zip(optimizer.param_groups, self.max_momentums, self.base_momentums):
                    _set_momentum(group, self.use_beta1, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def state_dict(self) -> Dict[str, Any]:
        """As torch's: the user's scale_fn is not saved (a function: None; a callable object: its __dict__,
        which load_state_dict puts back into this scheduler's own), so the state saves with tg.save."""
        state = super().state_dict()
        fn = state.pop("_scale_fn")
        state["_scale_fn"] = None if fn is None or isinstance(fn, types.FunctionType) else dict(fn.__dict__)
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """A saved callable object's __dict__ goes back into this scheduler's scale_fn, from this state or from
        torch's (which names it '_scale_fn_custom')."""
        state = dict(state_dict)
        fn = state.pop("_scale_fn", None)
        torch_fn = state.pop("_scale_fn_custom", None)
        fn = torch_fn if fn is None else fn
        super().load_state_dict(state)
        if fn is not None and self._scale_fn is not None:
            self._scale_fn.__dict__.update(fn)

    def scale_fn(self, x: float) -> float:
        """The height's factor at cycle (or step) x: the user's scale_fn, or mode's."""
        if self._scale_fn is not None:
            return self._scale_fn(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x if self.mode == "exp_range" else 1.0

    def get_lr(self) -> List[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [lo + (hi - lo) * rise * scale for lo, hi in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, self.use_beta1, hi - (hi - lo) * rise * scale)
        return lrs


def _set_momentum(group: Dict[str, Any], use_beta1: bool, value: float) -> None:
    """SGD's momentum, or Adam's beta1 (the momentum the cyclic schedules move)."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class _Schedulers(LRScheduler):
    """Base of the schedulers made of other schedulers (ChainedScheduler, SequentialLR): their check, and a
    state_dict holding each one's."""

    _schedulers: List[LRScheduler]

    @staticmethod
    def _check(name: str, schedulers: List[LRScheduler], optimizer: Optimizer) -> None:
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler")
        for i, sched in enumerate(schedulers):
            if isinstance(sched, ReduceLROnPlateau) or not isinstance(sched, LRScheduler):
                raise TypeError(f"{name}: scheduler {i} is a {type(sched).__name__}; expected an LRScheduler "
                                "stepped without a metric (not ReduceLROnPlateau)")
            if sched.optimizer is not optimizer:
                raise ValueError(f"{name}: scheduler {i} ({type(sched).__name__}) belongs to another optimizer")

    def state_dict(self) -> Dict[str, Any]:
        """Its own state and each scheduler's (their state_dicts, in order)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        for sched, s in zip(self._schedulers, state.pop("_schedulers")):
            sched.load_state_dict(s)
        self.__dict__.update(state)


class ChainedScheduler(_Schedulers):
    """Several schedulers stepped together, each step() calling every one's step() in order, so their rules
    compose (e.g. a ConstantLR warm-up factor on top of an ExponentialLR decay). As torch's."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optional[Optimizer] = None) -> None:
        schedulers = list(schedulers)
        optimizer = schedulers[0].optimizer if optimizer is None and schedulers else optimizer
        self._check("ChainedScheduler", schedulers, optimizer)
        self._schedulers, self.optimizer = schedulers, optimizer
        self._last_lr = _lrs(optimizer)

    def step(self) -> None:  # type: ignore[override]
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _lrs(self.optimizer)


class SequentialLR(_Schedulers):
    """Run schedulers one after another: schedulers[i] from epoch milestones[i - 1] on, started afresh
    at its milestone (e.g. LinearLR warm-up for 5 epochs, then CosineAnnealingLR: milestones=[5])."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        name = "SequentialLR"
        schedulers, milestones = list(schedulers), list(milestones)
        self._check(name, schedulers, optimizer)
        for i, sched in enumerate(schedulers[1:], 1):
            if isinstance(sched, _Schedulers):  # (it could not restart at its milestone; torch fails there)
                raise TypeError(f"{name}: scheduler {i} is a {type(sched).__name__}; only the first may be one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: expected {len(schedulers) - 1} milestones (one fewer than the schedulers), "
                             f"got {len(milestones)}")
        self._schedulers, self._milestones = schedulers, milestones
        self.optimizer, self.last_epoch = optimizer, last_epoch + 1
        for group in optimizer.param_groups:  # undo the steps the schedulers took when made
            _set_lr(group, group["initial_lr"])
        _undo_initial_steps(schedulers)
        first = schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


def _undo_initial_steps(schedulers: Sequence[LRScheduler]) -> None:
    """Take back the epoch each scheduler counted when it was made (a nested SequentialLR's or ChainedScheduler's
    own schedulers', as torch's recursive_undo)."""
    for sched in schedulers:
        if isinstance(sched, _Schedulers):
            _undo_initial_steps(sched._schedulers)
        else:
            sched.last_epoch -= 1


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
        min_lrs = _per_group(name, "min_lr", optimizer, min_lr)
        for v in min_lrs:
            check_number(name, "min_lr", v, lambda x: x >= 0, ">= 0")
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr  # (for groups added later)
        self.optimizer, self.min_lrs, self.factor, self.patience = optimizer, min_lrs, factor, int(patience)
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.cooldown, self.eps = int(cooldown), eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = _lrs(optimizer)

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
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            if len(self.min_lrs) != len(groups):  # a group was added since: torch's rule, checked when reducing
                if self.default_min_lr is None:
                    raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups but min_lr "
                                       f"was a list of {len(self.min_lrs)}; give one per group (set min_lrs)")
                self.min_lrs = [self.default_min_lr] * len(groups)
            for group, floor in zip(groups, self.min_lrs):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    _set_lr(group, new)
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _lrs(self.optimizer)
