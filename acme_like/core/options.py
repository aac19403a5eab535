"""Check ParallelMap's keywords once and turn them into a frozen :class:`Options`.

The only reader of those keywords. Every rejected value gets an error that says
what was expected and what came in. No I/O, no clusters.
"""

from __future__ import annotations

import numbers
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import AcmeLikeWarning, InputError, InputTypeError
from .stacking import StackSpec, parse_stack

#: ParallelMap's ``rerun``: what a run keeps of an earlier run in its directory.
RERUN_CHOICES = ("missing", "keep-stale", "all")

@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where results go: "memory", per-call "hdf5" or "pickle" files, one file, stacked or not."""

    mode: Literal["memory", "hdf5", "pickle"]
    single_file: bool
    stack: StackSpec | None

    @property
    def on_disk(self) -> bool:
        return self.mode != "memory"


@dataclass(frozen=True, slots=True)
class Options:
    """Every ParallelMap keyword, checked; values that need I/O to resolve stay symbolic."""

    output: OutputSpec
    output_dir: str | None
    n_workers: int | str
    mem_per_worker: str | None
    stop_client: bool | str
    verbose: bool | None
    logfile: bool | str | None
    client: Any
    dryrun: bool
    setup_interactive: bool
    cleanup_threshold_days: float | None
    partition: str
    setup_timeout: float
    batch_size: int | str
    rerun: str
    retries: int
    worker_retries: int
    seed: int | None
    version: str | None = None  # pins the code part of every call's identity

    @property
    def write_worker_results(self) -> bool:
        return self.output.on_disk


def _type_name(value: Any) -> str:
    return type(value).__name__


def resolve_options(
    *,
    write_worker_results: Any = True,
    output_dir: Any = None,
    n_workers: Any = "auto",
    mem_per_worker: Any = "auto",
    stop_client: Any = "auto",
    verbose: Any = None,
    logfile: Any = None,
    client: Any = None,
    result_shape: Any = None,
    result_dtype: Any = "float",
    single_file: Any = False,
    write_pickle: Any = False,
    dryrun: Any = False,
    setup_interactive: Any = True,
    cleanup_threshold_days: Any = None,
    partition: Any = "auto",
    setup_timeout: Any = 60,
    batch_size: Any = "auto",
    rerun: Any = "missing",
    retries: Any = 0,
    worker_retries: Any = 2,
    seed: Any = None,
    version: Any = None,
) -> Options:
    """Validate ParallelMap's keywords and return them as one frozen value."""
    for name, value in (
        ("write_worker_results", write_worker_results),
        ("single_file", single_file),
        ("write_pickle", write_pickle),
        ("dryrun", dryrun),
        ("setup_interactive", setup_interactive),
    ):
        if not isinstance(value, bool):
            raise InputTypeError(f"{name} must be True or False, got {_type_name(value)} {value!r}.")
    output = _output_spec(write_worker_results, result_shape, result_dtype, single_file, write_pickle)
    if cleanup_threshold_days is not None and (
        isinstance(cleanup_threshold_days, bool)
        or not isinstance(cleanup_threshold_days, numbers.Real)
        or not cleanup_threshold_days >= 0
    ):
        raise InputError(
            f"cleanup_threshold_days must be None or a number of days >= 0 (0 removes every earlier "
            f"ACME_* run directory), got {cleanup_threshold_days!r}."
        )
    if not isinstance(partition, str):
        raise InputTypeError(f'partition must be "auto" or the name of a SLURM partition, got {_type_name(partition)} {partition!r}.')
    if isinstance(setup_timeout, bool) or not isinstance(setup_timeout, numbers.Real) or not setup_timeout >= 0:
        raise InputError(f"setup_timeout must be a number of seconds >= 0, got {setup_timeout!r}.")
    if batch_size != "auto" and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise InputError(f'batch_size must be "auto" or a positive integer (calls per task), got {batch_size!r}.')
    if rerun not in RERUN_CHOICES:
        raise InputError(
            f'rerun must be "missing" (calls without a valid result of the same code), "keep-stale" '
            f'(also keep results of other code) or "all", got {rerun!r}.'
        )
    if version is not None and (not isinstance(version, str) or not version):
        raise InputTypeError(
            f'version must be None or a non-empty string that pins the code part of the calls\' '
            f'identity (e.g. version="2"), got {_type_name(version)} {version!r}.'
        )
    for name, value in (("retries", retries), ("worker_retries", worker_retries)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{name} must be an integer >= 0, got {value!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError(f"seed must be None or an integer >= 0, got {seed!r}.")
    if output_dir is not None and not isinstance(output_dir, (str, os.PathLike)):
        raise InputTypeError(
            f"output_dir must be None or a path (str or pathlib.Path), got {_type_name(output_dir)} {output_dir!r}."
        )
    if n_workers != "auto":
        if isinstance(n_workers, str):
            raise InputError(f'n_workers must be "auto" or a positive integer, got {n_workers!r}.')
        if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Real):
            raise InputTypeError(
                f'n_workers must be "auto" or a positive integer, got {_type_name(n_workers)} {n_workers!r}.'
            )
        if int(n_workers) != n_workers or n_workers < 1:
            raise InputError(f'n_workers must be "auto" or a positive integer, got {n_workers!r}.')
        n_workers = int(n_workers)
    if mem_per_worker == "auto" or mem_per_worker is None:
        mem_per_worker = None
    elif not isinstance(mem_per_worker, str):
        raise InputTypeError(
            f'mem_per_worker must be "auto" or a size like "2GB", got {_type_name(mem_per_worker)} {mem_per_worker!r}.'
        )
    else:
        _check_memory(mem_per_worker)
    if isinstance(stop_client, str):
        if stop_client != "auto":
            raise InputError(f'stop_client must be "auto", True or False, got {stop_client!r}.')
    elif not isinstance(stop_client, bool):
        raise InputTypeError(
            f'stop_client must be "auto", True or False, got {_type_name(stop_client)} {stop_client!r}.'
        )
    if verbose is not None and not isinstance(verbose, bool):
        raise InputTypeError(f"verbose must be None, True or False, got {_type_name(verbose)} {verbose!r}.")
    if logfile is not None and not isinstance(logfile, (bool, str, os.PathLike)):
        raise InputTypeError(
            f"logfile must be None, True, False or a file name, got {_type_name(logfile)} {logfile!r}."
        )
    if isinstance(logfile, (str, os.PathLike)):
        path = Path(logfile).expanduser()
        if path.is_dir():
            raise InputError(f"logfile must be None, True, False or a file name, but {path} is a directory.")
        logfile = str(path.absolute())
    if client is not None and not _is_dask_client(client):
        raise InputTypeError(f"client must be a dask distributed Client or None, got {_type_name(client)}.")
    return Options(
        output=output,
        output_dir=None if output_dir is None else os.fspath(output_dir),
        n_workers=n_workers,
        mem_per_worker=mem_per_worker,
        stop_client=stop_client,
        verbose=verbose,
        logfile=logfile,
        client=client,
        dryrun=dryrun,
        setup_interactive=setup_interactive,
        cleanup_threshold_days=None if cleanup_threshold_days is None else float(cleanup_threshold_days),
        partition=partition,
        setup_timeout=float(setup_timeout),
        batch_size=batch_size,
        rerun=rerun,
        retries=retries,
        worker_retries=worker_retries,
        seed=seed,
        version=version,
    )


def _output_spec(
    write_worker_results: bool, result_shape: Any, result_dtype: Any, single_file: bool, write_pickle: bool
) -> OutputSpec:
    if write_pickle and single_file:
        raise InputError(
            "write_pickle=True cannot be combined with single_file=True: pickles are one file per "
            "call. Choose one of them (single_file stores values HDF5 cannot hold as pickled bytes)."
        )
    stack = parse_stack(result_shape, result_dtype, in_memory=not write_worker_results)
    if not write_worker_results:
        for name, asked in (("single_file", single_file), ("write_pickle", write_pickle)):
            if asked:
                warnings.warn(
                    f"{name}=True has no effect when write_worker_results is False: results are "
                    f"returned in memory.",
                    AcmeLikeWarning,
                    stacklevel=4,
                )
        return OutputSpec(mode="memory", single_file=False, stack=stack)
    if write_pickle:
        if stack is not None:
            warnings.warn(
                "result_shape has no effect with write_pickle=True: each call's return value is "
                "pickled as it is.",
                AcmeLikeWarning,
                stacklevel=4,
            )
        return OutputSpec(mode="pickle", single_file=False, stack=None)
    return OutputSpec(mode="hdf5", single_file=single_file, stack=stack)


def _is_dask_client(value: Any) -> bool:
    # Checked by class name so that this pure layer need not import distributed.
    return any(cls.__name__ == "Client" and cls.__module__.startswith("distributed") for cls in type(value).__mro__)


def _check_memory(text: str) -> None:
    from dask.utils import parse_bytes

    try:
        size = parse_bytes(text)
    except (ValueError, TypeError):
        size = 0
    if size <= 0:
        raise InputError(f'mem_per_worker must be a size like "2GB" or "1500MB", got {text!r}.')
