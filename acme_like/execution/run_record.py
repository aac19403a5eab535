"""What ``.acme_like/run.json`` says of a run: versions, command line, workers, times.

Collected in the parent; the calls' own records travel in their outcomes.
"""

from __future__ import annotations

from typing import Any, Callable

from distributed import Client

from ..core.options import Options
from ..core.outcome_table import OutcomeTable
from ..core.plan import CallPlan


def now() -> float:
    """The time as Unix seconds, as every time in the run's record."""
    import time

    return time.time()


def run_record(func: Callable[..., Any], func_name: str, plan: CallPlan, options: Options) -> dict[str, Any]:
    """What run.json says of the run when it starts."""
    import sys
    from importlib import metadata


    versions = {"python": sys.version.split()[0]}
    for name in ("acme_like", "numpy", "h5py", "dask", "distributed"):
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            module = sys.modules.get(name)
            versions[name] = getattr(module, "__version__", None)
    inner = func
    while hasattr(inner, "func") and not hasattr(inner, "__module__"):
        inner = inner.func
    top = (getattr(getattr(inner, "func", inner), "__module__", None) or "").split(".")[0]
    if top and top not in versions and top != "__main__":
        module = sys.modules.get(top)
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                version = metadata.version(top)
            except (metadata.PackageNotFoundError, ValueError):
                version = None
        versions[top] = version
    return {
        "func": func_name,
        "n_calls": plan.n_calls,
        "started_at": now(),
        "ended_at": None,
        "command": list(sys.argv),
        "versions": versions,
        "mem_per_worker_bytes": options.cluster.mem_per_worker,  # bytes, or None for "auto"
        "workers": [],
        "estimate": None,
        "stages": None,
    }


def with_first_calls(workers: list[dict[str, Any]], outcomes: Any) -> list[dict[str, Any]]:
    """The workers that ran calls, each with the start of its first call."""
    if isinstance(outcomes, OutcomeTable):
        first = outcomes.first_starts()
    else:
        first = {}
        for o in outcomes:
            if o.worker is not None and o.started_at is not None:
                key = (o.worker, o.host or "")
                first[key] = min(first.get(key, o.started_at), o.started_at)
    known_started = {w["name"]: w.get("started_at") for w in workers}
    known = {w["name"]: w for w in workers}
    listed = []
    for (name, host), stamp in sorted(first.items(), key=lambda item: item[1]):
        entry = {"name": name, "host": host, "memory_limit_bytes": known.get(name, {}).get("memory_limit_bytes"),
                 "started_at": known_started.get(name)}
        entry["first_call_at"] = stamp
        listed.append(entry)
    return listed


def describe_workers(client: Client) -> list[dict[str, Any]]:
    import socket

    try:
        info = client.scheduler_info()["workers"]
        started = client.run(_process_started)
    except Exception:  # a closed scheduler: the record lists workers by their calls only
        return []
    described = []
    for address, worker in info.items():
        host = worker.get("host") or address
        if host in ("127.0.0.1", "localhost"):
            host = socket.gethostname()
        described.append({
            "name": str(worker.get("name", address)),
            "host": host,
            "memory_limit_bytes": worker.get("memory_limit") or None,
            "started_at": started.get(address),
        })
    return described


def _process_started() -> float | None:
    """When this (worker) process started, by the OS's clock."""
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:
        return None
