"""``/server/ping``, ``/server/health`` and ``/server/info`` (contract system-api.md).

``ping`` is a plain Django view (no DRF, no authentication: the benchmark baseline). ``health``
shapes the report of :mod:`system.health` by caller: the public is refused, a signed-in user
gets the status, an admin everything. ``info`` is Directus's ``serverInfo``.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.accountability import Accountability
from accounts.models import ProjectSettings
from api.authentication import request_accountability
from core.config import Config, RateLimit, Socket, WebSockets
from core.errors import Forbidden, RouteNotFound, error_response
from realtime.logs import LEVELS
from system.health import health_report

HEALTH_CONTENT_TYPE = "application/health+json"


def _release_id() -> str:
    try:
        return metadata.version("directus-auth-server")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0.0.0"


RELEASE_ID = _release_id()

# ------------------------------------------------------------------------------------- ping


def ping(request: HttpRequest) -> HttpResponse:
    """Liveness: no authentication, no database; any token, even a bad one, gets ``pong``."""
    return HttpResponse(b"pong", content_type="text/html; charset=utf-8")


class PingDescription(APIView):
    """The OpenAPI description of :func:`ping`, which serves the route without DRF (it is the
    benchmark baseline). drf-spectacular lists views that carry ``cls``/``initkwargs`` as
    ``APIView.as_view`` sets them; requests never reach this class."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(
        summary="Liveness",
        description="Answers `pong` before any authentication (a bad token still gets it).",
        auth=[],
        responses={(200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="`pong`")},
    )
    def get(self, request: Request) -> HttpResponse:
        return ping(request._request)


ping.cls = PingDescription  # type: ignore[attr-defined]
ping.initkwargs = {}  # type: ignore[attr-defined]

# ---------------------------------------------------------------------------------- health

_CHECK_ENTRY = inline_serializer(
    "HealthCheckEntry",
    {
        "status": serializers.ChoiceField(["ok", "warn", "error"]),
        "componentType": serializers.CharField(),
        "observedValue": serializers.FloatField(required=False),
        "observedUnit": serializers.CharField(required=False),
        "threshold": serializers.IntegerField(required=False),
        "output": serializers.CharField(required=False),
    },
)
_HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "warn", "error"]),
        "releaseId": serializers.CharField(required=False, help_text="Admins only."),
        "serviceId": serializers.CharField(required=False, help_text="Admins only: PUBLIC_URL."),
        "checks": serializers.DictField(
            child=serializers.ListField(child=_CHECK_ENTRY),
            required=False,
            help_text="Admins only: e.g. `sqlite3:responseTime`, `cache:responseTime`.",
        ),
    },
)


@extend_schema(
    summary="Health of the server and its dependencies",
    description=(
        "Signed-in users get the overall status; admins also get each check. The public gets "
        "403 FORBIDDEN. 404 when HEALTHCHECK_ENABLED=false."
    ),
    responses={
        (200, HEALTH_CONTENT_TYPE): _HEALTH,
        (503, HEALTH_CONTENT_TYPE): _HEALTH,
        403: OpenApiResponse(description="FORBIDDEN: no user signed in."),
        404: OpenApiResponse(description="ROUTE_NOT_FOUND: health checks are off."),
    },
)
@api_view(["GET"])
@permission_classes([])
def health(request: Request) -> HttpResponse:
    config = settings.DIRECTUS
    if not config.health.enabled:
        return error_response(RouteNotFound(request.path))
    acc = request_accountability(request)
    if acc.is_public:
        return error_response(Forbidden())
    report = health_report()
    body: dict[str, Any] = {"status": report["status"]}
    if acc.admin:
        body.update(
            releaseId=RELEASE_ID, serviceId=config.server.public_url, checks=report["checks"]
        )
    status = 503 if report["status"] == "error" else 200
    response = JsonResponse(body, status=status, content_type=HEALTH_CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    return response


# ------------------------------------------------------------------------------------ info

#: The ``directus_settings`` fields of ``project`` and their value when this server has no
#: column for them (Directus's defaults).
PROJECT_FIELDS: dict[str, str | None] = {
    "project_name": None,
    "project_descriptor": None,
    "project_logo": None,
    "project_color": None,
    "default_language": "en-US",
    "public_foreground": None,
    "public_background": None,
    "public_note": None,
    "custom_css": None,
}


def project_info() -> dict[str, Any]:
    row = ProjectSettings.current()
    return {name: getattr(row, name, default) for name, default in PROJECT_FIELDS.items()}


def server_info(acc: Accountability, config: Config) -> dict[str, Any]:
    """Directus's ``serverInfo``: the project for everyone; limits, sockets and the version for
    whoever is signed in; the logs socket for admins."""
    info: dict[str, Any] = {"project": project_info()}
    if acc.is_public:
        return info
    limits = config.limits
    info["rateLimit"] = _rate_limit(limits.api)
    info["rateLimitGlobal"] = _rate_limit(limits.global_)
    info["extensions"] = {"limit": None}
    info["queryLimit"] = {"default": limits.query_default, "max": limits.query_max}
    info["websocket"] = _websocket_info(config.websockets, acc.admin)
    info["version"] = RELEASE_ID
    return info


def _rate_limit(limit: RateLimit) -> dict[str, int] | bool:
    return {"points": limit.points, "duration": limit.duration_s} if limit.enabled else False


def _websocket_info(sockets: WebSockets, admin: bool) -> dict[str, Any] | bool:
    if not sockets.enabled:
        return False
    logs_level = LEVELS.get(sockets.logs_level, max(LEVELS.values()) + 1)  # "silent": none
    allowed = {name: value for name, value in LEVELS.items() if value >= logs_level}
    return {
        "rest": _socket_info(sockets.rest),
        "graphql": _socket_info(sockets.graphql),
        "heartbeat": sockets.heartbeat_period_s if sockets.heartbeat_enabled else False,
        "logs": {"allowedLogLevels": allowed} if sockets.logs.enabled and admin else False,
    }


def _socket_info(socket: Socket) -> dict[str, str] | bool:
    return {"authentication": socket.auth, "path": socket.path} if socket.enabled else False


@extend_schema(
    summary="Information about the project and this server",
    description=(
        "Everyone gets `project`; signed-in users also get the rate and query limits, the "
        "WebSocket endpoints and the version; admins also get the logs socket's levels."
    ),
    responses={
        200: inline_serializer(
            "ServerInfo",
            {
                "data": inline_serializer(
                    "ServerInfoData",
                    {
                        "project": serializers.DictField(),
                        "rateLimit": serializers.JSONField(required=False),
                        "rateLimitGlobal": serializers.JSONField(required=False),
                        "extensions": serializers.DictField(required=False),
                        "queryLimit": serializers.DictField(
                            child=serializers.IntegerField(), required=False
                        ),
                        "websocket": serializers.JSONField(required=False),
                        "version": serializers.CharField(required=False),
                    },
                )
            },
        )
    },
)
@api_view(["GET"])
@permission_classes([])
def info(request: Request) -> HttpResponse:
    return JsonResponse({"data": server_info(request_accountability(request), settings.DIRECTUS)})
