"""Turn a stage and its upstream items into what ``run_map`` needs, and its results into items.

Pure planning plus ``stat`` of payload files; runs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..core.binding import keyword_parameters
from ..core.collector import collector_paused
from ..core.options import Options, resolve_options
from ..core.routing import route_own_keywords
from ..core.plan import CallPlan, function_name, plan_calls
from ..storage.layout import OutputLayout
from ..storage.results import RunResult
from .items import Form, Gathered, StageCall, StageInput, UpstreamItem
from .stage import Stage

if TYPE_CHECKING:
    from .pipeline import Pipeline


@dataclass(frozen=True, slots=True)
class PreparedStage:
    """A stage ready to run: the wrapped function, its plan, options and layout."""

    name: str
    func: Callable[..., Any]
    func_name: str
    plan: CallPlan
    options: Options
    layout: OutputLayout | None


def prepare_stage(stage: "Stage", pipeline: "Pipeline", items_of: Callable[["Stage"], tuple[UpstreamItem, ...]] | None = None) -> PreparedStage:
    """Plan ``stage`` over the items of its upstream stages (``items_of`` defaults to their last run)."""
    items_of = items_of or (lambda upstream: upstream.items)
    forms: dict[str, Form] = {}
    gathered_only = False

    def substitute(name: str, value: Any) -> Any:
        nonlocal gathered_only
        if isinstance(value, StageInput):
            upstream, form = value.stage, value.form
        elif _is_stage(value):
            upstream, form = value, "value"
        else:
            return value
        forms[name] = form
        if form == "gathered":
            gathered_only = True
            return Gathered(items_of(upstream))
        return list(items_of(upstream))

    args = [substitute(f"args[{i}]", a) for i, a in enumerate(stage.args)]
    kwargs = {k: substitute(k, v) for k, v in stage.kwargs.items()}
    keywords = dict(stage.keywords)
    chosen = keywords.pop("acme_like_options", None)
    # As in ParallelMap: a keyword of acme_like's own that the stage's function names goes to the function.
    keywords, for_func = route_own_keywords(keywords, set(keywords), keyword_parameters(stage.func), stage.name, chosen)
    kwargs = {**for_func, **kwargs}
    n_inputs = keywords.pop("n_inputs", "auto")
    if gathered_only and n_inputs == "auto" and not any(f != "gathered" for f in forms.values()):
        n_inputs = 1 if not _has_split_candidate(args, kwargs) else "auto"
    func: Callable[..., Any] = stage.func
    if forms or stage.returns is not None or stage.fan_out:
        func = StageCall(stage.func, stage.name, forms, stage.returns, stage.fan_out)
    options = resolve_options(output_dir=str(pipeline.workspace / stage.name), verbose=pipeline.verbose, **keywords)
    plan = plan_calls(func, args, kwargs, n_inputs)
    func_name = function_name(stage.func)
    layout = OutputLayout.for_run(options.output.output_dir, func_name) if options.output.on_disk else None
    return PreparedStage(stage.name, func, func_name, plan, options, layout)


@collector_paused()  # an item per call: see core.collector
def stage_items(stage: "Stage", prepared: PreparedStage, result: RunResult) -> tuple[UpstreamItem, ...]:
    """A finished (or verified) stage's results as the items later stages read, in call order."""
    items: list[UpstreamItem] = []
    for outcome in result.outcomes:
        if not outcome.ok:
            items.append(UpstreamItem(stage.name, outcome.index, failed=True))
            continue
        payload = outcome.payload
        if payload is None:  # results in memory
            values = tuple(outcome.value) if stage.fan_out else (outcome.value,)
            for element, value in enumerate(values):
                items.append(UpstreamItem(stage.name, outcome.index, element=element if stage.fan_out else None, value=value))
            continue
        # A reused result's size and mtime are in its record; a new one's are read here.
        token = (payload.nbytes, payload.mtime_ns) if payload.mtime_ns else _token(payload.path)
        count = payload.n_values if stage.fan_out else 1
        for element in range(count):
            items.append(
                UpstreamItem(
                    stage.name, outcome.index, path=payload.path, element=element if stage.fan_out else None,
                    n_elements=payload.n_values, token=token,
                )
            )
    return tuple(items)


def _token(path: str) -> tuple[int, int]:
    """What identifies a stored result cheaply: its size and modification time (a rewrite changes it)."""
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def _is_stage(value: Any) -> bool:
    return isinstance(value, Stage)


def _has_split_candidate(args: list[Any], kwargs: dict[str, Any]) -> bool:
    return any(isinstance(v, (list, tuple, range)) for v in (*args, *kwargs.values()))
