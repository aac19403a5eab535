"""Run one prepared stage on the pipeline's session, verify a switched-off one, or preview it.

The stage's calls go through ``run_map``, the seam ``ParallelMap`` uses too, so a
stage resumes, retries, batches and writes exactly as a ParallelMap would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.identity import CallIdentities, call_identities, legacy_call_digests
from ..errors import PipelineError
from ..log import run_logging
from ..storage.layout import log_path
from ..storage.resume import ResumePlan, plan_resume, relocate, run_signature
from ..storage.results import RunResult
from .items import Gathered, UpstreamItem
from .prepare import PreparedStage, Token, prepare_stage, result_tokens

if TYPE_CHECKING:
    from ..execution.gate import RunLink
    from ..session import Session
    from .pipeline import Pipeline
    from .stage import Stage


def run_stage(prepared: PreparedStage, session: "Session", verbose: bool | None, link: "RunLink | None" = None) -> RunResult:
    """Run what is missing or stale in the stage, on the session's client (``link``: with the
    stages running at the same time)."""
    from ..execution.run import run_map

    logfile = log_path(prepared.options.log.logfile, prepared.layout, prepared.func_name)
    with run_logging(verbose, logfile) as log:
        log.info("Stage %s: %d calls of %s", prepared.name, prepared.plan.n_calls, prepared.func_name)
        result = run_map(
            prepared.func, prepared.func_name, prepared.plan, prepared.options, prepared.layout,
            lambda: session.connect(prepared.plan.n_calls), log, label=f"{prepared.name} ({prepared.func_name})", link=link,
        )
        if result.ok:
            result.describe(log)
    return result


def measure_one_call(prepared: PreparedStage) -> tuple[float, float]:
    """Seconds and peak bytes of one sampled call of the stage, run here (sizes batch workers)."""
    from ..execution.estimate import estimate_run
    from ..execution.run import call_context

    estimate = estimate_run(
        call_context(prepared.func, prepared.plan, prepared.options, prepared.layout, prepared.options.run.seed),
        prepared.plan, prepared.func_name, 1, files_per_call=1, fixed_files=1, n_samples=1,
    )
    return estimate.seconds_per_call, float(estimate.peak_bytes_per_call)


def _resume(prepared: PreparedStage, rerun: str | None = None) -> tuple[CallIdentities, ResumePlan]:
    """The stage's call identities, and what its stored records say: which calls are done,
    stale, damaged or missing (by the stage's own ``rerun``, unless given)."""
    from ..execution.run import hash_file_content

    assert prepared.layout is not None
    options = prepared.options
    ids = call_identities(prepared.plan, options.run.version, hash_file_content())
    return ids, plan_resume(
        prepared.layout, ids, run_signature(prepared.func_name, options.output), rerun or options.run.rerun,
        options.run.seed, options.output.single_file, legacy_digests=lambda: legacy_call_digests(prepared.plan),
    )


def verify_stage(prepared: PreparedStage) -> tuple[RunResult, tuple[Token, ...]]:
    """The stored results of a switched-off stage, each checked to be present and current,
    with their tokens."""
    layout = prepared.layout
    if layout is None:
        raise PipelineError(
            f"stage {prepared.name!r} keeps its results in memory (write_worker_results=False), so it "
            f"has nothing stored to use when switched off. Switch it on, or let it write its results."
        )
    output = prepared.options.output
    ids, resume = _resume(prepared, "keep-stale" if prepared.options.run.rerun == "keep-stale" else "missing")
    if resume.todo:
        shown = ", ".join(map(str, resume.todo[:10])) + (f" and {len(resume.todo) - 10} more" if len(resume.todo) > 10 else "")
        raise PipelineError(
            f"stage {prepared.name!r} is switched off, but {len(resume.todo)} of its {prepared.plan.n_calls} "
            f"results in {layout.run_dir} are missing, damaged or made from other inputs (calls {shown}). "
            f"Run the pipeline with the stage switched on (active={{{prepared.name!r}: True}}) to make them."
        )
    relocate(layout, resume)  # results kept from a run with the items in another order
    outcomes = tuple(resume.done[i] for i in range(prepared.plan.n_calls))
    container = str(layout.container_path) if layout.container_path.exists() else None
    returned: Any = [container] if output.single_file else [o.payload.path if o.payload else None for o in outcomes]
    result = RunResult(prepared.func_name, outcomes, layout, container, None, returned, output.stack is not None)
    return result, result_tokens(prepared, ids, resume, None)


def resume_of(prepared: PreparedStage) -> tuple[CallIdentities, ResumePlan] | None:
    """The stage's identities and resume plan, or None for a stage that keeps its results in memory."""
    return None if prepared.layout is None else _resume(prepared)


@dataclass(frozen=True, slots=True)
class StagePreview:
    """What running a stage would do: calls to run, calls reused, why each reruns."""

    stage: str
    active: bool
    n_calls: int | None
    reasons: dict[str, tuple[int, ...]]  # reason -> calls
    reused: int
    problem: str | None = None
    forecast: str | None = None  # time and memory of the calls to run, from a sample run here

    @property
    def rerun_indices(self) -> tuple[int, ...]:
        return tuple(sorted({i for calls in self.reasons.values() for i in calls}))

    def __str__(self) -> str:
        if self.problem:
            return f"stage {self.stage}: {self.problem}"
        total = "?" if self.n_calls is None else f"{self.n_calls:,}"
        head = f"stage {self.stage}: {len(self.rerun_indices):,} of {total} calls to run, {self.reused:,} reused"
        if not self.active:
            head += " (switched off: stored results used)"
        why = "; ".join(f"{reason}: {len(calls):,} (calls {_shown(calls)})" for reason, calls in self.reasons.items() if calls)
        return head + (f"; {why}" if why else "") + (f"\n  forecast: {self.forecast}" if self.forecast else "")


def preview_stage(
    stage: "Stage", pipeline: "Pipeline", active: bool, rerun_items: dict[str, set[int]],
    stored: dict[str, tuple[UpstreamItem, ...]], sample: bool = False, workers: int = 1,
) -> StagePreview:
    """Preview one stage from what is stored now, given which upstream items will be remade;
    the stage's stored items go into ``stored`` for the stages after it."""
    pending = any(s.name not in rerun_items for s in stage.upstream)
    if pending:  # pragma: no cover - stages are previewed in order
        return StagePreview(stage.name, active, None, {}, 0, "an upstream stage was not previewed")
    unknown = [s.name for s in stage.upstream if s.fan_out and rerun_items[s.name] and s._items is None]
    if unknown:
        return StagePreview(stage.name, active, None, {"upstream reruns": ()}, 0,
                            f"its items come from {unknown[0]!r}, which fans out and must run first: its item count is known after that")
    try:
        prepared = prepare_stage(stage, pipeline, items_of=lambda upstream: _items_of(upstream, stored))
    except PipelineError as exc:
        return StagePreview(stage.name, active, None, {}, 0, str(exc))
    n_calls = prepared.plan.n_calls
    upstream_rerun = tuple(i for i in range(n_calls) if _reads_remade(prepared, i, rerun_items))
    layout = prepared.layout
    if layout is None:
        return StagePreview(stage.name, active, n_calls, {"results in memory (never stored)": tuple(range(n_calls))}, 0)
    ids, resume = _resume(prepared)
    stored[stage.name] = _stored_items(stage, prepared, ids, resume)
    failed = {i for i, line in resume.lines.items() if line.get("status") == "failed"}
    remade = set(upstream_rerun)
    reasons: dict[str, tuple[int, ...]] = {
        "upstream result remade": upstream_rerun,
        "changed code": tuple(i for i in resume.stale if i not in remade),
        "failed before": tuple(sorted(failed - remade)),
        "payload missing or damaged": tuple(i for i in resume.damaged if i not in remade),
    }
    listed = {i for calls in reasons.values() for i in calls}
    reasons["new or changed inputs or parameters"] = tuple(i for i in resume.todo if i not in listed)
    rerun = {i for calls in reasons.values() for i in calls}
    problem = None
    if not active and rerun:
        problem = (f"switched off, but {len(rerun)} of its {n_calls} stored results are missing or stale "
                   f"(calls {_shown(tuple(sorted(rerun)))}): switch it on to remake them")
    forecast = None
    if active and rerun and sample and not upstream_rerun:
        forecast = _forecast(prepared, tuple(sorted(rerun)), workers)
    return StagePreview(stage.name, active, n_calls, reasons, n_calls - len(rerun), problem, forecast)


def _forecast(prepared: PreparedStage, to_run: tuple[int, ...], workers: int) -> str | None:
    """Run up to three of the calls to run here (nothing kept) and scale to all of them."""
    import random

    from ..core.units import format_size
    from ..execution.run import call_context
    from ..execution.worker import run_call

    chosen = sorted(random.Random(0).sample(to_run, min(3, len(to_run))))
    context = call_context(prepared.func, prepared.plan, prepared.options, None, prepared.options.run.seed or 0)
    seconds, peaks = [], []
    for index in chosen:
        measured = reset_peak_here()
        outcome = run_call(context, index, prepared.plan.call_values(index), capture=True)
        if not outcome.ok:
            return f"a sampled call failed ({outcome.failure.headline() if outcome.failure else 'unknown'}): no forecast"
        seconds.append(outcome.seconds)
        peaks.append(read_peak_here() if measured else 0)
    per_call = sum(seconds) / len(seconds)
    total = per_call * len(to_run) / max(1, workers)
    peak = f", peak memory about {format_size(max(peaks))} a call" if any(peaks) else ""
    return (f"{len(to_run):,} calls x {per_call:.3g} s (sampled {len(chosen)} here) on {workers} workers: about "
            f"{total:.3g} s{peak}")


def reset_peak_here() -> bool:
    from ..execution.placement import reset_peak

    return reset_peak()


def read_peak_here() -> int:
    from ..execution.placement import read_peak

    return int(read_peak() or 0)


def _items_of(upstream: "Stage", stored: dict[str, tuple[UpstreamItem, ...]]) -> tuple[UpstreamItem, ...]:
    if upstream.name not in stored:
        raise PipelineError(f"stage {upstream.name!r} keeps its results in memory: the stages after it can be previewed only after it runs")
    return stored[upstream.name]


def _stored_items(stage: "Stage", prepared: PreparedStage, ids: CallIdentities, resume: ResumePlan) -> tuple[UpstreamItem, ...]:
    """The stage's items as stored now (a call still to run stands as a failed placeholder)."""
    from ..core.outcome import CallFailure, TaskOutcome
    from .prepare import stage_items

    outcomes = [
        resume.done[index] if index in resume.done
        else TaskOutcome(index, "failed", failure=CallFailure(index, "exception", "NotYetRun", "", "", ""))
        for index in range(prepared.plan.n_calls)
    ]
    result = RunResult(prepared.func_name, tuple(outcomes), prepared.layout, None, None, None, False)
    return stage_items(stage, prepared, result, result_tokens(prepared, ids, resume, None))


def stored_result(prepared: PreparedStage, resume: ResumePlan) -> RunResult | None:
    """The stage's result as stored, when nothing is left to run and nothing needs writing; else None."""
    layout = prepared.layout
    output = prepared.options.output
    if layout is None or resume.todo or resume.moves or (output.mode == "hdf5" and not layout.container_path.exists()):
        return None
    outcomes = tuple(resume.done[i] for i in range(prepared.plan.n_calls))
    container = str(layout.container_path) if layout.container_path.exists() else None
    returned: Any = [container] if output.single_file else [o.payload.path if o.payload else None for o in outcomes]
    return RunResult(prepared.func_name, outcomes, layout, container, None, returned, output.stack is not None)


def _reads_remade(prepared: PreparedStage, index: int, rerun_items: dict[str, set[int]]) -> bool:
    for value in prepared.plan.call_values(index):
        items = value.items if isinstance(value, Gathered) else (value,) if isinstance(value, UpstreamItem) else ()
        if any(item.failed or item.index in rerun_items.get(item.stage, ()) for item in items):
            return True
    template = prepared.plan.template
    for value in (*template.args, *template.kwargs.values()):
        if isinstance(value, Gathered) and any(item.failed or item.index in rerun_items.get(item.stage, ()) for item in value.items):
            return True
    return False


def _shown(calls: tuple[int, ...]) -> str:
    return ", ".join(map(str, calls[:10])) + (f" and {len(calls) - 10} more" if len(calls) > 10 else "")
