"""The run report: one offline HTML page per run, built after it from the per-call record.

The report costs nothing while the run runs: it reads two files the run leaves in
``<run_dir>/.acme_like/`` and writes ``<run_dir>/.acme_like/report.html`` next to them, one
self-contained file (inline CSS, figures as base64 PNG data URIs, no script, no web fonts).

This room imports only the standard library, numpy and, inside functions, matplotlib (the
``report`` extra: ``pip install "acme-like[report]"``; without it the page has every table and
says how to get the figures). It must not import dask, distributed, h5py or any other room of
acme_like, so that a storage-level reader may import it.

The record (the contract with the writer)
-----------------------------------------
``calls.csv``: comma-separated, a header row, then one row per call; fields holding commas,
quotes or newlines are quoted as Python's :mod:`csv` module does. The columns, exactly::

    index,stage,key,arguments,digest,status,kind,attempt,started_at,ended_at,seconds,
    peak_bytes,worker,host,payload,payload_bytes,input_path,input_bytes,exc_type,message,traceback

``index``, ``attempt``
    whole numbers, in every row.
``stage``
    empty for a plain ParallelMap, else the pipeline stage of the call.
``status``
    ``ok``, ``failed`` or ``reused`` (taken from an earlier run, not computed in this one).
``kind``
    empty, or what went wrong: ``exception``, ``worker-lost``, ``crash``, ``memory``.
``started_at``, ``ended_at``
    unix seconds (float); may be empty for reused calls.
``seconds``
    the call's run time (float), in every row.
``peak_bytes``, ``payload_bytes``, ``input_bytes``
    whole numbers, or empty when unknown.
``key``, ``arguments``, ``digest``, ``worker``, ``host``, ``payload``, ``input_path``, ``exc_type``, ``message``, ``traceback``
    text; ``traceback`` may span lines.

``run.json``: one object with the keys ``format`` (``1``), ``func`` (str), ``n_calls`` (int),
``started_at`` and ``ended_at`` (unix seconds), ``command`` (list of str), ``versions`` (object,
name to version string), ``mem_per_worker_bytes`` (int or null), ``workers`` (list of objects
with ``name``, ``host``, ``memory_limit_bytes`` (int or null), ``started_at`` (when the worker
joined) and ``first_call_at`` (null if it never ran a call), and for a batch-system worker
optionally ``submitted_at``: the queue wait is ``started_at - submitted_at``), ``estimate``
(null, or ``{"seconds": forecast wall seconds of the run, "peak_bytes": forecast peak of one
call}``) and ``stages`` (null, or for a pipeline a list of ``{"name", "upstream": [names]}``).
Other keys are ignored.

Examples
--------
>>> from acme_like.report import build_report, read_run_record, summarize
>>> path = build_report("ACME_20250101-120000")                 # doctest: +SKIP
>>> summarize(read_run_record("ACME_20250101-120000")).overall.counts   # doctest: +SKIP
Counts(n_ok=999, n_failed=1, n_reused=0)
"""

from .build import build_report
from .records import CallRow, RunRecord, read_run_record
from .run_info import RunInfo, RunRecordError, WorkerInfo
from .summary import Summary, summarize

__all__ = [
    "build_report",
    "read_run_record",
    "summarize",
    "RunRecord",
    "RunInfo",
    "CallRow",
    "WorkerInfo",
    "Summary",
    "RunRecordError",
]
