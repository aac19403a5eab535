"""Hash argument values for call identities: arrays by their bytes, containers item by item,
files named by an argument by their path, size and modification time (or content).

Pure apart from stat-ing (or reading) the files arguments name.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

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
    else:
        try:
            h.update(pickle.dumps(value, protocol=4))
        except Exception:  # unpicklable here means unpicklable for the workers too; identify by repr
            h.update(repr(value).encode(errors="replace"))
