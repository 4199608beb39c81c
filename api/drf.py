"""DRF glue: the JSON parser and the one exception handler that renders the error envelope."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser

from core.errors import (
    ContentTooLarge,
    DirectusError,
    Forbidden,
    InternalServerError,
    InvalidPayload,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedMediaType,
    error_response,
)
from core.text import DEPTH_MESSAGE, NUL_MESSAGE, contains_nul, nested_deeper_than
from tokens.cookies import clear_session_cookie

logger = logging.getLogger("core.errors")


class StrictJSONParser(JSONParser):
    """JSON bodies only. A body that does not parse is ``INVALID_PAYLOAD`` with the parser's
    message as reason; anything oversized is ``CONTENT_TOO_LARGE``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            raw = stream.read() if stream is not None else b""
        except RequestDataTooBig:
            raise ContentTooLarge() from None
        if not raw.strip():
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidPayload("The body is not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise InvalidPayload(f"Unexpected token in JSON at position {exc.pos}") from None
        except RecursionError:
            raise InvalidPayload(DEPTH_MESSAGE) from None
        if nested_deeper_than(data):
            raise InvalidPayload(DEPTH_MESSAGE)
        if contains_nul(data):
            raise InvalidPayload(NUL_MESSAGE)
        return data


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """An ``Accept`` header the view cannot satisfy gets the view's first renderer (JSON for
    the API), as Directus answers: never a 406, never a 500. Views with several renderers
    (the OpenAPI schema's ``?format=json``) still negotiate as usual."""

    def select_renderer(
        self, request: Any, renderers: Any, format_suffix: Any = None
    ) -> tuple[Any, str]:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except drf.NotAcceptable:
            renderer = renderers[0]
            return renderer, renderer.media_type


def as_directus_error(exc: Exception) -> DirectusError | None:
    """Translate framework exceptions into contract errors; ``None`` for unexpected ones."""
    if isinstance(exc, DirectusError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return ContentTooLarge()
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType(str(getattr(exc, "media_type", "") or "") or None)
    if isinstance(exc, drf.MethodNotAllowed):
        return MethodNotAllowed(str(exc.args[0]) if exc.args else "", [])
    if isinstance(exc, drf.ParseError):
        return InvalidPayload(str(exc.detail))
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed | drf.PermissionDenied):
        return Forbidden()
    if isinstance(exc, PermissionDenied):
        return Forbidden()
    if isinstance(exc, Http404 | drf.NotFound):
        return Forbidden()
    if isinstance(exc, drf.ValidationError):
        return InvalidPayload(_first_message(exc.detail))
    return None


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            return f'"{key}" {_first_message(value)}'
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    error = as_directus_error(exc)
    if isinstance(exc, drf.MethodNotAllowed):
        view = context.get("view")
        request = context.get("request")
        allowed = [m for m in getattr(view, "allowed_methods", []) if m not in {"OPTIONS", "HEAD"}]
        error = MethodNotAllowed(getattr(request, "method", ""), allowed)
    if isinstance(exc, drf.UnsupportedMediaType):
        request = context.get("request")
        media_type = getattr(request, "content_type", "") or ""
        error = UnsupportedMediaType(media_type.split(";")[0].strip() or None)
    if error is None:
        logger.exception("Unexpected error while serving a request")
        error = InternalServerError()
    response = error_response(error)
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    if getattr(django_request, "clear_session_cookie", False):
        clear_session_cookie(response)
    return response


def not_found(request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
    return error_response(RouteNotFound(request.path))
