"""The parent's peak memory and wall time of N tiny calls in memory, end to end, one run.

``ParallelMap(f, list(range(N)), n_workers=2, write_worker_results=False)`` with the
cluster start and stop included, the values read back and checked, in this process
alone (run it once per N: ``VmHWM`` is the peak of the whole process). Prints one JSON
line: N, seconds, the parent's peak before the run and after it (MB, ``VmHWM``).

Usage::

    DASK_ACME_LIKE__BACKEND=local PYTHONPATH=$PWD python bench/parent_memory.py 1000000
    # the same, a tree other than the working one: PYTHONPATH=/path/to/that/tree
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import workloads  # noqa: E402
from workloads import vmhwm_mb  # noqa: E402


def main(n: int) -> dict:
    from acme_like import ParallelMap

    xs = list(range(n))
    before = vmhwm_mb()
    t0 = time.perf_counter()
    with ParallelMap(workloads.f, xs, n_inputs=n, write_worker_results=False, verbose=False,
                     setup_interactive=False, n_workers=2) as pmap:
        values = pmap.compute()
    seconds = time.perf_counter() - t0
    peak = vmhwm_mb()
    total = float(np.sum(values))
    if len(values) != n or total != float(sum(xs) + n):
        raise SystemExit(f"wrong results: {len(values)} values summing to {total}")
    return {"n": n, "seconds": round(seconds, 3), "parent_peak_mb_before": round(before, 1),
            "parent_peak_mb": round(peak, 1)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)))
