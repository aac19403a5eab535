"""Stacked first values of a batch of calls in one shard file, and each call's own file onto its row.

With ``result_shape`` the calls of one task write their first values as the rows of
one shard, ``<func>_stack_<first>.h5``: the container's virtual dataset then reads
few sources, not one per call, which keeps reading it back fast. In ACME's layout
every call also gets ACME's ``<func>_<i>.h5``, whose ``result_0`` is a one-row
virtual dataset onto its shard row (a relative source in the same directory, so no
data is stored twice) and whose ``result_1``, ... are its other values. No dask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np

from ..core.outcome import PayloadRef
from ..errors import PayloadError
from .forms import Form
from .h5image import track_order
from .layout import write_failed
from .payload import RESULT_PREFIX, file_checksum, file_mtime_ns, new_h5_file, write_forms

STACKED = f"{RESULT_PREFIX}0"


#: Calls in one shard at most: their indices are one HDF5 attribute, and an attribute
#: holds at most 64 KB in the object header (8,000 int64 values and its own description).
MAX_SHARD_CALLS = 4096


def write_shard(path: Path, rows: np.ndarray, indices: Sequence[int]) -> tuple[int, int]:
    """Write a batch's stacked first values atomically; return the file's (size, CRC-32)."""
    try:
        with new_h5_file(path) as h5:
            h5.create_dataset(STACKED, data=rows)
            h5.attrs["call_indices"] = np.asarray(indices, dtype=np.int64)
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', path, exc)}; the batch's stacked results are not stored") from exc
    return file_checksum(path)


def write_row_payload(
    path: Path,
    shard: Path,
    shard_shape: tuple[int, ...],
    row: int,
    axis: int,
    shape: tuple[int, ...],
    dtype: np.dtype,
    rest: Sequence[Form],
) -> PayloadRef:
    """Call file ``path``: ``result_0`` reads row ``row`` of ``shard`` (its own ``shape``), then ``rest``."""
    try:
        with new_h5_file(path, track_order=track_order(1 + len(rest))) as h5:
            _row_view(h5, shard.name, shard_shape, row, axis, shape, dtype)
            write_forms(h5, [f"{RESULT_PREFIX}{k + 1}" for k in range(len(rest))], rest)
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', path, exc)}; the call's result is not stored") from exc
    size, crc = file_checksum(path)
    return PayloadRef(path=str(path), fmt="hdf5", n_values=1 + len(rest), nbytes=size, stack_shape=shape, crc32=crc,
                      mtime_ns=file_mtime_ns(path))


def _row_view(
    h5: h5py.File, source_name: str, shard_shape: tuple[int, ...], row: int, axis: int, shape: tuple[int, ...], dtype: np.dtype
) -> None:
    # The low-level API: the high-level VirtualLayout costs several times as much per file.
    own = shape or (1,)  # a stacked scalar is ACME's (1,) dataset
    vspace = h5py.h5s.create_simple(own, own)
    source = h5py.h5s.create_simple(shard_shape, shard_shape)
    start = [0] * len(shard_shape)
    start[axis] = row
    count: list[Any] = list(shape)
    count.insert(axis, 1)
    source.select_hyperslab(tuple(start), tuple(count))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_fill_value(np.zeros((), dtype=dtype))
    dcpl.set_virtual(vspace, source_name.encode(), f"/{STACKED}".encode(), source)
    h5py.h5d.create(h5.id, STACKED.encode(), h5py.h5t.py_create(dtype), vspace, dcpl=dcpl).close()
