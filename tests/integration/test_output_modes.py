"""Every output mode, read back with h5py: stacked, single file, pickles, emergency pickles."""

from __future__ import annotations

import math
import pickle
import shutil
from pathlib import Path

import dask
import h5py
import numpy as np
import pytest

import funcs
from acme_like import TaskError, read_payload

pytestmark = pytest.mark.integration


def test_stacked_results_form_one_virtual_dataset_that_survives_a_move(backend, tmp_path):
    with dask.config.set({"acme_like.stack-copy-limit": 0}):  # as for results too large to copy
        pmap, paths = backend.run(funcs.vector, [1, 2, 3, 4], result_shape=(None, 3), output_dir=tmp_path / "run")

    assert [Path(p).name for p in paths] == [f"vector_{i}.h5" for i in range(4)]
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "run", moved)
    with h5py.File(moved / "vector.h5", "r") as h5:
        stacked = h5["result_0"]
        assert stacked.is_virtual
        assert (stacked.shape, stacked.dtype) == ((4, 3), np.float64)
        np.testing.assert_array_equal(stacked[()], np.repeat([[1.0], [2.0], [3.0], [4.0]], 3, axis=1))
        assert all(not Path(source.file_name).is_absolute() for source in stacked.virtual_sources())
        assert h5["comp_2"]["result_1"][()] == 6  # the other return values stay per call


def test_small_stacked_results_are_copied_into_a_real_dataset_in_the_modern_layout(backend, tmp_path):
    with dask.config.set({"acme_like.layout": "modern"}):
        pmap, _ = backend.run(funcs.vector, [1, 2, 3, 4], result_shape=(None, 3), output_dir=tmp_path / "run")
    shutil.move(tmp_path / "run", tmp_path / "moved")
    with h5py.File(tmp_path / "moved" / "vector.h5", "r") as h5:
        assert not h5["result_0"].is_virtual
        np.testing.assert_array_equal(h5["result_0"][:, 2], [1.0, 2.0, 3.0, 4.0])
        assert h5["comp_3"]["result_1"][()] == 8


def test_stacking_axis_dtype_and_scalars(backend):
    _, _ = backend.run(funcs.vector, [1, 2], result_shape=(3, None), result_dtype="float32", output_dir="t")
    with h5py.File(Path("t") / "vector.h5", "r") as h5:
        assert (h5["result_0"].shape, h5["result_0"].dtype) == ((3, 2), np.float32)
        np.testing.assert_array_equal(h5["result_0"][:, 1], [2, 2, 2])

    _, _ = backend.run(funcs.add, [1, 2, 3], 0, z=1, result_shape=(None,), output_dir="s")
    with h5py.File(Path("s") / "add.h5", "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], [1.0, 2.0, 3.0])


def test_unlimited_axis_takes_the_longest_result_and_fills_the_rest(backend):
    _, _ = backend.run(funcs.ramp, [2, 4, 3], result_shape=(None, np.inf), output_dir="inf")
    with h5py.File(Path("inf") / "ramp.h5", "r") as h5:
        data = h5["result_0"][()]
    assert data.shape == (3, 4)
    np.testing.assert_array_equal(data[1], [0, 1, 2, 3])
    np.testing.assert_array_equal(data[0, :2], [0, 1])
    assert np.isnan(data[0, 2:]).all()


def test_a_call_that_does_not_fit_the_shape_fails_alone(backend):
    if backend.name == "debug":
        with pytest.raises(ValueError, match=r"call 1 returned a value of shape \(4,\)"):
            backend.run(funcs.ramp, [3, 4, 3], result_shape=(None, 3), output_dir="bad")
        return
    with pytest.raises(TaskError) as caught:
        backend.run(funcs.ramp, [3, 4, 3], result_shape=(None, 3), output_dir="bad")
    error = caught.value
    assert error.failed_indices == [1]
    assert (
        "call 1 returned a value of shape (4,), but result_shape=(None, 3) declares (3,) for each call"
        in str(error)
    )
    with h5py.File(error.results_container, "r") as h5:
        data = h5["result_0"][()]
    np.testing.assert_array_equal(data[[0, 2]], [[0, 1, 2], [0, 1, 2]])
    assert np.isnan(data[1]).all()


@pytest.mark.parametrize("on_disk", [True, False])
def test_a_value_the_stacked_dtype_would_wrap_fails_its_call_alone(backend, on_disk):
    where = {"output_dir": "int8"} if on_disk else {"write_worker_results": False}
    if backend.name == "debug":
        with pytest.raises(ValueError, match=r"call 1 returned 1000000, which result_dtype int8 cannot hold"):
            backend.run(funcs.square, [10, 1000, 3], result_shape=(None,), result_dtype="int8", **where)
        return
    with pytest.raises(TaskError) as caught:
        backend.run(funcs.square, [10, 1000, 3], result_shape=(None,), result_dtype="int8", **where)
    assert caught.value.failed_indices == [1]
    assert "call 1 returned 1000000, which result_dtype int8 cannot hold (it holds -128 to 127; the value would be stored as 64)" in str(caught.value)
    # Rounding is no overflow: float16 keeps 0.1 as its nearest value.
    _, values = backend.run(funcs.square, [0.1, 2.0], result_shape=(None,), result_dtype="float16", write_worker_results=False)
    np.testing.assert_array_equal(values, np.array([0.01, 4.0], dtype=np.float16))


def test_in_memory_stacking_returns_one_array_or_acmes_flat_list(backend):
    _, stacked = backend.run(funcs.ramp, [3, 3], result_shape=(None, 3), write_worker_results=False)
    np.testing.assert_array_equal(stacked, [[0, 1, 2], [0, 1, 2]])

    _, flat = backend.run(funcs.vector, [1, 2], result_shape=(None, 3), write_worker_results=False)
    np.testing.assert_array_equal(flat[0], [[1, 1, 1], [2, 2, 2]])
    assert flat[1:] == [2, 4]


def test_single_file_holds_everything_and_leaves_no_payloads(backend, tmp_path):
    pmap, paths = backend.run(funcs.vector, [1, 2, 3], single_file=True, output_dir=tmp_path / "one")

    assert paths == [pmap.results_container] == [str(tmp_path / "one" / "vector.h5")]
    assert sorted(p.name for p in (tmp_path / "one").iterdir() if p.suffix != ".log") == [".acme_like", "vector.h5"]
    leftovers = sorted(p.name for p in (tmp_path / "one" / ".acme_like").iterdir())
    assert "vector_journal.jsonl" in leftovers and "vector_manifest.json" in leftovers  # the record for resuming
    with h5py.File(paths[0], "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2"]
        assert not isinstance(h5.get("comp_1", getlink=True), h5py.ExternalLink)
        np.testing.assert_array_equal(h5["comp_1"]["result_0"][()], [2, 2, 2])
        assert h5["comp_2"]["result_1"][()] == 6


def test_single_file_stacked_is_a_real_dataset(backend, tmp_path):
    pmap, _ = backend.run(funcs.vector, [1, 2], result_shape=(None, 3), single_file=True, output_dir=tmp_path / "s")
    with h5py.File(pmap.results_container, "r") as h5:
        assert not h5["result_0"].is_virtual
        np.testing.assert_array_equal(h5["result_0"][()], [[1, 1, 1], [2, 2, 2]])
        assert h5["comp_1"]["result_1"][()] == 4


def test_single_file_stores_values_hdf5_cannot_hold_as_pickled_bytes(backend, tmp_path):
    with pytest.warns(UserWarning, match=r"pickled instead: calls 0, 1"):
        pmap, _ = backend.run(funcs.returns_dict, [4, 5], single_file=True, output_dir=tmp_path / "d")
    with h5py.File(pmap.results_container, "r") as h5:
        assert pickle.loads(h5["comp_1"]["pickle"][()].tobytes()) == {"x": 5}
    assert not list((tmp_path / "d" / "returns_dict_payload").glob("*.pickle"))


def test_write_pickle_gives_one_pickle_per_call_and_no_container(backend):
    pmap, paths = backend.run(funcs.vector, [1, 2], write_pickle=True, output_dir="p")
    assert [Path(p).name for p in paths] == ["vector_0.pickle", "vector_1.pickle"]
    assert {Path(p).parent for p in paths} == {Path("p").absolute()}  # ACME: beside the log, no payload dir
    with open(paths[1], "rb") as stream:
        values = pickle.load(stream)
    np.testing.assert_array_equal(values[0], [2, 2, 2])
    assert values[1] == 4
    assert pmap.results_container is None
    assert not Path("p", "vector.h5").exists()


def test_emergency_pickles_of_calls_1_and_15_never_collide_and_move_up_with_every_payload(backend):
    with pytest.warns(UserWarning, match=r"collection container .* has been removed .*\n?.*Calls 1, 15"):
        pmap, paths = backend.run(funcs.dict_for_1_and_15, list(range(16)), output_dir="e")
    assert Path(paths[1]).name == "dict_for_1_and_15_1.pickle"
    assert Path(paths[15]).name == "dict_for_1_and_15_15.pickle"
    assert {Path(p).parent for p in paths} == {Path("e").absolute()}  # ACME: every payload moves up
    assert read_payload(paths[1]) == {"x": 1} and read_payload(paths[15]) == {"x": 15}
    assert read_payload(paths[5]) == 5
    assert pmap.results_container is None and not Path("e", "dict_for_1_and_15.h5").exists()


def test_the_modern_layout_keeps_the_container_and_the_pickles_in_the_payload_directory(backend):
    with dask.config.set({"acme_like.layout": "modern"}), pytest.warns(UserWarning, match=r"pickled instead: calls 1, 15"):
        pmap, paths = backend.run(funcs.dict_for_1_and_15, list(range(16)), output_dir="e")
    assert Path(paths[15]).name == "dict_for_1_and_15_15.pickle"
    assert read_payload(paths[1]) == {"x": 1} and read_payload(paths[5]) == 5
    with h5py.File(pmap.results_container, "r") as h5:
        assert list(h5.attrs["pickled_calls"]) == [1, 15]
        assert h5["comp_15"].attrs["pickle"] == "dict_for_1_and_15_payload/dict_for_1_and_15_15.pickle"
        assert h5["comp_14"]["result_0"][()] == 14
        assert h5["comp_14"]["result_0"].shape == ()  # the modern layout's 0-d scalars
    assert read_payload(pmap.results_container, 15) == {"x": 15}


@pytest.mark.parametrize(
    "keywords, error, match",
    [
        ({"result_shape": 3}, TypeError, r"result_shape must be None or a tuple such as \(None, 3\), got int 3"),
        ({"result_shape": (3, 4)}, ValueError, r"exactly one None .* got \(3, 4\) with 0"),
        ({"result_shape": (None, None)}, ValueError, r"with 2"),
        ({"result_shape": (None, "a")}, ValueError, r"only None, non-negative integers and np.inf, got 'a'"),
        ({"result_shape": (None, -1)}, ValueError, r"got -1"),
        ({"result_shape": (None, 2.5)}, ValueError, r"got 2.5"),
        ({"result_shape": (None, np.inf, math.inf)}, ValueError, r"at most one unlimited axis"),
        ({"result_shape": (None, np.inf), "write_worker_results": False}, ValueError, r"np.inf .* needs results on disk"),
        ({"result_shape": (None,), "result_dtype": 3}, TypeError, r'result_dtype must be a NumPy dtype name such as "float32", got int 3'),
        ({"result_shape": (None,), "result_dtype": "floaty"}, TypeError, r"got 'floaty'"),  # ACME's type
        ({"result_shape": (None,), "result_dtype": "U4"}, ValueError, r"numeric or boolean dtype"),
        ({"single_file": True, "write_pickle": True}, ValueError, r"write_pickle=True cannot be combined with single_file=True"),
        ({"single_file": "yes"}, TypeError, r"single_file must be True or False, got str 'yes'"),
        ({"dryrun": 1}, TypeError, r"dryrun must be True or False, got int 1"),
        ({"cleanup_threshold_days": -1}, ValueError, r"cleanup_threshold_days must be None or a number of days >= 0"),
    ],
)
def test_bad_output_keywords_fail_before_anything_runs(keywords, error, match):
    from acme_like import ParallelMap

    with pytest.raises(error, match=match):
        ParallelMap(funcs.add, [1, 2], 3, **keywords)
    assert list(Path.cwd().iterdir()) == []


def test_modes_that_do_not_apply_in_memory_warn():
    from acme_like import ParallelMap

    with pytest.warns(UserWarning, match="single_file=True has no effect when write_worker_results is False"):
        ParallelMap(funcs.add, [1, 2], 3, single_file=True, write_worker_results=False)
    with pytest.warns(UserWarning, match="result_shape has no effect with write_pickle=True"):
        ParallelMap(funcs.add, [1, 2], 3, result_shape=(None,), write_pickle=True)


def test_stacked_batches_read_back_from_few_sources(processes_client, tmp_path):
    with dask.config.set({"acme_like.stack-copy-limit": 0}), ParallelMap_(funcs.vector, list(range(300)), result_shape=(None, 3), client=processes_client,
                      output_dir=tmp_path / "many", verbose=False) as pmap:
        paths = pmap.compute()
    with h5py.File(pmap.results_container, "r") as h5:
        stacked = h5["result_0"]
        assert len(stacked.virtual_sources()) < 100  # one source per batch of calls, not one per call
        np.testing.assert_array_equal(stacked[:, 0], np.arange(300.0))
        assert h5["comp_299"]["result_1"][()] == 598
    row, other = read_payload(paths[7])  # each call's file: its row of a shard, its other values
    np.testing.assert_array_equal(row, [7.0, 7.0, 7.0])
    assert other == 14


def test_stacked_batches_with_failures_and_a_single_file(processes_client, tmp_path):
    with pytest.raises(TaskError) as caught:
        with ParallelMap_(funcs.ramp, [3, 3, 4, 3] * 20, result_shape=(None, 3), client=processes_client,
                          output_dir=tmp_path / "one", single_file=True, verbose=False) as pmap:
            pmap.compute()
    assert caught.value.failed_indices == list(range(2, 80, 4))
    with h5py.File(caught.value.results_container, "r") as h5:
        data = h5["result_0"][()]
    assert np.isnan(data[2::4]).all()
    np.testing.assert_array_equal(data[0::4], np.tile([0.0, 1.0, 2.0], (20, 1)))
    assert not list((tmp_path / "one" / "ramp_payload").glob("*.h5"))


def test_a_damaged_shard_recomputes_exactly_its_calls(processes_client, tmp_path):
    marks, out = tmp_path / "marks", tmp_path / "out"
    with ParallelMap_(funcs.counted, list(range(60)), str(marks), result_shape=(None,), client=processes_client,
                      output_dir=out, batch_size=10, verbose=False) as pmap:
        pmap.compute()
    shard = out / "counted_payload" / "counted_stack_20.h5"
    data = bytearray(shard.read_bytes())
    data[-16:] = bytes(16)
    shard.write_bytes(bytes(data))
    for p in marks.iterdir():
        p.unlink()
    with ParallelMap_(funcs.counted, list(range(60)), str(marks), result_shape=(None,), client=processes_client,
                      output_dir=out, batch_size=10, verbose=False) as pmap:
        pmap.compute()
    assert sorted(int(p.name.split("-")[0]) for p in marks.iterdir()) == list(range(20, 30))
    with h5py.File(pmap.results_container, "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], np.arange(60.0) ** 2)


def ParallelMap_(*args, **kwargs):
    from acme_like import ParallelMap

    return ParallelMap(*args, **kwargs)
