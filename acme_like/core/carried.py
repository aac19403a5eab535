"""A run's shared context carried inside each of its tasks, when it is small.

Scattering the context to every worker costs a round trip through the scheduler to
each worker before the first task (5-9 ms on a two-worker local cluster, more over
TLS): most of a run of a few thousand tiny calls on a warm cluster. A context of a few
kilobytes (the function by reference, the call template, where results go) costs less
carried in every task, pickled once in the parent. On a worker it is unpickled once
per process and run, then shared by that run's tasks like a scattered one. Pure
values: no dask, no files.
"""

from __future__ import annotations

import io
import pickle
import threading
import uuid
from collections import OrderedDict
from typing import Any, Callable

#: Contexts up to this many pickled bytes are carried in each task; larger ones are scattered.
CARRY_LIMIT_BYTES = 16 * 1024
#: Contexts a worker process keeps unpickled (the runs of a few concurrent ParallelMaps).
_KEPT = 8


class CarriedContext:
    """A context as pickled bytes and a token naming the run's copy of it."""

    __slots__ = ("_blob", "_token")

    def __init__(self, blob: bytes, token: str) -> None:
        self._blob, self._token = blob, token

    @classmethod
    def of(cls, context: Any, dump: Callable[..., None], limit: int = CARRY_LIMIT_BYTES) -> "CarriedContext | None":
        """``context`` carried, or None when it pickles to more than ``limit`` bytes (found out
        after about that many: a large context is not pickled whole just to learn it), holds
        buffers pickle sends out of band (arrays: scattering sends them once per worker), or
        does not pickle at all. ``dump``: ``cloudpickle.dump``."""
        buffers: list[Any] = []
        out = _Bounded(limit)
        try:
            dump(context, out, protocol=5, buffer_callback=buffers.append)
        except Exception:  # too large, or e.g. a lock in a closure, which a cluster of threads takes as it is
            return None
        if buffers:
            return None
        return cls(out.getvalue(), uuid.uuid4().hex)

    @property
    def nbytes(self) -> int:
        return len(self._blob)

    def context(self) -> Any:
        """The context, unpickled once per process."""
        with _LOCK:
            kept = _UNPICKLED.get(self._token)
            if kept is not None:
                _UNPICKLED.move_to_end(self._token)
                return kept
        context = pickle.loads(self._blob)
        with _LOCK:
            _UNPICKLED[self._token] = context
            while len(_UNPICKLED) > _KEPT:
                _UNPICKLED.popitem(last=False)
        return context

    def __reduce__(self) -> tuple[Any, ...]:
        return (CarriedContext, (self._blob, self._token))


class _TooLarge(Exception):
    pass


class _Bounded(io.BytesIO):
    """A pickle's destination that refuses to grow past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def write(self, data: Any) -> int:
        if self.tell() + memoryview(data).nbytes > self._limit:
            raise _TooLarge
        return super().write(data)


def context_of(shared: Any) -> Any:
    """The context a task was given: carried (unpickled here once) or scattered (as it is)."""
    return shared.context() if isinstance(shared, CarriedContext) else shared


_LOCK = threading.Lock()
_UNPICKLED: "OrderedDict[str, Any]" = OrderedDict()
