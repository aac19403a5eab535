"""Files -> regions -> inference, the shape of a TRamWAy analysis, as an acme_like Pipeline.

Each "recording" is a small text file of 2-D positions. Stage ``regions`` cuts each
recording into square regions of interest (one call per file, several items per
call: ``fan_out=True``); stage ``infer`` estimates a diffusivity per region (one
call per region); stage ``summary`` gathers every estimate into one table.

Run it twice::

    python examples/regions_pipeline.py            # runs all three stages
    python examples/regions_pipeline.py --reuse    # regions switched off: its stored results are used

or from the shell: ``acme-like pipeline examples/regions_pipeline.py --off regions``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from acme_like import Pipeline

HERE = Path(__file__).resolve().parent
WORKSPACE = Path.cwd() / "regions_workspace"


def make_recordings(folder: Path, n_files: int = 4, n_points: int = 2000) -> list[str]:
    """Random walks with a known diffusivity per file, written as text (what a microscope would give)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(n_files):
        path = folder / f"recording_{number}.txt"
        if not path.exists():
            rng = np.random.default_rng(number)
            steps = rng.normal(scale=np.sqrt(2 * 0.1 * (number + 1)), size=(n_points, 2))
            np.savetxt(path, np.cumsum(steps, axis=0))
        paths.append(str(path))
    return paths


def cut_regions(path: str, grid: int = 2) -> list[np.ndarray]:
    """One recording -> the displacements that start in each cell of a grid x grid tessellation."""
    positions = np.loadtxt(path)
    steps = np.diff(positions, axis=0)
    starts = positions[:-1]
    edges = [np.quantile(starts[:, axis], np.linspace(0, 1, grid + 1)) for axis in (0, 1)]
    cells = []
    for i in range(grid):
        for j in range(grid):
            inside = (
                (starts[:, 0] >= edges[0][i]) & (starts[:, 0] <= edges[0][i + 1])
                & (starts[:, 1] >= edges[1][j]) & (starts[:, 1] <= edges[1][j + 1])
            )
            cells.append(steps[inside])
    return cells


def infer_diffusivity(steps: np.ndarray, dt: float = 1.0) -> float:
    """Maximum-likelihood diffusivity of 2-D Brownian steps: mean squared step / (4 dt)."""
    return float(np.mean(np.sum(steps**2, axis=1)) / (4 * dt))


def summarize(estimates: list) -> np.ndarray:
    """Every region's estimate as one array."""
    return np.asarray([float(np.squeeze(e)) for e in estimates])


def build(files: list[str], grid: int = 2) -> Pipeline:
    pipe = Pipeline(WORKSPACE, n_workers=2)
    regions = pipe.stage("regions", cut_regions, files, grid=grid, fan_out=True, returns=((None, 2), "float64"))
    estimates = pipe.stage("infer", infer_diffusivity, regions, dt=1.0, reads=((None, 2), "float64"))
    pipe.stage("summary", summarize, estimates.gathered)
    return pipe


# The pipeline at module level (not run): `acme-like pipeline examples/regions_pipeline.py` finds it.
pipeline = build(make_recordings(WORKSPACE / "recordings"))

if __name__ == "__main__":
    reuse = "--reuse" in sys.argv[1:]
    for preview in pipeline.dry_run(active={"regions": not reuse}):
        print(preview)
    pipeline.run(active={"regions": not reuse})
    table = pipeline.stages[-1].results
    from acme_like import read_payload

    print("diffusivity per region:", np.round(np.squeeze(read_payload(table[0])), 3))
