"""Live SLURM tests: every test in this directory submits real jobs to the SLURM that ``sinfo`` reaches.

Each test is marked ``slurm``. Where SLURM does not answer they are skipped with
the reason, except under CI (CI=true), where that is a failure: CI starts its own
SLURM (.ci/slurm/start-local-slurm.sh) and must never skip these silently.
"""

from __future__ import annotations

import os
import subprocess
import time
from functools import lru_cache
from pathlib import Path

import dask
import pytest

HERE = Path(__file__).parent
TESTS = HERE.parent


@lru_cache(maxsize=1)
def slurm_problem() -> str | None:
    """Why SLURM cannot run these tests, or None when sinfo answers."""
    try:
        answer = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return "sinfo failed (not installed)"
    except subprocess.TimeoutExpired:
        return "sinfo failed (no answer within 30 s)"
    if answer.returncode != 0:
        return f"sinfo failed (exit code {answer.returncode}: {(answer.stderr or answer.stdout).strip()})"
    if not answer.stdout.strip():
        return "sinfo lists no partitions"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slurm)


@pytest.fixture(autouse=True)
def _needs_slurm():
    problem = slurm_problem()
    if problem is None:
        return
    reason = f"needs a running SLURM: {problem}. Start one with `bash .ci/slurm/start-local-slurm.sh` (as root)."
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the SLURM tests, but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _workers_on_loopback():
    """Scheduler and workers on 127.0.0.1 (the user's jobqueue setting, as a config file would give it).

    Workers inherit this environment through sbatch, so they import the tests' ``funcs``.
    """
    from acme_like.batch.setup import import_dask_jobqueue

    # Register dask-jobqueue's defaults before changing the configuration: leaving dask.config.set
    # would drop them otherwise. Import it as the package does, keeping pytest's Ctrl-C handler.
    import_dask_jobqueue()

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
        with dask.config.set({"jobqueue.slurm.interface": "lo"}):
            yield


def queued_jobs() -> list[str]:
    """Jobs SLURM still holds (pending, running or completing)."""
    return subprocess.run(["squeue", "-h", "-o", "%i %P %T"], capture_output=True, text=True, check=True).stdout.split("\n")[:-1]


def wait_for_empty_queue(timeout_s: float = 30) -> list[str]:
    """Poll until no job is left (a cancelled job completes within a few seconds); return what is left."""
    deadline = time.monotonic() + timeout_s
    while (left := queued_jobs()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture
def empty_queue():
    """The queue is empty before the test, so anything left afterwards is the test's doing."""
    assert wait_for_empty_queue() == [], "jobs from an earlier test are still queued"
    return wait_for_empty_queue
