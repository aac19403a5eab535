"""Calls travelling in batches keep their own results, failures and places."""

from __future__ import annotations

import pytest
from distributed import get_task_stream

import funcs
from acme_like import ParallelMap, TaskError, read_payload
from acme_like.core.batching import choose_batch_size, first_chunks, first_wave, split_evenly

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("batch_size", [3, "auto"])
def test_batched_calls_keep_their_own_results_and_failures(processes_client, batch_size):
    with pytest.raises(TaskError) as caught:
        with ParallelMap(funcs.fail_on_odd, list(range(40)), client=processes_client, batch_size=batch_size,
                         output_dir="b") as pmap:
            pmap.compute()
    error = caught.value
    assert error.failed_indices == list(range(1, 40, 2))
    assert [f.message for f in error.failures[:2]] == ["odd input 1", "odd input 3"]
    assert [read_payload(p) for p in error.results[::2]] == [10 * i for i in range(0, 40, 2)]


def test_many_tiny_calls_in_memory_keep_their_own_values_failures_and_outcomes(processes_client):
    n = 30_000
    with pytest.raises(TaskError) as caught:
        with ParallelMap(funcs.fail_on_odd, list(range(n)), client=processes_client, write_worker_results=False) as pmap:
            pmap.compute()
    error = caught.value
    assert error.failed_indices == list(range(1, n, 2))
    assert error.failures[0].message == "odd input 1" and "fail_on_odd" in error.failures[0].traceback
    assert error.results == [None if i % 2 else 10 * i for i in range(n)]
    assert [o.index for o in error.outcomes] == list(range(n))
    assert [o.ok for o in error.outcomes[:4]] == [True, False, True, False]
    assert error.outcomes[4].value == 40 and error.outcomes[4].worker is not None and error.outcomes[4].seconds >= 0


def test_tiny_calls_share_tasks_automatically(processes_client):
    with get_task_stream(processes_client) as stream:
        with ParallelMap(funcs.add, list(range(400)), 1, client=processes_client, write_worker_results=False) as pmap:
            values = pmap.compute()
    assert values == [(x + 1) * 3 for x in range(400)]
    tasks = [t for t in stream.data if t["key"].startswith("add-")]
    assert len(tasks) < 100  # 400 calls, far fewer tasks


def test_slow_calls_are_not_batched(processes_client):
    with get_task_stream(processes_client) as stream:
        with ParallelMap(funcs.slow, list(range(8)), seconds=0.3, client=processes_client, write_worker_results=False) as pmap:
            assert pmap.compute() == list(range(8))
    assert len([t for t in stream.data if t["key"].startswith("slow-")]) == 8


@pytest.mark.parametrize(
    "seconds, remaining, workers, size",
    [(0.0001, 100_000, 2, 2000), (0.0001, 1000, 2, 500), (0.0001, 600, 2, 300), (5e-6, 60_000, 2, 10_000),
     (0.5, 1000, 2, 1), (0.01, 10_000, 4, 20), (0.1, 36, 2, 1)],
)
def test_batch_size_carries_work_but_keeps_the_load_balanced(seconds, remaining, workers, size):
    assert choose_batch_size(seconds, remaining, workers) == size
    assert first_chunks(3, 2) == 3 and first_chunks(100, 2) == 4
    chunks, waiting = first_wave(range(100_000), 2)
    assert [len(c) for c in chunks] == [20_000] * 4 and waiting == range(80_000, 100_000)
    assert [len(c) for c in first_wave(range(100_000), 2, 4096)[0]] == [4096] * 4
    assert [len(c) for c in split_evenly(range(10), 4)] == [3, 3, 2, 2]


def test_large_arrays_reach_local_workers_as_one_shared_mapping(processes_client):
    import glob

    import numpy as np

    block = np.arange(3_000_000, dtype=np.float64)  # 24 MB
    with ParallelMap(funcs.describe_array, [0, 5, 2_999_999], block, n_inputs=3, client=processes_client,
                     write_worker_results=False) as pmap:
        seen = pmap.compute()
    assert seen == [("memmap", 0.0, (3_000_000,)), ("memmap", 5.0, (3_000_000,)), ("memmap", 2_999_999.0, (3_000_000,))]
    assert not glob.glob("/dev/shm/acme_like-shared-*") and not glob.glob("/tmp/acme_like-shared-*")
