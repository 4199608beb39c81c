"""The API rate limiters (contract http-auth.md §8): one global bucket, then one per client IP.

Both are off by default (``RATE_LIMITER_ENABLED``, ``RATE_LIMITER_GLOBAL_ENABLED``) and read from
``settings.DIRECTUS`` on every request, so a settings override takes effect at once. Exempt, as
in Directus: ``/server/ping`` and static files. A refusal answers 429 ``REQUESTS_EXCEEDED`` with
``Retry-After`` and no ``X-RateLimit-*`` headers; a store failure answers 503.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.config import RateLimit
from core.errors import RequestsExceeded, ServiceUnavailable, error_response
from core.net import request_ip
from core.ratelimit import RateLimiter

GLOBAL_KEY = "global-rate-limit"
EXEMPT_PATHS = frozenset({"/server/ping"})


def _limiter(name: str, limit: RateLimit) -> RateLimiter:
    return RateLimiter(name, limit.points, limit.duration_s)


def is_exempt(path: str) -> bool:
    """Liveness and static files are never limited."""
    static_url = "/" + str(settings.STATIC_URL or "static/").lstrip("/")
    return path in EXEMPT_PATHS or path.startswith(static_url)


def check_rate_limits(request: HttpRequest) -> None:
    """Spend one point from the global bucket (if on), then from the client IP's (if on)."""
    limits = settings.DIRECTUS.limits
    if limits.global_.enabled:
        _limiter("global", limits.global_).consume(GLOBAL_KEY)
    if limits.api.enabled:
        _limiter("api", limits.api).consume(request_ip(request) or "unknown")


class RateLimitMiddleware:
    """Answers 429 (or 503 when the store is down) before the request reaches any view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_exempt(request.path):
            try:
                check_rate_limits(request)
            except (RequestsExceeded, ServiceUnavailable) as error:
                return error_response(error)
        return self.get_response(request)
