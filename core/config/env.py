"""Reading typed values out of the environment, the Directus way.

* ``NAME_FILE=/path`` loads the file's content as the value of ``NAME`` (one trailing newline is
  dropped, so secrets written by ``echo`` work). Setting both ``NAME`` and ``NAME_FILE`` is an
  error.
* A value may carry an explicit cast prefix as in Directus: ``string:``, ``number:``,
  ``boolean:``, ``json:``, ``array:``. Without one, the declared type of the variable decides.
* Booleans: ``true``/``1`` are true, ``false``/``0``/empty are false; anything else is an error.
* Durations use the ``ms`` syntax (``15m``, ``7d``, ``10s``; a bare number is milliseconds).
* Sizes use the ``bytes`` syntax (``1mb``, ``512kb``; a bare number is bytes).

:class:`EnvReader` never raises: each problem is appended to :attr:`EnvReader.errors` with the
variable's name, so that every bad variable is reported at once by the system check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_DURATION_UNITS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_557_600_000,
}
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_DURATION_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_CAST_PREFIXES = ("string:", "number:", "boolean:", "json:", "array:", "regex:")


class ConfigError(ValueError):
    """A variable whose value cannot be used; the message names the variable."""


def parse_duration_ms(text: str) -> int:
    """Parse an ``ms``-style duration (``15m``, ``7d``, ``500``) into milliseconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 15m, 7d or 500 (ms)")
    number, unit = float(match.group(1)), match.group(2).lower() or "ms"
    if unit not in _DURATION_UNITS:
        raise ValueError(f"{text!r} has an unknown unit {unit!r}")
    return int(number * _DURATION_UNITS[unit])


def parse_size_bytes(text: str) -> int:
    """Parse a ``bytes``-style size (``1mb``, ``512kb``, ``2048``) into bytes."""
    match = _DURATION_RE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or (unit or "b") not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size such as 1mb, 512kb or 2048")
    return int(float(match.group(1)) * _SIZE_UNITS[unit or "b"])


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0", ""}:
        return False
    raise ValueError(f"{text!r} is not a boolean (true or false)")


def parse_csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class EnvReader:
    """Reads typed values out of an environment mapping, collecting errors instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.seen: set[str] = set()

    def raw(self, name: str) -> str | None:
        """The value of ``name``, from ``name`` itself or from the file named by ``name_FILE``."""
        self.seen.add(name)
        value = self.environ.get(name)
        file_path = self.environ.get(f"{name}_FILE")
        if file_path is None:
            return value
        if value is not None:
            self.errors.append(f"{name} and {name}_FILE are both set; set only one of them.")
            return value
        prefix, path = _split_prefix(file_path)
        try:
            content = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            self.errors.append(
                f'Failed to read value from file "{path}", defined in environment variable '
                f'"{name}_FILE": {exc.strerror or exc}.'
            )
            return None
        return prefix + _drop_one_newline(content)

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        value = self.raw(name)
        if value is None:
            return default
        _, value = _split_prefix(value)
        try:
            return parse(value)
        except (ValueError, json.JSONDecodeError) as exc:
            self.errors.append(f"{name}: {exc}")
            return default

    def string(self, name: str, default: str = "") -> str:
        return self.get(name, default, str)

    def optional(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None or value == "" else _split_prefix(value)[1]

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = self.get(name, default, _parse_int)
        if minimum is not None and value < minimum:
            self.errors.append(f"{name}: must be at least {minimum}, got {value}.")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        return self.get(name, default, parse_bool)

    def duration_ms(self, name: str, default: str) -> int:
        return self.get(name, parse_duration_ms(default), parse_duration_ms)

    def size(self, name: str, default: str) -> int:
        return self.get(name, parse_size_bytes(default), parse_size_bytes)

    def csv(self, name: str, default: str = "") -> list[str]:
        return self.get(name, parse_csv(default), parse_csv)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(name, default).strip().lower()
        if value not in choices:
            self.errors.append(f"{name}: must be one of {', '.join(choices)}; got {value!r}.")
            return default
        return value


def _parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def _split_prefix(value: str) -> tuple[str, str]:
    for prefix in _CAST_PREFIXES:
        if value.startswith(prefix):
            return prefix, value[len(prefix) :]
    return "", value


def _drop_one_newline(content: str) -> str:
    if content.endswith("\r\n"):
        return content[:-2]
    return content[:-1] if content.endswith("\n") else content
