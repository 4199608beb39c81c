"""Write payloads: which fields the caller may write and strict JSON types per field.

Every problem is a contract error raised before anything is written:

* not an object → 400 INVALID_PAYLOAD;
* a field no write row grants → 403 FORBIDDEN (unknown fields too, unless a row grants ``*``,
  then 400 INVALID_PAYLOAD ``Unknown field "x"``); read-only fields → 400 INVALID_PAYLOAD;
* text holding a lone UTF-16 surrogate (``"\\ud800"``), keys included → 400 INVALID_PAYLOAD;
* a value of the wrong JSON type, a malformed id or timestamp → 400 INVALID_PAYLOAD naming the
  field; ``null`` for a non-nullable field, a value outside the choices, a bad email →
  400 FAILED_VALIDATION; a missing required field on create → FAILED_VALIDATION ``required``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.passwords import check_password_policy
from accounts.permissions import RuleSet, field_forbidden
from core.errors import FailedValidation, InvalidPayload
from core.text import NUL_MESSAGE, contains_nul
from items.query import SURROGATE_MESSAGE, contains_surrogate
from items.registry import CollectionSpec


def check_fields(spec: CollectionSpec, rules: RuleSet, payload: Any) -> dict[str, Any]:
    """``payload`` as a dict whose every key the caller may write."""
    if not isinstance(payload, dict):
        raise InvalidPayload("Payload has to be an object")
    if contains_surrogate(payload):
        raise InvalidPayload(SURROGATE_MESSAGE)
    for name in payload:
        if name not in spec.fields:
            if rules.all_fields:
                raise InvalidPayload(f'Unknown field "{name}"')
            raise field_forbidden(name, spec.name)
        if not rules.grants(name):
            raise field_forbidden(name, spec.name)
        if not spec.writable(name):
            raise InvalidPayload(f'Field "{name}" is read-only')
    return payload


def to_model_values(spec: CollectionSpec, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Typed model attribute values (``attname`` keys) for a checked payload."""
    values: dict[str, Any] = {}
    for name, value in payload.items():
        field = spec.field(name)
        if field is None or not spec.writable(name):
            continue
        if name in spec.hashed:
            values[field.attname] = hash_secret(name, value)
            continue
        values[field.attname] = convert(spec, field, value)
    return values


def hash_secret(name: str, value: Any) -> str:
    """A password field: a non-empty string that meets the password policy
    (:func:`accounts.passwords.check_password_policy`), stored as an Argon2 hash (the value
    itself is never echoed in an error)."""
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f'Field "{name}" has to be a non-empty string')
    check_password_policy(value, field=name)
    return make_password(value)


def check_required(spec: CollectionSpec, values: Mapping[str, Any]) -> None:
    """Every field without a default must be present on create."""
    for name in spec.fields:
        field = spec.field(name)
        if not spec.writable(name) or name in spec.hashed:
            continue
        if field.null or field.has_default() or field.blank:
            continue
        if values.get(field.attname) is None:
            raise FailedValidation(name, "required", "Value is required.")


def convert(spec: CollectionSpec, field: Any, value: Any) -> Any:
    """``value`` as the Python value of ``field``; JSON types must match exactly."""
    if value is None:
        if not field.null:
            raise FailedValidation(field.name, "nnull", "Value can't be null.")
        return None
    if contains_nul(value):
        raise InvalidPayload(f'Field "{field.name}": {NUL_MESSAGE}')
    if field.is_relation:
        return _convert_scalar(field.name, field.target_field, value)
    converted = _convert_scalar(field.name, field, value)
    _check_constraints(spec, field, converted)
    return converted


def _convert_scalar(name: str, field: Any, value: Any) -> Any:
    if isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.BooleanField):
        return _typed(name, value, bool, "a boolean")
    if isinstance(field, models.UUIDField):
        return _uuid(name, value)
    if isinstance(field, models.DateTimeField):
        return _datetime(name, value)
    if isinstance(field, models.DateField):
        return _parsed(name, value, parse_date, "a date")
    if isinstance(field, models.IntegerField | models.AutoField):
        return _typed(name, value, int, "an integer")
    if isinstance(field, models.FloatField | models.DecimalField):
        return _typed(name, value, int | float, "a number")
    return _typed(name, value, str, "a string")


def _typed(name: str, value: Any, kind: Any, label: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise InvalidPayload(f'Field "{name}" has to be {label}')
    if not isinstance(value, kind):
        raise InvalidPayload(f'Field "{name}" has to be {label}')
    return value


def _uuid(name: str, value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(_typed(name, value, str, "a UUID"))
    except ValueError:
        raise InvalidPayload(f'Field "{name}" has to be a UUID') from None


def _parsed(name: str, value: Any, parse: Any, label: str) -> Any:
    try:
        parsed = parse(_typed(name, value, str, label))
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidPayload(f'Field "{name}" has to be {label}')
    return parsed


def _datetime(name: str, value: Any) -> Any:
    parsed = _parsed(name, value, parse_datetime, "an ISO 8601 timestamp")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _check_constraints(spec: CollectionSpec, field: Any, value: Any) -> None:
    if field.choices and value not in {choice for choice, _ in field.flatchoices}:
        valid = [choice for choice, _ in field.flatchoices]
        shown = ", ".join(f'"{v}"' for v in valid)
        raise FailedValidation(field.name, "in", f"Value has to be one of {shown}.", valid=valid)
    max_length = getattr(field, "max_length", None)
    if isinstance(value, str) and max_length and len(value) > max_length:
        raise InvalidPayload(
            f'Value for field "{field.name}" in collection "{spec.name}" is too long'
        )
    if isinstance(field, models.EmailField) and value:
        try:
            validate_email(value)
        except ValidationError:
            raise FailedValidation(
                field.name, "email", "Value has to be a valid email address."
            ) from None
