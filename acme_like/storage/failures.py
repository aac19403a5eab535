"""Turn the failed calls of a run into the failures file and the ``TaskError`` users see.

Storage of a small JSON file and message text only; no dask.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import TaskError
from .layout import partial_path
from ..core.outcome import CallFailure

if TYPE_CHECKING:
    from .results import RunResult


def write_failures(path: Path, func_name: str, n_calls: int, failures: Sequence[CallFailure]) -> Path:
    """Write every failure as JSON next to the results (atomically) and return the path."""
    record = {
        "func": func_name,
        "n_calls": n_calls,
        "n_failed": len(failures),
        "failed_indices": [f.index for f in failures],
        "failures": [f.as_record() for f in failures],
    }
    tmp = partial_path(path)
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def task_error(result: "RunResult", hint: str | None = None) -> TaskError:
    """The error ``ParallelMap`` raises after a run in which some calls failed.

    Its first line is ACME's ("Parallel computation failed: K/N tasks failed or
    stalled."); the lines after it name the first failure, its traceback, where
    the good results and the failure records are, and ``hint`` (how to resume).
    """
    outcomes, failures = result.outcomes, result.failures
    first = failures[0]
    n_ok = len(outcomes) - len(failures)
    lines = [
        # ACME's first line, which scripts and users search for; ours follow with the details.
        f"Parallel computation failed: {len(failures)}/{len(outcomes)} tasks failed or stalled.",
        f"{len(failures)} of {len(outcomes)} calls of {result.func_name} failed; "
        f"first failure: {first.headline()}.",
    ]
    if first.traceback:
        lines.append("Traceback of the first failure (from the worker):\n" + first.traceback.rstrip())
    where = []
    if result.container:
        where.append(f"the results of the {n_ok} successful calls are in {result.container}")
    if result.failures_path:
        where.append(f"every failure is listed in {result.failures_path}")
    where.append("the exception's .failures attribute holds each failure with its traceback")
    text = "; ".join(where)
    lines.append(text[:1].upper() + text[1:] + ".")  # only the first letter: paths keep their case
    if hint:
        lines.append(hint)
    listed = result.returned if isinstance(result.returned, list) else [result.returned]
    return TaskError("\n".join(lines), list(failures), list(outcomes), listed, result.container, result.failures_path)
