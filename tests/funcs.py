"""Functions the tests map; importable by name in worker processes."""

from __future__ import annotations

import gc
import os
import time

import numpy as np


def add(x, y, z=3):
    return (x + y) * z


def two_values(x):
    return np.arange(x, dtype=np.float64), f"label-{x}"


def with_task_id(x, taskID=None):
    return x, taskID


def fail_on_odd(x):
    if x % 2:
        raise ValueError(f"odd input {x}")
    return x * 10


def pid_of_call(x):
    return os.getpid()


def returns_none(x):
    return None


def returns_dict(x):
    return {"x": x}


def varargs(*values, scale=1, **extra):
    return sum(values) * scale + sum(extra.values())


def slow(x, seconds=0.2):
    time.sleep(seconds)
    return x


def total(vector, offset=0):
    return float(np.sum(vector)) + offset


def vector(x, n=3):
    return np.full(n, float(x)), x * 2


def ramp(n):
    return np.arange(float(n))


def dict_for_1_and_15(x):
    return {"x": x} if x in (1, 15) else x


def allocate(x, mb=20):
    block = np.ones(mb * 2**20 // 8)
    return float(block.sum()) + x


def counted(x, marker_dir):
    """x squared; leaves a marker file per execution so tests can count what ran."""
    import uuid

    os.makedirs(marker_dir, exist_ok=True)
    open(os.path.join(marker_dir, f"{x}-{uuid.uuid4().hex}"), "w").close()
    return x * x


def draw(x, rng=None):
    return float(rng.random())


def flaky(x, marker_dir):
    """Fails the first time it runs for each x, succeeds afterwards."""
    path = os.path.join(marker_dir, f"flaky-{x}")
    if not os.path.exists(path):
        open(path, "w").close()
        raise RuntimeError(f"first attempt of {x}")
    return x


def square_slowly(x, seconds=0.005):
    time.sleep(seconds)
    return x * x


def big_block(x, n=200_000):
    return np.full(n, float(x))


def describe_array(i, block):
    return type(block).__name__, float(block[i]), block.shape


def hog(x, mb=600):
    """Hold ``mb`` megabytes long enough for a memory-limited worker to be killed."""
    if x == 1:
        block = np.ones(mb * 2**20 // 8)
        time.sleep(3)
        return float(block[0])
    return float(x)


def misbehave(x, bad, how, mb=600):
    """x squared as a float, except for call ``bad``: it segfaults, calls os._exit(3) or hogs memory."""
    if x == bad:
        if how == "segfault":
            import ctypes

            ctypes.string_at(0)
        elif how == "exit":
            os._exit(3)
        elif how == "memory":
            block = np.ones(mb * 2**20 // 8)
            time.sleep(3)
            return float(block[0])
    time.sleep(0.02)
    return float(x * x)


def worker_settings(dask_worker=None):
    """What slows or speeds up user code in this worker process."""
    import dask

    return {
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        "profile": dask.config.get("distributed.worker.profile.enabled"),
        "tick": dask.config.get("distributed.admin.tick.interval"),
        "plugins": sorted(dask_worker.plugins) if dask_worker is not None else None,
        "gc_threshold": gc.get_threshold(),
        "gc_frozen": gc.get_freeze_count(),
    }


def square(x):
    return x**2


def square_kw(x, **kw):
    return x**2
def give_back(value):
    """Return what came in (the value round-trip tests)."""
    return value


def returns_lock(x):
    """A value that cannot travel back from a worker for x == 1."""
    import threading

    return threading.Lock() if x == 1 else x
def counted_file(path, marker_dir):
    """The size of the file at ``path``; leaves a marker per execution (named by the file)."""
    import uuid

    os.makedirs(marker_dir, exist_ok=True)
    open(os.path.join(marker_dir, f"{os.path.basename(path)}-{uuid.uuid4().hex}"), "w").close()
    return os.path.getsize(path)


def counted_draw(x, marker_dir, rng=None):
    """A draw of the call's own stream; leaves a marker per execution."""
    counted(x, marker_dir)
    return float(rng.random())
