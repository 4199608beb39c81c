"""REST endpoints of the account lifecycle (contract http-auth.md §7.5, §7.6, §7.10). Thin:
parse the body, call :mod:`lifecycle.resets` or :mod:`lifecycle.invites`, answer 204.

Authentication runs first, as everywhere (a bad token fails with its own error even here).
``POST /users/invite`` authorises before it reads its body: nobody without the right to create
users learns anything from its validation errors."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from api.authentication import session_context, signed_in_accountability
from core.errors import InvalidPayload
from lifecycle.invites import accept_invite, invite_users, parse_invite
from lifecycle.resets import request_password_reset, reset_password
from system.users import COLLECTION, UsersService

_ERRORS = OpenApiResponse(description='Error envelope: {"errors": [{"message", "extensions"}]}')
_DONE = OpenApiResponse(description="Done (no content)")
_REQUEST_BODY = inline_serializer(
    "PasswordRequestBody",
    {
        "email": serializers.EmailField(),
        "reset_url": serializers.URLField(
            required=False, help_text="Base of the mailed link; must be in the allow list"
        ),
    },
)
_TOKEN_PASSWORD_BODY = inline_serializer(
    "TokenPasswordBody",
    {
        "token": serializers.CharField(help_text="The token from the mailed link"),
        "password": serializers.CharField(),
    },
)
_INVITE_BODY = inline_serializer(
    "InviteBody",
    {
        "email": serializers.ListField(
            child=serializers.EmailField(), help_text="One address or a list of up to 100"
        ),
        "role": serializers.UUIDField(),
        "invite_url": serializers.URLField(
            required=False, help_text="Base of the mailed link; must be in the allow list"
        ),
    },
)


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    return data if isinstance(data, dict) else {}


def _required_string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise InvalidPayload(f'"{name}" field is required')
    return value


def _optional_string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidPayload(f'"{name}" must be a string')
    return value


class PasswordRequestView(APIView):
    @extend_schema(
        summary="Mail a password reset link (the same answer for every address)",
        request=_REQUEST_BODY,
        responses={204: _DONE, 400: _ERRORS, 429: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        data = _body(request)
        email = _required_string(data, "email")
        reset_url = _optional_string(data, "reset_url")
        request_password_reset(email, reset_url, session_context(request))
        return HttpResponse(status=204)


class PasswordResetView(APIView):
    @extend_schema(
        summary="Set a new password with the token of a reset link; ends every session",
        request=_TOKEN_PASSWORD_BODY,
        responses={204: _DONE, 400: _ERRORS, 401: _ERRORS, 403: _ERRORS, 429: _ERRORS},
        tags=["auth"],
    )
    def post(self, request: Request) -> HttpResponse:
        data = _body(request)
        token = _required_string(data, "token")
        password = _required_string(data, "password")
        reset_password(token, password, session_context(request))
        return HttpResponse(status=204)


class InviteView(APIView):
    @extend_schema(
        operation_id="users_invite",
        summary="Invite people by e-mail into a role (needs create permission on users)",
        request=_INVITE_BODY,
        responses={204: _DONE, 400: _ERRORS, 401: _ERRORS, 403: _ERRORS},
        tags=["Users"],
    )
    def post(self, request: Request) -> HttpResponse:
        acc = signed_in_accountability(request)
        service = UsersService(COLLECTION, acc)
        service.authorise("create")
        invite = parse_invite(request.data)
        invite_users(invite, service, session_context(request), inviter=str(acc.user))
        return HttpResponse(status=204)


class InviteAcceptView(APIView):
    @extend_schema(
        operation_id="users_invite_accept",
        summary="Accept an invitation: set the password and activate the user",
        request=_TOKEN_PASSWORD_BODY,
        responses={204: _DONE, 400: _ERRORS, 401: _ERRORS, 403: _ERRORS, 429: _ERRORS},
        tags=["Users"],
    )
    def post(self, request: Request) -> HttpResponse:
        data = _body(request)
        token = _required_string(data, "token")
        password = _required_string(data, "password")
        accept_invite(token, password, session_context(request))
        return HttpResponse(status=204)
