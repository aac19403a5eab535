"""Site presets: the built-in table, presets from dask configuration, and how they fill the request."""

from __future__ import annotations

import pytest

from acme_like.errors import InputError, InputTypeError
from acme_like.batch.request import resolve_request
from acme_like.batch.presets import PRESETS, SitePreset, preset_from_mapping, resolve_preset


def test_the_two_sites_acme_knows_are_data():
    assert set(PRESETS) == {"esi", "cobic"}
    esi, cobic = PRESETS["esi"], PRESETS["cobic"]
    assert esi.invalid_partitions == ("PREPO", "ESI") and cobic.invalid_partitions == ("VISppc", "VISx86")
    assert (esi.mem_cushion, cobic.mem_cushion) == ("100MB", "500MB")
    assert (esi.timeout, cobic.timeout) == (60, 120)
    assert cobic.port_range == (60001, 63000) and cobic.network_prefix == "172.18.90."
    assert esi.auto_candidate("8GBS") and not esi.auto_candidate("8GBL") and not esi.auto_candidate("PREPO")
    assert cobic.auto_candidate("16GBSx86") and not cobic.auto_candidate("16GBSppc")


def test_a_preset_fills_only_what_the_caller_left_open():
    request = resolve_request(preset=PRESETS["cobic"], n_workers=5)
    assert request.n_workers == 5
    assert request.timeout_s == 120 and request.mem_cushion_bytes == 500 * 10**6
    assert resolve_request(preset=PRESETS["cobic"], timeout=10).timeout_s == 10


def test_presets_from_configuration_use_dashes_or_underscores():
    preset = preset_from_mapping("mylab", {"partition": "gpu", "mem-per-worker": "8GB", "job_extra": "--qos=long",
                                           "port-range": "50000:50100", "cluster-kwargs": {"account": "lab"}})
    assert preset == SitePreset(name="mylab", partition="gpu", mem_per_worker="8GB", job_extra=("--qos=long",),
                                port_range=(50000, 50100), cluster_kwargs=preset.cluster_kwargs)
    assert dict(preset.cluster_kwargs) == {"account": "lab"}
    request = resolve_request(preset=preset, job_extra=["--account=lab"])
    assert request.job_extra == ("--qos=long", "--account=lab")
    assert request.cluster_kwargs["account"] == "lab"


def test_a_configured_preset_may_replace_a_built_in_one():
    mine = resolve_preset("esi", {"esi": {"timeout": 300}})
    assert mine.timeout == 300 and mine.invalid_partitions == ()
    assert resolve_preset("esi", {}) is PRESETS["esi"]
    assert resolve_preset(None, {}) is None


def test_preset_mistakes_are_named():
    with pytest.raises(InputError, match=r"no site preset called 'mpi'; known presets: cobic, esi, mylab\. Add your own under acme_like\.presets\.mpi"):
        resolve_preset("mpi", {"mylab": {}})
    with pytest.raises(InputError, match=r"unknown setting 'memory' in preset 'mylab' \(acme_like\.presets\.mylab\); known settings: auto_partitions"):
        preset_from_mapping("mylab", {"memory": "2GB"})
    with pytest.raises(InputTypeError, match="must be a mapping of settings, got list"):
        preset_from_mapping("mylab", ["gpu"])
    with pytest.raises(InputError, match='port_range of preset .mylab. must be two ports like "60001:63000"'):
        preset_from_mapping("mylab", {"port_range": "many"})
    with pytest.raises(InputError, match="0 < first <= last < 65536"):
        preset_from_mapping("mylab", {"port_range": [70000, 80000]})
    with pytest.raises(InputTypeError, match="preset must be None or the name of a site preset, got int 3"):
        resolve_preset(3, {})
