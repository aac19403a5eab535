"""The demo run: a damped oscillator simulated for many (frequency, damping) pairs.

Importable on purpose: worker processes load ``simulate`` from here by name
(``acme_like.cli.demo.simulate``), so this module imports nothing heavy at the top.
"""

from __future__ import annotations

import numpy as np


def simulate(frequency: float, damping: float, duration: float = 2.0, rate: int = 500) -> tuple[np.ndarray, float]:
    """Displacement of a damped oscillator over ``duration`` seconds and its final energy."""
    t = np.arange(0.0, duration, 1.0 / rate)
    trace = np.exp(-damping * t) * np.cos(2.0 * np.pi * frequency * t)
    energy = float(0.5 * trace[-1] ** 2)
    return trace, energy


def parameters(n_calls: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_calls`` reproducible (frequency, damping) pairs."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 5.0, n_calls), rng.uniform(0.1, 2.0, n_calls)


def run_demo(n_calls: int, n_workers: str, output_dir: str | None) -> int:
    """Run the demo on a local cluster and print where the results are and how to open them."""
    import dask
    import h5py

    from acme_like import ParallelMap

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
