"""The run report of real runs: built after the run from its call record, and what it says is what happened."""

from __future__ import annotations

import html
import re
from pathlib import Path

import dask
import pytest

import funcs
from acme_like import ParallelMap, TaskError, read_calls

pytestmark = pytest.mark.integration


def test_a_run_with_a_failure_gets_a_report_whose_numbers_are_the_call_records(processes_client, tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="acme_like")
    with dask.config.set({"acme_like.report": "auto"}):
        with pytest.raises(TaskError):
            with ParallelMap(funcs.fail_on_odd, list(range(12)), client=processes_client, output_dir=tmp_path / "run") as pmap:
                pmap.compute()
    page_path = tmp_path / "run" / ".acme_like" / "report.html"
    assert page_path.is_file()
    assert f"Run report: {page_path}" in caplog.text
    page = html.unescape(page_path.read_text())
    calls = read_calls(tmp_path / "run")
    failed = [c for c in calls if c["status"] == "failed"]
    assert len(calls) == 12 and len(failed) == 6
    assert f"{len(failed)} of {len(calls)} calls failed" in page
    assert "ValueError" in page and "odd input 1" in page
    slowest = max(calls, key=lambda c: float(c["seconds"]))
    assert slowest["arguments"] in page
    assert re.search(r'<img [^>]*src="data:image/png;base64,', page_path.read_text())


def test_auto_reports_a_short_run_only_when_it_is_told_short_runs_count(processes_client, tmp_path):
    report = tmp_path / "run" / ".acme_like" / "report.html"
    with dask.config.set({"acme_like.report": "auto"}):
        with ParallelMap(funcs.add, [1, 2, 3], 1, client=processes_client, output_dir=tmp_path / "run") as pmap:
            assert [h5py_value(p) for p in pmap.compute()] == [6, 9, 12]  # (x + 1) * 3
        assert not report.exists()  # a run of a second or so: no report by itself
        with dask.config.set({"acme_like.report-min-seconds": 0}):
            with ParallelMap(funcs.add, [1, 2, 3], 1, client=processes_client, output_dir=tmp_path / "run") as pmap:
                pmap.compute()
    assert report.is_file() and "3 calls" in html.unescape(report.read_text())


def h5py_value(path):
    import h5py

    with h5py.File(path, "r") as h5:
        return int(h5["result_0"][()][0])


def test_report_on_request_and_never_by_config(processes_client, tmp_path):
    with dask.config.set({"acme_like.report": "never"}):
        with ParallelMap(funcs.add, [1, 2, 3], 1, client=processes_client, output_dir=tmp_path / "run") as pmap:
            pmap.compute()
    report = tmp_path / "run" / ".acme_like" / "report.html"
    assert not report.exists()
    assert Path(pmap.report()) == report and report.is_file()
    assert "3 calls" in html.unescape(report.read_text())
    in_memory = ParallelMap(funcs.add, [1, 2, 3], 1, write_worker_results=False)
    with pytest.raises(ValueError, match="there is no run record to report on"):
        in_memory.report()
