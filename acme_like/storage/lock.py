"""One run per output directory at a time: an OS file lock plus a registry within the process.

:func:`lock_run_dir` takes ``flock(LOCK_EX | LOCK_NB)`` on ``.acme_like/lock`` and
writes the holder's pid and host into it. The OS drops the lock with the process, so
a crash never leaves a stale lock. Two runs in one process are told apart by a
registry of the directories this process holds (and flock, being per open file,
would refuse them too). Never blocks: a busy directory fails at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import threading
from pathlib import Path

from ..errors import DirectoryInUse, InputError, PayloadError
from .layout import OutputLayout, write_failed

_held: dict[str, str] = {}  # real path of a run directory -> what this process runs there
_registry_lock = threading.Lock()


class RunLock:
    """The lock on one run directory; :meth:`release` it (idempotent)."""

    def __init__(self, key: str, fd: int) -> None:
        self._key, self._fd = key, fd

    def release(self) -> None:
        if self._fd < 0:
            return
        with _registry_lock:
            _held.pop(self._key, None)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def lock_run_dir(layout: OutputLayout, what: str) -> RunLock:
    """Hold ``layout``'s run directory for this run, or raise DirectoryInUse naming the holder."""
    key = os.path.realpath(layout.run_dir)
    with _registry_lock:
        if key in _held:
            raise DirectoryInUse(
                f"output_dir {layout.run_dir} is in use by another run in this process "
                f"(pid {os.getpid()}: {_held[key]}). Wait for it to finish, or pass another output_dir."
            )
        _held[key] = what
    try:
        layout.meta_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(layout.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        with _registry_lock:
            _held.pop(key, None)
        raise PayloadError(
            f"{write_failed('the lock file', layout.lock_path, exc)}; no call has run and the results already in "
            f"{layout.run_dir} are kept. Free space there (or make it writable), or pass another output_dir."
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_holder(fd) if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES) else None
        os.close(fd)
        with _registry_lock:
            _held.pop(key, None)
        if holder is None:
            raise InputError(
                f"could not lock output_dir {layout.run_dir} ({exc.strerror}): its file system does not "
                f"support flock (Lustre needs the mount option -o flock; NFS a running lock service). "
                f"Pass an output_dir on a file system that does."
            ) from exc
        raise DirectoryInUse(
            f"output_dir {layout.run_dir} is in use by another run ({holder}); two runs in one "
            f"directory would overwrite each other's files. Wait for it to finish, or pass another output_dir."
        ) from None
    try:  # who holds it, for the message another run gets; the lock holds without it (a full disk)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    except OSError:
        pass
    return RunLock(key, fd)


def is_locked(run_dir: Path) -> bool:
    """Whether a run (in this process or another) holds ``run_dir`` now."""
    key = os.path.realpath(run_dir)
    with _registry_lock:
        if key in _held:
            return True
    path = OutputLayout(run_dir=Path(run_dir), stem="", stamp="").lock_path
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's shared lock
    return False


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
