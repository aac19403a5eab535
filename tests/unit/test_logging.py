"""Log files, verbosity and the progress bar, as a user sees them (runs in debug mode: no cluster)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import funcs
from acme_like import ParallelMap


def test_a_log_file_is_written_next_to_on_disk_results(tmp_path):
    with ParallelMap(funcs.add, [1, 2], 3, output_dir=tmp_path / "run") as pmap:
        pmap.compute(debug=True)
    logs = list((tmp_path / "run").glob("ACME_add_*.log"))
    assert [str(p) for p in logs] == [pmap.logfile]
    text = logs[0].read_text()
    assert "Running 2 calls of add one by one in this process (debug mode)" in text
    assert f"Results of 2 calls are in {pmap.results_container}" in text
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted([".acme_like", "add.h5", "add_payload", logs[0].name])  # the log stays where ACME writes it


def test_logfile_false_none_true_and_a_path(tmp_path):
    with ParallelMap(funcs.add, [1, 2], 3, output_dir=tmp_path / "a", logfile=False) as pmap:
        pmap.compute(debug=True)
    assert pmap.logfile is None and not list((tmp_path / "a").glob("*.log"))

    with ParallelMap(funcs.add, [1, 2], 3, write_worker_results=False) as pmap:
        pmap.compute(debug=True)
    assert pmap.logfile is None

    with ParallelMap(funcs.add, [1, 2], 3, write_worker_results=False, logfile=True) as pmap:
        pmap.compute(debug=True)
    assert Path(pmap.logfile).parent == Path.cwd() and Path(pmap.logfile).is_file()

    custom = tmp_path / "logs" / "mine.log"
    with ParallelMap(funcs.add, [1, 2], 3, write_worker_results=False, logfile=str(custom), verbose=True) as pmap:
        pmap.compute(debug=True)
    assert "Split across calls: x; passed whole to every call: y" in custom.read_text()


def test_verbose_sets_the_level_for_the_run_only(caplog):
    caplog.set_level(logging.DEBUG)
    with ParallelMap(funcs.add, [1, 2], 3, write_worker_results=False, verbose=False) as pmap:
        pmap.compute(debug=True)
    assert not [r for r in caplog.records if r.name.startswith("acme_like") and r.levelno < logging.WARNING]
    assert logging.getLogger("acme_like").level == logging.NOTSET


def test_progress_bar_counts_calls_and_verbose_false_hides_it(capsys):
    with ParallelMap(funcs.add, [1, 2, 3], 3, write_worker_results=False) as pmap:
        pmap.compute(debug=True)
    assert "3/3" in capsys.readouterr().err
    with ParallelMap(funcs.add, [1, 2, 3], 3, write_worker_results=False, verbose=False) as pmap:
        pmap.compute(debug=True)
    assert capsys.readouterr().err == ""


def test_importing_installs_no_hooks_or_handlers():
    code = (
        "import sys, logging; hook = sys.excepthook; import acme_like; "
        "assert sys.excepthook is hook; "
        "assert [type(h).__name__ for h in logging.getLogger('acme_like').handlers] == ['NullHandler']; "
        "assert not logging.getLogger().handlers; print('clean')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "clean"


def test_messages_reach_the_console_when_the_application_configured_no_logging(tmp_path):
    code = (
        "import sys; sys.path.insert(0, %r); import funcs\n"
        "from acme_like import ParallelMap\n"
        "with ParallelMap(funcs.add, [1, 2], 3, output_dir=%r) as pmap:\n"
        "    pmap.compute(debug=True)\n"
    ) % (str(Path(funcs.__file__).parent), str(tmp_path / "run"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "acme_like: Results of 2 calls are in" in out.stderr
