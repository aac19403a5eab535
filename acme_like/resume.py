"""Decide which calls a run still has to make, from what an earlier run in the same directory left.

A call is skipped when the journal records it as done with the same argument digest
and its payload still verifies; every other call runs (never run, failed, damaged,
or called with other arguments now). ``rerun="all"`` runs everything. The manifest
must describe the same kind of output, or the run is refused with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InputError
from .journal import read_manifest, read_prior
from .layout import OutputLayout
from .options import OutputSpec
from .outcome import TaskOutcome


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """The calls to run now, the verified outcomes kept from before, and the run's seed."""

    todo: tuple[int, ...]
    done: Mapping[int, TaskOutcome]
    n_failed_before: int
    damaged: tuple[int, ...]
    seed_entropy: int

    def summary(self, n_calls: int) -> str:
        parts = [f"{len(self.done):,} of {n_calls:,} calls already done, running {len(self.todo):,}"]
        if self.n_failed_before:
            parts.append(f"{self.n_failed_before:,} failed before")
        if self.damaged:
            parts.append(
                f"{len(self.damaged):,} payloads missing or damaged, recomputed (calls {', '.join(map(str, self.damaged[:10]))})"
            )
        return "; ".join(parts)


def run_signature(func_name: str, output: OutputSpec) -> dict[str, Any]:
    """What must match for a run to resume another run's results."""
    stack = output.stack
    return {
        "func": func_name,
        "output": output.mode,
        "single_file": output.single_file,
        "result_shape": None if stack is None else repr(stack.declared),
        "result_dtype": None if stack is None else str(stack.dtype),
    }


def plan_resume(
    layout: OutputLayout,
    digests: Sequence[str],
    signature: Mapping[str, Any],
    rerun: str,
    seed: int | None,
    single_file: bool,
) -> ResumePlan:
    """What to run in ``layout`` now; raises InputError if it holds a different kind of run."""
    n_calls = len(digests)
    manifest = read_manifest(layout)
    if manifest is None or rerun == "all":
        entropy = seed if seed is not None else _fresh_entropy(manifest)
        return ResumePlan(tuple(range(n_calls)), {}, 0, (), entropy)
    earlier = {key: manifest.get(key) for key in signature}
    if earlier != dict(signature):
        changed = ", ".join(f"{k}: {earlier[k]!r} then, {signature[k]!r} now" for k in signature if earlier[k] != signature[k])
        raise InputError(
            f"output_dir {layout.run_dir} holds an earlier run of {layout.stem} with other output "
            f"settings ({changed}). Pass rerun=\"all\" to replace its results, or another output_dir."
        )
    if seed is not None and manifest.get("seed_entropy") not in (None, seed):
        raise InputError(
            f"output_dir {layout.run_dir} holds an earlier run of {layout.stem} seeded with "
            f"{manifest.get('seed_entropy')}, not {seed}. Pass rerun=\"all\" to run every call with the new seed."
        )
    entropy = int(manifest["seed_entropy"]) if manifest.get("seed_entropy") is not None else _fresh_entropy(None)
    in_container = single_file and layout.container_path.exists()
    prior = read_prior(layout, digests, n_calls, in_container)
    if single_file and not layout.container_path.exists():
        prior = type(prior)({}, prior.failed, ())
    todo = tuple(i for i in range(n_calls) if i not in prior.done)
    return ResumePlan(todo, prior.done, len(prior.failed & set(todo)), prior.damaged, entropy)


def _fresh_entropy(manifest: Mapping[str, Any] | None) -> int:
    if manifest is not None and manifest.get("seed_entropy") is not None:
        return int(manifest["seed_entropy"])
    return int(np.random.SeedSequence().entropy)
