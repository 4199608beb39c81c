"""HTTP authentication: request → presented token → credential → accountability, computed once
per request and kept on it. The DRF adapter (:mod:`api.authentication`), the HTML pages, the
admin and GraphQL over HTTP all read it from here."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.accountability import Accountability, accountability_from, public_accountability
from core.errors import InvalidCredentials, InvalidToken
from core.net import Client
from tokens.presented import presented_by_request
from tokens.resolve import resolve

ACCOUNTABILITY_ATTR = "accountability"


def authenticate_request(request: HttpRequest) -> Accountability:
    """The accountability of ``request``, computed once and kept on the request.

    Raises the token's contract error (a bad token is never silently treated as public); a bad
    session cookie is also cleared on the response (:mod:`api.drf`)."""
    cached = getattr(request, ACCOUNTABILITY_ATTR, None)
    if isinstance(cached, Accountability):
        return cached
    client = Client.of_request(request)
    presented = presented_by_request(request, client)
    if presented is None:
        acc = public_accountability(**client.as_kwargs())
    else:
        try:
            credential = resolve(presented)
        except (InvalidCredentials, InvalidToken):
            if presented.source == "cookie":
                request.clear_session_cookie = True  # type: ignore[attr-defined]
            raise
        acc = accountability_from(credential, **client.as_kwargs())
    setattr(request, ACCOUNTABILITY_ATTR, acc)
    return acc
