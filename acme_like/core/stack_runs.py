"""Where the stacked first values of a run's calls lie: runs of consecutive calls in consecutive rows.

A stacked container maps each call's first value to its slot in ``result_0``. Calls of
one batch lie in consecutive rows of their shard, so the container maps a run of
them at once. Finding those runs from the columns of a batch (numpy comparisons
over its rows) spares making a ``PayloadRef`` per call only to read its row back.
Pure values: no files, no dask.
"""

from __future__ import annotations

from typing import Iterable, Iterator, NamedTuple

from .outcome import PayloadRef, TaskOutcome


class StackRun(NamedTuple):
    """``length`` calls from ``first_index`` on, whose first values are rows ``first_row`` on of
    dataset ``result_0`` in ``path``: a shard (``shard``) or one call's own file (row 0)."""

    path: str
    shard: bool
    first_index: int
    first_row: int
    length: int
    shape: tuple[int, ...]


def outcome_extra_payloads(outcomes: Iterable[TaskOutcome]) -> Iterator[tuple[int, PayloadRef]]:
    """``(index, payload)`` of the outcomes that succeeded with a pickled payload or more than one
    value: those a stacked container lists by name, besides the stack."""
    for o in outcomes:
        if o.ok and o.payload is not None and (o.payload.fmt == "pickle" or o.payload.n_values > 1):
            yield o.index, o.payload


def outcome_stack_runs(outcomes: Iterable[TaskOutcome]) -> Iterator[StackRun]:
    """A run of one call for each outcome with a stacked value (a pickled payload has one
    only in a shard; a payload without a shape has none)."""
    for o in outcomes:
        ref = o.payload
        if not o.ok or ref is None or ref.stack_shape is None or ref.fmt == "pickle" and ref.stack_path is None:
            continue
        if ref.stack_path is not None:
            yield StackRun(ref.stack_path, True, o.index, ref.stack_row, 1, ref.stack_shape)
        else:
            yield StackRun(ref.path, False, o.index, 0, 1, ref.stack_shape)
