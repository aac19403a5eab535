"""A result is kept only for the same call of the same code: edits, versions, reordered inputs, files."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

import funcs
from acme_like import ParallelMap, read_payload
from acme_like.core.code import code_digest, is_users_file

pytestmark = pytest.mark.integration


def markers(directory):
    return sorted(p.name.split("-")[0] for p in Path(directory).glob("*-*"))


def clear(directory):
    for p in Path(directory).glob("*"):
        p.unlink()


MODULE = '''
import os, uuid

OFFSET = {offset}


def helper(x):
    return x + OFFSET


def work(x, marker_dir):
    {doc}
    os.makedirs(marker_dir, exist_ok=True)
    open(os.path.join(marker_dir, f"{{x}}-{{uuid.uuid4().hex}}"), "w").close()
    return {body}
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of the user's, rewritten and reloaded by the test."""
    folder = tmp_path / "src"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    path = folder / "usermod_identity.py"

    def write(doc='"""Docs."""', body="helper(x) * 2", offset=1, extra=""):
        path.write_text(textwrap.dedent(MODULE.format(doc=doc, body=body, offset=offset)) + extra)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new mtime for the source cache
        if "usermod_identity" in sys.modules:
            return importlib.reload(sys.modules["usermod_identity"])
        return importlib.import_module("usermod_identity")

    yield write
    sys.modules.pop("usermod_identity", None)


def run(func, xs, marks, out, **kwargs):
    with ParallelMap(func, xs, str(marks), output_dir=out, **kwargs) as pmap:
        return pmap.compute(debug=True)


def test_code_edits_rerun_docstrings_and_formatting_do_not(user_module, tmp_path, caplog):
    marks, out = tmp_path / "marks", tmp_path / "out"
    mod = user_module()
    assert is_users_file(mod.__file__)
    run(mod.work, [1, 2, 3], marks, out)
    assert markers(marks) == ["1", "2", "3"]

    clear(marks)
    mod = user_module(doc='"""Other docs, and a comment."""  # here', body="helper( x )*2", extra="\n# trailing\n\n")
    paths = run(mod.work, [1, 2, 3], marks, out)
    assert markers(marks) == []
    assert [read_payload(p) for p in paths] == [4, 6, 8]

    clear(marks)
    caplog.set_level("INFO", logger="acme_like")
    mod = user_module(body="helper(x) * 3")  # the body changed
    paths = run(mod.work, [1, 2, 3], marks, out)
    assert markers(marks) == ["1", "2", "3"]
    assert [read_payload(p) for p in paths] == [6, 9, 12]
    assert "3 results were made by other code of work" in caplog.text

    clear(marks)
    mod = user_module(body="helper(x) * 3", offset=2)  # a global the function reads (through helper)
    assert [read_payload(p) for p in run(mod.work, [1, 2, 3], marks, out)] == [9, 12, 15]
    assert markers(marks) == ["1", "2", "3"]


def test_stale_results_are_kept_when_asked_and_versions_pin_the_code(user_module, tmp_path, caplog):
    marks, out = tmp_path / "marks", tmp_path / "out"
    mod = user_module()
    run(mod.work, [1, 2], marks, out, version="1")
    clear(marks)
    mod = user_module(body="helper(x) * 5")
    assert [read_payload(p) for p in run(mod.work, [1, 2], marks, out, version="1")] == [4, 6]  # pinned
    assert markers(marks) == []
    assert [read_payload(p) for p in run(mod.work, [1, 2, 3], marks, out, version="2")] == [10, 15, 20]
    assert markers(marks) == ["1", "2", "3"]

    clear(marks)
    mod = user_module(body="helper(x) * 7")
    caplog.set_level("INFO", logger="acme_like")
    paths = run(mod.work, [1, 2, 3, 4], marks, out, rerun="keep-stale")
    assert markers(marks) == ["4"]
    assert [read_payload(p) for p in paths] == [10, 15, 20, 35]
    assert 'Keeping 3 results made by other code of work, as rerun="keep-stale" asks' in caplog.text

    mod.work.__acme_like_version__ = "a"
    first = code_digest(mod.work)
    mod = user_module(body="helper(x) * 8")
    mod.work.__acme_like_version__ = "a"
    assert code_digest(mod.work) == first


def test_code_digest_covers_closures_partials_and_lambdas():
    import functools

    def make(k):
        def inner(x):
            return x * k
        return inner

    assert code_digest(make(2)) != code_digest(make(3))
    assert code_digest(make(2)) == code_digest(make(2))
    assert code_digest(functools.partial(funcs.add, z=1)) != code_digest(functools.partial(funcs.add, z=2))
    assert code_digest(lambda x: x + 1) != code_digest(lambda x: x + 2)
    assert code_digest(funcs.add) != code_digest(funcs.vector)


def _payload_names(out, stem):
    return sorted(p.name for p in (Path(out) / f"{stem}_payload").iterdir())


def test_insert_remove_reorder_rerun_only_the_new_calls(backend, tmp_path):
    marks, out, fresh = tmp_path / "marks", tmp_path / "out", tmp_path / "fresh"
    backend.run(funcs.counted, [1, 2, 3], str(marks), output_dir=out)
    for xs, new in (([0, 1, 2, 3], ["0"]), ([3, 0, 2, 1], []), ([3, 2, 1], []), ([2, 9, 3], ["9"])):
        clear(marks)
        pmap, paths = backend.run(funcs.counted, xs, str(marks), output_dir=out)
        assert markers(marks) == new, xs
        assert [read_payload(p) for p in paths] == [x * x for x in xs]
        assert paths == [str(out / "counted_payload" / f"counted_{i}.h5") for i in range(len(xs))]
        with h5py.File(pmap.results_container, "r") as h5:
            assert [h5[f"comp_{i}"]["result_0"][()] for i in range(len(xs))] == [x * x for x in xs]
            assert sorted(h5) == [f"comp_{i}" for i in range(len(xs))]
    backend.run(funcs.counted, [2, 9, 3], str(tmp_path / "m2"), output_dir=fresh)
    assert _payload_names(out, "counted") == _payload_names(fresh, "counted")


@pytest.mark.parametrize("keywords", [{"single_file": True}, {"result_shape": (None,)}, {"write_pickle": True}])
def test_reordered_inputs_in_every_output_mode(processes_client, tmp_path, keywords):
    marks, out = tmp_path / "marks", tmp_path / "out"
    with ParallelMap(funcs.counted, [1, 2, 3, 4], str(marks), output_dir=out, client=processes_client,
                     batch_size=2, **keywords) as pmap:
        pmap.compute()
    clear(marks)
    xs = [4, 5, 2, 1, 3]
    with ParallelMap(funcs.counted, xs, str(marks), output_dir=out, client=processes_client, batch_size=2,
                     **keywords) as pmap:
        result = pmap.compute()
    assert markers(marks) == ["5"]
    if keywords.get("write_pickle"):
        assert [read_payload(p) for p in result] == [x * x for x in xs]
        assert sorted(p.name for p in out.glob("counted_*.pickle")) == [f"counted_{i}.pickle" for i in range(5)]
        assert not (out / "counted_payload").exists()  # ACME's place: the pickles sit in output_dir
        return
    with h5py.File(pmap.results_container, "r") as h5:
        if "result_shape" in keywords:
            assert list(h5["result_0"][()]) == [x * x for x in xs]
        else:
            assert [h5[f"comp_{i}"]["result_0"][()] for i in range(5)] == [x * x for x in xs]


def test_identical_calls_stay_distinct_and_seeded_streams_keep_their_index(tmp_path):
    marks, out = tmp_path / "marks", tmp_path / "out"
    with ParallelMap(funcs.counted, 4, str(marks), n_inputs=3, output_dir=out) as pmap:
        pmap.compute(debug=True)
    assert markers(marks) == ["4", "4", "4"]
    clear(marks)
    with ParallelMap(funcs.counted, 4, str(marks), n_inputs=5, output_dir=out) as pmap:
        pmap.compute(debug=True)
    assert markers(marks) == ["4", "4"]  # the 4th and 5th of the identical calls are new

    seeded = tmp_path / "seeded"
    with ParallelMap(funcs.counted_draw, [1, 2, 3], str(marks), output_dir=seeded, seed=5) as pmap:
        pmap.compute(debug=True)
    clear(marks)
    with ParallelMap(funcs.counted_draw, [3, 2, 1], str(marks), output_dir=seeded, seed=5) as pmap:
        paths = pmap.compute(debug=True)
    assert markers(marks) == ["1", "3"]  # call 1 (x=2) kept its index, so its stream; the others moved
    import numpy as np

    assert [read_payload(p) for p in paths] == [
        np.random.default_rng(np.random.SeedSequence(5, spawn_key=(i,))).random() for i in range(3)
    ]


def test_a_changed_input_file_reruns_the_calls_that_read_it(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    files = [data / f"in{i}.txt" for i in range(3)]
    for i, f in enumerate(files):
        f.write_text("x" * (i + 1))
    marks, out = tmp_path / "marks", tmp_path / "out"
    run(funcs.counted_file, [str(f) for f in files], marks, out)
    clear(marks)
    files[1].write_text("changed!")  # new size and mtime
    assert [read_payload(p) for p in run(funcs.counted_file, [str(f) for f in files], marks, out)] == [1, 8, 3]
    assert markers(marks) == ["in1.txt"]

    import dask

    clear(marks)
    with dask.config.set({"acme_like.hash-file-content": True}):
        run(funcs.counted_file, [str(f) for f in files], marks, out)  # other identities: all again
        assert len(markers(marks)) == 3
        clear(marks)
        stat = files[2].stat()
        os.utime(files[2], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))  # touched, same content
        run(funcs.counted_file, [str(f) for f in files], marks, out)
        assert markers(marks) == []
