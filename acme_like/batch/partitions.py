"""What a SLURM site offers: its partitions and their limits, and the choice among them.

Reads ``sinfo``, ``scontrol show partition`` and, when accounting answers,
``sacctmgr show qos`` through an injectable command runner, and turns their
text into frozen :class:`Partition` values. Also parses the memory values and
times SLURM writes (the sizes users write are ``core.units``'). Pure logic: it must not import dask or
distributed, and it runs no command except through the runner it is given.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from ..core.units import format_size
from ..errors import ClusterError, InputError

#: Runs one command (a list of words) and returns its standard output; raises ClusterError.
CommandRunner = Callable[[Sequence[str]], str]

_UNLIMITED = {"UNLIMITED", "INFINITE", "NONE", "N/A", "(NULL)", ""}
_SLURM_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
_MIB = 2**20


def run_command(args: Sequence[str], timeout_s: float = 30) -> str:
    """Run ``args`` and return its output; any failure becomes a ClusterError naming the command."""
    shown = " ".join(args)
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise ClusterError(f"`{shown}` failed: {args[0]} is not installed or not on PATH.") from None
    except subprocess.TimeoutExpired:
        raise ClusterError(f"`{shown}` did not answer within {timeout_s:g} s.") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or "no output"
        raise ClusterError(f"`{shown}` failed with exit code {done.returncode}: {detail}")
    return done.stdout


# -- sizes and times ------------------------------------------------------------------------


def parse_slurm_memory(text: str) -> int | None:
    """Bytes in a SLURM memory value ("2048" is MiB, "4G", "500M"); None when unlimited."""
    text = text.strip()
    if text.upper() in _UNLIMITED or text == "0":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTP]?)", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a SLURM memory value: {text!r}")
    return int(float(match.group(1)) * _SLURM_UNITS[(match.group(2) or "M").upper()])


def slurm_memory_request(n_bytes: int) -> str:
    """The ``--mem`` value for ``n_bytes``, in whole MiB rounded up ("954M").

    Whole MiB, never whole GiB: rounding 2.9 GiB up to "3G" could exceed a
    partition's limit and get the job rejected.
    """
    return f"{max(1, math.ceil(n_bytes / _MIB))}M"


def parse_slurm_time(text: str) -> float | None:
    """Seconds in a SLURM time ("30", "1:00:00", "2-12:00:00"); None when unlimited.

    >>> parse_slurm_time("30"), parse_slurm_time("1-00:00:00"), parse_slurm_time("UNLIMITED")
    (1800.0, 86400.0, None)
    """
    text = text.strip()
    if text.upper() in _UNLIMITED:
        return None
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text)
    if match is None:
        raise ValueError(f"not a SLURM time: {text!r}")
    days, first, second, third = (int(g) if g else None for g in match.groups())
    if days is None:  # "mm", "mm:ss" or "hh:mm:ss"
        if third is not None:
            hours, minutes, seconds = first, second, third
        else:
            hours, minutes, seconds = 0, first, second or 0
    else:  # "d-hh", "d-hh:mm" or "d-hh:mm:ss"
        hours, minutes, seconds = first, second or 0, third or 0
    return float((((days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds)


def format_slurm_time(seconds: float) -> str:
    """A SLURM time for ``seconds``: "00:30:00", "2-00:00:00"."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


# -- partitions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Partition:
    """One SLURM partition and the limits a job in it meets (bytes, seconds; None = unlimited)."""

    name: str
    is_default: bool = False
    available: bool = True
    cpus_per_node: int = 1
    node_mem_bytes: int = 0
    max_time_s: float | None = None
    def_mem_per_cpu_bytes: int | None = None
    def_mem_per_node_bytes: int | None = None
    max_mem_per_cpu_bytes: int | None = None
    max_mem_per_node_bytes: int | None = None
    max_cpus_per_node: int | None = None
    qos: str | None = None
    qos_mem_bytes: int | None = None

    def policy_mem_bytes(self, cores: int = 1) -> int | None:
        """The memory a job of ``cores`` CPUs may ask for under the partition's and QoS's rules."""
        limits = [self.max_mem_per_node_bytes, self.qos_mem_bytes]
        if self.max_mem_per_cpu_bytes is not None:
            limits.append(self.max_mem_per_cpu_bytes * cores)
        known = [limit for limit in limits if limit is not None]
        return min(known) if known else None

    def job_mem_bytes(self, cores: int = 1) -> int:
        """The most memory one job of ``cores`` CPUs can get: rules and the largest node both."""
        policy = self.policy_mem_bytes(cores)
        return self.node_mem_bytes if policy is None else min(policy, self.node_mem_bytes)

    def default_mem_bytes(self, cores: int = 1) -> int:
        """Memory for a worker when none is asked for: the partition's limit, else its default."""
        policy = self.policy_mem_bytes(cores)
        if policy is not None:
            return min(policy, self.node_mem_bytes)
        if self.def_mem_per_cpu_bytes is not None:
            return self.def_mem_per_cpu_bytes * cores
        if self.def_mem_per_node_bytes is not None:
            return self.def_mem_per_node_bytes
        return self.node_mem_bytes // max(1, self.cpus_per_node) * cores

    @property
    def max_cores(self) -> int:
        """The most CPUs one job on one node may use."""
        if self.max_cpus_per_node is None:
            return self.cpus_per_node
        return min(self.cpus_per_node, self.max_cpus_per_node)


def parse_sinfo(text: str) -> dict[str, dict[str, object]]:
    """Per partition: default flag, availability, largest CPU count and memory of its nodes.

    Reads the output of ``sinfo -h -e -o "%P|%a|%c|%m"``; a partition whose nodes
    differ appears on several lines and keeps the largest node.
    """
    found: dict[str, dict[str, object]] = {}
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 4:
            continue
        raw_name, avail, cpus, mem = fields
        name = raw_name.rstrip("*")
        entry = found.setdefault(name, {"is_default": False, "available": True, "cpus": 0, "mem": 0})
        entry["is_default"] = bool(entry["is_default"]) or raw_name.endswith("*")
        entry["available"] = avail.strip().lower() == "up"
        entry["cpus"] = max(int(entry["cpus"]), _leading_int(cpus))  # type: ignore[call-overload]
        entry["mem"] = max(int(entry["mem"]), _leading_int(mem) * _MIB)  # type: ignore[call-overload]
    return found


def parse_scontrol_partitions(text: str) -> dict[str, dict[str, str]]:
    """The ``Key=Value`` settings of each partition in ``scontrol -o show partition``."""
    found: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        settings = dict(token.split("=", 1) for token in line.split() if "=" in token)
        if "PartitionName" in settings:
            found[settings["PartitionName"]] = settings
    return found


def parse_qos_memory(text: str) -> int | None:
    """The ``mem=`` part of ``sacctmgr -n -P show qos name=Q format=MaxTRES``, in bytes."""
    for line in text.splitlines():
        for item in line.strip().strip("|").split(","):
            key, _, value = item.partition("=")
            if key.strip() == "mem" and value:
                return parse_slurm_memory(value)
    return None


def build_partitions(
    sinfo: Mapping[str, Mapping[str, object]],
    scontrol: Mapping[str, Mapping[str, str]],
    qos_memory: Mapping[str, int | None],
) -> tuple[Partition, ...]:
    """Combine what the three commands said into one Partition per partition, in sinfo's order."""
    partitions = []
    for name, seen in sinfo.items():
        settings = scontrol.get(name, {})
        qos = settings.get("QoS", "N/A")
        qos = None if qos.upper() in _UNLIMITED else qos
        max_cpus = settings.get("MaxCPUsPerNode", "UNLIMITED")
        partitions.append(
            Partition(
                name=name,
                is_default=bool(seen["is_default"]) or settings.get("Default") == "YES",
                available=bool(seen["available"]),
                cpus_per_node=int(seen["cpus"]) or 1,  # type: ignore[call-overload]
                node_mem_bytes=int(seen["mem"]),  # type: ignore[call-overload]
                max_time_s=parse_slurm_time(settings.get("MaxTime", "UNLIMITED")),
                def_mem_per_cpu_bytes=parse_slurm_memory(settings.get("DefMemPerCPU", "UNLIMITED")),
                def_mem_per_node_bytes=parse_slurm_memory(settings.get("DefMemPerNode", "UNLIMITED")),
                max_mem_per_cpu_bytes=parse_slurm_memory(settings.get("MaxMemPerCPU", "UNLIMITED")),
                max_mem_per_node_bytes=parse_slurm_memory(settings.get("MaxMemPerNode", "UNLIMITED")),
                max_cpus_per_node=None if max_cpus.upper() in _UNLIMITED else int(max_cpus),
                qos=qos,
                qos_mem_bytes=qos_memory.get(qos) if qos else None,
            )
        )
    return tuple(partitions)


def read_partitions(run: CommandRunner = run_command) -> tuple[Partition, ...]:
    """Ask SLURM for its partitions and their limits, on any site.

    ``sinfo`` and ``scontrol`` must answer. QoS memory limits are used when
    ``sacctmgr`` answers and ignored when it does not (no accounting database).

    Examples
    --------
    >>> [p.name for p in read_partitions()]  # doctest: +SKIP
    ['small', 'large']
    """
    sinfo = parse_sinfo(run(["sinfo", "-h", "-e", "-o", "%P|%a|%c|%m"]))
    if not sinfo:
        raise ClusterError("SLURM answered, but `sinfo` lists no partitions that this user can see.")
    scontrol = parse_scontrol_partitions(run(["scontrol", "-o", "show", "partition"]))
    qos_memory: dict[str, int | None] = {}
    for qos in sorted({s.get("QoS", "N/A") for s in scontrol.values()} - {"N/A"}):
        try:
            qos_memory[qos] = parse_qos_memory(run(["sacctmgr", "-n", "-P", "show", "qos", f"name={qos}", "format=MaxTRES"]))
        except (ClusterError, ValueError):  # no accounting database: QoS limits are unknown
            qos_memory[qos] = None
    return build_partitions(sinfo, scontrol, qos_memory)


def find_partition(name: str, partitions: Iterable[Partition]) -> Partition:
    """The partition called ``name``; an InputError that lists the others when there is none."""
    known = list(partitions)
    for partition in known:
        if partition.name == name:
            return partition
    names = ", ".join(repr(p.name) for p in known) or "none"
    raise InputError(f"partition {name!r} does not exist on this SLURM cluster; available partitions: {names}.")


def default_partition(partitions: Iterable[Partition]) -> Partition:
    """SLURM's default partition, else the first one listed."""
    known = list(partitions)
    if not known:
        raise ClusterError("SLURM lists no partitions.")
    return next((p for p in known if p.is_default), known[0])


def pick_partition(estimated_bytes: float, partitions: Iterable[Partition], *, cores: int = 1) -> Partition:
    """The smallest partition whose jobs can hold ``estimated_bytes`` of memory.

    Never the "nearest" partition: one slightly smaller than the estimate would
    leave the workers short of memory. Ties go to SLURM's default partition, then
    to the name. Partitions that are down are not considered.

    Raises
    ------
    InputError
        If no partition can hold that much; the message names the largest.

    Examples
    --------
    >>> small = Partition("small", node_mem_bytes=2**34, max_mem_per_node_bytes=2 * 2**30)
    >>> large = Partition("large", node_mem_bytes=2**34, max_mem_per_node_bytes=8 * 2**30)
    >>> pick_partition(3e9, [large, small]).name
    'large'
    """
    usable = [p for p in partitions if p.available and p.max_cores >= cores]
    if not usable:
        raise InputError(f"no partition that is up offers {cores} CPUs on one node.")
    fitting = [p for p in usable if p.job_mem_bytes(cores) >= estimated_bytes]
    if not fitting:
        largest = max(usable, key=lambda p: p.job_mem_bytes(cores))
        raise InputError(
            f"no partition can hold a worker needing {format_size(estimated_bytes)}: the largest, "
            f"{largest.name!r}, allows {format_size(largest.job_mem_bytes(cores))} per job. Reduce the "
            f"memory one call needs, or ask your site for a partition with more memory."
        )
    return min(fitting, key=lambda p: (p.job_mem_bytes(cores), not p.is_default, p.name))


def _leading_int(text: str) -> int:
    match = re.match(r"\s*(\d+)", text)
    return int(match.group(1)) if match else 0
