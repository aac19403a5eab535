"""slurm_cluster_setup against a real SLURM: what a user relies on, and that nothing is left behind.

Runs on the CI machine's single-node SLURM with partitions ``small`` (2 GB per job,
default) and ``large`` (8 GB per job); see .ci/slurm/start-local-slurm.sh.
"""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import threading
import time

import dask
import h5py
import pytest

import funcs
from acme_like import ParallelMap
from acme_like.errors import ClusterError, InputError
from acme_like.batch.partitions import pick_partition, read_partitions
from acme_like.batch.setup import slurm_cluster_setup
from conftest import JOB_NAME, queued_jobs

GiB, MB = 2**30, 10**6


def partitions_of_workers(client):
    return sorted(client.run(lambda: os.environ["SLURM_JOB_PARTITION"]).values())


def test_prestarted_client_serves_parallel_maps_and_survives_them(own_jobs_left):
    started = time.monotonic()
    client = slurm_cluster_setup("small", n_workers=2, mem_per_worker="1GB", interactive=False)
    with client:
        client.wait_for_workers(2, timeout=60)
        print(f"setup call to 2 workers ready: {time.monotonic() - started:.1f} s")
        assert partitions_of_workers(client) == ["small", "small"]
        for round_ in range(2):  # the second ParallelMap attaches to the same, still running client
            with ParallelMap(funcs.add, list(range(20)), round_, output_dir=f"run{round_}") as pmap:
                paths = pmap.compute()
                assert pmap.client is client
            assert len(paths) == 20
            with h5py.File(pmap.results_container, "r") as h5:
                assert h5["comp_19"]["result_0"][()] == (19 + round_) * 3
            assert client.status == "running"
            assert len(client.scheduler_info()["workers"]) == 2
    assert own_jobs_left() == []


def test_parallel_map_starts_its_own_slurm_workers_and_leaves_no_job(own_jobs_left, tmp_path):
    with dask.config.set({"acme_like.backend": "auto"}):
        with ParallelMap(funcs.allocate, list(range(12)), mb=1900, partition="auto", setup_interactive=False,
                         output_dir=tmp_path / "run") as pmap:
            paths = pmap.compute()
            client = pmap.client
            # A sampled call peaked at 1.9 GiB: with a worker's own needs, too much for "small" (2 GB).
            assert partitions_of_workers(client) == ["large"]
            assert 1 <= len(client.scheduler_info()["workers"]) <= 12
    assert client.status == "closed"
    # ACME's (1,) datasets, read as ACME users do
    assert [float(h5py.File(p, "r")["result_0"][0]) for p in paths[:3]] == [float(1900 * 2**20 // 8 + x) for x in range(3)]
    assert own_jobs_left() == []


def test_auto_partition_takes_the_smallest_one_that_holds_the_estimate(own_jobs_left):
    partitions = read_partitions()
    assert pick_partition(1 * 10**9, partitions).name == "small"
    assert pick_partition(3 * 10**9, partitions).name == "large"  # too big for small: never the "nearest"
    client = slurm_cluster_setup("auto", n_workers=1, n_workers_startup=1, timeout=60, interactive=False, estimated_bytes=3 * 10**9)
    with client:
        assert partitions_of_workers(client) == ["large"]
        (limit,) = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
        assert 7.9 * GiB < limit < 8 * GiB  # large's limit less the cushion, as whole MiB
    assert own_jobs_left() == []


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"mem_per_worker": "64GB"}, InputError, r"partition 'small' cannot satisfy mem_per_worker=64 GB"),
        ({"job_extra": ["--mem=3G"]}, ClusterError, r"refused the worker job: .*Memory required by task is not available"),
    ],
    ids=["more-than-any-node", "refused-by-sbatch"],
)
def test_memory_the_partition_cannot_give_is_a_clear_error_not_a_hang(arguments, error, message, own_jobs_left):
    started = time.monotonic()
    with pytest.raises(error, match=message):
        slurm_cluster_setup("small", interactive=False, timeout=120, **arguments)
    assert time.monotonic() - started < 15
    assert own_jobs_left() == []


@pytest.mark.parametrize("exception", [RuntimeError, KeyboardInterrupt])
def test_no_job_outlives_an_exception_inside_the_context(exception, own_jobs_left):
    with pytest.raises(exception):
        with slurm_cluster_setup("small", n_workers=1, mem_per_worker="500MB", interactive=False) as client:
            client.wait_for_workers(1, timeout=60)
            assert len(queued_jobs()) == 1
            raise exception("stop")
    assert own_jobs_left() == []


def test_cleanup_after_a_setup_inside_a_dask_config_block_cancels_the_jobs(own_jobs_left, tmp_path):
    # A fresh interpreter: dask-jobqueue is first imported inside the block, as in a user's script.
    script = tmp_path / "script.py"
    script.write_text(
        "import dask\n"
        "from acme_like import cluster_cleanup, slurm_cluster_setup\n"
        f"with dask.config.set({{'jobqueue.slurm.interface': 'lo', 'jobqueue.slurm.name': {JOB_NAME!r}}}):\n"
        "    client = slurm_cluster_setup('small', n_workers=1, mem_per_worker='500MB', interactive=False)\n"
        "    client.wait_for_workers(1, timeout=60)\n"
        "print(client.submit(sum, [1, 2]).result())\n"
        "cluster_cleanup(client)\n"
    )
    done = subprocess.run([os.sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["3"]
    assert own_jobs_left() == []


def test_no_job_outlives_ctrl_c_while_the_setup_waits(own_jobs_left):
    def interrupt_once_submitted():
        deadline = time.monotonic() + 30
        while not queued_jobs() and time.monotonic() < deadline:
            time.sleep(0.05)
        _thread.interrupt_main()

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as plain Python delivers it
    try:
        threading.Thread(target=interrupt_once_submitted, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            slurm_cluster_setup("small", n_workers=2, mem_per_worker="500MB", n_workers_startup=2, interactive=False, timeout=60)
            time.sleep(10)  # workers came up before the interrupt: let it arrive here
    finally:
        signal.signal(signal.SIGINT, previous)
    assert own_jobs_left() == []


def test_a_worker_job_that_dies_costs_no_results(own_jobs_left):
    client = slurm_cluster_setup("small", n_workers=2, mem_per_worker="500MB", n_workers_startup=2, interactive=False)
    with client:
        victim = next(iter(client.cluster.workers.values())).job_id

        def cancel_one_worker():
            time.sleep(1.5)
            subprocess.run(["scancel", str(victim)], check=True)

        killer = threading.Thread(target=cancel_one_worker)
        killer.start()
        with ParallelMap(funcs.slow, list(range(24)), seconds=0.25, output_dir="run") as pmap:
            pmap.compute()
        killer.join()
        assert len(client.scheduler_info()["workers"]) == 1
        with h5py.File(pmap.results_container, "r") as h5:
            assert sorted(int(h5[f"comp_{i}"]["result_0"][0]) for i in range(24)) == list(range(24))
    assert own_jobs_left() == []


def test_these_tests_see_only_their_own_jobs(own_jobs_left):
    """Another job in the queue (someone else's, or the user's own) is neither counted nor waited for."""
    other = subprocess.run(["sbatch", "--parsable", "-J", "someone-elses-job", "-p", "small", "--mem=100M", "--wrap", "sleep 60"],
                           capture_output=True, text=True, check=True).stdout.strip().split(";")[0]
    try:
        assert other in subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout.split()
        assert own_jobs_left(timeout_s=1) == []
        with slurm_cluster_setup("small", n_workers=1, mem_per_worker="500MB", interactive=False) as client:
            client.wait_for_workers(1, timeout=60)
            [line] = queued_jobs()
            assert line.split()[1].startswith("acme-like-test-")
    finally:
        subprocess.run(["scancel", other], check=True)
    assert own_jobs_left() == []
