"""The one place configuration is read: environment variables with Directus's names.

How a value is read (``_FILE`` secrets, cast prefixes, durations, sizes, booleans) is
:mod:`core.config.env`; each section of :class:`Config` is one module with its dataclasses and
its ``load_<section>`` function (see docs/configuration.md and the README table):

========== ============================================================================
server     ``NODE_ENV``, ``PUBLIC_URL``, ``HOST``, ``PORT``, ``SECRET``, ``KEY``, ``LOG_*``, …
database   ``DB_*``; redis: ``REDIS*``
tokens     ``ACCESS_TOKEN_*``, ``REFRESH_TOKEN_*``, ``SESSION_*``, ``LOGIN_STALL_TIME``
hashing    ``HASH_*``
limits     ``RATE_LIMITER_*``, ``QUERY_LIMIT_*``, ``GRAPHQL_QUERY_TOKEN_LIMIT``
cors       ``CORS_*``
websockets ``WEBSOCKETS_*``
bootstrap  ``ADMIN_EMAIL``, ``ADMIN_PASSWORD``, ``ADMIN_TOKEN``
auth       ``AUTH_PROVIDERS``, ``AUTH_<NAME>_*``, ``AUTH_DISABLE_DEFAULT``,
           ``LOGIN_REDIRECT_ALLOW_LIST``
mail       ``EMAIL_*``, ``RATE_LIMITER_EMAIL_*``
lifecycle  ``PASSWORD_RESET_URL_ALLOW_LIST``, ``USER_INVITE_URL_ALLOW_LIST``,
           ``USER_INVITE_TOKEN_TTL``
outbound   ``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY`` (and ``GLOBAL_AGENT_*`` aliases)
issuers    ``TRUSTED_ISSUERS``, ``TRUSTED_ISSUER_<NAME>_*``
oauth      ``OAUTH_*`` (this server as an OAuth 2.0 / OpenID provider)
health     ``HEALTHCHECK_*``, ``*_HEALTHCHECK_THRESHOLD``
========== ============================================================================

Problems never raise here: they are collected in :attr:`Config.errors` (each naming its variable)
and reported by the system check in :mod:`core.checks`, which stops start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.config.auth import Auth, ProviderConfig, load_auth
from core.config.bootstrap import Bootstrap, load_bootstrap
from core.config.cors import Cors, load_cors
from core.config.database import Database, Redis, load_database, load_redis
from core.config.env import (
    ConfigError,
    EnvReader,
    parse_bool,
    parse_csv,
    parse_duration_ms,
    parse_size_bytes,
)
from core.config.hashing import Hashing, load_hashing
from core.config.health import Health, load_health
from core.config.issuers import IssuerRule, TrustedIssuer, load_issuers
from core.config.lifecycle import Lifecycle, load_lifecycle
from core.config.limits import Limits, RateLimit, load_limits
from core.config.mail import Mail, Smtp, load_mail
from core.config.oauth import OAuth, load_oauth
from core.config.outbound import Outbound, load_outbound
from core.config.server import Server, load_server
from core.config.tokens import Cookie, Tokens, load_tokens
from core.config.websockets import Socket, WebSockets, load_websockets

__all__ = [
    "BASE_DIR",
    "CONFIG",
    "Auth",
    "Bootstrap",
    "Config",
    "ConfigError",
    "Cookie",
    "Cors",
    "Database",
    "EnvReader",
    "Hashing",
    "Health",
    "IssuerRule",
    "Lifecycle",
    "Limits",
    "Mail",
    "OAuth",
    "Outbound",
    "ProviderConfig",
    "RateLimit",
    "Redis",
    "Server",
    "Smtp",
    "Socket",
    "Tokens",
    "TrustedIssuer",
    "WebSockets",
    "load",
    "parse_bool",
    "parse_csv",
    "parse_duration_ms",
    "parse_size_bytes",
]


@dataclass(frozen=True)
class Config:
    """Every setting the server reads from the environment, typed and validated, by section."""

    server: Server
    database: Database
    redis: Redis | None
    tokens: Tokens
    hashing: Hashing
    limits: Limits
    cors: Cors
    websockets: WebSockets
    bootstrap: Bootstrap
    auth: Auth = field(default_factory=Auth)
    mail: Mail = field(default_factory=Mail)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    outbound: Outbound = field(default_factory=Outbound)
    issuers: tuple[TrustedIssuer, ...] = ()
    oauth: OAuth = field(default_factory=OAuth)
    health: Health = field(default_factory=Health)
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def debug(self) -> bool:
        return self.server.node_env == "development"

    @property
    def production(self) -> bool:
        return self.server.node_env == "production"


def load(environ: Mapping[str, str] | None = None, base_dir: Path | None = None) -> Config:
    """Build the :class:`Config` from ``environ`` (default: the process environment);
    relative paths (``DB_FILENAME``) are taken from ``base_dir`` (default: the working
    directory)."""
    env = EnvReader(os.environ if environ is None else environ)
    auth = load_auth(env)
    server = load_server(env)
    config = Config(
        server=server,
        database=load_database(env, base_dir or Path.cwd()),
        redis=load_redis(env),
        tokens=load_tokens(env),
        hashing=load_hashing(env),
        limits=load_limits(env),
        cors=load_cors(env),
        websockets=load_websockets(env),
        bootstrap=load_bootstrap(env),
        auth=auth,
        mail=load_mail(env),
        lifecycle=load_lifecycle(env),
        outbound=load_outbound(env),
        issuers=load_issuers(env, tuple(p.name for p in auth.providers)),
        oauth=load_oauth(env, server.public_url),
        health=load_health(env),
    )
    _cross_checks(env, config)
    return replace(config, errors=tuple(env.errors), warnings=tuple(env.warnings))


def _cross_checks(env: EnvReader, config: Config) -> None:
    """Rules that span two sections."""
    if config.limits.store == "redis" and config.redis is None:
        env.errors.append("RATE_LIMITER_STORE=redis needs REDIS (or REDIS_HOST).")


BASE_DIR = Path(__file__).resolve().parent.parent.parent
CONFIG = load(base_dir=BASE_DIR)
