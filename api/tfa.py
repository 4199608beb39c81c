"""``/users/me/tfa/*`` and ``/users/<id>/tfa/disable`` (contract http-auth.md §7.9), and, beyond
Directus, ``/users/me/tfa/recovery-codes``. Thin: parse the body, call :mod:`factors`.

Every body must be a JSON object whose named fields are strings (400 ``INVALID_PAYLOAD``
otherwise). A user whose policies enforce TFA and who has none yet is granted nothing else, but
these endpoints need only their identity, so they can always set it up."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.accountability import Accountability
from accounts.models import DEFAULT_PROVIDER, User
from api.authentication import request_accountability, session_context
from core.errors import Forbidden, InvalidCredentials, InvalidPayload
from factors import recovery, totp
from factors.enrolled import has_any, has_passkey
from signin.reauth import confirm_code, confirm_password, disable_totp, generate_totp
from tokens.sessions import SessionContext

_ERRORS = OpenApiResponse(description='Error envelope: {"errors": [{"message", "extensions"}]}')
_DONE = OpenApiResponse(description="Done; no body")


def _body(name: str, fields: dict[str, Any]) -> Any:
    return inline_serializer(name, fields)


_GENERATED = _body(
    "TfaGenerated",
    {
        "data": _body(
            "TfaGeneratedData",
            {"secret": serializers.CharField(), "otpauth_url": serializers.CharField()},
        )
    },
)
_CODES = _body(
    "RecoveryCodes",
    {
        "data": _body(
            "RecoveryCodesData", {"codes": serializers.ListField(child=serializers.CharField())}
        )
    },
)
_REMAINING = _body(
    "RecoveryCodesLeft",
    {"data": _body("RecoveryCodesLeftData", {"remaining": serializers.IntegerField()})},
)


def _object(request: Request) -> dict[str, Any]:
    """The JSON object body (an empty body is ``{}``)."""
    data = request.data
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidPayload('"value" must be of type object')
    return data


def _string(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    """``data[name]`` as a string; missing or empty is ``"<name>" is required`` (Directus checks
    ``!req.body.<name>``), another type ``"<name>" must be a string``."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidPayload(f'"{name}" is required')
        return ""
    if not isinstance(value, str):
        raise InvalidPayload(f'"{name}" must be a string')
    return value


def _signed_in(request: Request) -> User:
    """The caller's user row; 401 ``INVALID_CREDENTIALS`` for anyone else (public, role key)."""
    acc = request_accountability(request)
    user = User.objects.filter(pk=acc.user).first() if acc.user else None
    if user is None:
        raise InvalidCredentials()
    return user


class GenerateView(APIView):
    @extend_schema(
        summary="A new TOTP secret and its otpauth URL (nothing is stored yet)",
        request=_body("TfaGenerateBody", {"password": serializers.CharField(required=False)}),
        responses={200: _GENERATED, 400: _ERRORS, 401: _ERRORS, 429: _ERRORS},
        tags=["Users"],
        operation_id="users_me_tfa_generate",
    )
    def post(self, request: Request) -> Response:
        user = _signed_in(request)
        data = _object(request)
        password = _string(data, "password") if user.provider == DEFAULT_PROVIDER else ""
        secret, url = generate_totp(user, password, session_context(request))
        response = Response({"data": {"secret": secret, "otpauth_url": url}})
        response["Cache-Control"] = "no-store"
        return response


class EnableView(APIView):
    @extend_schema(
        summary="Turn TOTP on with a generated secret and a current code from it",
        request=_body(
            "TfaEnableBody", {"secret": serializers.CharField(), "otp": serializers.CharField()}
        ),
        responses={204: _DONE, 400: _ERRORS, 401: _ERRORS},
        tags=["Users"],
        operation_id="users_me_tfa_enable",
    )
    def post(self, request: Request) -> HttpResponse:
        user = _signed_in(request)
        data = _object(request)
        secret, otp = _string(data, "secret"), _string(data, "otp")
        totp.enable(user, secret, otp, context=session_context(request))
        return HttpResponse(status=204)


class DisableView(APIView):
    @extend_schema(
        summary="Turn TOTP off with a current code (or a recovery code)",
        request=_body("TfaDisableBody", {"otp": serializers.CharField()}),
        responses={204: _DONE, 400: _ERRORS, 401: _ERRORS, 429: _ERRORS},
        tags=["Users"],
        operation_id="users_me_tfa_disable",
    )
    def post(self, request: Request) -> HttpResponse:
        user = _signed_in(request)
        otp = _string(_object(request), "otp")
        disable_totp(user, otp, session_context(request))
        return HttpResponse(status=204)


def _admin(acc: Accountability) -> None:
    if acc.is_public:
        raise InvalidCredentials()
    if not acc.admin:
        raise Forbidden()


class UserDisableView(APIView):
    @extend_schema(
        summary="An admin turns a user's TOTP off (no code)",
        request=None,
        responses={204: _DONE, 401: _ERRORS, 403: _ERRORS},
        tags=["Users"],
        operation_id="users_tfa_disable",
    )
    def post(self, request: Request, id: str) -> HttpResponse:
        _admin(request_accountability(request))
        try:
            user = User.objects.filter(pk=uuid.UUID(id)).first()
        except ValueError:
            user = None
        if user is None:
            raise Forbidden()
        totp.remove(user, context=session_context(request))
        return HttpResponse(status=204)


class RecoveryCodesView(APIView):
    """Beyond Directus: new one-time recovery codes (shown once), and how many are left."""

    @extend_schema(
        summary="How many unused recovery codes the caller has",
        responses={200: _REMAINING, 401: _ERRORS},
        tags=["Users"],
        operation_id="users_me_tfa_recovery_codes_read",
    )
    def get(self, request: Request) -> Response:
        user = _signed_in(request)
        return Response({"data": {"remaining": recovery.remaining(user)}})

    @extend_schema(
        summary="Replace the caller's recovery codes; the new ones are shown this once",
        request=_body(
            "RecoveryCodesBody",
            {
                "otp": serializers.CharField(required=False, help_text="a current TOTP code"),
                "password": serializers.CharField(required=False, help_text="passkey-only users"),
            },
        ),
        responses={200: _CODES, 400: _ERRORS, 401: _ERRORS, 429: _ERRORS},
        tags=["Users"],
        operation_id="users_me_tfa_recovery_codes_create",
    )
    def post(self, request: Request) -> Response:
        user = _signed_in(request)
        _prove_for_codes(user, _object(request), session_context(request))
        response = Response(
            {"data": {"codes": recovery.regenerate(user, context=session_context(request))}}
        )
        response["Cache-Control"] = "no-store"
        return response


def _prove_for_codes(user: User, data: dict[str, Any], context: SessionContext) -> None:
    """A TOTP user proves it with a current TOTP code (not a recovery code: those are what is
    being replaced); a passkey-only user, who has no code to type here, with their password."""
    if totp.has_totp(user):
        confirm_code(user, _string(data, "otp"), context, totp.accept)
    elif has_passkey(user) and user.provider == DEFAULT_PROVIDER:
        confirm_password(user, _string(data, "password"), context)
    elif not has_any(user):
        raise InvalidPayload(recovery.NO_FACTOR)
