"""Which fields a permission row's field list covers (contract access-model.md §5.2).

A row's ``fields`` is a CSV of names or ``*``. ``*`` means every field of the collection, with
one hardening over Directus on ``directus_users``: it does not cover the *privilege* fields
(:data:`PRIVILEGE_USER_FIELDS`) on ``create`` / ``update``, nor the secret ones among them on
``read``. A non-admin policy must name such a field to grant it, so the usual "edit your own
profile" row (``update``, ``fields: *``, ``{"id": {"_eq": "$CURRENT_USER"}}``) cannot change its
own ``role`` or ``status`` — a self-promotion — and a ``*`` reader does not see static tokens,
TOTP secrets or identity-provider data. Admins never reach this: their rule set is full access.

The one "may this caller query this field path" check needs the collection registry, so it
lives in the items layer (``items.scope.query_target``); this module holds the field facts it
and the readers build on.
"""

from __future__ import annotations

ALL_FIELDS = "*"
USERS = "directus_users"

#: Fields of ``directus_users`` that hold secrets or their digests: never usable in a query
#: (filter, sort, search, aggregate, groupBy) nor reachable through a dynamic variable, for
#: any caller, admins included (a comparison operator is an oracle: ``_gte`` bisects a hash).
SECRET_USER_FIELDS = frozenset({"password", "tfa_secret", "token", "auth_data"})

#: Fields of ``directus_users`` that decide what a user may do or who they are to an identity
#: provider; a ``*`` in a non-admin row does not cover them on ``create`` / ``update``.
PRIVILEGE_USER_FIELDS = frozenset(
    {"role", "status", "provider", "external_identifier", "token", "auth_data", "tfa_secret"}
)

#: What ``*`` leaves out, per (collection, action): the privilege fields on writes, the secret
#: privilege fields (static token, TOTP secret, IdP data) on reads. ``password`` stays covered:
#: writing one's own password is profile editing, and it only ever reads back concealed.
WITHHELD_FROM_ALL: dict[tuple[str, str], frozenset[str]] = {
    (USERS, "create"): PRIVILEGE_USER_FIELDS,
    (USERS, "update"): PRIVILEGE_USER_FIELDS,
    (USERS, "read"): PRIVILEGE_USER_FIELDS & SECRET_USER_FIELDS,
}

#: Fields of their own user row that app users may always read (contract §5.2, as Directus's
#: app-access minimum); named explicitly, so they are granted even where ``*`` withholds them.
APP_MINIMAL_USER_FIELDS = frozenset(
    {
        *("id", "first_name", "last_name", "email", "password", "tfa_secret", "status"),
        *("role", "provider", "language", "title", "description", "location"),
        "email_notifications",
    }
)


def withheld_from_all(collection: str, action: str) -> frozenset[str]:
    """The fields a ``*`` in a non-admin row for ``collection``/``action`` does not cover."""
    return WITHHELD_FROM_ALL.get((collection, action), frozenset())
