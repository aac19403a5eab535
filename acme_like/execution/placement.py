"""Where a call runs and how much memory its process peaked at: worker name, host, VmHWM.

On Linux the peak resident memory of a process (``VmHWM`` in ``/proc/self/status``)
can be reset by writing ``5`` to ``/proc/self/clear_refs``, about 14 µs for both.
That tells a call's own peak only when its process runs one call at a time (a
one-thread worker, or this process in debug mode); elsewhere it is left unknown.
"""

from __future__ import annotations

import socket
from functools import lru_cache

_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def placement() -> tuple[str, str, bool]:
    """(worker name, host, whether this process runs one call at a time)."""
    try:
        from distributed import Worker, get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return "local", _host(), True
    nthreads = getattr(worker.state, "nthreads", getattr(worker, "nthreads", 0))
    # Workers of a threads cluster share this process, and so its peak memory.
    alone = nthreads == 1 and len(getattr(Worker, "_instances", ())) == 1
    return str(worker.name), _host(), alone


def reset_peak() -> bool:
    """Start measuring the process's peak memory afresh; False where that cannot be done."""
    try:
        with open(_CLEAR_REFS, "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def read_peak() -> int | None:
    """The process's peak resident memory in bytes since the last reset, or None."""
    try:
        with open(_STATUS, "rb") as stream:
            for line in stream:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
