"""The scheduler slurm_cluster_setup starts on SLURM admits only clients holding this run's credentials."""

from __future__ import annotations

import gc
import socket
import ssl
import stat
from pathlib import Path

import pytest
from distributed import Client, Security

import funcs
from acme_like.batch.setup import slurm_cluster_setup


@pytest.fixture(scope="module")
def tls_cluster():
    cluster = slurm_cluster_setup("small", n_workers=1, mem_per_worker="500MB", interactive=False, start_client=False)
    yield cluster
    cluster.close()


def refused(address, **client_kwargs):
    """The error a Client gets trying ``address``; collected right away, since distributed can
    deadlock when a half-built Client is garbage-collected inside the next Client's start."""
    try:
        Client(address, timeout=5, set_as_default=False, **client_kwargs).close()
    except Exception as error:
        return error
    finally:
        gc.collect()
    return None


def test_a_client_without_this_runs_credentials_is_refused(tls_cluster):
    address = tls_cluster.scheduler_address
    assert address.startswith("tls://127.0.0.1:")
    assert "ssl_context" in str(refused(address))  # no credentials: a TLS scheduler cannot be reached
    assert "certificate does not match" in str(refused(address, security=Security.temporary()))  # another authority
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    anyone = ssl.create_default_context()
    anyone.check_hostname, anyone.verify_mode = False, ssl.CERT_NONE
    # TLS but no client certificate: the server's alert, or its hang-up if that comes first
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED|EOF occurred in violation of protocol"):
        with socket.create_connection((host, int(port)), timeout=5) as raw, anyone.wrap_socket(raw) as tls:
            tls.sendall(b"\0" * 8)
            tls.recv(1)


def test_the_setups_own_client_gets_in_and_the_dashboard_is_local(tls_cluster):
    with Client(tls_cluster, set_as_default=False) as client:
        assert client.submit(funcs.add, 1, 2).result(timeout=60) == 9
    assert tls_cluster.dashboard_link.startswith("http://127.0.0.1:")


def test_this_runs_credentials_are_private_files(tls_cluster):
    key = Path(tls_cluster.security.tls_worker_key)
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
