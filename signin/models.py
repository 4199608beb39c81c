"""Sign-in providers defined in the admin (:class:`SsoProvider`): the same settings as
``AUTH_<NAME>_*``, applied without a restart. A provider of the environment with the same name
wins over a row (:mod:`signin.drivers`)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Role
from core.config.auth import RESERVED_NAMES, ProviderConfig
from core.crypto import Unreadable, seal, unseal

SECRET_PURPOSE = "sso-client-secret"


class SsoProvider(models.Model):
    class Driver(models.TextChoices):
        OPENID = "openid", "OpenID Connect"
        OAUTH2 = "oauth2", "OAuth 2.0"

    class Mode(models.TextChoices):
        SESSION = "session", "session cookie"
        COOKIE = "cookie", "refresh-token cookie"

    class MappingMode(models.TextChoices):
        LOGIN = "login", "at every sign-in"
        CREATE = "create", "only when the user is created"

    class AuthMethod(models.TextChoices):
        BASIC = "client_secret_basic", "HTTP Basic"
        POST = "client_secret_post", "in the request body"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(
        max_length=64,
        unique=True,
        help_text="Used in /auth/login/<name>; letters, digits, - and _.",
    )
    driver = models.CharField(max_length=16, choices=Driver.choices, default=Driver.OPENID)
    enabled = models.BooleanField(default=True)
    label = models.CharField(max_length=100, blank=True, default="")
    icon = models.CharField(max_length=100, blank=True, default="")
    client_id = models.CharField(max_length=255)
    #: Sealed with ``SECRET`` (:mod:`core.crypto`); the admin only ever writes it.
    client_secret = models.TextField(blank=True, default="", editable=False)
    issuer_url = models.CharField(
        max_length=1024,
        blank=True,
        default="",
        help_text="openid: the issuer or its discovery URL.",
    )
    authorize_url = models.CharField(max_length=1024, blank=True, default="")
    access_url = models.CharField(max_length=1024, blank=True, default="")
    profile_url = models.CharField(max_length=1024, blank=True, default="")
    scope = models.CharField(
        max_length=512, blank=True, default="", help_text="Empty: the driver's default."
    )
    identifier_key = models.CharField(max_length=128, blank=True, default="")
    email_key = models.CharField(max_length=128, blank=True, default="")
    first_name_key = models.CharField(max_length=128, blank=True, default="")
    last_name_key = models.CharField(max_length=128, blank=True, default="")
    allow_public_registration = models.BooleanField(default=False)
    require_verified_email = models.BooleanField(default=False)
    default_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sync_user_info = models.BooleanField(default=False)
    group_claim_name = models.CharField(max_length=128, default="groups")
    role_mapping = models.JSONField(
        null=True, blank=True, help_text='Group → role id, e.g. {"admins": "<role id>"}.'
    )
    policy_mapping = models.JSONField(
        null=True, blank=True, help_text='Group → policy ids, e.g. {"editors": ["<policy id>"]}.'
    )
    role_mapping_mode = models.CharField(
        max_length=8, choices=MappingMode.choices, default=MappingMode.LOGIN
    )
    redirect_allow_list = models.TextField(
        blank=True, default="", help_text="Comma-separated URLs; empty: PUBLIC_URL's host only."
    )
    params = models.JSONField(null=True, blank=True, help_text="Extra authorization parameters.")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.SESSION)
    token_auth_method = models.CharField(
        max_length=32, choices=AuthMethod.choices, default=AuthMethod.BASIC
    )
    proxy = models.CharField(
        max_length=512, blank=True, default="", help_text="Empty: HTTP_PROXY / HTTPS_PROXY."
    )
    timeout = models.FloatField(default=10.0, help_text="Seconds for one call to the provider.")
    login_timeout = models.PositiveIntegerField(
        default=300, help_text="Seconds between the start of a sign-in and its callback."
    )

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name = "sign-in provider"

    def __str__(self) -> str:
        return self.name

    def set_client_secret(self, secret: str) -> None:
        self.client_secret = seal(secret, SECRET_PURPOSE) if secret else ""

    def plain_client_secret(self) -> str:
        try:
            return unseal(self.client_secret, SECRET_PURPOSE) if self.client_secret else ""
        except Unreadable:
            return ""

    def clean(self) -> None:
        from signin.sso.options import sso_options

        problems = [
            p.replace(f"AUTH_{self.name.upper()}_", "").replace("_", " ").capitalize()
            for p in sso_options(self.to_config()).problems
        ]
        if self.name.lower() in RESERVED_NAMES:
            problems.append(f"the name {self.name!r} is reserved")
        if any(p.name == self.name for p in settings.DIRECTUS.auth.providers):
            problems.append("AUTH_PROVIDERS already defines a provider with this name")
        if problems:
            raise ValidationError(problems)

    def to_config(self) -> ProviderConfig:
        """The provider as ``AUTH_<NAME>_*`` would define it (the same option keys)."""
        options: dict[str, Any] = {
            "clientId": self.client_id,
            "clientSecret": self.plain_client_secret(),
            "issuerUrl": self.issuer_url,
            "authorizeUrl": self.authorize_url,
            "accessUrl": self.access_url,
            "profileUrl": self.profile_url,
            "scope": self.scope,
            "identifierKey": self.identifier_key,
            "emailKey": self.email_key,
            "firstNameKey": self.first_name_key,
            "lastNameKey": self.last_name_key,
            "allowPublicRegistration": self.allow_public_registration,
            "requireVerifiedEmail": self.require_verified_email,
            "defaultRoleId": str(self.default_role_id) if self.default_role_id else "",
            "syncUserInfo": self.sync_user_info,
            "groupClaimName": self.group_claim_name,
            "roleMapping": self.role_mapping,
            "policyMapping": self.policy_mapping,
            "roleMappingMode": self.role_mapping_mode,
            "params": self.params,
            "mode": self.mode,
            "clientTokenEndpointAuthMethod": self.token_auth_method,
            "proxy": self.proxy,
            "clientHttpTimeout": str(int(self.timeout * 1000)),
            "loginTimeout": f"{self.login_timeout}s",
            "label": self.label,
            "icon": self.icon,
        }
        if self.redirect_allow_list.strip():
            options["redirectAllowList"] = self.redirect_allow_list
        return ProviderConfig(name=self.name, driver=self.driver, options=options)


class UsedAssertion(models.Model):
    """A SAML assertion already signed in with, until it would have expired anyway: a replayed
    response is refused by every process (the digest of the IdP's entity id and the
    assertion's ID; never the assertion itself)."""

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "used SAML assertion"

    def __str__(self) -> str:
        return f"assertion {self.digest[:12]}… (until {self.expires_at:%Y-%m-%d %H:%M})"
