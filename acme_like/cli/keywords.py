"""Generate the ``map`` command's flags from ``ParallelMap``'s signature, one flag per keyword.

The one definition is ``inspect.signature(acme_like.ParallelMap)``: a new keyword there is a new
flag here with nothing else to edit. Imports acme_like only inside functions, so building the
top-level parser stays cheap.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
from typing import Any

#: Keywords with no meaning on a command line: the function comes from MODULE:FUNCTION, a client
#: object cannot be typed, the number of calls is the number of input files, and the flags
#: already set acme_like's own options (acme_like_options is for a function that takes one).
EXCLUDED = frozenset({"func", "client", "n_inputs", "acme_like_options"})

#: Short names, added to the generated flag as further option strings (never a second flag).
ALIASES: dict[str, tuple[str, ...]] = {
    "n_workers": ("--workers", "-j"),
    "dryrun": ("--dry-run",),
}


#: Where the command line does something of its own with a keyword.
HELP = {
    "dryrun": "run the function here on up to 5 files across the size range (smallest, quartiles, largest), "
    "print a time and memory forecast and stop; nothing is written",
}


def parse_literal(text: str) -> Any:
    """``text`` as a Python literal (``4``, ``None``, ``(None, 3)``), else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def flag_name(name: str) -> str:
    """``n_workers`` -> ``--n-workers``."""
    return "--" + name.replace("_", "-")


def keyword_parameters() -> list[inspect.Parameter]:
    """ParallelMap's keywords that become flags, in signature order."""
    import acme_like

    signature = inspect.signature(acme_like.ParallelMap)
    wanted = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in signature.parameters.values() if p.kind in wanted and p.name not in EXCLUDED]


def _is_switch(parameter: inspect.Parameter) -> bool:
    if isinstance(parameter.default, bool):
        return True
    # An optional switch such as verbose: bool | None = None (annotations are strings here).
    return parameter.default is None and str(parameter.annotation).replace(" ", "") in {"bool|None", "Optional[bool]"}


def _descriptions(doc: str) -> dict[str, str]:
    """First sentence of each parameter's description in a numpydoc docstring."""
    found: dict[str, str] = {}
    lines = inspect.cleandoc(doc or "").splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^([A-Za-z_][\w, ]*?)(\s:\s.*)?$", line)
        if not match or not line.strip() or line.startswith(" ") or i + 1 >= len(lines):
            continue
        if not lines[i + 1].startswith("    "):
            continue
        body = []
        for follow in lines[i + 1 :]:
            if not follow.startswith("    "):
                break
            body.append(follow.strip())
        text = " ".join(body)
        sentence = re.split(r"(?<=[a-z0-9)\"'`]\.)\s+(?=[A-Z])", text, maxsplit=1)[0]
        for name in match.group(1).split(","):
            found.setdefault(name.strip(), sentence)
    return found


def add_keyword_flags(parser: argparse.ArgumentParser) -> list[str]:
    """Add one flag per ParallelMap keyword to ``parser``; return the keyword names.

    Flags default to ``argparse.SUPPRESS``: a keyword not given on the command line is not
    passed, so ParallelMap's own default applies.
    """
    import acme_like

    descriptions = _descriptions(acme_like.ParallelMap.__doc__ or "")
    group = parser.add_argument_group(
        "ParallelMap keywords", "every keyword of acme_like.ParallelMap, with the same values"
    )
    names = []
    for parameter in keyword_parameters():
        name = parameter.name
        options = [flag_name(name), *ALIASES.get(name, ())]
        text = f"{HELP.get(name) or descriptions.get(name, '')} (default: {parameter.default!r})".strip().replace("%", "%%")
        if _is_switch(parameter):
            group.add_argument(
                *options, dest=name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text
            )
        else:
            group.add_argument(
                *options, dest=name, type=parse_literal, default=argparse.SUPPRESS, metavar="VALUE", help=text
            )
        names.append(name)
    return names
