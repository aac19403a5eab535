"""Show how many calls finished and failed, with a tqdm bar (terminal or notebook).

Advanced from completion events by the runner; it never polls futures.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm


class Progress:
    """A progress bar over ``total`` calls; silent when ``enabled`` is False."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        self._n_failed = 0
        self._bar: Any = tqdm(total=total, desc=desc, unit="call", disable=not enabled, dynamic_ncols=True)

    def advance(self, n_ok: int, n_failed: int) -> None:
        if n_failed:
            self._n_failed += n_failed
            self._bar.set_postfix(failed=self._n_failed, refresh=False)
        self._bar.update(n_ok + n_failed)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
