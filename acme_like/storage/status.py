"""What a run directory holds, told from its records alone: :func:`status`.

Done, failed, stale (made by other code than the latest run's) and missing calls,
each not done with its reason. Reads ``.acme_like/`` and checks payload checksums;
writes nothing; no dask.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .layout import OutputLayout
from .records import read_journal
from .resume import _checksum


@dataclass(frozen=True, slots=True)
class RunStatus:
    """How many calls of the latest run in a directory are done, failed, stale or missing, and why."""

    run_dir: str
    func: str | None
    n_calls: int
    done: int
    failed: int
    stale: int
    missing: int
    reasons: tuple[tuple[int, str], ...]  # (call index, why it would run again), in call order

    def __str__(self) -> str:
        head = (
            f"{self.run_dir}: {self.func or 'no run'}, {self.n_calls:,} calls: {self.done:,} done, "
            f"{self.failed:,} failed, {self.stale:,} stale, {self.missing:,} missing"
        )
        lines = [head] + [f"  call {i}: {why}" for i, why in self.reasons[:20]]
        if len(self.reasons) > 20:
            lines.append(f"  ... and {len(self.reasons) - 20:,} more")
        return "\n".join(lines)


def status(output_dir: str | os.PathLike[str]) -> RunStatus:
    """Summarise the latest run in ``output_dir`` from its records.

    Examples
    --------
    >>> print(status("ACME_20261122-101500-123456"))  # doctest: +SKIP
    .../ACME_20261122-101500-123456: f, 4 calls: 3 done, 1 failed, 0 stale, 0 missing
      call 2: failed: ValueError: boom
    """
    run_dir = Path(output_dir).expanduser().absolute()
    meta = OutputLayout(run_dir=run_dir, stem="", stamp="").meta_dir
    func = None
    try:
        func = json.loads((meta / "run.json").read_text(encoding="utf-8")).get("func")
    except (OSError, ValueError):
        pass
    manifests = sorted(meta.glob("*_manifest.json"), key=lambda p: p.stat().st_mtime)
    chosen = [p for p in manifests if func and p.name == f"{OutputLayout.for_run(run_dir, func).stem}_manifest.json"]
    if not (chosen or manifests):
        return RunStatus(str(run_dir), None, 0, 0, 0, 0, 0, ())
    path = (chosen or manifests)[-1]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    layout = OutputLayout.for_run(run_dir, path.name[: -len("_manifest.json")])
    n_calls = int(manifest.get("n_calls", 0))
    code = manifest.get("code")
    journal = read_journal(layout)
    counts = {"done": 0, "failed": 0, "stale": 0, "missing": 0}
    reasons: list[tuple[int, str]] = []
    checked: dict[str, tuple[int, int] | None] = {}
    in_container = bool(manifest.get("single_file")) and layout.container_path.exists()
    for index in range(n_calls):
        line = journal.get(index)
        if line is None:
            counts["missing"] += 1
            reasons.append((index, "missing: never finished (interrupted, or not run yet)"))
        elif line.get("status") == "failed":
            counts["failed"] += 1
            reasons.append((index, f"failed: {line.get('exception', '')}: {line.get('message', '')}".rstrip(": ")))
        elif not in_container and _checksum(str(run_dir / line.get("path", "")), checked) != (line.get("nbytes"), line.get("crc32")):
            counts["missing"] += 1
            reasons.append((index, f"missing: its payload {line.get('path')} is gone or damaged"))
        elif code is not None and line.get("code") != code:
            counts["stale"] += 1
            reasons.append((index, "stale: made by other code of the function (kept with rerun=\"keep-stale\")"))
        else:
            counts["done"] += 1
    return RunStatus(str(run_dir), manifest.get("func"), n_calls, reasons=tuple(reasons), **counts)
