"""One run per output directory: a second run fails at once, naming the directory and the holder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import funcs
from acme_like import DirectoryInUse, ParallelMap, read_payload
from acme_like.storage.housekeeping import remove_earlier_runs
from acme_like.storage.layout import OutputLayout
from acme_like.storage.lock import is_locked, lock_run_dir

pytestmark = pytest.mark.integration

TESTS = str(Path(__file__).parents[1])

SLOW_RUN = """
import sys
sys.path.insert(0, {tests!r})
import funcs
from acme_like import ParallelMap

if __name__ == "__main__":
    with ParallelMap(funcs.slow, list(range(8)), seconds=0.5, output_dir={out!r}, n_workers=1, verbose=False) as pmap:
        pmap.compute(debug=True)
    print("DONE")
"""


def test_a_second_process_on_the_same_directory_fails_at_once_and_the_first_loses_nothing(tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_RUN.format(tests=TESTS, out=str(out))))
    first = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / ".acme_like" / "lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.05)
    assert is_locked(out)
    started = time.monotonic()
    with pytest.raises(DirectoryInUse, match=rf"output_dir {out} is in use by another run \(pid {first.pid} on "):
        with ParallelMap(funcs.slow, list(range(8)), seconds=0.5, output_dir=out, verbose=False) as pmap:
            pmap.compute(debug=True)
    assert time.monotonic() - started < 5  # at once, not after waiting
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0 and "DONE" in stdout, stderr
    assert not is_locked(out)
    assert [read_payload(out / "slow_payload" / f"slow_{i}.h5") for i in range(8)] == list(range(8))


def test_two_runs_in_one_process_and_housekeeping_respect_the_lock(tmp_path):
    run_dir = tmp_path / "ACME_20200101-000000-000000"
    layout = OutputLayout.for_run(run_dir, "slow")
    with lock_run_dir(layout, "a test"):
        with pytest.raises(DirectoryInUse, match=rf"in use by another run in this process \(pid {os.getpid()}: a test\)"):
            ParallelMap(funcs.slow, [1, 2], seconds=0, output_dir=run_dir).compute(debug=True)
        assert remove_earlier_runs(tmp_path, 0) == []
        assert run_dir.exists()
    assert not is_locked(run_dir)
    assert remove_earlier_runs(tmp_path, 0) == [run_dir]


def test_in_memory_runs_hold_no_lock(tmp_path):
    with ParallelMap(funcs.add, [1, 2], 3, write_worker_results=False) as pmap:
        assert pmap.compute(debug=True) == [12, 15]
    assert list(tmp_path.iterdir()) == []
