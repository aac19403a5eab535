"""Every ParallelMap keyword: what is accepted and what each rejected value says."""

from __future__ import annotations

import pytest

import funcs
from acme_like import InputError, ParallelMap


def make(**keywords):
    return ParallelMap(funcs.add, [1, 2], 3, **keywords)


@pytest.mark.parametrize(
    "keywords, error, match",
    [
        ({"write_worker_results": "yes"}, TypeError, r"write_worker_results must be True or False, got str 'yes'"),
        ({"output_dir": 3}, TypeError, r"output_dir must be None or a path \(str or pathlib.Path\), got int 3"),
        ({"n_workers": "many"}, ValueError, r'n_workers must be "auto" or a positive integer, got \'many\''),
        ({"n_workers": 0}, ValueError, r'n_workers must be "auto" or a positive integer, got 0'),
        ({"n_workers": 2.5}, ValueError, r"got 2\.5"),
        ({"n_workers": [2]}, TypeError, r"got list \[2\]"),
        ({"mem_per_worker": 4}, TypeError, r'mem_per_worker must be "auto" or a size like "2GB", got int 4'),
        ({"mem_per_worker": "lots"}, ValueError, r'mem_per_worker must be a size like "2GB" or "1500MB", got \'lots\''),
        ({"stop_client": "sometimes"}, ValueError, r'stop_client must be "auto", True or False, got \'sometimes\''),
        ({"stop_client": 1}, TypeError, r"got int 1"),
        ({"verbose": "loud"}, TypeError, r"verbose must be None, True or False, got str 'loud'"),
        ({"logfile": 5}, TypeError, r"logfile must be None, True, False or a file name, got int 5"),
        ({"rerun": "some"}, ValueError, r'rerun must be "missing" .*"keep-stale" .* or "all", got \'some\''),
        ({"version": 2}, TypeError, r"version must be None or a non-empty string"),
        ({"retries": -1}, ValueError, r"retries must be an integer >= 0, got -1"),
        ({"worker_retries": 1.5}, ValueError, r"worker_retries must be an integer >= 0, got 1.5"),
        ({"seed": "x"}, ValueError, r"seed must be None or an integer >= 0, got 'x'"),
        ({"client": "tcp://x"}, TypeError, r"client must be a dask distributed Client or None, got str"),
    ],
)
def test_bad_keyword_values(keywords, error, match):
    with pytest.raises(error, match=match):
        make(**keywords)


def test_logfile_that_is_a_directory(tmp_path):
    with pytest.raises(ValueError, match=r"logfile must be None, True, False or a file name, but .* is a directory"):
        make(logfile=str(tmp_path))


def test_compute_debug_must_be_bool():
    with pytest.raises(TypeError, match=r"debug must be True or False, got str 'yes'"):
        make(write_worker_results=False).compute(debug="yes")


def test_unknown_keywords_go_to_the_function_and_ones_it_cannot_take_are_errors():
    assert make(z=10, write_worker_results=False).compute(debug=True) == [40, 50]
    with pytest.raises(InputError, match=r"got an unexpected keyword argument 'colour'\. add takes \(x, y, z=3\)"):
        make(colour="red")


def test_constructing_creates_nothing(tmp_path):
    make(output_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_results_no_resumable_run_wrote_are_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "add.h5").write_bytes(b"someone else's")
    with pytest.raises(InputError, match=r"already holds results of add .* without the record .* never overwritten"):
        make(output_dir=out).compute(debug=True)
    assert (out / "add.h5").read_bytes() == b"someone else's"


def test_output_dir_is_ignored_in_memory_with_a_warning():
    with pytest.warns(UserWarning, match="output_dir has no effect when write_worker_results is False"):
        make(write_worker_results=False, output_dir="unused")


def test_batch_size_must_be_auto_or_positive():
    with pytest.raises(ValueError, match=r'batch_size must be "auto" or a positive integer \(calls per task\), got 0'):
        make(batch_size=0)
