"""The ``lifecycle`` section: links mailed for password resets and invitations
(``PASSWORD_RESET_URL_ALLOW_LIST``, ``USER_INVITE_URL_ALLOW_LIST``, ``USER_INVITE_TOKEN_TTL``;
contract env.md §3).

An allow list is comma-separated URLs; a ``reset_url``/``invite_url`` given by a client must be
one of them (exactly, or the same origin and path: :func:`lifecycle.links.url_allowed`).
Empty: only the default link (``PUBLIC_URL`` + ``/admin/reset-password`` or
``/admin/accept-invite``) is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config.env import EnvReader


@dataclass(frozen=True)
class Lifecycle:
    password_reset_url_allow_list: tuple[str, ...] = ()
    user_invite_url_allow_list: tuple[str, ...] = ()
    user_invite_token_ttl_ms: int = 7 * 86_400_000
    #: Not configurable (contract http-auth.md §7.5): a reset token lives one day.
    password_reset_token_ttl_ms: int = field(default=86_400_000)


def load_lifecycle(env: EnvReader) -> Lifecycle:
    lifecycle = Lifecycle(
        password_reset_url_allow_list=tuple(env.csv("PASSWORD_RESET_URL_ALLOW_LIST")),
        user_invite_url_allow_list=tuple(env.csv("USER_INVITE_URL_ALLOW_LIST")),
        user_invite_token_ttl_ms=env.duration_ms("USER_INVITE_TOKEN_TTL", "7d"),
    )
    if lifecycle.user_invite_token_ttl_ms < 60_000:
        env.errors.append("USER_INVITE_TOKEN_TTL: must be at least 1m.")
    return lifecycle
