"""A batch's payload references as columns; a ``PayloadRef`` is made when one is read.

A run of a million calls written to disk would otherwise keep a million ``PayloadRef``
objects in the parent, each with its path, shape and integers (about 400 bytes a
call). Here the paths are kept as forms: a path that is ``head + str(index) + tail``
(a per-call file) is stored as that ``(head, tail)`` once per batch and a code per
call, any other (a batch's shard) as itself once and a code; the integers as one
array each, or one value when a batch's calls share it; shapes as codes into the
distinct shapes. Reading gives back equal ``PayloadRef`` objects, their integers as
Python ints. Pure values: the paths are strings here, no file is looked at.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .outcome import PayloadRef
from .outcome_columns import RefColumns
from .stack_runs import StackRun

#: The integer fields of a PayloadRef, in the order of its constructor after ``stack_row``.
_INTS = ("n_values", "nbytes", "crc32", "stack_row", "stack_nbytes", "stack_crc32", "mtime_ns")

#: The kinds of payload, as codes; a code of -1 is "no payload".
_FMTS = ("hdf5", "pickle", "container")


class _Strings:
    """Optional strings by call, as codes into their forms (see the module docstring)."""

    __slots__ = ("codes", "forms")

    def __init__(self, indices: Sequence[int], texts: Sequence[str | None]) -> None:
        forms: list[Any] = []
        found: dict[Any, int] = {}  # a literal string, or a (head, tail) pair -> its code
        codes = np.full(len(texts), -1, dtype=np.int32)
        for row, (index, text) in enumerate(zip(indices, texts)):
            if text is None:
                continue
            code = found.get(text)
            if code is None:
                number = str(index)
                at = text.rfind(number)
                form: Any = text if at < 0 else (text[:at], text[at + len(number):])
                code = found.get(form)
                if code is None:
                    code = found[form] = len(forms)
                    forms.append(form)
                if at < 0:
                    found[text] = code
            codes[row] = code
        self.codes, self.forms = _compact(codes), tuple(forms)

    def get(self, row: int, index: int) -> str | None:
        return _text(self.forms, _code_at(self.codes, row), index)

    def many(self, rows: np.ndarray, indices: Sequence[int]) -> list[str | None]:
        forms = self.forms
        return [_text(forms, code, index) for code, index in zip(_int_at(self.codes, rows), indices)]


def _text(forms: tuple[Any, ...], code: int, index: int) -> str | None:
    if code < 0:
        return None
    form = forms[code]
    return form if type(form) is str else f"{form[0]}{index}{form[1]}"


def _compact(codes: np.ndarray) -> Any:
    """The codes, or their one value when all are equal."""
    return int(codes[0]) if len(codes) and np.all(codes == codes[0]) else codes


def _code_at(column: Any, row: int) -> int:
    return column if isinstance(column, int) else int(column[row])


def _ints(values: list[int]) -> Any:
    """One value when all are equal, else an array (of objects if some do not fit in int64)."""
    if values and all(v == values[0] for v in values):
        return int(values[0])
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:  # pragma: no cover - no field of a real payload is this large
        return np.array(values, dtype=object)


def _int_at(column: Any, rows: np.ndarray) -> list[int]:
    if isinstance(column, int):
        return [column] * len(rows)
    if column.dtype != object:
        return column[rows].tolist()  # Python ints already
    return [int(v) for v in column[rows].tolist()]


class PackedRefs:
    """The payload references (or None) of a batch's calls, by row; :meth:`get` gives one back."""

    __slots__ = ("_fmt", "_paths", "_stack_paths", "_shapes", "_shape_codes", "_ints")

    def __init__(self, indices: Sequence[int], refs: Sequence[PayloadRef | None]) -> None:
        self._fmt = np.array([-1 if r is None else _FMTS.index(r.fmt) for r in refs], dtype=np.int8)
        self._paths = _Strings(indices, [None if r is None else r.path for r in refs])
        self._stack_paths = _Strings(indices, [None if r is None else r.stack_path for r in refs])
        shapes: dict[Any, int] = {}
        self._shape_codes = _compact(np.array(
            [-1 if r is None or r.stack_shape is None else shapes.setdefault(r.stack_shape, len(shapes)) for r in refs],
            dtype=np.int32,
        ))
        self._shapes = tuple(shapes)
        # Rows without a payload (failed calls) hold 0 in every integer column.
        self._ints = tuple(_ints([0 if r is None else getattr(r, name) for r in refs]) for name in _INTS)

    def __len__(self) -> int:
        return len(self._fmt)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (tuple(getattr(self, name) for name in PackedRefs.__slots__),))

    def any(self) -> bool:
        """Whether some call has a payload."""
        return bool(np.any(self._fmt >= 0))

    def get(self, row: int, index: int) -> PayloadRef | None:
        """The reference in ``row``, whose call is ``index``."""
        fmt = int(self._fmt[row])
        if fmt < 0:
            return None
        code = _code_at(self._shape_codes, row)
        n_values, nbytes, crc, stack_row, stack_nbytes, stack_crc, mtime = (_code_at(c, row) for c in self._ints)
        return PayloadRef(
            self._paths.get(row, index), _FMTS[fmt], n_values, nbytes,  # type: ignore[arg-type]
            None if code < 0 else self._shapes[code], crc, self._stack_paths.get(row, index), stack_row, stack_nbytes,
            stack_crc, mtime,
        )

    def formats(self, rows: np.ndarray) -> list[str | None]:
        """The format of each reference in ``rows`` (None where there is none), from its column alone."""
        return [None if code < 0 else _FMTS[code] for code in self._fmt[np.asarray(rows, dtype=np.int64)].tolist()]

    def many(self, rows: np.ndarray, indices: Sequence[int]) -> list[PayloadRef | None]:
        """The references in ``rows`` (whose calls are ``indices``), made in one pass."""
        rows = np.asarray(rows, dtype=np.int64)
        fmts = self._fmt[rows].tolist()
        paths = self._paths.many(rows, indices)
        stack_paths = self._stack_paths.many(rows, indices)
        shapes = self._shapes
        codes = _int_at(self._shape_codes, rows)
        n_values, nbytes, crc, stack_row, stack_nbytes, stack_crc, mtime = (_int_at(c, rows) for c in self._ints)
        out: list[PayloadRef | None] = []
        for k, fmt in enumerate(fmts):
            if fmt < 0:
                out.append(None)
                continue
            out.append(PayloadRef(
                paths[k], _FMTS[fmt], n_values[k], nbytes[k], None if codes[k] < 0 else shapes[codes[k]],  # type: ignore[arg-type]
                crc[k], stack_paths[k], stack_row[k], stack_nbytes[k], stack_crc[k], mtime[k],
            ))
        return out

    def columns(self, indices: Sequence[int]) -> RefColumns:
        """Every row's reference by field (``indices``: the calls of the rows), no reference made."""
        rows = np.arange(len(self._fmt))
        shapes = self._shapes
        return RefColumns(
            [None if code < 0 else _FMTS[code] for code in self._fmt.tolist()],
            self._paths.many(rows, indices),
            *(_int_at(c, rows) for c in self._ints[:2]),
            [None if code < 0 else shapes[code] for code in _int_at(self._shape_codes, rows)],
            _int_at(self._ints[2], rows),
            self._stack_paths.many(rows, indices),
            *(_int_at(c, rows) for c in self._ints[3:]),
        )

    def paths(self, rows: np.ndarray, indices: Sequence[int]) -> list[str | None]:
        """The path of each reference in ``rows`` (None where there is none), no reference made."""
        return self._paths.many(np.asarray(rows, dtype=np.int64), indices)

    def extra_rows(self, rows: np.ndarray) -> np.ndarray:
        """Those of ``rows`` whose payload is pickled or holds more than one value."""
        rows = np.asarray(rows, dtype=np.int64)
        n_values = self._ints[0]
        many = n_values[rows] > 1 if isinstance(n_values, np.ndarray) else np.full(len(rows), n_values > 1)
        return rows[(self._fmt[rows] == _FMTS.index("pickle")) | many & (self._fmt[rows] >= 0)]

    def stack_runs(self, rows: np.ndarray, indices: np.ndarray, ok: np.ndarray) -> list[StackRun]:
        """The runs of the stacked values in ``rows`` (whose calls are ``indices`` and succeeded
        where ``ok``), in call order; found by comparing columns, no reference made."""
        rows = np.asarray(rows, dtype=np.int64)
        fmt, shard, shape = self._fmt[rows], _codes(self._stack_paths.codes, rows), _codes(self._shape_codes, rows)
        stacked = ok & (fmt >= 0) & (shape >= 0) & ~((fmt == _FMTS.index("pickle")) & (shard < 0))
        runs = [
            StackRun(self._paths.get(int(rows[k]), int(indices[k])), False, int(indices[k]), 0, 1, self._shapes[shape[k]])  # type: ignore[arg-type]
            for k in np.flatnonzero(stacked & (shard < 0)).tolist()
        ]
        at = np.flatnonzero(stacked & (shard >= 0))
        if len(at):
            first, row, code, kind = indices[at], _codes(self._ints[3], rows[at]), shard[at], shape[at]
            goes_on = (np.diff(first) == 1) & (np.diff(row) == 1) & (code[1:] == code[:-1]) & (kind[1:] == kind[:-1])
            starts = [0, *(np.flatnonzero(~goes_on) + 1).tolist()]
            for a, b in zip(starts, [*starts[1:], len(at)]):
                path = self._stack_paths.get(int(rows[at[a]]), int(first[a]))
                runs.append(StackRun(path, True, int(first[a]), int(row[a]), b - a, self._shapes[kind[a]]))  # type: ignore[arg-type]
            runs.sort(key=lambda run: run.first_index)
        return runs


def _codes(column: Any, rows: np.ndarray) -> np.ndarray:
    """A column's values in ``rows``, as an array also when all its rows share one."""
    return np.full(len(rows), column, dtype=np.int64) if isinstance(column, int) else np.asarray(column[rows], dtype=np.int64)


def _rebuilt(state: tuple[Any, ...]) -> PackedRefs:
    refs = PackedRefs.__new__(PackedRefs)
    for name, value in zip(PackedRefs.__slots__, state):
        setattr(refs, name, value)
    return refs
