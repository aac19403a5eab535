"""The benchmark suite: acme_like against the tools a user would pick instead, in one run.

Every workload runs its competitors interleaved (A B C ... / ... C B A over the
repeats), each run in a fresh subprocess (``suite_child.py``) whose process tree
is sampled every 0.1 s for memory. Prints one table per workload (medians), the
targets with their measured ratios, and writes everything to JSON.

Usage::

    python bench/run.py                           # full suite -> bench/results/suite.json
    python bench/run.py --quick                   # small sizes, 1 repeat -> bench/results/suite-quick.json
    python bench/run.py --only tiny-5k,cpu        # some workloads only
    python bench/run.py --only tiny-5k,cpu --tls-pairs --repeats 3 --out bench/results/tls.json
                                                  # acme_like over TLS (its default) against plain TCP
    python bench/run.py --out /tmp/suite.json

esi-acme runs with the interpreter of ``bench/.venv-acme`` (see bench/README.md);
without it, its competitors are skipped and the run says so.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_tiny  # noqa: E402  (its snapshot, machine and quiet-wait machinery)

RESULT_MARK = "SUITE-RESULT "
N_WORKERS = 2
DEFAULT_ACME_PYTHON = BENCH_DIR / ".venv-acme" / "bin" / "python"

TINY = [
    "acme_like-hdf5", "acme_like-mem", "acme_like-pickle", "acme_like-stacked",
    "esi-acme-hdf5", "esi-acme-mem",
    "dask-hdf5", "dask-mem", "joblib-hdf5", "joblib-mem", "ppe-hdf5", "ppe-mem", "floor-1proc",
    "fs-1proc", "fs-2proc",
]

#: key -> what runs. n and params: (full, quick). Competitor names: family-mode[-e2e].
WORKLOADS = {
    "tiny-1k": {
        "what": "tiny calls f(x)=np.float64(x)+1, N=1,000",
        "n": (1000, 200), "repeats": (3, 1), "competitors": TINY, "params": ({}, {}),
    },
    "tiny-5k": {
        "what": "tiny calls f(x)=np.float64(x)+1, N=5,000",
        "n": (5000, 500), "repeats": (3, 1), "competitors": TINY, "params": ({}, {}),
    },
    "tiny-100k": {
        "what": "tiny calls, N=100,000, end to end: pool or cluster start and stop included",
        "n": (100_000, 5000), "repeats": (2, 1),
        "competitors": [
            "acme_like-stacked-e2e", "acme_like-stacked_modern-e2e", "acme_like-mem-e2e", "joblib-mem-e2e", "ppe-mem-e2e",
        ],
        "params": ({}, {}),
    },
    "tiny-1m": {
        "what": "tiny calls, N=1,000,000, end to end: pool or cluster start and stop included",
        "n": (1_000_000, 20_000), "repeats": (1, 1),
        "competitors": ["acme_like-stacked-e2e", "acme_like-stacked_modern-e2e", "acme_like-mem-e2e", "joblib-mem-e2e"],
        "params": ({}, {}),
    },
    "array": {
        "what": "calls returning a 1,000-element float64 array, N=1,000",
        "n": (1000, 200), "repeats": (2, 1),
        "competitors": [
            "acme_like-hdf5", "acme_like-stacked", "acme_like-mem", "esi-acme-hdf5", "esi-acme-stacked",
            "esi-acme-mem", "dask-mem", "joblib-mem", "ppe-mem", "floor-1proc",
        ],
        "params": ({}, {}),
    },
    "cpu": {
        "what": "CPU-bound numpy calls allocating 8 MB temporaries (~0.1 s each), N=40",
        "n": (40, 8), "repeats": (3, 1),
        "competitors": [
            "sequential-mem", "acme_like-hdf5", "acme_like-mem", "acme_like-hdf5-e2e", "esi-acme-hdf5",
            "dask-mem", "joblib-mem", "ppe-mem",
        ],
        "params": ({}, {}),  # n_iter is calibrated at start
    },
    "broadcast": {
        "what": "one large array argument shared by every call, N=20",
        "n": (20, 6), "repeats": (2, 1),
        "competitors": [
            "sequential-mem", "acme_like-mem", "acme_like-hdf5", "esi-acme-mem", "dask-mem", "joblib-mem",
            "ppe-mem",
        ],
        "params": ({"shape": [5000, 5000]}, {"shape": [1000, 2500]}),
    },
    "readback": {
        "what": "reading N=5,000 stacked results back from the container (median of fresh open+read passes)",
        "n": (5000, 500), "repeats": (3, 1),
        "competitors": ["ordinary-dataset", "acme_like-stacked", "acme_like-hdf5", "esi-acme-stacked"],
        "params": ({"reads": 5}, {"reads": 3}),
    },
}


#: With --tls-pairs: the acme_like competitors of each workload that run twice, over TLS (the
#: default) and over plain TCP (the same name with "-tcp", dask config acme_like.local-tls: false).
TLS_PAIRS = {
    "tiny-5k": ["acme_like-hdf5", "acme_like-mem"],
    "cpu": ["sequential-mem", "acme_like-hdf5", "acme_like-mem", "acme_like-hdf5-e2e"],
}
PLAIN_TCP = "-tcp"


def tls_pair_competitors(key: str) -> list[str]:
    """Each of the workload's TLS_PAIRS competitors, followed by its plain-TCP twin."""
    names = TLS_PAIRS.get(key, [c for c in WORKLOADS[key]["competitors"] if c.startswith("acme_like")])
    return [twin for name in names for twin in ((name,) if not name.startswith("acme_like") else (name, name + PLAIN_TCP))]


# ---- sampling a run's process tree ------------------------------------------------------


def _status_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


class TreeSampler(threading.Thread):
    """Every ``interval`` s: each process's VmHWM, and the sum of RSS over the whole tree."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.processes: dict[int, dict] = {}
        self.series: list[tuple[float, float]] = []

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0.0
            for proc in procs:
                try:
                    rss, hwm = _status_mb(proc.pid)
                    entry = self.processes.get(proc.pid)
                    if entry is None:
                        cmd = " ".join(proc.cmdline())[:160]
                        entry = self.processes[proc.pid] = {"cmd": cmd, "peak_mb": 0.0}
                except (OSError, psutil.Error):
                    continue
                total += rss
                entry["peak_mb"] = max(entry["peak_mb"], hwm)
            self.series.append((time.time(), total))
            self.stop.wait(self.interval)

    def summary(self, root_pid: int, t_mark: float | None, t_end: float | None) -> dict:
        workers = {
            str(pid): round(e["peak_mb"], 1)
            for pid, e in self.processes.items()
            if pid != root_pid and "resource_tracker" not in e["cmd"] and "semaphore_tracker" not in e["cmd"]
        }
        out: dict = {"worker_peak_mb": workers, "max_worker_peak_mb": max(workers.values()) if workers else None}
        if t_mark is not None and t_end is not None and self.series:
            before = [s for t, s in self.series if t <= t_mark]
            during = [s for t, s in self.series if t_mark < t <= t_end + 0.15]
            out["tree_base_mb"] = before[-1] if before else 0.0
            out["tree_peak_mb"] = max(during) if during else None
        return out


# ---- running one child ------------------------------------------------------------------


def run_child(workload: str, competitor: str, n: int, params: dict, workdir: Path, args) -> dict:
    spec = {"workload": workload, "competitor": competitor, "n": n, "params": params, "workdir": str(workdir)}
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if competitor.startswith("esi-acme"):
        python = args.acme_python
        env["PATH"] = f"{args.sinfo_stub_dir}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = str(BENCH_DIR)
    else:
        python = sys.executable
        # acme_like starts SLURM workers by itself where sinfo answers; the suite compares local clusters.
        env["DASK_ACME_LIKE__BACKEND"] = "local"
        env["DASK_ACME_LIKE__LOCAL_TLS"] = "false" if competitor.endswith(PLAIN_TCP) else "true"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (args.snapshot_dir, str(BENCH_DIR)) if p)
    workdir.mkdir(parents=True)
    command = [python, str(BENCH_DIR / "suite_child.py"), "--spec", json.dumps(spec)]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    sampler = TreeSampler(process.pid)
    sampler.start()
    base = {"workload": workload, "competitor": competitor, "n": n}
    try:
        stdout, stderr = process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        sampler.stop.set()
        return {**base, "status": "timeout", "stderr_tail": stderr[-2000:]}
    finally:
        sampler.stop.set()
        sampler.join()
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if process.returncode != 0 or not lines:
        return {**base, "status": "failed", "returncode": process.returncode, "stderr_tail": stderr[-4000:]}
    record = json.loads(lines[-1][len(RESULT_MARK):])
    record.update(sampler.summary(process.pid, record.get("t_mark"), record.get("t_end")))
    record["status"] = "ok" if record["check"]["ok"] else "wrong-result"
    record["subprocess_seconds"] = time.perf_counter() - start
    return record


# ---- summaries, ratios, targets ---------------------------------------------------------


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict], competitors: list[str], n: int) -> dict:
    out = {}
    for name in competitors:
        good = [r for r in runs if r["competitor"] == name and r["status"] == "ok"]
        seconds = [r["seconds"] for r in good]
        med = _median(seconds)
        out[name] = {
            "runs_ok": len(good),
            "runs_total": sum(1 for r in runs if r["competitor"] == name),
            "seconds": med,
            "seconds_min": min(seconds) if seconds else None,
            "seconds_max": max(seconds) if seconds else None,
            "ms_per_call": None if med is None else 1000 * med / n,
            "calls_per_second": None if not med else n / med,
            "parent_peak_mb": _median([r.get("parent_peak_mb") for r in good]),
            "parent_peak_after_readback_mb": _median([r.get("parent_peak_after_readback_mb") for r in good]),
            "max_worker_peak_mb": _median([r.get("max_worker_peak_mb") for r in good]),
            "tree_peak_mb": _median([r.get("tree_peak_mb") for r in good]),
            "tree_base_mb": _median([r.get("tree_base_mb") for r in good]),
            "readback_seconds": _median([r["check"].get("readback_seconds") for r in good]),
            "parent_cpu_seconds": _median([r.get("parent_cpu_seconds") for r in good]),
        }
    return out


def paired(runs: list[dict], top: str, bottom: str, scale: float = 1.0) -> dict:
    """``scale * top / bottom`` per repeat (paired) and of the medians."""
    by_repeat: dict[int, dict[str, float]] = {}
    for r in runs:
        if r["status"] == "ok":
            by_repeat.setdefault(r["repeat"], {})[r["competitor"]] = r["seconds"]
    values = [scale * s[top] / s[bottom] for _, s in sorted(by_repeat.items()) if top in s and bottom in s]
    tops = [s[top] for s in by_repeat.values() if top in s]
    bottoms = [s[bottom] for s in by_repeat.values() if bottom in s]
    of_medians = scale * _median(tops) / _median(bottoms) if tops and bottoms else None
    return {"paired_median": _median(values), "of_medians": of_medians, "paired": values}


def evaluate_targets(result: dict) -> list[dict]:
    """Each target of the issue, measured in this run: value, bound, met or not (None: not measured)."""
    w = result["workloads"]
    targets = []

    def add(key, statement, workload, value, bound, better, detail=""):
        met = None if value is None else (value >= bound if better == "higher" else value < bound if better == "lower_strict" else value <= bound)
        targets.append({"key": key, "statement": statement, "workload": workload, "value": value, "bound": bound,
                        "better": better, "met": met, "detail": detail})

    def ratio(workload, top, bottom, scale=1.0):
        if workload not in w:
            return None, {}
        r = paired(w[workload]["runs"], top, bottom, scale)
        return r["paired_median"], r

    if "tiny-5k" in w:
        v, r = ratio("tiny-5k", "esi-acme-hdf5", "acme_like-hdf5")
        ceiling, _ = ratio("tiny-5k", "esi-acme-hdf5", "floor-1proc", N_WORKERS)
        fs_ceiling, _ = ratio("tiny-5k", "esi-acme-hdf5", "fs-2proc")
        add("hdf5_vs_esi_acme", "5,000 tiny calls, per-call HDF5: throughput >= 10x esi-acme's", "tiny-5k", v, 10, "higher",
            f"ceiling for a parallel h5py writer of these files: esi-acme-hdf5 / (floor-1proc / {N_WORKERS}) = "
            f"{_fmt(ceiling, '.2f')}; for anything that creates them, even without HDF5: esi-acme-hdf5 / fs-2proc = "
            f"{_fmt(fs_ceiling, '.2f')}")
        v, r = ratio("tiny-5k", "acme_like-hdf5", "floor-1proc", N_WORKERS)
        pool, _ = ratio("tiny-5k", "ppe-hdf5", "floor-1proc", N_WORKERS)
        fs_two, _ = ratio("tiny-5k", "fs-2proc", "floor-1proc", N_WORKERS)
        over_fs, _ = ratio("tiny-5k", "acme_like-hdf5", "fs-2proc")
        add("hdf5_vs_floor", "5,000 tiny calls, per-call HDF5: time <= 1.5x (one process writing the files / 2 workers)",
            "tiny-5k", v, 1.5, "lower",
            f"a ProcessPoolExecutor writing the same files: ppe-hdf5 / (floor-1proc / {N_WORKERS}) = {_fmt(pool, '.2f')}; "
            f"two processes writing plain bytes of the same size, no HDF5: fs-2proc / (floor-1proc / {N_WORKERS}) = "
            f"{_fmt(fs_two, '.2f')}; acme_like-hdf5 / fs-2proc = {_fmt(over_fs, '.2f')}")
        v, r = ratio("tiny-5k", "esi-acme-mem", "acme_like-mem")
        add("mem_vs_esi_acme", "5,000 tiny calls in memory: throughput >= 20x esi-acme's", "tiny-5k", v, 20, "higher")
        v, r = ratio("tiny-5k", "acme_like-mem", "ppe-mem")
        add("mem_vs_ppe", "5,000 tiny calls in memory: time <= 2x ProcessPoolExecutor's", "tiny-5k", v, 2, "lower")
        v, r = ratio("tiny-5k", "acme_like-mem", "joblib-mem")
        add("mem_vs_joblib", "5,000 tiny calls in memory: time <= 2x joblib's", "tiny-5k", v, 2, "lower")
    if "tiny-100k" in w:
        med = w["tiny-100k"]["medians"]
        for name in ("acme_like-stacked-e2e", "acme_like-stacked_modern-e2e", "acme_like-mem-e2e"):
            m = med.get(name, {})
            add(f"100k_{name}_seconds", f"{w['tiny-100k']['n']:,} tiny calls end to end ({name}): seconds < 60",
                "tiny-100k", m.get("seconds"), 60, "lower_strict")
            add(f"100k_{name}_parent_mb", f"{w['tiny-100k']['n']:,} tiny calls end to end ({name}): parent peak MB < 500",
                "tiny-100k", m.get("parent_peak_mb"), 500, "lower_strict")
        v, r = ratio("tiny-100k", "acme_like-mem-e2e", "joblib-mem-e2e")
        add("100k_mem_vs_joblib", f"{w['tiny-100k']['n']:,} tiny calls in memory end to end: time <= 2x joblib's",
            "tiny-100k", v, 2, "lower")
    if "tiny-1m" in w:
        med = w["tiny-1m"]["medians"]
        for name in ("acme_like-stacked-e2e", "acme_like-stacked_modern-e2e", "acme_like-mem-e2e"):
            m = med.get(name, {})
            add(f"1m_{name}_seconds", f"{w['tiny-1m']['n']:,} tiny calls end to end ({name}): seconds < 20",
                "tiny-1m", m.get("seconds"), 20, "lower_strict")
            add(f"1m_{name}_parent_mb", f"{w['tiny-1m']['n']:,} tiny calls end to end ({name}): parent peak MB < 512",
                "tiny-1m", m.get("parent_peak_mb"), 512, "lower_strict")
            small = w.get("tiny-100k", {}).get("medians", {}).get(name, {}).get("parent_peak_mb")
            if small and m.get("parent_peak_mb"):
                add(f"1m_{name}_parent_growth", f"{name}: parent peak growth from tiny-100k to tiny-1m < 3x",
                    "tiny-1m", m["parent_peak_mb"] / small, 3, "lower_strict")
    if "cpu" in w:
        for name in ("acme_like-hdf5", "acme_like-mem"):
            v, r = ratio("cpu", "sequential-mem", name, 1.0 / N_WORKERS)
            peers = ", ".join(f"{p} {_fmt(ratio('cpu', 'sequential-mem', p, 1.0 / N_WORKERS)[0], '.2f')}"
                              for p in ("ppe-mem", "joblib-mem", "dask-mem", "esi-acme-hdf5") if p in w["cpu"]["medians"])
            add(f"cpu_efficiency_{name}", f"{w['cpu']['n']} CPU-bound calls ({name}): speedup / ideal >= 0.90",
                "cpu", v, 0.9, "higher", f"efficiency of the peers in the same run: {peers}")
    if "broadcast" in w:
        b = w["broadcast"]
        for name in ("acme_like-mem", "acme_like-hdf5"):
            copies = [r["tree_peak_mb"] / r["argument_mb"] for r in b["runs"]
                      if r["competitor"] == name and r["status"] == "ok" and r.get("tree_peak_mb")]
            m = b["medians"]
            others = ", ".join(f"{p} {_fmt(m[p].get('tree_peak_copies'), '.2f')} (net {_fmt(m[p].get('tree_net_copies'), '.2f')})"
                               for p in m if p != name)
            add(f"broadcast_copies_{name}",
                f"broadcast to {b['n']} calls ({name}): process-tree peak < 3.5 copies of the argument",
                "broadcast", _median(copies), 3.5, "lower_strict",
                f"net of the tree before the argument existed: {_fmt(m[name].get('tree_net_copies'), '.2f')}; "
                f"tree before: {_fmt(m[name].get('tree_base_mb'), '.0f')} MB; others: {others}")
    if "readback" in w:
        v, r = ratio("readback", "acme_like-stacked", "ordinary-dataset")
        m = w["readback"]["medians"]
        add("readback_stacked", "stacked read-back of 5,000 results: time <= 2x reading one ordinary dataset",
            "readback", v, 2, "lower",
            f"ordinary dataset {_fmt(m['ordinary-dataset']['seconds'], '.5f')} s, acme_like stacked "
            f"{_fmt(m['acme_like-stacked']['seconds'], '.5f')} s")
    return targets


# ---- printing ---------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_workload(key: str, entry: dict) -> None:
    print()
    print(f"== {key}: {entry['what']} (n={entry['n']:,}, {entry['repeats']} repeat(s), medians) ==")
    header = (f"{'competitor':<24}{'median s':>10}{'min-max s':>15}{'ms/call':>10}{'parent MB':>11}"
              f"{'worker MB':>11}{'tree MB':>9}{'readback s':>12}{'ok':>6}")
    print(header)
    print("-" * len(header))
    for name, m in entry["medians"].items():
        spread = "-" if m["seconds_min"] is None else f"{m['seconds_min']:.2f}-{m['seconds_max']:.2f}"
        print(f"{name:<24}{_fmt(m['seconds'], '.3f'):>10}{spread:>15}{_fmt(m['ms_per_call'], '.3f'):>10}"
              f"{_fmt(m['parent_peak_mb'], '.0f'):>11}{_fmt(m['max_worker_peak_mb'], '.0f'):>11}"
              f"{_fmt(m['tree_peak_mb'], '.0f'):>9}{_fmt(m['readback_seconds'], '.3f'):>12}"
              f"{str(m['runs_ok']) + '/' + str(m['runs_total']):>6}")
    for label, ratio in entry.get("ratios", {}).items():
        per = ", ".join(f"{v:.2f}" for v in ratio["paired"])
        print(f"  {label:<46} paired median {_fmt(ratio['paired_median'], '.2f'):>7}"
              f"   of medians {_fmt(ratio['of_medians'], '.2f'):>7}   per repeat: {per}")


def print_targets(targets: list[dict]) -> None:
    print()
    print("== targets (paired medians of interleaved runs) ==")
    for t in targets:
        verdict = "not measured" if t["met"] is None else ("MET" if t["met"] else "NOT MET")
        sign = ">=" if t["better"] == "higher" else "<" if t["better"] == "lower_strict" else "<="
        print(f"  {t['statement']:<98} {_fmt(t['value'], '.2f'):>8} (need {sign} {t['bound']})  {verdict}")
        if t.get("detail"):
            print(f"      {t['detail']}")


# ---- the suite --------------------------------------------------------------------------


def calibrate_cpu(target_seconds: float = 0.1) -> int:
    """Iterations of ``workloads.cpu_alloc`` that take about ``target_seconds`` here."""
    import workloads

    workloads.cpu_alloc(0, 2)
    per = min(_timed(lambda: workloads.cpu_alloc(0, 10)) for _ in range(3)) / 10
    return max(1, round(target_seconds / per))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ratio_pairs(key: str, competitors: list[str]) -> list[tuple[str, str, str, float]]:
    """(label, top, bottom, scale) pairs printed under each workload's table."""
    have = set(competitors)
    pairs = []
    if key.startswith("tiny") or key == "array":
        for mode in ("hdf5", "mem", "stacked"):
            if f"esi-acme-{mode}" in have and f"acme_like-{mode}" in have:
                pairs.append((f"esi-acme-{mode} / acme_like-{mode} (speed-up)", f"esi-acme-{mode}", f"acme_like-{mode}", 1.0))
        for top, bottom in (("acme_like-hdf5", "dask-hdf5"), ("acme_like-mem", "dask-mem"), ("acme_like-mem", "ppe-mem"),
                            ("acme_like-mem", "joblib-mem"), ("acme_like-hdf5", "ppe-hdf5"),
                            ("acme_like-mem-e2e", "joblib-mem-e2e"), ("acme_like-mem-e2e", "ppe-mem-e2e"),
                            ("acme_like-stacked-e2e", "joblib-mem-e2e"), ("acme_like-stacked_modern-e2e", "joblib-mem-e2e")):
            if top in have and bottom in have:
                pairs.append((f"{top} / {bottom}", top, bottom, 1.0))
        if "floor-1proc" in have and "acme_like-hdf5" in have:
            pairs.append((f"acme_like-hdf5 / (floor-1proc / {N_WORKERS})", "acme_like-hdf5", "floor-1proc", N_WORKERS))
        if "fs-2proc" in have and "floor-1proc" in have:
            pairs.append((f"fs-2proc / (floor-1proc / {N_WORKERS})", "fs-2proc", "floor-1proc", N_WORKERS))
            pairs.append(("fs-2proc / fs-1proc (file system scaling)", "fs-2proc", "fs-1proc", 1.0))
        if "fs-2proc" in have and "acme_like-hdf5" in have:
            pairs.append(("acme_like-hdf5 / fs-2proc", "acme_like-hdf5", "fs-2proc", 1.0))
    for name in competitors:
        if name.endswith(PLAIN_TCP) and name[: -len(PLAIN_TCP)] in have:
            pairs.append((f"{name[: -len(PLAIN_TCP)]} / {name} (TLS cost)", name[: -len(PLAIN_TCP)], name, 1.0))
    if key == "cpu":
        for name in competitors:
            if name != "sequential-mem":
                pairs.append((f"efficiency {name}", "sequential-mem", name, 1.0 / N_WORKERS))
    if key == "broadcast":
        for top in ("acme_like-mem", "esi-acme-mem"):
            if top in have and "dask-mem" in have:
                pairs.append((f"{top} / dask-mem", top, "dask-mem", 1.0))
    if key == "readback":
        for name in competitors:
            if name != "ordinary-dataset":
                pairs.append((f"{name} / ordinary-dataset", name, "ordinary-dataset", 1.0))
    return pairs


def _disk_counters(path: Path) -> tuple[int, ...] | None:
    """Completed writes and discards and requests in flight of the disk holding ``path``."""
    device = os.stat(path).st_dev
    major, minor = os.major(device), os.minor(device)
    try:
        with open("/proc/diskstats") as stats:
            for line in stats:
                fields = line.split()
                if int(fields[0]) == major and int(fields[1]) == minor:
                    numbers = [int(f) for f in fields[3:]]
                    return (numbers[4], numbers[8], *numbers[11:12])  # writes, in flight, discards
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_for_quiet_disk(path: Path, still: float = 1.0, budget: float = 60.0) -> float:
    """Wait until the disk holding ``path`` has done nothing for ``still`` seconds (at most
    ``budget``); return the seconds waited. Deleting thousands of files on a disk mounted
    with ``discard`` issues discards that may still run after ``unlink`` returned."""
    start = time.monotonic()
    last = _disk_counters(path)
    if last is None:
        return 0.0
    quiet_since = start
    while time.monotonic() - start < budget:
        time.sleep(0.1)
        now = _disk_counters(path)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= still:
            break
    return time.monotonic() - start


def write_sinfo_stub(directory: Path) -> str:
    """A ``sinfo`` that prints nothing, so esi-acme does not take this machine for a SLURM cluster."""
    directory.mkdir(parents=True, exist_ok=True)
    stub = directory / "sinfo"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    return str(directory)


def esi_acme_available(python: str) -> tuple[bool, str]:
    if not Path(python).exists():
        return False, f"no interpreter at {python}: create bench/.venv-acme (see bench/README.md)"
    probe = subprocess.run([python, "-c", "import acme, joblib; print(acme.__version__)"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"{python} cannot import acme: {probe.stderr.strip()[-300:]}"
    return True, probe.stdout.strip()


def print_broadcast_copies(entry: dict) -> None:
    names = entry["competitors"]
    print("  process-tree peak in copies of the argument: " + ", ".join(
        f"{name} {_fmt(entry['medians'][name].get('tree_peak_copies'), '.2f')}" for name in names))
    print("  the same, less the tree's memory just before the argument was made: " + ", ".join(
        f"{name} {_fmt(entry['medians'][name].get('tree_net_copies'), '.2f')}" for name in names))


def _rst_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    rule = "  ".join("=" * w for w in widths)
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([rule, line(header), rule, *(line(r) for r in rows), rule])


def fill_versions(result: dict) -> None:
    """The acme_like and esi-acme versions the runs imported, into ``result["machine"]["versions"]``."""
    runs = [r for e in result["workloads"].values() for r in e["runs"]]
    for field, name in (("acme_like_version", "acme_like"), ("esi_acme_version", "esi-acme")):
        found = sorted({r[field] for r in runs if r.get(field)})
        result["machine"]["versions"][name] = found[0] if len(found) == 1 else found or None


def write_rst(result: dict, path: Path) -> None:
    """The targets and per-workload tables of ``result`` as reStructuredText, for docs/benchmarks.rst."""
    fill_versions(result)
    parts = [f"Run of {result['started']} ({'quick' if result.get('quick') else 'full'}), acme_like "
             f"{result['machine']['versions'].get('acme_like')}, esi-acme: {result['esi_acme']['info']}, "
             f"{result['machine']['cpu_count']} cores, load average at start "
             f"{result['loadavg_start'][0]:.1f}. Raw data: ``bench/results/suite.json``.", ""]
    rows = []
    for t in result["targets"]:
        sign = ">=" if t["better"] == "higher" else "<" if t["better"] == "lower_strict" else "<="
        verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "**not met**")
        rows.append([t["statement"], _fmt(t["value"], ".2f"), f"{sign} {t['bound']}", verdict])
    parts += ["Targets", "^^^^^^^", "", _rst_table(["target", "measured", "needed", "verdict"], rows), ""]
    for key, entry in result["workloads"].items():
        title = f"{key}: {entry['what']} (n={entry['n']:,}, {entry['repeats']} repeats)"
        parts += [title, "^" * len(title), ""]
        rows = []
        for name, m in entry["medians"].items():
            extra = ""
            if key == "broadcast":
                extra = f"{_fmt(m.get('tree_peak_copies'), '.2f')} ({_fmt(m.get('tree_net_copies'), '.2f')} net)"
            rows.append([name, _fmt(m["seconds"], ".3f"),
                         "-" if m["seconds_min"] is None else f"{m['seconds_min']:.2f}-{m['seconds_max']:.2f}",
                         _fmt(m["ms_per_call"], ".3f"), _fmt(m["parent_peak_mb"], ".0f"),
                         _fmt(m["max_worker_peak_mb"], ".0f"), _fmt(m["tree_peak_mb"], ".0f"),
                         _fmt(m["readback_seconds"], ".3f"), *([extra] if key == "broadcast" else []),
                         f"{m['runs_ok']}/{m['runs_total']}"])
        header = ["competitor", "median s", "min-max s", "ms/call", "parent MB", "worker MB", "tree MB", "readback s",
                  *(["tree copies"] if key == "broadcast" else []), "ok"]
        parts += [_rst_table(header, rows), ""]
        ratio_rows = [[label, _fmt(r["paired_median"], ".2f"), _fmt(r["of_medians"], ".2f"),
                       ", ".join(f"{v:.2f}" for v in r["paired"]) or "-"] for label, r in entry["ratios"].items()]
        if ratio_rows:
            parts += [_rst_table(["ratio", "paired median", "of medians", "per repeat"], ratio_rows), ""]
    path.write_text("\n".join(parts) + "\n")


def report(path: Path, rewrite: bool = False, rst: Path | None = None) -> int:
    """Print the tables and targets stored in an earlier run's JSON."""
    result = json.loads(path.read_text())
    print(f"{path}: started {result['started']}, acme_like {result['machine']['versions'].get('acme_like')}, "
          f"esi-acme: {result['esi_acme']['info']}")
    for key, entry in result["workloads"].items():
        print_workload(key, entry)
        if key == "broadcast":
            print_broadcast_copies(entry)
    result["targets"] = evaluate_targets(result)
    print_targets(result["targets"])
    if rst is not None:
        write_rst(result, rst)
        print(f"tables written as reStructuredText to {rst}")
    if rewrite:
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"targets re-evaluated and written back to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repeat: a smoke test (a few minutes)")
    parser.add_argument("--only", default=None, help=f"workloads, comma-separated: {', '.join(WORKLOADS)}")
    parser.add_argument("--out", default=None, help="JSON file (default bench/results/suite.json, suite-quick.json with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="override every workload's repeats")
    parser.add_argument("--acme-python", default=str(DEFAULT_ACME_PYTHON), help="interpreter that has esi-acme")
    parser.add_argument("--no-esi-acme", action="store_true", help="skip the esi-acme competitors")
    parser.add_argument("--competitors", default=None,
                        help="run only these competitors of the chosen workloads, comma-separated (e.g. "
                             "acme_like-mem-e2e,joblib-mem-e2e); the others are listed as skipped")
    parser.add_argument("--acme-like-ref", default="worktree", help="'worktree' (a copy taken at start) or a git revision")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed")
    parser.add_argument("--quiet-threshold", type=float, default=35.0, help="wait before a run until CPU use is below this %%")
    parser.add_argument("--quiet-budget", type=float, default=10.0, help="at most this many seconds per run")
    parser.add_argument("--delete-runs", choices=("after-workload", "after-run"), default="after-workload",
                        help="when the files of each run are deleted: after the whole workload (default; no timed "
                             "run shares the disk with the deletion of another run's files), or right after each run")
    parser.add_argument("--tls-pairs", action="store_true",
                        help="run only acme_like's competitors, each over TLS (the default) and over plain TCP "
                             "(name-tcp), and report the ratios")
    parser.add_argument("--report", metavar="JSON", help="print the tables and targets of an earlier run; run nothing")
    parser.add_argument("--rst", help="with --report: write the tables as reStructuredText to this file")
    parser.add_argument("--rewrite-targets", action="store_true", help="with --report: store re-evaluated targets")
    args = parser.parse_args(argv)
    if args.report:
        return report(Path(args.report), args.rewrite_targets, Path(args.rst) if args.rst else None)
    size = 1 if args.quick else 0
    keys = list(WORKLOADS) if not args.only else [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    out = Path(args.out or BENCH_DIR / "results" / ("suite-quick.json" if args.quick else "suite.json"))
    chosen = None if not args.competitors else {c.strip() for c in args.competitors.split(",") if c.strip()}
    known = {c for k in keys for c in (tls_pair_competitors(k) if args.tls_pairs else WORKLOADS[k]["competitors"])}
    if chosen is not None and not chosen <= known:
        parser.error(f"unknown competitor(s) {sorted(chosen - known)} for {', '.join(keys)}; choose from {', '.join(sorted(known))}")

    esi_ok, esi_info = (False, "skipped with --no-esi-acme") if args.no_esi_acme else esi_acme_available(args.acme_python)
    if not esi_ok:
        print(f"!! esi-acme competitors SKIPPED: {esi_info}", file=sys.stderr, flush=True)

    tmp_root = Path(tempfile.mkdtemp(prefix="acme_like-suite-"))
    try:
        measured = bench_tiny._snapshot_acme_like(args.acme_like_ref, tmp_root / "snapshot")
        args.snapshot_dir = str(tmp_root / "snapshot")
        args.sinfo_stub_dir = write_sinfo_stub(tmp_root / "stub-bin")
        result: dict = {
            "benchmark": "suite",
            "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "quick": args.quick,
            "machine": bench_tiny._machine(str(tmp_root)),
            "git": {"head": bench_tiny._git("rev-parse", "HEAD"),
                    "acme_like_dirty_at_start": bool(bench_tiny._git("status", "--porcelain", "acme_like"))},
            "acme_like_measured": measured,
            "esi_acme": {"available": esi_ok, "info": esi_info, "python": args.acme_python},
            "method": {
                "order": "per workload: A B C ... on even repeats, ... C B A on odd ones",
                "workers": N_WORKERS,
                "acme_like_backend": "local (DASK_ACME_LIKE__BACKEND=local: no SLURM workers even where sinfo answers)",
                "clusters": "acme_like and dask peers: acme_like.local_cluster_setup(n_workers=2) (2 processes x 1 thread; "
                            "TLS unless the competitor ends in -tcp: DASK_ACME_LIKE__LOCAL_TLS=false); "
                            "esi-acme: distributed.LocalCluster(n_workers=2, threads_per_worker=1)",
                "ratios": "paired median: the median over repeats of the ratio within one repeat",
                "run_files_deleted": args.delete_runs,
                "memory": "parent: VmHWM of the run's process; workers: VmHWM of each descendant, sampled every 0.1 s; "
                          "tree: the sum of RSS over the process tree, sampled every 0.1 s, max after the mark",
            },
            "loadavg_start": os.getloadavg(),
            "workloads": {},
        }
        n_iter = None
        if "cpu" in keys:
            n_iter = calibrate_cpu()
            result["cpu_n_iter"] = n_iter
            print(f"cpu workload: {n_iter} iterations per call (~0.1 s calibrated here)", flush=True)
        waited_total = 0.0
        for key in keys:
            spec = WORKLOADS[key]
            n, repeats = spec["n"][size], args.repeats or spec["repeats"][size]
            params = dict(spec["params"][size])
            if key == "cpu":
                params["n_iter"] = n_iter
            wanted = tls_pair_competitors(key) if args.tls_pairs else spec["competitors"]
            competitors = [c for c in wanted if (esi_ok or not c.startswith("esi-acme")) and (chosen is None or c in chosen)]
            skipped = [c for c in wanted if c not in competitors]
            runs = []
            order = []
            for repeat in range(repeats):
                order += [(repeat, c) for c in (competitors if repeat % 2 == 0 else competitors[::-1])]
            for number, (repeat, name) in enumerate(order):
                budget = args.quiet_budget if waited_total < 300 else 0.0
                quiet = bench_tiny._wait_for_quiet(args.quiet_threshold, budget)
                waited_total += quiet["waited_seconds"]
                load = os.getloadavg()
                print(f"[{key} {number + 1}/{len(order)}] repeat {repeat} {name} n={n} "
                      f"(cpu {quiet['cpu_percent_before']:.0f}%, load {load[0]:.2f}) ...", end=" ", flush=True)
                workdir = tmp_root / f"{key}-{number:03d}-{name}"
                record = run_child(key, name, n, params, workdir, args)
                record.update(repeat=repeat, position=number, loadavg_before=load, **quiet)
                runs.append(record)
                if args.delete_runs == "after-run":
                    shutil.rmtree(workdir, ignore_errors=True)
                if record["status"] == "ok":
                    print(f"{record['seconds']:.3f} s", flush=True)
                else:
                    print(record["status"], flush=True)
                    print(record.get("stderr_tail", ""), file=sys.stderr, flush=True)
            if args.delete_runs == "after-workload":
                for number, (repeat, name) in enumerate(order):
                    shutil.rmtree(tmp_root / f"{key}-{number:03d}-{name}", ignore_errors=True)
                os.sync()
                settled = wait_for_quiet_disk(tmp_root)
                print(f"[{key}] files deleted; the disk settled in {settled:.1f} s", flush=True)
            entry = {"what": spec["what"], "n": n, "repeats": repeats, "params": params,
                     "competitors": competitors, "skipped": skipped, "runs": runs,
                     "medians": summarise(runs, competitors, n)}
            entry["ratios"] = {label: paired(runs, top, bottom, scale)
                               for label, top, bottom, scale in ratio_pairs(key, competitors)}
            if key == "broadcast":
                for name in competitors:
                    copies = [r["tree_peak_mb"] / r["argument_mb"] for r in runs
                              if r["competitor"] == name and r["status"] == "ok" and r.get("tree_peak_mb")]
                    entry["medians"][name]["tree_peak_copies"] = _median(copies)
                    net = [(r["tree_peak_mb"] - r["tree_base_mb"]) / r["argument_mb"] for r in runs
                           if r["competitor"] == name and r["status"] == "ok" and r.get("tree_peak_mb")]
                    entry["medians"][name]["tree_net_copies"] = _median(net)
            result["workloads"][key] = entry
            print_workload(key, entry)
            if key == "broadcast":
                print_broadcast_copies(entry)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    result["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    result["loadavg_end"] = os.getloadavg()
    result["targets"] = evaluate_targets(result)
    fill_versions(result)
    print_targets(result["targets"])
    if not esi_ok:
        print(f"\n!! esi-acme competitors were SKIPPED: {esi_info}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp_out, out)
    print(f"\nraw runs, medians, ratios and machine info: {out}")
    bad = [r for e in result["workloads"].values() for r in e["runs"] if r["status"] != "ok"]
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
