"""When a run's report is built: after every on-disk run that is small enough, or on request.

dask config ``acme_like.report``: "auto" (default: after every run that writes its
results, up to ``acme_like.report-max-calls`` calls, 20,000 by default, where building
it takes a few seconds at most), "always", or "never". A report that cannot be built
never fails the run: the log says why and how to build it later.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import InputError

CHOICES = ("auto", "always", "never")


def report_setting() -> tuple[str, int]:
    """The configured policy and the largest run "auto" reports on."""
    import dask.config

    policy = dask.config.get("acme_like.report", "auto")
    if policy not in CHOICES:
        raise InputError(f'dask config acme_like.report must be "auto", "always" or "never", got {policy!r}.')
    return policy, int(dask.config.get("acme_like.report-max-calls", 20_000))


def report_after_run(run_dir: Path, n_calls: int, log: logging.Logger) -> Path | None:
    """Build the run's report if the policy says so; its path, or None."""
    policy, largest = report_setting()
    if policy == "never" or (policy == "auto" and n_calls > largest):
        if policy == "auto":
            log.info("No report for %d calls (more than acme_like.report-max-calls=%d); build it with: acme-like report %s",
                     n_calls, largest, run_dir)
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
