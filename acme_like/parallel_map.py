"""``ParallelMap``: the façade that turns one function and its arguments into a parallel run.

The flow, each stage producing a frozen value the next one reads::

    ParallelMap(func, *args, **kw)          validate and plan only: no mkdir, no cluster
      options = resolve_options(...)        -> Options
      plan    = plan_calls(func, args, kw)  -> CallPlan      (n_calls decided here, once)
      layout  = OutputLayout.for_run(...)   -> OutputLayout  (every path of the run)
    pmap.compute()
      layout.create()
      debug:  outcomes = run_sequential(...)      a plain loop in this process
      else:   handle   = acquire_client(...)      -> ClientHandle(client, owned)
              outcomes = run_on_client(...)       one scatter, one map, completion events
      container = build_container(layout, outcomes)   in the parent, after the work
      failures  -> failures file + TaskError          the good results are already on disk
    __exit__: handle.release()              closes only what ParallelMap started

This module holds no validation, HDF5 code or dask calls of its own.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any, Callable

from .aggregate import build_container
from .cluster import ClientHandle, acquire_client, cluster_cleanup
from .errors import AcmeLikeWarning, InputError, InputTypeError
from .inputs import CallPlan, function_name, plan_calls
from .layout import OutputLayout
from .log import run_logging
from .options import UNSUPPORTED_ACME_KEYWORDS, Options, resolve_options
from .outcome import TaskOutcome
from .progress import Progress
from .report import task_error, write_failures
from .runner import run_on_client, run_sequential
from .worker import CallContext

logger = logging.getLogger(__name__)


class ParallelMap:
    """Call ``func`` once per element of the list-like arguments, in parallel, and keep every result.

    Parameters
    ----------
    func : callable
        The function to call. Define it in a module (or in the ``__main__`` script
        behind an ``if __name__ == "__main__":`` block) so worker processes can load it.
    *args, **kwargs
        Arguments of ``func``. Lists, tuples, ranges and 1-D arrays whose length is the
        number of calls are split, one element per call; everything else is passed whole
        to every call. A keyword whose default in ``func`` is a list-like of the same
        length is passed whole. If ``func`` has a ``taskID`` parameter, each call gets
        its 0-based index there.
    n_inputs : int or "auto"
        Number of calls. "auto" infers it from the list-like arguments (they must agree
        in length). An integer splits the arguments of that length and repeats the call
        that many times when none has it.
    write_worker_results : bool
        True (default): each call writes its return values to
        ``<output_dir>/<func>_payload/<func>_<i>.h5`` and ``compute()`` returns those
        paths; the container ``<output_dir>/<func>.h5`` links them all as ``comp_<i>``.
        False: ``compute()`` returns the return values in call order.
    output_dir : str or path-like, optional
        Where results go; default: a new ``ACME_YYYYMMDD-hhmmss-ffffff`` directory in
        the working directory. Results of an earlier run there are never overwritten.
    n_workers : int or "auto"
        Workers of a local cluster ParallelMap starts itself ("auto": one per core);
        never more than there are calls. Ignored when a client is running.
    mem_per_worker : str or "auto"
        Memory limit per worker of a local cluster ParallelMap starts, e.g. "2GB".
    stop_client : bool or "auto"
        "auto" closes only a cluster ParallelMap started; False keeps it running for the
        next ParallelMap; True also closes a client that was already running.
    verbose : bool or None
        None: informative messages; True: debug detail; False: warnings only and no
        progress bar.
    logfile : bool, str or None
        None: a log file next to on-disk results; True: always a log file; False: none;
        a path: log there.
    client : distributed.Client, optional
        The dask client to run on; default: the running default client, if any.

    Examples
    --------
    >>> def f(x, y, z=3):
    ...     return (x + y) * z
    >>> with ParallelMap(f, [2, 4, 6, 8], 4, n_workers=2) as pmap:  # doctest: +SKIP
    ...     paths = pmap.compute()
    >>> pmap.results_container  # doctest: +SKIP
    '.../ACME_20261122-101500-000000/f.h5'
    """

    #: Size in MB above which an argument triggers a warning (ACME's name and value).
    _maxArgSize = 1024

    def __init__(
        self,
        func: Callable[..., Any],
        *args: Any,
        n_inputs: int | str = "auto",
        write_worker_results: bool = True,
        output_dir: str | None = None,
        n_workers: int | str = "auto",
        mem_per_worker: str = "auto",
        stop_client: bool | str = "auto",
        verbose: bool | None = None,
        logfile: bool | str | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        _refuse_unsupported(func, kwargs)
        self.options: Options = resolve_options(
            write_worker_results=write_worker_results,
            output_dir=output_dir,
            n_workers=n_workers,
            mem_per_worker=mem_per_worker,
            stop_client=stop_client,
            verbose=verbose,
            logfile=logfile,
            client=client,
        )
        self.plan: CallPlan = plan_calls(func, args, kwargs, n_inputs, max_arg_bytes=self._maxArgSize * 2**20)
        self.func = func
        self.func_name = function_name(func)
        self.layout: OutputLayout | None = None
        if write_worker_results:
            self.layout = OutputLayout.for_run(self.options.output_dir, self.func_name)
            self.layout.check_free()
        elif output_dir is not None:
            warnings.warn(
                "output_dir has no effect when write_worker_results is False: results are "
                "returned in memory and nothing is written.",
                AcmeLikeWarning,
                stacklevel=2,
            )
        self._logfile = self._resolve_logfile()
        self._handle: ClientHandle | None = None
        self._released = False
        self._results_container: str | None = None

    # -- what users read -------------------------------------------------------------------

    @property
    def n_inputs(self) -> int:
        """The number of calls (ACME's name)."""
        return self.plan.n_calls

    @property
    def n_calls(self) -> int:
        """The number of calls."""
        return self.plan.n_calls

    @property
    def output_dir(self) -> str | None:
        """The run directory, or None when results stay in memory."""
        return None if self.layout is None else str(self.layout.run_dir)

    @property
    def results_container(self) -> str | None:
        """Path of the aggregate container ``<func>.h5`` once ``compute()`` has built it."""
        return self._results_container

    @property
    def logfile(self) -> str | None:
        """Path of this run's log file, if one is written."""
        return None if self._logfile is None else str(self._logfile)

    @property
    def client(self) -> Any:
        """The dask client ``compute()`` ran on (None before, or in debug mode)."""
        return None if self._handle is None else self._handle.client

    # -- running ---------------------------------------------------------------------------

    def compute(self, debug: bool = False) -> list[Any]:
        """Run every call and return the payload paths (or values) in call order.

        Parameters
        ----------
        debug : bool
            Run the calls one after another in this process, with no cluster, so that
            the first exception propagates unchanged (and pdb works).

        Raises
        ------
        TaskError
            If some calls failed; the successful ones are on disk and in the container.
        """
        if not isinstance(debug, bool):
            raise InputTypeError(f"debug must be True or False, got {type(debug).__name__} {debug!r}.")
        context = CallContext(self.func, self.plan.template, self.layout)
        with run_logging(self.options.verbose, self._logfile) as log:
            if self.layout is not None:
                self.layout.create()
            self._log_plan(log)
            show = self.options.verbose is not False
            if debug:
                log.info("Running %d calls of %s one by one in this process (debug mode)", self.n_calls, self.func_name)
                with Progress(self.n_calls, self.func_name, show) as progress:
                    outcomes = run_sequential(context, self.plan, progress)
            else:
                handle = self._acquire()
                log.info(
                    "Preparing %d parallel calls of %s using %d workers", self.n_calls, self.func_name, handle.n_workers
                )
                try:
                    with Progress(self.n_calls, self.func_name, show) as progress:
                        outcomes = run_on_client(handle.client, context, self.plan, progress)
                except KeyboardInterrupt:
                    log.warning("Interrupted: pending calls cancelled; finished results are kept.")
                    if handle.owned:
                        self.cleanup(stop_client=True)
                    raise
            return self._collect(outcomes, log)

    def cleanup(self, stop_client: bool | str | None = None) -> None:
        """Release the client per ``stop_client`` (default: the value given to ParallelMap)."""
        if self._handle is None or self._released:
            return
        self._released = True
        self._handle.release(self.options.stop_client if stop_client is None else stop_client)

    def __enter__(self) -> "ParallelMap":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    # -- stages ----------------------------------------------------------------------------

    def _acquire(self) -> ClientHandle:
        if self._handle is None or self._released or self._handle.client.status != "running":
            self._handle = acquire_client(
                self.options.client, self.options.n_workers, self.n_calls, self.options.mem_per_worker
            )
            self._released = False
        return self._handle

    def _collect(self, outcomes: list[TaskOutcome], log: logging.Logger) -> list[Any]:
        container = None
        if self.layout is not None:
            container = str(build_container(self.layout, outcomes, self.func_name))
            self._results_container = container
            results = [o.payload.path if o.ok and o.payload else None for o in outcomes]
            pickled = [o.index for o in outcomes if o.ok and o.payload and o.payload.fmt == "pickle"]
            if pickled:
                warnings.warn(
                    f"{len(pickled)} calls of {self.func_name} returned values HDF5 cannot store "
                    f"and were pickled instead: calls {_list_indices(pickled)}. Read them with "
                    f"acme_like.read_payload(path) or pickle.load.",
                    AcmeLikeWarning,
                    stacklevel=3,
                )
        else:
            results = [o.value if o.ok else None for o in outcomes]
        failed = [o for o in outcomes if not o.ok]
        if failed:
            failures_path = None
            if self.layout is not None:
                failures = [o.failure for o in failed if o.failure is not None]
                failures_path = str(write_failures(self.layout.failures_path, self.func_name, self.n_calls, failures))
            raise task_error(self.func_name, outcomes, results, container, failures_path)
        if container is not None:
            log.info(
                'Results of %d calls are in %s; open with h5py.File(path)["comp_0"]["result_0"][()]',
                self.n_calls,
                container,
            )
        else:
            log.info("Finished %d calls of %s", self.n_calls, self.func_name)
        return results

    def _log_plan(self, log: logging.Logger) -> None:
        split = ", ".join(self.plan.split_names) or "none (the same call repeated)"
        shared = ", ".join(self.plan.shared_names) or "none"
        log.debug("Split across calls: %s; passed whole to every call: %s", split, shared)
        if self._logfile is not None:
            log.debug("Log file: %s", self._logfile)

    def _resolve_logfile(self) -> Path | None:
        logfile = self.options.logfile
        if logfile is False:
            return None
        if isinstance(logfile, str):
            return Path(logfile)
        if self.layout is not None:
            return self.layout.log_path
        if logfile is True:
            return OutputLayout.for_run(".", self.func_name).log_path
        return None


def _refuse_unsupported(func: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    asked = UNSUPPORTED_ACME_KEYWORDS & kwargs.keys()
    if not asked:
        return
    try:
        accepted = set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        accepted = set()
    for name in sorted(asked - accepted):
        raise InputError(
            f"ParallelMap does not support ACME's keyword {name} in this version, and "
            f"{function_name(func)} has no parameter of that name. Remove {name}=..."
        )


def _list_indices(indices: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices) - limit} more)" if len(indices) > limit else "")
