"""Human-readable bytes, durations and times for the report's text; pure functions, no imports of ours."""

from __future__ import annotations

import math
import time

from ..core.units import format_seconds  # noqa: F401  (the one time format, also the room's)


def format_bytes(n_bytes: float | None) -> str:
    """``1536`` -> ``'1.5 KiB'``; unknown (``None`` or nan) -> ``'–'``."""
    if n_bytes is None or not math.isfinite(n_bytes):
        return "–"
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def byte_scale(max_bytes: float) -> tuple[float, str]:
    """The divisor and unit name that show ``max_bytes`` as a number between 1 and 1024."""
    for power, unit in enumerate(("B", "KiB", "MiB", "GiB", "TiB")):
        if max_bytes < 1024 ** (power + 1) or unit == "TiB":
            return 1024.0 ** power, unit
    raise AssertionError("unreachable")


def format_time(unix_s: float | None) -> str:
    """Local time of a unix timestamp, ``'2025-01-31 12:00:05'``."""
    if unix_s is None or not math.isfinite(unix_s):
        return "–"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix_s))
