"""One unit system for sizes: what parses, what is refused, and how sizes read in messages."""

from __future__ import annotations

import numpy as np
import pytest
from dask.utils import parse_bytes

from acme_like.core.units import format_size, parse_size
from acme_like.errors import InputError

GiB = 2**30


@pytest.mark.parametrize(
    "text, expected",
    [("2GB", 2 * 10**9), ("1500MB", 1500 * 10**6), ("4GiB", 4 * GiB), ("1.5 gb", 1.5e9), ("512", 512), (2048, 2048),
     ("10k", 10**4), ("1e6", 10**6), ("1e6 kB", 10**9), ("MB", 10**6), (".5GB", 5 * 10**8), (np.int64(4096), 4096)],
)
def test_sizes_mean_what_they_mean_to_dask(text, expected):
    assert parse_size(text) == expected
    assert parse_size(text) == parse_bytes(text if not isinstance(text, np.integer) else int(text))


@pytest.mark.parametrize("text", ["lots", "-1GB", "0", "2XB", "", 0, "1.5Xi", "nan GB", "inf GB", 2.5, True, None])
def test_a_size_that_is_not_one_names_the_expected_form(text):
    with pytest.raises(InputError, match=r'"2GB"'):
        parse_size(text)


@pytest.mark.parametrize(
    "n_bytes, text",
    [(3 * 10**9, "3 GB"), (2**30, "1.07 GB"), (2.79e9, "2.79 GB"), (954 * 10**6, "954 MB"), (1536, "1.54 kB"), (12, "12 B")],
)
def test_messages_speak_decimal_units_as_users_write_them(n_bytes, text):
    assert format_size(n_bytes) == text
