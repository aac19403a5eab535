"""Find or start the dask client a run uses, and close only what was started.

Order: an explicit ``client=``, else the running default client, else a new
``LocalCluster`` sized to the machine and the number of calls. The result is a
:class:`ClientHandle` that remembers whether we own the client. Also the public
``local_cluster_setup`` and ``cluster_cleanup`` known from ACME. This module
knows nothing of partitions or sbatch.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any, Callable

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from .errors import ClusterError, InputTypeError

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


class FastAllocation(WorkerPlugin):
    """Applies :func:`relax_malloc_trim` on every worker, also on workers that join later."""

    name = "acme_like-fast-allocation"

    def setup(self, worker: Any) -> None:
        relax_malloc_trim()


def tune_workers(client: Client) -> None:
    """Make the workers run user code at full speed (dask config ``acme_like.tune-workers``)."""
    if not dask.config.get("acme_like.tune-workers", True):
        return
    try:
        client.register_plugin(FastAllocation(), name=FastAllocation.name)
    except Exception as exc:  # a scheduler refusing plugins still runs the calls
        logger.debug("Could not tune the workers' memory allocator: %s", exc)


@dataclass(frozen=True, slots=True)
class ClientHandle:
    """A client and whether this package started it (and so may stop it)."""

    client: Client
    owned: bool

    @property
    def n_workers(self) -> int:
        return count_workers(self.client)

    def release(self, stop_client: bool | str = "auto") -> None:
        """Close the client per ``stop_client``: "auto" closes it only if owned."""
        if stop_client is True or (stop_client == "auto" and self.owned):
            cluster_cleanup(self.client)


def count_workers(client: Client) -> int:
    """The number of workers connected to ``client``'s scheduler right now."""
    return len(client.scheduler_info(n_workers=-1).get("workers", {}))


def workers_are_local(client: Client) -> bool:
    """True when every worker runs on this machine (so files in /dev/shm or /tmp reach them)."""
    from distributed.comm import get_address_host

    own = {"127.0.0.1", "localhost", "::1", socket.gethostname()}
    try:
        own.add(socket.gethostbyname(socket.gethostname()))
    except OSError:
        pass
    addresses = list(client.scheduler_info(n_workers=-1).get("workers", {}))
    if not addresses:
        return False
    for address in addresses:
        if address.startswith("inproc://"):
            continue
        try:
            if get_address_host(address) not in own:
                return False
        except ValueError:
            return False
    return True


def running_client() -> Client | None:
    """The process's default dask client, if one is running."""
    try:
        return Client.current()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SlurmWishes:
    """What ParallelMap asks of SLURM workers it starts itself (ACME's keywords)."""

    partition: str
    setup_timeout: float
    setup_interactive: bool
    measure: Callable[[], tuple[float, float]]  # -> (seconds per call, peak bytes per call)


def batch_backend() -> str:
    """Where a cluster ParallelMap starts runs: "slurm" or "local".

    Set by dask config ``acme_like.backend``: "auto" (default: SLURM when ``sinfo``
    answers), "local" or "slurm".
    """
    backend = dask.config.get("acme_like.backend", "auto")
    if backend not in ("auto", "local", "slurm"):
        raise ClusterError(
            f'dask config acme_like.backend must be "auto", "local" or "slurm", got {backend!r}. '
            f"Fix it in your dask configuration (e.g. ~/.config/dask/acme_like.yaml)."
        )
    if backend == "auto":
        return "slurm" if _slurm_answers() else "local"
    return str(backend)


@functools.lru_cache(maxsize=1)
def _slurm_answers() -> bool:
    """Whether SLURM's controller answers; asked once per process."""
    from .slurm import is_slurm_available

    answers = is_slurm_available()
    logger.debug("SLURM controller %s", "answers: batch workers" if answers else "absent: a local cluster")
    return answers


def acquire_client(
    client: Client | None,
    n_workers: int | str,
    n_calls: int,
    mem_per_worker: str | None = None,
    slurm: SlurmWishes | None = None,
) -> ClientHandle:
    """Use ``client``, else the running default client, else start a cluster we own.

    The cluster is local, or SLURM workers when SLURM answers (see :func:`batch_backend`).
    """
    if client is not None:
        logger.info("Using the given dask client %s", _describe(client))
        return _checked(ClientHandle(client, owned=False))
    existing = running_client()
    if existing is not None:
        logger.info("Attaching to the running dask client %s", _describe(existing))
        return _checked(ClientHandle(existing, owned=False))
    if slurm is not None and batch_backend() == "slurm":
        return ClientHandle(_start_slurm(slurm, n_workers, n_calls, mem_per_worker), owned=True)
    wanted = (os.cpu_count() or 1) if n_workers == "auto" else int(n_workers)
    started = start_local_client(max(1, min(wanted, n_calls)), mem_per_worker)
    return ClientHandle(started, owned=True)


def _start_slurm(wishes: SlurmWishes, n_workers: int | str, n_calls: int, mem_per_worker: str | None) -> Client:
    from .batching import auto_worker_count
    from .slurm import AUTO_WORKERS_MAX, acquire_slurm_client

    seconds = peak = None
    if wishes.partition == "auto" or n_workers == "auto":
        # A sample call here measures the memory the partition must hold and the work to share.
        seconds, peak = wishes.measure()
        logger.info("One sample call took %.3g s and peaked at %.0f MB", seconds, peak / 1e6)
    count = auto_worker_count(n_calls, seconds, AUTO_WORKERS_MAX) if n_workers == "auto" else int(n_workers)
    estimated = None if peak is None else peak + _WORKER_BASE_BYTES
    client = acquire_slurm_client(
        wishes.partition, count, mem_per_worker, wishes.setup_timeout, wishes.setup_interactive, n_calls, estimated
    )
    if client is None:
        raise ClusterError("No SLURM workers were started: the setup was aborted at the prompt.")
    return client


#: Memory a dask worker process needs besides the call itself.
_WORKER_BASE_BYTES = 256 * 2**20


def start_local_client(n_workers: int, mem_per_worker: str | None = None) -> Client:
    """Start a LocalCluster of ``n_workers`` one-thread worker processes, bound to localhost."""
    drop_leaked_malloc_trim()
    try:
        with dask.config.set(own_cluster_config()):
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                memory_limit=mem_per_worker or "auto",
            )
    except RuntimeError as exc:
        if "bootstrapping phase" in str(exc) or "freeze_support" in str(exc):
            raise ClusterError(
                "could not start local worker processes: the calling script has no "
                '`if __name__ == "__main__":` block. Put the code that creates ParallelMap '
                "under that block (worker processes import the script)."
            ) from exc
        raise
    client = Client(cluster)
    logger.info(
        "Started a local dask cluster with %d workers; dashboard at %s",
        n_workers,
        cluster.dashboard_link,
    )
    return client


def _checked(handle: ClientHandle) -> ClientHandle:
    if handle.client.status != "running":
        raise ClusterError(
            f"the dask client {handle.client} is {handle.client.status}, not running. Start a new "
            f"one, or let ParallelMap start a local cluster by closing the old client first."
        )
    if count_workers(handle.client) == 0:
        try:
            handle.client.wait_for_workers(1, timeout=10)
        except Exception:
            raise ClusterError(
                f"the dask client {handle.client} has no workers (waited 10 s). Restart its "
                f"cluster (client.restart()) or close it (acme_like.cluster_cleanup()) so that "
                f"ParallelMap can start a fresh one."
            ) from None
    return handle


def _describe(client: Client) -> str:
    try:
        return f"{client.scheduler.address} with {count_workers(client)} workers"
    except Exception:  # pragma: no cover - a broken client is reported by _checked
        return repr(client)


def local_cluster_setup(
    n_workers: int | None = None, mem_per_worker: str | None = None, interactive: bool = True
) -> Client | None:
    """Start a local dask cluster and return its client, ready to reuse across ParallelMaps.

    Parameters
    ----------
    n_workers : int, optional
        Number of worker processes (one thread each); default: one per core.
    mem_per_worker : str, optional
        Memory limit of each worker, e.g. ``"2GB"``; default: the machine's memory
        divided among the workers.
    interactive : bool
        When stdin is a terminal, ask for confirmation first (as ACME does); answer
        "n" to get ``None`` and start nothing.

    Returns
    -------
    distributed.Client or None

    Examples
    --------
    >>> client = local_cluster_setup(n_workers=2, interactive=False)  # doctest: +SKIP
    >>> # every ParallelMap now attaches to it
    >>> cluster_cleanup(client)  # doctest: +SKIP
    """
    if not isinstance(interactive, bool):
        raise InputTypeError(f"interactive must be True or False, got {type(interactive).__name__} {interactive!r}.")
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1):
        raise InputTypeError(f"n_workers must be a positive int or None, got {n_workers!r}.")
    if mem_per_worker is not None and not isinstance(mem_per_worker, str):
        raise InputTypeError(f'mem_per_worker must be a string like "2GB" or None, got {mem_per_worker!r}.')
    if interactive and sys.stdin is not None and sys.stdin.isatty():
        answer = input(
            "Starting a local dask cluster. If this runs from a script, is your code inside an "
            '`if __name__ == "__main__":` block? [Y/n] '
        )
        if answer.strip().lower() in {"n", "no"}:
            return None
    return start_local_client(n_workers or os.cpu_count() or 1, mem_per_worker)


def cluster_cleanup(client: Any = None) -> None:
    """Close ``client`` (default: the running default client) and the cluster it owns.

    Examples
    --------
    >>> cluster_cleanup()  # doctest: +SKIP
    """
    if client is None:
        client = running_client()
        if client is None:
            logger.warning("No running dask client found; nothing to shut down.")
            return
    if not isinstance(client, Client):
        raise InputTypeError(f"client must be a dask distributed Client, got {type(client).__name__} {client!r}.")
    cluster = client.cluster
    address = getattr(client.scheduler, "address", "?")
    n_workers = count_workers(client) if client.status == "running" else 0
    client.close()
    if cluster is not None:
        try:
            cluster.close()
        except Exception as exc:  # the client is closed either way
            logger.warning("Closing the cluster at %s failed: %s", address, exc)
    logger.info("Shut down the dask cluster at %s with %d workers", address, n_workers)
