"""The command line as users run it: a subprocess over real files, results read back with h5py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]

ANALYSIS = textwrap.dedent(
    """
    import os
    import time


    def measure(path, scale=1, counter=None, delay=0.0):
        if counter:
            with open(counter, "a") as stream:
                stream.write(os.path.basename(path) + "\\n")
        if delay:
            time.sleep(delay)
        if "bad" in os.path.basename(path):
            raise ValueError(f"cannot read {path}")
        return os.path.getsize(path) * scale
    """
)


def cli(tmp_path, *args, stdin=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "DASK_ACME_LIKE__BACKEND": "local"}
    return subprocess.run([sys.executable, "-m", "acme_like", *args], cwd=tmp_path, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "analysis.py").write_text(ANALYSIS)
    data = tmp_path / "data"
    data.mkdir()
    for i in range(30):
        (data / f"f{i:02d}.dat").write_bytes(b"x" * (i + 1))
    return data


def test_glob_over_files_results_in_the_container_and_a_rerun_computes_nothing(tmp_path, files):
    args = ["map", "analysis.py:measure", "data/*.dat", "--arg", "scale=2", "--arg", "counter=calls.txt", "--n-workers", "1"]
    first = cli(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    assert "30 of 30 calls" in first.stdout
    run_dir = next(tmp_path.glob("ACME_*"))
    assert f"Results go to {run_dir}" in first.stdout
    rerun = next(line for line in first.stdout.splitlines() if line.startswith("Rerun this to resume it: "))
    assert rerun.endswith(f"--output-dir {run_dir}")
    with h5py.File(run_dir / "measure.h5", "r") as h5:
        assert [h5[f"comp_{i}"]["result_0"][()] for i in range(30)] == [2 * (i + 1) for i in range(30)]

    again = cli(tmp_path, *args, "--output-dir", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert len((tmp_path / "calls.txt").read_text().splitlines()) == 30  # nothing computed twice
    status = cli(tmp_path, "status", str(run_dir))
    assert status.returncode == 0 and "missing: 0" in status.stdout


def test_one_failing_file_exits_1_keeps_the_others_and_lists_it(tmp_path, files):
    (files / "f07.dat").rename(files / "bad07.dat")
    listed = "\n".join(sorted(str(p.relative_to(tmp_path)) for p in files.iterdir())) + "\n"
    out = cli(tmp_path, "map", "analysis.py:measure", "--from-file", "-", "--output-dir", "out", "--n-workers", "1", stdin=listed)
    assert out.returncode == 1, out.stderr
    assert "1 of 30 calls failed:" in out.stderr
    assert "bad07.dat') raised ValueError: cannot read" in out.stderr
    assert f"The results of the other 29 calls are kept in {tmp_path / 'out' / 'measure.h5'}" in out.stderr
    with h5py.File(tmp_path / "out" / "measure.h5", "r") as h5:
        assert len([name for name in h5 if name.startswith("comp_")]) == 29
    failures = cli(tmp_path, "failures", "out")
    assert failures.returncode == 0 and "ValueError" in failures.stdout and "Traceback" in failures.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["data/*.dat", "--arg", "scale"], "--arg 'scale' is not NAME=VALUE"),
        (["data/*.dat", "--arg", "scale=1", "--arg", "scale=2"], "--arg scale is given twice"),
        (["data/*.dat", "--arg", "colour=1"], "unexpected keyword argument 'colour'"),
        (["data/*.csv", "data/nope.dat"], "no input file matched 'data/*.csv', 'data/nope.dat'"),
        (["data/*.dat", "--rerun", "sometimes"], "rerun"),
    ],
    ids=["bad-arg", "repeated-arg", "unknown-parameter", "no-match", "bad-keyword"],
)
def test_usage_errors_exit_2_with_what_is_wrong(tmp_path, files, args, expected):
    out = cli(tmp_path, "map", "analysis.py:measure", *args)
    assert out.returncode == 2, out.stderr
    assert expected in out.stderr
    assert "Traceback" not in out.stderr
    assert not list(tmp_path.glob("ACME_*"))


def test_unknown_function_and_argparse_errors_exit_2(tmp_path, files):
    out = cli(tmp_path, "map", "analysis.py:mesure", "data/*.dat")
    assert out.returncode == 2 and "analysis has no function 'mesure'. It defines: measure" in out.stderr
    out = cli(tmp_path, "map", "analysis.py:measure", "data/*.dat", "--no-such-flag")
    assert out.returncode == 2 and "unrecognized arguments: --no-such-flag" in out.stderr and "--help" in out.stderr


def test_dry_run_samples_across_sizes_and_writes_nothing(tmp_path, files):
    out = cli(tmp_path, "map", "analysis.py:measure", "data/*.dat", "--dry-run", "--output-dir", "out", "--workers", "3")
    assert out.returncode == 0, out.stderr
    assert "Dry run: 5 of 30 files run here, sampled across the size range" in out.stdout
    for name in ("f00.dat", "f07.dat", "f14.dat", "f22.dat", "f29.dat"):
        assert name in out.stdout
    assert "Forecast for 30 calls on 3 workers" in out.stdout and "peak" in out.stdout
    assert not (tmp_path / "out").exists()


def test_three_thousand_files_from_a_list(tmp_path):
    (tmp_path / "analysis.py").write_text(ANALYSIS)
    data = tmp_path / "many"
    data.mkdir()
    paths = []
    for i in range(3000):
        path = data / f"m{i:04d}.dat"
        path.write_bytes(b"x" * (i % 7))
        paths.append(str(path))
    (tmp_path / "files.txt").write_text("\n".join(paths) + "\n")
    out = cli(tmp_path, "map", "analysis.py:measure", "--from-file", "files.txt", "--output-dir", "out",
              "--n-workers", "1", "--no-verbose", "--logfile", "False")
    assert out.returncode == 0, out.stderr
    assert "3000 of 3000 calls" in out.stdout
    with h5py.File(tmp_path / "out" / "measure.h5", "r") as h5:
        assert h5["comp_2999"]["result_0"][()] == 2999 % 7


def test_ctrl_c_exits_130_and_the_same_command_computes_only_the_missing_calls(tmp_path, files):
    args = ["map", "analysis.py:measure", "data/*.dat", "--arg", "counter=calls.txt", "--arg", "delay=0.2",
            "--output-dir", "out", "--n-workers", "1", "--batch-size", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_ACME_LIKE__BACKEND": "local"}
    proc = subprocess.Popen([sys.executable, "-m", "acme_like", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    payloads = tmp_path / "out" / "measure_payload"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(payloads.glob("*.h5"))) < 3:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "finished results are kept" in stderr and "Resume (only the missing calls run):" in stderr

    status = json.loads(cli(tmp_path, "status", "out", "--json").stdout)
    done = status["done"]
    assert 1 <= done < 30  # payloads on disk may run ahead of the journal; those are adopted below
    before = len((tmp_path / "calls.txt").read_text().splitlines())
    again = cli(tmp_path, *args)
    assert again.returncode == 0, again.stderr
    computed = len((tmp_path / "calls.txt").read_text().splitlines()) - before
    # At most the calls without a recorded result; fewer when a payload written just before the
    # interrupt is adopted (complete, with its call's identity).
    assert 30 - done - 2 <= computed <= 30 - done
    with h5py.File(tmp_path / "out" / "measure.h5", "r") as h5:
        assert len([name for name in h5 if name.startswith("comp_")]) == 30
