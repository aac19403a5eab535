"""TLS credentials of the clusters this package starts: made for one run, readable by the owner only.

Writes a fresh self-signed certificate and key into a private directory and builds
distributed ``Security`` objects from such a directory, for local clusters (here)
and batch clusters (``batch.setup``) alike. Starts no cluster and knows nothing of
batch systems.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import tempfile
from pathlib import Path

import dask
from distributed import Security

from ..errors import ClusterError

logger = logging.getLogger(__name__)

#: Names of the credential files in a run's private TLS directory.
TLS_CERT, TLS_KEY = "tls.pem", "tls.key"


def local_tls_enabled() -> bool:
    """Whether local clusters speak TLS (dask config ``acme_like.local-tls``, default True)."""
    value = dask.config.get("acme_like.local-tls", True)
    if isinstance(value, str):  # from an environment variable: DASK_ACME_LIKE__LOCAL_TLS=false
        value = {"true": True, "false": False}.get(value.strip().lower(), value)
    if not isinstance(value, bool):
        raise ClusterError(
            f"dask config acme_like.local-tls must be true or false, got {value!r}. "
            f"Fix it in your dask configuration (e.g. ~/.config/dask/acme_like.yaml)."
        )
    return value


def security_in(tls_dir: str | os.PathLike[str]) -> Security:
    """The ``Security`` of every role (scheduler, worker, client) from the files in ``tls_dir``."""
    cert, key = str(Path(tls_dir, TLS_CERT)), str(Path(tls_dir, TLS_KEY))
    return Security(
        require_encryption=True, tls_ca_file=cert, tls_client_cert=cert, tls_client_key=key,
        tls_scheduler_cert=cert, tls_scheduler_key=key, tls_worker_cert=cert, tls_worker_key=key,
    )


def write_credentials(tls_dir: str | os.PathLike[str]) -> Security:
    """Fresh self-signed credentials for this run in ``tls_dir``, files readable by the owner only."""
    try:
        cert, key = self_signed()
    except ImportError as exc:
        raise ClusterError(
            "TLS for the cluster needs the package cryptography, which is not installed. Install it "
            "(pip install cryptography), or turn TLS off with the dask config acme_like.local-tls: false "
            "(local clusters) or security=False (slurm_cluster_setup)."
        ) from exc
    for name, text in ((TLS_CERT, cert), (TLS_KEY, key)):
        fd = os.open(Path(tls_dir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return security_in(tls_dir)


def self_signed(days: int = 365) -> tuple[str, str]:
    """A certificate and its key (PEM) for every role of one cluster, as dask's own temporary
    credentials (name ``dask-internal``), but on an elliptic-curve key (P-256): made in about
    1 ms, where a 2048-bit RSA key takes 50-200 ms of each cluster's start."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dask-internal")])
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dask-internal")]), critical=False)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # a node whose clock is a little behind
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def private_directory() -> str:
    """A new directory only the owner can enter (0700), in the per-user runtime directory if
    there is one, else in the temporary directory."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = runtime if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK) else None
    return tempfile.mkdtemp(prefix="acme_like-tls-", dir=base)  # mkdtemp creates it with mode 0700


def remove_directory(tls_dir: str) -> None:
    """Delete a run's credentials once its cluster is closed."""
    shutil.rmtree(tls_dir, ignore_errors=True)
