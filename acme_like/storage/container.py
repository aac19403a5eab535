"""Build the aggregate container ``<func>.h5`` from the outcomes of a finished run.

Runs in the parent, after the work, from the outcomes alone: it never probes the
disk to learn what happened. Three forms:

* links (default): ``comp_<i>`` is an external link to call ``i``'s payload,
  by a path relative to the container, so a moved run directory still opens;
* stacked (``result_shape``): ``result_0`` is a virtual dataset over every
  call's first return value (relative sources again), other values stay under
  ``comp_<i>``;
* single file: the same contents copied into the container as real datasets,
  after which the per-call payloads are removed.

Calls stored as pickles appear as ``comp_<i>`` groups that name their file (or,
in a single file, hold the pickled bytes). The container is written under a
temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import h5py
import numpy as np

from .layout import OutputLayout
from ..core.outcome import PayloadRef, TaskOutcome
from ..core.outcome_table import iter_extra_payloads, iter_formats, iter_payloads, iter_stack_runs
from .payload import RESULT_PREFIX, new_h5_file
from ..core.stack_runs import StackRun
from ..core.stacking import StackSpec

COMP_PREFIX = "comp_"
STACKED = f"{RESULT_PREFIX}0"
#: A stacked value's source file: its path, the dataset, the runs of (first call, first row,
#: number of calls, slot shape) it holds, and the dataset's shape when it is one call's file.
Source = tuple[str, str, list[tuple[int, int, int, tuple[int, ...]]], tuple[int, ...] | None]
#: A virtual stack of up to this many bytes reads one consolidated source file, not one
#: per shard: opening each source dominates reading small stacks (5,000 results from 50
#: shards read ~20x slower than one dataset). Larger stacks read mostly data anyway.
CONSOLIDATE_BYTES = 64 * 10**6


def build_container(
    layout: OutputLayout,
    outcomes: Sequence[TaskOutcome],
    func_name: str,
    stack: StackSpec | None = None,
    single_file: bool = False,
    copy_limit_bytes: int = 0,
) -> Path:
    """Write ``layout.container_path`` covering every successful call; return its path.

    A stacked result of at most ``copy_limit_bytes`` is copied into a real dataset
    (it then reads as fast as any dataset); a larger one is a virtual dataset.
    """
    path = layout.container_path
    done = _Done(outcomes)
    libver = "latest" if stack and not single_file else "earliest"
    # Creation order is tracked so that the keys iterate comp_0, comp_1, ..., comp_10 (call order).
    with new_h5_file(path, libver=libver, track_order=True) as h5:
        h5.attrs["func"] = func_name
        h5.attrs["n_calls"] = len(outcomes)
        failed, pickled = [], []
        for i, ok, fmt in iter_formats(outcomes):  # one pass over the columns, no reference made
            if not ok:
                failed.append(i)
            elif fmt == "pickle":
                pickled.append(i)
        h5.attrs["failed_calls"] = np.asarray(failed, dtype=np.int64)
        h5.attrs["pickled_calls"] = np.asarray(pickled, dtype=np.int64)
        if single_file:
            _copy_into(h5, done, stack, len(outcomes))
        else:
            _link(h5, layout, done, stack, len(outcomes), copy_limit_bytes)
    if single_file:
        _remove_payloads(layout, done)
    return path


class _Done(Iterable[tuple[int, PayloadRef]]):
    """``(index, payload)`` of every call that succeeded with a payload, in the outcomes' order;
    read from the outcomes again at each pass, so no list of a reference per call is held."""

    def __init__(self, outcomes: Sequence[TaskOutcome]) -> None:
        self._outcomes = outcomes
        self._sources: list[Source] | None = None

    def __iter__(self) -> Iterator[tuple[int, PayloadRef]]:
        return ((i, ref) for i, ok, ref in iter_payloads(self._outcomes) if ok and ref is not None)

    def extras(self) -> Iterator[tuple[int, PayloadRef]]:
        """Those with a pickled payload or more than one value (listed by name in a stacked container)."""
        return iter_extra_payloads(self._outcomes)

    def sources(self) -> list[Source]:
        """The stacked values' source files and runs (see :func:`_sources`), found once."""
        if self._sources is None:
            self._sources = _sources(iter_stack_runs(self._outcomes))
        return self._sources


def _inf_extent(stack: StackSpec, done: Iterable[tuple[int, PayloadRef]]) -> int:
    axis = stack.slot_inf_axis
    if axis is None:
        return 0
    return max((ref.stack_shape[axis] for _, ref in done if ref.fmt != "pickle" and ref.stack_shape), default=0)


def _slot(stack: StackSpec, index: int, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """The selection of call ``index``'s slot in the stacked array, for a value of ``shape``."""
    selection: list[Any] = [slice(0, n) for n in shape]
    selection.insert(stack.axis, index)
    return tuple(selection)


def _link(
    h5: h5py.File,
    layout: OutputLayout,
    done: _Done,
    stack: StackSpec | None,
    n_calls: int,
    copy_limit_bytes: int,
) -> None:
    if stack is not None:
        full = stack.full_shape(n_calls, _inf_extent(stack, done))
        nbytes = math.prod(full) * stack.dtype.itemsize
        if nbytes <= copy_limit_bytes:
            _copied_stack(h5, done, stack, full)
        elif nbytes <= CONSOLIDATE_BYTES and len(done.sources()) > 1:
            _consolidated_stack(h5, layout, done, stack, full)
        else:
            _virtual_stack(h5, layout, done, stack, n_calls)
    links, lcpl = h5.id.links, _ascii_lcpl()
    for index, ref in done if stack is None else done.extras():
        name = f"{COMP_PREFIX}{index}"
        relative = layout.relative(ref.path)
        if ref.fmt == "pickle":
            h5.create_group(name).attrs["pickle"] = relative
        elif stack is None:  # h5[name] = h5py.ExternalLink(relative, "/"), at half its cost (a million links: 14 s less)
            links.create_external(name.encode("ascii"), os.fsencode(relative), b"/", lcpl=lcpl)
        elif ref.n_values > 1:
            group = h5.create_group(name)
            for k in range(1, ref.n_values):
                group[f"{RESULT_PREFIX}{k}"] = h5py.ExternalLink(relative, f"/{RESULT_PREFIX}{k}")


def _ascii_lcpl() -> Any:
    """The link creation properties h5py gives an ASCII name (intermediate groups, ASCII)."""
    lcpl = h5py.h5p.create(h5py.h5p.LINK_CREATE)
    lcpl.set_create_intermediate_group(True)
    lcpl.set_char_encoding(h5py.h5t.CSET_ASCII)
    return lcpl


def _virtual_stack(
    h5: h5py.File, layout: OutputLayout, done: _Done, stack: StackSpec, n_calls: int
) -> None:
    # The low-level API: h5py's VirtualLayout builds one Python object per source, which
    # costs seconds and hundreds of MB at 100,000 sources. Calls run in batches map one
    # source per run of consecutive calls in their shard, not one per call.
    full = stack.full_shape(n_calls, _inf_extent(stack, done))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_fill_value(np.array(stack.fill_value(), dtype=stack.dtype))
    # An np.inf axis is unlimited in maxshape, as in ACME's virtual dataset.
    maxdims = tuple(h5py.h5s.UNLIMITED if i == stack.inf_axis else n for i, n in enumerate(full))
    vspace = h5py.h5s.create_simple(full, maxdims)
    for path, dataset, runs, per_call_shape in done.sources():
        if per_call_shape is not None:
            source_shape = per_call_shape
        else:
            with h5py.File(path, "r") as source_file:
                source_shape = source_file[dataset].shape
        source = h5py.h5s.create_simple(source_shape, source_shape) if source_shape else h5py.h5s.create(h5py.h5s.SCALAR)
        for first_index, first_row, length, shape in runs:
            count = list(shape)
            count.insert(stack.axis, length)
            if 0 in count:
                continue
            start = [0] * len(full)
            start[stack.axis] = first_index
            vspace.select_hyperslab(tuple(start), tuple(count))
            if source_shape:
                src_start = [0] * len(source_shape)
                src_count = list(shape)
                if len(source_shape) == len(full):  # a shard: rows along the stacking axis
                    src_start[stack.axis] = first_row
                    src_count.insert(stack.axis, length)
                source.select_hyperslab(tuple(src_start), tuple(src_count))
            dcpl.set_virtual(vspace, layout.relative(path).encode(), f"/{dataset}".encode(), source)
    vspace.select_all()
    h5py.h5d.create(h5.id, STACKED.encode(), h5py.h5t.py_create(stack.dtype), vspace, dcpl=dcpl).close()
    h5[STACKED].attrs["stacking_axis"] = stack.axis


def _consolidated_stack(
    h5: h5py.File, layout: OutputLayout, done: _Done, stack: StackSpec, full: tuple[int, ...]
) -> None:
    """ACME's virtual result_0 over one source: the shards' rows copied into ``<func>_stack.h5``."""
    path = layout.stack_path
    with new_h5_file(path) as source:
        _copied_stack(source, done, stack, full)
    maxdims = tuple(h5py.h5s.UNLIMITED if i == stack.inf_axis else n for i, n in enumerate(full))
    vspace = h5py.h5s.create_simple(full, maxdims)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_fill_value(np.array(stack.fill_value(), dtype=stack.dtype))
    if 0 not in full:
        dcpl.set_virtual(vspace, layout.relative(path).encode(), f"/{STACKED}".encode(), h5py.h5s.create_simple(full, full))
    h5py.h5d.create(h5.id, STACKED.encode(), h5py.h5t.py_create(stack.dtype), vspace, dcpl=dcpl).close()
    h5[STACKED].attrs["stacking_axis"] = stack.axis


def _copied_stack(h5: h5py.File, done: _Done, stack: StackSpec, full: tuple[int, ...]) -> None:
    stacked = h5.create_dataset(STACKED, shape=full, dtype=stack.dtype, fillvalue=stack.fill_value())
    stacked.attrs["stacking_axis"] = stack.axis
    for path, dataset, runs, per_call_shape in done.sources():
        with h5py.File(path, "r") as source:
            data = source[dataset]
            for first_index, first_row, length, shape in runs:
                if per_call_shape is not None:  # one call's own file
                    stacked[_slot(stack, first_index, shape)] = data[()]
                    continue
                rows: list[Any] = [slice(0, n) for n in shape]
                into = list(rows)
                rows.insert(stack.axis, slice(first_row, first_row + length))
                into.insert(stack.axis, slice(first_index, first_index + length))
                stacked[tuple(into)] = data[tuple(rows)]


def _sources(
    stack_runs: Iterable[StackRun],
) -> list[Source]:
    """Per source file: runs of (first call, first row, number of calls, slot shape) to map,
    and the dataset's shape when it is a single call's (shards are looked up). Runs grow as
    they come (in call order, no row per call is held); a file whose rows come out of
    order has its runs sorted and joined again at the end."""
    per_file: dict[str, list[tuple[int, int, int, tuple[int, ...]]]] = {}
    sharded: set[str] = set()
    unordered: set[str] = set()
    for path, shard, index, row, length, shape in stack_runs:
        if shard:
            sharded.add(path)
        runs = per_file.setdefault(path, [])
        if _joined(runs, index, row, shape, length):
            unordered.add(path)
    for path in unordered:
        rows = sorted((first + k, row + k, shape) for first, row, length, shape in per_file[path] for k in range(length))
        per_file[path] = runs = []
        for index, row, shape in rows:
            _joined(runs, index, row, shape)
    return [(path, STACKED, runs, None if path in sharded else runs[0][3]) for path, runs in per_file.items()]


def _joined(runs: list[tuple[int, int, int, tuple[int, ...]]], index: int, row: int, shape: tuple[int, ...], length: int = 1) -> bool:
    """Add ``length`` calls from ``index`` on (rows from ``row`` on) to ``runs``: onto the last run
    if they continue it; True if they come before its last row (the runs are then out of order)."""
    if runs:
        first_index, first_row, n, run_shape = runs[-1]
        if index == first_index + n and row == first_row + n and shape == run_shape:
            runs[-1] = (first_index, first_row, n + length, run_shape)
            return False
        runs.append((index, row, length, shape))
        return (index, row, shape) < (first_index + n - 1, first_row + n - 1, run_shape)
    runs.append((index, row, length, shape))
    return False


def _copy_into(h5: h5py.File, done: Iterable[tuple[int, PayloadRef]], stack: StackSpec | None, n_calls: int) -> None:
    kept = {ref.path for _, ref in done if ref.fmt == "container"}
    previous = h5py.File(kept.pop(), "r") if kept else None
    try:
        _copy_all(h5, previous, done, stack, n_calls)
    finally:
        if previous is not None:
            previous.close()


def _copy_all(
    h5: h5py.File, previous: h5py.File | None, done: Iterable[tuple[int, PayloadRef]], stack: StackSpec | None, n_calls: int
) -> None:
    stacked = None
    if stack is not None:
        full = stack.full_shape(n_calls, _inf_extent(stack, done))
        stacked = h5.create_dataset(STACKED, shape=full, dtype=stack.dtype, fillvalue=stack.fill_value())
        stacked.attrs["stacking_axis"] = stack.axis
    shards: dict[str, h5py.File] = {}
    try:
        _copy_each(h5, previous, done, stack, stacked, shards)
    finally:
        for shard in shards.values():
            shard.close()


def _copy_each(
    h5: h5py.File,
    previous: h5py.File | None,
    done: Iterable[tuple[int, PayloadRef]],
    stack: StackSpec | None,
    stacked: Any,
    shards: dict[str, h5py.File],
) -> None:
    for index, ref in done:
        name = f"{COMP_PREFIX}{index}"
        if ref.fmt == "container":  # kept from an earlier run of this single file
            assert previous is not None
            _copy_kept(previous, h5, index, ref.stack_row, stack, stacked)
            continue
        if ref.fmt == "pickle":
            group = h5.create_group(name)
            group.attrs["pickled"] = True
            group.create_dataset("pickle", data=np.void(Path(ref.path).read_bytes()))
            continue
        if ref.stack_path is not None and stacked is not None:
            shards[ref.stack_path] = shards.get(ref.stack_path) or h5py.File(ref.stack_path, "r")
            shard = shards[ref.stack_path][STACKED]
            value = shard[_slot(stack, ref.stack_row, ref.stack_shape or ())]
            stacked[_slot(stack, index, np.shape(value))] = value
            if ref.path == ref.stack_path:
                continue
        group = h5.require_group(name)  # even for a call that returned (): its comp_<i> is there
        with h5py.File(ref.path, "r") as source:
            for key in source:
                if stacked is not None and key == STACKED:
                    if ref.stack_path is None:
                        value = source[key][()]
                        stacked[_slot(stack, index, np.shape(value))] = value
                    continue  # else a view onto the shard row copied above
                source.copy(source[key], group, key)
        if stacked is not None and not len(group):
            del h5[name]  # only a stacked value: nothing beside result_0


def _copy_kept(previous: h5py.File, h5: h5py.File, index: int, old_index: int, stack: StackSpec | None, stacked: Any) -> None:
    """Call ``index``'s results from the earlier container, where it was call ``old_index``."""
    name = f"{COMP_PREFIX}{old_index}"
    if name in previous:
        previous.copy(previous[name], h5, f"{COMP_PREFIX}{index}")
    if stacked is not None and STACKED in previous:
        old = previous[STACKED]
        row = old[_slot(stack, old_index, old.shape[:stack.axis] + old.shape[stack.axis + 1 :])]
        stacked[_slot(stack, index, np.shape(row))] = row


def _remove_payloads(layout: OutputLayout, done: Iterable[tuple[int, PayloadRef]]) -> None:
    for _, ref in done:
        if ref.fmt != "container":
            Path(ref.path).unlink(missing_ok=True)
        if ref.stack_path is not None:
            Path(ref.stack_path).unlink(missing_ok=True)
    try:
        layout.payload_dir.rmdir()
    except OSError:
        pass  # something else lives there; leave it


def stack_in_memory(outcomes: Sequence[TaskOutcome], stack: StackSpec) -> Any:
    """The in-memory result of a stacked run, as ACME returns it.

    One array when ``func`` returns one value; with several return values, ACME's
    flat list ``[stacked, call0_value1, call0_value2, call1_value1, ...]``.
    """
    stacked = np.full(stack.full_shape(len(outcomes)), stack.fill_value(), dtype=stack.dtype)
    rest: list[Any] = []
    for outcome in outcomes:
        if not outcome.ok:
            continue
        values = outcome.value if isinstance(outcome.value, tuple) else (outcome.value,)
        stacked[_slot(stack, outcome.index, np.shape(values[0]))] = values[0]
        rest.extend(values[1:])
    return [stacked, *rest] if rest else stacked

