"""Break things on purpose: killed workers, interrupted and killed parents, damaged payloads.

Real processes and real files; each test says what a user would see afterwards.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from distributed import Client, LocalCluster

import funcs
from acme_like import ParallelMap, TaskError, read_payload
from acme_like.storage.payload import file_checksum

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TESTS = str(Path(__file__).parents[1])


def test_kill_9_of_a_worker_mid_run_costs_no_result(tmp_path):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    try:
        pids = list(client.run(os.getpid).values())
        payloads = tmp_path / "run" / "square_slowly_payload"

        def kill_one_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(list(payloads.glob("*.h5"))) < 500:
                time.sleep(0.02)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one_worker)
        killer.start()
        with ParallelMap(funcs.square_slowly, list(range(2000)), client=client, output_dir=tmp_path / "run",
                         verbose=False) as pmap:
            paths = pmap.compute()
        killer.join()
        assert len(list(payloads.glob("*.h5"))) == 2000
        with h5py.File(pmap.results_container, "r") as h5:
            assert all(h5[f"comp_{i}"]["result_0"][()] == i * i for i in range(0, 2000, 7))
        assert [read_payload(p) for p in paths[::97]] == [i * i for i in range(0, 2000, 97)]
        assert pids[0] not in client.run(os.getpid).values()  # that worker really died
    finally:
        client.close()
        cluster.close()


RUN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import funcs
from acme_like import ParallelMap

if __name__ == "__main__":
    with ParallelMap(funcs.counted, list(range({n})), {marks!r}, output_dir={out!r}, n_workers=2,
                     batch_size=5, verbose=False) as pmap:
        pmap.compute()
    print("DONE")
"""


def _journal_done(out: Path, stem: str) -> set[int]:
    done = set()
    for line in (out / ".acme_like" / f"{stem}_journal.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record["status"] == "ok":
            done.add(record["i"])
    return done


def _payloads(out: Path, stem: str) -> set[int]:
    return {int(p.stem.split("_")[-1]) for p in (out / f"{stem}_payload").glob(f"{stem}_*.h5")}


def _markers(directory: Path) -> list[int]:
    return sorted(int(p.name.split("-")[0]) for p in directory.glob("*-*"))


def test_ctrl_c_then_rerun_runs_only_the_missing_calls(tmp_path):
    n = 400
    script = tmp_path / "run.py"
    marks, out = tmp_path / "marks", tmp_path / "out"
    script.write_text(textwrap.dedent(RUN_SCRIPT.format(tests=TESTS, n=n, marks=str(marks), out=str(out))))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not marks.exists() or len(list(marks.iterdir())) < 100):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr
    done_first = _journal_done(out, "counted")
    assert 0 < len(done_first) < n
    started, written = set(_markers(marks)), _payloads(out, "counted")
    assert done_first <= written  # the journal may lag behind what was written, never lead
    for p in marks.iterdir():
        p.unlink()

    rerun = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    # Every complete payload is adopted, recorded or not: only calls never run or running at the stop run again.
    assert _markers(marks) == sorted(set(range(n)) - written)
    assert len(started - written) <= 2 * 5  # at most what two workers' batches of five held

    reference = tmp_path / "reference"
    with ParallelMap(funcs.counted, list(range(n)), str(tmp_path / "refmarks"), output_dir=reference) as pmap:
        pmap.compute(debug=True)
    with h5py.File(out / "counted.h5", "r") as resumed, h5py.File(reference / "counted.h5", "r") as whole:
        assert sorted(resumed) == sorted(whole)
        assert dict(resumed.attrs).keys() == dict(whole.attrs).keys()
        assert list(resumed.attrs["failed_calls"]) == list(whole.attrs["failed_calls"]) == []
        assert [resumed[k]["result_0"][()] for k in sorted(resumed)] == [whole[k]["result_0"][()] for k in sorted(whole)]


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import funcs
from acme_like import ParallelMap

with ParallelMap(funcs.big_block, list(range(40)), output_dir={out!r}, verbose=False) as pmap:
    pmap.compute(debug=True)
"""


SEQUENTIAL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import funcs
from acme_like import ParallelMap

with ParallelMap(funcs.counted, list(range({n})), {marks!r}, output_dir={out!r}, verbose=False) as pmap:
    pmap.compute(debug=True)
"""


def test_sigkill_of_the_parent_then_rerun_computes_only_the_call_that_was_running(tmp_path):
    n = 3000
    marks, out = tmp_path / "marks", tmp_path / "out"
    script = tmp_path / "seq.py"
    script.write_text(textwrap.dedent(SEQUENTIAL_SCRIPT.format(tests=TESTS, n=n, marks=str(marks), out=str(out))))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not marks.exists() or len(list(marks.iterdir())) < 300):
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    started, written = set(_markers(marks)), _payloads(out, "counted")
    assert 0 < len(written) < n and len(started - written) <= 1
    for p in marks.iterdir():
        p.unlink()
    with ParallelMap(funcs.counted, list(range(n)), str(marks), output_dir=out, verbose=False) as pmap:
        paths = pmap.compute(debug=True)
    assert _markers(marks) == sorted(set(range(n)) - written)
    assert [read_payload(p) for p in paths[::250]] == [i * i for i in range(0, n, 250)]
    assert not list((out / "counted_payload").glob("*.partial"))


def test_a_corrupted_payload_with_a_matching_identity_is_computed_again(tmp_path):
    marks, out = tmp_path / "marks", tmp_path / "out"
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out) as pmap:
        pmap.compute(debug=True)
    (out / ".acme_like" / "counted_journal.jsonl").write_text("")  # the journal lost: adoption only
    payload = out / "counted_payload" / "counted_1.h5"
    payload.write_bytes(payload.read_bytes()[:200])  # cut short: its identity may be there, its data is not
    for p in marks.iterdir():
        p.unlink()
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out) as pmap:
        paths = pmap.compute(debug=True)
    assert _markers(marks) == [2]
    assert [read_payload(p) for p in paths] == [1, 4, 9]


def test_sigkill_of_the_parent_mid_write_never_leaves_a_file_that_reads_as_done(tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT.format(tests=TESTS, out=str(out))))
    rng = random.Random(1)
    payloads = out / "big_block_payload"
    for trial in range(50):
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill once writing has begun, at a random moment after that.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not any(payloads.glob("*")):
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.kill()
        proc.wait()
        # Every payload under its final name is complete, and so is everything the journal calls done.
        for path in payloads.glob("*.h5"):
            index = int(path.stem.split("_")[-1])
            np.testing.assert_array_equal(read_payload(path), np.full(200_000, float(index)))
        journal = out / ".acme_like" / "big_block_journal.jsonl"
        if journal.exists():
            for line in journal.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut short: not a record
                path = out / record["path"]
                assert file_checksum(path) == (record["nbytes"], record["crc32"]), f"trial {trial}: {path}"
    with ParallelMap(funcs.big_block, list(range(40)), output_dir=out, verbose=False) as pmap:
        paths = pmap.compute(debug=True)
    assert [float(read_payload(p)[0]) for p in paths] == [float(i) for i in range(40)]


def test_a_call_killed_for_memory_says_so_and_the_others_land(tmp_path):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="400MB",
                           dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    try:
        with pytest.raises(TaskError) as caught:
            # The memory hog (x=1) comes last, so no other call shares its worker when it is killed.
            with ParallelMap(funcs.hog, [0, 2, 3, 1], client=client, worker_retries=1, batch_size=1,
                             output_dir=tmp_path / "run", verbose=False) as pmap:
                pmap.compute()
        error = caught.value
        assert error.failed_indices == [3]
        assert error.failures[0].kind == "memory"
        assert "was killed by its nanny for exceeding its memory limit" in str(error)
        assert [read_payload(p) for p in error.results if p] == [0.0, 2.0, 3.0]
        report = json.loads(Path(error.failures_path).read_text())
        assert report["failures"][0]["kind"] == "memory"
    finally:
        client.close()
        cluster.close()


@pytest.mark.parametrize("how, kind, told", [
    ("segfault", "crash", "killed by signal 11 (SIGSEGV)"),
    ("exit", "crash", "exited with status 3"),
    ("memory", "memory", "for exceeding its memory limit"),
])
@pytest.mark.parametrize("batch_size", [4, 1])
def test_a_call_that_kills_its_worker_fails_alone(tmp_path, how, kind, told, batch_size):
    # Call 5 of 16 takes its worker down each time it runs; the calls it shared a task or a
    # worker with run again one by one, or are adopted from the payloads they wrote.
    memory = {"mem_per_worker": "400MB"} if how == "memory" else {}
    started = time.monotonic()
    with pytest.raises(TaskError) as caught:
        with ParallelMap(funcs.misbehave, list(range(16)), 5, how, n_workers=2, batch_size=batch_size,
                         output_dir=tmp_path / "run", verbose=False, **memory) as pmap:
            pmap.compute()
    error = caught.value
    assert error.failed_indices == [5], str(error)
    assert error.failures[0].kind == kind
    assert told in error.failures[0].message
    assert str(error).splitlines()[1].startswith(f"1 of 16 calls of misbehave failed; first failure: call 5 (x=5) lost its worker ({kind})")
    assert [read_payload(p) if p else None for p in error.results] == [None if i == 5 else float(i * i) for i in range(16)]
    report = json.loads(Path(error.failures_path).read_text())
    assert [(f["index"], f["kind"]) for f in report["failures"]] == [(5, kind)]
    assert time.monotonic() - started < 60
