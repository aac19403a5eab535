"""Tell why a worker died: killed by its nanny for exceeding its memory limit, or its process ended.

Asks the scheduler for the nannies' memory-kill events and the nannies' own log
lines ("Worker process 123 exited with status 3", "... was killed by signal 11"),
matched by the dead worker's process id. Reads only; never decides what runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import time
from typing import Any

from distributed import Client


logger = logging.getLogger(__name__)

#: Recent nanny log lines searched for a worker's end.
LOG_LINES = 200
_DEATH_LINE = re.compile(r"Worker process (\d+) (exited with status -?\d+|was killed by (?:unknown )?signal ?\d*)")


def worker_pid(error: Any) -> int | None:
    """The process id of the last worker a ``KilledWorker`` names, if it says."""
    pid = getattr(getattr(error, "last_worker", None), "pid", None)
    return pid if isinstance(pid, int) else None


class DeathLines(logging.Handler):
    """Keeps the death lines of nannies running in this process (a local cluster's) while
    a run lasts: ``with DeathLines():`` adds it to dask's nanny logger and removes it after."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ended: dict[int, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = _DEATH_LINE.search(record.getMessage())
        if found:
            self.ended[int(found.group(1))] = _named(found.group(2))

    def __enter__(self) -> "DeathLines":
        logging.getLogger("distributed.nanny").addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        logging.getLogger("distributed.nanny").removeHandler(self)


def death_lines(client: Client, local: DeathLines | None = None, timeout_s: float = 2.0) -> dict[int, str]:
    """How each worker process the nannies recently saw end ended, by process id: from the
    nannies in this process, and from the others' logs (asked for at most ``timeout_s``)."""
    ended = dict(local.ended) if local is not None else {}

    async def ask() -> Any:
        return await asyncio.wait_for(client.scheduler.worker_logs(n=LOG_LINES, nanny=True), timeout_s)

    try:
        logs = client.sync(ask)
    except Exception:  # no workers right now, a nanny gone, or an older scheduler
        return ended
    for entries in logs.values():
        for entry in entries:
            found = _DEATH_LINE.search(str(entry[1] if isinstance(entry, (tuple, list)) else entry))
            if found:
                ended[int(found.group(1))] = _named(found.group(2))
    return ended


def new_deaths(
    client: Client, before: dict[int, str], pid: int | None, local: DeathLines | None = None, wait_s: float = 1.0
) -> dict[int, str]:
    """The worker processes that ended since ``before`` was taken (``pid`` among them, if given).

    A nanny logs the death a moment after the scheduler notices it: wait up to ``wait_s``.
    """
    deadline = time.monotonic() + wait_s
    while True:
        new = {p: how for p, how in death_lines(client, local).items() if p not in before}
        if (pid in new if pid is not None else new) or time.monotonic() >= deadline:
            return new
        time.sleep(0.1)


def tell_death(client: Client, pid: int | None, since: float, ended: dict[int, str]) -> tuple[str, str]:
    """``(kind, how)``: "memory" or "crash", and how the worker process ended.

    ``pid`` is the dead worker's, if known; ``ended`` the processes that ended while the
    call ran (``new_deaths``). ``how`` reads "was killed by signal 11 (SIGSEGV)",
    "exited with status 3", or says the status is unknown when nothing tells.
    """
    pids = [pid] if pid is not None else sorted(ended)
    kill = _memory_kill(client, pids, since)
    if kill is not None:
        return "memory", kill
    for p in pids:
        if p in ended:
            return "crash", ended[p]
    return "crash", "died (exit status unknown)"


def _memory_kill(client: Client, pids: list[int], since: float) -> str | None:
    try:
        events = client.get_events("worker-restart-memory")
    except Exception:  # an older scheduler, or a closed one
        return None
    for stamp, event in events:
        if stamp >= since and isinstance(event, dict) and (not pids or event.get("pid") in pids):
            rss = event.get("rss")
            size = f" (at {rss / 2**20:.0f} MiB)" if isinstance(rss, (int, float)) else ""
            return f"was killed by its nanny for exceeding its memory limit{size}"
    return None


def _named(how: str) -> str:
    number = re.search(r"signal (\d+)$", how)
    if number:
        try:
            return f"{how} ({signal.Signals(int(number.group(1))).name})"
        except ValueError:
            return how
    return how
