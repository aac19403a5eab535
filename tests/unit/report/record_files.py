"""Write realistic run records (calls.csv and run.json) into a directory, as a run would leave them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

COLUMNS = ("index,stage,key,arguments,digest,status,kind,attempt,started_at,ended_at,seconds,peak_bytes,"
           "worker,host,payload,payload_bytes,input_path,input_bytes,exc_type,message,traceback").split(",")
T0 = 1_735_725_600.0  # 2025-01-01 10:00 UTC
WORKERS = ("tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002")
TRACEBACK = ('Traceback (most recent call last):\n  File "sim.py", line 12, in simulate\n'
             '    raise ValueError(f"bad seed {seed}")\nValueError: bad seed 7\n')


def realistic_calls(n=12, *, with_input=True, failed=(7,), stage=""):
    """n calls of ``simulate(seed=i)``: run times from 0.05 to 1.2 s, two workers, calls back to back."""
    rows, free_at = [], [T0 + 0.5, T0 + 0.7]
    for i in range(n):
        seconds = round(0.05 + (i * 37 % 11) * 0.1 + (0.5 if i == 3 else 0.0), 3)
        w = i % 2
        start = free_at[w]
        free_at[w] = start + seconds + 0.01
        bad = i in failed
        rows.append({
            "index": i, "stage": stage, "key": f"simulate-ab12-{i}", "arguments": f"seed={i}, n={1000 * (i + 1)}",
            "digest": f"{i:08x}", "status": "failed" if bad else "ok", "kind": "exception" if bad else "",
            "attempt": 1, "started_at": start, "ended_at": start + seconds, "seconds": seconds,
            "peak_bytes": 50_000_000 + i * 4_000_000, "worker": WORKERS[w], "host": "node01",
            "payload": "" if bad else f"simulate_payload/simulate_{i}.h5",
            "payload_bytes": "" if bad else 8192 * (i + 1),
            "input_path": f"inputs/seed_{i}.npy" if with_input else "",
            "input_bytes": 1_000_000 * (i + 1) if with_input else "",
            "exc_type": "ValueError" if bad else "", "message": f"bad seed {i}" if bad else "",
            "traceback": TRACEBACK if bad else "",
        })
    return rows


def realistic_run(n_calls=12, *, estimate=True, stages=None, submitted=False, wall_s=5.0):
    workers = []
    for w, name in enumerate(WORKERS):
        worker = {"name": name, "host": "node01", "memory_limit_bytes": 2_000_000_000,
                  "started_at": T0 + 0.2 + 0.1 * w, "first_call_at": T0 + 0.5 + 0.2 * w}
        if submitted:
            worker["submitted_at"] = T0 - 30.0 - 10 * w
        workers.append(worker)
    return {
        "format": 1, "func": "simulate", "n_calls": n_calls, "started_at": T0, "ended_at": T0 + wall_s,
        "command": ["python", "run_sim.py", "--seeds", "12"],
        "versions": {"python": "3.11.7", "acme_like": "0.1.0", "numpy": "2.4.6"},
        "mem_per_worker_bytes": 2_000_000_000, "workers": workers,
        "estimate": {"seconds": 4.0, "peak_bytes": 80_000_000} if estimate else None,
        "stages": stages,
    }


def write_record(run_dir: Path, calls, run) -> Path:
    """Write ``<run_dir>/.acme_like/calls.csv`` and ``run.json``; return run_dir."""
    record = Path(run_dir) / ".acme_like"
    record.mkdir(parents=True, exist_ok=True)
    with (record / "calls.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, COLUMNS)
        writer.writeheader()
        writer.writerows(calls)
    (record / "run.json").write_text(json.dumps(run, indent=1), encoding="utf-8")
    return Path(run_dir)
