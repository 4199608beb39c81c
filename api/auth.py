"""REST endpoints under ``/auth`` (contract http-auth.md §7). Thin: parse, call a service,
shape the response and cookies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import DEFAULT_PROVIDER, User
from api import sso
from api.authentication import request_accountability, session_context
from core.errors import DirectusError, Forbidden, InvalidCredentials, RouteNotFound
from signin.drivers import configured, provider
from signin.drivers.base import AuthDriver
from signin.flow import sign_in, stalled
from signin.refresh import (
    PresentedToken,
    logout,
    logout_everywhere,
    presented_token,
    refresh_padded,
)
from tokens.cookies import (
    clear_refresh_cookie,
    clear_session_cookie,
    refresh_cookie,
    session_cookie,
    set_token_cookie,
    token_data,
)
from tokens.issue import IssuedTokens

_TOKENS = inline_serializer(
    "AuthTokens",
    {
        "data": inline_serializer(
            "AuthTokensData",
            {
                "expires": serializers.IntegerField(help_text="Access token lifetime in ms"),
                "refresh_token": serializers.CharField(required=False),
                "access_token": serializers.CharField(required=False),
            },
        )
    },
)
_LOGIN_BODY = inline_serializer(
    "LoginBody",
    {
        "email": serializers.EmailField(),
        "password": serializers.CharField(),
        "mode": serializers.ChoiceField(["json", "cookie", "session"], required=False),
        "otp": serializers.CharField(required=False),
    },
)
_PROVIDER_LOGIN_BODY = inline_serializer(
    "ProviderLoginBody",
    {
        "identifier": serializers.CharField(help_text="email for local providers"),
        "password": serializers.CharField(),
        "mode": serializers.ChoiceField(["json", "cookie", "session"], required=False),
        "otp": serializers.CharField(required=False),
    },
)
_REFRESH_BODY = inline_serializer(
    "RefreshBody",
    {
        "refresh_token": serializers.CharField(required=False),
        "mode": serializers.ChoiceField(["json", "cookie", "session"], required=False),
    },
)
_ERRORS = OpenApiResponse(description='Error envelope: {"errors": [{"message", "extensions"}]}')


def tokens_response(issued: IssuedTokens) -> HttpResponse:
    """The body and cookie of a login or refresh, by mode (contract §7.1)."""
    response = JsonResponse({"data": token_data(issued)})
    set_token_cookie(response, issued)
    response["Cache-Control"] = "no-store"
    return response


def signed_out(request: Request) -> HttpResponse:
    """204, expiring whichever of the two cookies the request sent (contract §7.4)."""
    response = HttpResponse(status=204)
    if refresh_cookie().name in request.COOKIES:
        clear_refresh_cookie(response)
    if session_cookie().name in request.COOKIES:
        clear_session_cookie(response)
    return response


def credentials_login(driver: AuthDriver, request: Request) -> HttpResponse:
    """Sign in through a credentials driver: parse its body, then the one flow."""
    data = request.data  # a malformed body fails here, without the stall
    with stalled():
        payload = driver.parse(data)
    return tokens_response(sign_in(driver, payload, session_context(request)))


class LoginView(APIView):
    """``POST /auth/login``: the built-in local provider (contract §7.1). Every outcome but a
    malformed body takes ``LOGIN_STALL_TIME``."""

    @extend_schema(
        summary="Sign in with email and password",
        request=_LOGIN_BODY,
        responses={200: _TOKENS, 400: _ERRORS, 401: _ERRORS, 429: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        return credentials_login(_provider(DEFAULT_PROVIDER, request), request)


class ProviderLoginView(APIView):
    """``POST /auth/login/<provider>``: a configured credentials provider (contract §7.2)."""

    @extend_schema(
        summary="Sign in through a configured provider",
        request=_PROVIDER_LOGIN_BODY,
        responses={200: _TOKENS, 400: _ERRORS, 401: _ERRORS, 404: _ERRORS, 429: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request, provider: str) -> HttpResponse:
        driver = _named_provider(provider, request)
        if driver.redirects:
            raise RouteNotFound(request.path)
        return credentials_login(driver, request)

    @extend_schema(
        summary="Start a single sign-on through a redirect provider",
        parameters=[
            OpenApiParameter("redirect", str, description="Where to go after signing in"),
            OpenApiParameter("otp", str, description="A one-time code, for users with TFA"),
            OpenApiParameter("prompt", bool, description="Ask the provider for consent again"),
        ],
        responses={302: None, 400: _ERRORS, 404: _ERRORS},
        tags=["auth"],
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        return sso.start(request._request, provider)


_CALLBACK_PARAMETERS = [
    OpenApiParameter("code", str, description="The authorization code"),
    OpenApiParameter("state", str, description="The state sent at the start"),
    OpenApiParameter("error", str, description="The provider's error, when it refused"),
    OpenApiParameter("error_description", str),
    OpenApiParameter("iss", str, description="The provider's issuer (RFC 9207)"),
]


class ProviderCallbackView(APIView):
    """``/auth/login/<provider>/callback``: where the identity provider sends the person back
    (:func:`api.sso.callback`). Neither authenticated nor CSRF-checked: the flow's ``state``,
    kept in the session, is what ties the answer to its start."""

    authentication_classes = ()

    @extend_schema(
        summary="End a single sign-on (the identity provider redirects here)",
        parameters=_CALLBACK_PARAMETERS,
        responses={302: None, 401: _ERRORS, 404: _ERRORS},
        tags=["auth"],
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        return sso.callback(request._request, provider)

    @extend_schema(
        summary="End a single sign-on (response_mode=form_post; answered with a 303 GET)",
        parameters=_CALLBACK_PARAMETERS,
        request=None,
        responses={303: None, 404: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request, provider: str) -> HttpResponse:
        return sso.callback(request._request, provider)


class SamlAcsView(APIView):
    """``/auth/login/<provider>/acs``: the SAML assertion consumer (:func:`api.sso.acs`)."""

    authentication_classes = ()

    @extend_schema(
        summary="Receive the SAML identity provider's answer (HTTP-POST binding)",
        request=inline_serializer(
            "SamlAnswer",
            {"SAMLResponse": serializers.CharField(), "RelayState": serializers.CharField()},
        ),
        responses={303: None, 404: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request, provider: str) -> HttpResponse:
        return sso.acs(request._request, provider)

    @extend_schema(
        summary="End a SAML sign-in (after the answer was received)",
        responses={302: None, 400: _ERRORS, 401: _ERRORS, 404: _ERRORS},
        tags=["auth"],
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        return sso.acs(request._request, provider)


class SamlMetadataView(APIView):
    authentication_classes = ()

    @extend_schema(
        summary="This service provider's SAML metadata",
        responses={(200, "text/xml"): OpenApiResponse(description="SAML metadata"), 404: _ERRORS},
        tags=["auth"],
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        return sso.saml_metadata(request._request, provider)


class SamlLogoutView(APIView):
    """``/auth/login/<provider>/logout``: single logout with the SAML identity provider."""

    authentication_classes = ()

    @extend_schema(
        summary="Sign out here, then at the SAML identity provider",
        request=_REFRESH_BODY,
        responses={302: None, 204: None, 400: _ERRORS, 404: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request, provider: str) -> HttpResponse:
        driver = sso.saml_driver(provider, request.path)
        body = request.data if isinstance(request.data, dict) else {}
        if "mode" not in body and "refresh_token" not in body:  # whichever cookie it has
            body = {"mode": "session" if session_cookie().name in request.COOKIES else "cookie"}
        user = None
        try:
            token = presented_token(
                body, request.COOKIES, refresh_cookie().name, session_cookie().name
            )
        except DirectusError:
            token = None  # nothing to end here: the identity provider is still asked
        if token is not None:
            refuse_cross_site_form(request, token)
            user = logout(token, session_context(request))
        return sso.saml_logout(request._request, driver, user)

    @extend_schema(
        summary="The SAML identity provider's LogoutResponse or LogoutRequest",
        parameters=[
            OpenApiParameter("SAMLResponse", str),
            OpenApiParameter("SAMLRequest", str),
            OpenApiParameter("RelayState", str),
            OpenApiParameter("SigAlg", str),
            OpenApiParameter("Signature", str),
        ],
        responses={302: None, 401: _ERRORS, 404: _ERRORS},
        tags=["auth"],
    )
    def get(self, request: Request, provider: str) -> HttpResponse:
        return sso.saml_logged_out(request._request, sso.saml_driver(provider, request.path))


def _named_provider(name: str, request: Request) -> AuthDriver:
    if name == DEFAULT_PROVIDER:  # the built-in provider answers only at /auth/login
        raise RouteNotFound(request.path)
    return _provider(name, request)


def _provider(name: str, request: Request) -> AuthDriver:
    """The provider ``name``, or ``ROUTE_NOT_FOUND`` for the path asked for."""
    try:
        return provider(name)
    except RouteNotFound:
        raise RouteNotFound(request.path) from None


def refuse_cross_site_form(request: Request, token: PresentedToken) -> None:
    """A credential the browser adds by itself (the refresh or session cookie) is only used for
    a JSON request or a request from this server's own origin: an HTML form on another site can
    post here with the victim's cookies, but cannot send ``application/json`` without a CORS
    preflight. Clients that are not browsers send no ``Origin`` and are not affected."""
    if token.mode == "json" or request.content_type.startswith("application/json"):
        return
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None or origin.rstrip("/") in own_origins(request):
        return
    raise Forbidden("A cookie credential from another origin needs a JSON body")


def own_origins(request: Request) -> set[str]:
    public = urlsplit(settings.DIRECTUS.server.public_url)
    origins = {f"{request.scheme}://{request.get_host()}"}
    if public.scheme in ("http", "https"):
        origins.add(f"{public.scheme}://{public.netloc}")
    return origins


class RefreshView(APIView):
    @extend_schema(
        summary="Exchange a refresh token (or the session cookie) for new tokens",
        request=_REFRESH_BODY,
        responses={200: _TOKENS, 400: _ERRORS, 401: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        data = request.data
        token = presented_token(data, request.COOKIES, refresh_cookie().name, session_cookie().name)
        refuse_cross_site_form(request, token)
        return tokens_response(refresh_padded(token, session_context(request)))


class LogoutView(APIView):
    @extend_schema(
        summary="End the sign-in the refresh token or session cookie belongs to",
        request=_REFRESH_BODY,
        responses={204: None, 400: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        token = presented_token(
            request.data, request.COOKIES, refresh_cookie().name, session_cookie().name
        )
        refuse_cross_site_form(request, token)
        logout(token, session_context(request))
        return signed_out(request)


class LogoutEverywhereView(APIView):
    @extend_schema(
        summary="End every sign-in of the current user",
        request=None,
        responses={204: None, 401: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        acc = request_accountability(request)
        if acc.user is None:
            raise InvalidCredentials()
        if acc.scope is not None:  # a narrowed key acts for the owner only within its scope
            raise Forbidden()
        user = User.objects.filter(pk=acc.user).first()
        if user is None:
            raise InvalidCredentials()
        logout_everywhere(user, session_context(request))
        return signed_out(request)


class ProvidersView(APIView):
    @extend_schema(
        summary="Configured sign-in providers",
        responses={
            200: inline_serializer(
                "Providers",
                {"data": serializers.ListField(), "disableDefault": serializers.BooleanField()},
            )
        },
        tags=["auth"],
    )
    def get(self, request: Request) -> HttpResponse:
        session_only = "sessionOnly" in request.query_params
        body: dict[str, Any] = {
            "data": [
                provider_entry(driver)
                for driver in configured()
                if not (session_only and driver.redirects and _mode(driver) != "session")
            ],
            "disableDefault": settings.DIRECTUS.auth.disable_default,
        }
        return JsonResponse(body)


def provider_entry(driver: AuthDriver) -> dict[str, str]:
    """``{name, driver, label?, icon?}`` (contract §7.7: label and icon omitted when unset)."""
    entry = {"name": driver.name, "driver": driver.kind}
    if driver.provider.label:
        entry["label"] = driver.provider.label
    if driver.provider.icon:
        entry["icon"] = driver.provider.icon
    return entry


def _mode(driver: AuthDriver) -> str:
    return str(driver.provider.option("mode", "session"))
