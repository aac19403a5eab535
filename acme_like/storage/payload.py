"""Write and read one call's return values, atomically, as HDF5 or as a pickle.

A tuple returned by ``func`` is several return values, stored as ``result_0``,
``result_1``, ...; anything else is one value, ``result_0``. Values HDF5 cannot
hold (``None``, dicts, object arrays, sparse matrices, ...) are pickled instead,
for that call only. Every file appears under its final name only once it is
complete. This module does not import dask.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import h5py
import numpy as np

from ..errors import PayloadError
from .forms import Form, NotStorable, hdf5_form, is_acme_scalar, read_value
from .h5image import file_image, track_order
from .layout import atomic_write, write_failed
from ..core.outcome import PayloadRef

RESULT_PREFIX = "result_"

#: Root attribute of a payload file: the identity digest of the call that wrote it, so a
#: rerun can adopt a complete payload its journal never heard of.
IDENTITY_ATTR = "acme_like_call"


def return_values(result: Any) -> tuple[Any, ...]:
    """A call's return values: the items of a returned tuple, else the result itself."""
    return result if isinstance(result, tuple) else (result,)


def value_forms(values: Sequence[Any], acme: bool = True, rows: bool | None = None) -> list[Form]:
    """The HDF5 form of each return value (NotStorable if one has none).

    In ACME's layout, return values that are all numbers or strings are ``(1,)``
    datasets each (``rows``, decided from ``values`` unless given); in the modern
    layout every scalar is 0-d.
    """
    if rows is None:
        rows = acme and bool(values) and all(is_acme_scalar(v) for v in values)
    return [hdf5_form(value, row=rows) for value in values]


def write_payload(
    h5_path: Path,
    pickle_path: Path,
    result: Any,
    fmt: str = "hdf5",
    first: int = 0,
    acme: bool = True,
    rows: bool | None = None,
    identity: str | None = None,
    identity_dir: Path | None = None,
) -> PayloadRef:
    """Store ``result`` at ``h5_path``, or at ``pickle_path`` if asked or if HDF5 cannot hold it.

    ``first`` numbers the datasets from ``result_<first>`` (1 when the first value is
    stored elsewhere, stacked with other calls' first values). ``acme`` writes ACME's
    forms (``(1,)`` scalars), else the modern ones (0-d scalars). ``identity`` goes into
    the file's root attribute :data:`IDENTITY_ATTR`; for a pickle (which stays a plain
    pickle) into a line of this process's record in ``identity_dir``.
    """
    values = return_values(result)
    if fmt == "pickle":
        return _record_pickle(_write_pickle(pickle_path, result, len(values)), identity, identity_dir)
    try:
        forms = value_forms(values, acme, rows)
    except NotStorable:
        return _record_pickle(_write_pickle(pickle_path, result, len(values)), identity, identity_dir)
    names = [f"{RESULT_PREFIX}{k + first}" for k in range(len(forms))]
    shape = np.shape(forms[0].data) if forms and not isinstance(forms[0].data, h5py.Empty) else None
    root_attrs = [] if identity is None else [(IDENTITY_ATTR, identity.encode())]
    image = file_image([(name, form.data, form.dtype, form.attrs) for name, form in zip(names, forms)], root_attrs)
    if image is not None:
        size, crc = _write_bytes(h5_path, image)
        return PayloadRef(path=str(h5_path), fmt="hdf5", n_values=len(values), nbytes=size, stack_shape=shape, crc32=crc,
                          mtime_ns=file_mtime_ns(h5_path))
    try:
        with new_h5_file(h5_path, track_order=track_order(len(forms))) as h5:
            for name, value in root_attrs:
                h5.attrs[name] = np.bytes_(value)
            write_forms(h5, names, forms)
    except (TypeError, ValueError):
        # h5py found no HDF5 type after all (e.g. a structured dtype it cannot map).
        return _record_pickle(_write_pickle(pickle_path, result, len(values)), identity, identity_dir)
    except OSError as exc:
        raise PayloadError(f"{write_failed('the result file', h5_path, exc)}; the call's result is not stored") from exc
    size, crc = file_checksum(h5_path)
    return PayloadRef(path=str(h5_path), fmt="hdf5", n_values=len(values), nbytes=size, stack_shape=shape, crc32=crc,
                      mtime_ns=file_mtime_ns(h5_path))


def write_forms(group: h5py.Group, names: Sequence[str], forms: Sequence[Form]) -> None:
    """Create one dataset per form in ``group`` (the order h5image's templates assume)."""
    for name, form in zip(names, forms):
        dataset = group.create_dataset(name, data=form.data, dtype=form.dtype)
        for key, value in form.attrs:
            dataset.attrs[key] = value


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
    return PayloadRef(path=str(path), fmt="pickle", n_values=n_values, nbytes=writer.size, crc32=writer.crc,
                      mtime_ns=file_mtime_ns(path))


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


def file_mtime_ns(path: Path | str) -> int:
    """A file's modification time (0 if it cannot be read): with its size, what the journal keeps
    to tell later that the file is unchanged without reading it. Taken where the file was written."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def file_checksum(path: Path) -> tuple[int, int]:
    """``(size in bytes, CRC-32)`` of a file, read in 1 MiB blocks."""
    crc = 0
    size = 0
    with open(path, "rb") as stream:
        while block := stream.read(2**20):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


def read_payload(path: str | os.PathLike[str], index: int | None = None) -> Any:
    """Read back what one call returned: a value, or a tuple of values.

    ``path`` is a call's payload file (``.h5`` or ``.pickle``), or, with ``index``,
    a container: then call ``index``'s values are read from it (from its
    ``comp_<index>`` group, and row ``index`` of a stacked ``result_0``).

    Values written by acme_like come back as the call returned them (see the values
    table of the documentation); files without acme_like's marks, such as ACME's,
    read back as they are stored (ACME's ``(1,)`` scalars as arrays of one element).

    Examples
    --------
    >>> read_payload("run/f_payload/f_3.h5")  # doctest: +SKIP
    18
    >>> read_payload("run/f.h5", 3)  # doctest: +SKIP
    18
    """
    path = Path(path)
    if path.suffix == ".pickle":
        with open(path, "rb") as stream:
            return pickle.load(stream)
    with h5py.File(path, "r") as h5:
        if index is None:
            return _read_group(h5)
        return _read_call(h5, index)


def _read_group(group: h5py.Group, first: tuple[Any, ...] = ()) -> Any:
    names = sorted((n for n in group if n.startswith(RESULT_PREFIX)), key=lambda n: int(n[len(RESULT_PREFIX):]))
    values = first + tuple(read_value(group[name]) for name in names)
    return values[0] if len(values) == 1 else values


def _read_call(h5: h5py.File, index: int) -> Any:
    name = f"comp_{index}"
    first: tuple[Any, ...] = ()
    stacked = h5.get(f"{RESULT_PREFIX}0")
    if isinstance(stacked, h5py.Dataset):
        axis = int(stacked.attrs.get("stacking_axis", 0))
        selection: list[Any] = [slice(None)] * stacked.ndim
        selection[axis] = index
        first = (stacked[tuple(selection)],)
    if name not in h5:
        if first:
            return first[0]
        raise KeyError(f"{h5.filename} holds no results of call {index} (no {name}).")
    group = h5[name]
    if "pickle" in group and group.attrs.get("pickled", False):
        return pickle.loads(group["pickle"][()].tobytes())
    if "pickle" in group.attrs:  # a container that names the call's pickle
        with open(Path(h5.filename).parent / group.attrs["pickle"], "rb") as stream:
            return pickle.load(stream)
    return _read_group(group, first)


_records_lock = threading.Lock()


def _record_pickle(ref: PayloadRef, identity: str | None, identity_dir: Path | None) -> PayloadRef:
    """Note which call wrote a pickle: one JSON line, by its size and checksum, in a file
    of this process's own (appended, flushed; a line cut short is ignored)."""
    if identity is None or identity_dir is None:
        return ref
    path = identity_dir / f"{socket.gethostname()}-{os.getpid()}.jsonl"
    line = json.dumps({"digest": identity, "nbytes": ref.nbytes, "crc32": ref.crc32, "n_values": ref.n_values}) + "\n"
    with _records_lock:  # opened for each line: a worker serving many runs keeps no file open
        identity_dir.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line)
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
