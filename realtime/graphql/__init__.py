"""GraphQL over the items collections: ``POST /graphql`` (HTTP) and the ``/graphql`` WebSocket
(``graphql-transport-ws``), one strawberry schema built from :mod:`items.registry`.

Every read and write goes through :class:`items.service.ItemsService` under the caller's
accountability, so GraphQL grants exactly what ``/items`` grants (contract websockets.md §10).
"""
