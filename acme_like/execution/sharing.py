"""Share large array arguments with local workers through memory-mapped files, not copies.

When every worker runs on this machine, each NumPy array passed whole to every
call and larger than a threshold is written once to a ``.npy`` file (in
``/dev/shm`` when available) and travels as a small :class:`SharedArray`
reference. A worker maps the file copy-on-write, once per process, so all
workers share one copy in the page cache and a call that writes to its array
changes only its own pages. The parent removes the files after the run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.plan import CallTemplate

#: Arrays at least this large are shared by file rather than sent to every worker.
MIN_SHARED_BYTES = 16 * 2**20

_mapped: dict[str, np.ndarray] = {}


@dataclass(frozen=True, slots=True)
class SharedArray:
    """A reference to an array in a ``.npy`` file, mapped on first use in each process."""

    path: str
    shape: tuple[int, ...]
    dtype: str

    def load(self) -> np.ndarray:
        array = _mapped.get(self.path)
        if array is None:
            # Maps of an earlier run point at removed files: drop them so their memory is freed.
            run_dir = os.path.dirname(self.path)
            for stale in [p for p in _mapped if os.path.dirname(p) != run_dir]:
                del _mapped[stale]
            array = np.load(self.path, mmap_mode="c")
            _mapped[self.path] = array
        return array


def resolve(value: Any) -> Any:
    """The array behind a :class:`SharedArray`, anything else unchanged."""
    return value.load() if isinstance(value, SharedArray) else value


def share_large_arrays(template: CallTemplate, min_bytes: int = MIN_SHARED_BYTES) -> tuple[CallTemplate, Path | None]:
    """``template`` with its large shared arrays replaced by file references, and their directory."""
    large = [
        value
        for value in (*template.args, *template.kwargs.values())
        if isinstance(value, np.ndarray) and value.nbytes >= min_bytes and value.dtype != object
    ]
    if not large:
        return template, None
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix="acme_like-shared-", dir=base))
    refs: dict[int, SharedArray] = {}
    try:
        for n, array in enumerate(large):
            path = directory / f"arg{n}.npy"
            np.save(path, array, allow_pickle=False)
            refs[id(array)] = SharedArray(str(path), tuple(array.shape), str(array.dtype))
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)
        return template, None  # no room to share: send the arrays as usual

    def swap(value: Any) -> Any:
        return refs.get(id(value), value)

    shared = dataclasses.replace(
        template,
        args=tuple(swap(v) for v in template.args),
        kwargs={key: swap(v) for key, v in template.kwargs.items()},
    )
    return shared, directory


def forget(directory: Path | None) -> None:
    """Remove the files of a run's shared arrays."""
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
