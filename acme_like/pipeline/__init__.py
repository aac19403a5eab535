"""Pipelines: stages over items in one workspace, on one client, resumed per item across stages.

Each stage is a map run through ``execution.run.run_map`` on a shared ``Session``;
a later stage's call reads one item of an earlier stage, and that item's identity is
part of the call's. Imports everything below the top; never ``parallel_map`` at
import time (only its signature, inside a function) and never ``cli``.
"""

from .pipeline import Pipeline, Stage

__all__ = ["Pipeline", "Stage"]
