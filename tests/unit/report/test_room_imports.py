"""The report room imports only the standard library, numpy, its own modules, the package's errors and,
lazily, matplotlib."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOM = Path(__file__).parents[3] / "acme_like" / "report"
ALLOWED = set(sys.stdlib_module_names) | {"numpy"}


@pytest.mark.parametrize("module", sorted(p.name for p in ROOM.glob("*.py")))
def test_room_imports_nothing_of_dask_h5py_or_other_rooms(module):
    tree = ast.parse((ROOM / module).read_text())
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            outside = node.level > 1 and node.module not in ("errors", "core.units")
            assert not outside, f"{module} imports from outside the room: {'.' * node.level}{node.module}"
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                root = name.split(".")[0]
                if root == "matplotlib":
                    assert id(node) not in top_level, f"{module} imports matplotlib at import time"
                else:
                    assert root in ALLOWED, f"{module} imports {name}"
