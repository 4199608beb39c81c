"""The ``auth`` section: sign-in providers from ``AUTH_PROVIDERS`` and ``AUTH_<NAME>_*``
(contract sso.md §1, env.md §4.2), ``AUTH_DISABLE_DEFAULT`` (no built-in ``default`` local
provider) and ``LOGIN_REDIRECT_ALLOW_LIST`` (absolute URLs a sign-in may redirect to).

Each name in ``AUTH_PROVIDERS`` (order kept) becomes a :class:`ProviderConfig` whose options are
every variable starting with ``AUTH_<NAME upper-cased>_`` (case-insensitive, ``_FILE`` forms
included), the rest of the name camel-cased (``IDENTIFIER_KEY`` → ``identifierKey``) and ``__``
nesting (``PARAMS__PROMPT`` → ``params.prompt``). Values keep Directus's cast prefixes
(``json:``, ``array:``, ``boolean:``, ``number:``, ``string:``); without one they stay text and
each driver reads its options with the type it needs. Which drivers exist is the sign-in layer's
business (:mod:`signin.drivers`): this module only checks that a driver is named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.config.env import EnvReader

RESERVED_NAMES = ("default",)
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ProviderConfig:
    """One configured provider: its name (used in ``/auth/login/<name>``), its driver and its
    options (camel-cased keys, values as configured; never printed)."""

    name: str
    driver: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    @property
    def label(self) -> str | None:
        value = self.options.get("label")
        return str(value) if value not in (None, "") else None

    @property
    def icon(self) -> str | None:
        value = self.options.get("icon")
        return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Auth:
    providers: tuple[ProviderConfig, ...] = ()
    disable_default: bool = False
    login_redirect_allow_list: list[str] = field(default_factory=list)
    #: Other public URLs the server answers on; a redirect sign-in's callback URL uses the one
    #: of the request's scheme and host (``AUTH_ALLOWED_PUBLIC_URLS``, contract sso.md §2.4).
    allowed_public_urls: list[str] = field(default_factory=list)


def camel_case(snake: str) -> str:
    """``IDENTIFIER_KEY`` → ``identifierKey`` (Directus's ``camelCase`` of the variable rest)."""
    words = [w for w in snake.lower().split("_") if w]
    return words[0] + "".join(w.capitalize() for w in words[1:]) if words else ""


def cast(value: str) -> Any:
    """Directus's explicit cast prefixes; text without one stays text."""
    for prefix, parse in _CASTS:
        if value.startswith(prefix):
            return parse(value[len(prefix) :])
    return value


_CASTS: tuple[tuple[str, Any], ...] = (
    ("json:", json.loads),
    ("array:", lambda text: [part.strip() for part in text.split(",") if part.strip()]),
    ("boolean:", lambda text: text.strip().lower() in {"true", "1"}),
    ("number:", lambda text: float(text) if "." in text else int(text)),
    ("string:", str),
    ("regex:", str),
)


def provider_options(env: EnvReader, name: str) -> dict[str, Any]:
    """Every ``AUTH_<NAME>_*`` variable of ``env`` as a nested options dict."""
    prefix = f"AUTH_{name.upper()}_"
    options: dict[str, Any] = {}
    for variable in sorted(env.environ):
        if not variable.upper().startswith(prefix):
            continue
        base = variable[: -len("_FILE")] if variable.upper().endswith("_FILE") else variable
        raw = env.raw(base)
        if raw is None:
            continue
        path = [camel_case(part) for part in base[len(prefix) :].split("__")]
        try:
            value = cast(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            env.errors.append(f"{base}: {exc}")
            continue
        _put(options, path, value)
    return options


def _put(options: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        nested = options.setdefault(key, {})
        if not isinstance(nested, dict):
            nested = options[key] = {}
        options = nested
    options[path[-1]] = value


def load_auth(env: EnvReader) -> Auth:
    return Auth(
        providers=load_providers(env),
        disable_default=env.boolean("AUTH_DISABLE_DEFAULT", False),
        login_redirect_allow_list=env.csv("LOGIN_REDIRECT_ALLOW_LIST", ""),
        allowed_public_urls=env.csv("AUTH_ALLOWED_PUBLIC_URLS", ""),
    )


def load_providers(env: EnvReader) -> tuple[ProviderConfig, ...]:
    providers: list[ProviderConfig] = []
    for name in env.csv("AUTH_PROVIDERS", ""):
        if name.lower() in RESERVED_NAMES:
            env.errors.append(f'AUTH_PROVIDERS: the provider name "{name}" is reserved.')
            continue
        if not _NAME.match(name):
            env.errors.append(f"AUTH_PROVIDERS: {name!r} is not a usable provider name.")
            continue
        if any(p.name == name for p in providers):
            env.errors.append(f"AUTH_PROVIDERS: {name!r} is listed twice.")
            continue
        options = provider_options(env, name)
        driver = options.pop("driver", None)
        if not isinstance(driver, str) or not driver.strip():
            env.warnings.append(
                f"AUTH_{name.upper()}_DRIVER is not set; provider {name!r} skipped."
            )
            continue
        providers.append(ProviderConfig(name=name, driver=driver.strip(), options=options))
    return tuple(providers)
