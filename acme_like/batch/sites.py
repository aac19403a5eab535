"""ACME's site helpers ``esi_cluster_setup`` and ``bic_cluster_setup``, as thin uses of the presets.

Each takes ACME's signature and does what ACME's does around the cluster itself:
hand back a running client that has workers, start a local cluster where SLURM
does not answer (asking first at a terminal), and translate the memory estimate
``ParallelMap`` used to pass. The cluster itself is ``slurm_cluster_setup`` with
the site's preset ("esi", "cobic"), so all site knowledge stays in
``batch/presets``; "off the site" means SLURM does not answer or the preset's
``marker_path`` is missing, never a host name.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Sequence

import dask

from ..execution.local import cluster_cleanup, count_workers, local_cluster_setup, running_client
from ..prompt import ask_yes_no, interactive_terminal
from .presets import SitePreset, resolve_preset
from .setup import is_slurm_available, slurm_cluster_setup

logger = logging.getLogger(__name__)

#: ACME's form of a memory estimate in ``mem_per_worker``: "estimate_memuse:<GB>".
ESTIMATE_PREFIX = "estimate_memuse:"


def esi_cluster_setup(
    partition: str,
    n_workers: int = 2,
    mem_per_worker: str = "auto",
    cores_per_worker: int | None = None,
    n_workers_startup: int = 1,
    timeout: float = 60,
    interactive: bool = True,
    interactive_wait: float = 120,
    start_client: bool = True,
    job_extra: Sequence[str] | None = None,
    mem_cushion: int = 100,
    **kwargs: Any,
) -> Any:
    """Start dask workers on the ESI HPC cluster (ACME's helper; ``slurm_cluster_setup`` with ``preset="esi"``).

    A running default client with workers is returned as it is (its cluster with
    ``start_client=False``). Off the site (SLURM does not answer, or the preset's
    ``marker_path`` "/cs" is missing) a local cluster of ``n_workers`` workers is
    started instead, with a warning (at a terminal with ``interactive=True``, after
    asking; "no" raises ``OSError``), so a script written for the cluster also runs
    on a laptop.

    Parameters
    ----------
    partition : str
        A SLURM partition, or "auto": the smallest partition that holds
        ``mem_per_worker`` (ACME's ``"estimate_memuse:<GB>"`` is understood).
    n_workers, mem_per_worker, cores_per_worker, n_workers_startup, timeout, interactive, interactive_wait, start_client, job_extra, mem_cushion
        As for :func:`~acme_like.slurm_cluster_setup`; ``mem_cushion`` in MB. The
        ``job_extra`` list is never modified.
    **kwargs
        Passed on to :func:`~acme_like.slurm_cluster_setup` (e.g. ``processes_per_worker``).

    Returns
    -------
    distributed.Client, the cluster (``start_client=False``), or None if aborted at the prompt.

    Examples
    --------
    >>> client = esi_cluster_setup("8GBS", n_workers=10)  # doctest: +SKIP
    >>> # every ParallelMap now attaches to it
    """
    return _site_setup("esi", **_arguments(locals()))


def bic_cluster_setup(
    partition: str,
    n_workers: int = 2,
    mem_per_worker: str = "auto",
    cores_per_worker: int | None = None,
    n_workers_startup: int = 1,
    timeout: float = 120,
    interactive: bool = True,
    interactive_wait: float = 120,
    start_client: bool = True,
    job_extra: Sequence[str] | None = None,
    mem_cushion: int = 500,
    **kwargs: Any,
) -> Any:
    """Start dask workers on the CoBIC HPC cluster (ACME's helper; ``slurm_cluster_setup`` with ``preset="cobic"``).

    Behaves as :func:`esi_cluster_setup`, with CoBIC's defaults (``timeout=120``,
    ``mem_cushion=500``) and its network and port range from the preset.

    Examples
    --------
    >>> client = bic_cluster_setup("8GBSx86", n_workers=10)  # doctest: +SKIP
    """
    return _site_setup("cobic", **_arguments(locals()))


def _arguments(given: dict[str, Any]) -> dict[str, Any]:
    extra = given.pop("kwargs")
    return {**given, **extra}


def _site_setup(preset: str, partition: str, n_workers: int, mem_per_worker: str, start_client: bool, interactive: bool, **rest: Any) -> Any:
    existing = running_client()
    if existing is not None and existing.status == "running":
        if count_workers(existing) > 0:
            logger.info("Found existing parallel computing client %s. Not starting new cluster.", existing)
            return existing if start_client else existing.cluster
        logger.info("The running client %s has no workers (their jobs may have ended); closing it.", existing)
        cluster_cleanup(existing)
    site = resolve_preset(preset, dask.config.get("acme_like.presets", default={}) or {})
    assert site is not None
    off_site = _off_site(site)
    if off_site:
        return _local_instead(off_site, n_workers, mem_per_worker, interactive)
    estimated_bytes = None
    if isinstance(mem_per_worker, str) and mem_per_worker.startswith(ESTIMATE_PREFIX):
        estimated_bytes = float(mem_per_worker[len(ESTIMATE_PREFIX):]) * 2**30
        mem_per_worker = "auto"
    return slurm_cluster_setup(
        partition, preset=preset, n_workers=n_workers, mem_per_worker=mem_per_worker, start_client=start_client,
        interactive=interactive, estimated_bytes=estimated_bytes, **rest,
    )


def _off_site(site: SitePreset) -> str | None:
    """Why this machine cannot start the site's workers (ACME's wording first), or None."""
    host = socket.gethostname()
    if not is_slurm_available():
        return f"SLURM does not seem to be installed on this machine ({host})"
    if site.marker_path is not None and not os.path.exists(site.marker_path):
        return f"This machine ({host}) is not part of the {site.name!r} site ({site.marker_path} does not exist)"
    return None


def _local_instead(reason: str, n_workers: int, mem_per_worker: str, interactive: bool) -> Any:
    if interactive and interactive_terminal():
        question = f"{reason}. Do you want to start a local multi-processing computing client instead?"
        if not ask_yes_no(question, default=False):
            raise OSError(
                f"Cannot access SLURM queuing system from node {socket.gethostname()}: {reason}. Use "
                f"slurm_cluster_setup(partition) for another SLURM site, or local_cluster_setup()."
            )
    logger.warning("%s: starting a local cluster instead.", reason)
    memory = None if mem_per_worker in (None, "auto") or str(mem_per_worker).startswith(ESTIMATE_PREFIX) else mem_per_worker
    return local_cluster_setup(n_workers=n_workers, mem_per_worker=memory, interactive=False)
