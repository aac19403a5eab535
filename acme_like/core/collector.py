"""Pause Python's cyclic garbage collector while a run's records become many small objects.

Reading a journal of 26,530 lines makes as many dicts, payload references and outcomes,
and the collector walks every live object each time a few thousand new ones pile up: a
third of the time a finished pipeline takes to check. Paused, it runs once afterwards.
Touches only the collector's on/off switch, and gives back the state it found.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic collection off inside the block (if it was on), back on after it, even on error."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
