"""Ask the person at the terminal a yes/no question; never ask anyone else.

Questions are asked only when standard input is a terminal. An empty answer or
the end of input takes the default, so a prompt can never crash a run; a question
with a time limit also gives up when nobody answers in time.
"""

from __future__ import annotations

import os
import select
import sys
import time
from typing import Any, Callable

_YES = {"y", "ye", "yes"}
_NO = {"n", "no"}


def interactive_terminal() -> bool:
    """True when a person can answer: standard input is a terminal."""
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def ask_yes_no(question: str, default: bool = True) -> bool:
    """Ask until the answer is yes or no; empty input or end of input means ``default``."""
    hint = "[Y/n]" if default else "[y/N]"
    while True:
        try:
            answer = input(f"{question} {hint} ")
        except EOFError:
            return default
        choice = _choice(answer, default)
        if choice is not None:
            return choice
        print("Please answer yes or no (y/n).")


def ask_within(
    question: str, seconds: float, default: bool = True, moot: Callable[[], bool] | None = None
) -> bool | None:
    """Ask a yes/no question that waits at most ``seconds`` for an answer.

    Returns the answer (empty input means ``default``), or None when nobody answered
    in time or input ended. ``moot`` is asked twice a second meanwhile; once it is
    true the question is dropped and ``default`` returned. Where standard input
    cannot be waited on, asks without a time limit.
    """
    hint = "[Y/n]" if default else "[y/N]"
    deadline = time.monotonic() + seconds
    while True:
        print(f"{question} {hint} ", end="", flush=True)
        ready: list[Any] = []
        while not ready:
            left = deadline - time.monotonic()
            if left <= 0:
                print()
                return None
            if moot is not None and moot():
                print()
                return default
            try:
                ready, _, _ = select.select([sys.stdin], [], [], min(left, 0.5))
            except (OSError, ValueError, TypeError):  # no file descriptor to wait on
                print()
                return ask_yes_no(question, default)
        line = _read_line(sys.stdin.fileno())
        if not line:
            return None
        choice = _choice(line, default)
        if choice is not None:
            return choice
        print("Please answer yes or no (y/n).")


def _choice(answer: str, default: bool) -> bool | None:
    """What a typed answer means: empty is ``default``; None if neither yes nor no."""
    answer = answer.strip().lower()
    if not answer:
        return default
    return True if answer in _YES else False if answer in _NO else None


def _read_line(fd: int) -> str:
    """One line from ``fd``, read byte by byte so nothing typed after it is consumed."""
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        data += byte
    return data.decode(errors="replace")
