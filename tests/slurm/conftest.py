"""Live SLURM tests: every test in this directory submits real jobs to the SLURM that ``sinfo`` reaches.

Each test is marked ``slurm`` and runs only when told it may submit jobs
(``ACME_LIKE_TEST_SLURM_SUBMIT=1``, which ``.ci/run`` exports); otherwise it is
skipped with the reason. Where SLURM does not answer they are skipped too, except
under CI (CI=true), where that is a failure: CI starts its own SLURM
(.ci/slurm/start-local-slurm.sh) and must never skip these silently.

Safe on a shared cluster: every job the tests submit is named ``JOB_NAME``, unique
to the test session, and the tests look at those jobs only, never at the rest of
the queue.
"""

from __future__ import annotations

import getpass
import os
import secrets
import subprocess
import time
from functools import lru_cache
from pathlib import Path

import dask
import pytest

HERE = Path(__file__).parent
TESTS = HERE.parent
#: The name of every job this test session submits (dask config jobqueue.slurm.name).
JOB_NAME = f"acme-like-test-{secrets.token_hex(4)}"
#: The environment variable that allows these tests to submit jobs.
SUBMIT = "ACME_LIKE_TEST_SLURM_SUBMIT"


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


@pytest.fixture(scope="session", autouse=True)
def _needs_slurm():
    """Skip (or fail, under CI) before anything is submitted: session scope, so it comes before
    the module-scoped clusters of the tests."""
    if os.environ.get(SUBMIT) != "1":
        reason = (f"submits real SLURM jobs under your name; set {SUBMIT}=1 to allow it "
                  f"(the tests look only at their own jobs, named acme-like-test-*)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the SLURM tests, but {SUBMIT} is not 1: .ci/run exports it. This test {reason}",
                        pytrace=False)
        pytest.skip(reason)
    problem = slurm_problem()
    if problem is None:
        return
    reason = f"needs a running SLURM: {problem}. Start one with `bash .ci/slurm/start-local-slurm.sh` (as root)."
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the SLURM tests, but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _workers_on_loopback(_needs_slurm):
    """Scheduler and workers on 127.0.0.1 (the user's jobqueue setting, as a config file would give it),
    and every job named ``JOB_NAME``.

    Workers inherit this environment through sbatch, so they import the tests' ``funcs``.
    """
    from acme_like.batch.setup import import_dask_jobqueue

    # Register dask-jobqueue's defaults before changing the configuration: leaving dask.config.set
    # would drop them otherwise. Import it as the package does, keeping pytest's Ctrl-C handler.
    import_dask_jobqueue()

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
        with dask.config.set({"jobqueue.slurm.interface": "lo", "jobqueue.slurm.name": JOB_NAME}):
            yield


def queued_jobs() -> list[str]:
    """This session's jobs SLURM still holds (pending, running or completing); nobody else's."""
    command = ["squeue", "-h", "--name", JOB_NAME, "--user", getpass.getuser(), "-o", "%i %j %P %T"]
    lines = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split("\n")[:-1]
    assert all(line.split()[1] == JOB_NAME for line in lines), lines  # squeue's filter held
    return lines


def wait_for_no_own_jobs(timeout_s: float = 30) -> list[str]:
    """Poll until none of this session's jobs is left (a cancelled job completes within a few
    seconds); return what is left."""
    deadline = time.monotonic() + timeout_s
    while (left := queued_jobs()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture
def own_jobs_left():
    """None of this session's jobs is queued before the test, so any left afterwards is the test's doing.

    Other users' jobs, and the user's own from elsewhere, are never looked at.
    """
    assert wait_for_no_own_jobs() == [], "jobs from an earlier test of this session are still queued"
    return wait_for_no_own_jobs
