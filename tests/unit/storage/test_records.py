"""The journal of finished calls and the resume plan made from it (storage.records, storage.resume).

An earlier run is fabricated as a run writes it: payloads through ``write_payload``, the
manifest through ``write_manifest`` and one journal line per outcome through ``Journal``.
Calls are identified by ``call_identities`` of a real plan, so keys are the ones a run uses.
"""

from __future__ import annotations

import pytest

from acme_like import InputError, read_payload
from acme_like.core.identity import call_identities
from acme_like.core.options import OutputSpec
from acme_like.core.outcome import FAILED, OK, CallFailure, TaskOutcome
from acme_like.core.plan import plan_calls
from acme_like.storage.layout import OutputLayout
from acme_like.storage.payload import write_payload
from acme_like.storage.records import Journal, read_journal, write_manifest
from acme_like.storage.resume import plan_resume, relocate, run_signature

SIGNATURE = run_signature("square", OutputSpec("hdf5", single_file=False, stack=None))


def square(x):
    return x * x


def identities(xs, version="1"):
    return call_identities(plan_calls(square, [list(xs)], {}), version=version)


def earlier_run(run_dir, xs, version="1", failed=()):
    """The directory an earlier run of ``square`` over ``xs`` left: payloads, manifest and journal."""
    layout = OutputLayout.for_run(run_dir, "square")
    layout.create()
    ids = identities(xs, version)
    write_manifest(layout, {**SIGNATURE, "seed_entropy": 7, "n_calls": len(ids.keys), "code": ids.code})
    journal = Journal(layout, ids.keys, ids.code, {})
    outcomes = []
    for i, x in enumerate(xs):
        if i in failed:
            outcomes.append(TaskOutcome(i, FAILED, failure=CallFailure(i, "exception", "ValueError", "bad", "", f"x={x}")))
            continue
        ref = write_payload(layout.payload_path(i), layout.pickle_path(i), square(x),
                            identity=ids.digest(i), identity_dir=layout.pickle_ids_dir)
        outcomes.append(TaskOutcome(i, OK, seconds=0.5, payload=ref))
    journal.record(outcomes)
    journal.close()
    return layout


def resume(layout, xs, version="1", rerun="missing"):
    return plan_resume(layout, identities(xs, version), SIGNATURE, rerun, seed=None, single_file=False)


def test_a_finished_run_keeps_every_result_and_runs_nothing(tmp_path):
    layout = earlier_run(tmp_path, range(5))
    plan = resume(layout, range(5))
    assert plan.todo == ()
    assert sorted(plan.done) == [0, 1, 2, 3, 4]
    assert plan.seed_entropy == 7
    assert plan.summary(5) == "5 of 5 calls already done, running 0"


def test_a_journal_line_cut_short_is_skipped_and_the_lines_before_it_count(tmp_path):
    layout = earlier_run(tmp_path, range(4))
    text = layout.journal_path.read_text()
    lines = text.splitlines(keepends=True)
    layout.journal_path.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])  # a crash mid-line
    assert sorted(read_journal(layout)) == [0, 1, 2]
    layout.payload_path(3).unlink()  # the call whose line was cut never finished its payload either
    plan = resume(layout, range(4))
    assert plan.todo == (3,)
    assert sorted(plan.done) == [0, 1, 2]


def test_damaged_lines_anywhere_in_the_journal_are_skipped_and_the_others_count(tmp_path):
    layout = earlier_run(tmp_path, range(6))
    lines = layout.journal_path.read_bytes().splitlines(keepends=True)
    damaged = [
        lines[0], b"\n", lines[1][:20] + b"\xff\xfe" + lines[1][20:], b"[1, 2]\n", lines[2].rstrip() + b"," + lines[3],
        lines[4].replace(b"\n", b"\r\n"), b'{"i": "x"}\n', b"null\n", lines[5],
    ]
    layout.journal_path.write_bytes(b"".join(damaged))
    assert sorted(read_journal(layout)) == [0, 4, 5]
    plan = resume(layout, range(6))
    assert sorted(plan.done) == [0, 1, 2, 3, 4, 5]  # the payloads of 1 to 3 are complete: adopted
    assert plan.adopted == 3


def test_the_latest_line_of_a_call_counts(tmp_path):
    layout = earlier_run(tmp_path, range(3))
    lines = layout.journal_path.read_text().splitlines(keepends=True)
    layout.journal_path.write_text("".join(lines) + lines[1].replace('"seconds":0.5', '"seconds":2.5'))
    assert read_journal(layout)[1]["seconds"] == 2.5
    assert resume(layout, range(3)).done[1].seconds == 2.5


def test_a_complete_payload_whose_journal_line_was_cut_short_is_adopted(tmp_path):
    layout = earlier_run(tmp_path, range(4))
    lines = layout.journal_path.read_text().splitlines(keepends=True)
    layout.journal_path.write_text("".join(lines[:3]) + lines[3][:10])
    plan = resume(layout, range(4))
    assert plan.todo == ()
    assert plan.adopted == 1
    assert "1 complete payloads the journal had not recorded adopted" in plan.summary(4)


def test_a_payload_whose_checksum_fails_is_damaged_and_runs_again(tmp_path):
    layout = earlier_run(tmp_path, range(4))
    damaged = layout.payload_path(2)
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    plan = resume(layout, range(4))
    assert plan.todo == (2,)
    assert plan.damaged == (2,)
    assert sorted(plan.done) == [0, 1, 3]
    assert "1 payloads missing or damaged, recomputed (calls 2)" in plan.summary(4)


def test_failed_calls_run_again_and_are_counted(tmp_path):
    layout = earlier_run(tmp_path, range(4), failed=(1,))
    plan = resume(layout, range(4))
    assert plan.todo == (1,)
    assert plan.n_failed_before == 1


def test_results_follow_their_arguments_not_their_position(tmp_path):
    layout = earlier_run(tmp_path, [1, 2, 3, 4])
    new_order = [4, 3, 2, 1, 5]
    plan = resume(layout, new_order)
    assert plan.todo == (4,)  # only x=5 is new
    assert sorted(plan.done) == [0, 1, 2, 3]
    assert plan.moved == 4
    relocate(layout, plan)
    for i, x in enumerate(new_order[:4]):
        assert read_payload(layout.payload_path(i)) == square(x)
    assert sorted(p.name for p in layout.payload_dir.glob("*.h5")) == [f"square_{i}.h5" for i in range(4)]


def test_rerun_all_keeps_nothing(tmp_path):
    layout = earlier_run(tmp_path, range(4))
    plan = resume(layout, range(4), rerun="all")
    assert tuple(plan.todo) == (0, 1, 2, 3)
    assert plan.done == {}


def test_results_of_other_code_are_stale_and_run_again(tmp_path):
    layout = earlier_run(tmp_path, range(3), version="1")
    plan = resume(layout, range(3), version="2")
    assert plan.todo == (0, 1, 2)
    assert plan.stale == (0, 1, 2)
    assert 'rerun="keep-stale"' in plan.stale_line("square")


def test_keep_stale_keeps_results_of_other_code_and_says_so(tmp_path):
    layout = earlier_run(tmp_path, range(3), version="1")
    plan = resume(layout, range(3), version="2", rerun="keep-stale")
    assert plan.todo == ()
    assert plan.kept_stale == (0, 1, 2)
    assert plan.stale_line("square").startswith("Keeping 3 results made by other code of square")


@pytest.mark.parametrize("change", [{"output": "pickle"}, {"single_file": True}])
def test_a_directory_of_another_kind_of_run_is_a_clear_error(tmp_path, change):
    layout = earlier_run(tmp_path, range(2))
    with pytest.raises(InputError, match=r"with other output settings .*Pass rerun=\"all\""):
        plan_resume(layout, identities(range(2)), {**SIGNATURE, **change}, "missing", seed=None, single_file=False)



def test_journal_lines_name_the_run_that_made_each_payload_and_a_kept_result_keeps_its_run(tmp_path):
    layout = earlier_run(tmp_path, range(3))
    ids = identities(range(3))
    first = resume(layout, range(3))
    kept = {i: {**first.lines[i], "run": "r1"} for i in (0, 1)}  # call 2 runs again in run r2
    journal = Journal(layout, ids.keys, ids.code, kept, "r2")
    journal.record([first.done[1], first.done[2]])  # call 1 journaled again (moved up), call 2 made now
    journal.close()
    lines = read_journal(layout)
    assert [lines[i]["run"] for i in range(3)] == ["r1", "r1", "r2"]
