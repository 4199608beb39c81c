"""The OAuth 2.0 / OpenID endpoints other than the consent page (:mod:`web.oauth_views`):
token, revocation (RFC 7009), introspection (RFC 7662), userinfo, JWKS and the discovery
documents. django-oauth-toolkit speaks the protocol; :mod:`oauth` holds the policy. Errors are
RFC 6749's bodies (``{"error": …, "error_description": …}``) with their statuses."""

from __future__ import annotations

import base64
import calendar
import json
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot
from oauth2_provider.models import AccessToken, RefreshToken
from oauth2_provider.views.mixins import OAuthLibMixin

from accounts.models import UserStatus
from oauth.validator import serving
from tokens.keycache import key_digest


class Serving:
    """Runs the toolkit's view inside :func:`oauth.validator.serving`. These endpoints take no
    cookie (clients authenticate themselves or present a token), so no CSRF check."""

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with serving(request):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class TokenView(Serving, dot.TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post(request, *args, **kwargs)
        if getattr(request, "oauth_throttled", False):
            response = JsonResponse(
                {"error": "invalid_request", "error_description": "Too many sign-in attempts."},
                status=429,
            )
            response["Retry-After"] = "60"
        response["Cache-Control"] = "no-store"
        return response


class RevokeTokenView(Serving, dot.RevokeTokenView):
    pass


class UserInfoView(Serving, dot.UserInfoView):
    pass


class JwksView(Serving, dot.JwksInfoView):
    pass


class DiscoveryView(Serving, dot.ConnectDiscoveryInfoView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        data = json.loads(response.content)
        data["revocation_endpoint"] = self._get_endpoint_url(request, "revoke-token")
        data["introspection_endpoint"] = self._get_endpoint_url(request, "introspect")
        data["grant_types_supported"] = [
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
        ]
        data["response_modes_supported"] = ["query"]
        data["request_parameter_supported"] = False
        data["claims_parameter_supported"] = False
        data["id_token_signing_alg_values_supported"] = ["RS256"]
        data["prompt_values_supported"] = ["none", "login", "consent"]
        for key in ("revocation", "introspection"):
            data[f"{key}_endpoint_auth_methods_supported"] = [
                "client_secret_basic",
                "client_secret_post",
            ]
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out


class ServerMetadataView(Serving, dot.OAuthServerMetadataView):
    pass


class IntrospectView(Serving, OAuthLibMixin, View):
    """RFC 7662 for the client a token was issued to (it authenticates as for the token
    endpoint): another client's token, an unknown, expired or revoked one, or one whose person
    is no longer active is ``{"active": false}``."""

    def post(self, request: HttpRequest) -> HttpResponse:
        if not self.authenticate_client(request):
            response = JsonResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                status=401,
            )
            response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        client_id = request.POST.get("client_id") or self._basic_client_id(request)
        token = request.POST.get("token")
        if not token:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "token is required."},
                status=400,
            )
        response = JsonResponse(_introspection(token, client_id))
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _basic_client_id(request: HttpRequest) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return unquote_plus(decoded.split(":", 1)[0])


def _introspection(token: str, client_id: str | None) -> dict[str, Any]:
    checksum = key_digest(token)
    row: AccessToken | RefreshToken | None = (
        AccessToken.objects.select_related("user", "application")
        .filter(token_checksum=checksum)
        .first()
    )
    token_type = "access_token"
    if row is None:
        row = (
            RefreshToken.objects.select_related("user", "application", "access_token")
            .filter(token_checksum=checksum, revoked__isnull=True)
            .first()
        )
        token_type = "refresh_token"
    if row is None or row.application is None or row.application.client_id != client_id:
        return {"active": False}
    user = row.user
    if user is not None and user.status != UserStatus.ACTIVE:
        return {"active": False}
    data: dict[str, Any] = {
        "active": True,
        "client_id": row.application.client_id,
        "token_type": "Bearer" if token_type == "access_token" else token_type,
        "iat": int(calendar.timegm(row.created.timetuple())),
    }
    if isinstance(row, AccessToken):
        if row.expires <= timezone.now():
            return {"active": False}
        data["scope"] = row.scope
        data["exp"] = int(calendar.timegm(row.expires.timetuple()))
    elif row.access_token is not None:
        data["scope"] = row.access_token.scope
    if user is not None:
        data["sub"] = str(user.pk)
        data["username"] = user.email or str(user.pk)
    if settings.DIRECTUS.oauth.issuer:
        data["iss"] = settings.DIRECTUS.oauth.issuer
    return data
