"""Waiting for workers: n_workers_startup, timeout, the prompt and the non-interactive rule.

A stand-in cluster reports a fixed number of workers, so every branch runs in
milliseconds and without SLURM.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from acme_like.batch import waiting
from acme_like.errors import ClusterError
from acme_like.batch.request import resolve_request


class StandInCluster:
    """Just what the waiting loop reads of a dask-jobqueue cluster."""

    job_cls = type("Job", (), {"submit_command": "qsub"})

    def __init__(self, n_up, refusal=None):
        self.scheduler_info = {"workers": {f"w{i}": {} for i in range(n_up)}}
        self.workers = {"job-0": type("Job", (), {"refusal": refusal, "job_id": "1"})()}
        self.job_header = "#SBATCH -p small\n#SBATCH --mem=954M"


def wait(n_up, answers=None, monkeypatch=None, refusal=None, cluster=None, **arguments):
    """Run the waiting loop; ``answers`` are typed into a pipe standing in for the terminal,
    which stays open (nobody typing more) until the loop returns."""
    arguments.setdefault("timeout", 0)
    request = resolve_request(**arguments)
    cluster = cluster or StandInCluster(n_up, refusal)
    if answers is None:
        return waiting.await_workers(cluster, request, time.monotonic())
    monkeypatch.setattr(waiting, "interactive_terminal", lambda: True)
    read_end, write_end = os.pipe()
    os.write(write_end, "".join(f"{a}\n" for a in answers).encode())
    with os.fdopen(read_end) as typed:
        monkeypatch.setattr(sys, "stdin", typed)
        try:
            return waiting.await_workers(cluster, request, time.monotonic())
        finally:
            os.close(write_end)


def test_enough_workers_return_at_once():
    assert wait(1, n_workers=4, n_workers_startup=1, timeout=60) is True
    assert wait(0, n_workers=4, n_workers_startup=0) is True


def test_without_a_terminal_some_workers_are_enough(caplog):
    assert wait(1, n_workers=4, n_workers_startup=3, interactive=True) is True
    assert "Only 1 of 3 workers are up after 0 s; continuing with them" in caplog.text


def test_without_a_terminal_no_worker_is_an_error():
    with pytest.raises(ClusterError, match=r"no worker started within timeout=0 s\. Raise timeout"):
        wait(0, n_workers=2, interactive=False)


def test_at_the_terminal_one_can_continue_with_fewer(monkeypatch):
    assert wait(1, ["n", "y"], monkeypatch, n_workers=3, n_workers_startup=3) is True


def test_at_the_terminal_one_can_abort(monkeypatch):
    assert wait(1, ["n", "n"], monkeypatch, n_workers=3, n_workers_startup=3) is False
    assert wait(0, ["no"], monkeypatch, n_workers=3) is False  # nothing to continue with: no second question


def test_at_the_terminal_keep_waiting_waits_interactive_wait_more(monkeypatch):
    started = time.monotonic()
    assert wait(0, ["y", "n"], monkeypatch, n_workers=1, interactive_wait=0.3) is False
    assert time.monotonic() - started >= 0.3


def test_at_the_terminal_nobody_answering_continues_with_the_workers_up(monkeypatch, capsys, caplog):
    started = time.monotonic()
    assert wait(1, [], monkeypatch, n_workers=3, n_workers_startup=3, interactive_wait=0.3) is True
    assert 0.3 <= time.monotonic() - started < 5
    assert "Keep waiting 0.3 s more (no answer within 0.3 s: continue with 1 worker)? [Y/n]" in capsys.readouterr().out
    assert "Only 1 of 3 workers are up" in caplog.text


def test_at_the_terminal_nobody_answering_without_workers_is_an_error(monkeypatch, capsys):
    with pytest.raises(ClusterError, match=r"no worker started within timeout=0 s"):
        wait(0, [], monkeypatch, n_workers=2, interactive_wait=0.2)
    assert "(no answer within 0.2 s: give up)?" in capsys.readouterr().out


def test_the_question_is_dropped_when_the_workers_arrive_meanwhile(monkeypatch):
    class Arriving(StandInCluster):
        reads = 0

        @property
        def scheduler_info(self):
            self.reads += 1
            return {"workers": {f"w{i}": {} for i in range(3 if self.reads > 3 else 0)}}

        @scheduler_info.setter
        def scheduler_info(self, value):
            pass

    started = time.monotonic()
    assert wait(0, [], monkeypatch, cluster=Arriving(0), n_workers=3, n_workers_startup=3, interactive_wait=60) is True
    assert time.monotonic() - started < 10


def test_interactive_false_never_asks(monkeypatch, capsys):
    monkeypatch.setattr(waiting, "interactive_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked although interactive=False"))
    assert wait(2, n_workers=3, n_workers_startup=3, interactive=False) is True
    shown = capsys.readouterr()
    assert "?" not in shown.out + shown.err  # no question was printed, whatever stdin is


def test_a_refused_job_is_an_error_at_once_not_a_timeout():
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"refused the worker job: sbatch: error: Memory required by task is not available\. "
                                           r"The job asked for: -p small, --mem=954M"):
        wait(0, refusal="sbatch: error: Memory required by task is not available", timeout=60)
    assert time.monotonic() - started < 5


def test_ctrl_c_stays_keyboard_interrupt_after_the_setup_imports_dask_jobqueue():
    import subprocess
    import sys

    script = (
        "import signal; from acme_like.batch.setup import import_dask_jobqueue; "
        "before = signal.getsignal(signal.SIGINT); import_dask_jobqueue(); "
        "assert signal.getsignal(signal.SIGINT) is before, signal.getsignal(signal.SIGINT)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
