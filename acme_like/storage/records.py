"""The run's record of finished calls, so a later run can skip them: a manifest and a journal.

The manifest (``<func>_run.json``) says what kind of run wrote the directory; the
journal (``<func>_calls.jsonl``) gets one line per finished or failed call, appended
by the parent as outcomes arrive. A call counts as done only if its line is
complete, its argument digest matches, and its payload still has the recorded
size and checksum. A line cut short by a crash is ignored. Storage only; no dask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Mapping, Sequence

from .layout import OutputLayout, atomic_write, write_failed
from ..core.outcome import FAILED, OK, PayloadRef, TaskOutcome
from .payload import file_checksum
from ..core.options import OutputSpec
from ..errors import InputError, PayloadError
import numpy as np

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Prior:
    """What an earlier run left: calls done (verified outcomes) and calls that failed."""

    done: Mapping[int, TaskOutcome]
    failed: frozenset[int]
    damaged: tuple[int, ...]


def write_manifest(layout: OutputLayout, signature: Mapping[str, Any]) -> None:
    """Record what kind of run writes this directory (atomically); PayloadError if it cannot."""
    try:
        with atomic_write(layout.manifest_path) as tmp:
            tmp.write_text(json.dumps({"format": FORMAT_VERSION, **signature}, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise PayloadError(
            f"{write_failed('the run record', layout.manifest_path, exc)}; no call has run and the results already in "
            f"{layout.run_dir} are kept. Free space there (or make it writable), or pass another output_dir."
        ) from exc


def read_manifest(layout: OutputLayout) -> dict[str, Any] | None:
    try:
        return json.loads(layout.manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Journal:
    """Appends one JSON line per call outcome; each batch is flushed to the OS at once.

    A write that fails (a full disk) does not stop the run: the journal stops there and
    keeps the error in :attr:`error`; the calls it misses run again on a rerun.
    """

    def __init__(self, layout: OutputLayout, digests: Mapping[int, str] | Any, fresh: bool = False) -> None:
        self._layout = layout
        self._digests = digests
        self.error: OSError | None = None
        try:
            self._stream: IO[str] = open(layout.journal_path, "w" if fresh else "a", encoding="utf-8")
        except OSError as exc:
            raise PayloadError(
                f"{write_failed('the journal', layout.journal_path, exc)}; no call has run and the results already in "
                f"{layout.run_dir} are kept. Free space there (or make it writable), or pass another output_dir."
            ) from exc

    def record(self, outcomes: Iterable[TaskOutcome]) -> None:
        lines = [json.dumps(self._line(o), separators=(",", ":")) for o in outcomes]
        if lines and self.error is None:
            try:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except OSError as exc:
                self.error = exc

    def problem(self) -> str | None:
        """What went wrong writing the journal, in one sentence, or None."""
        if self.error is None:
            return None
        return (
            f"{write_failed('the journal', self._layout.journal_path, self.error)}; calls that finished after that are "
            f"not recorded for resuming (a rerun checks their payloads and runs them again)"
        )

    def _line(self, outcome: TaskOutcome) -> dict[str, Any]:
        line: dict[str, Any] = {"i": outcome.index, "digest": self._digests[outcome.index], "status": outcome.status}
        if outcome.payload is not None:
            ref = outcome.payload
            line.update(
                path=self._layout.relative(ref.path),
                fmt=ref.fmt,
                n_values=ref.n_values,
                nbytes=ref.nbytes,
                crc32=ref.crc32,
                shape=None if ref.stack_shape is None else list(ref.stack_shape),
                seconds=outcome.seconds,
            )
            if ref.stack_path is not None:
                line.update(
                    stack_path=self._layout.relative(ref.stack_path),
                    stack_row=ref.stack_row,
                    stack_nbytes=ref.stack_nbytes,
                    stack_crc32=ref.stack_crc32,
                )
        if outcome.failure is not None:
            line.update(kind=outcome.failure.kind, exception=outcome.failure.exc_type, message=outcome.failure.message)
        return line

    def close(self) -> None:
        try:
            self._stream.close()
        except OSError as exc:  # the last lines did not fit either
            self.error = self.error or exc


def read_prior(layout: OutputLayout, digests: Mapping[int, str] | Any, n_calls: int, in_container: bool) -> Prior:
    """The calls of an earlier run in ``layout`` that are still valid for this plan."""
    latest: dict[int, dict[str, Any]] = {}
    try:
        with open(layout.journal_path, encoding="utf-8") as stream:
            for text in stream:
                try:
                    line = json.loads(text)
                    latest[int(line["i"])] = line
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash
    except OSError:
        return Prior({}, frozenset(), ())
    done: dict[int, TaskOutcome] = {}
    failed: set[int] = set()
    damaged: list[int] = []
    checked: dict[str, tuple[int, int] | None] = {}
    for index, line in latest.items():
        if index >= n_calls or line.get("digest") != digests[index]:
            continue
        if line.get("status") == FAILED:
            failed.add(index)
            continue
        ref = _verified(layout, line, in_container, checked)
        if ref is None:
            damaged.append(index)
        else:
            done[index] = TaskOutcome(index=index, status=OK, seconds=float(line.get("seconds", 0.0)), payload=ref)
    return Prior(done, frozenset(failed), tuple(sorted(damaged)))


def _verified(
    layout: OutputLayout, line: Mapping[str, Any], in_container: bool, checked: dict[str, tuple[int, int] | None]
) -> PayloadRef | None:
    try:
        path = layout.run_dir / line["path"]
        shape = line.get("shape")
        stack_path = line.get("stack_path")
        ref = PayloadRef(
            path=str(path),
            fmt=line["fmt"],
            n_values=int(line["n_values"]),
            nbytes=int(line["nbytes"]),
            stack_shape=None if shape is None else tuple(shape),
            crc32=int(line["crc32"]),
            stack_path=None if stack_path is None else str(layout.run_dir / stack_path),
            stack_row=int(line.get("stack_row", 0)),
            stack_nbytes=int(line.get("stack_nbytes", 0)),
            stack_crc32=int(line.get("stack_crc32", 0)),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if in_container:
        # Merged into the single-file container, which the next container is built from.
        return PayloadRef(str(layout.container_path), "container", ref.n_values, 0, ref.stack_shape)
    if _checksum(ref.path, checked) != (ref.nbytes, ref.crc32):
        return None
    if ref.stack_path is not None and _checksum(ref.stack_path, checked) != (ref.stack_nbytes, ref.stack_crc32):
        return None  # the shard with this call's first value is gone or damaged
    return ref


def _checksum(path: str, checked: dict[str, tuple[int, int] | None]) -> tuple[int, int] | None:
    """A file's (size, CRC-32), read once however many calls share the file."""
    if path not in checked:
        try:
            checked[path] = file_checksum(Path(path))
        except OSError:
            checked[path] = None
    return checked[path]


# -- resume: which calls a run still has to make -------------------------------------

@dataclass(frozen=True, slots=True)
class ResumePlan:
    """The calls to run now, the verified outcomes kept from before, and the run's seed."""

    todo: tuple[int, ...]
    done: Mapping[int, TaskOutcome]
    n_failed_before: int
    damaged: tuple[int, ...]
    seed_entropy: int

    def summary(self, n_calls: int) -> str:
        parts = [f"{len(self.done):,} of {n_calls:,} calls already done, running {len(self.todo):,}"]
        if self.n_failed_before:
            parts.append(f"{self.n_failed_before:,} failed before")
        if self.damaged:
            parts.append(
                f"{len(self.damaged):,} payloads missing or damaged, recomputed (calls {', '.join(map(str, self.damaged[:10]))})"
            )
        return "; ".join(parts)


def run_signature(func_name: str, output: OutputSpec) -> dict[str, Any]:
    """What must match for a run to resume another run's results."""
    stack = output.stack
    return {
        "func": func_name,
        "output": output.mode,
        "single_file": output.single_file,
        "result_shape": None if stack is None else repr(stack.declared),
        "result_dtype": None if stack is None else str(stack.dtype),
    }


def plan_resume(
    layout: OutputLayout,
    digests: Sequence[str],
    signature: Mapping[str, Any],
    rerun: str,
    seed: int | None,
    single_file: bool,
) -> ResumePlan:
    """What to run in ``layout`` now; raises InputError if it holds a different kind of run."""
    n_calls = len(digests)
    manifest = read_manifest(layout)
    if manifest is None or rerun == "all":
        entropy = seed if seed is not None else _fresh_entropy(manifest)
        return ResumePlan(tuple(range(n_calls)), {}, 0, (), entropy)
    earlier = {key: manifest.get(key) for key in signature}
    if earlier != dict(signature):
        changed = ", ".join(f"{k}: {earlier[k]!r} then, {signature[k]!r} now" for k in signature if earlier[k] != signature[k])
        raise InputError(
            f"output_dir {layout.run_dir} holds an earlier run of {layout.stem} with other output "
            f"settings ({changed}). Pass rerun=\"all\" to replace its results, or another output_dir."
        )
    if seed is not None and manifest.get("seed_entropy") not in (None, seed):
        raise InputError(
            f"output_dir {layout.run_dir} holds an earlier run of {layout.stem} seeded with "
            f"{manifest.get('seed_entropy')}, not {seed}. Pass rerun=\"all\" to run every call with the new seed."
        )
    entropy = int(manifest["seed_entropy"]) if manifest.get("seed_entropy") is not None else _fresh_entropy(None)
    in_container = single_file and layout.container_path.exists()
    # A single file not written yet (the run stopped, or its disk was full) leaves the
    # payloads in place: those that still verify are kept.
    prior = read_prior(layout, digests, n_calls, in_container)
    todo = tuple(i for i in range(n_calls) if i not in prior.done)
    return ResumePlan(todo, prior.done, len(prior.failed & set(todo)), prior.damaged, entropy)


def _fresh_entropy(manifest: Mapping[str, Any] | None) -> int:
    if manifest is not None and manifest.get("seed_entropy") is not None:
        return int(manifest["seed_entropy"])
    return int(np.random.SeedSequence().entropy)
