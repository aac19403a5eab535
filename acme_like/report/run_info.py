"""Read and check ``run.json``, the once-per-run part of a run's record, into frozen values.

Reading only; no dask, distributed or h5py. Errors name the file and the key.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AcmeLikeError

RUN_FORMAT = 1


class RunRecordError(AcmeLikeError, ValueError):
    """A run record is missing or does not follow the format documented in :mod:`acme_like.report`."""


class _Fields:
    """Typed access to the keys of one JSON object, with errors that name the file and the key."""

    def __init__(self, path: Path, data: Any, prefix: str = ""):
        if not isinstance(data, dict):
            raise RunRecordError(f"{path}: {prefix.rstrip('.') or 'the file'} must be an object, "
                                 f"got {type(data).__name__} {data!r:.80}.")
        self.path, self.data, self.prefix = path, data, prefix

    def get(self, key: str, kind: type, *, nullable: bool = False, optional: bool = False) -> Any:
        if key not in self.data:
            if optional:
                return None
            raise RunRecordError(f"{self.path} lacks the key {self.prefix}{key!r} ({kind.__name__}"
                                 f"{' or null' if nullable else ''} expected); keys present: "
                                 f"{', '.join(sorted(map(str, self.data)))}. The file was written by "
                                 f"another version or cut short; rerun to write it again.")
        value = self.data[key]
        if value is None and nullable:
            return None
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if kind is float and ok and not math.isfinite(value):
            ok = False
        if not ok:
            raise RunRecordError(f"{self.path}: {self.prefix}{key} must be {kind.__name__}"
                                 f"{' or null' if nullable else ''}, got {value!r:.80}.")
        return value


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker of the run as ``run.json`` lists it; times are unix seconds."""

    name: str
    host: str
    memory_limit_bytes: int | None
    started_at: float | None
    first_call_at: float | None
    submitted_at: float | None = None

    @property
    def queue_wait_s(self) -> float | None:
        """Seconds the worker's batch job waited in the queue, when the submission time is known."""
        if self.submitted_at is None or self.started_at is None:
            return None
        return max(0.0, self.started_at - self.submitted_at)


@dataclass(frozen=True, slots=True)
class StageInfo:
    """A pipeline stage and the stages it reads from."""

    name: str
    upstream: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Estimate:
    """The dry run's forecast: wall seconds of the whole run, peak bytes of one call."""

    seconds: float
    peak_bytes: int


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The contents of ``run.json``."""

    format: int
    func: str
    n_calls: int
    started_at: float
    ended_at: float
    command: tuple[str, ...]
    versions: tuple[tuple[str, str], ...]
    mem_per_worker_bytes: int | None
    workers: tuple[WorkerInfo, ...]
    estimate: Estimate | None
    stages: tuple[StageInfo, ...] | None


def _read_run(path: Path) -> RunInfo:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunRecordError(f"{path} is not valid JSON ({exc}); expected the object written at the end "
                             f"of a run. Delete the file and rerun, or repair it by hand.") from None
    if not isinstance(data, dict):
        raise RunRecordError(f"{path} holds a JSON {type(data).__name__}, expected an object with keys "
                             f"format, func, n_calls, ...; the file is not a run record.")
    field = _Fields(path, data)
    fmt = field.get("format", int)
    if fmt != RUN_FORMAT:
        raise RunRecordError(f"{path} has format {fmt!r}, this reader knows format {RUN_FORMAT}; "
                             f"build the report with the acme_like version that wrote the run.")
    workers = tuple(_worker(path, i, w) for i, w in enumerate(field.get("workers", list)))
    estimate = field.get("estimate", dict, nullable=True)
    stages = field.get("stages", list, nullable=True)
    return RunInfo(
        format=fmt,
        func=field.get("func", str),
        n_calls=field.get("n_calls", int),
        started_at=field.get("started_at", float),
        ended_at=field.get("ended_at", float),
        command=tuple(field.get("command", list)),
        versions=tuple(sorted((str(k), str(v)) for k, v in field.get("versions", dict).items())),
        mem_per_worker_bytes=field.get("mem_per_worker_bytes", int, nullable=True),
        workers=workers,
        estimate=None if estimate is None else Estimate(
            seconds=_Fields(path, estimate, "estimate.").get("seconds", float),
            peak_bytes=_Fields(path, estimate, "estimate.").get("peak_bytes", int),
        ),
        stages=None if stages is None else tuple(_stage(path, i, s) for i, s in enumerate(stages)),
    )


def _worker(path: Path, i: int, data: Any) -> WorkerInfo:
    field = _Fields(path, data, f"workers[{i}].")
    return WorkerInfo(
        name=field.get("name", str),
        host=field.get("host", str),
        memory_limit_bytes=field.get("memory_limit_bytes", int, nullable=True),
        started_at=field.get("started_at", float, nullable=True),
        first_call_at=field.get("first_call_at", float, nullable=True),
        submitted_at=field.get("submitted_at", float, nullable=True, optional=True),
    )


def _stage(path: Path, i: int, data: Any) -> StageInfo:
    field = _Fields(path, data, f"stages[{i}].")
    return StageInfo(name=field.get("name", str), upstream=tuple(str(u) for u in field.get("upstream", list)))
