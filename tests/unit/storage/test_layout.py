"""File names of a run, and atomic writes that leave nothing half-written (storage.layout)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from acme_like.storage.layout import OutputLayout, atomic_write


def test_names_of_every_call_are_distinct_including_1_5_and_15(tmp_path):
    layout = OutputLayout.for_run(tmp_path, "f")
    names = {layout.payload_path(i).name for i in (0, 1, 5, 15, 51, 150)}
    pickles = {layout.pickle_path(i).name for i in (0, 1, 5, 15, 51, 150)}
    assert names == {"f_0.h5", "f_1.h5", "f_5.h5", "f_15.h5", "f_51.h5", "f_150.h5"}
    assert pickles == {"f_0.pickle", "f_1.pickle", "f_5.pickle", "f_15.pickle", "f_51.pickle", "f_150.pickle"}


def test_default_run_directory_is_timestamped_in_the_working_directory():
    layout = OutputLayout.for_run(None, "<lambda>", now=dt.datetime(2026, 11, 22, 10, 15, 0, 123456))
    assert layout.run_dir == Path.cwd() / "ACME_20261122-101500-123456"
    assert layout.container_path.name == "lambda.h5"
    assert layout.log_path.name == "ACME_lambda_20261122-101500.log"
    assert not layout.run_dir.exists()


def test_a_failed_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(OSError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []
    with atomic_write(target) as tmp:
        tmp.write_text("whole")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"] and target.read_text() == "whole"
