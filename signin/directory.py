"""The directory sync: re-read every user of an ``ldap`` provider from the directory, between
sign-ins (``manage.py sync_directory``, from cron; or the users admin's action).

For each user the entry is searched again by the name they signed in with, as at sign-in:

* still there — their groups map to a role (and policies) exactly as a sign-in would map them
  (:func:`signin.sso.users.user_for`, with its ``sso.role_changed`` event and the end of their
  other sessions when the role changes), names and e-mail follow with ``SYNC_USER_INFO``;
* gone from the directory — the user is suspended (their sessions end at once) and a
  ``directory.sync`` event says why. A suspended user who is back in the directory is left
  suspended: an admin decides.

People who sign in through another provider from the same directory — an OpenID Connect portal
in front of it, say — are synced too when that provider names the directory
(``AUTH_<NAME>_DIRECTORY=<ldap provider>``): their entry is found by their identifier (the
portal's ``sub``, compared with the directory's ``USER_ATTRIBUTE``), and the ``cn`` of its groups
go through *that* provider's ``ROLE_MAPPING`` and ``POLICY_MAPPING``, as at their next sign-in.

A directory that does not answer stops the run with an error before anything is changed for
the user being read; users already read keep their changes. ``dry_run`` reads and reports the
same but writes nothing (one transaction, rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from django.db import transaction

from accounts.models import AuthEventKind, User, UserStatus
from signin.drivers import providers
from signin.drivers.redirect import RedirectDriver
from signin.sso.users import user_for
from tokens.sessions import SessionContext

if TYPE_CHECKING:
    from signin.drivers.ldap import LdapDriver

logger = logging.getLogger("signin.ldap")


def directory_providers() -> dict[str, LdapDriver]:
    """The ``ldap`` providers, by name."""
    return {d.name: cast("LdapDriver", d) for d in providers().values() if d.kind == "ldap"}


@dataclass(frozen=True)
class SyncChange:
    provider: str
    user: str  # the DN
    change: str  # "role", "left"
    before: str | None = None
    after: str | None = None

    def __str__(self) -> str:
        if self.change == "left":
            return f"{self.provider}: {self.user}: left the directory, suspended"
        return f"{self.provider}: {self.user}: role {self.before or '-'} → {self.after or '-'}"


def linked_providers(driver: LdapDriver) -> dict[str, RedirectDriver]:
    """The redirect providers whose people are in ``driver``'s directory, by name."""
    return {
        d.name: d
        for d in providers().values()
        if isinstance(d, RedirectDriver) and d.options.directory == driver.name
    }


def sync_directory(
    driver: LdapDriver, users: Iterable[User] | None = None, *, dry_run: bool = False
) -> list[SyncChange]:
    """Bring ``users`` (default: every active user of ``driver``'s provider and of the providers
    linked to its directory) in line with the directory; the changes made (or, with
    ``dry_run``, that would be made)."""
    linked = linked_providers(driver)
    names = [driver.name, *linked]
    chosen = (
        list(users)
        if users is not None
        else list(User.objects.filter(provider__in=names, status=UserStatus.ACTIVE))
    )
    context = SessionContext(user_agent="sync_directory")
    changes: list[SyncChange] = []
    with transaction.atomic():
        for user in chosen:
            if user.provider not in names or user.status != UserStatus.ACTIVE:
                continue
            if user.provider in linked:
                change = _sync_linked(driver, linked[user.provider], user, context)
            else:
                change = _sync_one(driver, user, context)
            if change is not None:
                changes.append(change)
                logger.info("directory sync: %s", change)
        if dry_run:
            transaction.set_rollback(True)
    return changes


def _sync_one(driver: LdapDriver, user: User, context: SessionContext) -> SyncChange | None:
    return _outcome(driver.name, user, driver.reread(user, context), context)


def _sync_linked(
    driver: LdapDriver, via: RedirectDriver, user: User, context: SessionContext
) -> SyncChange | None:
    """A person of ``via`` (an OpenID portal, say), re-read in ``driver``'s directory."""
    identity = driver.person(user.external_identifier or "")
    found = None
    if identity is not None:
        identity = replace(identity, identifier=user.external_identifier or "")
        found = user_for(via.name, via.options, identity, context)
        found = User.objects.select_related("role").get(pk=found.pk)
    return _outcome(via.name, user, found, context)


def _outcome(
    provider: str, user: User, found: User | None, context: SessionContext
) -> SyncChange | None:
    """What happened to ``user``: ``found`` again (maybe with another role), or gone."""
    name = user.external_identifier or ""
    before = user.role.name if user.role_id and user.role else None
    if found is None:
        user.status = UserStatus.SUSPENDED
        user.save(update_fields=["status"])
        context.audit(
            AuthEventKind.DIRECTORY_SYNC,
            "success",
            user=user,
            provider=provider,
            change="left",
        )
        return SyncChange(provider, name, "left")
    after = found.role.name if found.role_id and found.role else None
    if found.role_id != user.role_id:
        return SyncChange(provider, name, "role", before, after)
    return None
