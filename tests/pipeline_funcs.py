"""Stage functions for the pipeline tests; each call leaves a mark in $PIPELINE_COUNT_DIR."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def _mark(name: str, key: object) -> None:
    if "PIPELINE_COUNT_DIR" not in os.environ:  # worker processes of a shared cluster: not counted
        return
    folder = Path(os.environ["PIPELINE_COUNT_DIR"]) / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{key}", "a") as stream:
        stream.write("x")


def _stamp(name: str, key: object, when: str) -> None:
    """Write when call ``key`` of ``name`` started or ended ($PIPELINE_COUNT_DIR/stamps)."""
    if "PIPELINE_COUNT_DIR" not in os.environ:
        return
    folder = Path(os.environ["PIPELINE_COUNT_DIR"]) / "stamps"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}@{key}@{when}").write_text(repr(time.time()))


def stamps(name: str, when: str) -> list[float]:
    """The times calls of ``name`` started or ended (``when``: "start" or "end"), in any order."""
    folder = Path(os.environ["PIPELINE_COUNT_DIR"]) / "stamps"
    return [float(p.read_text()) for p in folder.glob(f"{name}@*@{when}")]


def count(name: str) -> int:
    """How many calls of stage function ``name`` ran (over all keys)."""
    folder = Path(os.environ["PIPELINE_COUNT_DIR"]) / name
    return sum(p.stat().st_size for p in folder.iterdir()) if folder.exists() else 0


def regions(path: str, n: int = 3) -> list:
    """A file -> n regions (fan-out): arrays of 4 values starting at the file's number."""
    _mark("regions", Path(path).name)
    base = float(Path(path).read_text())
    return [np.full(4, base * 10 + k) for k in range(n)]


def scale(path: str, factor: float = 2.0) -> np.ndarray:
    """A file -> one array (one item per file)."""
    _mark("scale", Path(path).name)
    return np.arange(3.0) + float(Path(path).read_text()) * factor


def infer(region: np.ndarray, prior: float = 0.1) -> float:
    _mark("infer", f"{region[0]}")
    if region[0] == 13.0:
        raise ValueError("region 13 cannot be inferred")
    return float(region.mean() + prior)


def width(values: np.ndarray) -> np.ndarray:
    _mark("width", f"{values[0]}")
    return np.asarray(values[-1] - values[0])


def total(values: list) -> float:
    _mark("total", len(values))
    return float(np.sum([np.sum(v) for v in values]))


def path_size(path: str) -> int:
    _mark("path_size", Path(path).name)
    return os.path.getsize(path)


def double(value: float) -> float:
    _mark("double", f"{value}")
    return 2 * value


def slow_scale(path: str, seconds: float = 0.3, broken: str | None = None) -> np.ndarray:
    """As scale, taking ``seconds``; fails for the inputs named in the file ``broken``, if it exists."""
    name = Path(path).name
    _mark("slow_scale", name)
    _stamp("slow_scale", name, "start")
    time.sleep(seconds)
    _stamp("slow_scale", name, "end")
    if broken is not None and os.path.exists(broken) and name in Path(broken).read_text().split():
        raise ValueError(f"{name} is broken")
    return np.arange(3.0) + float(Path(path).read_text()) * 2.0


def timed_width(values: np.ndarray) -> np.ndarray:
    """As width, writing when it started and ended."""
    _stamp("timed_width", values[0], "start")
    result = width(values)
    _stamp("timed_width", values[0], "end")
    return result


def timed_total(values: list) -> float:
    """As total, writing when it started."""
    _stamp("timed_total", len(values), "start")
    return total(values)


def labelled(path: str) -> object:
    """As scale, but input 1 gives a dict: HDF5 cannot store it, so ACME's layout pickles it
    and, when the stage ends, moves every payload up into the stage's directory."""
    _mark("labelled", Path(path).name)
    number = float(Path(path).read_text())
    return {"number": number} if number == 1 else np.arange(3.0) + number * 2.0


def first(value: object) -> float:
    """The first value of a labelled result."""
    number = value["number"] * 2.0 if isinstance(value, dict) else value[0]
    _mark("first", number)
    return float(number)
