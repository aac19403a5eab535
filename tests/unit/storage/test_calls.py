"""The call table (storage.calls): rows appended as batches arrive, left in call order at the end."""

from __future__ import annotations

import numpy as np

from acme_like.core.outcome import TaskOutcome
from acme_like.storage.calls import CallTable, _spans, read_calls
from acme_like.storage.layout import OutputLayout


def test_spans_join_adjacent_rows_leave_out_missing_ones_and_stay_small():
    offsets = np.array([30, 40, -1, 0, 10, 20], dtype=np.int64)
    lengths = np.array([10, 5, 0, 10, 10, 10], dtype=np.int32)
    assert _spans(offsets, lengths) == [(30, 15), (0, 30)]
    assert _spans(offsets, lengths, most=12) == [(30, 12), (42, 3), (0, 12), (12, 12), (24, 6)]
    assert _spans(np.full(3, -1, dtype=np.int64), np.zeros(3, dtype=np.int32)) == []


def test_rows_recorded_in_any_order_end_in_call_order(tmp_path):
    layout = OutputLayout.for_run(tmp_path / "run", "f")
    layout.create()
    keys = [f"{i:032x}.0" for i in range(7)]
    digests = lambda keys: [f"digest of {k}" for k in keys]  # noqa: E731
    described = lambda indices: [f"x={i}" for i in indices]  # noqa: E731
    table = CallTable(layout, keys, digests, described, [None] * 7)
    for batch in ([4, 5, 6], [0, 1], [3]):  # call 2 never finished
        table.record([TaskOutcome(i, "ok", 0.25 * i, started_at=10.0 + i, ended_at=11.0 + i) for i in batch])
    table.finish()
    rows = read_calls(layout.run_dir)
    assert [r["index"] for r in rows] == [0, 1, 3, 4, 5, 6]
    assert [r["key"] for r in rows] == [keys[i] for i in (0, 1, 3, 4, 5, 6)]
    assert [(r["digest"], r["arguments"]) for r in rows] == [(f"digest of {keys[i]}", f"x={i}") for i in (0, 1, 3, 4, 5, 6)]
    assert [r["seconds"] for r in rows] == [0.25 * i for i in (0, 1, 3, 4, 5, 6)]
