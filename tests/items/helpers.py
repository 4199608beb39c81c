"""Expected error bodies of the items API."""

from __future__ import annotations

from typing import Any


def forbidden(message: str | None = None) -> dict[str, Any]:
    """The FORBIDDEN envelope; with a message it is also the reason."""
    if message is None:
        extensions: dict[str, Any] = {"code": "FORBIDDEN"}
        message = "You don't have permission to access this."
    else:
        extensions = {"reason": message, "code": "FORBIDDEN"}
    return {"errors": [{"message": message, "extensions": extensions}]}


def no_collection(collection: str = "articles", action: str = "read") -> dict[str, Any]:
    if action == "read":
        return forbidden(
            f'You don\'t have permission to access collection "{collection}" '
            "or it does not exist. Queried in root."
        )
    return forbidden(
        f'You don\'t have permission to perform "{action}" for collection "{collection}" '
        "or it does not exist."
    )


def no_field(field: str, collection: str = "articles", where: str = "root") -> dict[str, Any]:
    return forbidden(
        f'You don\'t have permission to access field "{field}" in collection "{collection}" '
        f"or it does not exist. Queried in {where}."
    )


def error(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {**extensions, "code": code}}]}


def invalid_payload(reason: str) -> dict[str, Any]:
    return error("INVALID_PAYLOAD", f"Invalid payload. {reason}.", reason=reason)


def invalid_query(reason: str) -> dict[str, Any]:
    return error("INVALID_QUERY", f"Invalid query. {reason}.", reason=reason)
