"""Every warning acme_like gives points at the user's line, not at a line of the package."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import funcs
from acme_like import AcmeLikeWarning, ParallelMap

pytestmark = pytest.mark.integration


def ours(caught):
    return [w for w in caught if issubclass(w.category, AcmeLikeWarning)]


@pytest.mark.parametrize(
    "keywords, text",
    [
        ({"result_dtype": "int32"}, "result_dtype='int32' has no effect without result_shape"),
        ({"write_worker_results": False, "output_dir": "x"}, "output_dir has no effect"),
        ({"write_worker_results": False, "single_file": True}, "single_file=True has no effect"),
        ({"write_pickle": True, "result_shape": (None,)}, "result_shape has no effect with write_pickle=True"),
    ],
)
def test_construction_warnings_point_at_the_users_line(keywords, text):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ParallelMap(funcs.add, [1, 2], 3, **keywords)
    [warning] = ours(caught)
    assert text in str(warning.message)
    assert warning.filename == __file__


def test_partition_on_a_local_run_warns_that_it_has_no_effect_at_the_users_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ParallelMap(funcs.add, [1, 2], 3, partition="nonexistent", n_workers=1, write_worker_results=False) as pmap:
            assert pmap.compute() == [12, 15]
    [warning] = [w for w in ours(caught) if "partition" in str(w.message)]
    assert "partition='nonexistent' has no effect" in str(warning.message)
    assert warning.filename == __file__


def test_pickled_results_warn_at_the_users_compute_line(threads_client, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ParallelMap(funcs.returns_dict, [1, 2], client=threads_client, output_dir=tmp_path / "d") as pmap:
            pmap.compute()
    [warning] = ours(caught)
    assert "Some compute runs could not be saved as HDF5" in str(warning.message)
    assert warning.filename == __file__


def test_large_arguments_warn_at_the_users_line():
    class Small(ParallelMap):
        _maxArgSize = 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Small(funcs.total, [np.zeros(300_000)], write_worker_results=False)
    [warning] = ours(caught)
    assert warning.filename == __file__
