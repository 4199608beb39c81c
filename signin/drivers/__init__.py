"""The auth-driver registry and the configured providers.

Drivers register by kind (:func:`register_driver`); providers come from the configuration
(``AUTH_PROVIDERS``, :mod:`core.config.auth`), then the enabled sign-in providers of the admin
(:class:`signin.models.SsoProvider`), plus the built-in ``default`` local provider unless
``AUTH_DISABLE_DEFAULT``. On a name both define, the environment wins and the row is ignored
with a warning (the admin form refuses such a name). The table is rebuilt when the access
version moves, which every change to a provider row does: an edit applies on every process
within a second, without a restart. Adding a driver is one module with an :class:`AuthDriver`
subclass and one :func:`register_driver` call.
"""

from __future__ import annotations

import contextlib
import logging
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.accountability import VersionedTable, bump_access_version
from accounts.models import DEFAULT_PROVIDER
from core.config.auth import ProviderConfig
from core.errors import RouteNotFound
from signin.drivers.base import AuthDriver
from signin.drivers.local import LocalDriver
from signin.drivers.oauth2 import OAuth2Driver
from signin.drivers.openid import OpenIdDriver
from signin.models import SsoProvider

logger = logging.getLogger("signin")

_drivers: dict[str, type[AuthDriver]] = {}


def register_driver(driver: type[AuthDriver]) -> None:
    """Make ``driver`` available as ``AUTH_<NAME>_DRIVER=<driver.kind>``."""
    _drivers[driver.kind] = driver
    forget()


def driver_class(kind: str) -> type[AuthDriver] | None:
    return _drivers.get(kind)


def providers() -> dict[str, AuthDriver]:
    """Every usable provider by name: ``default`` first, then ``AUTH_PROVIDERS`` order, then
    the admin's. Providers whose driver is unknown are left out (a system check warns)."""
    return _table.get()


def forget() -> None:
    """Drop this process's table (after a configuration change, and in tests)."""
    _table.forget()


def _build() -> dict[str, AuthDriver]:
    config = settings.DIRECTUS
    found: dict[str, AuthDriver] = {}
    if not config.auth.disable_default:
        found[DEFAULT_PROVIDER] = LocalDriver(ProviderConfig(DEFAULT_PROVIDER, LocalDriver.kind))
    for provider in config.auth.providers:
        cls = _drivers.get(provider.driver)
        if cls is not None:
            found[provider.name] = cls(provider)
    for row in SsoProvider.objects.filter(enabled=True):
        cls = _drivers.get(row.driver)
        if row.name in found or row.name == DEFAULT_PROVIDER:
            logger.warning(
                "Sign-in provider %r of the admin is ignored: the environment defines its name",
                row.name,
            )
        elif cls is not None:
            found[row.name] = cls(row.to_config())
    return found


def provider(name: str) -> AuthDriver:
    """The provider called ``name``; an unknown one is ``ROUTE_NOT_FOUND`` (as Directus mounts
    no route for it)."""
    driver = providers().get(name)
    if driver is None:
        raise RouteNotFound(f"/auth/login/{name}")
    return driver


def configured() -> list[AuthDriver]:
    """The providers ``GET /auth`` lists: those of ``AUTH_PROVIDERS``, in its order."""
    return [driver for name, driver in providers().items() if name != DEFAULT_PROVIDER]


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    if setting == "DIRECTUS":
        forget()


def _changed(sender: Any, **kwargs: Any) -> None:
    bump_access_version()


post_save.connect(_changed, sender=SsoProvider, dispatch_uid="sso-provider-save")
post_delete.connect(_changed, sender=SsoProvider, dispatch_uid="sso-provider-delete")

_table: VersionedTable[dict[str, AuthDriver]] = VersionedTable(_build)

for _driver in (LocalDriver, OpenIdDriver, OAuth2Driver):
    register_driver(_driver)

#: The drivers of optional extras (``ldap``: python-ldap builds against libldap; ``saml``:
#: python3-saml and its xmlsec binding); a system check names what a configured one misses.
OPTIONAL_DRIVERS = {"ldap": "LdapDriver", "saml": "SamlDriver"}
for _kind, _name in OPTIONAL_DRIVERS.items():
    with contextlib.suppress(ImportError):  # the extra is not installed
        register_driver(getattr(import_module(f"signin.drivers.{_kind}"), _name))
