"""Ctrl-C during compute(): pending calls cancelled, our cluster closed, finished payloads intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from acme_like import read_payload

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]


def _env():
    """The scripts import this checkout's acme_like, whichever one is installed."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import funcs
    from acme_like import ParallelMap

    if __name__ == "__main__":
        with ParallelMap(funcs.slow, list(range(200)), seconds=0.1, n_workers=2, output_dir={out!r}) as pmap:
            pmap.compute()
        print("ALL DONE")
    """
)


def test_ctrl_c_cancels_closes_our_cluster_and_keeps_finished_results(tmp_path):
    out = tmp_path / "run"
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parents[1]), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    payload_dir = out / "slow_payload"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(payload_dir.glob("*.h5"))) < 6:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "the run should have started worker processes"

    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert "ALL DONE" not in stdout
    assert "Interrupted: pending calls cancelled" in stderr
    assert "Successfully shut down LocalCluster hosted on" in stderr  # what ACME's own test looks for
    finished = sorted(payload_dir.glob("*.h5"))
    assert 6 <= len(finished) < 200
    for path in finished:
        index = int(path.stem.split("_")[1])
        assert read_payload(path) == index
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"worker processes left running: {alive}"


PIPELINE_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import pipeline_funcs as pf
    from acme_like import Pipeline

    if __name__ == "__main__":
        pipe = Pipeline({workspace!r}, n_workers=2)
        scaled = pipe.stage("scale", pf.slow_scale, {files!r}, seconds=0.3)
        pipe.stage("width", pf.timed_width, scaled)
        pipe.run()
        print("ALL DONE")
    """
)


def test_ctrl_c_stops_every_running_stage_and_the_rerun_runs_only_what_is_missing(tmp_path, monkeypatch, threads_client):
    import pipeline_funcs as pf
    from acme_like import Pipeline

    monkeypatch.setenv("PIPELINE_COUNT_DIR", str(tmp_path / "counts"))  # the script and its workers inherit it
    files = []
    for number in range(16):
        (tmp_path / f"in{number}.txt").write_text(str(number))
        files.append(str(tmp_path / f"in{number}.txt"))
    workspace = tmp_path / "workspace"
    script = tmp_path / "script.py"
    script.write_text(PIPELINE_SCRIPT.format(tests=str(Path(__file__).parents[1]), workspace=str(workspace), files=files))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    stage_2 = workspace / "width" / "timed_width_payload"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(stage_2.glob("*.h5"))) < 2:  # both stages are running
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    children = psutil.Process(proc.pid).children(recursive=True)

    os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr and "ALL DONE" not in stdout
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"worker processes left running: {alive}"
    ran = pf.count("slow_scale"), pf.count("width")
    assert ran[0] < 16 or ran[1] < 16, ran  # stopped before the end

    pipe = Pipeline(workspace, client=threads_client, verbose=False)
    scaled = pipe.stage("scale", pf.slow_scale, files, seconds=0.3)
    widths = pipe.stage("width", pf.timed_width, scaled)
    to_run = [len(p.rerun_indices) for p in pipe.dry_run()]
    assert 0 < to_run[1] < 16  # kept what stage 2 had finished
    pipe.run()
    assert (pf.count("slow_scale") - ran[0], pf.count("width") - ran[1]) == tuple(to_run)
    assert [float(read_payload(p)) for p in widths.results] == [2.0] * 16
