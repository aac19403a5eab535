"""Every row of shared/notes/keyword-fuzz.md: a clear error at construction, a warning, or a value that works.

Only ``ParallelMap(...)`` is constructed: validation happens in ``__init__``, before any
file, cluster or call. An error must be an acme_like error (never a bare OSError or a
crash inside the package) whose message names the keyword and says how to fix it.
Rows that can only show at run time are listed with "ok" here and tested where the run
happens (a shape or dtype that a call's value does not fit fails that call, in
tests/integration/test_output_modes.py).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import funcs
from acme_like import ParallelMap
from acme_like.errors import AcmeLikeError, AcmeLikeWarning

ERROR, OK, WARN = "error", "ok", "warn"

# (row, keyword, value as written in the note, extra keywords, expected)
ROWS = [
    (0, "n_inputs", "0", {}, ERROR),
    (1, "n_inputs", "-1", {}, ERROR),
    (2, "n_inputs", "2.5", {}, ERROR),
    (3, "n_inputs", "'3'", {}, ERROR),
    (4, "n_inputs", "None", {}, ERROR),
    (5, "n_inputs", "True", {}, ERROR),
    (6, "n_inputs", "np.int64(3)", {}, OK),
    (7, "n_inputs", "float('inf')", {}, ERROR),
    (8, "n_inputs", "3.0", {}, OK),
    (9, "n_inputs", "10**8", {}, WARN),
    (10, "write_worker_results", "'yes'", {}, ERROR),
    (11, "write_worker_results", "1", {}, ERROR),
    (12, "write_worker_results", "None", {}, ERROR),
    (13, "output_dir", "123", {}, ERROR),
    (14, "output_dir", "'<existing file>'", {}, ERROR),
    (15, "output_dir", "''", {}, ERROR),
    (16, "output_dir", "'<null device>'", {}, ERROR),
    (17, "output_dir", "'<procfs>/acme'", {}, ERROR),
    (18, "output_dir", "'<cwd>/a\\x00b'", {}, ERROR),
    (19, "output_dir", "'<cwd>/' + 'x' * 300", {}, ERROR),
    (20, "output_dir", "'<symlink loop>'", {}, ERROR),
    (21, "output_dir", "pathlib.Path('<cwd>/p')", {}, OK),
    (22, "output_dir", "b'<cwd>/bytes'", {}, ERROR),
    (23, "n_workers", "-1", {}, ERROR),
    (24, "n_workers", "0", {}, ERROR),
    (25, "n_workers", "2.5", {}, ERROR),
    (26, "n_workers", "'4'", {}, ERROR),
    (27, "n_workers", "True", {}, ERROR),
    (28, "n_workers", "10**6", {}, OK),
    (29, "n_workers", "None", {}, ERROR),
    (30, "n_workers", "float('nan')", {}, ERROR),
    (31, "n_workers", "float('inf')", {}, ERROR),
    (32, "mem_per_worker", "'300'", {}, ERROR),
    (33, "mem_per_worker", "'abc'", {}, ERROR),
    (34, "mem_per_worker", "'-1GB'", {}, ERROR),
    (35, "mem_per_worker", "0", {}, ERROR),
    (36, "mem_per_worker", "'1KB'", {}, ERROR),
    (37, "mem_per_worker", "'1TB'", {}, OK),  # on a local run, a warning when the cluster starts
    (38, "mem_per_worker", "2e9", {}, ERROR),
    (39, "mem_per_worker", "'2 GB'", {}, OK),
    (40, "stop_client", "'yes'", {}, ERROR),
    (41, "stop_client", "1", {}, ERROR),
    (42, "stop_client", "None", {}, ERROR),
    (43, "verbose", "'yes'", {}, ERROR),
    (44, "verbose", "0", {}, ERROR),
    (45, "verbose", "2", {}, ERROR),
    (46, "logfile", "'<cwd>/nonexistent_dir/deeper/x.log'", {}, OK),
    (47, "logfile", "'<procfs>/x.log'", {}, ERROR),
    (48, "logfile", "'<cwd>'", {}, ERROR),
    (49, "logfile", "123", {}, ERROR),
    (50, "logfile", "''", {}, ERROR),
    (51, "logfile", "'<existing file>/x.log'", {}, ERROR),
    (52, "client", "'tcp://127.0.0.1:1'", {}, ERROR),
    (53, "client", "object()", {}, ERROR),
    (54, "client", "<closed client>", {}, ERROR),
    (55, "result_shape", "(None, None)", {}, ERROR),
    (56, "result_shape", "()", {}, ERROR),
    (57, "result_shape", "(3,)", {}, ERROR),
    (58, "result_shape", "[None, -1]", {}, ERROR),
    (59, "result_shape", "(None, 2.5)", {}, ERROR),
    (60, "result_shape", "(None, np.inf, np.inf)", {}, ERROR),
    (61, "result_shape", "'None,3'", {}, ERROR),
    (62, "result_shape", "(None, float('nan'))", {}, ERROR),
    (63, "result_shape", "(None, 10**12)", {}, OK),  # a call's value of another shape fails that call
    (64, "result_shape", "(None,)", {}, OK),  # likewise
    (65, "result_shape", "(None, 5)", {}, OK),  # likewise
    (66, "result_shape", "(None, np.inf)", {"write_worker_results": False}, ERROR),
    (67, "result_dtype", "'nonsense'", {"result_shape": (None,)}, ERROR),
    (68, "result_dtype", "'U10'", {"result_shape": (None,)}, ERROR),
    (69, "result_dtype", "'object'", {"result_shape": (None,)}, ERROR),
    (70, "result_dtype", "np.float32", {"result_shape": (None,)}, ERROR),
    (71, "result_dtype", "'datetime64'", {"result_shape": (None,)}, ERROR),
    (72, "result_dtype", "'int8'", {"result_shape": (None,)}, OK),  # a value int8 cannot hold fails its call
    (73, "result_dtype", "'bool'", {"result_shape": (None,)}, OK),  # likewise
    (74, "result_dtype", "'nonsense'", {}, WARN),
    (75, "single_file", "'yes'", {}, ERROR),
    (76, "single_file", "True", {"write_pickle": True}, ERROR),
    (77, "write_pickle", "1", {}, ERROR),
    (78, "dryrun", "'yes'", {}, ERROR),
    (79, "setup_interactive", "None", {}, ERROR),
    (80, "cleanup_threshold_days", "-1", {}, ERROR),
    (81, "cleanup_threshold_days", "'7'", {}, ERROR),
    (82, "cleanup_threshold_days", "float('nan')", {}, ERROR),
    (83, "cleanup_threshold_days", "float('inf')", {}, OK),
    (84, "partition", "5", {}, ERROR),
    (85, "partition", "''", {}, ERROR),
    (86, "partition", "'nonexistent'", {}, OK),  # on a local run, a warning when the cluster starts
    (87, "setup_timeout", "-1", {}, ERROR),
    (88, "setup_timeout", "'60'", {}, ERROR),
    (89, "setup_timeout", "float('nan')", {}, ERROR),
    (90, "batch_size", "0", {}, ERROR),
    (91, "batch_size", "-5", {}, ERROR),
    (92, "batch_size", "2.5", {}, ERROR),
    (93, "batch_size", "'10'", {}, ERROR),
    (94, "batch_size", "True", {}, ERROR),
    (95, "batch_size", "np.int64(2)", {}, OK),
    (96, "batch_size", "10**9", {}, OK),
    (97, "rerun", "'yes'", {}, ERROR),
    (98, "rerun", "True", {}, ERROR),
    (99, "rerun", "'ALL'", {}, ERROR),
    (100, "retries", "-1", {}, ERROR),
    (101, "retries", "1.5", {}, ERROR),
    (102, "retries", "'2'", {}, ERROR),
    (103, "retries", "np.int64(2)", {}, OK),
    (104, "retries", "10**6", {}, OK),
    (105, "worker_retries", "-1", {}, ERROR),
    (106, "worker_retries", "None", {}, ERROR),
    (107, "seed", "-1", {}, ERROR),
    (108, "seed", "2**200", {}, OK),
    (109, "seed", "'42'", {}, ERROR),
    (110, "seed", "1.5", {}, ERROR),
    (111, "seed", "True", {}, ERROR),
    (112, "seed", "np.int64(5)", {}, OK),
    (113, "n_worker", "2", {}, ERROR),
    (114, "outputdir", "'<cwd>/typo'", {}, OK),  # a **kw function takes it (Python's rule)
    (115, "func", "5", {}, ERROR),
    (116, "positional args", "[(i for i in range(3))]", {}, ERROR),
    (117, "positional args", "[[1, 2, 3], [1, 2]]", {}, ERROR),
    (118, "positional args", "[[]]", {}, ERROR),
    (119, "positional args", "[[1, 2], [3, 4], [5, 6]]", {}, ERROR),
]

#: Words by which a message says how to fix it.
FIXES = ("Pass", "pass", "Write", "Remove", "Choose", "Create", "Leave", "Start a new", "remove")


@pytest.fixture(scope="module")
def closed_client():
    from distributed import Client

    client = Client(processes=False, n_workers=1, dashboard_address=None, set_as_default=False)
    client.close()
    return client


def _value(text, place, closed_client):
    import pathlib

    if text == "<closed client>":
        return closed_client
    for key, path in place.items():
        text = text.replace(key, path)
    return eval(text, {"np": np, "pathlib": pathlib})  # noqa: S307 - the note's own expressions


def _construct(keyword, value, extra):
    if keyword == "func":
        return ParallelMap(value, [1, 2, 3])
    if keyword == "positional args":
        return ParallelMap(funcs.square, *value)
    func = funcs.square_kw if keyword == "outputdir" else funcs.square
    args = (5,) if keyword == "n_inputs" else ([1, 2, 3],)
    return ParallelMap(func, *args, **{keyword: value, **extra})


@pytest.mark.parametrize("row, keyword, text, extra, expected", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_every_row_of_the_fuzz_note(row, keyword, text, extra, expected, tmp_path, monkeypatch, closed_client):
    monkeypatch.chdir(tmp_path)
    existing = tmp_path / "a_file"
    existing.write_text("x")
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    place = {"<cwd>": str(tmp_path), "<existing file>": str(existing), "<null device>": os.devnull,
             "<procfs>": "/proc", "<symlink loop>": str(loop)}
    value = _value(text, place, closed_client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if expected == ERROR:
            with pytest.raises(AcmeLikeError) as raised:
                _construct(keyword, value, extra)
            message = str(raised.value)
            named = "square" if keyword in ("positional args", "n_worker") else "first argument" if keyword == "func" else keyword
            assert named in message, message
            assert any(word in message for word in FIXES), f"row {row}: no fix in {message!r}"
        else:
            _construct(keyword, value, extra)
    ours = [w for w in caught if issubclass(w.category, AcmeLikeWarning)]
    if expected == WARN:
        assert ours, f"row {row}: no warning"
        assert all(w.filename == __file__ for w in ours), [(w.filename, str(w.message)) for w in ours]
    elif expected == OK:
        assert not ours, [str(w.message) for w in ours]
    assert list(tmp_path.iterdir()) == [existing, loop] or sorted(tmp_path.iterdir()) == sorted([existing, loop])


def test_every_row_of_the_note_is_here():
    note = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "notes", "keyword-fuzz.md")
    assert [row[0] for row in ROWS] == list(range(120))
    if os.path.exists(note):
        with open(note) as fh:
            rows = [line for line in fh if line.startswith("| ") and line[2:3].isdigit()]
        assert len(rows) == len(ROWS)


@pytest.mark.parametrize("keyword", ["batch_size", "retries", "worker_retries", "seed", "n_workers", "n_inputs"])
def test_numpy_integers_are_integers(keyword):
    for kind in (np.int8, np.int32, np.int64, np.uint16):
        pmap = ParallelMap(funcs.square, [1, 2, 3], **{keyword: kind(3)})
        assert pmap.n_calls == 3
    assert ParallelMap(funcs.square, [1], cleanup_threshold_days=np.int64(3)).options.output.cleanup_threshold_days == 3.0


def test_mem_per_worker_without_a_unit_says_what_it_would_mean():
    with pytest.raises(AcmeLikeError, match=r"300 bytes\? Write '300MB'"):
        ParallelMap(funcs.square, [1], mem_per_worker="300")


def test_a_memory_limit_a_worker_cannot_start_with_is_refused_with_the_minimum():
    with pytest.raises(AcmeLikeError, match=r'mem_per_worker=\'100MB\' is 100 MB, below the 250 MB a dask worker needs .* Pass at least mem_per_worker="250MB"'):
        ParallelMap(funcs.square, [1], mem_per_worker="100MB")
    assert ParallelMap(funcs.square, [1], mem_per_worker="250MB").options.cluster.mem_per_worker == 250 * 10**6
