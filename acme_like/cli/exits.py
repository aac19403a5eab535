"""The command line's exit statuses and the one error that means "the command was typed wrong"."""

from __future__ import annotations

#: Every call finished.
OK = 0
#: Some calls failed; the results of the others are kept.
CALLS_FAILED = 1
#: The command, its inputs or its values are wrong (argparse's own status for usage errors).
USAGE = 2
#: The cluster or a needed part of acme_like is not there: no workers, a cluster that would not start.
INFRASTRUCTURE = 3
#: Interrupted by Ctrl-C (128 + SIGINT, as shells report it); finished results are kept.
INTERRUPTED = 130


class UsageError(Exception):
    """What is wrong with the command and how to fix it; the command exits with status 2."""
