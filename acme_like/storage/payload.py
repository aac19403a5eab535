"""Write and read one call's return values, atomically, as HDF5 or as a pickle.

A tuple returned by ``func`` is several return values, stored as ``result_0``,
``result_1``, ...; anything else is one value, ``result_0``. Values HDF5 cannot
hold (``None``, dicts, object arrays, sparse matrices, ...) are pickled instead,
for that call only. Every file appears under its final name only once it is
complete. This module does not import dask.
"""

from __future__ import annotations

import numbers
import os
import pickle
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import h5py
import numpy as np

from ..errors import PayloadError
from .h5image import file_image
from .layout import atomic_write, write_failed
from ..core.outcome import PayloadRef

RESULT_PREFIX = "result_"
_NUMERIC_KINDS = "biufcb?"


class _NotStorable(Exception):
    """A value has no HDF5 representation; the call's result goes to a pickle."""


def return_values(result: Any) -> tuple[Any, ...]:
    """A call's return values: the items of a returned tuple, else the result itself."""
    return result if isinstance(result, tuple) else (result,)


def _hdf5_form(value: Any) -> tuple[Any, Any]:
    """``(data, dtype)`` for ``create_dataset``, or raise _NotStorable."""
    if isinstance(value, str):
        return value, h5py.string_dtype()
    if isinstance(value, (bytes, np.bytes_)):
        return np.bytes_(value), None
    if isinstance(value, (bool, numbers.Number, np.generic)) and not isinstance(value, np.object_):
        array = np.asarray(value)
    elif isinstance(value, (np.ndarray, list)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nesting such as [[1, 2], [3]]
            raise _NotStorable("a ragged list") from None
    else:
        raise _NotStorable(type(value).__name__)
    if array.dtype.kind == "U":
        if isinstance(value, list):
            leaves = np.asarray(value, dtype=object).ravel()
            if not all(isinstance(item, str) for item in leaves):
                raise _NotStorable("a list mixing strings and other values")
        return array.astype(object), h5py.string_dtype()
    if array.dtype.kind in _NUMERIC_KINDS or array.dtype.kind == "S":
        return array, None
    raise _NotStorable(f"values of dtype {array.dtype}")


def write_payload(h5_path: Path, pickle_path: Path, result: Any, fmt: str = "hdf5", first: int = 0) -> PayloadRef:
    """Store ``result`` at ``h5_path``, or at ``pickle_path`` if asked or if HDF5 cannot hold it.

    ``first`` numbers the datasets from ``result_<first>`` (1 when the first value is
    stored elsewhere, stacked with other calls' first values).
    """
    values = return_values(result)
    if fmt == "pickle":
        return _write_pickle(pickle_path, result, len(values))
    try:
        forms = [_hdf5_form(value) for value in values]
    except _NotStorable:
        return _write_pickle(pickle_path, result, len(values))
    names = [f"{RESULT_PREFIX}{k + first}" for k in range(len(forms))]
    shape = np.shape(forms[0][0]) if forms else None
    image = file_image([(name, data, dtype) for name, (data, dtype) in zip(names, forms)])
    if image is not None:
        size, crc = _write_bytes(h5_path, image)
        return PayloadRef(path=str(h5_path), fmt="hdf5", n_values=len(values), nbytes=size, stack_shape=shape, crc32=crc)
    try:
        with new_h5_file(h5_path) as h5:
            for name, (data, dtype) in zip(names, forms):
                h5.create_dataset(name, data=data, dtype=dtype)
    except TypeError:
        # h5py found no HDF5 type after all (e.g. a structured dtype it cannot map).
        return _write_pickle(pickle_path, result, len(values))
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', h5_path, exc)}; the call's result is not stored") from exc
    size, crc = file_checksum(h5_path)
    return PayloadRef(path=str(h5_path), fmt="hdf5", n_values=len(values), nbytes=size, stack_shape=shape, crc32=crc)


def _write_bytes(path: Path, data: bytes) -> tuple[int, int]:
    """Write ``data`` to ``path`` atomically; return its (size, CRC-32)."""
    try:
        with atomic_write(path) as tmp, open(tmp, "wb") as stream:
            stream.write(data)
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', path, exc)}; the call's result is not stored") from exc
    return len(data), zlib.crc32(data)


class _ChecksummedWriter:
    """A binary file that keeps the size and CRC-32 of what went through it."""

    def __init__(self, stream: Any):
        self.stream, self.size, self.crc = stream, 0, 0

    def write(self, data: Any) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += memoryview(data).nbytes
        return self.stream.write(data)


def _write_pickle(path: Path, result: Any, n_values: int) -> PayloadRef:
    try:
        with atomic_write(path) as tmp, open(tmp, "wb") as stream:
            writer = _ChecksummedWriter(stream)
            pickle.dump(result, writer, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise PayloadError(
            f"the return value ({type(result).__name__}) can be stored neither in HDF5 nor "
            f"in a pickle: {exc}. Return numbers, strings or arrays, or objects that pickle."
        ) from exc
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', path, exc)}; the call's result is not stored") from exc
    return PayloadRef(path=str(path), fmt="pickle", n_values=n_values, nbytes=writer.size, crc32=writer.crc)


def write_shard(path: Path, rows: np.ndarray, indices: Sequence[int]) -> tuple[int, int]:
    """Write a batch's stacked first values atomically; return the file's (size, CRC-32)."""
    try:
        with new_h5_file(path) as h5:
            h5.create_dataset(f"{RESULT_PREFIX}0", data=rows)
            h5.attrs["call_indices"] = np.asarray(indices, dtype=np.int64)
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', path, exc)}; the batch's stacked results are not stored") from exc
    return file_checksum(path)


def adopt_payload(h5_path: Path, pickle_path: Path, since: float) -> PayloadRef | None:
    """The payload a call wrote at or after ``since`` (epoch seconds) and that reads back, else None.

    For a call whose worker died after the call had written its payload: files appear
    under their final name only once complete, so a file there that opens is the call's
    result; an older file is an earlier run's and is not taken.
    """
    for path, fmt in ((h5_path, "hdf5"), (pickle_path, "pickle")):
        try:
            if path.stat().st_mtime < since:
                continue
            if fmt == "hdf5":
                with h5py.File(path, "r") as h5:
                    names = sorted((n for n in h5 if n.startswith(RESULT_PREFIX)), key=lambda n: int(n[len(RESULT_PREFIX):]))
                    n_values, shape = len(names), (h5[names[0]].shape if names else None)
            else:
                with open(path, "rb") as stream:
                    n_values, shape = len(return_values(pickle.load(stream))), None
            size, crc = file_checksum(path)
        except Exception:  # missing, damaged or unreadable: the call runs again
            continue
        return PayloadRef(path=str(path), fmt=fmt, n_values=n_values, nbytes=size, stack_shape=shape, crc32=crc)
    return None


@contextmanager
def new_h5_file(path: Path, **kwargs: Any) -> Iterator[h5py.File]:
    """A new HDF5 file that appears at ``path`` only once complete (``atomic_write``).

    HDF5 writes through a Python file object here, not through its own file driver: on a
    full disk that driver's failed flush is ignored and the process later segfaults
    (h5py 3, ENOSPC), while a Python file raises ``OSError`` at the write that failed.
    """
    with atomic_write(path) as tmp, open(tmp, "w+b") as stream, h5py.File(stream, "w", **kwargs) as h5:
        yield h5


def file_checksum(path: Path) -> tuple[int, int]:
    """``(size in bytes, CRC-32)`` of a file, read in 1 MiB blocks."""
    crc = 0
    size = 0
    with open(path, "rb") as stream:
        while block := stream.read(2**20):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


def read_payload(path: str | os.PathLike[str]) -> Any:
    """Read back what one call returned: a value, or a tuple of values.

    Strings come back as ``str``, scalars as numpy scalars, arrays as arrays.
    """
    path = Path(path)
    if path.suffix == ".pickle":
        with open(path, "rb") as stream:
            return pickle.load(stream)
    with h5py.File(path, "r") as h5:
        names = sorted((n for n in h5 if n.startswith(RESULT_PREFIX)), key=lambda n: int(n[len(RESULT_PREFIX):]))
        values = tuple(_read_dataset(h5[name]) for name in names)
    return values[0] if len(values) == 1 else values


def _read_dataset(dataset: h5py.Dataset) -> Any:
    if h5py.check_string_dtype(dataset.dtype) is not None and dataset.dtype.kind == "O":
        data = dataset.asstr()[()]
        return data if isinstance(data, str) else np.asarray(data, dtype=object)
    return dataset[()]
