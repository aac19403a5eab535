"""A million tiny calls written to disk: the parent's peak memory and the time, end to end.

Three runs of ``f(x) = np.float64(x) + 1`` (``bench/workloads.py``) over ``range(N)``,
each in a fresh subprocess, with ``n_workers=2`` (the local cluster ParallelMap starts
and stops itself is part of the run):

* ``hdf5``: the default, one HDF5 file per call and the ``f.h5`` container linking them;
* ``stacked``: ``result_shape=(None,)`` in ACME's layout (a file per call plus the shards);
* ``stacked-modern``: the same with dask config ``acme_like.layout: modern`` (shards only).

Each run's results are read back and checked (the container opened, the count of
calls, the stacked values whole or, per call, every 1,000th value and the number of
``comp_<i>`` entries). The parent's peak is its ``VmHWM``: sampled from ``/proc``
every 0.1 s from outside (``run.TreeSampler``, which also records the workers' peaks)
and read by the run itself right after ``compute()`` returned, before the read-back.
The CPU time of the run is recorded too: the parent's, and its worker processes' together
(``getrusage``; the workers are the parent's children, reaped when the cluster stops).
Before each run the script waits for a quiet machine (``bench_tiny``'s wait). The
output goes to a temporary directory deleted after each run.

Usage::

    python bench/bench_million.py                      # N = 1,000,000 -> bench/results/million.json
    python bench/bench_million.py --n 100000 --out bench/results/million-100k.json
    python bench/bench_million.py --n 100000 --modes stacked --acme-like-ref HEAD~3

The growth target compares the parent peaks of ``--n 100000`` and the default.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_tiny  # noqa: E402  (quiet-machine wait, the frozen copy of acme_like)
from run import TreeSampler  # noqa: E402  (VmHWM of the process tree from /proc)

RESULT_MARK = "MILLION-RESULT "
MODES = ("hdf5", "stacked", "stacked-modern")
#: Per-call files: every SAMPLE_EVERY-th value is read back through the container.
SAMPLE_EVERY = 1000


# ---- the child: one run ------------------------------------------------------------------


def child(mode: str, n: int, outdir: Path) -> dict:
    import dask.config
    import h5py
    import numpy as np

    import workloads
    from acme_like import ParallelMap

    kwargs: dict = {"n_workers": 2, "output_dir": str(outdir), "verbose": False, "setup_interactive": False}
    if mode != "hdf5":
        kwargs["result_shape"] = (None,)
    layout = "modern" if mode == "stacked-modern" else "acme"
    before = workloads.vmhwm_mb()
    start = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = start.ru_utime + start.ru_stime
    t0 = time.perf_counter()
    with dask.config.set({"acme_like.layout": layout}):
        with ParallelMap(workloads.f, range(n), **kwargs) as pmap:
            returned = pmap.compute()
        container = pmap.results_container
    seconds = time.perf_counter() - t0
    peak = workloads.vmhwm_mb()
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t1 = time.perf_counter()
    n_returned = len(returned)
    del returned  # the read-back's own memory, not the run's, is what the sampled peak adds
    check = _check(h5py, np, mode, n, container, n_returned)
    return {
        "mode": mode, "n": n, "seconds": round(seconds, 2), "readback_seconds": round(time.perf_counter() - t1, 2),
        "parent_peak_mb_before": round(before, 1), "parent_peak_mb_run": round(peak, 1),
        "parent_peak_mb_with_readback": round(workloads.vmhwm_mb(), 1), "check": check,
        # CPU seconds of the run: this process from just before ParallelMap (the cluster's start
        # and stop included), and its worker processes, which the cluster's stop has reaped.
        "parent_cpu_seconds": round(own.ru_utime + own.ru_stime - cpu_before, 2),
        "workers_cpu_seconds": round(workers.ru_utime + workers.ru_stime, 2),
    }


def _check(h5py, np, mode: str, n: int, container: str, n_returned: int) -> dict:
    """Open the container and check the count and the values; returns what was found."""
    expected = np.arange(n, dtype=np.float64) + 1
    check: dict = {"n_returned": n_returned}
    with h5py.File(container, "r") as h5:
        check["n_calls_attr"] = int(h5.attrs["n_calls"])
        check["n_failed"] = int(len(h5.attrs["failed_calls"]))
        if mode == "hdf5":
            check["n_comp"] = len(h5)  # every entry is a comp_<i> (the first and the last are looked up below)
            check["ends_ok"] = f"comp_{n - 1}" in h5 and f"comp_{n}" not in h5
            sampled = range(0, n, SAMPLE_EVERY)
            values = np.array([h5[f"comp_{i}"]["result_0"][()] for i in sampled])
            check["values_ok"] = bool(values.shape == (len(sampled), 1) and np.array_equal(values[:, 0], expected[sampled]))
            count_ok = check["n_comp"] == n and check["ends_ok"]
        else:
            stacked = h5["result_0"][()]
            check["shape"] = list(stacked.shape)
            check["values_ok"] = bool(stacked.shape == (n,) and np.array_equal(stacked, expected))
            count_ok = True
    check["ok"] = bool(check["values_ok"] and count_ok and check["n_returned"] == n and check["n_calls_attr"] == n
                       and check["n_failed"] == 0)
    return check


# ---- the parent: one subprocess per run -----------------------------------------------------


def run_one(mode: str, n: int, args: argparse.Namespace) -> dict:
    print(f"{mode}: waiting for a quiet machine", flush=True)
    quiet = bench_tiny._wait_for_quiet(args.quiet_threshold, args.quiet_budget)
    scratch = Path(tempfile.mkdtemp(prefix=f"million-{mode}-"))
    env = dict(os.environ, PYTHONUNBUFFERED="1", DASK_ACME_LIKE__BACKEND="local")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (args.snapshot_dir, str(BENCH_DIR)) if p)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--n", str(n),
               "--outdir", str(scratch / "out")]
    base = {"mode": mode, "n": n, "quiet": quiet}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return {**base, "status": "timeout", "stderr_tail": stderr[-2000:]}
    finally:
        sampler.stop.set()
        sampler.join()
        shutil.rmtree(scratch, ignore_errors=True)
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if process.returncode != 0 or not lines:
        return {**base, "status": "failed", "returncode": process.returncode, "stderr_tail": stderr[-4000:]}
    record = {**base, **json.loads(lines[-1][len(RESULT_MARK):])}
    parent = sampler.processes.get(process.pid, {})
    record["parent_peak_mb_sampled"] = round(parent.get("peak_mb", 0.0), 1)
    record.update({k: v for k, v in sampler.summary(process.pid, None, None).items() if k != "worker_peak_mb"})
    record["subprocess_seconds"] = round(time.perf_counter() - start, 2)
    record["status"] = "ok" if record["check"]["ok"] else "wrong-result"
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "million.json")
    parser.add_argument("--acme-like-ref", default="worktree", help="'worktree' (the acme_like imported) or a git revision")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--quiet-threshold", type=float, default=25.0, help="CPU %% below which the machine counts as quiet")
    parser.add_argument("--quiet-budget", type=float, default=120.0)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--outdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(RESULT_MARK + json.dumps(child(args.child, args.n, args.outdir)), flush=True)
        return 0
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
    with tempfile.TemporaryDirectory(prefix="million-snapshot-") as snapshot:
        args.snapshot_dir = str(Path(snapshot) / "tree")
        source = bench_tiny._snapshot_acme_like(args.acme_like_ref, Path(args.snapshot_dir))
        runs = []
        for mode in modes:
            record = run_one(mode, args.n, args)
            runs.append(record)
            shown = {k: record.get(k) for k in ("status", "seconds", "parent_peak_mb_run", "parent_peak_mb_sampled",
                                                "max_worker_peak_mb")}
            print(f"{mode}: {json.dumps(shown)}", flush=True)
    result = {"when": _dt.datetime.now().isoformat(timespec="seconds"), "n": args.n, "acme_like": source, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["status"] == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
