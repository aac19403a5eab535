"""Find the function of ``MODULE:FUNCTION``: a dotted module name or a ``.py`` file; no acme_like imports.

A file is loaded under its stem as module name, registered in ``sys.modules`` and its directory
put on ``sys.path`` (and ``PYTHONPATH``, for workers started as jobs): the function then pickles
by reference and workers import it by name, as they would any module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from .exits import UsageError


def _add_to_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # Worker processes started by a batch system inherit the environment, not sys.path.
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if directory not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([directory, *parts])


def _load_file(path: Path) -> ModuleType:
    name = path.stem
    if not name.isidentifier():
        raise UsageError(f"{path}: {name!r} is not a valid module name. Rename the file (letters, digits and _), e.g. {name.replace('-', '_')}.py.")
    known = sys.modules.get(name)
    if known is not None:
        if Path(getattr(known, "__file__", "") or "").resolve() == path.resolve():
            return known
        raise UsageError(
            f"{path}: the module name {name!r} is already taken by {getattr(known, '__file__', None) or 'a built-in module'}. "
            f"Rename the file, or put it in a package and pass the dotted name."
        )
    _add_to_path(str(path.parent.resolve()))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path} cannot be loaded as a Python module; give a .py file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UsageError(f"{path} raised while being loaded:\n{traceback.format_exc().rstrip()}") from exc
    return module


def _import(name: str) -> ModuleType:
    # As with `python -m`, modules in the working directory are importable (workers inherit sys.path).
    _add_to_path(os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise UsageError(
                f"no module named {name!r} (looked in the working directory and on sys.path). "
                f"Pass a dotted module name that imports, or a file path such as analysis.py:FUNCTION."
            ) from exc
        raise UsageError(f"importing {name} failed:\n{traceback.format_exc().rstrip()}") from exc
    except Exception as exc:
        raise UsageError(f"importing {name} failed:\n{traceback.format_exc().rstrip()}") from exc


def load_function(spec: str) -> Callable[..., Any]:
    """The callable named by ``spec`` (``pkg.mod:func``, ``analysis.py:func``, ``mod:Class.method``)."""
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise UsageError(f"{spec!r} is not MODULE:FUNCTION. Write e.g. mypkg.stage:process or analysis.py:process.")
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        path = Path(module_part)
        if not path.is_file():
            raise UsageError(f"{spec!r}: there is no file {module_part} (seen from {os.getcwd()}).")
        module = _load_file(path)
    else:
        module = _import(module_part)
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)
            offer = f" It defines: {', '.join(names)}." if names else " It defines no public function."
            raise UsageError(f"{module.__name__} has no function {attr!r}.{offer}") from None
    if not callable(target):
        raise UsageError(f"{spec!r} is a {type(target).__name__}, not a function.")
    return target
