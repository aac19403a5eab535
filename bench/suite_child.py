"""One run of the suite: one workload, one competitor, in a fresh process.

``bench/run.py`` starts this script once per run (with acme_like's interpreter, or
with the esi-acme virtualenv's interpreter for the ``esi-acme-*`` competitors) and
reads back one line ``SUITE-RESULT {json}``. It sets up what the competitor needs
(a cluster, a pool), runs an untimed warm-up, marks the wall-clock time, runs the
timed part, reads the results back, verifies them and reports. Peak memory of the
worker processes is sampled from outside by ``run.py``; this process reports its
own ``VmHWM``.

It imports neither acme_like nor acme at module level, so it runs under both
interpreters.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

import h5py
import numpy as np

import workloads
from workloads import vmhwm_mb

RESULT_MARK = "SUITE-RESULT "
WARMUP_CALLS = 20
#: ParallelMap keywords of each acme-style output mode (the same for acme_like and esi-acme).
MODES = {
    "hdf5": {},
    "mem": {"write_worker_results": False},
    "pickle": {"write_pickle": True},
    "stacked": {},  # result_shape added per workload
    "stacked_mem": {"write_worker_results": False},
    "stacked_modern": {},  # acme_like only: dask config acme_like.layout = modern (shards, no file per call)
}


class Job:
    """What a workload maps: ``func(x, *shared)`` for x in ``xs``, and how to check it."""

    def __init__(self, func, xs, shared=(), result_shape=None, expected=None):
        self.func, self.xs, self.shared = func, xs, tuple(shared)
        self.result_shape, self.expected = result_shape, expected

    @property
    def n(self):
        return len(self.xs)


def make_job(workload: str, n: int, params: dict, big=None) -> Job:
    xs = list(range(n))
    if workload.startswith("tiny") or workload == "readback":
        return Job(workloads.f, xs, result_shape=(None,), expected=float(sum(xs) + n))
    if workload == "array":
        return Job(workloads.f_array, xs, result_shape=(None, 1000), expected=1000.0 * sum(xs))
    if workload == "cpu":
        return Job(workloads.cpu_alloc, xs, (params["n_iter"],))
    if workload == "broadcast":
        expected = sum(workloads.pick(i, big) for i in xs) if big is not None else None
        return Job(workloads.pick, xs, (big,), expected=expected)
    raise ValueError(workload)


# ---- competitors --------------------------------------------------------------------------


def acme_style(module: str, job: Job, mode: str, outdir: Path, own_cluster: bool) -> dict:
    """``with ParallelMap(func, xs, *shared, ...) as pmap: pmap.compute()`` of acme_like or esi-acme."""
    if module == "acme_like":
        from acme_like import ParallelMap
    else:
        from acme import ParallelMap
    kwargs = dict(MODES[mode], n_inputs=job.n, verbose=False, setup_interactive=False)
    if mode.startswith("stacked"):
        kwargs["result_shape"] = job.result_shape
    if kwargs.get("write_worker_results", True):
        kwargs["output_dir"] = str(outdir)
    if own_cluster:
        kwargs["n_workers"] = 2
    import contextlib

    import dask.config

    layout = dask.config.set({"acme_like.layout": "modern"}) if mode == "stacked_modern" else contextlib.nullcontext()
    t0 = time.perf_counter()
    with layout, ParallelMap(job.func, job.xs, *job.shared, **kwargs) as pmap:
        t1 = time.perf_counter()
        results = pmap.compute()
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    return {
        "results": results,
        "container": getattr(pmap, "results_container", None),
        "seconds": t3 - t0,
        "phases": {"init": t1 - t0, "compute": t2 - t1, "exit": t3 - t2},
    }


def dask_map(client, job: Job, to_files: bool, outdir: Path) -> dict:
    t0 = time.perf_counter()
    shared = [client.scatter(s, broadcast=True) if getattr(s, "nbytes", 0) > 1e6 else s for s in job.shared]
    columns = [[s] * job.n for s in shared]
    if to_files:
        outdir.mkdir(parents=True)
        futures = client.map(
            workloads.to_h5, [job.func] * job.n, range(job.n), [str(outdir)] * job.n, job.xs, *columns, pure=False
        )
    else:
        futures = client.map(job.func, job.xs, *columns, pure=False)
    results = client.gather(futures)
    del futures, shared
    return {"results": results, "seconds": time.perf_counter() - t0}


def joblib_map(job: Job, to_files: bool, outdir: Path) -> dict:
    from joblib import Parallel, delayed

    t0 = time.perf_counter()
    if to_files:
        outdir.mkdir(parents=True)
        calls = (delayed(workloads.to_h5)(job.func, i, str(outdir), x, *job.shared) for i, x in enumerate(job.xs))
    else:
        calls = (delayed(job.func)(x, *job.shared) for x in job.xs)
    results = Parallel(n_jobs=2)(calls)
    return {"results": results, "seconds": time.perf_counter() - t0}


def ppe_map(executor, job: Job, to_files: bool, outdir: Path) -> dict:
    columns = [[s] * job.n for s in job.shared]
    t0 = time.perf_counter()
    if to_files:
        outdir.mkdir(parents=True)
        it = executor.map(workloads.to_h5, [job.func] * job.n, range(job.n), [str(outdir)] * job.n, job.xs, *columns)
    else:
        it = executor.map(job.func, job.xs, *columns)
    results = list(it)
    return {"results": results, "seconds": time.perf_counter() - t0}


def fs_only(executor, writers: int, job: Job, outdir: Path) -> dict:
    """Write the run's per-call files as plain bytes of the same size, with no HDF5 and no
    calls: this process alone (``writers`` 1) or ``writers`` processes of ``executor``, each
    a contiguous share."""
    size = workloads.result_file_bytes()
    outdir.mkdir(parents=True)
    t0 = time.perf_counter()
    if writers == 1:
        paths = workloads.write_blobs(size, str(outdir), range(job.n))
    else:
        shares = [range(k * job.n // writers, (k + 1) * job.n // writers) for k in range(writers)]
        paths = [p for part in executor.map(workloads.write_blobs, [size] * writers, [str(outdir)] * writers, shares)
                 for p in part]
    return {"results": paths, "seconds": time.perf_counter() - t0}


def loop(job: Job, to_files: bool, outdir: Path) -> dict:
    t0 = time.perf_counter()
    if to_files:
        outdir.mkdir(parents=True)
        results = [workloads.to_h5(job.func, i, str(outdir), x, *job.shared) for i, x in enumerate(job.xs)]
    else:
        results = [job.func(x, *job.shared) for x in job.xs]
    return {"results": results, "seconds": time.perf_counter() - t0}


# ---- read-back and verification -----------------------------------------------------------


def read_back(competitor: str, run: dict) -> tuple[float | None, float | None]:
    """Read every result the run produced; return (sum of all values, seconds), or (None, None)."""
    results = run["results"]
    container = run.get("container")
    t0 = time.perf_counter()
    if "stacked" in competitor and not competitor.endswith("mem") and "mem-" not in competitor:
        with h5py.File(container, "r") as h5:
            total = float(np.sum(h5["result_0"][()]))
    elif competitor.endswith("-hdf5") and container:
        total = 0.0
        with h5py.File(container, "r") as h5:
            for key in h5:
                if key.startswith("comp_"):
                    total += float(np.sum(h5[key]["result_0"][()]))
    elif competitor.endswith("-pickle"):
        total = 0.0
        for path in results:
            with open(path, "rb") as handle:
                value = pickle.load(handle)
            total += float(np.sum(value[0] if isinstance(value, (tuple, list)) else value))
    elif competitor.endswith("-hdf5") or competitor == "floor-1proc":
        total = workloads.read_all_results(results)
    else:
        return None, None
    return total, time.perf_counter() - t0


def in_memory_sum(results) -> float:
    if isinstance(results, np.ndarray):
        return float(np.nansum(results))
    return float(sum(np.sum(r) for r in results))


def verify(job: Job, competitor: str, run: dict) -> dict:
    results = run["results"]
    total, seconds = read_back(competitor, run)
    check: dict = {"n_results": len(results) if not isinstance(results, np.ndarray) else results.shape[0]}
    if competitor.startswith("fs-"):  # plain bytes, no values: every file must be there
        check["ok"] = check["n_results"] == job.n and all(os.path.getsize(p) > 0 for p in results)
        return check
    if seconds is not None:
        check["readback_seconds"] = seconds
    else:
        total = in_memory_sum(results)
    check["sum"] = total
    check["expected_sum"] = job.expected
    ok = check["n_results"] == job.n and np.isfinite(total)
    if job.expected is not None:
        ok = ok and abs(total - job.expected) <= 1e-9 * max(1.0, abs(job.expected))
    check["ok"] = bool(ok)
    return check


# ---- the read-back workload ---------------------------------------------------------------


def readback_run(competitor: str, job: Job, client, outdir: Path, reads: int) -> dict:
    """Produce the results (untimed), then time ``reads`` fresh open-and-read passes."""
    if competitor == "ordinary-dataset":
        outdir.mkdir(parents=True)
        path = outdir / "one.h5"
        with h5py.File(path, "w") as h5:
            h5.create_dataset("result_0", data=np.asarray([workloads.f(x) for x in job.xs], dtype=np.float64))
        produced = {"results": [None] * job.n, "container": str(path)}
        stacked = True
    else:
        module = "acme" if competitor.startswith("esi-acme") else "acme_like"
        mode = "stacked" if competitor.endswith("stacked") else "hdf5"
        produced = acme_style(module, job, mode, outdir, own_cluster=False)
        stacked = mode == "stacked"
    if client is not None:
        # Read in a quiet process, as the ordinary dataset is: no scheduler threads competing.
        _close(client)
    before = vmhwm_mb()
    times, total = [], None
    for _ in range(reads):
        t0 = time.perf_counter()
        with h5py.File(produced["container"], "r") as h5:
            if stacked:
                total = float(np.sum(h5["result_0"][()]))
            else:
                total = sum(float(np.sum(h5[f"comp_{i}"]["result_0"][()])) for i in range(job.n))  # (1,) or 0-d
        times.append(time.perf_counter() - t0)
    return {
        "results": produced["results"],
        "seconds": statistics.median(times),
        "phases": {"reads": times, "produce_seconds": produced.get("seconds")},
        "readback_total": total,
        "parent_peak_before_reads_mb": before,
    }


# ---- main ---------------------------------------------------------------------------------


def start_cluster(kind: str, scratch: Path):
    from distributed import Client, LocalCluster

    if kind == "acme_like":
        # The cluster acme_like starts itself, through its public API; dask peers share it.
        from acme_like import local_cluster_setup

        client = local_cluster_setup(n_workers=2, interactive=False)
    else:
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            local_directory=str(scratch),
        )
        client = Client(cluster)
    client.wait_for_workers(2, timeout=120)
    client.run(workloads.warm_imports)
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True, help="JSON: workload, competitor, n, params, workdir")
    spec = json.loads(parser.parse_args().spec)
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    workload, competitor, n, params = spec["workload"], spec["competitor"], spec["n"], spec["params"]
    workdir = Path(spec["workdir"])
    record: dict = {"workload": workload, "competitor": competitor, "n": n, "pid": os.getpid()}
    if competitor.startswith("acme_like") or competitor.startswith("dask"):
        import acme_like

        record["acme_like_version"] = acme_like.__version__
        record["acme_like_path"] = str(Path(acme_like.__file__).resolve().parent)
    if competitor.startswith("esi-acme"):
        import acme

        record["esi_acme_version"] = getattr(acme, "__version__", "?")
    record["cluster_tls"] = not competitor.endswith("-tcp")  # run.py sets acme_like.local-tls to match
    base_name = competitor.removesuffix("-tcp")
    e2e = base_name.endswith("-e2e")
    name = base_name[: -len("-e2e")] if e2e else base_name
    family, _, mode = name.partition("-")
    if name.startswith("esi-acme"):
        family, mode = "esi-acme", name[len("esi-acme-"):]
    to_files = mode == "hdf5"
    client = executor = None
    small = make_job(workload, min(WARMUP_CALLS, n), params,
                     big=np.zeros((WARMUP_CALLS + 1, 200)) if workload == "broadcast" else None)
    try:
        if family in ("acme_like", "dask", "esi-acme") and not e2e:
            t0 = time.perf_counter()
            client = start_cluster("esi-acme" if family == "esi-acme" else "acme_like", workdir / "dask-scratch")
            record["cluster_start_seconds"] = time.perf_counter() - t0
            record["scheduler_protocol"] = client.scheduler.address.split("://")[0]
            record["worker_malloc_trim_threshold"] = sorted(
                {str(v) for v in client.run(workloads.malloc_trim_threshold).values()}
            )
        if (family == "ppe" or name == "fs-2proc") and not e2e:
            from concurrent.futures import ProcessPoolExecutor

            executor = ProcessPoolExecutor(2)

        def run_once(job: Job, out: Path) -> dict:
            if workload == "readback":
                return readback_run(competitor, job, client, out, params.get("reads", 5))
            if family in ("acme_like", "esi-acme"):
                module = "acme" if family == "esi-acme" else "acme_like"
                return acme_style(module, job, mode, out, own_cluster=e2e)
            if family == "dask":
                return dask_map(client, job, to_files, out)
            if family == "joblib":
                return joblib_map(job, to_files, out)
            if family == "ppe":
                if e2e:
                    from concurrent.futures import ProcessPoolExecutor

                    t0 = time.perf_counter()
                    with ProcessPoolExecutor(2) as pool:
                        run = ppe_map(pool, job, to_files, out)
                    run["seconds"] = time.perf_counter() - t0
                    return run
                return ppe_map(executor, job, to_files, out)
            if family == "fs":
                return fs_only(executor, 2 if mode == "2proc" else 1, job, out)
            if family in ("sequential", "floor"):
                return loop(job, family == "floor", out)
            raise ValueError(competitor)

        if not e2e and workload != "readback" and family not in ("sequential", "floor") and name != "fs-1proc":
            warm = run_once(small, workdir / "warmup")
            record["warmup_seconds"] = warm["seconds"]
            del warm
        gc.collect()
        record["parent_rss_before_mb"] = _rss_mb()
        record["t_mark"] = time.time()
        big = None
        if workload == "broadcast":
            rows, cols = params["shape"]
            big = np.random.default_rng(0).random((rows, cols))
            record["argument_mb"] = big.nbytes / 2**20
        job = make_job(workload, n, params, big=big)
        cpu0 = time.process_time()
        run = run_once(job, workdir / "out")
        record["parent_cpu_seconds"] = time.process_time() - cpu0
        record["t_end"] = time.time()
        record["parent_peak_mb"] = vmhwm_mb()
        record["seconds"] = run["seconds"]
        record["phases"] = run.get("phases", {})
        if workload == "readback":
            record["parent_peak_before_reads_mb"] = run["parent_peak_before_reads_mb"]
            check = {"sum": run["readback_total"], "expected_sum": job.expected, "n_results": job.n}
            check["ok"] = run["readback_total"] == job.expected
        else:
            check = verify(job, name, run)
        record["check"] = check
        record["parent_peak_after_readback_mb"] = vmhwm_mb()
    finally:
        if client is not None:
            _close(client)
        if executor is not None:
            executor.shutdown()
    print(RESULT_MARK + json.dumps(record), flush=True)


def _close(client) -> None:
    """Close ``client`` and its cluster; closing twice is harmless."""
    cluster = client.cluster
    client.close()
    if cluster is not None and cluster.status.name not in ("closed", "closing"):
        cluster.close()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
