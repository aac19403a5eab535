"""Time building the run report of a 100,000-call run.

Fabricates a realistic record in a temporary directory (100,000 calls on 16 workers on 4 hosts,
log-normal run times growing with input size, about 1 % failures of three kinds, a SLURM-like
queue wait per worker, a dry-run estimate), then builds the report ``--repeats`` times and reports
the median of each phase (read, summarize, plots, render+write) and of ``build_report`` as a whole.
The target is under 10 s for the whole build.

Usage::

    python bench/bench_report.py                  # 100,000 calls, 3 repeats -> bench/results/report.json
    python bench/bench_report.py --n 20000 --repeats 1 --out /tmp/report.json

The temporary directory is deleted afterwards.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acme_like.report import build_report, read_run_record, summarize  # noqa: E402
from acme_like.report.plots import draw_plots  # noqa: E402
from acme_like.report.records import CALL_COLUMNS  # noqa: E402

TARGET_SECONDS = 10.0
N_WORKERS, N_HOSTS = 16, 4
T0 = 1_735_725_600.0


def fabricate(run_dir: Path, n: int, seed: int = 0) -> None:
    """Write calls.csv and run.json of an n-call run into run_dir/.acme_like."""
    rng = np.random.default_rng(seed)
    input_bytes = rng.integers(100_000, 50_000_000, n)
    seconds = np.round(rng.lognormal(-1.0, 0.5, n) * (0.5 + input_bytes / 25_000_000), 4)
    worker = rng.integers(0, N_WORKERS, n)
    queue_wait = rng.uniform(5, 120, N_WORKERS)
    joined = T0 + queue_wait
    # Each worker runs its calls back to back from the moment it joined.
    order = np.lexsort((np.arange(n), worker))
    ends = np.empty(n)
    for w in range(N_WORKERS):
        mine = order[worker[order] == w]
        ends[mine] = joined[w] + np.cumsum(seconds[mine] + 0.002)
    starts = ends - seconds
    failed = rng.random(n) < 0.01
    kind = np.where(failed, rng.choice(["exception", "exception", "memory", "worker-lost"], n), "")
    exc = np.select([kind == "exception", kind == "memory"], ["ValueError", "MemoryError"], "")
    peak = rng.integers(20_000_000, 400_000_000, n)
    tb = 'Traceback (most recent call last):\n  File "sim.py", line 12, in simulate\n    raise ValueError(x)\nValueError: bad seed\n'
    record = run_dir / ".acme_like"
    record.mkdir(parents=True)
    with (record / "calls.csv").open("w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream)
        out.writerow(CALL_COLUMNS)
        for i in range(n):
            bad = bool(failed[i])
            out.writerow([i, "", f"simulate-ab12-{i}", f"seed={i}, path='inputs/{i}.npy'", f"{i:016x}",
                          "failed" if bad else "ok", kind[i], 1, f"{starts[i]:.4f}", f"{ends[i]:.4f}", seconds[i],
                          peak[i], f"tcp://10.0.0.{worker[i] % N_HOSTS}:{40000 + worker[i]}",
                          f"node{worker[i] % N_HOSTS:02d}", "" if bad else f"simulate_payload/simulate_{i}.h5",
                          "" if bad else 8192, f"inputs/{i}.npy", input_bytes[i], exc[i],
                          "bad seed" if bad else "", tb if exc[i] == "ValueError" else ""])
    run = {
        "format": 1, "func": "simulate", "n_calls": n, "started_at": T0, "ended_at": float(ends.max()) + 1,
        "command": ["python", "run_sim.py"], "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "mem_per_worker_bytes": 2_000_000_000,
        "workers": [{"name": f"tcp://10.0.0.{w % N_HOSTS}:{40000 + w}", "host": f"node{w % N_HOSTS:02d}",
                     "memory_limit_bytes": 2_000_000_000, "submitted_at": T0, "started_at": float(joined[w]),
                     "first_call_at": float(joined[w]) + 0.5} for w in range(N_WORKERS)],
        "estimate": {"seconds": float(seconds.sum() / N_WORKERS), "peak_bytes": 300_000_000},
        "stages": None,
    }
    (record / "run.json").write_text(json.dumps(run), encoding="utf-8")


def time_once(run_dir: Path) -> dict[str, float]:
    t = time.perf_counter()
    record = read_run_record(run_dir)
    t_read = time.perf_counter()
    summary = summarize(record)
    t_summary = time.perf_counter()
    draw_plots(record, summary)
    t_plots = time.perf_counter()
    build_t0 = time.perf_counter()
    build_report(run_dir)
    t_build = time.perf_counter() - build_t0
    return {"read_s": t_read - t, "summarize_s": t_summary - t_read, "plots_s": t_plots - t_summary,
            "build_report_s": t_build}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "report.json"))
    args = parser.parse_args()
    import matplotlib

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        t = time.perf_counter()
        fabricate(run_dir, args.n)
        fabricate_s = time.perf_counter() - t
        runs = [time_once(run_dir) for _ in range(args.repeats)]
        page = run_dir / ".acme_like" / "report.html"
        html_bytes, csv_bytes = page.stat().st_size, (run_dir / ".acme_like" / "calls.csv").stat().st_size
    medians = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    result = {
        "benchmark": "report",
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python bench/bench_report.py" + ("" if args.n == 100_000 else f" --n {args.n}")
                   + ("" if args.repeats == 3 else f" --repeats {args.repeats}"),
        "config": {"n_calls": args.n, "repeats": args.repeats, "workers": N_WORKERS, "hosts": N_HOSTS,
                   "calls_csv_bytes": csv_bytes},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "matplotlib": matplotlib.__version__,
                    "load_average_1min_before": round(load_before, 2),
                    "load_average_1min_after": round(os.getloadavg()[0], 2)},
        "fabricate_s": round(fabricate_s, 3),
        "median": medians,
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
        "report_html_bytes": html_bytes,
        "target_build_report_s": TARGET_SECONDS,
        "meets_target": medians["build_report_s"] < TARGET_SECONDS,
        "note": "read/summarize/plots are timed separately, then build_report (which repeats all three "
                "and renders and writes the page) is timed as a whole.",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result["median"]), "target met" if result["meets_target"] else "TARGET MISSED")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
