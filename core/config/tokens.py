"""The ``tokens`` section: access tokens, refresh and session cookies, the login stall
(``ACCESS_TOKEN_*``, ``REFRESH_TOKEN_*``, ``SESSION_*``, ``LOGIN_STALL_TIME``; contract env.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config.env import EnvReader

ASYMMETRIC_ALGORITHMS = ("RS256", "EdDSA")


@dataclass(frozen=True)
class Cookie:
    name: str
    domain: str | None
    secure: bool
    same_site: str
    ttl_ms: int


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


def load_tokens(env: EnvReader) -> Tokens:
    algorithm, private_key = _signing(env)
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


def _signing(env: EnvReader) -> tuple[str, str | None]:
    """``ACCESS_TOKEN_ALGORITHM`` and its private key (required by the asymmetric ones)."""
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
    return algorithm, private_key


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
