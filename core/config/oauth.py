"""The ``oauth`` section: this server as an OAuth 2.0 authorization server and OpenID provider
(``OAUTH_*``). Directus has no such feature; the names follow its ``ACCESS_TOKEN_*`` pattern.

=============================== ==========================================================
``OAUTH_ISSUER``                the ``iss`` of id_tokens and the discovery document
                                (default: ``PUBLIC_URL``; from the request when that is ``/``)
``OAUTH_PRIVATE_KEY``           RSA private key (PEM) that signs id_tokens; unset: the server
                                makes one and keeps it in the database, sealed with ``SECRET``
``OAUTH_PREVIOUS_PRIVATE_KEYS`` earlier keys (PEMs, one after another) still published in the
                                JWKS so id_tokens they signed verify during a rotation
``OAUTH_ACCESS_TOKEN_TTL``      access tokens (default ``15m``)
``OAUTH_REFRESH_TOKEN_TTL``     refresh tokens, after their access token expired (``30d``)
``OAUTH_CODE_TTL``              authorization codes (``60s``)
``OAUTH_ID_TOKEN_TTL``          id_tokens (``15m``)
``OAUTH_REFRESH_GRACE_PERIOD``  a rotated refresh token still accepted this long, for a client
                                that lost the answer (``10s``); after it, its whole family is
                                revoked
=============================== ==========================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.config.env import EnvReader

_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)


@dataclass(frozen=True)
class OAuth:
    issuer: str | None = None
    private_key: str | None = field(default=None, repr=False)
    previous_private_keys: tuple[str, ...] = field(default=(), repr=False)
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 86400
    code_ttl_s: int = 60
    id_token_ttl_s: int = 900
    refresh_grace_s: int = 10


def load_oauth(env: EnvReader, public_url: str) -> OAuth:
    issuer = env.optional("OAUTH_ISSUER") or (public_url if public_url != "/" else None)
    private_key = env.optional("OAUTH_PRIVATE_KEY")
    if private_key and not _PEM.search(private_key):
        env.errors.append("OAUTH_PRIVATE_KEY: must be an RSA private key in PEM.")
        private_key = None
    previous = tuple(_PEM.findall(env.string("OAUTH_PREVIOUS_PRIVATE_KEYS", "")))
    config = OAuth(
        issuer=issuer.rstrip("/") if issuer else None,
        private_key=private_key,
        previous_private_keys=previous,
        access_ttl_s=env.duration_ms("OAUTH_ACCESS_TOKEN_TTL", "15m") // 1000,
        refresh_ttl_s=env.duration_ms("OAUTH_REFRESH_TOKEN_TTL", "30d") // 1000,
        code_ttl_s=env.duration_ms("OAUTH_CODE_TTL", "60s") // 1000,
        id_token_ttl_s=env.duration_ms("OAUTH_ID_TOKEN_TTL", "15m") // 1000,
        refresh_grace_s=env.duration_ms("OAUTH_REFRESH_GRACE_PERIOD", "10s") // 1000,
    )
    for name in ("access_ttl_s", "refresh_ttl_s", "code_ttl_s", "id_token_ttl_s"):
        if getattr(config, name) < 1:
            env.errors.append(f"OAUTH_{name[:-2].upper()}: must be at least 1s.")
    return config
