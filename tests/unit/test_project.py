"""The project's own promises: import layers, packaging metadata kept in step, the demo."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "acme_like"

LAYERS = {
    "errors": 0, "outcome": 0, "_version": 0,
    "options": 1, "inputs": 1, "layout": 1, "log": 1, "demo": 1, "stacking": 1, "prompt": 1, "batching": 1, "partitions": 1, "presets": 1, "jobrequest": 1, "allocation": 1,
    "payload": 2, "h5image": 2, "aggregate": 2, "failures": 2, "housekeeping": 2, "journal": 2, "resume": 2, "sharing": 2, "collect": 2,
    "worker": 3, "runner": 3, "cluster": 3, "progress": 3, "estimate": 3, "startup": 3, "slurm": 3,
    "parallel_map": 4, "__init__": 4, "__main__": 4,
}
EXECUTION_ONLY = {"distributed", "dask_jobqueue"}


def own_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                yield node.module.split(".")[0]
            else:  # from . import name: a module, or a name the package exports
                yield from (alias.name if alias.name in LAYERS else "__init__" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield "!" + node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            yield from ("!" + alias.name.split(".")[0] for alias in node.names)


@pytest.mark.parametrize("module", sorted(p.stem for p in PACKAGE.glob("*.py")))
def test_modules_import_only_their_own_layer_or_lower(module):
    assert module in LAYERS, f"{module}.py has no layer; add it to LAYERS and to docs/design.rst"
    for name in own_imports(PACKAGE / f"{module}.py"):
        if name.startswith("!"):
            if name[1:] in EXECUTION_ONLY:
                assert LAYERS[module] >= 3, f"{module} (layer {LAYERS[module]}) imports {name[1:]}"
            continue
        assert LAYERS[name] <= LAYERS[module], f"{module} (layer {LAYERS[module]}) imports {name} (layer {LAYERS[name]})"


def pyproject_requirements():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {_normalise(r) for r in data["project"]["dependencies"]}


def _normalise(requirement):
    name, _, bound = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(.*)", requirement).group(1, 0, 2)
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def conda_requirements(path, section):
    lines = path.read_text().splitlines()
    found, inside = set(), section is None
    for line in lines:
        stripped = line.strip()
        if section is not None and stripped.endswith(":") and not stripped.startswith("-"):
            inside = stripped[:-1] == section
            continue
        if inside and stripped.startswith("- "):
            found.add(_normalise(stripped[2:].split("#")[0]))
    return found


def test_conda_recipe_and_environment_require_what_pyproject_requires():
    wanted = pyproject_requirements()
    run = conda_requirements(ROOT / "conda" / "meta.yaml", "run")
    env = conda_requirements(ROOT / "conda" / "environment.yml", "dependencies")
    assert wanted <= run, f"conda/meta.yaml run requirements lack {wanted - run}"
    assert wanted <= env, f"conda/environment.yml lacks {wanted - env}"
    extra_run = {name for name, _ in run} - {name for name, _ in wanted} - {"python"}
    assert not extra_run, f"conda/meta.yaml requires {extra_run}, which pyproject does not"


def test_package_is_typed():
    assert (PACKAGE / "py.typed").exists()


@pytest.mark.integration
def test_demo_maps_a_function_and_says_where_the_results_are(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "acme_like", "demo", "--n-calls", "30", "--n-workers", "2", "--output-dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "30 calls of simulate(frequency, damping) finished." in out.stdout
    assert f"aggregate container: {tmp_path / 'demo' / 'simulate.h5'} (30 entries" in out.stdout
    assert "30/30" in out.stderr  # the progress bar
    import h5py

    with h5py.File(tmp_path / "demo" / "simulate.h5", "r") as h5:
        assert h5["comp_29"]["result_0"].shape == (1000,)


def test_ci_runs_exactly_the_test_command_of_the_readme():
    readme = (ROOT / "README.rst").read_text()
    commands = re.findall(r"\.\. code-block:: console\n\n    (.+)\n", readme)
    test_command = [c for c in commands if "pytest" in c]
    assert len(test_command) == 1, commands
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command[0] in ci_lines


@pytest.mark.slow
def test_documentation_builds_without_warnings(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "html" / "migrating.html").exists()
