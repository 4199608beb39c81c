"""The ``server`` section: how this process runs and is reached (``NODE_ENV``, ``PUBLIC_URL``,
``HOST``, ``PORT``, ``SECRET``, ``KEY``, ``ROOT_REDIRECT``, ``LOG_*``, ``MAX_PAYLOAD_SIZE``,
``IP_*``; contract env.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.config.env import EnvReader

LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace", "silent")
LOG_STYLES = ("pretty", "raw")

# A fixed development value: the same in every process, and never accepted in production.
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"


@dataclass(frozen=True)
class Server:
    node_env: str
    public_url: str
    host: str
    port: int
    secret: str = field(repr=False)
    secret_is_generated: bool
    key: str
    root_redirect: str
    log_level: str
    log_style: str
    max_payload_size: int
    ip_trust_proxy: bool
    ip_custom_header: str | None


def load_server(env: EnvReader) -> Server:
    node_env = env.choice("NODE_ENV", "production", ("production", "development", "test"))
    secret, generated = _secret(env, node_env)
    server = Server(
        node_env=node_env,
        public_url=env.string("PUBLIC_URL", "/"),
        host=env.string("HOST", "127.0.0.1"),
        port=env.integer("PORT", 8055, minimum=0),
        secret=secret,
        secret_is_generated=generated,
        key=env.string("KEY", ""),
        root_redirect=env.string("ROOT_REDIRECT", "./admin/"),
        log_level=env.choice("LOG_LEVEL", "info", LOG_LEVELS),
        log_style=env.choice("LOG_STYLE", "pretty", LOG_STYLES),
        max_payload_size=env.size("MAX_PAYLOAD_SIZE", "1mb"),
        ip_trust_proxy=env.boolean("IP_TRUST_PROXY", False),
        ip_custom_header=env.optional("IP_CUSTOM_HEADER"),
    )
    if server.public_url != "/" and urlsplit(server.public_url).scheme not in {"http", "https"}:
        env.errors.append("PUBLIC_URL: must be / or an absolute http(s) URL.")
    return server


def _secret(env: EnvReader, node_env: str) -> tuple[str, bool]:
    """``SECRET``, or the development secret (flagged as generated) when it is unset; unset in
    production is an error, since every process must sign with the same key."""
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
    return DEVELOPMENT_SECRET, True
