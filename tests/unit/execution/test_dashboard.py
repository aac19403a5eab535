"""The dashboard text says where the dashboard is, or how to get one."""

from __future__ import annotations

import importlib.metadata

import pytest

from acme_like.execution.dashboard import describe_dashboard


def test_a_link_is_given_as_it_is():
    assert describe_dashboard("http://127.0.0.1:8787/status") == "http://127.0.0.1:8787/status"


@pytest.mark.parametrize(
    "version, why",
    [(importlib.metadata.PackageNotFoundError("bokeh"), "bokeh is not installed"), ("2.4.3", "bokeh 2.4.3 is older than 3.1")],
    ids=["missing", "too-old"],
)
def test_without_bokeh_the_text_says_what_to_install(monkeypatch, version, why):
    def fake_version(name):
        if isinstance(version, Exception):
            raise version
        return version

    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    text = describe_dashboard("")
    assert why in text
    assert 'pip install "acme-like[dashboard]"' in text
