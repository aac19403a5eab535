"""Worker processes and a ``__main__`` script without ``if __name__ == "__main__":``.

dask's nannies start workers with multiprocessing's "spawn" (its config
``distributed.worker.multiprocessing-method``), and a spawned child first re-runs the
parent's ``__main__`` script (multiprocessing's ``init_main_from_path``) so that
functions pickled by reference to ``__main__`` can be found. In a script without the
guard that re-runs ParallelMap itself: the child starts its own cluster, fails with
"An attempt has been made to start a new process before the current process has
finished its bootstrapping phase", and the nanny gives up after ~500 lines.

The workers do not need the script: cloudpickle sends functions and classes defined
in ``__main__`` by value. So when the script has no guard, :func:`spawn_without_script`
tells multiprocessing not to re-run it in children (it drops the two keys of the
preparation data that name the main module). That is safe: a guard-less script could
not start any child process without it. A script with the guard is left alone.
Reads the script's source once; no other global state is changed.
"""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: The two lines a script needs so that worker processes may import it.
GUARD_LINES = 'if __name__ == "__main__":\n    <the code that creates and computes ParallelMap, indented>'

_installed = False


def script_without_guard() -> Path | None:
    """The ``__main__`` script if it is a file with no top-level ``if __name__ == "__main__":``."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None  # an interactive session, a notebook, or python -c: nothing is re-run
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None
    return None if any(_is_guard(node) for node in tree.body) else Path(path)


def _is_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in names
    )


def spawn_without_script() -> None:
    """If ``__main__`` is a script without the guard, stop spawned children from re-running it."""
    global _installed
    script = script_without_guard()
    if script is None or _installed:
        return
    import multiprocessing.spawn as spawn

    original = spawn.get_preparation_data

    def preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    spawn.get_preparation_data = preparation_data
    _installed = True
    logger.debug("%s has no `if __name__ == \"__main__\":` block: worker processes will not re-run it", script)


def guard_advice() -> str:
    """What to tell the user when worker processes fail to start because the script re-runs."""
    return (
        "could not start local worker processes: they re-run the calling script, which starts "
        "ParallelMap again. Put the code that creates ParallelMap under these two lines:\n\n"
        f"{GUARD_LINES}\n"
    )
