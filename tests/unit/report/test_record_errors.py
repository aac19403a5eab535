"""A missing or malformed record is refused with a message that says what is wrong and the fix."""

from __future__ import annotations

import json

import pytest

from acme_like.report import RunRecordError, build_report, read_run_record
from record_files import realistic_calls, realistic_run, write_record


def test_missing_calls_csv_names_the_file_and_the_fix(tmp_path):
    run_dir = write_record(tmp_path, realistic_calls(), realistic_run())
    (run_dir / ".acme_like" / "calls.csv").unlink()
    with pytest.raises(RunRecordError) as info:
        build_report(run_dir)
    message = str(info.value)
    assert str(run_dir / ".acme_like" / "calls.csv") in message
    assert "it holds run.json" in message
    assert "Pass the run directory" in message
    assert isinstance(info.value, ValueError)


def test_missing_record_dir(tmp_path):
    with pytest.raises(RunRecordError, match="does not exist"):
        read_run_record(tmp_path)


def test_wrong_header(tmp_path):
    run_dir = write_record(tmp_path, realistic_calls(), realistic_run())
    path = run_dir / ".acme_like" / "calls.csv"
    path.write_text(path.read_text().replace("peak_bytes", "peak_mem", 1))
    with pytest.raises(RunRecordError, match="missing peak_bytes; unexpected peak_mem"):
        read_run_record(run_dir)


def test_unknown_status_names_the_line(tmp_path):
    calls = realistic_calls()
    calls[4]["status"] = "done"
    with pytest.raises(RunRecordError, match=r"data row 5: status is 'done', expected 'ok' or 'failed' or 'reused'"):
        read_run_record(write_record(tmp_path, calls, realistic_run()))


def test_bad_number_names_the_line(tmp_path):
    calls = realistic_calls()
    calls[2]["peak_bytes"] = "lots"
    with pytest.raises(RunRecordError, match=r"data row 3: peak_bytes is 'lots', expected a number"):
        read_run_record(write_record(tmp_path, calls, realistic_run()))


def test_run_json_missing_key_and_wrong_type(tmp_path):
    run = realistic_run()
    del run["n_calls"]
    run_dir = write_record(tmp_path, realistic_calls(), run)
    with pytest.raises(RunRecordError, match="lacks the key 'n_calls'"):
        read_run_record(run_dir)
    run = realistic_run()
    run["workers"][1]["memory_limit_bytes"] = "2 GB"
    (run_dir / ".acme_like" / "run.json").write_text(json.dumps(run))
    with pytest.raises(RunRecordError, match=r"workers\[1\].memory_limit_bytes must be int or null, got '2 GB'"):
        read_run_record(run_dir)


def test_run_json_of_another_format(tmp_path):
    run = realistic_run()
    run["format"] = 2
    with pytest.raises(RunRecordError, match="format 2, this reader knows format 1"):
        read_run_record(write_record(tmp_path, realistic_calls(), run))


def test_empty_calls_file_is_a_valid_run_without_calls(tmp_path):
    run_dir = write_record(tmp_path, [], realistic_run(0, estimate=False))
    page = build_report(run_dir).read_text()
    assert "All 0 calls succeeded." in page


def test_row_with_too_few_fields(tmp_path):
    run_dir = write_record(tmp_path, realistic_calls(), realistic_run())
    path = run_dir / ".acme_like" / "calls.csv"
    path.write_text(path.read_text() + "12,,k,x=1\n")
    with pytest.raises(RunRecordError, match="data row 13: 4 fields, expected 21"):
        read_run_record(run_dir)


def test_fractional_byte_count(tmp_path):
    calls = realistic_calls()
    calls[0]["input_bytes"] = 2.5
    with pytest.raises(RunRecordError, match="data row 1: input_bytes is 2.5, expected a whole number"):
        read_run_record(write_record(tmp_path, calls, realistic_run()))
