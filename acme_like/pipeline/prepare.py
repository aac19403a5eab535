"""Turn a stage and its upstream items into what ``run_map`` needs, and its results into items.

An item on disk is named before its call runs: its path is the planned payload path
of its call, its token the call's key and code and the id of the run that makes (or made)
it, from the journal line of a kept result (:func:`result_tokens`). So a rerun
upstream call -- deleted or damaged payload, other parameters or code -- is a new
run or a new key or code, and exactly the later calls that read it rerun; and a later
stage can be planned while its upstream stage still runs (:func:`planned_items`).
A result journaled before lines said their run is named by its size and checksum.
Pure planning; runs nothing and reads no payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..core.binding import keyword_parameters
from ..core.collector import collector_paused
from ..core.identity import CallIdentities
from ..core.options import Options, resolve_options
from ..core.routing import route_own_keywords
from ..core.plan import CallPlan, function_name, plan_calls
from ..storage.layout import OutputLayout
from ..storage.resume import ResumePlan
from ..storage.results import RunResult
from .items import Form, Gathered, StageCall, StageInput, UpstreamItem
from .stage import Stage

if TYPE_CHECKING:
    from .pipeline import Pipeline

#: What names a stage's result: ("<key>:<code>" of the call that made it, "run:<id of the run that wrote it>").
Token = tuple[str, str]


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


def result_tokens(prepared: PreparedStage, ids: CallIdentities, resume: ResumePlan, run_id: str | None) -> tuple[Token, ...]:
    """Per call of the stage, the token of its result: a kept result's from its journal line,
    the others' from their key and code and ``run_id``, the run about to make them.

    The key and code are joined, not digested: the token is hashed into each later
    call's identity anyway, and a digest per call was a sixth of planning a pipeline."""
    tokens: list[Token] = []
    made_now = f"run:{run_id}"
    keys, code = ids.keys, ids.code
    done, lines = resume.done, resume.lines
    for index in range(prepared.plan.n_calls):
        line = lines.get(index) if index in done else None
        if line is None:
            tokens.append((f"{keys[index]}:{code}", made_now))
            continue
        run = line.get("run")
        made = f"run:{run}" if isinstance(run, str) else f"bytes:{line.get('nbytes')}:crc32:{line.get('crc32')}"
        tokens.append((f"{line.get('key')}:{line.get('code')}", made))
    return tuple(tokens)


def per_call_payloads(prepared: PreparedStage) -> bool:
    """Whether each call of the stage writes a payload file of its own, at a path known in advance."""
    output = prepared.options.output
    return prepared.layout is not None and output.stack is None and not output.single_file


def planned_paths(prepared: PreparedStage) -> Callable[[int], str]:
    """The payload path of each call of a stage with per-call payloads, as ``layout`` names it,
    made from one template per stage (two ``Path`` joins per call were a third of planning)."""
    layout = prepared.layout
    assert layout is not None
    named = layout.pickle_path if prepared.options.output.mode == "pickle" else layout.payload_path
    head, tail = str(named(0)).rsplit("_0.", 1)
    if str(named(12)) != f"{head}_12.{tail}":  # pragma: no cover - the layout names payloads <stem>_<index>.<ext>
        return lambda index: str(named(index))
    return lambda index: f"{head}_{index}.{tail}"


def planned_items(stage: "Stage", prepared: PreparedStage, tokens: tuple[Token, ...]) -> tuple[UpstreamItem, ...]:
    """The items a stage with per-call payloads will have once its calls ran (those that succeed)."""
    path = planned_paths(prepared)
    return tuple(
        UpstreamItem(stage.name, index, path=path(index), token=tokens[index])
        for index in range(prepared.plan.n_calls)
    )


@collector_paused()  # an item per call: see core.collector
def stage_items(stage: "Stage", prepared: PreparedStage, result: RunResult, tokens: tuple[Token, ...]) -> tuple[UpstreamItem, ...]:
    """A finished (or verified) stage's results as the items later stages read, in call order."""
    items: list[UpstreamItem] = []
    planned = planned_paths(prepared) if per_call_payloads(prepared) else None
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
        path = planned(outcome.index) if planned is not None else payload.path
        token = tokens[outcome.index]
        if not stage.fan_out:
            items.append(UpstreamItem(stage.name, outcome.index, path=path, token=token))
            continue
        for element in range(payload.n_values):
            items.append(UpstreamItem(stage.name, outcome.index, path=path, element=element, n_elements=payload.n_values, token=token))
    return tuple(items)


def _is_stage(value: Any) -> bool:
    return isinstance(value, Stage)


def _has_split_candidate(args: list[Any], kwargs: dict[str, Any]) -> bool:
    return any(isinstance(v, (list, tuple, range)) for v in (*args, *kwargs.values()))
