"""A pipeline whose stages run on SLURM workers that the pipeline starts, once, and leaves no job."""

from __future__ import annotations

import os

import dask

import pipeline_funcs as pf
from acme_like import Pipeline, read_payload


def test_a_pipeline_runs_every_stage_on_one_set_of_slurm_workers(own_jobs_left, tmp_path, monkeypatch):
    monkeypatch.delenv("PIPELINE_COUNT_DIR", raising=False)  # workers on SLURM are not counted
    files = []
    for number in range(3):
        path = tmp_path / f"in{number}.txt"
        path.write_text(str(number))
        files.append(str(path))
    with dask.config.set({"acme_like.backend": "slurm"}):
        pipe = Pipeline(tmp_path / "workspace", n_workers=1, partition="small", setup_interactive=False, verbose=False)
        scaled = pipe.stage("scale", pf.scale, files, factor=2.0)
        widths = pipe.stage("width", pf.width, scaled)
        pipe.run()
    assert [float(read_payload(p)) for p in widths.results] == [2.0, 2.0, 2.0]
    assert all(os.path.exists(p) for p in scaled.results)
    assert own_jobs_left() == []
