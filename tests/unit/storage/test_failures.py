"""The TaskError message lists failed calls; atomic writes leave nothing half-written."""

from __future__ import annotations

import pytest

from acme_like.core.outcome import FAILED, OK, CallFailure, TaskOutcome
from acme_like.storage.failures import task_error
from acme_like.storage.layout import OutputLayout, atomic_write
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


def test_a_failed_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(OSError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []
    with atomic_write(target) as tmp:
        tmp.write_text("whole")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"] and target.read_text() == "whole"
