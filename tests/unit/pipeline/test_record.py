"""The pipeline's combined call table: every stage's rows, in stage order, with the stage column set."""

from __future__ import annotations

import csv
import io

from acme_like import Pipeline, read_calls
from acme_like.core.outcome import FAILED, OK, CallFailure, TaskOutcome
from acme_like.storage.calls import CallTable, write_run_record
from acme_like.storage.layout import OutputLayout


def square(x):
    return x * x


def stage_record(workspace, name, outcomes):
    """What a stage's run leaves: its call table and run record."""
    layout = OutputLayout.for_run(workspace / name, "square")
    layout.create()
    n = len(outcomes)
    digests = lambda keys: [f"digest of {k}" for k in keys]  # noqa: E731
    described = lambda indices: [f"x={i}" for i in indices]  # noqa: E731
    table = CallTable(layout, [f"k{i}" for i in range(n)], digests, described, [None] * n)
    table.record(outcomes)
    table.finish()
    write_run_record(layout, {"started_at": 1.0, "ended_at": 2.0, "workers": []})
    return layout


def test_the_combined_table_is_every_stage_table_with_its_stage_named(tmp_path):
    pipe = Pipeline(tmp_path)
    plain = pipe.stage("plain", square, [1, 2, 3])
    odd = pipe.stage('odd, "name"', square, plain)
    pipe.stage('third, "clean"', square, odd)
    stage_record(tmp_path, "plain", [TaskOutcome(i, OK, seconds=0.25, started_at=10.0 + i) for i in range(3)])
    failure = CallFailure(1, "exception", "ValueError", 'bad "value", here\nand a second line', "Traceback\n  line 1\r\n", "x=1")
    stage_record(tmp_path, 'odd, "name"', [TaskOutcome(0, OK), TaskOutcome(1, FAILED, failure=failure)])
    stage_record(tmp_path, 'third, "clean"', [TaskOutcome(0, FAILED, failure=CallFailure(0, "exception", "KeyError", "'k'", "", "x=0"))])

    from acme_like.pipeline.record import write_pipeline_record

    assert write_pipeline_record(pipe) == (tmp_path / ".acme_like", 6)
    rows = read_calls(tmp_path)
    assert [row["stage"] for row in rows] == ["plain"] * 3 + ['odd, "name"'] * 2 + ['third, "clean"']
    own = read_calls(tmp_path / "plain") + read_calls(tmp_path / 'odd, "name"') + read_calls(tmp_path / 'third, "clean"')
    assert [{**row, "stage": None} for row in rows] == own
    assert rows[4]["message"] == 'bad "value", here\nand a second line' and rows[5]["message"] == "'k'"

    # Byte for byte what the csv module writes from the parsed rows.
    expected = io.StringIO(newline="")
    writer = csv.writer(expected)
    for index, name in enumerate(["plain", 'odd, "name"', 'third, "clean"']):
        with open(tmp_path / name / ".acme_like" / "calls.csv", newline="", encoding="utf-8") as stream:
            parsed = list(csv.reader(stream))
        if index == 0:
            writer.writerow(parsed[0])
        writer.writerows([row[:1] + [name] + row[2:] for row in parsed[1:]])
    with open(tmp_path / ".acme_like" / "calls.csv", newline="", encoding="utf-8") as stream:
        assert stream.read() == expected.getvalue()


def test_a_stage_without_a_call_table_adds_no_rows(tmp_path):
    pipe = Pipeline(tmp_path)
    first = pipe.stage("first", square, [1, 2])
    pipe.stage("second", square, first)
    stage_record(tmp_path, "first", [TaskOutcome(i, OK) for i in range(2)])
    (tmp_path / "second" / ".acme_like").mkdir(parents=True)
    (tmp_path / "second" / ".acme_like" / "calls.csv").write_text("")

    from acme_like.pipeline.record import write_pipeline_record

    assert write_pipeline_record(pipe) == (tmp_path / ".acme_like", 2)
    assert [row["stage"] for row in read_calls(tmp_path)] == ["first", "first"]
