"""A full disk: every output mode ends in a clear error naming the path, keeps what finished,
leaves no half-written file, and a rerun after freeing space completes.

Runs on a small tmpfs mounted for the test (needs root; skipped, saying so, otherwise).
"""

from __future__ import annotations

import os
import subprocess

import h5py
import numpy as np
import pytest

import funcs
from acme_like import ParallelMap, PayloadError, TaskError, read_payload

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_CALLS = 20
N_VALUES = 4096  # 32 KiB per call: about a third of the calls fit in the space left


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs, filled up to 300 KiB free; yields (its path, the filler file)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"SKIPPED LOUDLY: cannot mount a small tmpfs to fill ({mounted.stderr.strip() or 'not root'})")
    try:
        filler = disk / "filler"
        stat = os.statvfs(disk)
        filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - 300 * 1024))
        yield disk, filler
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


MODES = {
    "hdf5": {},
    "pickle": {"write_pickle": True},
    "single_file": {"single_file": True},
    "stacked": {"result_shape": (None, N_VALUES)},
}


def expected(i):
    return np.full(N_VALUES, float(i))


@pytest.mark.parametrize("mode", list(MODES))
def test_a_full_disk_is_a_clear_error_and_a_rerun_after_freeing_space_completes(small_disk, processes_client, mode):
    disk, filler = small_disk
    out = disk / "run"

    def run():
        with ParallelMap(funcs.big_block, list(range(N_CALLS)), N_VALUES, client=processes_client, output_dir=out,
                         logfile=False, verbose=False, **MODES[mode]) as pmap:
            return pmap, pmap.compute()

    with pytest.raises((TaskError, PayloadError)) as caught:
        run()
    message = str(caught.value)
    assert "No space left on device" in message
    assert str(out) in message  # names the path that could not be written
    assert "kept in" in message or "are in" in message  # and where the finished results are
    assert not list(disk.rglob("*.partial"))  # nothing half-written
    if isinstance(caught.value, TaskError):
        assert 0 < len(caught.value.failed_indices) < N_CALLS or mode in ("single_file", "stacked")

    filler.unlink()
    pmap, result = run()
    assert not list(disk.rglob("*.partial"))
    if mode == "pickle":
        assert all(np.array_equal(read_payload(p), expected(i)) for i, p in enumerate(result))
        return
    with h5py.File(pmap.results_container, "r") as h5:
        if mode == "stacked":
            np.testing.assert_array_equal(h5["result_0"][()], np.stack([expected(i) for i in range(N_CALLS)]))
        else:
            for i in range(N_CALLS):
                np.testing.assert_array_equal(h5[f"comp_{i}"]["result_0"][()], expected(i))
        assert list(h5.attrs["failed_calls"]) == []


def test_a_disk_too_full_for_the_run_record_stops_before_any_call(small_disk, processes_client):
    disk, filler = small_disk
    with open(disk / "rest", "wb", buffering=0) as rest:  # fill the last blocks too
        try:
            while True:
                rest.write(b"\0" * 4096)
        except OSError:
            pass
    out = disk / "run"
    with pytest.raises(PayloadError, match=r"could not write the run record .*big_block_manifest\.json: No space left on device.*no call has run"):
        with ParallelMap(funcs.big_block, list(range(4)), 8, client=processes_client, output_dir=out, logfile=False,
                         verbose=False) as pmap:
            pmap.compute()
    assert not list(disk.rglob("*.partial"))
