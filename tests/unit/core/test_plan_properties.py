"""Property-based: whatever arguments come in, planning gives calls or a clear error, never a crash."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from acme_like.errors import InputError, InputTypeError
from acme_like.core.plan import plan_calls

scalars = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5), st.booleans())
arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.int32, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)
values = st.recursive(
    st.one_of(scalars, arrays, st.builds(range, st.integers(0, 5))),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.tuples(inner, inner), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
n_inputs = st.one_of(st.just("auto"), st.integers(-2, 6), st.floats(-1, 6), st.text(max_size=3), st.none())


def anything(*args, **kwargs):
    return args, kwargs


def fixed(a, b=(1, 2), *, c=None):
    return a


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=4), st.dictionaries(st.sampled_from(["k", "m", "taskID"]), values, max_size=3), n_inputs)
def test_any_arguments_plan_or_fail_clearly(args, kwargs, n):
    try:
        plan = plan_calls(anything, args, kwargs, n_inputs=n)
    except (InputError, InputTypeError) as exc:
        # Every refusal names what to change: n_inputs, or the argument that cannot be split.
        assert "n_inputs" in str(exc) or re.search(r"(args\[\d\]|\w+) (is|are) empty", str(exc)), str(exc)
        return
    assert plan.n_calls >= 1
    for index in {0, plan.n_calls - 1}:
        call_args, call_kwargs = plan.call_arguments(index)
        assert len(call_args) == len(args)
        assert set(call_kwargs) == set(kwargs)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), values, max_size=3), n_inputs)
def test_a_fixed_signature_binds_or_names_its_parameters(args, kwargs, n):
    try:
        plan = plan_calls(fixed, args, kwargs, n_inputs=n)
    except (InputError, InputTypeError) as exc:
        assert "fixed" in str(exc) or "n_inputs" in str(exc) or "input distribution failed" in str(exc)
        return
    call_args, call_kwargs = plan.call_arguments(plan.n_calls - 1)
    fixed(*call_args, **call_kwargs)
