"""tg.return_types, torch.return_types: the named tuples that ops with several results return (``x.max(0)`` is a
``return_types.max`` of values and indices). Each is a namedtuple subclass named as torch's type, defined here and
nowhere else (``structseq`` is the one factory), so it unpacks, indexes and has ``_fields`` as a tuple does, pickles
by this module's path, and prints as torch's structseq::

    torch.return_types.max(
    values=tensor(3.),
    indices=tensor(1))
"""
from __future__ import annotations

from collections import namedtuple
from typing import Dict, Sequence

by_name: Dict[str, type] = {}  # each type by its name (ops look theirs up here: by_name[op])
__all__ = ["structseq"]  # (and each type's name, as structseq makes it)


def structseq(name: str, fields: Sequence[str]) -> type:
    """The return type ``name`` with ``fields``: a namedtuple subclass whose repr is torch's
    ``torch.return_types.<name>(\\n<field>=<value>,\\n...)``, made once and kept as an attribute of this module."""
    if name in by_name:
        return by_name[name]
    prefix = f"torch.return_types.{name}(\n"
    base = namedtuple(name, fields)

    def __new__(cls, *args, **kwargs):  # (torch's structseq(sequence) as well as namedtuple's fields)
        if len(args) == 1 and not kwargs and len(fields) > 1:
            args = tuple(args[0])
            if len(args) != len(fields):
                raise TypeError(f"torch.return_types.{name}() takes a {len(fields)}-sequence ({len(args)}-sequence "
                                "given)")
        return base.__new__(cls, *args, **kwargs)

    def __repr__(self) -> str:
        return prefix + ",\n".join([f"{f}={v!r}" for f, v in zip(self._fields, self)]) + ")"
    n = len(fields)
    cls = type(name, (base,), {"__slots__": (), "__new__": __new__, "__repr__": __repr__, "__module__": __name__,
                               "__qualname__": name, "__doc__": f"torch.return_types.{name}", "n_fields": n,
                               "n_sequence_fields": n, "n_unnamed_fields": 0})
    by_name[name] = globals()[name] = cls
    __all__.append(name)
    return cls


for _op in ("max", "min", "sort", "topk", "cummax", "cummin", "median", "nanmedian", "kthvalue", "mode"):
    structseq(_op, ("values", "indices"))
for _name, _fields in (("frexp", ("mantissa", "exponent")), ("histogram", ("hist", "bin_edges")),
                       ("histogramdd", ("hist", "bin_edges")), ("aminmax", ("min", "max")),
                       ("geqrf", ("a", "tau")),
                       ("linalg_slogdet", ("sign", "logabsdet")), ("slogdet", ("sign", "logabsdet")),
                       ("linalg_eigh", ("eigenvalues", "eigenvectors")),
                       ("linalg_eig", ("eigenvalues", "eigenvectors")),
                       ("linalg_svd", ("U", "S", "Vh")), ("svd", ("U", "S", "V")),
                       ("linalg_qr", ("Q", "R")), ("qr", ("Q", "R")),
                       ("triangular_solve", ("solution", "cloned_coefficient")),
                       ("linalg_lu_factor", ("LU", "pivots")), ("linalg_lu_factor_ex", ("LU", "pivots", "info")),
                       ("linalg_lu", ("P", "L", "U")), ("lu_unpack", ("P", "L", "U")),
                       ("linalg_lstsq", ("solution", "residuals", "rank", "singular_values")),
                       ("linalg_inv_ex", ("inverse", "info")), ("linalg_cholesky_ex", ("L", "info")),
                       ("linalg_solve_ex", ("result", "info")),
                       ("linalg_ldl_factor", ("LD", "pivots")), ("linalg_ldl_factor_ex", ("LD", "pivots", "info"))):
    structseq(_name, _fields)
del _op, _name, _fields
