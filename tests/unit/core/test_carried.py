"""A small context travels inside each task and is unpickled once per process."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import cloudpickle
import numpy as np

from acme_like.core.carried import CARRY_LIMIT_BYTES, CarriedContext, context_of


@dataclass(frozen=True)
class Context:
    name: str
    payload: object = None


def test_a_small_context_comes_back_equal_and_once_per_process():
    carried = CarriedContext.of(Context("run"), cloudpickle.dump)
    assert carried is not None and 0 < carried.nbytes <= CARRY_LIMIT_BYTES
    first, second = (pickle.loads(pickle.dumps(carried)) for _ in range(2))  # two tasks' copies
    assert context_of(first) == Context("run")
    assert context_of(first) is context_of(second)  # one object per process, as a scattered one


def test_two_runs_never_share_a_context():
    one = pickle.loads(pickle.dumps(CarriedContext.of(Context("a"), cloudpickle.dump)))
    other = pickle.loads(pickle.dumps(CarriedContext.of(Context("a"), cloudpickle.dump)))
    assert context_of(one) == context_of(other)
    assert context_of(one) is not context_of(other)


def test_large_contexts_and_arrays_are_scattered_instead():
    assert CarriedContext.of(Context("big", "x" * (CARRY_LIMIT_BYTES + 1)), cloudpickle.dump) is None
    assert CarriedContext.of(Context("array", np.zeros(10)), cloudpickle.dump) is None


def test_a_scattered_context_is_used_as_it_is():
    context = Context("scattered")
    assert context_of(context) is context


def test_a_context_that_does_not_pickle_is_scattered_as_it_is():
    import threading

    assert CarriedContext.of(Context("locked", threading.Lock()), cloudpickle.dump) is None
