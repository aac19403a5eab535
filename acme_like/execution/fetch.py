"""Fetch the results of finished tasks in groups, not one request each.

Used by ``tasks``; knows nothing of calls or outcomes.
"""

from __future__ import annotations

import time
from concurrent.futures import CancelledError
from typing import Any, Iterator

from distributed import Client, as_completed

from .gate import Gate, arrivals

#: Shortest time between two fetches of finished results (the progress bar's refresh too).
#: Each fetch costs the parent's scheduler CPU that local workers need (40 calls of 0.1 s:
#: 0.27 s of parent CPU at 0.2 s, 0.21 s at 1 s), but a finished result not yet fetched
#: dies with its worker: at 1 s a call exhausting memory took the results of its
#: neighbours with it in half the runs of tests/faults, at 0.2 s in none.
GATHER_INTERVAL_S = 0.2
#: How often the wait for more finished tasks looks again: the last task's result is
#: fetched at most this late (a few hundred cheap looks per second in the parent).
POLL_S = 0.002


def gathered(client: Client, completed: as_completed, gate: Gate | None = None) -> Iterator[list[tuple[Any, Any]]]:
    """Finished tasks with their results, fetched in one gather per group of finished tasks.

    Not one request each, and at most every GATHER_INTERVAL_S: on a local cluster the
    scheduler shares the cores with the workers, so each request would take time from
    the calls. A task that failed comes with its exception. The wait ends as soon as
    every task has finished (and the gate, if any, holds no call back).
    """
    last_gather = 0.0
    for arrived in arrivals(completed, gate):
        finished = list(arrived)
        if not finished:  # the gate released or blocked calls
            yield []
            continue
        wait_s = GATHER_INTERVAL_S - (time.monotonic() - last_gather)
        if completed.count() and wait_s > 0:
            # Let more tasks finish, then fetch them together; stop waiting when all have.
            deadline = time.monotonic() + wait_s
            while completed.count() and time.monotonic() < deadline:
                time.sleep(POLL_S)
                finished += completed.next_batch(block=False)
        last_gather = time.monotonic()
        ok = [f for f in finished if f.status == "finished"]
        results = dict(zip((f.key for f in ok), client.gather(ok, errors="skip"))) if ok else {}
        yield [(f, _result_of(f, results)) for f in finished]


def _result_of(future: Any, results: dict[str, Any]) -> Any:
    result = results.get(future.key)
    if result is None:
        result = future.exception() if future.status == "error" else CancelledError(future.key)
    return result
