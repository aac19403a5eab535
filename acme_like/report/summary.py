"""The numbers of a run report, computed once from a :class:`RunRecord`: pure, vectorized, no files.

Calls reused from an earlier run were not computed in this one: they count as reused and stay out
of the timing, the slowest calls and the memory figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .records import CallRow, RunRecord
from .run_info import StageInfo

N_SLOWEST = 10
#: How many call indices a failure group lists; the count is always complete.
N_FAILED_INDICES = 20


@dataclass(frozen=True, slots=True)
class Counts:
    """How many calls finished, failed, or were reused from an earlier run."""

    n_ok: int
    n_failed: int
    n_reused: int

    @property
    def total(self) -> int:
        return self.n_ok + self.n_failed + self.n_reused


@dataclass(frozen=True, slots=True)
class Timing:
    """Run time of the calls computed in this run (ok and failed); nan when there are none."""

    n_ran: int
    total_seconds: float
    mean_seconds: float
    median_seconds: float
    p95_seconds: float
    max_seconds: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """The dry run's forecast next to what happened; the peak is ``None`` when no call measured one."""

    wall_seconds_forecast: float
    wall_seconds_actual: float
    peak_bytes_forecast: int
    peak_bytes_actual: int | None

    @property
    def wall_ratio(self) -> float:
        """Actual over forecast wall time: 2.0 means the run took twice as long as forecast."""
        return self.wall_seconds_actual / self.wall_seconds_forecast if self.wall_seconds_forecast > 0 else float("nan")

    @property
    def peak_ratio(self) -> float | None:
        if self.peak_bytes_actual is None or self.peak_bytes_forecast <= 0:
            return None
        return self.peak_bytes_actual / self.peak_bytes_forecast


@dataclass(frozen=True, slots=True)
class Memory:
    """Peak memory of the calls that measured one, against the per-worker limit when known."""

    n_known: int
    max_bytes: int | None
    median_bytes: int | None
    limit_bytes: int | None
    n_over_limit: int


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """One worker: what ``run.json`` says about it and what it computed."""

    name: str
    host: str
    memory_limit_bytes: int | None
    n_calls: int
    n_failed: int
    busy_seconds: float
    started_at: float | None
    first_call_at: float | None
    queue_wait_s: float | None


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """The failed calls that raised one exception type, with the first one's message and traceback."""

    exc_type: str
    kinds: tuple[str, ...]
    count: int
    indices: tuple[int, ...]
    example: CallRow


@dataclass(frozen=True, slots=True)
class Section:
    """The counts, timing, slowest calls and failures of a set of calls (the run, or one stage)."""

    counts: Counts
    timing: Timing
    slowest: tuple[CallRow, ...]
    failures: tuple[FailureGroup, ...]


@dataclass(frozen=True, slots=True)
class StageSummary:
    """One pipeline stage: its place in the chain and the section of its calls."""

    name: str
    upstream: tuple[str, ...]
    section: Section


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything the report page states in numbers; see :func:`summarize`."""

    func: str
    n_calls: int
    n_rows: int
    started_at: float
    ended_at: float
    wall_seconds: float
    command: tuple[str, ...]
    versions: tuple[tuple[str, str], ...]
    overall: Section
    memory: Memory
    forecast: Forecast | None
    workers: tuple[WorkerSummary, ...]
    hosts: tuple[str, ...]
    has_input_bytes: bool
    stages: tuple[StageSummary, ...]

    @property
    def n_missing(self) -> int:
        """Planned calls without a row: the run stopped before they were recorded."""
        return max(0, self.n_calls - self.n_rows) if not self.stages else 0


def summarize(record: RunRecord) -> Summary:
    """Compute the numbers of the report from a run record.

    Parameters
    ----------
    record
        As returned by :func:`read_run_record`.

    Returns
    -------
    Summary
        Counts of done, failed and reused calls; wall time; the forecast next to the actual
        figures when the run had a dry-run estimate; workers and hosts; versions; the ten slowest
        calls; failures grouped by exception type, one traceback each; one section per stage of a
        pipeline.

    Examples
    --------
    >>> summary = summarize(read_run_record("ACME_20250101-120000"))   # doctest: +SKIP
    >>> summary.overall.counts.n_failed, summary.overall.slowest[0].arguments  # doctest: +SKIP
    (1, 'x=17')
    """
    cols, run = record.columns, record.run
    everything = np.ones(len(cols), dtype=bool)
    overall = _section(record, everything)
    memory = _memory(record)
    forecast = None
    if run.estimate is not None:
        forecast = Forecast(
            wall_seconds_forecast=run.estimate.seconds,
            wall_seconds_actual=run.ended_at - run.started_at,
            peak_bytes_forecast=run.estimate.peak_bytes,
            peak_bytes_actual=memory.max_bytes,
        )
    workers = _workers(record)
    hosts = tuple(sorted({w.host for w in workers if w.host} | set(np.unique(cols.host[cols.host != ""]).tolist())))
    return Summary(
        func=run.func,
        n_calls=run.n_calls,
        n_rows=len(cols),
        started_at=run.started_at,
        ended_at=run.ended_at,
        wall_seconds=run.ended_at - run.started_at,
        command=run.command,
        versions=run.versions,
        overall=overall,
        memory=memory,
        forecast=forecast,
        workers=workers,
        hosts=hosts,
        has_input_bytes=bool((~np.isnan(cols.input_bytes)).any()),
        stages=_stages(record),
    )


def stage_names(record: RunRecord) -> tuple[StageInfo, ...]:
    """The stages of a pipeline in ``run.json`` order, then any stage only ``calls.csv`` names."""
    listed = record.run.stages or ()
    known = {s.name for s in listed}
    extra = [name for name in np.unique(record.columns.stage).tolist() if name and name not in known]
    if not listed and not extra:
        return ()
    return tuple(listed) + tuple(StageInfo(name, ()) for name in extra)


def ran_mask(record: RunRecord) -> np.ndarray:
    """Calls computed in this run: ok or failed, not reused."""
    return record.columns.status != "reused"


def _section(record: RunRecord, mask: np.ndarray) -> Section:
    cols = record.columns
    status = cols.status[mask]
    counts = Counts(n_ok=int((status == "ok").sum()), n_failed=int((status == "failed").sum()),
                    n_reused=int((status == "reused").sum()))
    ran = mask & ran_mask(record)
    seconds = cols.seconds[ran]
    if len(seconds):
        timing = Timing(n_ran=len(seconds), total_seconds=float(seconds.sum()), mean_seconds=float(seconds.mean()),
                        median_seconds=float(np.median(seconds)), p95_seconds=float(np.percentile(seconds, 95)),
                        max_seconds=float(seconds.max()))
    else:
        nan = float("nan")
        timing = Timing(0, 0.0, nan, nan, nan, nan)
    return Section(counts=counts, timing=timing, slowest=_slowest(record, ran), failures=_failures(record, mask))


def _slowest(record: RunRecord, mask: np.ndarray) -> tuple[CallRow, ...]:
    rows = np.flatnonzero(mask)
    seconds = record.columns.seconds[rows]
    if len(rows) > N_SLOWEST:
        top = np.argpartition(-seconds, N_SLOWEST)[:N_SLOWEST]
        rows, seconds = rows[top], seconds[top]
    order = np.lexsort((rows, -seconds))  # slowest first; ties in file order
    return tuple(record.calls[i] for i in rows[order])


def _failures(record: RunRecord, mask: np.ndarray) -> tuple[FailureGroup, ...]:
    cols = record.columns
    rows = np.flatnonzero(mask & (cols.status == "failed"))
    if not len(rows):
        return ()
    # A call that died with its worker has no exception type; its kind names what happened.
    label = np.where(cols.exc_type[rows] != "", cols.exc_type[rows], np.char.add("(", np.char.add(cols.kind[rows], ")")))
    names, first, inverse, counts = np.unique(label, return_index=True, return_inverse=True, return_counts=True)
    groups = []
    for g, name in enumerate(names.tolist()):
        members = rows[inverse.ravel() == g]
        groups.append(FailureGroup(
            exc_type=name,
            kinds=tuple(k for k in np.unique(cols.kind[members]).tolist() if k),
            count=int(counts[g]),
            indices=tuple(int(i) for i in cols.index[members[:N_FAILED_INDICES]]),
            example=record.calls[int(rows[first[g]])],
        ))
    groups.sort(key=lambda group: (-group.count, group.exc_type))
    return tuple(groups)


def _memory(record: RunRecord) -> Memory:
    cols, limit = record.columns, record.run.mem_per_worker_bytes
    peaks = cols.peak_bytes[ran_mask(record)]
    peaks = peaks[~np.isnan(peaks)]
    if not len(peaks):
        return Memory(0, None, None, limit, 0)
    return Memory(n_known=len(peaks), max_bytes=int(peaks.max()), median_bytes=int(np.median(peaks)),
                  limit_bytes=limit, n_over_limit=int((peaks > limit).sum()) if limit else 0)


def _workers(record: RunRecord) -> tuple[WorkerSummary, ...]:
    cols = record.columns
    ran = ran_mask(record)
    names, inverse = np.unique(cols.worker[ran], return_inverse=True)
    inverse = inverse.ravel()
    n_calls = np.bincount(inverse, minlength=len(names))
    n_failed = np.bincount(inverse, weights=cols.status[ran] == "failed", minlength=len(names))
    busy = np.bincount(inverse, weights=cols.seconds[ran], minlength=len(names))
    first_host = {}
    if len(names):
        _, first = np.unique(inverse, return_index=True)
        first_host = dict(zip(names.tolist(), cols.host[ran][first].tolist()))
    by_name = {name: (int(n), int(f), float(b)) for name, n, f, b in zip(names.tolist(), n_calls, n_failed, busy)}
    out = []
    for info in record.run.workers:
        n, f, b = by_name.pop(info.name, (0, 0, 0.0))
        out.append(WorkerSummary(info.name, info.host, info.memory_limit_bytes, n, f, b,
                                 info.started_at, info.first_call_at, info.queue_wait_s))
    for name, (n, f, b) in by_name.items():  # a worker the calls name but run.json does not list
        if name:
            out.append(WorkerSummary(name, first_host.get(name, ""), None, n, f, b, None, None, None))
    return tuple(out)


def _stages(record: RunRecord) -> tuple[StageSummary, ...]:
    stage = record.columns.stage
    return tuple(StageSummary(info.name, info.upstream, _section(record, stage == info.name))
                 for info in stage_names(record))
