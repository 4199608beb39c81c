"""The API's JSON renderer: DRF's output, encoded by orjson.

The bytes are the ones ``rest_framework.renderers.JSONRenderer`` writes for the same data
(compact separators, UTF-8, U+2028 and U+2029 escaped, dates and decimals through DRF's own
encoder), so clients see no difference; only the time to encode changes. What orjson cannot
encode (an integer beyond 64 bits, a non-string key, nesting past its limit) and a pretty-print
request (``Accept: application/json; indent=4``) go to DRF's renderer unchanged, and text
with a lone surrogate, which no UTF-8 encoder takes, is written with ``\\u`` escapes. One difference
is deliberate: a NaN or infinite float is written as ``null`` (valid JSON) where DRF raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()
_default = JSONEncoder().default


def encode(data: Any) -> bytes:
    """``data`` as compact JSON bytes, as DRF's renderer writes them; ``orjson.JSONEncodeError``
    (a ``TypeError``) for what orjson cannot encode."""
    out = orjson.dumps(data, default=_default, option=_OPTIONS)
    if b"\xe2\x80" in out:  # the first two bytes of U+2028 and U+2029 in UTF-8
        out = out.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return out


class FastJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                return encode(data)
            except orjson.JSONEncodeError:
                pass
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate (text stored by SQLite as it came): escaped as ``\udXXX``,
            # which is what ``JSON.stringify`` writes, instead of failing the response.
            return _ASCII.render(data, accepted_media_type, renderer_context)


class _AsciiJSONRenderer(JSONRenderer):
    ensure_ascii = True


_ASCII = _AsciiJSONRenderer()
