"""Hash argument values for call identities: arrays by their bytes, containers item by item,
files named by an argument by their path, size and modification time (or content), frozen
dataclasses by their class and each of their fields' values, anything else by its pickle.

Each encoding starts with its kind and is self-delimiting, so different values feed
different bytes; none depends on the process (no ``id``, no hash seed).
Pure apart from stat-ing (or reading) the files arguments name.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import operator
import os
import pickle
from pathlib import Path
from typing import Any, Callable

import numpy as np


class FileIds:
    """Identifies an existing file argument by path, size and mtime (or by content)."""

    def __init__(self, by_content: bool) -> None:
        self.by_content = by_content
        self.first: tuple[str, int] | None = None

    def identify(self, value: str | os.PathLike[str]) -> bytes | None:
        text = os.fspath(value)
        if not text or len(text) > 4096 or "\0" in text:
            return None
        try:
            stat = os.stat(text)
        except (OSError, ValueError):
            return None
        if not os.path.isfile(text):
            return None
        path = os.path.abspath(text)
        if self.first is None:
            self.first = (path, stat.st_size)
        if self.by_content:
            h = hashlib.blake2b(digest_size=16)
            with open(path, "rb") as stream:
                while block := stream.read(1 << 20):
                    h.update(block)
            return f"file:{path}:{h.hexdigest()}".encode()
        return f"file:{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()


def feed(h: Any, value: Any, files: FileIds | None = None) -> None:
    """Add ``value`` to the hash ``h``: arrays by dtype, shape and bytes, containers item by item."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        h.update(f"ndarray:{value.dtype.str}:{value.shape}".encode())
        # A byte view, not memoryview(array): the buffer protocol refuses datetime64 and timedelta64.
        h.update(np.ascontiguousarray(value).reshape(-1).view(np.uint8))
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}:{len(value)}".encode())
        for item in value:
            feed(h, item, files)
    elif files is not None and isinstance(value, (str, Path)) and (found := files.identify(value)) is not None:
        h.update(found)
    elif (encoding := _encoding(type(value))) is not None:
        header, fields = encoding
        h.update(header)
        _feed_fields(h, fields(value))
    else:
        _feed_pickle(h, value)


def _feed_pickle(h: Any, value: Any) -> None:
    try:
        h.update(pickle.dumps(value, protocol=4))
    except Exception:  # unpicklable here means unpicklable for the workers too; identify by repr
        h.update(repr(value).encode(errors="replace"))


def _feed_fields(h: Any, values: tuple[Any, ...]) -> None:
    """A frozen dataclass's field values, each on its own (never one pickle of all of them: a
    pickle writes a value met twice as a reference, so equal values aliased differently, such
    as one token string shared by every item of a run against one string per journal line,
    would feed different bytes). Plain scalars and tuples get a short tagged form of their own,
    gathered into one update (an upstream item is hashed per call of a later stage)."""
    parts: list[bytes] = []
    _field_parts(h, values, parts)
    h.update(b"".join(parts))


def _field_parts(h: Any, values: tuple[Any, ...], parts: list[bytes]) -> None:
    for value in values:
        kind = type(value)
        if kind is str:
            data = value.encode("utf-8", "surrogatepass")
            parts.append(b"s%d:" % len(data))
            parts.append(data)
        elif kind is int:
            parts.append(b"i%d;" % value)
        elif value is None:
            parts.append(b"N")
        elif kind is bool:
            parts.append(b"T" if value else b"F")
        elif kind is tuple:
            parts.append(b"t%d:" % len(value))
            _field_parts(h, value, parts)
        else:  # anything else is fed as it would be on its own, after what came before it
            parts.append(b"v")
            h.update(b"".join(parts))
            parts.clear()
            feed(h, value)


#: Per type: how its values are pickled for identities (None: as any value).
_ENCODINGS: dict[type, tuple[bytes, Callable[[Any], tuple[Any, ...]]] | None] = {}


def _encoding(cls: type) -> tuple[bytes, Callable[[Any], tuple[Any, ...]]] | None:
    """How values of ``cls`` are fed: a frozen dataclass as its class, field names and each of
    its fields' values (pickling it whole calls a Python ``__getstate__`` per value: 5x
    slower); None for any other type (fed as its pickle)."""
    try:
        return _ENCODINGS[cls]
    except KeyError:
        encoding = _ENCODINGS[cls] = _dataclass_encoding(cls)
        return encoding


def _dataclass_encoding(cls: type) -> tuple[bytes, Callable[[Any], tuple[Any, ...]]] | None:
    """The header and field getter of a frozen dataclass whose pickle would hold exactly its
    fields (no instance ``__dict__``, no other slot, no pickling of its own); else None."""
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        return None
    if cls.__dictoffset__ or cls in copyreg.dispatch_table:
        return None
    if cls.__reduce_ex__ is not object.__reduce_ex__ or cls.__reduce__ is not object.__reduce__:
        return None
    getstate = getattr(cls, "__getstate__", None)
    if getstate is not None and getstate is not getattr(object, "__getstate__", None) and getattr(getstate, "__module__", None) != "dataclasses":
        return None
    names = tuple(f.name for f in dataclasses.fields(cls))
    slots: set[str] = set()
    for base in cls.__mro__:
        declared = base.__dict__.get("__slots__", ())
        slots.update((declared,) if isinstance(declared, str) else declared)
    if not names or slots - {"__weakref__"} != set(names):
        return None
    text = "\0".join((cls.__module__, cls.__qualname__, *names)).encode("utf-8", "surrogatepass")
    getter = operator.attrgetter(*names)
    return b"dataclass:%d:%s" % (len(text), text), (getter if len(names) > 1 else lambda value: (getter(value),))
