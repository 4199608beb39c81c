"""The ``database`` and ``redis`` sections (``DB_*``, ``REDIS*``; contract env.md).

``DB_CLIENT`` is ``sqlite3`` (``DB_FILENAME``, relative to the project directory) or ``pg``
(``DB_CONNECTION_STRING``, or ``DB_HOST``/``DB_PORT``/``DB_DATABASE``/``DB_USER``/
``DB_PASSWORD``). Redis is off unless ``REDIS`` or ``REDIS_HOST`` is set, and
``REDIS_ENABLED=false`` turns it off whatever else is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.config.env import EnvReader, parse_bool


@dataclass(frozen=True)
class Database:
    client: str
    filename: str = ""
    host: str = ""
    port: int = 5432
    name: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    pool_min: int = 0
    pool_max: int = 10
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Redis:
    url: str = field(repr=False)


def load_database(env: EnvReader, base: Path) -> Database:
    client = env.string("DB_CLIENT", "sqlite3").strip().lower()
    if client in {"postgres", "postgresql"}:
        client = "pg"
    if client not in {"sqlite3", "pg"}:
        env.errors.append(f"DB_CLIENT: must be sqlite3 or pg; got {client!r}.")
        client = "sqlite3"
    if client == "sqlite3":
        return _sqlite(env, base)
    pool = (env.integer("DB_POOL__MIN", 0, minimum=0), env.integer("DB_POOL__MAX", 10, minimum=1))
    if pool[0] > pool[1]:
        env.errors.append("DB_POOL__MIN must not be larger than DB_POOL__MAX.")
    url = env.optional("DB_CONNECTION_STRING")
    if url:
        return _database_from_url(env, url, pool)
    return _database_from_parts(env, pool)


def _sqlite(env: EnvReader, base: Path) -> Database:
    filename = env.string("DB_FILENAME", "data/database.db")
    path = Path(filename)
    if filename == ":memory:" or path.is_absolute():
        return Database(client="sqlite3", filename=filename)
    return Database(client="sqlite3", filename=str(base / path))


def _database_from_parts(env: EnvReader, pool: tuple[int, int]) -> Database:
    parts = {
        name: env.optional(name) for name in ("DB_HOST", "DB_DATABASE", "DB_USER", "DB_PASSWORD")
    }
    for required in ("DB_HOST", "DB_DATABASE", "DB_USER"):
        if not parts[required]:
            env.errors.append(
                f"{required} is required when DB_CLIENT=pg (or set DB_CONNECTION_STRING)."
            )
    return Database(
        client="pg",
        host=parts["DB_HOST"] or "",
        port=env.integer("DB_PORT", 5432, minimum=1),
        name=parts["DB_DATABASE"] or "",
        user=parts["DB_USER"] or "",
        password=parts["DB_PASSWORD"] or "",
        pool_min=pool[0],
        pool_max=pool[1],
        options={"sslmode": v} if (v := env.optional("DB_SSL__MODE")) else {},
    )


def _database_from_url(env: EnvReader, url: str, pool: tuple[int, int]) -> Database:
    parsed = urlsplit(url)
    if parsed.scheme not in {"postgres", "postgresql"} or not parsed.path.strip("/"):
        env.errors.append(
            "DB_CONNECTION_STRING: must look like postgresql://user:password@host:5432/database."
        )
        return Database(client="pg")
    options = dict(pair.split("=", 1) for pair in parsed.query.split("&") if "=" in pair)
    try:
        port = parsed.port or 5432
    except ValueError:
        env.errors.append("DB_CONNECTION_STRING: the port is not a number.")
        port = 5432
    return Database(
        client="pg",
        host=unquote(parsed.hostname or ""),
        port=port,
        name=unquote(parsed.path.lstrip("/")),
        user=unquote(parsed.username or ""),
        password=unquote(parsed.password or ""),
        pool_min=pool[0],
        pool_max=pool[1],
        options=options,
    )


def load_redis(env: EnvReader) -> Redis | None:
    enabled = env.optional("REDIS_ENABLED")
    url = env.optional("REDIS")
    host = env.optional("REDIS_HOST")
    if enabled is not None and not env.get("REDIS_ENABLED", False, parse_bool):
        return None
    if url:
        if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            env.errors.append("REDIS: must be a redis://, rediss:// or unix:// URL.")
            return None
        return Redis(url=url)
    if host:
        return Redis(url=_redis_url(env, host))
    if enabled is not None:
        env.errors.append("REDIS_ENABLED is true but neither REDIS nor REDIS_HOST is set.")
    return None


def _redis_url(env: EnvReader, host: str) -> str:
    port = env.integer("REDIS_PORT", 6379, minimum=1)
    user = env.optional("REDIS_USERNAME") or ""
    password = env.optional("REDIS_PASSWORD") or ""
    auth = f"{user}:{password}@" if (user or password) else ""
    return f"redis://{auth}{host}:{port}/{env.integer('REDIS_DB', 0, minimum=0)}"
