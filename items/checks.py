"""Checks on written values that need rules or the database: ``validation`` filters, unique
fields and foreign keys. Each failure is a 400 contract error raised before the write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db import IntegrityError

from accounts.permissions import FilterError, Rule, Variables, first_failure, substitute
from core.errors import FailedValidation, InvalidPayload, RecordNotUnique
from items.registry import CollectionSpec


def check_validation(
    rules: Iterable[Rule], payload: Mapping[str, Any], variables: Variables, *, creating: bool
) -> None:
    """The payload must satisfy the ``validation`` filter of at least one row (a row without
    one accepts anything). On update, rules on fields absent from the payload are skipped."""
    failures = []
    for rule in rules:
        if not rule.validation:
            return
        try:
            failure = first_failure(
                substitute(rule.validation, variables), payload, require_all=creating
            )
        except FilterError:
            continue
        if failure is None:
            return
        failures.append(failure)
    if failures:
        first = failures[0]
        raise FailedValidation(first.field, first.type, first.detail, **first.extensions)


def check_unique(spec: CollectionSpec, values: Mapping[str, Any], exclude: Iterable[Any]) -> None:
    """No other row may hold the value of a unique field (400 RECORD_NOT_UNIQUE)."""
    manager = spec.model._default_manager
    for name in spec.fields:
        field = spec.field(name)
        value = values.get(field.attname)
        if not field.unique or field.primary_key or value is None:
            continue
        if manager.filter(**{name: value}).exclude(pk__in=list(exclude)).exists():
            raise RecordNotUnique(None, collection=spec.name, field=name, value=value)


def check_foreign_keys(spec: CollectionSpec, values: Mapping[str, Any]) -> None:
    """Every many-to-one value must name an existing row (400 INVALID_PAYLOAD)."""
    for name in spec.fields:
        field = spec.field(name)
        value = values.get(field.attname)
        if not field.many_to_one or value is None:
            continue
        if not field.related_model._default_manager.filter(pk=value).exists():
            raise InvalidPayload(f'Invalid foreign key "{value}" for field "{name}"')


@contextlib.contextmanager
def integrity_errors(spec: CollectionSpec) -> Iterator[None]:
    """Database constraint violations the checks above could not foresee become 400s."""
    try:
        yield
    except IntegrityError:
        raise InvalidPayload(
            f'The payload violates a constraint of collection "{spec.name}"'
        ) from None
