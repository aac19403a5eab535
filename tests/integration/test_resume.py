"""Never lose finished work: resume, damaged payloads, retries and per-call random streams."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import funcs
from acme_like import InputError, ParallelMap, TaskError, read_payload

pytestmark = pytest.mark.integration


def markers(directory):
    return sorted(int(p.name.split("-")[0]) for p in Path(directory).glob("*-*"))


def run(backend, *args, **kwargs):
    return backend.run(*args, **kwargs)


def test_running_again_computes_only_what_is_missing_or_failed(backend, tmp_path, caplog):
    marks = tmp_path / "marks"
    out = tmp_path / "out"
    run(backend, funcs.counted, list(range(6)), str(marks), output_dir=out)
    assert markers(marks) == list(range(6))

    # Lose call 2's result, truncate call 0's, corrupt call 4's (same size, other bytes); run again.
    os.remove(out / "counted_payload" / "counted_2.h5")
    payload0 = out / "counted_payload" / "counted_0.h5"
    payload0.write_bytes(payload0.read_bytes()[:100])
    payload4 = out / "counted_payload" / "counted_4.h5"
    data = bytearray(payload4.read_bytes())
    data[-64:] = bytes(b ^ 0xFF for b in data[-64:])
    payload4.write_bytes(bytes(data))
    for p in marks.iterdir():
        p.unlink()
    caplog.set_level("INFO", logger="acme_like")
    pmap, paths = run(backend, funcs.counted, list(range(6)), str(marks), output_dir=out)

    assert markers(marks) == [0, 2, 4]
    assert "3 of 6 calls already done, running 3" in caplog.text
    assert "3 payloads missing or damaged, recomputed (calls 0, 2, 4)" in caplog.text
    assert [read_payload(p) for p in paths] == [x * x for x in range(6)]
    with h5py.File(pmap.results_container, "r") as h5:
        assert [h5[f"comp_{i}"]["result_0"][()] for i in range(6)] == [x * x for x in range(6)]


def test_changed_arguments_rerun_and_rerun_all_runs_everything(tmp_path):
    marks = tmp_path / "marks"
    out = tmp_path / "out"
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out) as pmap:
        pmap.compute(debug=True)
    for p in marks.iterdir():
        p.unlink()
    with ParallelMap(funcs.counted, [1, 5, 3], str(marks), output_dir=out) as pmap:
        paths = pmap.compute(debug=True)
    assert markers(marks) == [5]
    assert read_payload(paths[1]) == 25
    with ParallelMap(funcs.counted, [1, 5, 3], str(marks), output_dir=out, rerun="all") as pmap:
        pmap.compute(debug=True)
    assert markers(marks) == [1, 3, 5, 5]


def test_other_output_settings_in_the_same_directory_are_refused(tmp_path):
    with ParallelMap(funcs.add, [1, 2], 3, output_dir=tmp_path) as pmap:
        pmap.compute(debug=True)
    with pytest.raises(InputError, match=r"other output settings \(output: 'hdf5' then, 'pickle' now\).*rerun=\"all\""):
        ParallelMap(funcs.add, [1, 2], 3, output_dir=tmp_path, write_pickle=True).compute(debug=True)


@pytest.mark.parametrize("keywords", [{"single_file": True}, {"result_shape": (None,)}, {"write_pickle": True}])
def test_resume_covers_every_output_mode(tmp_path, keywords):
    marks = tmp_path / "marks"
    out = tmp_path / "out"
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out, **keywords) as pmap:
        pmap.compute(debug=True)
    journal = out / ".acme_like" / "counted_journal.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])  # the last record cut short by a crash
    for p in marks.iterdir():
        p.unlink()
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out, **keywords) as pmap:
        result = pmap.compute(debug=True)
    # Call 3's payload carries its identity and is adopted; in a single file it was merged, and runs again.
    assert markers(marks) == ([3] if keywords.get("single_file") else [])
    if keywords.get("write_pickle"):
        assert [read_payload(p) for p in result] == [1, 4, 9]
    else:
        with h5py.File(pmap.results_container, "r") as h5:
            if "result_shape" in keywords:
                np.testing.assert_array_equal(h5["result_0"][()], [1, 4, 9])
            else:
                assert [h5[f"comp_{i}"]["result_0"][()] for i in range(3)] == [1, 4, 9]


def test_user_exceptions_are_retried_only_when_asked(threads_client, tmp_path):
    with pytest.raises(TaskError, match="first attempt of 1"):
        with ParallelMap(funcs.flaky, [1, 2], str(tmp_path), client=threads_client, write_worker_results=False) as pmap:
            pmap.compute()
    with ParallelMap(funcs.flaky, [3, 4], str(tmp_path), client=threads_client, retries=1, write_worker_results=False) as pmap:
        assert pmap.compute() == [3, 4]


def test_a_rerun_that_makes_every_failure_good_leaves_no_failures_file(threads_client, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    with pytest.raises(TaskError) as caught:
        with ParallelMap(funcs.flaky, [1, 2], str(markers), client=threads_client, output_dir=tmp_path / "run") as pmap:
            pmap.compute()
    listed = Path(caught.value.failures_path)
    assert json.loads(listed.read_text())["failed_indices"] == [0, 1]
    with ParallelMap(funcs.flaky, [1, 2], str(markers), client=threads_client, output_dir=tmp_path / "run") as pmap:
        assert [read_payload(p) for p in pmap.compute()] == [1, 2]
    assert not listed.exists()


def test_each_call_gets_its_own_reproducible_random_stream(backend, tmp_path):
    _, first = run(backend, funcs.draw, list(range(6)), seed=7, write_worker_results=False)
    _, again = run(backend, funcs.draw, list(range(6)), seed=7, write_worker_results=False, batch_size=4)
    expected = [np.random.default_rng(np.random.SeedSequence(7, spawn_key=(i,))).random() for i in range(6)]
    assert first == again == expected
    assert len(set(first)) == 6

    pmap, paths = run(backend, funcs.draw, list(range(3)), output_dir=tmp_path / "unseeded")
    manifest = json.loads((tmp_path / "unseeded" / ".acme_like" / "draw_manifest.json").read_text())
    entropy = manifest["seed_entropy"]
    assert [read_payload(p) for p in paths] == [
        np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(i,))).random() for i in range(3)
    ]


def test_records_of_the_previous_format_are_moved_into_the_hidden_folder(tmp_path, caplog):
    marks, out = tmp_path / "marks", tmp_path / "out"
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out) as pmap:
        pmap.compute(debug=True)
    meta = out / ".acme_like"
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".log") == [".acme_like", "counted.h5", "counted_payload"]
    # Put the records back where the previous format kept them, as format 1.
    manifest = json.loads((meta / "counted_manifest.json").read_text())
    (out / "counted_payload" / "counted_run.json").write_text(json.dumps({**manifest, "format": 1}))
    os.replace(meta / "counted_journal.jsonl", out / "counted_payload" / "counted_calls.jsonl")
    (meta / "counted_manifest.json").unlink()
    caplog.set_level("INFO", logger="acme_like")
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out) as pmap:
        paths = pmap.compute(debug=True)
    assert "Moved the records of an earlier acme_like format" in caplog.text
    assert not (out / "counted_payload" / "counted_run.json").exists()
    assert not (out / "counted_payload" / "counted_calls.jsonl").exists()
    assert json.loads((meta / "counted_manifest.json").read_text())["format"] >= 2
    assert [read_payload(p) for p in paths] == [1, 4, 9]


def test_records_of_a_newer_format_are_refused(tmp_path):
    with ParallelMap(funcs.add, [1, 2], 3, output_dir=tmp_path) as pmap:
        pmap.compute(debug=True)
    path = tmp_path / ".acme_like" / "add_manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": 99}))
    with pytest.raises(InputError, match="newer acme_like"):
        ParallelMap(funcs.add, [1, 2], 3, output_dir=tmp_path).compute(debug=True)


def test_a_failed_run_without_output_dir_names_its_directory_and_the_rerun(threads_client):
    with pytest.raises(TaskError) as caught:
        with ParallelMap(funcs.fail_on_odd, [0, 1, 2], client=threads_client) as pmap:
            pmap.compute()
    last = str(caught.value).splitlines()[-1]
    run_dir = pmap.output_dir
    assert Path(run_dir).name.startswith("ACME_")
    assert last.endswith(f'run again with output_dir="{run_dir}".')


def test_results_of_the_previous_format_count_as_stale(tmp_path, caplog):
    from acme_like.core.identity import legacy_call_digests
    from acme_like.core.plan import plan_calls

    marks, out = tmp_path / "marks", tmp_path / "out"
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out) as pmap:
        pmap.compute(debug=True)
    meta = out / ".acme_like"
    # Rewrite the records as the previous format kept them: format 1, index-based digests, in the payloads.
    legacy = legacy_call_digests(plan_calls(funcs.counted, [[1, 2, 3], str(marks)], {}))
    lines = [json.loads(t) for t in (meta / "counted_journal.jsonl").read_text().splitlines()]
    old = [{**{k: v for k, v in line.items() if k not in ("key", "code")}, "digest": legacy[line["i"]]} for line in lines]
    (out / "counted_payload" / "counted_calls.jsonl").write_text("".join(json.dumps(line) + "\n" for line in old))
    manifest = json.loads((meta / "counted_manifest.json").read_text())
    (out / "counted_payload" / "counted_run.json").write_text(json.dumps({**manifest, "format": 1}))
    for name in ("counted_journal.jsonl", "counted_manifest.json"):
        (meta / name).unlink()
    for p in marks.iterdir():
        p.unlink()
    caplog.set_level("INFO", logger="acme_like")
    with ParallelMap(funcs.counted, [1, 2, 3], str(marks), output_dir=out, rerun="keep-stale") as pmap:
        assert [read_payload(p) for p in pmap.compute(debug=True)] == [1, 4, 9]
    assert markers(marks) == []
    assert 'Keeping 3 results made by other code of counted, as rerun="keep-stale" asks' in caplog.text


@pytest.mark.parametrize("layout", ["acme", "modern"])
def test_a_stacked_runs_journal_knows_each_payloads_size_and_time_as_written(processes_client, tmp_path, layout):
    import dask

    out = tmp_path / "out"
    with dask.config.set({"acme_like.layout": layout}):
        with ParallelMap(funcs.square, list(range(12)), output_dir=out, result_shape=(None,)) as pmap:
            pmap.compute()
    lines = [json.loads(t) for t in (out / ".acme_like" / "square_journal.jsonl").read_text().splitlines()]
    assert sorted(line["i"] for line in lines) == list(range(12))
    for line in lines:  # what tells a later run that a payload is unchanged without reading it
        written = out / line["path"]
        assert line["nbytes"] == written.stat().st_size
        assert line["mtime_ns"] == written.stat().st_mtime_ns
