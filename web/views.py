"""HTML sign-in pages for people: no JavaScript needed, CSRF-protected, session mode.

A successful sign-in sets the session cookie (the same one ``POST /auth/login`` with
``mode: "session"`` sets) and redirects to ``redirect`` when it is allowed: a path on this
server, an URL under ``PUBLIC_URL``, or one listed in ``LOGIN_REDIRECT_ALLOW_LIST``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import DEFAULT_PROVIDER, User
from core.errors import DirectusError, InvalidCredentials, InvalidOtp, RequestsExceeded
from signin.drivers import configured, provider
from signin.flow import sign_in, stalled
from signin.payload import LoginPayload, valid_email
from signin.redirects import RedirectRejected, resolve_login_redirect
from signin.refresh import PresentedToken, logout
from tokens.authentication import authenticate_request
from tokens.cookies import clear_session_cookie, set_session_cookie
from tokens.sessions import SessionContext

GENERIC_ERROR = "The email or password is not right."


def allowed_redirect(target: str | None) -> str | None:
    """``target`` if it is safe to send a signed-in person to (:mod:`signin.redirects`: from
    ``PUBLIC_URL`` and ``LOGIN_REDIRECT_ALLOW_LIST``, never the ``Host`` header), else None."""
    if not target:
        return None
    config = settings.DIRECTUS
    try:
        return resolve_login_redirect(
            target, config.server.public_url, config.auth.login_redirect_allow_list
        )
    except RedirectRejected:
        return None


def _context(request: HttpRequest) -> SessionContext:
    return SessionContext.of_request(request)


def _form(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "redirect": request.POST.get("redirect") or request.GET.get("redirect", ""),
        "email": request.POST.get("email", ""),
        "providers": _redirect_providers(),
        **extra,
    }
    return render(request, "accounts/login.html", context, status=status)


def _redirect_providers() -> list[dict[str, str]]:
    """A button per provider that signs in through a browser redirect (SSO)."""
    return [
        {"url": f"/auth/login/{driver.name}", "label": driver.provider.label or driver.name}
        for driver in configured()
        if driver.redirects
    ]


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form(request)
    email = request.POST.get("email", "").strip()
    payload = LoginPayload(
        identifier=email,
        password=request.POST.get("password", ""),
        mode="session",
        otp=request.POST.get("otp") or None,
    )
    try:
        if not valid_email(email) or not payload.password:
            with stalled():
                raise InvalidCredentials()
        issued = sign_in(provider(DEFAULT_PROVIDER), payload, _context(request))
    except RequestsExceeded:
        return _form(request, 429, error="Too many sign-in attempts. Try again in a minute.")
    except InvalidOtp:
        return _form(request, 401, error="Enter the one-time code from your app.", ask_otp=True)
    except DirectusError:
        return _form(request, 401, error=GENERIC_ERROR)
    target = allowed_redirect(request.POST.get("redirect")) or reverse("account-page")
    response = HttpResponseRedirect(target)
    set_session_cookie(response, issued.access_token)
    return response


@never_cache
def account_page(request: HttpRequest) -> HttpResponse:
    """Who is signed in through the session cookie; sends others to the sign-in page."""
    try:
        acc = authenticate_request(request)
    except DirectusError:
        acc = None
    user = User.objects.filter(pk=acc.user).first() if acc and acc.user else None
    if user is None:
        response = HttpResponseRedirect(reverse("login-page"))
        clear_session_cookie(response)
        return response
    return render(request, "accounts/account.html", {"user_email": user.email})


@csrf_protect
@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    try:
        acc = authenticate_request(request)
    except DirectusError:
        acc = None
    if acc is not None and acc.session:
        logout(PresentedToken("session", session_id=acc.session), _context(request))
    response = HttpResponseRedirect(reverse("login-page"))
    clear_session_cookie(response)
    return response
