"""Identity encoding of argument values: different values never hash alike, equal ones always do.

The digests pinned here are call identities that run directories store: a change of one
means every stored result of such a call is run again after an upgrade (never reused wrongly).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import subprocess
import sys
import types
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from acme_like.core.hashing import feed

ROOT = Path(__file__).parents[3]

#: Frozen dataclasses as the pipeline uses them, defined in a module of their own name, so a
#: fresh interpreter defines the very same classes.
SOURCE = '''
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Item:
    stage: str
    index: int
    path: str | None = None
    token: tuple = (0, 0)
    value: Any = None
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Other:
    stage: str
    index: int
    path: str | None = None
    token: tuple = (0, 0)
    value: Any = None
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Swapped:
    index: int
    stage: str


@dataclass(frozen=True, slots=True)
class One:
    x: Any


@dataclass(frozen=True)
class WithDict:
    x: Any


@dataclass(frozen=True, slots=True)
class OwnPickle:
    x: Any

    def __reduce__(self):
        return (OwnPickle, (0,))


@dataclass
class Mutable:
    x: Any
'''


def _module():
    module = sys.modules["identity_golden"] = types.ModuleType("identity_golden")  # pickle finds classes there
    exec(compile(SOURCE, "identity_golden.py", "exec", dont_inherit=True), module.__dict__)
    return module


golden = _module()
Item, Other, Swapped, One = golden.Item, golden.Other, golden.Swapped, golden.One


def digest(value, files=None):
    h = hashlib.blake2b(digest_size=16)
    feed(h, value, files)
    return h.hexdigest()


SCALARS = [
    1, 1.0, True, "1", b"1", None, 0, 0.0, -0.0, False, "", b"", "True", "None", 2**70, float("inf"),
    np.float64(1.0), np.float32(1.0), np.int64(1), np.int32(1), np.bool_(True), np.str_("1"),
    Path("1"), PurePosixPath("1"), (1,), [1], (1, 2), [1, 2], (2, 1), ((1,), 2), (1, (2,)), ((1, 2),),
    [[1], 2], ([1], 2), (), [], ((),), "\udcff", "é", np.arange(2), np.arange(2.0), {"a": 1}, {1, 2},
]


def test_distinct_values_never_share_a_digest():
    digests = {}
    for value in SCALARS:
        digests.setdefault(digest(value), []).append(value)
    assert [values for values in digests.values() if len(values) > 1] == []


def test_distinct_dataclass_values_never_share_a_digest():
    values = [Item("s", 1, value=v) for v in SCALARS[:24]] + [One(v) for v in SCALARS[:24]]
    values += [
        Item("s", 2), Item("t", 1), Item("s", 1, path="p"), Item("s", 1, path=""),
        Item("s", 1, token=(1, 2)), Item("s", 1, token=(2, 1)), Item("s", 1, token=[1, 2]), Item("s", 1, token=("1", "2")),
        Item("s", 1, failed=True), Item("s", 1, failed=1), Other("s", 1), Swapped(1, "s"), Swapped("s", 1),
        One(Item("s", 1)), One(One(1)), One((1,)), One(("s", 1, None, (0, 0), None, False)),
        ("s", 1, None, (0, 0), None, False), Item("s\0", 1), Item("", 1, path="s"),
        Item("s", 1, value=np.arange(3)), Item("s", 1, value=np.arange(3.0)), Item("s", 1, value=Item("s", 1)),
        golden.WithDict(1), golden.Mutable(1), golden.OwnPickle(1),
    ]
    digests = {}
    for value in values:
        digests.setdefault(digest(value), []).append(value)
    assert [group for group in digests.values() if len(group) > 1] == []
    assert len(digests) == len(values)


def test_values_inside_lists_and_tuples_keep_their_positions():
    a, b = Item("s", 1), Item("s", 2)
    combos = [list(p) for n in range(3) for p in itertools.permutations([a, b, 1], n)]
    combos += [tuple(c) for c in combos]
    assert len({digest(c) for c in combos}) == len(combos)


def test_equal_values_built_separately_share_a_digest():
    path = os.path.join("dir", "f_1.h5")
    assert digest(Item("s", 1, path=path, token=(5, 6))) == digest(Item("s", 1, path="dir/f_1.h5", token=(5, 6)))
    assert digest(Item("s", 1, value=np.arange(3))) == digest(Item("s", 1, value=np.arange(3)))
    assert digest(golden.WithDict((1, 2))) == digest(golden.WithDict((1, 2)))


def test_equal_fields_share_a_digest_however_their_strings_are_shared():
    shared = "run:" + "abc"
    together = [Item("s", i, token=("k:c", shared)) for i in range(3)]
    apart = [Item("s", i, token=("k:c", "run:" + "abc"[: 3 - j] + "abc"[3 - j:])) for j, i in enumerate(range(3))]
    assert all(a.token[1] is shared for a in together) and apart[0].token[1] is not apart[1].token[1]
    assert digest(One(tuple(together))) == digest(One(tuple(apart)))
    assert digest(tuple(together)) == digest(tuple(apart))


def test_a_field_that_cannot_be_pickled_still_gets_an_identity():
    func = lambda x: x  # noqa: E731
    assert digest(One(func)) == digest(One(func))
    assert digest(One(func)) != digest(One(1))


def test_file_arguments_are_identified_by_content_only_outside_dataclasses(tmp_path):
    from acme_like.core.hashing import FileIds

    target = tmp_path / "in.txt"
    target.write_text("a")
    before = digest((str(target), One(str(target))), FileIds(by_content=True))
    target.write_text("b")
    after = digest((str(target), One(str(target))), FileIds(by_content=True))
    assert before != after  # the top-level path names a file: its content counts
    assert digest(One(str(target)), FileIds(by_content=True)) == digest(One(str(target)))  # a field is its text


def _digests_in_fresh_interpreter(hash_seed):
    code = (
        "import hashlib, sys, types\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from acme_like.core.hashing import feed\n"
        "module = sys.modules['identity_golden'] = types.ModuleType('identity_golden')\n"
        f"exec({SOURCE!r}, module.__dict__)\n"
        "Item, One = module.Item, module.One\n"
        f"for value in {VALUES_TEXT}:\n"
        "    h = hashlib.blake2b(digest_size=16); feed(h, value); print(h.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return done.stdout.split()


#: Values given as text, built the same way here and in a fresh interpreter.
VALUES_TEXT = (
    "[1, 1.0, 'x', (1, 'x'), [None, True], {'b': 2, 'a': 1}, Item('first', 3, path='first/f_payload/f_3.h5', "
    "token=(6152, 1796124353636092752)), Item('s', 0, value=2.5), One(One(('a', b'b')))]"
)


@pytest.mark.parametrize("hash_seed", [0, 12345])
def test_digests_are_the_same_in_every_interpreter(hash_seed):
    here = [digest(value) for value in eval(VALUES_TEXT)]  # noqa: S307 - our own literal
    assert _digests_in_fresh_interpreter(hash_seed) == here


def test_digests_are_pinned():
    # What run directories store: a change reruns such calls once after an upgrade. The first
    # six are the digests of acme_like before frozen dataclasses were fed field by field; the last
    # three those of frozen dataclasses fed each field on its own.
    found = [digest(value) for value in eval(VALUES_TEXT)]  # noqa: S307 - our own literal
    assert found == [
        "79bd330fb990067999f85832500688c4", "49c97960f7a96b498ebf01dbff497438", "3ee550c218739280ea8aa22a939365b4",
        "2fd9f56af4cb4922cb03b26e5b8b7877", "1f2acc24e13c5a64fc0326d3c4d1895f", "04db05a2df11d708b04a919143fe0da2",
        "86310e2f90ebf8ee7833ede1f8eb4aed", "b7da093f944f130b4b552d00483ff32e", "f314df2c3ee6b3196a40a973142fa7bb",
    ]


def test_frozen_dataclasses_keep_their_class_in_the_identity():
    assert dataclasses.is_dataclass(Item) and digest(Item("s", 1)) != digest(Other("s", 1))


def test_call_keys_of_plain_arguments_are_those_run_directories_already_hold():
    import operator

    from acme_like.core.identity import call_identities
    from acme_like.core.plan import plan_calls

    # Pinned from acme_like before this encoding work: results of such calls are still found.
    plan = plan_calls(operator.add, [[1, 2.5, "x", (1, 2), np.arange(2)], 3], {})
    assert call_identities(plan).keys == (
        "ee256f069d3c59656f7d43d21fd7e5dd.0", "7c33880773ee4b814772ee465d0a99f9.0", "824f3e82185f21bb38efbcfb9f102428.0",
        "4bd80cea50cc73daa9396f522c36fcba.0", "ad24d83a40d1bd9763f7babb95e6865b.0",
    )
    assert call_identities(plan_calls(operator.add, [[1, 2], [3, 4]], {})).keys == (
        "a42ba4553c2b49c33391836db345cedf.0", "fbd58a38fc1bcb61d8b4276dec426c28.0",
    )


def test_keys_and_digests_of_many_calls_at_once_are_those_of_each_call():
    from acme_like.core.identity import call_identities, keys_at
    from acme_like.core.plan import plan_calls

    def g(x, y=0):
        return x

    ids = call_identities(plan_calls(g, ([1, 2, 1, 3, 1, 2],), {"y": [5, 6, 5, 7, 5, 6]}, 6))
    keys = list(ids.keys)
    assert len(set(keys)) == 6 and keys[0].endswith(".0") and keys[2].endswith(".1")  # a repeated call counts up
    for indices in ([0, 1, 2, 3, 4, 5], [2, 3, 4], [5, 0, 3], [4], []):
        assert keys_at(ids.keys, indices) == [keys[i] for i in indices] == keys_at(keys, indices)
        assert ids.digests_of_keys(keys_at(ids.keys, indices)) == [ids.digest(i) for i in indices]
