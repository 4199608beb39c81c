"""The auth-driver registry and the configured providers.

Drivers register by kind (:func:`register_driver`); providers come from the configuration
(``AUTH_PROVIDERS``, :mod:`core.config.auth`) plus the built-in ``default`` local provider,
unless ``AUTH_DISABLE_DEFAULT``. Adding a driver is one module with an :class:`AuthDriver`
subclass and one :func:`register_driver` call.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from accounts.models import DEFAULT_PROVIDER
from core.config.auth import ProviderConfig
from core.errors import RouteNotFound
from signin.drivers.base import AuthDriver
from signin.drivers.local import LocalDriver

_drivers: dict[str, type[AuthDriver]] = {}


def register_driver(driver: type[AuthDriver]) -> None:
    """Make ``driver`` available as ``AUTH_<NAME>_DRIVER=<driver.kind>``."""
    _drivers[driver.kind] = driver
    providers.cache_clear()


def driver_class(kind: str) -> type[AuthDriver] | None:
    return _drivers.get(kind)


@cache
def providers() -> dict[str, AuthDriver]:
    """Every usable provider by name, ``default`` first, then ``AUTH_PROVIDERS`` order.
    Providers whose driver is unknown are left out (a system check warns about them)."""
    config = settings.DIRECTUS
    found: dict[str, AuthDriver] = {}
    if not config.auth.disable_default:
        found[DEFAULT_PROVIDER] = LocalDriver(ProviderConfig(DEFAULT_PROVIDER, LocalDriver.kind))
    for provider in config.auth.providers:
        cls = _drivers.get(provider.driver)
        if cls is not None:
            found[provider.name] = cls(provider)
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
        providers.cache_clear()


register_driver(LocalDriver)
