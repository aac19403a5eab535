"""Site knowledge as data: what a cluster setup should default to at a given institute.

A :class:`SitePreset` holds the defaults ``slurm_cluster_setup`` uses at one
site (log directory, memory cushion, partitions not to use, ports). The two
sites ACME knows are built in; users add their own under ``acme_like.presets``
in a dask configuration file. Nothing here looks at the host name or runs a
command, and it must not import dask or distributed: the caller hands in the
configured presets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import InputError, InputTypeError


@dataclass(frozen=True, slots=True)
class SitePreset:
    """Defaults for one site; a field left as None keeps the built-in default.

    Attributes
    ----------
    log_directory : str, optional
        Where the batch system writes each job's output; ``{user}`` and
        ``{timestamp}`` are filled in when a cluster starts.
    invalid_partitions : tuple of str
        Partitions that must not run workers (interactive or special-purpose ones).
    auto_partitions : str, optional
        Regular expression: ``partition="auto"`` chooses only among partitions whose
        whole name matches it.
    network_prefix : str, optional
        Start of the address of the network interface workers can reach the scheduler
        on, e.g. "172.18.90."; the interface carrying such an address is used.
    port_range : tuple of int, optional
        First and last port the scheduler, workers and nannies may listen on.
    cluster_kwargs : mapping
        Further keywords for dask-jobqueue's cluster class, e.g. ``{"account": "lab"}``.
    marker_path : str, optional
        A path that exists only on the site's machines (ESI: "/cs"). Where it is
        missing, ACME's site helpers start a local cluster instead, as ACME's do.
    """

    name: str
    description: str = ""
    scheduler: str | None = None
    partition: str | None = None
    n_workers: int | None = None
    mem_per_worker: str | None = None
    cores_per_worker: int | None = None
    n_workers_startup: int | None = None
    timeout: float | None = None
    interactive_wait: float | None = None
    mem_cushion: str | None = None
    walltime: str | None = None
    job_extra: tuple[str, ...] = ()
    worker_extra_args: tuple[str, ...] = ()
    scheduler_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    log_directory: str | None = None
    invalid_partitions: tuple[str, ...] = ()
    auto_partitions: str | None = None
    network_prefix: str | None = None
    port_range: tuple[int, int] | None = None
    container_image: str | None = None
    cluster_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    marker_path: str | None = None

    def allows(self, partition: str) -> bool:
        """Whether workers may run in ``partition`` at this site."""
        return partition not in self.invalid_partitions

    def auto_candidate(self, partition: str) -> bool:
        """Whether ``partition="auto"`` may choose ``partition`` at this site."""
        if not self.allows(partition):
            return False
        return self.auto_partitions is None or re.fullmatch(self.auto_partitions, partition) is not None


#: The sites ACME knows. Partition memory comes from SLURM itself, never from names.
PRESETS: Mapping[str, SitePreset] = MappingProxyType(
    {
        "esi": SitePreset(
            name="esi",
            description="Ernst Struengmann Institute HPC (x86_64 partitions like 8GBS, 16GBL)",
            n_workers=2,
            timeout=60,
            interactive_wait=120,
            mem_cushion="100MB",
            log_directory="/cs/slurm/{user}/{user}_{timestamp}",
            invalid_partitions=("PREPO", "ESI"),
            auto_partitions=r"\d+GBS",
            marker_path="/cs",
        ),
        "cobic": SitePreset(
            name="cobic",
            description="CoBIC HPC (partitions like 8GBSx86, 16GBLx86)",
            n_workers=2,
            timeout=120,
            interactive_wait=120,
            mem_cushion="500MB",
            log_directory="/mnt/hpc/home/{user}/slurm/{user}_{timestamp}",
            invalid_partitions=("VISppc", "VISx86"),
            auto_partitions=r"\d+GBSx86",
            network_prefix="172.18.90.",
            port_range=(60001, 63000),
            marker_path="/mnt/hpc",
        ),
    }
)

_FIELDS = {f.name for f in fields(SitePreset)} - {"name"}
_TUPLES = {"job_extra", "worker_extra_args", "invalid_partitions"}
_MAPPINGS = {"scheduler_options", "cluster_kwargs"}


def preset_from_mapping(name: str, settings: Mapping[str, Any]) -> SitePreset:
    """A SitePreset from a configuration mapping; keys may use dashes or underscores."""
    if not isinstance(settings, Mapping):
        raise InputTypeError(
            f"the preset {name!r} in the dask configuration (acme_like.presets.{name}) must be a "
            f"mapping of settings, got {type(settings).__name__} {settings!r}."
        )
    values: dict[str, Any] = {}
    for key, value in settings.items():
        attribute = str(key).replace("-", "_")
        if attribute not in _FIELDS:
            raise InputError(
                f"unknown setting {key!r} in preset {name!r} (acme_like.presets.{name}); known "
                f"settings: {', '.join(sorted(_FIELDS))}."
            )
        if attribute in _TUPLES:
            value = (value,) if isinstance(value, str) else tuple(value or ())
        elif attribute in _MAPPINGS:
            value = MappingProxyType(dict(value or {}))
        elif attribute == "port_range" and value is not None:
            value = _port_range(name, value)
        values[attribute] = value
    return SitePreset(name=name, **values)


def resolve_preset(name: str | None, configured: Mapping[str, Any]) -> SitePreset | None:
    """The preset called ``name``: a configured one first (it may replace a built-in), then ours."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise InputTypeError(f"preset must be None or the name of a site preset, got {type(name).__name__} {name!r}.")
    if name in configured:
        return preset_from_mapping(name, configured[name])
    if name in PRESETS:
        return PRESETS[name]
    known = sorted(set(PRESETS) | set(configured))
    raise InputError(
        f"no site preset called {name!r}; known presets: {', '.join(known)}. Add your own under "
        f"acme_like.presets.{name} in a dask configuration file (e.g. ~/.config/dask/acme_like.yaml)."
    )


def _port_range(name: str, value: Any) -> tuple[int, int]:
    if isinstance(value, str) and ":" in value:
        value = value.split(":", 1)
    try:
        first, last = (int(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f'port_range of preset {name!r} must be two ports like "60001:63000", got {value!r}.') from None
    if not 0 < first <= last < 65536:
        raise InputError(f"port_range of preset {name!r} must satisfy 0 < first <= last < 65536, got {value!r}.")
    return first, last
