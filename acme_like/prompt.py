"""Ask the person at the terminal a yes/no question; never ask anyone else.

Questions are asked only when standard input is a terminal. An empty answer or
the end of input takes the default, so a prompt can never crash a run.
"""

from __future__ import annotations

import sys

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
            answer = input(f"{question} {hint} ").strip().lower()
        except EOFError:
            return default
        if not answer:
            return default
        if answer in _YES:
            return True
        if answer in _NO:
            return False
        print("Please answer yes or no (y/n).")
