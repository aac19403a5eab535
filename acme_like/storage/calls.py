"""The record of every call (``.acme_like/calls.csv``) and of the run (``.acme_like/run.json``).

``calls.csv`` has one row per call, header :data:`CALL_COLUMNS`, appended per batch as
outcomes arrive and rewritten in call order at the end (atomically). ``status`` is
``ok``, ``failed`` or ``reused`` (kept from an earlier run); times are ISO 8601 in UTC;
sizes in bytes; an empty field is unknown. Other tools (the report, the CLI) read this
contract. Storage only; no dask.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..core.identity import keys_at
from ..core.outcome import TaskOutcome
from ..core.outcome_columns import OutcomeColumns, columns_of
from ..errors import PayloadError
from .layout import AppendStream, OutputLayout, atomic_write, write_failed
from .record_lines import call_rows

#: The columns of calls.csv, in order.
CALL_COLUMNS = (
    "index,stage,key,arguments,digest,status,kind,attempt,started_at,ended_at,seconds,peak_bytes,worker,host,"
    "payload,payload_bytes,input_path,input_bytes,exc_type,message,traceback"
).split(",")
_INTS = {"index", "attempt", "peak_bytes", "payload_bytes", "input_bytes"}
_FLOATS = {"seconds"}
RUN_RECORD_FORMAT = 1


class CallTable:
    """Writes calls.csv as the run goes; :meth:`finish` leaves it in call order.

    Rows are appended as bytes and only their offsets and lengths kept (12 bytes a call), so the
    table of 100,000 calls costs the parent no more memory than its offsets.
    """

    def __init__(
        self,
        layout: OutputLayout,
        keys: Sequence[str],
        digests: Callable[[Sequence[str]], list[str]],
        describe: Callable[[Sequence[int]], list[str]],
        inputs: Sequence[tuple[str, int] | None],
    ) -> None:
        """``digests`` gives the full digests of the calls with a list of keys, ``describe`` the short
        arguments of a list of calls (by index)."""
        self._layout, self._keys, self._digests, self._describe, self._inputs = layout, keys, digests, describe, inputs
        self._offsets = np.full(len(keys), -1, dtype=np.int64)
        self._lengths = np.zeros(len(keys), dtype=np.int32)  # a row is far shorter than 2 GB
        self._header = _csv_line(CALL_COLUMNS)
        try:
            stream = open(layout.calls_path, "wb")
            stream.write(self._header)
            self._out = AppendStream(stream)  # a write that fails later (a full disk): the table stops there
        except OSError as exc:
            raise PayloadError(
                f"{write_failed('the call table', layout.calls_path, exc)}; no call has run and the results already in "
                f"{layout.run_dir} are kept. Free space there (or make it writable), or pass another output_dir."
            ) from exc
        self._end = len(self._header)

    def record(
        self, outcomes: Iterable[TaskOutcome] | OutcomeColumns, reused: bool = False, keys: Sequence[str] | None = None
    ) -> None:
        """Append the rows of these outcomes; ``keys``: their calls' keys, when already at hand."""
        cols = columns_of(outcomes)
        if not len(cols):
            return
        indices = cols.index
        keys = keys_at(self._keys, indices) if keys is None else keys
        inputs = self._inputs
        rows = call_rows(
            cols, keys, self._digests(keys), self._describe(indices), [inputs[i] for i in indices], self._layout.relative,
            reused,
        )
        text = "".join(rows)
        data = text.encode("utf-8")
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        if len(data) != len(text):  # not all ASCII: each row's length in bytes
            lengths = np.fromiter((len(row.encode("utf-8")) for row in rows), dtype=np.int64, count=len(rows))
        at = np.asarray(indices, dtype=np.int64)
        self._offsets[at] = self._end + np.cumsum(lengths) - lengths
        self._lengths[at] = lengths
        self._end += len(data)
        self._out.write(data)

    @property
    def error(self) -> OSError | None:
        return self._out.error

    def problem(self) -> str | None:
        """What went wrong writing the table, in one sentence, or None."""
        if self.error is None:
            return None
        return f"{write_failed('the call table', self._layout.calls_path, self.error)}; the results are not affected"

    def finish(self) -> None:
        """Rewrite the table in call order (atomically); calls without an outcome are left out."""
        self.close()
        if self.error is not None:
            return
        path = self._layout.calls_path
        try:  # the rows of consecutive calls lie together: copied a span at a time, not the whole table at once
            with open(path, "rb") as source, atomic_write(path) as tmp, open(tmp, "wb") as stream:
                stream.write(self._header)
                for offset, length in _spans(self._offsets, self._lengths):
                    source.seek(offset)
                    stream.write(source.read(length))
        except OSError as exc:
            self._out.error = exc

    def close(self) -> None:
        self._out.close()


def _spans(offsets: np.ndarray, lengths: np.ndarray, most: int = 1 << 22) -> list[tuple[int, int]]:
    """``(offset, length)`` of the byte ranges holding the rows in call order (calls without a
    row left out), adjacent rows joined, each range at most ``most`` bytes."""
    held = offsets >= 0
    offsets, lengths = offsets[held], lengths[held]
    breaks = (np.flatnonzero(offsets[1:] != offsets[:-1] + lengths[:-1]) + 1).tolist()
    spans = []
    for first, end in zip([0, *breaks], [*breaks, len(offsets)]):
        if first == end:
            continue
        begin, stop = int(offsets[first]), int(offsets[end - 1] + lengths[end - 1])
        spans += [(at, min(most, stop - at)) for at in range(begin, stop, most)]
    return spans


def _csv_line(fields: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue().encode("utf-8")


def write_run_record(layout: OutputLayout, record: Mapping[str, Any]) -> None:
    """Write ``.acme_like/run.json`` (atomically); OSError if it cannot."""
    with atomic_write(layout.run_record_path) as tmp:
        tmp.write_text(json.dumps({"format": RUN_RECORD_FORMAT, **record}, indent=2, default=str) + "\n", encoding="utf-8")


def read_calls(output_dir: str | os.PathLike[str], as_frame: bool = False) -> Any:
    """The record of every call of the latest run in ``output_dir``, in call order.

    Parameters
    ----------
    output_dir : str or path-like
        A run directory (the one ``ParallelMap`` wrote; ``pmap.output_dir``).
    as_frame : bool
        Return a pandas DataFrame (pandas must be installed) instead of a list of dicts.

    Returns
    -------
    list of dict or pandas.DataFrame
        One record per call with the columns of :data:`CALL_COLUMNS`; numbers as int
        or float, unknown fields as None.

    Examples
    --------
    >>> calls = read_calls("ACME_20261122-101500-123456")  # doctest: +SKIP
    >>> max(c["seconds"] for c in calls)  # doctest: +SKIP
    """
    path = OutputLayout(run_dir=Path(output_dir), stem="", stamp="").calls_path
    with open(path, encoding="utf-8", newline="") as stream:
        rows = [_typed(row) for row in csv.DictReader(stream)]
    if as_frame:
        import pandas as pd

        return pd.DataFrame(rows, columns=CALL_COLUMNS)
    return rows


def _typed(row: Mapping[str, str]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for key in CALL_COLUMNS:
        text = row.get(key, "")
        if text == "" or text is None:
            typed[key] = None
        elif key in _INTS:
            typed[key] = int(text)
        elif key in _FLOATS:
            typed[key] = float(text)
        else:
            typed[key] = text
    return typed
