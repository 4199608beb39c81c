"""The configuration module: names, casts, _FILE secrets, defaults, errors naming variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load, parse_duration_ms, parse_size_bytes

BASE = {"NODE_ENV": "production", "SECRET": "s" * 40}


def test_defaults_are_the_embedded_server(tmp_path: Path) -> None:
    config = load(BASE, base_dir=tmp_path)
    assert config.errors == ()
    server = config.server
    assert (server.host, server.port, server.public_url) == ("127.0.0.1", 8055, "/")
    assert config.database.client == "sqlite3"
    assert config.database.filename == str(tmp_path / "data/database.db")
    assert config.redis is None
    assert config.server.max_payload_size == 1024 * 1024
    assert (config.limits.query_default, config.limits.query_max) == (100, 1000)


def test_secret_unset_in_production_is_an_error_naming_it(tmp_path: Path) -> None:
    config = load({"NODE_ENV": "production"}, base_dir=tmp_path)
    assert any(error.startswith("SECRET is not set") for error in config.errors)


def test_secret_unset_in_development_is_a_fixed_value_not_random(tmp_path: Path) -> None:
    first = load({"NODE_ENV": "development"}, base_dir=tmp_path)
    second = load({"NODE_ENV": "development"}, base_dir=tmp_path)
    assert first.errors == ()
    assert first.server.secret == second.server.secret
    assert first.server.secret_is_generated


def test_file_suffix_reads_secret_and_drops_one_newline(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file-" + "x" * 30 + "\n")
    config = load({"NODE_ENV": "production", "SECRET_FILE": str(secret_file)}, base_dir=tmp_path)
    assert config.errors == ()
    assert config.server.secret == "from-a-file-" + "x" * 30


def test_file_suffix_for_db_password(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("p@ss,word")
    env = {
        **BASE,
        "DB_CLIENT": "pg",
        "DB_HOST": "db",
        "DB_DATABASE": "app",
        "DB_USER": "u",
        "DB_PASSWORD_FILE": str(tmp_path / "pw"),
    }
    config = load(env, base_dir=tmp_path)
    assert config.errors == ()
    assert config.database.password == "p@ss,word"


def test_unreadable_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    config = load({**BASE, "ADMIN_PASSWORD_FILE": str(tmp_path / "missing")}, base_dir=tmp_path)
    assert any('"ADMIN_PASSWORD_FILE"' in error for error in config.errors)


def test_value_and_file_together_is_contradictory(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("x" * 40)
    config = load({**BASE, "SECRET_FILE": str(tmp_path / "s")}, base_dir=tmp_path)
    assert "SECRET and SECRET_FILE are both set; set only one of them." in config.errors


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PORT": "eighty"}, "PORT:"),
        ({"DB_CLIENT": "mysql"}, "DB_CLIENT:"),
        ({"DB_CLIENT": "pg"}, "DB_HOST is required"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL:"),
        ({"MAX_PAYLOAD_SIZE": "huge"}, "MAX_PAYLOAD_SIZE:"),
        ({"REDIS": "http://nope"}, "REDIS:"),
        ({"REDIS_ENABLED": "true"}, "REDIS_ENABLED"),
        ({"IP_TRUST_PROXY": "maybe"}, "IP_TRUST_PROXY:"),
        ({"PUBLIC_URL": "example.com"}, "PUBLIC_URL:"),
        ({"QUERY_LIMIT_DEFAULT": "500", "QUERY_LIMIT_MAX": "100"}, "QUERY_LIMIT_DEFAULT"),
        ({"ADMIN_PASSWORD": "x"}, "ADMIN_EMAIL"),
        ({"DB_CONNECTION_STRING": "mysql://x/y", "DB_CLIENT": "pg"}, "DB_CONNECTION_STRING"),
    ],
)
def test_bad_values_are_errors_naming_the_variable(
    tmp_path: Path, env: dict[str, str], fragment: str
) -> None:
    config = load({**BASE, **env}, base_dir=tmp_path)
    assert any(fragment in error for error in config.errors), config.errors


def test_postgres_from_connection_string(tmp_path: Path) -> None:
    env = {
        **BASE,
        "DB_CLIENT": "pg",
        "DB_CONNECTION_STRING": "postgresql://app%40x:s%2Fcret@db.local:6543/main?sslmode=require",
    }
    database = load(env, base_dir=tmp_path).database
    assert (database.host, database.port, database.name) == ("db.local", 6543, "main")
    assert (database.user, database.password) == ("app@x", "s/cret")
    assert database.options == {"sslmode": "require"}


def test_redis_from_parts_and_url(tmp_path: Path) -> None:
    parts = load({**BASE, "REDIS_HOST": "cache", "REDIS_PASSWORD": "pw"}, base_dir=tmp_path)
    assert parts.redis is not None
    assert parts.redis.url == "redis://:pw@cache:6379/0"
    url = load({**BASE, "REDIS": "redis://127.0.0.1:6379/2"}, base_dir=tmp_path)
    assert url.redis is not None
    assert url.redis.url == "redis://127.0.0.1:6379/2"
    off = load({**BASE, "REDIS": "redis://x", "REDIS_ENABLED": "false"}, base_dir=tmp_path)
    assert off.redis is None


def test_cast_prefix_is_accepted(tmp_path: Path) -> None:
    config = load({**BASE, "PORT": "number:9000", "KEY": "string:123"}, base_dir=tmp_path)
    assert config.errors == ()
    assert (config.server.port, config.server.key) == (9000, "123")


def test_secret_repr_is_hidden(tmp_path: Path) -> None:
    config = load({**BASE, "ADMIN_PASSWORD": "hunter2-secret", "ADMIN_EMAIL": "a@b.co"})
    assert "hunter2-secret" not in repr(config)
    assert "s" * 40 not in repr(config)


@pytest.mark.parametrize(
    ("text", "ms"), [("15m", 900_000), ("7d", 604_800_000), ("10s", 10_000), ("500", 500)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize(("text", "size"), [("1mb", 1048576), ("512kb", 524288), ("100", 100)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size_bytes(text) == size
