"""The user's frame: where a warning of the package should point.

``warnings.warn(..., stacklevel=user_stacklevel())`` shows the user's line (their
``ParallelMap(...)`` or ``pmap.compute()``), however deep inside the package the
warning is raised. Pure; reads only the current stack.
"""

from __future__ import annotations

import contextlib
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PASS_THROUGH = (_PACKAGE_DIR + os.sep, os.path.abspath(contextlib.__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by this function's caller point at the
    first frame outside acme_like."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PASS_THROUGH):
        frame = frame.f_back
        level += 1
    return level
