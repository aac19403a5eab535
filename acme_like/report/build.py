"""Build the report file of a finished run: read the record, summarize, draw, render, write once.

The only module of the room that writes: ``report.html`` next to the record, atomically (a
reader never sees half a page). It runs after the run, from the files alone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .plots import draw_plots, matplotlib_available
from .records import RECORD_DIR, read_run_record
from .render import render_html
from .summary import summarize

REPORT_NAME = "report.html"
logger = logging.getLogger(__name__)


def build_report(run_dir: str | os.PathLike, *, out: str | os.PathLike | None = None) -> Path:
    """Write the HTML report of a finished run and return its path.

    Parameters
    ----------
    run_dir
        The run directory, the one holding ``.acme_like/calls.csv`` and ``.acme_like/run.json``.
    out
        Where to write the page; by default ``<run_dir>/.acme_like/report.html``. The page links
        ``calls.csv`` and ``run.json`` by paths relative to it.

    Returns
    -------
    Path
        The page: one self-contained file (inline CSS, figures as data URIs, no script), which
        opens offline in any browser. Without matplotlib it has the tables and says how to
        install the figures.

    Raises
    ------
    RunRecordError
        When the record is missing or malformed.

    Examples
    --------
    >>> from acme_like.report import build_report
    >>> build_report("ACME_20250101-120000")                     # doctest: +SKIP
    PosixPath('ACME_20250101-120000/.acme_like/report.html')
    """
    record = read_run_record(run_dir)
    summary = summarize(record)
    path = Path(out) if out is not None else record.run_dir / RECORD_DIR / REPORT_NAME
    plots_missing = not matplotlib_available()
    plots = draw_plots(record, summary)
    here = path.parent.resolve()
    page = render_html(
        summary, plots, run_dir=str(record.run_dir.resolve()),
        calls_href=_href(record.calls_path, here), run_href=_href(record.run_path, here),
        plots_missing=plots_missing,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    logger.info("wrote the report of %s (%d calls) to %s", summary.func, summary.n_rows, path)
    return path


def _href(target: Path, here: Path) -> str:
    return Path(os.path.relpath(target.resolve(), here)).as_posix()
