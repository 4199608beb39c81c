"""Transport security for every HTTP answer: behind TLS, cookies are ``Secure`` and HSTS is
sent; HTML pages carry a Content-Security-Policy.

"Behind TLS" means ``PUBLIC_URL`` is ``https://…``, or the request itself is secure — directly,
or (with ``IP_TRUST_PROXY``) a trusted proxy said so with ``X-Forwarded-Proto: https``
(Django's ``SECURE_PROXY_SSL_HEADER``). Then every cookie the response sets (refresh, session,
CSRF, OAuth state…) gets ``Secure``, whatever its ``*_SECURE`` variable says: a cookie that
carries a credential must never travel in clear text."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HSTS = "max-age=31536000"
#: The sign-in pages and the admin: no inline scripts, no framing, forms only to this server.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: The Swagger UI (``/server/specs/swagger/``) starts itself with an inline script.
DOCS_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
DOCS_PREFIX = "/server/specs/"


def behind_tls(request: HttpRequest) -> bool:
    return request.is_secure() or settings.DIRECTUS.server.public_url.lower().startswith("https://")


class TransportSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if behind_tls(request):
            for morsel in response.cookies.values():
                morsel["secure"] = True
            response.setdefault("Strict-Transport-Security", HSTS)
        if response.get("Content-Type", "").startswith("text/html"):
            policy = DOCS_POLICY if request.path.startswith(DOCS_PREFIX) else PAGE_POLICY
            response.setdefault("Content-Security-Policy", policy)
        return response
