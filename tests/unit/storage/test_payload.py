"""Payloads that round-trip, go to a pickle when HDF5 cannot hold them, and are never half-written."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from acme_like import PayloadError, read_payload
from acme_like.storage.payload import file_checksum, write_payload


@pytest.mark.parametrize(
    "result, expected",
    [
        (18, 18),
        (2.5, 2.5),
        (True, True),
        ("hello", "hello"),
        (np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3)),
        ([1, 2, 3], [1, 2, 3]),
        (np.array(["a", "bc"]), np.array(["a", "bc"], dtype=object)),
        ((1, np.arange(3), "x"), (1, np.arange(3), "x")),
        ((1, 2.5), (1, 2.5)),  # a tuple of scalars stays two values
    ],
)
def test_round_trip(tmp_path, result, expected):
    ref = write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", result)
    assert ref.fmt == "hdf5"
    got = read_payload(ref.path)
    if isinstance(expected, tuple):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
    else:
        np.testing.assert_array_equal(got, expected)
    assert os.listdir(tmp_path) == ["f_0.h5"]


def test_scalars_are_acmes_one_element_datasets_and_zero_dimensional_in_the_modern_layout(tmp_path):
    write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", (18, "s"))
    write_payload(tmp_path / "f_1.h5", tmp_path / "f_1.pickle", (18, "s"), acme=False)
    with h5py.File(tmp_path / "f_0.h5", "r") as acme, h5py.File(tmp_path / "f_1.h5", "r") as modern:
        assert acme["result_0"].shape == acme["result_1"].shape == (1,)
        assert modern["result_0"].shape == modern["result_1"].shape == ()
    assert read_payload(tmp_path / "f_0.h5") == read_payload(tmp_path / "f_1.h5") == (18, "s")


def test_a_none_result_is_an_empty_dataset_not_a_pickle(tmp_path):
    ref = write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", None)
    assert ref.fmt == "hdf5"
    with h5py.File(ref.path, "r") as h5:
        assert h5["result_0"].shape is None and not h5["result_0"].attrs
    assert read_payload(ref.path) is None


def test_files_without_marks_read_back_as_acme_stores_them(tmp_path):
    with h5py.File(tmp_path / "acme.h5", "w") as h5:  # as ACME writes a scalar and a string
        h5.create_dataset("result_0", data=[18])
        h5.create_dataset("result_1", data=np.array(["s1"], dtype=object), dtype=h5py.string_dtype())
    number, text = read_payload(tmp_path / "acme.h5")
    np.testing.assert_array_equal(number, [18])
    assert text.tolist() == ["s1"]


@pytest.mark.parametrize("result", [{"a": 1}, np.array([{}, 1], dtype=object), [1, "a"], (np.arange(2), {1})])
def test_values_hdf5_cannot_hold_go_to_a_pickle(tmp_path, result):
    ref = write_payload(tmp_path / "f_15.h5", tmp_path / "f_15.pickle", result)
    assert (ref.fmt, Path(ref.path).name) == ("pickle", "f_15.pickle")
    got = read_payload(ref.path)
    assert type(got) is type(result)
    assert os.listdir(tmp_path) == ["f_15.pickle"]


@pytest.mark.parametrize("result", [{"a": 1}, {"big": np.arange(2**20, dtype=np.float64), "tag": "x" * 100}])
def test_a_pickles_recorded_size_and_checksum_are_those_of_the_file(tmp_path, result):
    ref = write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", result, fmt="pickle")
    assert (ref.nbytes, ref.crc32) == file_checksum(Path(ref.path))
    assert ref.nbytes > (8 * 2**20 if "big" in result else 0)


def test_a_value_nothing_can_store_is_a_clear_error_and_leaves_no_file(tmp_path):
    with pytest.raises(PayloadError, match=r"can be stored neither in HDF5 nor in a pickle"):
        write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", lambda: 1)
    assert os.listdir(tmp_path) == []


def test_an_unwritable_directory_is_a_payload_error(tmp_path):
    with pytest.raises(PayloadError, match=r"could not write the result file"):
        write_payload(tmp_path / "missing" / "f_0.h5", tmp_path / "missing" / "f_0.pickle", 1)


def test_ragged_lists_go_to_a_pickle(tmp_path):
    ref = write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", [[1, 2], [3]])
    assert ref.fmt == "pickle"
    assert read_payload(ref.path) == [[1, 2], [3]]
