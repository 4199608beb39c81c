"""Links mailed to people: which client-given base URLs are allowed, and the link itself.

One rule for both flows (contract http-auth.md §7.5, §7.10; Directus
api/src/utils/is-url-allowed.ts): a URL is allowed when it is one of the allow list's entries
exactly, or has the same origin (scheme, host, port) and path as one, whatever its query and
fragment. Directus compares host and path only, so ``http://`` would pass for an ``https://``
entry; here the scheme and port must match too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from accounts.models import AuthEventKind, AuthOutcome, ProjectSettings, User
from core.mail import send_template
from tokens.sessions import SessionContext


def _origin_and_path(url: str) -> tuple[str, str, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, f"{parts.hostname.lower()}:{port or default}", parts.path or "/"


def url_allowed(url: str, allow_list: Iterable[str]) -> bool:
    """Whether ``url`` may be used as the base of a mailed link (see the module docstring)."""
    entries = list(allow_list)
    if url in entries:
        return True
    wanted = _origin_and_path(url)
    return wanted is not None and any(_origin_and_path(entry) == wanted for entry in entries)


def with_token(base: str, token: str) -> str:
    """``base`` with ``token=<token>`` in its query (added to a query it already has)."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def default_base(public_url: str, path: str) -> str:
    """``PUBLIC_URL`` + ``path`` (``/admin/reset-password``, ``/admin/accept-invite``)."""
    return public_url.rstrip("/") + path


def mail_link(
    user: User,
    url: str,
    *,
    template: str,
    subject: str,
    event: AuthEventKind,
    context: SessionContext,
    **details: Any,
) -> None:
    """Mail ``user`` the link ``url`` with ``template``; ``event`` is recorded only when the mail
    was handed to the sender (not dropped by a mail limit)."""
    email = user.email or ""
    mailed = send_template(
        template,
        email,
        subject,
        {"url": url, "email": email, "project_name": ProjectSettings.current().project_name},
    )
    if mailed:
        context.audit(event, AuthOutcome.SUCCESS, user=user, identifier=email, **details)
