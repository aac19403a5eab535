"""Local clusters acme_like starts admit only holders of their credentials, also against other users.

The other user is uid/gid 65534 (nobody), reached with ``setpriv``; that part needs root
and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import dask
import pytest
from distributed import Client, Security

import funcs
from acme_like import ParallelMap, cluster_cleanup, local_cluster_setup

pytestmark = pytest.mark.integration

NOBODY = 65534

#: What another user tries: a plain client, then TLS with credentials of its own making.
ATTEMPT = textwrap.dedent(
    """
    import sys
    from distributed import Client, Security

    address, how = sys.argv[1], sys.argv[2]
    if how == "tls-no-certificate":  # TLS without a client certificate, below distributed
        import socket, ssl

        host, port = address.split("://")[1].rsplit(":", 1)
        anyone = ssl.create_default_context()
        anyone.check_hostname, anyone.verify_mode = False, ssl.CERT_NONE
        try:
            with socket.create_connection((host, int(port)), timeout=5) as raw, anyone.wrap_socket(raw) as tls:
                tls.sendall(b"\\0" * 8)
                tls.recv(1)
        except (OSError, ssl.SSLError) as error:
            print(f"REFUSED {type(error).__name__}: {error}")
            sys.exit(3)
        print("CONNECTED")
        sys.exit(0)
    kwargs = {"security": Security.temporary()} if how == "own-certificate" else {}
    if how == "plain-tcp":
        address = address.replace("tls://", "tcp://")
    try:
        client = Client(address, timeout=5, set_as_default=False, **kwargs)
    except Exception as error:
        print(f"REFUSED {type(error).__name__}: {error}")
        sys.exit(3)
    print("CONNECTED", client.run(lambda: __import__("os").getuid()))
    client.close()
    """
)


@pytest.fixture
def tls_client():
    """A cluster started by local_cluster_setup (the default client until the test ends)."""
    client = local_cluster_setup(n_workers=1, interactive=False)
    yield client
    cluster_cleanup(client)


def needs_root_and_setpriv():
    if os.geteuid() != 0:
        pytest.skip(f"the other-user attempt needs root (to become uid {NOBODY} with setpriv); running as uid {os.geteuid()}")
    if shutil.which("setpriv") is None:
        pytest.skip("the other-user attempt needs setpriv (util-linux), which is not installed")


def as_nobody(*command):
    """Run ``command`` as uid/gid 65534 with no groups, in a directory of its own."""
    needs_root_and_setpriv()
    home = Path(tempfile.mkdtemp(prefix="acme_like-nobody-"))
    try:
        home.chmod(0o777)  # pytest's tmp_path is root's only; the other user needs a place to be
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "DASK_TEMPORARY_DIRECTORY": str(home)}
        script = home / "attempt.py"
        script.write_text(ATTEMPT)
        script.chmod(0o644)
        command = [str(script) if part == "ATTEMPT" else part for part in command]
        return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command],
                              capture_output=True, text=True, timeout=60, env=env, cwd=home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_owner_gets_in_and_the_credentials_are_private(tls_client):
    assert tls_client.scheduler.address.startswith("tls://127.0.0.1:")
    assert tls_client.cluster.dashboard_link.startswith("http://127.0.0.1:")
    key, cert = Path(tls_client.security.tls_client_key), Path(tls_client.security.tls_client_cert)
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key.stat().st_mode) == stat.S_IMODE(cert.stat().st_mode) == 0o600
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    made = x509.load_pem_x509_certificate(cert.read_bytes())
    assert isinstance(made.public_key(), ec.EllipticCurvePublicKey)  # fast to make, unlike RSA
    assert made.not_valid_after_utc - made.not_valid_before_utc > datetime.timedelta(days=300)
    with ParallelMap(funcs.add, [1, 2, 3], 0, write_worker_results=False) as pmap:
        assert pmap.compute() == [3, 6, 9]
        assert pmap.client is tls_client
    # another process of the owner, from the two files (as the user guide shows)
    security = Security(tls_ca_file=str(cert), tls_client_cert=str(cert), tls_client_key=str(key), require_encryption=True)
    with Client(tls_client.scheduler.address, security=security, timeout=10, set_as_default=False) as other:
        assert other.submit(funcs.add, 1, 2).result(timeout=60) == 9


def test_another_user_can_neither_connect_nor_read_the_credentials(tls_client):
    expected = {
        "as-given": "ssl_context",  # distributed's Client cannot even try TLS without credentials
        "plain-tcp": "Connection reset|closed",  # the scheduler hangs up on plain TCP
        "own-certificate": "certificate does not match",  # another authority's certificate
        "tls-no-certificate": "CERTIFICATE_REQUIRED|EOF occurred in violation of protocol|reset",
    }
    for how, text in expected.items():
        attempt = as_nobody(sys.executable, "ATTEMPT", tls_client.scheduler.address, how)
        assert attempt.returncode == 3, f"{how}: exit {attempt.returncode}\n{attempt.stdout}\n{attempt.stderr}"
        assert attempt.stdout.startswith("REFUSED") and re.search(text, attempt.stdout), f"{how}: {attempt.stdout}"
    attempt = as_nobody("cat", tls_client.security.tls_client_key)
    assert attempt.returncode != 0 and "Permission denied" in attempt.stderr


def test_local_tls_false_gives_plain_tcp_which_the_other_user_gets_into():
    """The opt-out works, and the attempt above is a fair one: without TLS it does get in."""
    with dask.config.set({"acme_like.local-tls": False}):
        client = local_cluster_setup(n_workers=1, interactive=False)
    try:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        with ParallelMap(funcs.add, [1, 2], 0, write_worker_results=False) as pmap:
            assert pmap.compute() == [3, 6]
        attempt = as_nobody(sys.executable, "ATTEMPT", client.scheduler.address, "as-given")
    finally:
        cluster_cleanup(client)
    assert attempt.returncode == 0, f"exit {attempt.returncode}\n{attempt.stdout}\n{attempt.stderr}"
    assert "CONNECTED" in attempt.stdout


def test_a_cluster_parallel_map_starts_is_tls_and_leaves_no_credentials():
    with ParallelMap(funcs.add, [1, 2], 0, n_workers=1, write_worker_results=False) as pmap:
        assert pmap.compute() == [3, 6]
        assert pmap.client.scheduler.address.startswith("tls://")
        tls_dir = Path(pmap.client.security.tls_client_key).parent
        assert tls_dir.is_dir()
    assert not tls_dir.exists()
