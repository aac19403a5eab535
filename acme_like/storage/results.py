"""Turn the outcomes of a finished run into a :class:`RunResult`: container, failures file, return form.

Builds the container (on disk) or assembles the values (in memory), warns about
calls stored as pickles and writes the failures file. Never raises for failed
calls: what to do about them is the caller's policy (``ParallelMap`` raises
``TaskError``, a pipeline stops only the failed chains). Runs in the parent after
the work; no dask.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..core.options import OutputSpec
from ..core.outcome import CallFailure, PayloadRef, TaskOutcome
from ..core.outcome_table import OutcomeTable, iter_formats, iter_paths
from ..core.caller import user_stacklevel
from ..errors import AcmeLikeWarning
from .container import build_container, stack_in_memory
from .failures import write_failures
from .layout import OutputLayout, write_failed


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one map produced: an outcome per call, the container, the failures file, ACME's return form.

    ``outcomes`` is a sequence in call order; after a run it is an ``OutcomeTable``,
    which makes each ``TaskOutcome`` when it is read.
    """

    func_name: str
    outcomes: Sequence[TaskOutcome]
    layout: OutputLayout | None
    container: str | None
    failures_path: str | None
    returned: Any  # paths in call order, [container], or the values (ACME's return form)
    stacked: bool
    write_errors: tuple[str, ...] = ()  # files of the run that could not be written, and why

    @property
    def failures(self) -> tuple[CallFailure, ...]:
        return _failures(self.outcomes)

    @property
    def ok(self) -> bool:
        return not self.failures

    def refs(self) -> tuple[PayloadRef | None, ...]:
        """Where each call's results are, for whoever reads them next (None: failed or in memory)."""
        return tuple(o.payload if o.ok else None for o in self.outcomes)

    def describe(self, log: logging.Logger) -> None:
        """Log where the results of a successful run are and how to open them."""
        n_calls = len(self.outcomes)
        if self.container is not None:
            where = "result_0" if self.stacked else "comp_0/result_0"
            log.info('Results of %d calls are in %s; open with h5py.File(path)["%s"][()]', n_calls, self.container, where)
        elif self.layout is not None:
            folders = {str(Path(o.payload.path).parent) for o in self.outcomes if o.ok and o.payload is not None}
            where = folders.pop() if len(folders) == 1 else str(self.layout.run_dir)
            log.info("Results have been saved to %s", where)
        else:
            log.info("Finished %d calls of %s", n_calls, self.func_name)


def collect_results(
    output: OutputSpec,
    layout: OutputLayout | None,
    outcomes: Sequence[TaskOutcome],
    func_name: str,
    stack_copy_bytes: int,
    record: Callable[[list[TaskOutcome]], None] | None = None,
    write_errors: Sequence[str] = (),
) -> RunResult:
    """Build the container or assemble the values of a run whose calls all have outcomes.

    In ACME's layout, when some call's values had to be pickled, every payload moves up
    into the run directory and no container is built, as ACME does; ``record`` then
    receives the moved outcomes (the run's journal, so that a resumed run finds them).
    A container or failures file that cannot be written (a full disk) raises nothing:
    the result names it in ``write_errors``, and the payloads stay where they are.
    """
    container = None
    problems = list(write_errors)
    if layout is not None:
        pickled = [i for i, ok, fmt in iter_formats(outcomes) if ok and fmt == "pickle"]
        if pickled and output.mode == "hdf5" and output.acme and not output.single_file:
            outcomes = _move_up(layout, outcomes, record)
            layout.container_path.unlink(missing_ok=True)  # a container of an earlier run
            warnings.warn(
                f"Some compute runs could not be saved as HDF5, collection container "
                f"{layout.container_path} has been removed as it would comprise invalid file-links. "
                f"Calls {_list_indices(pickled)} of {func_name} returned values HDF5 cannot store "
                f"and were pickled; every payload is in {layout.run_dir}.",
                AcmeLikeWarning,
                stacklevel=user_stacklevel(),
            )
        elif output.mode == "hdf5":
            try:
                container = str(build_container(layout, outcomes, func_name, output.stack, output.single_file, stack_copy_bytes))
            except OSError as exc:
                n_ok = sum(1 for o in outcomes if o.ok)
                problems.append(
                    f"{write_failed('the container', layout.container_path, exc)}; the results of the {n_ok} calls that finished "
                    f"are kept in {layout.payload_dir}, and a rerun with the same output_dir builds the "
                    f"container from them without running them again"
                )
            if pickled and container is not None:
                warnings.warn(
                    f"{len(pickled)} calls of {func_name} returned values HDF5 cannot store and were "
                    f"pickled instead: calls {_list_indices(pickled)}. The container lists them in its "
                    f"attribute pickled_calls.",
                    AcmeLikeWarning,
                    stacklevel=user_stacklevel(),
                )
        if output.single_file:
            returned: Any = [container]  # [None] when the single file could not be written
        else:
            returned = [path if ok else None for _, ok, path in iter_paths(outcomes)]
    elif output.stack is not None:
        returned = stack_in_memory(outcomes, output.stack)
    elif isinstance(outcomes, OutcomeTable):
        returned = outcomes.values()
    else:
        returned = [o.value if o.ok else None for o in outcomes]
    failures = _failures(outcomes)
    failures_path = None
    if failures and layout is not None:
        try:
            failures_path = str(write_failures(layout.failures_path, func_name, len(outcomes), failures))
        except OSError as exc:
            problems.append(f"{write_failed('the failures file', layout.failures_path, exc)}; the failures are listed in this message and in the journal")
    elif layout is not None:  # the failures an earlier run listed are all made good now
        try:
            layout.failures_path.unlink(missing_ok=True)
        except OSError:
            pass
    return RunResult(
        func_name, outcomes if isinstance(outcomes, OutcomeTable) else tuple(outcomes), layout, container, failures_path, returned, output.stack is not None, tuple(problems)
    )


def _failures(outcomes: Sequence[TaskOutcome]) -> tuple[CallFailure, ...]:
    if isinstance(outcomes, OutcomeTable):
        return outcomes.failures()
    return tuple(o.failure for o in outcomes if o.failure is not None)


def _move_up(
    layout: OutputLayout, outcomes: Sequence[TaskOutcome], record: Callable[[list[TaskOutcome]], None] | None
) -> list[TaskOutcome]:
    """Move every payload file (and shard) of the run into the run directory; the outcomes that say so."""
    moved: list[TaskOutcome] = []
    changed: list[TaskOutcome] = []
    for outcome in outcomes:
        ref = outcome.payload
        if not outcome.ok or ref is None:
            moved.append(outcome)
            continue
        path = _move(layout, ref.path)
        stack_path = None if ref.stack_path is None else _move(layout, ref.stack_path)
        if path == ref.path and stack_path == ref.stack_path:
            moved.append(outcome)
            continue
        outcome = dataclasses.replace(outcome, payload=dataclasses.replace(ref, path=path, stack_path=stack_path))
        moved.append(outcome)
        changed.append(outcome)
    if record is not None and changed:
        record(changed)
    try:
        layout.payload_dir.rmdir()
    except OSError:
        pass  # something else lives there; leave it
    return moved


def _move(layout: OutputLayout, path: str) -> str:
    target = layout.moved_up(path)
    if Path(path) != target and Path(path).exists():
        os.replace(path, target)
    return str(target)


def _list_indices(indices: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices) - limit} more)" if len(indices) > limit else "")
