"""Watch worker jobs come up: report refusals at once, wait, ask, and say where the cluster is.

:func:`record_refusals` makes a dask-jobqueue job class remember why the batch
system refused a job; :func:`await_workers` waits for ``n_workers_startup``
workers and applies the prompt or the non-interactive rule when they are slow;
:func:`announce_ready` logs the result and the SSH tunnel to the dashboard. It
starts and stops nothing itself, and it does not import dask_jobqueue.
"""

from __future__ import annotations

import getpass
import logging
import socket
import time
from typing import Any

from distributed.core import Status

from .allocation import JobResources
from ..errors import ClusterError
from ..execution.dashboard import describe_dashboard
from .request import JobRequest
from ..core.units import format_size
from .partitions import run_command
from ..prompt import ask_within, ask_yes_no, interactive_terminal

logger = logging.getLogger(__name__)

_POLL_S = 0.1


def record_refusals(job_cls: Any) -> Any:
    """A subclass of ``job_cls`` that keeps the reason of a refused submission for the setup to report."""
    class RecordingJob(job_cls):  # type: ignore[misc, valid-type]
        refusal: str | None = None

        async def start(self) -> None:
            try:
                await super().start()
            except RuntimeError as exc:  # dask-jobqueue's "Command exited with non-zero exit code"
                self.refusal = str(exc).split("stderr:", 1)[-1].strip() or str(exc)
                logger.error("The batch system refused a worker job: %s", self.refusal)
                # Counted as started, so dask logs no second traceback; the setup raises instead.
                self.status = Status.running

        async def close(self) -> None:
            await super().close()
            self.status = Status.closed

    RecordingJob.__name__ = RecordingJob.__qualname__ = job_cls.__name__
    return RecordingJob


def await_workers(cluster: Any, request: JobRequest, started: float) -> bool:
    """Wait for n_workers_startup workers; False if the person at the terminal chose to abort."""
    wanted, deadline = request.n_workers_startup, started + request.timeout_s
    while True:
        raise_refused_jobs(cluster)
        n_up = len(cluster.scheduler_info.get("workers", {}))
        if n_up >= wanted:
            return True
        if time.monotonic() < deadline:
            time.sleep(_POLL_S)
            continue
        waited = time.monotonic() - started
        if request.interactive and interactive_terminal():
            more = request.interactive_wait_s
            otherwise = f"continue with {n_up} worker{'s' if n_up != 1 else ''}" if n_up else "give up"
            answer = ask_within(
                f"{n_up} of {wanted} workers are up after {waited:.0f} s. Keep waiting {more:g} s more "
                f"(no answer within {more:g} s: {otherwise})?",
                more,
                moot=lambda: len(cluster.scheduler_info.get("workers", {})) >= wanted,
            )
            if answer:
                deadline = time.monotonic() + more
                continue
            if answer is False:
                return n_up > 0 and ask_yes_no(f"Continue with the {n_up} workers that are up (no: abort)?")
            waited = time.monotonic() - started  # nobody answered: as without a terminal
        if n_up > 0:
            logger.warning("Only %d of %d workers are up after %.0f s; continuing with them (the rest may join later).", n_up, wanted, waited)
            return True
        raise ClusterError(
            f"no worker started within timeout={request.timeout_s:g} s. {_pending_reasons(cluster)}"
            f"Raise timeout, choose a less busy partition, or ask for fewer resources per worker."
        )


def raise_refused_jobs(cluster: Any) -> None:
    """A ClusterError with the batch system's own words if it refused a worker job."""
    refused = [job.refusal for job in list(cluster.workers.values()) if getattr(job, "refusal", None)]
    if refused:
        raise ClusterError(
            f"the batch system refused the worker job: {refused[0].rstrip('.')}. The job asked for: "
            f"{_describe_job(cluster)}. Ask for what the partition allows (see `scontrol show partition`), "
            f"or fix job_extra."
        )


def _pending_reasons(cluster: Any) -> str:
    ids = [str(job.job_id) for job in list(cluster.workers.values()) if getattr(job, "job_id", None)]
    if not ids or cluster.job_cls.submit_command != "sbatch":
        return ""
    try:
        states = run_command(["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T %r"]).strip()
    except ClusterError:
        return ""
    return f"SLURM says (job state reason): {'; '.join(states.splitlines())}. " if states else ""


def _describe_job(cluster: Any) -> str:
    header = [line.split(None, 1)[-1] for line in cluster.job_header.splitlines()]
    return ", ".join(header)


def announce_ready(cluster: Any, n_workers: int, resources: JobResources, elapsed_s: float) -> None:
    """Log how many workers are up, where, and how to reach the dashboard from another machine."""
    where = f" in partition {resources.partition!r}" if resources.partition else ""
    logger.info(
        "%d of %d workers ready after %.1f s%s (%d cores, %s each); scheduler at %s",
        len(cluster.scheduler_info.get("workers", {})), n_workers, elapsed_s, where,
        resources.cores, format_size(resources.memory_bytes), cluster.scheduler_address,
    )
    link = cluster.dashboard_link
    if not link:
        logger.info("Dashboard: %s", describe_dashboard(link))
        return
    host, _, port = link.split("://", 1)[-1].split("/", 1)[0].rpartition(":")
    if port.isdigit() and host in ("127.0.0.1", "localhost"):
        logger.info(
            "Dashboard on this machine only: %s. From your computer: ssh -N -L %s:127.0.0.1:%s %s@%s, then open http://localhost:%s/status",
            link, port, port, getpass.getuser(), socket.getfqdn(), port,
        )
    else:
        logger.info("Dashboard at %s", link)
