"""The pipeline's own record: every stage's call table in one, for the run report.

``<workspace>/.acme_like/calls.csv`` holds the rows of each stage's
``<workspace>/<stage>/.acme_like/calls.csv`` with the ``stage`` column filled, and
``run.json`` the chain of stages (``stages``: name and upstream names), the pipeline's
first start and last end, and every worker seen. Written after ``Pipeline.run``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..storage.layout import atomic_write

if TYPE_CHECKING:
    from .pipeline import Pipeline

RECORD_DIR = ".acme_like"


def write_pipeline_record(pipeline: "Pipeline") -> tuple[Path, int] | None:
    """Write the combined record; its folder and the number of calls, or None when no stage wrote one."""
    tables: list[str] = []
    n_rows = 0
    header: list[str] | None = None
    runs: list[dict[str, Any]] = []
    for stage in pipeline.stages:
        meta = pipeline.workspace / stage.name / RECORD_DIR
        try:
            with open(meta / "calls.csv", newline="", encoding="utf-8") as stream:
                table = _with_stage(stream.read(), stage.name)
            if table is None:
                continue
            header, rows, count = table
            tables.append(rows)
            n_rows += count
            runs.append(json.loads((meta / "run.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a stage in memory, or one that never ran: no rows of its own
    if header is None or not runs:
        return None
    folder = pipeline.workspace / RECORD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / "calls.csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerow(header)
        stream.writelines(tables)
    workers = {(w.get("name"), w.get("host")): w for run in runs for w in run.get("workers") or []}
    record = {
        "format": runs[0].get("format", 1),
        "func": "pipeline " + " -> ".join(stage.name for stage in pipeline.stages),
        "n_calls": n_rows,
        "started_at": min(float(run["started_at"]) for run in runs),
        "ended_at": max(float(run.get("ended_at") or run["started_at"]) for run in runs),
        "command": runs[-1].get("command", []),
        "versions": runs[-1].get("versions", {}),
        "mem_per_worker_bytes": runs[-1].get("mem_per_worker_bytes"),
        "workers": list(workers.values()),
        "estimate": None,
        "stages": [{"name": s.name, "upstream": [u.name for u in s.upstream]} for s in pipeline.stages],
    }
    with atomic_write(folder / "run.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return folder, n_rows


def _with_stage(text: str, stage: str) -> tuple[list[str], str, int] | None:
    """A stage's call table: its header, its rows as CSV text with the stage column filled, their
    number; None for an empty file. ValueError if it has no stage column."""
    # Without quotes every row is one line of plain fields: set the field in the text, which
    # is 10x quicker than parsing and writing each row again (80,000 rows: 0.4 s).
    if '"' not in text and text.count("\n") == text.count("\r\n") == text.count("\r"):
        lines = text.split("\r\n")
        if lines[-1] == "":
            lines.pop()
        if not lines:
            return None
        header = lines[0].split(",")
        column = header.index("stage")
        field = _csv_text([stage])[:-2]
        rows = []
        for line in lines[1:]:
            fields = line.split(",", column + 1)
            if len(fields) <= column:
                break  # a short row: the csv module says what it is
            fields[column] = field
            rows.append(",".join(fields))
        else:
            return header, "".join(row + "\r\n" for row in rows), len(rows)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return None
    column = header.index("stage")
    rows = []
    for row in reader:
        row[column] = stage
        rows.append(row)
    return header, _csv_text(*rows) if rows else "", len(rows)


def _csv_text(*rows: list[str]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
