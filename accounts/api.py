"""REST endpoints under ``/auth`` (contract http-auth.md §7). Thin: parse, call a service,
shape the response and cookies."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User
from accounts.services.login import login, parse_login_payload, stall
from accounts.services.refresh import logout, logout_everywhere, presented_token, refresh
from project.errors import DirectusError, InvalidCredentials, RequestsExceeded, RouteNotFound
from project.middleware import client_ip
from tokens.authentication import request_accountability
from tokens.cookies import (
    clear_refresh_cookie,
    clear_session_cookie,
    refresh_cookie,
    session_cookie,
    set_refresh_cookie,
    set_session_cookie,
)
from tokens.issue import IssuedTokens
from tokens.sessions import SessionContext

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
_REFRESH_BODY = inline_serializer(
    "RefreshBody",
    {
        "refresh_token": serializers.CharField(required=False),
        "mode": serializers.ChoiceField(["json", "cookie", "session"], required=False),
    },
)
_ERRORS = OpenApiResponse(description='Error envelope: {"errors": [{"message", "extensions"}]}')


def session_context(request: Request) -> SessionContext:
    meta = request.META
    return SessionContext(
        ip=client_ip(request._request),
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        origin=meta.get("HTTP_ORIGIN", ""),
    )


def tokens_response(issued: IssuedTokens) -> HttpResponse:
    """The body and cookie of a login or refresh, by mode (contract §7.1)."""
    if issued.mode == "session":
        response = JsonResponse({"data": {"expires": issued.expires_ms}})
        set_session_cookie(response, issued.access_token)
    elif issued.mode == "cookie":
        response = JsonResponse(
            {"data": {"expires": issued.expires_ms, "access_token": issued.access_token}}
        )
        set_refresh_cookie(response, issued.refresh_token)
    else:
        response = JsonResponse(
            {
                "data": {
                    "expires": issued.expires_ms,
                    "refresh_token": issued.refresh_token,
                    "access_token": issued.access_token,
                }
            }
        )
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


def _stall_on(error: DirectusError, started: float) -> None:
    if error.stall:
        stall(started)


class LoginView(APIView):
    """``POST /auth/login``: every outcome but a malformed body takes ``LOGIN_STALL_TIME``."""

    @extend_schema(
        summary="Sign in with email and password",
        request=_LOGIN_BODY,
        responses={200: _TOKENS, 400: _ERRORS, 401: _ERRORS, 429: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        if settings.DIRECTUS.auth_disable_default:
            raise RouteNotFound(request.path)
        data = request.data  # a malformed body fails here, without the stall
        started = time.monotonic()
        try:
            issued = login(parse_login_payload(data), session_context(request))
        except RequestsExceeded:
            raise
        except DirectusError:
            stall(started)
            raise
        stall(started)
        return tokens_response(issued)


class RefreshView(APIView):
    @extend_schema(
        summary="Exchange a refresh token (or the session cookie) for new tokens",
        request=_REFRESH_BODY,
        responses={200: _TOKENS, 400: _ERRORS, 401: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        data = request.data
        started = time.monotonic()
        token = presented_token(data, request.COOKIES, refresh_cookie().name, session_cookie().name)
        try:
            issued = refresh(token, session_context(request))
        except DirectusError as error:
            _stall_on(error, started)
            raise
        return tokens_response(issued)


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
        body: dict[str, Any] = {
            "data": [],
            "disableDefault": settings.DIRECTUS.auth_disable_default,
        }
        return JsonResponse(body)
