"""Payload files built from a patched image are the very files h5py writes."""

from __future__ import annotations

import zlib

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from acme_like import read_payload
from acme_like.storage import h5image
from acme_like.storage.payload import value_forms, write_payload

VALUES = [
    np.float64(1.5),
    7,
    True,
    3 + 4j,
    np.arange(12, dtype=np.int16).reshape(3, 4),
    np.linspace(0, 1, 1000),
    np.arange(5, dtype=">f8"),  # big-endian stays big-endian
    np.array([True, False, True]),
    np.array([b"ab", b"cd"]),
    (1, np.arange(3.0), np.uint8(200)),
    None,  # an HDF5 null dataspace
    (1, 2.5),  # scalars among scalars: ACME's (1,) form each, with their mark
    tuple(range(12)),  # 11 or more values: creation order is tracked
    (None, np.arange(2)),
]


def h5py_bytes(path, values, first=0, rows=None):
    """The file h5py itself writes for these values' forms (ACME's (1,) scalars, marks)."""
    values = values if isinstance(values, tuple) else (values,)
    forms = value_forms(values, rows=rows)
    with h5py.File(path, "w", track_order=len(forms) >= 11) as h5:
        for k, form in enumerate(forms):
            dataset = h5.create_dataset(f"result_{k + first}", data=form.data, dtype=form.dtype)
            for key, value in form.attrs:
                dataset.attrs[key] = value
    return path.read_bytes()


@pytest.fixture(autouse=True)
def fresh_templates():
    h5image.forget()
    yield
    h5image.forget()


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + (str(np.shape(v)) if not isinstance(v, tuple) else str(len(v))))
def test_every_file_of_a_kind_equals_what_h5py_writes(tmp_path, value):
    # The first file teaches the template, the next ones are patched copies of it.
    for i in range(3):
        this = value if i == 0 else _shifted(value, i)
        ref = write_payload(tmp_path / f"f_{i}.h5", tmp_path / f"f_{i}.pickle", this)
        written = (tmp_path / f"f_{i}.h5").read_bytes()
        assert written == h5py_bytes(tmp_path / f"ref_{i}.h5", this)
        assert (ref.nbytes, ref.crc32) == (len(written), zlib.crc32(written))
        got = read_payload(ref.path)
        for g, e in zip(got if isinstance(this, tuple) else (got,), this if isinstance(this, tuple) else (this,)):
            np.testing.assert_array_equal(g, e)
    values = value if isinstance(value, tuple) else (value,)
    named = [(f"result_{k}", f.data, f.dtype, f.attrs) for k, f in enumerate(value_forms(values))]
    assert h5image.file_image(named) is not None, "this kind of result was not written from an image"


def test_first_values_stored_elsewhere_shift_the_names(tmp_path):
    for i in range(2):
        value = (np.float64(i), np.arange(4) + i)
        write_payload(tmp_path / f"f_{i}.h5", tmp_path / f"f_{i}.pickle", value[1:], first=1, rows=False)
        assert (tmp_path / f"f_{i}.h5").read_bytes() == h5py_bytes(tmp_path / "ref.h5", value[1:], first=1, rows=False)


@pytest.mark.parametrize("value", ["text", np.array(["a", "bc"]), np.zeros(0), np.zeros((2, 0))])
def test_values_h5py_lays_out_by_content_are_left_to_h5py(tmp_path, value):
    assert h5image.file_image([("result_0", *_form(value))]) is None
    ref = write_payload(tmp_path / "f_0.h5", tmp_path / "f_0.pickle", value)
    assert ref.fmt == "hdf5"
    np.testing.assert_array_equal(read_payload(ref.path), value)


def test_large_results_are_written_by_h5py(tmp_path):
    big = np.zeros(h5image.MAX_IMAGE_DATA_BYTES // 8 + 1)
    assert h5image.file_image([("result_0", big, None, ())]) is None


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.one_of(hnp.integer_dtypes(), hnp.floating_dtypes(), hnp.complex_number_dtypes(), hnp.boolean_dtypes()),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=5),
    ),
    st.integers(0, 2**31),
)
def test_any_numeric_array_patched_in_equals_h5py_file(tmp_path_factory, array, seed):
    tmp = tmp_path_factory.mktemp("prop")
    other = np.random.default_rng(seed).integers(0, 256, array.nbytes, dtype=np.uint8)
    other = np.frombuffer(other.tobytes(), dtype=array.dtype).reshape(array.shape)
    h5image.file_image([("result_0", array, None, ())])  # teaches the template
    image = h5image.file_image([("result_0", other, None, ())])
    assert image is not None
    (tmp / "patched.h5").write_bytes(image)
    with h5py.File(tmp / "ref.h5", "w") as h5:
        h5.create_dataset("result_0", data=other)
    assert image == (tmp / "ref.h5").read_bytes()
    np.testing.assert_array_equal(read_payload(tmp / "patched.h5"), other)


def _shifted(value, i):
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_shifted(v, i) for v in value)
    array = np.asarray(value)
    if array.dtype.kind == "S":
        return np.array([bytes([b[0] + i]) + b[1:] for b in array.tolist()])
    if array.dtype.kind == "b":
        return ~array
    out = (array + i).astype(array.dtype)
    return out if isinstance(value, np.ndarray) else out[()] if isinstance(value, np.generic) else out[()].item()


def _form(value):
    (form,) = value_forms((value,))
    return form.data, form.dtype, form.attrs
