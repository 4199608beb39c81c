"""Which service serves a collection: the system collections' own, the items service for the
rest. Every transport asks here, so a rule added to a system service holds everywhere."""

from __future__ import annotations

from collections.abc import Callable

from accounts.accountability import Accountability
from items.service import ItemsService

from .access_model import AccessService, PermissionsService, PoliciesService, RolesService
from .users import UsersService

ServiceFactory = Callable[..., ItemsService]

#: System collection → its service class (``collection`` and ``accountability`` arguments).
SYSTEM_SERVICES: dict[str, ServiceFactory] = {
    "directus_users": UsersService,
    "directus_roles": RolesService,
    "directus_policies": PoliciesService,
    "directus_permissions": PermissionsService,
    "directus_access": AccessService,
}


def service_for(collection: str, accountability: Accountability) -> ItemsService:
    """The service for ``collection`` as ``accountability``: a system collection's own
    service, or the items service (which treats unknown and system names as forbidden)."""
    factory = SYSTEM_SERVICES.get(collection)
    if factory is not None:
        return factory(collection, accountability)
    return ItemsService(collection, accountability)


def system_collections() -> tuple[str, ...]:
    """The system collections served by a system service (Directus names)."""
    return tuple(SYSTEM_SERVICES)
