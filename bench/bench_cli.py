"""``acme-like map`` over many small files against the same ParallelMap from Python.

    python bench/bench_cli.py                 # 26,530 files (the Parsl staging lesson's count)
    python bench/bench_cli.py --files 2000    # quick

Writes bench/results/cli.json. Both sides run end to end in a fresh interpreter (start-up,
a local cluster of 2 workers started and stopped, one HDF5 payload per file, the
container), alternating, so the ratio is the command line's own cost: globbing the
inputs, building the flags from ParallelMap's signature, its messages. Target: 1.2x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MODULE = textwrap.dedent(
    """
    import os


    def size(path):
        return os.path.getsize(path)
    """
)

SCRIPT = textwrap.dedent(
    """
    import sys
    from acme_like import ParallelMap
    import measure

    if __name__ == "__main__":
        files = open(sys.argv[1]).read().split()
        with ParallelMap(measure.size, files, n_workers=2, output_dir=sys.argv[2], verbose=False) as pmap:
            pmap.compute()
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=26_530)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "cli.json"))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(scratch), os.environ.get("PYTHONPATH", "")]),
           "DASK_ACME_LIKE__BACKEND": "local", "DASK_ACME_LIKE__REPORT": "never"}
    try:
        (scratch / "measure.py").write_text(MODULE)
        (scratch / "script.py").write_text(SCRIPT)
        data = scratch / "data"
        data.mkdir()
        for i in range(args.files):
            (data / f"f{i:06d}.txt").write_text("x" * (i % 97))
        listing = scratch / "files.txt"
        listing.write_text("\n".join(str(p) for p in sorted(data.iterdir())) + "\n")
        times: dict[str, list[float]] = {"cli": [], "python": []}
        for repeat in range(args.repeats):
            for side in (("cli", "python") if repeat % 2 == 0 else ("python", "cli")):
                out = scratch / f"out-{side}-{repeat}"
                command = (
                    [sys.executable, "-m", "acme_like", "map", "measure:size", "--from-file", str(listing),
                     "--output-dir", str(out), "--n-workers", "2", "--no-verbose"]
                    if side == "cli" else [sys.executable, str(scratch / "script.py"), str(listing), str(out)]
                )
                start = time.perf_counter()
                done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
                times[side].append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-2000:]}")
                if not (out / "size.h5").is_file():
                    raise SystemExit(f"{side} wrote no container in {out}")
                shutil.rmtree(out)
        result = {
            "files": args.files, "repeats": args.repeats, "seconds": times,
            "ratio_median": statistics.median(c / p for c, p in zip(times["cli"], times["python"])),
            "load": os.getloadavg(),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
