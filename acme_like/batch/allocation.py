"""Fit a checked JobRequest to what the batch system offers, and say it in dask-jobqueue's words.

:func:`fit_resources` decides cores, memory and walltime per worker job; on
SLURM it chooses the partition and fits the request to that partition's limits
(a request above its rules is capped, with a warning; one no node can hold is
refused). :func:`cluster_kwargs` turns the result into the keywords of a
dask-jobqueue cluster, on top of the user's ``jobqueue.<scheduler>``
configuration, which it extends and never drops. Pure logic: no dask import,
no commands, no files.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..core.units import format_size, parse_size
from ..errors import InputError
from .request import JobRequest, parse_condor_directive
from .partitions import (
    Partition,
    default_partition,
    find_partition,
    format_slurm_time,
    parse_slurm_time,
    pick_partition,
    slurm_memory_request,
)

#: Memory per core where neither the user, a preset, the configuration nor a partition says (ACME's "1GB").
FALLBACK_MEM_PER_CORE = 10**9


@dataclass(frozen=True, slots=True)
class JobResources:
    """What each worker job asks the batch system for, after fitting it to the partition."""

    partition: str | None
    cores: int
    memory_bytes: int
    walltime: str | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


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
    worker_environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Keywords for dask-jobqueue's cluster class: the request over the user's jobqueue settings.

    ``config`` is the user's ``jobqueue.<scheduler>`` section. List and mapping
    settings there are extended, not replaced; everything this function does not
    pass is read from it by dask-jobqueue itself. ``worker_environ`` is exported
    in the job script after the user's own prologue.
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
        directives.update(parse_condor_directive(item) for item in request.job_extra)
        kwargs["job_extra_directives"] = directives
    else:
        kwargs["job_extra_directives"] = extra + list(request.job_extra)
    worker_args = [*_listed(config.get("worker-extra-args")), *request.worker_extra_args]
    if request.preset.port_range is not None:
        ports = "{}:{}".format(*request.preset.port_range)
        worker_args += ["--worker-port", ports, "--nanny-port", ports]
    kwargs["worker_extra_args"] = worker_args
    if worker_environ:
        prologue = _listed(config.get("job-script-prologue")) or _listed(config.get("env-extra"))
        exports = [f"export {name}={shlex.quote(value)}" for name, value in worker_environ.items()]
        kwargs["job_script_prologue"] = [*prologue, *exports]
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
        # The larger of what a call was measured to need and what the user asked for.
        wanted = [n for n in (estimated, request.mem_per_worker_bytes) if n is not None]
        need = max(wanted) if wanted else None
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
            f"{format_size(partition.job_mem_bytes(cores) - cushion, floor=True)}{elsewhere}."
        )
    policy = partition.policy_mem_bytes(cores)
    if policy is not None and asked > policy - cushion:
        capped = policy - cushion
        return capped, [
            f"mem_per_worker={format_size(asked)} exceeds the limit of {format_size(policy)} per job of "
            f"partition {partition.name!r}; capping memory at {format_size(capped, floor=True)}."
        ]
    return asked, []


def _names_output(job_extra: Sequence[str]) -> bool:
    return any(item.startswith(("--output", "-o")) for item in job_extra)


def _listed(value: Any) -> list[Any]:
    if value is None or isinstance(value, Mapping):
        return []
    return [value] if isinstance(value, str) else list(value)
