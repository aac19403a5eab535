"""Execute the planned calls: sequentially in this process, or as tasks on a dask client.

``run_on_client`` sends the shared context to the workers once (scattered,
unhashed, so reused clients never confuse two runs' data), submits all tasks in
one ``client.map`` with explicit unique keys, follows completion events for the
progress bar, and returns one outcome per call in call order. On
KeyboardInterrupt it cancels what is pending and re-raises. It neither starts
nor stops clusters and writes no container.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from typing import Any, Callable, Sequence

from concurrent.futures import CancelledError

from distributed import Client, as_completed

from ..core.plan import CallPlan, function_name
from ..storage.layout import safe_stem
from ..core.outcome import FAILED, CallFailure, TaskOutcome
from .placement import placement, read_peak, reset_peak
from .progress import Progress
from ..core.batching import choose_batch_size, probe_count, split
from .sharing import forget, share_large_arrays
from .worker import CallContext, CallSpec, run_call, run_calls

logger = logging.getLogger(__name__)

#: Shortest time between two fetches of finished results (the progress bar's refresh too).
#: Each fetch costs the parent's scheduler CPU that local workers need (40 calls of 0.1 s:
#: 0.27 s of parent CPU at 0.2 s, 0.21 s at 1 s), but a finished result not yet fetched
#: dies with its worker: at 1 s a call exhausting memory took the results of its
#: neighbours with it in half the runs of tests/faults, at 0.2 s in none.
GATHER_INTERVAL_S = 0.2

#: Receives the outcomes of each finished batch, as they arrive (the run's journal).
Recorder = Callable[[list[TaskOutcome]], None] | None


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
) -> list[TaskOutcome]:
    """Run the calls ``indices`` as tasks on ``client``; return their outcomes in that order.

    With ``batch_size="auto"`` a few single-call tasks measure the call time first; the
    rest then travel in batches that carry about 0.2 s of work each, submitted at once.
    A task whose worker died is submitted again, up to ``lost_retries`` times (dask
    itself already moves tasks of a dead worker elsewhere a few times). ``record``
    receives each batch's outcomes as they arrive.
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
        return _run_tasks(client, context, plan, indices, progress, batch_size, n_workers, record, lost_retries, prefix)
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
) -> list[TaskOutcome]:
    started = time.time()
    scattered = client.scatter([context], broadcast=True, hash=False)
    pending = list(indices)
    groups: dict[str, tuple[CallSpec, ...]] = {}

    attempts: dict[int, int] = {}

    def submit(chunks: list[Sequence[int]]) -> list[Any]:
        shared = scattered[-1]
        if shared.status != "finished":
            # Every worker holding the context died (a call that exhausts memory can take
            # down one worker after the other): send it again for the calls run again.
            shared = client.scatter([context], broadcast=True, hash=False)[0]
            scattered.append(shared)
        specs = [tuple((i, plan.call_values(i)) for i in chunk) for chunk in chunks]
        keys = []
        for spec in specs:
            first = spec[0][0]
            attempts[first] = attempts.get(first, -1) + 1
            keys.append(f"{prefix}-{first}" + (f"-retry{attempts[first]}" if attempts[first] else ""))
        groups.update(zip(keys, specs))
        return client.map(run_calls, [shared] * len(specs), specs, key=keys, pure=False)

    if batch_size == "auto":
        n_probe = probe_count(len(pending), n_workers)
        first, pending = pending[:n_probe], pending[n_probe:]
        futures = submit([[i] for i in first])
    else:
        futures = submit(list(split(pending, int(batch_size))))
        pending = []
    outcomes: dict[int, TaskOutcome] = {}
    # Results are fetched in one gather per group of finished tasks, not one request each,
    # and at most every GATHER_INTERVAL_S: on a local cluster the scheduler shares the cores
    # with the workers, so each request would take time from the calls.
    completed = as_completed(futures, loop=client.loop)
    last_gather = 0.0
    try:
        for arrived in completed.batches():
            finished = list(arrived)
            wait_s = GATHER_INTERVAL_S - (time.monotonic() - last_gather)
            if not pending and completed.count() and wait_s > 0:
                # Let more tasks finish, then fetch them together; stop waiting when all have.
                deadline = time.monotonic() + wait_s
                while completed.count() and time.monotonic() < deadline:
                    time.sleep(0.01)
                    finished += completed.next_batch(block=False)
            last_gather = time.monotonic()
            ok = [f for f in finished if f.status == "finished"]
            results = dict(zip((f.key for f in ok), client.gather(ok, errors="skip"))) if ok else {}
            for future in finished:
                group = groups.pop(future.key)
                result = results.get(future.key)
                if result is None:
                    result = future.exception() if future.status == "error" else CancelledError(future.key)
                if not isinstance(result, list) and _worker_lost(result) and attempts[group[0][0]] < lost_retries:
                    logger.warning("A worker died running calls %d-%d; running them again", group[0][0], group[-1][0])
                    more = submit([[index for index, _ in group]])
                    futures.extend(more)
                    completed.update(more)
                    future.release()
                    continue
                if isinstance(result, list):
                    batch_outcomes = result
                else:  # the task itself failed: its worker was lost every time, or our wrapper broke
                    batch_outcomes = [_lost(context, index, values, result) for index, values in group]
                if record is not None:
                    record(batch_outcomes)
                for outcome in batch_outcomes:
                    outcomes[outcome.index] = outcome
                n_failed = sum(1 for o in batch_outcomes if not o.ok)
                progress.advance(len(batch_outcomes) - n_failed, n_failed)
                future.release()
            if pending:  # the probes have measured the call time: batch the rest
                timed = [o.seconds for o in outcomes.values() if o.ok]
                mean = sum(timed) / len(timed) if timed else 0.0
                size = choose_batch_size(mean, len(pending), n_workers)
                logger.debug("%.2g s per call: %d calls per task for the remaining %d calls", mean, size, len(pending))
                more = submit(list(split(pending, size)))
                pending = []
                futures.extend(more)
                completed.update(more)
    except BaseException:
        client.cancel(futures, force=True)
        raise
    finally:
        client.cancel(scattered, force=True)
    if any(o.failure is not None and o.failure.kind == "worker-lost" for o in outcomes.values()):
        outcomes = _tell_memory_kills(client, outcomes, started)
    return [outcomes[i] for i in indices]


def _tell_memory_kills(client: Client, outcomes: dict[int, TaskOutcome], since: float) -> dict[int, TaskOutcome]:
    """Mark calls lost with their worker as "memory" when a nanny killed a worker for its memory.

    Dask reports such a call as cancelled or as a killed worker without saying why; its
    nanny records each memory kill as an event. A call lost while the memory limit of
    its worker was exceeded (possibly by another call on the same worker) gets the kind
    "memory".
    """
    try:
        events = client.get_events("worker-restart-memory")
    except Exception:  # an older scheduler, or a closed one: the kind stays "worker-lost"
        return outcomes
    killed = [event for stamp, event in events if stamp >= since and isinstance(event, dict)]
    if not killed:
        return outcomes
    told = dict(outcomes)
    for index, outcome in outcomes.items():
        failure = outcome.failure
        if failure is not None and failure.kind == "worker-lost":
            message = f"its worker was killed for exceeding its memory limit ({failure.exc_type}: {failure.message})"
            told[index] = dataclasses.replace(outcome, failure=dataclasses.replace(failure, kind="memory", message=message))
    return told


_LOST = {"KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError", "WorkerLost"}


def _worker_lost(error: Any) -> bool:
    return type(error).__name__ in _LOST


def _lost(context: CallContext, index: int, values: Sequence[Any], error: Any) -> TaskOutcome:
    name = type(error).__name__
    failure = CallFailure(
        index=index,
        kind="worker-lost" if _worker_lost(error) else "exception",
        exc_type=name,
        message=str(error),
        traceback="",
        arguments=context.template.describe(index, values),
        exception=error if isinstance(error, BaseException) else None,
    )
    return TaskOutcome(index=index, status=FAILED, failure=failure)
