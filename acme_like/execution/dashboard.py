"""Where a cluster's dashboard is, in words a user can act on when there is none.

dask serves the dashboard only when bokeh>=3.1 is installed and otherwise leaves the
link empty; the text here then says how to get it. Starts nothing.
"""

from __future__ import annotations

import importlib.metadata

#: How to install what the dashboard needs, with this package's extra.
DASHBOARD_INSTALL = 'pip install "acme-like[dashboard]"'


def bokeh_problem() -> str | None:
    """Why dask can serve no dashboard here (bokeh missing or too old), or None."""
    try:
        version = importlib.metadata.version("bokeh")
    except importlib.metadata.PackageNotFoundError:
        return "bokeh is not installed"
    major, _, rest = version.partition(".")
    minor = rest.partition(".")[0]
    if major.isdigit() and minor.isdigit() and (int(major), int(minor)) < (3, 1):
        return f"bokeh {version} is older than 3.1"
    return None


def describe_dashboard(link: str) -> str:
    """``link``, or why there is no dashboard and how to get one."""
    if link:
        return link
    problem = bokeh_problem()
    if problem is not None:
        return f"none ({problem}; the dashboard needs bokeh>=3.1: {DASHBOARD_INSTALL})"
    return "none (switched off in the scheduler's options)"
