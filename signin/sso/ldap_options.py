"""An ``ldap`` provider's options, typed (contract sso.md §6, §3.2).

Directus's variables: ``CLIENT_URL``, ``BIND_DN`` and ``BIND_PASSWORD`` (both must be set; empty
is an anonymous bind), ``USER_DN``, ``USER_ATTRIBUTE`` (``cn``), ``USER_SCOPE`` (``one``),
``MAIL_ATTRIBUTE`` (``mail``), ``FIRST_NAME_ATTRIBUTE`` (``givenName``), ``LAST_NAME_ATTRIBUTE``
(``sn``), ``GROUP_DN``, ``GROUP_ATTRIBUTE`` (``member``), ``GROUP_SCOPE`` (``one``),
``DEFAULT_ROLE_ID``, ``CLIENT__TIMEOUT`` and ``CLIENT__CONNECT_TIMEOUT`` (milliseconds).

Beyond them: ``START_TLS`` (upgrade an ``ldap://`` connection), ``TLS_CA`` (the PEM of the CA
that signed the directory's certificate — usually given as ``TLS_CA_FILE``, a path, by the
``_FILE`` rule; the system's CAs otherwise), ``TLS_REQUIRE_CERT`` (default
true: a certificate that does not verify or does not name the host is refused),
``ROLE_MAPPING`` (group ``cn`` → role id; without it, as in Directus, the role is the one
*named* like one of the person's groups), ``POLICY_MAPPING``, ``ROLE_MAPPING_MODE`` and
``SYNC_USER_INFO``, as for the other providers.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Literal

from core.config.auth import ProviderConfig
from core.config.env import parse_duration_ms
from signin.sso.options import (
    MappingMode,
    OptionReader,
    SsoOptions,
    read_policy_mapping,
    read_role_mapping,
)

Scope = Literal["base", "one", "sub"]
ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
DEFAULT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class LdapOptions:
    client_url: str = ""
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    user_dn: str = ""
    user_attribute: str = "cn"
    user_scope: Scope = "one"
    mail_attribute: str = "mail"
    first_name_attribute: str = "givenName"
    last_name_attribute: str = "sn"
    group_dn: str | None = None
    group_attribute: str = "member"
    group_scope: Scope = "one"
    default_role_id: uuid.UUID | None = None
    role_mapping: tuple[tuple[str, uuid.UUID], ...] | None = None
    policy_mapping: tuple[tuple[str, tuple[uuid.UUID, ...]], ...] = ()
    role_mapping_mode: MappingMode = "login"
    sync_user_info: bool = False
    start_tls: bool = False
    tls_ca: str | None = field(default=None, repr=False)
    tls_require_cert: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_MS / 1000
    connect_timeout_s: float = DEFAULT_TIMEOUT_MS / 1000
    problems: tuple[str, ...] = ()

    @property
    def tls(self) -> bool:
        return self.start_tls or self.client_url.lower().startswith("ldaps://")

    def sso(self, role_mapping: tuple[tuple[str, uuid.UUID], ...] | None) -> SsoOptions:
        """The options :func:`signin.sso.users.user_for` reads: a directory person is always
        created (there is no registration switch), and with ``GROUP_DN`` their groups decide the
        role at every sign-in (``role_mapping``: the configured one, or the roles named like
        their groups)."""
        return SsoOptions(
            allow_public_registration=True,
            default_role_id=self.default_role_id,
            role_mapping=role_mapping if self.group_dn else None,
            policy_mapping=self.policy_mapping if self.group_dn else (),
            role_mapping_mode=self.role_mapping_mode,
            sync_user_info=self.sync_user_info,
        )


def ldap_options(provider: ProviderConfig) -> LdapOptions:
    read = OptionReader(provider)
    url = read.text("clientUrl", "CLIENT_URL")
    if not url:
        read.problems.append(f"{read.var('CLIENT_URL')} is required.")
    elif not url.lower().startswith(("ldap://", "ldaps://")):
        read.problems.append(f"{read.var('CLIENT_URL')} must be an ldap:// or ldaps:// URL.")
    for key, suffix in (("bindDn", "BIND_DN"), ("bindPassword", "BIND_PASSWORD")):
        if provider.options.get(key) is None:
            read.problems.append(f"{read.var(suffix)} is required (empty for an anonymous bind).")
    user_dn = read.text("userDn", "USER_DN")
    if not user_dn:
        read.problems.append(f"{read.var('USER_DN')} is required.")
    attributes = {}
    for key, suffix, default in (
        ("userAttribute", "USER_ATTRIBUTE", "cn"),
        ("mailAttribute", "MAIL_ATTRIBUTE", "mail"),
        ("firstNameAttribute", "FIRST_NAME_ATTRIBUTE", "givenName"),
        ("lastNameAttribute", "LAST_NAME_ATTRIBUTE", "sn"),
        ("groupAttribute", "GROUP_ATTRIBUTE", "member"),
    ):
        value = read.text(key, suffix, default)
        if not ATTRIBUTE.match(value):
            read.problems.append(f"{read.var(suffix)} is not an attribute name.")
            value = default
        attributes[key] = value
    mode = read.text("roleMappingMode", "ROLE_MAPPING_MODE", "login").lower()
    if mode not in ("login", "create"):
        read.problems.append(f"{read.var('ROLE_MAPPING_MODE')} must be login or create.")
        mode = "login"
    default_role = read.text("defaultRoleId", "DEFAULT_ROLE_ID")
    client = provider.options.get("client")
    client = client if isinstance(client, dict) else {}
    return LdapOptions(
        client_url=url,
        bind_dn=read.text("bindDn", "BIND_DN"),
        bind_password=str(provider.options.get("bindPassword") or ""),
        user_dn=user_dn,
        user_attribute=attributes["userAttribute"],
        user_scope=_scope(read, "userScope", "USER_SCOPE"),
        mail_attribute=attributes["mailAttribute"],
        first_name_attribute=attributes["firstNameAttribute"],
        last_name_attribute=attributes["lastNameAttribute"],
        group_dn=read.text("groupDn", "GROUP_DN") or None,
        group_attribute=attributes["groupAttribute"],
        group_scope=_scope(read, "groupScope", "GROUP_SCOPE"),
        default_role_id=read.uuid(default_role, read.var("DEFAULT_ROLE_ID"))
        if default_role
        else None,
        role_mapping=read_role_mapping(read),
        policy_mapping=read_policy_mapping(read),
        role_mapping_mode=mode,  # type: ignore[arg-type]
        sync_user_info=read.flag("syncUserInfo", "SYNC_USER_INFO"),
        start_tls=read.flag("startTls", "START_TLS"),
        tls_ca=_pem(read),
        tls_require_cert=read.flag("tlsRequireCert", "TLS_REQUIRE_CERT")
        if provider.options.get("tlsRequireCert") not in (None, "")
        else True,
        timeout_s=_ms(read, client.get("timeout"), "CLIENT__TIMEOUT"),
        connect_timeout_s=_ms(read, client.get("connectTimeout"), "CLIENT__CONNECT_TIMEOUT"),
        problems=tuple(read.problems),
    )


def _pem(read: OptionReader) -> str | None:
    text = read.text("tlsCa", "TLS_CA")
    if text and "-----BEGIN CERTIFICATE-----" not in text:
        read.problems.append(f"{read.var('TLS_CA')} (or _FILE) must hold PEM certificates.")
        return None
    return text or None


def _scope(read: OptionReader, key: str, suffix: str) -> Scope:
    value = read.text(key, suffix, "one").lower()
    if value not in ("base", "one", "sub"):
        read.problems.append(f"{read.var(suffix)} must be base, one or sub.")
        return "one"
    return value  # type: ignore[return-value]


def _ms(read: OptionReader, value: object, suffix: str) -> float:
    if value in (None, ""):
        return DEFAULT_TIMEOUT_MS / 1000
    try:
        ms = parse_duration_ms(str(value))
    except ValueError:
        ms = 0
    if ms <= 0:
        read.problems.append(f"{read.var(suffix)} must be a positive number of milliseconds.")
        return DEFAULT_TIMEOUT_MS / 1000
    return ms / 1000
