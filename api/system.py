"""``/roles``, ``/policies``, ``/permissions`` and ``/access``: the access model's collections
through their system services (the items views with another service), plus the "about me"
reads (contract access-model.md §5.3): ``/permissions/me``, ``/permissions/me/<collection>[/<pk>]``,
``/policies/me/globals`` and ``/roles/me``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.accountability import Accountability
from accounts.models import Action, Policy
from accounts.permissions import rules_for
from api.authentication import request_accountability
from api.items import FIELDS_ONLY, ItemsView, ItemView
from core.errors import Forbidden
from items import registry
from items.query import Query, query_from_params
from system.access_model import RolesService
from system.services import service_for

ACTIONS = tuple(action.value for action in Action)
ROW_ACTIONS = ("update", "delete", "share")
DATA = OpenApiResponse(OpenApiTypes.OBJECT, description='{"data": …}')


def _ids(tag: str, **operations: str) -> dict[str, Any]:
    return {m: extend_schema(operation_id=op, tags=[tag]) for m, op in operations.items()}


class SystemItemsView(ItemsView):
    """The items of a system collection (the route names it)."""

    service = staticmethod(service_for)


class SystemItemView(ItemView):
    """One item of a system collection."""

    service = staticmethod(service_for)


def collection_views(name: str, tag: str) -> tuple[type, type]:
    """The list and one-item views of a system collection, with their OpenAPI names."""
    many = extend_schema_view(
        **_ids(tag, get=f"{name}_list", post=f"{name}_create", patch=f"{name}_update_many",
               delete=f"{name}_delete_many")
    )(type(f"{tag}View", (SystemItemsView,), {}))  # fmt: skip
    one = extend_schema_view(
        **_ids(tag, get=f"{name}_read", patch=f"{name}_update", delete=f"{name}_delete")
    )(type(f"{tag}ItemView", (SystemItemView,), {}))
    return many, one


RolesView, RoleView = collection_views("roles", "Roles")
PoliciesView, PolicyView = collection_views("policies", "Policies")
PermissionsView, PermissionView = collection_views("permissions", "Permissions")
AccessView, AccessItemView = collection_views("access", "Access")


def _someone(request: Request) -> Accountability:
    """The caller of a "me" route: a user, a role or a share; 403 for the public."""
    acc = request_accountability(request)
    if acc.user is None and acc.role is None and acc.share is None:
        raise Forbidden()
    return acc


def collection_access(acc: Accountability) -> dict[str, dict[str, dict[str, Any]]]:
    """Per collection and action: ``none``, ``partial`` (a row narrows the items) or
    ``full``, with the fields and presets the caller gets (Directus's shape)."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in registry.all_collections():
        actions: dict[str, dict[str, Any]] = {}
        for action in ACTIONS:
            rules = rules_for(acc, spec.name, action)
            if not rules.allowed:
                actions[action] = {"access": "none"}
                continue
            fields = sorted({field for rule in rules.rules for field in rule.fields})
            narrowed = rules.rules and all(rule.filter for rule in rules.rules)
            entry: dict[str, Any] = {
                "access": "partial" if narrowed else "full",
                "fields": ["*"] if "*" in fields else fields,
            }
            presets = rules.presets()
            if presets:
                entry["presets"] = presets
            actions[action] = entry
        if any(entry["access"] != "none" for entry in actions.values()):
            result[spec.name] = actions
    return result


class PermissionsMeView(APIView):
    """``GET /permissions/me``."""

    @extend_schema(
        operation_id="permissions_me", tags=["Permissions"],
        responses={200: DATA, 403: OpenApiResponse(description="FORBIDDEN: the public")},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response({"data": collection_access(_someone(request))})


class PermissionsMeItemView(APIView):
    """``GET /permissions/me/<collection>[/<pk>]``: may the caller update, delete, share
    (that item, or some item)?"""

    @extend_schema(
        operation_id="permissions_me_item", tags=["Permissions"],
        responses={200: DATA, 403: OpenApiResponse(description="FORBIDDEN")},
    )  # fmt: skip
    def get(self, request: Request, collection: str, pk: str | None = None) -> Response:
        acc = request_accountability(request)
        if acc.user is None:
            raise Forbidden()
        service = service_for(collection, acc)
        keys = None if pk is None else [pk]
        answer = {action: {"access": service.permits(action, keys)} for action in ROW_ACTIONS}
        return Response({"data": answer})


class PermissionsMeCollectionView(PermissionsMeItemView):
    """``GET /permissions/me/<collection>``: may the caller update, delete, share some item?"""

    @extend_schema(
        operation_id="permissions_me_collection", tags=["Permissions"],
        responses={200: DATA, 403: OpenApiResponse(description="FORBIDDEN")},
    )  # fmt: skip
    def get(self, request: Request, collection: str, pk: str | None = None) -> Response:
        return super().get(request, collection)


class PoliciesMeGlobalsView(APIView):
    """``GET /policies/me/globals``: the caller's global flags."""

    @extend_schema(operation_id="policies_me_globals", tags=["Policies"], responses={200: DATA})
    def get(self, request: Request) -> Response:
        acc = request_accountability(request)
        enforce = acc.tfa_setup_required or (
            bool(acc.policies)
            and Policy.objects.filter(pk__in=acc.policies, enforce_tfa=True).exists()
        )
        data = {"app_access": acc.app, "admin_access": acc.admin, "enforce_tfa": enforce}
        return Response({"data": data})


class RolesMeView(APIView):
    """``GET /roles/me``: the caller's role tree, root first, as far as they may read it."""

    @extend_schema(
        operation_id="roles_me", tags=["Roles"], parameters=FIELDS_ONLY,
        responses={200: DATA, 403: OpenApiResponse(description="FORBIDDEN")},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        acc = request_accountability(request)
        if acc.user is None and acc.role is None:
            raise Forbidden()
        roles = [str(role) for role in acc.roles]
        if not roles:
            return Response({"data": []})
        fields = query_from_params(request.query_params).fields
        try:
            query = Query(fields=(*fields, "id"), filter={"id": {"_in": roles}}, limit=None)
            rows = RolesService(None, acc).read_many(query).data
        except Forbidden:
            return Response({"data": [{"id": role} for role in roles]})
        by_id = {str(row["id"]): row for row in rows}
        shown = [by_id.get(role, {"id": role}) for role in roles]
        if "id" not in fields and "*" not in fields:
            shown = [{k: v for k, v in row.items() if k != "id"} for row in shown]
        return Response({"data": shown})


__all__ = [
    "AccessItemView",
    "AccessView",
    "PermissionView",
    "PermissionsMeCollectionView",
    "PermissionsMeItemView",
    "PermissionsMeView",
    "PermissionsView",
    "PoliciesMeGlobalsView",
    "PoliciesView",
    "PolicyView",
    "RoleView",
    "RolesMeView",
    "RolesView",
]
