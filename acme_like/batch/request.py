"""Check the arguments of ``slurm_cluster_setup`` once and turn them into a frozen :class:`JobRequest`.

The only reader of those arguments: every rejected value gets an error that
says what was expected and what came in. Gaps are filled from a site preset,
then from ACME's defaults. Pure logic: no dask import, no commands, no files
written (it only checks that named paths exist).
"""

from __future__ import annotations

import functools
import numbers
import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ..core.checks import Keyword, check_count, check_flag, check_seconds
from ..core.options import CHECKS
from ..core.units import parse_size
from ..errors import InputError, InputTypeError
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


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``check``, with None meaning "the preset's, else ours"."""
    return lambda value: None if value is None else check(value)


def _passed(value: Any) -> Any:
    return value  # checked below, with the preset filled in


_p = functools.partial
#: Every argument of ``slurm_cluster_setup`` (but ``preset`` and ``estimated_bytes``, which
#: ``plan_cluster`` resolves first): its default and its checker. The counts, seconds and sizes
#: use the checkers of ``core.checks``, the same as ParallelMap's keywords, so ``n_workers=2.5``
#: gives one answer from both. A test keeps ``slurm_cluster_setup``'s signature equal to this.
REQUEST_CHECKS: dict[str, Keyword] = {
    "partition": Keyword(None, _passed),
    "n_workers": Keyword(None, _optional(lambda v: None if v == "auto" else CHECKS["n_workers"](v))),
    "mem_per_worker": Keyword(None, CHECKS["mem_per_worker"]),
    "cores_per_worker": Keyword(None, _optional(_p(check_count, "cores_per_worker", minimum=1))),
    "n_cores": Keyword(None, _optional(_p(check_count, "n_cores", minimum=1))),
    "processes_per_worker": Keyword(1, _p(check_count, "processes_per_worker", minimum=1)),
    "n_workers_startup": Keyword(None, _optional(_p(check_count, "n_workers_startup", minimum=0))),
    "timeout": Keyword(None, _optional(_p(check_seconds, "timeout"))),
    "interactive": Keyword(True, _p(check_flag, "interactive")),
    "interactive_wait": Keyword(None, _optional(_p(check_seconds, "interactive_wait"))),
    "start_client": Keyword(True, _p(check_flag, "start_client")),
    "job_extra": Keyword(None, _passed),
    "worker_extra_args": Keyword(None, _passed),
    "scheduler_options": Keyword(None, _passed),
    "scheduler": Keyword("slurm", _passed),
    "container_image": Keyword(None, _passed),
    "container_runtime": Keyword("apptainer", _passed),
    "security": Keyword(True, _passed),
    "walltime": Keyword(None, _passed),
    "mem_cushion": Keyword(None, _passed),
}


def resolve_request(
    *, preset: SitePreset | None = None, cluster_kwargs: Mapping[str, Any] | None = None, **arguments: Any
) -> JobRequest:
    """Check every argument of the setup once; ``None`` means "the preset's, else ours"."""
    unknown = set(arguments) - set(REQUEST_CHECKS)
    if unknown:
        raise InputTypeError(f"resolve_request got unknown arguments {sorted(unknown)}; known: {sorted(REQUEST_CHECKS)}.")
    given = {name: keyword(arguments.get(name, keyword.default)) for name, keyword in REQUEST_CHECKS.items()}
    site = preset or _NO_PRESET
    scheduler = site.scheduler if given["scheduler"] is None else given["scheduler"]
    if scheduler not in SCHEDULERS:
        raise InputError(f"scheduler must be one of {', '.join(map(repr, SCHEDULERS))}, got {scheduler!r}.")
    partition = given["partition"]
    if partition is not None and not isinstance(partition, str):
        raise InputTypeError(f'partition must be a partition name, "auto" or None, got {type(partition).__name__} {partition!r}.')
    cores_per_worker, n_cores = given["cores_per_worker"], given["n_cores"]
    if cores_per_worker is not None and n_cores is not None and cores_per_worker != n_cores:
        raise InputError(
            f"cores_per_worker={cores_per_worker!r} and its ACME alias n_cores={n_cores!r} disagree; pass only one."
        )
    memory = given["mem_per_worker"]
    if memory is None and site.mem_per_worker is not None:
        memory = CHECKS["mem_per_worker"](site.mem_per_worker)
    n_workers = _given(given["n_workers"], site.n_workers and CHECKS["n_workers"](site.n_workers), 1)
    n_workers_startup = _given(given["n_workers_startup"], site.n_workers_startup, 1)
    if n_workers_startup > n_workers:
        raise InputError(
            f"n_workers_startup={n_workers_startup} exceeds n_workers={n_workers}: the setup could never "
            f"see that many workers. Pass n_workers_startup <= n_workers."
        )
    container_runtime = given["container_runtime"]
    if container_runtime not in CONTAINER_RUNTIMES:
        raise InputError(f"container_runtime must be one of {', '.join(map(repr, CONTAINER_RUNTIMES))}, got {container_runtime!r}.")
    image = _given(given["container_image"], site.container_image, None)
    if image is not None:
        if not isinstance(image, str) or not image:
            raise InputTypeError(f"container_image must be the path or URI of an Apptainer image, got {image!r}.")
        if "://" not in image and not os.path.exists(image):
            raise InputError(
                f"container_image {image!r} does not exist. Pass the path of a .sif image on a file system "
                f"the compute nodes share, or a URI such as docker://ghcr.io/dask/dask:latest."
            )
    security = given["security"]
    if not (isinstance(security, bool) or hasattr(security, "get_tls_config_for_role")):
        raise InputTypeError(f"security must be True, False or a distributed.Security, got {type(security).__name__}.")
    walltime = given["walltime"]
    if walltime is not None and not isinstance(walltime, str):
        raise InputTypeError(f'walltime must be a string like "02:00:00" or None, got {type(walltime).__name__} {walltime!r}.')
    options = _mapping("scheduler_options", given["scheduler_options"])
    extra_kwargs = _mapping("cluster_kwargs", cluster_kwargs)
    return JobRequest(
        scheduler=scheduler,
        partition=_given(partition, site.partition, None),
        n_workers=n_workers,
        mem_per_worker_bytes=memory,
        cores_per_worker=check_count("cores_per_worker", _given(cores_per_worker, n_cores, site.cores_per_worker, 1), 1),
        processes_per_worker=given["processes_per_worker"],
        n_workers_startup=n_workers_startup,
        timeout_s=check_seconds("timeout", _given(given["timeout"], site.timeout, 60)),
        interactive=given["interactive"],
        interactive_wait_s=check_seconds("interactive_wait", _given(given["interactive_wait"], site.interactive_wait, 60)),
        start_client=given["start_client"],
        walltime=_given(walltime, site.walltime, None),
        mem_cushion_bytes=_cushion(_given(given["mem_cushion"], site.mem_cushion, DEFAULT_MEM_CUSHION)),
        job_extra=site.job_extra + _job_extra(given["job_extra"], scheduler),
        worker_extra_args=site.worker_extra_args + _words("worker_extra_args", given["worker_extra_args"]),
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
