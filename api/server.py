"""``/server/ping`` and ``/server/health``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request

from api.authentication import request_accountability


def ping(request: HttpRequest) -> HttpResponse:
    """Liveness: answers before authentication, like Directus."""
    return HttpResponse("pong", content_type="text/plain; charset=utf-8")


def _check(name: str, probe: Callable[[], None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:
        return {"status": "error", "output": f"{name}: {type(exc).__name__}"}
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return {"status": "ok", "componentType": name, "observedValue": elapsed, "observedUnit": "ms"}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value it stored")
    cache.delete(key)


def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.check"})
        message = await layer.receive(channel)
        if message.get("type") != "health.check":
            raise RuntimeError("channel layer returned another message")

    async_to_sync(round_trip)()


def health_report() -> tuple[str, dict[str, list[dict[str, Any]]]]:
    db_kind = "pg" if settings.DIRECTUS.database.client == "pg" else "sqlite3"
    cache_kind = "redis" if settings.DIRECTUS.redis else "memory"
    checks = {
        f"{db_kind}:responseTime": [_check("datastore", _database)],
        f"{cache_kind}:cache": [_check("cache", _cache)],
        f"{cache_kind}:channelLayer": [_check("bus", _channel_layer)],
    }
    failed = any(entry["status"] != "ok" for entries in checks.values() for entry in entries)
    return ("error" if failed else "ok"), checks


@extend_schema(
    summary="Health of the server and its dependencies",
    description="Everyone gets the overall status; admins also get each check.",
    responses={
        200: inline_serializer("Health", {"status": serializers.CharField()}),
        503: inline_serializer("HealthFailed", {"status": serializers.CharField()}),
    },
)
@api_view(["GET"])
@permission_classes([])
def health(request: Request) -> HttpResponse:
    status, checks = health_report()
    body: dict[str, Any] = {"status": status}
    if request_accountability(request).admin:
        body["checks"] = checks
    response = JsonResponse(body, status=200 if status == "ok" else 503)
    response["Content-Type"] = "application/health+json"
    response["Cache-Control"] = "no-cache"
    return response
