"""Batch systems (SLURM, PBS, SGE, LSF, HTCondor): partitions, presets, requests, job waiting, setup.

Only ``setup`` imports ``dask_jobqueue``. Imports ``core``, ``execution.tuning``, ``execution.security``
and the leaves; never ``session`` or the top (``session`` chooses between this and a local cluster).
"""
