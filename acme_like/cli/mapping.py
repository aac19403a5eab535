"""The ``map`` command: one ParallelMap call per input file, and the exit status that says how it went.

Imports acme_like only inside functions and only through its public names.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shlex
import sys
import traceback
from typing import Any, Callable, Sequence

from . import exits
from .exits import UsageError
from .files import expand_inputs, read_list
from .forecast import run_samples
from .funcspec import load_function
from .keywords import parse_literal

#: How many failed calls the summary lists before "and N more".
SHOWN_FAILURES = 10


def parse_arg_pairs(pairs: Sequence[str], keywords: Sequence[str]) -> dict[str, Any]:
    """``["n=3", "label=a"]`` -> ``{"n": 3, "label": "a"}``; values as Python literals, else strings."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--arg {pair!r} is not NAME=VALUE. Write e.g. --arg threshold=0.5 or --arg label=run1.")
        if name in parsed:
            raise UsageError(f"--arg {name} is given twice ({parsed[name]!r} and {parse_literal(text)!r}). Give each name once.")
        if name in keywords:
            raise UsageError(f"--arg {name}=... would set ParallelMap's keyword {name}; use --{name.replace('_', '-')} {text} instead.")
        parsed[name] = parse_literal(text)
    return parsed


def rerun_line(prog: str, argv: Sequence[str], output_dir: str) -> str:
    """The command that resumes this run: the same one, pointed at its output directory."""
    return shlex.join([*shlex.split(prog), *argv, "--output-dir", output_dir])


def _check_call(func: Callable[..., Any], path: str, arguments: dict[str, Any], spec: str) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(path, **arguments)
    except TypeError as exc:
        raise UsageError(
            f"{spec} cannot be called as {getattr(func, '__name__', spec)}(path{''.join(f', {k}=...' for k in arguments)}): {exc}. "
            f"The function gets each input path as its first argument; pass its other arguments with --arg NAME=VALUE."
        ) from None


def _forecast_workers(keywords: dict[str, Any], n_calls: int) -> int:
    wanted = keywords.get("n_workers", "auto")
    count = wanted if isinstance(wanted, int) and wanted > 0 else (os.cpu_count() or 1)
    return max(1, min(count, n_calls))


def run_map(args: argparse.Namespace, keyword_names: Sequence[str], prog: str, argv: Sequence[str]) -> int:
    """Run the ``map`` command and return its exit status."""
    import acme_like

    arguments = parse_arg_pairs(args.arg or [], keyword_names)
    func = load_function(args.function)
    listed = read_list(args.from_file) if args.from_file else []
    paths = expand_inputs(args.inputs, args.pattern, listed)
    _check_call(func, paths[0], arguments, args.function)
    keywords = {name: getattr(args, name) for name in keyword_names if hasattr(args, name)}
    dryrun = bool(keywords.pop("dryrun", False))
    n_calls = len(paths)
    # A list as long as the list of files would be split across the calls; every call gets it whole.
    shared = {k: [v] * n_calls if isinstance(v, (list, tuple)) and len(v) == n_calls else v for k, v in arguments.items()}
    try:
        pmap = acme_like.ParallelMap(func, paths, **shared, **keywords)
    except (acme_like.InputError, acme_like.InputTypeError, TypeError, ValueError) as exc:
        raise UsageError(f"{exc}\n(ParallelMap keywords are set with flags such as --n-workers 4; see acme-like map --help.)") from None

    if dryrun:
        return _dry_run(func, paths, arguments, keywords, pmap)

    output_dir = pmap.output_dir
    if output_dir is not None and "output_dir" not in keywords:
        print(f"Results go to {output_dir}")
        print(f"Rerun this to resume it: {rerun_line(prog, argv, output_dir)}", flush=True)
    resume = rerun_line(prog, argv, output_dir) if output_dir and "output_dir" not in keywords else shlex.join([*shlex.split(prog), *argv])
    try:
        with pmap:
            results = pmap.compute()
    except acme_like.TaskError as exc:
        _print_failures(exc, n_calls, output_dir, prog, resume)
        return exits.CALLS_FAILED
    except KeyboardInterrupt:
        print("\nInterrupted: pending calls were cancelled; finished results are kept"
              + (f" in {output_dir}." if output_dir else "."), file=sys.stderr)
        if output_dir:
            print(f"Resume (only the missing calls run): {resume}", file=sys.stderr)
        return exits.INTERRUPTED
    except (acme_like.InputError, acme_like.InputTypeError) as exc:
        raise UsageError(str(exc)) from None
    except (acme_like.ClusterError, acme_like.PayloadError, TimeoutError) as exc:
        print(f"acme-like: infrastructure error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if output_dir:
            print(f"Finished results are kept in {output_dir}; once fixed, resume with: {resume}", file=sys.stderr)
        return exits.INFRASTRUCTURE
    n_done = len(results) if results is not None else 0
    print(f"{n_done} of {n_calls} calls of {args.function} finished.")
    if pmap.results_container:
        print(f"  results container: {pmap.results_container}")
    if output_dir:
        print(f"  run directory:     {output_dir}")
    return exits.OK


def _dry_run(func: Callable[..., Any], paths: list[str], arguments: dict[str, Any], keywords: dict[str, Any], pmap: Any) -> int:
    try:
        forecast = run_samples(func, paths, arguments, _forecast_workers(keywords, len(paths)))
    except KeyboardInterrupt:
        return exits.INTERRUPTED
    except Exception:
        print(f"Dry run stopped: a sampled call raised, so the real run would fail on it too.\n{traceback.format_exc().rstrip()}", file=sys.stderr)
        return exits.CALLS_FAILED
    print(forecast)
    return exits.OK


def _print_failures(exc: Any, n_calls: int, output_dir: str | None, prog: str, resume: str) -> None:
    failures = list(exc.failures)
    lines = [f"{len(failures)} of {n_calls} calls failed:"]
    for failure in failures[:SHOWN_FAILURES]:
        lines.append(f"  {failure.headline()}")
    if len(failures) > SHOWN_FAILURES:
        lines.append(f"  ... and {len(failures) - SHOWN_FAILURES} more")
    kept = n_calls - len(failures)
    where = f" in {exc.results_container}" if exc.results_container else (f" in {output_dir}" if output_dir else "")
    lines.append(f"The results of the other {kept} calls are kept{where}.")
    if output_dir:
        lines.append(f"Every failure with its traceback: {prog} failures {shlex.quote(output_dir)}")
        lines.append(f"Rerunning runs only the failed and missing calls: {resume}")
    print("\n".join(lines), file=sys.stderr)
