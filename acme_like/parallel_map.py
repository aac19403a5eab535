"""``ParallelMap``: the façade that turns one function and its arguments into a parallel run.

The flow, each stage producing a frozen value the next one reads::

    ParallelMap(func, *args, **kw)          validate and plan only: no mkdir, no cluster
      options = resolve_options(...)        -> Options
      plan    = plan_calls(func, args, kw)  -> CallPlan      (n_calls decided here, once)
      layout  = OutputLayout.for_run(...)   -> OutputLayout  (every path of the run)
    pmap.compute()
      dryrun:  estimate = estimate_run(...)  a sample of calls here; maybe ask whether to go on
      result = run_map(..., connect)        -> RunResult     (execution/run.py: resume, calls,
                                                               container, failures file)
      connect: Session.connect(n_calls)     the given, running or a started client, once
      failures -> raise TaskError           the façade's policy; the good results are on disk
    __exit__: Session.release()             closes only what ParallelMap started

It holds no HDF5 code or dask calls of its own; keyword checks live in ``core/options``.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

from .compat import ACMEViews
from .core.caller import user_stacklevel
from .core.binding import keyword_parameters
from .core.options import CHECKS, Options, resolve_options
from .core.routing import noting_given_keywords, route_own_keywords
from .core.plan import CallPlan, function_name, log_plan, plan_calls
from .errors import AcmeLikeWarning, InputError, InputTypeError
from .execution.estimate import Estimate, estimate_run
from .execution.run import call_context, run_map
from .execution.sending import check_sendable
from .log import run_logging
from .prompt import ask_yes_no, interactive_terminal
from .reporting import report_after_run
from .session import Session
from .storage.failures import task_error, write_error
from .storage.layout import OutputLayout, log_path

logger = logging.getLogger(__name__)


class ParallelMap(ACMEViews):
    """Call ``func`` once per element of the list-like arguments, in parallel, and keep every result.

    ACME's names are here too, as read-only views (:mod:`acme_like.compat`): ``daemon``,
    ``argv``, ``kwargv``, ``config``, ``profiler`` and ``_maxArgSize``.

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
        in length). An integer splits the arguments of that length and passes the others
        whole; with no list-like argument (or only one-element ones) it repeats the call
        that many times. As in ACME, some list-like argument must have that length then.
    write_worker_results : bool
        True (default): each call writes its return values to
        ``<output_dir>/<func>_payload/<func>_<i>.h5`` and ``compute()`` returns those
        paths; the container ``<output_dir>/<func>.h5`` links them all as ``comp_<i>``.
        False: ``compute()`` returns the return values in call order.
    output_dir : str or path-like, optional
        Where results go; default: a new ``ACME_YYYYMMDD-hhmmss-ffffff`` directory in
        the working directory. Results of an earlier run there are never overwritten.
    n_workers : int or "auto"
        Workers of a cluster ParallelMap starts itself, never more than there are calls.
        "auto": one per core on a local cluster; on SLURM, sized from one sampled call
        (about five minutes of work per worker, at most 100). Ignored when a client is
        running.
    mem_per_worker : str, int or "auto"
        Memory limit per worker of a cluster ParallelMap starts, e.g. "2GB" (units as
        dask's: kB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024; an int is bytes); at
        least 250 MB. A number without a unit ("300") is refused.
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
    result_shape : tuple, optional
        Stack the first return value of every call into one dataset ``result_0`` of the
        container: exactly one ``None`` marks the axis along which calls are stacked, and
        one ``np.inf`` may mark an axis of varying length. On disk a virtual dataset with
        relative sources (a real one with ``single_file``); in memory, one array.
    result_dtype : str
        NumPy dtype of the stacked dataset (default "float", i.e. float64).
    single_file : bool
        Put every call's results into the container itself; no payload files remain.
    write_pickle : bool
        Pickle each call's return value to ``<func>_<i>.pickle`` instead of HDF5.
    dryrun : bool
        Before the run, run a random sample of calls here and report time, memory and
        output size with a forecast; at a terminal, ask whether to go on.
    setup_interactive : bool
        Allow questions at the terminal (only asked when stdin is a terminal).
    cleanup_threshold_days : float, optional
        Remove earlier ``ACME_<time>`` run directories in the working directory older
        than this many days (0: all of them) before the run.
    partition, setup_timeout
        ACME's SLURM keywords; checked, and used when running on SLURM.
    rerun : {"missing", "keep-stale", "all"}
        Running again in an ``output_dir`` that holds an earlier run of ``func``:
        "missing" (default) runs the calls without a valid result of the same code
        (matched by arguments, not position); "keep-stale" also keeps results of other
        code; "all" runs every call.
    version : str, optional
        Pins the code part of the calls' identity (so does ``func.__acme_like_version__``).
    retries : int
        Extra attempts for a call that raises (default 0: a raised exception is final).
    worker_retries : int
        How often a call may take its worker down (a crash, its memory limit) while it
        runs alone before it fails; the calls that shared a task or a worker with it run
        again one by one and do not use up ``retries``.
    seed : int, optional
        If ``func`` has a parameter ``rng`` that is not given, each call receives
        ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(index,)))``: an
        independent stream per call, the same whatever the workers, batching or retries.
        Without ``seed`` a fresh one is drawn and recorded in ``.acme_like/<func>_manifest.json``.
    batch_size : int or "auto"
        Calls per dask task. "auto" measures a few calls first and then sends short
        calls in batches of about 0.2 s of work (long calls one by one); every call
        keeps its own result, failure record and place in the output.
    acme_like_options : dict, optional
        acme_like's own keywords (``client``, ``batch_size``, ``rerun``, ``retries``,
        ``worker_retries``, ``seed``) given as a dict, e.g. ``{"seed": 1}``. ACME passes
        every keyword it does not know to ``func``, and so does acme_like when ``func``'s
        signature names one of these (``ParallelMap(draw, range(n), seed=range(n))``
        gives each call its ``seed``), with a warning; set acme_like's option then here.

    Examples
    --------
    >>> def f(x, y, z=3):
    ...     return (x + y) * z
    >>> with ParallelMap(f, [2, 4, 6, 8], 4, n_workers=2) as pmap:  # doctest: +SKIP
    ...     paths = pmap.compute()
    >>> pmap.results_container  # doctest: +SKIP
    '.../ACME_20261122-101500-000000/f.h5'
    """

    @noting_given_keywords
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
        result_shape: Any = None,
        result_dtype: str = "float",
        single_file: bool = False,
        write_pickle: bool = False,
        dryrun: bool = False,
        setup_interactive: bool = True,
        cleanup_threshold_days: float | None = None,
        partition: str = "auto",
        setup_timeout: float = 60,
        batch_size: int | str = "auto",
        rerun: str = "missing",
        retries: int = 0,
        worker_retries: int = 2,
        seed: int | None = None,
        version: str | None = None,
        acme_like_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        given = locals()
        keywords, for_func = route_own_keywords(
            {name: given[name] for name in CHECKS}, self._given_keywords, keyword_parameters(func),
            function_name(func), acme_like_options,
        )
        kwargs = {**for_func, **kwargs}
        self.options: Options = resolve_options(**keywords)
        self.plan: CallPlan = plan_calls(func, args, kwargs, self.options.run.n_inputs, max_arg_bytes=self._maxArgSize * 10**6)
        self.func = func
        self.func_name = function_name(func)
        self.layout: OutputLayout | None = None
        if self.options.output.on_disk:
            output = self.options.output
            self.layout = OutputLayout.for_run(
                output.output_dir, self.func_name, pickles_in_run_dir=output.mode == "pickle" and output.acme
            )
            self.layout.check_free()
        elif output_dir is not None:
            warnings.warn(
                "output_dir has no effect when write_worker_results is False: results are "
                "returned in memory and nothing is written.",
                AcmeLikeWarning,
                stacklevel=user_stacklevel(),
            )
        self._logfile = log_path(self.options.log.logfile, self.layout, self.func_name)
        self._session = Session(self.options.cluster, measure=self._measure_one_call)
        self._results_container: str | None = None
        self._report: Path | None = None
        self._estimate: Estimate | None = None

    # -- what users read -------------------------------------------------------------------

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
        return self._session.client

    # -- running ---------------------------------------------------------------------------

    def compute(self, debug: bool = False) -> Any:
        """Run every call and return what ACME returns for the chosen output mode.

        Per-call files: their paths in call order; ``single_file``: ``[container]``;
        in memory: the values in call order (with ``result_shape``: one stacked
        array). ``None`` when the dry run's question was answered "no".

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
            raise InputTypeError(f"`debug` has to be `True` or `False`, not {type(debug)!s}: got {debug!r}.")
        if not debug and self._session.sends_pickles():
            check_sendable(self.func, self.func_name, self.plan)  # before any worker starts or file is made
        fresh_log = self._logfile is not None and not self._logfile.exists()
        fresh_dir = self.layout is not None and not self.layout.run_dir.exists()
        with run_logging(self.options.log.verbose, self._logfile) as log:
            if not self.options.run.dryrun or self._confirm_after_dry_run(log):
                return self._run(debug, log)
        # Declined after the dry run: leave nothing behind, not even the log of the estimate.
        if fresh_log and self._logfile is not None:
            self._logfile.unlink(missing_ok=True)
        if fresh_dir and self.layout is not None and self.layout.run_dir.exists() and not any(self.layout.run_dir.iterdir()):
            self.layout.run_dir.rmdir()
        return None

    def _run(self, debug: bool, log: logging.Logger) -> Any:
        log_plan(self.plan, log, self._logfile)
        connect = None if debug else (lambda: self._session.connect(self.n_calls))
        try:
            estimate = None if self._estimate is None else {
                "seconds": self._estimate.wall_seconds, "peak_bytes": self._estimate.peak_bytes_per_call}
            started = time.monotonic()
            result = run_map(self.func, self.func_name, self.plan, self.options, self.layout, connect, log, estimate)
        except KeyboardInterrupt:
            log.warning("Interrupted: pending calls cancelled; finished results are kept.")
            if self._session.owned:
                self.cleanup(stop_client=True)
            hint = self.layout.rerun_hint() if self.layout is not None and self.options.output.output_dir is None else None
            if hint:
                log.warning("%s", hint)
            raise
        self._results_container = result.container
        if self.layout is not None:
            self._report = report_after_run(self.layout.run_dir, self.n_calls, log, time.monotonic() - started, not result.ok)
        if not result.ok:
            raise task_error(result, self.layout.rerun_hint() if self.layout is not None and self.options.output.output_dir is None else None)
        if result.write_errors:
            raise write_error(result)
        result.describe(log)
        return result.returned

    def report(self) -> str:
        """Build the run's report now (``.acme_like/report.html``) and return its path.

        Raises
        ------
        InputError
            If the run keeps its results in memory or has not run yet: there is no record.
        """
        if self.layout is None or not self.layout.meta_dir.is_dir():
            raise InputError("there is no run record to report on: call compute() first, on a run that writes its results "
                             "(write_worker_results=True).")
        from .report import build_report

        return str(build_report(self.layout.run_dir))

    def estimate(self, n_samples: int | None = None, seed: int = 0) -> Estimate:
        """Run a seeded random sample of calls in this process and forecast the whole run.

        Nothing of the sample is kept on disk. The user's exception, if a sampled call
        raises, propagates unchanged.

        Examples
        --------
        >>> est = ParallelMap(f, range(1000), 2, write_worker_results=False).estimate()  # doctest: +SKIP
        >>> est.wall_seconds, est.peak_bytes_per_call  # doctest: +SKIP
        """
        output = self.options.output
        files_per_call, fixed_files = (0, 1) if output.single_file else (1, 0 if output.mode == "pickle" else 1)
        return estimate_run(
            call_context(self.func, self.plan, self.options, self.layout, self.options.run.seed),
            self.plan,
            self.func_name,
            self._session.forecast_workers(self.n_calls),
            files_per_call=files_per_call,
            fixed_files=fixed_files + (1 if self._logfile is not None else 0),
            n_samples=n_samples,
            seed=seed,
        )

    def cleanup(self, stop_client: bool | str | None = None) -> None:
        """Release the client per ``stop_client`` (default: the value given to ParallelMap)."""
        if not self._session.active:
            return
        with run_logging(self.options.log.verbose, self._logfile if self._logfile and self._logfile.exists() else None):
            self._session.release(stop_client)

    def __enter__(self) -> "ParallelMap":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    # -- stages ----------------------------------------------------------------------------

    def _confirm_after_dry_run(self, log: logging.Logger) -> bool:
        if self._estimate is None:
            self._estimate = self.estimate()
        log.info("%s", self._estimate)
        if not (self.options.cluster.setup_interactive and interactive_terminal()):
            return True
        if ask_yes_no(f"Go on with all {self.n_calls} calls of {self.func_name}?", default=True):
            return True
        log.info("Stopped after the dry run as asked; nothing was written.")
        return False

    def _measure_one_call(self) -> tuple[float, float]:
        estimate = self._estimate or self.estimate(n_samples=1)
        return estimate.seconds_per_call, float(estimate.peak_bytes_per_call)
