"""ParallelMap on a live SLURM against a hand-written SLURMCluster + client.map, in one run.

Two figures per competitor, both with a cold start (no workers running):

* ``first_result_s``: from the first line of user code (``ParallelMap(...)`` /
  ``SLURMCluster(...)``) to the first finished call;
* ``total_s``: the whole block for N calls (default 100), cluster start and stop included.

With ``--warm`` it measures instead what a call costs once the workers are up (the
issue's "same speed on SLURM"): two workers are started untimed, as SLURM jobs through
``slurm_cluster_setup`` or on this machine through ``local_cluster_setup`` (both over
TLS, their default), then ``ParallelMap(f, range(N), client=client)`` is timed several
times on them, in memory and with per-call HDF5 files, every result read back and
checked. The per-call cost is the median time over N; the figure is SLURM's against
the local cluster's, from runs interleaved in one invocation.

Competitors run interleaved (A B, B A, ...), each in its own subprocess. Both ask for
2 workers of 1 core and 1 GB in the same partition; acme_like writes per-call HDF5
files (its default), the hand-written peer writes the same files from its tasks.

Usage (SLURM must answer ``sinfo``; ``bash .ci/slurm/start-local-slurm.sh`` starts one)::

    python bench/bench_slurm.py [--n 100] [--repeats 3] [--partition small] [--out bench/results/slurm.json]
    python bench/bench_slurm.py --warm [--n 5000] [--repeats 3]     # -> bench/results/slurm-warm.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child_acme_like(n: int, partition: str, workdir: str) -> dict:
    import threading

    import dask

    import workloads
    from acme_like import ParallelMap

    payloads = Path(workdir) / "run" / "f_payload"
    first: list[float] = []

    def watch(start: float) -> None:
        while not first:
            if payloads.exists() and any(payloads.glob("f_*.h5")):
                first.append(time.perf_counter() - start)
                return
            time.sleep(0.005)

    start = time.perf_counter()
    threading.Thread(target=watch, args=(start,), daemon=True).start()
    with dask.config.set({"acme_like.backend": "slurm", "jobqueue.slurm.interface": "lo"}):
        with ParallelMap(workloads.f, list(range(n)), partition=partition, n_workers=2, mem_per_worker="1GB",
                         setup_interactive=False, output_dir=str(Path(workdir) / "run"), verbose=False) as pmap:
            pmap.compute()
    total = time.perf_counter() - start
    return {"first_result_s": first[0] if first else None, "total_s": total}


def child_jobqueue(n: int, partition: str, workdir: str) -> dict:
    import dask
    from dask_jobqueue import SLURMCluster
    from distributed import Client, as_completed

    import workloads

    start = time.perf_counter()
    with dask.config.set({"jobqueue.slurm.interface": "lo"}):
        cluster = SLURMCluster(queue=partition, cores=1, processes=1, memory="1GB",
                               scheduler_options={"dashboard_address": ":0"})
    cluster.scale(2)
    client = Client(cluster)
    out = Path(workdir) / "peer"
    out.mkdir()
    futures = client.map(workloads.f_to_h5, range(n), range(n), [str(out)] * n, pure=False)
    first = None
    for _ in as_completed(futures):
        if first is None:
            first = time.perf_counter() - start
    client.close()
    cluster.close()
    return {"first_result_s": first, "total_s": time.perf_counter() - start}


def child_warm(where: str, n: int, partition: str, workdir: str, rounds: int = 3) -> dict:
    """Per-call seconds of warm runs on two workers started untimed (SLURM jobs or local)."""
    import dask
    import numpy as np

    import workloads
    from acme_like import ParallelMap, cluster_cleanup, local_cluster_setup, slurm_cluster_setup

    with dask.config.set({"jobqueue.slurm.interface": "lo"}):
        if where == "warm-slurm":
            client = slurm_cluster_setup(partition, n_workers=2, mem_per_worker="1GB", interactive=False, timeout=300)
        else:
            client = local_cluster_setup(n_workers=2, mem_per_worker="1GB", interactive=False)
    client.wait_for_workers(2, timeout=300)
    protocol = client.scheduler.address.split("://")[0]
    expected = [workloads.f(x) for x in range(n)]
    seconds: dict[str, list[float]] = {"mem": [], "hdf5": []}
    try:
        for round_ in range(rounds):
            for mode in ("mem", "hdf5") if round_ % 2 == 0 else ("hdf5", "mem"):
                out = Path(workdir) / f"{mode}-{round_}"
                start = time.perf_counter()
                where = {"output_dir": str(out)} if mode == "hdf5" else {"write_worker_results": False}
                with ParallelMap(workloads.f, list(range(n)), client=client, verbose=False, **where) as pmap:
                    results = pmap.compute()
                seconds[mode].append(time.perf_counter() - start)
                if mode == "mem":
                    assert [float(r) for r in results] == expected, "wrong results in memory"
                else:
                    import h5py

                    with h5py.File(results[n // 2], "r") as h5:
                        assert float(np.asarray(h5["result_0"]).ravel()[0]) == expected[n // 2], "wrong result on disk"
    finally:
        cluster_cleanup(client)
    return {"protocol": protocol, "seconds": seconds,
            "per_call_ms": {mode: 1000 * statistics.median(v) / n for mode, v in seconds.items()}}


def run_child(name: str, n: int, partition: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="acme_like-bench-slurm-") as workdir:
        out = subprocess.run([sys.executable, __file__, "--child", name, str(n), partition, workdir],
                             capture_output=True, text=True, env=env, timeout=900, cwd=workdir)
    if out.returncode != 0:
        return {"competitor": name, "error": out.stderr[-2000:]}
    return {"competitor": name, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=None, help="calls per run (default 100; 5,000 with --warm)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--partition", default="small")
    parser.add_argument("--out", default=None, help="default bench/results/slurm.json (slurm-warm.json with --warm)")
    parser.add_argument("--warm", action="store_true", help="per-call cost with the workers up: SLURM against local")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.n is None:
        args.n = 5000 if args.warm else 100
    if args.out is None:
        args.out = str(HERE / "results" / ("slurm-warm.json" if args.warm else "slurm.json"))
    if args.child:
        name, n, partition, workdir = args.child
        if name.startswith("warm-"):
            print(json.dumps(child_warm(name, int(n), partition, workdir)))
            return 0
        runner = child_acme_like if name == "acme_like" else child_jobqueue
        print(json.dumps(runner(int(n), partition, workdir)))
        return 0
    if args.warm:
        return warm(args)

    order = ["acme_like", "jobqueue"]
    runs = []
    for repeat in range(args.repeats):
        for name in order if repeat % 2 == 0 else order[::-1]:
            runs.append({"repeat": repeat, **run_child(name, args.n, args.partition)})
            print(runs[-1] if "error" in runs[-1] else f"{name:<10} repeat {repeat}: "
                  f"first {runs[-1]['first_result_s']:.2f} s, total {runs[-1]['total_s']:.2f} s", flush=True)
    medians = {}
    for name in order:
        ok = [r for r in runs if r["competitor"] == name and "error" not in r]
        if ok:
            medians[name] = {key: statistics.median(r[key] for r in ok) for key in ("first_result_s", "total_s")}
    print(f"\n{'competitor':<12}{'first result s':>16}{'total s (N=' + str(args.n) + ')':>18}")
    for name, m in medians.items():
        print(f"{name:<12}{m['first_result_s']:>16.2f}{m['total_s']:>18.2f}")
    if len(medians) == 2:
        a, b = medians["acme_like"], medians["jobqueue"]
        print(f"ratios acme_like / hand-written: first result {a['first_result_s'] / b['first_result_s']:.2f}, "
              f"total {a['total_s'] / b['total_s']:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "slurm", "n": args.n, "partition": args.partition,
                                          "runs": runs, "medians": medians}, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


def warm(args: argparse.Namespace) -> int:
    """SLURM's warm per-call cost against the local cluster's, interleaved; ratios per mode."""
    order = ["warm-local", "warm-slurm"]
    runs = []
    for repeat in range(args.repeats):
        for name in order if repeat % 2 == 0 else order[::-1]:
            runs.append({"repeat": repeat, **run_child(name, args.n, args.partition)})
            run = runs[-1]
            print(run if "error" in run else f"{name:<11} repeat {repeat} ({run['protocol']}): " + ", ".join(
                f"{mode} {ms:.3f} ms/call" for mode, ms in run["per_call_ms"].items()), flush=True)
    medians: dict[str, dict[str, float]] = {}
    for name in order:
        ok = [r for r in runs if r["competitor"] == name and "error" not in r]
        if ok:
            medians[name] = {mode: statistics.median(r["per_call_ms"][mode] for r in ok) for mode in ("mem", "hdf5")}
    ratios = {}
    if len(medians) == 2:
        ratios = {mode: medians["warm-slurm"][mode] / medians["warm-local"][mode] for mode in ("mem", "hdf5")}
        print("per-call cost SLURM / local: " + ", ".join(f"{m} {r:.2f}" for m, r in ratios.items()) + " (target <= 1.2)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({
        "benchmark": "slurm-warm", "n": args.n, "partition": args.partition, "runs": runs,
        "median_ms_per_call": medians, "ratio_slurm_over_local": ratios, "target": 1.2,
        "load": list(os.getloadavg()),
    }, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0 if len(medians) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
