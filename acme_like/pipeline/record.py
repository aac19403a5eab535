"""The pipeline's own record: every stage's call table in one, for the run report.

``<workspace>/.acme_like/calls.csv`` holds the rows of each stage's
``<workspace>/<stage>/.acme_like/calls.csv`` with the ``stage`` column filled, and
``run.json`` the chain of stages (``stages``: name and upstream names), the pipeline's
first start and last end, and every worker seen. Written after ``Pipeline.run``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..storage.layout import atomic_write

if TYPE_CHECKING:
    from .pipeline import Pipeline

RECORD_DIR = ".acme_like"


def write_pipeline_record(pipeline: "Pipeline") -> tuple[Path, int] | None:
    """Write the combined record; its folder and the number of calls, or None when no stage wrote one."""
    rows: list[list[str]] = []
    header: list[str] | None = None
    runs: list[dict[str, Any]] = []
    for stage in pipeline.stages:
        meta = pipeline.workspace / stage.name / RECORD_DIR
        try:
            with open(meta / "calls.csv", newline="", encoding="utf-8") as stream:
                reader = csv.reader(stream)
                header = next(reader)
                column = header.index("stage")
                for row in reader:
                    row[column] = stage.name
                    rows.append(row)
            runs.append(json.loads((meta / "run.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, StopIteration):
            continue  # a stage in memory, or one that never ran: no rows of its own
    if header is None or not runs:
        return None
    folder = pipeline.workspace / RECORD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / "calls.csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    workers = {(w.get("name"), w.get("host")): w for run in runs for w in run.get("workers") or []}
    record = {
        "format": runs[0].get("format", 1),
        "func": "pipeline " + " -> ".join(stage.name for stage in pipeline.stages),
        "n_calls": len(rows),
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
    return folder, len(rows)
