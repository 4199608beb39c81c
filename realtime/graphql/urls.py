"""``/graphql`` over HTTP (included at the root by project/urls.py)."""

from __future__ import annotations

from django.urls import path

from .http import graphql_http

urlpatterns = [path("graphql", graphql_http, name="graphql")]
