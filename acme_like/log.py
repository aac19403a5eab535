"""The ``acme_like`` logger's level and handlers for the duration of one run.

Importing the package installs only a ``NullHandler``. :func:`run_logging`
sets the level ``verbose`` asks for, adds a console handler when the
application has configured no logging of its own, adds a file handler when a
log file is wanted, and undoes all of it when the run ends.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


def _application_configured_logging() -> bool:
    own = [h for h in logger.handlers if not isinstance(h, logging.NullHandler)]
    return bool(own) or bool(logging.getLogger().handlers)


@contextmanager
def run_logging(verbose: bool | None, logfile: Path | None) -> Iterator[logging.Logger]:
    """Configure the ``acme_like`` logger for one run; restore it afterwards."""
    previous_level = logger.level
    added: list[logging.Handler] = []
    level = level_for(verbose)
    logger.setLevel(level)
    if not _application_configured_logging():
        console = logging.StreamHandler()
        console.setFormatter(_ConsoleFormatter())
        added.append(console)
    if logfile is not None:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(logfile, encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FILE_FORMAT))
        added.append(handler)
    for handler in added:
        handler.setLevel(level)
        logger.addHandler(handler)
    try:
        yield logger
    finally:
        for handler in added:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous_level)
