"""Argon2id password hashing with the ``HASH_*`` parameters from the configuration."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class ConfiguredArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id; hashes made with other parameters still verify and are upgraded on login."""

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return int(settings.DIRECTUS.hashing.memory_cost)

    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return int(settings.DIRECTUS.hashing.time_cost)

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return int(settings.DIRECTUS.hashing.parallelism)
