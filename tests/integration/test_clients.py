"""Which client a run uses, and what is left running afterwards."""

from __future__ import annotations

import logging
import os

import pytest
from distributed import Client, LocalCluster

import funcs
from acme_like import ClusterError, ParallelMap, cluster_cleanup, local_cluster_setup, read_payload

pytestmark = pytest.mark.integration


def test_own_cluster_is_sized_to_the_calls_logged_and_closed_on_exit(caplog):
    caplog.set_level(logging.INFO, logger="acme_like")
    with ParallelMap(funcs.pid_of_call, [1, 2], n_workers=5, write_worker_results=False) as pmap:
        pids = pmap.compute()
        client = pmap.client
        assert len(client.scheduler_info()["workers"]) == 2  # never more workers than calls
    assert client.status == "closed"
    assert os.getpid() not in pids  # the calls ran in worker processes
    started = [r.getMessage() for r in caplog.records if "Started a local dask cluster" in r.getMessage()]
    assert len(started) == 1
    assert "with 2 workers at tls://127.0.0.1:" in started[0]
    assert "; dashboard at http://127.0.0.1:" in started[0]


def test_debug_mode_runs_in_this_process_without_a_cluster():
    import os

    with ParallelMap(funcs.pid_of_call, [1, 2, 3], write_worker_results=False) as pmap:
        assert pmap.compute(debug=True) == [os.getpid()] * 3
        assert pmap.client is None


def test_stop_client_false_keeps_the_cluster_for_the_next_parallel_map():
    with ParallelMap(funcs.add, [1, 2], 1, stop_client=False, write_worker_results=False) as first:
        assert first.compute() == [6, 9]
    kept = first.client
    try:
        assert kept.status == "running"
        assert Client.current() is kept
        # Same broadcast value, right away: a reused client must not trip over re-sent data.
        with ParallelMap(funcs.add, [1, 2], 1, write_worker_results=False) as second:
            assert second.compute() == [6, 9]
            assert second.client is kept
        assert kept.status == "running"  # "auto" leaves a client it did not start
        with ParallelMap(funcs.add, [3, 4], 1, write_worker_results=False, stop_client=True) as third:
            assert third.compute() == [12, 15]
        assert kept.status == "closed"  # True closes the user's client too
    finally:
        if kept.status != "closed":
            cluster_cleanup(kept)


def test_a_users_client_survives_many_back_to_back_runs(processes_client):
    for _ in range(3):
        with ParallelMap(funcs.add, [1, 2, 3], [10, 10, 10], client=processes_client, output_dir=None) as pmap:
            paths = pmap.compute()
        assert [read_payload(p) for p in paths] == [33, 36, 39]
    assert processes_client.status == "running"


def test_attaching_to_a_client_connected_by_address(processes_client):
    by_address = Client(processes_client.scheduler.address, set_as_default=False)
    try:
        assert by_address.cluster is None
        with ParallelMap(funcs.add, [1, 2], 0, client=by_address, write_worker_results=False) as pmap:
            assert pmap.compute() == [3, 6]
        assert by_address.status == "running"
    finally:
        by_address.close()


def test_local_cluster_setup_is_found_by_parallel_map_and_cleaned_up():
    client = local_cluster_setup(n_workers=1, mem_per_worker="1GB", interactive=False)
    try:
        assert len(client.scheduler_info()["workers"]) == 1
        with ParallelMap(funcs.add, [1, 2], 2, write_worker_results=False) as pmap:
            assert pmap.compute() == [9, 12]
            assert pmap.client is client
    finally:
        cluster_cleanup(client)
    assert client.status == "closed"


def test_own_clusters_run_without_dasks_malloc_trim_and_background_timers():
    client = local_cluster_setup(n_workers=1, interactive=False)
    try:
        [settings] = client.run(funcs.worker_settings).values()
    finally:
        cluster_cleanup(client)
    assert settings["malloc_trim"] is None
    assert settings["profile"] is False
    assert settings["tick"] == "200ms"


def test_tune_workers_false_keeps_dasks_own_worker_settings():
    import dask

    with dask.config.set({"acme_like.tune-workers": False}):
        client = local_cluster_setup(n_workers=1, interactive=False)
        try:
            with ParallelMap(funcs.add, [1, 2], 0, write_worker_results=False) as pmap:
                assert pmap.compute() == [3, 6]
                assert pmap.client is client
            [settings] = client.run(funcs.worker_settings).values()
        finally:
            cluster_cleanup(client)
    assert settings["malloc_trim"] == "65536"
    assert settings["profile"] is True
    assert settings["tick"] == "20ms"
    assert "acme_like-fast-allocation" not in settings["plugins"]
    assert settings["gc_threshold"][0] == 700 and settings["gc_frozen"] == 0  # Python's own collector settings


def test_a_users_workers_get_the_allocator_plugin(processes_client):
    with ParallelMap(funcs.add, [1, 2], 0, client=processes_client, write_worker_results=False) as pmap:
        assert pmap.compute() == [3, 6]
    for settings in processes_client.run(funcs.worker_settings).values():
        assert "acme_like-fast-allocation" in settings["plugins"]
        assert settings["profile"] is True  # a user's cluster keeps its own settings
        assert settings["gc_threshold"][0] == 10_000 and settings["gc_frozen"] > 10_000  # the collector relaxed


def test_cluster_cleanup_rejects_what_is_not_a_client():
    with pytest.raises(TypeError, match=r"client must be a dask distributed Client, got int 3"):
        cluster_cleanup(3)


def test_cluster_cleanup_without_a_client_says_so(caplog):
    caplog.set_level(logging.WARNING, logger="acme_like")
    cluster_cleanup()
    assert "No running dask client found" in caplog.text


def test_a_client_without_workers_is_a_clear_error():
    cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    try:
        with pytest.raises(ClusterError, match=r"has no workers \(waited 10 s\)"):
            with ParallelMap(funcs.add, [1, 2], 2, client=client, write_worker_results=False) as pmap:
                pmap.compute()
    finally:
        client.close()
        cluster.close()



def test_a_cluster_of_threads_takes_a_function_and_argument_that_do_not_pickle(threads_client):
    import threading

    lock = threading.Lock()

    def locked_increment(x, guard):
        with lock, guard:
            return x + 1

    with ParallelMap(locked_increment, [1, 2, 3], threading.Lock(), client=threads_client, write_worker_results=False) as pmap:
        assert pmap.compute() == [2, 3, 4]
