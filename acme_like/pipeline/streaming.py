"""Stages at the same time: a later stage's calls start while its upstream stage still runs.

A stage *streams from* a running upstream stage when each of its calls reads one
payload file of one upstream call (:func:`streams_from`): the upstream stage writes
a payload per call (not in memory, not stacked, not one single file) and does not
fan out (its item count is known only once it ran), and the later stage does not
gather it, nor read its paths where ACME's emergency pickling may move the payloads
when the stage ends (HDF5 results in ACME's layout; a value is found where it went). Its items are then known before the upstream calls run (the planned
payload path, and a token of the call's key and code and the id of the run that makes
it: ``prepare.result_tokens``), so the later stage is planned, resumed and started
at once; its gate (``execution.gate``) submits each call when the upstream calls it
reads have outcomes, and fails it as ``UpstreamFailed``, without running it, when
one of them failed. Anywhere else the pipeline first waits for the running stages
to end (a barrier), as a gathering stage must.

Each running stage has a thread of its own, with its own ``run_map`` on the one
client; the main thread plans the next stages and waits. Ctrl-C reaches only the
main thread: it stops the board, each stage's loop cancels its tasks and closes its
journal (as a ParallelMap does on Ctrl-C), and KeyboardInterrupt propagates once
every stage's thread has ended. An error in the main thread stops them the same way.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..core.plan import CallPlan
from ..execution.gate import Board, Key, RunLink
from ..storage.results import RunResult
from .items import StageInput, UpstreamItem
from .prepare import PreparedStage, Token, per_call_payloads, planned_items
from .stage import Stage


#: How long the main thread waits for a stage's thread at a time (see _wait_for).
JOIN_S = 0.1


def new_run_id() -> str:
    """The id of one run of a stage, written into the journal lines of the calls it makes."""
    return uuid.uuid4().hex[:12]


def streams_from(upstream: Stage, prepared: PreparedStage, stage: Stage) -> bool:
    """Whether ``stage``'s calls may start while ``upstream`` (planned as ``prepared``) still runs."""
    if not per_call_payloads(prepared) or upstream.fan_out:
        return False
    forms = [
        "value" if value is upstream else value.form
        for value in (*stage.args, *stage.kwargs.values())
        if value is upstream or (isinstance(value, StageInput) and value.stage is upstream)
    ]
    output = prepared.options.output
    if "path" in forms and output.mode == "hdf5" and output.acme:
        return False  # ACME's emergency pickling may move the payloads up when the stage ends: a path given earlier would go stale
    return "gathered" not in forms


def needs_of(plan: CallPlan, running: set[str]) -> Callable[[int], list[Key]]:
    """Per call of ``plan``, the calls of running stages it reads (a list passed whole: all of them)."""
    template = plan.template

    def reads(values: Iterable[object]) -> list[Key]:
        found: list[Key] = []
        for value in values:
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, UpstreamItem) and item.stage in running:
                    found.append((item.stage, item.index))
        return found

    shared = reads((*template.args, *template.kwargs.values()))
    return lambda index: shared + reads(plan.call_values(index))


#: A finished stage: the stage, how it was planned, its results' tokens and its result.
Finished = tuple[Stage, PreparedStage, tuple[Token, ...], RunResult]


@dataclass
class _Running:
    stage: Stage
    prepared: PreparedStage
    tokens: tuple[Token, ...]
    items: tuple[UpstreamItem, ...] | None = None
    thread: threading.Thread | None = None
    result: RunResult | None = None
    error: BaseException | None = field(default=None)


class StageThreads:
    """The stages running now, each in a thread of its own, and the board they publish on."""

    def __init__(self) -> None:
        self.board = Board()
        self._running: dict[str, _Running] = {}

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def may_start(self, stage: Stage) -> bool:
        """Whether ``stage`` may start now: it streams from each of its upstream stages still running."""
        return all(
            streams_from(upstream, self._running[upstream.name].prepared, stage)
            for upstream in stage.upstream if upstream.name in self._running
        )

    def items_of(self, stage: Stage) -> tuple[UpstreamItem, ...]:
        """``stage``'s items: as planned while it runs, else those of its last run."""
        running = self._running.get(stage.name)
        if running is None:
            return stage.items
        if running.items is None:
            running.items = planned_items(stage, running.prepared, running.tokens)
        return running.items

    def start(self, stage: Stage, prepared: PreparedStage, tokens: tuple[Token, ...], run_id: str,
              run: Callable[[RunLink], RunResult]) -> None:
        """Run ``stage`` in a thread of its own: ``run(link)``, its calls gated on the running stages."""
        gate = self.board.gate(needs_of(prepared.plan, set(self._running)))
        board, name = self.board, stage.name
        link = RunLink(run_id, gate, lambda outcomes: board.publish(name, outcomes), position=len(self._running))
        entry = _Running(stage, prepared, tokens)

        def body() -> None:
            try:
                if board.stopped:
                    raise KeyboardInterrupt("the pipeline was interrupted")
                entry.result = run(link)
            except BaseException as exc:  # handed to the main thread by join()
                entry.error = exc
            finally:
                board.end(name)

        entry.thread = threading.Thread(target=body, name=f"acme_like stage {name}", daemon=True)
        self._running[name] = entry
        entry.thread.start()

    def join(self) -> list[Finished]:
        """Wait for every running stage; what they produced, in the order they started.

        Raises what a stage raised (KeyboardInterrupt first) once every one has ended;
        Ctrl-C while waiting stops them all.
        """
        entries = list(self._running.values())
        try:
            for entry in entries:
                _wait_for(entry)
        except BaseException:
            self.stop()
            raise
        self._running.clear()
        errors = [e.error for e in entries if e.error is not None]
        if errors:
            raise min(errors, key=lambda e: not isinstance(e, KeyboardInterrupt))
        return [(e.stage, e.prepared, e.tokens, e.result) for e in entries if e.result is not None]

    def stop(self) -> None:
        """Stop every running stage (tasks cancelled, journals closed) and wait until they ended."""
        self.board.stop()
        for entry in self._running.values():
            _wait_for(entry)
        self._running.clear()


def _wait_for(entry: _Running) -> None:
    """Until the stage's thread ended. In short waits: a signal (Ctrl-C) delivered to another
    thread is acted on only when the main thread runs again, never inside one long join."""
    while entry.thread is not None and entry.thread.is_alive():
        entry.thread.join(JOIN_S)
