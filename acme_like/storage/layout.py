"""Name every path of a run, in one place; create the directories on request.

:class:`OutputLayout` is a frozen value of paths. Nothing is written until
:meth:`OutputLayout.create`, and nothing is ever deleted here.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError

#: Prefix of the run directories created when ``output_dir`` is not given (ACME's name).
RUN_DIR_PREFIX = "ACME_"
PARTIAL_SUFFIX = ".partial"
#: The hidden folder inside a run directory holding everything acme_like adds to ACME's files.
META_DIR = ".acme_like"


def safe_stem(name: str) -> str:
    """A file-name-safe form of a function name (``<lambda>`` -> ``lambda``)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.")
    return stem or "func"


def partial_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Write ``path`` under its temporary name, yielded here; rename it into place when the
    block ends, or remove it if the block fails (a full disk, an unwritable directory).

    Every file of a run is written through this, so a file under its final name is whole
    and no ``.partial`` file outlives a failed write. Errors propagate unchanged.
    """
    tmp = partial_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the directory itself is gone or unwritable: nothing was left in it
        raise


class AppendStream:
    """A file the run appends to as it goes (a journal, the call table). The first write that
    fails (a full disk) is kept in :attr:`error` and every later one skipped: such a record
    falling behind must not stop the calls, whose results are what counts."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def write(self, data: Any) -> None:
        if self.error is None:
            try:
                self.stream.write(data)
                self.stream.flush()
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        if not self.stream.closed:
            try:
                self.stream.close()
            except OSError as exc:  # the last lines did not fit either
                self.error = self.error or exc


def write_failed(what: str, path: Path, exc: OSError) -> str:
    """"could not write <what> <path>: <reason>", the reason in the system's words."""
    reason = exc.strerror or str(exc)
    return f"could not write {what} {path}: {reason}" + (f" (errno {exc.errno})" if exc.errno else "")


@dataclass(frozen=True, slots=True)
class OutputLayout:
    """Every path of one run: run directory, payloads, container, log, and acme_like's own files."""

    run_dir: Path
    stem: str
    stamp: str
    pickles_in_run_dir: bool = False  # write_pickle in ACME's layout: <run_dir>/<func>_<i>.pickle

    @classmethod
    def for_run(
        cls,
        output_dir: str | os.PathLike[str] | None,
        func_name: str,
        now: _dt.datetime | None = None,
        pickles_in_run_dir: bool = False,
    ) -> "OutputLayout":
        """The layout of a run of ``func_name``, in ``output_dir`` or a new ``ACME_<time>`` directory."""
        now = now or _dt.datetime.now()
        if output_dir is None:
            run_dir = Path.cwd() / f"{RUN_DIR_PREFIX}{now:%Y%m%d-%H%M%S-%f}"
        else:
            run_dir = Path(output_dir).expanduser().absolute()
        return cls(
            run_dir=run_dir, stem=safe_stem(func_name), stamp=f"{now:%Y%m%d-%H%M%S}", pickles_in_run_dir=pickles_in_run_dir
        )

    @property
    def payload_dir(self) -> Path:
        return self.run_dir / f"{self.stem}_payload"

    @property
    def container_path(self) -> Path:
        return self.run_dir / f"{self.stem}.h5"

    @property
    def meta_dir(self) -> Path:
        """The one hidden folder of everything acme_like adds beside ACME's files: records,
        call table, failures file, lock. Not among the container's keys, not in the payloads."""
        return self.run_dir / META_DIR

    @property
    def failures_path(self) -> Path:
        return self.meta_dir / f"{self.stem}_failures.json"

    @property
    def manifest_path(self) -> Path:
        """What kind of run wrote here (output settings, seed, format version)."""
        return self.meta_dir / f"{self.stem}_manifest.json"

    @property
    def journal_path(self) -> Path:
        """One line per finished or failed call, for resuming."""
        return self.meta_dir / f"{self.stem}_journal.jsonl"

    @property
    def calls_path(self) -> Path:
        """The table of every call of the latest run (CSV, header :data:`CALL_COLUMNS`)."""
        return self.meta_dir / "calls.csv"

    @property
    def run_record_path(self) -> Path:
        """Once per run: versions, command line, workers, times."""
        return self.meta_dir / "run.json"

    @property
    def lock_path(self) -> Path:
        """Held (flock) by the one run writing this directory; holds its pid and host."""
        return self.meta_dir / "lock"

    @property
    def pickle_ids_dir(self) -> Path:
        """Identity records of pickle payloads (one appending file per writing process)."""
        return self.meta_dir / "pickles"

    @property
    def legacy_manifest_path(self) -> Path:
        """Where acme_like before the ``.acme_like/`` folder kept the manifest."""
        return self.payload_dir / f"{self.stem}_run.json"

    @property
    def legacy_journal_path(self) -> Path:
        return self.payload_dir / f"{self.stem}_calls.jsonl"

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"ACME_{self.stem}_{self.stamp}.log"

    def payload_path(self, index: int) -> Path:
        """The HDF5 payload of call ``index``."""
        return self.payload_dir / f"{self.stem}_{index}.h5"

    def shard_path(self, first_index: int, tag: str = "") -> Path:
        """The file holding the stacked first values of a batch of calls starting at ``first_index``
        (``tag``: a resumed run's, so its shards never replace the kept ones)."""
        return self.payload_dir / f"{self.stem}_stack_{first_index}{'_' + tag if tag else ''}.h5"

    @property
    def stack_path(self) -> Path:
        """The one source file of a consolidated stacked result_0 (rows of every shard)."""
        return self.payload_dir / f"{self.stem}_stack.h5"

    def pickle_path(self, index: int) -> Path:
        """The pickle payload of call ``index`` (``write_pickle``, or values HDF5 cannot hold)."""
        if self.pickles_in_run_dir:
            return self.moved_up(self.payload_path(index)).with_suffix(".pickle")
        return self.payload_path(index).with_suffix(".pickle")

    def moved_up(self, path: str | os.PathLike[str]) -> Path:
        """Where a payload file goes when ACME's emergency pickling moves every payload up."""
        return self.run_dir / Path(path).name

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the run directory, as stored in the container."""
        text = os.fspath(path)
        prefix = f"{self.run_dir}{os.sep}"
        if os.sep == "/" and text.startswith(prefix) and "/../" not in text:
            return text[len(prefix):]  # the common case, without pathlib's parsing (journal, call table)
        return Path(path).relative_to(self.run_dir).as_posix()

    def check_free(self) -> None:
        """Refuse a run directory holding results of ``func`` that no resumable run wrote."""
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise InputError(f"output_dir must be a directory, but {self.run_dir} is a file.")
        taken = [p for p in (self.container_path, self.payload_dir) if p.exists() and not _empty_dir(p)]
        if taken and not (self.manifest_path.exists() or self.legacy_manifest_path.exists()):
            listed = " and ".join(str(p) for p in taken)
            raise InputError(
                f"output_dir {self.run_dir} already holds results of {self.stem} ({listed}) "
                f"without the record ({self.manifest_path.name}) a run needs to resume them; they "
                f"are never overwritten. Pass another output_dir, or move them away first."
            )

    def rerun_hint(self) -> str:
        """The one line that resumes a run in this directory (for runs acme_like named)."""
        return f'Results so far are in {self.run_dir}; to resume, run again with output_dir="{self.run_dir}".'

    def create(self) -> None:
        """Create the run directory, its ``.acme_like`` folder and, unless pickles go into the
        run directory itself (``write_pickle`` in ACME's layout), the payload directory."""
        try:
            self.meta_dir.mkdir(parents=True, exist_ok=True)
            if not self.pickles_in_run_dir:
                self.payload_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"could not create the output directory {self.run_dir}: {exc.strerror}. "
                f"Pass an output_dir you can write to."
            ) from exc


def payload_whereabouts(planned: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Where a call's payload planned at ``planned`` (a ``payload_path`` or, in a payload
    directory, a ``pickle_path``) can be once the call ran: there, pickled beside it (values
    HDF5 cannot hold), or either moved up into the run directory (ACME's emergency pickling)."""
    path = Path(planned)
    beside = (path, path.with_suffix(".pickle"))
    run_dir = path.parent.parent  # <run_dir>/<stem>_payload/<stem>_<i>.h5
    return tuple(dict.fromkeys((*beside, *(run_dir / p.name for p in beside))))


def _empty_dir(path: Path) -> bool:
    """An empty directory (a run about to write its records leaves one for a moment)."""
    try:
        return path.is_dir() and not any(os.scandir(path))
    except OSError:
        return False


def log_path(logfile: bool | str | None, layout: OutputLayout | None, func_name: str) -> Path | None:
    """Where a run logs (ParallelMap's ``logfile``): None (next to on-disk results), True, False or a path."""
    if logfile is False:
        return None
    if isinstance(logfile, str):
        return Path(logfile)
    if layout is not None:
        return layout.log_path
    if logfile is True:
        return OutputLayout.for_run(".", func_name).log_path
    return None
