"""Errors are values with codes: one class per contract code, one renderer for every transport.

The envelope (contract http-auth.md §2)::

    {"errors": [{"message": "...", "extensions": {<extension fields>..., "code": "..."}}]}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import HttpRequest, JsonResponse

logger = logging.getLogger("core.errors")


class DirectusError(Exception):
    """Base class: a contract error code with its HTTP status and extensions."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "An unexpected error occurred."
    #: Pad the response to LOGIN_STALL_TIME (failures that must not be told apart by timing).
    stall: bool = False

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        self.extensions = extensions
        self.message = message or self.build_message()
        super().__init__(self.message)

    def build_message(self) -> str:
        return self.default_message

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {**self.extensions, "code": self.code}}

    def headers(self) -> Mapping[str, str]:
        return {}


class _ReasonError(DirectusError):
    """Errors whose message is ``<prefix> <reason>.`` and which carry ``reason``."""

    prefix: ClassVar[str] = ""

    def __init__(self, reason: str) -> None:
        super().__init__(None, reason=reason.rstrip("."))

    def build_message(self) -> str:
        return f"{self.prefix} {self.extensions['reason']}."


class InvalidPayload(_ReasonError):
    code, status, prefix = "INVALID_PAYLOAD", 400, "Invalid payload."


class InvalidQuery(_ReasonError):
    code, status, prefix = "INVALID_QUERY", 400, "Invalid query."


class FailedValidation(DirectusError):
    code, status = "FAILED_VALIDATION", 400

    def __init__(self, field: str, type: str, detail: str, **extra: Any) -> None:
        self.detail = detail
        super().__init__(None, field=field, type=type, **extra)

    def build_message(self) -> str:
        return f'Validation failed for field "{self.extensions["field"]}". {self.detail}'


class RecordNotUnique(DirectusError):
    code, status = "RECORD_NOT_UNIQUE", 400

    def build_message(self) -> str:
        e = self.extensions
        return (
            f'Value "{e.get("value")}" for field "{e.get("field")}" in collection '
            f'"{e.get("collection")}" has to be unique.'
        )


class InvalidInvite(DirectusError):
    code, status, default_message = "INVALID_INVITE", 400, "This invite is no longer valid."


class InvalidCredentials(DirectusError):
    code, status, default_message = "INVALID_CREDENTIALS", 401, "Invalid user credentials."


class InvalidOtp(DirectusError):
    code, status, default_message = "INVALID_OTP", 401, "Invalid user OTP."


class TokenExpired(DirectusError):
    code, status, default_message = "TOKEN_EXPIRED", 401, "Token expired."


class UserSuspended(DirectusError):
    code, status, default_message = "USER_SUSPENDED", 401, "User suspended."


class InvalidIp(DirectusError):
    code, status, default_message = "INVALID_IP", 401, "Invalid IP address."


class InvalidToken(DirectusError):
    code, status, default_message = "INVALID_TOKEN", 403, "Invalid token."


class Forbidden(DirectusError):
    code, status, default_message = "FORBIDDEN", 403, "You don't have permission to access this."

    def __init__(self, reason: str | None = None) -> None:
        if reason:
            super().__init__(reason, reason=reason)
        else:
            super().__init__()


class InvalidProvider(DirectusError):
    code, status, default_message = "INVALID_PROVIDER", 403, "Invalid provider."


class LimitExceeded(DirectusError):
    code, status = "LIMIT_EXCEEDED", 403

    def build_message(self) -> str:
        return f"{self.extensions.get('category', 'Usage')} limit exceeded."


class RouteNotFound(DirectusError):
    code, status = "ROUTE_NOT_FOUND", 404

    def __init__(self, path: str) -> None:
        super().__init__(f"Route {path} doesn't exist.", path=path)


class MethodNotAllowed(DirectusError):
    code, status = "METHOD_NOT_ALLOWED", 405

    def __init__(self, current: str, allowed: list[str]) -> None:
        quoted = ", ".join(f'"{m}"' for m in allowed)
        super().__init__(
            f'Invalid method "{current}" used. Should be one of {quoted}.',
            allowed=allowed,
            current=current,
        )

    def headers(self) -> Mapping[str, str]:
        return {"Allow": ", ".join(self.extensions["allowed"])}


class UnsupportedMediaType(DirectusError):
    code, status = "UNSUPPORTED_MEDIA_TYPE", 415

    def __init__(self, media_type: str | None = None) -> None:
        shown = media_type or "(none)"
        super().__init__(
            f'Unsupported media type "{shown}". Send application/json.', media_type=shown
        )


class ContentTooLarge(DirectusError):
    code, status, default_message = "CONTENT_TOO_LARGE", 413, "Uploaded content is too large."


class UnprocessableContent(_ReasonError):
    code, status, prefix = "UNPROCESSABLE_CONTENT", 422, "Can't process content."


class RequestsExceeded(DirectusError):
    code, status = "REQUESTS_EXCEEDED", 429

    def __init__(self, limit: int, reset_iso: str, retry_after_ms: int) -> None:
        self.retry_after_ms = max(retry_after_ms, 0)
        super().__init__(None, limit=limit, reset=reset_iso)

    def build_message(self) -> str:
        ms = self.retry_after_ms
        human = f"{ms}ms" if ms < 1000 else f"{round(ms / 1000)}s"
        return f"Too many requests, retry after {human}."

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(max(1, round(self.retry_after_ms / 1000)))}


class InternalServerError(DirectusError):
    pass


class InvalidProviderConfig(DirectusError):
    code, status, default_message = "INVALID_PROVIDER_CONFIG", 503, "Invalid config."

    def __init__(self, provider: str, reason: str | None = None) -> None:
        extensions: dict[str, Any] = {"provider": provider}
        if reason:
            extensions["reason"] = reason
        super().__init__(None, **extensions)


class UnexpectedResponse(DirectusError):
    code, status, default_message = "UNEXPECTED_RESPONSE", 503, "Received an unexpected response."


class ServiceUnavailable(DirectusError):
    code, status = "SERVICE_UNAVAILABLE", 503

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(
            f'Service "{service}" is unavailable. {reason.rstrip(".")}.',
            service=service,
            reason=reason,
        )


def error_response(*errors: DirectusError) -> JsonResponse:
    """Render one or more errors; mixed statuses collapse to 500 as in the contract."""
    statuses = {error.status for error in errors}
    status = statuses.pop() if len(statuses) == 1 else 500
    response = JsonResponse({"errors": [error.as_dict() for error in errors]}, status=status)
    for error in errors:
        for name, value in error.headers().items():
            response[name] = value
    response["Cache-Control"] = "no-cache"
    return response


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(RouteNotFound(request.path))


def handler500(request: HttpRequest) -> JsonResponse:
    return error_response(InternalServerError())


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(InvalidPayload("The request could not be understood"))


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(Forbidden())
