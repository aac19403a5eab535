"""``Pipeline``: several maps over items, each stage reading the results of earlier ones.

The flow::

    pipe = Pipeline(workspace, **cluster keywords)     one Session: one client for every stage
    seg = pipe.stage("segment", f, files, grid=4)      a Stage: a ParallelMap that has not run
    inf = pipe.stage("infer", g, seg, prior=0.1)       seg -> one UpstreamItem per call
    pipe.run(active=...)                               per stage, in order:
      active:    prepare -> run_map(..., session.connect) -> RunResult
      switched off: prepare -> plan_resume: every result stored and current, else an error
    inf.results                                        ACME's return form of the last run

Each stage writes to ``<workspace>/<stage name>/`` with ParallelMap's layout and resumes
per item: a call's identity holds the identities of the upstream results it reads.
A stage whose calls each read one per-call payload of a running stage starts at once
and runs beside it, each call as soon as what it reads is there (``streaming.py``);
any other stage waits for the running ones to end first.
"""

from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ..core.collector import collector_paused
from ..core.schema import parse_schema
from ..errors import InputError, InputTypeError, PipelineError
from .prepare import PreparedStage, Token, prepare_stage, result_tokens, stage_items
from .stage import Stage
from .running import StagePreview, measure_one_call, preview_stage, resume_of, run_stage, stored_result, verify_stage
from .streaming import StageThreads, new_run_id, streams_from

logger = logging.getLogger(__name__)

#: ParallelMap keywords that decide the one client of the pipeline, given to Pipeline, not to a stage.
CLUSTER_KEYWORDS = ("client", "n_workers", "mem_per_worker", "stop_client", "partition", "setup_timeout", "setup_interactive")


class Pipeline:
    """Stages over items in one workspace, on one dask client, resumed per item.

    Parameters
    ----------
    workspace : str or path-like
        Every stage's results go to ``<workspace>/<stage name>/``.
    client, n_workers, mem_per_worker, stop_client, partition, setup_timeout, setup_interactive
        As for :class:`~acme_like.ParallelMap`; one client serves every stage, started when
        the first stage needs it and released at the end of :meth:`run` if the pipeline
        started it.
    verbose : bool or None
        As for ParallelMap: None informative, True debug, False warnings only (no bars).

    Examples
    --------
    >>> pipe = Pipeline("workspace")                                   # doctest: +SKIP
    >>> regions = pipe.stage("regions", split_into_regions, files, fan_out=True)  # doctest: +SKIP
    >>> fits = pipe.stage("infer", infer, regions, prior=0.1)          # doctest: +SKIP
    >>> pipe.run()                                                      # doctest: +SKIP
    >>> pipe.run(active={"regions": False})  # use the stored regions   # doctest: +SKIP
    >>> fits.results                                                    # doctest: +SKIP
    """

    def __init__(self, workspace: str | Path, *, verbose: bool | None = None, **cluster: Any) -> None:
        if not isinstance(workspace, (str, Path)) or not str(workspace):
            raise InputTypeError(f"workspace must be a directory path (str or pathlib.Path), got {workspace!r}.")
        unknown = sorted(set(cluster) - set(CLUSTER_KEYWORDS))
        if unknown:
            raise InputError(
                f"Pipeline got unknown keywords {unknown}; it takes the cluster keywords {list(CLUSTER_KEYWORDS)} "
                f"and verbose. Give stage keywords (output modes, retries, ...) to pipe.stage(...)."
            )
        from ..core.options import resolve_options

        self.workspace = Path(workspace).expanduser().absolute()
        self.verbose = verbose
        self.cluster = resolve_options(**cluster).cluster  # checked as ParallelMap checks them
        self.stages: list[Stage] = []

    def stage(
        self,
        name: str,
        func: Callable[..., Any],
        *args: Any,
        returns: Any = None,
        reads: Any = None,
        fan_out: bool = False,
        **kwargs: Any,
    ) -> Stage:
        """Add a stage: ``func`` mapped like ``ParallelMap(func, *args, **kwargs)``.

        An argument that is an earlier stage gives each call one result of it (its value;
        ``stage.paths``: the payload's path; ``stage.gathered``: one call with all values).
        ``returns``/``reads``: ``(shape, dtype)`` or a list of them, checked when a value
        is written and, between stages, before anything runs. ``fan_out=True``: each call
        returns a list of items, and each becomes one item of the later stages.
        """
        if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
            raise InputError(f"a stage name must be a non-empty string usable as a directory name, got {name!r}.")
        if any(s.name == name for s in self.stages):
            raise InputError(f"the pipeline has a stage named {name!r} already; give each stage its own name.")
        if not callable(func):
            raise InputTypeError(f"stage {name!r}: func must be callable, got {type(func).__name__} {func!r}.")
        if not isinstance(fan_out, bool):
            raise InputTypeError(f"stage {name!r}: fan_out must be True or False, got {fan_out!r}.")
        keywords, func_kwargs = _split_keywords(name, kwargs)
        stage = Stage(
            name, func, tuple(args), func_kwargs, keywords,
            returns=parse_schema(returns, f"stage {name!r} returns"), reads=parse_schema(reads, f"stage {name!r} reads"),
            fan_out=fan_out, pipeline=self,
        )
        for upstream in stage.upstream:
            if upstream.pipeline is not self or upstream not in self.stages:
                raise InputError(f"stage {name!r} reads stage {upstream.name!r}, which is not an earlier stage of this pipeline.")
            _check_schemas(upstream, stage)
        self.stages.append(stage)
        return stage

    @collector_paused()  # a preview makes objects per call: see core.collector
    def dry_run(self, active: Mapping[str, bool] | None = None, forecast: bool = False) -> list[StagePreview]:
        """Per stage: calls to run, calls reused, and why each reruns; runs nothing on a cluster.

        ``forecast=True`` also runs up to three of a stage's calls to run here, in this
        process (nothing is kept), and forecasts the time and memory of all of them, for
        each stage whose inputs are stored now.
        """
        switches = self._switches(active)
        previews: list[StagePreview] = []
        rerun_items: dict[str, set[int]] = {}
        stored: dict[str, Any] = {}
        workers = _forecast_workers(self.cluster) if forecast else 1
        for stage in self.stages:
            preview = preview_stage(stage, self, switches[stage.name], rerun_items, stored, forecast, workers)
            rerun_items[stage.name] = set(preview.rerun_indices)
            previews.append(preview)
        return previews

    def run(self, active: Mapping[str, bool] | None = None, dryrun: bool = False) -> Any:
        """Run what is missing or stale in every active stage; verify switched-off stages.

        A stage whose calls each read one per-call payload of a stage still running starts
        at once, each call as soon as the result it reads is there; any other waits for the
        running stages to end. Ctrl-C stops every running stage (finished results are kept).
        Returns the last stage's results (as ``ParallelMap.compute()``), or the dry run's
        previews when ``dryrun=True``. Raises :class:`~acme_like.PipelineError` listing,
        per stage, the calls that failed; everything else is on disk.
        """
        if not isinstance(dryrun, bool):
            raise InputTypeError(f"dryrun must be True or False, got {dryrun!r}.")
        if dryrun:
            previews = self.dry_run(active, forecast=True)
            for preview in previews:
                logger.warning("%s", preview) if preview.problem else logger.info("%s", preview)
            from ..prompt import ask_yes_no, interactive_terminal

            if self.cluster.setup_interactive and interactive_terminal() and not any(p.problem for p in previews if not p.active):
                if ask_yes_no("Run the pipeline now?", default=True):
                    return self.run(active)
            return previews
        if not self.stages:
            raise PipelineError("the pipeline has no stage: add one with pipe.stage(name, func, inputs).")
        switches = self._switches(active)
        from ..execution.gate import RunLink
        from ..session import Session

        # The stages that run, in order: batch workers are sized from a call of the first, whose
        # inputs exist when the client starts (a later one's may still be being made).
        began = time.monotonic()
        started: list[PreparedStage] = []
        session = Session(self.cluster, measure=lambda: measure_one_call(started[0]))
        found: dict[str, list[str]] = {}
        threads = StageThreads()
        try:
            for stage in self.stages:
                if not threads.may_start(stage):
                    for finished in threads.join():  # a barrier: it reads a running stage as a whole
                        _settle(*finished, found)
                with collector_paused():  # planning makes objects per call: see core.collector
                    prepared = prepare_stage(stage, self, items_of=threads.items_of)
                    if not switches[stage.name]:
                        result, tokens = verify_stage(prepared)
                        _settle(stage, prepared, tokens, result, found)
                        continue
                    # A stage with everything stored and current is not run at all: no client,
                    # no rewritten records (what makes a finished pipeline quick to check).
                    state = resume_of(prepared)
                    done = None if state is None else stored_result(prepared, state[1])
                    if done is not None and state is not None:
                        _settle(stage, prepared, result_tokens(prepared, *state, None), done, found)
                        continue
                    run_id = new_run_id()
                    tokens = () if state is None else result_tokens(prepared, *state, run_id)
                started.append(prepared)

                def run(link: RunLink, prepared: PreparedStage = prepared) -> Any:
                    return run_stage(prepared, session, self.verbose, link)

                if threads.busy or self._feeds_later(stage, prepared, switches):
                    threads.start(stage, prepared, tokens, run_id, run)
                else:
                    _settle(stage, prepared, tokens, run(RunLink(run_id)), found)
            for finished in threads.join():
                _settle(*finished, found)
        except BaseException:
            threads.stop()  # Ctrl-C, or an error here: the running stages stop, their results kept
            raise
        finally:
            session.release()
        failed = {s.name: found[s.name] for s in self.stages if s.name in found}
        self._report(time.monotonic() - began, bool(failed))
        if failed:
            lines = [f"stage {name!r}: " + "; ".join(items[:10]) + (f"; and {len(items) - 10} more" if len(items) > 10 else "") for name, items in failed.items()]
            raise PipelineError(
                "some calls of the pipeline failed; every other result is on disk, and running the "
                "pipeline again runs only what is missing.\n" + "\n".join(lines),
                failed,
            )
        return self.stages[-1].results

    def _feeds_later(self, stage: Stage, prepared: PreparedStage, switches: Mapping[str, bool]) -> bool:
        """Whether an active later stage streams from ``stage``, so that it runs beside it."""
        return any(switches[s.name] and stage in s.upstream and streams_from(stage, prepared, s) for s in self.stages)

    def _report(self, seconds: float, failed: bool) -> None:
        """The pipeline's report, one section per stage (as for a ParallelMap: dask config acme_like.report)."""
        from ..reporting import report_after_run
        from .record import write_pipeline_record

        try:
            written = write_pipeline_record(self)
        except OSError as exc:
            logger.warning("The pipeline's record could not be written (%s); the stages' results are not affected.", exc)
            return
        if written is not None:
            report_after_run(self.workspace, written[1], logger, seconds, failed)

    def _switches(self, active: Mapping[str, bool] | None) -> dict[str, bool]:
        switches = {stage.name: True for stage in self.stages}
        if active is None:
            return switches
        if not isinstance(active, Mapping):
            raise InputTypeError(f'active must map stage names to True/False, e.g. {{"segment": False}}; got {active!r}.')
        for name, on in active.items():
            if name not in switches:
                raise InputError(f"active names stage {name!r}, but the stages are {list(switches)}.")
            if not isinstance(on, bool):
                raise InputTypeError(f"active[{name!r}] must be True or False, got {on!r}.")
            switches[name] = on
        return switches


def _settle(stage: Stage, prepared: PreparedStage, tokens: tuple[Token, ...], result: Any, found: dict[str, list[str]]) -> None:
    """Keep a finished stage's items and results; note its failed calls in ``found``."""
    stage._items = stage_items(stage, prepared, result, tokens)
    stage._results = result.returned
    own = [f.headline() for f in result.failures if f.exc_type != "UpstreamFailed"]
    skipped = sum(1 for f in result.failures if f.exc_type == "UpstreamFailed")
    if own or skipped:
        found[stage.name] = own + ([f"{skipped} calls not run because their upstream item failed"] if skipped else [])


def _split_keywords(name: str, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..parallel_map import ParallelMap

    accepted = {
        p.name for p in inspect.signature(ParallelMap).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    cluster = sorted(set(kwargs) & set(CLUSTER_KEYWORDS))
    if cluster:
        raise InputError(
            f"stage {name!r} got {cluster}: one client serves every stage, so give these to "
            f"Pipeline(workspace, {cluster[0]}=...) instead."
        )
    if "output_dir" in kwargs:
        raise InputError(f"stage {name!r}: its results go to <workspace>/{name}/; output_dir cannot be given to a stage.")
    keywords = {k: v for k, v in kwargs.items() if k in accepted}
    return keywords, {k: v for k, v in kwargs.items() if k not in accepted}


def _forecast_workers(cluster: Any) -> int:
    from ..session import Session

    return Session(cluster).forecast_workers(10**9)


def _check_schemas(upstream: Stage, stage: Stage) -> None:
    if upstream.returns is None or stage.reads is None:
        return
    if not stage.reads.accepts(upstream.returns):
        raise InputError(
            f"stage {stage.name!r} reads {stage.reads.describe()}, but stage {upstream.name!r} returns "
            f"{upstream.returns.describe()}. Change one of the two declarations (or the code behind it)."
        )



