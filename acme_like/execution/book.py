"""Keep the books of one run's tasks: which calls each task carries, how often a call took its worker down.

The gather loop (``tasks.py``) asks the book for task keys, tells it what became of
each task, and submits what the book says runs next. The rule it keeps:

* a task cancelled together with others (its shared context died with every worker
  holding it) runs again as it was, in parallel with the rest;
* every call of a task whose worker died becomes a *suspect*: it runs again alone,
  one call per task, once no other task is in flight, so a worker death during that
  task is that call's doing and nobody else's;
* a suspect that takes its worker down alone more than ``lost_retries`` times fails.

The book submits nothing and imports no dask, so it is tested without a cluster;
the shared context is re-sent through the ``scatter`` callable it is given, unless it
travels inside each task (``carried``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterable, Sequence

#: How often a task cancelled with others (not by its own doing) runs again before its
#: calls become suspects.
MAX_REQUEUES = 2


class TaskBook:
    """Keys, groups and worker-death counts of the tasks of one run."""

    def __init__(self, prefix: str, lost_retries: int, scatter: Callable[[], Any], carried: Any = None) -> None:
        self._prefix = prefix
        self._lost_retries = lost_retries
        self._scatter = scatter
        self._carried = carried  # the context, carried in each task instead of scattered
        self._shared: list[Any] = []  # every scatter of the context, the newest last
        self._groups: dict[str, tuple[int, ...]] = {}
        self._solo: set[str] = set()
        self._submitted: dict[int, int] = {}  # tasks started so far whose first call is this index
        self._requeued: dict[int, int] = {}
        self._deaths: dict[int, int] = {}  # worker deaths while the call ran alone
        self._again: list[tuple[int, ...]] = []
        self._suspects: deque[int] = deque()

    def shared(self) -> Any:
        """The scattered context, sent again when every worker holding it died (or the carried one)."""
        if self._carried is not None:
            return self._carried
        if not self._shared or self._shared[-1].status != "finished":
            self._shared.append(self._scatter())
        return self._shared[-1]

    @property
    def scattered(self) -> list[Any]:
        return list(self._shared)

    def keys(self, chunks: Iterable[Sequence[int]], solo: bool = False) -> list[str]:
        """A fresh, unique key for each chunk of calls; the book remembers what each carries."""
        keys = []
        for chunk in chunks:
            first = chunk[0]
            n = self._submitted[first] = self._submitted.get(first, -1) + 1
            key = f"{self._prefix}-{first}" + (f"-retry{n}" if n else "")
            self._groups[key] = tuple(chunk)
            if solo:
                self._solo.add(key)
            keys.append(key)
        return keys

    def take(self, key: str) -> tuple[tuple[int, ...], bool]:
        """The calls of a task that has ended, and whether it ran alone; the book forgets the task."""
        solo = key in self._solo
        self._solo.discard(key)
        return self._groups.pop(key), solo

    @property
    def in_flight(self) -> int:
        return len(self._groups)

    def cancelled(self, calls: Sequence[int]) -> None:
        """A task was cancelled with others (not alone): run it again as it was, or suspect its calls."""
        first = calls[0]
        self._requeued[first] = self._requeued.get(first, 0) + 1
        if self._requeued[first] <= MAX_REQUEUES:
            self._again.append(tuple(calls))
        else:
            self._suspects.extend(calls)

    def killed(self, calls: Sequence[int], solo: bool, deaths: int = 1) -> list[int]:
        """A task's worker died ``deaths`` times; returns the calls that have now failed for good."""
        if not solo:
            self._suspects.extend(calls)
            return []
        (index,) = calls
        self._deaths[index] = self._deaths.get(index, 0) + deaths
        if self._deaths[index] > self._lost_retries:
            return [index]
        # Again, after the other suspects: they run while the workers are still healthy
        # (a nanny that restarts its worker again and again may stop doing so).
        self._suspects.append(index)
        return []

    def deaths(self, index: int) -> int:
        """How often call ``index`` took its worker down while it ran alone."""
        return self._deaths.get(index, 0)

    def take_again(self) -> list[tuple[int, ...]]:
        """Tasks to submit again now, in parallel with the others."""
        again, self._again = self._again, []
        return again

    def next_suspect(self) -> int | None:
        """The next call to run alone, once nothing else is in flight."""
        if self._groups or self._again or not self._suspects:
            return None
        return self._suspects.popleft()

    @property
    def n_suspects(self) -> int:
        return len(self._suspects)
