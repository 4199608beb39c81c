"""First-run setup: the public policy, the Administrator role and policy, the first admin.

Idempotent: every step looks for what it would create and leaves existing data alone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from accounts.models import PUBLIC_POLICY_ID, Access, Policy, Role, User

ADMIN_ROLE_NAME = "Administrator"


@dataclass(frozen=True)
class BootstrapResult:
    created_admin: User | None
    generated_password: str | None


def public_policy() -> Policy:
    policy, created = Policy.objects.get_or_create(
        pk=PUBLIC_POLICY_ID,
        defaults={"name": "Public", "icon": "public", "description": "Unauthenticated requests"},
    )
    if created or not Access.objects.filter(policy=policy, role=None, user=None).exists():
        Access.objects.get_or_create(policy=policy, role=None, user=None)
    return policy


def administrator_role() -> Role:
    """The role that carries the Administrator policy (admin_access + app_access)."""
    role = Role.objects.filter(name=ADMIN_ROLE_NAME).first()
    if role is None:
        role = Role.objects.create(
            name=ADMIN_ROLE_NAME, icon="verified", description="Initial administrative role"
        )
    policy = Policy.objects.filter(name=ADMIN_ROLE_NAME, admin_access=True).first()
    if policy is None:
        policy = Policy.objects.create(
            name=ADMIN_ROLE_NAME,
            icon="verified",
            description="Unrestricted access",
            admin_access=True,
            app_access=True,
        )
    Access.objects.get_or_create(role=role, policy=policy, user=None)
    return role


@transaction.atomic
def bootstrap(email: str | None, password: str | None) -> BootstrapResult:
    """Create what a fresh installation needs; a second run changes nothing."""
    public_policy()
    if User.objects.exists():
        return BootstrapResult(created_admin=None, generated_password=None)
    generated = None if password else secrets.token_urlsafe(18)
    admin = User.objects.create_user(
        email or "admin@example.com",
        password or generated,
        role=administrator_role(),
        first_name="Admin",
        last_name="User",
    )
    return BootstrapResult(created_admin=admin, generated_password=generated)
