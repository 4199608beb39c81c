"""Request-wide middleware: request ids, payload limits, CORS."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.errors import ContentTooLarge, error_response
from core.logging import request_id_var

logger = logging.getLogger("project.request")


class RequestContextMiddleware:
    """Assigns a request id (``X-Request-Id``), rejects oversized bodies early, logs failures."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _safe_request_id(request.META.get("HTTP_X_REQUEST_ID")) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self._respond(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = request_id
        return response

    def _respond(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DIRECTUS.max_payload_size:
            return error_response(ContentTooLarge())
        return self.get_response(request)


def _safe_request_id(value: str | None) -> str | None:
    if value and len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None


class CorsMiddleware:
    """CORS as Directus configures it (``CORS_*``). Off unless ``CORS_ENABLED=true``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.config = settings.DIRECTUS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.META.get("HTTP_ORIGIN")
        allowed = self._allowed_origin(origin) if self.config.cors_enabled and origin else None
        if (
            allowed
            and request.method == "OPTIONS"
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META
        ):
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ",".join(self.config.cors_methods)
            response["Access-Control-Allow-Headers"] = ",".join(self.config.cors_allowed_headers)
            response["Access-Control-Max-Age"] = str(self.config.cors_max_age)
        else:
            response = self.get_response(request)
        if allowed:
            response["Access-Control-Allow-Origin"] = allowed
            response["Vary"] = "Origin"
            if self.config.cors_credentials:
                response["Access-Control-Allow-Credentials"] = "true"
            if self.config.cors_exposed_headers:
                response["Access-Control-Expose-Headers"] = ",".join(
                    self.config.cors_exposed_headers
                )
        return response

    def _allowed_origin(self, origin: str) -> str | None:
        setting = self.config.cors_origin.strip()
        if setting.lower() == "true":
            return origin
        if setting.lower() in {"false", ""}:
            return None
        if setting == "*":
            return "*"
        allowed = {part.strip().rstrip("/") for part in setting.split(",")}
        return origin if origin.rstrip("/") in allowed else None
