"""The permission engine's share of the query hardening (docs/security.md): the filter shape
caps, and dynamic variables in *stored rules* (system context) that never reach a secret."""

from __future__ import annotations

import pytest

from accounts.accountability import accountability_for_user
from accounts.models import User
from accounts.permissions import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_LIST_VALUES,
    MAX_LOGICAL_ITEMS,
    SECRET_USER_FIELDS,
    FilterError,
    validate_filter_shape,
    variables_for,
)

LEAF = {"a": {"_eq": 1}}


def chain(levels: int) -> dict:
    node: dict = dict(LEAF)  # two levels
    for _ in range(levels - 2):
        node = {"_or": [node]}
    return node


def test_depth_is_counted_in_objects_and_capped():
    validate_filter_shape(chain(MAX_DEPTH))
    with pytest.raises(FilterError, match="nested at most 20 levels"):
        validate_filter_shape(chain(MAX_DEPTH + 1))
    relational = {"a": {"b": {"c": {"_eq": 1}}}}  # relations nest too: four levels
    validate_filter_shape(relational)


def test_logical_lists_conditions_and_in_lists_are_capped():
    validate_filter_shape({"_and": [LEAF] * MAX_LOGICAL_ITEMS})
    with pytest.raises(FilterError, match="at most 100 filters"):
        validate_filter_shape({"_and": [LEAF] * (MAX_LOGICAL_ITEMS + 1)})
    wide = {"_or": [{"_and": [LEAF] * 100}] * (MAX_CONDITIONS // 100 + 1)}
    with pytest.raises(FilterError, match="at most 1000 conditions"):
        validate_filter_shape(wide)
    validate_filter_shape({"a": {"_in": list(range(MAX_LIST_VALUES))}})
    with pytest.raises(FilterError, match="at most 10000 values"):
        validate_filter_shape({"a": {"_in": ",".join("x" * (MAX_LIST_VALUES + 1))}})


@pytest.mark.parametrize(
    "operand",
    [
        {"_eq": MAX_INTEGER + 1},
        {"_lt": -MAX_INTEGER - 2},
        {"_in": [1, 10**4000]},
        {"_between": [0, 2**64]},
        {"_eq": float("inf")},
        {"_gt": float("nan")},
    ],
)
def test_numbers_outside_64_bits_or_not_finite_are_refused(operand):
    with pytest.raises(FilterError):
        validate_filter_shape({"a": operand})


def test_64_bit_edges_and_booleans_are_fine():
    validate_filter_shape({"a": {"_between": [-MAX_INTEGER - 1, MAX_INTEGER]}, "b": {"_eq": True}})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variable",
    [
        *(f"$CURRENT_USER.{field}" for field in sorted(SECRET_USER_FIELDS)),
        "$CURRENT_USER.role.users.password",
        "$CURRENT_USER.role__users__password",
        "$CURRENT_USER.role.users.tfa_secret",
        "$CURRENT_USER.token.digest",
        "$CURRENT_ROLE.users.password",
        "$CURRENT_USER.role.",
    ],
)
def test_stored_rule_variables_never_reach_a_secret(make_role, make_user, variable):
    role, _ = make_role("R")
    user = make_user("v@example.com", role=role)
    other = make_user("other@example.com", role=role)
    User.objects.filter(pk__in=[user.pk, other.pk]).update(tfa_secret="JBSWY3DPEHPK3PXP")
    assert variables_for(accountability_for_user(user)).value_of(variable) is None


@pytest.mark.django_db
def test_stored_rule_variables_keep_working_for_plain_fields(make_role, make_user):
    role, _ = make_role("R")
    user = make_user("v@example.com", role=role, first_name="Vera")
    variables = variables_for(accountability_for_user(user))
    assert variables.value_of("$CURRENT_USER.role.name") == "R"
    assert variables.value_of("$CURRENT_USER.first_name") == "Vera"
    assert variables.value_of("$CURRENT_POLICIES.name") == "$CURRENT_POLICIES.name"
