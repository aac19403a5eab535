"""Sizes and short texts of argument values, for warnings, estimates and failure records.

Pure; no I/O.
"""

from __future__ import annotations

import reprlib
import sys
from typing import Any

import numpy as np

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlist = 4
_repr.maxtuple = 4


#: Element types whose size is ``sys.getsizeof``'s.
_SCALARS = {int, float, bool, complex, type(None)}


def measure_bytes(value: Any, _budget: list[int] | None = None) -> int:
    """Approximate in-memory size of ``value``, counting arrays by their data."""
    budget = [100_000] if _budget is None else _budget
    budget[0] -= 1
    if budget[0] < 0:
        return 0
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(
            measure_bytes(k, budget) + measure_bytes(v, budget) for k, v in value.items()
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        if type(value) in (list, tuple) and set(map(type, value)) <= _SCALARS:  # e.g. a million ints, at C speed
            counted = max(0, min(len(value), budget[0]))
            budget[0] -= len(value)
            return sys.getsizeof(value) + sum(map(sys.getsizeof, value[:counted]))
        return sys.getsizeof(value) + sum(measure_bytes(item, budget) for item in value)
    try:
        return sys.getsizeof(value)
    except TypeError:
        return 0


def summarize(value: Any) -> str:
    """A short repr: arrays by shape and dtype, long values cut."""
    if type(value) in (int, float, bool) or (type(value) is str and len(value) <= 40):
        return repr(value)  # the common case, without reprlib (the call table summarises every call)
    if isinstance(value, np.ndarray) and value.size > 4:
        return f"array(shape={value.shape}, dtype={value.dtype})"
    try:
        return _repr.repr(value)
    except Exception:  # a user object whose repr fails must not hide the real error
        return f"<{type(value).__name__}>"
