"""The command line's parser: flags generated from ParallelMap's signature, examples in --help."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import acme_like
from acme_like.cli import build_parser
from acme_like.cli.exits import UsageError
from acme_like.cli.files import expand_inputs
from acme_like.cli.forecast import pick_samples
from acme_like.cli.funcspec import load_function
from acme_like.cli.keywords import ALIASES, EXCLUDED, flag_name
from acme_like.cli.mapping import parse_arg_pairs

ROOT = Path(__file__).parents[3]


def map_parser():
    parser = build_parser(map_keywords=True)
    return parser, next(a for a in parser._subparsers._group_actions if a.dest == "command").choices["map"]


def test_every_parallel_map_keyword_but_the_excluded_has_a_flag():
    _, mapper = map_parser()
    flags = {option: action.dest for action in mapper._actions for option in action.option_strings}
    keywords = [
        p.name
        for p in inspect.signature(acme_like.ParallelMap).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in EXCLUDED
    ]
    assert keywords, "ParallelMap should have keywords"
    for name in keywords:
        assert flags.get(flag_name(name)) == name, f"ParallelMap keyword {name} has no flag {flag_name(name)}"
    for name, aliases in ALIASES.items():  # aliases are option strings of the generated flag, not copies
        assert all(flags[alias] == name for alias in aliases)
    assert not EXCLUDED & set(flags.values())


def test_values_are_literals_else_strings_and_absent_flags_are_not_passed():
    parser, _ = map_parser()
    args = parser.parse_args(
        ["map", "a.py:f", "x", "--workers", "4", "--mem-per-worker", "2GB", "--result-shape", "(None, 3)",
         "--rerun", "missing", "--dry-run", "--no-write-worker-results", "--verbose"]
    )
    assert (args.n_workers, args.mem_per_worker, args.result_shape, args.rerun) == (4, "2GB", (None, 3), "missing")
    assert args.dryrun is True and args.write_worker_results is False and args.verbose is True
    assert not hasattr(args, "seed") and not hasattr(args, "retries")


def test_help_shows_examples_and_exit_statuses():
    parser, mapper = map_parser()
    top, text = parser.format_help(), mapper.format_help()
    assert "examples:" in top and "acme-like map analysis.py:process 'data/*.h5'" in top
    assert "130 interrupted" in top
    assert "examples:" in text and "--from-file -" in text and "--dry-run" in text


def test_argparse_errors_exit_2_and_point_to_help(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["frobnicate"])
    assert stop.value.code == 2
    assert "--help" in capsys.readouterr().err


def test_arg_pairs_are_literals_else_strings_and_each_name_once():
    assert parse_arg_pairs(["n=3", "label=run1", "shape=(2, 3)", "path=/tmp/x"], ["seed"]) == {
        "n": 3, "label": "run1", "shape": (2, 3), "path": "/tmp/x"}
    with pytest.raises(UsageError, match="given twice"):
        parse_arg_pairs(["n=3", "n=4"], [])
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_arg_pairs(["n"], [])
    with pytest.raises(UsageError, match="--seed"):
        parse_arg_pairs(["seed=1"], ["seed"])


def test_inputs_from_globs_directories_and_lists(tmp_path):
    for name in ("b.h5", "a.h5", "c.txt", "sub/d.h5"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    os.chdir(tmp_path)
    assert expand_inputs(["*.h5"]) == [str(tmp_path / "a.h5"), str(tmp_path / "b.h5")]
    assert expand_inputs(["."], pattern="**/*.h5") == [str(tmp_path / p) for p in ("a.h5", "b.h5", "sub/d.h5")]
    assert expand_inputs([], listed=["c.txt", "a.h5", "c.txt"]) == [str(tmp_path / "c.txt"), str(tmp_path / "a.h5")]
    with pytest.raises(UsageError, match=r"no input file matched '\*.csv', 'nope.h5'"):
        expand_inputs(["*.csv", "a.h5", "nope.h5"])
    with pytest.raises(UsageError, match="not files: 'gone'"):
        expand_inputs([], listed=["gone"])


def test_samples_span_the_size_range():
    sizes = [50, 10, 40, 30, 20, 90, 60, 70, 80, 100]
    picked = pick_samples(sizes)
    assert [sizes[i] for i in picked] == [10, 30, 50, 80, 100]
    assert pick_samples([5]) == [0]


def test_a_function_file_is_a_module_workers_can_import_by_name(tmp_path):
    (tmp_path / "cli_unit_analysis.py").write_text("def process(path):\n    return path\n\ndef other(path):\n    return 0\n")
    func = load_function(f"{tmp_path}/cli_unit_analysis.py:process")
    assert func.__module__ == "cli_unit_analysis" and sys.modules["cli_unit_analysis"].process is func
    assert str(tmp_path) in sys.path
    with pytest.raises(UsageError, match="no function 'proces'. It defines: other, process"):
        load_function(f"{tmp_path}/cli_unit_analysis.py:proces")
    with pytest.raises(UsageError, match="no module named 'no_such_module_xyz'"):
        load_function("no_such_module_xyz:f")
    with pytest.raises(UsageError, match="MODULE:FUNCTION"):
        load_function("analysis.py")


def test_building_the_parser_does_not_import_distributed():
    code = "import sys; from acme_like.cli import build_parser; build_parser(); print('distributed' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"
