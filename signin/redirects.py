"""Where a person may be sent after signing in (contract sso.md §2.2, Directus's
``resolve-login-redirect``), for the login page and every redirect driver.

Decided from the configured ``PUBLIC_URL`` and allow-list only, never from the request's
``Host`` header (which a client chooses). The input is normalised as a WHATWG URL parser does
for special schemes (leading and trailing C0 controls and spaces trimmed, tabs and newlines
removed, ``\\`` read as ``/``), so what is checked is what a browser would follow."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urljoin, urlsplit

_DUMMY = "http://dummy.local"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SAFE = "/?#&=%:@!$'()*+,;~[]-._"


class RedirectRejected(ValueError):
    """The redirect target is not allowed (the message is the target)."""


def _normalise(value: str) -> str:
    trimmed = value.strip("".join(chr(c) for c in range(0x21)))
    return re.sub(r"[\t\n\r]", "", trimmed).replace("\\", "/")


def _origin_path(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower(), parts.path or "/"


def resolve_login_redirect(value: object, public_url: str, allow_list: Iterable[str] = ()) -> str:
    """The URL to redirect to, or :class:`RedirectRejected`.

    Empty → ``/``; a relative target resolves to a path on this server (``//host`` and other
    authority forms are rejected); an absolute one must be ``http(s)`` and either match an
    allow-list entry (exactly, or by origin and path, query ignored) or share ``PUBLIC_URL``'s
    scheme and host."""
    if value in (None, "", False, 0):
        return "/"
    if not isinstance(value, str):
        raise RedirectRejected(repr(value))
    if not public_url:
        raise RedirectRejected(value)
    target = _normalise(value)
    if not _SCHEME.match(target):
        return _relative(value, target)
    scheme, netloc, _path = _origin_path(target)
    if scheme not in ("http", "https") or not netloc:
        raise RedirectRejected(value)
    entries = [*allow_list, public_url] if allow_list else []
    for entry in entries:
        if target == entry or _origin_path(target) == _origin_path(entry):
            return target
    public = urlsplit(public_url)
    if public.scheme in ("http", "https") and (scheme, netloc) == (
        public.scheme.lower(),
        public.netloc.lower(),
    ):
        return target
    raise RedirectRejected(value)


def _relative(original: str, target: str) -> str:
    if target.startswith("//"):
        raise RedirectRejected(original)
    resolved = urlsplit(urljoin(_DUMMY + "/", target))
    if f"{resolved.scheme}://{resolved.netloc}" != _DUMMY:
        raise RedirectRejected(original)
    path = quote(resolved.path or "/", safe=_SAFE)
    query = (
        f"?{quote(resolved.query, safe=_SAFE)}" if resolved.query or target.endswith("?") else ""
    )
    fragment = f"#{quote(resolved.fragment, safe=_SAFE)}" if resolved.fragment else ""
    return path + query + fragment
