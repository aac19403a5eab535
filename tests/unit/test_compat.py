"""ACME's names over acme_like's frozen values: ACMEdaemon, argv/kwargv, config (acme_like.compat)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from acme_like import ACMEdaemon, ParallelMap


def shifted(x, y, *rest, z=1, w=2, **extra):
    return x


def test_argv_and_kwargv_follow_acme_parameters_with_a_default_are_keywords(tmp_path):
    pmap = ParallelMap(shifted, [1, 2, 3], 5, 7, w=np.arange(3), q="s", output_dir=tmp_path / "run")

    assert pmap.argv == [[1, 2, 3], [5], [7]]
    assert pmap.kwargv == {"q": ["s"], "w": [0, 1, 2]}
    pmap.argv[0].append(4)  # fresh lists: nothing of the plan changes
    assert pmap.argv[0] == [1, 2, 3]


def test_config_is_a_read_only_snapshot_with_acmes_fields(tmp_path):
    out = tmp_path / "run"
    pmap = ParallelMap(shifted, [1, 2, 3], 5, write_pickle=True, output_dir=out, n_workers=2)
    config = pmap.config

    assert (config.n_calls, config.n_workers, config.client, config.results_container) == (3, 2, None, None)
    assert config.output_dir == str(out) and config.write_pickle and not config.collect_results
    assert config.kwargv["outFile"] == [str(pmap.layout.pickle_path(i)) for i in range(3)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_calls = 4
    with pytest.raises(TypeError):
        config.kwargv["outFile"] = []
    assert not out.exists()


def test_single_file_and_in_memory_runs_name_acmes_out_files(tmp_path):
    single = ParallelMap(shifted, [1, 2], 5, single_file=True, output_dir=tmp_path / "one").config
    memory = ParallelMap(shifted, [1, 2], 5, write_worker_results=False).config

    assert single.kwargv["outFile"] == [str(tmp_path / "one" / "shifted.h5")]
    assert "outFile" not in memory.kwargv and memory.collect_results and memory.output_dir is None


def test_the_daemon_is_one_view_that_delegates(tmp_path):
    pmap = ParallelMap(shifted, [1, 2], 5, write_worker_results=False)

    assert pmap.daemon is pmap.daemon and isinstance(pmap.daemon, ACMEdaemon)
    assert pmap.daemon.config == pmap.config
    assert pmap.daemon.compute(debug=True) == [1, 2]
    assert pmap.daemon.results_container is None
    pmap.daemon.cleanup()
    with pytest.raises(AttributeError):
        pmap.daemon.anything = 1  # __slots__, as ACME's daemon


def test_acmes_max_arg_size_class_attribute_still_sets_the_limit_of_the_warning():
    class Small(ParallelMap):  # how ACME's users lower ParallelMap._maxArgSize (MB)
        _maxArgSize = 1

    with pytest.warns(UserWarning, match=r"argument y is 2 MB, over the recommended limit of 1 MB"):
        Small(shifted, [1, 2], np.zeros((500, 500)), write_worker_results=False)
