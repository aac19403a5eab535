"""The identity of each call, so a later run can tell which results it can keep.

Pure; no I/O.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np

from .plan import CallPlan, function_name


def call_digests(plan: CallPlan) -> list[str]:
    """One digest per call of its identity: index, function (module and name) and arguments.

    Code changes to ``func`` do not change it; a different argument does. Arrays are
    hashed by their bytes, without copies.
    """
    func = plan.func
    inner = getattr(func, "func", func)
    identity = f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', function_name(func))}"
    shared = hashlib.blake2b(identity.encode(), digest_size=16)
    _feed(shared, (plan.template.args, sorted(plan.template.kwargs.items()), plan.template.task_id))
    base = shared.digest()
    digests = []
    for index in range(plan.n_calls):
        h = hashlib.blake2b(base, digest_size=16)
        h.update(index.to_bytes(8, "little"))
        _feed(h, plan.call_values(index))
        digests.append(h.hexdigest())
    return digests


def _feed(h: Any, value: Any) -> None:
    """Add ``value`` to the hash ``h``: arrays by dtype, shape and bytes, containers item by item."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        h.update(f"ndarray:{value.dtype.str}:{value.shape}".encode())
        # A byte view, not memoryview(array): the buffer protocol refuses datetime64 and timedelta64.
        h.update(np.ascontiguousarray(value).reshape(-1).view(np.uint8))
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}:{len(value)}".encode())
        for item in value:
            _feed(h, item)
    else:
        try:
            h.update(pickle.dumps(value, protocol=4))
        except Exception:  # unpicklable here means unpicklable for the workers too; identify by repr
            h.update(repr(value).encode(errors="replace"))
