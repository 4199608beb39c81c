"""The request identity: role tree, policies in effect, admin/app flags, ip_access, caching."""

from __future__ import annotations

import pytest

from accounts.accountability import accountability_for, public_accountability, role_chain
from accounts.models import PUBLIC_POLICY_ID, Access, Policy, Role, UserStatus

pytestmark = pytest.mark.django_db


def test_public_accountability_has_only_the_public_policy(public):
    acc = public_accountability(ip="10.0.0.1")
    assert acc.is_public
    assert (acc.user, acc.role, acc.roles, acc.admin, acc.app) == (None, None, (), False, False)
    assert acc.policies == (PUBLIC_POLICY_ID,)


def test_role_chain_is_root_first(make_role):
    root, _ = make_role("Root")
    middle, _ = make_role("Middle", parent=root)
    leaf, _ = make_role("Leaf", parent=middle)
    assert role_chain(leaf.pk) == (root.pk, middle.pk, leaf.pk)
    assert role_chain(None) == ()


def test_role_chain_stops_at_a_cycle(make_role):
    first, _ = make_role("First")
    second, _ = make_role("Second", parent=first)
    Role.objects.filter(pk=first.pk).update(parent=second)
    assert set(role_chain(second.pk)) == {first.pk, second.pk}


def test_child_role_inherits_parent_policies_in_order(make_role, make_user):
    parent, parent_policy = make_role("Editors", app_access=True)
    child, child_policy = make_role("Junior editors", parent=parent)
    user = make_user("junior@example.com", role=child)
    own = Policy.objects.create(name="Own")
    Access.objects.create(user=user, policy=own)
    acc = accountability_for(user.pk, child.pk)
    assert acc.roles == (parent.pk, child.pk)
    assert acc.policies == (parent_policy.pk, child_policy.pk, own.pk)
    assert acc.app is True
    assert acc.admin is False


def test_users_with_a_role_do_not_get_the_public_policy(make_role, make_user, public):
    role, policy = make_role("Staff")
    user = make_user("staff@example.com", role=role)
    assert accountability_for(user.pk, role.pk).policies == (policy.pk,)


def test_role_less_user_gets_public_and_own_policies(make_user, public):
    user = make_user("norole@example.com")
    own = Policy.objects.create(name="Own", app_access=True)
    Access.objects.create(user=user, policy=own)
    acc = accountability_for(user.pk, None)
    assert acc.policies == (PUBLIC_POLICY_ID, own.pk)
    assert acc.app is True


def test_public_policy_never_grants_global_access(make_user, public):
    Policy.objects.filter(pk=PUBLIC_POLICY_ID).update(admin_access=True, app_access=True)
    user = make_user("norole@example.com")
    assert accountability_for(user.pk, None).admin is False
    assert public_accountability().admin is False


def test_admin_implies_app(make_role, make_user):
    role, _ = make_role("Admins", admin_access=True)
    acc = accountability_for(make_user("a@example.com", role=role).pk, role.pk)
    assert (acc.admin, acc.app) == (True, True)


@pytest.mark.parametrize(
    ("ip_access", "ip", "expected"),
    [
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "192.168.1.1", False),
        ("192.168.1.10-192.168.1.20", "192.168.1.15", True),
        ("192.168.1.10-192.168.1.20", "192.168.1.21", False),
        ("127.0.0.1, ::1", "::1", True),
        ("10.0.0.0/8", None, False),
    ],
)
def test_ip_access_restricts_policies(make_role, make_user, ip_access, ip, expected):
    role, policy = make_role("Office", admin_access=True, ip_access=ip_access)
    user = make_user("office@example.com", role=role)
    acc = accountability_for(user.pk, role.pk, ip=ip)
    assert acc.admin is expected
    assert (policy.pk in acc.policies) is expected


def test_changes_take_effect_through_the_cache(make_role, make_user):
    role, policy = make_role("Changing")
    user = make_user("c@example.com", role=role)
    assert accountability_for(user.pk, role.pk).admin is False
    policy.admin_access = True
    policy.save()
    assert accountability_for(user.pk, role.pk).admin is True
    Access.objects.filter(policy=policy).delete()
    assert accountability_for(user.pk, role.pk).admin is False


def test_user_status_drives_django_admin_access(make_role, make_user):
    role, _ = make_role("Admins", admin_access=True)
    user = make_user("s@example.com", role=role)
    assert user.is_staff
    user.status = UserStatus.SUSPENDED
    user.save()
    assert not user.is_staff
    assert not user.is_active


def test_invalid_ip_access_is_rejected_by_validation():
    from django.core.exceptions import ValidationError

    policy = Policy(name="Bad", ip_access="10.0.0.0/8, not-an-ip")
    with pytest.raises(ValidationError, match="not-an-ip"):
        policy.full_clean()


def test_role_cannot_be_its_own_ancestor(make_role):
    from django.core.exceptions import ValidationError

    first, _ = make_role("First")
    second, _ = make_role("Second", parent=first)
    first.parent = second
    with pytest.raises(ValidationError):
        first.full_clean()
