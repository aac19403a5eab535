"""Pipeline costs: planning a finished 3-stage pipeline, and 3 stages against 3 hand-run ParallelMaps.

    python bench/bench_pipeline.py                       # 26,530 items to plan, 5,000 to run
    python bench/bench_pipeline.py --items 2000 --run-items 500   # quick
    python bench/bench_pipeline.py --plan-only --workspace /tmp/plan   # planning only, workspace kept

Writes bench/results/pipeline.json. Two measurements, each on one LocalCluster of two
one-thread worker processes started before the timed part:

- plan: a pipeline of three one-item-per-item stages over N items is run once (not
  timed), then built again and timed: ``dry_run()`` (what reruns and why) and ``run()``
  with nothing to run. Target: under 2 s at N = 26,530. Wall time and the CPU time of
  this process (``time.process_time()``, steadier on a shared machine) are both kept.
  ``--workspace DIR`` keeps the workspace, so a later run skips the untimed first run;
  ``--profile FILE`` writes a cProfile of the timed part; ``--plan-only`` skips the run
  measurement.
- run: three stages over M tiny items (per-call HDF5 files) against three ParallelMaps
  run one after another by hand on the same client, each reading the previous one's
  payload paths; interleaved, median of the repeats. Target: within 1.3x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])


def build(workspace: Path, client, n_items: int):
    import workloads
    from acme_like import Pipeline

    pipe = Pipeline(workspace, client=client, verbose=False)
    first = pipe.stage("first", workloads.f, list(range(n_items)))
    second = pipe.stage("second", workloads.g, first)
    pipe.stage("third", workloads.g, second)
    return pipe


def by_hand(directory: Path, client, n_items: int) -> float:
    import workloads
    from acme_like import ParallelMap

    start = time.perf_counter()
    with ParallelMap(workloads.f, list(range(n_items)), client=client, output_dir=directory / "first", verbose=False) as pmap:
        paths = pmap.compute()
    for name in ("second", "third"):
        with ParallelMap(workloads.g_from_path, paths, client=client, output_dir=directory / name, verbose=False) as pmap:
            paths = pmap.compute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=26_530)
    parser.add_argument("--run-items", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "pipeline.json"))
    parser.add_argument("--plan-only", action="store_true", help="measure planning only")
    parser.add_argument("--workspace", help="keep the planning workspace here (reused when it exists)")
    parser.add_argument("--profile", help="write a cProfile of dry_run() and run() to this file")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    result: dict = {"items": args.items, "run_items": args.run_items, "load_before": os.getloadavg()}
    scratch = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        workspace = Path(args.workspace).absolute() if args.workspace else scratch / "plan"
        start = time.perf_counter()
        build(workspace, client, args.items).run()
        result["plan_first_run_s"] = time.perf_counter() - start
        pipe = build(workspace, client, args.items)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start, cpu = time.perf_counter(), time.process_time()
        previews = pipe.dry_run()
        result["plan_dry_run_s"] = time.perf_counter() - start
        result["plan_dry_run_cpu_s"] = time.process_time() - cpu
        assert all(not p.rerun_indices for p in previews), [str(p) for p in previews]
        start, cpu = time.perf_counter(), time.process_time()
        pipe.run()
        result["plan_nothing_to_run_s"] = time.perf_counter() - start
        result["plan_nothing_to_run_cpu_s"] = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        if not args.workspace:
            shutil.rmtree(workspace)
        if args.plan_only:
            return _write(result, args.out)

        pipeline_s, hand_s = [], []
        for repeat in range(args.repeats):
            for order in (("pipe", "hand") if repeat % 2 == 0 else ("hand", "pipe")):
                target = scratch / f"{order}-{repeat}"
                if order == "pipe":
                    start = time.perf_counter()
                    build(target, client, args.run_items).run()
                    pipeline_s.append(time.perf_counter() - start)
                else:
                    hand_s.append(by_hand(target, client, args.run_items))
                shutil.rmtree(target)
        result["pipeline_s"] = pipeline_s
        result["by_hand_s"] = hand_s
        result["ratio_median"] = statistics.median(p / h for p, h in zip(pipeline_s, hand_s))
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return _write(result, args.out)


def _write(result: dict, out: str) -> int:
    result["load_after"] = os.getloadavg()
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
