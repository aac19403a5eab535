"""A batch's outcomes come back from their packed form exactly as they were made."""

from __future__ import annotations

import pickle

import numpy as np

from acme_like.core.outcome import CallFailure, PayloadRef, TaskOutcome
from acme_like.core.packed import CallBatch, PackedOutcomes


def _round_trip(outcomes):
    return pickle.loads(pickle.dumps(PackedOutcomes(outcomes))).unpack()


def test_numpy_scalars_failures_and_times_come_back_as_they_were():
    outcomes = [
        TaskOutcome(i, "ok", 1e-6 * i, None, np.float64(i) + 1, None, 10.0 + i, 11.0 + i, 2048, "w-0", "h", 1)
        for i in range(50)
    ]
    failure = CallFailure(7, "exception", "ValueError", "odd", "tb", "x=7")
    outcomes[7] = TaskOutcome(7, "failed", 0.5, failure=failure, started_at=1.0, ended_at=2.0, peak_bytes=2048,
                              worker="w-0", host="h", attempt=3)
    back = _round_trip(outcomes)
    assert back == outcomes
    assert all(type(b.value) is type(o.value) for b, o in zip(back, outcomes))


def test_mixed_values_payloads_and_missing_times_come_back_as_they_were():
    ref = PayloadRef("f_1.h5", "hdf5", 1, 100)
    outcomes = [
        TaskOutcome(0, "ok", value=[1, 2]),
        TaskOutcome(1, "ok", payload=ref),
        TaskOutcome(2, "ok", value=np.int32(4)),
        TaskOutcome(3, "ok", value=np.arange(3)),
    ]
    back = _round_trip(outcomes)
    assert [b.value if not isinstance(b.value, np.ndarray) else list(b.value) for b in back] == [[1, 2], None, 4, [0, 1, 2]]
    assert back[1].payload == ref and back[2].started_at is None and type(back[2].value) is np.int32
    assert _round_trip([]) == []


def test_a_call_batch_pickles_with_its_calls():
    assert pickle.loads(pickle.dumps(CallBatch(((3, (1,)), (4, (2,)))))).calls == ((3, (1,)), (4, (2,)))


def test_a_call_batch_pickled_where_it_is_made_gives_its_calls_back():
    import cloudpickle

    calls = tuple((i, (i * 2, f"x{i}")) for i in range(1000))
    batch = CallBatch(calls, cloudpickle.dumps)
    assert pickle.loads(pickle.dumps(batch)).calls == calls
    assert len(pickle.dumps(batch)) < 20 * len(calls)


def test_a_call_batch_with_arrays_travels_them_as_they_are():
    import cloudpickle

    calls = ((0, (np.arange(5.0),)), (1, (np.ones((2, 3)),)))
    back = pickle.loads(pickle.dumps(CallBatch(calls, cloudpickle.dumps), protocol=5)).calls
    assert [i for i, _ in back] == [0, 1]
    np.testing.assert_array_equal(back[0][1][0], np.arange(5.0))
    np.testing.assert_array_equal(back[1][1][0], np.ones((2, 3)))
