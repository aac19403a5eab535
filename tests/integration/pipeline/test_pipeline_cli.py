"""``acme-like pipeline FILE.py`` as a user types it: exit statuses, resume, switches, the dry run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[3]

PIPELINE = textwrap.dedent(
    """
    import glob
    import os

    from acme_like import Pipeline


    def lengths(path):
        with open(os.environ["COUNTER"], "a") as stream:
            stream.write("lengths\\n")
        if "bad" in path:
            raise ValueError("bad input")
        return len(open(path).read())


    def double(n):
        with open(os.environ["COUNTER"], "a") as stream:
            stream.write("double\\n")
        return 2 * n


    pipe = Pipeline("workspace", n_workers=1, verbose=False)
    sizes = pipe.stage("sizes", lengths, sorted(glob.glob("data/*.txt")))
    doubled = pipe.stage("doubled", double, sizes)

    if __name__ == "__main__":
        pipe.run()
    """
)


def cli(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "DASK_ACME_LIKE__BACKEND": "local", "COUNTER": str(tmp_path / "counter")}
    return subprocess.run([sys.executable, "-m", "acme_like", "pipeline", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)


def calls(tmp_path):
    path = tmp_path / "counter"
    return path.read_text().split() if path.exists() else []


def test_the_pipeline_command_runs_resumes_switches_and_reports_failures(tmp_path):
    (tmp_path / "analysis_pipeline.py").write_text(PIPELINE)
    (tmp_path / "data").mkdir()
    for name, text in (("a", "xx"), ("b", "xxxx"), ("c_bad", "x")):
        (tmp_path / "data" / f"{name}.txt").write_text(text)

    first = cli(tmp_path, "analysis_pipeline.py")
    assert first.returncode == 1, first.stderr
    assert "stage 'sizes': call 2" in first.stderr and "bad input" in first.stderr
    assert "stage 'doubled': 1 calls not run because their upstream item failed" in first.stderr
    assert sorted(calls(tmp_path)) == ["double", "double", "lengths", "lengths", "lengths"]

    (tmp_path / "data" / "c_bad.txt").rename(tmp_path / "data" / "c.txt")
    dry = cli(tmp_path, "analysis_pipeline.py", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "stage sizes: 1 of 3 calls to run, 2 reused" in dry.stdout
    assert "stage doubled: 1 of 3 calls to run, 2 reused" in dry.stdout

    second = cli(tmp_path, "analysis_pipeline.py")
    assert second.returncode == 0, second.stderr
    assert "stage doubled: 3 results" in second.stdout
    assert len(calls(tmp_path)) == 7  # only the changed file's chain ran

    switched = cli(tmp_path, "analysis_pipeline.py", "--off", "sizes")
    assert switched.returncode == 0, switched.stderr
    assert len(calls(tmp_path)) == 7

    usage = cli(tmp_path, "analysis_pipeline.py", "--off", "nope")
    assert usage.returncode == 2
    assert "--off nope: the pipeline's stages are sizes, doubled." in usage.stderr


def test_the_regions_example_runs_and_reruns_with_a_stage_switched_off(tmp_path):
    example = ROOT / "examples" / "regions_pipeline.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "DASK_ACME_LIKE__BACKEND": "local"}
    first = subprocess.run([sys.executable, str(example)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "diffusivity per region:" in first.stdout
    estimates = [float(x) for x in first.stdout.split("diffusivity per region:")[1].replace("[", " ").replace("]", " ").split()]
    assert len(estimates) == 16
    for number in range(4):  # each recording's regions estimate its own diffusivity, 0.1 * (number + 1)
        assert all(abs(e - 0.1 * (number + 1)) < 0.05 * (number + 1) for e in estimates[4 * number: 4 * number + 4])
    again = subprocess.run([sys.executable, str(example), "--reuse"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "stage regions: 0 of 4 calls to run, 4 reused (switched off: stored results used)" in again.stdout
    assert "stage infer: 0 of 16 calls to run, 16 reused" in again.stdout


SLOW = textwrap.dedent(
    """
    import os
    import time

    from acme_like import Pipeline


    def slow(x):
        with open(os.environ["COUNTER"], "a") as stream:
            stream.write(f"slow {x}\\n")
        time.sleep(0.2)
        return x


    def plus_one(x):
        with open(os.environ["COUNTER"], "a") as stream:
            stream.write(f"plus_one {x}\\n")
        return x + 1


    pipe = Pipeline("workspace", n_workers=1, verbose=False)
    first = pipe.stage("first", slow, list(range(20)), batch_size=1)
    second = pipe.stage("second", plus_one, first)
    """
)


def test_ctrl_c_mid_stage_exits_130_and_the_rerun_computes_only_the_missing_calls(tmp_path):
    import signal
    import time

    (tmp_path / "slow_pipeline.py").write_text(SLOW)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "DASK_ACME_LIKE__BACKEND": "local", "COUNTER": str(tmp_path / "counter")}
    proc = subprocess.Popen([sys.executable, "-m", "acme_like", "pipeline", "slow_pipeline.py"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    payloads = tmp_path / "workspace" / "first" / "slow_payload"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list(payloads.glob("slow_*.h5"))) < 4:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Run the same command again to resume" in stderr
    kept = len(list(payloads.glob("slow_*.h5")))
    assert 4 <= kept < 20

    again = cli(tmp_path, "slow_pipeline.py")
    assert again.returncode == 0, again.stderr
    lines = calls_lines(tmp_path)
    slow_calls = [line for line in lines if line.startswith("slow")]
    assert sorted(set(slow_calls)) == sorted(f"slow {x}" for x in range(20))
    assert len(slow_calls) <= 20 + 2  # only the calls running at Ctrl-C (one worker) ran twice
    assert sorted(line for line in lines if line.startswith("plus_one")) == sorted(f"plus_one {x}" for x in range(20))


def calls_lines(tmp_path):
    path = tmp_path / "counter"
    return path.read_text().splitlines() if path.exists() else []
