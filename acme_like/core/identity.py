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
import operator
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence, overload

import numpy as np

from .code import _unwrap, code_digest
from .hashing import FileIds, feed
from .plan import CallPlan, consecutive, function_name


class CallKeys(Sequence[str]):
    """The keys of a run's calls, ``<digest in hex>.<occurrence>``, kept as 16 bytes and a
    count per call (a tuple of a million key strings costs the parent about 90 MB)."""

    __slots__ = ("_raw", "_occurrence")

    def __init__(self, raw: bytes, occurrence: np.ndarray) -> None:
        self._raw, self._occurrence = raw, occurrence

    def __len__(self) -> int:
        return len(self._occurrence)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = operator.index(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"call {index} of {len(self)}")
        return f"{self._raw[16 * i : 16 * i + 16].hex()}.{int(self._occurrence[i])}"

    def __iter__(self) -> Iterator[str]:
        raw = self._raw
        for i, occurrence in enumerate(self._occurrence.tolist()):
            yield f"{raw[16 * i : 16 * i + 16].hex()}.{occurrence}"

    def many(self, indices: Sequence[int]) -> list[str]:
        """The keys of calls ``indices`` (in range), made in one pass."""
        raw, occurrence = self._raw, self._occurrence
        counts = occurrence[list(indices)].tolist()
        span = consecutive(indices)
        if span is not None:
            text = raw[16 * span.start : 16 * span.stop].hex()  # consecutive calls: one conversion
            return [f"{text[32 * k : 32 * k + 32]}.{n}" for k, n in enumerate(counts)]
        return [f"{raw[16 * i : 16 * i + 16].hex()}.{n}" for i, n in zip(indices, counts)]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CallKeys):
            return self._raw == other._raw and bool(np.array_equal(self._occurrence, other._occurrence))
        return isinstance(other, (tuple, list)) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))


class CallDigests(Mapping[int, str]):
    """Each call's full digest by index, made when asked for (not held: one per call)."""

    def __init__(self, ids: "CallIdentities") -> None:
        self._ids = ids

    def __getitem__(self, index: int) -> str:
        return self._ids.digest(index)

    def __len__(self) -> int:
        return len(self._ids.keys)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))


@dataclass(frozen=True, slots=True)
class CallIdentities:
    """The keys of a run's calls, its code digest, and each call's full digest."""

    keys: Sequence[str]
    code: str
    input_files: tuple[tuple[str, int] | None, ...]  # (path, bytes) of a split file argument

    def digest(self, index: int) -> str:
        """Key and code together: the identity a payload carries."""
        return result_digest(self.keys[index], self.code)

    def digests(self) -> list[str]:
        return [self.digest(i) for i in range(len(self.keys))]

    def digests_of_keys(self, keys: Sequence[str]) -> list[str]:
        """The full digests of the calls with these keys (``keys_at(self.keys, indices)``)."""
        code = self.code
        return [result_digest(key, code) for key in keys]


def keys_at(keys: Sequence[str], indices: Sequence[int]) -> list[str]:
    """``[keys[i] for i in indices]``, in one pass when ``keys`` are packed."""
    return keys.many(indices) if isinstance(keys, CallKeys) else [keys[i] for i in indices]


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


def _call_keys(plan: CallPlan, hash_file_content: bool) -> tuple[CallKeys, tuple[tuple[str, int] | None, ...]]:
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
    raw = bytearray()
    inputs: list[tuple[str, int] | None] = []
    columns = plan.columns
    values_header = f"tuple:{len(columns)}".encode()  # what feed(h, plan.call_values(index)) starts with
    for index in range(plan.n_calls):
        h = hashlib.blake2b(base, digest_size=16)
        files.first = None
        h.update(values_header)
        for column in columns:
            feed(h, column[index], files)
        inputs.append(files.first)
        raw += h.digest()
    occurrence = np.arange(plan.n_calls, dtype=np.int64) if by_index else _occurrences(bytes(raw))
    return CallKeys(bytes(raw), occurrence), tuple(inputs)


def _occurrences(raw: bytes) -> np.ndarray:
    """For each 16-byte digest in ``raw``, how many equal ones come before it."""
    words = np.frombuffer(raw, dtype=np.uint64).reshape(-1, 2)
    n = len(words)
    order = np.lexsort((words[:, 1], words[:, 0]))  # stable: equal digests stay in call order
    ranked = words[order]
    first = np.ones(n, dtype=bool)
    first[1:] = np.any(ranked[1:] != ranked[:-1], axis=1)
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    occurrence = np.empty(n, dtype=np.int64)
    occurrence[order] = np.arange(n) - group_start
    return occurrence


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
