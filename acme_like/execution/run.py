"""One map from start to finish: ``run_map`` -> :class:`~acme_like.storage.results.RunResult`.

resume plan -> manifest and journal -> the calls (a plain loop here, or tasks on a
client) -> container -> failures file. It never raises ``TaskError``: failed calls
are part of the result, and what to do about them is the caller's policy. It
neither starts nor stops clusters: ``connect`` gives it the client when, and only
when, some call must run on one.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from distributed import Client

from ..core.options import Options
from ..core.outcome import TaskOutcome
from ..core.identity import call_digests
from ..core.plan import CallPlan
from ..storage.housekeeping import tidy_earlier_runs
from ..storage.layout import OutputLayout
from ..storage.records import Journal, plan_resume, run_signature, write_manifest
from ..storage.results import RunResult, collect_results
from .local import count_workers, workers_are_local
from .progress import Progress
from .tasks import run_on_client, run_sequential
from .worker import CallContext

#: Gives the client to run on; called only when at least one call must run on a client.
Connect = Callable[[], Client]


def run_map(
    func: Callable[..., Any],
    func_name: str,
    plan: CallPlan,
    options: Options,
    layout: OutputLayout | None,
    connect: Connect | None,
    log: logging.Logger,
) -> RunResult:
    """Run every call of ``plan`` that has no valid result yet and collect all of them.

    ``connect=None`` runs the calls one by one in this process (debug mode: the first
    exception propagates unchanged).
    """
    if layout is not None and options.output_dir is None:
        tidy_earlier_runs(layout.run_dir.parent, options.cleanup_threshold_days, keep=layout.run_dir)
    todo: Sequence[int] = range(plan.n_calls)
    done: Mapping[int, TaskOutcome] = {}
    journal = None
    entropy = options.seed
    if layout is not None:
        layout.check_free()
        digests = call_digests(plan)
        signature = run_signature(func_name, options.output)
        resume = plan_resume(layout, digests, signature, options.rerun, options.seed, options.output.single_file)
        todo, done, entropy = resume.todo, resume.done, resume.seed_entropy
        if done or resume.damaged or resume.n_failed_before:
            log.info("%s", resume.summary(plan.n_calls))
        layout.create()
        write_manifest(layout, {**signature, "seed_entropy": entropy, "n_calls": plan.n_calls})
        journal = Journal(layout, digests, fresh=options.rerun == "all")
    elif entropy is None and plan.template.rng:
        entropy = int(np.random.SeedSequence().entropy)
    context = call_context(func, plan, options, layout, entropy)
    try:
        new = _execute(context, plan, func_name, options, todo, connect, journal, log)
    finally:
        if journal is not None:
            journal.close()
    outcomes = [done[i] if i in done else new[i] for i in range(plan.n_calls)]
    problems = [p for p in [journal.problem() if journal is not None else None] if p]
    return collect_results(options.output, layout, outcomes, func_name, stack_copy_limit(), problems)


def call_context(
    func: Callable[..., Any], plan: CallPlan, options: Options, layout: OutputLayout | None, seed_entropy: int | None
) -> CallContext:
    """What every call of the run needs besides its own arguments."""
    output = options.output
    template = plan.template
    if template.rng:
        template = dataclasses.replace(template, seed_entropy=seed_entropy)
    return CallContext(
        func,
        template,
        layout,
        fmt="pickle" if output.mode == "pickle" else "hdf5",
        stack=output.stack,
        retries=options.retries,
    )


def stack_copy_limit() -> int:
    """Bytes up to which a stacked result is copied into a real dataset (dask config
    ``acme_like.stack-copy-limit``, default 64 MB); larger ones stay virtual."""
    import dask.config
    from dask.utils import parse_bytes

    return int(parse_bytes(dask.config.get("acme_like.stack-copy-limit", "64MB")))


def _execute(
    context: CallContext,
    plan: CallPlan,
    func_name: str,
    options: Options,
    todo: Sequence[int],
    connect: Connect | None,
    journal: Journal | None,
    log: logging.Logger,
) -> dict[int, TaskOutcome]:
    if not todo:
        return {}
    record = None if journal is None else journal.record
    show = options.verbose is not False
    if connect is None:
        log.info("Running %d calls of %s one by one in this process (debug mode)", len(todo), func_name)
        with Progress(len(todo), func_name, show) as progress:
            outcomes = run_sequential(context, plan, todo, progress, record)
        return {o.index: o for o in outcomes}
    client = connect()
    n_workers = max(1, count_workers(client))
    log.info("Preparing %d parallel calls of %s using %d workers", len(todo), func_name, n_workers)
    with Progress(len(todo), func_name, show) as progress:
        outcomes = run_on_client(
            client,
            dataclasses.replace(context, shards=True),
            plan,
            todo,
            progress,
            batch_size=options.batch_size,
            n_workers=n_workers,
            record=record,
            lost_retries=options.worker_retries,
            share_arrays=workers_are_local(client),
        )
    return {o.index: o for o in outcomes}
