"""``/items/<collection>`` and ``/items/<collection>/<id>``: thin HTTP adapters over
:class:`items.service.ItemsService` (every rule lives in the service)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.accountability import Accountability
from api.authentication import request_accountability
from core.errors import InvalidPayload
from items.query import AGGREGATES, query_from_params
from items.service import ItemsService

TAGS = ["Items"]
COLLECTION = OpenApiParameter(
    "collection", str, OpenApiParameter.PATH, description="Collection name, e.g. articles."
)
ITEM_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="Primary key.")
QUERY = [
    OpenApiParameter("fields", str, description="CSV of fields; * and author.email style."),
    OpenApiParameter("filter", str, description="Filter as JSON."),
    OpenApiParameter("search", str, description="Text searched in readable text fields."),
    OpenApiParameter("sort", str, description="CSV of fields; prefix - for descending."),
    OpenApiParameter("limit", int, description="Maximum number of items; -1 when allowed."),
    OpenApiParameter("offset", int, description="Items to skip."),
    OpenApiParameter("page", int, description="1-based page of `limit` items."),
    OpenApiParameter("meta", str, description="total_count, filter_count or *."),
    OpenApiParameter(
        "aggregate",
        {
            "type": "object",
            "properties": {name: {"type": "string"} for name in AGGREGATES},
            "additionalProperties": False,
        },
        style="deepObject",
        explode=True,
        description="aggregate[<function>]=<CSV of fields> (count also takes *); "
        "the answer is one row, or one per group with groupBy.",
    ),
    OpenApiParameter("groupBy", str, description="CSV of fields to group the aggregate by."),
]
FIELDS_ONLY = QUERY[:1]
ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="INVALID_QUERY, INVALID_PAYLOAD, …"),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="FORBIDDEN"),
}
DATA = OpenApiResponse(OpenApiTypes.OBJECT, description='{"data": …, "meta"?: {…}}')
WRITTEN = {200: DATA, 204: OpenApiResponse(description="Written; not readable."), **ERRORS}


class ServiceMixin:
    """Which service a view uses; the users endpoints swap in their own."""

    service: Callable[[str, Accountability], ItemsService] = ItemsService

    def service_for(self, request: Request, collection: str) -> ItemsService:
        return self.service(collection, request_accountability(request))


def _written(service: ItemsService, request: Request, keys: list[str], many: bool) -> Response:
    items = service.read_written(keys, query_from_params(request.query_params))
    if items is None:
        return Response(status=204)
    return Response({"data": items if many else items[0]})


class ItemsView(ServiceMixin, APIView):
    """The items of one collection."""

    @extend_schema(
        operation_id="items_list", tags=TAGS, parameters=[COLLECTION, *QUERY],
        responses={200: DATA, **ERRORS},
    )  # fmt: skip
    def get(self, request: Request, collection: str) -> Response:
        page = self.service_for(request, collection).read_many(
            query_from_params(request.query_params)
        )
        body: dict[str, Any] = {"data": page.data}
        if page.meta is not None:
            body["meta"] = page.meta
        return Response(body)

    @extend_schema(
        operation_id="items_create", tags=TAGS, parameters=[COLLECTION, *FIELDS_ONLY],
        request=OpenApiTypes.OBJECT, responses=WRITTEN,
    )  # fmt: skip
    def post(self, request: Request, collection: str) -> Response:
        service = self.service_for(request, collection)
        many = isinstance(request.data, list)
        keys = service.create_many(request.data if many else [request.data])
        return _written(service, request, keys, many)

    @extend_schema(
        operation_id="items_update_many", tags=TAGS, parameters=[COLLECTION, *FIELDS_ONLY],
        request=OpenApiTypes.OBJECT, responses=WRITTEN,
    )  # fmt: skip
    def patch(self, request: Request, collection: str) -> Response:
        service = self.service_for(request, collection)
        body = request.data
        if isinstance(body, list):
            keys = service.update_batch(body)
        elif isinstance(body, dict) and "keys" in body:
            keys = service.update_many(body["keys"], body.get("data"))
        else:
            raise InvalidPayload('Payload has to be an array of items or {"keys", "data"}')
        return _written(service, request, keys, True)

    @extend_schema(
        operation_id="items_delete_many", tags=TAGS, parameters=[COLLECTION],
        request=OpenApiTypes.OBJECT, responses={204: None, **ERRORS},
    )  # fmt: skip
    def delete(self, request: Request, collection: str) -> Response:
        body = request.data
        keys = body.get("keys") if isinstance(body, dict) else body
        if not isinstance(keys, list):
            raise InvalidPayload('Payload has to be an array of keys or {"keys": [...]}')
        self.service_for(request, collection).delete_many(keys)
        return Response(status=204)


class ItemView(ServiceMixin, APIView):
    """One item of a collection."""

    @extend_schema(
        operation_id="items_read", tags=TAGS, parameters=[COLLECTION, ITEM_ID, *FIELDS_ONLY],
        responses={200: DATA, **ERRORS},
    )  # fmt: skip
    def get(self, request: Request, collection: str, id: str) -> Response:
        service = self.service_for(request, collection)
        item = service.read_one(id, query_from_params(request.query_params))
        return Response({"data": item})

    @extend_schema(
        operation_id="items_update", tags=TAGS, parameters=[COLLECTION, ITEM_ID, *FIELDS_ONLY],
        request=OpenApiTypes.OBJECT, responses=WRITTEN,
    )  # fmt: skip
    def patch(self, request: Request, collection: str, id: str) -> Response:
        service = self.service_for(request, collection)
        keys = [service.update_one(id, request.data)]
        return _written(service, request, keys, False)

    @extend_schema(
        operation_id="items_delete", tags=TAGS, parameters=[COLLECTION, ITEM_ID],
        responses={204: None, **ERRORS},
    )  # fmt: skip
    def delete(self, request: Request, collection: str, id: str) -> Response:
        self.service_for(request, collection).delete_one(id)
        return Response(status=204)
