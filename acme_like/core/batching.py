"""How many calls travel in one task: sized from measured call time, so tasks carry real work.

Pure arithmetic; the runner measures, this module decides.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

#: Seconds of work one task should carry: dask costs a few milliseconds per task.
TARGET_TASK_SECONDS = 0.2
#: Tasks per worker at least: the last task of a worker then holds at most ~5 % of its
#: work, so the load stays balanced to the end.
TASKS_PER_WORKER = 20
MAX_BATCH = 10_000


def choose_batch_size(seconds_per_call: float, n_remaining: int, n_workers: int) -> int:
    """Calls per task: about ``TARGET_TASK_SECONDS`` of work, yet several tasks per worker."""
    if n_remaining <= 0:
        return 1
    by_time = math.floor(TARGET_TASK_SECONDS / max(seconds_per_call, 1e-6))
    by_balance = math.ceil(n_remaining / (TASKS_PER_WORKER * max(1, n_workers)))
    return max(1, min(by_time, by_balance, MAX_BATCH))


def probe_count(n_calls: int, n_workers: int) -> int:
    """How many single-call tasks measure the call time before batching starts."""
    return min(n_calls, 2 * max(1, n_workers))


def split(indices: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """``indices`` in consecutive groups of ``size``."""
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


