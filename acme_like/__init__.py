"""acme_like: map one Python function over thousands of inputs, on a laptop or an HPC cluster.

A drop-in successor of ACME's ``ParallelMap``::

    from acme_like import ParallelMap
    with ParallelMap(f, [2, 4, 6, 8], 4) as pmap:
        results = pmap.compute()

Importing the package configures nothing but a ``NullHandler`` on its logger.
"""

import logging as _logging

from ._version import __version__
from .cluster import cluster_cleanup, local_cluster_setup
from .errors import (
    AcmeLikeError,
    AcmeLikeWarning,
    ClusterError,
    InputError,
    InputTypeError,
    PayloadError,
    TaskError,
)
from .parallel_map import ParallelMap
from .payload import read_payload
from .partitions import pick_partition
from .slurm import slurm_cluster_setup

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "ParallelMap",
    "local_cluster_setup",
    "cluster_cleanup",
    "slurm_cluster_setup",
    "pick_partition",
    "read_payload",
    "AcmeLikeError",
    "AcmeLikeWarning",
    "InputError",
    "InputTypeError",
    "ClusterError",
    "PayloadError",
    "TaskError",
    "__version__",
]
