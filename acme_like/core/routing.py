"""Which of ParallelMap's keywords are acme_like's and which go to ``func``, as ACME decides.

ACME passes every keyword it does not know to the function; acme_like's own keywords
(:data:`OWN_KEYWORDS`) therefore go to ``func`` when its signature names them, and
acme_like's option is then set through ``acme_like_options``. Pure; no I/O.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

from ..errors import InputError, InputTypeError
from .checks import got
from .options import CHECKS, _warn


#: acme_like's keywords that ACME does not have. ACME passes every keyword it does not know to
#: ``func``, so one of these is acme_like's option only when ``func``'s signature does not name it.
OWN_KEYWORDS = ("client", "batch_size", "rerun", "retries", "worker_retries", "seed", "version")


def route_own_keywords(
    keywords: Mapping[str, Any],
    given: frozenset[str] | set[str],
    func_keywords: frozenset[str],
    func_name: str,
    acme_like_options: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ParallelMap's ``keywords`` into acme_like's options and keyword arguments of ``func``.

    A keyword of :data:`OWN_KEYWORDS` that the caller wrote (``given``) and that ``func`` takes
    by name (``func_keywords``) goes to ``func``, as ACME would pass it; acme_like's option keeps
    its default, or the value in ``acme_like_options`` (a dict of OWN_KEYWORDS), with one
    warning that says so.

    >>> route_own_keywords({"seed": [1, 2]}, {"seed"}, frozenset({"x", "seed"}), "draw",
    ...                    {"seed": 7})  # doctest: +SKIP
    ({'seed': 7}, {'seed': [1, 2]})
    """
    chosen = {} if acme_like_options is None else acme_like_options
    if not isinstance(chosen, Mapping):
        raise InputTypeError(
            f"acme_like_options must be a dict of acme_like's own keywords, got {got(chosen, typed=True)}. "
            f"Pass e.g. acme_like_options={{'seed': 1}}."
        )
    unknown = sorted(set(chosen) - set(OWN_KEYWORDS))
    if unknown:
        raise InputError(
            f"acme_like_options takes only acme_like's own keywords {list(OWN_KEYWORDS)}, got {unknown}. "
            f"Pass {unknown[0]}=... to ParallelMap directly."
        )
    options = dict(keywords)
    to_func: dict[str, Any] = {}
    for name in OWN_KEYWORDS:
        if name in given and name in func_keywords:
            to_func[name] = options[name]
            options[name] = CHECKS[name].default
    for name, value in chosen.items():
        if name in given and name not in to_func:
            raise InputError(f"{name} is given twice, as {name}=... and in acme_like_options. Pass it once.")
        options[name] = value
    unset = [name for name in to_func if name not in chosen]  # set through acme_like_options: nothing to say
    if unset:
        names = ", ".join(unset)
        one = len(unset) == 1
        example = ", ".join(f"{name!r}: ..." for name in unset)
        _warn(
            f"{names} went to {func_name}, whose signature names {'it' if one else 'them'} (ACME passes every keyword "
            f"it does not know to the function), so acme_like's own option{'' if one else 's'} {names} "
            f"{'is' if one else 'are'} not set by {'it' if one else 'them'}. To set acme_like's as well, pass "
            f"acme_like_options={{{example}}}."
        )
    return options, to_func


def noting_given_keywords(init: Callable[..., None]) -> Callable[..., None]:
    """``__init__`` that knows which keywords the caller wrote: a default cannot tell whether
    ``seed=None`` was given, which decides whether ``seed`` is acme_like's or ``func``'s."""

    @functools.wraps(init)
    def noting(self: Any, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._given_keywords = frozenset(kwargs)
        init(self, func, *args, **kwargs)

    return noting
