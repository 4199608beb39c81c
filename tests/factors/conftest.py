"""The second-factor fixtures (tests.support.factors) for every test here."""

from __future__ import annotations

from tests.support.factors import enrol, person

__all__ = ["enrol", "person"]
