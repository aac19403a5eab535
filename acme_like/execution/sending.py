"""Check, before any worker starts, that the function and every argument can be sent to workers.

Worker processes receive ``func`` and the arguments pickled (cloudpickle). An object
that cannot be pickled (a lock, an open file, a database connection) would otherwise
fail deep inside dask, after the cluster started, in dask's words. Here it fails in
the parent, before anything starts, naming the argument and the fix. NumPy arrays of
plain dtypes always pickle and are skipped; other values are pickled with
out-of-band buffers (protocol 5), so large buffers inside them are not copied.
No clusters, no files.
"""

from __future__ import annotations

import pickle
from typing import Any, Callable, Iterable

import numpy as np

from ..core.plan import CallPlan
from ..errors import InputError


def check_sendable(func: Callable[..., Any], func_name: str, plan: CallPlan) -> None:
    """Raise InputError naming the first of ``func`` and its arguments that cannot be pickled."""
    problem = _unpicklable(func)
    if problem is not None:
        raise InputError(
            f"the function `{func_name}` ({type(func).__name__}) cannot be sent to worker processes: {problem}. "
            f"Define {func_name} at the top level of a module or script (not inside another function "
            f"or with a lock or open file in its closure), or run with compute(debug=True), which needs no workers."
        )
    for name, value in _arguments(plan):
        problem = _unpicklable(value)
        if problem is not None:
            raise InputError(
                f"argument `{name}` ({_kind(value)}) cannot be sent to worker processes: {problem}. Create it "
                f"inside {func_name} (or pass what it is made from, such as a file name, instead), or run with "
                f"compute(debug=True), which calls {func_name} in this process."
            )


def _arguments(plan: CallPlan) -> Iterable[tuple[str, Any]]:
    template = plan.template
    split_positions = set(template.split_args)
    shared_positional = [v for i, v in enumerate(template.args) if i not in split_positions]
    shared_names = iter(plan.shared_names)
    for value in shared_positional:
        yield next(shared_names, "an argument"), value
    for key, value in template.kwargs.items():
        yield key, value
    for name, column in zip(template.split_names, plan.columns):
        if _plain_array(column) or isinstance(column, range):
            continue
        for index, value in enumerate(column):
            if type(value) not in _PLAIN:  # the common case, checked without a call per value
                yield f"{name}[{index}]", value


#: Types that always pickle.
_PLAIN = frozenset({int, float, complex, str, bytes, bool, type(None)})


def _plain_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and not value.dtype.hasobject


def _unpicklable(value: Any) -> str | None:
    if _plain_array(value) or value is None or isinstance(value, (int, float, complex, str, bytes, bool)):
        return None
    import cloudpickle

    try:
        cloudpickle.dumps(value, protocol=5, buffer_callback=_ignore)
    except Exception as exc:  # whatever pickling raises (TypeError, PicklingError, AttributeError...)
        return f"{type(exc).__name__}: {exc}"
    return None


def _ignore(buffer: pickle.PickleBuffer) -> None:
    return None  # out-of-band: large buffers are not copied just to check


def _kind(value: Any) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
