"""acme_like: map one Python function over thousands of inputs, on a laptop or an HPC cluster.

A drop-in successor of ACME's ``ParallelMap``::

    from acme_like import ParallelMap
    with ParallelMap(f, [2, 4, 6, 8], 4) as pmap:
        results = pmap.compute()

Importing the package configures nothing but a ``NullHandler`` on its logger, and
loads dask, distributed and h5py only when a name that needs them is first used
(a module ``__getattr__``, as ``concurrent.futures`` does), so a command line
answers ``--help`` at once.
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    AcmeLikeError,
    AcmeLikeWarning,
    ClusterError,
    DirectoryInUse,
    InputError,
    InputOSError,
    InputTypeError,
    PayloadError,
    PipelineError,
    TaskError,
)

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

#: Public name -> the module that defines it, imported on first use.
_LAZY = {
    "ParallelMap": ".parallel_map",
    "ACMEdaemon": ".compat",
    "local_cluster_setup": ".execution.local",
    "cluster_cleanup": ".execution.local",
    "slurm_cluster_setup": ".batch.setup",
    "esi_cluster_setup": ".batch.sites",
    "bic_cluster_setup": ".batch.sites",
    "pick_partition": ".batch.partitions",
    "read_partitions": ".batch.partitions",
    "Partition": ".batch.partitions",
    "Estimate": ".execution.estimate",
    "read_payload": ".storage.payload",
    "Pipeline": ".pipeline",
    "read_calls": ".storage.calls",
    "status": ".storage.status",
    "RunStatus": ".storage.status",
}

if TYPE_CHECKING:
    from .batch.partitions import Partition, pick_partition, read_partitions
    from .batch.setup import slurm_cluster_setup
    from .batch.sites import bic_cluster_setup, esi_cluster_setup
    from .execution.estimate import Estimate
    from .execution.local import cluster_cleanup, local_cluster_setup
    from .compat import ACMEdaemon
    from .parallel_map import ParallelMap
    from .pipeline import Pipeline
    from .storage.calls import read_calls
    from .storage.payload import read_payload
    from .storage.status import RunStatus, status


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'acme_like' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ParallelMap",
    "ACMEdaemon",
    "local_cluster_setup",
    "cluster_cleanup",
    "slurm_cluster_setup",
    "esi_cluster_setup",
    "bic_cluster_setup",
    "pick_partition",
    "read_partitions",
    "Partition",
    "Estimate",
    "read_payload",
    "read_calls",
    "status",
    "RunStatus",
    "AcmeLikeError",
    "AcmeLikeWarning",
    "InputError",
    "InputTypeError",
    "InputOSError",
    "ClusterError",
    "DirectoryInUse",
    "PayloadError",
    "TaskError",
    "PipelineError",
    "Pipeline",
    "__version__",
]
