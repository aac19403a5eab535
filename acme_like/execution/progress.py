"""Show how many calls finished and failed, with a tqdm bar (terminal or notebook).

Advanced from completion events by the runner; it never polls futures. Stages of a
pipeline running at the same time each get a bar on a line of their own (``position``;
a notebook shows one widget per bar), with the calls they reuse counted beside it;
while a bar is shown, log lines are printed above the bars, not across them.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

from tqdm.auto import tqdm

from ..log import console_between


class Progress:
    """A progress bar over ``total`` calls; silent when ``enabled`` is False."""

    def __init__(self, total: int, desc: str, enabled: bool, position: int | None = None, n_reused: int = 0) -> None:
        self._n_failed = 0
        self._n_reused = n_reused
        self._bar: Any = tqdm(
            total=total, desc=desc, unit="call", disable=not enabled, dynamic_ncols=True, position=position
        )
        if n_reused:
            self._bar.set_postfix(self._postfix(), refresh=False)
        self._lines = ExitStack()
        if enabled:
            self._lines.enter_context(console_between(lambda line: tqdm.write(line, file=sys.stderr)))

    def advance(self, n_ok: int, n_failed: int) -> None:
        if n_failed:
            self._n_failed += n_failed
            self._bar.set_postfix(self._postfix(), refresh=False)
        self._bar.update(n_ok + n_failed)

    def _postfix(self) -> dict[str, int]:
        shown = {"failed": self._n_failed} if self._n_failed else {}
        return {**shown, **({"reused": self._n_reused} if self._n_reused else {})}

    def close(self) -> None:
        self._lines.close()
        self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
