"""What a stage says it returns or reads: shapes and dtypes, checked against real values and each other.

Pure; no I/O. ``None`` in a shape means any length on that axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, InputTypeError


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """One returned value: its shape (``None`` = any length on that axis) and dtype (``None`` = any)."""

    shape: tuple[int | None, ...] | None
    dtype: np.dtype | None

    def describe(self) -> str:
        shape = "any shape" if self.shape is None else "(" + ", ".join("*" if n is None else str(n) for n in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        return f"{shape} {'any dtype' if self.dtype is None else self.dtype}"

    def mismatch(self, value: Any) -> str | None:
        """Why ``value`` does not fit, or None."""
        array = np.asarray(value)
        if self.shape is not None:
            if array.ndim != len(self.shape) or any(n is not None and n != m for n, m in zip(self.shape, array.shape)):
                return f"declared {self.describe()}, got shape {array.shape} {array.dtype}"
        if self.dtype is not None and array.dtype != self.dtype:
            return f"declared {self.describe()}, got shape {array.shape} {array.dtype}"
        return None

    def accepts(self, other: "ValueSpec") -> bool:
        """Whether every value ``other`` describes fits this spec."""
        if self.dtype is not None and other.dtype != self.dtype:
            return False
        if self.shape is None:
            return True
        if other.shape is None or len(other.shape) != len(self.shape):
            return False
        return all(n is None or n == m for n, m in zip(self.shape, other.shape))


@dataclass(frozen=True, slots=True)
class Schema:
    """Every value a call returns, in order (a call returning one value has one)."""

    values: tuple[ValueSpec, ...]

    def describe(self) -> str:
        return ", ".join(v.describe() for v in self.values)

    def mismatch(self, returned: Any) -> str | None:
        values = returned if isinstance(returned, tuple) and len(self.values) > 1 else (returned,)
        if len(values) != len(self.values):
            return f"declared {len(self.values)} values ({self.describe()}), got {len(values)}"
        for position, (spec, value) in enumerate(zip(self.values, values)):
            why = spec.mismatch(value)
            if why is not None:
                return why if len(self.values) == 1 else f"value {position}: {why}"
        return None

    def accepts(self, other: "Schema") -> bool:
        return len(self.values) == len(other.values) and all(a.accepts(b) for a, b in zip(self.values, other.values))


def parse_schema(declared: Any, what: str) -> Schema | None:
    """``(shape, dtype)``, a list of them (one per returned value), or None.

    >>> parse_schema(((None, 3), "float64"), "returns").describe()
    '(*, 3) float64'
    """
    if declared is None:
        return None
    if isinstance(declared, Schema):
        return declared
    if _is_pair(declared):
        return Schema((_value_spec(declared, what),))
    if isinstance(declared, list) and declared and all(_is_pair(item) for item in declared):
        return Schema(tuple(_value_spec(item, what) for item in declared))
    raise InputTypeError(
        f"{what} must be (shape, dtype), e.g. ((None, 3), 'float64'), or a list of such pairs, one per "
        f"returned value; got {type(declared).__name__} {declared!r}."
    )


def _is_pair(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and (item[0] is None or isinstance(item[0], tuple))


def _value_spec(pair: tuple[Any, Any], what: str) -> ValueSpec:
    shape, dtype = pair
    if shape is not None and not all(n is None or (isinstance(n, int) and not isinstance(n, bool) and n >= 0) for n in shape):
        raise InputError(f"{what}: every axis of a shape must be a length >= 0 or None (any length), got {shape!r}.")
    try:
        parsed = None if dtype is None else np.dtype(dtype)
    except TypeError as exc:
        raise InputTypeError(f"{what}: {dtype!r} is not a NumPy dtype ({exc}). Use e.g. 'float64' or 'int32'.") from None
    return ValueSpec(None if shape is None else tuple(shape), parsed)


def first_mismatch(schema: Schema, values: Sequence[Any]) -> tuple[int, str] | None:
    """The first of ``values`` that does not fit, with why."""
    for index, value in enumerate(values):
        why = schema.mismatch(value)
        if why is not None:
            return index, why
    return None
