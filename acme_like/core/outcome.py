"""The frozen records a call produces: its payload reference, its failure, its outcome.

Pure values with no I/O; the worker creates them, the parent reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

OK = "ok"
FAILED = "failed"

#: Why a call failed: its own exception; the worker running it was lost (and the call
#: could not be run alone to tell more); running alone, it took its worker process down
#: ("crash": a segfault, ``os._exit``, a signal) or got it killed for exceeding its
#: memory limit ("memory").
FailureKind = Literal["exception", "worker-lost", "crash", "memory"]


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """Where one call's return values were written and in which format."""

    path: str
    fmt: Literal["hdf5", "pickle", "container"]  # "container": kept in an earlier single-file container
    n_values: int
    nbytes: int
    stack_shape: tuple[int, ...] | None = None  # shape of result_0 when results are stacked
    crc32: int = 0  # checksum of the file as written, to tell a damaged payload on resume
    stack_path: str | None = None  # the shard holding this call's stacked first value, if any
    stack_row: int = 0  # its row in that shard; for "container", its index in that container
    stack_nbytes: int = 0  # the shard's size and checksum as written
    stack_crc32: int = 0
    mtime_ns: int = 0  # the file's modification time as recorded, when known (0: not known)


@dataclass(frozen=True, slots=True)
class CallFailure:
    """Why one call failed, with enough context to reproduce it."""

    index: int
    kind: FailureKind
    exc_type: str
    message: str
    traceback: str
    arguments: str
    exception: BaseException | None = None

    def headline(self) -> str:
        """One line: the call, the exception type and its message."""
        if self.kind != "exception":
            return f"call {self.index} ({self.arguments}) lost its worker ({self.kind}): {self.message}"
        text = f"{self.exc_type}: {self.message}" if self.message else self.exc_type
        return f"call {self.index} ({self.arguments}) raised {text}"

    def as_record(self) -> dict[str, Any]:
        """A JSON-serialisable view, for the failures file."""
        return {
            "index": self.index,
            "kind": self.kind,
            "exception": self.exc_type,
            "message": self.message,
            "arguments": self.arguments,
            "traceback": self.traceback,
        }


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What became of one call: a payload on disk, a value in memory, or a failure."""

    index: int
    status: Literal["ok", "failed"]
    seconds: float = 0.0
    payload: PayloadRef | None = None
    value: Any = None
    failure: CallFailure | None = None
    started_at: float | None = None  # time.time() when the call began and ended
    ended_at: float | None = None
    peak_bytes: int | None = None  # peak resident memory of the worker process (see execution.worker)
    worker: str | None = None  # the dask worker's name, "local" in this process
    host: str | None = None
    attempt: int = 1  # 1: the first attempt; retries count up

    @property
    def ok(self) -> bool:
        return self.status == OK
