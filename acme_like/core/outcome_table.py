"""The outcomes of one run's calls, kept as the workers packed them; a ``TaskOutcome`` is made when asked for.

A run of a million tiny calls would otherwise keep a million ``TaskOutcome`` objects,
with their floats, in the parent (about 300 bytes a call). Batches stay packed
(:class:`~acme_like.core.packed.PackedOutcomes`, about 50 bytes a call); single
outcomes (a call run alone, a failure given its source lines, a result kept from an
earlier run) are kept as they are, and the latest word on a call wins. Pure values:
no files, no dask.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence, overload

import numpy as np

from .outcome import CallFailure, PayloadRef, TaskOutcome
from .packed import PackedOutcomes
from .stack_runs import StackRun, outcome_extra_payloads, outcome_stack_runs


class OutcomeTable(Sequence[TaskOutcome]):
    """The outcomes of the calls of a run seen so far, in call order.

    ``len`` counts the calls that have an outcome; iterating and indexing give them in
    call order (position ``k`` is the ``k``-th such call, which is call ``k`` once every
    call has one). ``has(index)`` and ``get(index)`` look a call up by its index.
    """

    def __init__(self, n_calls: int) -> None:
        self._part = np.full(n_calls, -1, dtype=np.int32)  # which part holds call i; -1: none yet
        self._row = np.zeros(n_calls, dtype=np.int32)  # its row in that part
        self._parts: list[PackedOutcomes | Sequence[TaskOutcome]] = []
        self._n = 0
        self._order: np.ndarray | None = None  # the indices that have an outcome, in call order

    def add_packed(self, packed: PackedOutcomes) -> None:
        """Keep a batch's outcomes as they came back."""
        self._place(packed.indices(), packed)

    def add(self, outcomes: Sequence[TaskOutcome]) -> None:
        """Keep these outcomes; each replaces what the table held for its call."""
        if outcomes:
            self._place(np.fromiter((o.index for o in outcomes), dtype=np.int64, count=len(outcomes)), list(outcomes))

    def has(self, index: int) -> bool:
        return bool(self._part[index] >= 0)

    def get(self, index: int) -> TaskOutcome | None:
        """The outcome of call ``index``, or None if it has none yet."""
        part = int(self._part[index])
        if part < 0:
            return None
        return _outcome(self._parts[part], int(self._row[index]))

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, position: int) -> TaskOutcome: ...
    @overload
    def __getitem__(self, position: slice) -> list[TaskOutcome]: ...
    def __getitem__(self, position: int | slice) -> TaskOutcome | list[TaskOutcome]:
        order = self.indices()
        if isinstance(position, slice):
            return [self._at(int(i)) for i in order[position]]
        return self._at(int(order[position]))

    def __iter__(self) -> Iterator[TaskOutcome]:
        for index in self.indices().tolist():
            yield self._at(index)

    def indices(self) -> np.ndarray:
        """The indices of the calls that have an outcome, in call order."""
        if self._order is None:
            self._order = np.flatnonzero(self._part >= 0)
        return self._order

    def failures(self) -> tuple[CallFailure, ...]:
        """The failures, in call order, without making an outcome of every call."""
        found: list[tuple[int, CallFailure]] = []
        for k, part in enumerate(self._parts):
            rows = part.failure_rows() if isinstance(part, PackedOutcomes) else {
                row: o.failure for row, o in enumerate(part) if o.failure is not None
            }
            for row, failure in rows.items():
                index = failure.index
                if self._part[index] == k and self._row[index] == row:
                    found.append((index, failure))
        return tuple(failure for _, failure in sorted(found, key=lambda pair: pair[0]))

    def first_starts(self) -> dict[tuple[str, str], float]:
        """``(worker, host or "")`` -> when the first call it ran started, over the outcomes held
        (of every call that was ever given one), without making an outcome of every call."""
        first: dict[tuple[str, str], float] = {}
        for part in self._parts:
            starts = [part.first_start()] if isinstance(part, PackedOutcomes) else [(o.worker, o.host, o.started_at) for o in part]
            for worker, host, started in starts:
                if worker is not None and started is not None:
                    key = (worker, host or "")
                    first[key] = min(first.get(key, started), started)
        return first

    def values(self) -> list[Any]:
        """Each call's value in call order (None for a failed call, or one whose value is on disk)."""
        order = self.indices()
        position = np.cumsum(self._part >= 0) - 1  # call index -> its position in call order
        out: list[Any] = [None] * len(order)
        for k, part in enumerate(self._parts):
            if isinstance(part, PackedOutcomes):
                indices, values, ok = part.indices(), part.values(), part.oks()
            else:
                indices = np.fromiter((o.index for o in part), dtype=np.int64, count=len(part))
                values, ok = [o.value for o in part], [o.ok for o in part]
            current = (self._part[indices] == k) & (self._row[indices] == np.arange(len(indices)))
            for at, value, good, keep in zip(position[indices].tolist(), values, ok, current.tolist()):
                if keep and good:
                    out[at] = value
        return out

    def payloads(self) -> Iterator[tuple[int, bool, PayloadRef | None]]:
        """``(index, ok, payload)`` of each call in call order, without making its outcome;
        made a run of consecutive calls of one batch at a time."""
        return self._by_runs(lambda part, at: part.payloads(at), lambda o: o.payload)

    def formats(self) -> Iterator[tuple[int, bool, str | None]]:
        """``(index, ok, format of its payload or None)`` of each call in call order, from the
        columns alone (no payload reference is made)."""
        return self._by_runs(lambda part, at: part.formats(at), lambda o: None if o.payload is None else o.payload.fmt)

    def paths(self) -> Iterator[tuple[int, bool, str | None]]:
        """``(index, ok, path of its payload or None)`` of each call in call order, from the columns alone."""
        return self._by_runs(lambda part, at: part.paths(at), lambda o: None if o.payload is None else o.payload.path)

    def stack_runs(self) -> Iterator[StackRun]:
        """The stacked first values of the calls that succeeded, in call order, as runs of
        consecutive calls in consecutive rows of one file (see :class:`StackRun`)."""
        for _, part, at in self._segments():
            if isinstance(part, PackedOutcomes):
                yield from part.stack_runs(at)
            else:
                yield from outcome_stack_runs(part[row] for row in at.tolist())

    def extra_payloads(self) -> Iterator[tuple[int, PayloadRef]]:
        """``(index, payload)`` of the calls that succeeded with a pickled payload or more than one
        value (those a stacked container lists by name), in call order."""
        for _, part, at in self._segments():
            if isinstance(part, PackedOutcomes):
                yield from part.extra_payloads(at)
            else:
                yield from outcome_extra_payloads(part[row] for row in at.tolist())

    def _by_runs(self, packed: Callable[[PackedOutcomes, np.ndarray], tuple[list[bool], list[Any]]],
                 held: Callable[[TaskOutcome], Any]) -> Iterator[tuple[int, bool, Any]]:
        for indices, part, at in self._segments():
            if isinstance(part, PackedOutcomes):
                oks, items = packed(part, at)
            else:
                kept = [part[row] for row in at.tolist()]
                oks, items = [o.ok for o in kept], [held(o) for o in kept]
            yield from zip(indices.tolist(), oks, items)

    def _segments(self) -> Iterator[tuple[np.ndarray, PackedOutcomes | Sequence[TaskOutcome], np.ndarray]]:
        """The calls with an outcome in call order, a run of consecutive ones held by one part at a
        time: their indices, that part, and their rows in it."""
        order = self.indices()
        if not len(order):
            return
        parts, rows = self._part[order], self._row[order]
        bounds = [0, *(np.flatnonzero(np.diff(parts)) + 1).tolist(), len(order)]
        for start, end in zip(bounds[:-1], bounds[1:]):
            yield order[start:end], self._parts[int(parts[start])], rows[start:end]

    def _at(self, index: int) -> TaskOutcome:
        return _outcome(self._parts[int(self._part[index])], int(self._row[index]))

    def _place(self, indices: np.ndarray, part: PackedOutcomes | Sequence[TaskOutcome]) -> None:
        self._n += int(np.count_nonzero(self._part[indices] < 0))
        self._part[indices] = len(self._parts)
        self._row[indices] = np.arange(len(indices), dtype=np.int32)
        self._parts.append(part)
        self._order = None


def _outcome(part: PackedOutcomes | Sequence[TaskOutcome], row: int) -> TaskOutcome:
    return part.outcome(row) if isinstance(part, PackedOutcomes) else part[row]


def iter_formats(outcomes: Sequence[TaskOutcome]) -> Iterator[tuple[int, bool, str | None]]:
    """``(index, ok, payload format or None)`` of each outcome, in order; from an
    ``OutcomeTable``'s columns without making references."""
    if isinstance(outcomes, OutcomeTable):
        return outcomes.formats()
    return ((o.index, o.ok, None if o.payload is None else o.payload.fmt) for o in outcomes)


def iter_paths(outcomes: Sequence[TaskOutcome]) -> Iterator[tuple[int, bool, str | None]]:
    """``(index, ok, payload path or None)`` of each outcome, in order; from an
    ``OutcomeTable``'s columns without making references."""
    if isinstance(outcomes, OutcomeTable):
        return outcomes.paths()
    return ((o.index, o.ok, None if o.payload is None else o.payload.path) for o in outcomes)


def iter_payloads(outcomes: Sequence[TaskOutcome]) -> Iterator[tuple[int, bool, PayloadRef | None]]:
    """``(index, ok, payload)`` of each outcome, in order; from an ``OutcomeTable``'s columns
    without making its outcomes."""
    if isinstance(outcomes, OutcomeTable):
        return outcomes.payloads()
    return ((o.index, o.ok, o.payload) for o in outcomes)


def iter_stack_runs(outcomes: Sequence[TaskOutcome]) -> Iterator[StackRun]:
    """The runs of stacked first values (``core/stack_runs``) of the outcomes that succeeded, in
    order; from an ``OutcomeTable``'s columns without making references."""
    if isinstance(outcomes, OutcomeTable):
        return outcomes.stack_runs()
    return outcome_stack_runs(outcomes)


def iter_extra_payloads(outcomes: Sequence[TaskOutcome]) -> Iterator[tuple[int, PayloadRef]]:
    """``(index, payload)`` of the outcomes that succeeded with a pickled payload or more than one value."""
    if isinstance(outcomes, OutcomeTable):
        return outcomes.extra_payloads()
    return outcome_extra_payloads(outcomes)
