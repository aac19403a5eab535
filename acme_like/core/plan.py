"""Decide, once, how the arguments of ``ParallelMap`` become calls of ``func``.

``plan_calls`` binds the arguments to ``func``'s signature (``core.binding``), decides per argument
whether it is split across calls or passed whole to every call, and counts the
calls. The result, a frozen :class:`CallPlan`, yields each call's arguments.
This module knows nothing of files or dask.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, overload

import numpy as np

from ..errors import AcmeLikeWarning, InputError, InputTypeError
from .binding import RNG, TASK_ID, Slot, bind_arguments
from .caller import user_stacklevel
from .checks import prefix_acme_line
from .units import format_size
from .values import measure_bytes, summarize

#: Calls above which a run warns that it is too finely cut.
MANY_CALLS = 10**6


@dataclass(frozen=True, slots=True)
class CallTemplate:
    """Everything a worker needs to build call ``i``'s arguments from its per-call values.

    ``args`` and ``kwargs`` hold the values passed whole to every call; the slots
    listed in ``split_args`` (positions) and ``split_kwargs`` (names) are filled
    per call, in that order, from the values the plan hands out.
    """

    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    split_args: tuple[int, ...]
    split_kwargs: tuple[str, ...]
    split_names: tuple[str, ...]
    task_id: bool
    rng: bool = False
    seed_entropy: int | None = None

    def assemble(self, index: int, values: Sequence[Any]) -> tuple[list[Any], dict[str, Any]]:
        """Return the positional and keyword arguments of call ``index``."""
        args = list(self.args)
        kwargs = dict(self.kwargs)
        n_args = len(self.split_args)
        for position, value in zip(self.split_args, values[:n_args]):
            args[position] = value
        for name, value in zip(self.split_kwargs, values[n_args:]):
            kwargs[name] = value
        if self.task_id:
            kwargs[TASK_ID] = index
        if self.rng:
            kwargs[RNG] = np.random.default_rng(np.random.SeedSequence(self.seed_entropy, spawn_key=(index,)))
        return args, kwargs

    def describe(self, index: int, values: Sequence[Any]) -> str:
        """A short, readable summary of call ``index``'s own arguments."""
        parts = [f"{name}={summarize(value)}" for name, value in zip(self.split_names, values)]
        if self.task_id:
            parts.append(f"{TASK_ID}={index}")
        return ", ".join(parts) if parts else "same arguments as every call"


class CallRows(Sequence[tuple[int, tuple[Any, ...]]]):
    """``(index, values)`` of consecutive calls, kept as the slices of the argument columns:
    no tuple per call is made until one is read, and it pickles as those slices."""

    __slots__ = ("_indices", "_slices")

    def __init__(self, indices: range, slices: tuple[Sequence[Any], ...]) -> None:
        self._indices, self._slices = indices, slices

    def __len__(self) -> int:
        return len(self._indices)

    def __iter__(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        return zip(self._indices, zip(*self._slices)) if self._slices else ((i, ()) for i in self._indices)

    @overload
    def __getitem__(self, k: int) -> tuple[int, tuple[Any, ...]]: ...
    @overload
    def __getitem__(self, k: slice) -> CallRows: ...
    def __getitem__(self, k: int | slice) -> tuple[int, tuple[Any, ...]] | CallRows:
        if isinstance(k, slice):
            return CallRows(self._indices[k], tuple(column[k] for column in self._slices))
        return self._indices[k], tuple(column[k] for column in self._slices)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (CallRows, (self._indices, self._slices))


@dataclass(frozen=True, slots=True)
class CallPlan:
    """How ``func`` is called: ``n_calls`` times, with which arguments split and which shared."""

    func: Callable[..., Any]
    n_calls: int
    template: CallTemplate
    columns: tuple[Sequence[Any], ...]
    shared_names: tuple[str, ...]

    @property
    def split_names(self) -> tuple[str, ...]:
        return self.template.split_names

    def call_values(self, index: int) -> tuple[Any, ...]:
        """The values of call ``index`` for each split slot, in template order."""
        return tuple(column[index] for column in self.columns)

    def calls_of(self, indices: Sequence[int]) -> tuple[tuple[int, tuple[Any, ...]], ...]:
        """``(index, call_values(index))`` for each of ``indices``; a run of consecutive
        calls is sliced out of each column at once."""
        if not self.columns:
            return tuple((i, ()) for i in indices)
        if isinstance(indices, range) and indices.step == 1 and all(map(_sliceable, self.columns)):
            return CallRows(indices, tuple(column[indices.start : indices.stop] for column in self.columns))
        return tuple((i, self.call_values(i)) for i in indices)

    def describe_calls(self, indices: Sequence[int]) -> list[str]:
        """The short summary of each of calls ``indices``' own arguments (``CallTemplate.describe``)."""
        template, columns = self.template, self.columns
        rows: Iterable[Sequence[Any]]
        span = consecutive(indices)
        if span is not None and all(map(_sliceable, columns)):
            first, end = span.start, span.stop  # consecutive calls: their values sliced out at once
            if len(columns) == 1 and template.split_names and not template.task_id:  # one argument: no tuple per call
                name = template.split_names[0]
                return [f"{name}={summarize(value)}" for value in columns[0][first:end]]
            rows = zip(*(column[first:end] for column in columns)) if columns else (() for _ in indices)
        else:
            rows = (self.call_values(i) for i in indices)
        return [template.describe(i, values) for i, values in zip(indices, rows)]

    def call_arguments(self, index: int) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments of call ``index``."""
        return self.template.assemble(index, self.call_values(index))


def plan_calls(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    n_inputs: Any = "auto",
    max_arg_bytes: int | None = None,
) -> CallPlan:
    """Bind ``args``/``kwargs`` to ``func`` and decide which of them to split.

    Lists, tuples, ranges and arrays that are 1-D after ``squeeze()`` are split when
    their length is the number of calls; everything else goes whole to every call.
    """
    if not callable(func):
        raise InputTypeError(prefix_acme_line(
            f"first input has to be a callable function, not {type(func)}",
            f"ParallelMap's first argument must be the function to call, got "
            f"{type(func).__name__} {summarize(func)}. Pass the function first: ParallelMap(func, *args, **kwargs).",
        ))
    wanted = _check_n_inputs(n_inputs)
    name = function_name(func)
    slots, task_id, rng = bind_arguments(func, name, args, kwargs)
    lengths = {slot.name: _split_length(slot) for slot in slots}
    candidates = {key: length for key, length in lengths.items() if length is not None}
    n_calls = _count_calls(name, candidates, wanted, slots)
    if n_calls > MANY_CALLS:
        warnings.warn(
            f"{n_calls:,} calls of {name}: every call gets its own task record, journal line and (on "
            f"disk) file, so planning and bookkeeping alone take minutes and gigabytes at this scale. "
            f"Give each call a chunk of the work instead, e.g. {n_calls // 1000:,} calls of 1,000 items each.",
            AcmeLikeWarning,
            stacklevel=user_stacklevel(),
        )
    split = [slot for slot in slots if candidates.get(slot.name) == n_calls]
    _warn_labelled(name, slots, n_calls, split)
    if max_arg_bytes is not None:
        _warn_large({slot.name: measure_bytes(slot.value) for slot in slots}, max_arg_bytes)

    split_ids = {id(slot) for slot in split}
    shared_args: list[Any] = []
    shared_kwargs: dict[str, Any] = {}
    split_args: list[int] = []
    split_kwargs: list[str] = []
    columns_args: list[Sequence[Any]] = []
    columns_kwargs: list[Sequence[Any]] = []
    names_args: list[str] = []
    names_kwargs: list[str] = []
    for slot in slots:
        is_split = id(slot) in split_ids
        if slot.keyword is None:
            if is_split:
                split_args.append(len(shared_args))
                columns_args.append(_column(slot.value))
                names_args.append(slot.name)
            shared_args.append(None if is_split else slot.value)
        elif is_split:
            split_kwargs.append(slot.keyword)
            columns_kwargs.append(_column(slot.value))
            names_kwargs.append(slot.name)
        else:
            shared_kwargs[slot.keyword] = slot.value
    template = CallTemplate(
        args=tuple(shared_args),
        kwargs=shared_kwargs,
        split_args=tuple(split_args),
        split_kwargs=tuple(split_kwargs),
        split_names=tuple(names_args + names_kwargs),
        task_id=task_id,
        rng=rng,
    )
    return CallPlan(
        func=func,
        n_calls=n_calls,
        template=template,
        columns=tuple(columns_args + columns_kwargs),
        shared_names=tuple(slot.name for slot in slots if id(slot) not in split_ids),
    )


def function_name(func: Callable[..., Any]) -> str:
    """The name of ``func`` as users know it (partials and callable objects included)."""
    inner = func
    while hasattr(inner, "func") and not hasattr(inner, "__name__"):
        inner = inner.func  # functools.partial
    name = getattr(inner, "__name__", None) or type(inner).__name__
    return str(name)


def _check_n_inputs(n_inputs: Any) -> int | str:
    from .options import CHECKS  # the one checker of the keyword (options does not import plan)

    return CHECKS["n_inputs"](n_inputs)


def _length(value: Any) -> int | None:
    if isinstance(value, (list, tuple, range)):
        return len(value)
    if isinstance(value, np.ndarray):
        squeezed = value.squeeze()
        return int(squeezed.shape[0]) if squeezed.ndim == 1 else None
    return None


def _split_length(slot: Slot) -> int | None:
    length = _length(slot.value)
    if length is None:
        return None
    # ACME's rule: a value as long as a list-like default is that default's kind of value.
    if _length(slot.default) == length:
        return None
    return length


def consecutive(indices: Sequence[int]) -> range | None:
    """``indices`` as a range when they are consecutive and increasing (and not empty), else None."""
    if not len(indices):
        return None
    span = range(indices[0], indices[0] + len(indices))
    return span if indices[-1] == span[-1] and list(indices) == list(span) else None


def _sliceable(column: Sequence[Any]) -> bool:
    return isinstance(column, (list, tuple, range)) or isinstance(column, np.ndarray) and column.ndim == 1


def _column(value: Any) -> Sequence[Any]:
    if isinstance(value, np.ndarray):
        return value.squeeze()
    return value


def _count_calls(name: str, candidates: Mapping[str, int], wanted: int | str, slots: Sequence[Slot] = ()) -> int:
    lengths = sorted(set(candidates.values()))
    if wanted != "auto":
        # ACME's rule: some argument has n_inputs elements, or none has more than one (repeat the call).
        if lengths and wanted not in lengths and lengths != [1]:
            listed = ", ".join(f"{key} has {length} element{'s' if length != 1 else ''}" for key, length in candidates.items())
            options = " or ".join(f"n_inputs={length}" for length in lengths if length != 1)
            raise InputError(prefix_acme_line(
                f"No object has required length of {wanted} matching `n_inputs`.",
                f"n_inputs={wanted}, but no argument of {name} has {wanted} elements: {listed}. Pass {options} "
                f"to split the arguments of that length, or bind what every call gets whole with "
                f"functools.partial to call {name} {wanted} times with it.",
            ))
        return int(wanted)
    automatic = "automatic input distribution failed: found {} objects containing {} to {} elements. Please specify `n_inputs` manually."
    if not lengths:
        labelled = "".join(
            f"; {slot.name} is {_labelled_kind(slot.value)}, which ACME passes whole: pass {slot.name}.tolist() to split it"
            for slot in slots
            if _labelled_kind(slot.value) is not None
        )
        raise InputError(prefix_acme_line(
            automatic.format(0, 0, 0),
            f"no argument of {name} is a list, tuple, "
            f"range or 1-D array to split across calls. Pass n_inputs=N to call {name} N times "
            f"with the same arguments, or pass one of them as a list of per-call values"
            f"{labelled}.",
        ))
    if len(lengths) > 1:
        listed = ", ".join(f"{key} has {length} elements" for key, length in candidates.items())
        options = " or ".join(f"n_inputs={length}" for length in lengths)
        raise InputError(prefix_acme_line(
            automatic.format(len(candidates), lengths[0], lengths[-1]),
            f"{listed}. Pass {options} to split the "
            f"arguments of that length and give the others whole to every call, or bind "
            f"values shared by every call with functools.partial.",
        ))
    if lengths[0] == 0:
        empty = ", ".join(candidates)
        raise InputError(
            f"automatic input distribution failed: {empty} of {name} {'is' if len(candidates) == 1 else 'are'} empty, "
            f"so there is no call to make. Pass at least one element per call."
        )
    return lengths[0]


def _labelled_kind(value: Any) -> str | None:
    """"a pandas Series" and the like for labelled containers that ACME passes whole, else None."""
    cls = type(value)
    root = cls.__module__.split(".")[0]
    if root == "pandas" and cls.__name__ in ("Series", "DataFrame", "Index"):
        return f"a pandas {cls.__name__}"
    if root == "xarray" and cls.__name__ in ("DataArray", "Dataset"):
        return f"an xarray {cls.__name__}"
    return None


def _warn_labelled(name: str, slots: Sequence[Slot], n_calls: int, split: Sequence[Slot]) -> None:
    """ACME passes a pandas or xarray object whole; say so when its length suggests splitting."""
    for slot in slots:
        kind = _labelled_kind(slot.value)
        if kind is None or slot in split:
            continue
        try:
            length = len(slot.value)
        except TypeError:
            continue
        if length == n_calls:
            warnings.warn(
                f"{slot.name} is {kind} of {length} elements, one per call, but ParallelMap passes it whole "
                f"to every call of {name} (as ACME does). To give each call one element, pass "
                f"{slot.name}.tolist() (or {slot.name}.to_numpy()).",
                AcmeLikeWarning,
                stacklevel=user_stacklevel(),
            )


def _warn_large(arg_bytes: Mapping[str, int], limit: int) -> None:
    for key, size in arg_bytes.items():
        if size > limit:
            warnings.warn(
                f"argument {key} is {format_size(size)}, over the recommended limit of "
                f"{format_size(limit)}. It is sent to every worker once; if that is too slow "
                f"or too much memory, let each call load its part from a file instead.",
                AcmeLikeWarning,
                stacklevel=user_stacklevel(),
            )


def log_plan(plan: CallPlan, log: Any, logfile: Any = None) -> None:
    """Say on ``log`` what is split and what is passed whole (and where the log file is)."""
    split = ", ".join(plan.split_names) or "none (the same call repeated)"
    shared = ", ".join(plan.shared_names) or "none"
    log.debug("Split across calls: %s; passed whole to every call: %s", split, shared)
    if not plan.split_names:
        log.info("No argument has %d elements: all %d calls get the same arguments", plan.n_calls, plan.n_calls)
    if logfile is not None:
        log.debug("Log file: %s", logfile)
