"""Pipelines on a real cluster, with real files: what reruns, and what does not, counted per call."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import pipeline_funcs as pf
from acme_like import InputError, Pipeline, PipelineError, read_payload

pytestmark = pytest.mark.integration


def counts(*names):
    return {name: pf.count(name) for name in names}


def two_stages(files, client, factor=2.0):
    pipe = Pipeline("workspace", client=client, verbose=False)
    scaled = pipe.stage("scale", pf.scale, files, factor=factor)
    widths = pipe.stage("width", pf.width, scaled)
    return pipe, scaled, widths


def test_a_rerun_with_nothing_changed_runs_nothing(files, threads_client):
    pipe, scaled, widths = two_stages(files, threads_client)
    pipe.run()
    assert counts("scale", "width") == {"scale": 4, "width": 4}

    pipe, scaled, widths = two_stages(files, threads_client)
    previews = pipe.dry_run()
    assert [p.rerun_indices for p in previews] == [(), ()]
    pipe.run()
    assert counts("scale", "width") == {"scale": 4, "width": 4}
    assert [float(read_payload(p)) for p in widths.results] == [2.0] * 4
    assert Path("workspace/scale/scale.h5").is_file() and Path("workspace/width/width.h5").is_file()


def test_changing_a_stage_1_parameter_reruns_it_and_everything_downstream(files, threads_client):
    two_stages(files, threads_client)[0].run()
    pipe, scaled, widths = two_stages(files, threads_client, factor=3.0)
    previews = pipe.dry_run()
    assert previews[0].reasons["new or changed inputs or parameters"] == (0, 1, 2, 3)
    assert previews[1].reasons["upstream result remade"] == (0, 1, 2, 3)
    pipe.run()
    assert counts("scale", "width") == {"scale": 8, "width": 8}
    with h5py.File(scaled.results[1], "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], [3.0, 4.0, 5.0])


def test_deleting_one_stage_1_payload_reruns_exactly_its_chain(files, threads_client):
    pipe, scaled, widths = two_stages(files, threads_client)
    pipe.run()
    os.remove(scaled.results[2])
    pipe, scaled, widths = two_stages(files, threads_client)
    assert [p.rerun_indices for p in pipe.dry_run()] == [(2,), (2,)]
    pipe.run()
    assert counts("scale", "width") == {"scale": 5, "width": 5}


def test_a_switched_off_stage_uses_its_stored_results_and_refuses_missing_ones(files, threads_client):
    two_stages(files, threads_client)[0].run()
    pipe, scaled, widths = two_stages(files, threads_client)
    pipe.run(active={"scale": False})
    assert counts("scale", "width") == {"scale": 4, "width": 4}

    os.remove(scaled.results[1])
    pipe, scaled, widths = two_stages(files, threads_client)
    with pytest.raises(PipelineError, match=r"stage 'scale' is switched off, but 1 of its 4 results .* \(calls 1\)\. Run the pipeline with the stage switched on"):
        pipe.run(active={"scale": False})
    assert counts("scale", "width") == {"scale": 4, "width": 4}  # nothing ran


def test_fan_out_then_gather_on_worker_processes(files, processes_client):
    pipe = Pipeline("workspace", client=processes_client, verbose=False)
    regions = pipe.stage("regions", pf.regions, files[:2], n=2, fan_out=True)
    sizes = pipe.stage("sizes", pf.path_size, regions.paths)
    total = pipe.stage("total", pf.total, regions.gathered)
    pipe.run()
    assert len(sizes.results) == 4  # 2 files x 2 regions: one call per region
    assert all(isinstance(read_payload(p), (int, np.integer, np.ndarray)) for p in sizes.results)
    expected = sum(np.full(4, base * 10 + k).sum() for base in (0, 1) for k in range(2))
    assert float(np.squeeze(read_payload(total.results[0]))) == expected


def test_a_failing_call_stops_only_its_own_chain(files, threads_client):
    pipe = Pipeline("workspace", client=threads_client, verbose=False)
    regions = pipe.stage("regions", pf.regions, files[:2], n=4, fan_out=True)  # values 0..3, 10..13
    inferred = pipe.stage("infer", pf.infer, regions, prior=0.0)
    pipe.stage("double", pf.double, inferred)
    with pytest.raises(PipelineError) as caught:
        pipe.run()
    message = str(caught.value)
    assert "stage 'infer': call 7" in message and "region 13 cannot be inferred" in message
    assert "stage 'double': 1 calls not run because their upstream item failed" in message
    assert list(caught.value.failed) == ["infer", "double"]
    assert pf.count("double") == 7
    assert sum(p is not None for p in inferred.results) == 7
    assert pf.count("infer") == 8
    # The rerun runs only the failed chain.
    with pytest.raises(PipelineError):
        pipe.run()
    assert pf.count("infer") == 9 and pf.count("regions") == 2 and pf.count("double") == 7


def test_shapes_declared_between_stages_are_checked_before_anything_runs(files, threads_client):
    pipe = Pipeline("workspace", client=threads_client, verbose=False)
    scaled = pipe.stage("scale", pf.scale, files, returns=((3,), "float64"))
    with pytest.raises(InputError, match=r"stage 'width' reads \(4,\) float64, but stage 'scale' returns \(3,\) float64"):
        pipe.stage("width", pf.width, scaled, reads=((4,), "float64"))
    wrong = Pipeline("other", client=threads_client, verbose=False)
    wrong.stage("scale", pf.scale, files, returns=((5,), "float64"))
    with pytest.raises(PipelineError, match=r"stage 'scale' returned a value that does not fit returns=\(5,\) float64: declared \(5,\) float64, got shape \(3,\) float64"):
        wrong.run()


def test_cluster_keywords_belong_to_the_pipeline_not_a_stage(files):
    pipe = Pipeline("workspace")
    with pytest.raises(InputError, match=r"give these to Pipeline\(workspace, n_workers=\.\.\.\)"):
        pipe.stage("scale", pf.scale, files, n_workers=2)
    with pytest.raises(InputError, match="has a stage named 'scale' already"):
        pipe.stage("scale", pf.scale, files)
        pipe.stage("scale", pf.scale, files)
    with pytest.raises(InputError, match=r"active names stage 'nope'"):
        pipe.run(active={"nope": False})


STAGE_CODE = '''
import numpy as np


def summed(values):
    """{doc}"""
    return float(np.sum(values)) {change}
'''


def test_editing_stage_2_code_reruns_stage_2_only_and_a_docstring_edit_reruns_nothing(files, threads_client, tmp_path, monkeypatch):
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(tmp_path))
    module_path = tmp_path / "stage_code.py"

    def load(doc, change):
        module_path.write_text(STAGE_CODE.format(doc=doc, change=change))
        sys.modules.pop("stage_code", None)
        importlib.invalidate_caches()
        return importlib.import_module("stage_code")

    def build(module):
        pipe = Pipeline("workspace", client=threads_client, verbose=False)
        scaled = pipe.stage("scale", pf.scale, files)
        return pipe, pipe.stage("summed", module.summed, scaled)

    pipe, summed = build(load("Sum of the values.", ""))
    pipe.run()
    first = [float(read_payload(p)) for p in summed.results]
    pipe, summed = build(load("The sum, said differently.", ""))
    assert [p.rerun_indices for p in pipe.dry_run()] == [(), ()]
    pipe, summed = build(load("Sum of the values.", "+ 1"))
    previews = pipe.dry_run()
    assert previews[0].rerun_indices == () and previews[1].reasons["changed code"] == (0, 1, 2, 3)
    pipe.run()
    assert counts("scale") == {"scale": 4}
    assert [float(read_payload(p)) for p in summed.results] == [v + 1 for v in first]


def test_the_dry_run_forecasts_the_stages_whose_inputs_exist(files, threads_client):
    pipe, scaled, widths = two_stages(files, threads_client)
    first, second = pipe.dry_run(forecast=True)
    assert first.forecast is not None and "4 calls x" in first.forecast and "on 2 workers" in first.forecast
    assert second.forecast is None  # its inputs are remade first
    assert "forecast: 4 calls x" in str(first)
    assert not Path("workspace/scale/scale_payload").exists() or not any(Path("workspace/scale/scale_payload").iterdir())
    assert pf.count("scale") == 3  # three sampled calls ran here; nothing was kept


def test_a_pipeline_run_reports_one_section_per_stage(files, threads_client):
    import html

    import dask

    with dask.config.set({"acme_like.report": "always"}):
        pipe, scaled, widths = two_stages(files, threads_client)
        pipe.run()
    page = Path("workspace/.acme_like/report.html")
    assert page.is_file()
    text = html.unescape(page.read_text())
    assert "scale" in text and "width" in text
    rows = Path("workspace/.acme_like/calls.csv").read_text().splitlines()
    assert len(rows) == 1 + 8 and sum(",scale," in row for row in rows) == 4 and sum(",width," in row for row in rows) == 4
