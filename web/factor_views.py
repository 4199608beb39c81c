"""HTML pages of second factors: the code (or passkey) step of sign-in, and, for a signed-in
person, TOTP set-up, recovery codes and passkeys.

Thin: each page calls :mod:`signin.flow` or :mod:`factors` and shows their errors with a 4xx
status. Every page is CSRF-protected and never cached; the only JavaScript is
``web/passkeys.js`` (a static file, as the pages' CSP allows), for the WebAuthn ceremonies. Its
two JSON endpoints answer the contract's error envelope. Sensitive changes ask again for the
password (TOTP set-up, passkeys; not for users of an SSO provider, who have none, as
``/users/me/tfa/generate`` does) or a current code (turning TOTP off, new recovery codes), with
the sign-in limits and failure counting (:mod:`signin.reauth`). Secrets and codes shown once
are rendered into the POST's answer, never behind a URL that shows them again."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from accounts.models import DEFAULT_PROVIDER, User
from core.errors import (
    DirectusError,
    Forbidden,
    InvalidCredentials,
    InvalidPayload,
    MethodNotAllowed,
    RequestsExceeded,
    RouteNotFound,
    error_response,
)
from factors import passkeys, recovery, totp
from factors.enrolled import has_any, has_passkey
from factors.second_factor import verify_code
from signin.drivers import provider
from signin.drivers.base import AuthDriver
from signin.flow import complete_second_factor
from signin.reauth import confirm_code, confirm_password, disable_totp
from tokens.authentication import authenticate_request
from tokens.sessions import SessionContext
from web import pending
from web.views import TOO_MANY, allowed_redirect, signed_in

WRONG_CODE = "That code is not right. Try again, or use a recovery code."
WRONG_PASSKEY = "The passkey was not accepted. Try again, or enter a code."
EXPIRED = "The sign-in took too long. Sign in again."
REFUSED = "The sign-in could not be completed. Sign in again."
WRONG_PASSWORD = "The password is not right."
PENDING_SECRET = "tfa.pending_secret"

View = Callable[..., HttpResponse]


def _context(request: HttpRequest) -> SessionContext:
    return SessionContext.of_request(request)


def _current_user(request: HttpRequest) -> User | None:
    try:
        acc = authenticate_request(request)
    except DirectusError:
        return None
    return User.objects.filter(pk=acc.user).first() if acc.user else None


def account_page_view(view: View) -> View:
    """A page of the signed-in person (session cookie): others go to the sign-in page, and
    come back here after it."""

    @wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = _current_user(request)
        if user is None:
            query = urlencode({"redirect": request.path})
            return HttpResponseRedirect(f"{reverse('login-page')}?{query}")
        return view(request, user, *args, **kwargs)

    return never_cache(csrf_protect(page))


def json_endpoint(view: View) -> View:
    """A POST endpoint of ``passkeys.js``: CSRF checked here (so a refusal is the contract's
    envelope, not Django's HTML page), contract errors as the envelope, never cached."""

    @wraps(view)
    def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return error_response(MethodNotAllowed(request.method or "", ["POST"]))
        if CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, view, args, kwargs):
            return error_response(Forbidden())
        try:
            return view(request, *args, **kwargs)
        except DirectusError as error:
            return error_response(error)

    return never_cache(csrf_exempt(endpoint))


# --- sign-in, second step ---------------------------------------------------------------


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_code_page(request: HttpRequest) -> HttpResponse:
    """``/login/verify``: the code from the authenticator app, a recovery code, or a passkey,
    for the sign-in the password step left pending."""
    waiting = pending.pending(request)
    if waiting is None:
        return _restart(request, EXPIRED if request.method == "POST" else None)
    user = User.objects.filter(pk=waiting.user_id).first()
    if user is None:
        return _restart(request, REFUSED)
    if request.method == "GET":
        return _code_form(request, user)
    credential = request.POST.get("credential")
    if credential:
        return _complete(
            request, user, waiting, lambda u: passkeys.authenticate(request, u, credential)
        )
    code = request.POST.get("code", "").strip()
    ctx = _context(request)
    return _complete(request, user, waiting, lambda u: verify_code(u, code, context=ctx))


def _provider_of(waiting: pending.PendingSignIn) -> AuthDriver:
    """The provider the first step went through (the default one if it is gone)."""
    try:
        return provider(waiting.provider)
    except RouteNotFound:
        return provider(DEFAULT_PROVIDER)


def _complete(
    request: HttpRequest, user: User, waiting: pending.PendingSignIn, prove: Callable[[User], bool]
) -> HttpResponse:
    wrong = WRONG_PASSKEY if request.POST.get("credential") else WRONG_CODE
    try:
        issued = complete_second_factor(
            _provider_of(waiting), user.pk, prove, "session", _context(request)
        )
    except RequestsExceeded:
        return _code_form(request, user, 429, error=TOO_MANY)
    except InvalidCredentials:
        return _restart(request, REFUSED)
    except DirectusError:
        return _code_form(request, user, 401, error=wrong)
    pending.release(request)
    request.session.cycle_key()
    return signed_in(request, issued, waiting.redirect)


def _code_form(request: HttpRequest, user: User, status: int = 200, **extra: Any) -> HttpResponse:
    context = {"has_passkey": has_passkey(user), "has_totp": totp.has_totp(user), **extra}
    return render(request, "accounts/login_code.html", context, status=status)


def _restart(request: HttpRequest, message: str | None) -> HttpResponse:
    """Back to the password step (the waiting sign-in, if any, is forgotten)."""
    pending.release(request)
    if message:
        messages.error(request, message)
    return HttpResponseRedirect(reverse("login-page"))


@json_endpoint
def login_passkey_options(request: HttpRequest) -> HttpResponse:
    """The WebAuthn request options for the pending sign-in's user (their passkeys only)."""
    waiting = pending.pending(request)
    user = User.objects.filter(pk=waiting.user_id).first() if waiting else None
    if user is None:
        raise InvalidCredentials()
    if not has_passkey(user):
        raise InvalidPayload("This account has no passkey")
    return JsonResponse(passkeys.authentication_options(request, user))


# --- account: re-authentication ------------------------------------------------------------


def _confirm_password(request: HttpRequest, user: User) -> None:
    """The password again, for a user who signs in with one (INVALID_CREDENTIALS otherwise)."""
    if user.provider == DEFAULT_PROVIDER:
        confirm_password(user, request.POST.get("password", ""), _context(request))


def _failure_message(error: DirectusError) -> tuple[int, str]:
    """The status and sentence of a refused account change."""
    if isinstance(error, RequestsExceeded):
        return 429, TOO_MANY
    if isinstance(error, InvalidCredentials):
        return 401, WRONG_PASSWORD
    reason = str(error.extensions.get("reason", error.message))
    return error.status, "That code is not right." if reason == totp.OTP_INVALID else reason + "."


def _refused(
    request: HttpRequest, template: str, error: DirectusError, **context: Any
) -> HttpResponse:
    status, message = _failure_message(error)
    return render(request, template, {**context, "error": message}, status=status)


# --- account: TOTP -------------------------------------------------------------------------

TFA_TEMPLATE = "accounts/tfa_setup.html"


def qr_svg(text: str) -> SafeString:
    """``text`` as an inline SVG QR code (dark on white, so it scans on a dark page too)."""
    qr = segno.make(text, error="m")
    svg = qr.svg_inline(scale=4, border=4, dark="#000", light="#fff", omitsize=True)
    return mark_safe(svg)  # noqa: S308 (segno's own markup; ``text`` is XML-escaped by it)


def _pending_secret(request: HttpRequest, user: User) -> str | None:
    """The secret being set up in this browser, kept in the Django session (never in the
    user row until a code proves the app has it)."""
    entry = request.session.get(PENDING_SECRET)
    if isinstance(entry, dict) and entry.get("user") == str(user.pk):
        secret = entry.get("secret")
        return secret if isinstance(secret, str) else None
    return None


def _tfa_context(request: HttpRequest, user: User) -> dict[str, Any]:
    secret = None if totp.has_totp(user) else _pending_secret(request, user)
    context: dict[str, Any] = {
        "enabled": totp.has_totp(user),
        "secret": secret,
        "needs_password": user.provider == DEFAULT_PROVIDER,
        "redirect": request.POST.get("redirect") or request.GET.get("redirect", ""),
    }
    if secret:
        context["qr"] = qr_svg(totp.otpauth_url(user, secret))
    return context


@account_page_view
@require_http_methods(["GET", "POST"])
def tfa_setup_page(request: HttpRequest, user: User) -> HttpResponse:
    """``/account/tfa``: password → a new secret (QR code and text) → a code from the app turns
    TOTP on and shows recovery codes once; or, when on, a code turns it off."""
    if request.method == "GET":
        return render(request, TFA_TEMPLATE, _tfa_context(request, user))
    action = request.POST.get("action")
    steps = {"start": _tfa_start, "enable": _tfa_enable, "disable": _tfa_disable}
    try:
        if action == "cancel":
            request.session.pop(PENDING_SECRET, None)
        elif action in steps:
            done = steps[action](request, user)
            if done is not None:
                return done
    except DirectusError as error:
        return _refused(request, TFA_TEMPLATE, error, **_tfa_context(request, user))
    return HttpResponseRedirect(request.get_full_path())


def _tfa_start(request: HttpRequest, user: User) -> None:
    if totp.has_totp(user):
        raise InvalidPayload(totp.ALREADY_SET)
    _confirm_password(request, user)
    request.session[PENDING_SECRET] = {"user": str(user.pk), "secret": totp.new_secret()}


def _tfa_enable(request: HttpRequest, user: User) -> HttpResponse:
    secret = _pending_secret(request, user)
    if secret is None:
        raise InvalidPayload("Start the set-up again")
    context = _context(request)
    totp.enable(user, secret, request.POST.get("otp", ""), context=context)
    request.session.pop(PENDING_SECRET, None)
    return _fresh_codes(request, user, context, "Two-factor sign-in is on.")


def _tfa_disable(request: HttpRequest, user: User) -> None:
    disable_totp(user, request.POST.get("otp", ""), _context(request))
    messages.success(request, "Two-factor sign-in with an app is off.")


def _fresh_codes(
    request: HttpRequest, user: User, context: SessionContext, done: str
) -> HttpResponse:
    """After a first factor is added: new recovery codes, shown this once (a user who already
    has unused codes keeps them)."""
    codes = recovery.regenerate(user, context=context) if not recovery.remaining(user) else []
    page = {
        "done": done,
        "codes": codes,
        "remaining": recovery.remaining(user),
        "next": allowed_redirect(request.POST.get("redirect")) or reverse("account-page"),
    }
    return render(request, "accounts/recovery_codes.html", page)


# --- account: recovery codes ---------------------------------------------------------------

CODES_TEMPLATE = "accounts/recovery_codes.html"


def _codes_context(user: User) -> dict[str, Any]:
    return {
        "remaining": recovery.remaining(user),
        "has_factor": has_any(user),
        "ask_code": totp.has_totp(user),
        "needs_password": not totp.has_totp(user) and user.provider == DEFAULT_PROVIDER,
        "next": reverse("account-page"),
    }


@account_page_view
@require_http_methods(["GET", "POST"])
def recovery_codes_page(request: HttpRequest, user: User) -> HttpResponse:
    """``/account/recovery-codes``: how many are left; new ones (shown once) for a current
    TOTP code (not a recovery code: those are being replaced), or, for a passkey-only user,
    the password."""
    if request.method == "GET":
        return render(request, CODES_TEMPLATE, _codes_context(user))
    context = _context(request)
    try:
        if totp.has_totp(user):
            confirm_code(user, request.POST.get("otp", "").strip(), context, totp.accept)
        else:
            _confirm_password(request, user)
        codes = recovery.regenerate(user, context=context)
    except DirectusError as error:
        return _refused(request, CODES_TEMPLATE, error, **_codes_context(user))
    page = {**_codes_context(user), "codes": codes, "done": "New recovery codes."}
    return render(request, CODES_TEMPLATE, page)


# --- account: passkeys ---------------------------------------------------------------------

PASSKEYS_TEMPLATE = "accounts/passkeys.html"


def _passkeys_context(user: User) -> dict[str, Any]:
    return {
        "passkeys": passkeys.list_passkeys(user),
        "needs_password": user.provider == DEFAULT_PROVIDER,
    }


@account_page_view
@require_http_methods(["GET", "POST"])
def passkeys_page(request: HttpRequest, user: User) -> HttpResponse:
    """``/account/passkeys``: the list; add one (the browser's WebAuthn answer, from
    ``passkeys.js``, with the password); remove one (with the password)."""
    if request.method == "GET":
        return render(request, PASSKEYS_TEMPLATE, _passkeys_context(user))
    context = _context(request)
    try:
        _confirm_password(request, user)
        if request.POST.get("action") == "remove":
            passkeys.remove(user, request.POST.get("passkey"), context)
            messages.success(request, "The passkey is removed.")
        else:
            name, credential = request.POST.get("name"), request.POST.get("credential", "")
            added = passkeys.add(request, user, name or "", credential, context)
            return _fresh_codes(request, user, context, f"Passkey \u201c{added.name}\u201d added.")
    except DirectusError as error:
        return _refused(request, PASSKEYS_TEMPLATE, error, **_passkeys_context(user))
    return HttpResponseRedirect(reverse("passkeys-page"))


@json_endpoint
def passkey_registration_options(request: HttpRequest) -> HttpResponse:
    """The WebAuthn creation options for a new passkey of the signed-in person."""
    user = _current_user(request)
    if user is None:
        raise InvalidCredentials()
    return JsonResponse(passkeys.registration_options(request, user))
