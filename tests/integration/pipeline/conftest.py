"""Fixtures of the pipeline tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Four small input files; the pipeline functions count their calls in <tmp>/counts."""
    monkeypatch.setenv("PIPELINE_COUNT_DIR", str(tmp_path / "counts"))
    paths = []
    for number in range(4):
        path = tmp_path / f"in{number}.txt"
        path.write_text(str(number))
        paths.append(str(path))
    return paths
