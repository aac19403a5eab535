"""Kinds of return values and a type-aware equality, for the value round-trip tests."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

any_text = st.text(st.characters(exclude_categories=()), max_size=8)  # NUL and lone surrogates included
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    any_text,
    st.binary(max_size=8),  # trailing NULs included
)
numeric_dtypes = st.one_of(
    hnp.integer_dtypes(), hnp.floating_dtypes(), hnp.complex_number_dtypes(), hnp.boolean_dtypes()
)
arrays = hnp.arrays(numeric_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
numpy_scalars = hnp.from_dtype(np.dtype("float32")).map(np.float32) | st.integers(-5, 5).map(np.int16)
masked = hnp.arrays(np.float64, st.integers(1, 6)).flatmap(
    lambda data: hnp.arrays(np.bool_, data.shape).map(lambda mask: np.ma.MaskedArray(data, mask=mask))
)
datetimes = hnp.arrays(np.dtype("datetime64[s]"), st.integers(0, 4), elements=st.integers(0, 2**40).map(lambda s: np.datetime64(s, "s")))
homogeneous_lists = st.one_of(
    st.lists(st.integers(-(2**53), 2**53), max_size=5),
    st.lists(st.floats(), max_size=5),
    st.lists(st.booleans(), max_size=5),
    st.lists(st.text(max_size=4), min_size=1, max_size=5),
    hnp.arrays(np.int32, hnp.array_shapes(min_dims=2, max_dims=3, max_side=3)).map(lambda a: a.tolist()),
)
values = st.one_of(
    scalars,
    arrays,
    numpy_scalars,
    masked,
    datetimes,
    homogeneous_lists,
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.just(np.matrix([[1, 2], [3, 4]])),
)

def same(got, want) -> bool:
    """Equal, with the same type (NaN equals NaN; masked arrays by data and mask)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, np.ma.MaskedArray):
        return (got.mask == want.mask).all() and np.array_equal(got.filled(0), want.filled(0), equal_nan=True)
    if isinstance(want, np.ndarray):
        return got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want, equal_nan=want.dtype.kind in "fc")
    if isinstance(want, (tuple, list)):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, (float, np.floating)):
        return got == want or (math.isnan(got) and math.isnan(want))
    if isinstance(want, complex):
        return all(g == w or (math.isnan(g) and math.isnan(w)) for g, w in ((got.real, want.real), (got.imag, want.imag)))
    return got == want
