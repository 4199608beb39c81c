"""The collections registry: collection name → Django model and how it is exposed.

A collection exposes the model's concrete fields (or a chosen list). Fields Django does not
let users edit (``editable=False``: primary keys with defaults, ``auto_now`` timestamps) are
read-only; ``concealed`` fields read back as ``"**********"`` when set and ``null`` otherwise;
``never_writable`` fields cannot be written through the items service at all; ``hashed``
fields (passwords) are written as Argon2 hashes and read back concealed; ``secret`` fields
(and every concealed one) are never usable in a query — filter, sort, search, aggregate,
groupBy, dynamic variables — whoever asks (:func:`items.scope.query_target`). System
collections (``directus_*``) serve relations and dynamic variables but not ``/items/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

CONCEALED_VALUE = "**********"
TEXT_FIELDS = (models.CharField, models.TextField)


@dataclass(frozen=True)
class CollectionSpec:
    """One registered collection."""

    name: str
    model: type[models.Model]
    fields: tuple[str, ...]
    read_only: frozenset[str] = frozenset()
    concealed: frozenset[str] = frozenset()
    never_writable: frozenset[str] = frozenset()
    system: bool = False
    hashed: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()

    @property
    def unqueryable(self) -> frozenset[str]:
        """Fields no query may name: concealed (hashed included) and secret ones."""
        return self.concealed | self.secret

    @property
    def pk_name(self) -> str:
        pk = self.model._meta.pk
        assert pk is not None
        return pk.name

    def field(self, name: str) -> Any:
        """The model field behind an exposed field name, or ``None``."""
        return self.model._meta.get_field(name) if name in self.fields else None

    def related(self, name: str) -> CollectionSpec | None:
        """The collection a many-to-one field points to, when that collection is registered."""
        field = self.field(name)
        if field is None or not field.many_to_one:
            return None
        return for_model(field.related_model)

    def writable(self, name: str) -> bool:
        return name in self.fields and name not in self.read_only | self.never_writable

    @property
    def text_fields(self) -> tuple[str, ...]:
        """Fields ``search`` may cover: plain text columns that are neither concealed nor
        secret (the caller's read rows narrow them further)."""
        return tuple(
            name
            for name in self.fields
            if isinstance(self.field(name), TEXT_FIELDS)
            and name not in self.unqueryable
            and not self.field(name).choices
        )


_BY_NAME: dict[str, CollectionSpec] = {}


def register(
    name: str,
    model: type[models.Model],
    *,
    fields: tuple[str, ...] | None = None,
    concealed: frozenset[str] = frozenset(),
    never_writable: frozenset[str] = frozenset(),
    system: bool = False,
    hashed: frozenset[str] = frozenset(),
    secret: frozenset[str] = frozenset(),
) -> CollectionSpec:
    """Expose ``model`` as collection ``name``; re-registering a name replaces it."""
    names = fields or tuple(f.name for f in model._meta.concrete_fields)
    read_only = frozenset(n for n in names if not model._meta.get_field(n).editable)
    spec = CollectionSpec(
        name, model, names, read_only, concealed | hashed, never_writable, system, hashed, secret
    )
    _BY_NAME[name] = spec
    return spec


def get(name: str, *, allow_system: bool = True) -> CollectionSpec | None:
    """The collection called ``name``; system collections only with ``allow_system``."""
    spec = _BY_NAME.get(name)
    if spec is None or (spec.system and not allow_system):
        return None
    return spec


def for_model(model: Any) -> CollectionSpec | None:
    return next((spec for spec in _BY_NAME.values() if spec.model is model), None)


def all_collections() -> tuple[CollectionSpec, ...]:
    return tuple(_BY_NAME.values())
