"""The strawberry schema, built once from the items registry (Directus naming, contract §10).

For every non-system collection ``C``:

* ``C(filter: JSON, sort: [String], limit: Int, offset: Int, page: Int, search: String): [C]``
* ``C_by_id(id: ID!): C``
* ``create_C_item(data: JSON!): C``, ``update_C_item(id: ID!, data: JSON!): C``,
  ``delete_C_item(id: ID!): delete_one``
* ``C_mutated(event: EventEnum): C_mutated`` → ``{key: ID, event: EventEnum, data: C}``

Selections become the service's ``fields``; contract errors become GraphQL errors whose
``extensions.code`` is the contract code.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
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
    DeleteOne,
    EventEnum,
    item_types,
    list_of,
    lookup,
    mutated_type,
    nullable,
    user_collections,
)


def _query_fields(spec: CollectionSpec, item: type) -> list[Any]:
    name = spec.name

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
        acc = await _context(info).caller()
        return await call_service(operations.read_items, name, acc, query)

    async def by_id(info: strawberry.Info, id: strawberry.ID) -> Any:
        acc = await _context(info).caller()
        return await call_service(operations.read_item, name, acc, id, root_fields(info))

    return [
        strawberry.field(resolver=items, name=name, graphql_type=list_of(item)),
        strawberry.field(resolver=by_id, name=f"{name}_by_id", graphql_type=nullable(item)),
    ]


def _mutation_fields(spec: CollectionSpec, item: type) -> list[Any]:
    name = spec.name

    async def create(info: strawberry.Info, data: JSON) -> Any:
        acc = await _context(info).caller()
        return await call_service(operations.create_item, name, acc, data, root_fields(info))

    async def update(info: strawberry.Info, id: strawberry.ID, data: JSON) -> Any:
        acc = await _context(info).caller()
        fields = root_fields(info)
        return await call_service(operations.update_item, name, acc, id, data, fields)

    async def delete(info: strawberry.Info, id: strawberry.ID) -> Any:
        acc = await _context(info).caller()
        return await call_service(operations.delete_item, name, acc, id)

    optional = nullable(item)
    return [
        strawberry.mutation(resolver=create, name=f"create_{name}_item", graphql_type=optional),
        strawberry.mutation(resolver=update, name=f"update_{name}_item", graphql_type=optional),
        strawberry.mutation(
            resolver=delete,
            name=f"delete_{name}_item",
            graphql_type=nullable(DeleteOne),
        ),
    ]


def _subscription_field(spec: CollectionSpec, item: type) -> Any:
    name = spec.name
    mutated = mutated_type(name, item)

    async def subscribe(
        info: strawberry.Info, event: EventEnum | None = None
    ) -> AsyncGenerator[Any, None]:
        context = _context(info)
        if context.consumer is None:
            raise GraphQLError("Subscriptions need the /graphql WebSocket.")
        fields = child_fields(info, "data") or (spec.pk_name,)
        await call_service(operations.check_readable, name, await context.caller())
        groups = [group_name(name)]
        async with context.consumer.listen_to_channel(MESSAGE_TYPE, groups=groups) as changes:
            async for change in changes:
                if not _wanted(change, name, event):
                    continue
                acc = await context.caller()
                for payload in await call_service(
                    operations.event_payloads, name, acc, change, fields
                ):
                    yield payload

    return strawberry.subscription(resolver=subscribe, name=f"{name}_mutated", graphql_type=mutated)


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


def _context(info: strawberry.Info) -> GraphQLContext:
    context = info.context
    if not isinstance(context, GraphQLContext):
        raise GraphQLError(Forbidden().message, extensions={"code": Forbidden.code})
    return context


@cache
def get_schema() -> strawberry.Schema:
    """The schema (built on first use, after the items registry is complete)."""
    specs = user_collections()
    types = item_types(specs)
    queries, mutations, subscriptions = [], [], []
    for spec in specs:
        queries += _query_fields(spec, types[spec.name])
        mutations += _mutation_fields(spec, types[spec.name])
        subscriptions.append(_subscription_field(spec, types[spec.name]))
    schema = ItemsSchema(
        query=create_type("Query", queries),
        mutation=create_type("Mutation", mutations),
        subscription=create_type("Subscription", subscriptions),
        config=StrawberryConfig(auto_camel_case=False, default_resolver=lookup),
        extensions=[
            MaskUnexpectedErrors,
            ValidationErrorCodes,
            lambda: MaxTokensLimiter(max_token_count=settings.DIRECTUS.limits.graphql_query_tokens),
            lambda: QueryDepthLimiter(max_depth=settings.DIRECTUS.limits.graphql_query_depth),
            QueryCostLimiter,
        ],
    )
    _pass_events_through(schema)
    return schema


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
