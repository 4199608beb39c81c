"""Contract errors as GraphQL errors: ``extensions.code`` is the contract code
(``FORBIDDEN``, ``INVALID_QUERY``, …), the other extensions are the error's own, as in the
HTTP envelope (project/errors.py). Unexpected exceptions are masked and logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from core.errors import DirectusError, InternalServerError

logger = logging.getLogger("realtime.graphql")
T = TypeVar("T")
VALIDATION_CODE = "GRAPHQL_VALIDATION"


def graphql_error(error: DirectusError) -> GraphQLError:
    """The GraphQL form of a contract error."""
    return GraphQLError(error.message, extensions=error.as_dict()["extensions"])


async def call_service(function: Callable[..., T], *args: Any) -> T:
    """Run a synchronous service call off the event loop; contract errors become GraphQL
    errors with their code."""
    try:
        return await database_sync_to_async(function)(*args)
    except DirectusError as error:
        raise graphql_error(error) from None


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Log the errors that are not contract or GraphQL errors (client errors are not logged)."""
    for error in errors:
        if is_unexpected(error):
            logger.error("GraphQL resolver failed", exc_info=error.original_error)


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | DirectusError)


class MaskUnexpectedErrors(MaskErrors):
    """Hide the text of unexpected exceptions: ``INTERNAL_SERVER_ERROR``."""

    def __init__(self) -> None:
        super().__init__(is_unexpected, InternalServerError.default_message)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": InternalServerError.code}
        return masked


class ValidationErrorCodes(SchemaExtension):
    """Errors found before execution (syntax, token, depth and cost limits, unknown fields)
    carry ``extensions.code`` ``GRAPHQL_VALIDATION`` on every transport, the socket's
    ``error`` messages included (HTTP also sets it in :mod:`realtime.graphql.http`)."""

    def on_parse(self) -> Iterator[None]:
        yield
        self._code()

    def on_validate(self) -> Iterator[None]:
        yield
        self._code()

    def _code(self) -> None:
        for error in self.execution_context.pre_execution_errors or ():
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": VALIDATION_CODE}
