"""Run calls of the user's function where they execute (a worker, or this process in debug mode).

:func:`run_calls` is the one function dask runs: it builds each call's
arguments, calls ``func``, writes the payload to the path the layout names
(or keeps the value), and returns one :class:`TaskOutcome` per call. A call's
exception becomes a failure record; it never stops the calls that follow.
This module chooses no paths and reads no configuration.
"""

from __future__ import annotations

import pickle
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .inputs import CallTemplate
from .layout import OutputLayout
from .outcome import FAILED, OK, CallFailure, TaskOutcome
from .payload import return_values, write_payload
from .stacking import StackSpec

#: One call as it travels to a worker: its index and its values for the split slots.
CallSpec = tuple[int, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What every call of a run shares; sent to each worker once."""

    func: Callable[..., Any]
    template: CallTemplate
    layout: OutputLayout | None  # None: results travel back in memory
    fmt: str = "hdf5"  # "hdf5" or "pickle" when a layout is given
    stack: StackSpec | None = None
    retries: int = 0  # extra attempts for a call that raises

    def shape_result(self, index: int, result: Any) -> Any:
        """``result`` with its first value fitted to the declared stack (ShapeMismatch if it does not fit)."""
        if self.stack is None:
            return result
        values = return_values(result)
        first = self.stack.fit(values[0], index)
        return (first, *values[1:]) if isinstance(result, tuple) else first


def run_calls(context: CallContext, calls: Sequence[CallSpec]) -> list[TaskOutcome]:
    """Run a batch of calls; every call yields an outcome, failed or not."""
    return [run_call(context, index, values, capture=True) for index, values in calls]


def run_call(context: CallContext, index: int, values: Sequence[Any], capture: bool) -> TaskOutcome:
    """Run call ``index``. With ``capture=False`` the user's exception propagates unchanged."""
    start = time.perf_counter()
    for attempt in range(context.retries + 1):
        outcome = _attempt(context, index, values, capture or attempt < context.retries, start)
        if outcome.ok or attempt == context.retries:
            return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(context: CallContext, index: int, values: Sequence[Any], capture: bool, start: float) -> TaskOutcome:
    args, kwargs = context.template.assemble(index, values)
    try:
        result = context.shape_result(index, context.func(*args, **kwargs))
        payload = None
        if context.layout is not None:
            layout = context.layout
            payload = write_payload(layout.payload_path(index), layout.pickle_path(index), result, context.fmt)
            result = None
    except Exception as exc:
        if not capture:
            raise
        failure = CallFailure(
            index=index,
            kind="exception",
            exc_type=type(exc).__name__,
            message=str(exc),
            traceback=traceback.format_exc(),
            arguments=context.template.describe(index, values),
            exception=_portable(exc),
        )
        return TaskOutcome(index=index, status=FAILED, seconds=time.perf_counter() - start, failure=failure)
    return TaskOutcome(index=index, status=OK, seconds=time.perf_counter() - start, payload=payload, value=result)


def _portable(exc: BaseException) -> BaseException | None:
    """The exception itself if it survives pickling back to the parent, else None."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    exc.__traceback__ = None  # the formatted traceback travels as text
    return exc
