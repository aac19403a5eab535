"""What travels from one stage to the next: items, the markers that ask for them, the call wrapper.

A stage argument that is an earlier stage (or ``stage.paths`` / ``stage.gathered``)
is replaced, per call, by an :class:`UpstreamItem`: where the upstream result is and
what made it. Its fields are part of the call's identity, so a recomputed upstream
result reruns exactly the calls that read it. An item of a result on disk is known
before its call runs (the planned payload path and the token), which is what lets
a later stage start while its upstream stage still runs. On the worker, :class:`StageCall`
turns the item into what the user's function asked for (the value or the path),
and checks what the function returns against the stage's declared schema.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

from ..core.schema import Schema

if TYPE_CHECKING:
    from .pipeline import Stage

#: How a call receives its upstream item: the value, the payload path, or every item at once.
Form = Literal["value", "path", "gathered"]


@dataclass(frozen=True, slots=True)
class StageInput:
    """A stage argument standing for the results of stage ``stage``, in the given form."""

    stage: "Stage"
    form: Form


@dataclass(frozen=True, slots=True)
class UpstreamItem:
    """One result of an earlier stage, as a later call reads it.

    ``token`` identifies the stored result: the key and code of the call that made it and
    the id of the run that wrote it (``prepare.result_tokens``), so a recomputed result is a
    new item even when its path is the same. ``path`` is where the payload was planned
    (``layout.payload_path(i)``); :func:`resolve` finds it where it is now.
    """

    stage: str
    index: int
    path: str | None = None
    element: int | None = None  # position in a fanned-out call's results
    n_elements: int = 1
    token: tuple[str, str] = ("", "")
    value: Any = None  # the value itself, when the upstream stage keeps results in memory
    failed: bool = False

    def describe(self) -> str:
        where = f"item {self.index}" if self.element is None else f"item {self.index}.{self.element}"
        return f"{self.stage} {where}"

    def __repr__(self) -> str:  # what call summaries, failure records and the report show
        where = f"{self.index}" if self.element is None else f"{self.index}.{self.element}"
        return f"<{self.stage}[{where}]{' failed' if self.failed else ''}>"


@dataclass(frozen=True, slots=True)
class Gathered:
    """Every item of an earlier stage, for one call that reads them all (never split)."""

    items: tuple[UpstreamItem, ...]


class UpstreamFailed(RuntimeError):
    """The upstream result a call needs failed, so this call cannot run."""


def resolve(item: UpstreamItem, form: Form) -> Any:
    """What a call receives for ``item``."""
    if item.failed:
        raise UpstreamFailed(f"{item.describe()} failed, so this call was not run; fix it and run the pipeline again.")
    if item.path is None:
        return item.value
    if form == "path":
        return _stored_at(item.path)
    from ..storage.payload import read_payload

    for attempt in range(3):
        try:
            value = read_payload(_stored_at(item.path))
            break
        except FileNotFoundError:  # moved up between the look and the read (the upstream run's end)
            if attempt == 2:
                raise
    if item.element is not None and item.n_elements > 1:
        value = value[item.element]
    return value


def _stored_at(path: str) -> str:
    """Where the payload planned at ``path`` is now: there, pickled beside it (values HDF5
    cannot hold), or moved up into its run directory by ACME's emergency pickling."""
    from ..storage.layout import payload_whereabouts

    for candidate in payload_whereabouts(path):
        if candidate.exists():
            return str(candidate)
    return path


class StageCall:
    """The user's function, called with resolved upstream items; checks its return value.

    Keeps the function's name, signature and module (``functools.update_wrapper``), so
    argument binding, file names and messages are the user's own.
    """

    def __init__(self, func: Callable[..., Any], stage: str, forms: dict[str, Form], returns: Schema | None, fan_out: bool) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.stage = stage
        self.forms = forms
        self.returns = returns
        self.fan_out = fan_out

    def __acme_like_identity__(self) -> tuple[Any, ...]:
        """What of the wrapper changes what a call computes (the wrapped code counts on its own)."""
        returns = None if self.returns is None else self.returns.describe()
        return (self.stage, sorted(self.forms.items()), returns, self.fan_out)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(self._resolved(f"args[{i}]", a) for i, a in enumerate(args))
        kwargs = {k: self._resolved(k, v) for k, v in kwargs.items()}
        returned = self.func(*args, **kwargs)
        if self.fan_out:
            if not isinstance(returned, (list, tuple)):
                raise TypeError(
                    f"stage {self.stage!r} fans out (fan_out=True), so each call must return a list or tuple "
                    f"of items; got {type(returned).__name__}."
                )
            items = tuple(returned)
            if self.returns is not None:
                for position, item in enumerate(items):
                    self._check(item, f" (returned item {position})")
            return items
        if self.returns is not None:
            self._check(returned, "")
        return returned

    def _resolved(self, name: str, value: Any) -> Any:
        form = self.forms.get(name)
        if form is None:
            return value
        if form == "gathered":
            return [resolve(item, "value") for item in value.items]
        return resolve(value, form)

    def _check(self, value: Any, which: str) -> None:
        assert self.returns is not None
        why = self.returns.mismatch(value)
        if why is not None:
            raise TypeError(f"stage {self.stage!r} returned a value that does not fit returns={self.returns.describe()}{which}: {why}.")
