"""The record of every call, read back and checked against what the calls did."""

from __future__ import annotations

import json

import pytest

import funcs
from acme_like import ParallelMap, TaskError, read_calls, status
from acme_like.storage.calls import CALL_COLUMNS

pytestmark = pytest.mark.integration

HEADER = ("index,stage,key,arguments,digest,status,kind,attempt,started_at,ended_at,seconds,peak_bytes,worker,host,"
          "payload,payload_bytes,input_path,input_bytes,exc_type,message,traceback")


def test_calls_csv_tells_time_memory_and_worker_of_each_call(processes_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(funcs.allocate, [0, 1], mb=[30, 300], client=processes_client, output_dir=out,
                     batch_size=1, n_inputs=2) as pmap:
        pmap.compute()
    with open(out / ".acme_like" / "calls.csv", newline="") as stream:
        assert stream.readline().strip() == HEADER == ",".join(CALL_COLUMNS)
    calls = read_calls(out)
    assert [c["index"] for c in calls] == [0, 1]
    assert [c["status"] for c in calls] == ["ok", "ok"]
    small, big = (c["peak_bytes"] for c in calls)
    assert big >= 300 * 2**20 > small  # the worker's peak during each call, not since it started
    assert all(c["worker"] and c["host"] and c["attempt"] == 1 for c in calls)
    assert calls[1]["payload"] == "allocate_payload/allocate_1.h5" and calls[1]["payload_bytes"] > 0
    assert calls[0]["arguments"] == "x=0, mb=30"
    record = json.loads((out / ".acme_like" / "run.json").read_text())
    assert record["format"] == 1 and record["func"] == "allocate" and record["n_calls"] == 2
    assert {"python", "acme_like", "numpy", "h5py", "dask", "distributed", "funcs"} <= set(record["versions"])
    assert record["workers"] and all(w["first_call_at"] and w["started_at"] for w in record["workers"])
    assert all(w["started_at"] <= w["first_call_at"] for w in record["workers"])
    assert record["estimate"] is None
    assert record["stages"] is None and record["ended_at"]


def test_times_reuse_failures_and_status(threads_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(funcs.slow, [1, 2], seconds=[0.05, 0.3], n_inputs=2, output_dir=out, batch_size=1,
                     client=threads_client) as pmap:
        pmap.compute()
    first = read_calls(out)
    assert 0.05 <= first[0]["seconds"] < 0.3 <= first[1]["seconds"]
    assert first[1]["peak_bytes"] is None  # threads share a process: no per-call peak
    with pytest.raises(TaskError):
        with ParallelMap(funcs.fail_on_odd, [2, 3, 4], output_dir=tmp_path / "f", client=threads_client) as pmap:
            pmap.compute()
    calls = read_calls(tmp_path / "f")
    assert [c["status"] for c in calls] == ["ok", "failed", "ok"]
    assert calls[1]["kind"] == "exception" and calls[1]["exc_type"] == "ValueError"
    assert calls[1]["message"] == "odd input 3" and "fail_on_odd" in calls[1]["traceback"]
    summary = status(tmp_path / "f")
    assert (summary.done, summary.failed, summary.stale, summary.missing) == (2, 1, 0, 0)
    assert "1 failed" in str(summary) and "call 1: failed: ValueError: odd input 3" in str(summary)

    with ParallelMap(funcs.slow, [1, 2], seconds=[0.05, 0.3], n_inputs=2, output_dir=out, client=threads_client) as pmap:
        pmap.compute()
    assert [c["status"] for c in read_calls(out)] == ["reused", "reused"]
    (out / "slow_payload" / "slow_1.h5").unlink()
    assert "call 1: missing: its payload slow_payload/slow_1.h5 is gone or damaged" in str(status(out))
    pytest.importorskip("pandas")
    assert list(read_calls(out, as_frame=True).columns) == CALL_COLUMNS


def test_a_dry_run_estimate_goes_into_run_json(tmp_path):
    with ParallelMap(funcs.add, list(range(20)), 1, output_dir=tmp_path, dryrun=True, setup_interactive=False) as pmap:
        pmap.compute(debug=True)
    estimate = json.loads((tmp_path / ".acme_like" / "run.json").read_text())["estimate"]
    assert set(estimate) == {"seconds", "peak_bytes"} and estimate["seconds"] >= 0
    assert all(c["worker"] == "local" and c["peak_bytes"] for c in read_calls(tmp_path))
