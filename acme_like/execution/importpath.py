"""The caller's ``sys.path`` on the workers, so functions from the caller's own modules load there.

A function is pickled by reference (module and name), so a worker can run it only if
it can import its module. ACME sets each worker's ``sys.path`` to the caller's before
the calls; this module does the same more gently: a worker plugin puts the caller's
entries that the worker lacks, and that exist on the worker, in front of its own path,
also on workers that join later. It starts no cluster and runs no calls.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import weakref
from typing import Any, Iterable, Sequence

from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

logger = logging.getLogger(__name__)


def caller_path(entries: Iterable[str] | None = None) -> tuple[str, ...]:
    """The entries of ``sys.path`` (default: this process's) that exist here, made absolute.

    The empty entry (the working directory, as in ``python -c``) becomes that directory.
    """
    found: list[str] = []
    for entry in sys.path if entries is None else entries:
        if not isinstance(entry, str):
            continue
        path = os.path.abspath(entry or os.getcwd())
        if path not in found and os.path.exists(path):
            found.append(path)
    return tuple(found)


def add_to_sys_path(entries: Sequence[str]) -> list[str]:
    """Put the ``entries`` missing from ``sys.path`` and existing here in front of it, in order."""
    missing = [e for e in dict.fromkeys(entries) if e not in sys.path and os.path.exists(e)]
    if missing:
        sys.path[:0] = missing
        importlib.invalidate_caches()
    return missing


class CallerPath(WorkerPlugin):
    """Adds the caller's ``sys.path`` entries to every worker (see :func:`add_to_sys_path`)."""

    name = "acme_like-caller-sys-path"

    def __init__(self, entries: Sequence[str]) -> None:
        self.entries = tuple(entries)

    def setup(self, worker: Any) -> None:
        add_to_sys_path(self.entries)


#: What each client's scheduler was last given: its address and the entries. The scheduler
#: keeps a plugin and gives it to workers that join or restart, so the same entries are
#: not sent again (a round trip to every worker, a few ms of each run on a warm cluster).
_SENT: "weakref.WeakKeyDictionary[Client, tuple[str, tuple[str, ...]]]" = weakref.WeakKeyDictionary()


def send_caller_path(client: Client) -> None:
    """Give the workers of ``client`` this process's ``sys.path`` before any call is sent."""
    entries = caller_path()
    sent = (str(getattr(client.scheduler, "address", "")), entries)
    if _SENT.get(client) == sent:
        return
    try:
        client.register_plugin(CallerPath(entries), name=CallerPath.name)
    except Exception as exc:  # a scheduler refusing plugins still runs calls of installed modules
        logger.debug("Could not send sys.path to the workers: %s", exc)
    else:
        _SENT[client] = sent
