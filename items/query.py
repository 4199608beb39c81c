"""Query parameters (``fields``, ``filter``, ``search``, ``sort``, ``limit``, ``offset``,
``page``, ``meta``, ``aggregate``, ``groupBy``) parsed into one :class:`Query`; every
malformed value is INVALID_QUERY.

Accepts HTTP query strings (CSV and JSON text) and native values (lists, objects, numbers), so
the REST and realtime transports share one parser. Caps, so bad input is a 400 answered at once
on every database: filters as in :func:`accounts.permissions.validate_filter_shape`; ``search`` at
most :data:`MAX_SEARCH_LENGTH` characters; ``limit``/``offset``/``page`` within 64 bits; no text
anywhere with a lone UTF-16 surrogate (no database here can store or compare one)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import QueryDict

from accounts.permissions import MAX_INTEGER, FilterError, validate_filter_shape
from core.errors import InvalidQuery
from core.text import NUL_MESSAGE, contains_nul

META_VALUES = ("total_count", "filter_count")
BRACKETS = re.compile(r"\[([^\]]*)\]")
AGGREGATES = ("count", "countDistinct", "sum", "sumDistinct", "avg", "avgDistinct", "min", "max")
MAX_SEARCH_LENGTH = 1000
SURROGATES = re.compile(r"[\ud800-\udfff]")
SURROGATE_MESSAGE = "Text can't contain lone UTF-16 surrogates (\\ud800-\\udfff)"


def contains_surrogate(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (dict keys included) holds a lone surrogate,
    which JSON can carry (``"\\ud800"``) but UTF-8, and so no database driver, cannot. Walks
    with an explicit stack: a hostile document cannot exhaust the recursion limit."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if SURROGATES.search(item):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


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
    #: ``(function, field)`` pairs, ``("count", "*")`` included; empty: no aggregation.
    aggregate: tuple[tuple[str, str], ...] = ()
    group_by: tuple[str, ...] = ()


def parse_query(raw: Mapping[str, Any] | Query | None) -> Query:
    """A :class:`Query` from a mapping of parameters (missing ones take their defaults)."""
    if isinstance(raw, Query):
        return raw
    raw = raw or {}
    if contains_surrogate(raw):
        raise InvalidQuery(SURROGATE_MESSAGE)
    limit = _limit(raw.get("limit"))
    return Query(
        fields=_csv(raw.get("fields"), "fields") or ("*",),
        filter=_filter(raw.get("filter")),
        search=_search(raw.get("search")),
        sort=_csv(raw.get("sort"), "sort"),
        limit=limit,
        offset=_offset(raw.get("offset"), raw.get("page"), limit),
        meta=_meta(raw.get("meta")),
        aggregate=_aggregate(raw.get("aggregate")),
        group_by=_csv(raw.get("groupBy"), "groupBy"),
    )


def query_from_params(params: QueryDict) -> Query:
    """Parse HTTP query parameters, including ``filter[field][_op]=value`` deep objects."""
    raw: dict[str, Any] = {key: params.get(key) for key in params if "[" not in key}
    for key in params:
        if key.startswith(("fields[", "groupBy[")) and key.endswith("]"):
            raw[key.partition("[")[0]] = params.getlist(key)
    aggregate = {
        key[len("aggregate[") : -1]: params.getlist(key)
        for key in params
        if key.startswith("aggregate[") and key.endswith("]")
    }
    if aggregate:
        raw["aggregate"] = aggregate
    deep = _deep_filter(params)
    if deep:
        raw["filter"] = (
            deep if raw.get("filter") is None else {"_and": [_filter(raw["filter"]), deep]}
        )
    return parse_query(raw)


def _deep_filter(params: QueryDict) -> dict[str, Any]:
    """``filter[a][b]=v`` keys as one object; a key used both as a value and as an object
    (``filter[x]=a&filter[x][_eq]=b``) is INVALID_QUERY, whatever the order."""
    result: dict[str, Any] = {}
    for key in params:
        if not key.startswith("filter["):
            continue
        node = result
        parts = BRACKETS.findall(key[len("filter") :])
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            present = node.get(part)
            if present is not None and isinstance(present, dict) == last:
                raise InvalidQuery(f'"filter[{"][".join(parts[: depth + 1])}]" is given twice')
            if last:
                node[part] = params.get(key)
            else:
                node = node.setdefault(part, {})
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
        value = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: also integers of > 4300 digits
        raise InvalidQuery(f'"{name}" has to be valid JSON') from None
    if contains_surrogate(value):
        raise InvalidQuery(SURROGATE_MESSAGE)
    return value


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
    text = str(value)
    if len(text) > MAX_SEARCH_LENGTH:
        raise InvalidQuery(f'"search" can be at most {MAX_SEARCH_LENGTH} characters')
    return text


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidQuery(f'"{name}" has to be an integer')
    try:
        number = int(value)
    except ValueError:  # also more than 4300 digits
        raise InvalidQuery(f'"{name}" has to be an integer') from None
    if abs(number) > MAX_INTEGER:
        raise InvalidQuery(f'"{name}" has to fit in 64 bits')
    return number


def _limit(value: Any) -> int | None:
    config = settings.DIRECTUS
    if value is None or value == "":
        return int(config.limits.query_default)
    limit = _integer(value, "limit")
    if config.limits.query_max == -1:
        if limit < -1:
            raise InvalidQuery('"limit" has to be -1 or more')
        return None if limit == -1 else limit
    if not 0 <= limit <= config.limits.query_max:
        raise InvalidQuery(f'"limit" has to be between 0 and {config.limits.query_max}')
    return limit


def _offset(offset: Any, page: Any, limit: int | None) -> int:
    if page is not None and page != "":
        number = _integer(page, "page")
        if number < 1:
            raise InvalidQuery('"page" has to be 1 or more')
        if (number - 1) * (limit or 0) > MAX_INTEGER:
            raise InvalidQuery('"page" times "limit" has to fit in 64 bits')
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


def _aggregate(value: Any) -> tuple[tuple[str, str], ...]:
    """``{"count": "*", "max": ["a", "b"]}`` (or its JSON text, or ``aggregate[max]=a,b``) as
    ``(function, field)`` pairs; the fields are checked later, by the service."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = _json(value, "aggregate")
    if not isinstance(value, Mapping):
        raise InvalidQuery('"aggregate" has to be an object of functions and fields')
    pairs: list[tuple[str, str]] = []
    for function, fields in value.items():
        if function not in AGGREGATES:
            raise InvalidQuery(f'"{function}" is not a valid aggregate function')
        names = _csv(fields, f"aggregate[{function}]")
        if "*" in names and function != "count":
            raise InvalidQuery(f'"aggregate[{function}]" needs field names')
        pairs.extend((function, name) for name in names if (function, name) not in pairs)
    return tuple(pairs)
