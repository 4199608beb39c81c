"""The ``directus_users`` service: the items service plus the rules the Directus users service
adds (contract http-auth.md §7.8, access-model.md §6, §7): unique e-mails (case-insensitive),
the password policy, admin-only fields, the static token, and the last admin kept."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from accounts.models import Access, User, UserStatus
from accounts.passwords import check_password_policy
from accounts.permissions import field_forbidden, item_forbidden
from core.errors import (
    DirectusError,
    Forbidden,
    InvalidPayload,
    RecordNotUnique,
    UnprocessableContent,
)
from items.service import QueryInput
from system.base import LAST_ADMIN, Alias, SystemService, active_admins
from tokens.keys import Actor, set_user_token, validate_user_token
from tokens.signals import keep_session_family

COLLECTION = "directus_users"
ADMIN_ONLY_FIELDS = ("provider", "external_identifier")
TOKEN = "token"


def _still_admin(data: Mapping[str, Any]) -> bool:
    """Whether a user stays an admin after ``data`` is applied (if they were one)."""
    if data.get("status", UserStatus.ACTIVE) != UserStatus.ACTIVE:
        return False
    if "role" not in data:
        return True
    role = data["role"]
    return (
        role is not None
        and Access.objects.filter(role_id=str(role), policy__admin_access=True).exists()
    )


class UsersService(SystemService):
    """Items of ``directus_users`` with the users-service rules on top."""

    collection_name = COLLECTION
    aliases = (Alias("policies", "directus_access", "user"),)

    def create_many(self, items: Any) -> list[str]:
        for item in items if isinstance(items, list) else []:
            self._check_payload(item, keys=[], action="create")
        if not isinstance(items, list) or not any(_has_token(item) for item in items):
            return super().create_many(items)
        self._check_token_field("create")
        tokens = [_token_of(item) for item in items]
        with transaction.atomic():
            keys = super().create_many([_without_token(item) for item in items])
            self._set_tokens(list(zip(keys, tokens, strict=True)))
        return keys

    def update_many(self, keys: Any, data: Any) -> list[str]:
        self._check_payload(data, keys=keys, action="update")
        self._check_last_admin("update", keys, data)
        if not _has_token(data):
            with self._keeping_current_session():
                return super().update_many(keys, data)
        self._check_token_targets(keys, data)
        token = _token_of(data)
        with self._keeping_current_session(), transaction.atomic():
            updated = super().update_many(keys, _without_token(data))
            self._set_tokens([(key, token) for key in updated])
        return updated

    def update_batch(self, items: Any) -> list[str]:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping):
                self._check_payload(item, keys=[item.get("id")], action="update")
                self._check_last_admin("update", [item.get("id")], item)
                if _has_token(item):
                    self._check_token_targets([item.get("id")], item)
        if not isinstance(items, list) or not any(_has_token(item) for item in items):
            with self._keeping_current_session():
                return super().update_batch(items)
        tokens = [(item, _token_of(item)) for item in items if _has_token(item)]
        with self._keeping_current_session(), transaction.atomic():
            updated = super().update_batch([_without_token(item) for item in items])
            self._set_tokens([(str(item.get("id")), token) for item, token in tokens])
        return updated

    def delete_many(self, keys: Any) -> list[str]:
        self._check_last_admin("delete", keys, None)
        return super().delete_many(keys)

    def read_me(self, query: QueryInput = None) -> dict[str, Any]:
        """The caller's own record (``/users/me``, ``users_me``): only ``{id}`` when they may
        not read it (Directus's answer)."""
        try:
            return self.read_one(self.acc.user, query)
        except Forbidden:
            return {"id": str(self.acc.user)}

    def authorise(self, action: str) -> None:
        """Raise 403 unless the caller may ``action`` some users at all (``POST /users/invite``
        asks for ``create`` before it looks at its body)."""
        self._scope(action)

    # ------------------------------------------------------------ the static token

    def _check_token_field(self, action: str) -> None:
        """``token`` is written like any field: a write row must grant it (403 otherwise). A
        scoped API key never may: the static token it would set carries the owner's full
        permissions, so the key would widen itself."""
        if self.acc.scope is not None or not self._scope(action).rules.grants(TOKEN):
            raise field_forbidden(TOKEN, COLLECTION)

    def _check_token_targets(self, keys: Any, data: Mapping[str, Any]) -> None:
        """Every target must be covered by an update row granting all written fields."""
        self._check_token_field("update")
        validate_user_token(data.get(TOKEN))
        pks = self._keys(keys)
        scope = self._scope("update")
        allowed = self._all().filter(scope.granting_all(list(data)), pk__in=pks)
        if allowed.count() != len(set(pks)):
            raise item_forbidden()

    def _set_tokens(self, pairs: list[tuple[str, Any]]) -> None:
        actor = Actor(
            user=User.objects.filter(pk=self.acc.user).first() if self.acc.user else None,
            ip=self.acc.ip,
            user_agent=self.acc.user_agent,
        )
        for key, token in pairs:
            set_user_token(User.objects.get(pk=key), validate_user_token(token), actor=actor)

    def _check_payload(self, data: Any, keys: Any, action: str) -> None:
        """The users-service rules on a payload, once the caller may ``action`` users at all
        (authorise before validating: nobody without the right learns which e-mails exist)."""
        self._scope(action)
        if not isinstance(data, Mapping):
            return
        if "tfa_secret" in data:
            raise InvalidPayload('You can\'t change the "tfa_secret" value manually')
        if not self.acc.admin and any(field in data for field in ADMIN_ONLY_FIELDS):
            raise InvalidPayload('Only admins can change "provider" and "external_identifier"')
        email = data.get("email")
        if isinstance(email, str) and email:
            others = User.objects.filter(email__iexact=email.strip())
            if others.exclude(pk__in=[str(k) for k in keys or [] if k]).exists():
                raise RecordNotUnique(None, collection=COLLECTION, field="email", value=email)
        self._check_password(data, keys, action)

    def _check_password(self, data: Mapping[str, Any], keys: Any, action: str) -> None:
        """The password policy, with the similarity rule against each user it is set for (as
        they will be once ``data`` is applied; only users the caller may see are compared, so
        the answer says nothing about the others)."""
        password = data.get("password")
        if not isinstance(password, str) or not password:
            return  # the items payload check names the type error
        if not self._scope(action).rules.grants("password"):
            return  # the items payload check answers 403 first
        for user in self._password_targets(data, keys, action):
            check_password_policy(password, user)

    def _password_targets(self, data: Mapping[str, Any], keys: Any, action: str) -> list[User]:
        names = {
            f: v for f in ("email", "first_name", "last_name") if isinstance(v := data.get(f), str)
        }
        if action == "create":
            return [User(**names)]
        try:
            pks = self._keys(keys)
            users = list(self._all().filter(self._scope(action).visible(), pk__in=pks))
        except DirectusError:
            return []
        for user in users:
            for name, value in names.items():
                setattr(user, name, value)
        return users

    def _check_last_admin(self, action: str, keys: Any, data: Any) -> None:
        """Demoting, deactivating or deleting the last admin is refused (422). Checked only
        once the caller may act on the targets, so the answer tells nobody else anything.
        ``data`` None means the targets are being deleted."""
        if isinstance(data, Mapping) and _still_admin(data):
            return
        if not isinstance(keys, list) or not self.permits(action, keys):
            return
        targets = {str(k) for k in keys}
        if active_admins() > 0 and active_admins(exclude=targets) == 0:
            raise UnprocessableContent(LAST_ADMIN)

    @contextmanager
    def _keeping_current_session(self) -> Iterator[None]:
        """A password or email change ends the user's other sessions, not the current one."""
        token = keep_session_family.set(self.acc.session)
        try:
            yield
        finally:
            keep_session_family.reset(token)


def _has_token(item: Any) -> bool:
    return isinstance(item, Mapping) and TOKEN in item


def _token_of(item: Any) -> Any:
    return validate_user_token(item.get(TOKEN)) if isinstance(item, Mapping) else None


def _without_token(item: Any) -> Any:
    return {k: v for k, v in item.items() if k != TOKEN} if isinstance(item, Mapping) else item
