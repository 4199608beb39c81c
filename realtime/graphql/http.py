"""``POST /graphql`` and ``POST /graphql/system`` (and ``GET`` for queries): the schemas over
HTTP.

The caller is authenticated exactly as on every REST route (:func:`authenticate_request`:
Bearer header, ``?access_token=``, session cookie); a bad token is answered with the contract's
HTTP error envelope and status before GraphQL runs. Errors inside the operation are GraphQL
errors with ``extensions.code``. A body the sockets would refuse (nested deeper than
``MAX_JSON_DEPTH``, NUL, lone surrogates, integers of thousands of digits:
:func:`realtime.frames.parse`) is ``INVALID_PAYLOAD`` (400) before GraphQL runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from channels.db import database_sync_to_async
from cross_web import HTTPException
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import AsyncGraphQLView
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import Schema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from accounts.accountability import Accountability, public_accountability
from core.errors import (
    DirectusError,
    InvalidPayload,
    MethodNotAllowed,
    error_response,
)
from realtime import frames
from tokens.authentication import ACCOUNTABILITY_ATTR, authenticate_request
from tokens.cookies import clear_session_cookie
from tokens.sessions import SessionContext

from .context import GraphQLContext, HttpExchange, fixed_caller
from .errors import VALIDATION_CODE
from .schema import get_schema
from .system import get_system_schema


class GraphQLHTTPView(AsyncGraphQLView[GraphQLContext, None]):
    """strawberry's Django view with the project's context and error envelope."""

    async def get_context(self, request: HttpRequest, response: HttpResponse) -> GraphQLContext:
        acc = getattr(request, ACCOUNTABILITY_ATTR, None)
        if not isinstance(acc, Accountability):
            acc = public_accountability()
        return GraphQLContext(
            caller=fixed_caller(acc),
            client=SessionContext.of_request(request),
            http=HttpExchange(request.COOKIES, response),
        )

    def decode_json(self, data: str | bytes) -> object:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        parsed = frames.parse(text)
        if parsed is frames.NOT_JSON:
            raise json.JSONDecodeError("Invalid JSON", text, 0)
        if isinstance(parsed, frames.Refused):
            raise HTTPException(400, parsed.message)
        return parsed

    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return await self.run(request=request)
        except HTTPException as exc:
            return error_response(_http_error(request, exc))

    async def process_result(
        self, request: HttpRequest, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Errors before execution (syntax, validation) carry ``GRAPHQL_VALIDATION``."""
        response = await super().process_result(request, result)
        if result.data is None:
            for error in cast(list[dict[str, Any]], response.get("errors") or []):
                extensions = error.setdefault("extensions", {})
                extensions.setdefault("code", VALIDATION_CODE)
        return response


def _http_error(request: HttpRequest, exc: HTTPException) -> DirectusError:
    """strawberry's HTTP refusals as contract errors (a mutation over GET is 405, as in
    Directus)."""
    method = request.method or ""
    if exc.status_code == 405:
        return MethodNotAllowed(method, ["GET", "POST"])
    if isinstance(exc.__cause__, InvalidOperationTypeError) and method == "GET":
        return MethodNotAllowed(method, ["POST"])
    return InvalidPayload(exc.reason)


@cache
def _view(schema: Callable[[], Schema]) -> Any:
    return GraphQLHTTPView.as_view(schema=schema(), graphql_ide=None)


async def _serve(request: HttpRequest, schema: Callable[[], Schema]) -> HttpResponseBase:
    try:
        await database_sync_to_async(authenticate_request)(request)
    except DirectusError as error:
        response = error_response(error)
        if getattr(request, "clear_session_cookie", False):
            clear_session_cookie(response)
        return response
    return await _view(schema)(request)


@csrf_exempt
async def graphql_http(request: HttpRequest) -> HttpResponseBase:
    """The ``/graphql`` HTTP endpoint (see the module docstring)."""
    return await _serve(request, get_schema)


@csrf_exempt
async def graphql_system_http(request: HttpRequest) -> HttpResponseBase:
    """The ``/graphql/system`` HTTP endpoint (see the module docstring)."""
    return await _serve(request, get_system_schema)
