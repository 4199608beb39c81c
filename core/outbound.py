"""Requests to identity providers: one bounded fetch, through the configured proxy.

:func:`fetch_json` is used for discovery documents and JWKS (and, as the SSO drivers land, for
every other call to a provider). It never waits longer than ``timeout`` seconds in all — connect,
headers and body together, so a provider that trickles bytes cannot hold a request — reads at
most ``max_bytes``, and turns every failure into :class:`OutboundError`, whose message names the
URL's host and what went wrong, never a credential. Proxies come from the ``outbound`` section of
the configuration (:mod:`core.config.outbound`), passed explicitly, never from whatever else is in
the process environment.
"""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from core.config.outbound import Outbound
from core.slots import released

USER_AGENT = "directus-auth-server"
MAX_BYTES = 512 * 1024


class OutboundError(Exception):
    """A call to a provider failed: unreachable, too slow, too large, not JSON, not 2xx."""


def bypasses_proxy(host: str, no_proxy: tuple[str, ...]) -> bool:
    """Whether ``host`` is reached directly: ``*``, the host itself, a parent domain
    (``example.com`` and ``.example.com`` both cover ``idp.example.com``) or a network
    (``10.0.0.0/8``) in ``NO_PROXY``."""
    host = host.lower().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy:
        if entry == "*":
            return True
        entry = entry.split(":")[0] if entry.count(":") == 1 else entry
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry.lstrip(".")
        if host == suffix or host.endswith("." + suffix):
            return True
    return False


def proxies_for(
    url: str, outbound: Outbound | None = None, proxy: str | None = None
) -> dict[str, str]:
    """The proxy mapping for one request to ``url`` (empty: direct). ``proxy`` is a provider's
    own proxy (``AUTH_<NAME>_PROXY``): it serves both schemes and ignores ``NO_PROXY``."""
    parts = urlsplit(url)
    if proxy:
        return {parts.scheme: proxy}
    outbound = outbound or settings.DIRECTUS.outbound
    proxy = outbound.https_proxy if parts.scheme == "https" else outbound.http_proxy
    if not proxy or bypasses_proxy(parts.hostname or "", outbound.no_proxy):
        return {}
    return {parts.scheme: proxy}


def fetch_json(
    url: str,
    *,
    timeout: float,
    max_bytes: int = MAX_BYTES,
    headers: dict[str, str] | None = None,
    proxy: str | None = None,
) -> Any:
    """GET ``url`` and parse its JSON body, within ``timeout`` seconds in all (``headers`` are
    added to the request, e.g. a bearer token for a profile URL; ``proxy`` as for
    :func:`proxies_for`)."""
    body = fetch_bytes(
        url,
        timeout=timeout,
        max_bytes=max_bytes,
        headers={"Accept": "application/json", **(headers or {})},
        proxy=proxy,
    )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        host = urlsplit(url).hostname or "?"
        raise OutboundError(f"{host} answered something that is not JSON") from None


def fetch_bytes(
    url: str,
    *,
    timeout: float,
    max_bytes: int = MAX_BYTES,
    headers: dict[str, str] | None = None,
    proxy: str | None = None,
) -> bytes:
    """GET ``url``'s body (a SAML metadata document), bounded as :func:`fetch_json` is. The
    request's slot (:mod:`core.slots`) is given back while waiting on the other host."""
    with released():
        return _fetch_bytes(url, timeout=timeout, max_bytes=max_bytes, headers=headers, proxy=proxy)


def _fetch_bytes(
    url: str, *, timeout: float, max_bytes: int, headers: dict[str, str] | None, proxy: str | None
) -> bytes:
    host = urlsplit(url).hostname or "?"
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.trust_env = False
    try:
        with session.get(
            url,
            timeout=(timeout, timeout),
            stream=True,
            allow_redirects=False,
            proxies=proxies_for(url, proxy=proxy),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        ) as response:
            if not 200 <= response.status_code < 300:
                raise OutboundError(f"{host} answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_content(chunk_size=16384):
                body += chunk
                if len(body) > max_bytes:
                    raise OutboundError(f"{host} answered more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise OutboundError(f"{host} took longer than {timeout:g}s")
    except requests.Timeout:
        raise OutboundError(f"{host} took longer than {timeout:g}s") from None
    except requests.RequestException as exc:
        raise OutboundError(f"{host} is unreachable ({type(exc).__name__})") from None
    finally:
        session.close()
    return bytes(body)


def session_for(url: str, *, timeout: float, proxy: str | None = None) -> requests.Session:
    """A ``requests`` session for a library that makes its own calls to the provider at ``url``
    (an OAuth2 token endpoint): the configured proxy for that URL, no environment lookups, and
    ``timeout`` on every request unless the caller passes one."""
    session = requests.Session()
    session.trust_env = False
    session.proxies = proxies_for(url, proxy=proxy)
    session.headers["User-Agent"] = USER_AGENT
    request = session.request

    def bounded(method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", (timeout, timeout))
        kwargs.setdefault("allow_redirects", False)
        with released():
            return request(method, url, **kwargs)

    session.request = bounded  # type: ignore[method-assign,assignment]
    return session
