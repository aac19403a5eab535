"""Write and read one call's return values, atomically, as HDF5 or as a pickle.

A tuple returned by ``func`` is several return values, stored as ``result_0``,
``result_1``, ...; anything else is one value, ``result_0``. Values HDF5 cannot
hold (``None``, dicts, object arrays, sparse matrices, ...) are pickled instead,
for that call only. Every file appears under its final name only once it is
complete. This module does not import dask.
"""

from __future__ import annotations

import json
import numbers
import os
import pickle
import socket
import threading
import zlib
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np

from ..errors import PayloadError
from .h5image import file_image
from .layout import partial_path
from ..core.outcome import PayloadRef

RESULT_PREFIX = "result_"
#: Root attribute of a payload file: the identity digest of the call that wrote it, so a
#: rerun can adopt a complete payload its journal never heard of.
IDENTITY_ATTR = "acme_like_call"
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


def write_payload(
    h5_path: Path,
    pickle_path: Path,
    result: Any,
    fmt: str = "hdf5",
    first: int = 0,
    identity: str | None = None,
    identity_dir: Path | None = None,
) -> PayloadRef:
    """Store ``result`` at ``h5_path``, or at ``pickle_path`` if asked or if HDF5 cannot hold it.

    ``first`` numbers the datasets from ``result_<first>`` (1 when the first value is
    stored elsewhere, stacked with other calls' first values). ``identity`` goes into
    the file's root attribute :data:`IDENTITY_ATTR`; for a pickle (which stays a plain
    pickle) into a line of this process's record in ``identity_dir``.
    """
    values = return_values(result)
    if fmt == "pickle":
        return _record_pickle(_write_pickle(pickle_path, result, len(values)), identity, identity_dir)
    try:
        forms = [_hdf5_form(value) for value in values]
    except _NotStorable:
        return _record_pickle(_write_pickle(pickle_path, result, len(values)), identity, identity_dir)
    names = [f"{RESULT_PREFIX}{k + first}" for k in range(len(forms))]
    shape = np.shape(forms[0][0]) if forms else None
    attrs = [] if identity is None else [(IDENTITY_ATTR, identity.encode())]
    image = file_image([(name, data, dtype) for name, (data, dtype) in zip(names, forms)], attrs)
    if image is not None:
        size, crc = _write_bytes(h5_path, image)
        return PayloadRef(path=str(h5_path), fmt="hdf5", n_values=len(values), nbytes=size, stack_shape=shape, crc32=crc)
    tmp = partial_path(h5_path)
    try:
        with h5py.File(tmp, "w") as h5:
            for name, value in attrs:
                h5.attrs[name] = np.bytes_(value)
            for name, (data, dtype) in zip(names, forms):
                h5.create_dataset(name, data=data, dtype=dtype)
        os.replace(tmp, h5_path)
    except TypeError:
        # h5py found no HDF5 type after all (e.g. a structured dtype it cannot map).
        tmp.unlink(missing_ok=True)
        return _record_pickle(_write_pickle(pickle_path, result, len(values)), identity, identity_dir)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PayloadError(f"could not write the result file {h5_path}: {exc}") from exc
    size, crc = file_checksum(h5_path)
    return PayloadRef(path=str(h5_path), fmt="hdf5", n_values=len(values), nbytes=size, stack_shape=shape, crc32=crc)


def _write_bytes(path: Path, data: bytes) -> tuple[int, int]:
    """Write ``data`` to ``path`` atomically; return its (size, CRC-32)."""
    tmp = partial_path(path)
    try:
        with open(tmp, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PayloadError(f"could not write the result file {path}: {exc}") from exc
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
    tmp = partial_path(path)
    try:
        with open(tmp, "wb") as stream:
            writer = _ChecksummedWriter(stream)
            pickle.dump(result, writer, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        tmp.unlink(missing_ok=True)
        raise PayloadError(
            f"the return value ({type(result).__name__}) can be stored neither in HDF5 nor "
            f"in a pickle: {exc}. Return numbers, strings or arrays, or objects that pickle."
        ) from exc
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PayloadError(f"could not write the result file {path}: {exc}") from exc
    return PayloadRef(path=str(path), fmt="pickle", n_values=n_values, nbytes=writer.size, crc32=writer.crc)


_records: dict[str, Any] = {}
_records_lock = threading.Lock()


def _record_pickle(ref: PayloadRef, identity: str | None, identity_dir: Path | None) -> PayloadRef:
    """Note which call wrote a pickle: one JSON line, by its size and checksum, in a file
    of this process's own (appended, flushed; a line cut short is ignored)."""
    if identity is None or identity_dir is None:
        return ref
    path = identity_dir / f"{socket.gethostname()}-{os.getpid()}.jsonl"
    line = json.dumps({"digest": identity, "nbytes": ref.nbytes, "crc32": ref.crc32, "n_values": ref.n_values}) + "\n"
    with _records_lock:
        stream = _records.get(str(path))
        if stream is None or stream.closed:
            identity_dir.mkdir(parents=True, exist_ok=True)
            stream = _records[str(path)] = open(path, "a", encoding="utf-8")
        stream.write(line)
        stream.flush()
    return ref


def read_pickle_records(identity_dir: Path) -> dict[tuple[int, int], tuple[str, int]]:
    """(size, CRC-32) of each recorded pickle -> (identity digest, number of values)."""
    found: dict[tuple[int, int], tuple[str, int]] = {}
    for path in sorted(identity_dir.glob("*.jsonl")) if identity_dir.is_dir() else ():
        with open(path, encoding="utf-8") as stream:
            for text in stream:
                try:
                    record = json.loads(text)
                    found[(int(record["nbytes"]), int(record["crc32"]))] = (str(record["digest"]), int(record["n_values"]))
                except (ValueError, KeyError, TypeError):
                    continue
    return found


def read_identity(path: Path) -> tuple[str, int, tuple[int, ...] | None] | None:
    """(identity, number of values, shape of the first) of a complete, readable HDF5 payload;
    None if it has no identity or cannot be read to the end."""
    try:
        with h5py.File(path, "r") as h5:
            identity = h5.attrs.get(IDENTITY_ATTR)
            if identity is None:
                return None
            names = sorted((n for n in h5 if n.startswith(RESULT_PREFIX)), key=lambda n: int(n[len(RESULT_PREFIX):]))
            for name in names:
                h5[name][()]  # every value readable: a damaged file is not adopted
            shape = tuple(h5[names[0]].shape) if names else None
            return (identity.decode() if isinstance(identity, bytes) else str(identity)), len(names), shape
    except (OSError, KeyError, ValueError, RuntimeError):
        return None


def write_shard(path: Path, rows: np.ndarray, indices: Sequence[int]) -> tuple[int, int]:
    """Write a batch's stacked first values atomically; return the file's (size, CRC-32)."""
    tmp = partial_path(path)
    try:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset(f"{RESULT_PREFIX}0", data=rows)
            h5.attrs["call_indices"] = np.asarray(indices, dtype=np.int64)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PayloadError(f"could not write the result file {path}: {exc}") from exc
    return file_checksum(path)


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
