"""System checks for the sign-in providers: each configured provider has a known driver and
options that driver can use (contract sso.md §1: a bad provider stops start-up). Providers of
the admin are checked by its form instead; no check reads the database."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from signin.drivers import driver_class

#: The drivers of an optional extra, and how to install it.
EXTRAS = {
    "ldap": "pip install '.[ldap]' (python-ldap builds against libldap: "
    "apt-get install libldap2-dev libsasl2-dev).",
    "saml": "pip install '.[saml]'.",
}


@checks.register(checks.Tags.security)
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for provider in settings.DIRECTUS.auth.providers:
        cls = driver_class(provider.driver)
        if cls is None and provider.driver in EXTRAS:
            messages.append(
                checks.Error(
                    f"AUTH_{provider.name.upper()}_DRIVER={provider.driver} needs the "
                    f"{provider.driver} extra: {EXTRAS[provider.driver]}",
                    id="signin.E011",
                )
            )
        elif cls is None:
            messages.append(
                checks.Warning(
                    f"AUTH_{provider.name.upper()}_DRIVER: unknown driver {provider.driver!r}; "
                    f"provider {provider.name!r} is skipped.",
                    id="signin.W001",
                )
            )
        else:
            messages.extend(cls(provider).check())
    directories = {p.name for p in settings.DIRECTUS.auth.providers if p.driver == "ldap"}
    for provider in settings.DIRECTUS.auth.providers:
        named = provider.options.get("directory")
        if named and provider.driver != "ldap" and named not in directories:
            messages.append(
                checks.Error(
                    f"AUTH_{provider.name.upper()}_DIRECTORY={named}: no ldap provider of that "
                    "name is configured.",
                    id="signin.E012",
                )
            )
    return messages
