"""``/keys``: API keys over REST (docs/api-keys.md). Thin: every rule is in
:mod:`tokens.keyaccess` and :mod:`tokens.keys`."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import request_accountability
from tokens import keyaccess

TAGS = ["Keys"]
KEY_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The key's id.")
ERRORS = OpenApiResponse(description='Error envelope: {"errors": [{"message", "extensions"}]}')
_KEY_FIELDS: dict[str, serializers.Field] = {
    "id": serializers.UUIDField(),
    "name": serializers.CharField(),
    "kind": serializers.ChoiceField(["key", "user_token"]),
    "prefix": serializers.CharField(help_text="Public part of the secret (dak_ + 6)."),
    "user": serializers.UUIDField(allow_null=True),
    "role": serializers.UUIDField(allow_null=True),
    "scope": serializers.JSONField(allow_null=True),
    "expires_at": serializers.DateTimeField(allow_null=True),
    "created_at": serializers.DateTimeField(),
    "last_used_at": serializers.DateTimeField(allow_null=True),
    "last_used_ip": serializers.IPAddressField(allow_null=True),
    "revoked_at": serializers.DateTimeField(allow_null=True),
    "rotated_from": serializers.UUIDField(allow_null=True),
}
KEY = inline_serializer("ApiKeyEnvelope", {"data": inline_serializer("ApiKey", _KEY_FIELDS)})
KEYS = inline_serializer(
    "ApiKeyList", {"data": inline_serializer("ApiKeyItem", _KEY_FIELDS, many=True)}
)
ISSUED = inline_serializer(
    "IssuedApiKeyEnvelope",
    {
        "data": inline_serializer(
            "IssuedApiKey",
            {**_KEY_FIELDS, "secret": serializers.CharField(help_text="Shown only here, once.")},
        )
    },
)
CREATE_BODY = inline_serializer(
    "ApiKeyCreate",
    {
        "name": serializers.CharField(),
        "user": serializers.UUIDField(required=False, help_text="Admins only, for others."),
        "role": serializers.UUIDField(required=False, help_text="Admins only: a role key."),
        "expires_at": serializers.DateTimeField(required=False, allow_null=True),
        "scope": serializers.JSONField(required=False, allow_null=True),
    },
)
ROTATE_BODY = inline_serializer(
    "ApiKeyRotate",
    {"overlap": serializers.IntegerField(required=False, help_text="Seconds; default 0.")},
)


class KeysView(APIView):
    @extend_schema(
        operation_id="keys_list", tags=TAGS, summary="List keys (own, or all for admins)",
        responses={200: KEYS, 401: ERRORS},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        keys = keyaccess.visible_keys(request_accountability(request))
        return Response({"data": [keyaccess.key_json(key) for key in keys]})

    @extend_schema(
        operation_id="keys_create", tags=TAGS, summary="Create a key; the secret is shown once",
        request=CREATE_BODY, responses={200: ISSUED, 400: ERRORS, 401: ERRORS, 403: ERRORS},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        issued = keyaccess.create_from_body(request_accountability(request), request.data)
        return _secret_response(keyaccess.key_json(issued.key, issued.secret))


class KeyView(APIView):
    @extend_schema(
        operation_id="keys_read", tags=TAGS, parameters=[KEY_ID],
        responses={200: KEY, 401: ERRORS, 403: ERRORS},
    )  # fmt: skip
    def get(self, request: Request, id: str) -> Response:
        key = keyaccess.readable_key(request_accountability(request), id)
        return Response({"data": keyaccess.key_json(key)})

    @extend_schema(
        operation_id="keys_delete", tags=TAGS, summary="Revoke a key", parameters=[KEY_ID],
        responses={204: None, 401: ERRORS, 403: ERRORS},
    )  # fmt: skip
    def delete(self, request: Request, id: str) -> Response:
        acc = request_accountability(request)
        keyaccess.revoke(acc, keyaccess.manageable_key(acc, id))
        return Response(status=204)


class KeyRevokeView(APIView):
    @extend_schema(
        operation_id="keys_revoke", tags=TAGS, summary="Revoke a key", parameters=[KEY_ID],
        request=None, responses={204: None, 401: ERRORS, 403: ERRORS},
    )  # fmt: skip
    def post(self, request: Request, id: str) -> Response:
        acc = request_accountability(request)
        keyaccess.revoke(acc, keyaccess.manageable_key(acc, id))
        return Response(status=204)


class KeyRotateView(APIView):
    @extend_schema(
        operation_id="keys_rotate", tags=TAGS, summary="New secret; old one valid for overlap",
        parameters=[KEY_ID], request=ROTATE_BODY,
        responses={200: ISSUED, 400: ERRORS, 401: ERRORS, 403: ERRORS},
    )  # fmt: skip
    def post(self, request: Request, id: str) -> Response:
        acc = request_accountability(request)
        issued = keyaccess.rotate_from_body(acc, keyaccess.manageable_key(acc, id), request.data)
        return _secret_response(keyaccess.key_json(issued.key, issued.secret))


def _secret_response(data: dict[str, object]) -> Response:
    response = Response({"data": data})
    response["Cache-Control"] = "no-store"
    return response
