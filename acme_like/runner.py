"""Execute the planned calls: sequentially in this process, or as tasks on a dask client.

``run_on_client`` sends the shared context to the workers once (scattered,
unhashed, so reused clients never confuse two runs' data), submits all tasks in
one ``client.map`` with explicit unique keys, follows completion events for the
progress bar, and returns one outcome per call in call order. On
KeyboardInterrupt it cancels what is pending and re-raises. It neither starts
nor stops clusters and writes no container.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Iterator, Sequence

from distributed import Client, as_completed

from .inputs import CallPlan, function_name
from .layout import safe_stem
from .outcome import FAILED, CallFailure, TaskOutcome
from .progress import Progress
from .worker import CallContext, CallSpec, run_call, run_calls

logger = logging.getLogger(__name__)


def batches(plan: CallPlan, batch_size: int) -> Iterator[tuple[CallSpec, ...]]:
    """The calls of ``plan`` in consecutive batches of ``batch_size``."""
    for first in range(0, plan.n_calls, batch_size):
        last = min(first + batch_size, plan.n_calls)
        yield tuple((index, plan.call_values(index)) for index in range(first, last))


def run_sequential(context: CallContext, plan: CallPlan, progress: Progress) -> list[TaskOutcome]:
    """Call ``func`` in a plain loop in this process; the first exception propagates unchanged."""
    outcomes = []
    for index in range(plan.n_calls):
        outcomes.append(run_call(context, index, plan.call_values(index), capture=False))
        progress.advance(1, 0)
    return outcomes


def run_on_client(
    client: Client, context: CallContext, plan: CallPlan, progress: Progress, batch_size: int = 1
) -> list[TaskOutcome]:
    """Run every call as tasks on ``client``; return the outcomes in call order."""
    run_id = uuid.uuid4().hex[:12]
    prefix = f"{safe_stem(function_name(plan.func))}-{run_id}"
    # One scatter of func and the shared arguments: each worker deserialises them once,
    # tasks carry only their own per-call values.
    [shared] = client.scatter([context], broadcast=True, hash=False)
    groups = list(batches(plan, batch_size))
    keys = [f"{prefix}-{group[0][0]}" for group in groups]
    futures = client.map(run_calls, [shared] * len(groups), groups, key=keys, pure=False)
    by_key = {future.key: group for future, group in zip(futures, groups)}
    outcomes: list[TaskOutcome | None] = [None] * plan.n_calls
    try:
        for future, result in as_completed(futures, loop=client.loop, with_results=True, raise_errors=False):
            group = by_key[future.key]
            if isinstance(result, list):
                batch_outcomes = result
            else:  # the task itself failed: its worker was lost, or our wrapper broke
                batch_outcomes = [_lost(context, index, values, result) for index, values in group]
            for outcome in batch_outcomes:
                outcomes[outcome.index] = outcome
            n_failed = sum(1 for o in batch_outcomes if not o.ok)
            progress.advance(len(batch_outcomes) - n_failed, n_failed)
            future.release()
    except BaseException:
        client.cancel(futures, force=True)
        raise
    finally:
        client.cancel([shared], force=True)
    return [o for o in outcomes if o is not None]


def _lost(context: CallContext, index: int, values: Sequence[Any], error: Any) -> TaskOutcome:
    name = type(error).__name__
    worker_lost = name in {"KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError"}
    failure = CallFailure(
        index=index,
        kind="worker-lost" if worker_lost else "exception",
        exc_type=name,
        message=str(error),
        traceback="",
        arguments=context.template.describe(index, values),
        exception=error if isinstance(error, BaseException) else None,
    )
    return TaskOutcome(index=index, status=FAILED, failure=failure)
