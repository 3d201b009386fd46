"""tg.torch_version (torch.torch_version's path): ``TorchVersion``, the str that ``tg.__version__`` is, comparing
as a PEP 440 version with strings, tuples and packaging's ``Version`` as torch's does.

tg.__version__ is this package's own version (0.1.0), not a torch version: ported code that branches on
``torch.__version__ >= "1.10"`` (or on ``(1, 10)``, or ``Version("1.10")``) takes its older-torch branch here."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Optional, Tuple

__all__ = ["TorchVersion"]

# PEP 440 (packaging's VERSION_PATTERN, case-insensitive): epoch, release, pre, post, dev and local parts
_PATTERN = re.compile(
    r"^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?"
    r"(?:(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?"
    r"(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$", re.IGNORECASE)
_PRE = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


class InvalidVersion(ValueError):
    """Not a PEP 440 version (packaging's InvalidVersion): TorchVersion then compares as a plain str."""


def _key(v: str) -> Tuple[Any, ...]:
    """The order of version string v, as packaging's Version orders it (trailing zeros of the release ignored;
    dev < pre < final < post; a local part sorts after none); InvalidVersion when v is not a PEP 440 version."""
    m = _PATTERN.match(v)
    if m is None:
        raise InvalidVersion(f"Invalid version: {v!r}")
    release = tuple(int(p) for p in m["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    post_n: Optional[str] = m["post_n1"] or m["post_n2"]
    has_post = m["post_n1"] is not None or m["post_l"] is not None
    if m["pre_l"] is not None:
        pre: Tuple[int, ...] = (1, _PRE[m["pre_l"].lower()], int(m["pre_n"] or 0))
    else:
        pre = (0,) if m["dev_l"] is not None and not has_post else (2,)
    post = (1, int(post_n or 0)) if has_post else (0,)
    dev = (0, int(m["dev_n"] or 0)) if m["dev_l"] is not None else (1,)
    local = (0,) if m["local"] is None else \
        (1, tuple((1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in re.split(r"[-_.]", m["local"])))
    return int(m["epoch"] or 0), release, pre, post, dev, local


def _other_key(other: Any) -> Tuple[Any, ...]:
    """other's order as torch's _convert_to_version reads it: a packaging Version (by its str), a str, or an
    iterable of parts joined by dots ((1, 10) is '1.10'); anything else is InvalidVersion."""
    if isinstance(other, str):
        return _key(other)
    if type(other).__name__ == "Version" and hasattr(other, "release"):  # (packaging's, without importing it)
        return _key(str(other))
    if isinstance(other, Iterable):
        return _key(".".join(str(item) for item in other))
    raise InvalidVersion(other)


class TorchVersion(str):
    """torch.torch_version.TorchVersion: a str that compares (<, <=, >, >=, ==) with a str, a tuple such as (1, 10)
    or a packaging Version as versions do ('0.10.0' > '0.9'), falling back to str's comparison where either side is
    no version ('parrot'). != is str's, as torch's (TorchVersion('1.0') != '1.0.0' is True there too)."""

    __slots__ = ()

    def _cmp(self, other: Any, method: str) -> Any:
        try:
            mine, theirs = _key(self), _other_key(other)
        except InvalidVersion:
            return getattr(str, method)(self, other)
        return getattr(mine, method)(theirs)

    def __gt__(self, other: Any) -> Any:
        return self._cmp(other, "__gt__")

    def __lt__(self, other: Any) -> Any:
        return self._cmp(other, "__lt__")

    def __ge__(self, other: Any) -> Any:
        return self._cmp(other, "__ge__")

    def __le__(self, other: Any) -> Any:
        return self._cmp(other, "__le__")

    def __eq__(self, other: Any) -> Any:
        return self._cmp(other, "__eq__")

    __hash__ = str.__hash__  # (a str's, as torch's: its __eq__ is set after the class is made, keeping the hash)
