"""Small HDF5 result files as bytes, built once per kind of result and then patched.

Building an HDF5 file with h5py costs about 0.4 ms of CPU however small it is, more
than the file system needs to store it. Calls of one map return values of the same
names, dtypes and shapes, and h5py lays such files out identically: only the bytes
of the data differ. So the first file of each kind is built by h5py (in a scratch file), the
offsets of its datasets' raw data are noted, and later files are that image with
their own data bytes copied in. The assumption is checked, not trusted: a second
image built by h5py with other data must equal the patched first one byte for byte,
or that kind of result is always built by h5py. Files are what h5py itself writes.

This module produces bytes only; ``payload`` writes them to disk.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import h5py
import numpy as np

#: dtype kinds whose values h5py stores as their raw bytes.
_PATCHABLE_KINDS = "biufcS"
#: Results up to this many bytes of data go through an image: beyond, writing the data
#: dominates, and each kind of result keeps its image in memory.
MAX_IMAGE_DATA_BYTES = 64 * 1024
#: Kinds of results remembered per process; further kinds are built by h5py every time.
MAX_KINDS = 64


@dataclass(frozen=True, slots=True)
class Template:
    """An HDF5 file image and where each dataset's raw data lives in it."""

    image: bytes
    spans: tuple[tuple[int, int], ...]  # (offset, nbytes) per dataset, in order
    attr_offsets: tuple[int, ...] = ()  # where each root attribute's bytes are

    def patched(self, arrays: Sequence[np.ndarray], attrs: Sequence[bytes] = ()) -> bytes:
        buffer = bytearray(self.image)
        for (offset, nbytes), array in zip(self.spans, arrays):
            buffer[offset : offset + nbytes] = memoryview(np.ascontiguousarray(array)).cast("B")
        for offset, value in zip(self.attr_offsets, attrs):
            buffer[offset : offset + len(value)] = value
        return bytes(buffer)


_templates: dict[tuple, Template | None] = {}
_lock = threading.Lock()


#: Files with this many datasets or more track creation order, so that result_10
#: follows result_9 when a reader iterates the keys (ACME's readers enumerate them).
TRACK_ORDER_FROM = 11


def track_order(n_datasets: int) -> bool:
    """Whether a file of ``n_datasets`` results tracks creation order."""
    return n_datasets >= TRACK_ORDER_FROM


Named = Sequence[tuple[str, Any, Any, tuple[tuple[str, Any], ...]]]


def file_image(named: Named, root_attrs: Sequence[tuple[str, bytes]] = ()) -> bytes | None:
    """The bytes of an HDF5 file holding ``create_dataset(name, data=data, dtype=dtype)``
    with the attributes ``attrs`` for each ``(name, data, dtype, attrs)``, and a fixed-length
    bytes attribute on its root for each ``(name, value)`` of ``root_attrs``; or None where
    only h5py can write it (strings, large data, kinds of values whose layout depends on
    the data, attributes other than short strings)."""
    if any(not value or value.endswith(b"\0") for _, value in root_attrs):
        return None  # h5py stores such bytes differently
    arrays = []
    for _, data, dtype, attrs in named:
        if dtype is not None or any(not isinstance(value, str) for _, value in attrs):
            return None
        if isinstance(data, h5py.Empty):
            continue
        if not isinstance(data, np.ndarray) or data.dtype.kind not in _PATCHABLE_KINDS:
            return None
        arrays.append(data)
    if not named or sum(a.nbytes for a in arrays) > MAX_IMAGE_DATA_BYTES:
        return None
    key = tuple(
        (name, "empty" if isinstance(data, h5py.Empty) else (data.dtype.str, data.shape), attrs)
        for name, data, _, attrs in named
    ) + tuple((name, len(value)) for name, value in root_attrs)
    values = [value for _, value in root_attrs]
    template = _templates.get(key, False)
    if template is False:
        template = _learn(named, root_attrs)
        with _lock:
            if len(_templates) < MAX_KINDS:
                _templates[key] = template
        if template is not None:
            return template.image  # built from exactly these arrays
    if template is None:
        return None
    return template.patched(arrays, values)


def _build(named: Named, root_attrs: Sequence[tuple[str, bytes]] = ()) -> tuple[bytes, list[int | None]]:
    """An HDF5 file image written by h5py in memory, and each array's data offset."""
    # Into a real file, read after closing: HDF5 rewrites parts of a file when it closes
    # it (a file tracking creation order shrinks), so an image taken while the file is
    # open is not what lands on disk, nor is what the file-object driver writes.
    with tempfile.TemporaryDirectory(prefix="acme_like-image-") as scratch:
        path = os.path.join(scratch, "image.h5")
        with h5py.File(path, "w", track_order=track_order(len(named))) as h5:
            for name, value in root_attrs:
                h5.attrs[name] = np.bytes_(value)
            datasets = []
            for name, data, _, attrs in named:
                dataset = h5.create_dataset(name, data=data)
                for attr, value in attrs:
                    dataset.attrs[attr] = value
                if not isinstance(data, h5py.Empty):
                    datasets.append(dataset)
            h5.flush()
            offsets = [d.id.get_offset() for d in datasets]
        with open(path, "rb") as stream:
            return stream.read(), offsets


def _learn(named: Named, root_attrs: Sequence[tuple[str, bytes]] = ()) -> Template | None:
    """A template from ``named``, if patching it reproduces h5py's own file for other data."""
    arrays = [data for _, data, _, _ in named if not isinstance(data, h5py.Empty)]
    image, offsets = _build(named, root_attrs)
    if any(offset is None for offset in offsets):
        return None  # empty or compact data: no contiguous block to patch
    attr_offsets = tuple(image.find(value) for _, value in root_attrs)
    if any(offset < 0 or image.count(value) != 1 for offset, (_, value) in zip(attr_offsets, root_attrs)):
        return None  # an attribute's bytes are not to be found once in the image
    template = Template(image, tuple((offset, a.nbytes) for offset, a in zip(offsets, arrays)), attr_offsets)
    # Where h5py stores other bytes than the array's own, or anything else depends on
    # the data, the patched image differs from the one h5py builds.
    others = iter([_other_values(a) for a in arrays])
    other_named = [(n, d if isinstance(d, h5py.Empty) else next(others), t, at) for n, d, t, at in named]
    other_arrays = [d for _, d, _, _ in other_named if not isinstance(d, h5py.Empty)]
    other_attrs = [(name, bytes(b ^ 0x5A for b in value)) for name, value in root_attrs]
    other_image, other_offsets = _build(other_named, other_attrs)
    if other_offsets != offsets or template.patched(other_arrays, [v for _, v in other_attrs]) != other_image:
        return None
    return template


def _other_values(array: np.ndarray) -> np.ndarray:
    """An array like ``array`` with different bytes wherever possible."""
    raw = np.frombuffer(np.ascontiguousarray(array).tobytes(), dtype=np.uint8)
    flipped = (raw ^ 0x5A) if array.dtype.kind != "b" else (raw ^ 1)
    return np.frombuffer(flipped.tobytes(), dtype=array.dtype).reshape(array.shape)


def forget() -> None:
    """Drop every remembered template (tests)."""
    with _lock:
        _templates.clear()
