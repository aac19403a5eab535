"""The report's figures as PNG bytes, drawn with matplotlib's Agg canvas.

matplotlib is imported inside the functions, never at module import, and only its object
interface is used (no pyplot, no global backend switch), so building a report changes nothing in
the caller's matplotlib state. Every figure is drawn from numpy columns in one pass; a figure
with more points than its cap draws a seeded random sample and says so in its caption.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from dataclasses import dataclass

import numpy as np

from .records import RunRecord
from .summary import Summary, ran_mask, stage_names
from .units import byte_scale

#: At most this many calls are drawn in the timeline and in scatter plots.
MAX_DRAWN_CALLS = 20_000
OK_COLOUR = "#2f6db5"
FAILED_COLOUR = "#d1342f"
LIMIT_COLOUR = "#d1342f"
QUEUE_COLOUR = "#b8c2cc"
IDLE_COLOUR = "#e4e9ee"
STAGE_COLOURS = ("#2f6db5", "#e08a1e", "#3a9a5b", "#8a5cc2", "#c2477a", "#2aa1b3", "#7a7a7a", "#b5a72f")
DPI = 144
_STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.edgecolor": "#9aa5b1", "axes.grid": True, "grid.color": "#e6eaee",
    "grid.linewidth": 0.8, "axes.axisbelow": True, "legend.frameon": False, "legend.fontsize": 8,
    "xtick.color": "#52606d", "ytick.color": "#52606d", "axes.labelcolor": "#323f4b",
}


@dataclass(frozen=True, slots=True)
class Plot:
    """One figure of the report: an anchor name, a title, the PNG and a caption (may be empty)."""

    name: str
    title: str
    png: bytes
    caption: str = ""
    wide: bool = False


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported; the report renders its tables without it."""
    return importlib.util.find_spec("matplotlib") is not None


def _styled(draw):
    """Draw inside the report's rc settings; they are read while drawing and saving, and restored after."""

    @functools.wraps(draw)
    def styled(*args, **kwargs):
        from matplotlib import rc_context

        with rc_context(_STYLE):
            return draw(*args, **kwargs)

    return styled


def draw_plots(record: RunRecord, summary: Summary) -> tuple[Plot, ...]:
    """Every figure the record has data for, in page order; empty when matplotlib is missing."""
    if not matplotlib_available():
        return ()
    cols = record.columns
    ran = ran_mask(record)
    failed = cols.status == "failed"
    plots = []
    if ran.any():
        plots.append(Plot("runtime", "Run time per call",
                          runtime_histogram(cols.seconds[ran], failed[ran]),
                          f"{int(ran.sum()):,} calls computed in this run; reused calls are left out."))
    has_input = ran & ~np.isnan(cols.input_bytes)
    if has_input.any():
        png, caption = runtime_against_input(cols.seconds[has_input], cols.input_bytes[has_input], failed[has_input])
        plots.append(Plot("runtime-input", "Run time against input size", png, caption))
    has_peak = ran & ~np.isnan(cols.peak_bytes)
    if has_peak.any():
        png, caption = peak_memory(cols.index[has_peak], cols.peak_bytes[has_peak], failed[has_peak],
                                   record.run.mem_per_worker_bytes,
                                   record.run.estimate.peak_bytes if record.run.estimate else None)
        plots.append(Plot("memory", "Peak memory per call", png, caption))
    timed = ran & ~np.isnan(cols.started_at) & ~np.isnan(cols.ended_at)
    if timed.any() or any(w.queue_wait_s is not None for w in summary.workers):
        png, caption = timeline(record, summary, timed)
        plots.append(Plot("timeline", "Calls on each worker over time", png, caption, wide=True))
    return tuple(plots)


@_styled
def runtime_histogram(seconds: np.ndarray, failed: np.ndarray) -> bytes:
    """Histogram of call run times, failed calls stacked in red, median and 95th percentile marked."""
    figure, ax = _figure(6.4, 3.3)
    from matplotlib.ticker import MaxNLocator

    n_bins = int(np.clip(2 * np.sqrt(len(seconds)), 10, 50))
    positive = seconds[seconds > 0]
    log = len(positive) > 1 and positive.max() / positive.min() > 100
    if log:
        edges = np.geomspace(positive.min(), positive.max(), n_bins + 1)
        seconds = np.clip(seconds, positive.min(), None)
        ax.set_xscale("log")
    else:
        edges = np.linspace(seconds.min(), max(seconds.max(), seconds.min() + 1e-9), n_bins + 1)
    ok_counts, _ = np.histogram(seconds[~failed], edges)
    failed_counts, _ = np.histogram(seconds[failed], edges)
    widths = np.diff(edges)
    ax.bar(edges[:-1], ok_counts, widths, align="edge", color=OK_COLOUR, label="ok", linewidth=0)
    if failed.any():
        ax.bar(edges[:-1], failed_counts, widths, bottom=ok_counts, align="edge", color=FAILED_COLOUR,
               label="failed", linewidth=0)
    median, p95 = np.median(seconds), np.percentile(seconds, 95)
    ax.axvline(median, color="#323f4b", linewidth=1, linestyle="-", label=f"median {_short_seconds(median)}")
    ax.axvline(p95, color="#323f4b", linewidth=1, linestyle=":", label=f"95 % below {_short_seconds(p95)}")
    ax.set_xlabel("seconds per call" + (" (log scale)" if log else ""))
    ax.set_ylabel("calls")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=4)
    return _png(figure)


@_styled
def runtime_against_input(seconds: np.ndarray, input_bytes: np.ndarray, failed: np.ndarray) -> tuple[bytes, str]:
    """Scatter of run time against input size; failed calls in red."""
    keep, caption = _sample(len(seconds), "calls with a known input size")
    seconds, input_bytes, failed = seconds[keep], input_bytes[keep], failed[keep]
    figure, ax = _figure(6.4, 3.3)
    scale, unit = byte_scale(float(input_bytes.max()))
    size = 14 if len(seconds) < 500 else 4
    ax.scatter(input_bytes[~failed] / scale, seconds[~failed], s=size, color=OK_COLOUR, alpha=0.6,
               linewidths=0, label="ok", rasterized=True)
    if failed.any():
        ax.scatter(input_bytes[failed] / scale, seconds[failed], s=size * 2, color=FAILED_COLOUR,
                   linewidths=0, label="failed", rasterized=True)
        ax.legend(loc="upper left")
    positive = input_bytes[input_bytes > 0]
    if len(positive) > 1 and positive.max() / positive.min() > 100:
        ax.set_xscale("log")
    ax.set_xlabel(f"input size ({unit})")
    ax.set_ylabel("seconds per call")
    ax.set_ylim(bottom=0)
    return _png(figure), caption


@_styled
def peak_memory(index: np.ndarray, peak_bytes: np.ndarray, failed: np.ndarray, limit_bytes: int | None,
                forecast_bytes: int | None) -> tuple[bytes, str]:
    """Peak memory of each call by call index, against the worker limit and the forecast."""
    keep, caption = _sample(len(index), "calls with a measured peak")
    index, peak_bytes, failed = index[keep], peak_bytes[keep], failed[keep]
    figure, ax = _figure(6.4, 3.3)
    highest = max(float(peak_bytes.max()), float(forecast_bytes or 0))
    # A limit far above every call would squash the points onto the axis: name it instead of drawing it.
    limit_off_scale = bool(limit_bytes) and limit_bytes > 3 * highest
    top = highest if limit_off_scale else max(highest, float(limit_bytes or 0))
    scale, unit = byte_scale(top)
    size = 14 if len(index) < 500 else 4
    ax.scatter(index[~failed], peak_bytes[~failed] / scale, s=size, color=OK_COLOUR, alpha=0.6,
               linewidths=0, label="ok", rasterized=True)
    if failed.any():
        ax.scatter(index[failed], peak_bytes[failed] / scale, s=size * 2, color=FAILED_COLOUR,
                   linewidths=0, label="failed", rasterized=True)
    if limit_bytes and not limit_off_scale:
        ax.axhline(limit_bytes / scale, color=LIMIT_COLOUR, linewidth=1.4, linestyle="--",
                   label="memory per worker")
    if forecast_bytes:
        ax.axhline(forecast_bytes / scale, color="#52606d", linewidth=1, linestyle=":", label="forecast peak")
    ax.set_ylim(0, top / scale * 1.12)
    ax.set_xlabel("call index")
    ax.set_ylabel(f"peak memory ({unit})")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3)
    if not limit_bytes:
        caption = (caption + " " if caption else "") + "The run had no memory limit per worker."
    elif limit_off_scale:
        caption = (caption + " " if caption else "") + (
            f"The memory per worker, {limit_bytes / scale:,.0f} {unit}, is "
            f"{limit_bytes / float(peak_bytes.max()):,.0f}× the highest peak: far above this plot.")
    return _png(figure), caption


@_styled
def timeline(record: RunRecord, summary: Summary, timed: np.ndarray) -> tuple[bytes, str]:
    """One row per worker, a bar per call; queue wait and start-up before each worker's first call."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    cols = record.columns
    rows_all = np.flatnonzero(timed)
    keep, caption = _sample(len(rows_all), "timed calls")
    rows = rows_all[keep]
    names = [w.name for w in summary.workers]
    extra = sorted(set(np.unique(cols.worker[rows]).tolist()) - set(names))
    names += extra
    lanes = {name: i for i, name in enumerate(names)}
    origin = min([record.run.started_at] + [w.started_at - w.queue_wait_s for w in summary.workers
                                            if w.queue_wait_s is not None])
    unique, inverse = np.unique(cols.worker[rows], return_inverse=True)
    lane = np.array([lanes[u] for u in unique.tolist()], dtype=float)[inverse.ravel()] if len(rows) else np.zeros(0)
    start = cols.started_at[rows] - origin
    end = np.maximum(cols.ended_at[rows] - origin, start)
    span = max(float(end.max()) if len(end) else 0.0, record.run.ended_at - origin, 1e-9)
    divisor, unit = (3600.0, "hours") if span > 3 * 3600 else (60.0, "minutes") if span > 180 else (1.0, "seconds")

    height = float(np.clip(0.32 * len(names) + 1.3, 2.4, 11.0))
    figure, ax = _figure(12.8, height)
    legend = []
    waits = [(lanes[w.name], w.queue_wait_s, w.started_at, w.first_call_at) for w in summary.workers
             if w.started_at is not None]
    queue = [(y, w, s) for y, w, s, _ in waits if w]
    if queue:
        ax.barh([y for y, _, _ in queue], [w / divisor for _, w, _ in queue],
                left=[(s - w - origin) / divisor for _, w, s in queue], height=0.5, color=QUEUE_COLOUR,
                hatch="////", edgecolor="white", linewidth=0)
        legend.append(Patch(facecolor=QUEUE_COLOUR, hatch="////", edgecolor="white", label="waiting in the queue"))
    idle = [(y, s, f) for y, _, s, f in waits if f is not None and f > s]
    if idle:
        ax.barh([y for y, _, _ in idle], [(f - s) / divisor for _, s, f in idle],
                left=[(s - origin) / divisor for _, s, _ in idle], height=0.5, color=IDLE_COLOUR, linewidth=0)
        legend.append(Patch(facecolor=IDLE_COLOUR, label="started, before its first call"))

    stages = [s.name for s in stage_names(record)]
    if stages:
        palette = {name: STAGE_COLOURS[i % len(STAGE_COLOURS)] for i, name in enumerate(stages)}
        colours = np.array([palette.get(s, OK_COLOUR) for s in cols.stage[rows].tolist()], dtype=object)
        legend += [Patch(facecolor=c, label=f"stage {n}") for n, c in palette.items()]
    else:
        colours = np.full(len(rows), OK_COLOUR, dtype=object)
        legend.append(Patch(facecolor=OK_COLOUR, label="call"))
    failed = cols.status[rows] == "failed"
    colours[failed] = FAILED_COLOUR
    if failed.any():
        legend.append(Patch(facecolor=FAILED_COLOUR, label="failed call"))
    if len(rows):
        x0, x1 = start / divisor, end / divisor
        # A call shorter than a pixel still shows: at least 1/1500 of the axis.
        x1 = np.maximum(x1, x0 + span / divisor / 1500)
        verts = np.stack([np.column_stack(p) for p in (
            (x0, lane - 0.36), (x0, lane + 0.36), (x1, lane + 0.36), (x1, lane - 0.36))], axis=1)
        ax.add_collection(PolyCollection(verts, facecolors=colours.tolist(), edgecolors="none",
                                         linewidths=0, rasterized=True))
    ax.axvline((record.run.started_at - origin) / divisor, color="#52606d", linewidth=0.8, linestyle=":")
    ax.set_xlim(0, span / divisor * 1.01)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    if len(names) <= 60:
        ax.set_yticks(range(len(names)), [_short_name(n) for n in names],
                      fontsize=8 if len(names) <= 24 else 6)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(names)} workers")
    ax.set_xlabel(f"{unit} since " + ("the first submission" if queue else "the start of the run"))
    ax.legend(handles=legend, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=min(len(legend), 6))
    if not queue and any(w.started_at for w in summary.workers):
        caption = (caption + " " if caption else "") + "No queue wait was recorded (not a batch-system run)."
    return _png(figure), caption


def _sample(n: int, what: str) -> tuple[np.ndarray, str]:
    if n <= MAX_DRAWN_CALLS:
        return np.arange(n), ""
    keep = np.sort(np.random.default_rng(0).choice(n, MAX_DRAWN_CALLS, replace=False))
    return keep, f"Shows a random sample of {MAX_DRAWN_CALLS:,} of the {n:,} {what}."


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def _short_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _short_name(name: str) -> str:
    return name if len(name) <= 28 else name[:12] + "…" + name[-15:]
