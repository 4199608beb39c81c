"""The ``hashing`` section: Argon2 cost of stored passwords (``HASH_*``; contract env.md)."""

from __future__ import annotations

from dataclasses import dataclass

from core.config.env import EnvReader


@dataclass(frozen=True)
class Hashing:
    memory_cost: int
    time_cost: int
    parallelism: int


def load_hashing(env: EnvReader) -> Hashing:
    return Hashing(
        memory_cost=env.integer("HASH_MEMORY_COST", 65536, minimum=8),
        time_cost=env.integer("HASH_TIME_COST", 3, minimum=1),
        parallelism=env.integer("HASH_PARALLELISM", 4, minimum=1),
    )
