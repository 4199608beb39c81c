"""The contract's FORBIDDEN answers for the permission engine (access-model §5.2): a missing
collection and a forbidden one read alike, and so do a missing field and a forbidden one, so
no answer tells a caller what exists that they may not see."""

from __future__ import annotations

from core.errors import Forbidden


def collection_forbidden(collection: str, action: str) -> Forbidden:
    """No row for this collection/action, or no such collection (existence never leaks)."""
    if action == "read":
        return Forbidden(
            f'You don\'t have permission to access collection "{collection}" '
            "or it does not exist. Queried in root."
        )
    return Forbidden(
        f'You don\'t have permission to perform "{action}" for collection "{collection}" '
        "or it does not exist."
    )


def field_forbidden(field: str, collection: str, path: tuple[str, ...] = ()) -> Forbidden:
    """A field no row grants, or no such field; ``path`` is where it was queried from."""
    where = f'"{".".join(path)}"' if path else "root"
    return Forbidden(
        f'You don\'t have permission to access field "{field}" in collection "{collection}" '
        f"or it does not exist. Queried in {where}."
    )


def item_forbidden() -> Forbidden:
    """A missing item, or one the caller may not see or change: the generic message."""
    return Forbidden()
