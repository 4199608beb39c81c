"""The service user an external subject stands for.

Its id is derived from issuer and subject (UUIDv5 under a namespace of the issuer's own, so two
issuers cannot collide), its ``provider`` is the issuer's name and its ``external_identifier``
the subject. On first sight it is created; afterwards its role and its own policies follow the
rule the token matched, each change an auth-log event; ``last_access`` is written at most once a
minute. The database is the record: its status is read at most once a second per process and
subject (:data:`CHECK_SECONDS`), so an admin who suspends a service user stops its tokens at once.
Deleting it only lets the next token create it again: suspend a client to shut it out.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import Access, AuthEventKind, AuthOutcome, Policy, Role, User, UserStatus
from core.config.issuers import IssuerRule, TrustedIssuer
from core.errors import InvalidCredentials
from core.net import Client
from tokens.external.verify import Refused

logger = logging.getLogger("tokens.external")

NAMESPACE = uuid.UUID("9c5b6e1e-6f0a-5d1c-9a63-2f3b7c1d0e4a")
CHECK_SECONDS = 1.0
TOUCH_SECONDS = 60.0
MEMO_SIZE = 4096


def service_user_id(issuer: str, subject: str) -> uuid.UUID:
    """The id of ``subject``'s service user: UUIDv5 of the subject under the issuer's namespace."""
    return uuid.uuid5(uuid.uuid5(NAMESPACE, issuer), subject)


@dataclass
class _Seen:
    checked: float
    touched: float
    status: str
    rule: IssuerRule


_seen: dict[uuid.UUID, _Seen] = {}
_lock = threading.Lock()


def forget() -> None:
    with _lock:
        _seen.clear()


def acting_user(issuer: TrustedIssuer, subject: str, rule: IssuerRule, client: Client) -> uuid.UUID:
    """The service user of ``subject``, in line with ``rule``; refused unless it is active."""
    user_id = service_user_id(issuer.issuer, subject)
    now = time.monotonic()
    seen = _seen.get(user_id)
    if seen is None or now - seen.checked >= CHECK_SECONDS or seen.rule != rule:
        status = _sync(user_id, issuer, subject, rule, client)
        touched = seen.touched if seen is not None else 0.0
        seen = _Seen(checked=now, touched=touched, status=status, rule=rule)
        _remember(user_id, seen)
    if seen.status != UserStatus.ACTIVE:
        raise Refused("user-not-active", InvalidCredentials())
    if now - seen.touched >= TOUCH_SECONDS:
        seen.touched = now
        _touch(user_id)
    return user_id


def _remember(user_id: uuid.UUID, seen: _Seen) -> None:
    with _lock:
        _seen.pop(user_id, None)
        while len(_seen) >= MEMO_SIZE:
            del _seen[next(iter(_seen))]
        _seen[user_id] = seen


def _touch(user_id: uuid.UUID) -> None:
    """``last_access`` = now, unless another process wrote it within the last minute."""
    now = timezone.now()
    stale = Q(last_access__isnull=True) | Q(last_access__lt=now - timedelta(seconds=TOUCH_SECONDS))
    User.objects.filter(stale, pk=user_id).update(last_access=now)


def _sync(
    user_id: uuid.UUID, issuer: TrustedIssuer, subject: str, rule: IssuerRule, client: Client
) -> str:
    """Read (or create) the service user and bring role and policies in line; its status. The
    rule's role and policies are checked only when they are about to be written: a deleted one
    no longer matches what the user has (``SET NULL`` / ``CASCADE``), so it is caught there."""
    user = (
        User.objects.filter(pk=user_id)
        .only("id", "status", "role_id", "provider", "external_identifier")
        .first()
    )
    if user is None:
        _check_targets(issuer, rule)
        user = _create(user_id, issuer, subject, rule, client)
    elif user.provider != issuer.name or (user.external_identifier or "") != subject:
        raise Refused("identity-mismatch", InvalidCredentials())
    if user.status != UserStatus.ACTIVE:
        return str(user.status)
    wanted = set(rule.policies)
    current = set(Access.objects.filter(user_id=user_id).values_list("policy_id", flat=True))
    if user.role_id == rule.role and current == wanted:
        return str(user.status)
    _check_targets(issuer, rule)
    with transaction.atomic():
        previous_role = user.role_id
        if user.role_id != rule.role:
            user.role_id = rule.role
            user.save(update_fields=["role"])
        Access.objects.filter(user_id=user_id).exclude(policy_id__in=wanted).delete()
        for policy in wanted - current:
            Access.objects.create(user_id=user_id, policy_id=policy)
    _event(
        AuthEventKind.EXTERNAL_ROLE_CHANGED,
        user,
        subject,
        client,
        issuer,
        role_from=str(previous_role) if previous_role else None,
        role_to=str(rule.role) if rule.role else None,
        policies_from=sorted(str(p) for p in current),
        policies_to=sorted(str(p) for p in wanted),
    )
    return str(user.status)


def _check_targets(issuer: TrustedIssuer, rule: IssuerRule) -> None:
    """The rule's role and policies exist (an environment rule may name a deleted one)."""
    missing = rule.role is not None and not Role.objects.filter(pk=rule.role).exists()
    if rule.policies and Policy.objects.filter(pk__in=rule.policies).count() != len(
        set(rule.policies)
    ):
        missing = True
    if missing:
        logger.error(
            "A rule of trusted issuer %s names a role or policy that does not exist", issuer.name
        )
        raise Refused("rule-target-missing", InvalidCredentials())


def _create(
    user_id: uuid.UUID, issuer: TrustedIssuer, subject: str, rule: IssuerRule, client: Client
) -> User:
    if User.objects.filter(external_identifier=subject).exists():
        raise Refused("identifier-taken", InvalidCredentials())
    try:
        with transaction.atomic():
            user = User(
                id=user_id,
                provider=issuer.name,
                external_identifier=subject,
                role_id=rule.role,
                status=UserStatus.ACTIVE,
                description=f"Service account of the trusted issuer {issuer.name}.",
            )
            user.save(force_insert=True)
            for policy in rule.policies:
                Access.objects.create(user_id=user_id, policy_id=policy)
    except IntegrityError:
        # Created meanwhile by another request or process (same id), or the identifier was
        # taken in between: read what is there.
        existing = User.objects.filter(pk=user_id).first()
        if existing is None:
            raise Refused("identifier-taken", InvalidCredentials()) from None
        return existing
    _event(
        AuthEventKind.EXTERNAL_USER_CREATED,
        user,
        subject,
        client,
        issuer,
        role=str(rule.role) if rule.role else None,
        policies=sorted(str(p) for p in rule.policies),
    )
    return user


def _event(
    kind: str, user: User, subject: str, client: Client, issuer: TrustedIssuer, **details: object
) -> None:
    record_event(
        kind,
        outcome=AuthOutcome.SUCCESS,
        user=user,
        identifier=subject,
        ip=client.ip,
        user_agent=client.user_agent,
        issuer=issuer.name,
        **details,
    )
