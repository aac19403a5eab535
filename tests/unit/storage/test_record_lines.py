"""The journal's lines and calls.csv's rows written from columns are what json and csv write.

The reference here is the record as documented, built as a dict (a list for csv) and
handed to ``json.dumps`` and ``csv.writer``: the fast encoders must give the same bytes
for awkward strings, failures, missing payloads, shards, unknown mtimes, kept runs,
non-finite numbers, and for columns made from packed outcomes as from outcome objects.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from acme_like.core.outcome import CallFailure, PayloadRef, TaskOutcome
from acme_like.core.outcome_columns import OutcomeColumns
from acme_like.core.packed import PackedOutcomes
from acme_like.storage.record_lines import call_rows, csv_field, journal_lines

RUN = "/runs/ACME_1"
AWKWARD = ["plain", "", "a,b", 'say "hi"', "two\nlines", "cr\rlf\r\n", "tab\there", " lead", "ünï", "\x00nul", "😀", "\\", "back\\slash\"q"]


def relative(path: str) -> str:
    assert path.startswith(RUN + "/")
    return path[len(RUN) + 1 :]


def mtime_of(path: str) -> int:
    return 7 if path.endswith("stat-me.h5") else 0


def expected_line(o: TaskOutcome, key: str, code: str, run: str | None) -> str:
    line: dict = {"i": o.index, "key": key, "code": code, "status": o.status}
    if run is not None:
        line["run"] = run
    ref = o.payload
    if ref is not None:
        line.update(path=relative(ref.path), fmt=ref.fmt, n_values=ref.n_values, nbytes=ref.nbytes, crc32=ref.crc32,
                    shape=None if ref.stack_shape is None else list(ref.stack_shape), seconds=o.seconds)
        if ref.stack_path is not None:
            line.update(stack_path=relative(ref.stack_path), stack_row=ref.stack_row, stack_nbytes=ref.stack_nbytes,
                        stack_crc32=ref.stack_crc32)
        if ref.fmt != "container" and (ref.mtime_ns or mtime_of(ref.path)):
            line["mtime_ns"] = ref.mtime_ns or mtime_of(ref.path)
    if o.failure is not None:
        line.update(kind=o.failure.kind, exception=o.failure.exc_type, message=o.failure.message)
    return json.dumps(line, separators=(",", ":"))


def expected_row(o: TaskOutcome, key: str, digest: str, described: str, given, reused: bool) -> str:
    f, ref = o.failure, o.payload
    on_disk = ref is not None and ref.fmt != "container"
    fields = [
        str(o.index), "", key, f.arguments if f is not None and f.arguments else described, digest,
        "reused" if reused else o.status, "" if f is None else f.kind, str(o.attempt),
        "" if o.started_at is None else f"{o.started_at:.6f}", "" if o.ended_at is None else f"{o.ended_at:.6f}",
        f"{o.seconds:.6f}", "" if o.peak_bytes is None else str(o.peak_bytes), o.worker or "", o.host or "",
        relative(ref.path) if on_disk else "", str(ref.nbytes) if on_disk else "",
        "" if given is None else given[0], "" if given is None else str(given[1]),
        "" if f is None else f.exc_type, "" if f is None else f.message, "" if f is None else f.traceback,
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue()


def awkward_outcomes() -> list[TaskOutcome]:
    outcomes = []
    for k, text in enumerate(AWKWARD):
        i = 10 + k
        shard = f"{RUN}/f_payload/f_{text}shard.h5"
        if k % 4 == 0:
            ref = PayloadRef(f"{RUN}/f_payload/f_{i}.h5", "hdf5", 1, 100 + k, (2, k), crc32=k, mtime_ns=10**18 + k)
        elif k % 4 == 1:
            ref = PayloadRef(shard, "hdf5", 2, 50, (), crc32=3, stack_path=shard, stack_row=k, stack_nbytes=999, stack_crc32=4)
        elif k % 4 == 2:
            ref = PayloadRef(f"{RUN}/f_payload/f_{i}.stat-me.h5", "pickle", 1, 12)
        else:
            ref = PayloadRef(f"{RUN}/f.h5", "container", 1, 0, None, stack_row=k)
        failure = CallFailure(i, "exception", f"Err{text}", text, f"Traceback\n  {text}\n", text if k % 2 else "") if k % 3 == 2 else None
        outcomes.append(TaskOutcome(
            i, "failed" if failure else "ok", [0.5, 1e-7, 3.0, 123456.789][k % 4], None if failure else ref, None, failure,
            None if k == 1 else 1.7e9 + k / 3, None if k == 1 else 1.7e9 + k / 2, None if k % 5 == 0 else 2**40 + k,
            [None, "w-1", text][k % 3], [None, "host", text][k % 3], 1 + k % 3,
        ))
    return outcomes


def test_a_batch_of_awkward_outcomes_gives_the_bytes_json_and_csv_give():
    outcomes = awkward_outcomes()
    keys = [f"{k:032x}.{k % 2}" if k % 3 else f"key {AWKWARD[k % len(AWKWARD)]}" for k in range(len(outcomes))]
    runs = [None if k % 4 == 3 else ("r-1" if k % 2 else AWKWARD[k]) for k in range(len(outcomes))]
    code = 'code "x"'
    cols = OutcomeColumns.of(outcomes)
    assert journal_lines(cols, keys, code, runs, relative, mtime_of) == [
        expected_line(o, key, code, run) for o, key, run in zip(outcomes, keys, runs)
    ]
    digests = [f"{k:032x}" for k in range(len(outcomes))]
    described = [f"x={text}, y=1" for text in AWKWARD]
    inputs = [None if k % 2 else (f"/data/{text}.tif", 10 * k) for k, text in enumerate(AWKWARD)]
    for reused in (False, True):
        assert call_rows(cols, keys, digests, described, inputs, relative, reused) == [
            expected_row(o, key, d, desc, given, reused)
            for o, key, d, desc, given in zip(outcomes, keys, digests, described, inputs)
        ]


def test_columns_of_packed_outcomes_are_the_columns_of_the_outcomes_they_were_packed_from():
    shard = f"{RUN}/f_payload/f_shard-3.h5"
    outcomes = [
        TaskOutcome(i, "ok", 0.001 * i, PayloadRef(shard, "hdf5", 1, 10, (3,), 5, shard, i - 100, 77, 8, 10**18 + i),
                    None, None, 1.0 + i, 2.0 + i, 4096, "w", "h", 1)
        for i in range(100, 140)
    ]
    outcomes[3] = TaskOutcome(103, "failed", 0.5, None, None, CallFailure(103, "exception", "E", "m", "tb", "x=103"),
                              1.0, 2.0, 4096, "w", "h", 2)
    packed = PackedOutcomes(outcomes)
    assert packed.columns() == OutcomeColumns.of(outcomes)
    keys = [f"{i:032x}.0" for i in range(100, 140)]
    assert journal_lines(packed.columns(), keys, "c", ["r"] * 40, relative, mtime_of) == [
        expected_line(o, key, "c", "r") for o, key in zip(outcomes, keys)
    ]
    for batch in (outcomes, outcomes[4:]):  # with a failure and without
        n = len(batch)
        assert call_rows(PackedOutcomes(batch).columns(), keys[:n], keys[:n], ["x=1"] * n, [None] * n, relative, False) == [
            expected_row(o, key, key, "x=1", None, False) for o, key in zip(batch, keys)
        ]


@pytest.mark.parametrize("seconds", [math.inf, -math.inf, math.nan])
def test_non_finite_seconds_are_written_as_json_writes_them(seconds):
    o = TaskOutcome(1, "ok", seconds, PayloadRef(f"{RUN}/f_1.h5", "hdf5", 1, 1, None, mtime_ns=5))
    assert journal_lines(OutcomeColumns.of([o]), ["k"], "c", [None], relative, mtime_of) == [expected_line(o, "k", "c", None)]


def test_a_csv_field_is_quoted_exactly_when_csv_quotes_it():
    for text in AWKWARD:
        buffer = io.StringIO()
        csv.writer(buffer).writerow([text, text])
        assert f"{csv_field(text)},{csv_field(text)}\r\n" == buffer.getvalue(), text
