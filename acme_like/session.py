"""Where a run's calls execute: the given client, the running one, or a cluster we start.

The one place that chooses between a local cluster (``execution.local``) and batch
workers (``batch.setup``), and that sizes the workers of a cluster ParallelMap
starts itself. Neither side imports this module back.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Callable

import dask
from distributed import Client

from .batch.setup import is_slurm_available, slurm_cluster_setup
from .core.caller import user_stacklevel
from .core.options import ClusterSpec
from .core.units import WORKER_BASE_BYTES, format_size
from .errors import AcmeLikeWarning, ClusterError
from .execution.local import check_local_config, cluster_cleanup, count_workers, running_client, start_local_client

logger = logging.getLogger(__name__)


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


#: Runs one sample call here and returns (seconds per call, peak bytes per call).
Measure = Callable[[], tuple[float, float]]


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
    answers = is_slurm_available()
    logger.debug("SLURM controller %s", "answers: batch workers" if answers else "absent: a local cluster")
    return answers


def acquire_client(cluster: ClusterSpec, n_calls: int, measure: Measure | None = None) -> ClientHandle:
    """Use the given client, else the running default client, else start a cluster we own.

    The cluster is local, or batch workers when SLURM answers (see :func:`batch_backend`);
    ``measure`` sizes batch workers from one sample call when partition or n_workers is "auto".
    """
    if cluster.client is not None:
        logger.info("Using the given dask client %s", _describe(cluster.client))
        return _checked(ClientHandle(cluster.client, owned=False))
    existing = running_client()
    if existing is not None:
        logger.info("Attaching to the running dask client %s", _describe(existing))
        return _checked(ClientHandle(existing, owned=False))
    if measure is not None and batch_backend() == "slurm":
        return ClientHandle(_start_slurm(cluster, n_calls, measure), owned=True)
    _warn_local_only(cluster)
    wanted = (os.cpu_count() or 1) if cluster.n_workers == "auto" else int(cluster.n_workers)
    started = start_local_client(max(1, min(wanted, n_calls)), cluster.mem_per_worker)
    return ClientHandle(started, owned=True)


def _warn_local_only(cluster: ClusterSpec) -> None:
    """Say so when a keyword that only batch workers read is given to a local run."""
    if cluster.partition != "auto":
        warnings.warn(
            f"partition={cluster.partition!r} has no effect: SLURM does not answer on this machine, so the "
            f"calls run on a local cluster. Leave partition out for local runs (dask config "
            f"acme_like.backend: slurm insists on SLURM).",
            AcmeLikeWarning,
            stacklevel=user_stacklevel(),
        )
    memory = _system_memory()
    if cluster.mem_per_worker is not None and memory is not None and cluster.mem_per_worker > memory:
        warnings.warn(
            f"mem_per_worker={format_size(cluster.mem_per_worker)} is more than this machine has "
            f"({format_size(memory)}): each local worker is limited to {format_size(memory)} instead.",
            AcmeLikeWarning,
            stacklevel=user_stacklevel(),
        )


def _system_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _start_slurm(cluster: ClusterSpec, n_calls: int, measure: Measure) -> Client:
    seconds = peak = None
    if cluster.partition == "auto" or cluster.n_workers == "auto":
        # A sample call here measures the memory the partition must hold and the work to share.
        seconds, peak = measure()
        logger.info("One sample call took %.3g s and peaked at %s", seconds, format_size(peak))
    count = auto_worker_count(n_calls, seconds, AUTO_WORKERS_MAX) if cluster.n_workers == "auto" else int(cluster.n_workers)
    estimated = None if peak is None else peak + WORKER_BASE_BYTES
    client = slurm_cluster_setup(
        cluster.partition, n_workers=max(1, min(count, n_calls)), mem_per_worker=cluster.mem_per_worker,
        n_workers_startup=1, timeout=cluster.setup_timeout, interactive=cluster.setup_interactive,
        estimated_bytes=estimated,
    )
    if client is None:
        raise ClusterError("No SLURM workers were started: the setup was aborted at the prompt.")
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


#: Most workers ParallelMap's n_workers="auto" asks for: one per call, but not thousands of jobs.
AUTO_WORKERS_MAX = 100


#: Seconds of work each batch-job worker should get when ParallelMap sizes a cluster itself.
TARGET_WORKER_SECONDS = 300.0


def auto_worker_count(n_calls: int, seconds_per_call: float | None, cap: int) -> int:
    """Workers for ``n_calls`` calls: about five minutes of work each, at most ``cap`` and ``n_calls``.

    Without a measured call time, one worker per ten calls.
    """
    if seconds_per_call is None:
        wanted = math.ceil(n_calls / 10)
    else:
        wanted = math.ceil(n_calls * max(seconds_per_call, 0.0) / TARGET_WORKER_SECONDS)
    return max(1, min(wanted, cap, n_calls))


class Session:
    """The client of one or several runs: acquired when a run first needs it, reused while it
    runs, and released only if this session started it (what ParallelMap and a pipeline share).
    Stages running at the same time connect from their own threads: the first starts the
    client, the others wait for it and use the same one.
    """

    def __init__(self, cluster: ClusterSpec | None = None, measure: Measure | None = None) -> None:
        self._cluster = cluster or ClusterSpec()
        if self._cluster.client is None:  # a local cluster may be started: its settings checked now
            check_local_config()
        self._measure = measure
        self._handle: ClientHandle | None = None
        self._last: Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Client | None:
        """The client the last run used (kept after release, to be looked at), or None."""
        return self._last

    @property
    def active(self) -> bool:
        """Whether a client is held (acquired and not yet released)."""
        return self._handle is not None

    @property
    def owned(self) -> bool:
        return self._handle is not None and self._handle.owned

    def connect(self, n_calls: int) -> Client:
        """The running client of this session, acquired first if needed (sized for ``n_calls``)."""
        with self._lock:
            if self._handle is None or self._handle.client.status != "running":
                from .execution.tuning import tune_workers

                self._handle = acquire_client(self._cluster, n_calls, self._measure)
                tune_workers(self._handle.client)
                self._last = self._handle.client
            return self._handle.client

    def sends_pickles(self) -> bool:
        """Whether the calls would travel pickled: False only for a client whose workers are
        threads of this process (``inproc://``), as a ``LocalCluster(processes=False)``'s are."""
        client = self._handle.client if self._handle is not None else self._cluster.client or running_client()
        if client is None:
            return True  # the cluster this session would start has worker processes
        try:
            return not str(client.scheduler.address).startswith("inproc://")
        except AttributeError:  # pragma: no cover - a client without a scheduler is refused later
            return True

    def n_workers(self) -> int | None:
        """Workers connected now, or None without a client."""
        return None if self._handle is None else count_workers(self._handle.client)

    def forecast_workers(self, n_calls: int) -> int:
        """How many workers a run of ``n_calls`` would use now, without starting any."""
        running = self.n_workers()
        if running is not None:
            return max(1, running)
        client = self._cluster.client or running_client()
        if client is not None:
            return max(1, count_workers(client))
        wanted = (os.cpu_count() or 1) if self._cluster.n_workers == "auto" else int(self._cluster.n_workers)
        return max(1, min(wanted, n_calls))

    def release(self, stop_client: bool | str | None = None) -> None:
        """Close the client per ``stop_client`` (default: the session's); forget it either way."""
        with self._lock:
            if self._handle is None:
                return
            handle, self._handle = self._handle, None
        handle.release(self._cluster.stop_client if stop_client is None else stop_client)
