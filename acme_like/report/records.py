"""Read and check a run's record (``calls.csv`` and ``run.json``) into frozen values.

Reading only: nothing here writes a file, and nothing imports dask, distributed or h5py. The
columns are parsed once, vectorized with numpy, and kept as read-only arrays next to the rows, so
the summary and the plots never loop over calls in Python.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .run_info import RunInfo, RunRecordError, _read_run

#: The header of ``calls.csv``, in this order.
CALL_COLUMNS = (
    "index", "stage", "key", "arguments", "digest", "status", "kind", "attempt",
    "started_at", "ended_at", "seconds", "peak_bytes", "worker", "host", "payload",
    "payload_bytes", "input_path", "input_bytes", "exc_type", "message", "traceback",
)
#: The columns kept as numpy arrays; free text (arguments, tracebacks) stays in the rows only.
_ARRAY_COLUMNS = ("index", "stage", "status", "kind", "attempt", "started_at", "ended_at", "seconds",
                  "peak_bytes", "worker", "host", "payload_bytes", "input_bytes", "exc_type")
STATUSES = ("ok", "failed", "reused")
KINDS = ("", "exception", "worker-lost", "crash", "memory")
RECORD_DIR = ".acme_like"
CALLS_NAME = "calls.csv"
RUN_NAME = "run.json"


@dataclass(frozen=True, slots=True)
class CallRow:
    """One row of ``calls.csv``: one call (or one pipeline stage call) of the run."""

    index: int
    stage: str
    key: str
    arguments: str
    digest: str
    status: str
    kind: str
    attempt: int
    started_at: float | None
    ended_at: float | None
    seconds: float
    peak_bytes: int | None
    worker: str
    host: str
    payload: str
    payload_bytes: int | None
    input_path: str
    input_bytes: int | None
    exc_type: str
    message: str
    traceback: str


@dataclass(frozen=True, slots=True, eq=False)
class CallColumns:
    """The numeric and categorical columns of ``calls.csv`` as read-only numpy arrays.

    Unknown numbers (empty cells) are ``nan``; byte counts are float64, exact below 2**53.
    """

    index: np.ndarray
    stage: np.ndarray
    status: np.ndarray
    kind: np.ndarray
    started_at: np.ndarray
    ended_at: np.ndarray
    seconds: np.ndarray
    peak_bytes: np.ndarray
    worker: np.ndarray
    host: np.ndarray
    input_bytes: np.ndarray
    exc_type: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True, slots=True, eq=False)
class RunRecord:
    """Everything recorded about one run: where it is, ``run.json`` and every row of ``calls.csv``."""

    run_dir: Path
    run: RunInfo
    calls: tuple[CallRow, ...]
    columns: CallColumns

    @property
    def calls_path(self) -> Path:
        return self.run_dir / RECORD_DIR / CALLS_NAME

    @property
    def run_path(self) -> Path:
        return self.run_dir / RECORD_DIR / RUN_NAME


def read_run_record(run_dir: str | Path) -> RunRecord:
    """Read and check ``<run_dir>/.acme_like/calls.csv`` and ``run.json``.

    Parameters
    ----------
    run_dir
        The run directory, the one holding ``.acme_like/``.

    Returns
    -------
    RunRecord
        ``run`` from ``run.json``, ``calls`` as a tuple of :class:`CallRow` in file order, and
        ``columns``, the same calls as read-only numpy arrays.

    Raises
    ------
    RunRecordError
        When a file is missing or a field does not follow the format; the message names the file,
        the row or key, what was expected, what came in, and the fix.

    Examples
    --------
    >>> record = read_run_record("ACME_20250101-120000")       # doctest: +SKIP
    >>> record.run.func, len(record.calls)                       # doctest: +SKIP
    ('simulate', 1000)
    """
    run_dir = Path(run_dir)
    record_dir = run_dir / RECORD_DIR
    run_path, calls_path = record_dir / RUN_NAME, record_dir / CALLS_NAME
    for path in (calls_path, run_path):
        if not path.is_file():
            found = "it does not exist" if not record_dir.is_dir() else (
                "it holds " + (", ".join(sorted(p.name for p in record_dir.iterdir())) or "nothing"))
            raise RunRecordError(
                f"no run record at {path}: expected {RECORD_DIR}/{CALLS_NAME} and {RECORD_DIR}/{RUN_NAME} "
                f"in the run directory, but {record_dir} {found}. Pass the run directory of a finished run "
                f"(the folder that holds {RECORD_DIR}/), not the payload folder or the container file."
            )
    run = _read_run(run_path)
    calls, columns = _read_calls(calls_path)
    return RunRecord(run_dir=run_dir, run=run, calls=calls, columns=columns)


# --- run.json ------------------------------------------------------------------------------------


# --- calls.csv -----------------------------------------------------------------------------------


def _read_calls(path: Path) -> tuple[tuple[CallRow, ...], CallColumns]:
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise RunRecordError(f"{path} is empty; expected a header row "
                                 f"({','.join(CALL_COLUMNS)}) and one row per call.")
        if tuple(header) != CALL_COLUMNS:
            missing = [c for c in CALL_COLUMNS if c not in header]
            extra = [c for c in header if c not in CALL_COLUMNS]
            detail = (f"missing {', '.join(missing)}" if missing else "") + (
                ("; " if missing else "") + f"unexpected {', '.join(extra)}" if extra else "")
            raise RunRecordError(f"{path} has the header {','.join(header)!r}, expected exactly "
                                 f"{','.join(CALL_COLUMNS)!r} ({detail or 'same names, other order'}). "
                                 f"The file was written by another version; rerun to write it again.")
        rows = list(reader)
    width = len(CALL_COLUMNS)
    short = [i for i, row in enumerate(rows) if len(row) != width]
    if short:
        raise RunRecordError(f"{path}, data row {short[0] + 1}: {len(rows[short[0]])} fields, "
                             f"expected {width}. A field holding commas or newlines must be quoted; "
                             f"write the file with Python's csv module. {len(short)} rows are affected.")
    raw = dict(zip(CALL_COLUMNS, map(list, zip(*rows)))) if rows else {c: [] for c in CALL_COLUMNS}
    text = {c: np.asarray(raw[c], dtype=str) for c in _ARRAY_COLUMNS}

    _check_values(path, text, "status", STATUSES)
    _check_values(path, text, "kind", KINDS)
    index = _numbers(path, text, "index", required=True)
    attempt = _numbers(path, text, "attempt", required=True)
    seconds = _numbers(path, text, "seconds", required=True)
    started_at = _numbers(path, text, "started_at")
    ended_at = _numbers(path, text, "ended_at")
    peak_bytes = _numbers(path, text, "peak_bytes")
    payload_bytes = _numbers(path, text, "payload_bytes")
    input_bytes = _numbers(path, text, "input_bytes")
    for name, values in (("index", index), ("attempt", attempt), ("peak_bytes", peak_bytes),
                         ("payload_bytes", payload_bytes), ("input_bytes", input_bytes)):
        _check_whole(path, name, values)

    columns = CallColumns(
        index=index.astype(np.int64), stage=text["stage"], status=text["status"], kind=text["kind"],
        started_at=started_at, ended_at=ended_at, seconds=seconds, peak_bytes=peak_bytes,
        worker=text["worker"], host=text["host"], input_bytes=input_bytes, exc_type=text["exc_type"],
    )
    for array in (getattr(columns, name) for name in CallColumns.__slots__):
        array.flags.writeable = False

    numbers = {"index": index.astype(np.int64).tolist(), "attempt": attempt.astype(np.int64).tolist(),
               "seconds": seconds.tolist(), "started_at": _as_floats(started_at),
               "ended_at": _as_floats(ended_at), "peak_bytes": _as_ints(peak_bytes),
               "payload_bytes": _as_ints(payload_bytes), "input_bytes": _as_ints(input_bytes)}
    calls = tuple(map(CallRow, *(numbers.get(c, raw[c]) for c in CALL_COLUMNS)))
    return calls, columns


def _as_ints(values: np.ndarray) -> list:
    known = ~np.isnan(values)
    out = np.where(known, values, 0).astype(np.int64).astype(object)
    out[~known] = None
    return out.tolist()


def _as_floats(values: np.ndarray) -> list:
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def _check_values(path: Path, text: dict[str, np.ndarray], column: str, allowed: tuple[str, ...]) -> None:
    bad = ~np.isin(text[column], allowed)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        shown = " or ".join(repr(a) for a in allowed)
        raise RunRecordError(f"{path}, data row {row + 1}: {column} is {str(text[column][row])!r}, expected {shown} "
                             f"({int(bad.sum())} rows are affected). The file was written by another version "
                             f"or edited by hand; rerun to write it again.")


def _numbers(path: Path, text: dict[str, np.ndarray], column: str, *, required: bool = False) -> np.ndarray:
    values = np.char.strip(text[column])
    empty = values == ""
    if required and empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise RunRecordError(f"{path}, data row {row + 1}: {column} is empty, expected a number in every row "
                             f"({int(empty.sum())} rows are affected).")
    try:
        return np.where(empty, "nan", values).astype(np.float64)
    except ValueError:
        for row, value in enumerate(values.tolist()):
            try:
                float(value or "nan")
            except ValueError:
                raise RunRecordError(f"{path}, data row {row + 1}: {column} is {value!r}, expected a number"
                                     f"{'' if required else ' or an empty field (unknown)'}.") from None
        raise


def _check_whole(path: Path, column: str, values: np.ndarray) -> None:
    bad = ~np.isnan(values) & ((values != np.round(values)) | (values < 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise RunRecordError(f"{path}, data row {row + 1}: {column} is {float(values[row])!r}, expected a whole "
                             f"number of at least 0.")
