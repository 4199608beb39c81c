"""The ``bootstrap`` section: the first admin created on an empty database
(``ADMIN_EMAIL``, ``ADMIN_PASSWORD``, ``ADMIN_TOKEN``; contract env.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config.env import EnvReader


@dataclass(frozen=True)
class Bootstrap:
    admin_email: str | None
    admin_password: str | None = field(repr=False)
    admin_token: str | None = field(repr=False)


def load_bootstrap(env: EnvReader) -> Bootstrap:
    bootstrap = Bootstrap(
        admin_email=env.optional("ADMIN_EMAIL"),
        admin_password=env.optional("ADMIN_PASSWORD"),
        admin_token=env.optional("ADMIN_TOKEN"),
    )
    if bootstrap.admin_password is not None and not bootstrap.admin_email:
        env.errors.append("ADMIN_PASSWORD is set but ADMIN_EMAIL is not.")
    return bootstrap
