"""One map from start to finish: ``run_map`` -> :class:`~acme_like.storage.results.RunResult`.

lock -> resume plan -> manifest and journal -> the calls (a plain loop here, or tasks on a
client) -> container -> failures file. It never raises ``TaskError``: failed calls
are part of the result, and what to do about them is the caller's policy. It
neither starts nor stops clusters: ``connect`` gives it the client when, and only
when, some call must run on one. A pipeline stage running at the same time as
others gets a :class:`~acme_like.execution.gate.RunLink`: the run id its journal
lines carry, the gate its calls wait at, and where its outcomes are published.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from distributed import Client

from ..core.options import Options
from ..core.outcome import TaskOutcome
from ..core.outcome_columns import OutcomeColumns
from ..core.outcome_table import OutcomeTable
from ..core.packed import PackedOutcomes
from ..core.identity import CallDigests, call_identities, keys_at, legacy_call_digests
from ..core.plan import CallPlan
from ..storage.housekeeping import tidy_earlier_runs
from ..errors import PayloadError
from ..storage.layout import OutputLayout, write_failed
from ..storage.lock import lock_run_dir
from ..storage.calls import CallTable, write_run_record
from ..storage.records import Journal, write_manifest
from ..storage.resume import plan_resume, relocate, run_signature
from ..storage.results import RunResult, collect_results
from .local import worker_addresses, workers_are_local
from .gate import RunLink
from .importpath import send_caller_path
from .progress import Progress
from .run_record import describe_workers, now, run_record, with_first_calls
from .source_lines import fill_source
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
    estimate: Mapping[str, float] | None = None,
    label: str | None = None,
    link: RunLink | None = None,
) -> RunResult:
    """Run every call of ``plan`` that has no valid result yet and collect all of them.

    ``estimate`` (``{"seconds", "peak_bytes"}`` of a dry run) goes into ``run.json``.
    ``connect=None`` runs the calls one by one in this process (debug mode: the first
    exception propagates unchanged). ``label`` names the progress bar (default: the
    function's name). ``link`` ties the run to a pipeline's other stages running now.
    """
    if layout is not None and options.output.output_dir is None:
        tidy_earlier_runs(layout.run_dir.parent, options.output.cleanup_threshold_days, keep=layout.run_dir)
    lock = None
    if layout is not None:
        lock = lock_run_dir(layout, f"ParallelMap of {func_name}, {plan.n_calls} calls")
        try:
            layout.check_free()
            layout.create()
        except BaseException:
            lock.release()
            raise
    try:
        link = link or RunLink(uuid.uuid4().hex[:12])
        return _run_locked(func, func_name, plan, options, layout, connect, log, estimate, label or func_name, link)
    finally:
        if lock is not None:
            lock.release()


def _run_locked(
    func: Callable[..., Any],
    func_name: str,
    plan: CallPlan,
    options: Options,
    layout: OutputLayout | None,
    connect: Connect | None,
    log: logging.Logger,
    estimate: Mapping[str, float] | None,
    label: str,
    link: RunLink,
) -> RunResult:
    todo: Sequence[int] = range(plan.n_calls)
    done: Mapping[int, TaskOutcome] = {}
    journal = None
    table = None
    run_info: dict[str, Any] = {}
    entropy = options.run.seed
    shard_tag = ""
    digests = None
    if layout is not None:
        ids = call_identities(plan, options.run.version, hash_file_content())
        digests = CallDigests(ids)
        signature = run_signature(func_name, options.output)
        resume = plan_resume(
            layout, ids, signature, options.run.rerun, options.run.seed, options.output.single_file,
            legacy_digests=lambda: legacy_call_digests(plan),
        )
        todo, done, entropy = resume.todo, resume.done, resume.seed_entropy
        if done or resume.damaged or resume.n_failed_before:
            log.info("%s", resume.summary(plan.n_calls))
        stale = resume.stale_line(func_name)
        if stale:
            log.warning("%s", stale)
        relocate(layout, resume)
        if any(o.payload is not None and o.payload.stack_path is not None for o in done.values()):
            shard_tag = uuid.uuid4().hex[:8]
        write_manifest(layout, {**signature, "seed_entropy": entropy, "n_calls": plan.n_calls, "code": ids.code})
        journal = Journal(layout, ids.keys, ids.code, resume.lines, link.run_id)
        table = CallTable(layout, ids.keys, ids.digests_of_keys, plan.describe_calls, ids.input_files)
        table.record([done[i] for i in sorted(done)], reused=True)
        if link.publish is not None:  # in place now (relocated): later stages may read them
            link.publish([done[i] for i in sorted(done)])
        run_info = {**run_record(func, func_name, plan, options), "estimate": None if estimate is None else dict(estimate)}
        try:
            write_run_record(layout, run_info)
        except OSError as exc:
            table.close()
            raise PayloadError(
                f"{write_failed('the run record', layout.run_record_path, exc)}; no call has run and the results already "
                f"in {layout.run_dir} are kept. Free space there (or make it writable), or pass another output_dir."
            ) from exc
    elif entropy is None and plan.template.rng:
        entropy = int(np.random.SeedSequence().entropy)
    context = dataclasses.replace(
        call_context(func, plan, options, layout, entropy), shard_tag=shard_tag, digests=digests
    )
    workers: list[dict[str, Any]] = []
    try:
        record = _recorder(journal, table, link.publish, None if layout is None else ids.keys)
        new = _execute(context, plan, func_name, options, todo, connect, record, log, workers, label, link, len(done))
        for failure in new.failures():
            if "<dynamic-code>" in failure.traceback:
                new.add([_with_source(new.get(failure.index), func)])
        if layout is not None:
            workers = with_first_calls(workers, new)  # before the results kept from earlier runs join them
        new.add([done[i] for i in sorted(done)])
        outcomes = new  # every call's, in call order
        moved = None if journal is None else journal.record  # payloads that move up (ACME's pickles) are journaled again
        problems = [p for p in [journal.problem() if journal is not None else None] if p]
        result = collect_results(
            options.output, layout, outcomes, func_name, stack_copy_limit(options.output.acme), moved, problems
        )
    finally:
        if journal is not None:
            journal.close()
        if table is not None:
            table.close()
    if layout is not None and table is not None:
        table.finish()
        late = [table.problem()]
        try:
            write_run_record(layout, {**run_info, "ended_at": now(), "workers": workers})
        except OSError as exc:
            late.append(f"{write_failed('the run record', layout.run_record_path, exc)}; the results are not affected")
        late = [p for p in late if p]
        if late:
            result = dataclasses.replace(result, write_errors=result.write_errors + tuple(late))
    return result


def _recorder(
    journal: Journal | None,
    table: CallTable | None,
    publish: Callable[[list[TaskOutcome]], None] | None,
    keys: Sequence[str] | None,
) -> Callable[[list[TaskOutcome]], None] | None:
    if (journal is None or table is None) and publish is None:
        return None

    def record(outcomes: list[TaskOutcome] | PackedOutcomes) -> None:
        """A batch's outcomes, packed (read as columns, no outcome made) or as they are."""
        packed = isinstance(outcomes, PackedOutcomes)
        if journal is not None and table is not None and keys is not None:
            columns = outcomes.columns() if packed else OutcomeColumns.of(outcomes)
            batch_keys = keys_at(keys, columns.index)  # made once for both
            journal.record(columns, batch_keys)
            table.record(columns, keys=batch_keys)
        if publish is not None:  # after the journal: a later stage's call may start on it
            publish(outcomes.unpack() if packed else outcomes)

    return record


def _with_source(outcome: TaskOutcome | None, func: Callable[..., Any]) -> TaskOutcome:
    """The outcome with the source lines the worker could not read filled in (functions from
    a script's ``__main__`` or a notebook cell travel without their file)."""
    assert outcome is not None
    failure = outcome.failure
    if failure is None or "<dynamic-code>" not in failure.traceback:
        return outcome
    failure = dataclasses.replace(failure, traceback=fill_source(failure.traceback, func))
    return dataclasses.replace(outcome, failure=failure)


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
        retries=options.run.retries,
        acme=output.acme,
    )


def hash_file_content() -> bool:
    """Whether a file argument is identified by its content (dask config
    ``acme_like.hash-file-content``, default False: by path, size and mtime)."""
    import dask.config

    return bool(dask.config.get("acme_like.hash-file-content", False))


def stack_copy_limit(acme: bool = True) -> int:
    """Bytes up to which a stacked result is copied into a real dataset (dask config
    ``acme_like.stack-copy-limit``); larger ones stay virtual. In ACME's layout the
    stack is always virtual unless the limit is set; in the modern one it defaults to 64 MB."""
    import dask.config
    from dask.utils import parse_bytes

    limit = dask.config.get("acme_like.stack-copy-limit", None)
    if limit is None:
        return 0 if acme else 64 * 10**6
    return int(parse_bytes(limit))


def _execute(
    context: CallContext,
    plan: CallPlan,
    func_name: str,
    options: Options,
    todo: Sequence[int],
    connect: Connect | None,
    record: Callable[[list[TaskOutcome]], None] | None,
    log: logging.Logger,
    workers: list[dict[str, Any]],
    label: str,
    link: RunLink,
    n_reused: int,
) -> OutcomeTable:
    table = OutcomeTable(plan.n_calls)
    if not todo:
        return table
    show = options.log.verbose is not False
    if connect is None:
        log.info("Running %d calls of %s one by one in this process (debug mode)", len(todo), func_name)
        with Progress(len(todo), label, show) as progress:
            table.add(run_sequential(context, plan, todo, progress, record))
        return table
    client = connect()
    send_caller_path(client)  # before the function travels: its module may be on the caller's path only
    addresses = worker_addresses(client)
    n_workers = max(1, len(addresses))
    log.info("Preparing %d parallel calls of %s using %d workers", len(todo), func_name, n_workers)
    sharded = dataclasses.replace(context, shards=True, digests=None)
    # Payloads carry identities only when written per call; each task carries those of its calls.
    identify = None if sharded.sharded or context.digests is None else context.digests.__getitem__
    with Progress(len(todo), label, show, link.position, n_reused) as progress:
        outcomes = run_on_client(
            client,
            sharded,
            plan,
            todo,
            progress,
            batch_size=options.run.batch_size,
            n_workers=n_workers,
            record=record,
            lost_retries=options.run.worker_retries,
            share_arrays=workers_are_local(addresses),
            gate=link.gate,
            identify=identify,
        )
    if context.layout is not None:  # for the run record; a run in memory has none
        workers.extend(describe_workers(client))
    return outcomes
