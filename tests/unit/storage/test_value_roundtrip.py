"""Every kind of return value comes back as the call returned it, in every mode and layout.

The storage functions are driven directly: a per-call HDF5 file, a ``single_file``
container built from such files, a deliberate pickle, and the pickling that carries
in-memory results back from a worker. Equality includes the type, as the values
table of the documentation says (``docs/values.rst``).
"""

from __future__ import annotations

import math

import cloudpickle
import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acme_like import read_payload
from acme_like.core.outcome import OK, TaskOutcome
from acme_like.storage.container import build_container
from acme_like.storage.layout import OutputLayout
from acme_like.storage.payload import write_payload
from value_kinds import same, scalars, values

MODES = ["hdf5", "single_file", "pickle", "memory"]
LAYOUTS = ["acme", "modern"]

# A returned 1-tuple writes the same file as its one value (as in ACME), so it reads back as that value.
results = st.one_of(
    values, st.tuples(), st.lists(values, min_size=2, max_size=4).map(tuple), st.lists(scalars, min_size=2, max_size=12).map(tuple)
)



def round_trip(tmp_path, result, mode: str, acme: bool):
    if mode == "memory":  # what a worker sends back to the parent
        return cloudpickle.loads(cloudpickle.dumps(result))
    layout = OutputLayout.for_run(tmp_path / "run", "f")
    layout.create()
    ref = write_payload(layout.payload_path(3), layout.pickle_path(3), result, "pickle" if mode == "pickle" else "hdf5", acme=acme)
    if mode != "single_file":
        return read_payload(ref.path)
    container = build_container(layout, [TaskOutcome(index=3, status=OK, payload=ref)], "f", single_file=True)
    return read_payload(container, 3)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(result=results)
def test_every_value_comes_back_as_returned(tmp_path_factory, mode, layout, result):
    got = round_trip(tmp_path_factory.mktemp("v"), result, mode, layout == "acme")
    assert same(got, result), f"{result!r} came back as {got!r}"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("value", [["\x00"], ["a", "b\x00"], [["x\x00"], ["y"]], ("\x00", "z")], ids=repr)
def test_strings_ending_in_nul_inside_lists_keep_it(tmp_path, layout, value):
    # numpy's fixed-width strings, which a list of strings becomes, drop trailing NULs
    got = round_trip(tmp_path, value, "hdf5", layout == "acme")
    assert same(got, value), f"{value!r} came back as {got!r}"


@pytest.mark.parametrize(
    "value",
    [None, 18, 2.5, True, 3 + 4j, math.nan, "s1", "a\x00b", "\ud800", b"ab\x00", b"", (1, "x"), (), [1, 2], np.ma.masked_array([1.0, 2.0], [0, 1])],
    ids=repr,
)
def test_no_value_with_an_exact_hdf5_form_costs_a_pickle(tmp_path, value):
    ref = write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", value)
    assert ref.fmt == "hdf5"
    assert same(read_payload(ref.path), value)


def test_acme_files_without_marks_read_back_as_stored(tmp_path):
    with h5py.File(tmp_path / "f_0.h5", "w") as h5:
        h5.create_dataset("result_0", data=[1.0, 2.5])  # ACME's collapsed tuple of scalars
    np.testing.assert_array_equal(read_payload(tmp_path / "f_0.h5"), [1.0, 2.5])


def test_pickled_bytes_in_a_single_file_read_back_by_index(tmp_path):
    assert same(round_trip(tmp_path, {"a": (1, None)}, "single_file", True), {"a": (1, None)})
