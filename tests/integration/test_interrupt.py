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
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
