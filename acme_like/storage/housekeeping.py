"""Find and, only when asked, remove earlier ``ACME_<time>`` run directories.

Only directories whose whole name is a run-directory time stamp count, so a
user's ``ACME_results`` is never touched, and a directory a run holds locked
(``storage.lock``) is never removed.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

from .layout import RUN_DIR_PREFIX
from .lock import is_locked

logger = logging.getLogger(__name__)

_RUN_DIR = re.compile(re.escape(RUN_DIR_PREFIX) + r"\d{8}-\d{6}-\d{6}")
_DAY_S = 86400.0


def tidy_earlier_runs(base: Path, older_than_days: float | None, keep: Path | None = None) -> None:
    """Remove earlier run directories when asked (never ``keep``, the current run's); otherwise
    only warn when they pile up."""
    if older_than_days is not None:
        logger.info("Removing earlier ACME_* run directories in %s older than %g days", base, older_than_days)
        removed = remove_earlier_runs(base, older_than_days, keep=keep)
        logger.info("Removed %d earlier run directories", len(removed))
        return
    earlier = earlier_runs(base)
    if len(earlier) > 20:
        logger.warning(
            "%d earlier ACME_* run directories in %s; pass cleanup_threshold_days=N to remove those "
            "older than N days (0: all).",
            len(earlier),
            base,
        )


def earlier_runs(base: Path) -> list[Path]:
    """Run directories made by earlier default runs in ``base``, oldest first."""
    try:
        found = [p for p in base.iterdir() if p.is_dir() and _RUN_DIR.fullmatch(p.name)]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name)


def remove_earlier_runs(
    base: Path, older_than_days: float, now: float | None = None, keep: Path | None = None
) -> list[Path]:
    """Delete run directories in ``base`` last modified more than ``older_than_days`` ago (0: all),
    except ``keep``."""
    now = time.time() if now is None else now
    removed = []
    kept = None if keep is None else keep.resolve()
    for path in earlier_runs(base):
        if kept is not None and path.resolve() == kept:
            continue
        age_days = (now - path.stat().st_mtime) / _DAY_S
        if older_than_days and age_days <= older_than_days:
            continue
        if is_locked(path):
            logger.info("Kept the earlier run directory %s: a run is writing to it", path)
            continue
        try:
            shutil.rmtree(path)
        except OSError as exc:
            logger.warning("Could not remove the earlier run directory %s: %s", path, exc)
            continue
        logger.info("Removed the earlier run directory %s (%.1f days old)", path, age_days)
        removed.append(path)
    return removed
