"""Hold a run's calls back until the upstream calls they read have outcomes (pipeline stages at once).

A pipeline runs its streaming stages at the same time on one client, each stage's
``run_map`` in a thread of its own. Each run publishes its outcomes on the
pipeline's :class:`Board`: the results it reuses once they are in place, then each
batch as it arrives. A later stage's :class:`Gate` releases one of its calls as soon
as every upstream call it reads has an outcome, or blocks it (it fails as
``UpstreamFailed`` without running) when one of them failed or its stage ended
without one. :meth:`Board.stop` ends every waiting loop: Ctrl-C reaches only the
main thread, so the stages' loops in the other threads learn of it here.

Threads and one condition only: no dask, no files. The runner (``tasks.py``) asks
the gate which calls it may submit; the gate never submits anything itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..core.outcome import FAILED, CallFailure, TaskOutcome

#: An upstream call: (stage name, call index).
Key = tuple[str, int]

#: How often a run waiting on its gate and its tasks looks at both (a wait, not a spin).
WAIT_S = 0.05


class Board:
    """Which calls of the pipeline's stages have an outcome yet, and whether the pipeline stops."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._known: dict[Key, bool] = {}  # call -> it succeeded
        self._ended: set[str] = set()
        self._gates: list[Gate] = []
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def publish(self, stage: str, outcomes: Iterable[TaskOutcome]) -> None:
        """Outcomes of ``stage``'s calls, as they arrive."""
        with self._changed:
            for outcome in outcomes:
                key = (stage, outcome.index)
                self._known[key] = outcome.ok
                for gate in self._gates:
                    gate._arrived(key, outcome.ok)
            self._changed.notify_all()

    def end(self, stage: str) -> None:
        """``stage``'s run is over: a call of it without an outcome now never gets one."""
        with self._changed:
            self._ended.add(stage)
            for gate in self._gates:
                gate._ended(stage)
            self._changed.notify_all()

    def stop(self) -> None:
        """Every run waiting here stops (as on Ctrl-C)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def gate(self, needs: Callable[[int], Iterable[Key]]) -> "Gate":
        """A gate for a run whose call ``i`` reads the upstream calls ``needs(i)``."""
        gate = Gate(self, needs)
        with self._changed:
            self._gates.append(gate)
        return gate

    def _outcome(self, key: Key) -> bool | None:
        known = self._known.get(key)
        return False if known is None and key[0] in self._ended else known


class Gate:
    """The calls of one run held back, released or blocked by what the board learns."""

    def __init__(self, board: Board, needs: Callable[[int], Iterable[Key]]) -> None:
        self._board = board
        self._needs = needs
        self._missing: dict[int, int] = {}  # held call -> upstream outcomes it still waits for
        self._waiting: dict[Key, list[int]] = {}  # upstream call -> held calls reading it
        self._released: list[int] = []
        self._blocked: dict[int, str] = {}  # call -> why it cannot run

    @property
    def stopped(self) -> bool:
        return self._board.stopped

    def open(self, indices: Sequence[int]) -> list[int]:
        """Hold ``indices`` until what they read has outcomes; return the ones free to run now."""
        free = []
        with self._board._changed:
            for index in indices:
                keys = set(self._needs(index))
                known = {key: self._board._outcome(key) for key in keys}
                failed = sorted(key for key, ok in known.items() if ok is False)
                if failed:
                    self._blocked[index] = _why(failed[0])
                    continue
                missing = [key for key, ok in known.items() if ok is None]
                if not missing:
                    free.append(index)
                    continue
                self._missing[index] = len(missing)
                for key in missing:
                    self._waiting.setdefault(key, []).append(index)
        return free

    def take(self) -> tuple[list[int], dict[int, str]]:
        """The calls released since the last look, and the calls blocked with why."""
        with self._board._changed:
            released, self._released = self._released, []
            blocked, self._blocked = self._blocked, {}
        return released, blocked

    def has_news(self) -> bool:
        return bool(self._released or self._blocked)

    @property
    def settled(self) -> bool:
        """Nothing held back and nothing left to take."""
        with self._board._changed:
            return not (self._missing or self._released or self._blocked)

    def wait(self, timeout_s: float) -> None:
        """Until the board changes (or ``timeout_s``): returns at once if there is news."""
        with self._board._changed:
            if not (self.has_news() or self._board.stopped):
                self._board._changed.wait(timeout_s)

    def _arrived(self, key: Key, ok: bool) -> None:  # under the board's lock
        for index in self._waiting.pop(key, ()):
            if index not in self._missing:
                continue  # blocked already by another upstream call
            if not ok:
                del self._missing[index]
                self._blocked[index] = _why(key)
                continue
            self._missing[index] -= 1
            if not self._missing[index]:
                del self._missing[index]
                self._released.append(index)

    def _ended(self, stage: str) -> None:  # under the board's lock
        for key in [k for k in self._waiting if k[0] == stage]:
            self._arrived(key, False)


def _why(key: Key) -> str:
    return f"{key[0]} item {key[1]} failed, so this call was not run; fix it and run the pipeline again."


def blocked_outcome(index: int, why: str, arguments: str) -> TaskOutcome:
    """The outcome of a call that cannot run because an upstream call failed (journaled as
    failed, so a rerun tries it again)."""
    failure = CallFailure(index=index, kind="exception", exc_type="UpstreamFailed", message=why, traceback="", arguments=arguments)
    return TaskOutcome(index=index, status=FAILED, failure=failure)


def arrivals(completed: Any, gate: Gate | None) -> Iterator[list[Any]]:
    """Batches of finished futures of ``completed`` (a dask ``as_completed``); with a gate, also
    an empty batch whenever the gate has news, and no end while it still holds calls back.

    Raises KeyboardInterrupt in this (not the main) thread when the board stops.
    """
    if gate is None:
        yield from completed.batches()
        return
    while True:
        if gate.stopped:
            raise KeyboardInterrupt("the pipeline was interrupted")
        if completed.has_ready():
            yield completed.next_batch(block=False)
        elif gate.has_news():
            yield []
        elif completed.is_empty() and gate.settled:
            return
        else:
            gate.wait(WAIT_S)


@dataclass(frozen=True, slots=True)
class RunLink:
    """What ties one run to the other stages of a pipeline running at the same time."""

    run_id: str  # written into the journal lines of the calls this run makes
    gate: Gate | None = None  # holds calls back until the upstream calls they read have outcomes
    publish: Callable[[list[TaskOutcome]], None] | None = None  # every outcome: reused ones first, then each batch
    position: int | None = None  # the line of the run's progress bar
