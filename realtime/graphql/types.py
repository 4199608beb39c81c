"""GraphQL object types for the registered collections, named like the collections.

Scalars follow Directus: primary keys and unrelated foreign keys are ``ID``, text is
``String``, numbers ``Int``/``Float``, booleans ``Boolean``, JSON columns ``JSON``, dates ISO
``String``\\s. A many-to-one field whose target is a registered collection is that collection's
type (``author { email }``). Every field is nullable: the service decides what a caller sees.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, NewType, Optional

import strawberry
from django.db import models
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

from items.registry import CollectionSpec, all_collections


@strawberry.enum(name="EventEnum")
class EventEnum(enum.Enum):
    """The change that produced a ``<collection>_mutated`` event."""

    create = "create"
    update = "update"
    delete = "delete"


@strawberry.type(name="delete_one")
class DeleteOne:
    """The result of ``delete_<collection>_item``."""

    id: strawberry.ID | None = None


@strawberry.type(name="delete_many")
class DeleteMany:
    """The result of ``delete_<collection>_items``."""

    ids: list[strawberry.ID | None] | None = None


GraphQLBigInt = NewType("GraphQLBigInt", int)
"""Directus's ``GraphQLBigInt`` (``auth_tokens.expires``): an integer sent as a string, since
JavaScript clients lose the digits of large numbers."""


def _bigint_out(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _bigint_in(value: Any) -> int:
    if not isinstance(value, str) or not value.lstrip("+-").isdigit():
        raise ValueError("Value must be a String")
    return int(value)


SCALAR_MAP: dict[object, ScalarDefinition] = {
    GraphQLBigInt: strawberry.scalar(
        name="GraphQLBigInt",
        description="BigInt value",
        serialize=_bigint_out,
        parse_value=_bigint_in,
    )
}
"""The custom scalars of every schema (``StrawberryConfig.scalar_map``)."""

SCALARS: tuple[tuple[type[models.Field[Any, Any]], Any], ...] = (
    (models.BooleanField, bool),
    (models.IntegerField, int),
    (models.FloatField, float),
    (models.DecimalField, float),
    (models.JSONField, JSON),
    (models.UUIDField, strawberry.ID),
)


def nullable(kind: Any) -> Any:
    """``kind | None`` for types built at run time."""
    return Optional[kind]  # noqa: UP045


def list_of(kind: Any) -> Any:
    """``list[kind]`` for types built at run time."""
    return list[kind]


def lookup(source: Any, name: str) -> Any:
    """The default field resolver: service rows are dicts."""
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def item_types(
    specs: Iterable[CollectionSpec],
    aliases: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> dict[str, type]:
    """One strawberry type per collection in ``specs`` and every collection they relate to;
    ``aliases`` adds one-to-many fields (collection → ``(field, related collection)``), lists
    of the related type, when that type is built too."""
    reachable = _with_related(list(specs))
    classes: dict[str, type] = {spec.name: type(spec.name, (), {}) for spec in reachable}
    for spec in reachable:
        cls = classes[spec.name]
        cls.__annotations__ = {
            name: nullable(_field_type(spec, name, classes)) for name in spec.fields
        }
        for name, related in (aliases or {}).get(spec.name, ()):
            if related in classes:
                cls.__annotations__[name] = nullable(list_of(nullable(classes[related])))
        for name in cls.__annotations__:
            setattr(cls, name, None)
        strawberry.type(cls, name=spec.name, description=f'Items of "{spec.name}".')
    return classes


def mutated_type(collection: str, item: type) -> type:
    """``<collection>_mutated``: ``{key: ID!, event: EventEnum, data: <collection>}``."""
    cls = type(f"{collection}_mutated", (), {"event": None, "data": None})
    cls.__annotations__ = {
        "key": strawberry.ID,
        "event": nullable(EventEnum),
        "data": nullable(item),
    }
    return strawberry.type(cls, name=f"{collection}_mutated")


def _with_related(specs: list[CollectionSpec]) -> list[CollectionSpec]:
    found = {spec.name: spec for spec in specs}
    pending = list(specs)
    while pending:
        spec = pending.pop()
        for name in spec.fields:
            related = spec.related(name)
            if related is not None and related.name not in found:
                found[related.name] = related
                pending.append(related)
    return list(found.values())


def _field_type(spec: CollectionSpec, name: str, classes: Mapping[str, type]) -> Any:
    field = spec.field(name)
    related = spec.related(name)
    if related is not None:
        return classes[related.name]
    if name == spec.pk_name or field.many_to_one:
        return strawberry.ID
    return next((kind for base, kind in SCALARS if isinstance(field, base)), str)


def user_collections() -> list[CollectionSpec]:
    """The collections GraphQL serves at the root: every non-system one."""
    return [spec for spec in all_collections() if not spec.system]
