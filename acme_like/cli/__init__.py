"""The ``acme-like`` command line (also ``python -m acme_like``): map, pipeline, status, failures, report, demo.

Builds its parser and reads run records without importing dask; acme_like is imported inside
the commands that run things, and only through its public names. Exit statuses are in
:mod:`acme_like.cli.exits`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Sequence

from . import exits
from .exits import UsageError
from .parser import build_parser

__all__ = ["main", "build_parser"]


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m acme_like" if name in {"__main__.py", "-m", "-c", ""} else name


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status (0, 1, 2, 3 or 130)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = _prog()
    try:
        parser = build_parser(prog, map_keywords=argv[:1] == ["map"])
        args = parser.parse_args(argv)
        return _run(args, prog, argv)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exits.USAGE
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted.", file=sys.stderr)
        return exits.INTERRUPTED


def _run(args, prog: str, argv: list[str]) -> int:  # type: ignore[no-untyped-def]
    if args.command == "map":
        from .mapping import run_map

        return run_map(args, args.keyword_names, prog, argv)
    if args.command == "pipeline":
        from .pipeline import run_pipeline

        return run_pipeline(args.file, args.name, args.off, args.dryrun)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.n_calls, args.n_workers, args.output_dir)
    if args.command == "report":
        return _report(args.run_dir)
    from .records import format_failures, format_status, read_records

    if args.command == "status" and _has_manifest(args.run_dir):
        from acme_like import status

        found = status(args.run_dir)
        if args.json:
            print(json.dumps({"run_dir": found.run_dir, "func": found.func, "n_calls": found.n_calls, "done": found.done,
                              "failed": found.failed, "stale": found.stale, "missing": found.missing,
                              "reasons": [{"index": i, "why": why} for i, why in found.reasons]}))
        else:
            print(str(found).replace(", ", "\n  ", 0))
            print(f"  done: {found.done}  failed: {found.failed}  stale: {found.stale}  missing: {found.missing}")
        return exits.OK
    records = read_records(args.run_dir)
    if args.command == "status":
        if args.json:
            print(json.dumps({"run_dir": str(records.run_dir), "n_calls": records.n_calls, **records.counts, "missing": records.missing}))
        else:
            print(format_status(records))
    else:
        print(format_failures(records))
    return exits.OK


def _has_manifest(run_dir: str) -> bool:
    from pathlib import Path

    return any((Path(run_dir) / ".acme_like").glob("*_manifest.json"))


def _report(run_dir: str) -> int:
    if not os.path.isdir(run_dir):
        raise UsageError(f"{run_dir} is not a directory. Pass the run directory of a map run (its --output-dir).")
    try:
        from acme_like.report import build_report
    except ImportError as exc:
        print(f"acme-like report: this installation of acme_like cannot build reports ({exc}). "
              f"Install a version with acme_like.report.build_report.", file=sys.stderr)
        return exits.INFRASTRUCTURE
    result = build_report(run_dir)
    if result is not None:
        print(f"Report: {result}")
    return exits.OK
