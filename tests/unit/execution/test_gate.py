"""The gate's rules, without a cluster: which held calls are released, which blocked and why,
and that a run waiting on it wakes when an upstream outcome arrives and stops when told."""

from __future__ import annotations

import threading
import time

import pytest

from acme_like.core.outcome import FAILED, OK, CallFailure, TaskOutcome
from acme_like.execution.gate import Board, arrivals


def ok(index):
    return TaskOutcome(index=index, status=OK)


def failed(index):
    return TaskOutcome(index=index, status=FAILED, failure=CallFailure(index, "exception", "ValueError", "", "", ""))


def test_a_call_is_released_once_every_upstream_call_it_reads_has_succeeded():
    board = Board()
    board.publish("load", [ok(0)])
    gate = board.gate(lambda i: [("load", i), ("load", i + 1)])
    assert gate.open([0, 1, 2]) == []
    board.publish("load", [ok(1)])
    assert gate.take() == ([0], {})
    board.publish("load", [ok(2), ok(3)])
    released, blocked = gate.take()
    assert sorted(released) == [1, 2] and blocked == {} and gate.settled


def test_a_call_whose_upstream_call_failed_or_never_ran_is_blocked_with_why():
    board = Board()
    board.publish("load", [failed(0)])
    gate = board.gate(lambda i: [("load", i)])
    assert gate.open([0, 1, 2]) == []
    board.publish("load", [ok(1)])
    board.end("load")  # call 2 never got an outcome
    released, blocked = gate.take()
    assert released == [1]
    assert sorted(blocked) == [0, 2]
    assert blocked[2] == "load item 2 failed, so this call was not run; fix it and run the pipeline again."
    assert gate.settled


class Completed:
    """What as_completed answers when no task is in flight."""

    def has_ready(self):
        return False

    def is_empty(self):
        return True


def test_a_run_waiting_on_its_gate_wakes_for_an_outcome_ends_when_settled_and_stops_when_told():
    board = Board()
    gate = board.gate(lambda i: [("load", i)])
    gate.open([0])
    later = threading.Timer(0.3, lambda: board.publish("load", [ok(0)]))
    later.start()
    started = time.monotonic()
    batches = arrivals(Completed(), gate)
    assert next(batches) == []  # news: call 0 is released
    assert 0.25 < time.monotonic() - started < 2
    assert gate.take() == ([0], {})
    assert list(batches) == []  # nothing held, nothing in flight: the loop ends

    stopped = board.gate(lambda i: [("load", 9)])
    stopped.open([1])
    board.stop()
    with pytest.raises(KeyboardInterrupt):
        next(arrivals(Completed(), stopped))
