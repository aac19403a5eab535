"""The dry run: run a seeded random sample of calls here and forecast the whole run.

Each sampled call runs in this process with memory tracing on, writes its
payload into a temporary directory that is removed afterwards, and yields its
time, its peak memory (the call's own allocations, not a difference of RSS)
and its bytes of output. Nothing here asks the user anything.
"""

from __future__ import annotations

import dataclasses
import math
import random
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from ..core.plan import CallPlan
from ..core.units import format_seconds, format_size
from ..core.values import measure_bytes
from .worker import CallContext, run_call

#: How many calls a dry run samples by default: 1 % of the calls, at least 1, at most 5.
MAX_SAMPLES = 5


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a sample of calls measured and what it forecasts for the whole run."""

    func_name: str
    n_calls: int
    sample_indices: tuple[int, ...]
    seconds_per_call: float
    max_seconds_per_call: float
    peak_bytes_per_call: int
    output_bytes_per_call: float
    n_workers: int
    wall_seconds: float
    disk_bytes: float
    n_files: int
    memory_bytes: float

    def __str__(self) -> str:
        sample = ", ".join(str(i) for i in self.sample_indices)
        lines = [
            f"Dry run of {self.func_name}: {len(self.sample_indices)} of {self.n_calls} calls run here (calls {sample}).",
            f"  per call: {format_seconds(self.seconds_per_call)} on average ({format_seconds(self.max_seconds_per_call)} at most), "
            f"peak memory {format_size(self.peak_bytes_per_call)}, output {format_size(self.output_bytes_per_call)}",
            f"  forecast for all {self.n_calls} calls on {self.n_workers} workers: about "
            f"{format_seconds(self.wall_seconds)} of computing",
        ]
        if self.n_files:
            lines.append(f"  on disk: about {format_size(self.disk_bytes)} in {self.n_files} files")
        else:
            lines.append(f"  returned to this process: about {format_size(self.memory_bytes)}")
        return "\n".join(lines)


def sample_indices(n_calls: int, n_samples: int | None = None, seed: int = 0) -> tuple[int, ...]:
    """A seeded random choice of call indices: ``n_samples``, or 1 % of the calls within [1, 5]."""
    if n_samples is None:
        n_samples = min(MAX_SAMPLES, max(1, math.ceil(0.01 * n_calls)))
    n_samples = max(1, min(int(n_samples), n_calls))
    return tuple(sorted(random.Random(seed).sample(range(n_calls), n_samples)))


def estimate_run(
    context: CallContext,
    plan: CallPlan,
    func_name: str,
    n_workers: int,
    files_per_call: int,
    fixed_files: int,
    n_samples: int | None = None,
    seed: int = 0,
) -> Estimate:
    """Run the sampled calls in this process and forecast the run; the user's exception propagates."""
    indices = sample_indices(plan.n_calls, n_samples, seed)
    seconds, peaks, sizes = [], [], []
    with tempfile.TemporaryDirectory(prefix="acme_like-dryrun-") as tmp:
        sample_context = context
        if context.layout is not None:
            scratch = dataclasses.replace(context.layout, run_dir=Path(tmp))
            scratch.create()
            sample_context = dataclasses.replace(context, layout=scratch)
        for index in indices:
            tracemalloc.start()
            try:
                start = time.perf_counter()
                outcome = run_call(sample_context, index, plan.call_values(index), capture=False)
                seconds.append(time.perf_counter() - start)
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            sizes.append(outcome.payload.nbytes if outcome.payload is not None else measure_bytes(outcome.value))
    mean_seconds = sum(seconds) / len(seconds)
    mean_bytes = sum(sizes) / len(sizes)
    on_disk = context.layout is not None
    return Estimate(
        func_name=func_name,
        n_calls=plan.n_calls,
        sample_indices=indices,
        seconds_per_call=mean_seconds,
        max_seconds_per_call=max(seconds),
        peak_bytes_per_call=max(peaks),
        output_bytes_per_call=mean_bytes,
        n_workers=n_workers,
        wall_seconds=math.ceil(plan.n_calls / max(1, n_workers)) * mean_seconds,
        disk_bytes=plan.n_calls * mean_bytes if on_disk else 0.0,
        n_files=plan.n_calls * files_per_call + fixed_files if on_disk else 0,
        memory_bytes=0.0 if on_disk else plan.n_calls * mean_bytes,
    )
