"""Functions the ACME drop-in tests map; importable by name in worker processes."""

from __future__ import annotations


def pair(x):
    """A tuple of two scalars (ACME collapsed these into one dataset: its bug 6)."""
    return x, x + 0.5


def label(x):
    """One string."""
    return f"s{x}"
