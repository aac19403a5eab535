"""The declared shape of stacked results (``result_shape``/``result_dtype``) and fitting values to it.

:func:`parse_stack` checks the keywords once and returns a frozen
:class:`StackSpec`; :meth:`StackSpec.fit` turns one call's first return value
into its slot of the stacked array, or says exactly why it does not fit. Pure
logic: no files, no dask.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError
from .checks import prefix_acme_line


class ShapeMismatch(ValueError):
    """One call's value does not fit the declared ``result_shape``."""


@dataclass(frozen=True, slots=True)
class StackSpec:
    """``result_shape`` with its stacking axis (the ``None``) and optional unlimited axis."""

    declared: tuple[Any, ...]
    axis: int
    inf_axis: int | None
    dtype: np.dtype

    @property
    def slot_shape(self) -> tuple[int, ...]:
        """The shape of one call's slot; an unlimited axis shows as -1."""
        return _slot_shape(self.declared, self.axis)

    @property
    def slot_inf_axis(self) -> int | None:
        """The unlimited axis counted within a slot (the stacking axis removed)."""
        if self.inf_axis is None:
            return None
        return self.inf_axis - (1 if self.inf_axis > self.axis else 0)

    def full_shape(self, n_calls: int, inf_extent: int = 0) -> tuple[int, ...]:
        """The stacked array's shape for ``n_calls`` calls and the longest unlimited extent."""
        shape = []
        for i, d in enumerate(self.declared):
            if i == self.axis:
                shape.append(n_calls)
            elif i == self.inf_axis:
                shape.append(inf_extent)
            else:
                shape.append(int(d))
        return tuple(shape)

    def fill_value(self) -> Any:
        """What fills slots of failed calls (and the tail of short unlimited rows)."""
        return np.nan if self.dtype.kind in "fc" else 0

    def fit(self, value: Any, index: int) -> np.ndarray:
        """Call ``index``'s value as an array of the slot shape and dtype, or ShapeMismatch."""
        array = np.asarray(value)
        want = self.slot_shape
        if array.dtype == self.dtype and array.shape == want:  # as declared: nothing to cast or check
            return array.copy() if array is value else array  # a copy, as a cast makes: the caller may reuse its array
        shaped = _reshape_like(array, want)
        if shaped is None:
            shown = tuple("any" if d == -1 else d for d in want)
            raise ShapeMismatch(
                f"call {index} returned a value of shape {array.shape}, but result_shape="
                f"{_show(self.declared)} declares {shown} for each call (the None axis removed)."
            )
        try:
            cast = shaped.astype(self.dtype, casting="same_kind" if self.dtype.kind in "biuf" else "unsafe")
        except (TypeError, ValueError) as exc:
            raise ShapeMismatch(
                f"call {index} returned values of dtype {array.dtype}, which cannot be stored as "
                f"result_dtype {self.dtype}: {exc}"
            ) from None
        self._check_range(shaped, cast, index)
        return cast

    def _check_range(self, source: np.ndarray, cast: np.ndarray, index: int) -> None:
        """Refuse a cast that wraps an integer or overflows a float to inf (rounding is fine)."""
        if source.size == 0 or source.dtype.kind not in "biuf":
            return
        if self.dtype.kind in "iu" and source.dtype.kind in "iu":
            info = np.iinfo(self.dtype)
            low, high = source.min(), source.max()
            if low < info.min or high > info.max:
                bad = high if high > info.max else low
                raise ShapeMismatch(
                    f"call {index} returned {bad}, which result_dtype {self.dtype} cannot hold (it holds "
                    f"{info.min} to {info.max}; the value would be stored as {np.array(bad).astype(self.dtype)}). "
                    f"Pass a wider result_dtype, e.g. \"int64\" or \"float64\"."
                )
        elif self.dtype.kind == "f" and source.dtype.kind in "biuf":
            overflow = np.isinf(cast) & np.isfinite(source)
            if overflow.any():
                bad = source[overflow].flat[0]
                raise ShapeMismatch(
                    f"call {index} returned {bad}, which overflows result_dtype {self.dtype} (largest "
                    f"{np.finfo(self.dtype).max:g}; it would be stored as inf). Pass a wider result_dtype, "
                    f"e.g. \"float64\"."
                )


@functools.lru_cache(maxsize=64)
def _slot_shape(declared: tuple[Any, ...], axis: int) -> tuple[int, ...]:
    return tuple(-1 if d is None or math.isinf(d) else int(d) for i, d in enumerate(declared) if i != axis)


def _reshape_like(array: np.ndarray, want: tuple[int, ...]) -> np.ndarray | None:
    """``array`` in the wanted shape (-1: any length) if it is that shape up to axes of length 1."""
    if len(array.shape) == len(want) and all(w in (-1, a) for a, w in zip(array.shape, want)):
        return array
    squeezed = tuple(a for a in array.shape if a != 1)
    fixed = [w for w in want if w != 1]
    if len(squeezed) != len(fixed) or not all(w in (-1, a) for a, w in zip(squeezed, fixed)):
        return None
    if -1 in want:
        free = want.index(-1)
        known = math.prod(w for w in want if w != -1)
        target = list(want)
        target[free] = array.size // known if known else 0
        return array.reshape(target)
    return array.reshape(want)


def _show(declared: tuple[Any, ...]) -> str:
    parts = ["None" if d is None else "np.inf" if math.isinf(d) else str(int(d)) for d in declared]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


_FIX = "Pass e.g. result_shape=(None, 3), or (None, np.inf) for values of varying length."


def _dtype_name(value: Any) -> str:
    try:
        return np.dtype(value).name
    except TypeError:
        return "float64"


def parse_stack(result_shape: Any, result_dtype: Any, in_memory: bool) -> StackSpec | None:
    """Check ``result_shape``/``result_dtype``; None when no stacking was asked for."""
    if result_shape is None:
        return None
    if not isinstance(result_shape, (tuple, list)):
        raise InputTypeError(prefix_acme_line(
            f"`result_shape` has to be either `None` or tuple, not {type(result_shape)}",
            f"result_shape must be None or a tuple such as (None, 3), got {type(result_shape).__name__} {result_shape!r}. "
            f"Pass a tuple: result_shape=(None, 3) stacks calls that each return 3 values.",
        ))
    declared = tuple(result_shape)
    nones = [i for i, d in enumerate(declared) if d is None]
    if len(nones) != 1:
        raise InputError(prefix_acme_line(
            "`result_shape` must contain exactly one `None` entry",
            f"result_shape must contain exactly one None (the axis along which calls are stacked), "
            f"got {declared!r} with {len(nones)}. Pass e.g. result_shape=(None, 3): one None, then the shape "
            f"of one call's value.",
        ))
    for d in declared:
        if d is None:
            continue
        if isinstance(d, bool) or not isinstance(d, numbers.Real):
            raise InputError(prefix_acme_line(
                "`result_shape` must only contain numerical values",
                f"result_shape must hold only None, non-negative integers and np.inf, got {d!r} in {declared!r}. {_FIX}",
            ))
        if not math.isinf(d) and (math.isnan(d) or d < 0 or int(d) != d):
            raise InputError(prefix_acme_line(
                "`result_shape` must only contain non-negative integers",
                f"result_shape must hold only None, non-negative integers and np.inf, got {d!r} in {declared!r}. {_FIX}",
            ))
    infs = [i for i, d in enumerate(declared) if d is not None and math.isinf(d)]
    if any(declared[i] < 0 for i in infs):
        raise InputError(prefix_acme_line(
            "`result_shape` must only contain non-negative integers",
            f"result_shape may use np.inf (unlimited), not -np.inf, got {declared!r}. {_FIX}",
        ))
    if len(infs) > 1:
        raise InputError(prefix_acme_line(
            "cannot use more than one `np.inf` in `result_shape`",
            f"result_shape may have at most one unlimited axis (np.inf), got {declared!r}. Pass the sizes of the other axes.",
        ))
    if infs and in_memory:
        raise InputError(prefix_acme_line(
            "using `np.inf` in `result_shape` is only valid if `write_worker_results` is `True`",
            "result_shape with np.inf (an unlimited axis) needs results on disk: pass "
            "write_worker_results=True, or give that axis its size.",
        ))
    if not isinstance(result_dtype, str):
        raise InputTypeError(prefix_acme_line(
            f"`result_dtype` has to be a string, not {type(result_dtype)}",  # ACME shows the shape's type (a bug)
            f'result_dtype must be a NumPy dtype name such as "float32", got {type(result_dtype).__name__} {result_dtype!r}. '
            f"Pass its name: result_dtype={_dtype_name(result_dtype)!r}.",
        ))
    try:
        dtype = np.dtype(result_dtype)
    except TypeError as exc:
        raise InputTypeError(prefix_acme_line(
            "`result_dtype` has to be a valid NumPy datatype specification. Original error message below:",
            f'{exc}\nresult_dtype must be a NumPy dtype name such as "float32", got {result_dtype!r}. Pass e.g. '
            f'result_dtype="float64", "int32" or "complex64".',
        )) from None
    if dtype.kind not in "biufc":
        raise InputError(
            f"result_dtype must be a numeric or boolean dtype to stack results, got {result_dtype!r} ({dtype}). "
            f"Pass e.g. result_dtype=\"float64\", or leave result_shape out to store each call's values as they are."
        )
    return StackSpec(declared=declared, axis=nones[0], inf_axis=infs[0] if infs else None, dtype=dtype)
