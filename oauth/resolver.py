"""The resolver for OAuth access tokens (registered in ``OAuthConfig.ready``): a ``doa_`` token is
looked up by its SHA-256 (one indexed query, the user and client joined). It stands for its user
with the user's role *now* (a role change or suspension applies at the next request), or, for a
client-credentials token, for the client's role and policies; its scopes narrow either
(:func:`oauth.scopes.narrowing`). Unknown, revoked (deleted) or expired tokens and inactive users
are ``INVALID_CREDENTIALS``, as for every other kind; an expired one is ``TOKEN_EXPIRED``."""

from __future__ import annotations

from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.credentials import Credential
from accounts.models import UserStatus
from core.errors import InvalidCredentials, TokenExpired
from oauth.generators import ACCESS_PREFIX
from oauth.scopes import narrowing
from tokens.keycache import key_digest
from tokens.presented import Presented

KIND = "oauth"


def resolve_oauth_token(presented: Presented) -> Credential | None:
    token = presented.token
    if not token.startswith(ACCESS_PREFIX):
        return None
    checksum = key_digest(token)
    row = (
        AccessToken.objects.select_related("user", "application")
        .filter(token_checksum=checksum)
        .first()
    )
    if row is None or row.application is None:
        raise InvalidCredentials()
    if row.expires <= timezone.now():
        raise TokenExpired()
    client = row.application
    scope = narrowing(row.scope.split())
    if row.user is not None:
        if row.user.status != UserStatus.ACTIVE:
            raise InvalidCredentials()
        return Credential(
            kind=KIND,
            user_id=row.user.pk,
            role_id=row.user.role_id,
            expires_at=row.expires,
            scope=scope,
            client_id=client.client_id,
        )
    return Credential(
        kind=KIND,
        user_id=None,
        role_id=client.role_id,
        expires_at=row.expires,
        scope=scope,
        client_id=client.client_id,
        policies=tuple(client.policies.values_list("pk", flat=True)),
    )
