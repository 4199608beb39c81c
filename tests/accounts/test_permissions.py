"""The permission engine: rows in policy order, caching, admin, app-minimal rows, messages."""

from __future__ import annotations

import pytest

from accounts.accountability import accountability_for, accountability_for_user
from accounts.permissions import (
    FULL_ACCESS,
    Rule,
    collection_forbidden,
    field_forbidden,
    item_forbidden,
    rules_for,
    variables_for,
)

pytestmark = pytest.mark.django_db


def test_rows_come_in_policy_order(make_role, make_user, grant):
    parent, parent_policy = make_role("Parent")
    child, child_policy = make_role("Child", parent=parent)
    user = make_user("c@example.com", role=child)
    grant(child_policy, "articles", "read", fields="title", permissions={"a": {"_eq": 1}})
    grant(parent_policy, "articles", "read", fields="body,status", presets={"x": 1})
    grant(parent_policy, "articles", "update", fields="*")
    rules = rules_for(accountability_for_user(user), "articles", "read")
    assert rules.rules == (
        Rule(frozenset({"body", "status"}), presets={"x": 1}),
        Rule(frozenset({"title"}), filter={"a": {"_eq": 1}}),
    )
    assert rules.allowed
    assert rules.unrestricted
    assert not rules.all_fields
    assert rules.grants("title")
    assert not rules.grants("id")


def test_presets_merge_later_policies_last(make_role, make_user, grant):
    role, first = make_role("R")
    user = make_user("p@example.com", role=role)
    grant(first, "articles", "create", presets={"a": 1, "b": 1})
    grant(first, "articles", "create", presets={"b": 2})
    assert rules_for(accountability_for_user(user), "articles", "create").presets() == {
        "a": 1,
        "b": 2,
    }


def test_admin_gets_full_access_without_rows(admin_user, django_assert_num_queries):
    acc = accountability_for_user(admin_user)
    with django_assert_num_queries(0):
        rules = rules_for(acc, "anything", "delete")
    assert rules.admin
    assert rules.rules == (FULL_ACCESS,)


def test_rows_are_cached_until_access_data_changes(
    make_role, make_user, grant, django_assert_num_queries
):
    role, policy = make_role("R")
    acc = accountability_for_user(make_user("k@example.com", role=role))
    grant(policy, "articles", "read")
    rules_for(acc, "articles", "read")
    with django_assert_num_queries(0):
        assert rules_for(acc, "articles", "read").allowed
    grant(policy, "articles", "read", fields="title")
    assert len(rules_for(acc, "articles", "read").rules) == 2


def test_app_users_may_read_their_own_user_row(make_role, make_user):
    role, _ = make_role("App", app_access=True)
    user = make_user("app@example.com", role=role)
    rules = rules_for(accountability_for_user(user), "directus_users", "read")
    assert rules.allowed
    assert rules.rules[0].filter == {"id": {"_eq": "$CURRENT_USER"}}
    assert not rules_for(accountability_for(None), "directus_users", "read").allowed


def test_variables_load_user_fields_once(make_role, make_user, django_assert_num_queries):
    role, policy = make_role("R")
    user = make_user("v@example.com", role=role, first_name="Vera")
    variables = variables_for(accountability_for_user(user))
    assert variables.user == str(user.pk)
    assert variables.roles == [str(role.pk)]
    assert variables.policies == [str(policy.pk)]
    with django_assert_num_queries(1):
        assert variables.value_of("$CURRENT_USER.first_name") == "Vera"
        assert variables.value_of("$CURRENT_USER.first_name") == "Vera"
    assert variables.value_of("$CURRENT_ROLE.name") == "R"
    assert variables.value_of("$CURRENT_USER.role.name") == "R"
    assert variables.value_of("$CURRENT_USER.nope") is None
    assert variables_for(accountability_for(None)).value_of("$CURRENT_USER.email") is None


def test_messages():
    read = collection_forbidden("articles", "read")
    assert (
        read.message
        == read.extensions["reason"]
        == (
            'You don\'t have permission to access collection "articles" or it does not exist. '
            "Queried in root."
        )
    )
    assert collection_forbidden("articles", "create").message == (
        'You don\'t have permission to perform "create" for collection "articles" '
        "or it does not exist."
    )
    assert field_forbidden("email", "directus_users", ("author",)).message == (
        'You don\'t have permission to access field "email" in collection "directus_users" '
        'or it does not exist. Queried in "author".'
    )
    assert item_forbidden().as_dict() == {
        "message": "You don't have permission to access this.",
        "extensions": {"code": "FORBIDDEN"},
    }
