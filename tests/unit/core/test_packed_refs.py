"""Payload references packed as columns come back as equal PayloadRef objects, with Python ints."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from acme_like.core.outcome import CallFailure, PayloadRef, TaskOutcome
from acme_like.core.outcome_table import OutcomeTable, iter_payloads
from acme_like.core.packed import PackedOutcomes
from acme_like.core.packed_refs import PackedRefs

RUN = "/data/ACME_20261201-101500-123456"


def _per_call(i: int, **more) -> PayloadRef:
    return PayloadRef(f"{RUN}/f_payload/f_{i}.h5", "hdf5", 1, 2048 + i % 3, crc32=(i * 2654435761) % 2**32,
                      mtime_ns=1_764_000_000_000_000_000 + i, **more)


def _stacked(i: int, first: int, n: int) -> PayloadRef:
    shard = f"{RUN}/f_payload/f_stack_{first}.h5"
    return PayloadRef(f"{RUN}/f_payload/f_{i}.h5", "hdf5", 1, 1400, (), 77 + i, shard, i - first, 9000 + n, 4242,
                      1_764_000_000_000_000_000 + i)


def _back(indices, refs):
    packed = pickle.loads(pickle.dumps(PackedRefs(indices, refs)))
    one_by_one = [packed.get(row, index) for row, index in enumerate(indices)]
    return packed.many(np.arange(len(refs)), indices), one_by_one


def _assert_same(back, refs):
    assert back == refs
    for got, ref in zip(back, refs):
        if ref is not None:
            assert all(type(getattr(got, name)) is type(getattr(ref, name)) for name in PayloadRef.__slots__)


@pytest.mark.parametrize("first", [0, 1, 9, 100, 12345])
def test_per_call_files_shards_and_failures_come_back_equal(first):
    indices = list(range(first, first + 40))
    refs = [_stacked(i, first, 40) if i % 2 else _per_call(i) for i in indices]
    refs[3] = None  # a failed call
    for back in _back(indices, refs):
        _assert_same(back, refs)


def test_pickles_container_rows_shapes_and_odd_paths_come_back_equal():
    indices = [5, 6, 7, 8, 9, 11]
    refs = [
        PayloadRef(f"{RUN}/f_5.pickle", "pickle", 2, 321, crc32=1),
        PayloadRef(f"{RUN}/f.h5", "container", 3, 0, (4, 2), stack_row=17),
        PayloadRef("relative/name without number.h5", "hdf5", 1, 10, (3,)),
        PayloadRef(f"{RUN}/f_payload/f_8.h5", "hdf5", 1, 10, (2, 5), mtime_ns=2**62),
        PayloadRef(f"{RUN}9/f_payload/f_99.h5", "hdf5", 1, 10),  # the index's digits twice in the path
        None,
    ]
    for back in _back(indices, refs):
        _assert_same(back, refs)


def test_paths_of_one_form_are_kept_once_per_batch():
    indices = list(range(1000, 3000))
    packed = PackedRefs(indices, [_per_call(i) for i in indices])
    assert len(pickle.dumps(packed)) < 30 * len(indices)  # a PayloadRef pickles to about 250 bytes
    assert [packed.get(k, i) for k, i in enumerate(indices)] == [_per_call(i) for i in indices]


def test_packed_outcomes_with_payloads_failures_and_retries_come_back_as_they_were():
    failure = CallFailure(13, "exception", "ValueError", "odd", "tb", "x=13")
    outcomes = [
        TaskOutcome(i, "ok", 1e-5 * i, _stacked(i, 10, 8), None, None, 1.0 + i, 2.0 + i, 4096, "w-1", "h", 1 + i % 2)
        for i in range(10, 18)
    ]
    outcomes[3] = TaskOutcome(13, "failed", 0.1, failure=failure, started_at=3.0, ended_at=4.0, peak_bytes=4096,
                              worker="w-1", host="h", attempt=2)
    packed = pickle.loads(pickle.dumps(PackedOutcomes(outcomes)))
    assert packed.unpack() == outcomes
    assert [packed.outcome(row) for row in range(len(outcomes))] == outcomes
    oks, refs = packed.payloads(np.array([2, 3, 4]))
    assert oks == [True, False, True] and refs == [o.payload for o in outcomes[2:5]]


def test_a_table_of_packed_batches_and_kept_outcomes_gives_the_same_outcomes_and_payloads():
    batch = [TaskOutcome(i, "ok", 0.5, _per_call(i), started_at=1.0, ended_at=2.0, worker="w", host="h") for i in range(4, 8)]
    kept = [TaskOutcome(i, "ok", 0.0, _per_call(i)) for i in range(0, 4)]  # resumed: kept from an earlier run
    again = TaskOutcome(6, "failed", 0.1, failure=CallFailure(6, "crash", "KilledWorker", "died", "", "x=6"))
    table = OutcomeTable(9)
    table.add_packed(PackedOutcomes(batch))
    table.add(kept)
    table.add([again])  # the latest word on a call wins
    expected = kept + batch[:2] + [again] + batch[3:]
    assert list(table) == expected
    assert list(table.payloads()) == [(o.index, o.ok, o.payload) for o in expected]
    assert list(iter_payloads(tuple(expected))) == list(table.payloads())
    assert list(OutcomeTable(3).payloads()) == []


@pytest.mark.parametrize("identities", [None, (), ("0f" * 16, "a1" * 16), ("0F" * 16,), ("not hex",), ("ab" * 16, "x")])
def test_a_call_batch_gives_back_its_calls_identities(identities):
    import cloudpickle

    from acme_like.core.packed import CallBatch

    calls = tuple((i, (i,)) for i in range(len(identities or ())))
    for batch in (CallBatch(calls, cloudpickle.dumps, identities), CallBatch(calls, None, identities)):
        back = pickle.loads(pickle.dumps(batch))
        assert back.calls == calls and back.identities == identities
