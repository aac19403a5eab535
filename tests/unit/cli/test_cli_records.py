"""status and failures read a run directory's records: the calls table, or the older files."""

from __future__ import annotations

import csv
import json

import pytest

from acme_like.cli import main
from acme_like.cli.exits import UsageError
from acme_like.cli.records import read_records

HEADER = ("index,stage,key,arguments,digest,status,kind,attempt,started_at,ended_at,seconds,peak_bytes,worker,host,"
          "payload,payload_bytes,input_path,input_bytes,exc_type,message,traceback").split(",")


def write_table(run_dir, rows, n_calls):
    (run_dir / ".acme_like").mkdir(parents=True)
    with open(run_dir / ".acme_like" / "calls.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in HEADER})
    (run_dir / ".acme_like" / "run.json").write_text(json.dumps({"n_calls": n_calls}))


def test_status_and_failures_from_the_calls_table(tmp_path, capsys):
    write_table(tmp_path, [
        {"index": 0, "status": "done"},
        {"index": 1, "status": "failed", "attempt": 1, "exc_type": "ValueError", "message": "first try"},
        {"index": 1, "status": "failed", "attempt": 2, "arguments": "path='b.h5'", "exc_type": "ValueError",
         "message": "bad file", "traceback": "Traceback ...\nValueError: bad file"},
        {"index": 2, "status": "reused"},
    ], n_calls=5)
    records = read_records(tmp_path)
    assert records.counts == {"done": 1, "failed": 1, "reused": 1} and records.missing == 2
    assert main(["status", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "done:    1" in out and "failed:  1" in out and "reused:  1" in out and "missing: 2" in out
    assert main(["failures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1      path='b.h5'  ValueError  bad file" in out and "first try" not in out
    assert "Traceback ...\nValueError: bad file" in out


def test_failures_file_of_runs_before_the_calls_table(tmp_path, capsys):
    record = {"index": 3, "kind": "exception", "exception": "KeyError", "message": "'x'", "arguments": "path='d.h5'",
              "traceback": "Traceback (most recent call last):\nKeyError: 'x'"}
    (tmp_path / "f_failures.json").write_text(json.dumps({"func": "f", "n_calls": 4, "n_failed": 1, "failed_indices": [3], "failures": [record]}))
    assert main(["failures", str(tmp_path)]) == 0
    assert "KeyError: 'x'" in capsys.readouterr().out
    assert read_records(tmp_path).counts["failed"] == 1


def test_a_directory_without_records_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(UsageError, match="no records"):
        read_records(tmp_path)
    assert main(["status", str(tmp_path)]) == 2
    assert "holds no records" in capsys.readouterr().err
    assert main(["failures", str(tmp_path / "missing")]) == 2
