"""Build the aggregate container ``<func>.h5`` from the outcomes of a finished run.

Runs in the parent, after the work, from the outcomes alone: it never probes the
disk to learn what happened. Each successful HDF5 call becomes ``comp_<i>``, an
external link with a path relative to the container, so a moved run directory
still opens. Calls stored as pickles appear as ``comp_<i>`` groups that name
their file. The container is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .layout import OutputLayout, partial_path
from .outcome import TaskOutcome

COMP_PREFIX = "comp_"


def build_container(layout: OutputLayout, outcomes: Sequence[TaskOutcome], func_name: str) -> Path:
    """Write ``layout.container_path`` covering every successful call; return its path."""
    path = layout.container_path
    tmp = partial_path(path)
    failed = [o.index for o in outcomes if not o.ok]
    pickled = [o.index for o in outcomes if o.ok and o.payload is not None and o.payload.fmt == "pickle"]
    with h5py.File(tmp, "w") as h5:
        h5.attrs["func"] = func_name
        h5.attrs["n_calls"] = len(outcomes)
        h5.attrs["failed_calls"] = np.asarray(failed, dtype=np.int64)
        h5.attrs["pickled_calls"] = np.asarray(pickled, dtype=np.int64)
        for outcome in outcomes:
            if not outcome.ok or outcome.payload is None:
                continue
            name = f"{COMP_PREFIX}{outcome.index}"
            relative = layout.relative(outcome.payload.path)
            if outcome.payload.fmt == "hdf5":
                h5[name] = h5py.ExternalLink(relative, "/")
            else:
                group = h5.create_group(name)
                group.attrs["pickle"] = relative
    os.replace(tmp, path)
    return path
