"""Outcomes as columns: one list per field, the form the parent writes its records from.

The journal and the call table write a line per call. Making a ``TaskOutcome`` and a
``PayloadRef`` per call only to read their fields back costs the parent more than the
lines themselves (a run of a million calls spent seconds on it). ``OutcomeColumns``
holds each field of a batch's outcomes as one list, read straight from the arrays of a
:class:`~acme_like.core.packed.PackedOutcomes` or gathered from outcome objects; row
``k`` of every column is the ``k``-th outcome. Pure values: no files, no dask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .outcome import CallFailure, PayloadRef, TaskOutcome

#: The fields of a PayloadRef, in the order of :class:`RefColumns`.
REF_FIELDS = (
    "fmt", "path", "n_values", "nbytes", "stack_shape", "crc32", "stack_path", "stack_row", "stack_nbytes",
    "stack_crc32", "mtime_ns",
)

_EMPTY = {name: None if name in ("fmt", "path", "stack_shape", "stack_path") else 0 for name in REF_FIELDS}


@dataclass(frozen=True, slots=True)
class RefColumns:
    """The payload references of a batch by field; a row without a payload has ``fmt`` None."""

    fmt: list[str | None]
    path: list[str | None]
    n_values: list[int]
    nbytes: list[int]
    stack_shape: list[tuple[int, ...] | None]
    crc32: list[int]
    stack_path: list[str | None]
    stack_row: list[int]
    stack_nbytes: list[int]
    stack_crc32: list[int]
    mtime_ns: list[int]

    @classmethod
    def of(cls, refs: Sequence[PayloadRef | None]) -> RefColumns:
        """A row without a reference holds None in the text fields and 0 in the integer ones."""
        return cls(*([_EMPTY[name] if r is None else getattr(r, name) for r in refs] for name in REF_FIELDS))


@dataclass(frozen=True, slots=True)
class OutcomeColumns:
    """A batch of outcomes by field (their values left out: no record holds them).

    ``failures`` maps a row to its call's failure; ``payload`` is None when no call of the
    batch has a payload.
    """

    index: list[int]
    status: list[str]
    seconds: list[float]
    started_at: list[float | None]
    ended_at: list[float | None]
    peak_bytes: list[int | None]
    worker: list[str | None]
    host: list[str | None]
    attempt: list[int]
    failures: Mapping[int, CallFailure]
    payload: RefColumns | None

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def of(cls, outcomes: Sequence[TaskOutcome]) -> OutcomeColumns:
        """The columns of these outcomes, in their order."""
        refs = [o.payload for o in outcomes]
        return cls(
            [o.index for o in outcomes], [o.status for o in outcomes], [o.seconds for o in outcomes],
            [o.started_at for o in outcomes], [o.ended_at for o in outcomes], [o.peak_bytes for o in outcomes],
            [o.worker for o in outcomes], [o.host for o in outcomes], [o.attempt for o in outcomes],
            {k: o.failure for k, o in enumerate(outcomes) if o.failure is not None},
            RefColumns.of(refs) if any(r is not None for r in refs) else None,
        )


def columns_of(outcomes: Any) -> OutcomeColumns:
    """``outcomes`` as columns: as they are if they already are, else gathered from the objects."""
    return outcomes if isinstance(outcomes, OutcomeColumns) else OutcomeColumns.of(list(outcomes))
