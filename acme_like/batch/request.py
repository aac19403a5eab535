"""Check the arguments of ``slurm_cluster_setup`` once and turn them into a frozen :class:`JobRequest`.

The only reader of those arguments: every rejected value gets an error that
says what was expected and what came in. Gaps are filled from a site preset,
then from ACME's defaults. Pure logic: no dask import, no commands, no files
written (it only checks that named paths exist).
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import InputError, InputTypeError
from .partitions import parse_size
from .presets import SitePreset

SCHEDULERS = ("slurm", "pbs", "sge", "lsf", "htcondor")
CONTAINER_RUNTIMES = ("apptainer", "singularity")
#: ACME's cushion between a partition's memory limit and what a worker asks for.
DEFAULT_MEM_CUSHION = "100MB"
_NO_PRESET = SitePreset(name="")


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What the user asked for, checked, with a site preset's defaults filled in."""

    scheduler: str
    partition: str | None
    n_workers: int
    mem_per_worker_bytes: int | None
    cores_per_worker: int
    processes_per_worker: int
    n_workers_startup: int
    timeout_s: float
    interactive: bool
    interactive_wait_s: float
    start_client: bool
    walltime: str | None
    mem_cushion_bytes: int
    job_extra: tuple[str, ...]
    worker_extra_args: tuple[str, ...]
    scheduler_options: Mapping[str, Any]
    container_image: str | None
    container_runtime: str
    security: Any
    preset: SitePreset
    cluster_kwargs: Mapping[str, Any]


def resolve_request(
    *,
    partition: Any = None,
    n_workers: Any = None,
    mem_per_worker: Any = None,
    cores_per_worker: Any = None,
    n_cores: Any = None,
    processes_per_worker: Any = 1,
    n_workers_startup: Any = None,
    timeout: Any = None,
    interactive: Any = True,
    interactive_wait: Any = None,
    start_client: Any = True,
    job_extra: Any = None,
    worker_extra_args: Any = None,
    scheduler_options: Any = None,
    scheduler: Any = "slurm",
    preset: SitePreset | None = None,
    container_image: Any = None,
    container_runtime: Any = "apptainer",
    walltime: Any = None,
    mem_cushion: Any = None,
    security: Any = True,
    cluster_kwargs: Mapping[str, Any] | None = None,
) -> JobRequest:
    """Check every argument of the setup once; ``None`` means "the preset's, else ours"."""
    site = preset or _NO_PRESET
    scheduler = site.scheduler if scheduler is None else scheduler
    if scheduler not in SCHEDULERS:
        raise InputError(f"scheduler must be one of {', '.join(map(repr, SCHEDULERS))}, got {scheduler!r}.")
    if partition is not None and not isinstance(partition, str):
        raise InputTypeError(f'partition must be a partition name, "auto" or None, got {type(partition).__name__} {partition!r}.')
    if cores_per_worker is not None and n_cores is not None and cores_per_worker != n_cores:
        raise InputError(
            f"cores_per_worker={cores_per_worker!r} and its ACME alias n_cores={n_cores!r} disagree; pass only one."
        )
    for name, value in (("interactive", interactive), ("start_client", start_client)):
        if not isinstance(value, bool):
            raise InputTypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}.")
    if mem_per_worker in (None, "auto"):
        mem_per_worker = site.mem_per_worker
    if mem_per_worker is not None and not isinstance(mem_per_worker, (str, int)) or isinstance(mem_per_worker, bool):
        raise InputTypeError(f'mem_per_worker must be a size like "2GB", "auto" or None, got {type(mem_per_worker).__name__} {mem_per_worker!r}.')
    n_workers = _count("n_workers", _given(n_workers, site.n_workers, 1), 1)
    n_workers_startup = _count("n_workers_startup", _given(n_workers_startup, site.n_workers_startup, 1), 0)
    if n_workers_startup > n_workers:
        raise InputError(
            f"n_workers_startup={n_workers_startup} exceeds n_workers={n_workers}: the setup could never "
            f"see that many workers. Pass n_workers_startup <= n_workers."
        )
    if container_runtime not in CONTAINER_RUNTIMES:
        raise InputError(f"container_runtime must be one of {', '.join(map(repr, CONTAINER_RUNTIMES))}, got {container_runtime!r}.")
    image = _given(container_image, site.container_image, None)
    if image is not None:
        if not isinstance(image, str) or not image:
            raise InputTypeError(f"container_image must be the path or URI of an Apptainer image, got {image!r}.")
        if "://" not in image and not os.path.exists(image):
            raise InputError(
                f"container_image {image!r} does not exist. Pass the path of a .sif image on a file system "
                f"the compute nodes share, or a URI such as docker://ghcr.io/dask/dask:latest."
            )
    if not (isinstance(security, bool) or hasattr(security, "get_tls_config_for_role")):
        raise InputTypeError(f"security must be True, False or a distributed.Security, got {type(security).__name__}.")
    if walltime is not None and not isinstance(walltime, str):
        raise InputTypeError(f'walltime must be a string like "02:00:00" or None, got {type(walltime).__name__} {walltime!r}.')
    options = _mapping("scheduler_options", scheduler_options)
    extra_kwargs = _mapping("cluster_kwargs", cluster_kwargs)
    return JobRequest(
        scheduler=scheduler,
        partition=_given(partition, site.partition, None),
        n_workers=n_workers,
        mem_per_worker_bytes=None if mem_per_worker is None else parse_size(mem_per_worker),
        cores_per_worker=_count("cores_per_worker", _given(cores_per_worker, n_cores, site.cores_per_worker, 1), 1),
        processes_per_worker=_count("processes_per_worker", processes_per_worker, 1),
        n_workers_startup=n_workers_startup,
        timeout_s=_seconds("timeout", _given(timeout, site.timeout, 60)),
        interactive=interactive,
        interactive_wait_s=_seconds("interactive_wait", _given(interactive_wait, site.interactive_wait, 60)),
        start_client=start_client,
        walltime=_given(walltime, site.walltime, None),
        mem_cushion_bytes=_cushion(_given(mem_cushion, site.mem_cushion, DEFAULT_MEM_CUSHION)),
        job_extra=site.job_extra + _job_extra(job_extra, scheduler),
        worker_extra_args=site.worker_extra_args + _words("worker_extra_args", worker_extra_args),
        scheduler_options=MappingProxyType({**site.scheduler_options, **options}),
        container_image=image,
        container_runtime=container_runtime,
        security=security,
        preset=site,
        cluster_kwargs=MappingProxyType({**site.cluster_kwargs, **extra_kwargs}),
    )


# -- helpers --------------------------------------------------------------------------------


def _given(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or int(value) != value:
        raise InputTypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise InputError(f"{name} must be a number of seconds >= 0, got {value!r}.")
    return float(value)


def _cushion(value: Any) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value) * 10**6 if value >= 0 else parse_size(value)  # ACME: an int is MB
    return parse_size(value)


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputTypeError(f"{name} must be a dict or None, got {type(value).__name__} {value!r}.")
    return dict(value)


def _words(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputTypeError(f'{name} must be a list of strings like ["--lifetime", "55m"], got {value!r}.')
    return tuple(value)


def _job_extra(value: Any, scheduler: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputTypeError(
            f'job_extra must be a list of batch options like ["--account=lab", "--qos=short"], '
            f"got {type(value).__name__} {value!r}. Wrap a single option in a list."
        )
    for item in value:
        if not isinstance(item, str):
            raise InputTypeError(f"every job_extra option must be a string, got {type(item).__name__} {item!r}.")
        if scheduler == "htcondor":
            parse_condor_directive(item)
        elif not item.startswith("-"):
            raise InputError(f'job_extra options must start with - or --, like "--account=lab", got {item!r}.')
        elif scheduler == "slurm":
            _check_output_option(item)
    return tuple(value)


def _check_output_option(item: str) -> None:
    for flag in ("--output=", "--error=", "-o ", "-e ", "-o=", "-e="):
        if item.startswith(flag):
            directory = os.path.dirname(os.path.expanduser(item[len(flag):].strip())) or "."
            if "%" not in directory and not os.path.isdir(directory):
                raise InputError(
                    f"the directory of job_extra option {item!r} does not exist, so SLURM could not write "
                    f"the job's output and the worker would never start. Create {directory} first."
                )


def parse_condor_directive(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise InputError(f'job_extra options for HTCondor must look like "Key = Value", got {item!r}.')
    return key.strip(), value.strip()
