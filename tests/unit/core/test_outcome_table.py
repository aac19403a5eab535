"""A run's outcomes kept packed read back exactly as the outcomes they were made from."""

from __future__ import annotations

import pickle

import numpy as np

from acme_like.core.outcome import CallFailure, TaskOutcome
from acme_like.core.outcome_table import OutcomeTable
from acme_like.core.packed import PackedOutcomes


def _outcome(i, value=None, failed=False):
    if failed:
        failure = CallFailure(i, "exception", "ValueError", f"bad {i}", "tb", f"x={i}")
        return TaskOutcome(i, "failed", 0.5, failure=failure, started_at=1.0, ended_at=2.0, peak_bytes=9, worker="w", host="h")
    return TaskOutcome(i, "ok", 1e-6 * i, None, np.float64(i) + 1 if value is None else value, None, 10.0 + i, 11.0 + i,
                       9, "w", "h", 1)


def _packed(outcomes):
    return pickle.loads(pickle.dumps(PackedOutcomes(outcomes)))


def test_outcomes_kept_packed_and_single_read_back_in_call_order():
    made = {i: _outcome(i, failed=i in (3, 12)) for i in range(20)}
    table = OutcomeTable(20)
    table.add_packed(_packed([made[i] for i in range(10, 20)]))
    table.add([made[5], made[6]])
    assert len(table) == 12 and not table.has(0) and table.get(0) is None and table.get(12) == made[12]
    table.add_packed(_packed([made[i] for i in range(5)] + [made[i] for i in range(7, 10)]))
    assert len(table) == 20 and list(table) == [made[i] for i in range(20)]
    assert table[3] == made[3] and table[-1] == made[19] and table[18:] == [made[18], made[19]]
    assert [f.index for f in table.failures()] == [3, 12]
    values = table.values()
    assert values == [None if i in (3, 12) else np.float64(i) + 1 for i in range(20)]
    assert all(type(v) is np.float64 for v in values if v is not None)


def test_a_later_outcome_of_a_call_replaces_the_packed_one():
    table = OutcomeTable(4)
    table.add_packed(_packed([_outcome(i, failed=i == 2) for i in range(4)]))
    mended = _outcome(2, value="again")
    table.add([mended])
    assert len(table) == 4 and table.get(2) == mended and table.failures() == ()
    assert table.values() == [np.float64(1), np.float64(2), "again", np.float64(4)]


def test_a_table_of_some_calls_lists_only_those():
    table = OutcomeTable(10)
    table.add([_outcome(7), _outcome(2, failed=True)])
    assert [o.index for o in table] == [2, 7] and table.values() == [None, np.float64(8)]
    assert [f.index for f in table.failures()] == [2]


def test_formats_read_from_the_columns_agree_with_the_payloads():
    from acme_like.core.outcome import PayloadRef
    from acme_like.core.outcome_table import iter_formats, iter_payloads

    def stored(i):
        if i == 4:
            return _outcome(i, failed=True)
        fmt = "pickle" if i % 3 == 0 else "hdf5"
        ref = PayloadRef(f"/run/f_payload/f_{i}.{'pickle' if fmt == 'pickle' else 'h5'}", fmt, 1, 100 + i, crc32=i)
        return TaskOutcome(i, "ok", 0.1, ref, None, None, 1.0, 2.0, 9, "w", "h", 1)

    table = OutcomeTable(8)
    table.add_packed(_packed([stored(i) for i in range(6)]))
    table.add([stored(6), stored(7)])
    expected = [(o.index, o.ok, None if o.payload is None else o.payload.fmt) for o in (stored(i) for i in range(8))]
    assert list(iter_formats(table)) == expected
    assert [(i, ok, None if ref is None else ref.fmt) for i, ok, ref in iter_payloads(table)] == expected
    assert list(iter_formats([stored(i) for i in range(8)])) == expected
    assert [fmt for _, _, fmt in expected] == ["pickle", "hdf5", "hdf5", "pickle", None, "hdf5", "pickle", "hdf5"]


def test_paths_extra_payloads_and_first_starts_from_the_columns_agree_with_the_outcomes():
    from acme_like.core.outcome import PayloadRef
    from acme_like.core.outcome_table import iter_extra_payloads, iter_paths

    def made(i):
        if i % 7 == 3:
            return _outcome(i, failed=True)
        n_values, fmt = (2, "hdf5") if i % 5 == 1 else (1, "pickle" if i % 6 == 2 else "hdf5")
        ref = PayloadRef(f"/run/f_payload/f_{i}.h5", fmt, n_values, 10, (1,), stack_path="/run/s.h5", stack_row=i)
        return TaskOutcome(i, "ok", 0.1, ref, None, None, 100.0 - i, 101.0, 9, f"w{i % 2}", "h" if i % 2 == 0 or i % 3 else None)

    outcomes = [made(i) for i in range(30)]
    table = OutcomeTable(30)
    table.add_packed(_packed([o for o in outcomes if o.worker == "w0"]))
    table.add_packed(_packed([o for o in outcomes if o.failure]))
    for o in outcomes:
        if o.worker == "w1":
            table.add_packed(_packed([o]))  # a batch per call: its own worker and host
    assert list(iter_paths(table)) == list(iter_paths(outcomes)) == [
        (o.index, o.ok, None if o.payload is None else o.payload.path) for o in outcomes
    ]
    extras = list(iter_extra_payloads(table))
    assert extras == list(iter_extra_payloads(outcomes)) and extras
    assert {i for i, _ in extras} == {i for i in range(30) if i % 7 != 3 and (i % 5 == 1 or i % 6 == 2)}
    first = table.first_starts()
    assert first == {("w0", "h"): 100.0 - 28, ("w1", "h"): 100.0 - 29, ("w1", ""): 100.0 - 27, ("w", "h"): 1.0}
