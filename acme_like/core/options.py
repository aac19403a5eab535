"""Check ParallelMap's keywords once and turn them into a frozen :class:`Options`.

The only reader of those keywords. Each keyword is declared once, in
:data:`CHECKS`: its default, its checker (shared with ``slurm_cluster_setup``
through ``core.checks``) and the group that reads it. :class:`Options` groups
the checked values by who reads them: :class:`OutputSpec` (the storage),
:class:`RunSpec` (one run of the calls), :class:`ClusterSpec` (the session's
client) and :class:`LogSpec` (the run's logging). No I/O beyond looking at what
already exists at a given path; no clusters.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import AcmeLikeWarning, InputError, InputTypeError
from .checks import (
    Keyword,
    acme_flag,
    acme_scalar,
    acme_type,
    check_choice,
    check_count,
    check_flag,
    check_path,
    check_seconds,
    check_size,
    got,
    prefix_acme_line,
)
from .stacking import StackSpec, parse_stack


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where results go: "memory", per-call "hdf5" or "pickle" files, one file, stacked or not."""

    mode: Literal["memory", "hdf5", "pickle"]
    single_file: bool
    stack: StackSpec | None
    output_dir: str | None = None
    cleanup_threshold_days: float | None = None
    layout: Literal["acme", "modern"] = "acme"  # dask config acme_like.layout, see layout_setting

    @property
    def on_disk(self) -> bool:
        return self.mode != "memory"

    @property
    def acme(self) -> bool:
        """Files, shapes and places as ACME writes them (the default)."""
        return self.layout == "acme"


def layout_setting() -> Literal["acme", "modern"]:
    """The one opt-in of acme_like's own forms: dask config ``acme_like.layout`` ("acme" or "modern")."""
    import dask.config

    value = dask.config.get("acme_like.layout", "acme")
    if value not in ("acme", "modern"):
        raise InputError(f'dask config acme_like.layout must be "acme" (the default) or "modern", got {value!r}.')
    return value


@dataclass(frozen=True, slots=True)
class RunSpec:
    """How one run makes its calls: how many, in which batches, how often to retry, which seed."""

    n_inputs: int | str = "auto"
    batch_size: int | str = "auto"
    rerun: str = "missing"
    retries: int = 0
    worker_retries: int = 2
    seed: int | None = None
    dryrun: bool = False
    version: str | None = None  # pins the code part of every call's identity


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """Which client runs the calls, or what cluster to start (read once per session)."""

    client: Any = None
    n_workers: int | str = "auto"
    mem_per_worker: int | None = None  # bytes; None: "auto"
    partition: str = "auto"
    setup_timeout: float = 60.0
    setup_interactive: bool = True
    stop_client: bool | str = "auto"


@dataclass(frozen=True, slots=True)
class LogSpec:
    """How much to say, and where to write it down."""

    verbose: bool | None = None
    logfile: bool | str | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """Every ParallelMap keyword, checked, grouped by who reads it."""

    output: OutputSpec
    run: RunSpec
    cluster: ClusterSpec
    log: LogSpec


# -- the checkers of ParallelMap's own keywords ----------------------------------------------


def _optional_flag(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InputTypeError(f"{name} must be None, True or False, got {got(value, typed=True)}. Pass {name}=True for debug detail, False for warnings only.")


def _stop_client(value: Any) -> bool | str:
    if isinstance(value, bool) or (isinstance(value, str) and value == "auto"):
        return value
    error = InputError if isinstance(value, str) else InputTypeError
    raise error(
        f'stop_client must be "auto", True or False, got {got(value, typed=not isinstance(value, str))}. "auto" closes only a cluster '
        f"ParallelMap started; pass stop_client=False to keep it for the next run."
    )


def _output_dir(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or isinstance(os.fspath(value), bytes):
        raise InputTypeError(
            f"output_dir must be None or a path (str or pathlib.Path), got {got(value, typed=True)}. Pass e.g. output_dir='results'."
        )
    return str(check_path("output_dir", value, "directory"))


def _logfile(value: Any) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, (str, os.PathLike)) or isinstance(os.fspath(value), bytes):
        raise InputTypeError(f"logfile must be None, True, False or a file name, got {got(value, typed=True)}. Pass e.g. logfile='run.log'.")
    if os.fspath(value) == "":
        raise InputError("logfile must be None, True, False or a file name, got the empty string ''. Pass e.g. logfile='run.log', or logfile=True.")
    return str(check_path("logfile", value, "file"))


def _days(value: Any) -> float | None:
    if value is None:
        return None
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value < 0:
        error = InputError if isinstance(value, numbers.Real) and not isinstance(value, bool) else InputTypeError
        fix = f" Pass cleanup_threshold_days={float(value):g}." if isinstance(value, str) and _is_float(value) else " Pass e.g. cleanup_threshold_days=7."
        raise error(
            f"cleanup_threshold_days must be None or a number of days >= 0 (0 removes every earlier "
            f"ACME_* run directory), got {got(value, typed=error is InputTypeError)}.{fix}"
        )
    return float(value)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _partition(value: Any) -> str:
    if not isinstance(value, str):
        raise InputTypeError(f'partition must be "auto" or the name of a SLURM partition, got {got(value, typed=True)}. Pass e.g. partition="auto".')
    if not value.strip():
        raise InputError(f'partition must be "auto" or the name of a SLURM partition, got {value!r}. Pass partition="auto" to let the run choose.')
    return value


def _client(value: Any) -> Any:
    if value is not None and not _is_dask_client(value):
        raise InputTypeError(
            f"client must be a dask distributed Client or None, got {type(value).__name__}. Pass "
            f"client=distributed.Client(address) to use a running scheduler, or leave it out."
        )
    status = getattr(value, "status", "running")
    if value is not None and status in ("closed", "closing", "failed"):
        raise InputError(
            f"client must be a running dask Client, but {value!r} is {status}. Start a new one, or leave "
            f"client out so that ParallelMap uses the running default client or starts a local cluster."
        )
    return value


def _is_dask_client(value: Any) -> bool:
    # Checked by class name so that this pure layer need not import distributed.
    return any(cls.__name__ == "Client" and cls.__module__.startswith("distributed") for cls in type(value).__mro__)


def _result_shape(value: Any) -> Any:
    return value  # checked with the dtype and the output mode in _output_spec


#: ParallelMap's ``rerun``: what a run keeps of an earlier run in its directory.
RERUN_CHOICES = ("missing", "keep-stale", "all")


def _version(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    error = InputError if isinstance(value, str) else InputTypeError
    raise error(
        f"version must be None or a non-empty string that pins the code part of the calls' identity "
        f'(e.g. version="2"), got {got(value, typed=True)}. Pass version="2" to keep results across a refactor.'
    )
def _acme_stop_client(value: Any, error: Exception) -> str:
    if isinstance(value, str):
        return f"`stop_client` has to be 'auto' or Boolean, not {value}"
    return f"`stop_client` has to be `True` or `False`, not {type(value)}"


def _acme_logfile(value: Any, error: Exception) -> str | None:
    text = "`logfile` has to be `None`, `True`, `False` or a valid file-name"
    if isinstance(error, OSError):
        return f"{text}, not a directory"
    return f"{text}, not {type(value)}" if isinstance(error, TypeError) else None


_p = functools.partial
#: Every ParallelMap keyword: its default, its checker, the group of Options that reads it and,
#: for ACME's keywords, ACME's first line for a refused value (acme_like's text follows it).
#: ParallelMap's signature must list exactly these, with these defaults (a test keeps them equal).
CHECKS: dict[str, Keyword] = {
    "n_inputs": Keyword("auto", _p(check_count, "n_inputs", minimum=1, auto=True, what="the number of calls"), "run",
                        acme_scalar("n_inputs", 1, auto=True)),
    "write_worker_results": Keyword(True, _p(check_flag, "write_worker_results"), "output",
                                    acme_flag("write_worker_results", show_value=True)),
    "output_dir": Keyword(None, _output_dir, "output", acme_type("`output_dir` has to be either `None` or str")),
    "n_workers": Keyword("auto", _p(check_count, "n_workers", minimum=1, auto=True, what="workers to start"), "cluster",
                         acme_scalar("n_workers", 1, auto=True)),
    "mem_per_worker": Keyword("auto", _p(check_size, "mem_per_worker"), "cluster",
                              acme_type("Memory specification `mem_per_worker` has to be a string")),
    "stop_client": Keyword("auto", _stop_client, "cluster", _acme_stop_client),
    "verbose": Keyword(None, _p(_optional_flag, "verbose"), "log",
                       acme_type("`verbose` has to be `True`, `False` or `None`")),
    "logfile": Keyword(None, _logfile, "log", _acme_logfile),
    "result_shape": Keyword(None, _result_shape, "output"),  # ACME's lines: core.stacking
    "result_dtype": Keyword("float", lambda value: value, "output"),
    "single_file": Keyword(False, _p(check_flag, "single_file"), "output", acme_flag("single_file")),
    "write_pickle": Keyword(False, _p(check_flag, "write_pickle"), "output", acme_flag("write_pickle")),
    "dryrun": Keyword(False, _p(check_flag, "dryrun"), "run", acme_flag("dryrun")),
    "setup_interactive": Keyword(True, _p(check_flag, "setup_interactive"), "cluster", acme_flag("setup_interactive")),
    "cleanup_threshold_days": Keyword(None, _days, "output"),  # ACME does not check it
    "partition": Keyword("auto", _partition, "cluster",
                         acme_type("`partition` has to be 'auto' or a valid SLURM partition name")),
    "setup_timeout": Keyword(60, _p(check_seconds, "setup_timeout"), "cluster", acme_scalar("setup_timeout", 0)),
    # acme_like's own keywords: ACME has no text for them.
    "client": Keyword(None, _client, "cluster"),
    "batch_size": Keyword("auto", _p(check_count, "batch_size", minimum=1, auto=True, what="calls per task"), "run"),
    "rerun": Keyword("missing", _p(check_choice, "rerun", choices=RERUN_CHOICES, meaning='"missing": calls without a valid result of the same code; "keep-stale": also keep results of other code; "all": every call'), "run"),
    "retries": Keyword(0, _p(check_count, "retries", minimum=0, what="extra attempts of a call that raises"), "run"),
    "worker_retries": Keyword(2, _p(check_count, "worker_retries", minimum=0, what="extra attempts of a call whose worker died"), "run"),
    "seed": Keyword(None, _p(check_count, "seed", minimum=0, none=True), "run"),
    "version": Keyword(None, _version, "run"),
}


def resolve_options(**keywords: Any) -> Options:
    """Check ParallelMap's keywords (any left out take their default) and group them.

    >>> resolve_options(n_workers=2, retries=1).cluster.n_workers
    2
    """
    unknown = set(keywords) - set(CHECKS)
    if unknown:
        raise InputTypeError(f"resolve_options got unknown keywords {sorted(unknown)}; known: {sorted(CHECKS)}.")
    checked = {name: keyword(keywords.get(name, keyword.default)) for name, keyword in CHECKS.items()}
    groups: dict[str, dict[str, Any]] = {"output": {}, "run": {}, "cluster": {}, "log": {}}
    for name, keyword in CHECKS.items():
        groups[keyword.group][name] = checked[name]
    output = groups["output"]
    return Options(
        output=_output_spec(**output),
        run=RunSpec(**groups["run"]),
        cluster=ClusterSpec(**groups["cluster"]),
        log=LogSpec(**groups["log"]),
    )


def _output_spec(
    write_worker_results: bool,
    result_shape: Any,
    result_dtype: Any,
    single_file: bool,
    write_pickle: bool,
    output_dir: str | None,
    cleanup_threshold_days: float | None,
) -> OutputSpec:
    if write_pickle and single_file:
        raise InputError(prefix_acme_line(
            "Pickling of results does not support single output file creation.",
            "write_pickle=True cannot be combined with single_file=True: pickles are one file per "
            "call. Choose one of them (single_file stores values HDF5 cannot hold as pickled bytes).",
        ))
    stack = parse_stack(result_shape, result_dtype, in_memory=not write_worker_results)
    if stack is None and result_dtype != CHECKS["result_dtype"].default:
        _warn(f"result_dtype={result_dtype!r} has no effect without result_shape: return values are stored "
              f"with their own dtype. Pass result_shape=(None, ...) to stack them as {result_dtype!r}.")
    if not write_worker_results:
        for name, asked in (("single_file", single_file), ("write_pickle", write_pickle)):
            if asked:
                _warn(f"{name}=True has no effect when write_worker_results is False: results are returned in memory.")
        return OutputSpec(mode="memory", single_file=False, stack=stack, layout=layout_setting())
    if write_pickle:
        if stack is not None:
            _warn("result_shape has no effect with write_pickle=True: each call's return value is pickled as it is.")
        return OutputSpec("pickle", False, None, output_dir, cleanup_threshold_days, layout_setting())
    return OutputSpec("hdf5", single_file, stack, output_dir, cleanup_threshold_days, layout_setting())


def _warn(message: str) -> None:
    from .caller import user_stacklevel

    warnings.warn(message, AcmeLikeWarning, stacklevel=user_stacklevel())
