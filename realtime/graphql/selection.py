"""GraphQL selections → the items service's ``fields`` (``author { email }`` →
``author.email``), so a query reads, and is permission-checked on, exactly what it asks for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import SelectedField, Selection


def service_fields(selections: Iterable[Selection]) -> tuple[str, ...]:
    """Dotted field paths of ``selections`` (fragments flattened, ``__typename`` skipped)."""
    paths: list[str] = []
    for selection in selections:
        if not isinstance(selection, SelectedField):
            paths.extend(service_fields(selection.selections))
        elif not selection.name.startswith("__"):
            paths.extend(_paths(selection))
    return tuple(dict.fromkeys(paths))


def _paths(selection: SelectedField) -> list[str]:
    if not selection.selections:
        return [selection.name]
    children = service_fields(selection.selections) or ("*",)
    return [f"{selection.name}.{child}" for child in children]


def root_fields(info: Any) -> tuple[str, ...]:
    """The fields selected under the resolver's own field."""
    return service_fields(info.selected_fields[0].selections)


def child_fields(info: Any, name: str) -> tuple[str, ...]:
    """The fields selected under ``name`` of the resolver's field (``data`` of an event)."""
    selected = [s for s in _flatten(info.selected_fields[0].selections) if s.name == name]
    return service_fields(child for s in selected for child in s.selections)


def _flatten(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _flatten(selection.selections)
