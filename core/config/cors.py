"""The ``cors`` section (``CORS_*``; contract env.md §8), applied by django-cors-headers
(``project.settings`` maps it onto that library's settings).

``CORS_ORIGIN`` takes one of four forms, see :attr:`Cors.origin_mode`: ``true`` reflects the
request's origin, ``*`` answers ``Access-Control-Allow-Origin: *``, ``false`` (or empty) sends no
CORS headers, anything else is a comma-separated list of allowed origins (trailing ``/``
ignored). With ``CORS_ENABLED=false`` the origin is ignored: no CORS at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.config.env import EnvReader

OriginMode = Literal["off", "reflect", "any", "list"]


@dataclass(frozen=True)
class Cors:
    enabled: bool
    origin: str
    methods: list[str]
    allowed_headers: list[str]
    exposed_headers: list[str]
    credentials: bool
    max_age: int

    @property
    def origin_mode(self) -> OriginMode:
        """How ``CORS_ORIGIN`` is read, ``off`` whenever CORS is disabled."""
        setting = self.origin.strip()
        if not self.enabled or setting.lower() in {"false", ""}:
            return "off"
        if setting.lower() == "true":
            return "reflect"
        return "any" if setting == "*" else "list"

    @property
    def allowed_origins(self) -> list[str]:
        """The origins of a ``list`` form, without trailing slashes; empty for the other forms."""
        if self.origin_mode != "list":
            return []
        parts = (part.strip().rstrip("/") for part in self.origin.split(","))
        return [part for part in parts if part]


def load_cors(env: EnvReader) -> Cors:
    return Cors(
        enabled=env.boolean("CORS_ENABLED", False),
        origin=env.string("CORS_ORIGIN", "false"),
        methods=env.csv("CORS_METHODS", "GET,POST,PATCH,DELETE"),
        allowed_headers=env.csv("CORS_ALLOWED_HEADERS", "Content-Type,Authorization"),
        exposed_headers=env.csv("CORS_EXPOSED_HEADERS", "Content-Range"),
        credentials=env.boolean("CORS_CREDENTIALS", True),
        max_age=env.integer("CORS_MAX_AGE", 18000, minimum=0),
    )
