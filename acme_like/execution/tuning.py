"""Make the workers of clusters this package starts run user code at full speed.

dask's defaults cost user code time: a malloc trim threshold that slows numpy's
temporaries, and background timers that wake every process many times a second.
This module holds the dask settings and the worker plugin that undo them (dask
config ``acme_like.tune-workers: false`` leaves dask as it is). It starts no cluster.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import weakref
from typing import Any

import dask
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

logger = logging.getLogger(__name__)


# dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes numpy code
# that allocates temporaries several times slower; clusters we start keep glibc's default.
_WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


_DASK_MALLOC_TRIM = "65536"


# dask's background timers wake every process of a cluster many times a second: an
# event-loop tick every 20 ms, a statistical profiler sampling each worker every 10 ms,
# a system monitor every 0.5 s. On an idle 2-core machine they took 6.5% of a core in
# the parent and 4% in each worker, time taken from the calls when every core computes.
# Clusters we start tick every 0.2 s, sample no profile and monitor every 2 s (idle:
# 1.8% and 0.5%). The nanny's memory check keeps dask's 0.1 s: it stops runaway calls.
_QUIET_TIMERS = {
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
}


def own_cluster_config() -> dict[str, Any]:
    """The dask settings clusters this package starts are created under."""
    if not dask.config.get("acme_like.tune-workers", True):
        return {}
    return {**_WORKER_ENVIRON, **_QUIET_TIMERS}


def drop_leaked_malloc_trim() -> None:
    """Remove the ``MALLOC_TRIM_THRESHOLD_=65536`` an earlier dask cluster left in this
    process's environment (dask's nanny copies its pre-spawn settings into ``os.environ``),
    which every later worker process would inherit."""
    if dask.config.get("acme_like.tune-workers", True) and os.environ.get("MALLOC_TRIM_THRESHOLD_") == _DASK_MALLOC_TRIM:
        del os.environ["MALLOC_TRIM_THRESHOLD_"]


def batch_worker_environ() -> dict[str, str]:
    """The quieter timers as environment variables, for worker jobs a batch system starts."""
    if not dask.config.get("acme_like.tune-workers", True):
        return {}
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value) for key, value in _QUIET_TIMERS.items()}


def relax_malloc_trim() -> bool:
    """Let glibc keep freed memory for reuse instead of returning it after every free.

    dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes numpy code that
    allocates temporaries several times slower; a worker already running gets glibc's
    usual thresholds back through ``mallopt``. Returns whether that was possible.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_trim_threshold, 64 * 2**20)) and bool(libc.mallopt(m_mmap_threshold, 32 * 2**20))


#: Container objects made (net) between two passes of the collector over the newest ones;
#: Python's 700 makes a batch of tiny calls (a few objects each) spend a quarter of its time there.
GC_YOUNG_THRESHOLD = 10_000


_FROZEN = False  # whether this process froze what it held already (done once)


def relax_gc() -> None:
    """Make Python's cyclic garbage collector cost tiny calls less.

    What the worker holds once it has started (modules, dask's own state) is frozen out of
    the collector's passes (``gc.freeze``, once per process, after a pass over the young
    generations, where the start's garbage is: about 1 ms, where a full collection takes
    35 ms of the first run's start), and a pass over the newest objects waits for
    :data:`GC_YOUNG_THRESHOLD` of them instead of 700. Cyclic garbage is still collected.
    """
    global _FROZEN
    if not _FROZEN:
        gc.collect(1)
        gc.freeze()
        _FROZEN = True
    young, *older = gc.get_threshold()
    if young:  # 0: the collector is off, and stays off
        gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)


class FastAllocation(WorkerPlugin):
    """Applies :func:`relax_malloc_trim` and :func:`relax_gc` on every worker, also on workers
    that join later."""

    name = "acme_like-fast-allocation"

    def setup(self, worker: Any) -> None:
        relax_malloc_trim()
        relax_gc()


#: The scheduler each client's workers were tuned through: the scheduler keeps the plugin
#: for workers that join or restart, so a client is tuned once (a round trip to every worker).
_TUNED: "weakref.WeakKeyDictionary[Client, str]" = weakref.WeakKeyDictionary()


def tune_workers(client: Client) -> None:
    """Make the workers run user code at full speed (dask config ``acme_like.tune-workers``)."""
    if not dask.config.get("acme_like.tune-workers", True):
        return
    scheduler = str(getattr(client.scheduler, "address", ""))
    if _TUNED.get(client) == scheduler:
        return
    try:
        client.register_plugin(FastAllocation(), name=FastAllocation.name)
    except Exception as exc:  # a scheduler refusing plugins still runs the calls
        logger.debug("Could not tune the workers' memory allocator: %s", exc)
    else:
        _TUNED[client] = scheduler
