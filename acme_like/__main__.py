"""Command line: ``python -m acme_like demo`` runs a real ParallelMap on a local cluster."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acme_like", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="map a simulation over many inputs on a local dask cluster")
    demo.add_argument("--n-calls", type=int, default=1000, help="number of calls (default: 1000)")
    demo.add_argument("--n-workers", default="auto", help='local workers (default: "auto", one per core)')
    demo.add_argument("--output-dir", default=None, help="where results go (default: a new ACME_* directory)")
    args = parser.parse_args(argv)
    return run_demo(args.n_calls, args.n_workers, args.output_dir)


def run_demo(n_calls: int, n_workers: str, output_dir: str | None) -> int:
    import dask
    import h5py

    from . import ParallelMap
    from .demo import parameters, simulate

    frequencies, dampings = parameters(n_calls)
    workers = n_workers if n_workers == "auto" else int(n_workers)
    # The demo runs on a local cluster, also on a machine that could submit SLURM jobs.
    with dask.config.set({"acme_like.backend": "local"}):
        with ParallelMap(simulate, frequencies, dampings, n_workers=workers, output_dir=output_dir) as pmap:
            paths = pmap.compute()
    container = pmap.results_container
    with h5py.File(container, "r") as h5:
        n_linked = sum(1 for name in h5 if name.startswith("comp_"))
        trace = h5["comp_0"]["result_0"][()]
        energy = h5["comp_0"]["result_1"][()]
    print()
    print(f"{len(paths)} calls of simulate(frequency, damping) finished.")
    print(f"  run directory:       {pmap.output_dir}")
    print(f"  per-call results:    {len(paths)} files such as {paths[0]}")
    print(f"  aggregate container: {container} ({n_linked} entries comp_0 ... comp_{n_calls - 1})")
    print(f"  log file:            {pmap.logfile}")
    print()
    print("Open the results in Python:")
    print("  import h5py")
    print(f"  with h5py.File({container!r}) as h5:")
    print('      trace = h5["comp_0"]["result_0"][()]    # array, shape', trace.shape)
    print(f'      energy = h5["comp_0"]["result_1"][()]   # {energy!r}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
