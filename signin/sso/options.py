"""A redirect provider's options, typed (contract sso.md §4, §5, env.md §4.2).

:class:`ProviderConfig` keeps what ``AUTH_<NAME>_*`` (or an admin row) says as text or JSON;
:func:`sso_options` reads it once into :class:`SsoOptions`, with every problem named by its
variable, so a driver never parses a setting at request time.

Beyond Directus's variables (all honoured, see the README's configuration table) a provider may
have ``AUTH_<NAME>_PROXY`` (its own outbound proxy for every call to the provider),
``AUTH_<NAME>_POLICY_MAPPING`` (groups → extra policies, a JSON object of lists of policy ids)
and ``AUTH_<NAME>_ROLE_MAPPING_MODE`` (``login``: the mapping is applied at every sign-in, as
Directus does; ``create``: only when the user is created).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from core.config.auth import ProviderConfig
from core.config.env import parse_csv, parse_duration_ms

TokenAuthMethod = Literal["client_secret_basic", "client_secret_post"]
MappingMode = Literal["login", "create"]

DEFAULT_SCOPES = {"openid": "openid profile email", "oauth2": "email"}
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SsoOptions:
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    scope: str = ""
    issuer_url: str = ""
    authorize_url: str = ""
    access_url: str = ""
    profile_url: str = ""
    identifier_key: str | None = None
    email_key: str = "email"
    first_name_key: str | None = None
    last_name_key: str | None = None
    allow_public_registration: bool = False
    require_verified_email: bool = False
    default_role_id: uuid.UUID | None = None
    sync_user_info: bool = False
    params: tuple[tuple[str, str], ...] = ()
    #: ``None`` when ``REDIRECT_ALLOW_LIST`` is not set (only ``PUBLIC_URL``'s host is allowed).
    redirect_allow_list: tuple[str, ...] | None = None
    #: Group → role, in the order configured (the first group the user has wins); ``None``
    #: when no ``ROLE_MAPPING`` is set (the role is then only set when the user is created).
    role_mapping: tuple[tuple[str, uuid.UUID], ...] | None = None
    policy_mapping: tuple[tuple[str, tuple[uuid.UUID, ...]], ...] = ()
    role_mapping_mode: MappingMode = "login"
    group_claim_name: str = "groups"
    mode: Literal["session", "cookie"] = "session"
    login_timeout_s: int = 300
    timeout_s: float = DEFAULT_TIMEOUT_S
    proxy: str | None = None
    #: The ``ldap`` provider whose directory holds this provider's people (the directory sync
    #: re-reads them there).
    directory: str | None = None
    plain_code_challenge: bool = False
    token_auth_method: TokenAuthMethod = "client_secret_basic"
    problems: tuple[str, ...] = ()

    @property
    def maps_groups(self) -> bool:
        return self.role_mapping is not None or bool(self.policy_mapping)


class OptionReader:
    def __init__(self, provider: ProviderConfig) -> None:
        self.options = provider.options
        self.prefix = f"AUTH_{provider.name.upper()}_"
        self.problems: list[str] = []

    def var(self, suffix: str) -> str:
        return self.prefix + suffix

    def text(self, key: str, suffix: str, default: str = "") -> str:
        value = self.options.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, (dict, list)):
            self.problems.append(f"{self.var(suffix)} must be text.")
            return default
        return str(value).strip()

    def flag(self, key: str, suffix: str) -> bool:
        value = self.options.get(key)
        if isinstance(value, bool):
            return value
        text = str(value or "").strip().lower()
        if text in ("", "false", "0", "no"):
            return False
        if text in ("true", "1", "yes"):
            return True
        self.problems.append(f"{self.var(suffix)} must be true or false.")
        return False

    def json(self, key: str, suffix: str) -> Any:
        value = self.options.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                self.problems.append(f"{self.var(suffix)} is not valid JSON.")
                return None
        return value if value not in ("", None) else None

    def uuid(self, text: Any, where: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(text))
        except ValueError:
            self.problems.append(f"{where}: {str(text)[:40]!r} is not a UUID.")
            return None


def sso_options(provider: ProviderConfig) -> SsoOptions:
    """The typed options of an ``openid`` or ``oauth2`` provider."""
    read = OptionReader(provider)
    kind = provider.driver
    required = {
        "openid": (("clientId", "CLIENT_ID"), ("issuerUrl", "ISSUER_URL")),
        "oauth2": (
            ("clientId", "CLIENT_ID"),
            ("clientSecret", "CLIENT_SECRET"),
            ("authorizeUrl", "AUTHORIZE_URL"),
            ("accessUrl", "ACCESS_URL"),
            ("profileUrl", "PROFILE_URL"),
        ),
    }.get(kind, ())
    for key, suffix in required:
        if not read.text(key, suffix):
            read.problems.append(f"{read.var(suffix)} is required for the {kind} driver.")
    urls = {}
    for key, suffix in (
        ("issuerUrl", "ISSUER_URL"),
        ("authorizeUrl", "AUTHORIZE_URL"),
        ("accessUrl", "ACCESS_URL"),
        ("profileUrl", "PROFILE_URL"),
        ("proxy", "PROXY"),
    ):
        urls[key] = read.text(key, suffix)
        if urls[key] and not urls[key].startswith(("https://", "http://")):
            read.problems.append(f"{read.var(suffix)} must be an http:// or https:// URL.")
            urls[key] = ""
    default_role = read.text("defaultRoleId", "DEFAULT_ROLE_ID")
    mode = read.text("mode", "MODE", "session").lower()
    if mode not in ("session", "cookie"):
        read.problems.append(f"{read.var('MODE')} must be session or cookie.")
        mode = "session"
    mapping_mode = read.text("roleMappingMode", "ROLE_MAPPING_MODE", "login").lower()
    if mapping_mode not in ("login", "create"):
        read.problems.append(f"{read.var('ROLE_MAPPING_MODE')} must be login or create.")
        mapping_mode = "login"
    method = read.text(
        "clientTokenEndpointAuthMethod", "CLIENT_TOKEN_ENDPOINT_AUTH_METHOD", "client_secret_basic"
    )
    if method not in ("client_secret_basic", "client_secret_post"):
        read.problems.append(
            f"{read.var('CLIENT_TOKEN_ENDPOINT_AUTH_METHOD')} must be client_secret_basic or "
            "client_secret_post."
        )
        method = "client_secret_basic"
    allow_list = provider.options.get("redirectAllowList")
    return SsoOptions(
        client_id=read.text("clientId", "CLIENT_ID"),
        client_secret=read.text("clientSecret", "CLIENT_SECRET"),
        scope=read.text("scope", "SCOPE", DEFAULT_SCOPES.get(kind, "")),
        issuer_url=urls["issuerUrl"],
        authorize_url=urls["authorizeUrl"],
        access_url=urls["accessUrl"],
        profile_url=urls["profileUrl"],
        identifier_key=read.text("identifierKey", "IDENTIFIER_KEY") or None,
        email_key=read.text("emailKey", "EMAIL_KEY", "email"),
        first_name_key=read.text("firstNameKey", "FIRST_NAME_KEY") or None,
        last_name_key=read.text("lastNameKey", "LAST_NAME_KEY") or None,
        allow_public_registration=read.flag("allowPublicRegistration", "ALLOW_PUBLIC_REGISTRATION"),
        require_verified_email=read.flag("requireVerifiedEmail", "REQUIRE_VERIFIED_EMAIL"),
        default_role_id=read.uuid(default_role, read.var("DEFAULT_ROLE_ID"))
        if default_role
        else None,
        sync_user_info=read.flag("syncUserInfo", "SYNC_USER_INFO"),
        params=_params(read),
        redirect_allow_list=None
        if allow_list is None
        else tuple(allow_list if isinstance(allow_list, list) else parse_csv(str(allow_list))),
        role_mapping=read_role_mapping(read),
        policy_mapping=read_policy_mapping(read),
        role_mapping_mode=mapping_mode,  # type: ignore[arg-type]
        group_claim_name=read.text("groupClaimName", "GROUP_CLAIM_NAME", "groups"),
        mode=mode,  # type: ignore[arg-type]
        login_timeout_s=max(1, int(duration_s(read, "loginTimeout", "LOGIN_TIMEOUT", 300_000))),
        timeout_s=duration_s(read, "clientHttpTimeout", "CLIENT_HTTP_TIMEOUT", 10_000),
        proxy=urls["proxy"] or None,
        directory=read.text("directory", "DIRECTORY") or None,
        plain_code_challenge=read.flag("plainCodeChallenge", "PLAIN_CODE_CHALLENGE"),
        token_auth_method=method,  # type: ignore[arg-type]
        problems=tuple(read.problems),
    )


def duration_s(read: OptionReader, key: str, suffix: str, default_ms: int) -> float:
    """A duration option in seconds (``5m``, ``300s``, or a number of milliseconds, as Directus
    reads ``LOGIN_TIMEOUT`` and ``CLIENT_HTTP_TIMEOUT``)."""
    value = read.options.get(key)
    if value in (None, ""):
        return default_ms / 1000
    try:
        ms = parse_duration_ms(str(value))
    except ValueError:
        read.problems.append(f"{read.var(suffix)} is not a duration.")
        return default_ms / 1000
    if ms <= 0:
        read.problems.append(f"{read.var(suffix)} must be positive.")
        return default_ms / 1000
    return ms / 1000


def _params(read: OptionReader) -> tuple[tuple[str, str], ...]:
    raw = read.json("params", "PARAMS")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        read.problems.append(f"{read.var('PARAMS')} must be a JSON object.")
        return ()
    return tuple((str(key), str(value)) for key, value in raw.items())


def read_role_mapping(read: OptionReader) -> tuple[tuple[str, uuid.UUID], ...] | None:
    raw = read.json("roleMapping", "ROLE_MAPPING")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        read.problems.append(
            f"{read.var('ROLE_MAPPING')} must be a JSON object of group → role id "
            '(use the json: prefix, e.g. json:{"admins": "<role id>"}).'
        )
        return None
    mapping = []
    for group, role in raw.items():
        role_id = read.uuid(role, f"{read.var('ROLE_MAPPING')}[{group!r}]")
        if role_id is not None:
            mapping.append((str(group), role_id))
    return tuple(mapping)


def read_policy_mapping(read: OptionReader) -> tuple[tuple[str, tuple[uuid.UUID, ...]], ...]:
    raw = read.json("policyMapping", "POLICY_MAPPING")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        read.problems.append(f"{read.var('POLICY_MAPPING')} must be a JSON object.")
        return ()
    mapping = []
    for group, policies in raw.items():
        where = f"{read.var('POLICY_MAPPING')}[{group!r}]"
        items = policies if isinstance(policies, list) else [policies]
        ids = tuple(i for i in (read.uuid(p, where) for p in items) if i is not None)
        mapping.append((str(group), ids))
    return tuple(mapping)
