"""How many calls travel in one task: sized from measured call time, so tasks carry real work.

Pure arithmetic; the tasks measure, this module decides.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

#: Seconds of work one task should carry: dask costs a few milliseconds per task.
TARGET_TASK_SECONDS = 0.2
#: Tasks per worker at least: the last task of a worker then holds at most ~5 % of its
#: work, so the load stays balanced to the end.
TASKS_PER_WORKER = 20
#: Seconds of work one task carries at least, when calls are timed (unless fewer calls are
#: left than that per worker): the parent fetches results and refills the workers every
#: 0.2 s (``execution.fetch.GATHER_INTERVAL_S``) with at most 8 tasks each in flight, so
#: shorter tasks would leave a worker idle between two fetches (100,000 calls of 5 us:
#: tasks of 1,500 calls, 8 ms each, kept the workers busy a third of the time).
MIN_TASK_SECONDS = 0.05
MAX_BATCH = 10_000
#: Tasks per worker that carry all calls at first: one running, one queued behind it, so
#: a worker never waits for the parent while the call time is being measured.
FIRST_TASKS_PER_WORKER = 2
#: Calls in one of those first tasks at most: enough to keep a worker busy for the parent's
#: round trip when calls are tiny, few enough that the parent does not send most calls twice
#: (the rest wait in the parent until the first tasks have measured the call time).
MAX_FIRST_CHUNK = 20_000


def choose_batch_size(seconds_per_call: float, n_remaining: int, n_workers: int) -> int:
    """Calls per task: about ``TARGET_TASK_SECONDS`` of work, yet several tasks per worker,
    and no task under ``MIN_TASK_SECONDS`` while each worker still gets one."""
    if n_remaining <= 0:
        return 1
    per_call = max(seconds_per_call, 1e-6)
    by_time = math.floor(TARGET_TASK_SECONDS / per_call)
    by_balance = math.ceil(n_remaining / (TASKS_PER_WORKER * max(1, n_workers)))
    floor = min(math.floor(MIN_TASK_SECONDS / per_call), math.ceil(n_remaining / max(1, n_workers)))
    return max(1, min(by_time, max(by_balance, floor), MAX_BATCH))


def first_chunks(n_calls: int, n_workers: int) -> int:
    """How many tasks carry the calls at first, before any call time is known.

    Each runs its calls until ``TARGET_TASK_SECONDS`` are spent and hands back the
    ones it did not start, which travel again in tasks sized from the time measured.
    """
    return min(n_calls, FIRST_TASKS_PER_WORKER * max(1, n_workers))


def first_wave(
    indices: Sequence[int], n_workers: int, max_chunk: int = MAX_FIRST_CHUNK
) -> tuple[list[Sequence[int]], Sequence[int]]:
    """The chunks of the first tasks, and the calls that wait until the call time is known."""
    n_chunks = first_chunks(len(indices), n_workers)
    n_first = min(len(indices), n_chunks * min(max_chunk, MAX_FIRST_CHUNK))
    return split_evenly(indices[:n_first], n_chunks), indices[n_first:]


def split_evenly(indices: Sequence[int], n_chunks: int) -> list[Sequence[int]]:
    """``indices`` in ``n_chunks`` consecutive groups whose sizes differ by at most one."""
    n_chunks = max(1, min(n_chunks, len(indices)))
    size, extra = divmod(len(indices), n_chunks)
    bounds = [k * size + min(k, extra) for k in range(n_chunks + 1)]
    return [indices[bounds[k] : bounds[k + 1]] for k in range(n_chunks)]


def split(indices: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """``indices`` in consecutive groups of ``size``."""
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


