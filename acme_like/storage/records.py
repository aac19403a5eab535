"""The run's record of finished calls, so a later run can skip them: a manifest and a journal.

Both live in ``<output_dir>/.acme_like/``. The manifest (``<func>_manifest.json``)
says what kind of run wrote the directory and in which record format; the journal
(``<func>_journal.jsonl``) gets one line per finished or failed call, appended by the
parent as outcomes arrive. Records of the previous format (``<func>_run.json`` and
``<func>_calls.jsonl`` in the payload directory) are moved here on resume. Which of the recorded calls a new run keeps is
``resume``'s decision. Storage only; no dask.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Iterable, Mapping, Sequence

from .payload import file_mtime_ns
from .layout import AppendStream, OutputLayout, atomic_write, write_failed
from .record_lines import journal_lines
from ..core.identity import keys_at
from ..core.outcome import OK, TaskOutcome
from ..core.outcome_columns import OutcomeColumns, columns_of
from ..errors import InputError, PayloadError

#: Version of the records' format. 1: manifest and journal in ``<func>_payload/``, calls
#: identified by index, arguments and the function's name. 2: ``.acme_like/``, calls
#: identified by their arguments and the function's code.
FORMAT_VERSION = 2

logger = logging.getLogger(__name__)


def write_manifest(layout: OutputLayout, signature: Mapping[str, Any]) -> None:
    """Record what kind of run writes this directory (atomically); PayloadError if it cannot."""
    try:
        with atomic_write(layout.manifest_path) as tmp:
            tmp.write_text(json.dumps({"format": FORMAT_VERSION, **signature}, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise PayloadError(_before_any_call("the run record", layout.manifest_path, exc, layout)) from exc


def _before_any_call(what: str, path: Any, exc: OSError, layout: OutputLayout) -> str:
    return (
        f"{write_failed(what, path, exc)}; no call has run and the results already in {layout.run_dir} are kept. "
        f"Free space there (or make it writable), or pass another output_dir."
    )


def read_manifest(layout: OutputLayout) -> dict[str, Any] | None:
    try:
        manifest = json.loads(layout.manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if int(manifest.get("format", 1)) > FORMAT_VERSION:
        raise InputError(
            f"output_dir {layout.run_dir} was written by a newer acme_like (record format "
            f"{manifest.get('format')}, this one reads up to {FORMAT_VERSION}). Resume it with that "
            f"version, or pass another output_dir."
        )
    return manifest


def migrate_records(layout: OutputLayout) -> bool:
    """Move the records of the previous format into ``.acme_like/``; True if there were any.

    Moving (``os.replace``, same file system) is all the migration there is: the format
    version inside the manifest tells the resume plan how to read the journal.
    """
    legacy = layout.legacy_manifest_path
    if not legacy.exists() or layout.manifest_path.exists():
        return False
    try:
        layout.meta_dir.mkdir(parents=True, exist_ok=True)
        if layout.legacy_journal_path.exists():
            os.replace(layout.legacy_journal_path, layout.journal_path)
        old_failures = layout.run_dir / layout.failures_path.name
        if old_failures.exists():
            os.replace(old_failures, layout.failures_path)
        os.replace(legacy, layout.manifest_path)
    except OSError as exc:
        raise InputError(
            f"output_dir {layout.run_dir} holds records of an earlier acme_like format ({legacy}) "
            f"that could not be moved into {layout.meta_dir}: {exc}. Move {legacy.name} and "
            f"{layout.legacy_journal_path.name} there yourself (as {layout.manifest_path.name} and "
            f"{layout.journal_path.name}), or pass rerun=\"all\" to recompute every call."
        ) from exc
    logger.info("Moved the records of an earlier acme_like format from %s into %s", layout.payload_dir, layout.meta_dir)
    return True


def read_journal(layout: OutputLayout) -> dict[int, dict[str, Any]]:
    """The latest complete line per call index of the journal (a line cut short by a crash is skipped)."""
    try:
        with open(layout.journal_path, "rb") as stream:
            texts = stream.read().splitlines()
    except OSError:
        return {}
    try:
        # All lines as one array: one decoder call, each field name made once, not once a line.
        lines = json.loads((b"[" + b",".join(texts) + b"]").decode("utf-8"))
        whole = len(lines) == len(texts) and all(type(line) is dict for line in lines)
    except ValueError:  # a line cut short or damaged: line by line, skipping it
        whole = False
    if not whole:
        lines = []
        for text in texts:
            try:
                lines.append(json.loads(text.decode("utf-8")))
            except ValueError:
                continue
    latest: dict[int, dict[str, Any]] = {}
    for line in lines:
        try:
            latest[int(line["i"])] = line
        except (KeyError, TypeError, ValueError):
            continue
    return latest


class Journal:
    """Appends one JSON line per call outcome; each batch is flushed to the OS at once.

    Opening it rewrites the journal (atomically) with the lines of the results kept
    from before, at their new indices, so it always describes this run's directory.
    Each line says which run made its payload (``run``): ``run_id`` for the calls of
    this run, the recorded one for a kept result journaled again (moved up by ACME's
    emergency pickling), so a kept result keeps the identity later stages read it by.
    A write that fails later (a full disk) does not stop the run: the journal stops
    there and keeps the error in :attr:`error`; the calls it misses are checked (and
    adopted or run again) by the next run.
    """

    def __init__(
        self, layout: OutputLayout, keys: Sequence[str], code: str, kept: Mapping[int, Mapping[str, Any]], run_id: str | None = None
    ) -> None:
        self._layout = layout
        self._keys = keys
        self._code = code
        self._run_id = run_id
        self._kept_runs = {i: line.get("run") for i, line in kept.items() if line.get("status") == OK}
        try:
            with atomic_write(layout.journal_path) as tmp:
                with open(tmp, "w", encoding="utf-8") as stream:
                    stream.writelines(json.dumps(line, separators=(",", ":")) + "\n" for _, line in sorted(kept.items()))
            self._out = AppendStream(open(layout.journal_path, "a", encoding="utf-8"))
        except OSError as exc:
            raise PayloadError(_before_any_call("the journal", layout.journal_path, exc, layout)) from exc

    @property
    def error(self) -> OSError | None:
        return self._out.error

    def record(self, outcomes: Iterable[TaskOutcome] | OutcomeColumns, keys: Sequence[str] | None = None) -> None:
        """Append the lines of these outcomes; ``keys``: their calls' keys, when already at hand."""
        cols = columns_of(outcomes)
        if not len(cols):
            return
        kept, run_id = self._kept_runs, self._run_id
        runs = [kept[i] if i in kept else run_id for i in cols.index] if kept else [run_id] * len(cols)
        keys = keys_at(self._keys, cols.index) if keys is None else keys
        lines = journal_lines(cols, keys, self._code, runs, self._layout.relative, file_mtime_ns)
        self._out.write("\n".join(lines) + "\n")

    def problem(self) -> str | None:
        """What went wrong writing the journal, in one sentence, or None."""
        if self.error is None:
            return None
        return (
            f"{write_failed('the journal', self._layout.journal_path, self.error)}; calls that finished after that are "
            f"not recorded for resuming (a rerun checks their payloads and runs them again)"
        )

    def close(self) -> None:
        self._out.close()
