"""``WEBSOCKETS_ALLOWED_ORIGINS`` (websockets section) and ``GRAPHQL_QUERY_DEPTH_LIMIT`` /
``GRAPHQL_QUERY_COST_LIMIT`` (limits section): defaults, parsing, errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load
from core.config.websockets import origin_of

BASE = {"NODE_ENV": "production", "SECRET": "s" * 40}


def test_defaults(tmp_path: Path) -> None:
    config = load(BASE, base_dir=tmp_path)
    assert config.errors == ()
    assert config.websockets.allowed_origins == ()
    assert (config.limits.graphql_query_depth, config.limits.graphql_query_cost) == (10, 10000)


def test_allowed_origins_are_normalized(tmp_path: Path) -> None:
    value = "https://App.Example.com/, http://tools.example.com:8080 ,https://x.example.com:443"
    config = load({**BASE, "WEBSOCKETS_ALLOWED_ORIGINS": value}, base_dir=tmp_path)
    assert config.errors == ()
    assert config.websockets.allowed_origins == (
        "https://app.example.com",
        "http://tools.example.com:8080",
        "https://x.example.com",
    )


@pytest.mark.parametrize(
    "value",
    ["example.com", "*", "null", "ftp://example.com", "https://example.com/app", "https://"],
)
def test_values_that_are_not_origins_are_errors(tmp_path: Path, value: str) -> None:
    config = load({**BASE, "WEBSOCKETS_ALLOWED_ORIGINS": value}, base_dir=tmp_path)
    assert any(e.startswith("WEBSOCKETS_ALLOWED_ORIGINS:") for e in config.errors), config.errors


def test_graphql_limits_are_read_and_checked(tmp_path: Path) -> None:
    env = {**BASE, "GRAPHQL_QUERY_DEPTH_LIMIT": "4", "GRAPHQL_QUERY_COST_LIMIT": "500"}
    limits = load(env, base_dir=tmp_path).limits
    assert (limits.graphql_query_depth, limits.graphql_query_cost) == (4, 500)
    for name in ("GRAPHQL_QUERY_DEPTH_LIMIT", "GRAPHQL_QUERY_COST_LIMIT"):
        for bad in ("0", "many"):
            config = load({**BASE, name: bad}, base_dir=tmp_path)
            assert any(e.startswith(f"{name}:") for e in config.errors), (name, bad)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://cms.example.com/admin/", "https://cms.example.com"),
        ("HTTP://Example.com:80", "http://example.com"),
        ("http://[::1]:8055", "http://[::1]:8055"),
        ("/", None),
        ("null", None),
        ("http://example.com:99999", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
