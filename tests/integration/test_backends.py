"""One body per rule, run in-process (debug), on a threads cluster and on a processes cluster."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import dask
import h5py
import numpy as np
import pytest

import funcs
from acme_like import TaskError, read_payload

pytestmark = pytest.mark.integration


def test_default_run_writes_one_payload_per_call_and_a_linking_container(backend):
    pmap, paths = backend.run(funcs.add, [2, 4, 6, 8], 4)

    run_dir = Path(pmap.output_dir)
    assert re.fullmatch(r"ACME_\d{8}-\d{6}-\d{6}", run_dir.name)
    assert run_dir.parent == Path.cwd()
    assert paths == [str(run_dir / "add_payload" / f"add_{i}.h5") for i in range(4)]
    for i, path in enumerate(paths):
        with h5py.File(path, "r") as h5:
            assert list(h5) == ["result_0"]
            assert h5["result_0"][()] == ([2, 4, 6, 8][i] + 4) * 3
    assert pmap.results_container == str(run_dir / "add.h5")
    with h5py.File(pmap.results_container, "r") as h5:
        assert sorted(h5) == [f"comp_{i}" for i in range(4)]
        link = h5.get("comp_2", getlink=True)
        assert isinstance(link, h5py.ExternalLink)
        assert link.filename == "add_payload/add_2.h5"
        assert h5["comp_2"]["result_0"][()] == 30
    assert not list(run_dir.rglob("*.partial"))


def test_each_return_value_is_its_own_dataset(backend):
    _, paths = backend.run(funcs.two_values, [1, 3], output_dir="out")

    with h5py.File(paths[1], "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], [0.0, 1.0, 2.0])
        assert h5["result_1"].asstr()[()] == "label-3"
    values = read_payload(paths[1])
    assert values[1] == "label-3"


def test_container_opens_after_the_run_directory_is_moved(backend, tmp_path):
    pmap, _ = backend.run(funcs.add, [1, 2, 3], 10, output_dir=tmp_path / "first")

    moved = tmp_path / "elsewhere" / "second"
    moved.parent.mkdir()
    shutil.move(pmap.output_dir, moved)
    os.chdir(moved.parent.parent.parent)  # neither the old nor the new directory
    with h5py.File(moved / "add.h5", "r") as h5:
        assert [h5[f"comp_{i}"]["result_0"][()] for i in range(3)] == [33, 36, 39]


def test_in_memory_returns_values_in_call_order(backend):
    pmap, values = backend.run(funcs.add, [5, 1, 7, 3], y=1, write_worker_results=False)

    assert values == [18, 6, 24, 12]
    assert pmap.output_dir is None
    assert pmap.results_container is None
    assert not list(Path.cwd().iterdir())


def test_task_id_gives_each_call_its_index_in_every_mode(backend):
    _, values = backend.run(funcs.with_task_id, ["a", "b", "c"], taskID=99, write_worker_results=False)
    assert values == [("a", 0), ("b", 1), ("c", 2)]

    _, paths = backend.run(funcs.with_task_id, [7, 7], output_dir="ids")
    assert [read_payload(p)[1] for p in paths] == [0, 1]


def test_identical_inputs_are_separate_calls(backend):
    _, paths = backend.run(funcs.with_task_id, [1, 1, 1, 1], output_dir="same")

    assert len(set(paths)) == 4
    assert [read_payload(p) for p in paths] == [(1, 0), (1, 1), (1, 2), (1, 3)]


def test_arguments_are_split_or_broadcast_as_inferred(backend):
    vector = np.arange(5.0)
    _, values = backend.run(funcs.total, [vector, vector * 2], offset=[1, 2], write_worker_results=False)
    assert values == [11.0, 22.0]

    # ACME's rule: with n_inputs, the arguments of another length (vector: 5) go whole to every call
    _, values = backend.run(funcs.total, vector, offset=[7, 8, 9], n_inputs=3, write_worker_results=False)
    assert values == [17.0, 18.0, 19.0]


def test_varargs_and_extra_keywords_reach_the_function(backend):
    _, values = backend.run(funcs.varargs, [1, 2], 10, scale=2, bonus=[100, 200], write_worker_results=False)
    assert values == [(1 + 10) * 2 + 100, (2 + 10) * 2 + 200]


def test_values_hdf5_cannot_hold_are_pickled_for_that_call_only_in_the_modern_layout(backend):
    with dask.config.set({"acme_like.layout": "modern"}), pytest.warns(UserWarning, match=r"pickled instead: calls 0, 1"):
        pmap, paths = backend.run(funcs.returns_dict, [4, 5], output_dir="dicts")

    assert [Path(p).name for p in paths] == ["returns_dict_0.pickle", "returns_dict_1.pickle"]
    assert read_payload(paths[1]) == {"x": 5}
    with h5py.File(pmap.results_container, "r") as h5:
        assert list(h5.attrs["pickled_calls"]) == [0, 1]
        assert h5["comp_1"].attrs["pickle"] == "returns_dict_payload/returns_dict_1.pickle"


def test_failed_calls_never_lose_the_others(backend):
    if backend.name == "debug":
        with pytest.raises(ValueError, match="odd input 1") as caught:
            backend.run(funcs.fail_on_odd, [0, 1, 2, 3, 4], output_dir="fails")
        assert type(caught.value) is ValueError  # the user's own exception, unchanged
        return

    with pytest.raises(TaskError) as caught:
        backend.run(funcs.fail_on_odd, [0, 1, 2, 3, 4], output_dir="Fails")

    error = caught.value
    message = str(error)
    first, second = message.splitlines()[:2]
    assert first == "Parallel computation failed: 2/5 tasks failed or stalled."  # ACME's first line
    assert second.startswith("2 of 5 calls of fail_on_odd failed; first failure: call 1 (x=1) raised ValueError: odd input 1.")
    assert 'raise ValueError(f"odd input {x}")' in message  # the worker's traceback
    assert isinstance(error, RuntimeError)
    assert error.failed_indices == [1, 3]
    assert [f.exc_type for f in error.failures] == ["ValueError", "ValueError"]
    assert isinstance(error.failures[1].exception, ValueError)
    assert "fail_on_odd" in error.failures[0].traceback
    run_dir = Path.cwd() / "Fails"
    assert f"are in {error.results_container}; every failure is listed in {error.failures_path};" in message
    assert error.results == [str(run_dir / "fail_on_odd_payload" / f"fail_on_odd_{i}.h5") if i % 2 == 0 else None for i in range(5)]
    with h5py.File(error.results_container, "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_2", "comp_4"]
        assert h5["comp_4"]["result_0"][()] == 40
        assert list(h5.attrs["failed_calls"]) == [1, 3]
    import json

    assert Path(error.failures_path) == run_dir / ".acme_like" / "fail_on_odd_failures.json"
    report = json.loads(Path(error.failures_path).read_text())
    assert report["failed_indices"] == [1, 3]
    assert report["failures"][1]["message"] == "odd input 3"
    assert report["failures"][1]["arguments"] == "x=3"


def test_failures_in_memory_keep_the_good_values(backend):
    if backend.name == "debug":
        with pytest.raises(ValueError, match="odd input 3"):
            backend.run(funcs.fail_on_odd, [2, 3, 4], write_worker_results=False)
        return
    with pytest.raises(TaskError, match=r"^Parallel computation failed: 1/3 tasks failed or stalled\.\n1 of 3 calls") as caught:
        backend.run(funcs.fail_on_odd, [2, 3, 4], write_worker_results=False)
    assert caught.value.results == [20, None, 40]
    assert caught.value.failures_path is None
