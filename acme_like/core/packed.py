"""A batch's calls and outcomes in compact forms for the trip to a worker and back.

dask walks the arguments of every task it is given, looking for keys, and pickles each
outcome as an object of its own; for a task of thousands of tiny calls both cost more
than the calls. ``CallBatch`` is one opaque argument, pickled once when it is made: the
scheduler never unpickles its calls, and the messages dask keeps for its own logs (the
last thousand per connection, ``distributed.admin.low-level-log-length``) hold a few
bytes per call instead of the call objects. ``PackedOutcomes`` holds a batch's
outcomes as columns (their payload references too: ``core/packed_refs``) and gives
back exactly the outcomes it was made from. Pure values:
no files, no dask.
"""

from __future__ import annotations

import pickle
from typing import Any, Callable, Sequence

import numpy as np

from .outcome import FAILED, OK, PayloadRef, TaskOutcome
from .outcome_columns import OutcomeColumns
from .packed_refs import PackedRefs
from .stack_runs import StackRun

#: Kinds of numpy scalars that travel as one array (bool, ints, floats, complex).
_ARRAY_KINDS = "biufc"


#: Turns calls into bytes, with pickle's ``buffer_callback``: cloudpickle's ``dumps``.
Dumps = Callable[..., bytes]


class CallBatch:
    """The ``(index, values)`` of a task's calls, as one argument dask does not look into.

    Given ``dumps``, the calls are pickled at once and travel as those bytes, unless some
    value holds a buffer pickle can send out of band (a numpy array): copying those into
    bytes would cost memory, so such calls travel as they are. ``identities``: each call's
    identity, in the order of the calls, when their payloads are to carry it.
    """

    __slots__ = ("_calls", "_identities", "_pickled")

    def __init__(
        self, calls: Sequence[tuple[int, tuple[Any, ...]]], dumps: Dumps | None = None,
        identities: tuple[str, ...] | None = None,
    ) -> None:
        self._calls: Sequence[tuple[int, tuple[Any, ...]]] | None = calls
        self._identities = identities
        self._pickled: bytes | None = None
        if dumps is not None:
            buffers: list[Any] = []
            pickled = dumps((calls, _hex_blob(identities)), protocol=5, buffer_callback=buffers.append)
            if not buffers:
                self._calls, self._identities, self._pickled = None, None, pickled

    @property
    def calls(self) -> Sequence[tuple[int, tuple[Any, ...]]]:
        self._load()
        assert self._calls is not None
        return self._calls

    @property
    def identities(self) -> tuple[str, ...] | None:
        self._load()
        return self._identities

    def _load(self) -> None:
        if self._calls is None:
            assert self._pickled is not None
            self._calls, identities = pickle.loads(self._pickled)
            self._identities = _from_blob(identities)

    def __reduce__(self) -> tuple[Any, ...]:
        if self._pickled is not None:
            return (_unpickled_batch, (self._pickled,))
        return (CallBatch, (self._calls, None, self._identities))


def _hex_blob(identities: tuple[str, ...] | None) -> Any:
    """Identities of 32 hex digits as one bytes object of 16 bytes each (half their size in
    the messages dask keeps); others as they are."""
    if not identities:
        return identities
    blob = b"".join(bytes.fromhex(identity) if len(identity) == 32 else b"" for identity in identities)
    return blob if len(blob) == 16 * len(identities) and _from_blob(blob) == identities else identities


def _from_blob(identities: Any) -> tuple[str, ...] | None:
    if not isinstance(identities, bytes):
        return identities
    return tuple(identities[k : k + 16].hex() for k in range(0, len(identities), 16))


def _unpickled_batch(pickled: bytes) -> CallBatch:
    """The batch, its calls still pickled: the scheduler unpickles every task it is sent,
    only the worker reads the calls (and the identities: they too would be objects per
    call in the scheduler's memory)."""
    batch = CallBatch.__new__(CallBatch)
    batch._calls, batch._identities, batch._pickled = None, None, pickled
    return batch


class PackedOutcomes:
    """The outcomes of one batch as columns; :meth:`unpack` returns them, in order."""

    __slots__ = ("_columns",)

    def __init__(self, outcomes: Sequence[TaskOutcome], placed: tuple[int | None, str | None, str | None] | None = None) -> None:
        """``placed``: the ``(peak_bytes, worker, host)`` of every outcome, instead of their own."""
        self._columns = _pack(outcomes, placed)

    def __len__(self) -> int:
        return len(self._columns[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (self._columns,))

    def indices(self) -> np.ndarray:
        """The call indices, in order."""
        return self._columns[0]

    def oks(self) -> list[bool]:
        return self._columns[1].tolist()

    def values(self) -> list[Any]:
        """The values as they came back (None for each when there were none)."""
        values = self._columns[6]
        return [None] * len(self) if values is None else list(values)

    def payloads(self, rows: np.ndarray) -> tuple[list[bool], list[PayloadRef | None]]:
        """Whether the calls in ``rows`` succeeded, and their payload references (None where
        there is none), made in one pass."""
        index, ok, payloads = self._columns[0], self._columns[1], self._columns[7]
        oks = ok[rows].tolist()
        if payloads is None:
            return oks, [None] * len(rows)
        return oks, payloads.many(rows, index[rows].tolist())

    def paths(self, rows: np.ndarray) -> tuple[list[bool], list[str | None]]:
        """Whether the calls in ``rows`` succeeded, and their payloads' paths (None where there
        is none), without making the references."""
        index, ok, payloads = self._columns[0], self._columns[1], self._columns[7]
        return ok[rows].tolist(), [None] * len(rows) if payloads is None else payloads.paths(rows, index[rows].tolist())

    def stack_runs(self, rows: np.ndarray) -> list[StackRun]:
        """The runs of stacked values of the calls in ``rows`` (``core/stack_runs``), in call order."""
        index, ok, payloads = self._columns[0], self._columns[1], self._columns[7]
        return [] if payloads is None else payloads.stack_runs(rows, index[rows], ok[rows])

    def extra_payloads(self, rows: np.ndarray) -> list[tuple[int, PayloadRef]]:
        """``(index, payload)`` of the calls in ``rows`` that succeeded with a pickled payload or
        more than one value; references made for those alone."""
        index, ok, payloads = self._columns[0], self._columns[1], self._columns[7]
        if payloads is None:
            return []
        rows = payloads.extra_rows(rows)
        rows = rows[ok[rows]]
        return [(i, ref) for i, ref in zip(index[rows].tolist(), payloads.many(rows, index[rows].tolist())) if ref is not None]

    def formats(self, rows: np.ndarray) -> tuple[list[bool], list[str | None]]:
        """Whether the calls in ``rows`` succeeded, and their payloads' formats (None where
        there is none), without making the references."""
        ok, payloads = self._columns[1], self._columns[7]
        return ok[rows].tolist(), [None] * len(rows) if payloads is None else payloads.formats(rows)

    def first_start(self) -> tuple[str | None, str | None, float | None]:
        """The worker and host that ran the batch, and when its first call started (None if not known)."""
        started, (_, worker, host) = self._columns[3], self._columns[9]
        known = [v for v in started.tolist() if v is not None] if started.dtype == object else started
        return worker, host, float(min(known)) if len(known) else None

    def failure_rows(self) -> dict[int, Any]:
        """Row -> failure, for the calls that failed."""
        return self._columns[8]

    def timed(self) -> tuple[float, int, int]:
        """The seconds of the calls that succeeded, how many succeeded, how many failed."""
        ok, seconds = self._columns[1], self._columns[2]
        n_ok = int(np.count_nonzero(ok))
        return float(seconds[ok].sum()), n_ok, len(ok) - n_ok

    def outcome(self, row: int) -> TaskOutcome:
        """The outcome in ``row``, as it was packed."""
        index, ok, seconds, started, ended, attempt, values, payloads, failures, placed = self._columns
        peak, worker, host = placed
        return TaskOutcome(
            int(index[row]), OK if ok[row] else FAILED, float(seconds[row]),
            None if payloads is None else payloads.get(row, int(index[row])),
            None if values is None else values[row], failures.get(row), _float(started[row]), _float(ended[row]),
            peak, worker, host, int(attempt[row]),
        )

    def columns(self) -> OutcomeColumns:
        """The outcomes by field, as :meth:`unpack` would give them, without making them."""
        index, ok, seconds, started, ended, attempt, _, payloads, failures, placed = self._columns
        n = len(index)
        indices = index.tolist()
        peak, worker, host = placed
        return OutcomeColumns(
            indices, [OK if good else FAILED for good in ok.tolist()], seconds.tolist(), started.tolist(), ended.tolist(),
            [peak] * n, [worker] * n, [host] * n, attempt.tolist(), failures,
            None if payloads is None else payloads.columns(indices),
        )

    def unpack(self) -> list[TaskOutcome]:
        """The outcomes as they were packed."""
        index, ok, seconds, started, ended, attempt, values, payloads, failures, placed = self._columns
        peak, worker, host = placed
        n = len(index)
        values = [None] * n if values is None else list(values)
        payloads = [None] * n if payloads is None else payloads.many(np.arange(n), index.tolist())
        rows = zip(index.tolist(), ok.tolist(), seconds.tolist(), started.tolist(), ended.tolist(), attempt.tolist(),
                   values, payloads)
        return [
            TaskOutcome(i, OK if good else FAILED, s, p, v, failures.get(k), st, en, peak, worker, host, a)
            for k, (i, good, s, st, en, a, v, p) in enumerate(rows)
        ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _rebuilt(columns: tuple[Any, ...]) -> PackedOutcomes:
    packed = PackedOutcomes.__new__(PackedOutcomes)
    packed._columns = columns
    return packed


def _pack(outcomes: Sequence[TaskOutcome], placed: tuple[Any, ...] | None) -> tuple[Any, ...]:
    first = outcomes[0] if outcomes else None
    if placed is None:
        placed = (None, None, None) if first is None else (first.peak_bytes, first.worker, first.host)
        if any((o.peak_bytes, o.worker, o.host) != placed for o in outcomes):
            raise ValueError("the outcomes of one batch share their worker, host and peak memory")
    index = np.fromiter((o.index for o in outcomes), dtype=np.int64, count=len(outcomes))
    ok = np.fromiter((o.status == OK for o in outcomes), dtype=bool, count=len(outcomes))
    seconds = np.fromiter((o.seconds for o in outcomes), dtype=np.float64, count=len(outcomes))
    started = np.array([o.started_at for o in outcomes], dtype=object if _any_none(outcomes, "started_at") else np.float64)
    ended = np.array([o.ended_at for o in outcomes], dtype=object if _any_none(outcomes, "ended_at") else np.float64)
    attempt = np.fromiter((o.attempt for o in outcomes), dtype=np.int64, count=len(outcomes))
    payloads = [o.payload for o in outcomes]
    refs = PackedRefs(index.tolist(), payloads) if any(p is not None for p in payloads) else None
    failures = {k: o.failure for k, o in enumerate(outcomes) if o.failure is not None}
    return (_narrow(index), ok, seconds, started, ended, _narrow(attempt), _values(outcomes), refs, failures, placed)


def _narrow(column: np.ndarray) -> np.ndarray:
    """Integers in the smallest of int8, int32 and int64 that holds them (they read back as ints)."""
    for kind in (np.int8, np.int32):
        info = np.iinfo(kind)
        if not len(column) or info.min <= column.min() and column.max() <= info.max:
            return column.astype(kind)
    return column


def _any_none(outcomes: Sequence[TaskOutcome], name: str) -> bool:
    return any(getattr(o, name) is None for o in outcomes)


def _values(outcomes: Sequence[TaskOutcome]) -> Any:
    """The values as one array when all are numpy scalars of one type (they come back as
    that same type), else as a list; None when there are none."""
    values = [o.value for o in outcomes]
    if not values or all(v is None for v in values):
        return None
    kind = type(values[0])
    if issubclass(kind, np.generic) and all(type(v) is kind for v in values):
        array = np.array(values)
        if array.dtype.kind in _ARRAY_KINDS and array.dtype.type is kind:
            return array
    return values
