"""Running calls with dask: the worker side, tasks on a client, one run, local clusters.

``run.run_map`` is the one seam every caller (``ParallelMap``, a pipeline) goes
through. Imports ``core`` and ``storage``; never ``batch``, ``session`` or the top.
"""
