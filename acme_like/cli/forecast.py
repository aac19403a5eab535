"""The command line's dry run: run the function here on files sampled across the size range.

One file underestimates a run whose files range from megabytes to gigabytes, so the sample is
the smallest, the largest and files at the size quartiles (up to five), each timed and with its
peak of Python allocations traced. Nothing is written; no acme_like imports.
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from dataclasses import dataclass

from ..core.units import format_seconds
from typing import Any, Callable, Mapping, Sequence

QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, slots=True)
class Sample:
    """One call run here: its file, the file's size, the call's time and peak memory."""

    path: str
    input_bytes: int
    seconds: float
    peak_bytes: int


@dataclass(frozen=True, slots=True)
class Forecast:
    """What the sample says about the whole run."""

    samples: tuple[Sample, ...]
    n_calls: int
    total_bytes: int
    n_workers: int

    @property
    def median_seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def by_count_seconds(self) -> float:
        """Calls times the median time, spread over the workers."""
        return self.n_calls * self.median_seconds / self.n_workers

    @property
    def by_size_seconds(self) -> float:
        """Total input size times the sample's seconds per byte, spread over the workers."""
        sampled = sum(s.input_bytes for s in self.samples)
        if sampled == 0:
            return self.by_count_seconds
        return self.total_bytes * sum(s.seconds for s in self.samples) / sampled / self.n_workers

    @property
    def peak_bytes(self) -> int:
        """Peak memory of the call on the largest file (the largest is always sampled)."""
        return max(self.samples, key=lambda s: (s.input_bytes, s.peak_bytes)).peak_bytes

    def __str__(self) -> str:
        lines = [
            f"Dry run: {len(self.samples)} of {self.n_calls} files run here, sampled across the size range "
            f"(total input {format_bytes(self.total_bytes)}).",
            f"  {'input size':>12}  {'time':>9}  {'peak memory':>12}  file",
        ]
        for s in self.samples:
            lines.append(f"  {format_bytes(s.input_bytes):>12}  {format_seconds(s.seconds):>9}  {format_bytes(s.peak_bytes):>12}  {s.path}")
        lines += [
            f"Forecast for {self.n_calls} calls on {self.n_workers} workers:",
            f"  by count: {self.n_calls} calls x {format_seconds(self.median_seconds)} (median) / {self.n_workers} workers "
            f"= about {format_seconds(self.by_count_seconds)}",
            f"  by size:  {format_bytes(self.total_bytes)} at the sample's time per byte / {self.n_workers} workers "
            f"= about {format_seconds(self.by_size_seconds)}",
            f"  memory:   the largest file needed {format_bytes(self.peak_bytes)} at peak; give each worker more "
            f"(--mem-per-worker).",
            "Nothing was written. Run the same command without --dry-run to start.",
        ]
        return "\n".join(lines)


def pick_samples(sizes: Sequence[int]) -> list[int]:
    """Indices of the files at the size quantiles (smallest, quartiles, largest), each once."""
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    return list(dict.fromkeys(order[round(q * (len(order) - 1))] for q in QUANTILES))


def run_samples(
    func: Callable[..., Any], paths: Sequence[str], kwargs: Mapping[str, Any], n_workers: int
) -> Forecast:
    """Run ``func(path, **kwargs)`` here on the sampled files; the user's exception propagates."""
    sizes = [os.path.getsize(p) for p in paths]
    samples = []
    for index in sorted(pick_samples(sizes), key=lambda i: sizes[i]):
        tracemalloc.start()
        try:
            start = time.perf_counter()
            func(paths[index], **kwargs)
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        samples.append(Sample(paths[index], sizes[index], seconds, peak))
    return Forecast(tuple(samples), len(paths), sum(sizes), max(1, n_workers))


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover
