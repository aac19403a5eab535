"""The TaskError message lists failed calls and names what could not be written."""

from __future__ import annotations

from acme_like.core.outcome import FAILED, OK, CallFailure, TaskOutcome
from acme_like.storage.failures import task_error
from acme_like.storage.layout import OutputLayout
from acme_like.storage.results import RunResult


def result_with(n_failed, n_calls=20, write_errors=()):
    outcomes = [
        TaskOutcome(i, FAILED, failure=CallFailure(i, "exception", "ValueError", f"bad {i}", "", f"x={i}"))
        if i < n_failed else TaskOutcome(i, OK)
        for i in range(n_calls)
    ]
    layout = OutputLayout.for_run("/tmp/Some/Run", "f")
    return RunResult("f", tuple(outcomes), layout, None, None, [None] * n_calls, False, tuple(write_errors))


def test_the_message_lists_up_to_ten_failed_calls_then_counts_the_rest():
    message = str(task_error(result_with(12)))
    lines = message.splitlines()
    assert lines[0] == "Parallel computation failed: 12/20 tasks failed or stalled."  # ACME's first line
    assert lines[1] == "12 of 20 calls of f failed; first failure: call 0 (x=0) raised ValueError: bad 0."
    assert [line for line in lines if line.startswith("  call ")] == [
        f"  call {i} (x={i}) raised ValueError: bad {i}" for i in range(10)
    ]
    assert "  ... and 2 more" in lines
    assert "The results of the 8 successful calls are kept in /tmp/Some/Run/f_payload" in message


def test_one_failure_is_not_listed_twice_and_write_errors_are_named():
    message = str(task_error(result_with(1, write_errors=["could not write the container /tmp/Some/Run/f.h5: No space"])))
    assert "Failed calls:" not in message
    assert "Could not write the container /tmp/Some/Run/f.h5: No space." in message
