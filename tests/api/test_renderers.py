"""The API's JSON renderer writes the bytes DRF's renderer writes, faster."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer

from api.renderers import FastJSONRenderer

UTC = datetime.UTC

SAME = [
    {"data": [{"id": 1, "title": "Hello", "status": "published"}], "meta": {"filter_count": 1}},
    {"when": datetime.datetime(2026, 12, 4, 8, 30, 1, 123456, tzinfo=UTC)},
    {
        "when": datetime.datetime(
            2026, 12, 4, 8, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        )
    },
    {"naive": datetime.datetime(2026, 12, 4, 8, 30), "day": datetime.date(2026, 12, 4)},
    {"at": datetime.time(8, 30, 15), "took": datetime.timedelta(seconds=90)},
    {"price": decimal.Decimal("12.50"), "id": uuid.UUID("8f2a3c8e-5b7d-4c1e-9a0b-1c2d3e4f5a6b")},
    {"text": 'café ✓ 日本語 "quoted" back\\slash \n\t control \x01'},
    {"separators": "a\u2028b\u2029c"},
    {"nested": [[[{"deep": [1, 2.5, -3, True, False, None]}]]]},
    {"tuple": (1, 2), "bytes": b"raw", "empty": {}, "list": []},
    [1, 2, 3],
    "plain",
    0,
]


@pytest.mark.parametrize("data", SAME, ids=range(len(SAME)))
def test_same_bytes_as_drf(data: Any) -> None:
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_line_and_paragraph_separators_are_escaped() -> None:
    assert FastJSONRenderer().render({"s": "a\u2028b\u2029c"}) == b'{"s":"a\\u2028b\\u2029c"}'


@pytest.mark.parametrize(
    "data",
    [{"big": 2**70}, {1: "integer key"}],
    ids=["beyond-64-bits", "non-string-key"],
)
def test_what_orjson_refuses_is_rendered_by_drf(data: Any) -> None:
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_a_lone_surrogate_is_escaped_as_json_stringify_does() -> None:
    assert FastJSONRenderer().render({"lone": "a\ud800"}) == b'{"lone":"a\\ud800"}'


def test_indent_requests_are_rendered_by_drf() -> None:
    data = {"a": [1, {"b": 2}]}
    media = "application/json; indent=4"
    assert FastJSONRenderer().render(data, media) == JSONRenderer().render(data, media)
    assert b"\n    " in FastJSONRenderer().render(data, media)


def test_none_is_an_empty_body() -> None:
    assert FastJSONRenderer().render(None) == b""


def test_nan_is_null_not_an_error() -> None:
    assert FastJSONRenderer().render({"x": float("nan")}) == b'{"x":null}'


def test_the_api_uses_it() -> None:
    from rest_framework.settings import api_settings

    assert [FastJSONRenderer] == api_settings.DEFAULT_RENDERER_CLASSES
