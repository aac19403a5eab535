"""The garbage collector is paused only inside the block, and left as it was found."""

from __future__ import annotations

import gc

import pytest

from acme_like.core.collector import collector_paused


def test_the_collector_is_off_inside_and_on_again_after_even_on_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_user_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
