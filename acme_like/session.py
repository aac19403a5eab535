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
from dataclasses import dataclass
from typing import Callable

import dask
from distributed import Client

from .batch.setup import is_slurm_available, slurm_cluster_setup
from .errors import ClusterError
from .execution.local import cluster_cleanup, count_workers, running_client, start_local_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClientHandle:
    """A client and whether this package started it (and so may stop it)."""

    client: Client
    owned: bool

    @property
    def n_workers(self) -> int:
        return count_workers(self.client)

    def forecast_workers(self, n_calls: int) -> int:
        """How many workers a run of ``n_calls`` would use now, without starting any."""
        running = self.n_workers()
        if running is not None:
            return max(1, running)
        client = self._given or running_client()
        if client is not None:
            return max(1, count_workers(client))
        wanted = (os.cpu_count() or 1) if self._n_workers == "auto" else int(self._n_workers)
        return max(1, min(wanted, n_calls))

    def release(self, stop_client: bool | str = "auto") -> None:
        """Close the client per ``stop_client``: "auto" closes it only if owned."""
        if stop_client is True or (stop_client == "auto" and self.owned):
            cluster_cleanup(self.client)


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


def acquire_slurm_client(
    partition: str,
    n_workers: int,
    mem_per_worker: str | None,
    setup_timeout: float,
    setup_interactive: bool,
    n_calls: int,
    estimated_bytes: float | None = None,
) -> Client | None:
    """The batch client ParallelMap starts and owns: ``n_workers`` workers, never more than calls.

    Returns None if the person at the terminal aborted while waiting for workers.
    """
    return slurm_cluster_setup(
        partition, n_workers=max(1, min(n_workers, n_calls)), mem_per_worker=mem_per_worker,
        n_workers_startup=1, timeout=setup_timeout, interactive=setup_interactive, estimated_bytes=estimated_bytes,
    )


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
    """

    def __init__(
        self,
        client: Client | None = None,
        n_workers: int | str = "auto",
        mem_per_worker: str | None = None,
        stop_client: bool | str = "auto",
        slurm: SlurmWishes | None = None,
    ) -> None:
        self._given = client
        self._n_workers = n_workers
        self._mem_per_worker = mem_per_worker
        self._stop_client = stop_client
        self._slurm = slurm
        self._handle: ClientHandle | None = None
        self._last: Client | None = None

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
        if self._handle is None or self._handle.client.status != "running":
            from .execution.tuning import tune_workers

            self._handle = acquire_client(self._given, self._n_workers, n_calls, self._mem_per_worker, self._slurm)
            tune_workers(self._handle.client)
            self._last = self._handle.client
        return self._handle.client

    def n_workers(self) -> int | None:
        """Workers connected now, or None without a client."""
        return None if self._handle is None else count_workers(self._handle.client)

    def forecast_workers(self, n_calls: int) -> int:
        """How many workers a run of ``n_calls`` would use now, without starting any."""
        running = self.n_workers()
        if running is not None:
            return max(1, running)
        client = self._given or running_client()
        if client is not None:
            return max(1, count_workers(client))
        wanted = (os.cpu_count() or 1) if self._n_workers == "auto" else int(self._n_workers)
        return max(1, min(wanted, n_calls))

    def release(self, stop_client: bool | str | None = None) -> None:
        """Close the client per ``stop_client`` (default: the session's); forget it either way."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        handle.release(self._stop_client if stop_client is None else stop_client)
