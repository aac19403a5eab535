"""Functions the benchmarks run on dask workers, importable by name.

``bench_tiny.py`` puts this directory on ``PYTHONPATH`` for its runs, so worker
processes load these functions as ``workloads.<name>`` instead of receiving them
pickled by value. Every function here is tiny on purpose: the benchmark measures
per-call overhead, not the work.
"""

from __future__ import annotations

import os
import time

import h5py
import numpy as np


def f(x):
    """The tiny call being mapped: one float addition."""
    return np.float64(x) + 1


def write_result(value, path):
    """Write ``value`` as dataset ``result_0`` of the HDF5 file ``path``, atomically.

    The file is written under ``<path>.partial`` and renamed into place, so a file
    with the final name is always complete (what acme_like does for each call).
    """
    tmp = path + ".partial"
    with h5py.File(tmp, "w") as h5:
        h5.create_dataset("result_0", data=value)
    os.replace(tmp, path)
    return path


def f_to_h5(x, index, directory):
    """Call ``f(x)`` and write its result to ``<directory>/f_<index>.h5``; return the path."""
    return write_result(f(x), os.path.join(directory, f"f_{index}.h5"))


def read_result(path):
    """The ``result_0`` value stored in one per-call file."""
    with h5py.File(path, "r") as h5:
        return h5["result_0"][()]


def warm_imports():
    """Import what the tasks need, so the first timed task pays no import."""
    import distributed  # noqa: F401
    import h5py  # noqa: F401
    import numpy  # noqa: F401

    return os.getpid()


def vmhwm_mb():
    """Peak resident set size of this process, from ``/proc/self/status`` (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MB (MiB)
    return float("nan")


def malloc_trim_threshold():
    """This process's ``MALLOC_TRIM_THRESHOLD_`` (dask's nanny sets 65536 on its workers)."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def cpu_seconds():
    """CPU time (user + system, all threads) this process has used so far."""
    return time.process_time()


# ---- functions of the suite (bench/run.py) ----------------------------------------------


def f_array(x):
    """A call whose result is a 1,000-element float64 array."""
    return np.full(1000, float(x))


def cpu_alloc(x, n_iter, size=1_000_000):
    """CPU-bound numpy work that allocates 8 MB temporaries on every step (no ``out=``)."""
    a = np.full(size, 1.0 + x * 1e-6)
    for _ in range(n_iter):
        a = np.sqrt(a * a + 1.0)
    return float(a[0])


def pick(i, big):
    """A call that reads a little of a large argument shared by every call."""
    return float(big[i % big.shape[0], :100].sum())


def to_h5(func, index, directory, *args):
    """Call ``func(*args)`` and write its result to ``<directory>/f_<index>.h5``; return the path."""
    return write_result(func(*args), os.path.join(directory, f"f_{index}.h5"))


def result_file_bytes(value=0.0):
    """The bytes h5py writes for one ``f(x)`` result file (the size every per-call file has)."""
    import io

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_dataset("result_0", data=np.float64(value))
    return len(buffer.getvalue())


def write_blobs(size, directory, indices):
    """Write ``size`` bytes to ``<directory>/f_<i>.h5`` for each index, atomically as
    ``write_result`` does, without HDF5: what the file system alone costs. Returns paths."""
    blob = b"\0" * size
    paths = []
    for index in indices:
        path = os.path.join(directory, f"f_{index}.h5")
        tmp = path + ".partial"
        with open(tmp, "wb") as stream:
            stream.write(blob)
        os.replace(tmp, path)
        paths.append(path)
    return paths


def read_all_results(paths):
    """The sum of every value stored in the per-call files ``paths``."""
    total = 0.0
    for path in paths:
        total += float(np.sum(read_result(path)))
    return total


def g(value):
    """A tiny later stage: one more addition on the value of an earlier stage."""
    return np.float64(np.squeeze(value)) + 1


def g_from_path(path):
    """``g`` on the value stored in an earlier run's payload file (what a hand-made chain does)."""
    with h5py.File(path, "r") as h5:
        return g(h5["result_0"][()])
