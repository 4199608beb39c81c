"""Sign-in request bodies (contract http-auth.md §7.1, §7.2), validated in the order and wording
of Directus's Joi schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from core.errors import InvalidPayload

MODES = ("cookie", "json", "session")
_email_validator = EmailValidator()


@dataclass(frozen=True)
class LoginPayload:
    """What a person presents to a credentials driver: who (``identifier``: the e-mail for the
    local driver), the secret, the session mode and, when they have one, the one-time code."""

    identifier: str
    password: str
    mode: str = "json"
    otp: str | None = None


def _string_field(data: dict[str, Any], name: str, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidPayload(f'"{name}" is required')
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f'"{name}" must be a string')
    if required and value == "":
        raise InvalidPayload(f'"{name}" is not allowed to be empty')
    return value


def valid_email(value: str) -> bool:
    """Like Joi's default: a syntactically valid address with a dotted domain."""
    try:
        _email_validator(value)
    except ValidationError:
        return False
    return "." in value.rpartition("@")[2]


def parse_login_payload(data: Any, *, identifier: str = "email") -> LoginPayload:
    """A login body whose person field is ``identifier`` (``email`` or ``identifier``)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidPayload('"value" must be of type object')
    who = _string_field(data, identifier, required=True) or ""
    if identifier == "email" and not valid_email(who):
        raise InvalidPayload('"email" must be a valid email')
    password = _string_field(data, "password", required=True) or ""
    mode = data.get("mode", "json")
    if mode not in MODES:
        raise InvalidPayload('"mode" must be one of [cookie, json, session]')
    otp = _string_field(data, "otp", required=False)
    return LoginPayload(identifier=who, password=password, mode=mode, otp=otp)
