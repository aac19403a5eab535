"""When a run's report is built: after every on-disk run that is small enough, or on request.

dask config ``acme_like.report``: "auto" (default: after a run that writes its results,
has up to ``acme_like.report-max-calls`` calls, 20,000 by default, where building it takes
a few seconds at most, and either had a failed call or ran for at least
``acme_like.report-min-seconds``, 10 by default: drawing the plots takes about half a
second, which a run of two seconds should not pay), "always", or "never". A report that
cannot be built never fails the run: the log says why and how to build it later.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import InputError

CHOICES = ("auto", "always", "never")


def report_setting() -> tuple[str, int, float]:
    """The configured policy, the largest run "auto" reports on, and the shortest one it reports on
    when no call failed."""
    import dask.config

    policy = dask.config.get("acme_like.report", "auto")
    if policy not in CHOICES:
        raise InputError(f'dask config acme_like.report must be "auto", "always" or "never", got {policy!r}.')
    return policy, int(dask.config.get("acme_like.report-max-calls", 20_000)), float(dask.config.get("acme_like.report-min-seconds", 10))


def report_after_run(run_dir: Path, n_calls: int, log: logging.Logger, seconds: float = float("inf"), failed: bool = False) -> Path | None:
    """Build the report of a run of ``n_calls`` that took ``seconds`` if the policy says so; its path, or None."""
    policy, largest, shortest = report_setting()
    if policy == "never":
        return None
    if policy == "auto" and n_calls > largest:
        log.info("No report for %d calls (more than acme_like.report-max-calls=%d); build it with: acme-like report %s",
                 n_calls, largest, run_dir)
        return None
    if policy == "auto" and not failed and seconds < shortest:
        log.debug("No report for a run of %.1f s (shorter than acme_like.report-min-seconds=%g); build it with: "
                  "acme-like report %s", seconds, shortest, run_dir)
        return None
    return build_run_report(run_dir, log)


def build_run_report(run_dir: Path, log: logging.Logger) -> Path | None:
    """Build the report now; a failure is logged with the command that retries it, never raised."""
    from .report import build_report

    try:
        path = build_report(run_dir)
    except Exception as exc:  # the run's results are what matters; the report can be rebuilt
        log.warning("The run report could not be built (%s: %s); retry with: acme-like report %s", type(exc).__name__, exc, run_dir)
        return None
    log.info("Run report: %s", path)
    return path
