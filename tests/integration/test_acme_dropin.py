"""ACME's user-visible behaviour, checked the way an ACME user's script and analysis code see it.

Every test here is written against ACME's documented behaviour (files, names, shapes,
attributes, messages), uses only what ``from acme_like import ...`` offers, and reads
results with h5py or pickle, as analysis code written for ACME does. Where ACME has a
bug (numbered as in ACME's bug list of the behaviour notes), the test expects the fix.

A test marked ``xfail(strict=True)`` documents a difference that is still to be
removed; once it is, the test passes, fails loudly as XPASS, and its mark goes.
Runs attach to a shared local cluster made the default client, as ACME scripts
reuse a client; only the shut-down message test lets ParallelMap start its own.
"""

from __future__ import annotations

import inspect
import os
import pickle
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import dropin_funcs
import funcs
import acme_like
from acme_like import ParallelMap, TaskError, read_payload

pytestmark = pytest.mark.integration

HIDDEN = ".acme_like"  # the one folder where acme_like may keep files of its own


def xfail(what: str):
    return pytest.mark.xfail(strict=True, reason=f"drop-in: {what}")


@pytest.fixture
def acme_client(processes_client):
    """The shared local cluster as the running default client, which ParallelMap attaches to."""
    with processes_client.as_current():
        yield processes_client


def visible(directory: Path) -> list[str]:
    """What a user sees in ``directory``, acme_like's hidden folder left aside."""
    return sorted(name for name in os.listdir(directory) if name != HIDDEN)


def logs_in(directory: Path, func_name: str) -> list[str]:
    return sorted(p.name for p in directory.glob(f"ACME_{func_name}_*.log"))


def run(func, *args, **kwargs):
    with ParallelMap(func, *args, **kwargs) as pmap:
        results = pmap.compute()
    return pmap, results


# -- stored values (notes 5.3) --------------------------------------------------------------


def test_a_scalar_result_is_a_one_element_dataset(acme_client, tmp_path):
    pmap, _ = run(funcs.add, [2, 4, 6, 8], 4, output_dir=tmp_path / "run")

    with h5py.File(pmap.results_container, "r") as h5f:
        values = [h5f[f"comp_{i}"]["result_0"][()] for i in range(4)]
    assert [v.shape for v in values] == [(1,)] * 4
    assert [v.tolist() for v in values] == [[18], [24], [30], [36]]


def test_a_tuple_of_scalars_gives_one_one_element_dataset_per_value(acme_client, tmp_path):
    pmap, _ = run(dropin_funcs.pair, [1, 2, 3], output_dir=tmp_path / "run")

    with h5py.File(pmap.results_container, "r") as h5f:
        comp = h5f["comp_1"]
        assert sorted(comp.keys()) == ["result_0", "result_1"]  # bug 6 fixed: no collapse
        assert comp["result_0"][()].tolist() == [2]
        assert comp["result_1"][()].tolist() == [2.5]
        assert comp["result_0"].shape == comp["result_1"].shape == (1,)


def test_a_returned_string_is_a_one_element_array_of_byte_strings(acme_client, tmp_path):
    pmap, _ = run(dropin_funcs.label, [1, 2], output_dir=tmp_path / "run")

    with h5py.File(pmap.results_container, "r") as h5f:
        dataset = h5f["comp_0"]["result_0"]
        assert h5py.check_string_dtype(dataset.dtype) is not None
        assert dataset.shape == (1,)
        assert dataset[()].tolist() == [b"s1"]


def test_a_string_beside_an_array_is_a_scalar_byte_string(acme_client, tmp_path):
    pmap, _ = run(funcs.two_values, [2, 3], output_dir=tmp_path / "run")

    with h5py.File(pmap.results_container, "r") as h5f:
        np.testing.assert_array_equal(h5f["comp_0"]["result_0"][()], [0.0, 1.0])
        assert h5f["comp_0"]["result_1"][()] == b"label-2"


def test_dicts_are_pickled_into_the_output_directory_under_their_call_index(acme_client, tmp_path):
    out = tmp_path / "run"
    pmap, paths = run(funcs.returns_dict, list(range(7)), output_dir=out)

    names = [f"returns_dict_{i}.pickle" for i in range(7)]  # bug 3 fixed: call 5 is not "returns_dict_.pickle"
    assert visible(out) == sorted(names + logs_in(out, "returns_dict"))
    assert paths == [str(out / name) for name in names]
    assert pmap.results_container is None
    for i, name in enumerate(names):
        with open(out / name, "rb") as stream:
            assert pickle.load(stream) == {"x": i}  # bug 4 fixed: not wrapped in a list


def test_when_one_call_is_pickled_every_payload_moves_up_and_the_container_goes(acme_client, tmp_path):
    out = tmp_path / "run"
    pmap, paths = run(funcs.dict_for_1_and_15, [0, 1, 2], output_dir=out)

    names = ["dict_for_1_and_15_0.h5", "dict_for_1_and_15_1.pickle", "dict_for_1_and_15_2.h5"]
    assert visible(out) == sorted(names + logs_in(out, "dict_for_1_and_15"))
    assert paths == [str(out / name) for name in names]
    assert pmap.results_container is None
    with h5py.File(out / names[2], "r") as h5f:
        assert h5f["result_0"][()].tolist() == [2]


def test_a_none_result_is_no_pickle_and_reads_back_as_none(acme_client, tmp_path):
    out = tmp_path / "run"
    pmap, paths = run(funcs.returns_none, [1, 2, 3], output_dir=out)

    assert not list(out.rglob("*.pickle"))
    assert [read_payload(path) for path in paths] == [None, None, None]


# -- files and places (notes 3.2, 5.2, 5.5, 5.6, 5.10) ---------------------------------------


def test_write_pickle_puts_one_pickle_per_call_in_the_output_directory(acme_client, tmp_path):
    out = tmp_path / "run"
    pmap, paths = run(funcs.add, [2, 4, 6, 8], 4, write_pickle=True, output_dir=out)

    names = [f"add_{i}.pickle" for i in range(4)]
    assert visible(out) == sorted(names + logs_in(out, "add"))
    assert paths == [str(out / name) for name in names]
    assert pmap.results_container is None
    values = []
    for name in names:
        with open(out / name, "rb") as stream:
            values.append(pickle.load(stream))
    assert values == [18, 24, 30, 36]


def test_single_file_leaves_only_the_container_and_the_log(acme_client, tmp_path):
    out = tmp_path / "run"
    pmap, results = run(funcs.add, [2, 4, 6, 8], 4, single_file=True, output_dir=out)

    assert results == [str(out / "add.h5")] == [pmap.results_container]
    assert visible(out) == sorted(["add.h5"] + logs_in(out, "add"))
    assert len(logs_in(out, "add")) == 1


def test_a_dry_run_leaves_exactly_acmes_files(acme_client, tmp_path):
    out = tmp_path / "run"
    pmap, paths = run(funcs.add, [2, 4, 6, 8], 4, dryrun=True, output_dir=out)

    assert visible(out) == sorted(["add.h5", "add_payload"] + logs_in(out, "add"))
    assert len(logs_in(out, "add")) == 1
    assert sorted(p.name for p in (out / "add_payload").glob("*.h5")) == [f"add_{i}.h5" for i in range(4)]
    assert paths == [str(out / "add_payload" / f"add_{i}.h5") for i in range(4)]


# -- stacked results (notes 5.4) -------------------------------------------------------------


def test_stacked_results_are_a_virtual_dataset_with_relative_sources(acme_client, tmp_path):
    run(funcs.vector, [1, 2, 3, 4], result_shape=(None, 3), output_dir=tmp_path / "run")
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "run", moved)  # bug 8 fixed: relative sources survive a move

    with h5py.File(moved / "vector.h5", "r") as h5f:
        stacked = h5f["result_0"]
        assert stacked.is_virtual
        assert (stacked.shape, stacked.dtype) == ((4, 3), np.dtype("float64"))
        assert all(not os.path.isabs(source.file_name) for source in stacked.virtual_sources())
        np.testing.assert_array_equal(stacked[()], np.repeat([[1.0], [2.0], [3.0], [4.0]], 3, axis=1))


def test_an_unlimited_axis_is_unlimited_in_maxshape_and_short_rows_are_filled_with_nan(acme_client, tmp_path):
    run(funcs.ramp, [2, 4, 3], result_shape=(None, np.inf), output_dir=tmp_path / "run")

    with h5py.File(tmp_path / "run" / "ramp.h5", "r") as h5f:
        stacked = h5f["result_0"]
        assert (stacked.shape, stacked.dtype) == ((3, 4), np.dtype("float64"))
        assert stacked.maxshape[1] is None
        data = stacked[()]
    np.testing.assert_array_equal(data[1], [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(data[0, :2], [0.0, 1.0])
    assert np.isnan(data[0, 2:]).all() and np.isnan(data[2, 3])  # bug 7 fixed: no silent zeros


def test_stacked_runs_return_the_per_call_payload_files(acme_client, tmp_path):
    out = tmp_path / "run"
    _, paths = run(funcs.ramp, [2, 3, 4], result_shape=(None, np.inf), output_dir=out)

    assert paths == [str(out / "ramp_payload" / f"ramp_{i}.h5") for i in range(3)]
    for i, path in enumerate(paths):
        with h5py.File(path, "r") as h5f:
            assert h5f["result_0"][()].tolist() == [float(v) for v in range(i + 2)]


# -- the container and the payload directory (notes 5.2) -------------------------------------


def test_container_keys_iterate_in_call_order(acme_client, tmp_path):
    pmap, _ = run(funcs.add, list(range(12)), 1, output_dir=tmp_path / "run")

    with h5py.File(pmap.results_container, "r") as h5f:
        assert list(h5f.keys()) == [f"comp_{i}" for i in range(12)]
        for k, key in enumerate(h5f.keys()):  # ACME's documented reading idiom
            assert h5f[key]["result_0"][()].tolist() == [(k + 1) * 3]


def test_the_container_holds_only_comp_entries(acme_client, tmp_path):
    pmap, _ = run(funcs.add, [2, 4, 6, 8], 4, output_dir=tmp_path / "run")

    with h5py.File(pmap.results_container, "r") as h5f:
        assert sorted(h5f.keys()) == [f"comp_{i}" for i in range(4)]


def test_the_payload_directory_holds_only_payload_files(acme_client, tmp_path):
    out = tmp_path / "run"
    run(funcs.add, [2, 4, 6, 8], 4, output_dir=out)

    assert visible(out) == sorted(["add.h5", "add_payload"] + logs_in(out, "add"))
    assert sorted(os.listdir(out / "add_payload")) == [f"add_{i}.h5" for i in range(4)]


def test_a_failed_run_leaves_only_acmes_files_beside_the_hidden_folder(acme_client, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        run(funcs.fail_on_odd, [1, 2, 3, 4], output_dir=out)

    assert visible(out) == sorted(["fail_on_odd.h5", "fail_on_odd_payload"] + logs_in(out, "fail_on_odd"))


def test_a_function_from_a_module_on_the_callers_sys_path_runs_on_a_running_client(acme_client, tmp_path, monkeypatch):
    import importlib

    def module_in(folder, name, factor):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{name}.py").write_text(f"def times(x):\n    return {factor} * x\n")
        monkeypatch.syspath_prepend(str(tmp_path / folder))
        return importlib.import_module(name)

    _, values = run(module_in("modules", "dropin_user_module", 3).times, [1, 2, 3], write_worker_results=False)
    assert values == [3, 6, 9]
    # A path entry added after that run reaches the same client's workers too.
    _, values = run(module_in("later", "dropin_later_module", 4).times, [1, 2, 3], write_worker_results=False)
    assert values == [4, 8, 12]


# -- public surface (notes 1, 3.1, 4.5) -------------------------------------------------------

ESI_PARAMETERS = [
    "partition", "n_workers", "mem_per_worker", "cores_per_worker", "n_workers_startup", "timeout",
    "interactive", "interactive_wait", "start_client", "job_extra", "mem_cushion", "kwargs",
]


@pytest.mark.parametrize(
    "name, timeout, mem_cushion", [("esi_cluster_setup", 60, 100), ("bic_cluster_setup", 120, 500)]
)
def test_site_cluster_setups_have_acmes_signatures(name, timeout, mem_cushion):
    setup = getattr(acme_like, name)
    parameters = inspect.signature(setup).parameters

    assert list(parameters) == ESI_PARAMETERS
    assert parameters["partition"].default is inspect.Parameter.empty
    assert parameters["kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    defaults = {key: p.default for key, p in parameters.items() if key not in ("partition", "job_extra", "kwargs")}
    assert defaults == {
        "n_workers": 2, "mem_per_worker": "auto", "cores_per_worker": None, "n_workers_startup": 1,
        "timeout": timeout, "interactive": True, "interactive_wait": 120, "start_client": True,
        "mem_cushion": mem_cushion,
    }


def test_esi_cluster_setup_falls_back_to_a_local_cluster_off_site():
    from acme_like import cluster_cleanup, esi_cluster_setup

    client = esi_cluster_setup(partition="auto", n_workers=1, interactive=False)
    try:
        assert client.status == "running"
        assert len(client.scheduler_info()["workers"]) >= 1
    finally:
        cluster_cleanup(client)


def test_acmedaemon_is_built_only_from_a_parallelmap():
    from acme_like import ACMEdaemon

    with pytest.raises(TypeError, match=re.escape("`pmap` has to be a `ParallelMap` instance, not <class 'str'>")):
        ACMEdaemon("x")


def test_parallelmap_keeps_n_inputs_func_and_max_arg_size(tmp_path):
    pmap = ParallelMap(funcs.add, [2, 4, 6, 8], 4, output_dir=tmp_path / "run")

    assert pmap.n_inputs == 4
    assert pmap.func is funcs.add
    assert ParallelMap._maxArgSize == 1024
    assert not (tmp_path / "run").exists()


def test_parallelmap_exposes_daemon_argv_and_kwargv(tmp_path):
    from acme_like import ACMEdaemon

    pmap = ParallelMap(funcs.add, [2, 4, 6, 8], 4, z=3, output_dir=tmp_path / "run")

    assert isinstance(pmap.daemon, ACMEdaemon)
    assert pmap.argv == [[2, 4, 6, 8], [4]]
    assert pmap.kwargv["z"] == [3]
    assert not (tmp_path / "run").exists()  # read-only views: constructing still writes nothing


def test_the_context_target_offers_compute_with_debug_cleanup_and_results_container(tmp_path):
    with ParallelMap(funcs.add, [2, 4], 4, output_dir=tmp_path / "run") as pmap:
        paths = pmap.compute(debug=True)
        assert pmap.results_container == str(tmp_path / "run" / "add.h5")
        pmap.cleanup()
    assert [Path(p).name for p in paths] == ["add_0.h5", "add_1.h5"]


def test_the_context_target_has_a_config_with_acmes_fields(acme_client, tmp_path):
    out = tmp_path / "run"
    with ParallelMap(funcs.add, [2, 4, 6, 8], 4, output_dir=out) as pmap:
        pmap.compute()
        config = pmap.config
        assert config.output_dir == str(out)
        assert config.n_calls == 4
        assert config.n_workers == 2
        assert config.client is acme_client
        assert Path(config.logfile).parent == out and Path(config.logfile).exists()
        assert config.kwargv["outFile"] == [str(out / "add_payload" / f"add_{i}.h5") for i in range(4)]
        assert isinstance(config.collect_results, bool)
        assert config.results_container == pmap.results_container


def test_the_context_target_can_estimate_memory(tmp_path):
    with ParallelMap(funcs.add, [2, 4], 4, output_dir=tmp_path / "run") as pmap:
        estimate = pmap.profiler.estimate_memory()
    assert re.fullmatch(r"estimate_memuse:\d+", estimate)


# -- messages (notes 2, 3.4, 4.2, 6) ----------------------------------------------------------


def test_the_log_says_successfully_shut_down_after_a_run_parallelmap_started(tmp_path):
    out = tmp_path / "run"
    with ParallelMap(funcs.add, [2, 4], 4, n_workers=1, output_dir=out) as pmap:
        pmap.compute()
    text = Path(pmap.logfile).read_text()
    assert "Successfully shut down" in text


def test_failed_calls_raise_acmes_first_line_as_a_runtime_error(acme_client, tmp_path):
    with pytest.raises(RuntimeError) as caught:
        run(funcs.fail_on_odd, [1, 2, 3, 4], output_dir=tmp_path / "run")

    assert isinstance(caught.value, TaskError)
    assert str(caught.value).splitlines()[0].startswith("Parallel computation failed: 2/4 tasks failed or stalled")


def test_compute_rejects_a_non_boolean_debug_with_acmes_text(tmp_path):
    pmap = ParallelMap(funcs.add, [2, 4], 4, output_dir=tmp_path / "run")
    with pytest.raises(TypeError, match=re.escape("`debug` has to be `True` or `False`, not <class 'str'>")):
        pmap.compute(debug="invalid")


def _case(case_id, args, kwargs, error, text):
    return pytest.param(args, kwargs, error, text, id=case_id)


ADD = funcs.add

VALIDATION_CASES = [
    _case("func-not-callable", (3, [1, 2]), {}, TypeError,
          "first input has to be a callable function, not <class 'int'>"),
    _case("too-few-positionals", (ADD, [1, 2]), {}, ValueError,
          "add expects 2 positional arguments ('x', 'y'), found 1"),
    _case("too-many-keywords", (ADD, [1, 2], 3), {"z": 1, "w": 2}, ValueError,
          "add accepts at maximum 1 keyword arguments ('z'), found 2"),
    _case("lengths-differ", (ADD, [2, 4, 6, 8], np.ones(3)), {}, ValueError,
          "automatic input distribution failed: found 2 objects containing 3 to 4 elements. "
          "Please specify `n_inputs` manually."),
    _case("nothing-to-split", (ADD, 2, 3), {}, ValueError,
          "automatic input distribution failed: found 0 objects containing 0 to 0 elements"),
    _case("n_inputs-matches-no-length", (ADD, [2, 4, 6, 8], 4), {"n_inputs": 3}, ValueError,
          "No object has required length of 3 matching `n_inputs`"),
    _case("n_inputs-bad-string", (ADD, [2, 4], 4), {"n_inputs": "three"}, ValueError,
          "`n_inputs` has to be 'auto' or an integer"),
    _case("n_inputs-zero", (ADD, [2, 4], 4), {"n_inputs": 0}, ValueError,
          "`n_inputs` has to be an integer between 1 and inf, not 0"),
    _case("n_inputs-bool", (ADD, [2, 4], 4), {"n_inputs": True}, TypeError,
          "`n_inputs` has to be a scalar, not <class 'bool'>"),
    _case("write_worker_results-not-bool", (ADD, [2, 4], 4), {"write_worker_results": "invalid"}, TypeError,
          "`write_worker_results` has to be `True` or `False`, not invalid"),
    _case("output_dir-not-str", (ADD, [2, 4], 4), {"output_dir": 3}, TypeError,
          "`output_dir` has to be either `None` or str, not <class 'int'>"),
    _case("pickle-and-single-file", (ADD, [2, 4], 4), {"write_pickle": True, "single_file": True}, ValueError,
          "Pickling of results does not support single output file creation."),
    _case("result_shape-not-tuple", (ADD, [2, 4], 4), {"result_shape": 3}, TypeError,
          "`result_shape` has to be either `None` or tuple, not <class 'int'>"),
    _case("result_shape-two-none", (ADD, [2, 4], 4), {"result_shape": (None, None)}, ValueError,
          "`result_shape` must contain exactly one `None` entry"),
    _case("result_shape-inf-in-memory", (ADD, [2, 4], 4),
          {"result_shape": (None, np.inf), "write_worker_results": False}, ValueError,
          "using `np.inf` in `result_shape` is only valid if `write_worker_results` is `True`"),
    _case("result_shape-two-inf", (ADD, [2, 4], 4), {"result_shape": (None, np.inf, np.inf)}, ValueError,
          "cannot use more than one `np.inf` in `result_shape`"),
    _case("result_shape-not-numeric", (ADD, [2, 4], 4), {"result_shape": ("a", None)}, ValueError,
          "`result_shape` must only contain numerical values"),
    _case("result_shape-negative", (ADD, [2, 4], 4), {"result_shape": (None, -1)}, ValueError,
          "`result_shape` must only contain non-negative integers"),
    _case("result_dtype-not-str", (ADD, [2, 4], 4), {"result_shape": (None,), "result_dtype": 3}, TypeError,
          "`result_dtype` has to be a string, not"),
    _case("result_dtype-unknown", (ADD, [2, 4], 4), {"result_shape": (None,), "result_dtype": "notadtype"},
          TypeError, "`result_dtype` has to be a valid NumPy datatype specification"),
    _case("n_workers-bad-string", (ADD, [2, 4], 4), {"n_workers": "invalid"}, ValueError,
          "`n_workers` has to be 'auto' or an integer >= 1, not invalid"),
    _case("mem_per_worker-not-str", (ADD, [2, 4], 4), {"mem_per_worker": 3}, TypeError,
          "Memory specification `mem_per_worker` has to be a string, not <class 'int'>"),
    _case("setup_timeout-negative", (ADD, [2, 4], 4), {"setup_timeout": -1}, ValueError,
          "`setup_timeout` has to be an integer between 0 and inf"),
    _case("stop_client-bad-string", (ADD, [2, 4], 4), {"stop_client": "x"}, ValueError,
          "`stop_client` has to be 'auto' or Boolean, not x"),
    _case("stop_client-not-bool", (ADD, [2, 4], 4), {"stop_client": 1}, TypeError,
          "`stop_client` has to be `True` or `False`, not <class 'int'>"),
    _case("verbose-not-bool", (ADD, [2, 4], 4), {"verbose": "x"}, TypeError,
          "`verbose` has to be `True`, `False` or `None`, not <class 'str'>"),
    _case("dryrun-not-bool", (ADD, [2, 4], 4), {"dryrun": "x"}, TypeError,
          "`dryrun` has to be `True` or `False`, not <class 'str'>"),
    _case("logfile-a-directory", (ADD, [2, 4], 4), {"logfile": "."}, OSError,
          "`logfile` has to be `None`, `True`, `False` or a valid file-name, not a directory"),
    _case("logfile-wrong-type", (ADD, [2, 4], 4), {"logfile": 3}, TypeError,
          "`logfile` has to be `None`, `True`, `False` or a valid file-name"),
]


@pytest.mark.parametrize("args, kwargs, error, text", VALIDATION_CASES)
def test_validation_errors_start_with_acmes_text(args, kwargs, error, text):
    with pytest.raises(error, match="^" + re.escape(text)) as caught:
        ParallelMap(*args, **kwargs)
    assert isinstance(caught.value, acme_like.AcmeLikeError)
    assert len(str(caught.value).splitlines()) > 1  # acme_like's text (what came in, the fix) follows
