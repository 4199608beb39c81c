"""HTML pages of the account lifecycle: forgot password, reset password, accept an invitation.

No JavaScript needed, CSRF-protected, never cached. The pages call the same flows as the REST
endpoints (:mod:`lifecycle.resets`, :mod:`lifecycle.invites`) and show their errors with a 4xx
status. Pages whose URL holds a token answer ``Referrer-Policy: same-origin``, so the token never
leaves for another site in a ``Referer`` header; it travels on in a hidden form field, not in a
URL. Not ``no-referrer``: under it browsers send ``Origin: null`` with the form's POST, which
Django's CSRF check (rightly) refuses.
The mailed links point at ``/admin/reset-password`` and ``/admin/accept-invite`` (Directus's
defaults, routed in ``project/urls.py``); ``/reset-password`` and ``/accept-invite`` are the same
pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from core.errors import (
    DirectusError,
    FailedValidation,
    InvalidInvite,
    RequestsExceeded,
    TokenExpired,
)
from lifecycle.invites import accept_invite
from lifecycle.resets import request_password_reset, reset_password
from lifecycle.tokens import INVITE_SCOPE, RESET_SCOPE, verify
from signin.payload import valid_email
from tokens.sessions import SessionContext

SENT = (
    "If an account uses this address, we have sent it a link to choose a new password. "
    "The link works once and for one day."
)
TOO_MANY = "Too many attempts. Try again in a minute."
MISMATCH = "The two passwords are not the same."
EXPIRED = "This link has expired."
NOT_VALID = "This link is not valid, or has already been used."
RESET_DONE = "Your password has been changed. Sign in with the new one."
INVITE_DONE = "Your account is ready. Sign in with your new password."

Flow = Callable[[str, str, SessionContext], Any]


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def forgot_password_page(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link: the same answer whatever the address (contract §7.5)."""
    template = "accounts/forgot_password.html"
    if request.method == "GET":
        return render(request, template, {})
    email = request.POST.get("email", "").strip()
    if not valid_email(email):
        return render(request, template, {"error": "Enter an e-mail address."}, status=400)
    try:
        request_password_reset(email, None, SessionContext.of_request(request))
    except RequestsExceeded:
        return render(request, template, {"error": TOO_MANY, "email": email}, status=429)
    return render(request, template, {"sent": SENT})


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def reset_password_page(request: HttpRequest) -> HttpResponse:
    """Choose a new password with the token of a reset link."""
    return _token_page(
        request, "accounts/reset_password.html", RESET_SCOPE, reset_password, RESET_DONE
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def accept_invite_page(request: HttpRequest) -> HttpResponse:
    """Accept an invitation by choosing a password."""
    return _token_page(
        request, "accounts/accept_invite.html", INVITE_SCOPE, accept_invite, INVITE_DONE
    )


def _token_page(
    request: HttpRequest, template: str, scope: str, flow: Flow, done: str
) -> HttpResponse:
    """GET: check the link's token and show the form; POST: run ``flow`` and send the person
    to the sign-in page with a notice, or show what went wrong."""
    token = (request.POST if request.method == "POST" else request.GET).get("token", "")
    try:
        verify(token, scope)
    except DirectusError as error:
        return _no_referrer(render(request, template, _link_error(error), status=error.status))
    if request.method == "GET":
        return _no_referrer(render(request, template, {"token": token}))
    password = request.POST.get("password", "")
    if not password or password != request.POST.get("password2", ""):
        context = {"token": token, "error": MISMATCH if password else "Enter a password."}
        return _no_referrer(render(request, template, context, status=400))
    try:
        flow(token, password, SessionContext.of_request(request))
    except FailedValidation as error:
        context = {"token": token, "error": error.detail}
        return _no_referrer(render(request, template, context, status=400))
    except RequestsExceeded:
        context = {"token": token, "error": TOO_MANY}
        return _no_referrer(render(request, template, context, status=429))
    except DirectusError as error:
        return _no_referrer(render(request, template, _link_error(error), status=error.status))
    messages.success(request, done)
    return _no_referrer(HttpResponseRedirect(reverse("login-page")))


def _link_error(error: DirectusError) -> dict[str, Any]:
    if isinstance(error, TokenExpired):
        return {"error": EXPIRED, "dead_link": True}
    if isinstance(error, InvalidInvite):
        return {"error": error.message, "dead_link": True}
    return {"error": NOT_VALID, "dead_link": True}


def _no_referrer(response: HttpResponse) -> HttpResponse:
    """No ``Referer`` (so no token) to any other origin."""
    response["Referrer-Policy"] = "same-origin"
    return response
