"""Public key material for verifying access tokens."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from tokens.jwt import keyring


def jwks(request: HttpRequest) -> JsonResponse:
    """``/.well-known/jwks.json``: the public keys that verify access tokens (RFC 7517). Empty
    with HS256, whose key is the shared secret."""
    response = JsonResponse(keyring().jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
