"""Read a run directory's records for ``status`` and ``failures``; no dask, no HDF5.

The records are ``<DIR>/.acme_like/calls.csv`` (one row per call attempt; the last row of a
call is its state) and ``<DIR>/.acme_like/run.json`` (``n_calls`` among others). Directories
written before those records existed are read from the manifest and journal in
``<func>_payload/`` and the failures file ``<func>_failures.json``.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exits import UsageError

RECORDS_DIR = ".acme_like"
DONE = frozenset({"done", "ok"})


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed call as the records hold it."""

    index: int
    arguments: str
    exception: str
    message: str
    traceback: str
    kind: str = "exception"


@dataclass(frozen=True, slots=True)
class RunRecords:
    """What a run directory says about its calls."""

    run_dir: Path
    source: str
    n_calls: int | None
    counts: dict[str, int]
    failures: tuple[Failure, ...] = field(default=())

    @property
    def missing(self) -> int | None:
        if self.n_calls is None:
            return None
        return max(0, self.n_calls - sum(self.counts.values()))


def read_records(run_dir: str | Path) -> RunRecords:
    """The records of ``run_dir``, from the calls table if there is one, else from older files."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a directory. Pass the run directory of a map run (its --output-dir).")
    table = run_dir / RECORDS_DIR / "calls.csv"
    if table.is_file():
        return _from_table(run_dir, table)
    legacy = _from_legacy(run_dir)
    if legacy is not None:
        return legacy
    raise UsageError(
        f"{run_dir} holds no records of a run (neither {RECORDS_DIR}/calls.csv nor a <func>_failures.json or "
        f"<func>_payload/ directory). Pass the directory a map run wrote, as printed by acme-like map."
    )


def _from_table(run_dir: Path, table: Path) -> RunRecords:
    csv.field_size_limit(sys.maxsize)
    latest: dict[int, dict[str, str]] = {}
    with table.open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            try:
                latest[int(row["index"])] = row
            except (KeyError, TypeError, ValueError):
                continue  # a row cut short by a crash
    counts: dict[str, int] = {}
    failures = []
    for index in sorted(latest):
        row = latest[index]
        status = (row.get("status") or "").strip() or "unknown"
        status = "done" if status in DONE else status
        counts[status] = counts.get(status, 0) + 1
        if status == "failed":
            failures.append(Failure(index, row.get("arguments") or "", row.get("exc_type") or "", row.get("message") or "",
                                    row.get("traceback") or "", row.get("kind") or "exception"))
    n_calls = None
    try:
        n_calls = int(json.loads((run_dir / RECORDS_DIR / "run.json").read_text(encoding="utf-8"))["n_calls"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return RunRecords(run_dir, str(table), n_calls, counts, tuple(failures))


def _from_legacy(run_dir: Path) -> RunRecords | None:
    """Read the manifest, journal and failures file of runs before the calls table."""
    manifests = sorted(run_dir.glob("*_payload/*_run.json"))
    failure_files = sorted(run_dir.glob("*_failures.json"))
    if not manifests and not failure_files:
        return None
    n_calls: int | None = None
    counts: dict[str, int] = {}
    failed_now: set[int] = set()
    source = ""
    for manifest in manifests:
        stem = manifest.name[: -len("_run.json")]
        try:
            n_calls = (n_calls or 0) + int(json.loads(manifest.read_text(encoding="utf-8"))["n_calls"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        latest: dict[int, str] = {}
        journal = manifest.with_name(f"{stem}_calls.jsonl")
        source = str(journal)
        try:
            for text in journal.read_text(encoding="utf-8").splitlines():
                try:
                    line = json.loads(text)
                    latest[int(line["i"])] = str(line.get("status", "unknown"))
                except (ValueError, KeyError, TypeError):
                    continue
        except OSError:
            pass
        failed_now.update(i for i, status in latest.items() if status == "failed")
        for status in latest.values():
            status = "done" if status in DONE else status
            counts[status] = counts.get(status, 0) + 1
    failures: list[Failure] = []
    for path in failure_files:
        source = source or str(path)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        records = data.get("failures", []) if isinstance(data, dict) else data
        if not manifests and isinstance(data, dict) and "n_calls" in data:
            n_calls = (n_calls or 0) + int(data["n_calls"])
            counts["failed"] = counts.get("failed", 0) + len(records)
        for record in records:
            failures.append(Failure(int(record.get("index", -1)), str(record.get("arguments", "")), str(record.get("exception", "")),
                                    str(record.get("message", "")), str(record.get("traceback", "")), str(record.get("kind", "exception"))))
    # A failures file is rewritten by each run; the journal says which calls are failed now.
    if manifests:
        failures = [f for f in failures if f.index in failed_now]
    return RunRecords(run_dir, source, n_calls, counts, tuple(failures))


def format_status(records: RunRecords) -> str:
    """Counts of done, failed, reused and missing calls, one a line."""
    counts = dict(records.counts)
    total = "?" if records.n_calls is None else str(records.n_calls)
    lines = [f"{records.run_dir}: {total} calls"]
    for name in ("done", "failed", "reused"):
        lines.append(f"  {name + ':':<9}{counts.pop(name, 0)}")
    for name, count in sorted(counts.items()):
        lines.append(f"  {name + ':':<9}{count}")
    missing = records.missing
    lines.append(f"  {'missing:':<9}{'?' if missing is None else missing}")
    return "\n".join(lines)


def format_failures(records: RunRecords) -> str:
    """A table of the failed calls (index, arguments, exception, message), then each traceback."""
    if not records.failures:
        return f"{records.run_dir}: no failed calls."
    rows = [(str(f.index), _cut(f.arguments, 40), f.exception or f.kind, _cut(f.message.replace("\n", " "), 60)) for f in records.failures]
    header = ("index", "arguments", "exception", "message")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [f"{len(records.failures)} failed calls in {records.run_dir}:", ""]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for failure in records.failures:
        lines += ["", f"--- call {failure.index} ({failure.arguments}) ---", (failure.traceback or f"{failure.exception}: {failure.message}").rstrip()]
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
