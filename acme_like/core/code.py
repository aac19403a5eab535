"""The code digest of a function: what it computes, blind to docstrings, comments and layout.

Covers the function's normalized syntax tree (bytecode where there is no source), the
code of the user's own functions and classes it reaches, and the values it reads.
Pure apart from reading the source files of the user's functions; no dask, no writes.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import os
import pickle
import site
import sys
import sysconfig
import textwrap
import types
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .hashing import feed
from .plan import function_name
from .values import measure_bytes

#: A function's attribute that pins its code digest (as ``ParallelMap(version=...)`` does).
VERSION_ATTRIBUTE = "__acme_like_version__"
#: Globals and closure values up to this many bytes (pickled) enter the code digest by
#: value; larger objects by type (arrays are always hashed by their bytes).
MAX_VALUE_BYTES = 1 << 20


def code_digest(func: Callable[..., Any], version: str | None = None) -> str:
    """A digest of what ``func`` computes, blind to docstrings, comments, formatting and lines.

    Covers ``func``'s normalized syntax tree (its bytecode where no source exists), the
    code of the functions and classes it reaches through the globals it reads and its
    closure when they live in the user's own files (see :func:`is_users_file`), and the
    values of the other globals and closure cells it reads. ``functools.partial``
    arguments count as code. ``version`` (or ``func.__acme_like_version__``) replaces
    all of it.
    """
    inner = _unwrap(func)
    pinned = version if version is not None else getattr(inner, VERSION_ATTRIBUTE, None)
    name = f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', function_name(func))}"
    if pinned is not None:
        return hashlib.blake2b(f"version:{name}:{pinned}".encode(), digest_size=16).hexdigest()
    h = hashlib.blake2b(name.encode(), digest_size=16)
    _CodeWalk(h).callable(func)
    return h.hexdigest()


def _unwrap(func: Any) -> Any:
    while isinstance(func, functools.partial):
        func = func.func
    return func


@functools.lru_cache(maxsize=1)
def _installed_roots() -> tuple[str, ...]:
    roots = {sysconfig.get_paths().get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # a virtualenv's old site module
        pass
    roots.update({sys.prefix, sys.base_prefix, sys.exec_prefix})
    roots.add(str(Path(__file__).resolve().parents[1]))  # acme_like itself
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r))


def is_users_file(filename: str | None) -> bool:
    """True for code in the user's own files: not in the standard library, not in an
    installed package (site-packages, dist-packages, the interpreter's prefix), not in
    acme_like. Code without a file (``<stdin>``, a notebook cell) is the user's."""
    if not filename or filename.startswith("<"):
        return True
    path = os.path.realpath(filename)
    if "site-packages" in path.split(os.sep) or "dist-packages" in path.split(os.sep):
        return False
    return not any(path.startswith(root) for root in _installed_roots())


class _CodeWalk:
    """Feeds the code reachable from one function into a hash, each object once."""

    def __init__(self, h: Any) -> None:
        self.h = h
        self.visited: set[int] = set()

    def put(self, text: str | bytes) -> None:
        self.h.update(text if isinstance(text, bytes) else text.encode())
        self.h.update(b"\0")

    def callable(self, func: Any) -> None:
        if id(func) in self.visited:
            self.put(f"seen:{getattr(func, '__qualname__', '')}")
            return
        self.visited.add(id(func))
        if isinstance(func, functools.partial):
            self.put("partial")
            self.callable(func.func)
            self.value(func.args)
            self.value(sorted(func.keywords.items()))
        elif isinstance(func, types.MethodType):
            self.put("method")
            self.callable(func.__func__)
            self.value(func.__self__)
        elif isinstance(func, types.FunctionType):
            self.function(func)
        elif isinstance(func, type):
            self.cls(func)
        elif getattr(func, "__wrapped__", None) is not None:
            # A wrapper object (functools.update_wrapper): the wrapped code, plus whatever the
            # wrapper says changes what it computes (its __acme_like_identity__()).
            self.put("wrapped")
            self.callable(func.__wrapped__)
            extra = getattr(func, "__acme_like_identity__", None)
            if callable(extra):
                self.value(extra())
        elif callable(func) and not isinstance(func, types.BuiltinFunctionType):
            self.put(f"instance:{type(func).__module__}.{type(func).__qualname__}")
            self.cls(type(func))
            self.value(func)
        else:
            self.put(f"builtin:{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', repr(func))}")

    def function(self, func: types.FunctionType) -> None:
        code = func.__code__
        if not is_users_file(code.co_filename):
            self.put(f"external:{func.__module__}.{func.__qualname__}")
            return
        self.put(_normalized_source(func) or _bytecode(code))
        self.value(func.__defaults__)
        self.value(sorted((func.__kwdefaults__ or {}).items()))
        for name in sorted(_names(code)):
            if name in func.__globals__:
                self.put(f"global:{name}")
                self.value(func.__globals__[name])
        for cell_name, cell in zip(code.co_freevars, func.__closure__ or ()):
            self.put(f"closure:{cell_name}")
            try:
                self.value(cell.cell_contents)
            except ValueError:  # an empty cell (a name assigned after the function was made)
                self.put("empty")

    def cls(self, cls: type) -> None:
        module = sys.modules.get(cls.__module__)
        filename = getattr(module, "__file__", None)
        if cls.__module__ == "builtins" or not is_users_file(filename):
            self.put(f"external:{cls.__module__}.{cls.__qualname__}")
            return
        try:
            self.put(_dump(ast.parse(textwrap.dedent(inspect.getsource(cls)))))
        except (OSError, TypeError, SyntaxError):
            self.put(f"class:{cls.__module__}.{cls.__qualname__}")
        for attribute in sorted(vars(cls)):
            member = vars(cls)[attribute]
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, types.FunctionType):
                self.function_globals(member)

    def function_globals(self, func: types.FunctionType) -> None:
        """The globals a method reads (its own code is in its class's source)."""
        if id(func) in self.visited:
            return
        self.visited.add(id(func))
        for name in sorted(_names(func.__code__)):
            if name in func.__globals__:
                self.put(f"global:{name}")
                self.value(func.__globals__[name])

    def value(self, value: Any) -> None:
        if isinstance(value, types.ModuleType):
            self.put(f"module:{value.__name__}")
        elif isinstance(value, (types.FunctionType, types.MethodType, functools.partial, type)):
            self.callable(value)
        elif isinstance(value, types.BuiltinFunctionType):
            self.put(f"builtin:{getattr(value, '__module__', '')}.{value.__qualname__}")
        elif isinstance(value, np.ndarray) and value.dtype != object:
            feed(self.h, value)
        elif isinstance(value, (list, tuple)) and len(value) < 10_000:
            self.put(f"{type(value).__name__}:{len(value)}")
            for item in value:
                self.value(item)
        else:
            data = b""
            if measure_bytes(value) <= MAX_VALUE_BYTES:
                try:
                    data = pickle.dumps(value, protocol=4)
                except Exception:
                    pass
            if 0 < len(data) <= MAX_VALUE_BYTES:  # pickled only when small (measured first)
                self.put(data)
            else:
                self.put(f"object:{type(value).__module__}.{type(value).__qualname__}")


def _names(code: types.CodeType) -> set[str]:
    """Every global name the code (and the code nested in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _normalized_source(func: types.FunctionType) -> str | None:
    """``ast.dump`` of ``func``'s definition without docstrings or positions; None without source."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if func.__name__ == "<lambda>":
        lambdas = [node for node in ast.walk(tree) if isinstance(node, ast.Lambda)]
        # Several lambdas on the lines of this one: the source cannot tell which; bytecode can.
        return _dump(lambdas[0]) if len(lambdas) == 1 else None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func.__name__:
            return _dump(node)
    return None


def _dump(node: ast.AST) -> str:
    for each in ast.walk(node):
        if isinstance(each, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = each.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                each.body = body[1:] or [ast.Pass()]
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _bytecode(code: types.CodeType) -> bytes:
    """Bytecode, constants and names, nested code objects included; no line numbers."""
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_bytecode(const))
        else:
            parts.append(repr(const).encode())
    return b"\1".join(parts)
