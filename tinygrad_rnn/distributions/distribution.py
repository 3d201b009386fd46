"""torch.distributions' Distribution base class and its helpers (broadcast_all, probs/logits conversions, host
draws from the package generator)."""
import numbers
import warnings
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor, finfo, get_default_dtype
from . import constraints

__all__ = ["Distribution"]


class lazy_property:
    """A property computed on first access and then kept in the instance (probs from logits and the reverse): the
    instance's own attribute of that name, set in __init__, wins."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = self.fn(instance)
        instance.__dict__[self.fn.__name__] = value
        return value


def _shape(shape: Any, what: str) -> Tuple[int, ...]:
    """shape (an int or a sequence of ints) as a tuple."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of ints, got {type(shape).__name__}") from None
    if any(s < 0 for s in out):
        raise ValueError(f"{what} must have non-negative sizes, got {out}")
    return out


def broadcast_all(*values: Any) -> Tuple[Tensor, ...]:
    """The values (tensors and numbers) as tensors broadcast to one shape; numbers take the first tensor's dtype and
    device, or the default dtype (torch.distributions.utils.broadcast_all)."""
    from .. import creation, ops
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or Tensor, got "
                         + ", ".join(type(v).__name__ for v in values))
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None and like.dtype.kind == "f" else get_default_dtype()
    device = like.device if like is not None else None
    tensors = [v if isinstance(v, Tensor) else creation.tensor(float(v), dtype=dtype, device=device) for v in values]
    return tuple(ops.broadcast_tensors(*tensors))


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """value summed over its rightmost dim dims."""
    return value.flatten(value.dim() - dim).sum(-1) if dim else value


def clamp_probs(probs: Tensor) -> Tensor:
    """probs clamped into [eps, 1 - eps] of their dtype, so their logs are finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-probabilities of categorical probs, or log-odds of Bernoulli probs (is_binary)."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """The inverse of probs_to_logits: sigmoid for Bernoulli, softmax over the last dim for categorical."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def host_draws(like: Tensor, sample: Callable[[Any], Any]) -> Tensor:
    """sample(generator), an array drawn on the host from the package generator (tg.manual_seed repeats it), as a
    constant tensor of like's floating dtype on like's device (CuPy's arrays are filled by one copy)."""
    arr = np.asarray(sample(backend.rng("cpu"))).astype(like.dtype)
    return Tensor(backend.to_device(arr, like.device))


def standard_normal(shape: Tuple[int, ...], like: Tensor) -> Tensor:
    """N(0, 1) draws of shape, in like's dtype and on its device."""
    return host_draws(like, lambda gen: gen.standard_normal(shape))


class Distribution:
    """The base of the distributions (torch.distributions.Distribution): a batch of independent distributions of
    batch_shape, each over events of event_shape. With validate_args (the default, as torch's: set_default_
    validate_args(False) turns it off) parameters are checked against arg_constraints and values against support,
    with torch's ValueErrors."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Whether distributions made after this validate their arguments unless told (validate_args=)."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args: value must be True or False")
        Distribution._validate_args = value

    def __init__(self, batch_shape: Sequence[int] = (), event_shape: Sequence[int] = (),
                 validate_args: Optional[bool] = None) -> None:
        self._batch_shape = _shape(batch_shape, "batch_shape")
        self._event_shape = _shape(event_shape, "event_shape")
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = "
                              f"{{}}` or initialize the distribution with `validate_args=False` to turn off "
                              f"validation.", stacklevel=2)
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # (a parameter not given, computed from the one that was)
                value = getattr(self, param)
                if not bool(constraint.check(value).all()):
                    raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                     f"{constraint!r}, but found invalid values:\n{value}")

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> "Distribution":
        """A new distribution with its parameters expanded to batch_shape (no copies, no new checks)."""
        raise NotImplementedError

    def _expanded(self, new: "Distribution", batch_shape: Tuple[int, ...]) -> Any:
        """new, whose parameters expand has set, made a distribution of batch_shape with self's event_shape and
        validation setting (its parameters not checked again)."""
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def batch_shape(self) -> Tuple[int, ...]:
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Tuple[int, ...]:
        """The shape of one sample."""
        return self._event_shape

    @property
    def arg_constraints(self) -> Dict[str, constraints.Constraint]:
        """Each parameter's constraint."""
        raise NotImplementedError

    @property
    def support(self) -> Any:
        """The constraint the values lie in."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Draws of shape sample_shape + batch_shape + event_shape, cut off from the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Reparameterised draws: gradients flow from them to the parameters (pathwise)."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _extended_shape(self, sample_shape: Sequence[int] = ()) -> Tuple[int, ...]:
        return _shape(sample_shape, "sample_shape") + self._batch_shape + self._event_shape

    def _validate_sample(self, value: Any) -> None:
        """torch's checks of a value for log_prob/cdf: a tensor, event_shape rightmost, broadcastable with
        batch_shape + event_shape, within the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        start = value.dim() - len(self._event_shape)
        if tuple(value.shape[start:]) != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {tuple(value.shape)} vs "
                             f"{self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(value.shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {tuple(value.shape)} "
                                 f"vs {expected}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample validation. Please "
                          f"initialize the distribution with `validate_args=False` to turn off validation.",
                          stacklevel=2)
            return
        if not bool(support.check(value).all()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({support!r}) of the distribution {self!r}, but found invalid "
                             f"values:\n{value}")

    def _get_checked_instance(self, cls: type, _instance: Any = None) -> Any:
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      f"__init__() method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
                         for p in names)
        return f"{self.__class__.__name__}({args})"
