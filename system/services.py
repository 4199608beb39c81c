"""Which service serves a collection: the system collections' own, the items service for the
rest. Every transport asks here, so a rule added to a system service holds everywhere. Each
system service registers itself when defined (:class:`system.base.SystemService`); the
package imports them all."""

from __future__ import annotations

from .base import SystemService, registered, service_for

#: System collection → its service class.
SYSTEM_SERVICES: dict[str, type[SystemService]] = registered()


def system_collections() -> tuple[str, ...]:
    """The system collections served by a system service (Directus names)."""
    return tuple(SYSTEM_SERVICES)


__all__ = ["SYSTEM_SERVICES", "service_for", "system_collections"]
