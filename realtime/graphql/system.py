"""The ``/graphql/system`` schema (Directus's system GraphQL): the system collections served
by a system service, the caller's own user, ``server_ping`` and the auth mutations.

Built by :func:`realtime.graphql.schema.build_schema` like ``/graphql``, so the limits, error
codes and selection rules are the same. The collections are
:func:`system.services.system_collections` (``directus_users``, ``directus_roles``…), each
named without its ``directus_`` prefix (``users``, ``users_by_id``, ``create_users_item``…)
while its type keeps the collection's name (``directus_users``); every field goes through
:func:`system.services.service_for`, so GraphQL applies the same rules as ``/users``,
``/roles``… Beyond them:

* ``users_me: directus_users`` and ``update_users_me(data: JSON!): directus_users`` (the twins
  of ``GET``/``PATCH /users/me``);
* ``server_ping: String`` → ``"pong"``;
* the mutations of :mod:`realtime.graphql.auth`.

No subscriptions: Directus has none for system collections (contract websockets.md §10).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import strawberry
from strawberry.scalars import JSON

from items import registry
from system.base import aliases_of
from system.services import system_collections
from system.users import COLLECTION as USERS

from . import operations
from .auth import auth_mutations
from .errors import call_service
from .schema import Root, build_schema, context_of
from .selection import root_fields
from .types import item_types, nullable

PREFIX = "directus_"


def system_roots() -> list[Root]:
    """The system collections a system service serves and the items registry knows."""
    specs = (registry.get(name) for name in system_collections())
    return [Root(spec, spec.name.removeprefix(PREFIX)) for spec in specs if spec is not None]


def _me_fields(user: type) -> tuple[list[Any], list[Any]]:
    async def users_me(info: strawberry.Info) -> Any:
        acc = await context_of(info).caller()
        return await call_service(operations.read_me, acc, root_fields(info))

    async def update_users_me(info: strawberry.Info, data: JSON) -> Any:
        acc = await context_of(info).caller()
        return await call_service(operations.update_me, acc, data, root_fields(info))

    query = strawberry.field(resolver=users_me, graphql_type=nullable(user))
    mutation = strawberry.mutation(resolver=update_users_me, graphql_type=nullable(user))
    return [query], [mutation]


def server_ping() -> str:
    """``GET /server/ping``'s twin."""
    return "pong"


def _aliases() -> dict[str, list[tuple[str, str]]]:
    """The one-to-many fields of the system services (a role's ``policies``…)."""
    return {
        collection: [(alias.name, alias.collection) for alias in aliases_of(collection)]
        for collection in system_collections()
    }


@cache
def get_system_schema() -> strawberry.Schema:
    """The schema (built on first use, after the items registry is complete)."""
    roots = system_roots()
    types = item_types((root.spec for root in roots), _aliases())
    queries: list[Any] = [strawberry.field(resolver=server_ping, graphql_type=nullable(str))]
    mutations = auth_mutations()
    if USERS in types:
        me_queries, me_mutations = _me_fields(types[USERS])
        queries, mutations = [*me_queries, *queries], [*me_mutations, *mutations]
    return build_schema(roots, types, queries=queries, mutations=mutations)
