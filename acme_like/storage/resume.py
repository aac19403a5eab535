"""Decide what a run keeps of the earlier run in its directory, and put it in place.

Results are matched by call *key* (arguments, not position; see ``core.identity``):
a call whose key is in the journal with a verified payload is done, whatever its
index then and now, and its per-call payload files are renamed to its new index
(:func:`relocate`), so the directory equals a fresh run's. A result of other code
is *stale*: rerun, unless ``rerun="keep-stale"``. Payload checks: the recorded size
and CRC-32. Storage only; no dask.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..core.collector import collector_paused
from ..core.identity import CallIdentities
from ..core.options import OutputSpec
from ..core.outcome import FAILED, OK, PayloadRef, TaskOutcome
from ..errors import InputError
from .layout import OutputLayout
from .payload import file_checksum, read_identity, read_pickle_records
from .records import migrate_records, read_journal, read_manifest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """The calls to run now, the verified outcomes kept from before, and the run's seed.

    ``done`` and ``lines`` are by the call's index in *this* run; ``moves`` are the
    renames (old path, new path) that put kept payloads at those indices.
    """

    todo: Sequence[int]  # a range when every call runs
    done: Mapping[int, TaskOutcome]
    n_failed_before: int
    damaged: tuple[int, ...]
    seed_entropy: int
    stale: tuple[int, ...] = ()
    kept_stale: tuple[int, ...] = ()
    moved: int = 0
    lines: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    moves: tuple[tuple[str, str], ...] = ()
    adopted: int = 0

    def summary(self, n_calls: int) -> str:
        parts = [f"{len(self.done):,} of {n_calls:,} calls already done, running {len(self.todo):,}"]
        if self.adopted:
            parts.append(f"{self.adopted:,} complete payloads the journal had not recorded adopted")
        if self.moved:
            parts.append(f"{self.moved:,} kept results moved to their calls' new positions")
        if self.n_failed_before:
            parts.append(f"{self.n_failed_before:,} failed before")
        if self.damaged:
            parts.append(
                f"{len(self.damaged):,} payloads missing or damaged, recomputed (calls {_some(self.damaged)})"
            )
        return "; ".join(parts)

    def stale_line(self, func_name: str) -> str | None:
        """One line about results made by other code of ``func``, if any."""
        if self.stale:
            return (
                f"{len(self.stale):,} results were made by other code of {func_name} (it, or a function or "
                f"value it reads, changed): running them again (calls {_some(self.stale)}). Pass "
                f'rerun="keep-stale" to keep them, or version="..." to pin the code.'
            )
        if self.kept_stale:
            return (
                f"Keeping {len(self.kept_stale):,} results made by other code of {func_name}, as "
                f'rerun="keep-stale" asks (calls {_some(self.kept_stale)}).'
            )
        return None


def _some(indices: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(map(str, indices[:limit]))
    return shown + (", ..." if len(indices) > limit else "")


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
    identities: CallIdentities,
    signature: Mapping[str, Any],
    rerun: str,
    seed: int | None,
    single_file: bool,
    legacy_digests: Any = None,
) -> ResumePlan:
    """What to run in ``layout`` now; raises InputError if it holds a different kind of run.

    ``legacy_digests()`` gives format-1 digests, asked for only when a migrated journal needs them.
    """
    n_calls = len(identities.keys)
    migrate_records(layout)
    manifest = read_manifest(layout)
    if manifest is None or rerun == "all":
        entropy = seed if seed is not None else _fresh_entropy(manifest)
        return ResumePlan(range(n_calls), {}, 0, (), entropy)
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
    if single_file and not in_container:
        return ResumePlan(range(n_calls), {}, 0, (), entropy)
    with collector_paused():  # a dict, a PayloadRef and a TaskOutcome per call
        journal = read_journal(layout)
        if int(manifest.get("format", 1)) < 2 and journal and legacy_digests is not None:
            journal = _from_legacy(journal, legacy_digests(), identities)
        return _match(layout, identities, journal, in_container, rerun == "keep-stale", entropy)


def _from_legacy(journal: Mapping[int, dict[str, Any]], legacy: Sequence[str], ids: CallIdentities) -> dict[int, dict[str, Any]]:
    """Format-1 lines, keyed like format 2; their code is unknown, so they count as stale."""
    converted = {}
    for index, line in journal.items():
        if index < len(legacy) and line.get("digest") == legacy[index]:
            converted[index] = {**line, "key": ids.keys[index], "code": "unknown (record format 1)"}
    return converted


def _match(
    layout: OutputLayout,
    ids: CallIdentities,
    journal: Mapping[int, dict[str, Any]],
    in_container: bool,
    keep_stale: bool,
    entropy: int,
) -> ResumePlan:
    by_key = {line["key"]: (old, line) for old, line in journal.items() if isinstance(line.get("key"), str)}
    done: dict[int, TaskOutcome] = {}
    lines: dict[int, Mapping[str, Any]] = {}
    failed: list[int] = []
    damaged: list[int] = []
    stale: list[int] = []
    kept_stale: list[int] = []
    moves: list[tuple[str, str]] = []
    checked: dict[str, tuple[int, int] | None] = {}
    moved = 0
    distrusted: set[str] = set()
    run_dir, code, relative = str(layout.run_dir), ids.code, layout.relative
    for index, key in enumerate(ids.keys):
        found = by_key.get(key)
        if found is None:
            continue
        old, line = found
        same_code = line.get("code") == code
        if not same_code and not keep_stale:
            stale.append(index)
            continue
        if line.get("status") == FAILED:
            if same_code:
                failed.append(index)
                lines[index] = {**line, "i": index}
            continue
        ref = _verified(layout, run_dir, line, old, in_container, checked)
        if ref is None:
            damaged.append(index)
            distrusted.add(os.path.basename(str(line.get("path", ""))))  # its checksum failed: never adopted
            continue
        if not same_code:
            kept_stale.append(index)
        if old != index:
            ref, renames = _at_index(layout, ref, old, index)
            moves += renames
            moved += 1
        done[index] = TaskOutcome(index, OK, float(line.get("seconds", 0.0)), ref)
        path = None if ref.fmt == "container" else relative(ref.path)
        if type(line.get("i")) is int and line["i"] == index and (path is None or line.get("path") == path):
            lines[index] = line  # most lines say all this already: no copy per call
        else:
            lines[index] = {**line, "i": index, **({} if path is None else {"path": path})}
    adopted = 0
    if len(done) < len(ids.keys) and not in_container:
        referenced = distrusted | {os.path.basename(source) for source, _ in moves}
        referenced |= {os.path.basename(o.payload.path) for o in done.values() if o.payload is not None}
        for index, ref, source in _adoptable(layout, ids, done, referenced):
            ref, renames = _at_path(layout, ref, source, index)
            moves += renames
            done[index] = TaskOutcome(index=index, status=OK, payload=ref)
            lines[index] = {"i": index, "key": ids.keys[index], "code": ids.code, "status": OK,
                            "path": layout.relative(ref.path), "fmt": ref.fmt, "n_values": ref.n_values,
                            "nbytes": ref.nbytes, "crc32": ref.crc32,
                            "shape": None if ref.stack_shape is None else list(ref.stack_shape), "seconds": 0.0}
            adopted += 1
            if index in damaged:
                damaged.remove(index)
    todo = tuple(i for i in range(len(ids.keys)) if i not in done)
    return ResumePlan(
        todo, done, len(failed), tuple(damaged), entropy, tuple(stale), tuple(kept_stale), moved, lines, tuple(moves),
        adopted,
    )


def _adoptable(
    layout: OutputLayout, ids: CallIdentities, done: Mapping[int, TaskOutcome], referenced: set[str]
) -> list[tuple[int, PayloadRef, str]]:
    """Complete payloads the journal does not list whose identity is a call still to run.

    HDF5 payloads carry their call's identity; pickles are found by size and checksum
    in the writers' records. A file that cannot be read to the end is not adopted.
    """
    # Payloads sit in the payload directory, or (ACME's pickles, and every payload of a run
    # that had to pickle some) in the run directory itself.
    folders = [folder for folder in (layout.payload_dir, layout.run_dir) if folder.is_dir()]
    if not folders:
        return []
    wanted = {ids.digest(i): i for i in range(len(ids.keys)) if i not in done}
    pattern = re.compile(re.escape(layout.stem) + r"_\d+\.(h5|pickle)(\.moving)?")
    pickles = None
    found = []
    candidates = []
    for folder in folders:
        with os.scandir(folder) as entries:
            candidates += [e.path for e in entries if e.name not in referenced and pattern.fullmatch(e.name)]
    for path in sorted(candidates):
        if ".h5" in os.path.basename(path):
            told = read_identity(Path(path))
            if told is None or told[0] not in wanted:
                continue
            digest, n_values, shape = told
            size, crc = file_checksum(Path(path))
            ref = PayloadRef(path=path, fmt="hdf5", n_values=n_values, nbytes=size, stack_shape=shape, crc32=crc)
        else:
            if pickles is None:
                pickles = read_pickle_records(layout.pickle_ids_dir)
            size, crc = file_checksum(Path(path))
            record = pickles.get((size, crc))
            if record is None or record[0] not in wanted:
                continue
            digest, n_values = record
            ref = PayloadRef(path=path, fmt="pickle", n_values=n_values, nbytes=size, crc32=crc)
        found.append((wanted.pop(digest), ref, path))
    return found


def _at_path(layout: OutputLayout, ref: PayloadRef, source: str, new: int) -> tuple[PayloadRef, list[tuple[str, str]]]:
    target = str(layout.pickle_path(new) if ref.fmt == "pickle" else layout.payload_path(new))
    if source == target:
        return ref, []
    return PayloadRef(path=target, fmt=ref.fmt, n_values=ref.n_values, nbytes=ref.nbytes,
                      stack_shape=ref.stack_shape, crc32=ref.crc32), [(source, target)]


def _at_index(layout: OutputLayout, ref: PayloadRef, old: int, new: int) -> tuple[PayloadRef, list[tuple[str, str]]]:
    """``ref`` as it will be once call ``old``'s own payload file is renamed for call ``new``."""
    if old == new or ref.fmt == "container" or ref.path == ref.stack_path:
        return ref, []
    target = layout.pickle_path(new) if ref.fmt == "pickle" else layout.payload_path(new)
    return PayloadRef(
        path=str(target), fmt=ref.fmt, n_values=ref.n_values, nbytes=ref.nbytes, stack_shape=ref.stack_shape,
        crc32=ref.crc32, stack_path=ref.stack_path, stack_row=ref.stack_row, stack_nbytes=ref.stack_nbytes,
        stack_crc32=ref.stack_crc32,
    ), [(ref.path, str(target))]


_LEFTOVER = (".partial", ".moving")  # written by a call, or renamed by a run, that was stopped
_PAYLOAD_NAME = r"{stem}_(\d+|stack_\d+(_[0-9a-f]+)?)\.(h5|pickle)"


def relocate(layout: OutputLayout, plan: ResumePlan) -> None:
    """Rename kept payloads to their new indices and remove payloads no kept call uses.

    Two passes (to a ``.moving`` name, then to the final one), so that swapped calls
    never overwrite each other; each rename is atomic. A file left ``.moving`` by a
    crash is found again by its identity (``adopt``).
    """
    staged = []
    for source, target in plan.moves:
        moving = source if source.endswith(".moving") else source + ".moving"
        os.replace(source, moving)
        staged.append((moving, target))
    for moving, target in staged:
        os.replace(moving, target)
    if not layout.payload_dir.is_dir():
        return
    used = set()
    for outcome in plan.done.values():
        if outcome.payload is not None:
            used.add(os.path.basename(outcome.payload.path))
            if outcome.payload.stack_path is not None:
                used.add(os.path.basename(outcome.payload.stack_path))
    pattern = re.compile(_PAYLOAD_NAME.format(stem=re.escape(layout.stem)))
    removed = 0
    with os.scandir(layout.payload_dir) as entries:
        for entry in entries:
            if entry.name not in used and (pattern.fullmatch(entry.name) or entry.name.endswith(_LEFTOVER)):
                os.unlink(entry.path)
                removed += 1
    if removed:
        logger.debug("Removed %d payload files of earlier calls that this run does not keep", removed)


def _verified(
    layout: OutputLayout, run_dir: str, line: Mapping[str, Any], old: int, in_container: bool,
    checked: dict[str, tuple[int, int] | None],
) -> PayloadRef | None:
    try:
        shape, stack_path, mtime_ns = line.get("shape"), line.get("stack_path"), line.get("mtime_ns")
        ref = PayloadRef(  # positional: this runs once per kept call
            _under(run_dir, line["path"]), line["fmt"], int(line["n_values"]), int(line["nbytes"]),
            None if shape is None else tuple(shape), int(line["crc32"]),
            None if stack_path is None else _under(run_dir, stack_path), int(line.get("stack_row", 0)),
            int(line.get("stack_nbytes", 0)), int(line.get("stack_crc32", 0)), mtime_ns if isinstance(mtime_ns, int) else 0,
        )
    except (KeyError, TypeError, ValueError):
        return None
    if in_container:  # merged into the single-file container the next is built from, at row stack_row
        return PayloadRef(str(layout.container_path), "container", ref.n_values, 0, ref.stack_shape, stack_row=old)
    if not _unchanged(ref.path, ref.nbytes, mtime_ns) and _checksum(ref.path, checked) != (ref.nbytes, ref.crc32):
        return None
    if ref.stack_path is not None and _checksum(ref.stack_path, checked) != (ref.stack_nbytes, ref.stack_crc32):
        return None  # the shard with this call's first value is gone or damaged
    return ref


def _under(run_dir: str, path: Any) -> str:
    """``os.path.join(run_dir, path)``, in one step for the common case (it runs once per kept call)."""
    if type(path) is str and not path.startswith(os.sep) and not run_dir.endswith(os.sep):
        return f"{run_dir}{os.sep}{path}"
    return os.path.join(run_dir, path)


def _unchanged(path: str, nbytes: int, mtime_ns: Any) -> bool:
    """Whether a payload still has the size and modification time the journal recorded:
    then it is the file as written (payloads are written once, under a temporary name),
    and its checksum need not be read. Anything else is checked byte by byte."""
    if not isinstance(mtime_ns, int):
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    return info.st_size == nbytes and info.st_mtime_ns == mtime_ns


def _checksum(path: str, checked: dict[str, tuple[int, int] | None]) -> tuple[int, int] | None:
    """A file's (size, CRC-32), read once however many calls share the file."""
    if path not in checked:
        try:
            checked[path] = file_checksum(Path(path))
        except OSError:
            checked[path] = None
    return checked[path]


def _fresh_entropy(manifest: Mapping[str, Any] | None) -> int:
    if manifest is not None and manifest.get("seed_entropy") is not None:
        return int(manifest["seed_entropy"])
    return int(np.random.SeedSequence().entropy)
