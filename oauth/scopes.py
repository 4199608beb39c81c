"""What OAuth scopes mean here: each is tied to the access model, and a token's permissions are
its scopes intersected with its user's (or client's) policies (:func:`narrowing` becomes the
token's :class:`~accounts.keyscope.KeyScope`, applied by the one permission engine).

=================  ===========================================================================
``openid``         an id_token; ``sub`` at userinfo
``profile``        name claims at userinfo; reading ``directus_users`` (what the policies allow)
``email``          the e-mail claims at userinfo
``items:read``     reading items of every non-system collection the policies allow
``items:write``    creating, updating and deleting them, as the policies allow
``offline_access`` a refresh token
=================  ===========================================================================
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes

from accounts.keyscope import KeyScope

SCOPES: dict[str, str] = {
    "openid": "Know who you are",
    "profile": "Read your profile",
    "email": "Know your e-mail address",
    "items:read": "Read the items you can read",
    "items:write": "Create, change and delete the items you can change",
    "offline_access": "Stay connected when you are not here",
}
#: Asked for when a client names no scope: what it may ask for, minus id_tokens and refresh.
IMPLICIT_EXCLUDED = frozenset({"openid", "offline_access"})


def narrowing(scopes: list[str] | set[str] | frozenset[str]) -> KeyScope:
    granted = set(scopes)
    items = {"read"} if "items:read" in granted else set()
    if "items:write" in granted:
        items |= {"create", "update", "delete"}
    users = (("directus_users", frozenset({"read"})),) if "profile" in granted else ()
    return KeyScope(collections=users, items=frozenset(items))


class ClientScopes(BaseScopes):
    """The toolkit's scopes backend: a client may ask for the scopes it was given."""

    def get_all_scopes(self) -> dict[str, str]:
        return SCOPES

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return list(SCOPES)
        return [s for s in application.scope_list if s in SCOPES]

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        available = self.get_available_scopes(application, request)
        return [s for s in available if s not in IMPLICIT_EXCLUDED]
