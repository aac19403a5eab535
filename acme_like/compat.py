"""ACME's names on the objects of a run: ``ACMEdaemon``, ``config``, ``argv``/``kwargv``, ``profiler``.

ACME scripts read a run through its engine object and a mutable ``ACMEConfig``
that five components edited. Here every one of those names is a read-only view,
built when it is read from ``ParallelMap``'s frozen values (``Options``,
``CallPlan``, ``OutputLayout``, the session's client), so nothing can be set
through it and nothing is kept twice. ``ParallelMap`` inherits :class:`ACMEViews`;
``with ParallelMap(...) as pmap`` binds the ``ParallelMap``, which offers all of
the daemon's attributes as well, and ``pmap.daemon`` is the ``ACMEdaemon`` view.
This module runs nothing itself and must not be imported by anything but the top.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .execution.local import count_workers

if TYPE_CHECKING:  # the façade imports this module, never the other way round
    from .core.plan import CallPlan
    from .parallel_map import ParallelMap

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
#: ACME's unit for ``estimate_memuse:<GB>``.
_GB = 2**30


@dataclass(frozen=True)
class ACMEConfig:
    """ACME's ``config`` of a run, as a frozen snapshot taken when ``pmap.config`` is read.

    The field names are ACME's: ``n_calls``, ``output_dir``, ``results_container``,
    ``logfile``, ``client``, ``n_workers`` (the live worker count once a client is
    attached), ``collect_results`` (True when results stay in memory) and
    ``kwargv``, whose ``"outFile"`` lists the per-call result files (``[container]``
    with ``single_file``), beside every ``ParallelMap`` keyword under its own name.
    """

    func: Callable[..., Any]
    argv: tuple[list[Any], ...]
    kwargv: Mapping[str, list[Any]]
    n_calls: int
    n_workers: int | str
    client: Any
    output_dir: str | None
    results_container: str | None
    logfile: str | None
    collect_results: bool
    write_worker_results: bool
    result_shape: tuple[Any, ...] | None
    result_dtype: str
    single_file: bool
    write_pickle: bool
    partition: str
    mem_per_worker: str | None
    setup_timeout: float
    setup_interactive: bool
    stop_client: bool | str
    verbose: bool | None
    dryrun: bool
    cleanup_threshold_days: float | None


def acme_arguments(plan: "CallPlan") -> tuple[list[list[Any]], dict[str, list[Any]]]:
    """ACME's ``argv`` and ``kwargv`` of a plan, as fresh lists: parameters with a default are keywords."""
    template, columns = plan.template, plan.columns
    split = dict(zip(template.split_args, columns))
    try:
        named = [p for p in inspect.signature(plan.func).parameters.values() if p.kind in _POSITIONAL]
    except (TypeError, ValueError):  # builtins without a signature
        named = []
    argv: list[list[Any]] = []
    kwargv: dict[str, list[Any]] = {}
    for position, value in enumerate(template.args):
        values = list(split[position]) if position in split else [value]
        if position < len(named) and named[position].default is not inspect.Parameter.empty:
            kwargv[named[position].name] = values
        else:
            argv.append(values)
    kwargv.update({k: [v] for k, v in template.kwargs.items()})
    kwargv.update({k: list(v) for k, v in zip(template.split_kwargs, columns[len(template.split_args):])})
    return argv, kwargv


class MemoryProfiler:
    """ACME's ``pmap.profiler``: ``estimate_memory()`` from the dry run's traced peak."""

    __slots__ = ("_pmap",)

    def __init__(self, pmap: "ParallelMap") -> None:
        self._pmap = pmap

    def estimate_memory(self) -> str:
        """ACME's ``"estimate_memuse:<GB>"``: the peak of a sample of calls run here, whole GB, at least 1."""
        peak = self._pmap.estimate().peak_bytes_per_call
        return f"estimate_memuse:{max(1, math.ceil(peak / _GB))}"


class ACMEViews:
    """ACME's attributes of ``ParallelMap`` and of its daemon, read from the run's frozen values."""

    #: Size in MB above which an argument triggers a warning (ACME's name and value).
    _maxArgSize = 1024

    @property
    def n_inputs(self: "ParallelMap") -> int:  # type: ignore[misc]
        """The number of calls (ACME's name)."""
        return self.plan.n_calls

    @cached_property
    def daemon(self) -> "ACMEdaemon":
        """ACME's engine object, here a view of this ``ParallelMap``."""
        return ACMEdaemon(self)

    @property
    def argv(self: "ParallelMap") -> list[list[Any]]:  # type: ignore[misc]
        """ACME's positional arguments: a list per argument, per-call values split, shared ones as ``[value]``."""
        return acme_arguments(self.plan)[0]

    @property
    def kwargv(self: "ParallelMap") -> dict[str, list[Any]]:  # type: ignore[misc]
        """ACME's keyword arguments of ``func`` (those with a default): name -> per-call values, or ``[value]``."""
        return acme_arguments(self.plan)[1]

    @property
    def config(self: "ParallelMap") -> ACMEConfig:  # type: ignore[misc]
        """A frozen snapshot of the run with the fields of ACME's ``ACMEConfig``."""
        output, run, cluster, log, layout = self.options.output, self.options.run, self.options.cluster, self.options.log, self.layout
        argv, kwargv = acme_arguments(self.plan)
        if layout is not None:
            if output.single_file:
                kwargv["outFile"] = [str(layout.container_path)]
            else:
                path = layout.pickle_path if output.mode == "pickle" else layout.payload_path
                kwargv["outFile"] = [str(path(i)) for i in range(self.n_calls)]
        client = self.client
        live = client is not None and getattr(client, "status", None) == "running"
        return ACMEConfig(
            func=self.func, argv=tuple(argv), kwargv=MappingProxyType(kwargv), n_calls=self.n_calls,
            n_workers=count_workers(client) if live else cluster.n_workers, client=client,
            output_dir=self.output_dir, results_container=self.results_container, logfile=self.logfile,
            collect_results=not output.on_disk, write_worker_results=output.on_disk,
            result_shape=None if output.stack is None else output.stack.declared,
            result_dtype="float" if output.stack is None else output.stack.dtype.name,
            single_file=output.single_file, write_pickle=output.mode == "pickle", partition=cluster.partition,
            mem_per_worker=cluster.mem_per_worker, setup_timeout=cluster.setup_timeout,
            setup_interactive=cluster.setup_interactive, stop_client=cluster.stop_client, verbose=log.verbose,
            dryrun=run.dryrun, cleanup_threshold_days=output.cleanup_threshold_days,
        )

    @property
    def profiler(self: "ParallelMap") -> MemoryProfiler:  # type: ignore[misc]
        """ACME's memory profiler: ``pmap.profiler.estimate_memory()``."""
        return MemoryProfiler(self)


class ACMEdaemon:
    """ACME's engine object, here a read-only view of a ``ParallelMap``.

    Raises
    ------
    TypeError
        Unless built from a ``ParallelMap`` (ACME's text).

    Examples
    --------
    >>> pmap = ParallelMap(f, [2, 4, 6, 8], 4)  # doctest: +SKIP
    >>> pmap.daemon.config.n_calls  # doctest: +SKIP
    4
    """

    __slots__ = ("_pmap",)

    def __init__(self, pmap: Any) -> None:
        if not isinstance(pmap, ACMEViews):
            raise TypeError(f"`pmap` has to be a `ParallelMap` instance, not {type(pmap)!s}")
        self._pmap = pmap

    @property
    def config(self) -> ACMEConfig:
        """``ParallelMap.config``: a frozen snapshot with ACME's fields."""
        return self._pmap.config

    @property
    def profiler(self) -> MemoryProfiler:
        """``ParallelMap.profiler``: ``estimate_memory()``."""
        return self._pmap.profiler

    @property
    def results_container(self) -> str | None:
        """``ParallelMap.results_container``: None until ``compute()`` has built it."""
        return self._pmap.results_container

    def compute(self, debug: bool = False) -> Any:
        """``ParallelMap.compute(debug)``."""
        return self._pmap.compute(debug)

    def cleanup(self) -> None:
        """``ParallelMap.cleanup()``."""
        self._pmap.cleanup()
