"""Turn the command line's INPUTS into the list of files, one call each; no acme_like imports.

Globs are expanded here (recursively, sorted), so a quoted pattern works on any shell and a
list of 26,530 files never meets the shell's argument limit; so does ``--from-file``.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Iterable, Sequence, TextIO

from .exits import UsageError

_MAGIC = frozenset("*?[")


def read_list(source: str, stdin: TextIO | None = None) -> list[str]:
    """The paths in a list file, one a line (``-``: standard input); blank lines are skipped."""
    try:
        if source == "-":
            text = (stdin or sys.stdin).read()
        else:
            text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--from-file {source}: could not read it ({exc.strerror}). Pass a file with one path a line, or - for standard input.") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def expand_inputs(inputs: Sequence[str], pattern: str = "*", listed: Iterable[str] = ()) -> list[str]:
    """Absolute paths of every input file, in the order given, each once.

    An input is a file, a glob (``data/**/*.h5``) or a directory (its entries matching
    ``pattern``); ``listed`` are paths read from ``--from-file``. An input matching nothing
    is a :class:`UsageError` naming it.
    """
    paths: list[str] = []
    unmatched: list[str] = []
    for item in inputs:
        found = _expand_one(item, pattern)
        if found:
            paths.extend(found)
        else:
            unmatched.append(item)
    missing = []
    for item in listed:
        if os.path.isfile(item):
            paths.append(item)
        else:
            missing.append(item)
    if unmatched:
        shown = ", ".join(repr(u) for u in unmatched)
        hint = f" (directories are searched with --pattern {pattern!r})" if any(os.path.isdir(u) for u in unmatched) else ""
        raise UsageError(
            f"no input file matched {shown}{hint}, seen from {os.getcwd()}. Give existing files, a glob "
            f"such as 'data/*.h5' (quoted, acme-like expands it), a directory with --pattern, or --from-file LIST."
        )
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise UsageError(
            f"--from-file lists {len(missing)} paths that are not files: {', '.join(repr(m) for m in missing[:3])}{more}. "
            f"List one existing file a line (relative paths are read from {os.getcwd()})."
        )
    if not paths:
        raise UsageError("no inputs: give files, globs or directories after MODULE:FUNCTION, or --from-file LIST.")
    unique = dict.fromkeys(os.path.abspath(p) for p in paths)
    return list(unique)


def _expand_one(item: str, pattern: str) -> list[str]:
    if os.path.isdir(item):
        return sorted(p for p in glob.glob(os.path.join(glob.escape(item), pattern), recursive=True) if os.path.isfile(p))
    if os.path.isfile(item):
        return [item]
    if _MAGIC & set(item):
        return sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
    return []
