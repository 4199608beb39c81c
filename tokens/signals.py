"""User changes that end sessions (contract access-model.md §6).

A sign-in's access token carries the role it was issued for (``role``, with ``admin_access``
and ``app_access``), and clients act on those claims. So a change to who the user is — status,
credentials, **role** (changed, or deleted under them), or the policies attached to the user
themselves — revokes their sessions in the database: the tokens die on every process
(:func:`tokens.sessions.family_holder`), a refresh is refused, and the next sign-in gets claims
that are true. We revoke rather than re-check grants on each request because revocation is
durable, is recorded (``session.revoked`` with a reason) and costs nothing per request;
:func:`tokens.resolvers.resolve_access_jwt` still compares the claimed role with the
database's as a backstop for changes that send no signal. Changes to a *role's* policies or to
a policy need no revocation: the role claim stays true and grants are recomputed from the
database (:mod:`accounts.accountability`).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts.audit import record_event
from accounts.models import Access, AuthEventKind, AuthOutcome, Role, User, UserStatus
from tokens.keycache import invalidate
from tokens.models import ApiKey, RefreshSession
from tokens.sessions import revoke_user_sessions

#: The session id (``accountability.session``) whose sign-in survives a credentials change
#: made by that same session (contract http-auth.md §7.8).
keep_session_family: ContextVar[str | None] = ContextVar("keep_session_family", default=None)


@receiver(pre_save, sender=User, dispatch_uid="tokens-user-pre-save")
def _remember_previous(sender: type[User], instance: User, **kwargs: Any) -> None:
    previous = (
        User.objects.filter(pk=instance.pk).values("status", "password", "email", "role_id").first()
    )
    instance._previous_credentials = previous  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="tokens-user-post-save")
def _end_sessions(
    sender: type[User], instance: User, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """Leaving ``active`` ends every session; a new password or email ends every session
    except the one making the change (``keep_session_family``). Django's re-hash of
    a password at sign-in (``save(update_fields=["password"])`` with the same password) is not a
    change of credentials."""
    previous = getattr(instance, "_previous_credentials", None)
    if created or previous is None or (update_fields and set(update_fields) == {"password"}):
        return
    if previous["status"] != instance.status or previous["role_id"] != instance.role_id:
        _forget_keys_of(instance)
    if instance.status != UserStatus.ACTIVE and previous["status"] == UserStatus.ACTIVE:
        revoke_user_sessions(instance.pk, f"user_{instance.status}")
    elif previous["role_id"] != instance.role_id:
        _revoke_for_access_change(instance.pk, "role_changed")
    elif previous["password"] != instance.password or previous["email"] != instance.email:
        session = keep_session_family.get()
        keep = (
            RefreshSession.objects.filter(pk=session).values_list("family", flat=True).first()
            if session
            else None
        )
        revoke_user_sessions(instance.pk, "credentials_changed", keep_family=keep)


@receiver(pre_delete, sender=User, dispatch_uid="tokens-user-pre-delete")
def _user_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    revoke_user_sessions(instance.pk, "user_deleted")


@receiver(pre_delete, sender=Role, dispatch_uid="tokens-role-pre-delete")
def _role_deleted(sender: type[Role], instance: Role, **kwargs: Any) -> None:
    """Deleting a role sets its users' role to NULL without a save (no user signal)."""
    for user_id in User.objects.filter(role=instance).values_list("pk", flat=True):
        _revoke_for_access_change(user_id, "role_deleted")


@receiver(post_save, sender=Access, dispatch_uid="tokens-access-saved")
@receiver(post_delete, sender=Access, dispatch_uid="tokens-access-deleted")
def _user_policies_changed(sender: type[Access], instance: Access, **kwargs: Any) -> None:
    """A policy attached to (or detached from) the user themselves changes their grants."""
    if instance.user_id is not None:
        _revoke_for_access_change(instance.user_id, "policies_changed")


def _revoke_for_access_change(user_id: Any, reason: str) -> None:
    """End every sign-in of ``user_id`` (their tokens claim access they no longer have) and
    record it when there was one."""
    count = revoke_user_sessions(user_id, reason)
    if count:
        user = User.objects.filter(pk=user_id).first()
        record_event(
            AuthEventKind.SESSION_REVOKED,
            outcome=AuthOutcome.SUCCESS,
            user=user,
            identifier=(user.email or "") if user else "",
            reason=reason,
            sessions=count,
        )


def _forget_keys_of(user: User) -> None:
    """A user's keys act with the user's status and role: re-read them at their next use."""
    invalidate(ApiKey.objects.filter(user=user).values_list("digest", flat=True))


@receiver(post_save, sender=ApiKey, dispatch_uid="tokens-apikey-saved")
@receiver(post_delete, sender=ApiKey, dispatch_uid="tokens-apikey-deleted")
def _key_changed(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    """Edits (scope, expiry) and deletions (also by cascade, with the owner or the role) take
    effect at the key's next use on every process."""
    invalidate([instance.digest])
