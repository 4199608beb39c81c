"""Form fields of the admin."""

from __future__ import annotations

from typing import Any

from django import forms


class OptionalJSONField(forms.JSONField):
    """A nullable JSON column whose help text says "empty means …": ``None`` shows as an empty
    box (not ``null``), and an empty box saves ``None``."""

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        return super().prepare_value(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if data in (None, ""):
            return None
        return super().bound_data(data, initial)
