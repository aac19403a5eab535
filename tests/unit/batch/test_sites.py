"""ACME's esi_cluster_setup / bic_cluster_setup: what they hand to slurm_cluster_setup, and off-site behaviour."""

from __future__ import annotations

import pytest

from acme_like.batch import sites


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """On a SLURM site (SLURM answers, the marker path exists): record what slurm_cluster_setup receives."""
    seen = []
    monkeypatch.setattr(sites, "is_slurm_available", lambda: True)
    monkeypatch.setattr(sites.os.path, "exists", lambda path: True)
    monkeypatch.setattr(sites, "slurm_cluster_setup", lambda *args, **kwargs: seen.append((args, kwargs)) or "client")
    return seen


def test_the_site_helpers_use_their_presets_and_never_change_job_extra(calls):
    job_extra = ["--account=lab"]
    assert sites.esi_cluster_setup("8GBS", n_workers=3, job_extra=job_extra, processes_per_worker=2) == "client"
    assert sites.bic_cluster_setup("8GBSx86") == "client"

    (esi_args, esi), (bic_args, bic) = calls
    assert esi_args == ("8GBS",) and esi["preset"] == "esi" and esi["n_workers"] == 3
    assert esi["job_extra"] is job_extra and job_extra == ["--account=lab"]
    assert esi["processes_per_worker"] == 2 and esi["mem_cushion"] == 100 and esi["timeout"] == 60
    assert bic_args == ("8GBSx86",) and bic["preset"] == "cobic" and bic["mem_cushion"] == 500 and bic["timeout"] == 120


def test_acmes_memory_estimate_becomes_the_estimated_bytes_of_an_auto_partition(calls):
    sites.esi_cluster_setup("auto", mem_per_worker="estimate_memuse:3")

    (_, kwargs), = calls
    assert kwargs["mem_per_worker"] == "auto"
    assert kwargs["estimated_bytes"] == 3 * 2**30


def test_off_site_at_a_terminal_no_raises_acmes_oserror(monkeypatch):
    monkeypatch.setattr(sites, "is_slurm_available", lambda: False)
    monkeypatch.setattr(sites, "interactive_terminal", lambda: True)
    asked = []
    monkeypatch.setattr(sites, "ask_yes_no", lambda question, default: asked.append((question, default)) or False)

    with pytest.raises(OSError, match="^Cannot access SLURM queuing system from node "):
        sites.esi_cluster_setup("8GBS")
    assert asked[0][0].startswith("SLURM does not seem to be installed on this machine (")
    assert asked[0][1] is False  # ACME's [y/N]


def test_off_site_without_the_marker_path_starts_a_local_cluster_of_n_workers(monkeypatch):
    started = []
    monkeypatch.setattr(sites, "is_slurm_available", lambda: True)
    monkeypatch.setattr(sites.os.path, "exists", lambda path: False)
    monkeypatch.setattr(sites, "local_cluster_setup", lambda **kwargs: started.append(kwargs) or "local")

    assert sites.bic_cluster_setup("8GBSx86", n_workers=3, mem_per_worker="2GB", interactive=False) == "local"
    assert started == [{"n_workers": 3, "mem_per_worker": "2GB", "interactive": False}]
