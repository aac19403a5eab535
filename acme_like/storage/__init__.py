"""Files and HDF5: every path of a run, payloads, the container, the run's records, results.

Reads and writes what a run leaves on disk, atomically (``.partial`` and a rename).
Imports ``core`` and ``errors``; never ``distributed``, ``dask_jobqueue`` or ``execution``.
"""
