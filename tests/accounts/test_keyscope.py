"""A key's scope narrows the owner's permission rows (accounts.permissions.rules_for)."""

from __future__ import annotations

import uuid

import pytest

from accounts.accountability import (
    accountability_for,
    accountability_for_user,
    authenticated_by_key,
)
from accounts.keyscope import KeyScope, ScopeError, parse_scope
from accounts.permissions import rules_for

pytestmark = pytest.mark.django_db


def test_parse_and_render() -> None:
    assert parse_scope(None) is None
    assert parse_scope({}) is None
    scope = parse_scope({"read_only": True, "collections": {"articles": ["read"]}})
    assert scope == KeyScope(True, (("articles", frozenset({"read"})),))
    assert scope.as_json() == {"read_only": True, "collections": {"articles": ["read"]}}


@pytest.mark.parametrize(
    "bad",
    [[], "read", {"write": True}, {"read_only": "yes"}, {"collections": []},
     {"collections": {"articles": "read"}}, {"collections": {"articles": ["fly"]}}],
)  # fmt: skip
def test_bad_scopes(bad) -> None:
    with pytest.raises(ScopeError):
        parse_scope(bad)


def test_scope_only_removes_rules(make_role, make_user, grant) -> None:
    role, policy = make_role("Editors")
    grant(policy, "articles", "read")
    grant(policy, "articles", "update")
    user = make_user("e@example.com", role=role)
    base = accountability_for_user(user)
    scope = KeyScope(collections=(("articles", frozenset({"update", "create"})),))
    scoped = authenticated_by_key(base, uuid.uuid4(), scope, "api-key")
    assert rules_for(base, "articles", "read").allowed
    assert not rules_for(scoped, "articles", "read").allowed
    assert rules_for(scoped, "articles", "update").allowed
    assert not rules_for(scoped, "articles", "create").allowed  # never more than the owner


def test_admins_are_narrowed_too(admin_user) -> None:
    full = accountability_for_user(admin_user)
    acc = authenticated_by_key(full, uuid.uuid4(), KeyScope(read_only=True), "api-key")
    assert acc.admin
    assert rules_for(acc, "articles", "read").admin
    assert not rules_for(acc, "articles", "delete").allowed


def test_a_role_key_is_not_public(make_role) -> None:
    role, _ = make_role("Service")
    bare = accountability_for(None, role.pk, credential="api-key")
    assert bare.is_public  # what a transport that forgets the key would get
    acc = authenticated_by_key(bare, uuid.uuid4(), None, "api-key")
    assert not acc.is_public
    assert acc.credential == "api-key"
    assert acc.roles == (role.pk,)
