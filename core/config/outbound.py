"""The ``outbound`` section: how the server reaches identity providers (discovery documents,
JWKS, token and userinfo endpoints, SAML metadata): ``HTTP_PROXY``, ``HTTPS_PROXY``,
``NO_PROXY`` (lower-case forms too, and Directus's documented ``GLOBAL_AGENT_HTTP_PROXY`` /
``GLOBAL_AGENT_HTTPS_PROXY`` / ``GLOBAL_AGENT_NO_PROXY`` as aliases; contract sso.md §8).

The values are read here once and passed to every request explicitly (:mod:`core.outbound`),
so they work the same whatever else is in the environment (urllib ignores an upper-case
``HTTP_PROXY`` when ``REQUEST_METHOD`` is set, for example). An ``http://`` URL goes through
``HTTP_PROXY`` only and an ``https://`` URL through ``HTTPS_PROXY`` (CONNECT); a host in
``NO_PROXY`` (comma-separated names, domain suffixes, IP addresses or ``*``) is reached directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config.env import EnvReader


@dataclass(frozen=True)
class Outbound:
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: tuple[str, ...] = ()


def _first(env: EnvReader, *names: str) -> tuple[str | None, str | None]:
    for name in names:
        value = env.optional(name)
        if value:
            return name, value.strip()
    return None, None


def load_outbound(env: EnvReader) -> Outbound:
    proxies: dict[str, str | None] = {}
    for scheme in ("http", "https"):
        upper = f"{scheme.upper()}_PROXY"
        name, value = _first(env, upper, upper.lower(), f"GLOBAL_AGENT_{upper}")
        if value and urlsplit(value).scheme not in {"http", "https"}:
            env.errors.append(f"{name}: {value!r} is not an http:// or https:// proxy URL.")
            value = None
        proxies[scheme] = value
    _name, no_proxy = _first(env, "NO_PROXY", "no_proxy", "GLOBAL_AGENT_NO_PROXY")
    bypass = tuple(part.strip().lower() for part in (no_proxy or "").split(",") if part.strip())
    return Outbound(
        http_proxy=proxies["http"],
        https_proxy=proxies["https"],
        no_proxy=bypass,
    )
