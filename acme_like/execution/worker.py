"""Run calls of the user's function where they execute (a worker, or this process in debug mode).

:func:`run_calls` (or :func:`run_calls_within`, with a time budget) is what dask runs: it builds each call's
arguments, calls ``func``, writes the payload to the path the layout names
(or keeps the value), and returns one :class:`TaskOutcome` per call. A call's
exception becomes a failure record; it never stops the calls that follow.
This module chooses no paths and reads no configuration.
"""

from __future__ import annotations

import dataclasses
import pickle
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import cloudpickle
import numpy as np

from ..core.plan import CallTemplate
from ..storage.layout import OutputLayout
from ..errors import PayloadError
from ..core.outcome import FAILED, OK, CallFailure, PayloadRef, TaskOutcome
from ..core.carried import CarriedContext, context_of
from ..core.packed import CallBatch, PackedOutcomes
from ..storage.forms import NotStorable
from ..storage.payload import file_mtime_ns, return_values, value_forms, write_payload
from ..storage.shards import write_row_payload, write_shard
from .placement import placement, read_peak, reset_peak
from .sharing import resolve
from ..core.stacking import StackSpec

#: One call as it travels to a worker: its index and its values for the split slots.
CallSpec = tuple[int, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What every call of a run shares; sent to each worker once."""

    func: Callable[..., Any]
    template: CallTemplate
    layout: OutputLayout | None  # None: results travel back in memory
    fmt: str = "hdf5"  # "hdf5" or "pickle" when a layout is given
    stack: StackSpec | None = None
    retries: int = 0  # extra attempts for a call that raises
    shards: bool = False  # stacked first values of a batch go into one shard file
    acme: bool = True  # ACME's forms and files; False: the modern layout (dask config acme_like.layout)
    shard_tag: str = ""  # in shard file names, when kept shards of an earlier run are in use
    digests: Mapping[int, str] | None = None  # by index, the identity written into the payload of each call it runs

    @property
    def sharded(self) -> bool:
        return self.shards and self.stack is not None and self.layout is not None and self.fmt == "hdf5"

    def shape_result(self, index: int, result: Any) -> Any:
        """``result`` with its first value fitted to the declared stack (ShapeMismatch if it does not fit)."""
        if self.stack is None:
            return result
        values = return_values(result)
        first = self.stack.fit(values[0], index)
        return (first, *values[1:]) if isinstance(result, tuple) else first


@dataclass(frozen=True, slots=True)
class BudgetedBatch:
    """What a task with a time budget returns: the outcomes of the calls it ran, in order,
    and the indices of the calls it did not start (the parent sends them again)."""

    outcomes: PackedOutcomes
    unstarted: tuple[int, ...]


def run_calls(context: CallContext, calls: Sequence[CallSpec]) -> list[TaskOutcome]:
    """Run a batch of calls; every call yields an outcome, failed or not.

    With stacked results on disk, the batch's first values go into one shard file (so a
    stacked dataset has one source per batch, not per call); other values stay per call.
    """
    outcomes, _, (peak, worker, host) = _run_batch(context, calls, None)
    return [
        TaskOutcome(o.index, o.status, o.seconds, o.payload, o.value, o.failure, o.started_at, o.ended_at, peak, worker,
                    host, o.attempt)
        for o in outcomes
    ]


def run_calls_within(shared: CallContext | CarriedContext, batch: CallBatch, budget_s: float | None) -> BudgetedBatch:
    """Run the calls of a batch in order until ``budget_s`` seconds are spent (at least one
    call; all of them with None); their outcomes travel back packed. ``shared``: the run's
    context, scattered or carried in the task."""
    context: CallContext = context_of(shared)
    calls = batch.calls
    if batch.identities is not None:
        context = dataclasses.replace(context, digests=dict(zip((index for index, _ in calls), batch.identities)))
    outcomes, n_started, placed = _run_batch(context, calls, budget_s)
    return BudgetedBatch(PackedOutcomes(outcomes, placed), tuple(index for index, _ in calls[n_started:]))


def _run_batch(
    context: CallContext, calls: Sequence[CallSpec], budget_s: float | None
) -> tuple[list[TaskOutcome], int, tuple[int | None, str, str]]:
    """The batch's outcomes (their payloads written or their values checked), how many calls
    started, and where they ran: ``(peak_bytes, worker, host)``, which the outcomes do not
    carry yet (a copy of each costs more than a tiny call)."""
    worker, host, alone = placement()
    measured = alone and reset_peak()
    if budget_s is None:
        outcomes = [run_call(context, index, values, capture=True) for index, values in calls]
    else:
        outcomes = []
        deadline = time.perf_counter() + budget_s
        for index, values in calls:
            outcomes.append(run_call(context, index, values, capture=True))
            if time.perf_counter() >= deadline:
                break
    # peak: one call's own peak; for a batch of tiny calls, the batch's
    placed = (read_peak() if measured else None, worker, host)
    return _finished(context, outcomes), len(outcomes), placed


def _finished(context: CallContext, outcomes: list[TaskOutcome]) -> list[TaskOutcome]:
    """The batch's outcomes with their payloads written or their values checked."""
    if not context.sharded:
        return outcomes if context.layout is not None else [_travelling(o) for o in outcomes]
    return _write_shard(context, outcomes)


def _write_shard(context: CallContext, outcomes: list[TaskOutcome]) -> list[TaskOutcome]:
    assert context.layout is not None and context.stack is not None
    done = [o for o in outcomes if o.ok]
    if not done:
        return outcomes
    stack = context.stack
    firsts = {o.index: _first(context, o.value) for o in done}
    extent = 0
    if stack.slot_inf_axis is not None:
        extent = max(np.shape(first)[stack.slot_inf_axis] for first in firsts.values())
    rows = np.full(stack.full_shape(len(outcomes), extent), stack.fill_value(), dtype=stack.dtype)
    if stack.slot_inf_axis is None:  # every slot whole: the batch's rows filled at once
        by_row = np.moveaxis(rows, stack.axis, 0)  # a view: writing it writes rows
        by_row[[row for row, o in enumerate(outcomes) if o.ok]] = np.stack(list(firsts.values()))
    else:
        for row, outcome in enumerate(outcomes):
            if outcome.ok:
                selection: list[Any] = [slice(0, n) for n in np.shape(firsts[outcome.index])]
                selection.insert(stack.axis, row)
                rows[tuple(selection)] = firsts[outcome.index]
    path = context.layout.shard_path(outcomes[0].index, context.shard_tag)
    try:
        size, crc = write_shard(path, rows, [o.index for o in outcomes])
    except PayloadError as exc:
        return [_failed_write(context, o, exc) if o.ok else o for o in outcomes]
    shard_mtime = file_mtime_ns(path)  # once here, not once per call in the parent's journal
    shard = str(path)
    whole = stack.slot_shape if stack.slot_inf_axis is None else None  # every slot's shape, when all share it
    finished = []
    for row, o in enumerate(outcomes):
        if not o.ok:
            finished.append(o)
            continue
        shape = whole if whole is not None else tuple(np.shape(firsts[o.index]))
        try:
            rest = _row_file(context, o, path, rows.shape, row, shape) if context.acme else o.payload
        except PayloadError as exc:
            finished.append(_failed_write(context, o, exc))
            continue
        if rest is None:  # the first value alone, in the shard
            payload = PayloadRef(shard, "hdf5", 1, size, shape, crc, shard, row, size, crc, shard_mtime)
        else:  # a row file counts its result_0 already; a pickle or a modern file holds only the other values
            counted = rest.fmt == "hdf5" and context.acme
            payload = PayloadRef(
                rest.path, rest.fmt, rest.n_values + (0 if counted else 1), rest.nbytes, shape, rest.crc32, shard, row,
                size, crc, rest.mtime_ns,
            )
        # Built whole: dataclasses.replace costs more than a tiny call.
        finished.append(TaskOutcome(
            o.index, o.status, o.seconds, payload, None, o.failure, o.started_at, o.ended_at, o.peak_bytes, o.worker,
            o.host, o.attempt,
        ))
    return finished


def _first(context: CallContext, value: Any) -> Any:
    """The stacked first value of a call's kept result (ACME's layout keeps all its values)."""
    return return_values(value)[0] if context.acme else value


def _row_file(
    context: CallContext, outcome: TaskOutcome, shard: Path, shard_shape: tuple[int, ...], row: int, shape: tuple[int, ...]
) -> PayloadRef:
    """ACME's file of one stacked call: result_0 onto its shard row, then its other values."""
    assert context.layout is not None and context.stack is not None
    layout, index = context.layout, outcome.index
    rest = return_values(outcome.value)[1:]
    try:
        forms = value_forms(rest, rows=False)
    except NotStorable:
        return write_payload(layout.payload_path(index), layout.pickle_path(index), rest, fmt="pickle")
    return write_row_payload(
        layout.payload_path(index), shard, shard_shape, row, context.stack.axis, shape, context.stack.dtype, forms
    )


#: Values that always pickle; anything else is tried before it travels back to the parent.
_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.ndarray, np.generic)


def _travelling(outcome: TaskOutcome) -> TaskOutcome:
    """``outcome``, or a failure of this call alone if its value cannot travel back in memory."""
    value = outcome.value
    if not outcome.ok or isinstance(value, _PLAIN) and not (isinstance(value, np.ndarray) and value.dtype.kind == "O"):
        return outcome
    try:
        cloudpickle.dumps(value)
    except Exception as exc:
        failure = CallFailure(
            index=outcome.index,
            kind="exception",
            exc_type=type(exc).__name__,
            message=f"its return value ({type(value).__name__}) cannot be sent back from the worker: {exc}. "
            f"Return values that pickle, or write them to disk (write_worker_results=True).",
            traceback="",
            arguments="",
        )
        return TaskOutcome(index=outcome.index, status=FAILED, seconds=outcome.seconds, failure=failure)
    return outcome


def _failed_write(context: CallContext, outcome: TaskOutcome, exc: Exception) -> TaskOutcome:
    failure = CallFailure(
        index=outcome.index,
        kind="exception",
        exc_type=type(exc).__name__,
        message=str(exc),
        traceback="",
        arguments="",
    )
    return dataclasses.replace(outcome, status=FAILED, failure=failure, payload=None, value=None)


def run_call(context: CallContext, index: int, values: Sequence[Any], capture: bool) -> TaskOutcome:
    """Run call ``index``. With ``capture=False`` the user's exception propagates unchanged."""
    start = time.perf_counter()
    started_at = time.time()
    for attempt in range(context.retries + 1):
        outcome = _attempt(context, index, values, capture or attempt < context.retries, start, started_at, attempt + 1)
        if outcome.ok or attempt == context.retries:
            return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(
    context: CallContext, index: int, values: Sequence[Any], capture: bool, start: float, started_at: float, attempt: int
) -> TaskOutcome:
    args, kwargs = context.template.assemble(index, values)
    args = [resolve(value) for value in args]
    kwargs = {key: resolve(value) for key, value in kwargs.items()}
    try:
        result = context.shape_result(index, context.func(*args, **kwargs))
        payload = None
        if context.sharded and context.acme:
            pass  # the batch writes the shard, then this call's file (see _write_shard)
        elif context.sharded:
            # The first value waits for the batch's shard; other values get a file of their own.
            values = return_values(result)
            result = values[0]
            if len(values) > 1:
                layout = context.layout
                assert layout is not None
                payload = write_payload(
                    layout.payload_path(index), layout.pickle_path(index), values[1:], first=1, acme=False
                )
        elif context.layout is not None:
            layout = context.layout
            payload = write_payload(
                layout.payload_path(index), layout.pickle_path(index), result, context.fmt, acme=context.acme,
                identity=None if context.digests is None else context.digests[index],
                identity_dir=layout.pickle_ids_dir,
            )
            result = None
    except Exception as exc:
        if not capture:
            raise
        failure = CallFailure(
            index=index,
            kind="exception",
            exc_type=type(exc).__name__,
            message=str(exc),
            traceback=traceback.format_exc(),
            arguments=context.template.describe(index, values),
            exception=_portable(exc),
        )
        return TaskOutcome(
            index=index, status=FAILED, seconds=time.perf_counter() - start, failure=failure,
            started_at=started_at, ended_at=time.time(), attempt=attempt,
        )
    # Built once, whole: dataclasses.replace costs more than a tiny call itself.
    return TaskOutcome(
        index, OK, time.perf_counter() - start, payload, result, None, started_at, time.time(), None, None, None, attempt
    )


def _portable(exc: BaseException) -> BaseException | None:
    """The exception itself if it survives pickling back to the parent, else None."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    exc.__traceback__ = None  # the formatted traceback travels as text
    return exc
