"""Frames are the text ``json.dumps(frame, default=str, separators=(",", ":"),
ensure_ascii=False)`` writes, whichever encoder writes them."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import pytest

from realtime.frames import dumps

UTC = datetime.UTC

FRAMES = [
    {
        "type": "subscription",
        "event": "create",
        "data": [{"id": 1, "title": "café ✓"}],
        "uid": "s1",
    },
    {"type": "ping"},
    {"data": {"at": datetime.datetime(2026, 12, 4, 8, 30, 1, 5, tzinfo=UTC)}},
    {"data": {"day": datetime.date(2026, 12, 4), "price": decimal.Decimal("1.10")}},
    {"data": {"id": uuid.UUID("8f2a3c8e-5b7d-4c1e-9a0b-1c2d3e4f5a6b"), "f": 0.1, "n": None}},
    {"data": {"big": 2**70}},
    {"data": {"lone": "a\ud800"}},
    {"data": {1: "integer key"}},
    {"uid": 7, "text": 'line\u2028separator "q" \\ \n'},
]


def _reference(frame: Any) -> str:
    return json.dumps(frame, default=str, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("frame", FRAMES, ids=range(len(FRAMES)))
def test_same_text_as_json_dumps(frame: Any) -> None:
    assert dumps(frame) == _reference(frame)
