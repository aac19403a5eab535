"""Local dask clusters: start one, find the running one, count and close workers.

Clusters started here speak TLS with credentials made for the cluster (see
``security``), so other users of the machine cannot connect. Also the public
``local_cluster_setup`` and ``cluster_cleanup`` known from ACME. Knows nothing of
batch systems; ``session`` chooses between this and ``batch``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import weakref
from pathlib import Path
from typing import Any, Sequence

import dask
from distributed import Client, LocalCluster

from ..errors import ClusterError, InputTypeError
from .dashboard import bokeh_problem, describe_dashboard
from .dashboard_start import cancel_dashboard, dashboard_delay, scheduler_options, serve_dashboard_later
from .main_script import guard_advice, spawn_without_script
from .security import TLS_CERT, TLS_KEY, local_tls_enabled, private_directory, remove_directory, write_credentials
from .tuning import drop_leaked_malloc_trim, own_cluster_config

logger = logging.getLogger(__name__)


def count_workers(client: Client) -> int:
    """The number of workers connected to ``client``'s scheduler right now."""
    return len(worker_addresses(client))


def worker_addresses(client: Client) -> list[str]:
    """The addresses of the workers connected to ``client``'s scheduler right now (one round trip)."""
    return list(client.scheduler_info(n_workers=-1).get("workers", {}))


def workers_are_local(addresses: Sequence[str]) -> bool:
    """True when every worker at ``addresses`` runs on this machine (so files in /dev/shm or /tmp reach them)."""
    from distributed.comm import get_address_host

    own = {"127.0.0.1", "localhost", "::1", socket.gethostname()}
    try:
        own.add(socket.gethostbyname(socket.gethostname()))
    except OSError:
        pass
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


#: The finalizer that deletes each running local cluster's credentials (run by cluster_cleanup too).
_CREDENTIALS: "weakref.WeakKeyDictionary[Any, weakref.finalize]" = weakref.WeakKeyDictionary()


def check_local_config() -> None:
    """Refuse bad dask config values of local clusters (``acme_like.local-tls``,
    ``acme_like.dashboard-delay``) before a run creates anything, not when its cluster starts."""
    local_tls_enabled()
    dashboard_delay()


def start_local_client(n_workers: int, mem_per_worker: str | None = None) -> Client:
    """Start a LocalCluster of ``n_workers`` one-thread worker processes, bound to localhost.

    Scheduler, workers and client speak TLS with a certificate made for this cluster
    (dask config ``acme_like.local-tls: false``: plain TCP); the dashboard listens on
    127.0.0.1 only, its pages served ``acme_like.dashboard-delay`` seconds after the start.
    """
    delay = dashboard_delay() if bokeh_problem() is None else 0.0
    drop_leaked_malloc_trim()
    spawn_without_script()
    tls_dir = private_directory() if local_tls_enabled() else None
    try:
        tls = {"protocol": "tls://", "security": write_credentials(tls_dir)} if tls_dir else {}
        with dask.config.set(own_cluster_config()):
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                memory_limit=mem_per_worker or "auto",
                scheduler_kwargs=scheduler_options(delay),
                **tls,
            )
    except BaseException as exc:
        if tls_dir is not None:
            remove_directory(tls_dir)
        if isinstance(exc, RuntimeError) and ("bootstrapping phase" in str(exc) or "freeze_support" in str(exc)):
            raise ClusterError(guard_advice()) from None
        raise
    if tls_dir is not None:
        _CREDENTIALS[cluster] = weakref.finalize(cluster, remove_directory, tls_dir)
    if delay > 0:
        serve_dashboard_later(cluster, delay)
    client = Client(cluster)  # takes the cluster's Security
    logger.info(
        "Started a local dask cluster with %d workers at %s; dashboard at %s",
        n_workers,
        cluster.scheduler_address,
        describe_dashboard(cluster.dashboard_link),
    )
    if tls_dir is not None:
        logger.info(
            "The cluster admits only holders of its TLS credentials, readable by you only: certificate %s, "
            "key %s (deleted when the cluster closes; see 'Attaching another process' in the user guide)",
            Path(tls_dir, TLS_CERT), Path(tls_dir, TLS_KEY),
        )
    return client


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
        Connected over TLS; ``client.security`` holds the paths of the cluster's
        certificate and key, with which another of your processes can connect
        (dask config ``acme_like.local-tls: false``: plain TCP).

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

    Logs ACME's "Successfully shut down <cluster class> hosted on <address>
    containing N workers".

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
        cancel_dashboard(cluster)
        try:
            cluster.close()
        except Exception as exc:  # the client is closed either way
            logger.warning("Closing the cluster at %s failed: %s", address, exc)
        release = _CREDENTIALS.pop(cluster, None)
        if release is not None:
            release()
    # ACME's wording first: scripts and users look for "Successfully shut down".
    if cluster is None:
        logger.info("Successfully shut down the client of the dask scheduler at %s (%d workers), "
                    "which was not started here and keeps running", address, n_workers)
    else:
        logger.info("Successfully shut down %s hosted on %s containing %d workers", type(cluster).__name__, address, n_workers)
