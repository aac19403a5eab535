"""The dry run (with a person answering at a real terminal, and without one) and old-run housekeeping."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import funcs
from acme_like import ParallelMap

pytestmark = pytest.mark.integration

TESTS = str(Path(__file__).parents[1])


def test_estimate_is_a_value_scripts_can_use(tmp_path):
    pmap = ParallelMap(funcs.allocate, list(range(300)), mb=20, n_workers=2, output_dir=tmp_path / "run")
    estimate = pmap.estimate()

    assert estimate.n_calls == 300
    assert len(estimate.sample_indices) == 3  # 1 % of the calls
    assert estimate.sample_indices == pmap.estimate().sample_indices  # seeded
    assert 20 * 2**20 <= estimate.peak_bytes_per_call < 40 * 2**20  # the call's own peak, not RSS
    assert estimate.n_workers == 2
    assert estimate.wall_seconds == pytest.approx(150 * estimate.seconds_per_call)
    assert estimate.n_files == 300 + 1 + 1  # payloads, container, log
    assert estimate.disk_bytes == pytest.approx(300 * estimate.output_bytes_per_call)
    assert estimate.output_bytes_per_call > 0
    assert "forecast for all 300 calls on 2 workers" in str(estimate)
    assert not (tmp_path / "run").exists()  # the sample left nothing behind


def test_dry_run_without_a_terminal_logs_the_estimate_and_goes_on(caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="acme_like")
    with ParallelMap(funcs.add, [1, 2, 3], 1, dryrun=True, single_file=True, output_dir=tmp_path / "r") as pmap:
        result = pmap.compute(debug=True)
    assert result == [str(tmp_path / "r" / "add.h5")]
    assert "Dry run of add: 1 of 3 calls run here" in caplog.text


def _run_at_a_terminal(script: str, answer: str, tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(path)], stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path, close_fds=True
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 120
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break  # the child closed the terminal
        if not chunk:
            break
        output += chunk
        if not answered and b"[Y/n]" in output:
            os.write(master, answer.encode() + b"\n")
            answered = True
    proc.wait(timeout=60)
    os.close(master)
    return output.decode(errors="replace"), tmp_path


DRY_SCRIPT = f"""
import sys
sys.path.insert(0, {TESTS!r})
import funcs
from acme_like import ParallelMap

if __name__ == "__main__":
    with ParallelMap(funcs.add, [1, 2, 3], 1, dryrun=True, output_dir="run") as pmap:
        print("RESULT", pmap.compute(debug=True))
"""


def test_answering_no_at_the_terminal_stops_and_leaves_nothing(tmp_path):
    output, cwd = _run_at_a_terminal(DRY_SCRIPT, "n", tmp_path)
    assert "Go on with all 3 calls of add? [Y/n]" in output
    assert "RESULT None" in output
    assert not (cwd / "run").exists()


def test_answering_yes_at_the_terminal_runs_everything(tmp_path):
    output, cwd = _run_at_a_terminal(DRY_SCRIPT, "y", tmp_path)
    assert "RESULT [" in output
    assert len(list((cwd / "run" / "add_payload").glob("*.h5"))) == 3


def test_cleanup_threshold_days_removes_only_old_run_directories(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="acme_like")
    old = tmp_path / "ACME_20200101-000000-000000"
    recent = tmp_path / "ACME_20261121-000000-000000"
    mine = tmp_path / "ACME_results"
    for path in (old, recent, mine):
        path.mkdir()
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))

    with ParallelMap(funcs.add, [1, 2], 1, cleanup_threshold_days=5) as pmap:
        pmap.compute(debug=True)

    assert not old.exists()
    assert recent.exists() and mine.exists() and Path(pmap.output_dir).exists()
    assert f"Removed the earlier run directory {old}" in caplog.text


def test_earlier_runs_are_kept_unless_asked(tmp_path):
    old = tmp_path / "ACME_20200101-000000-000000"
    old.mkdir()
    os.utime(old, (0, 0))
    with ParallelMap(funcs.add, [1, 2], 1) as pmap:
        pmap.compute(debug=True)
    assert old.exists()


def test_cleanup_threshold_days_zero_removes_earlier_runs_but_keeps_this_runs_log(tmp_path):
    old = tmp_path / "ACME_20200101-000000-000000"
    old.mkdir()
    with ParallelMap(funcs.add, [1, 2], 1, cleanup_threshold_days=0) as pmap:
        pmap.compute(debug=True)

    assert not old.exists()
    assert Path(pmap.logfile).is_file()
    assert "Removing earlier ACME_* run directories" in Path(pmap.logfile).read_text()
    assert sorted(p.name for p in Path(pmap.output_dir).iterdir()) == sorted(
        [".acme_like", "add.h5", "add_payload", Path(pmap.logfile).name]
    )
