"""What to call, with what, and what comes back: pure values and decisions.

Options, the call plan, stacking, batching and the outcome records. No files, no
h5py, no dask clusters; imports only ``errors`` and numpy from the package's world.
"""
