"""Real scripts run as users run them: ``python script.py`` in a fresh process.

A script without ``if __name__ == "__main__":`` (ACME's own README example has none)
works; an argument that cannot be pickled fails before anything starts, and leaves
no ACME_* directory; a function defined in the script shows its source lines in the
traceback that comes back from a worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def run_script(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_ACME_LIKE__BACKEND": "local"}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def run_dirs(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("ACME_*"))


def test_a_script_without_the_main_guard_runs_and_leaves_one_run_directory(tmp_path):
    done = run_script(tmp_path, """
        import h5py
        from acme_like import ParallelMap

        def f(x, y, z=3):
            return (x + y) * z

        with ParallelMap(f, [2, 4, 6, 8], 4, n_workers=2, verbose=False) as pmap:
            paths = pmap.compute()
        with h5py.File(pmap.results_container, "r") as h5:
            print("RESULTS", [float(h5[f"comp_{i}/result_0"][0]) for i in range(4)])
        """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RESULTS [18.0, 24.0, 30.0, 36.0]" in done.stdout
    assert "bootstrapping phase" not in done.stderr
    dirs = run_dirs(tmp_path)
    assert len(dirs) == 1 and any(dirs[0].iterdir())


def test_an_unpicklable_argument_fails_before_anything_starts_and_leaves_no_directory(tmp_path):
    done = run_script(tmp_path, """
        import threading
        from acme_like import ParallelMap

        def f(x, lock):
            return x

        ParallelMap(f, [1, 2], threading.Lock(), n_workers=1).compute()
        """)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("acme_like.errors.InputError: argument `lock` (_thread.lock) cannot be sent to worker processes")
    assert "Create it inside f" in last
    assert len(done.stderr.splitlines()) < 40  # the user's line and ours, not dask's
    assert run_dirs(tmp_path) == []


def test_a_function_defined_in_the_script_shows_its_source_in_the_workers_traceback(tmp_path):
    done = run_script(tmp_path, """
        from acme_like import ParallelMap, TaskError

        def f(x):
            if x == 4:
                raise ValueError("four is bad")
            return x

        if __name__ == "__main__":
            try:
                with ParallelMap(f, [2, 4, 6], n_workers=2, verbose=False) as pmap:
                    pmap.compute()
            except TaskError as error:
                print(error.failures[0].traceback)
        """)
    assert done.returncode == 0, done.stderr[-3000:]
    script = str(tmp_path / "script.py")
    assert f'File "{script}", line 6, in f\n    raise ValueError("four is bad")\nValueError: four is bad' in done.stdout
    assert "<dynamic-code>" not in done.stdout
