"""Time N tiny calls through acme_like and the peers a user would use instead.

One invocation runs five competitors, each in its own subprocess, interleaved as
A B C D E / E D C B A over the repeats, and reports medians:

  a  acme_like-hdf5   ParallelMap, per-call HDF5 files (default mode), attached to a
                      pre-started LocalCluster through ``client=``; the whole
                      ``with ParallelMap(...) as pmap: pmap.compute()`` block is timed
  b  acme_like-mem    the same with ``write_worker_results=False``
  c  dask-mem         ``client.map(f, xs, pure=False)`` + ``client.gather``
  d  dask-hdf5        the same, each task writing its own ``result_0`` HDF5 file
                      atomically (``client.map`` plus writing the same files yourself)
  e  floor-1proc      one process writing the same N files one after another, the
                      file-system floor; its time divided by the number of workers is
                      the reference figure for a perfectly parallel writer

Every cluster competitor starts its own ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=True)`` in its subprocess, imports numpy and h5py
on the workers, runs a small untimed warm-up of the same competitor, and then
times the real run. Memory: the subprocess's own peak (``VmHWM`` from
``/proc/self/status``, read right after the timed block) and each worker's peak
(the same, read on the workers through ``client.run``).

Usage::

    python bench/bench_tiny.py                 # n=5000, 3 repeats -> bench/results/tiny.json
    python bench/bench_tiny.py --quick         # n=500, 1 repeat   -> bench/results/tiny-quick.json

All output files go to a temporary directory that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULT_MARK = "BENCH-RESULT "

#: (label, name, what it is), in the A B C D E order of the interleaving.
COMPETITORS = [
    ("a", "acme_like-hdf5", "acme_like ParallelMap, per-call HDF5 files (default), client= a pre-started cluster"),
    ("b", "acme_like-mem", "acme_like ParallelMap, write_worker_results=False, same cluster"),
    ("c", "dask-mem", "client.map(f, xs, pure=False) + client.gather, same cluster"),
    ("d", "dask-hdf5", "client.map of f plus an atomic per-call HDF5 write, + client.gather, same cluster"),
    ("e", "floor-1proc", "one process calling f and writing the same N HDF5 files sequentially"),
]
NAMES = [name for _, name, _ in COMPETITORS]
CLUSTER_COMPETITORS = {"acme_like-hdf5", "acme_like-mem", "dask-mem", "dask-hdf5"}
HDF5_COMPETITORS = {"acme_like-hdf5", "dask-hdf5", "floor-1proc"}


# ----------------------------------------------------------------------------------------
# The child: one competitor, one run, in a fresh process
# ----------------------------------------------------------------------------------------


def _vmhwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _run_acme(client, n: int, outdir: Path, in_memory: bool) -> dict:
    from acme_like import ParallelMap

    import workloads

    xs = list(range(n))
    kwargs = {"write_worker_results": False} if in_memory else {"output_dir": str(outdir)}
    t0 = time.perf_counter()
    with ParallelMap(workloads.f, xs, client=client, **kwargs) as pmap:
        t1 = time.perf_counter()
        results = pmap.compute()
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    return {
        "results": results,
        "container": pmap.results_container,
        "seconds": t3 - t0,
        "phases": {
            "init": t1 - t0,
            "compute": t2 - t1,
            "exit": t3 - t2,
        },
    }


def _run_dask(client, n: int, outdir: Path, write_files: bool) -> dict:
    import workloads

    xs = list(range(n))
    t0 = time.perf_counter()
    if write_files:
        payload = outdir / "f_payload"
        payload.mkdir(parents=True)
        futures = client.map(workloads.f_to_h5, xs, range(n), directory=str(payload), pure=False)
    else:
        futures = client.map(workloads.f, xs, pure=False)
    t1 = time.perf_counter()
    results = client.gather(futures)
    del futures
    t2 = time.perf_counter()
    return {"results": results, "seconds": t2 - t0, "phases": {"map": t1 - t0, "gather": t2 - t1}}


def _run_floor(n: int, outdir: Path) -> dict:
    import workloads

    xs = list(range(n))
    t0 = time.perf_counter()
    payload = outdir / "f_payload"
    payload.mkdir(parents=True)
    directory = str(payload)
    results = [workloads.f_to_h5(x, i, directory) for i, x in enumerate(xs)]
    t1 = time.perf_counter()
    return {"results": results, "seconds": t1 - t0, "phases": {}}


def _run_competitor(name: str, client, n: int, outdir: Path) -> dict:
    if name == "acme_like-hdf5":
        return _run_acme(client, n, outdir, in_memory=False)
    if name == "acme_like-mem":
        return _run_acme(client, n, outdir, in_memory=True)
    if name == "dask-mem":
        return _run_dask(client, n, outdir, write_files=False)
    if name == "dask-hdf5":
        return _run_dask(client, n, outdir, write_files=True)
    if name == "floor-1proc":
        return _run_floor(n, outdir)
    raise ValueError(name)


def _verify(name: str, n: int, run: dict) -> dict:
    """Check every call's result: values in memory, or every file read back."""
    import workloads

    results = run["results"]
    expected = float(sum(range(n)) + n)
    check = {"n_results": len(results), "expected_sum": expected}
    if name in HDF5_COMPETITORS:
        paths = [str(p) for p in results]
        partial = [p for p in paths if Path(p + ".partial").exists()]
        values = [workloads.read_result(p) for p in paths]
        check["partial_files_left"] = len(partial)
        if run.get("container"):
            import h5py

            with h5py.File(run["container"], "r") as h5:
                check["container_links"] = sum(1 for key in h5 if key.startswith("comp_"))
                check["container_sum"] = float(sum(h5[f"comp_{i}"]["result_0"][()] for i in (0, n - 1)))
    else:
        values = results
    check["sum"] = float(sum(values))
    check["ok"] = (
        len(results) == n
        and check["sum"] == expected
        and check.get("partial_files_left", 0) == 0
        and check.get("container_links", n) == n
    )
    return check


def _hash_package(package: Path) -> str:
    """A short hash of a package's ``*.py`` sources in every folder (relative names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source_fingerprint() -> dict:
    """Which acme_like this process imported: its location, version and source hash."""
    import acme_like

    package = Path(acme_like.__file__).resolve().parent
    return {"path": str(package), "version": acme_like.__version__, "sources_sha256": _hash_package(package)}


def child_main(args: argparse.Namespace) -> None:
    """Run one competitor once and print its record as one JSON line."""
    import logging

    import workloads

    logging.getLogger("distributed").setLevel(logging.ERROR)
    name, n = args.child, args.n
    workdir = Path(args.workdir)
    record: dict = {"competitor": name, "n": n, "pid": os.getpid(), "acme_like": _source_fingerprint()}
    client = cluster = None
    try:
        if name in CLUSTER_COMPETITORS:
            from distributed import Client, LocalCluster

            t0 = time.perf_counter()
            cluster = LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                local_directory=str(workdir / "dask-scratch"),
            )
            client = Client(cluster)
            client.wait_for_workers(args.workers, timeout=120)
            client.run(workloads.warm_imports)
            record["cluster_start_seconds"] = time.perf_counter() - t0
            if args.warmup > 0:
                warm = _run_competitor(name, client, args.warmup, workdir / "warmup")
                record["warmup"] = {"n": args.warmup, "seconds": warm["seconds"]}
                del warm
            worker_cpu_before = client.run(workloads.cpu_seconds)
        gc.collect()
        cpu_before = time.process_time()
        run = _run_competitor(name, client, n, workdir / "out")
        record["parent_cpu_seconds"] = time.process_time() - cpu_before
        record["parent_peak_mb"] = _vmhwm_mb()
        record["seconds"] = run["seconds"]
        record["phases"] = run["phases"]
        if client is not None:
            worker_cpu_after = client.run(workloads.cpu_seconds)
            record["worker_cpu_seconds"] = {
                addr: worker_cpu_after[addr] - worker_cpu_before.get(addr, 0.0) for addr in worker_cpu_after
            }
            peaks = client.run(workloads.vmhwm_mb)
            record["worker_peak_mb"] = peaks
            record["max_worker_peak_mb"] = max(peaks.values())
            record["worker_malloc_trim_threshold"] = sorted(
                {str(v) for v in client.run(workloads.malloc_trim_threshold).values()}
            )
            record["n_workers"] = len(peaks)
        else:
            record["n_workers"] = 1
        record["check"] = _verify(name, n, run)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    print(RESULT_MARK + json.dumps(record), flush=True)


# ----------------------------------------------------------------------------------------
# The parent: schedule the runs, wait for a quiet machine, summarise
# ----------------------------------------------------------------------------------------


def _cpu_busy_percent(interval: float = 1.0) -> float:
    import psutil

    return psutil.cpu_percent(interval=interval)


def _wait_for_quiet(threshold: float, budget: float) -> dict:
    """Wait (at most ``budget`` s) until system CPU use over 1 s is below ``threshold`` %."""
    start = time.perf_counter()
    busy = _cpu_busy_percent()
    while busy >= threshold and time.perf_counter() - start < budget:
        busy = _cpu_busy_percent()
    return {"waited_seconds": round(time.perf_counter() - start, 1), "cpu_percent_before": busy}


def _snapshot_acme_like(ref: str, dest: Path) -> dict:
    """Freeze the acme_like every run imports: a copy of the working tree, or a git revision.

    The copy goes to ``dest/acme_like`` and ``dest`` is put first on the runs'
    ``PYTHONPATH``, so edits made to the repository while the benchmark runs do not
    change what is measured halfway through.
    """
    dest.mkdir(parents=True)
    if ref == "worktree":
        import acme_like

        source = Path(acme_like.__file__).resolve().parent
        shutil.copytree(source, dest / "acme_like", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        info = {"source": "working tree (copied at start)", "copied_from": str(source)}
    else:
        commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
        if commit is None:
            raise SystemExit(f"--acme-like-ref {ref!r} is not a commit of {REPO_DIR}")
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "acme_like"], cwd=REPO_DIR, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        info = {"source": f"git revision {ref}", "commit": commit}
    info["sources_sha256"] = _hash_package(dest / "acme_like")
    return info


def _run_child(name: str, n: int, workdir: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    paths = (args.snapshot_dir, str(BENCH_DIR), env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTHONUNBUFFERED"] = "1"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--n",
        str(n),
        "--workdir",
        str(workdir),
        "--workers",
        str(args.workers),
        "--warmup",
        str(args.warmup),
    ]
    workdir.mkdir(parents=True)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return {"competitor": name, "n": n, "status": "timeout", "stderr_tail": stderr[-2000:]}
    elapsed = time.perf_counter() - start
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if process.returncode != 0 or not lines:
        return {
            "competitor": name,
            "n": n,
            "status": "failed",
            "returncode": process.returncode,
            "stderr_tail": stderr[-4000:],
        }
    record = json.loads(lines[-1][len(RESULT_MARK):])
    record["status"] = "ok" if record["check"]["ok"] else "wrong-result"
    record["subprocess_seconds"] = elapsed
    return record


def _schedule(names: list[str], repeats: int) -> list[tuple[int, str]]:
    """A B C ... / ... C B A: forward on even repeats, reversed on odd ones."""
    order = []
    for repeat in range(repeats):
        order += [(repeat, name) for name in (names if repeat % 2 == 0 else names[::-1])]
    return order


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _summarise(runs: list[dict], names: list[str], n: int) -> dict:
    medians = {}
    for name in names:
        good = [r for r in runs if r["competitor"] == name and r["status"] == "ok"]
        seconds = [r["seconds"] for r in good]
        entry = {
            "runs_ok": len(good),
            "runs_total": sum(1 for r in runs if r["competitor"] == name),
            "seconds": _median(seconds),
            "seconds_min": min(seconds) if seconds else None,
            "seconds_max": max(seconds) if seconds else None,
            "calls_per_second": n / _median(seconds) if seconds else None,
            "ms_per_call": 1000 * _median(seconds) / n if seconds else None,
            "parent_peak_mb": _median([r["parent_peak_mb"] for r in good]),
            "parent_cpu_seconds": _median([r["parent_cpu_seconds"] for r in good]),
            "max_worker_peak_mb": _median([r["max_worker_peak_mb"] for r in good if "max_worker_peak_mb" in r]),
            "worker_cpu_seconds_sum": _median(
                [sum(r["worker_cpu_seconds"].values()) for r in good if "worker_cpu_seconds" in r]
            ),
        }
        phases = sorted({key for r in good for key in r.get("phases", {})})
        entry["phases"] = {key: _median([r["phases"][key] for r in good if key in r["phases"]]) for key in phases}
        medians[name] = entry
    return medians


def _ratio(runs: list[dict], medians: dict, top: str, bottom: str, divide_bottom_by: float = 1.0) -> dict:
    """The ratio of the medians, and the median of the per-repeat (paired) ratios."""
    if medians.get(top, {}).get("seconds") is None or medians.get(bottom, {}).get("seconds") is None:
        return {"of_medians": None, "paired_median": None, "paired": []}
    by_repeat: dict[int, dict[str, float]] = {}
    for r in runs:
        if r["status"] == "ok":
            by_repeat.setdefault(r["repeat"], {})[r["competitor"]] = r["seconds"]
    paired = [
        seconds[top] / (seconds[bottom] / divide_bottom_by)
        for _, seconds in sorted(by_repeat.items())
        if top in seconds and bottom in seconds
    ]
    return {
        "of_medians": medians[top]["seconds"] / (medians[bottom]["seconds"] / divide_bottom_by),
        "paired_median": _median(paired),
        "paired": paired,
    }


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _print_table(result: dict) -> None:
    n = result["config"]["n"]
    medians = result["medians"]
    n_workers = result["config"]["workers"]
    print()
    print(
        f"tiny calls f(x)=np.float64(x)+1, n={n}, {result['config']['repeats']} repeat(s), "
        f"{n_workers} workers x 1 thread, medians"
    )
    header = (
        f"{'':3}{'competitor':<16}{'median s':>10}{'min-max s':>15}{'calls/s':>10}{'ms/call':>9}"
        f"{'parent peak MB':>16}{'max worker peak MB':>20}{'parent CPU s':>14}{'runs ok':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, name, _ in COMPETITORS:
        if name not in medians:
            continue
        m = medians[name]
        spread = "-" if m["seconds_min"] is None else f"{m['seconds_min']:.2f}-{m['seconds_max']:.2f}"
        print(
            f"{label + ' ':3}{name:<16}{_fmt(m['seconds'], '.2f'):>10}{spread:>15}"
            f"{_fmt(m['calls_per_second'], '.0f'):>10}{_fmt(m['ms_per_call'], '.2f'):>9}"
            f"{_fmt(m['parent_peak_mb'], '.0f'):>16}{_fmt(m['max_worker_peak_mb'], '.0f'):>20}"
            f"{_fmt(m['parent_cpu_seconds'], '.2f'):>14}{str(m['runs_ok']) + '/' + str(m['runs_total']):>9}"
        )
    floor = medians.get("floor-1proc", {}).get("seconds")
    if floor is not None:
        print(f"   floor-1proc / {n_workers} workers = {floor / n_workers:.2f} s (a perfectly parallel writer)")
    print()
    print(f"{'ratio (time)':<48}{'of medians':>12}{'paired median':>15}   per repeat")
    for key, text in [
        ("acme_like-hdf5 / dask-hdf5", "acme_like-hdf5 / dask-hdf5"),
        ("acme_like-mem / dask-mem", "acme_like-mem / dask-mem"),
        ("acme_like-hdf5 / (floor-1proc / n_workers)", f"acme_like-hdf5 / (floor-1proc / {n_workers})"),
    ]:
        ratio = result["ratios"][key]
        per = ", ".join(f"{v:.2f}" for v in ratio["paired"])
        print(f"{text:<48}{_fmt(ratio['of_medians'], '.2f'):>12}{_fmt(ratio['paired_median'], '.2f'):>15}   {per}")
    bar = result["bar"]
    if bar["ratio"] is not None:
        verdict = "MET" if bar["met"] else "NOT MET"
        print()
        print(
            f"bar 'acme_like-hdf5 no slower than dask-hdf5': {verdict} "
            f"(paired median ratio {bar['ratio']:.2f}, ratio of medians {bar['ratio_of_medians']:.2f})"
        )
    problems = [r for r in result["runs"] if r["status"] != "ok"]
    for r in problems:
        print(f"!! run {r['competitor']} repeat {r.get('repeat')}: {r['status']}")


def _git(*command: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *command], cwd=REPO_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _filesystem_of(path: str) -> str | None:
    """The mount point and type of the file system holding ``path``."""
    best = None
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                mount, fstype = fields[1], fields[2]
                if path == mount or path.startswith(mount.rstrip("/") + "/"):
                    if best is None or len(mount) > len(best[0]):
                        best = (mount, fstype)
    except OSError:
        return None
    return None if best is None else f"{best[1]} at {best[0]}"


def _machine(tmp_root: str) -> dict:
    import cloudpickle
    import dask
    import distributed
    import h5py
    import msgpack
    import numpy
    import psutil
    import tornado

    memory = psutil.virtual_memory().total
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(memory / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "python": platform.python_version(),
            "dask": dask.__version__,
            "distributed": distributed.__version__,
            "h5py": h5py.__version__,
            "hdf5": h5py.version.hdf5_version,
            "numpy": numpy.__version__,
            "acme_like": None,  # filled in from what the runs imported
            "cloudpickle": cloudpickle.__version__,
            "msgpack": ".".join(map(str, msgpack.version)),
            "tornado": tornado.version,
            "psutil": psutil.__version__,
        },
        "temp_dir": tmp_root,
        "temp_filesystem": _filesystem_of(tmp_root),
    }


def parent_main(args: argparse.Namespace) -> int:
    names = [name for label, name, _ in COMPETITORS if label in args.only or name in args.only]
    if not names:
        print(f"--only selects no competitor; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    tmp_root = tempfile.mkdtemp(prefix="acme_like-bench-tiny-")
    started = _dt.datetime.now().astimezone()
    try:
        measured = _snapshot_acme_like(args.acme_like_ref, Path(tmp_root) / "snapshot")
    except BaseException:
        shutil.rmtree(tmp_root, ignore_errors=True)
        raise
    args.snapshot_dir = str(Path(tmp_root) / "snapshot")
    result: dict = {
        "benchmark": "tiny",
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "n": args.n,
            "repeats": args.repeats,
            "workers": args.workers,
            "threads_per_worker": 1,
            "warmup_calls": args.warmup,
            "timeout_seconds": args.timeout,
            "quiet_threshold_percent": args.quiet_threshold,
            "quiet_budget_seconds": args.quiet_budget,
            "competitors": {name: text for _, name, text in COMPETITORS if name in names},
            "labels": {name: label for label, name, _ in COMPETITORS if name in names},
            "order": "A B C D E on even repeats, E D C B A on odd ones",
        },
        "machine": _machine(tmp_root),
        "git": {
            "head": _git("rev-parse", "HEAD"),
            "acme_like_dirty_at_start": bool(_git("status", "--porcelain", "acme_like")),
        },
        "acme_like_measured": measured,
        "loadavg_start": os.getloadavg(),
        "runs": [],
    }
    schedule = _schedule(names, args.repeats)
    try:
        for number, (repeat, name) in enumerate(schedule):
            quiet = _wait_for_quiet(args.quiet_threshold, args.quiet_budget)
            loadavg = os.getloadavg()
            workdir = Path(tmp_root) / f"run{number:02d}-{name}"
            print(
                f"[{number + 1}/{len(schedule)}] repeat {repeat} {name} n={args.n} "
                f"(cpu {quiet['cpu_percent_before']:.0f}%, load {loadavg[0]:.2f}) ...",
                end=" ",
                flush=True,
            )
            record = _run_child(name, args.n, workdir, args)
            record.update(repeat=repeat, position=number, loadavg_before=loadavg, **quiet)
            record["loadavg_after"] = os.getloadavg()
            result["runs"].append(record)
            if record["status"] == "ok":
                print(f"{record['seconds']:.2f} s", flush=True)
            else:
                print(record["status"], flush=True)
                print(record.get("stderr_tail", ""), file=sys.stderr)
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    result["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    result["loadavg_end"] = os.getloadavg()
    fingerprints = sorted({r["acme_like"]["sources_sha256"] for r in result["runs"] if "acme_like" in r})
    versions = sorted({r["acme_like"]["version"] for r in result["runs"] if "acme_like" in r})
    result["machine"]["versions"]["acme_like"] = versions[0] if len(versions) == 1 else versions
    result["acme_like_sources_sha256_imported"] = fingerprints
    if fingerprints != [measured["sources_sha256"]]:
        print(
            f"!! the runs imported acme_like sources {fingerprints}, not the snapshot "
            f"{measured['sources_sha256']}: check PYTHONPATH and the editable install",
            file=sys.stderr,
        )
    medians = _summarise(result["runs"], names, args.n)
    result["medians"] = medians
    floor_divisor = float(args.workers)
    result["ratios"] = {
        "acme_like-hdf5 / dask-hdf5": _ratio(result["runs"], medians, "acme_like-hdf5", "dask-hdf5"),
        "acme_like-mem / dask-mem": _ratio(result["runs"], medians, "acme_like-mem", "dask-mem"),
        "acme_like-hdf5 / (floor-1proc / n_workers)": _ratio(
            result["runs"], medians, "acme_like-hdf5", "floor-1proc", floor_divisor
        ),
    }
    bar_ratio = result["ratios"]["acme_like-hdf5 / dask-hdf5"]
    result["bar"] = {
        "statement": "acme_like-hdf5 is no slower than dask-hdf5 (client.map plus writing the same files yourself)",
        "ratio": bar_ratio["paired_median"],
        "ratio_of_medians": bar_ratio["of_medians"],
        "met": None if bar_ratio["paired_median"] is None else bar_ratio["paired_median"] <= 1.0,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp_out, out)
    _print_table(result)
    print(f"\nraw runs, medians and machine info: {out}")
    return 0 if all(r["status"] == "ok" for r in result["runs"]) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--n", type=int, default=None, help="calls per run (default 5000; 500 with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats of each competitor (default 3; 1 with --quick)")
    parser.add_argument(
        "--out", default=None, help="JSON file (default bench/results/tiny.json; tiny-quick.json with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="n=500, 1 repeat: a smoke test, not a measurement")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the cluster (default 2)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before each timed run (default 20)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed (default 900)")
    parser.add_argument(
        "--only", default="a,b,c,d,e", help="competitors to run, by label or name, comma-separated (default all)"
    )
    parser.add_argument(
        "--quiet-threshold", type=float, default=35.0, help="wait before each run until CPU use is below this %%"
    )
    parser.add_argument(
        "--quiet-budget", type=float, default=30.0, help="but wait at most this many seconds per run (default 30)"
    )
    parser.add_argument(
        "--acme-like-ref",
        default="worktree",
        help="acme_like to measure: 'worktree' (a copy of the installed sources taken at start,\n"
        "the default) or a git revision such as HEAD",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args)
        return 0
    args.n = args.n or (500 if args.quick else 5000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.out = args.out or str(BENCH_DIR / "results" / ("tiny-quick.json" if args.quick else "tiny.json"))
    args.only = {item.strip() for item in args.only.split(",") if item.strip()}
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
