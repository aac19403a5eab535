"""A local cluster's dashboard: its link at once, its pages a moment later (or at once, if asked)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import dask
import pytest

import funcs
from acme_like import InputError, ParallelMap, cluster_cleanup, local_cluster_setup

pytestmark = pytest.mark.integration


def status_of(link: str) -> int:
    try:
        with urllib.request.urlopen(link, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_dashboard_comes_up_after_the_delay_on_its_link():
    with dask.config.set({"acme_like.dashboard-delay": 3}):
        client = local_cluster_setup(n_workers=1, interactive=False)
    try:
        started = time.monotonic()
        link = client.cluster.dashboard_link
        assert link.startswith("http://127.0.0.1:") and link.endswith("/status")
        assert status_of(link) == 404  # the server listens, its pages are not there yet
        while status_of(link) != 200:
            assert time.monotonic() - started < 30, f"no dashboard at {link} after 30 s"
            time.sleep(0.2)
        assert "Dask" in urllib.request.urlopen(link, timeout=5).read().decode()
    finally:
        cluster_cleanup(client)


def test_a_delay_of_zero_serves_the_dashboard_with_the_cluster():
    with dask.config.set({"acme_like.dashboard-delay": 0}):
        client = local_cluster_setup(n_workers=1, interactive=False)
    try:
        assert status_of(client.cluster.dashboard_link) == 200
    finally:
        cluster_cleanup(client)


@pytest.mark.parametrize("value", [-1, "soon", True])
def test_a_bad_delay_is_refused_before_any_cluster_starts(value):
    with dask.config.set({"acme_like.dashboard-delay": value}), pytest.raises(InputError) as caught:
        local_cluster_setup(n_workers=1, interactive=False)
    assert "acme_like.dashboard-delay must be a number of seconds >= 0" in str(caught.value)
    assert repr(value) in str(caught.value)


def test_a_bad_delay_is_refused_before_a_run_creates_anything(tmp_path):
    with dask.config.set({"acme_like.dashboard-delay": "soon"}), pytest.raises(InputError, match="dashboard-delay"):
        ParallelMap(funcs.square, [1, 2], output_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
