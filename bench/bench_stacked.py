"""Stacked results (``result_shape``): the parent's memory and the container's build time.

Measures, each in a fresh subprocess so that peak memory (VmHWM) belongs to one run:

* ``build``: building the aggregate container alone for N calls (links, and a stacked
  virtual dataset), from outcomes, without running anything: N = 5,000 and 100,000;
* ``run``: N tiny calls end to end through ``ParallelMap(..., result_shape=(None,))``
  on a pre-started local cluster of 2 workers, then reading the stacked dataset back.

Usage::

    python bench/bench_stacked.py                # full: build at 5,000 and 100,000, run at 5,000
    python bench/bench_stacked.py --quick        # build at 1,000, run at 500
    python bench/bench_stacked.py --out FILE     # default: bench/results/stacked.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import vmhwm_mb  # noqa: E402


def child_build(n: int, mode: str) -> dict:
    import numpy as np

    from acme_like.storage.container import build_container
    from acme_like.storage.layout import OutputLayout
    from acme_like.core.outcome import PayloadRef, TaskOutcome
    from acme_like.storage.shards import write_shard
    from acme_like.core.stacking import parse_stack

    before = vmhwm_mb()
    batch = 100  # calls per shard, as batching gives tiny calls
    with tempfile.TemporaryDirectory() as tmp:
        layout = OutputLayout.for_run(tmp, "f")
        layout.create()
        if mode == "stacked":
            outcomes = []
            for first in range(0, n, batch):
                shard = layout.shard_path(first)
                rows = np.arange(first, min(first + batch, n), dtype=np.float64)
                size, crc = write_shard(shard, rows, list(range(first, first + len(rows))))
                outcomes += [
                    TaskOutcome(index=first + r, status="ok", payload=PayloadRef(
                        str(shard), "hdf5", 1, size, stack_shape=(), crc32=crc, stack_path=str(shard), stack_row=r,
                        stack_nbytes=size, stack_crc32=crc))
                    for r in range(len(rows))
                ]
        else:
            outcomes = [
                TaskOutcome(index=i, status="ok", payload=PayloadRef(str(layout.payload_path(i)), "hdf5", 1, 800))
                for i in range(n)
            ]
        stack = parse_stack((None,), "float64", in_memory=False) if mode == "stacked" else None
        start = time.perf_counter()
        build_container(layout, outcomes, "f", stack=stack)
        seconds = time.perf_counter() - start
        size = layout.container_path.stat().st_size
    del np
    return {"kind": "build", "mode": mode, "n": n, "seconds": seconds, "parent_peak_mb": vmhwm_mb(),
            "parent_peak_before_mb": before, "container_bytes": size}


def child_run(n: int) -> dict:
    import h5py
    from distributed import Client, LocalCluster

    sys.path.insert(0, str(HERE))
    import workloads
    from acme_like import ParallelMap

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(workloads.warm_imports)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with ParallelMap(workloads.f, list(range(n)), result_shape=(None,), output_dir=f"{tmp}/run",
                         client=client, verbose=False) as pmap:
            pmap.compute()
        run_seconds = time.perf_counter() - start
        after_run = vmhwm_mb()
        start = time.perf_counter()
        with h5py.File(pmap.results_container, "r") as h5:
            data = h5["result_0"][()]
        read_seconds = time.perf_counter() - start
        assert float(data.sum()) == sum(range(n)) + n, "stacked values are wrong"
    client.close()
    cluster.close()
    return {"kind": "run", "mode": "stacked", "n": n, "seconds": run_seconds, "parent_peak_mb": after_run,
            "read_seconds": read_seconds, "parent_peak_after_read_mb": vmhwm_mb()}


def run_child(args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env,
                         timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "stacked.json"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_build(int(rest[0]), rest[1]) if kind == "build" else child_run(int(rest[0]))
        print(json.dumps(result))
        return 0

    build_sizes = [1000] if args.quick else [5000, 100_000]
    run_size = 500 if args.quick else 5000
    runs = []
    for n in build_sizes:
        for mode in ("links", "stacked"):
            runs.append(run_child(["build", str(n), mode]))
    runs.append(run_child(["run", str(run_size)]))

    print(f"{'what':<28}{'N':>8}{'seconds':>10}{'parent peak MB':>16}")
    for r in runs:
        label = f"{r['kind']} {r['mode']}"
        print(f"{label:<28}{r['n']:>8}{r['seconds']:>10.2f}{r['parent_peak_mb']:>16.0f}")
        if r["kind"] == "run":
            print(f"{'read back stacked':<28}{r['n']:>8}{r['read_seconds']:>10.3f}{r['parent_peak_after_read_mb']:>16.0f}")
    import acme_like
    import h5py

    record = {
        "benchmark": "stacked",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "h5py": h5py.__version__,
                    "hdf5": h5py.version.hdf5_version, "acme_like": acme_like.__version__},
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
