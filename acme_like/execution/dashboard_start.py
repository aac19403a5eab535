"""Serve the dashboard of a local cluster a moment after the cluster is up.

Building dask's dashboard (importing bokeh and making its pages) takes 0.4-0.7 s of
the parent's time, a third of starting a two-worker local cluster; a run that is over
within a second or two never needs it. So a local cluster starts with its HTTP server
listening (the link is known and logged at once) and the dashboard's pages are added
to that server ``acme_like.dashboard-delay`` seconds later (2 by default; 0 builds them
with the cluster, as dask does), unless the cluster has closed by then.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

import dask

logger = logging.getLogger(__name__)

#: The scheduler's HTTP prefix: local clusters keep dask's default.
HTTP_PREFIX = "/"
#: The pending start of each cluster's dashboard, cancelled when the cluster closes first.
_PENDING: "weakref.WeakKeyDictionary[Any, threading.Timer]" = weakref.WeakKeyDictionary()


def dashboard_delay() -> float:
    """Seconds from a local cluster's start to its dashboard's (dask config ``acme_like.dashboard-delay``)."""
    from ..errors import InputError

    value = dask.config.get("acme_like.dashboard-delay", 2)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0 or isinstance(value, bool):
        raise InputError(
            f"dask config acme_like.dashboard-delay must be a number of seconds >= 0 (0: the dashboard "
            f"comes up with the cluster), got {value!r}."
        )
    return seconds


def scheduler_options(delay: float) -> dict[str, Any]:
    """Scheduler keywords of a local cluster whose dashboard comes ``delay`` s late: the HTTP server only."""
    return {"dashboard": False} if delay > 0 else {}


def serve_dashboard_later(cluster: Any, delay: float) -> None:
    """Add the dashboard's pages to ``cluster``'s in-process scheduler after ``delay`` seconds."""
    ref = weakref.ref(cluster)
    timer = threading.Timer(delay, _attach, args=(ref,))
    timer.daemon = True
    timer.name = "acme_like-dashboard"
    _PENDING[cluster] = timer
    timer.start()


def cancel_dashboard(cluster: Any) -> None:
    """Forget the pending dashboard of ``cluster`` (it is closing)."""
    timer = _PENDING.pop(cluster, None)
    if timer is not None:
        timer.cancel()


def _attach(ref: "weakref.ref[Any]") -> None:
    cluster = ref()
    if cluster is None or _PENDING.get(cluster) is None:
        return
    try:
        import distributed.dashboard.scheduler as pages
    except ImportError as exc:  # bokeh went away since the start: the link stays a bare server
        logger.warning("The dashboard could not be served: %s", exc)
        return
    scheduler = cluster.scheduler
    done = threading.Event()

    def connect() -> None:
        try:
            if _PENDING.get(cluster) is not None and scheduler.status.name == "running":
                pages.connect(scheduler.http_application, scheduler.http_server, scheduler, prefix=HTTP_PREFIX)
        except Exception as exc:  # the dashboard is a convenience: a run never fails for it
            logger.warning("The dashboard could not be served: %s", exc)
        finally:
            done.set()

    try:
        cluster.loop.add_callback(connect)
    except Exception:  # the loop has stopped: the cluster closed meanwhile
        return
    done.wait(30)
