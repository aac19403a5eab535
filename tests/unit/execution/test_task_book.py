"""The task book's rules, without a cluster: keys, groups, suspects, deaths, re-sent context."""

from __future__ import annotations

from types import SimpleNamespace

from acme_like.execution.book import MAX_REQUEUES, TaskBook


def book(lost_retries=2):
    sent = []

    def scatter():
        sent.append(SimpleNamespace(status="finished"))
        return sent[-1]

    return TaskBook("f-run", lost_retries, scatter), sent


def test_keys_are_unique_per_submission_and_name_the_first_call():
    tasks, _ = book()
    assert tasks.keys([[0, 1], [2, 3]]) == ["f-run-0", "f-run-2"]
    assert tasks.keys([[0]]) == ["f-run-0-retry1"]
    assert tasks.in_flight == 3
    assert tasks.take("f-run-2") == ((2, 3), False)
    assert tasks.in_flight == 2


def test_the_calls_of_a_task_whose_worker_died_run_alone_once_nothing_else_runs():
    tasks, _ = book()
    tasks.keys([[0, 1, 2], [3, 4, 5]])
    calls, solo = tasks.take("f-run-0")
    assert tasks.killed(calls, solo) == []  # a batch: nobody is blamed yet
    assert tasks.next_suspect() is None  # another task is still in flight
    tasks.take("f-run-3")
    assert [tasks.next_suspect() for _ in range(4)] == [0, 1, 2, None]


def test_a_call_fails_only_after_taking_its_worker_down_alone_more_than_lost_retries_times():
    tasks, _ = book(lost_retries=2)
    tasks.keys([[7]])
    tasks.killed(*tasks.take("f-run-7"))
    for attempt in range(3):
        assert tasks.next_suspect() == 7
        (key,) = tasks.keys([[7]], solo=True)
        failed = tasks.killed(*tasks.take(key))
        assert failed == ([7] if attempt == 2 else [])
    assert tasks.deaths(7) == 3
    assert tasks.next_suspect() is None


def test_a_killed_worker_reports_how_many_deaths_it_saw():
    tasks, _ = book(lost_retries=2)
    (key,) = tasks.keys([[4]], solo=True)
    assert tasks.killed(*tasks.take(key), deaths=4) == [4]  # dask moved it 3 times, all alone


def test_a_task_cancelled_with_others_runs_again_as_it_was_then_becomes_suspect():
    tasks, _ = book()
    for n in range(MAX_REQUEUES):
        (key,) = tasks.keys([[0, 1]])
        tasks.cancelled(tasks.take(key)[0])
        assert tasks.take_again() == [(0, 1)]
        assert tasks.take_again() == []
    (key,) = tasks.keys([[0, 1]])
    tasks.cancelled(tasks.take(key)[0])
    assert tasks.take_again() == []
    assert [tasks.next_suspect(), tasks.next_suspect()] == [0, 1]


def test_the_context_is_sent_again_only_when_lost():
    tasks, sent = book()
    first = tasks.shared()
    assert tasks.shared() is first and len(sent) == 1
    first.status = "lost"
    assert tasks.shared() is not first and len(sent) == 2
    assert tasks.scattered == sent


def test_a_call_that_took_its_worker_down_alone_runs_again_after_the_other_suspects():
    tasks, _ = book()
    tasks.keys([[4, 5, 6]])
    tasks.killed(*tasks.take("f-run-4"))
    assert tasks.next_suspect() == 4
    (key,) = tasks.keys([[4]], solo=True)
    assert tasks.killed(*tasks.take(key)) == []
    assert [tasks.next_suspect() for _ in range(4)] == [5, 6, 4, None]
