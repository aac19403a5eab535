"""``Stage``: one map of a pipeline, as declared; its items and results once the pipeline ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..core.schema import Schema
from ..errors import PipelineError
from .items import StageInput, UpstreamItem

if TYPE_CHECKING:
    from .pipeline import Pipeline


@dataclass(eq=False)
class Stage:
    """One map of a pipeline. Pass it (or ``.paths``, ``.gathered``) as an argument of a later stage."""

    name: str
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    keywords: dict[str, Any]
    returns: Schema | None = None
    reads: Schema | None = None
    fan_out: bool = False
    pipeline: "Pipeline | None" = field(default=None, repr=False)
    _items: tuple[UpstreamItem, ...] | None = field(default=None, repr=False)
    _results: Any = field(default=None, repr=False)

    @property
    def paths(self) -> StageInput:
        """Each call of the later stage gets the path of this stage's payload instead of its value."""
        return StageInput(self, "path")

    @property
    def gathered(self) -> StageInput:
        """One call of the later stage gets the values of every item of this stage, as a list."""
        return StageInput(self, "gathered")

    @property
    def upstream(self) -> tuple["Stage", ...]:
        found = []
        for value in (*self.args, *self.kwargs.values()):
            stage = value if isinstance(value, Stage) else value.stage if isinstance(value, StageInput) else None
            if stage is not None and stage not in found:
                found.append(stage)
        return tuple(found)

    @property
    def items(self) -> tuple[UpstreamItem, ...]:
        """This stage's results as items for the next stage (after ``Pipeline.run``)."""
        if self._items is None:
            raise PipelineError(f"stage {self.name!r} has not run yet: call pipeline.run() first.")
        return self._items

    @property
    def results(self) -> Any:
        """What ``ParallelMap.compute()`` would return for this stage's last run."""
        if self._items is None:
            raise PipelineError(f"stage {self.name!r} has not run yet: call pipeline.run() first.")
        return self._results
