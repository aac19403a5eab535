"""Fill in the source lines of tracebacks that come back from workers.

A function defined in a script's ``__main__`` or a notebook cell reaches the workers
by value (cloudpickle), with its file name replaced by ``<dynamic-code>``, so the
worker's traceback shows ``File "<dynamic-code>", line 5, in f`` and no source.
The parent still has the function, its file and (for notebook cells) linecache's
copy of the cell: :func:`fill_source` puts the real file name and the source line
back. Reads source files through ``linecache`` only.
"""

from __future__ import annotations

import linecache
import re
import types
from typing import Any, Callable, Iterator

_DYNAMIC = re.compile(r'^(?P<indent>\s*)File "<dynamic-code>", line (?P<line>\d+), in (?P<name>.+)$')


def fill_source(text: str, func: Callable[..., Any]) -> str:
    """``text`` (a formatted traceback) with ``<dynamic-code>`` frames of ``func``'s code named."""
    if "<dynamic-code>" not in text:
        return text
    codes = list(_codes_of(func))
    lines = text.splitlines()
    out: list[str] = []
    for position, line in enumerate(lines):
        match = _DYNAMIC.match(line)
        code = _find(codes, match.group("name"), int(match.group("line"))) if match else None
        if match is None or code is None:
            out.append(line)
            continue
        number = int(match.group("line"))
        out.append(f'{match.group("indent")}File "{code.co_filename}", line {number}, in {match.group("name")}')
        source = linecache.getline(code.co_filename, number).strip()
        following = lines[position + 1] if position + 1 < len(lines) else ""
        if source and following.strip() != source:
            out.append(f'{match.group("indent")}  {source}')
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _codes_of(func: Callable[..., Any]) -> Iterator[types.CodeType]:
    """Code objects of ``func``, of what it wraps, of functions nested in them, and of the
    functions and methods defined beside it in its module (helpers it calls)."""
    seen: set[int] = set()
    roots: list[Any] = [func, getattr(func, "func", None), getattr(func, "__wrapped__", None)]
    module_globals = getattr(getattr(func, "__wrapped__", func), "__globals__", None) or {}
    home = getattr(func, "__module__", None)
    for value in list(module_globals.values()):
        if getattr(value, "__module__", None) == home:
            roots.append(value)
            roots.extend(vars(value).values() if isinstance(value, type) else ())
    stack = [getattr(r, "__code__", None) for r in roots]
    while stack:
        code = stack.pop()
        if not isinstance(code, types.CodeType) or id(code) in seen:
            continue
        seen.add(id(code))
        yield code
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))


def _find(codes: list[types.CodeType], name: str, number: int) -> types.CodeType | None:
    for code in codes:
        lines = [line for _, _, line in code.co_lines() if line is not None]
        if code.co_name == name and lines and min(lines + [code.co_firstlineno]) <= number <= max(lines):
            return code
    return None
