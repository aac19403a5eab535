"""The ``acme_like`` logger's level and handlers for the duration of one run.

Importing the package installs only a ``NullHandler``. :func:`run_logging`
sets the level ``verbose`` asks for, adds a console handler when the
application has configured no logging of its own, adds a file handler when a
log file is wanted, and undoes all of it when the run ends (when the last of
several runs at once ends).
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

LOGGER_NAME = "acme_like"
logger = logging.getLogger(LOGGER_NAME)

_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level_for(verbose: bool | None) -> int:
    """ACME's mapping: None -> INFO, True -> DEBUG, False -> WARNING."""
    return {None: logging.INFO, True: logging.DEBUG, False: logging.WARNING}[verbose]


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "acme_like" if record.levelno == logging.INFO else f"acme_like {record.levelname}"
        return f"{prefix}: {record.getMessage()}"


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to stderr, or, while progress bars are shown, between them (:func:`console_between`)."""

    def emit(self, record: logging.LogRecord) -> None:
        write = _between[-1] if _between else None
        if write is None:
            super().emit(record)
            return
        try:
            write(self.format(record))
        except Exception:  # pragma: no cover - as logging does: report, never raise
            self.handleError(record)


#: While progress bars are shown: how to print a line without breaking them (the newest bar's).
_between: list[Callable[[str], None]] = []


@contextmanager
def console_between(write: Callable[[str], None]) -> Iterator[None]:
    """Console lines go through ``write`` for the duration (a progress bar's own writer, so
    that lines of several runs at once appear above their bars instead of across them)."""
    with _lock:
        _between.append(write)
    try:
        yield
    finally:
        with _lock:
            _between.remove(write)


def _application_configured_logging() -> bool:
    own = [h for h in logger.handlers if not isinstance(h, logging.NullHandler)]
    return bool(own) or bool(logging.getLogger().handlers)


class _OwnThread(logging.Filter):
    """Lets through a run's own records, and those of threads that have no run of their own."""

    def __init__(self, thread: int) -> None:
        super().__init__()
        self.thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread or record.thread not in _runs


_lock = threading.Lock()
_runs: dict[int, int] = {}  # thread -> runs configured in it now
_levels: list[int] = []  # the levels the runs now want; the logger has the most verbose
_shared: dict[str, object] = {}  # while any run is: the level before the first, its console handler


@contextmanager
def run_logging(verbose: bool | None, logfile: Path | None) -> Iterator[logging.Logger]:
    """Configure the ``acme_like`` logger for one run; restore it afterwards.

    Runs at the same time (pipeline stages in threads of their own) share one console
    handler and the most verbose of their levels; each run's log file gets only that
    run's records. The logger is restored when the last of them ends.
    """
    level = level_for(verbose)
    handler = None
    if logfile is not None:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(logfile, encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FILE_FORMAT))
        handler.setLevel(level)
        handler.addFilter(_OwnThread(threading.get_ident()))
    with _lock:
        if not _runs:
            _shared["level"] = logger.level
            if not _application_configured_logging():
                console = _ConsoleHandler()  # no level of its own: the logger's decides
                console.setFormatter(_ConsoleFormatter())
                _shared["console"] = console
                logger.addHandler(console)
        _levels.append(level)
        logger.setLevel(min(_levels))
        thread = threading.get_ident()
        _runs[thread] = _runs.get(thread, 0) + 1
        if handler is not None:
            logger.addHandler(handler)
    try:
        yield logger
    finally:
        with _lock:
            if handler is not None:
                logger.removeHandler(handler)
                handler.close()
            _runs[thread] -= 1
            if not _runs[thread]:
                del _runs[thread]
            _levels.remove(level)
            if _levels:
                logger.setLevel(min(_levels))
            else:
                console = _shared.pop("console", None)
                if isinstance(console, logging.Handler):
                    logger.removeHandler(console)
                    console.close()
                logger.setLevel(int(_shared.pop("level", logging.NOTSET)))  # type: ignore[call-overload]
