"""One unit system for sizes: parse what users write, format what messages show.

Parsing accepts exactly what dask's ``parse_bytes`` accepts (``"2GB"`` is 2·10⁹
bytes, ``"2GiB"`` 2·2³⁰, ``"1500 MB"``, ``"10k"``, ``"1e6"``, a plain int of bytes),
so a size means the same here, in a ``LocalCluster`` and in dask's configuration.
Formatting is decimal everywhere ("2.79 GB", "954 MB"), the units users write in
ACME's keywords (``mem_per_worker="2GB"``): a user who passes "3GB" reads "3 GB"
back. Pure: no I/O; dask's byte parser is imported only when a size is parsed.
"""

from __future__ import annotations

import math
import numbers

from ..errors import InputError

#: Memory a dask worker process needs besides its calls (a fresh worker with numpy and h5py
#: loaded holds about 80-120 MB; dask pauses a worker at 80 % of its limit).
WORKER_BASE_BYTES = 250 * 10**6

_DECIMAL_UNITS = (("PB", 10**15), ("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def parse_size(value: str | int) -> int:
    """Bytes in a size such as "2GB" (2·10⁹), "2GiB" (2·2³⁰), "1500 MB" or an int of bytes.

    Raises InputError for anything dask's ``parse_bytes`` refuses, and for sizes < 1 byte.

    >>> parse_size("2GB"), parse_size("1GiB"), parse_size(512), parse_size("10k")
    (2000000000, 1073741824, 512, 10000)
    """
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
        raise InputError(f'a memory size must be a string like "2GB" or an int of bytes, got {type(value).__name__} {value!r}.')
    if isinstance(value, numbers.Integral):
        size = int(value)
    else:
        from dask.utils import parse_bytes

        try:
            if not value.strip():
                raise ValueError("empty")
            number = float(value.replace(" ", "").rstrip("kKmMgGtTpPiIbB") or "1")
            size = parse_bytes(value) if math.isfinite(number) else 0
        except (ValueError, TypeError, OverflowError):
            raise InputError(
                f'a memory size must look like "2GB", "1500MB" or "4GiB" (kB, MB, GB are powers of 1000; '
                f"KiB, MiB, GiB powers of 1024), got {value!r}."
            ) from None
    if size < 1:
        raise InputError(f'a memory size must be positive, like "2GB" or "1500MB", got {value!r}.')
    return size


def format_size(n_bytes: float, floor: bool = False) -> str:
    """A short decimal size for messages: "2.79 GB", "954 MB", "12 B".

    ``floor`` rounds down (to 3 significant digits), for limits: "at most 17 GB" must not
    suggest a size that is over the limit.

    >>> format_size(3 * 10**9), format_size(2**30), format_size(512), format_size(17.18e9 - 1e8, floor=True)
    ('3 GB', '1.07 GB', '512 B', '17 GB')
    """
    for unit, size in _DECIMAL_UNITS:
        if abs(n_bytes) >= size:
            value = n_bytes / size
            if floor:
                step = 10 ** (math.floor(math.log10(abs(value))) - 2)
                value = math.floor(value / step) * step
            return f"{value:.3g} {unit}"
    return f"{int(n_bytes)} B"


def format_seconds(seconds: float | None) -> str:
    """``0.0123`` -> ``'12 ms'``, ``75`` -> ``'1 min 15 s'``, ``7300`` -> ``'2 h 1 min'``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} µs"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"
