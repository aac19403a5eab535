"""Turn the failed calls of a run into the failures file and the ``TaskError`` users see.

Storage of a small JSON file and message text only; no dask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import PayloadError, TaskError
from .layout import atomic_write
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
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


#: Failed calls the TaskError message lists one by one; the rest are counted.
LISTED_FAILURES = 10


def task_error(result: "RunResult", hint: str | None = None) -> TaskError:
    """The error ``ParallelMap`` raises after a run in which some calls failed.

    Its first line is ACME's ("Parallel computation failed: K/N tasks failed or
    stalled."); the lines after it name the first failure and every failed call (up to
    ten), its traceback, where the good results and the failure records are, and
    ``hint`` (how to resume).
    """
    outcomes, failures = result.outcomes, result.failures
    first = failures[0]
    lines = [
        # ACME's first line, which scripts and users search for; ours follow with the details.
        f"Parallel computation failed: {len(failures)}/{len(outcomes)} tasks failed or stalled.",
        f"{len(failures)} of {len(outcomes)} calls of {result.func_name} failed; "
        f"first failure: {first.headline()}.",
    ]
    if len(failures) > 1:
        lines.append("Failed calls:")
        lines += [f"  {failure.headline()}" for failure in failures[:LISTED_FAILURES]]
        if len(failures) > LISTED_FAILURES:
            lines.append(f"  ... and {len(failures) - LISTED_FAILURES} more")
    if first.traceback:
        lines.append("Traceback of the first failure (from the worker):\n" + first.traceback.rstrip())
    lines += [_sentence(problem) for problem in result.write_errors]
    where = [_kept(result, len(outcomes) - len(failures))]
    if result.failures_path:
        where.append(f"every failure is listed in {result.failures_path}")
    where.append("the exception's .failures attribute holds each failure with its traceback")
    lines.append(_sentence("; ".join(w for w in where if w)))
    if hint:
        lines.append(hint)
    listed = result.returned if isinstance(result.returned, list) else [result.returned]
    return TaskError("\n".join(lines), list(failures), list(outcomes), listed, result.container, result.failures_path)


def write_error(result: "RunResult") -> PayloadError:
    """The error ``ParallelMap`` raises after a run whose calls all succeeded but some of whose
    files could not be written (a full disk, an unwritable directory)."""
    lines = [_sentence(problem) for problem in result.write_errors]
    kept = _kept(result, len(result.outcomes))
    if kept:
        lines.append(_sentence(kept))
    lines.append("Free space (or make the directory writable) and run again with the same output_dir to complete the run.")
    return PayloadError("\n".join(lines))


def _kept(result: "RunResult", n_ok: int) -> str:
    if result.container:
        return f"the results of the {n_ok} successful calls are in {result.container}"
    if result.layout is not None:
        return f"the results of the {n_ok} successful calls are kept in {result.layout.payload_dir}"
    return ""


def _sentence(text: str) -> str:
    """``text`` with its first letter raised and a full stop; only the first letter, so paths keep their case."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
