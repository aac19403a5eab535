"""Start dask workers as batch jobs (SLURM, PBS, SGE, LSF, HTCondor) and own them until closed.

``slurm_cluster_setup`` plans a cluster from its arguments, a site preset, the
user's dask configuration and, on SLURM, the partitions SLURM reports; starts a
dask-jobqueue cluster whose scheduler speaks TLS with certificates made for
this run; waits for workers (asking the person at the terminal what to do if
they are slow); and returns a client that closes the cluster, and so cancels
every job, when it is closed. The only module that imports dask_jobqueue, and
only inside functions. It holds no parsing, checking or limits arithmetic (see
``partitions``, ``jobrequest``, ``allocation``) and no waiting (``startup``).
"""

from __future__ import annotations

import getpass
import importlib
import logging
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import dask
from distributed import Client, Security

from .allocation import JobResources, cluster_kwargs, expand_log_directory, fit_resources
from ..execution.security import security_in, write_credentials
from ..execution.tuning import batch_worker_environ
from ..errors import ClusterError
from .request import JobRequest, resolve_request
from ..log import run_logging
from .partitions import CommandRunner, read_partitions, run_command
from .presets import resolve_preset
from .waiting import announce_ready, await_workers, record_refusals

logger = logging.getLogger(__name__)

_CLUSTER_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster", "htcondor": "HTCondorCluster"}


class ClusterClient(Client):
    """A dask Client that owns its batch cluster: closing the client cancels every worker job."""

    _owned_cluster: Any = None
    _release_tls: Any = None

    def close(self, *args: Any, **kwargs: Any) -> Any:
        cluster, self._owned_cluster = self._owned_cluster, None
        try:
            return super().close(*args, **kwargs)
        finally:
            if cluster is not None:
                jobqueue_defaults()  # cancelling the jobs reads them, and a dask.config.set block may have dropped them
                cluster.close()
            if self._release_tls is not None:
                self._release_tls()

    def __del__(self) -> None:
        # Never close the cluster from the garbage collector (it may run on the event loop's
        # thread); the cluster's own exit hook cancels the jobs of a forgotten client.
        self._owned_cluster = None
        super().__del__()


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """Everything needed to start the cluster, decided before anything starts."""

    request: JobRequest
    resources: JobResources
    config: Mapping[str, Any]
    interface: str | None
    log_directory: str | None


def is_slurm_available(run: CommandRunner = run_command) -> bool:
    """True when the SLURM controller answers, i.e. this machine can submit SLURM jobs.

    Asks ``scontrol ping``, which answers at once also when the controller is down;
    ``sinfo`` would first retry for several seconds.
    """
    try:
        run(["scontrol", "ping"])
    except ClusterError:
        return False
    return True


def slurm_cluster_setup(
    partition: str | None = None,
    *,
    n_workers: int | None = None,
    mem_per_worker: str | None = None,
    cores_per_worker: int | None = None,
    n_workers_startup: int | None = None,
    timeout: float | None = None,
    interactive: bool = True,
    interactive_wait: float | None = None,
    start_client: bool = True,
    job_extra: Sequence[str] | None = None,
    worker_extra_args: Sequence[str] | None = None,
    scheduler_options: Mapping[str, Any] | None = None,
    scheduler: str | None = "slurm",
    preset: str | None = None,
    container_image: str | None = None,
    container_runtime: str = "apptainer",
    security: bool | Security = True,
    walltime: str | None = None,
    mem_cushion: int | str | None = None,
    processes_per_worker: int = 1,
    n_cores: int | None = None,
    estimated_bytes: float | None = None,
    **cluster_kwargs: Any,
) -> Any:
    """Start dask workers as batch jobs and return a client connected to them.

    Parameters
    ----------
    partition : str, optional
        SLURM partition (queue elsewhere). None: the preset's, the ``queue`` of your
        jobqueue configuration, else SLURM's default. "auto": the smallest partition
        that holds ``estimated_bytes`` (or ``mem_per_worker``).
    n_workers : int
        Workers to start (default 1, or the preset's).
    mem_per_worker : str, optional
        Memory per worker, e.g. "4GB". None or "auto": the partition's limit, else
        its default. A request above the partition's limit is capped, with a warning;
        one larger than any of its nodes is an error.
    cores_per_worker : int
        CPUs per worker job (ACME's ``n_cores`` is an alias).
    n_workers_startup : int
        Return as soon as this many workers are up (default 1); the rest join later.
    timeout : float
        Seconds to wait for ``n_workers_startup`` workers (default 60).
    interactive : bool
        When stdin is a terminal and workers are slow, ask whether to keep waiting
        ``interactive_wait`` more seconds, continue with the workers up, or abort
        (returns None). Without a terminal, with False, or with no answer within
        ``interactive_wait`` seconds: continue if at least one worker is up, else
        raise ClusterError.
    start_client : bool
        False returns the dask-jobqueue cluster instead of a client.
    job_extra, worker_extra_args : list of str
        Extra batch directives (e.g. ``["--account=lab"]``) and dask-worker arguments,
        added to those of your jobqueue configuration.
    scheduler_options : dict
        Options of the dask scheduler; the dashboard binds to 127.0.0.1 unless set here.
    scheduler : {"slurm", "pbs", "sge", "lsf", "htcondor"}
    preset : str, optional
        A site preset: "esi", "cobic", or one of yours under ``acme_like.presets`` in
        a dask configuration file (``acme_like.preset`` names a default).
    container_image : str, optional
        Run each worker inside this Apptainer/Singularity image (``container_runtime``).
    security : bool or distributed.Security
        True: TLS with certificates made for this run, kept in a private directory
        (``shared-temp-directory`` of your jobqueue configuration, else the working
        directory) that workers must see too. False: plain TCP.
    **cluster_kwargs
        Passed on to dask-jobqueue's cluster class, e.g. ``account="lab"``.

    Returns
    -------
    ClusterClient, the cluster (``start_client=False``), or None if the user aborted.

    Examples
    --------
    >>> client = slurm_cluster_setup("small", n_workers=2, mem_per_worker="1GB")  # doctest: +SKIP
    >>> with client:  # leaving the block cancels the worker jobs  # doctest: +SKIP
    ...     ParallelMap(f, range(100)).compute()
    """
    with run_logging(None, None):
        plan = plan_cluster(
            partition, n_workers=n_workers, mem_per_worker=mem_per_worker, cores_per_worker=cores_per_worker,
            n_cores=n_cores, processes_per_worker=processes_per_worker, n_workers_startup=n_workers_startup,
            timeout=timeout, interactive=interactive, interactive_wait=interactive_wait, start_client=start_client,
            job_extra=job_extra, worker_extra_args=worker_extra_args, scheduler_options=scheduler_options,
            scheduler=scheduler, preset=preset, container_image=container_image,
            container_runtime=container_runtime, security=security, walltime=walltime, mem_cushion=mem_cushion,
            estimated_bytes=estimated_bytes, cluster_kwargs=cluster_kwargs,
        )
        return start_cluster(plan)


def plan_cluster(
    partition: str | None = None,
    *,
    run: CommandRunner = run_command,
    estimated_bytes: float | None = None,
    **arguments: Any,
) -> ClusterPlan:
    """Decide the whole cluster from the arguments, the dask configuration and SLURM; start nothing."""
    configured = dask.config.get("acme_like.presets", default={}) or {}
    site = resolve_preset(arguments.pop("preset", None) or dask.config.get("acme_like.preset", default=None), configured)
    request = resolve_request(partition=partition, preset=site, **arguments)
    config = dict(dask.config.get(f"jobqueue.{request.scheduler}", default={}) or {})
    partitions = read_partitions(run) if request.scheduler == "slurm" else None
    resources = fit_resources(
        request, partitions, estimated_bytes=estimated_bytes, configured_queue=config.get("queue"),
        configured_memory=config.get("memory"), configured_walltime=_user_walltime(request.scheduler, config),
    )
    for note in resources.notes:
        logger.info("%s", note)
    for warning in resources.warnings:
        logger.warning("%s", warning)
    log_directory = expand_log_directory(site.log_directory if site else None, getpass.getuser(), time.strftime("%Y%m%d-%H%M%S"))
    interface = _interface_for(site.network_prefix) if site and site.network_prefix else None
    return ClusterPlan(request, resources, config, interface, log_directory)


def job_script(plan: ClusterPlan, scheduler_host: str = "SCHEDULER:8786", tls_dir: str = "TLS_DIR") -> str:
    """The job script the plan would submit for one worker, rendered without starting anything."""
    kwargs = cluster_kwargs(plan.request, plan.resources, plan.config, tls_dir=tls_dir, interface=plan.interface, log_directory=plan.log_directory, worker_environ=batch_worker_environ())
    for cluster_only in ("scheduler_options", "shared_temp_directory", "n_workers"):
        kwargs.pop(cluster_only, None)
    security = security_in(tls_dir) if plan.request.security is True else plan.request.security or None
    protocol = "tls://" if security else None
    job_cls = _job_queue_class(plan.request.scheduler).job_cls
    job = job_cls(f"{protocol or 'tcp://'}{scheduler_host}", name="dummy-name", security=security, protocol=protocol, **kwargs)
    return job.job_script()


def start_cluster(plan: ClusterPlan) -> Any:
    """Start the planned cluster, wait for its workers; close it again on any failure or abort."""
    request = plan.request
    release_tls, security, tls_dir = None, request.security or None, None
    if request.security is True:
        holder = tempfile.TemporaryDirectory(prefix=".acme_like-tls-", dir=_tls_base(plan.config))
        tls_dir = holder.name
        security = write_credentials(tls_dir)
    port = _free_port(*request.preset.port_range) if request.preset.port_range else None
    kwargs = cluster_kwargs(request, plan.resources, plan.config, tls_dir=tls_dir, interface=plan.interface, scheduler_port=port, log_directory=plan.log_directory, worker_environ=batch_worker_environ())
    cluster_class = _job_queue_class(request.scheduler)
    started = time.monotonic()
    cluster = None
    try:
        cluster = cluster_class(job_cls=record_refusals(cluster_class.job_cls), security=security, **kwargs)
        if tls_dir is not None:
            release_tls = weakref.finalize(cluster, holder.cleanup)
        logger.debug("Worker job script:\n%s", cluster.job_script())
        cluster.scale(request.n_workers)
        if not await_workers(cluster, request, started):
            cluster.close()
            if release_tls is not None:
                release_tls()
            logger.info("Aborted at the prompt; the worker jobs were cancelled.")
            return None
    except BaseException:
        if cluster is not None:
            cluster.close()
        if release_tls is not None:
            release_tls()
        elif tls_dir is not None:
            holder.cleanup()
        raise
    announce_ready(cluster, request.n_workers, plan.resources, time.monotonic() - started)
    if not request.start_client:
        return cluster
    client = ClusterClient(cluster)
    client._owned_cluster, client._release_tls = cluster, release_tls
    return client


def _job_queue_class(scheduler: str) -> Any:
    return getattr(import_dask_jobqueue(), _CLUSTER_CLASSES[scheduler])


def import_dask_jobqueue() -> Any:
    """Import dask_jobqueue, keeping the process's Ctrl-C handler.

    Its runner module replaces the SIGINT handler at import with one that calls
    sys.exit(), which would turn every later Ctrl-C into SystemExit.
    """
    if "dask_jobqueue" in sys.modules:
        return sys.modules["dask_jobqueue"]
    previous = signal.getsignal(signal.SIGINT)
    module = importlib.import_module("dask_jobqueue")
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)
    return module


def jobqueue_defaults() -> None:
    """Put dask-jobqueue's defaults back into the dask config when they are gone.

    It registers them once, at import; imported inside a ``dask.config.set`` block
    (``with dask.config.set({"jobqueue.slurm.interface": "ib0"}): slurm_cluster_setup(...)``)
    they leave with the block, and closing the cluster afterwards failed with
    ``KeyError: 'jobqueue'``, leaving its jobs queued.
    """
    import dask.config
    import yaml

    if "jobqueue" in dask.config.config:
        return
    packaged = Path(import_dask_jobqueue().__file__).with_name("jobqueue.yaml")
    dask.config.update_defaults(yaml.safe_load(packaged.read_text()))


def _tls_base(config: Mapping[str, Any]) -> str:
    shared = config.get("shared-temp-directory")
    return os.path.expanduser(os.path.expandvars(shared)) if shared else os.getcwd()


def _user_walltime(scheduler: str, config: Mapping[str, Any]) -> str | None:
    """The walltime of the user's jobqueue configuration, unless it is dask-jobqueue's own default."""
    import yaml

    packaged = yaml.safe_load(Path(import_dask_jobqueue().__file__).with_name("jobqueue.yaml").read_text())
    value = config.get("walltime")
    return None if value == packaged["jobqueue"].get(scheduler, {}).get("walltime") else value


def _interface_for(prefix: str) -> str | None:
    import psutil

    for name, addresses in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address.startswith(prefix) for a in addresses):
            return name
    logger.warning("No network interface has an address starting with %s; using dask's default interface.", prefix)
    return None


def _free_port(first: int, last: int) -> int:
    ports = list(range(first, last + 1))
    random.shuffle(ports)
    for port in ports[:200]:
        with socket.socket() as probe:
            try:
                probe.bind(("", port))
            except OSError:
                continue
            return port
    raise ClusterError(f"no free port for the scheduler between {first} and {last}; close other dask clusters or widen port_range.")
