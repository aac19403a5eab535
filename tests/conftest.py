"""Shared fixtures: real dask clusters, started once per session and shared by the tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# Clusters ParallelMap starts itself are local in these tests, also on a machine where SLURM
# answers (as in CI); tests/slurm switch to SLURM explicitly. Subprocesses inherit this.
os.environ["DASK_ACME_LIKE__BACKEND"] = "local"
# Runs build no report unless a test asks for one (tests/integration/test_report_runs.py does):
# a report costs a second or two per run, hundreds of times over in this suite.
os.environ["DASK_ACME_LIKE__REPORT"] = "never"


@pytest.fixture(scope="session")
def threads_client():
    """A LocalCluster of two one-thread workers in this process; never the default client."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def processes_client():
    """A LocalCluster of two worker processes; never the default client."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    client.run(lambda: __import__("funcs"))  # fail early if workers cannot import the test functions
    yield client
    client.close()
    cluster.close()


class Backend:
    """Where a ParallelMap runs: in-process (debug), a threads cluster or a processes cluster."""

    def __init__(self, name, client):
        self.name = name
        self.client = client

    def pmap(self, func, *args, **kwargs):
        from acme_like import ParallelMap

        if self.client is not None:
            kwargs.setdefault("client", self.client)
        return ParallelMap(func, *args, **kwargs)

    def compute(self, pmap):
        return pmap.compute(debug=self.name == "debug")

    def run(self, func, *args, **kwargs):
        with self.pmap(func, *args, **kwargs) as pmap:
            return pmap, self.compute(pmap)


@pytest.fixture(params=["debug", "threads", "processes"])
def backend(request):
    """One test body, three ways to run it."""
    client = None if request.param == "debug" else request.getfixturevalue(f"{request.param}_client")
    return Backend(request.param, client)


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch):
    """Every test runs in its own working directory, so default ACME_* dirs land there."""
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(autouse=True)
def _no_leaked_default_client():
    """A test must not leave a running default client behind."""
    yield
    from distributed import Client

    try:
        leaked = Client.current()
    except ValueError:
        return
    leaked.close()
    if leaked.cluster is not None:
        leaked.cluster.close()
    pytest.fail(f"test left a running default dask client behind: {leaked}")
