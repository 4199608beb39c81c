"""Who is on the other end: the client address, for HTTP requests and socket scopes alike.

:func:`client_ip` is the one rule (``IP_CUSTOM_HEADER``, then with ``IP_TRUST_PROXY`` the first
``X-Forwarded-For`` entry, then the socket peer); :func:`request_ip` and :func:`scope_ip` only
hand it the headers and peer of a Django request or an ASGI scope."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from django.conf import settings
from django.http import HttpRequest


def normalize_ip(value: str | None) -> str | None:
    """``value`` as a canonical IP address (IPv4-mapped IPv6 unwrapped), or None."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def client_ip(header: Any, peer: str | None) -> str | None:
    """The client address, given ``header(name)`` (a lower-case header name → its value or
    None) and the socket ``peer``."""
    config = settings.DIRECTUS
    candidates: list[str | None] = []
    if config.server.ip_custom_header:
        candidates.append(header(config.server.ip_custom_header.lower()))
    if config.server.ip_trust_proxy:
        forwarded = header("x-forwarded-for") or ""
        candidates.append(forwarded.split(",")[0].strip() or None)
    candidates.append(peer)
    for candidate in candidates:
        if ip := normalize_ip(candidate):
            return ip
    return None


def request_header(request: HttpRequest, name: str) -> str | None:
    """The value of header ``name`` (any case) of a Django request."""
    return request.META.get("HTTP_" + name.upper().replace("-", "_"))


def request_ip(request: HttpRequest) -> str | None:
    """The client address of a Django request."""
    return client_ip(lambda name: request_header(request, name), request.META.get("REMOTE_ADDR"))


def scope_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """The headers of an ASGI scope, lower-case names (a repeated header: its last value)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def scope_ip(scope: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> str | None:
    """The client address of an ASGI (WebSocket) scope."""
    headers = scope_headers(scope) if headers is None else headers
    peer = (scope.get("client") or (None, None))[0]
    return client_ip(headers.get, peer)


@dataclass(frozen=True)
class Client:
    """Where a request came from: address, user agent and ``Origin``, for HTTP and sockets."""

    ip: str | None = None
    user_agent: str = ""
    origin: str = ""

    @classmethod
    def of_request(cls, request: HttpRequest) -> Self:
        meta = request.META
        return cls(
            ip=request_ip(request),
            user_agent=meta.get("HTTP_USER_AGENT", ""),
            origin=meta.get("HTTP_ORIGIN", ""),
        )

    @classmethod
    def of_scope(cls, scope: Mapping[str, Any]) -> Self:
        headers = scope_headers(scope)
        return cls(
            ip=scope_ip(scope, headers),
            user_agent=headers.get("user-agent", ""),
            origin=headers.get("origin", ""),
        )

    def as_kwargs(self) -> dict[str, str | None]:
        """``ip``, ``user_agent`` and ``origin`` for an accountability (empty values as None)."""
        return {"ip": self.ip, "user_agent": self.user_agent or None, "origin": self.origin or None}
