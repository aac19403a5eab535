"""How arguments become calls: which are split, which are passed whole, and the errors."""

from __future__ import annotations

import functools
import inspect

import numpy as np
import pytest

import funcs

from acme_like import InputError, ParallelMap
from acme_like.core.plan import plan_calls


def f(x, y, z=3):
    return x


def calls(plan):
    return [plan.call_arguments(i) for i in range(plan.n_calls)]


@pytest.mark.parametrize(
    "args, kwargs, n_calls, first_call",
    [
        (([1, 2, 3], 4), {}, 3, ([1, 4], {})),
        (((1, 2), 4), {}, 2, ([1, 4], {})),
        ((range(5), 0), {}, 5, ([0, 0], {})),
        ((np.arange(4.0), 1), {}, 4, ([0.0, 1], {})),
        ((np.ones((4, 1)), 1), {}, 4, ([1.0, 1], {})),  # 1-D after squeeze
        (([1, 2], [3, 4]), {}, 2, ([1, 3], {})),  # zip-style
        (([1, 2], np.ones((2, 3))), {}, 2, ([1, np.ones((2, 3))], {})),  # 2-D passed whole
        (([5],), {"y": "text"}, 1, ([5], {"y": "text"})),
        (([1, 2],), {"y": {"a": 1}, "z": [7, 8]}, 2, ([1], {"y": {"a": 1}, "z": 7})),
    ],
)
def test_split_and_broadcast(args, kwargs, n_calls, first_call):
    plan = plan_calls(f, args, kwargs)
    assert plan.n_calls == n_calls
    got = bound(*plan.call_arguments(0))
    want = bound(*first_call)
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def bound(args, kwargs, func=f):
    """The call func(*args, **kwargs) as parameter name -> value."""
    return dict(inspect.signature(func).bind(*args, **kwargs).arguments)


def test_nested_lists_split_along_the_outer_list():
    plan = plan_calls(f, ([[1, 2], [3, 4], [5, 6]], 0), {})
    assert [a[0] for a, _ in calls(plan)] == [[1, 2], [3, 4], [5, 6]]


def test_different_lengths_name_each_argument_and_the_fix():
    with pytest.raises(InputError) as caught:
        plan_calls(f, ([2, 4, 6, 8], np.ones(3)), {})
    message = str(caught.value)
    acme_line, ours = message.split("\n", 1)
    assert acme_line == "automatic input distribution failed: found 2 objects containing 3 to 4 elements. Please specify `n_inputs` manually."
    assert ours.startswith("x has 4 elements, y has 3 elements.")
    assert "Pass n_inputs=3 or n_inputs=4" in message
    assert isinstance(caught.value, ValueError)


def test_nothing_to_split_asks_for_n_inputs():
    with pytest.raises(InputError, match=r"no argument of f is a list, tuple, range or 1-D array.*Pass n_inputs=N"):
        plan_calls(f, (1, 2), {})


def test_explicit_n_inputs_splits_matching_lengths_and_passes_the_rest_whole():
    plan = plan_calls(f, ([2, 4, 6, 8], [2, 2]), {}, n_inputs=2)
    assert calls(plan) == [([[2, 4, 6, 8], 2], {}), ([[2, 4, 6, 8], 2], {})]


def test_explicit_n_inputs_repeats_the_call_when_nothing_has_that_length():
    plan = plan_calls(f, (2, 3), {}, n_inputs=4)
    assert calls(plan) == [([2, 3], {})] * 4
    assert plan.split_names == ()


def test_keyword_with_list_like_default_of_same_length_is_passed_whole():
    def g(x, window=(0, 1)):
        return x

    plan = plan_calls(g, ([1, 2],), {"window": (5, 6)})
    assert [bound(*c, func=g) for c in calls(plan)] == [{"x": 1, "window": (5, 6)}, {"x": 2, "window": (5, 6)}]
    plan = plan_calls(g, ([1, 2, 3],), {"window": (5, 6, 7)})  # differs in length from the default
    assert [bound(*c, func=g)["window"] for c in calls(plan)] == [5, 6, 7]


def test_task_id_is_injected_and_a_user_value_ignored():
    def g(x, taskID=None):
        return x

    plan = plan_calls(g, ([10, 20],), {"taskID": 99})
    assert calls(plan) == [([10], {"taskID": 0}), ([20], {"taskID": 1})]


def test_varargs_and_var_keywords_are_split_too():
    def g(*values, **extra):
        return values

    plan = plan_calls(g, ([1, 2], 5), {"k": [3, 4], "fixed": "a"})
    assert calls(plan) == [([1, 5], {"k": 3, "fixed": "a"}), ([2, 5], {"k": 4, "fixed": "a"})]


def test_partial_functions_and_builtins_without_signature():
    plan = plan_calls(functools.partial(f, z=10), ([1, 2], 0), {})
    assert plan.n_calls == 2
    plan = plan_calls(max, ([1, 5], [4, 2]), {})
    assert calls(plan) == [([1, 4], {}), ([5, 2], {})]


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([1, 2],), {}, r"f cannot be called with the arguments given to ParallelMap: missing a required argument: 'y'\. f takes \(x, y, z=3\)"),
        (([1, 2], 1, 2, 3), {}, r"too many positional arguments\. f takes \(x, y, z=3\)"),
        (([1, 2], 1), {"w": 1}, r"got an unexpected keyword argument 'w'\. f takes \(x, y, z=3\)"),
    ],
)
def test_arguments_the_function_cannot_take(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        plan_calls(f, args, kwargs)


@pytest.mark.parametrize(
    "n_inputs, error, match",
    [
        ("many", ValueError, r'n_inputs must be "auto" or an integer >= 1 \(the number of calls\), got \'many\''),
        (0, ValueError, r"got 0\. Pass n_inputs=1 or more\."),
        (-3, ValueError, r"got -3\."),
        (2.5, ValueError, r"got 2\.5\. Pass a whole number such as n_inputs=2\."),
        (True, TypeError, r"got bool True"),
        ({}, TypeError, r"got dict \{\}"),
    ],
)
def test_bad_n_inputs(n_inputs, error, match):
    with pytest.raises(error, match=match):
        plan_calls(f, ([1, 2], 0), {}, n_inputs=n_inputs)


def test_integral_float_n_inputs_is_accepted():
    assert plan_calls(f, ([1, 2], 0), {}, n_inputs=2.0).n_calls == 2


def test_first_argument_must_be_callable():
    with pytest.raises(TypeError, match=r"first argument must be the function to call, got int 3"):
        ParallelMap(3, [1, 2])


def test_large_arguments_are_named_in_a_warning():
    with pytest.warns(UserWarning, match=r"argument y is 2 MB, over the recommended limit of 1 MB"):
        plan_calls(f, ([1, 2], np.zeros((500, 500))), {}, max_arg_bytes=10**6)


def test_task_id_before_other_parameters_does_not_collide():
    def g(taskID, x, y=0):
        return x

    plan = plan_calls(g, ([10, 20], 5), {})
    assert [bound(*c, func=g) for c in calls(plan)] == [
        {"taskID": 0, "x": 10, "y": 5},
        {"taskID": 1, "x": 20, "y": 5},
    ]


def test_empty_lists_mean_no_calls_and_say_so():
    with pytest.raises(InputError, match=r"x of [a-z_]+ is empty, so there is no call to make"):
        plan_calls(f, ([], 1), {})


def test_a_pandas_series_as_long_as_the_calls_is_passed_whole_with_a_warning_naming_tolist():
    pd = pytest.importorskip("pandas")
    series = pd.Series([10, 20, 30])
    with pytest.warns(UserWarning, match=r"y is a pandas Series of 3 elements, one per call, but ParallelMap passes it whole.*y\.tolist\(\)") as caught:
        pmap = ParallelMap(funcs.add, [1, 2, 3], series, write_worker_results=False)
    assert caught[0].filename == __file__
    assert [list(args[1]) for args, _ in (pmap.plan.call_arguments(i) for i in range(3))] == [[10, 20, 30]] * 3
    frame = pd.DataFrame({"a": [1, 2, 3]})
    with pytest.warns(UserWarning, match=r"z is a pandas DataFrame of 3 elements"):
        ParallelMap(funcs.add, [1, 2, 3], 0, z=frame, write_worker_results=False)
    with pytest.warns(UserWarning, match=r"y is a pandas Series"):
        ParallelMap(funcs.add, [1, 2, 3], frame["a"], write_worker_results=False)


def test_an_xarray_dataarray_as_long_as_the_calls_is_passed_whole_with_a_warning():
    xr = pytest.importorskip("xarray")
    with pytest.warns(UserWarning, match=r"y is an xarray DataArray of 2 elements.*y\.tolist\(\)"):
        ParallelMap(funcs.add, [1, 2], xr.DataArray([5, 6]), write_worker_results=False)


def test_with_nothing_to_split_the_error_says_how_to_split_a_series():
    pd = pytest.importorskip("pandas")
    with pytest.raises(InputError, match=r"x is a pandas Series, which ACME passes whole: pass x\.tolist\(\) to split it"):
        ParallelMap(funcs.add, pd.Series([1, 2, 3]), 1, write_worker_results=False)


def test_an_argument_that_cannot_be_pickled_fails_before_any_worker_starts_or_file_is_made(tmp_path, monkeypatch):
    import threading

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"argument `y` \(_thread\.lock\) cannot be sent to worker processes: .*"
                                         r"Create it inside add .* or run with compute\(debug=True\)"):
        ParallelMap(funcs.add, [1, 2], threading.Lock()).compute()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match=r"argument `x\[1\]` \(_thread\.RLock\) cannot be sent"):
        ParallelMap(funcs.add, [1, threading.RLock()], 2, write_worker_results=False).compute()
    # In this process nothing is pickled, so debug mode takes it.
    assert ParallelMap(funcs.add, [1, 2], 0, z=threading.Lock(), write_worker_results=False) is not None


def test_the_pickling_check_costs_nothing_for_large_plain_arrays():
    import time

    from acme_like.execution.sending import check_sendable

    block = np.zeros((5_000_000, 5))  # 200 MB
    pmap = ParallelMap(funcs.total, [1, 2], offset={"a": block, "b": [block]}, write_worker_results=False)
    start = time.perf_counter()
    check_sendable(funcs.total, "total", pmap.plan)
    assert time.perf_counter() - start < 0.05


def _one(x):
    return x


def _three(x, y, w=0):
    return x


def _with_task_id(x, taskID=None):
    return x


@pytest.mark.parametrize("func, args, kwargs, n_inputs", [
    (_one, (list(range(6)),), {}, "auto"),
    (_one, (range(6),), {}, "auto"),
    (_three, (range(6), ["a", "b,c", "d", "e", "f", "g"]), {"w": np.arange(6.0)}, "auto"),
    (_with_task_id, (np.arange(6),), {}, "auto"),
    (_three, (1, 2), {}, 6),
])
def test_many_calls_described_at_once_read_as_each_call_described_alone(func, args, kwargs, n_inputs):
    plan = plan_calls(func, args, kwargs, n_inputs)
    for indices in ([0, 1, 2, 3, 4, 5], [2, 3], [5, 1, 3], []):
        assert plan.describe_calls(indices) == [plan.template.describe(i, plan.call_values(i)) for i in indices]


def test_consecutive_calls_read_pickle_and_slice_as_the_calls_they_stand_for():
    import pickle

    plan = plan_calls(_three, (range(10), [f"s{i}" for i in range(10)]), {"w": np.arange(10.0)}, "auto")
    rows = plan.calls_of(range(3, 8))
    expected = tuple((i, plan.call_values(i)) for i in range(3, 8))
    assert tuple(rows) == expected and rows == expected and len(rows) == 5 and rows[1] == expected[1]
    assert tuple(rows[2:]) == expected[2:] and tuple(pickle.loads(pickle.dumps(rows))) == expected
    assert tuple(plan_calls(_one, (list(range(4)),), {}, "auto").calls_of(range(1, 3))) == ((1, (1,)), (2, (2,)))


def test_only_consecutive_increasing_indices_read_as_a_range():
    from acme_like.core.plan import consecutive

    assert consecutive([3, 4, 5]) == range(3, 6) and consecutive(range(2, 4)) == range(2, 4)
    assert consecutive([7]) == range(7, 8)
    for indices in ([], [0, 2, 2], [5, 4, 3], [1, 3], [0, 1, 3, 3]):
        assert consecutive(indices) is None, indices
