"""The one place configuration is read: environment variables with Directus's names.

Rules (see docs/configuration.md and the README table):

* ``NAME_FILE=/path`` loads the file's content as the value of ``NAME`` (one trailing newline is
  dropped, so secrets written by ``echo`` work). Setting both ``NAME`` and ``NAME_FILE`` is an
  error.
* A value may carry an explicit cast prefix as in Directus: ``string:``, ``number:``,
  ``boolean:``, ``json:``, ``array:``. Without one, the declared type of the variable decides.
* Booleans: ``true``/``1`` are true, ``false``/``0``/empty are false; anything else is an error.
* Durations use the ``ms`` syntax (``15m``, ``7d``, ``10s``; a bare number is milliseconds).
* Sizes use the ``bytes`` syntax (``1mb``, ``512kb``; a bare number is bytes).

Problems never raise here: they are collected in :attr:`Config.errors` (each naming its variable)
and reported by the system check in :mod:`core.checks`, which stops start-up.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from core.config.auth import Auth, load_auth

T = TypeVar("T")

_DURATION_UNITS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_557_600_000,
}
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_DURATION_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_CAST_PREFIXES = ("string:", "number:", "boolean:", "json:", "array:", "regex:")


class ConfigError(ValueError):
    """A variable whose value cannot be used; the message names the variable."""


def parse_duration_ms(text: str) -> int:
    """Parse an ``ms``-style duration (``15m``, ``7d``, ``500``) into milliseconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 15m, 7d or 500 (ms)")
    number, unit = float(match.group(1)), match.group(2).lower() or "ms"
    if unit not in _DURATION_UNITS:
        raise ValueError(f"{text!r} has an unknown unit {unit!r}")
    return int(number * _DURATION_UNITS[unit])


def parse_size_bytes(text: str) -> int:
    """Parse a ``bytes``-style size (``1mb``, ``512kb``, ``2048``) into bytes."""
    match = _DURATION_RE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or (unit or "b") not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size such as 1mb, 512kb or 2048")
    return int(float(match.group(1)) * _SIZE_UNITS[unit or "b"])


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0", ""}:
        return False
    raise ValueError(f"{text!r} is not a boolean (true or false)")


def parse_csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class EnvReader:
    """Reads typed values out of an environment mapping, collecting errors instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.seen: set[str] = set()

    def raw(self, name: str) -> str | None:
        """The value of ``name``, from ``name`` itself or from the file named by ``name_FILE``."""
        self.seen.add(name)
        value = self.environ.get(name)
        file_path = self.environ.get(f"{name}_FILE")
        if file_path is None:
            return value
        if value is not None:
            self.errors.append(f"{name} and {name}_FILE are both set; set only one of them.")
            return value
        prefix, path = _split_prefix(file_path)
        try:
            content = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            self.errors.append(
                f'Failed to read value from file "{path}", defined in environment variable '
                f'"{name}_FILE": {exc.strerror or exc}.'
            )
            return None
        return prefix + _drop_one_newline(content)

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        value = self.raw(name)
        if value is None:
            return default
        _, value = _split_prefix(value)
        try:
            return parse(value)
        except (ValueError, json.JSONDecodeError) as exc:
            self.errors.append(f"{name}: {exc}")
            return default

    def string(self, name: str, default: str = "") -> str:
        return self.get(name, default, str)

    def optional(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None or value == "" else _split_prefix(value)[1]

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = self.get(name, default, _parse_int)
        if minimum is not None and value < minimum:
            self.errors.append(f"{name}: must be at least {minimum}, got {value}.")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        return self.get(name, default, parse_bool)

    def duration_ms(self, name: str, default: str) -> int:
        return self.get(name, parse_duration_ms(default), parse_duration_ms)

    def size(self, name: str, default: str) -> int:
        return self.get(name, parse_size_bytes(default), parse_size_bytes)

    def csv(self, name: str, default: str = "") -> list[str]:
        return self.get(name, parse_csv(default), parse_csv)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(name, default).strip().lower()
        if value not in choices:
            self.errors.append(f"{name}: must be one of {', '.join(choices)}; got {value!r}.")
            return default
        return value


def _parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def _split_prefix(value: str) -> tuple[str, str]:
    for prefix in _CAST_PREFIXES:
        if value.startswith(prefix):
            return prefix, value[len(prefix) :]
    return "", value


def _drop_one_newline(content: str) -> str:
    if content.endswith("\r\n"):
        return content[:-2]
    return content[:-1] if content.endswith("\n") else content


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


@dataclass(frozen=True)
class Cookie:
    name: str
    domain: str | None
    secure: bool
    same_site: str
    ttl_ms: int


@dataclass(frozen=True)
class RateLimit:
    enabled: bool
    points: int
    duration_s: int


@dataclass(frozen=True)
class Tokens:
    access_ttl_ms: int
    refresh_ttl_ms: int
    refresh_cookie: Cookie
    session_cookie: Cookie
    session_refresh_grace_ms: int
    login_stall_ms: int
    algorithm: str
    private_key: str | None = field(repr=False)
    previous_public_keys: str | None


@dataclass(frozen=True)
class RateLimits:
    store: str
    api: RateLimit
    global_: RateLimit
    login_ip: RateLimit
    login_account: RateLimit


@dataclass(frozen=True)
class Socket:
    """One WebSocket endpoint (``WEBSOCKETS_<KIND>_*``)."""

    enabled: bool
    path: str
    auth: str
    auth_timeout_s: int
    conn_limit: int | None


@dataclass(frozen=True)
class WebSockets:
    enabled: bool
    rest: Socket
    graphql: Socket
    logs: Socket
    logs_level: str
    logs_style: str
    heartbeat_enabled: bool
    heartbeat_period_s: int


@dataclass(frozen=True)
class Config:
    """Every setting the server reads from the environment, typed and validated."""

    node_env: str
    public_url: str
    host: str
    port: int
    secret: str = field(repr=False)
    secret_is_generated: bool
    key: str
    database: Database
    redis: Redis | None
    admin_email: str | None
    admin_password: str | None = field(repr=False)
    admin_token: str | None = field(repr=False)
    log_level: str
    log_style: str
    max_payload_size: int
    ip_trust_proxy: bool
    ip_custom_header: str | None
    root_redirect: str
    query_limit_default: int
    query_limit_max: int
    graphql_query_token_limit: int
    hash_memory_cost: int
    hash_time_cost: int
    hash_parallelism: int
    cors_enabled: bool
    cors_origin: str
    cors_methods: list[str]
    cors_allowed_headers: list[str]
    cors_exposed_headers: list[str]
    cors_credentials: bool
    cors_max_age: int
    tokens: Tokens
    rate_limits: RateLimits
    auth_disable_default: bool
    login_redirect_allow_list: list[str]
    websockets: WebSockets
    auth: Auth = field(default_factory=Auth)
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def debug(self) -> bool:
        return self.node_env == "development"

    @property
    def production(self) -> bool:
        return self.node_env == "production"


LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace", "silent")


def load(environ: Mapping[str, str] | None = None, base_dir: Path | None = None) -> Config:
    """Build the :class:`Config` from ``environ`` (default: the process environment)."""
    env = EnvReader(os.environ if environ is None else environ)
    base = base_dir or Path.cwd()
    node_env = env.choice("NODE_ENV", "production", ("production", "development", "test"))
    secret, generated = _secret(env, node_env)
    cfg = Config(
        node_env=node_env,
        public_url=env.string("PUBLIC_URL", "/"),
        host=env.string("HOST", "127.0.0.1"),
        port=env.integer("PORT", 8055, minimum=0),
        secret=secret,
        secret_is_generated=generated,
        key=env.string("KEY", ""),
        database=_database(env, base),
        redis=_redis(env),
        admin_email=env.optional("ADMIN_EMAIL"),
        admin_password=env.optional("ADMIN_PASSWORD"),
        admin_token=env.optional("ADMIN_TOKEN"),
        log_level=env.choice("LOG_LEVEL", "info", LOG_LEVELS),
        log_style=env.choice("LOG_STYLE", "pretty", ("pretty", "raw")),
        max_payload_size=env.size("MAX_PAYLOAD_SIZE", "1mb"),
        ip_trust_proxy=env.boolean("IP_TRUST_PROXY", False),
        ip_custom_header=env.optional("IP_CUSTOM_HEADER"),
        root_redirect=env.string("ROOT_REDIRECT", "./admin/"),
        query_limit_default=env.integer("QUERY_LIMIT_DEFAULT", 100, minimum=1),
        query_limit_max=env.integer("QUERY_LIMIT_MAX", 1000, minimum=-1),
        graphql_query_token_limit=env.integer("GRAPHQL_QUERY_TOKEN_LIMIT", 5000, minimum=1),
        hash_memory_cost=env.integer("HASH_MEMORY_COST", 65536, minimum=8),
        hash_time_cost=env.integer("HASH_TIME_COST", 3, minimum=1),
        hash_parallelism=env.integer("HASH_PARALLELISM", 4, minimum=1),
        cors_enabled=env.boolean("CORS_ENABLED", False),
        cors_origin=env.string("CORS_ORIGIN", "false"),
        cors_methods=env.csv("CORS_METHODS", "GET,POST,PATCH,DELETE"),
        cors_allowed_headers=env.csv("CORS_ALLOWED_HEADERS", "Content-Type,Authorization"),
        cors_exposed_headers=env.csv("CORS_EXPOSED_HEADERS", "Content-Range"),
        cors_credentials=env.boolean("CORS_CREDENTIALS", True),
        cors_max_age=env.integer("CORS_MAX_AGE", 18000, minimum=0),
        tokens=_tokens(env),
        rate_limits=_rate_limits(env),
        auth_disable_default=env.boolean("AUTH_DISABLE_DEFAULT", False),
        login_redirect_allow_list=env.csv("LOGIN_REDIRECT_ALLOW_LIST", ""),
        websockets=_websockets(env),
        auth=load_auth(env),
    )
    _cross_checks(env, cfg)
    return _with_messages(cfg, env)


def _with_messages(cfg: Config, env: EnvReader) -> Config:
    from dataclasses import replace

    return replace(cfg, errors=tuple(env.errors), warnings=tuple(env.warnings))


def _secret(env: EnvReader, node_env: str) -> tuple[str, bool]:
    secret = env.string("SECRET", "")
    if secret:
        if len(secret.encode()) < 32:
            env.warnings.append("SECRET is shorter than 32 bytes; use a longer random value.")
        return secret, False
    if node_env == "production":
        env.errors.append(
            "SECRET is not set. In production every process must share one secret: set SECRET "
            "(or SECRET_FILE) to a long random value, or NODE_ENV=development for local use."
        )
    # A fixed development value: the same in every process, and never accepted in production.
    return "development-only-secret-do-not-use-in-production", True


def _database(env: EnvReader, base: Path) -> Database:
    client = env.string("DB_CLIENT", "sqlite3").strip().lower()
    if client in {"postgres", "postgresql"}:
        client = "pg"
    if client not in {"sqlite3", "pg"}:
        env.errors.append(f"DB_CLIENT: must be sqlite3 or pg; got {client!r}.")
        client = "sqlite3"
    if client == "sqlite3":
        filename = env.string("DB_FILENAME", "data/database.db")
        path = Path(filename)
        if filename == ":memory:" or path.is_absolute():
            return Database(client=client, filename=filename)
        return Database(client=client, filename=str(base / path))
    pool = (env.integer("DB_POOL__MIN", 0, minimum=0), env.integer("DB_POOL__MAX", 10, minimum=1))
    if pool[0] > pool[1]:
        env.errors.append("DB_POOL__MIN must not be larger than DB_POOL__MAX.")
    url = env.optional("DB_CONNECTION_STRING")
    if url:
        return _database_from_url(env, url, pool)
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


def _redis(env: EnvReader) -> Redis | None:
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
        port = env.integer("REDIS_PORT", 6379, minimum=1)
        user = env.optional("REDIS_USERNAME") or ""
        password = env.optional("REDIS_PASSWORD") or ""
        auth = f"{user}:{password}@" if (user or password) else ""
        return Redis(url=f"redis://{auth}{host}:{port}/{env.integer('REDIS_DB', 0, minimum=0)}")
    if enabled is not None:
        env.errors.append("REDIS_ENABLED is true but neither REDIS nor REDIS_HOST is set.")
    return None


def _cookie(env: EnvReader, prefix: str, name: str, ttl: str) -> Cookie:
    same_site = env.string(f"{prefix}_SAME_SITE", "lax").strip().lower() or "strict"
    if same_site not in {"lax", "strict", "none"}:
        env.errors.append(f"{prefix}_SAME_SITE: must be lax, strict or none; got {same_site!r}.")
        same_site = "lax"
    secure = env.boolean(f"{prefix}_SECURE", False)
    if same_site == "none" and not secure:
        env.errors.append(f"{prefix}_SAME_SITE=none needs {prefix}_SECURE=true (browsers drop it).")
    return Cookie(
        name=env.string(f"{prefix}_NAME", name),
        domain=env.optional(f"{prefix}_DOMAIN"),
        secure=secure,
        same_site=same_site,
        ttl_ms=env.duration_ms(ttl, "7d" if prefix.startswith("REFRESH") else "1d"),
    )


ASYMMETRIC_ALGORITHMS = ("RS256", "EdDSA")


def _tokens(env: EnvReader) -> Tokens:
    algorithm = env.string("ACCESS_TOKEN_ALGORITHM", "HS256").strip()
    if algorithm not in ("HS256", *ASYMMETRIC_ALGORITHMS):
        env.errors.append(
            f"ACCESS_TOKEN_ALGORITHM: must be HS256, RS256 or EdDSA; got {algorithm!r}."
        )
        algorithm = "HS256"
    private_key = env.optional("ACCESS_TOKEN_PRIVATE_KEY")
    if algorithm in ASYMMETRIC_ALGORITHMS and not private_key:
        env.errors.append(
            f"ACCESS_TOKEN_PRIVATE_KEY (or ACCESS_TOKEN_PRIVATE_KEY_FILE) is required with "
            f"ACCESS_TOKEN_ALGORITHM={algorithm}."
        )
    grace = env.duration_ms("SESSION_REFRESH_GRACE_PERIOD", "10s")
    tokens = Tokens(
        access_ttl_ms=env.duration_ms("ACCESS_TOKEN_TTL", "15m"),
        refresh_ttl_ms=env.duration_ms("REFRESH_TOKEN_TTL", "7d"),
        refresh_cookie=_cookie(
            env, "REFRESH_TOKEN_COOKIE", "directus_refresh_token", "REFRESH_TOKEN_TTL"
        ),
        session_cookie=_cookie(
            env, "SESSION_COOKIE", "directus_session_token", "SESSION_COOKIE_TTL"
        ),
        session_refresh_grace_ms=grace,
        login_stall_ms=env.duration_ms("LOGIN_STALL_TIME", "500"),
        algorithm=algorithm,
        private_key=private_key,
        previous_public_keys=env.optional("ACCESS_TOKEN_PREVIOUS_PUBLIC_KEYS"),
    )
    for name, value in (
        ("ACCESS_TOKEN_TTL", tokens.access_ttl_ms),
        ("REFRESH_TOKEN_TTL", tokens.refresh_ttl_ms),
    ):
        if value < 1000:
            env.errors.append(f"{name}: must be at least 1s.")
    return tokens


def _rate_limit(
    env: EnvReader, prefix: str, enabled: bool, points: int, duration: int
) -> RateLimit:
    return RateLimit(
        enabled=env.boolean(f"{prefix}_ENABLED", enabled),
        points=env.integer(f"{prefix}_POINTS", points, minimum=1),
        duration_s=env.integer(f"{prefix}_DURATION", duration, minimum=1),
    )


def _rate_limits(env: EnvReader) -> RateLimits:
    store = env.choice("RATE_LIMITER_STORE", "memory", ("memory", "redis"))
    api = _rate_limit(env, "RATE_LIMITER", False, 50, 1)
    global_ = _rate_limit(env, "RATE_LIMITER_GLOBAL", False, 1000, 1)
    if global_.enabled and (
        not api.enabled or global_.points / global_.duration_s <= api.points / api.duration_s
    ):
        env.errors.append(
            "RATE_LIMITER_GLOBAL_ENABLED needs RATE_LIMITER_ENABLED and a global rate "
            "(points/duration) strictly higher than the per-IP rate."
        )
    login = env.boolean("RATE_LIMITER_LOGIN_ENABLED", True)
    duration = env.integer("RATE_LIMITER_LOGIN_DURATION", 60, minimum=1)
    return RateLimits(
        store=store,
        api=api,
        global_=global_,
        login_ip=RateLimit(
            login, env.integer("RATE_LIMITER_LOGIN_IP_POINTS", 30, minimum=1), duration
        ),
        login_account=RateLimit(
            login, env.integer("RATE_LIMITER_LOGIN_ACCOUNT_POINTS", 10, minimum=1), duration
        ),
    )


AUTH_MODES = ("public", "handshake", "strict")


def _socket(env: EnvReader, kind: str, path: str, auth: str = "handshake") -> Socket:
    prefix = f"WEBSOCKETS_{kind}"
    socket_path = env.string(f"{prefix}_PATH", path)
    if not socket_path.startswith("/"):
        env.errors.append(f"{prefix}_PATH: must start with /; got {socket_path!r}.")
        socket_path = path
    limit = env.optional(f"{prefix}_CONN_LIMIT")
    conn_limit = None
    if limit is not None and limit.lower() not in {"infinity", "-1"}:
        conn_limit = env.integer(f"{prefix}_CONN_LIMIT", 0, minimum=1) or None
    return Socket(
        enabled=env.boolean(f"{prefix}_ENABLED", True),
        path=socket_path,
        auth=env.choice(f"{prefix}_AUTH", auth, AUTH_MODES) if kind != "LOGS" else "strict",
        auth_timeout_s=env.integer(f"{prefix}_AUTH_TIMEOUT", 10, minimum=1),
        conn_limit=conn_limit,
    )


def _websockets(env: EnvReader) -> WebSockets:
    sockets = WebSockets(
        enabled=env.boolean("WEBSOCKETS_ENABLED", False),
        rest=_socket(env, "REST", "/websocket"),
        graphql=_socket(env, "GRAPHQL", "/graphql"),
        logs=_socket(env, "LOGS", "/websocket/logs", auth="strict"),
        logs_level=env.choice("WEBSOCKETS_LOGS_LEVEL", "info", LOG_LEVELS),
        logs_style=env.choice("WEBSOCKETS_LOGS_STYLE", "pretty", ("pretty", "raw")),
        heartbeat_enabled=env.boolean("WEBSOCKETS_HEARTBEAT_ENABLED", True),
        heartbeat_period_s=env.integer("WEBSOCKETS_HEARTBEAT_PERIOD", 30, minimum=1),
    )
    paths = [s.path for s in (sockets.rest, sockets.graphql, sockets.logs) if s.enabled]
    if len(set(paths)) != len(paths):
        env.errors.append("WEBSOCKETS_*_PATH: two enabled sockets share one path.")
    return sockets


def _cross_checks(env: EnvReader, cfg: Config) -> None:
    if cfg.rate_limits.store == "redis" and cfg.redis is None:
        env.errors.append("RATE_LIMITER_STORE=redis needs REDIS (or REDIS_HOST).")
    if cfg.query_limit_max not in (-1,) and cfg.query_limit_default > cfg.query_limit_max:
        env.errors.append("QUERY_LIMIT_DEFAULT must not be larger than QUERY_LIMIT_MAX.")
    if cfg.public_url != "/" and urlsplit(cfg.public_url).scheme not in {"http", "https"}:
        env.errors.append("PUBLIC_URL: must be / or an absolute http(s) URL.")
    if cfg.admin_password is not None and not cfg.admin_email:
        env.errors.append("ADMIN_PASSWORD is set but ADMIN_EMAIL is not.")


BASE_DIR = Path(__file__).resolve().parent.parent.parent
CONFIG = load(base_dir=BASE_DIR)
