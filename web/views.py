"""HTML sign-in pages for people: no JavaScript needed, CSRF-protected, session mode.

A successful sign-in sets the session cookie (the same one ``POST /auth/login`` with
``mode: "session"`` sets) and redirects to ``redirect`` when it is allowed: a path on this
server, an URL under ``PUBLIC_URL``, or one listed in ``LOGIN_REDIRECT_ALLOW_LIST``.

A user with a second factor signs in in two steps: the right password leaves the sign-in
pending (:mod:`web.pending`) and sends the browser to ``/login/verify``
(:mod:`web.factor_views`) for a code or a passkey. A form that posts ``otp`` with the password
(the one-form path of API-style clients) is still answered in one step."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.accountability import accountability_for_user
from accounts.models import DEFAULT_PROVIDER, User
from core.errors import DirectusError, InvalidCredentials, InvalidOtp, RequestsExceeded
from factors import recovery
from factors.enrolled import has_passkey, has_totp
from oauth.models import Consent
from signin.drivers import configured, provider
from signin.drivers.redirect import RedirectDriver
from signin.flow import SecondFactorRequired, sign_in, stalled
from signin.payload import LoginPayload, valid_email
from signin.redirects import RedirectRejected, resolve_login_redirect
from signin.refresh import PresentedToken, logout
from tokens.authentication import authenticate_request
from tokens.cookies import clear_session_cookie, set_session_cookie
from tokens.issue import IssuedTokens
from tokens.models import RefreshSession
from tokens.sessions import SessionContext
from web import pending

GENERIC_ERROR = "The email or password is not right."
TOO_MANY = "Too many sign-in attempts. Try again in a minute."


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


#: What the login page says when a single sign-on came back with ``?reason=<CODE>``.
SSO_REASONS = {
    "INVALID_CREDENTIALS": "That sign-in did not work. Try again, or use another way to sign in.",
    "INVALID_PROVIDER": "An account with this e-mail address already exists. Sign in as usual.",
    "INVALID_TOKEN": "The sign-in expired or was already used. Try again.",
    "SERVICE_UNAVAILABLE": "The identity provider is not answering. Try again in a moment.",
    "REQUESTS_EXCEEDED": TOO_MANY,
    "USER_SUSPENDED": "This account is suspended.",
}


def _form(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    redirect = request.POST.get("redirect") or request.GET.get("redirect", "")
    providers = _redirect_providers(redirect)
    context = {
        "redirect": redirect,
        "email": request.POST.get("email", "") if not request.POST.get("provider") else "",
        "providers": providers,
        "directories": _credential_providers(request),
        **_sso_outcome(request, providers),
        **extra,
    }
    return render(request, "accounts/login.html", context, status=status)


def _redirect_providers(redirect: str) -> list[dict[str, Any]]:
    """A button per provider that signs in through a browser redirect (SSO), in the order
    configured, with its label and icon; one that is known not to answer is marked."""
    query = f"?{urlencode({'redirect': redirect})}" if allowed_redirect(redirect) else ""
    return [
        {
            "name": driver.name,
            "url": f"/auth/login/{driver.name}{query}",
            "label": driver.provider.label or driver.name,
            "icon": driver.provider.icon,
            "available": driver.available(),
        }
        for driver in configured()
        if isinstance(driver, RedirectDriver)
    ]


def _credential_providers(request: HttpRequest) -> list[dict[str, Any]]:
    """A form per provider that takes a name and a password here (``ldap``, extra ``local``
    providers), in the order configured; the one just tried keeps its name and asks for the
    one-time code when the user has a second factor."""
    tried = request.POST.get("provider", "")
    return [
        {
            "name": driver.name,
            "label": driver.provider.label or driver.name,
            "icon": driver.provider.icon,
            "identifier": request.POST.get("identifier", "")[:256] if tried == driver.name else "",
            "tried": tried == driver.name,
        }
        for driver in configured()
        if not isinstance(driver, RedirectDriver)
    ]


def _sso_outcome(request: HttpRequest, providers: list[dict[str, Any]]) -> dict[str, Any]:
    """The error of a single sign-on that came back here (``?reason=&provider=``); for
    ``INVALID_OTP`` a code form that starts that provider again with the code."""
    reason, name = request.GET.get("reason", ""), request.GET.get("provider", "")
    if not reason or request.method != "GET":
        return {}
    known = next((p for p in providers if p["name"] == name), None)
    if reason == "INVALID_OTP" and known is not None:
        return {
            "sso_otp": known,
            "error": f"Enter the one-time code to continue with {known['label']}.",
        }
    return {"error": SSO_REASONS.get(reason, "That sign-in did not work. Try again.")}


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form(request)
    name = request.POST.get("provider") or DEFAULT_PROVIDER
    try:
        driver = provider(name)
    except DirectusError:
        return _form(request, 400, error=GENERIC_ERROR)
    if isinstance(driver, RedirectDriver):
        return _form(request, 400, error=GENERIC_ERROR)
    local = name == DEFAULT_PROVIDER
    identifier = request.POST.get("email" if local else "identifier", "").strip()[:256]
    payload = LoginPayload(
        identifier=identifier,
        password=request.POST.get("password", ""),
        mode="session",
        otp=request.POST.get("otp") or None,
    )
    try:
        if not identifier or (local and not valid_email(identifier)) or not payload.password:
            with stalled():
                raise InvalidCredentials()
        issued = sign_in(driver, payload, _context(request))
    except RequestsExceeded:
        return _form(request, 429, error=TOO_MANY)
    except SecondFactorRequired as asked:
        pending.hold(request, asked.user, request.POST.get("redirect", ""), driver.name)
        return HttpResponseRedirect(reverse("login-code-page"))
    except InvalidOtp:
        return _form(request, 401, error="Enter the one-time code from your app.", ask_otp=True)
    except DirectusError as error:
        if error.status == 503:  # a directory that does not answer, or is misconfigured
            return _form(request, 503, error=SSO_REASONS["SERVICE_UNAVAILABLE"])
        return _form(request, 401, error=GENERIC_ERROR)
    return signed_in(request, issued, request.POST.get("redirect"))


def signed_in(request: HttpRequest, issued: IssuedTokens, redirect: str | None) -> HttpResponse:
    """The answer to a completed sign-in: the session cookie, and a redirect to ``redirect``
    when it is allowed (else the account page) — or first to the TOTP set-up page when a policy
    of the user enforces TFA and they have no second factor yet (they are granted nothing
    else until then)."""
    target = allowed_redirect(redirect) or reverse("account-page")
    user = RefreshSession.objects.select_related("user").get(pk=issued.session_id).user
    if accountability_for_user(user, ip=_context(request).ip).tfa_setup_required:
        target = f"{reverse('tfa-setup-page')}?{urlencode({'redirect': target})}"
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
    context = {
        "user_email": user.email,
        "has_totp": has_totp(user),
        "has_passkey": has_passkey(user),
        "recovery_codes": recovery.remaining(user),
        "tfa_setup_required": acc is not None and acc.tfa_setup_required,
        "consents": Consent.objects.filter(user=user)
        .select_related("client")
        .order_by("-updated_at"),
    }
    return render(request, "accounts/account.html", context)


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
