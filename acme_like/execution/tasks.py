"""Execute the planned calls: sequentially in this process, or as tasks on a dask client.

``run_on_client`` sends the shared context to the workers once (scattered,
unhashed, so reused clients never confuse two runs' data), submits tasks with
explicit unique keys, at most ``TASKS_IN_FLIGHT_PER_WORKER`` per worker at once
(with ``batch_size="auto"`` sized from the time the first ones measured), follows completion events for the
progress bar, and returns one outcome per call in call order. When a worker
dies, the task book (``book.py``) has the calls of its task run again one by one,
alone, so only a call that kills its worker fails. With a gate (``gate.py``, a pipeline
stage running while its upstream stage still runs) a call is submitted only once the
upstream calls it reads have outcomes. On KeyboardInterrupt it cancels
what is pending and re-raises; a dask error after that (no worker comes back)
fails the calls without an outcome and keeps the rest. It neither starts nor
stops clusters and writes no container.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
import time
import uuid
from typing import Any, Callable, Sequence

import cloudpickle

from distributed import Client, as_completed

from ..core.plan import CallPlan, function_name
from ..storage.layout import safe_stem
from ..core.outcome import FAILED, OK, CallFailure, TaskOutcome
from ..storage.payload import adopt_payload
from .book import TaskBook
from .fetch import gathered
from .gate import Gate, blocked_outcome
from .deaths import DeathLines, death_lines, new_deaths, tell_death, worker_pid
from .placement import placement, read_peak, reset_peak
from .progress import Progress
from ..core.batching import MAX_BATCH, TARGET_TASK_SECONDS, choose_batch_size, first_wave, split
from ..storage.shards import MAX_SHARD_CALLS
from .sharing import forget, share_large_arrays
from ..core.outcome_table import OutcomeTable
from ..core.carried import CarriedContext
from ..core.packed import CallBatch, PackedOutcomes
from .worker import BudgetedBatch, CallContext, run_call, run_calls_within

logger = logging.getLogger(__name__)

#: Tasks submitted and not finished, per worker, at most; the others wait in the parent.
TASKS_IN_FLIGHT_PER_WORKER = 8

#: Seconds to wait for a worker when the shared context must be sent again (dask's
#: nanny restarts a dead worker within seconds; a batch system may take longer).
WORKER_WAIT_S = 60.0
#: At most this many bytes of carried contexts over a run's tasks of a fixed size; beyond, it is scattered.
CARRIED_TOTAL_BYTES = 64 * 10**6

#: Receives the outcomes of each finished batch, as they arrive (the run's journal): as
#: outcomes, or packed as the worker sent them.
Recorder = Callable[[list[TaskOutcome] | PackedOutcomes], None] | None


def run_sequential(
    context: CallContext, plan: CallPlan, indices: Sequence[int], progress: Progress, record: Recorder = None
) -> list[TaskOutcome]:
    """Call ``func`` in a plain loop in this process; the first exception propagates unchanged."""
    outcomes = []
    worker, host, _ = placement()
    for index in indices:
        measured = reset_peak()
        outcome = run_call(context, index, plan.call_values(index), capture=False)
        outcome = dataclasses.replace(
            outcome, peak_bytes=read_peak() if measured else None, worker=worker, host=host
        )
        if record is not None:
            record([outcome])
        outcomes.append(outcome)
        progress.advance(1, 0)
    return outcomes


def run_on_client(
    client: Client,
    context: CallContext,
    plan: CallPlan,
    indices: Sequence[int],
    progress: Progress,
    batch_size: int | str = "auto",
    n_workers: int = 1,
    record: Recorder = None,
    lost_retries: int = 2,
    share_arrays: bool = False,
    gate: Gate | None = None,
    identify: Callable[[int], str] | None = None,
) -> OutcomeTable:
    """Run the calls ``indices`` as tasks on ``client``; return their outcomes (in call order).

    With ``batch_size="auto"`` the calls travel at first in two tasks per worker, each
    running its calls for about 0.2 s and handing back the ones it did not start; those
    travel again in tasks sized from the call time measured, about 0.2 s of work each.
    The calls of a task whose worker died run again one by one, each alone once nothing
    else runs; one that takes its worker down alone more than ``lost_retries`` times fails
    ("crash" or "memory"), one that had written its payload is adopted. ``record``
    receives each batch's outcomes as they arrive. ``gate`` holds calls back until it
    releases them (or blocks them: they fail as ``UpstreamFailed`` without running).
    ``identify`` gives a call's identity for its payload; each task carries its calls'.
    """
    run_id = uuid.uuid4().hex[:12]
    prefix = f"{safe_stem(function_name(plan.func))}-{run_id}"
    # One scatter of func and the shared arguments: each worker deserialises them once,
    # tasks carry only their own per-call values. Large arrays go by memory-mapped file
    # when the workers are on this machine, so they share one copy.
    shared_dir = None
    if share_arrays:
        template, shared_dir = share_large_arrays(context.template)
        context = dataclasses.replace(context, template=template)
    try:
        return _run_tasks(
            client, context, plan, indices, progress, batch_size, n_workers, record, lost_retries, prefix, gate, identify
        )
    finally:
        forget(shared_dir)


def _run_tasks(
    client: Client,
    context: CallContext,
    plan: CallPlan,
    indices: Sequence[int],
    progress: Progress,
    batch_size: int | str,
    n_workers: int,
    record: Recorder,
    lost_retries: int,
    prefix: str,
    gate: Gate | None = None,
    identify: Callable[[int], str] | None = None,
) -> OutcomeTable:
    started = time.time()
    book = TaskBook(prefix, lost_retries, lambda: _scatter(client, context), _carried(context, indices, batch_size))
    auto = batch_size == "auto"
    run = _Run(client, context, plan, book, progress, record, started, TARGET_TASK_SECONDS if auto else None, identify)
    max_in_flight = TASKS_IN_FLIGHT_PER_WORKER * max(1, n_workers)
    max_calls = MAX_SHARD_CALLS if context.sharded else MAX_BATCH  # a batch's stacked values go into one shard
    free = indices if gate is None else gate.open(indices)
    if auto:  # no probe round trip: the first tasks measure the call time themselves
        chunks, waiting = first_wave(free, n_workers, max_calls) if free else ([], ())
        futures = run.submit(chunks)
        if waiting:
            run.unstarted.append(waiting)
    else:
        run.queued.extend(split(free, int(batch_size)))
        futures = run.submit([run.queued.popleft() for _ in range(min(max_in_flight, len(run.queued)))])
    completed = as_completed(futures, loop=client.loop)
    try:
        with run.deaths:
            for finished in gathered(client, completed, gate):
                for future, result in finished:
                    run.settle(future, result)
                if gate is not None:  # calls whose upstream calls ended since the last look
                    released, blocked = gate.take()
                    if blocked:
                        run.finish([blocked_outcome(i, why, context.template.describe(i, plan.call_values(i))) for i, why in blocked.items()])
                    if released and auto:
                        run.unstarted.append(released)
                    elif released:
                        run.queued.extend(split(released, int(batch_size)))
                # Calls waiting, or handed back, once some call has ended: sized by the time measured.
                if run.unstarted and (run.outcomes or not book.in_flight):
                    unstarted, run.unstarted = run.unstarted, []
                    n_unstarted = sum(len(calls) for calls in unstarted)
                    size = min(choose_batch_size(run.seconds_per_call(), n_unstarted, n_workers), max_calls)
                    logger.debug("%d calls per task for the %d calls not started yet", size, n_unstarted)
                    run.queued.extend(chunk for calls in unstarted for chunk in split(calls, size))
                # Only so many tasks at once: the scheduler holds the arguments of each task it knows.
                room = min(max_in_flight - book.in_flight, len(run.queued))
                completed.update(run.submit([run.queued.popleft() for _ in range(max(0, room))]))
                completed.update(run.submit(book.take_again()) + run.next_alone())
    except Exception as exc:  # dask gave up (no workers came back, a lost connection): what is done is kept
        logger.error("The run stopped early: %s: %s", type(exc).__name__, exc, exc_info=True)
        client.cancel(run.futures, force=True)
        run.give_up(indices, exc)
    except BaseException:
        client.cancel(run.futures, force=True)
        raise
    finally:
        if book.scattered:
            client.cancel(book.scattered, force=True)
    return run.outcomes


class _Run:
    """Submits what the book says and turns finished tasks into outcomes."""

    def __init__(
        self, client: Client, context: CallContext, plan: CallPlan, book: TaskBook, progress: Progress,
        record: Recorder, started: float, budget_s: float | None = None, identify: Callable[[int], str] | None = None,
    ) -> None:
        self.client, self.context, self.plan, self.book, self.identify = client, context, plan, book, identify
        self.progress, self.record, self.started, self.budget_s = progress, record, started, budget_s
        self.outcomes = OutcomeTable(plan.n_calls)
        self.futures: list[Any] = []
        self.unstarted: list[Sequence[int]] = []  # calls not sized yet: waiting, or handed back by tasks that spent their budget
        self.queued: deque[Sequence[int]] = deque()  # chunks sized, not submitted yet
        self._timed_s, self._timed_n = 0.0, 0
        self._alone_since = started
        self._ended_seen: dict[int, str] = {}  # worker processes seen ended before the call running alone
        self.deaths = DeathLines()

    def submit(self, chunks: Sequence[Sequence[int]], alone: bool = False) -> list[Any]:
        if not chunks:
            return []
        shared = self.book.shared()
        identify = self.identify
        specs = [
            CallBatch(self.plan.calls_of(chunk), cloudpickle.dumps, None if identify is None else tuple(map(identify, chunk)))
            for chunk in chunks
        ]
        keys = self.book.keys(chunks, solo=alone)
        # Twice the target once calls are timed: a task sized from the measured time runs to its end.
        budget = None if self.budget_s is None else self.budget_s * (2 if self._timed_n else 1)
        futures = self.client.map(
            run_calls_within, [shared] * len(specs), specs, [budget] * len(specs), key=keys, pure=False
        )
        self.futures.extend(futures)
        return futures

    def seconds_per_call(self) -> float:
        """The mean time of the calls that succeeded so far."""
        return self._timed_s / self._timed_n if self._timed_n else 0.0

    def next_alone(self) -> list[Any]:
        """Once nothing else runs: the next suspect alone (or its payload, if it wrote one)."""
        while (index := self.book.next_suspect()) is not None:
            adopted = self._adopt(index)
            if adopted is None:
                logger.warning("Running call %d again alone, as its worker died while running it", index)
                self._alone_since = time.time()
                self._ended_seen.update(death_lines(self.client, self.deaths))
                return self.submit([[index]], alone=True)
            self.finish([adopted])
        return []

    def settle(self, future: Any, result: Any) -> None:
        calls, alone = self.book.take(future.key)
        future.release()
        if isinstance(result, BudgetedBatch):
            if result.unstarted:
                self.unstarted.append(result.unstarted)
            self._finish_packed(result.outcomes)
            return
        if isinstance(result, list):
            for outcome in result:
                if outcome.ok:
                    self._timed_s += outcome.seconds
                    self._timed_n += 1
            self.finish(result)
            return
        name = type(result).__name__
        if name not in _CANCELLED | _KILLED:  # the task itself failed: our wrapper broke
            self.finish([_lost(self.context, i, self.plan.call_values(i), result) for i in calls])
            return
        if not alone:
            if name in _CANCELLED:
                self.book.cancelled(calls)
            else:
                logger.warning("A worker died running calls %s; running them again one by one", _span(calls))
                self.book.killed(calls, solo=False)
            return
        # Alone on the cluster: every worker that died meanwhile died of this call.
        ended = new_deaths(self.client, self._ended_seen, worker_pid(result), self.deaths)
        self._ended_seen.update(ended)
        deaths = getattr(result, "allowed_failures", 0) + 1 if name == "KilledWorker" else max(1, len(ended))
        if self.book.killed(calls, solo=True, deaths=deaths):
            self.finish([self._crashed(calls[0], result, ended)])

    def give_up(self, indices: Sequence[int], error: BaseException) -> None:
        """Fail every call without an outcome; one that took its worker down alone is a crash."""
        outcomes = []
        for index in (i for i in indices if not self.outcomes.has(i)):
            outcome = _lost(self.context, index, self.plan.call_values(index), error, "worker-lost")
            if self.book.deaths(index):
                outcome = self._crashed(index, error, {}, f"; then the run stopped: {type(error).__name__}: {error}")
            outcomes.append(outcome)
        self.finish(outcomes)

    def finish(self, outcomes: list[TaskOutcome]) -> None:
        if self.record is not None:
            self.record(outcomes)
        self.outcomes.add(outcomes)
        n_failed = sum(1 for o in outcomes if not o.ok)
        self.progress.advance(len(outcomes) - n_failed, n_failed)

    def _finish_packed(self, packed: PackedOutcomes) -> None:
        """A batch's outcomes, kept packed: the records, when there are any, read their columns."""
        if self.record is not None:
            self.record(packed)
        self.outcomes.add_packed(packed)
        seconds, n_ok, n_failed = packed.timed()
        self._timed_s += seconds
        self._timed_n += n_ok
        self.progress.advance(n_ok, n_failed)

    def _adopt(self, index: int) -> TaskOutcome | None:
        layout = self.context.layout
        if layout is None or self.context.sharded:  # in memory, or its first value was to go into the batch's shard
            return None
        ref = adopt_payload(layout.payload_path(index), layout.pickle_path(index), self.started)
        return None if ref is None else TaskOutcome(index=index, status=OK, payload=ref)

    def _crashed(self, index: int, error: Any, ended: dict[int, str], then: str = "") -> TaskOutcome:
        kind, how = tell_death(self.client, worker_pid(error), self._alone_since, ended or self._ended_seen)
        n = self.book.deaths(index)
        outcome = _lost(self.context, index, self.plan.call_values(index), error, kind)
        message = f"its worker process {how}; it took its worker down {n} times while it ran alone{then}"
        return dataclasses.replace(outcome, failure=dataclasses.replace(outcome.failure, message=message))


def _carried(context: CallContext, indices: Sequence[int], batch_size: int | str) -> CarriedContext | None:
    """The context carried in each task when it is small, and its copies together stay
    small when every call travels in a task of a fixed size (``batch_size=1``)."""
    carried = CarriedContext.of(context, cloudpickle.dump)
    if carried is None or batch_size == "auto":
        return carried
    n_tasks = -(-len(indices) // max(1, int(batch_size)))
    return carried if n_tasks * carried.nbytes <= CARRIED_TOTAL_BYTES else None


def _scatter(client: Client, context: CallContext) -> Any:
    """Send the shared context to every worker, once one is there (a worker killed a moment
    ago is still restarting); raises TimeoutError if none is for WORKER_WAIT_S."""
    deadline = time.monotonic() + WORKER_WAIT_S
    while True:
        try:
            client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            return client.scatter([context], broadcast=True, hash=False, timeout=5)[0]
        except TimeoutError:  # the worker seen was dying: wait for the next one
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no worker came back within {WORKER_WAIT_S:.0f} s to run the remaining calls") from None


def _span(calls: Sequence[int]) -> str:
    return str(calls[0]) if len(calls) == 1 else f"{calls[0]}-{calls[-1]}"


_CANCELLED = {"FutureCancelledError", "CancelledError"}
_KILLED = {"KilledWorker", "CommClosedError", "WorkerLost"}


def _lost(context: CallContext, index: int, values: Sequence[Any], error: Any, kind: str | None = None) -> TaskOutcome:
    name = type(error).__name__
    failure = CallFailure(
        index=index,
        kind=kind or ("worker-lost" if name in _CANCELLED | _KILLED else "exception"),  # type: ignore[arg-type]
        exc_type=name,
        message=str(error),
        traceback="",
        arguments=context.template.describe(index, values),
        exception=error if isinstance(error, BaseException) else None,
    )
    return TaskOutcome(index=index, status=FAILED, failure=failure)
