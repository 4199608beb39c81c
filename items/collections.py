"""The built-in collections, registered when the app is ready.

``directus_users`` (contract access-model §1.1), with hardening over Directus:

* ``auth_data`` holds identity-provider refresh tokens, so, like ``password``, it is never
  readable through the API, for anyone, admins included: it reads back ``"**********"`` when
  set (``null`` otherwise), is never writable and never queryable. ``tfa_secret`` and ``token``
  read back concealed too.
* a ``*`` in a non-admin permission row does not cover the privilege fields
  (:data:`accounts.permissions.PRIVILEGE_USER_FIELDS`, see :mod:`accounts.permissions.fields`):
  a policy names them to grant them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import Access, Permission, Policy, Role
from accounts.permissions import SECRET_USER_FIELDS
from items.models import Article
from items.registry import register

USER_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "password",
    "status",
    "role",
    "provider",
    "external_identifier",
    "auth_data",
    "tfa_secret",
    "last_access",
    "title",
    "description",
    "location",
    "language",
    "email_notifications",
    "date_created",
    "token",
)

register("articles", Article)
register(
    "directus_users",
    get_user_model(),
    fields=USER_FIELDS,
    concealed=frozenset({"tfa_secret", "token", "auth_data"}),
    hashed=frozenset({"password"}),
    never_writable=frozenset({"tfa_secret", "auth_data", "last_access"}),
    secret=SECRET_USER_FIELDS,
    system=True,
)

# The access model (contract access-model.md §1.2 to §1.5); their one-to-many aliases
# (``policies``, ``permissions``, ``users``…) are the system services' (``system.base``).
register("directus_roles", Role, system=True)
register("directus_policies", Policy, system=True)
register("directus_permissions", Permission, system=True)
register("directus_access", Access, system=True)
