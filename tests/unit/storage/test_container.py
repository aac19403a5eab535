"""The container ``<func>.h5`` built from a run's outcomes (storage.container), without running anything.

The payloads are written as a worker writes them (``write_payload`` at the layout's
paths); the outcomes are made by hand, failed calls included.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from acme_like import read_payload
from acme_like.core.outcome import FAILED, OK, CallFailure, TaskOutcome
from acme_like.core.stacking import parse_stack
from acme_like.storage.container import build_container
from acme_like.storage.layout import OutputLayout
from acme_like.storage.payload import write_payload

N_CALLS = 12
FAILED_CALLS = (3, 7)


def finished_run(run_dir, value=lambda i: np.arange(3) + 10 * i, failed=FAILED_CALLS, stack=None):
    """A layout whose payload directory holds what the calls that did not fail wrote, and the outcomes."""
    layout = OutputLayout.for_run(run_dir, "f")
    layout.create()
    outcomes = []
    for i in range(N_CALLS):
        if i in failed:
            failure = CallFailure(i, "exception", "ValueError", f"bad {i}", "", f"x={i}")
            outcomes.append(TaskOutcome(i, FAILED, failure=failure))
            continue
        result = value(i) if stack is None else stack.fit(value(i), i)
        outcomes.append(TaskOutcome(i, OK, payload=write_payload(layout.payload_path(i), layout.pickle_path(i), result)))
    return layout, outcomes


def test_each_successful_call_is_a_relative_link_to_its_payload_in_call_order(tmp_path):
    layout, outcomes = finished_run(tmp_path / "run")
    path = build_container(layout, outcomes, "f")
    assert path == layout.container_path == tmp_path / "run" / "f.h5"
    expected = [f"comp_{i}" for i in range(N_CALLS) if i not in FAILED_CALLS]
    with h5py.File(path, "r") as h5:
        assert list(h5.keys()) == expected  # comp_10 after comp_9, not after comp_1
        links = [h5.get(name, getlink=True) for name in expected]
        assert all(isinstance(link, h5py.ExternalLink) for link in links)
        assert [link.filename for link in links] == [
            f"f_payload/f_{i}.h5" for i in range(N_CALLS) if i not in FAILED_CALLS
        ]
        np.testing.assert_array_equal(h5["comp_11/result_0"][()], np.arange(3) + 110)


def test_failed_calls_are_left_out_and_listed(tmp_path):
    layout, outcomes = finished_run(tmp_path / "run")
    with h5py.File(build_container(layout, outcomes, "f"), "r") as h5:
        assert not {"comp_3", "comp_7"} & set(h5)
        assert h5.attrs["func"] == "f"
        assert h5.attrs["n_calls"] == N_CALLS
        assert h5.attrs["failed_calls"].tolist() == list(FAILED_CALLS)
        assert h5.attrs["pickled_calls"].tolist() == []


def test_a_moved_run_directory_still_opens(tmp_path):
    layout, outcomes = finished_run(tmp_path / "run")
    build_container(layout, outcomes, "f")
    (tmp_path / "elsewhere").mkdir()
    moved = (tmp_path / "run").rename(tmp_path / "elsewhere" / "run")
    with h5py.File(moved / "f.h5", "r") as h5:
        np.testing.assert_array_equal(h5["comp_5/result_0"][()], np.arange(3) + 50)


def test_a_pickled_call_names_its_file(tmp_path):
    layout, outcomes = finished_run(tmp_path / "run", value=lambda i: {"i": i} if i == 4 else i)
    with h5py.File(build_container(layout, outcomes, "f"), "r") as h5:
        assert h5.attrs["pickled_calls"].tolist() == [4]
        assert h5["comp_4"].attrs["pickle"] == "f_payload/f_4.pickle"
    assert read_payload(layout.run_dir / "f_payload" / "f_4.pickle") == {"i": 4}


def test_a_single_file_holds_copies_and_the_payloads_are_removed(tmp_path):
    layout, outcomes = finished_run(tmp_path / "run")
    path = build_container(layout, outcomes, "f", single_file=True)
    assert sorted(p.name for p in layout.run_dir.iterdir()) == [".acme_like", "f.h5"]
    with h5py.File(path, "r") as h5:
        assert list(h5.keys()) == [f"comp_{i}" for i in range(N_CALLS) if i not in FAILED_CALLS]
        assert all(isinstance(h5.get(name, getlink=True), h5py.HardLink) for name in h5)
        for i in (0, 10, 11):
            np.testing.assert_array_equal(h5[f"comp_{i}/result_0"][()], np.arange(3) + 10 * i)
        assert h5.attrs["failed_calls"].tolist() == list(FAILED_CALLS)


@pytest.mark.parametrize("single_file", [False, True])
def test_stacked_results_are_one_dataset_with_a_row_per_call_and_nan_for_the_failed(tmp_path, single_file):
    stack = parse_stack((None, 3), "float64", in_memory=False)
    layout, outcomes = finished_run(tmp_path / "run", stack=stack)
    with h5py.File(build_container(layout, outcomes, "f", stack=stack, single_file=single_file), "r") as h5:
        stacked = h5["result_0"]
        assert stacked.shape == (N_CALLS, 3)
        assert stacked.is_virtual is not single_file  # a view over the payloads unless it is one file
        assert stacked.attrs["stacking_axis"] == 0
        rows = stacked[()]
    for i in range(N_CALLS):
        if i in FAILED_CALLS:
            assert np.isnan(rows[i]).all()
        else:
            np.testing.assert_array_equal(rows[i], np.arange(3) + 10 * i)


def test_shard_rows_in_any_order_map_to_the_same_runs():
    from acme_like.core.outcome import PayloadRef
    from acme_like.core.outcome_table import OutcomeTable
    from acme_like.core.packed import PackedOutcomes
    from acme_like.core.stack_runs import outcome_stack_runs
    from acme_like.storage.container import _sources

    def ok(i, ref):
        return TaskOutcome(i, "ok", 0.1, ref)

    def ref(i, shard, row):
        return PayloadRef(f"f_{i}.h5", "hdf5", 1, 10, (3,), stack_path=shard, stack_row=row)

    done = [ok(i, ref(i, "a.h5", i)) for i in range(5)] + [ok(i, ref(i, "b.h5", i - 5)) for i in range(5, 9)]
    done += [ok(9, PayloadRef("f_9.h5", "hdf5", 1, 10, (2,))), ok(10, PayloadRef("f_10.pickle", "pickle", 1, 10))]
    expected = [("a.h5", "result_0", [(0, 0, 5, (3,))], None), ("b.h5", "result_0", [(5, 0, 4, (3,))], None),
                ("f_9.h5", "result_0", [(9, 0, 1, (2,))], (2,))]
    assert _sources(outcome_stack_runs(done)) == expected
    shuffled = [done[k] for k in (3, 0, 4, 1, 2, 8, 5, 7, 6, 9, 10)]
    assert _sources(outcome_stack_runs(shuffled)) == expected
    gap = [d for d in done if d.index != 2]
    assert _sources(outcome_stack_runs(gap))[0][2] == [(0, 0, 2, (3,)), (3, 3, 2, (3,))]
    for batches in ([done], [done[:3], done[3:7], done[7:]], [shuffled[:6], shuffled[6:]]):  # packed as workers send them
        table = OutcomeTable(len(done))
        for batch in batches:
            table.add_packed(PackedOutcomes(batch))
        assert _sources(table.stack_runs()) == expected


def test_a_container_from_an_outcome_table_equals_one_from_its_outcomes(tmp_path):
    from acme_like.core.outcome_table import OutcomeTable
    from acme_like.core.packed import PackedOutcomes

    layout, outcomes = finished_run(tmp_path / "run")
    table = OutcomeTable(N_CALLS)
    table.add_packed(PackedOutcomes(outcomes[6:]))
    table.add(outcomes[:6])
    assert list(table) == outcomes
    with h5py.File(build_container(layout, table, "f"), "r") as h5:
        from_table = {key: h5.get(key, getlink=True).filename for key in h5}
        failed = list(h5.attrs["failed_calls"])
    with h5py.File(build_container(layout, outcomes, "f"), "r") as h5:
        assert from_table == {key: h5.get(key, getlink=True).filename for key in h5}
        assert failed == list(h5.attrs["failed_calls"]) == list(FAILED_CALLS)
