"""ACME's README and user walkthrough, as the scripts an ACME user runs, with only the import changed.

Each test writes a small script (written here from the behaviour ACME documents, not
copied from ACME), runs it with ``python script.py`` in a fresh directory, where
ParallelMap starts its own local cluster as it does for an ACME user, and checks
what the script prints: results read the way ACME's documentation reads them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import acme_like

pytestmark = pytest.mark.integration

ROOT = str(Path(acme_like.__file__).parents[1])


def run_script(tmp_path: Path, source: str, timeout: float = 180) -> str:
    """Run ``source`` as ``python script.py`` in ``tmp_path``; return its stdout, or fail with its output."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, script.name], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"script failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout


def test_the_readme_example_runs_as_a_script_without_a_main_block(tmp_path):
    out = run_script(
        tmp_path,
        """
        import h5py
        from acme_like import ParallelMap

        def f(x, y, z=3):
            return (x + y) * z

        with ParallelMap(f, [2, 4, 6, 8], 4) as pmap:
            paths = pmap.compute()

        with h5py.File(pmap.results_container, "r") as h5f:
            for k, key in enumerate(h5f.keys()):
                print(k, key, h5f[key]["result_0"][()])
        """,
        timeout=120,
    )
    assert out.splitlines() == ["0 comp_0 [18]", "1 comp_1 [24]", "2 comp_2 [30]", "3 comp_3 [36]"]
    assert len(list(tmp_path.glob("ACME_*/f.h5"))) == 1


def test_the_walkthrough_reads_the_container_and_makes_a_standalone_copy(tmp_path):
    out = run_script(
        tmp_path,
        """
        import os
        import shutil
        import h5py
        from acme_like import ParallelMap

        def f(x, y, z=3):
            return (x + y) * z

        if __name__ == "__main__":
            with ParallelMap(f, [2, 4, 6, 8], 4, n_workers=2) as pmap:
                paths = pmap.compute()
            print("files", [os.path.relpath(p, os.path.dirname(pmap.results_container)) for p in paths])
            with h5py.File(pmap.results_container, "r") as h5f:
                print("values", [h5f[key]["result_0"][()].tolist() for key in h5f.keys()])
                with h5py.File("standalone.h5", "w") as copy:
                    for key in h5f.keys():
                        h5f.copy(h5f[key], copy, name=key, expand_external=True)
            shutil.rmtree(os.path.dirname(pmap.results_container))
            with h5py.File("standalone.h5", "r") as h5f:
                print("copy", h5f["comp_3"]["result_0"][()].tolist())
        """,
    )
    assert out.splitlines() == [
        "files " + str([f"f_payload/f_{i}.h5" for i in range(4)]),
        "values [[18], [24], [30], [36]]",
        "copy [36]",
    ]


def test_the_walkthrough_distributes_arguments_as_documented(tmp_path):
    out = run_script(
        tmp_path,
        """
        import numpy as np
        from acme_like import ParallelMap

        def f(x, y, z=3, w=np.zeros((3, 1))):
            return (sum(x) + y) * z * float(w.sum())

        def g(x, y):
            return x * y

        if __name__ == "__main__":
            # x (4 elements) does not match n_inputs=2, so every call gets all of it;
            # w has an array default and is never split
            with ParallelMap(f, [2, 4, 6, 8], [2, 2], z=np.array([1, 2]), w=np.ones((8, 1)),
                             n_inputs=2, write_worker_results=False, n_workers=2) as pmap:
                print("mixed", [float(v) for v in pmap.compute()])
            with ParallelMap(g, [1, 2, 3], [4, 5, 6], write_worker_results=False, n_workers=2) as pmap:
                print("zipped", pmap.compute())
            with ParallelMap(g, 2, 3, n_inputs=4, write_worker_results=False, n_workers=2) as pmap:
                print("repeated", pmap.compute())
        """,
    )
    assert out.splitlines() == ["mixed [176.0, 352.0]", "zipped [4, 10, 18]", "repeated [6, 6, 6, 6]"]


def test_the_walkthrough_stacks_results_into_one_dataset(tmp_path):
    out = run_script(
        tmp_path,
        """
        import os
        import h5py
        import numpy as np
        from acme_like import ParallelMap

        def triple(x):
            return np.full(3, float(x))

        def double(x):
            return 2 * x

        def load(name):
            return np.load(name)

        if __name__ == "__main__":
            with ParallelMap(triple, [1, 2, 3, 4], result_shape=(None, 3), n_workers=2) as pmap:
                pmap.compute()
            with h5py.File(pmap.results_container, "r") as h5f:
                print("fixed", h5f["result_0"].shape, h5f["result_0"][:, 0].tolist())
            with ParallelMap(double, [1, 2, 3], result_shape=(None,), result_dtype="float32", n_workers=2) as pmap:
                pmap.compute()
            with h5py.File(pmap.results_container, "r") as h5f:
                print("scalars", h5f["result_0"].dtype, h5f["result_0"][()].tolist())
            names = []
            for i, n in enumerate([2, 5, 3]):
                names.append(os.path.abspath(f"chunk_{i}.npy"))
                np.save(names[-1], np.arange(float(n)))
            with ParallelMap(load, names, result_shape=(None, np.inf), n_workers=2) as pmap:
                pmap.compute()
            with h5py.File(pmap.results_container, "r") as h5f:
                data = h5f["result_0"][()]
            print("unlimited", data.shape, data[1].tolist())
        """,
    )
    assert out.splitlines() == [
        "fixed (4, 3) [1.0, 2.0, 3.0, 4.0]",
        "scalars float32 [2.0, 4.0, 6.0]",
        "unlimited (3, 5) [0.0, 1.0, 2.0, 3.0, 4.0]",
    ]


def test_the_walkthrough_collects_in_memory_debugs_and_seeds_calls(tmp_path):
    out = run_script(
        tmp_path,
        """
        import numpy as np
        from acme_like import ParallelMap

        def f(x, y, z=3):
            return (x + y) * z

        def fragile(x):
            if x == 3:
                raise ValueError("three is not allowed")
            return x

        def draw(x, seed):
            return float(np.random.default_rng(seed).random())

        if __name__ == "__main__":
            with ParallelMap(f, [2, 4, 6, 8], 4, write_worker_results=False, n_workers=2) as pmap:
                print("memory", pmap.compute())
            with ParallelMap(fragile, [1, 2, 3], write_worker_results=False) as pmap:
                try:
                    pmap.compute(debug=True)
                except ValueError as exc:
                    print("debug", type(exc).__name__, exc)
            draws = []
            for _ in range(2):
                with ParallelMap(draw, range(5), seed=range(5), write_worker_results=False, n_workers=2) as pmap:
                    draws.append(pmap.compute())
            print("seeded", len(set(draws[0])), draws[0] == draws[1])
        """,
    )
    assert out.splitlines() == ["memory [18, 24, 30, 36]", "debug ValueError three is not allowed", "seeded 5 True"]


def test_the_walkthrough_reuses_one_client_for_several_runs(tmp_path):
    out = run_script(
        tmp_path,
        """
        from acme_like import ParallelMap, cluster_cleanup, local_cluster_setup

        def f(x, y, z=3):
            return (x + y) * z

        if __name__ == "__main__":
            client = local_cluster_setup(n_workers=2, interactive=False)
            for _ in range(2):  # identical shared arguments back to back (ACME's bug 9)
                with ParallelMap(f, [1, 2], 3, write_worker_results=False) as pmap:
                    print("run", pmap.compute())
            print("client", client.status)
            cluster_cleanup(client)

            with ParallelMap(f, [1, 2], 3, write_worker_results=False, stop_client=False, n_workers=2) as pmap:
                print("kept", pmap.compute())
            with ParallelMap(f, [5, 6], 3, write_worker_results=False) as pmap:
                print("attached", pmap.compute())
            cluster_cleanup()
        """,
    )
    assert out.splitlines() == ["run [12, 15]", "run [12, 15]", "client running", "kept [12, 15]", "attached [24, 27]"]
