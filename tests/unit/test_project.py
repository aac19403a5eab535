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

#: Layer of each room (a folder) or top-level module; a module imports only its own layer or lower.
LAYERS = {
    "errors": 0, "_version": 0, "log": 0, "prompt": 0,
    "core": 1,
    "storage": 2, "report": 2,
    "execution": 3,
    "batch": 4,
    "session": 5, "compat": 5, "reporting": 5, "parallel_map": 5, "pipeline": 5, "cli": 5, "demo": 5, "__init__": 5, "__main__": 5,
}
#: Third-party imports allowed only from a layer up (the package's own rooms below stay free of them).
HEAVY = {"distributed": 3, "dask_jobqueue": 4, "dask": 3, "tqdm": 3, "h5py": 2, "matplotlib": 2}
#: The one module of a room below layer 3 allowed to use dask's helpers (its config and byte parser).
DASK_EXCEPTIONS = {"core.options", "core.units"}


def module_names():
    """Every module of the package as a dotted name under acme_like ("core.plan", "session", ...)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        yield ".".join(parts), path


def room(module):
    return module.split(".")[0]


def imports_of(module, path):
    """(package module it imports, or "!" + third-party top name), inside functions too."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join(base + ([node.module] if node.module else []))
            names = [alias.name for alias in node.names]
            yield from _resolve(target, names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "acme_like":
                yield from _resolve(node.module.partition(".")[2], [alias.name for alias in node.names])
            else:
                yield "!" + node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                yield (rest or "__init__") if top == "acme_like" else "!" + top


def _resolve(target, names):
    known = dict(module_names())
    for name in names:
        candidate = f"{target}.{name}" if target else name
        if candidate in known:
            yield candidate
        else:
            yield target or "__init__"


def test_every_module_sits_in_a_known_layer():
    for module, _ in module_names():
        assert room(module) in LAYERS, f"{module} has no layer; add its room to LAYERS and to docs/design.rst"


@pytest.mark.parametrize("module, path", list(module_names()), ids=[m for m, _ in module_names()])
def test_modules_import_only_their_own_layer_or_lower(module, path):
    layer = LAYERS[room(module)]
    for name in imports_of(module, path):
        if name.startswith("!"):
            floor = HEAVY.get(name[1:])
            if floor is not None and module not in DASK_EXCEPTIONS:
                assert layer >= floor, f"{module} (layer {layer}) imports {name[1:]} (allowed from layer {floor})"
            continue
        if name == "__init__" and module == "__init__":
            continue
        assert LAYERS[room(name)] <= layer, f"{module} (layer {layer}) imports {name} (layer {LAYERS[room(name)]})"


def test_the_import_graph_has_no_cycle():
    import graphlib

    graph = {}
    for module, path in module_names():
        graph[module] = {
            name for name in imports_of(module, path)
            if not name.startswith("!") and name != module and not module.startswith(name + ".")
            and name != "__init__"
        }
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_rooms_say_what_they_do_and_what_they_must_not_import():
    for folder in ("core", "storage", "execution", "batch"):
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert doc and ("never" in doc or "No " in doc), f"acme_like/{folder}/__init__.py must say what it must not import"


def test_importing_the_package_loads_no_cluster_or_hdf5_library():
    code = "import sys, acme_like; print(sorted(m for m in ('distributed', 'dask', 'h5py', 'dask_jobqueue') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_no_module_is_over_about_350_lines():
    long = {m: n for m, p in module_names() if (n := len(p.read_text().splitlines())) > 380}
    assert not long, f"modules doing more than one job: {long}"


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


def test_the_wheel_ships_py_typed(tmp_path):
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in data["tool"]["setuptools"]["package-data"]["acme_like"]
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


def test_ci_runs_the_tests_in_a_fresh_virtual_environment_and_lets_slurm_tests_submit():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    readme = (ROOT / "README.rst").read_text()
    [test_command] = [c for c in re.findall(r"\.\. code-block:: console\n\n    (.+)\n", readme) if "pytest" in c]
    position = {line: number for number, line in enumerate(ci_lines)}
    venv = [n for line, n in position.items() if re.match(r'python3 -m venv "?\$VENV"?$', line)]
    activate = [n for line, n in position.items() if re.match(r'\. "?\$VENV/bin/activate"?$', line)]
    assert venv and activate, ".ci/run must create and activate a fresh virtual environment"
    assert venv[0] < activate[0] < position[test_command]
    assert position.get("export ACME_LIKE_TEST_SLURM_SUBMIT=1", len(ci_lines)) < position[test_command]
