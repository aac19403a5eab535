"""The caller's sys.path as the workers receive it (execution.importpath)."""

from __future__ import annotations

import sys

from acme_like.execution.importpath import add_to_sys_path, caller_path


def test_caller_path_keeps_existing_entries_absolute_and_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib").mkdir()
    entries = caller_path(["", "lib", str(tmp_path / "lib"), str(tmp_path / "gone"), 3])

    assert entries == (str(tmp_path), str(tmp_path / "lib"))


def test_missing_entries_go_in_front_in_order_and_absent_ones_are_skipped(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    monkeypatch.setattr(sys, "path", ["/already/here", str(second)])

    added = add_to_sys_path([str(first), str(tmp_path / "not-on-this-node"), str(second), str(first)])

    assert added == [str(first)]
    assert sys.path == [str(first), "/already/here", str(second)]
