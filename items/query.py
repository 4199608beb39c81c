"""Query parameters (``fields``, ``filter``, ``search``, ``sort``, ``limit``, ``offset``,
``page``, ``meta``) parsed into one :class:`Query`; every malformed value is INVALID_QUERY.

Accepts HTTP query strings (CSV and JSON text) and native values (lists, objects, numbers), so
the REST and realtime transports share one parser."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import QueryDict

from accounts.filters import FilterError, validate_filter_shape
from core.errors import InvalidQuery
from core.text import NUL_MESSAGE, contains_nul

META_VALUES = ("total_count", "filter_count")
BRACKETS = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class Query:
    """A parsed items query; ``limit=None`` means no limit."""

    fields: tuple[str, ...] = ("*",)
    filter: dict[str, Any] | None = None
    search: str | None = None
    sort: tuple[str, ...] = ()
    limit: int | None = None
    offset: int = 0
    meta: frozenset[str] = field(default_factory=frozenset)


def parse_query(raw: Mapping[str, Any] | Query | None) -> Query:
    """A :class:`Query` from a mapping of parameters (missing ones take their defaults)."""
    if isinstance(raw, Query):
        return raw
    raw = raw or {}
    limit = _limit(raw.get("limit"))
    return Query(
        fields=_csv(raw.get("fields"), "fields") or ("*",),
        filter=_filter(raw.get("filter")),
        search=_search(raw.get("search")),
        sort=_csv(raw.get("sort"), "sort"),
        limit=limit,
        offset=_offset(raw.get("offset"), raw.get("page"), limit),
        meta=_meta(raw.get("meta")),
    )


def query_from_params(params: QueryDict) -> Query:
    """Parse HTTP query parameters, including ``filter[field][_op]=value`` deep objects."""
    raw: dict[str, Any] = {key: params.get(key) for key in params if "[" not in key}
    for key in params:
        if key.startswith("fields[") and key.endswith("]"):
            raw["fields"] = params.getlist(key)
    deep = _deep_filter(params)
    if deep:
        raw["filter"] = (
            deep if raw.get("filter") is None else {"_and": [_filter(raw["filter"]), deep]}
        )
    return parse_query(raw)


def _deep_filter(params: QueryDict) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in params:
        if not key.startswith("filter["):
            continue
        node = result
        parts = BRACKETS.findall(key[len("filter") :])
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = params.get(key)
    return result


def _csv(value: Any, name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = _json(value, name)
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidQuery(f'"{name}" has to be a comma-separated list of field names')
    return tuple(part.strip() for v in value for part in v.split(",") if part.strip())


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidQuery(f'"{name}" has to be valid JSON') from None


def _filter(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = _json(value, "filter")
    try:
        validate_filter_shape(value)
    except FilterError as exc:
        raise InvalidQuery(str(exc)) from None
    return value or None


def _search(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise InvalidQuery('"search" has to be a string')
    if contains_nul(value):
        raise InvalidQuery(f'"search": {NUL_MESSAGE}')
    return str(value)


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidQuery(f'"{name}" has to be an integer')
    try:
        return int(value)
    except ValueError:
        raise InvalidQuery(f'"{name}" has to be an integer') from None


def _limit(value: Any) -> int | None:
    config = settings.DIRECTUS
    if value is None or value == "":
        return int(config.query_limit_default)
    limit = _integer(value, "limit")
    if config.query_limit_max == -1:
        if limit < -1:
            raise InvalidQuery('"limit" has to be -1 or more')
        return None if limit == -1 else limit
    if not 0 <= limit <= config.query_limit_max:
        raise InvalidQuery(f'"limit" has to be between 0 and {config.query_limit_max}')
    return limit


def _offset(offset: Any, page: Any, limit: int | None) -> int:
    if page is not None and page != "":
        number = _integer(page, "page")
        if number < 1:
            raise InvalidQuery('"page" has to be 1 or more')
        return (number - 1) * (limit or 0)
    if offset is None or offset == "":
        return 0
    value = _integer(offset, "offset")
    if value < 0:
        raise InvalidQuery('"offset" has to be 0 or more')
    return value


def _meta(value: Any) -> frozenset[str]:
    names = set(_csv(value, "meta"))
    if "*" in names:
        return frozenset(META_VALUES)
    return frozenset(names & set(META_VALUES))
