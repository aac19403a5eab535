"""The text of the journal's lines and of calls.csv's rows for a batch of outcomes, from its columns.

A line per call is the parent's main work in a run of a million tiny calls: building a
dict per call and handing it to ``json.dumps``, or a list per call to ``csv.writer``,
took most of the time. Here each field is encoded a column at a time and the lines are
put together with string formatting. The text is byte for byte what ``json.dumps`` of
the line's dict (``separators=(",", ":")``) and ``csv.writer`` (Excel dialect) of the
row's fields write, which the tests check on awkward values; a value of a type the fast
path does not know is handed to ``json.dumps`` itself. Storage only; no dask.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Sequence

from ..core.outcome_columns import OutcomeColumns, RefColumns

#: What ``json.dumps`` writes for a string (``ensure_ascii``): the quoted, escaped text.
_json_str: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
#: A character that makes ``csv.writer`` quote a field (delimiter, quote, line ends).
_CSV_SPECIAL = re.compile(r'[,"\r\n]')
_RUN = ',"run":'


def _json(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, fast for the types of a record's fields."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if kind is str:
        return _json_str(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"))


def _json_shape(shape: tuple[int, ...] | None) -> str:
    return "null" if shape is None else _json(list(shape))


# ---- a column of values as text ---------------------------------------------------------------


def _json_ints(values: Sequence[Any]) -> list[str]:
    try:
        return list(map(int.__repr__, values))  # every value an int: what json writes of it
    except TypeError:
        return list(map(_json, values))


def _json_floats(values: Sequence[Any]) -> list[str]:
    try:
        if math.isfinite(math.fsum(values)):  # no inf or nan among them (json writes those its own way)
            return list(map(float.__repr__, values))
    except (TypeError, OverflowError):
        pass
    return list(map(_json, values))


def _json_strs(values: Sequence[Any]) -> list[str]:
    try:
        return list(map(_json_str, values))
    except TypeError:  # some value is not a string (None)
        return list(map(_json, values))


def _memo(encode: Callable[[Any], str]) -> Callable[[Sequence[Any]], list[str]]:
    """A column encoder making ``encode`` of each distinct value once (a batch's shard path)."""

    def encoded(values: Sequence[Any]) -> list[str]:
        done: dict[Any, str] = {}
        return [done[v] if v in done else done.setdefault(v, encode(v)) for v in values]

    return encoded


def csv_field(text: str) -> str:
    """``text`` as ``csv.writer`` writes it: quoted, its quotes doubled, when it holds a comma,
    a quote or a line end."""
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if _CSV_SPECIAL.search(text) else text


def _csv_fields(values: Sequence[str]) -> list[str]:
    """Each text as a csv field; one search of the whole column when none needs quoting."""
    if not _CSV_SPECIAL.search("".join(values)):
        return list(values)
    return list(map(csv_field, values))


def _stamps(values: Sequence[float | None]) -> list[str]:
    """Times as Unix seconds with microseconds (what every tool parses), or empty."""
    if None not in values:
        return list(map("%.6f".__mod__, values))
    return ["" if stamp is None else "%.6f" % stamp for stamp in values]


# ---- rows put together from pieces ----------------------------------------------------------


def _piece(values: Sequence[Any], encode: Callable[[Sequence[Any]], list[str]]) -> str | list[str]:
    """The column's text: one text when every row holds the same value (of one type), else one per row."""
    first = values[0]
    if values[-1] == first and values.count(first) == len(values) and len(set(map(type, values))) == 1:
        return encode(values[:1])[0]
    return encode(values)


def _texts(n: int, pieces: Sequence[str | list[str]]) -> list[str]:
    """Each row's text: its pieces one after the other (the shared ones written into one template)."""
    template = "".join(p.replace("%", "%%") if type(p) is str else "%s" for p in pieces)
    columns = [p for p in pieces if type(p) is not str]
    if not columns:
        return [template % ()] * n
    return [template % row for row in zip(*columns)]


def _where(flags: Sequence[bool], pieces: list[str | list[str]]) -> list[str | list[str]]:
    """``pieces`` in the rows whose flag is set, nothing in the others."""
    if all(flags):
        return pieces
    if not any(flags):
        return []
    return [[text if flag else "" for text, flag in zip(_texts(len(flags), pieces), flags)]]


# ---- the journal ------------------------------------------------------------------------------


def journal_lines(
    cols: OutcomeColumns,
    keys: Sequence[str],
    code: str,
    runs: Sequence[str | None],
    relative: Callable[[str], str],
    mtime_of: Callable[[str], int],
) -> list[str]:
    """One journal line per row (without its newline): ``keys`` and ``runs`` are the rows' call
    keys and the ids of the runs that made their payloads; ``relative`` turns a payload path
    into the journal's; ``mtime_of`` gives a payload file's mtime when the writer did not."""
    n = len(cols)
    if not n:
        return []
    pieces = [
        '{"i":', _piece(cols.index, _json_ints), ',"key":', _piece(keys, _json_strs),
        f',"code":{_json(code)},"status":', _piece(cols.status, _json_strs),
        *_where([run is not None for run in runs], [_RUN, _piece(runs, _json_strs)]),
    ]
    if cols.payload is not None:
        refs = cols.payload
        pieces += _where([fmt is not None for fmt in refs.fmt], _payload_pieces(refs, cols.seconds, relative, mtime_of))
    if cols.failures:
        failed = [cols.failures.get(k) for k in range(n)]
        pieces.append([
            "" if f is None else f',"kind":{_json(f.kind)},"exception":{_json(f.exc_type)},"message":{_json(f.message)}'
            for f in failed
        ])
    pieces.append("}")
    return _texts(n, pieces)


def _payload_pieces(
    refs: RefColumns, seconds: Sequence[float], relative: Callable[[str], str], mtime_of: Callable[[str], int]
) -> list[str | list[str]]:
    """The payload's fields of a journal line."""
    paths = _memo(lambda path: "null" if path is None else _json(relative(path)))
    pieces = [
        ',"path":', _piece(refs.path, paths), ',"fmt":', _piece(refs.fmt, _json_strs),
        ',"n_values":', _piece(refs.n_values, _json_ints), ',"nbytes":', _piece(refs.nbytes, _json_ints),
        ',"crc32":', _piece(refs.crc32, _json_ints), ',"shape":', _piece(refs.stack_shape, _memo(_json_shape)),
        ',"seconds":', _piece(seconds, _json_floats),
        *_where([path is not None for path in refs.stack_path], [
            ',"stack_path":', _piece(refs.stack_path, paths), ',"stack_row":', _piece(refs.stack_row, _json_ints),
            ',"stack_nbytes":', _piece(refs.stack_nbytes, _json_ints), ',"stack_crc32":', _piece(refs.stack_crc32, _json_ints),
        ]),
    ]
    # With the size, what tells an unchanged payload without reading it (see resume); taken by
    # the writer where it can be, so the parent's per-call work stays small.
    mtimes = [
        0 if fmt is None or fmt == "container" else (m or mtime_of(path))  # type: ignore[arg-type]
        for fmt, m, path in zip(refs.fmt, refs.mtime_ns, refs.path)
    ]
    return pieces + _where([m != 0 for m in mtimes], [',"mtime_ns":', _piece(mtimes, _json_ints)])


# ---- calls.csv ----------------------------------------------------------------------------------


def call_rows(
    cols: OutcomeColumns,
    keys: Sequence[str],
    digests: Sequence[str],
    described: Sequence[str],
    inputs: Sequence[tuple[str, int] | None],
    relative: Callable[[str], str],
    reused: bool,
) -> list[str]:
    """One calls.csv row per row of ``cols`` (with its ``\\r\\n``), in the columns of ``CALL_COLUMNS``:
    ``keys``, ``digests``, ``described`` (the arguments in short) and ``inputs`` are the rows' own."""
    n = len(cols)
    if not n:
        return []
    refs = cols.payload
    paths: str | list[str] = ""
    sizes: str | list[str] = ""
    if refs is not None:
        on_disk = [fmt is not None and fmt != "container" for fmt in refs.fmt]
        paths = _piece([p if d else None for p, d in zip(refs.path, on_disk)],
                       _memo(lambda path: "" if path is None else csv_field(relative(path))))
        sizes = _piece([b if d else None for b, d in zip(refs.nbytes, on_disk)],
                       _memo(lambda nbytes: "" if nbytes is None else str(nbytes)))
    arguments = list(described)
    failure_fields: str | list[str] = ","  # the kind, then exc_type, message and traceback at the end
    tails: str | list[str] = ",,"
    if cols.failures:
        kinds, tails = [","] * n, [",,"] * n
        for k, f in cols.failures.items():
            arguments[k] = f.arguments or arguments[k]
            kinds[k] = f",{csv_field(f.kind)}"
            tails[k] = f"{csv_field(f.exc_type)},{csv_field(f.message)},{csv_field(f.traceback)}"
        failure_fields = kinds
    pieces = [
        _piece(cols.index, _strs), ",,", _piece(keys, _csv_fields), ",", _piece(arguments, _csv_fields), ",",
        _piece(digests, _csv_fields), ",", _piece(["reused"] * n if reused else cols.status, _csv_fields),
        failure_fields, ",", _piece(cols.attempt, _strs), ",", _piece(cols.started_at, _stamps), ",",
        _piece(cols.ended_at, _stamps), ",", _piece(cols.seconds, _sixf), ",",
        _piece(cols.peak_bytes, _memo(lambda peak: "" if peak is None else str(peak))), ",",
        _piece(cols.worker, _memo(lambda name: csv_field(name or ""))), ",",
        _piece(cols.host, _memo(lambda name: csv_field(name or ""))), ",", paths, ",", sizes, ",",
        _piece(inputs, _memo(lambda given: "," if given is None else f"{csv_field(given[0])},{given[1]}")), ",",
        tails, "\r\n",
    ]
    return _texts(n, pieces)


def _strs(values: Sequence[Any]) -> list[str]:
    return list(map(str, values))


def _sixf(values: Sequence[float]) -> list[str]:
    return list(map("%.6f".__mod__, values))
