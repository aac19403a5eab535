"""Stages at the same time: a later stage's calls start while the earlier stage still runs, when
each reads one stored result of it; a gathering stage waits. Shown by when the calls ran."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import pipeline_funcs as pf
from acme_like import AcmeLikeWarning, Pipeline, PipelineError, read_payload

pytestmark = pytest.mark.integration

#: Stage 1's call times: on two workers, the first worker is free for stage 2 at about 0.7 s
#: while the other still runs stage 1's last call until about 1.2 s.
SECONDS = [0.1, 0.6, 0.6, 0.6]


def test_stage_2_starts_before_stage_1_ends_and_a_gathering_stage_waits_for_both(files, threads_client):
    pipe = Pipeline("workspace", client=threads_client, verbose=False)
    scaled = pipe.stage("scale", pf.slow_scale, files, seconds=SECONDS)
    widths = pipe.stage("width", pf.timed_width, scaled)
    total = pipe.stage("total", pf.timed_total, widths.gathered)
    pipe.run()

    assert min(pf.stamps("timed_width", "start")) < max(pf.stamps("slow_scale", "end"))
    assert len(pf.stamps("timed_width", "end")) == 4
    assert min(pf.stamps("timed_total", "start")) >= max(pf.stamps("timed_width", "end"))
    assert [float(read_payload(p)) for p in widths.results] == [2.0] * 4
    assert float(np.squeeze(read_payload(total.results[0]))) == 8.0

    # What streamed is reused as if it had run stage by stage: a rerun runs nothing.
    pipe = Pipeline("workspace", client=threads_client, verbose=False)
    scaled = pipe.stage("scale", pf.slow_scale, files, seconds=SECONDS)
    widths = pipe.stage("width", pf.timed_width, scaled)
    pipe.stage("total", pf.timed_total, widths.gathered)
    assert [p.rerun_indices for p in pipe.dry_run()] == [(), (), ()]
    pipe.run()
    assert (pf.count("slow_scale"), pf.count("width"), pf.count("total")) == (4, 4, 1)


def test_a_failing_stage_1_call_holds_back_only_its_own_stage_2_call_and_the_rerun_runs_that_chain(files, threads_client, tmp_path):
    broken = tmp_path / "broken.txt"
    broken.write_text("in2.txt")

    def build():
        pipe = Pipeline("workspace", client=threads_client, verbose=False)
        scaled = pipe.stage("scale", pf.slow_scale, files, seconds=SECONDS, broken=str(broken))
        return pipe, pipe.stage("width", pf.timed_width, scaled)

    pipe, widths = build()
    with pytest.raises(PipelineError) as caught:
        pipe.run()
    message = str(caught.value)
    assert "stage 'scale': call 2" in message and "in2.txt is broken" in message
    assert "stage 'width': 1 calls not run because their upstream item failed" in message
    assert (pf.count("slow_scale"), pf.count("width")) == (4, 3)
    assert [p is not None for p in widths.results] == [True, True, False, True]
    assert min(pf.stamps("timed_width", "start")) < max(pf.stamps("slow_scale", "end"))  # the others streamed

    broken.unlink()
    pipe, widths = build()
    previews = pipe.dry_run()
    assert previews[0].reasons["failed before"] == (2,) and previews[1].rerun_indices == (2,)
    pipe.run()
    assert (pf.count("slow_scale"), pf.count("width")) == (5, 4)
    assert [float(read_payload(p)) for p in widths.results] == [2.0] * 4
    with h5py.File("workspace/width/timed_width.h5", "r") as h5:  # the container holds every call now
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2", "comp_3"]


def test_a_later_stage_reads_values_that_acme_emergency_pickling_moved_up(files, threads_client):
    def build():
        pipe = Pipeline("workspace", client=threads_client, verbose=False)
        return pipe, pipe.stage("first", pf.first, pipe.stage("labelled", pf.labelled, files))

    pipe, firsts = build()
    with pytest.warns(AcmeLikeWarning, match="could not be saved as HDF5"):
        pipe.run()
    assert [read_payload(p) for p in firsts.results] == [0.0, 2.0, 4.0, 6.0]
    assert Path("workspace/labelled/labelled_2.h5").is_file()  # moved up, not where it was planned

    os.remove(firsts.results[2])
    pipe, firsts = build()
    with pytest.warns(AcmeLikeWarning, match="could not be saved as HDF5"):
        pipe.run()
    assert [read_payload(p) for p in firsts.results] == [0.0, 2.0, 4.0, 6.0]
    assert (pf.count("labelled"), pf.count("first")) == (4, 5)
