"""The exceptions and warnings acme_like raises; no logic lives here.

A small hierarchy lets users catch what they mean: every error is an
:class:`AcmeLikeError`, and each also derives from the builtin a user would
expect (``InputError`` is a ``ValueError``, ``TaskError`` a ``RuntimeError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .core.outcome import CallFailure, TaskOutcome


class AcmeLikeError(Exception):
    """Base class of every error raised by acme_like."""


class InputError(AcmeLikeError, ValueError):
    """An argument or keyword of ``ParallelMap`` cannot be used as given."""


class InputTypeError(AcmeLikeError, TypeError):
    """A keyword of ``ParallelMap`` has the wrong type."""


class InputOSError(InputError, OSError):
    """A path given to ``ParallelMap`` conflicts with what is on disk (a directory where a file
    is wanted); an ``OSError`` as in ACME, and still an ``InputError``."""


class ClusterError(AcmeLikeError, RuntimeError):
    """A dask client or cluster could not be started, reached or used."""


class PayloadError(AcmeLikeError, OSError):
    """A result file could not be written or read."""


class DirectoryInUse(AcmeLikeError, RuntimeError):
    """Another run (this process or another one) is writing to the same output directory."""


class AcmeLikeWarning(UserWarning):
    """A warning about a run that still goes ahead (large arguments, ignored keywords)."""


class TaskError(AcmeLikeError, RuntimeError):
    """Some calls failed; the others finished and their results are kept.

    Attributes
    ----------
    failures : list of CallFailure
        One record per failed call, in call order: index, a summary of the
        call's arguments, the exception type, message and remote traceback.
    outcomes : list of TaskOutcome
        One outcome per call, in call order, successful ones included.
    results : list
        What ``compute()`` would have returned, with ``None`` at failed calls:
        payload paths when results are written, values otherwise.
    results_container : str or None
        The aggregate container holding every successful call, if one was built.
    failures_path : str or None
        The file next to the results that lists every failure.
    """

    def __init__(
        self,
        message: str,
        failures: Sequence["CallFailure"],
        outcomes: Sequence["TaskOutcome"],
        results: Sequence[Any],
        results_container: str | None = None,
        failures_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.failures = list(failures)
        self.outcomes = list(outcomes)
        self.results = list(results)
        self.results_container = results_container
        self.failures_path = failures_path

    @property
    def failed_indices(self) -> list[int]:
        """Indices of the failed calls, in call order."""
        return [failure.index for failure in self.failures]


class PipelineError(AcmeLikeError, RuntimeError):
    """A pipeline could not run as asked, or some of its calls failed.

    Attributes
    ----------
    failed : dict
        Stage name -> one line per failed call (the first ten per stage are in the
        message). Empty when the error is about the pipeline itself (e.g. a switched-off
        stage whose stored results are missing).
    """

    def __init__(self, message: str, failed: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.failed = dict(failed or {})
