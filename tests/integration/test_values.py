"""Return values come back through ParallelMap as the calls returned them, in every output mode."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funcs
from acme_like import ParallelMap, TaskError, read_payload
from value_kinds import same, values

pytestmark = pytest.mark.integration

MODES = {
    "hdf5": {},
    "single_file": {"single_file": True},
    "pickle": {"write_pickle": True},
    "memory": {"write_worker_results": False},
}


def read_back(mode, pmap, returned, n_calls):
    if mode == "memory":
        return returned
    if mode == "single_file":
        return [read_payload(pmap.results_container, i) for i in range(n_calls)]
    return [read_payload(path) for path in returned]


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(returned=st.lists(values, min_size=2, max_size=6))
def test_values_come_back_through_parallelmap(threads_client, tmp_path_factory, mode, returned):
    out = tmp_path_factory.mktemp("values") / "run"
    kwargs = dict(MODES[mode], client=threads_client, verbose=False)
    if mode != "memory":
        kwargs["output_dir"] = out
    with ParallelMap(funcs.give_back, returned, **kwargs) as pmap:
        got = read_back(mode, pmap, pmap.compute(), len(returned))
    assert all(same(g, w) for g, w in zip(got, returned)), f"{returned!r} came back as {got!r}"


def test_an_unpicklable_value_in_memory_fails_that_call_only(processes_client):
    with pytest.raises(TaskError) as caught:
        with ParallelMap(funcs.returns_lock, [0, 1, 2], write_worker_results=False, client=processes_client, verbose=False) as pmap:
            pmap.compute()
    assert [f.index for f in caught.value.failures] == [1]
    assert "cannot be sent back from the worker" in str(caught.value)
