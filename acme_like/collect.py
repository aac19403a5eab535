"""Turn the outcomes of a finished run into what ``compute()`` returns, or the ``TaskError``.

Builds the container (on disk), or assembles values (in memory), warns about calls
stored as pickles, writes the failures file, and says where the results are. Runs
in the parent after the work; no dask.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

from .aggregate import build_container, stack_in_memory
from .errors import AcmeLikeWarning
from .layout import OutputLayout
from .options import OutputSpec
from .outcome import TaskOutcome
from .failures import task_error, write_failures


@dataclass(frozen=True, slots=True)
class Collected:
    """A run's results in ACME's return form, its container, and its failures."""

    results: Any
    container: str | None
    outcomes: Sequence[TaskOutcome]
    func_name: str
    layout: OutputLayout | None
    stacked: bool

    def finish(self, log: logging.Logger) -> Any:
        """Return the results, or raise TaskError (after writing the failures file)."""
        n_calls = len(self.outcomes)
        failures = [o.failure for o in self.outcomes if o.failure is not None]
        if failures:
            failures_path = None
            if self.layout is not None:
                failures_path = str(write_failures(self.layout.failures_path, self.func_name, n_calls, failures))
            listed = self.results if isinstance(self.results, list) else [self.results]
            raise task_error(self.func_name, self.outcomes, listed, self.container, failures_path)
        if self.container is not None:
            where = "result_0" if self.stacked else "comp_0/result_0"
            log.info(
                'Results of %d calls are in %s; open with h5py.File(path)["%s"][()]', n_calls, self.container, where
            )
        elif self.layout is not None:
            log.info("Results of %d calls are in %s", n_calls, self.layout.payload_dir)
        else:
            log.info("Finished %d calls of %s", n_calls, self.func_name)
        return self.results


def collect_results(
    output: OutputSpec, layout: OutputLayout | None, outcomes: Sequence[TaskOutcome], func_name: str
) -> Collected:
    """Build the container or assemble the values of a run whose calls all have outcomes."""
    container = None
    if layout is not None:
        pickled = [o.index for o in outcomes if o.ok and o.payload and o.payload.fmt == "pickle"]
        if output.mode == "hdf5":
            container = str(
                build_container(layout, outcomes, func_name, output.stack, output.single_file, stack_copy_limit())
            )
            if pickled:
                warnings.warn(
                    f"{len(pickled)} calls of {func_name} returned values HDF5 cannot store and were "
                    f"pickled instead: calls {_list_indices(pickled)}. The container lists them in its "
                    f"attribute pickled_calls.",
                    AcmeLikeWarning,
                    stacklevel=4,
                )
        if output.single_file:
            results: Any = [container]
        else:
            results = [o.payload.path if o.ok and o.payload else None for o in outcomes]
    elif output.stack is not None:
        results = stack_in_memory(outcomes, output.stack)
    else:
        results = [o.value if o.ok else None for o in outcomes]
    return Collected(results, container, outcomes, func_name, layout, output.stack is not None)


def stack_copy_limit() -> int:
    """Bytes up to which a stacked result is copied into a real dataset (dask config
    ``acme_like.stack-copy-limit``, default 64 MB); larger ones stay virtual."""
    import dask.config
    from dask.utils import parse_bytes

    return int(parse_bytes(dask.config.get("acme_like.stack-copy-limit", "64MB")))


def _list_indices(indices: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices) - limit} more)" if len(indices) > limit else "")
