"""The system services: the items service for the access model's collections
(``directus_users``, ``directus_roles``, ``directus_policies``, ``directus_permissions``,
``directus_access``) with the rules the Directus services add on top. Every transport (REST,
``/graphql/system``, sockets) gets its service from :func:`service_for`, so each rule is
written once. This layer sits above tokens and below the transports."""

from system import access_model, users  # noqa: F401 - each defines and registers its services
