"""The built-in collections, registered when the app is ready."""

from __future__ import annotations

from django.contrib.auth import get_user_model

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
    concealed=frozenset({"tfa_secret", "token"}),
    hashed=frozenset({"password"}),
    never_writable=frozenset({"tfa_secret", "auth_data", "last_access"}),
    system=True,
)
