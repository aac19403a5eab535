"""The identity of each call, so a later run can tell which results it can keep.

A call's identity has two parts:

* its **key**: the function's module and name, its argument values (arrays by their
  bytes, an existing file by path, size and modification time), and, for the k-th of
  several identical calls, k (with a seeded ``rng``, the call's index instead, since
  its stream depends on it). Keys say *which* call a result belongs to, whatever its
  position in the list of inputs.
* the **code digest** of ``func`` (:func:`acme_like.core.code.code_digest`), the same for every call of a
  run: results of other code are *stale*.

Pure apart from reading the source files of the user's functions and stat-ing file
arguments; no dask, no writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


from .code import _unwrap, code_digest
from .hashing import FileIds, feed
from .plan import CallPlan, function_name



@dataclass(frozen=True, slots=True)
class CallIdentities:
    """The keys of a run's calls, its code digest, and each call's full digest."""

    keys: tuple[str, ...]
    code: str
    input_files: tuple[tuple[str, int] | None, ...]  # (path, bytes) of a split file argument

    def digest(self, index: int) -> str:
        """Key and code together: the identity a payload carries."""
        return result_digest(self.keys[index], self.code)

    def digests(self) -> list[str]:
        return [self.digest(i) for i in range(len(self.keys))]


def result_digest(key: str, code: str) -> str:
    """The full digest of the call with ``key`` run by code ``code`` (as a journal line records them)."""
    return hashlib.blake2b(f"{key}:{code}".encode(), digest_size=16).hexdigest()


def call_identities(plan: CallPlan, version: str | None = None, hash_file_content: bool = False) -> CallIdentities:
    """The identity of every call of ``plan``; ``version`` pins the code part."""
    keys, inputs = _call_keys(plan, hash_file_content)
    return CallIdentities(keys=keys, code=code_digest(plan.func, version), input_files=inputs)


def call_digests(plan: CallPlan, version: str | None = None) -> list[str]:
    """One full digest per call (key and code)."""
    return call_identities(plan, version).digests()


def _call_keys(plan: CallPlan, hash_file_content: bool) -> tuple[tuple[str, ...], tuple[tuple[str, int] | None, ...]]:
    func = plan.func
    inner = _unwrap(func)
    name = f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', function_name(func))}"
    shared = hashlib.blake2b(name.encode(), digest_size=16)
    files = FileIds(hash_file_content)
    # Arguments passed whole to every call are identified by value: a path there is just its
    # text, since such a file is often one every call writes to (a log, a counter). Files
    # named by a split argument, one per call, are inputs: identified by size and mtime too.
    feed(shared, (plan.template.args, sorted(plan.template.kwargs.items()), plan.template.task_id))
    base = shared.digest()
    by_index = plan.template.rng or plan.template.task_id  # the call's index is one of its inputs
    keys: list[str] = []
    inputs: list[tuple[str, int] | None] = []
    seen: dict[bytes, int] = {}
    columns = plan.columns
    values_header = f"tuple:{len(columns)}".encode()  # what feed(h, plan.call_values(index)) starts with
    for index in range(plan.n_calls):
        h = hashlib.blake2b(base, digest_size=16)
        files.first = None
        h.update(values_header)
        for column in columns:
            feed(h, column[index], files)
        inputs.append(files.first)
        raw = h.digest()
        if by_index:
            occurrence = index
        else:
            occurrence = seen.get(raw, 0)
            seen[raw] = occurrence + 1
        keys.append(f"{raw.hex()}.{occurrence}")
    return tuple(keys), tuple(inputs)


def legacy_call_digests(plan: CallPlan) -> list[str]:
    """The digests record format 1 gave each call (index, function name, arguments), to tell
    which results of a migrated directory belong to which call (their code is unknown)."""
    func = plan.func
    inner = getattr(func, "func", func)
    identity = f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', function_name(func))}"
    shared = hashlib.blake2b(identity.encode(), digest_size=16)
    feed(shared, (plan.template.args, sorted(plan.template.kwargs.items()), plan.template.task_id))
    base = shared.digest()
    digests = []
    for index in range(plan.n_calls):
        h = hashlib.blake2b(base, digest_size=16)
        h.update(index.to_bytes(8, "little"))
        feed(h, plan.call_values(index))
        digests.append(h.hexdigest())
    return digests
