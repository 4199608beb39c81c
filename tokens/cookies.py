"""The refresh and session cookies (contract http-auth.md §6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from django.conf import settings
from django.http import HttpResponse

from core.config import Cookie

if TYPE_CHECKING:
    from tokens.issue import IssuedTokens

SameSite = Literal["Lax", "Strict", "None"]


def _same_site(cookie: Cookie) -> SameSite:
    return cast(SameSite, cookie.same_site.capitalize())


def _set(response: HttpResponse, cookie: Cookie, value: str) -> None:
    response.set_cookie(
        cookie.name,
        value,
        max_age=cookie.ttl_ms // 1000,
        path="/",
        domain=cookie.domain,
        secure=cookie.secure,
        httponly=True,
        samesite=_same_site(cookie),
    )


def _clear(response: HttpResponse, cookie: Cookie) -> None:
    response.delete_cookie(cookie.name, path="/", domain=cookie.domain, samesite=_same_site(cookie))
    response.cookies[cookie.name]["httponly"] = True
    if cookie.secure:
        response.cookies[cookie.name]["secure"] = True


def refresh_cookie() -> Cookie:
    return settings.DIRECTUS.tokens.refresh_cookie


def session_cookie() -> Cookie:
    return settings.DIRECTUS.tokens.session_cookie


def set_refresh_cookie(response: HttpResponse, token: str) -> None:
    _set(response, refresh_cookie(), token)


def set_session_cookie(response: HttpResponse, jwt: str) -> None:
    _set(response, session_cookie(), jwt)


def clear_refresh_cookie(response: HttpResponse) -> None:
    _clear(response, refresh_cookie())


def clear_session_cookie(response: HttpResponse) -> None:
    _clear(response, session_cookie())


def token_data(issued: IssuedTokens) -> dict[str, Any]:
    """What a login or refresh answers, by mode (contract §7.1): ``session`` only
    ``expires``, ``cookie`` also the access token, ``json`` both tokens."""
    if issued.mode == "session":
        return {"expires": issued.expires_ms}
    if issued.mode == "cookie":
        return {"expires": issued.expires_ms, "access_token": issued.access_token}
    return {
        "expires": issued.expires_ms,
        "refresh_token": issued.refresh_token,
        "access_token": issued.access_token,
    }


def set_token_cookie(response: HttpResponse, issued: IssuedTokens) -> None:
    """The cookie of a login or refresh, by mode: the session cookie (``session``), the
    refresh cookie (``cookie``), none (``json``)."""
    if issued.mode == "session":
        set_session_cookie(response, issued.access_token)
    elif issued.mode == "cookie":
        set_refresh_cookie(response, issued.refresh_token)
