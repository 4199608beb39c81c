"""From what an identity provider says about a person to the user they sign in as (contract
sso.md §3 and §3.1).

* The claims (or the OAuth2 profile) are flattened to dotted keys, so ``IDENTIFIER_KEY`` may be
  ``data.username``; the groups claim is read before flattening.
* The user is matched on ``external_identifier``, case-insensitively. One of another provider
  is found too, and then refused by the sign-in flow (a user signs in through their own
  provider only; there is no account linking).
* An unknown person is created only when the provider allows public registration and, if it
  requires it, the e-mail is verified; an e-mail another account already has is refused
  (``INVALID_PROVIDER``).
* Groups map to a role (the first configured group the person has; none → the default role)
  and to extra policies, at every sign-in or only at creation (``ROLE_MAPPING_MODE``). The
  policies a mapping attached are remembered on the user (``auth_data``), so the mapping only
  ever takes back what it gave. Every change is an auth-log event, and a role change ends the
  user's other sign-ins (:mod:`tokens.signals`): an admin the IdP demotes is demoted at their
  next sign-in, never in between.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import Access, AuthEventKind, Policy, Role, User, UserStatus
from core.errors import InvalidCredentials, InvalidProvider
from signin.sso.options import SsoOptions
from tokens.sessions import SessionContext

logger = logging.getLogger("signin.sso")
MAX_GROUPS = 1000


@dataclass(frozen=True)
class Identity:
    """Who the provider says the person is."""

    identifier: str
    email: str | None
    email_verified: bool
    first_name: str | None
    last_name: str | None
    groups: tuple[str, ...]


def flatten(data: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """``{"data": {"username": "x"}}`` → ``{"data.username": "x"}`` (nested objects only)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < 8:
            flat.update(flatten(value, f"{path}.", depth + 1))
        else:
            flat[path] = value
    return flat


def identity_from(claims: Mapping[str, Any], options: SsoOptions, *, openid: bool) -> Identity:
    """The identity in ``claims``: an openid provider's id_token and userinfo claims, or an
    oauth2 provider's profile. No identifier at all is ``INVALID_CREDENTIALS``."""
    flat = flatten(claims)
    email = _text(flat.get(options.email_key))
    identifier = _text(flat.get(options.identifier_key or ("sub" if openid else ""))) or email
    if not identifier:
        raise InvalidCredentials()
    first = options.first_name_key or ("given_name" if openid else None)
    last = options.last_name_key or ("family_name" if openid else None)
    verified = flat.get("email_verified")
    return Identity(
        identifier=identifier[:255],
        email=email[:254] if email else None,
        email_verified=verified is True or str(verified).lower() == "true",
        first_name=_text(flat.get(first))[:50] if first and _text(flat.get(first)) else None,
        last_name=_text(flat.get(last))[:50] if last and _text(flat.get(last)) else None,
        groups=_groups(claims, options.group_claim_name),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _groups(claims: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """The groups claim (a dotted path is followed): a list, or a comma-separated text."""
    value: Any = claims
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(str(group).strip() for group in value[:MAX_GROUPS] if str(group).strip())


def user_for(
    provider: str, options: SsoOptions, identity: Identity, context: SessionContext
) -> User:
    """The user ``identity`` signs in as: matched, or created when the provider allows it; its
    role, policies and profile brought in line as configured."""
    matches = list(
        User.objects.filter(external_identifier__iexact=identity.identifier).select_related("role")
    )
    user = next((u for u in matches if u.provider == provider), matches[0] if matches else None)
    if user is None:
        return _create(provider, options, identity, context)
    if user.provider != provider or user.status != UserStatus.ACTIVE:
        return user  # refused by the sign-in flow, with its event
    if options.maps_groups and options.role_mapping_mode == "login":
        _apply_mapping(user, provider, options, identity, context)
    if options.sync_user_info:
        _sync_profile(user, identity)
    return user


def _refuse(reason: str, provider: str, identity: Identity, context: SessionContext) -> None:
    context.audit(
        "login.failure",
        "failure",
        identifier=identity.identifier[:128],
        reason=reason,
        provider=provider,
    )


def _create(
    provider: str, options: SsoOptions, identity: Identity, context: SessionContext
) -> User:
    if not options.allow_public_registration:
        _refuse("registration_closed", provider, identity, context)
        raise InvalidCredentials()
    if options.require_verified_email and not identity.email_verified:
        _refuse("email_unverified", provider, identity, context)
        raise InvalidCredentials()
    if identity.email and User.objects.filter(email__iexact=identity.email).exists():
        _refuse("email_taken", provider, identity, context)
        raise InvalidProvider()
    role, policies = _mapped(options, identity)
    with transaction.atomic():
        user = User(
            email=identity.email,
            first_name=identity.first_name or "",
            last_name=identity.last_name or "",
            provider=provider,
            external_identifier=identity.identifier,
            role_id=role,
            status=UserStatus.ACTIVE,
            auth_data={"sso_policies": sorted(str(p) for p in policies)} if policies else None,
        )
        user.set_unusable_password()
        user.save()
        Access.objects.bulk_create(Access(user=user, policy_id=p) for p in sorted(policies))
    context.audit(
        AuthEventKind.SSO_USER_CREATED,
        "success",
        user=user,
        provider=provider,
        role=str(role) if role else None,
        policies=sorted(str(p) for p in policies),
        groups=list(identity.groups[:50]),
    )
    return User.objects.select_related("role").get(pk=user.pk)


def _mapped(options: SsoOptions, identity: Identity) -> tuple[uuid.UUID | None, set[uuid.UUID]]:
    """The role and extra policies ``identity``'s groups map to (that exist)."""
    groups = set(identity.groups)
    role = next((r for g, r in options.role_mapping or () if g in groups), None)
    role = role or options.default_role_id
    if role is not None and not Role.objects.filter(pk=role).exists():
        logger.warning("SSO role mapping names a role that does not exist: %s", role)
        role = None
    wanted = {p for g, ids in options.policy_mapping if g in groups for p in ids}
    existing = set(Policy.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if existing != wanted:
        logger.warning("SSO policy mapping names %d missing policies", len(wanted - existing))
    return role, existing


def _apply_mapping(
    user: User, provider: str, options: SsoOptions, identity: Identity, context: SessionContext
) -> None:
    role, wanted = _mapped(options, identity)
    if options.role_mapping is None:
        role = user.role_id  # only POLICY_MAPPING is configured: the role is not the IdP's
    data = dict(user.auth_data or {})
    given = {uuid.UUID(p) for p in data.get("sso_policies", []) if _is_uuid(p)}
    attached = set(Access.objects.filter(user=user).values_list("policy_id", flat=True))
    remove = (given - wanted) & attached
    add = wanted - attached
    if role == user.role_id and not remove and not add and given == wanted:
        return
    previous_role = user.role_id
    with transaction.atomic():
        Access.objects.filter(user=user, policy_id__in=remove).delete()
        Access.objects.bulk_create(Access(user=user, policy_id=p) for p in sorted(add))
        data["sso_policies"] = sorted(str(p) for p in wanted)
        user.role_id = role
        user.auth_data = data
        user.save(update_fields=["role", "auth_data"])
    if previous_role != role or remove or add:
        context.audit(
            AuthEventKind.SSO_ROLE_CHANGED,
            "success",
            user=user,
            provider=provider,
            role_from=str(previous_role) if previous_role else None,
            role_to=str(role) if role else None,
            policies_added=sorted(str(p) for p in add),
            policies_removed=sorted(str(p) for p in remove),
            groups=list(identity.groups[:50]),
        )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _sync_profile(user: User, identity: Identity) -> None:
    """Names and e-mail as the provider has them (an e-mail another account has is kept out)."""
    changed = []
    for field, value in (("first_name", identity.first_name), ("last_name", identity.last_name)):
        if value is not None and getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    email = identity.email
    if email and (user.email or "").lower() != email.lower():
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            logger.warning("SSO profile sync skipped an e-mail another account has")
        else:
            user.email = email
            changed.append("email")
    if changed:
        user.save(update_fields=changed)
