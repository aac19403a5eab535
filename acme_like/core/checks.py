"""One checker per kind of keyword value, shared by every entry point that takes it.

``ParallelMap`` (through ``core.options``), ``slurm_cluster_setup`` (through
``batch.request``) and later the CLI check a count, a number of seconds or a
size with the same function, so one bad value gets one answer everywhere: the
same exception type and the same text. Each message says what is wrong, what
was expected, what came in and how to fix it.

The rule for the exception type: a value of the wrong kind (a list, None, a
bool where a number is wanted, a string where no string is allowed) raises
``InputTypeError`` (a ``TypeError``); a value of the right kind that is out of
range (0 workers, 2.5 workers, NaN seconds, an unknown word) raises
``InputError`` (a ``ValueError``); a path that clashes with what is on disk (a
directory where a file is wanted) raises ``InputOSError`` (an ``OSError`` too).

A keyword that ACME also has starts its message with ACME's first line for the
same mistake (``Keyword.acme``, built with :func:`acme_flag`, :func:`acme_scalar`
or :func:`acme_type`), so scripts and users who look for ACME's text find it;
acme_like's own text follows on the next line. Pure: no I/O except
``check_path``'s look at what already exists on disk.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import AcmeLikeError, InputError, InputOSError, InputTypeError
from .units import WORKER_BASE_BYTES, format_size, parse_size


#: ACME's first line for a value it refuses, given the value and acme_like's error (None: no line).
AcmeLine = Callable[[Any, Exception], "str | None"]


@dataclass(frozen=True, slots=True)
class Keyword:
    """A keyword: its default, the checker that turns a given value into the checked one, the
    group of options that reads it ("output", "run", "cluster", "log", or "" for none) and, for
    ACME's keywords, ACME's first line for a refused value."""

    default: Any
    check: Callable[[Any], Any]
    group: str = ""
    acme: AcmeLine | None = None

    def __call__(self, value: Any) -> Any:
        if self.acme is None:
            return self.check(value)
        try:
            return self.check(value)
        except AcmeLikeError as exc:
            line = self.acme(value, exc)
            if line is None:
                raise
            raise type(exc)(prefix_acme_line(line, str(exc))) from None


def prefix_acme_line(line: str, message: str) -> str:
    """``message`` after ACME's ``line`` for the same mistake, which stays the first line."""
    return f"{line}\n{message}"


def acme_flag(name: str, show_value: bool = False) -> AcmeLine:
    """ACME's line for a refused bool keyword (most show the type, write_worker_results the value)."""
    return lambda value, error: f"`{name}` has to be `True` or `False`, not {value if show_value else type(value)}"


def acme_scalar(name: str, low: int, auto: bool = False) -> AcmeLine:
    """ACME's lines for a refused count: a string other than "auto", a non-number, a number out of range."""

    def line(value: Any, error: Exception) -> str:
        if auto and isinstance(value, str):
            return f"`{name}` has to be 'auto' or an integer >= {low}, not {value}"
        if isinstance(error, TypeError):
            return f"`{name}` has to be a scalar, not {type(value)}"
        return f"`{name}` has to be an integer between {low} and inf, not {value}"

    return line


def acme_type(text: str) -> AcmeLine:
    """ACME's line ``"<text>, not <type>"`` for a value of the wrong type; no line for other mistakes."""
    return lambda value, error: f"{text}, not {type(value)}" if isinstance(error, TypeError) else None


def got(value: Any, typed: bool = False) -> str:
    """``value`` as messages show it: with its type when ``typed`` (a wrong kind of value) or
    when it is not a plain str, int or float."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if type(value) in (str, int, float) and not typed else f"{type(value).__name__} {text}"


def check_flag(name: str, value: Any) -> bool:
    """True or False, nothing else (not 1, not "yes")."""
    if isinstance(value, bool):
        return value
    fix = f" Pass {name}={_truthy(value)}." if _truthy(value) is not None else f" Pass {name}=True or {name}=False."
    raise InputTypeError(f"{name} must be True or False, got {got(value, typed=True)}.{fix}")


def _truthy(value: Any) -> bool | None:
    if isinstance(value, str) and value.lower() in ("yes", "true", "on", "1", "no", "false", "off", "0"):
        return value.lower() in ("yes", "true", "on", "1")
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    return None


def check_count(name: str, value: Any, minimum: int = 1, *, auto: bool = False, none: bool = False, what: str = "") -> Any:
    """A whole number >= ``minimum`` (numpy integers and whole floats such as 3.0 included).

    ``auto``: "auto" is also accepted (and returned); ``none``: None is also accepted.
    """
    if (auto and isinstance(value, str) and value == "auto") or (none and value is None):
        return value
    options = ['"auto"'] if auto else []
    options += ["None"] if none else []
    expected = f"{' or '.join(options)} or an integer >= {minimum}" if options else f"an integer >= {minimum}"
    expected += f" ({what})" if what else ""
    head = f"{name} must be {expected}, got {got(value, typed=isinstance(value, str) and not auto)}."
    if isinstance(value, str):
        if re.fullmatch(r"\s*\d+\s*", value):
            raise _wrong(auto, f"{head} Pass the number itself: {name}={int(value)}.")
        raise _wrong(auto, f"{head} Pass {name}={max(minimum, 1)}{' or ' + name + '=' + chr(34) + 'auto' + chr(34) if auto else ''}.")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        head = f"{name} must be {expected}, got {got(value, typed=True)}."
        raise InputTypeError(f"{head} Pass a whole number such as {name}={max(minimum, 1)}.")
    if not math.isfinite(value):
        raise InputError(f"{head} Pass a finite whole number such as {name}={max(minimum, 1)}.")
    if int(value) != value:
        raise InputError(f"{head} Pass a whole number such as {name}={max(minimum, math.floor(value))}.")
    if value < minimum:
        raise InputError(f"{head} Pass {name}={minimum} or more.")
    return int(value)


def _wrong(string_allowed: bool, message: str) -> Exception:
    # A string where strings are allowed ("auto") is a wrong value; elsewhere, the wrong kind.
    return InputError(message) if string_allowed else InputTypeError(message)


def check_seconds(name: str, value: Any, minimum: float = 0) -> float:
    """A number of seconds >= ``minimum`` (inf allowed: wait for ever); never NaN."""
    head = f"{name} must be a number of seconds >= {minimum:g}, got {got(value, typed=not isinstance(value, numbers.Real))}."
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
        fix = f" Pass the number itself: {name}={number:g}." if number is not None else f" Pass e.g. {name}=60."
        raise InputTypeError(head + fix)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{head} Pass e.g. {name}=60.")
    if math.isnan(value) or value < minimum:
        raise InputError(f"{head} Pass e.g. {name}=60.")
    return float(value)


def check_size(name: str, value: Any, minimum: int = WORKER_BASE_BYTES) -> int | None:
    """A memory size in bytes, or None for "auto"/None; at least ``minimum`` bytes.

    Units as dask's ``parse_bytes`` (``core.units``). A bare number written as a string
    ("300") is refused: ACME users mean megabytes, dask would read bytes.
    """
    if value is None or (isinstance(value, str) and value == "auto"):
        return None
    expected = f'{name} must be "auto" or a size like "2GB" or "1500MB"'
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
        fix = f' Pass a string with a unit: {name}="{_round_size(value)}".' if _is_number(value) and value >= 1000 else ""
        raise InputTypeError(f"{expected}, got {got(value, typed=True)}.{fix}")
    if isinstance(value, numbers.Integral) and value < minimum:
        # An int is bytes, but 3 or 8 is someone's gigabytes: the string ACME requires is the fix.
        unit = f"{value}GB" if value > 0 else "2GB"
        raise InputTypeError(
            f"{expected}, got int {value}: as a number of bytes, below the {format_size(minimum)} a dask worker "
            f'needs to start. Pass a string with a unit: {name}="{unit}".'
        )
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", value):
        raise InputError(
            f"{expected}, got {value!r}, a number without a unit: {value.strip()} bytes? "
            f"Write '{value.strip()}MB' (or '{value.strip()}GB')."
        )
    try:
        size = parse_size(value)
    except InputError:
        raise InputError(
            f"{expected} (kB, MB, GB are powers of 1000; KiB, MiB, GiB powers of 1024), got {got(value)}. "
            f'Pass e.g. {name}="4GB", or "auto".'
        ) from None
    if size < minimum:
        raise InputError(
            f"{name}={value!r} is {format_size(size)}, below the {format_size(minimum)} a dask worker needs to "
            f'start besides its calls. Pass at least {name}="{format_size(minimum).replace(" ", "")}", or "auto".'
        )
    return size


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _round_size(value: float) -> str:
    return format_size(value).replace(" ", "")


def check_choice(name: str, value: Any, choices: tuple[str, ...], meaning: str = "") -> str:
    """One of the words in ``choices``, spelt exactly."""
    listed = " or ".join(f'"{c}"' for c in choices)
    head = f"{name} must be {listed}{' (' + meaning + ')' if meaning else ''}, got {got(value, typed=not isinstance(value, str))}."
    if not isinstance(value, str):
        raise InputTypeError(f"{head} Pass {name}={choices[0]!r}.")
    if value not in choices:
        close = next((c for c in choices if c == value.strip().lower()), None)
        raise InputError(head + (f" Pass {name}={close!r}." if close else f" Pass {name}={choices[0]!r}."))
    return value


#: The longest file name most file systems take (ext4, xfs, tmpfs, NFS: 255 bytes).
NAME_MAX = 255


def check_path(name: str, value: Any, kind: str = "directory") -> Path:
    """A path the package can create as a ``kind`` ("directory" or "file"): every problem that can
    be seen without creating anything (NUL, too long, a file or a symlink loop on the way, a
    kernel file system such as /proc) is an InputError naming ``name`` and the fix."""
    text = os.fspath(value)
    if isinstance(text, bytes) or not isinstance(text, str):
        raise InputTypeError(f"{name} must be a path (str or pathlib.Path), got {got(value, typed=True)}.")
    if text == "":
        raise InputError(
            f"{name} must be a path, got the empty string ''. Pass {name}='.' to use the working "
            f"directory, or leave it out."
        )
    if "\x00" in text:
        raise InputError(f"{name} must not contain a NUL character, got {text!r}. Remove the '\\x00'.")
    path = Path(text).expanduser()
    long_part = next((part for part in path.parts if len(os.fsencode(part)) > NAME_MAX), None)
    if long_part is not None:
        raise InputError(
            f"{name} has a component of {len(os.fsencode(long_part))} bytes ({long_part[:20]}...); file systems take "
            f"at most {NAME_MAX} bytes per name. Pass a shorter name."
        )
    path = path.absolute()
    ancestor = path
    while True:
        try:
            os.stat(ancestor)
        except FileNotFoundError:
            if ancestor.is_symlink():  # a dangling link
                raise InputError(
                    f"{name}={text!r}: {ancestor} is a symbolic link to {os.readlink(ancestor)!r}, which does not "
                    f"exist. Create its target, or pass another {name}."
                ) from None
            ancestor = ancestor.parent
            continue
        except NotADirectoryError:
            ancestor = ancestor.parent
            continue
        except OSError as exc:
            if exc.errno == 40:  # ELOOP
                raise InputError(
                    f"{name}={text!r} cannot be used: {ancestor} is a symbolic link that points back at itself "
                    f"(a loop). Remove or fix the link, or pass another {name}."
                ) from None
            raise InputError(f"{name}={text!r} cannot be used: {exc.strerror} ({ancestor}). Pass another {name}.") from None
        break
    if ancestor != path and not ancestor.is_dir():
        raise InputError(
            f"{name}={text!r} cannot be created: {ancestor} is a file, not a directory. Pass a path "
            f"that is not under a file."
        )
    if ancestor != path and _kernel_file_system(ancestor):
        raise InputError(
            f"{name}={text!r} is on {ancestor}, a kernel file system where nothing can be created. "
            f"Pass a directory on a disk, e.g. under your home or working directory."
        )
    if ancestor == path and kind == "directory" and not path.is_dir():
        raise InputOSError(
            f"{name} must be a directory, but {path} is a file. Pass a directory, or a path that does not exist yet."
        )
    if ancestor == path and kind == "file" and path.is_dir():
        raise InputOSError(
            f"{name} must be None, True, False or a file name, but {path} is a directory. Pass a file "
            f"name such as {str(path / 'run.log')!r}."
        )
    return path


def _kernel_file_system(path: Path) -> bool:
    # /proc and /sys hold kernel views; creating in them fails with ENOENT, which reads as a typo.
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in ("/proc", "/sys"))
