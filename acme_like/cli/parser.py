"""The ``acme-like`` argument parser: its subcommands, their arguments and the examples in ``--help``.

Builds without importing dask: the ``map`` command's ParallelMap flags, which need
``inspect.signature(acme_like.ParallelMap)``, are added only when asked for.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from .keywords import add_keyword_flags

EXAMPLES = """\
examples:
  {prog} map analysis.py:process 'data/*.h5' --output-dir out --workers 8
      one call process("/abs/data/<file>.h5") per file; results in out/process.h5
  {prog} map mypkg.stage:clean data/ --pattern '**/*.csv' --arg threshold=0.5 -j 4
  find /scratch -name '*.gpkg' > files.txt && {prog} map analysis.py:process --from-file files.txt
  {prog} map analysis.py:process 'data/*.h5' --dry-run      time and memory forecast, nothing written
  {prog} status out            done, failed, reused and missing calls
  {prog} failures out          every failed call with its traceback
  {prog} report out            the run's report
  {prog} pipeline analysis_pipeline.py --dry-run   per stage: what reruns and why
  {prog} pipeline analysis_pipeline.py --off segment   use segment's stored results
  {prog} demo                  a real run of 1,000 calls on a local cluster

exit status: 0 all calls done; 1 some calls failed (the others are kept); 2 usage error;
  3 infrastructure (cluster would not start, no workers); 130 interrupted (rerun to resume)
"""

MAP_EXAMPLES = """\
examples:
  {prog} map analysis.py:process 'data/*.h5' --output-dir out
  {prog} map analysis.py:process 'data/*.h5' --output-dir out      (again: resumes, runs only missing calls)
  {prog} map mypkg.stage:clean data/ --pattern '**/*.csv' --arg threshold=0.5 --arg label=run1
  {prog} map analysis.py:process --from-file files.txt --workers 16 --mem-per-worker 4GB --partition 8GBS
  ls data/*.h5 | {prog} map analysis.py:process --from-file - --retries 2
  {prog} map analysis.py:process 'data/*.h5' --result-shape '(None, 3)' --rerun all
  {prog} map analysis.py:process 'data/*.h5' --dry-run

Each input file becomes one call FUNCTION(path, **args), path an absolute str. Globs are
expanded by acme_like itself (quote them), sorted; a directory means its files matching
--pattern. Rerunning the same command with the same --output-dir skips calls already done.
Values of --arg and of the ParallelMap flags are Python literals (4, 0.5, None, "(None, 3)",
[1, 2]) or else strings.

exit status: 0 all calls done; 1 some calls failed (the others are kept); 2 usage error;
  3 infrastructure; 130 interrupted (finished results kept; rerun to resume)
"""


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors also say where the help is."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\nRun '{self.prog} --help' for the options and examples.\n")


class _Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from acme_like import __version__

        parser.exit(0, f"acme_like {__version__}\n")


def build_parser(prog: str = "acme-like", map_keywords: bool = False) -> argparse.ArgumentParser:
    """The parser of every subcommand; ``map_keywords`` adds one flag per ParallelMap keyword.

    Examples
    --------
    >>> args = build_parser(map_keywords=True).parse_args(["map", "a.py:f", "x.h5", "--workers", "2"])  # doctest: +SKIP
    >>> args.n_workers  # doctest: +SKIP
    2
    """
    formatter = argparse.RawDescriptionHelpFormatter
    parser = CommandParser(
        prog=prog,
        description="Map one Python function over many files, in parallel on a laptop or an HPC cluster, "
        "with results in HDF5 and resume by rerunning.",
        epilog=EXAMPLES.format(prog=prog),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=CommandParser)

    mapper = sub.add_parser(
        "map",
        help="call MODULE:FUNCTION once per input file",
        description="Call FUNCTION(path, **args) once per input file, in parallel (acme_like.ParallelMap).",
        epilog=MAP_EXAMPLES.format(prog=prog),
        formatter_class=formatter,
    )
    mapper.add_argument("function", metavar="MODULE:FUNCTION", help="a dotted module name (mypkg.stage:clean) or a file (analysis.py:process)")
    mapper.add_argument("inputs", metavar="INPUTS", nargs="*", help="files, globs ('data/**/*.h5', quoted) or directories")
    mapper.add_argument("--pattern", default="*", metavar="GLOB", help="files of a directory INPUT to use (default: '*'; '**/*.h5' recurses)")
    mapper.add_argument("--from-file", metavar="LIST", help="read input paths from LIST, one a line; - reads standard input")
    mapper.add_argument("--arg", action="append", metavar="NAME=VALUE", help="pass NAME=VALUE to every call (repeatable; VALUE a Python literal, else a string)")
    keyword_names = add_keyword_flags(mapper) if map_keywords else []
    mapper.set_defaults(keyword_names=keyword_names)

    for name, text in (
        ("status", "count the done, failed, reused and missing calls of a run"),
        ("failures", "list the failed calls of a run with their tracebacks"),
        ("report", "build the report of a run"),
    ):
        command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".", formatter_class=formatter)
        command.add_argument("run_dir", metavar="DIR", help="the run directory (the --output-dir of acme-like map)")
        if name == "status":
            command.add_argument("--json", action="store_true", help="print the counts as JSON")

    pipe = sub.add_parser(
        "pipeline",
        help="run the acme_like.Pipeline a Python file defines",
        description="Import FILE (a .py file that builds an acme_like.Pipeline at module level, "
        "without running it) and run the pipeline: every stage's missing or stale results.",
        formatter_class=formatter,
    )
    pipe.add_argument("file", metavar="FILE", help="the .py file that defines the pipeline")
    pipe.add_argument("--name", metavar="VARIABLE", help="the pipeline's variable in FILE, if it defines more than one")
    pipe.add_argument("--off", action="append", default=[], metavar="STAGE", help="switch STAGE off: use its stored results (repeatable)")
    pipe.add_argument("--dry-run", "--dryrun", dest="dryrun", action="store_true", help="say per stage what would run and why; run nothing")

    demo = sub.add_parser("demo", help="map a simulation over many inputs on a local dask cluster")
    demo.add_argument("--n-calls", type=int, default=1000, help="number of calls (default: 1000)")
    demo.add_argument("--n-workers", default="auto", help='local workers (default: "auto", one per core)')
    demo.add_argument("--output-dir", default=None, help="where results go (default: a new ACME_* directory)")
    return parser
