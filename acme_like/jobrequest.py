"""Turn the arguments of ``slurm_cluster_setup`` into the keywords of a dask-jobqueue cluster.

Three steps, each returning a frozen value or a fresh dict:
:func:`resolve_request` checks the arguments and fills gaps from a site preset;
:func:`fit_resources` fits cores, memory and walltime to a SLURM partition (a
request above the partition's rules is capped, with a note; one that no node
can hold is refused); :func:`cluster_kwargs` merges the result with the user's
``jobqueue.<scheduler>`` configuration, which it extends and never drops.
Pure logic: no dask import, no commands, no files written.
"""

from __future__ import annotations

import numbers
import os
import shlex
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from .errors import InputError, InputTypeError
from .partitions import (
    Partition,
    default_partition,
    find_partition,
    format_size,
    format_slurm_time,
    parse_size,
    parse_slurm_time,
    pick_partition,
    slurm_memory_request,
)
from .presets import SitePreset

SCHEDULERS = ("slurm", "pbs", "sge", "lsf", "htcondor")
CONTAINER_RUNTIMES = ("apptainer", "singularity")
#: ACME's cushion between a partition's memory limit and what a worker asks for.
DEFAULT_MEM_CUSHION = "100MB"
#: Memory per core where neither the user, a preset, the configuration nor a partition says.
FALLBACK_MEM_PER_CORE = 10**9
#: Names of the job's certificate files in its TLS directory.
TLS_CERT, TLS_KEY = "tls.pem", "tls.key"
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


@dataclass(frozen=True, slots=True)
class JobResources:
    """What each worker job asks the batch system for, after fitting it to the partition."""

    partition: str | None
    cores: int
    memory_bytes: int
    walltime: str | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


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


def fit_resources(
    request: JobRequest,
    partitions: Sequence[Partition] | None,
    *,
    estimated_bytes: float | None = None,
    configured_queue: str | None = None,
    configured_memory: str | None = None,
    configured_walltime: str | None = None,
) -> JobResources:
    """Cores, memory and walltime per job; on SLURM fitted to the chosen partition's limits."""
    cores = request.cores_per_worker
    walltime = request.walltime or configured_walltime
    if request.scheduler != "slurm" or partitions is None:
        if request.partition == "auto":
            raise InputError(f'partition="auto" needs SLURM; with scheduler={request.scheduler!r} name a queue or pass None.')
        memory = request.mem_per_worker_bytes
        if memory is None:
            memory = parse_size(configured_memory) if configured_memory else FALLBACK_MEM_PER_CORE * cores
        return JobResources(request.partition or configured_queue, cores, memory, walltime)
    notes: list[str] = []
    chosen = _choose_partition(request, partitions, estimated_bytes, configured_queue, notes)
    if cores > chosen.max_cores:
        raise InputError(
            f"cores_per_worker={cores} is more than partition {chosen.name!r} offers on one node "
            f"({chosen.max_cores} CPUs). Ask for at most {chosen.max_cores}, or choose another partition."
        )
    memory, warnings = _fit_memory(request, chosen, partitions)
    if walltime is not None:
        try:
            seconds = parse_slurm_time(walltime)
        except ValueError:
            raise InputError(f'walltime must be a SLURM time like "02:00:00" or "1-00:00:00", got {walltime!r}.') from None
        if seconds is not None and chosen.max_time_s is not None and seconds > chosen.max_time_s:
            warnings.append(
                f"walltime {walltime} exceeds the MaxTime of partition {chosen.name!r}; capping at "
                f"{format_slurm_time(chosen.max_time_s)}."
            )
            seconds = chosen.max_time_s
        walltime = None if seconds is None else format_slurm_time(seconds)
    return JobResources(chosen.name, cores, memory, walltime, tuple(notes), tuple(warnings))


def cluster_kwargs(
    request: JobRequest,
    resources: JobResources,
    config: Mapping[str, Any],
    *,
    tls_dir: str | None = None,
    interface: str | None = None,
    scheduler_port: int | None = None,
    log_directory: str | None = None,
) -> dict[str, Any]:
    """Keywords for dask-jobqueue's cluster class: the request over the user's jobqueue settings.

    ``config`` is the user's ``jobqueue.<scheduler>`` section. List and mapping
    settings there are extended, not replaced; everything this function does not
    pass is read from it by dask-jobqueue itself.
    """
    kwargs: dict[str, Any] = dict(request.cluster_kwargs)
    kwargs.update(cores=resources.cores, processes=request.processes_per_worker, memory=resources.memory_bytes)
    if resources.partition is not None:
        kwargs["queue"] = resources.partition
    extra = [*_listed(config.get("job-extra-directives")), *_listed(config.get("job-extra"))]
    skip = list(_listed(config.get("job-directives-skip")))
    if request.scheduler == "slurm":
        kwargs["job_mem"] = slurm_memory_request(resources.memory_bytes)
        if resources.walltime is None:
            skip.append("#SBATCH -t ")  # no walltime asked for: the partition's default applies
    if resources.walltime is not None:
        kwargs["walltime"] = resources.walltime
    if skip:
        kwargs["job_directives_skip"] = skip
    if request.scheduler == "htcondor":
        directives = dict(config.get("job-extra-directives") or {})
        directives.update(_condor_directive(item) for item in request.job_extra)
        kwargs["job_extra_directives"] = directives
    else:
        kwargs["job_extra_directives"] = extra + list(request.job_extra)
    worker_args = [*_listed(config.get("worker-extra-args")), *request.worker_extra_args]
    if request.preset.port_range is not None:
        ports = "{}:{}".format(*request.preset.port_range)
        worker_args += ["--worker-port", ports, "--nanny-port", ports]
    kwargs["worker_extra_args"] = worker_args
    options = {"dashboard_address": "127.0.0.1:0", **(config.get("scheduler-options") or {}), **request.scheduler_options}
    if scheduler_port is not None:
        options.setdefault("port", scheduler_port)
    kwargs["scheduler_options"] = options
    if interface is not None and not config.get("interface"):
        kwargs.setdefault("interface", interface)
    if log_directory is not None and not config.get("log-directory") and not _names_output(request.job_extra):
        kwargs.setdefault("log_directory", log_directory)
    if request.container_image is not None:
        bind = f" --bind {shlex.quote(tls_dir)}" if tls_dir else ""
        kwargs["python"] = f"{request.container_runtime} exec{bind} {shlex.quote(request.container_image)} python"
    return kwargs


def expand_log_directory(template: str | None, user: str, timestamp: str) -> str | None:
    """A preset's log directory with ``{user}`` and ``{timestamp}`` filled in."""
    return None if template is None else template.format(user=user, timestamp=timestamp)


# -- helpers --------------------------------------------------------------------------------


def _choose_partition(
    request: JobRequest, partitions: Sequence[Partition], estimated: float | None, queue: str | None, notes: list[str]
) -> Partition:
    site = request.preset
    name = request.partition
    if name == "auto":
        candidates = [p for p in partitions if site.auto_candidate(p.name)]
        if not candidates:
            raise InputError(f'partition="auto" found no partition the {site.name!r} preset allows among {[p.name for p in partitions]}.')
        need = estimated if estimated is not None else request.mem_per_worker_bytes
        if need is None:
            chosen = next((p for p in candidates if p.is_default), candidates[0])
            notes.append(f"no memory estimate or mem_per_worker: using partition {chosen.name!r}")
            return chosen
        chosen = pick_partition(need + request.mem_cushion_bytes, candidates, cores=request.cores_per_worker)
        notes.append(f"picked partition {chosen.name!r}, the smallest that holds {format_size(need)} per worker")
        return chosen
    chosen = find_partition(name or queue, partitions) if (name or queue) else default_partition(partitions)
    if not site.allows(chosen.name):
        allowed = [p.name for p in partitions if site.allows(p.name)]
        raise InputError(f"partition {chosen.name!r} does not run workers at site {site.name!r}; use one of {allowed}.")
    return chosen


def _fit_memory(request: JobRequest, partition: Partition, partitions: Sequence[Partition]) -> tuple[int, list[str]]:
    cores, cushion = request.cores_per_worker, request.mem_cushion_bytes
    asked = request.mem_per_worker_bytes
    if asked is None:
        base = partition.default_mem_bytes(cores)
        return (base - cushion if base > 2 * cushion else base), []
    if partition.node_mem_bytes and asked > partition.node_mem_bytes:
        others = [p.name for p in partitions if p.job_mem_bytes(cores) >= asked and request.preset.allows(p.name)]
        elsewhere = f", or use partition {others[0]!r}" if others else ""
        raise InputError(
            f"partition {partition.name!r} cannot satisfy mem_per_worker={format_size(asked)}: its largest "
            f"node has {format_size(partition.node_mem_bytes)}. Ask for at most "
            f"{format_size(partition.job_mem_bytes(cores) - cushion)}{elsewhere}."
        )
    policy = partition.policy_mem_bytes(cores)
    if policy is not None and asked > policy - cushion:
        capped = policy - cushion
        return capped, [
            f"mem_per_worker={format_size(asked)} exceeds the limit of {format_size(policy)} per job of "
            f"partition {partition.name!r}; capping memory at {format_size(capped)}."
        ]
    return asked, []


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
            _condor_directive(item)
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


def _condor_directive(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise InputError(f'job_extra options for HTCondor must look like "Key = Value", got {item!r}.')
    return key.strip(), value.strip()


def _names_output(job_extra: Sequence[str]) -> bool:
    return any(item.startswith(("--output", "-o")) for item in job_extra)


def _listed(value: Any) -> list[Any]:
    if value is None or isinstance(value, Mapping):
        return []
    return [value] if isinstance(value, str) else list(value)
