"""Text and JSON input the server refuses at the edge, whatever the transport.

NUL: text that no database here can store the same way.

PostgreSQL refuses the NUL character (``\\u0000``) in ``text`` and ``jsonb`` values, while
SQLite stores it. Input holding it is refused at the edge, with the caller's error code, so the
answer is a 400 on every database instead of a server error on one of them."""

from __future__ import annotations

from typing import Any

NUL = "\x00"
NUL_MESSAGE = "Text can't contain the NUL character (\\u0000)"


def contains_nul(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (dict keys included) holds the NUL character."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


#: The deepest nesting a JSON document may have (bodies, socket frames, filters in JSON).
MAX_JSON_DEPTH = 64
DEPTH_MESSAGE = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def nested_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests lists and objects deeper than ``limit``; walks with
    an explicit stack, so a hostile document cannot exhaust the interpreter's recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False
