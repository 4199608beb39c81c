"""The services of the access model's collections (contract access-model.md §1.2 to §1.5):
``directus_roles``, ``directus_policies``, ``directus_permissions`` and ``directus_access``,
with the rules Directus's services add and a few it lacks:

* a role cannot become its own ancestor (Directus answers a cycle with a 500 later);
* the public policy cannot be deleted (every public request reads it);
* a permission names an action Directus knows, a collection that exists, fields that collection
  has, and filters the engine can run (checked when written, not when first used);
* an access row attaches its policy to a role, to a user, or to the public, never to two;
* only admins grant admin access: a non-admin (whatever their policies allow on these
  collections) can neither set ``admin_access`` on a policy nor attach a policy that has it;
* many-to-one values may be given as objects holding the key (``{"role": {"id": …}}``), as
  the Data Studio sends them.

Everything else — who may do what — is the permission engine's: these collections are
admin-only unless a policy grants more."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from accounts.ipaccess import parse_networks
from accounts.models import PUBLIC_POLICY_ID, Access, Policy, Role
from accounts.permissions import FilterError, field_forbidden, validate_filter_shape
from core.errors import InvalidPayload, UnprocessableContent
from items import registry

from .base import Alias, SystemService, aliases_of

ROLES = "directus_roles"
POLICIES = "directus_policies"
PERMISSIONS = "directus_permissions"
ACCESS = "directus_access"
USERS = "directus_users"
PUBLIC_POLICY = "The public policy can't be deleted"
MAX_ROLE_DEPTH = 100


class RolesService(SystemService):
    collection_name = ROLES
    relations = ("parent",)
    aliases = (
        Alias("policies", ACCESS, "role"),
        Alias("users", USERS, "role", deselect="nullify"),
        Alias("children", ROLES, "parent", deselect="nullify"),
    )

    def check(self, data: Any, keys: Any) -> Any:
        if isinstance(data, Mapping) and data.get("parent") is not None:
            self._scope("create" if keys is None else "update")
            for key in keys or []:
                _refuse_cycle(str(key), data["parent"])
        return data


def _refuse_cycle(key: str, parent: Any) -> None:
    """``parent`` (a role key from the payload) must not be ``key`` or below it."""
    node: Any = str(parent)
    for _ in range(MAX_ROLE_DEPTH):
        if node is None:
            return
        if str(node) == key:
            raise InvalidPayload(f'Role "{key}" can\'t be its own parent or ancestor')
        try:
            node = Role.objects.filter(pk=node).values_list("parent_id", flat=True).first()
        except (ValueError, TypeError):
            return  # a malformed key: the foreign-key check names it
    raise InvalidPayload(f"The role tree can't be deeper than {MAX_ROLE_DEPTH} levels")


class PoliciesService(SystemService):
    collection_name = POLICIES
    aliases = (
        Alias("permissions", PERMISSIONS, "policy"),
        Alias("roles", ACCESS, "policy", where={"role": {"_nnull": True}}, requires="role"),
        Alias("users", ACCESS, "policy", where={"user": {"_nnull": True}}, requires="user"),
    )

    def check(self, data: Any, keys: Any) -> Any:
        if isinstance(data, Mapping) and data.get("admin_access") and not self.acc.admin:
            self._scope("create" if keys is None else "update")
            raise field_forbidden("admin_access", POLICIES)
        if isinstance(data, Mapping) and isinstance(data.get("ip_access"), str):
            self._scope("create" if keys is None else "update")
            try:
                parse_networks(data["ip_access"])
            except ValueError as exc:
                raise InvalidPayload(f'"ip_access": {exc}') from None
        return data

    def delete_many(self, keys: Any) -> list[str]:
        if isinstance(keys, list) and str(PUBLIC_POLICY_ID) in {str(k) for k in keys}:
            self._scope("delete")
            raise UnprocessableContent(PUBLIC_POLICY)
        return super().delete_many(keys)


class PermissionsService(SystemService):
    collection_name = PERMISSIONS
    relations = ("policy",)

    def check(self, data: Any, keys: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        self._scope("create" if keys is None else "update")
        data = dict(data)
        if isinstance(data.get("fields"), list):
            names = data["fields"]
            if not all(isinstance(name, str) for name in names):
                raise InvalidPayload('"fields" has to be a CSV string or an array of strings')
            data["fields"] = ",".join(names)
        collection = data.get("collection")
        spec = registry.get(collection) if isinstance(collection, str) else None
        if isinstance(collection, str) and spec is None:
            raise InvalidPayload(f'Collection "{collection}" doesn\'t exist')
        if spec is not None and isinstance(data.get("fields"), str):
            for name in (f.strip() for f in data["fields"].split(",")):
                if name and name != "*" and name not in spec.fields and not _alias(spec, name):
                    raise InvalidPayload(f'Field "{name}" doesn\'t exist in "{collection}"')
        for name in ("permissions", "validation"):
            try:
                validate_filter_shape(data.get(name))
            except FilterError as exc:
                raise InvalidPayload(f'"{name}": {exc}') from None
        if data.get("presets") is not None and not isinstance(data["presets"], Mapping):
            raise InvalidPayload('"presets" has to be an object')
        return data


def _alias(spec: registry.CollectionSpec, name: str) -> bool:
    """Whether ``name`` is an alias field of a system collection (granted like any field)."""
    return any(alias.name == name for alias in aliases_of(spec.name))


class AccessService(SystemService):
    collection_name = ACCESS
    relations = ("role", "user", "policy")

    def check(self, data: Any, keys: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        if data.get("role") and data.get("user"):
            self._scope("create" if keys is None else "update")
            raise InvalidPayload("A policy can't be attached to a role and a user at once")
        if not self.acc.admin and self._grants_admin(data, keys):
            raise field_forbidden("policy", ACCESS)
        return data

    def _grants_admin(self, data: Mapping[str, Any], keys: Any) -> bool:
        """Whether the rows written would attach a policy with admin access (a non-admin may
        not: it would make someone an admin)."""
        self._scope("create" if keys is None else "update")
        if "policy" in data:
            try:
                return Policy.objects.filter(pk=data["policy"], admin_access=True).exists()
            except (ValueError, TypeError, ValidationError):
                return False  # a malformed key: the foreign-key check names it
        if keys is None:
            return False
        try:
            return Access.objects.filter(pk__in=list(keys), policy__admin_access=True).exists()
        except (ValueError, TypeError, ValidationError):
            return False
