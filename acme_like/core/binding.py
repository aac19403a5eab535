"""Bind the arguments given to ``ParallelMap`` to ``func``'s signature.

``bind_arguments`` turns them into one :class:`Slot` per parameter they fill (or
says, with ACME's line first, why they do not fit); ``keyword_parameters`` names
the parameters ``func`` takes by name, which decides whether a keyword that
acme_like also reads is ``func``'s (as ACME would pass it). Pure: no files, no dask.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..errors import InputError
from .checks import prefix_acme_line

#: The parameter name through which ``func`` asks for its 0-based call index (ACME's name).
TASK_ID = "taskID"
#: The parameter name through which ``func`` asks for its own random generator.
RNG = "rng"

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@dataclass(frozen=True, slots=True)
class Slot:
    """One parameter of ``func`` that an argument fills: its name, value, default, and how it is passed."""

    name: str
    value: Any
    default: Any
    keyword: str | None  # None: positional


def keyword_parameters(func: Callable[..., Any]) -> frozenset[str]:
    """The names ``func``'s signature lists that a keyword can fill (``**kwargs`` names none)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(p.name for p in params if p.kind in _BY_NAME)


def bind_arguments(
    func: Callable[..., Any], name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[list[Slot], bool, bool]:
    """``func``'s parameters that the arguments fill, as slots, and whether ``taskID`` and ``rng``
    are injected; an InputError (ACME's line first, when ACME has one) if they do not fit."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        # Builtins without a signature: take the arguments as given.
        slots = [Slot(f"argument {i}", value, inspect.Parameter.empty, None) for i, value in enumerate(args)]
        slots += [Slot(key, value, inspect.Parameter.empty, key) for key, value in kwargs.items()]
        return slots, False, False

    params = signature.parameters
    task_id = TASK_ID in params and params[TASK_ID].kind is not inspect.Parameter.POSITIONAL_ONLY
    # Parameters after taskID are passed by name, so the injected index cannot collide with them.
    after_task_id = set(list(params)[list(params).index(TASK_ID) + 1 :]) if task_id else set()
    # A generator is injected only when func has an ``rng`` parameter the user gave no value for.
    rng = RNG in params and RNG not in kwargs and params[RNG].kind in _BY_NAME
    injected = {TASK_ID} if task_id else set()
    if rng:
        injected.add(RNG)
        after_task_id |= set(list(params)[list(params).index(RNG) + 1 :])
    if injected:
        kwargs = {key: value for key, value in kwargs.items() if key != TASK_ID}
        signature = signature.replace(parameters=[p for p in params.values() if p.name not in injected])
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        message = (
            f"{name} cannot be called with the arguments given to ParallelMap: {exc}. "
            f"{name} takes ({_describe_parameters(signature)}); pass one value, or one list "
            f"of per-call values, for each parameter without a default."
        )
        line = _acme_count_line(name, signature, args, kwargs)
        raise InputError(message if line is None else prefix_acme_line(line, message)) from None

    slots: list[Slot] = []
    gap = False
    for param in signature.parameters.values():
        gap = gap or param.name in after_task_id
        if param.name not in bound.arguments:
            gap = gap or param.kind in _POSITIONAL
            continue
        value = bound.arguments[param.name]
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            slots += [Slot(f"{param.name}[{i}]", item, inspect.Parameter.empty, None) for i, item in enumerate(value)]
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            slots += [Slot(key, item, inspect.Parameter.empty, key) for key, item in value.items()]
        elif param.kind is inspect.Parameter.POSITIONAL_ONLY or (
            param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and not gap
        ):
            slots.append(Slot(param.name, value, param.default, None))
        else:
            slots.append(Slot(param.name, value, param.default, param.name))
    return slots, task_id, rng


def _acme_count_line(name: str, signature: inspect.Signature, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
    """ACME's line when the arguments do not fit by count (ACME has none for an unknown name)."""
    params = list(signature.parameters.values())
    required = [p.name for p in params if p.kind in _POSITIONAL and p.default is inspect.Parameter.empty]
    optional = [p.name for p in params if p.kind in _BY_NAME and p.default is not inspect.Parameter.empty]
    found = len(args) + sum(1 for key in kwargs if key in required)
    takes_more = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    if found < len(required) or (not takes_more and len(args) > sum(p.kind in _POSITIONAL for p in params)):
        return f"{name} expects {len(required)} positional arguments ({_quoted(required)}), found {found}"
    given = [key for key in kwargs if key not in required]
    if len(given) > len(optional):
        return f"{name} accepts at maximum {len(optional)} keyword arguments ({_quoted(optional)}), found {len(given)}"
    return None


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _describe_parameters(signature: inspect.Signature) -> str:
    text = str(signature)
    return text[1:-1] if text.startswith("(") else text
