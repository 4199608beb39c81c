"""``/users``: the ``directus_users`` collection through :class:`system.users.UsersService`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import signed_in_accountability
from api.items import FIELDS_ONLY, ItemsView, ItemView
from items.query import query_from_params
from system.users import COLLECTION, UsersService

__all__ = ["COLLECTION", "MeView", "UserView", "UsersService", "UsersView"]


def _ids(**operations: str) -> dict[str, Any]:
    """OpenAPI operation ids of the users views (they reuse the items views' methods)."""
    return {m: extend_schema(operation_id=op, tags=["Users"]) for m, op in operations.items()}


@extend_schema_view(
    **_ids(get="users_list", post="users_create", patch="users_update_many",
           delete="users_delete_many")
)  # fmt: skip
class UsersView(ItemsView):
    service = UsersService


@extend_schema_view(**_ids(get="users_read", patch="users_update", delete="users_delete"))
class UserView(ItemView):
    service = UsersService


class MeView(APIView):
    """``/users/me``: the caller's own record, read and written through permissions."""

    @extend_schema(
        operation_id="users_me_read", tags=["Users"], parameters=FIELDS_ONLY,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), 401: OpenApiResponse()},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        acc = signed_in_accountability(request)
        item = UsersService(COLLECTION, acc).read_me(query_from_params(request.query_params))
        return Response({"data": item})

    @extend_schema(
        operation_id="users_me_update", tags=["Users"], parameters=FIELDS_ONLY,
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), 204: None, 401: OpenApiResponse()},
    )  # fmt: skip
    def patch(self, request: Request) -> Response:
        acc = signed_in_accountability(request)
        service = UsersService(COLLECTION, acc)
        key = service.update_one(acc.user, request.data)
        items = service.read_written([key], query_from_params(request.query_params))
        if items is None:
            return Response(status=204)
        return Response({"data": items[0]})
