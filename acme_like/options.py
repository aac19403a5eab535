"""Check ParallelMap's keywords once and turn them into a frozen :class:`Options`.

The only reader of those keywords. Every rejected value gets an error that says
what was expected and what came in. No I/O, no clusters.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, InputTypeError

#: ACME keywords this version does not implement; passing one is an error, not a silent no-op.
UNSUPPORTED_ACME_KEYWORDS = frozenset(
    {
        "result_shape",
        "result_dtype",
        "single_file",
        "write_pickle",
        "partition",
        "setup_timeout",
        "setup_interactive",
        "dryrun",
        "cleanup_threshold_days",
    }
)


@dataclass(frozen=True, slots=True)
class Options:
    """Every ParallelMap keyword, checked; values that need I/O to resolve stay symbolic."""

    write_worker_results: bool
    output_dir: str | None
    n_workers: int | str
    mem_per_worker: str | None
    stop_client: bool | str
    verbose: bool | None
    logfile: bool | str | None
    client: Any


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
) -> Options:
    """Validate ParallelMap's keywords and return them as one frozen value."""
    if not isinstance(write_worker_results, bool):
        raise InputTypeError(
            f"write_worker_results must be True or False, got {_type_name(write_worker_results)} "
            f"{write_worker_results!r}."
        )
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
        write_worker_results=write_worker_results,
        output_dir=None if output_dir is None else os.fspath(output_dir),
        n_workers=n_workers,
        mem_per_worker=mem_per_worker,
        stop_client=stop_client,
        verbose=verbose,
        logfile=logfile,
        client=client,
    )


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
