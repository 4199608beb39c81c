"""The ``ldap`` driver: a directory of people over django-auth-ldap (contract sso.md §6, §3.2).

``POST /auth/login/<name>`` with ``identifier`` and ``password``: the service account
(``BIND_DN``) searches ``USER_DN`` for ``(<USER_ATTRIBUTE>=<identifier>)`` — the identifier is
escaped (RFC 4515) by the library, so ``*``, ``(``, ``)``, ``\\`` and NUL match themselves — and
the password is proved by binding as the entry found. Only then is the user matched on their DN
(``external_identifier``) or created, and their groups (``GROUP_DN``, members by ``member`` DN
or ``memberUid``) decide the role: the configured ``ROLE_MAPPING``, or the role named like one
of the groups (Directus's rule), else ``DEFAULT_ROLE_ID``. Everything after that — status,
provider, failed-attempt limit, second factor, session — is the one sign-in flow's.

The library's settings come from this provider, not from Django settings: one
:class:`DirectoryBackend` per provider, never in ``AUTHENTICATION_BACKENDS``. Every directory
call is bounded (``CLIENT__CONNECT_TIMEOUT``, ``CLIENT__TIMEOUT``); the TLS options are set on
the connection with a fresh TLS context (python-ldap applies them only then). A directory that
does not answer is ``SERVICE_UNAVAILABLE``; a service account it refuses is
``INVALID_PROVIDER_CONFIG``; the local sign-in is not affected by either.

On every refresh of a session it opened the entry is read again: a person removed from the
directory, or whose ``userAccountControl`` says disabled, locked or password expired, cannot
refresh (``INVALID_CREDENTIALS``).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap
from django.core import checks
from django_auth_ldap.backend import LDAPBackend, ldap_error
from django_auth_ldap.config import LDAPSearch, LDAPSettings, MemberDNGroupType, PosixGroupType
from ldap.filter import escape_filter_chars

from accounts.models import Role, User
from core.errors import InvalidCredentials, InvalidProviderConfig, ServiceUnavailable
from signin.drivers.base import AuthDriver
from signin.payload import LoginPayload
from signin.sso.ldap_options import LdapOptions, ldap_options
from signin.sso.users import MAX_GROUPS, Identity, user_for
from tokens.sessions import SessionContext

logger = logging.getLogger("signin.ldap")

SCOPES = {"base": ldap.SCOPE_BASE, "one": ldap.SCOPE_ONELEVEL, "sub": ldap.SCOPE_SUBTREE}
#: userAccountControl bits that end a directory person's sessions (disabled, locked, expired).
BLOCKING_FLAGS = 0x2 | 0x10 | 0x800000
_REFUSED = (ldap.INVALID_CREDENTIALS, ldap.INAPPROPRIATE_AUTH, ldap.INSUFFICIENT_ACCESS)


@dataclass
class _Attempt:
    """What one sign-in learnt from the directory (the library's hooks fill it in)."""

    context: SessionContext
    dn: str | None = None
    error: ldap.LDAPError | None = None
    during: str = ""


_attempt: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "ldap_attempt", default=None
)
#: The user whose password the directory accepted in this sign-in (for ``verify``).
_proved: contextvars.ContextVar[Any] = contextvars.ContextVar("ldap_proved", default=None)


def library_settings(options: LdapOptions) -> dict[str, Any]:
    """django-auth-ldap's settings for ``options``."""
    attributes = [
        options.mail_attribute,
        options.first_name_attribute,
        options.last_name_attribute,
        "uid",
        "userAccountControl",
    ]
    connection: dict[int, Any] = {
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_NETWORK_TIMEOUT: options.connect_timeout_s,
        ldap.OPT_TIMEOUT: options.timeout_s,
    }
    if options.tls:
        if options.tls_ca:
            connection[ldap.OPT_X_TLS_CACERTFILE] = str(ca_file(options.tls_ca))
        connection[ldap.OPT_X_TLS_REQUIRE_CERT] = (
            ldap.OPT_X_TLS_DEMAND if options.tls_require_cert else ldap.OPT_X_TLS_NEVER
        )
        connection[ldap.OPT_X_TLS_NEWCTX] = 0  # last: the options above take effect
    settings: dict[str, Any] = {
        "SERVER_URI": options.client_url,
        "BIND_DN": options.bind_dn,
        "BIND_PASSWORD": options.bind_password,
        "START_TLS": options.start_tls,
        "CONNECTION_OPTIONS": connection,
        "USER_SEARCH": LDAPSearch(
            options.user_dn, SCOPES[options.user_scope], f"({options.user_attribute}=%(user)s)"
        ),
        "USER_ATTRLIST": attributes,
        "USER_ATTR_MAP": {},  # the profile is written by signin.sso.users
        "ALWAYS_UPDATE_USER": False,
        "CACHE_TIMEOUT": 0,
        "PERMIT_EMPTY_PASSWORD": False,
    }
    if options.group_dn:
        settings["GROUP_SEARCH"] = LDAPSearch(
            options.group_dn, SCOPES[options.group_scope], "(objectClass=*)"
        )
        settings["GROUP_TYPE"] = (
            PosixGroupType(name_attr="cn")
            if options.group_attribute.lower() == "memberuid"
            else MemberDNGroupType(member_attr=options.group_attribute, name_attr="cn")
        )
    return settings


def ca_file(pem: str) -> Path:
    """A file holding ``pem`` (libldap reads CAs from files only), named by its digest."""
    path = Path(tempfile.gettempdir()) / f"ldap-ca-{hashlib.sha256(pem.encode()).hexdigest()}.pem"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(pem if pem.endswith("\n") else pem + "\n")
        partial.replace(path)
    return path


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap bound to one provider; users are matched and created by
    :func:`signin.sso.users.user_for`, as for every other provider."""

    def __init__(self, name: str, options: LdapOptions) -> None:
        self.name = name
        self.options = options
        self.settings = LDAPSettings(
            prefix=f"SIGNIN_LDAP_{name.upper()}_", defaults=library_settings(options)
        )

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> User | None:
        attempt = _attempt.get()
        dn = ldap_user.dn  # the service bind and the search: their errors reach the driver
        if attempt is not None:
            attempt.dn = dn
        if dn is None:
            return None
        user: User | None = super().authenticate_ldap_user(ldap_user, password)
        return user

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        attempt = _attempt.get()
        context = attempt.context if attempt is not None else SessionContext()
        identity = identity_of(self.options, ldap_user.dn, ldap_user.attrs, ldap_user.group_names)
        user = user_for(self.name, self.options.sso(self.role_mapping(identity)), identity, context)
        data = dict(user.auth_data or {})
        if data.get("ldap_username") != username:
            data["ldap_username"] = username  # what the directory sync searches for
            user.auth_data = data
            User.objects.filter(pk=user.pk).update(auth_data=data)
        return user, False

    def role_mapping(self, identity: Identity) -> tuple[tuple[str, uuid.UUID], ...] | None:
        """The configured mapping, or the roles named like the person's groups (by name,
        case-insensitively, the first role in name order when several match)."""
        if self.options.role_mapping is not None or not self.options.group_dn:
            return self.options.role_mapping
        by_name: dict[str, uuid.UUID] = {}
        for role in Role.objects.only("pk", "name").order_by("name"):
            by_name.setdefault(role.name.lower(), role.pk)
        return tuple(
            (group, by_name[group.lower()]) for group in identity.groups if group.lower() in by_name
        )


def identity_of(options: LdapOptions, dn: str, attrs: Any, groups: Any) -> Identity:
    """The person an entry describes: identified by their DN."""

    def first(name: str) -> str | None:
        values = attrs.get(name) if attrs is not None else None
        value = values[0].strip() if values else ""
        return value or None

    email = first(options.mail_attribute)
    first_name = first(options.first_name_attribute)
    last_name = first(options.last_name_attribute)
    return Identity(
        identifier=dn[:255],
        email=email[:254] if email else None,
        email_verified=True,
        first_name=first_name[:50] if first_name else None,
        last_name=last_name[:50] if last_name else None,
        groups=tuple(sorted(str(g) for g in (groups or ())))[:MAX_GROUPS],
    )


def _note_error(
    sender: Any, context: str, user: Any, request: Any, exception: Any, **_: Any
) -> None:
    attempt = _attempt.get()
    if attempt is not None and attempt.error is None:
        attempt.error, attempt.during = exception, context


ldap_error.connect(_note_error, dispatch_uid="signin-ldap-errors")


class LdapDriver(AuthDriver):
    kind = "ldap"

    def __init__(self, provider: Any) -> None:
        super().__init__(provider)
        self.options = ldap_options(provider)
        self.backend = DirectoryBackend(provider.name, self.options)

    def check(self) -> list[checks.CheckMessage]:
        return [
            checks.Error(problem, id="signin.E010", obj=f"AUTH_{self.name.upper()}")
            for problem in self.options.problems
        ]

    def find_user(self, payload: LoginPayload, context: SessionContext) -> User | None:
        """Search, bind as the entry, then match or create: the user when the password is
        right (remembered for :meth:`verify`), the existing user of the entry when it is not
        (so the failure counts against them), None for no entry."""
        identifier = payload.identifier.strip()
        if not identifier or not payload.password:
            return None
        attempt = _Attempt(context=context)
        token = _attempt.set(attempt)
        try:
            user = self.backend.authenticate(None, identifier, payload.password)
        except ldap.LDAPError as error:
            raise self._unavailable(error) from None
        finally:
            _attempt.reset(token)
        noted = attempt.error
        if noted is not None:
            if attempt.during == "authenticate" and isinstance(noted, _REFUSED):
                return self._local_user(attempt.dn)  # the directory refused the person's bind
            raise self._unavailable(noted)
        if user is not None:
            _proved.set(user.pk)
            return user
        return self._local_user(attempt.dn)

    def _local_user(self, dn: str | None) -> User | None:
        """The user of the entry at ``dn``, if they signed in before."""
        if dn is None:
            return None
        return (
            User.objects.filter(provider=self.name, external_identifier__iexact=dn)
            .select_related("role")
            .first()
        )

    def verify(self, user: User | None, payload: LoginPayload) -> bool:
        proved = _proved.get()
        _proved.set(None)
        return user is not None and proved == user.pk

    def refresh(self, user: User) -> None:
        """The entry must still be there and not be disabled, locked or expired."""
        try:
            entry = self.read_entry(user.external_identifier or "")
        except ldap.LDAPError as error:
            raise self._unavailable(error) from None
        if entry is None:
            raise InvalidCredentials()
        flags = entry.get("userAccountControl") or ["0"]
        try:
            blocked = int(flags[0]) & BLOCKING_FLAGS
        except ValueError:
            blocked = 0
        if blocked:
            raise InvalidCredentials()

    def reread(self, user: User, context: SessionContext) -> User | None:
        """``user`` read again from the directory as at sign-in (groups → role, profile), or
        None when their entry is gone (:mod:`signin.directory`)."""
        username = (user.auth_data or {}).get("ldap_username")
        try:
            if not username:
                entry = self.read_entry(
                    user.external_identifier or "", [self.options.user_attribute]
                )
                values = (entry or {}).get(self.options.user_attribute) or []
                username = values[0] if values else None
            if not username:
                return None
            attempt = _Attempt(context=context)
            token = _attempt.set(attempt)
            try:
                found = self.backend.populate_user(str(username))
            finally:
                _attempt.reset(token)
        except ldap.LDAPError as error:
            raise self._unavailable(error) from None
        if attempt.error is not None:
            raise self._unavailable(attempt.error)
        if found is None or found.pk != user.pk:
            return None  # gone, or the name now belongs to another entry
        return User.objects.select_related("role").get(pk=found.pk)

    def person(self, name: str) -> Identity | None:
        """The directory's entry whose ``USER_ATTRIBUTE`` is ``name`` — its profile and the
        ``cn`` of its groups — for the people another provider signs in from this directory
        (:mod:`signin.directory`); None when there is no such entry, or several."""
        options = self.options
        wanted = [options.mail_attribute, options.first_name_attribute, options.last_name_attribute]
        try:
            connection = self.connect()
            try:
                found = connection.search_s(
                    options.user_dn,
                    SCOPES[options.user_scope],
                    f"({options.user_attribute}={escape_filter_chars(name)})",
                    [*wanted, "uid"],
                )
                entries = [(dn, attrs) for dn, attrs in found if dn]
                if len(entries) != 1:
                    return None
                dn, attrs = entries[0]
                groups: list[str] = []
                if options.group_dn:
                    posix = options.group_attribute.lower() == "memberuid"
                    member = (attrs.get("uid") or [b""])[0].decode() if posix else dn
                    for group_dn, group in connection.search_s(
                        options.group_dn,
                        SCOPES[options.group_scope],
                        f"({options.group_attribute}={escape_filter_chars(member)})",
                        ["cn"],
                    ):
                        if group_dn:
                            groups.extend(v.decode(errors="replace") for v in group.get("cn", []))
            finally:
                connection.unbind_s()
        except ldap.NO_SUCH_OBJECT:
            return None
        except ldap.LDAPError as error:
            raise self._unavailable(error) from None

        def first(attribute: str) -> str | None:
            values = attrs.get(attribute) or []
            return values[0].decode(errors="replace").strip() or None if values else None

        email = first(options.mail_attribute)
        given, family = first(options.first_name_attribute), first(options.last_name_attribute)
        return Identity(
            identifier=name,
            email=email,
            email_verified=bool(email),
            first_name=given[:50] if given else None,
            last_name=family[:50] if family else None,
            groups=tuple(groups[:MAX_GROUPS]),
        )

    def read_entry(
        self, dn: str, attributes: list[str] | None = None
    ) -> dict[str, list[str]] | None:
        """The entry at ``dn`` (a base search with the service account), or None."""
        if not dn:
            return None
        connection = self.connect()
        try:
            found = connection.search_s(
                dn, ldap.SCOPE_BASE, "(objectClass=*)", attributes or ["userAccountControl"]
            )
        except ldap.NO_SUCH_OBJECT:
            return None
        finally:
            connection.unbind_s()
        for entry_dn, attrs in found:
            if entry_dn:
                return {k: [v.decode(errors="replace") for v in vs] for k, vs in attrs.items()}
        return None

    def connect(self) -> Any:
        """A connection bound as the service account, with this provider's options."""
        settings = self.backend.settings
        connection = ldap.initialize(self.options.client_url, bytes_mode=False)
        for option, value in settings.CONNECTION_OPTIONS.items():
            connection.set_option(option, value)
        if self.options.start_tls:
            connection.start_tls_s()
        try:
            connection.simple_bind_s(self.options.bind_dn, self.options.bind_password)
        except _REFUSED:
            connection.unbind_s()
            raise InvalidProviderConfig(self.name, "The directory refused the bind DN") from None
        return connection

    def _unavailable(self, error: ldap.LDAPError) -> Exception:
        if isinstance(error, _REFUSED):
            return InvalidProviderConfig(self.name, "The directory refused the bind DN")
        description = (
            error.args[0].get("desc", "")
            if error.args and isinstance(error.args[0], dict)
            else type(error).__name__
        )
        logger.warning("LDAP provider %s: %s", self.name, description)
        return ServiceUnavailable("ldap", f"The directory did not answer ({description})")
