"""The service API used by other transports: system collections, uniqueness, demo data."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.accountability import accountability_for_user
from accounts.models import User
from core.errors import Forbidden, RecordNotUnique
from items.models import Article
from items.service import ItemsService

pytestmark = pytest.mark.django_db


def test_system_collections_only_with_allow_system(admin_user):
    acc = accountability_for_user(admin_user)
    with pytest.raises(Forbidden):
        ItemsService("directus_users", acc).read_many()
    page = ItemsService("directus_users", acc, allow_system=True).read_many({"fields": ["email"]})
    assert page.data == [{"email": "admin@example.com"}]


def test_unique_fields_are_record_not_unique(admin_user):
    service = ItemsService("directus_users", accountability_for_user(admin_user), allow_system=True)
    with pytest.raises(RecordNotUnique) as caught:
        service.create_one({"email": "admin@example.com"})
    assert caught.value.as_dict() == {
        "message": 'Value "admin@example.com" for field "email" in collection '
        '"directus_users" has to be unique.',
        "extensions": {
            "collection": "directus_users",
            "field": "email",
            "value": "admin@example.com",
            "code": "RECORD_NOT_UNIQUE",
        },
    }


def test_never_writable_user_fields(admin_user):
    service = ItemsService("directus_users", accountability_for_user(admin_user), allow_system=True)
    for field in ("tfa_secret", "auth_data", "last_access"):
        with pytest.raises(Exception, match=f'Field "{field}" is read-only'):
            service.create_one({"email": "n@example.com", field: "x"})


def test_passwords_are_written_hashed_and_read_concealed(admin_user):
    service = ItemsService("directus_users", accountability_for_user(admin_user), allow_system=True)
    key = service.create_one({"email": "new@example.com", "password": "a long password 1"})
    user = User.objects.get(pk=key)
    assert user.password.startswith("argon2$")
    assert user.check_password("a long password 1")
    assert service.read_one(key, {"fields": ["password"]}) == {"password": "**********"}
    nopass = User.objects.get(pk=service.create_one({"email": "sso@example.com"}))
    assert not nopass.has_usable_password()
    for bad in ("", 12345, None):
        with pytest.raises(Exception, match="password"):
            service.update_one(key, {"password": bad})


def test_read_many_accepts_native_query_values(admin_user):
    Article.objects.create(title="b")
    Article.objects.create(title="a")
    service = ItemsService("articles", accountability_for_user(admin_user))
    page = service.read_many(
        {"fields": ["title"], "sort": ["-title"], "limit": 1, "filter": {"title": {"_nnull": True}},
         "meta": "*"}
    )  # fmt: skip
    assert page.data == [{"title": "b"}]
    assert page.meta == {"total_count": 2, "filter_count": 2}


def test_load_demo_adds_articles(admin_user):
    call_command("load_demo", "--count", "5")
    call_command("load_demo", "--count", "2")
    assert Article.objects.count() == 7
    assert set(Article.objects.values_list("author", flat=True)) == {admin_user.pk}
