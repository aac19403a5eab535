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
        ({"n_workers": "many"}, ValueError, r'n_workers must be "auto" or an integer >= 1 \(workers to start\), got \'many\'\. Pass n_workers=1 or n_workers="auto"\.'),
        ({"n_workers": 0}, ValueError, r'n_workers must be "auto" or an integer >= 1 \(workers to start\), got 0\. Pass n_workers=1 or more\.'),
        ({"n_workers": 2.5}, ValueError, r"got 2\.5\. Pass a whole number such as n_workers=2\."),
        ({"n_workers": [2]}, TypeError, r"got list \[2\]"),
        ({"mem_per_worker": 4.5}, TypeError, r'mem_per_worker must be "auto" or a size like "2GB" or "1500MB", got float 4\.5'),
        ({"mem_per_worker": "lots"}, ValueError, r'mem_per_worker must be "auto" or a size like "2GB" or "1500MB" \(kB, MB, GB are powers of 1000; KiB, MiB, GiB powers of 1024\), got \'lots\''),
        ({"stop_client": "sometimes"}, ValueError, r'stop_client must be "auto", True or False, got \'sometimes\''),
        ({"stop_client": 1}, TypeError, r"got int 1"),
        ({"verbose": "loud"}, TypeError, r"verbose must be None, True or False, got str 'loud'"),
        ({"logfile": 5}, TypeError, r"logfile must be None, True, False or a file name, got int 5"),
        ({"rerun": "some"}, ValueError, r'rerun must be "missing" or "keep-stale" or "all" \("missing": calls without a valid result of the same code.*\), got \'some\''),
        ({"version": 2}, TypeError, r"version must be None or a non-empty string"),
        ({"retries": -1}, ValueError, r"retries must be an integer >= 0 \(extra attempts of a call that raises\), got -1\. Pass retries=0 or more\."),
        ({"worker_retries": 1.5}, ValueError, r"worker_retries must be an integer >= 0 \(.*\), got 1\.5"),
        ({"seed": "x"}, TypeError, r"seed must be None or an integer >= 0, got str 'x'"),
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
    with pytest.raises(TypeError, match=r"^`debug` has to be `True` or `False`, not <class 'str'>: got 'yes'\.$"):
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
    with pytest.raises(ValueError, match=r'batch_size must be "auto" or an integer >= 1 \(calls per task\), got 0'):
        make(batch_size=0)


def _keyword_defaults(func, leave_out=()):
    import inspect

    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in leave_out
    }


def test_parallel_maps_signature_lists_exactly_the_checked_keywords_with_their_defaults():
    from acme_like.core.options import CHECKS

    signature = _keyword_defaults(ParallelMap, leave_out=("func", "acme_like_options"))
    assert signature == {name: keyword.default for name, keyword in CHECKS.items()}


def test_slurm_cluster_setups_signature_lists_exactly_the_request_checkers_with_their_defaults():
    from acme_like import slurm_cluster_setup
    from acme_like.batch.request import REQUEST_CHECKS

    # preset and estimated_bytes are resolved by plan_cluster before the request is checked.
    signature = _keyword_defaults(slurm_cluster_setup, leave_out=("preset", "estimated_bytes"))
    assert signature == {name: keyword.default for name, keyword in REQUEST_CHECKS.items()}


@pytest.mark.parametrize("value", [2.5, 0, -1, True, "4", None, float("nan"), float("inf")])
def test_n_workers_gets_one_answer_from_parallel_map_and_slurm_cluster_setup(value):
    from acme_like.batch.request import resolve_request

    if value is None:
        pytest.skip("None means the preset's count in slurm_cluster_setup")
    with pytest.raises(Exception) as from_pmap:
        make(n_workers=value)
    with pytest.raises(Exception) as from_setup:
        resolve_request(n_workers=value)
    assert type(from_pmap.value) is type(from_setup.value)
    assert str(from_pmap.value) == str(from_setup.value)


@pytest.mark.parametrize("value", ["300", "100MB", "lots", 2.5, "-1GB"])
def test_mem_per_worker_gets_one_answer_from_parallel_map_and_slurm_cluster_setup(value):
    from acme_like.batch.request import resolve_request

    with pytest.raises(Exception) as from_pmap:
        make(mem_per_worker=value)
    with pytest.raises(Exception) as from_setup:
        resolve_request(mem_per_worker=value)
    assert type(from_pmap.value) is type(from_setup.value)
    assert str(from_pmap.value) == str(from_setup.value)


def test_options_are_grouped_by_who_reads_them():
    from acme_like.core.options import resolve_options

    options = resolve_options(n_workers=3, mem_per_worker="2GB", retries=1, verbose=False, cleanup_threshold_days=2)
    assert (options.cluster.n_workers, options.cluster.mem_per_worker) == (3, 2 * 10**9)
    assert (options.run.retries, options.log.verbose, options.output.cleanup_threshold_days) == (1, False, 2.0)


# -- acme_like's own keywords never capture one meant for func (ACME passes it to func) ----------


def seeded(x, seed):
    return x + seed


def retried(x, retries=5, **kw):
    return retries


def test_a_keyword_funcs_signature_names_goes_to_func_with_one_warning_at_the_users_line():
    with pytest.warns(UserWarning, match=r"seed went to seeded, whose signature names it .*acme_like_options=\{'seed': \.\.\.\}") as caught:
        pmap = ParallelMap(seeded, [1, 2, 3], seed=[10, 20, 30], write_worker_results=False)
    assert len(caught) == 1 and caught[0].filename == __file__
    assert pmap.compute(debug=True) == [11, 22, 33]
    assert pmap.options.run.seed is None  # acme_like's own option is not set by it


def test_acme_like_options_sets_acme_likes_own_option_anyway_without_a_warning(recwarn):
    pmap = ParallelMap(seeded, [1, 2], seed=[10, 20], acme_like_options={"seed": 7, "retries": 2}, write_worker_results=False)
    assert (pmap.options.run.seed, pmap.options.run.retries) == (7, 2)
    assert pmap.compute(debug=True) == [11, 22]
    assert not [w for w in recwarn if "went to" in str(w.message)]


def test_a_default_of_func_is_kept_when_the_keyword_is_not_written():
    pmap = ParallelMap(retried, [1, 2], write_worker_results=False)
    assert pmap.compute(debug=True) == [5, 5]
    with pytest.warns(UserWarning, match=r"retries went to retried"):
        pmap = ParallelMap(retried, [1, 2], retries=0, write_worker_results=False)
    assert pmap.compute(debug=True) == [0, 0] and pmap.options.run.retries == 0


def test_a_keyword_only_var_keywords_take_stays_acme_likes():
    pmap = ParallelMap(funcs.square_kw, [1, 2], seed=3, retries=1, write_worker_results=False)
    assert (pmap.options.run.seed, pmap.options.run.retries) == (3, 1)


@pytest.mark.parametrize(
    "options, error, match",
    [
        ([("seed", 1)], TypeError, r"acme_like_options must be a dict of acme_like's own keywords, got list"),
        ({"n_workers": 2}, ValueError, r"acme_like_options takes only acme_like's own keywords .* got \['n_workers'\]\. Pass n_workers=\.\.\. to ParallelMap directly"),
        ({"seed": "x"}, TypeError, r"seed must be None or an integer >= 0, got str 'x'"),
    ],
)
def test_bad_acme_like_options(options, error, match):
    with pytest.raises(error, match=match):
        make(acme_like_options=options)


def test_an_option_given_twice_is_refused():
    with pytest.raises(ValueError, match=r"seed is given twice, as seed=\.\.\. and in acme_like_options\. Pass it once\."):
        make(seed=1, acme_like_options={"seed": 2})
