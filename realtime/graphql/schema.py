"""The strawberry schemas, built from the items registry (Directus naming, contract §10).

Both ``/graphql`` (:func:`get_schema`, every non-system collection) and ``/graphql/system``
(:func:`realtime.graphql.system.get_system_schema`) are made by :func:`build_schema` from a
list of :class:`Root` collections, so they share the fields, the scalars, the error mapping and
the limits. For every root collection ``C`` (its GraphQL name ``N``: the collection's name, or
without ``directus_`` in the system schema):

* ``N(filter: JSON, sort: [String], limit: Int, offset: Int, page: Int, search: String): [C]``
* ``N_by_id(id: ID!): C``
* ``create_N_item(data: JSON!): C``, ``create_N_items(data: [JSON!]!): [C]``,
  ``update_N_item(id: ID!, data: JSON!): C``, ``update_N_items(ids: [ID!]!, data: JSON!): [C]``,
  ``update_N_batch(data: [JSON!]!): [C]``, ``delete_N_item(id: ID!): delete_one``,
  ``delete_N_items(ids: [ID!]!): delete_many``
* with subscriptions: ``N_mutated(event: EventEnum): N_mutated`` → ``{key: ID, event: EventEnum,
  data: C}``

Selections become the service's ``fields``; contract errors become GraphQL errors whose
``extensions.code`` is the contract code.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import create_type
from strawberry.types import ExecutionContext

from core.errors import Forbidden
from items.events import MESSAGE_TYPE, group_name
from items.registry import CollectionSpec

from . import operations
from .context import GraphQLContext
from .cost import QueryCostLimiter
from .errors import MaskUnexpectedErrors, ValidationErrorCodes, call_service, log_unexpected
from .selection import child_fields, root_fields
from .types import (
    SCALAR_MAP,
    DeleteMany,
    DeleteOne,
    EventEnum,
    item_types,
    list_of,
    lookup,
    mutated_type,
    nullable,
    user_collections,
)


@dataclass(frozen=True)
class Root:
    """A collection served at a schema's root, and the name its fields are built from."""

    spec: CollectionSpec
    name: str

    @property
    def collection(self) -> str:
        return self.spec.name


def _query_fields(root: Root, item: type) -> list[Any]:
    collection = root.collection

    async def items(
        info: strawberry.Info,
        filter: JSON | None = None,
        sort: list[str | None] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        page: int | None = None,
        search: str | None = None,
    ) -> Any:
        arguments: dict[str, Any] = {
            "filter": filter,
            "sort": sort,
            "limit": limit,
            "offset": offset,
        }
        arguments |= {"page": page, "search": search, "fields": root_fields(info)}
        query = {key: value for key, value in arguments.items() if value is not None}
        acc = await context_of(info).caller()
        return await call_service(operations.read_items, collection, acc, query)

    async def by_id(info: strawberry.Info, id: strawberry.ID) -> Any:
        acc = await context_of(info).caller()
        return await call_service(operations.read_item, collection, acc, id, root_fields(info))

    return [
        strawberry.field(resolver=items, name=root.name, graphql_type=list_of(item)),
        strawberry.field(resolver=by_id, name=f"{root.name}_by_id", graphql_type=nullable(item)),
    ]


def _create_fields(root: Root, item: type) -> list[Any]:
    collection = root.collection

    async def create(info: strawberry.Info, data: JSON) -> Any:
        acc = await context_of(info).caller()
        fields = root_fields(info)
        return await call_service(operations.create_item, collection, acc, data, fields)

    async def create_many(info: strawberry.Info, data: list[JSON]) -> Any:
        acc = await context_of(info).caller()
        fields = root_fields(info)
        return await call_service(operations.create_items, collection, acc, data, fields)

    return [
        strawberry.mutation(
            resolver=create, name=f"create_{root.name}_item", graphql_type=nullable(item)
        ),
        strawberry.mutation(
            resolver=create_many, name=f"create_{root.name}_items", graphql_type=list_of(item)
        ),
    ]


def _update_fields(root: Root, item: type) -> list[Any]:
    collection = root.collection

    async def update(info: strawberry.Info, id: strawberry.ID, data: JSON) -> Any:
        acc = await context_of(info).caller()
        fields = root_fields(info)
        return await call_service(operations.update_item, collection, acc, id, data, fields)

    async def update_many(info: strawberry.Info, ids: list[strawberry.ID], data: JSON) -> Any:
        acc = await context_of(info).caller()
        fields = root_fields(info)
        return await call_service(operations.update_items, collection, acc, ids, data, fields)

    async def batch(info: strawberry.Info, data: list[JSON]) -> Any:
        acc = await context_of(info).caller()
        fields = root_fields(info)
        return await call_service(operations.update_batch, collection, acc, data, fields)

    many = list_of(item)
    return [
        strawberry.mutation(
            resolver=update, name=f"update_{root.name}_item", graphql_type=nullable(item)
        ),
        strawberry.mutation(
            resolver=update_many, name=f"update_{root.name}_items", graphql_type=many
        ),
        strawberry.mutation(resolver=batch, name=f"update_{root.name}_batch", graphql_type=many),
    ]


def _delete_fields(root: Root) -> list[Any]:
    collection = root.collection

    async def delete(info: strawberry.Info, id: strawberry.ID) -> Any:
        acc = await context_of(info).caller()
        return await call_service(operations.delete_item, collection, acc, id)

    async def delete_many(info: strawberry.Info, ids: list[strawberry.ID]) -> Any:
        acc = await context_of(info).caller()
        return await call_service(operations.delete_items, collection, acc, ids)

    return [
        strawberry.mutation(
            resolver=delete, name=f"delete_{root.name}_item", graphql_type=nullable(DeleteOne)
        ),
        strawberry.mutation(
            resolver=delete_many,
            name=f"delete_{root.name}_items",
            graphql_type=nullable(DeleteMany),
        ),
    ]


def _mutation_fields(root: Root, item: type) -> list[Any]:
    return [*_create_fields(root, item), *_update_fields(root, item), *_delete_fields(root)]


def _subscription_field(root: Root, item: type) -> Any:
    collection = root.collection
    mutated = mutated_type(root.name, item)

    async def subscribe(
        info: strawberry.Info, event: EventEnum | None = None
    ) -> AsyncGenerator[Any, None]:
        context = context_of(info)
        if context.consumer is None:
            raise GraphQLError("Subscriptions need the /graphql WebSocket.")
        fields = child_fields(info, "data") or (root.spec.pk_name,)
        await call_service(operations.check_readable, collection, await context.caller())
        groups = [group_name(collection)]
        async with context.consumer.listen_to_channel(MESSAGE_TYPE, groups=groups) as changes:
            async for change in changes:
                if not _wanted(change, collection, event):
                    continue
                acc = await context.caller()
                for payload in await call_service(
                    operations.event_payloads, collection, acc, change, fields
                ):
                    yield payload

    return strawberry.subscription(
        resolver=subscribe, name=f"{root.name}_mutated", graphql_type=mutated
    )


def _wanted(change: dict[str, Any], collection: str, event: EventEnum | None) -> bool:
    """A channel-layer change for this subscription (one consumer joins several groups)."""
    if change.get("collection") != collection:
        return False
    return event is None or change.get("action") == event.value


class ItemsSchema(strawberry.Schema):
    """Logs only unexpected errors: contract and GraphQL errors are the client's business."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def context_of(info: strawberry.Info) -> GraphQLContext:
    """The request's :class:`GraphQLContext` (anything else is refused as ``FORBIDDEN``)."""
    context = info.context
    if not isinstance(context, GraphQLContext):
        raise GraphQLError(Forbidden().message, extensions={"code": Forbidden.code})
    return context


def build_schema(
    roots: Sequence[Root],
    types: Mapping[str, type],
    *,
    queries: Sequence[Any] = (),
    mutations: Sequence[Any] = (),
    subscriptions: bool = False,
) -> strawberry.Schema:
    """A schema over ``roots`` (module docstring) with their ``types``
    (:func:`realtime.graphql.types.item_types`) plus the extra root ``queries`` and
    ``mutations`` (strawberry fields), with the limits and error extensions of every
    GraphQL endpoint."""
    query_fields, mutation_fields = list(queries), list(mutations)
    subscription_fields = []
    for root in roots:
        query_fields += _query_fields(root, types[root.collection])
        mutation_fields += _mutation_fields(root, types[root.collection])
        if subscriptions:
            subscription_fields.append(_subscription_field(root, types[root.collection]))
    schema = ItemsSchema(
        query=_root_type("Query", query_fields),
        mutation=_root_type("Mutation", mutation_fields) if mutation_fields else None,
        subscription=_root_type("Subscription", subscription_fields)
        if subscription_fields
        else None,
        config=StrawberryConfig(
            auto_camel_case=False, default_resolver=lookup, scalar_map=SCALAR_MAP
        ),
        extensions=[
            MaskUnexpectedErrors,
            ValidationErrorCodes,
            lambda: MaxTokensLimiter(max_token_count=settings.DIRECTUS.limits.graphql_query_tokens),
            lambda: QueryDepthLimiter(max_depth=settings.DIRECTUS.limits.graphql_query_depth),
            QueryCostLimiter,
        ],
    )
    if subscription_fields:
        _pass_events_through(schema)
    return schema


def _root_type(name: str, fields: list[Any]) -> type:
    """A root type of ``fields``. ``create_type`` keys fields by their Python name (the
    resolver's, the same for every collection), so each is named by its GraphQL name first."""
    for field in fields:
        field.python_name = field.graphql_name or field.python_name
    return create_type(name, fields)


@cache
def get_schema() -> strawberry.Schema:
    """The ``/graphql`` schema (built on first use, after the items registry is complete)."""
    specs = user_collections()
    roots = [Root(spec, spec.name) for spec in specs]
    return build_schema(roots, item_types(specs), subscriptions=True)


def _pass_events_through(schema: strawberry.Schema) -> None:
    """strawberry resolves each subscription event with ``lambda event, *_, **__: event``,
    which collides with our argument called ``event`` (Directus's name); resolve events with
    a signature that cannot collide."""
    subscription = schema._schema.subscription_type
    assert subscription is not None
    for field in subscription.fields.values():
        field.resolve = _event_source


def _event_source(source: Any, *_: Any, **__: Any) -> Any:
    return source
