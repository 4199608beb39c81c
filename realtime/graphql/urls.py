"""``/graphql`` and ``/graphql/system`` over HTTP (included at the root by project/urls.py)."""

from __future__ import annotations

from django.urls import path

from .http import graphql_http, graphql_system_http

urlpatterns = [
    path("graphql", graphql_http, name="graphql"),
    path("graphql/system", graphql_system_http, name="graphql-system"),
]
