"""The browser side of single sign-on (contract sso.md §2, §4, §5): ``GET /auth/login/<name>``
starts a redirect sign-in, ``GET|POST /auth/login/<name>/callback`` ends it. Thin: the flow is
the driver's (:mod:`signin.drivers.redirect`); this module turns its outcome into redirects
and cookies.

* A ``redirect`` off the allow-list is a 400 ``INVALID_PAYLOAD`` (JSON, never a redirect).
* Success: the cookie of the provider's ``MODE`` (``session``: the session cookie, which also
  signs the person in to the login page and the admin; ``cookie``: the refresh cookie a
  single-page app exchanges at ``POST /auth/refresh``), then the redirect — or the account page
  when none was given, or first the TOTP set-up page when a policy enforces it.
* Failure: the redirect with ``?reason=<CODE>``, or the login page, which explains the reason.
  A callback without a valid ``state`` goes to the login page (``openid``) or is a JSON 401
  (``oauth2``), as Directus answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

from allauth.socialaccount.sessions import LoginSession
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.accountability import accountability_for_user
from accounts.models import DEFAULT_PROVIDER, User
from core.errors import DirectusError, InvalidCredentials, RouteNotFound, error_response
from signin.drivers import provider
from signin.drivers.redirect import RedirectDriver, SignInRefused, failure_url
from signin.refresh import logout_everywhere
from tokens.cookies import (
    clear_refresh_cookie,
    clear_session_cookie,
    set_refresh_cookie,
    set_session_cookie,
)
from tokens.models import RefreshSession
from tokens.sessions import SessionContext

if TYPE_CHECKING:  # the saml extra may not be installed
    from signin.drivers.saml import SamlDriver

MAX_PARAM = 4096
MAX_SAML_RESPONSE = 256 * 1024


def redirect_driver(name: str, path: str) -> RedirectDriver:
    """The redirect provider ``name``, or ``ROUTE_NOT_FOUND`` for ``path``."""
    try:
        driver = provider(name) if name != DEFAULT_PROVIDER else None
    except RouteNotFound:
        driver = None
    if not isinstance(driver, RedirectDriver):
        raise RouteNotFound(path)
    return driver


def start(request: HttpRequest, name: str) -> HttpResponse:
    """``GET /auth/login/<name>?redirect=&otp=&prompt=``: off to the identity provider."""
    driver = redirect_driver(name, request.path)
    query = request.GET
    otp = query.get("otp", "")[:64] or None
    prompt = query.get("prompt", "").lower() in ("true", "1", "consent")
    try:
        _flow, url = driver.begin(request, query.get("redirect", ""), otp, prompt)
    except SignInRefused as refused:
        return _failed(driver, refused)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # the identity provider posts here (form_post); nothing is changed before the GET
@never_cache
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    """``/auth/login/<name>/callback``: a POST (``response_mode=form_post``) is re-sent as a
    ``303`` GET with the same parameters, so the session cookie (``SameSite=Lax``) comes with
    it; the GET ends the sign-in."""
    try:
        driver = redirect_driver(provider, request.path)
    except RouteNotFound as missing:
        return error_response(missing)
    if request.method == "POST":
        return HttpResponseRedirect(
            f"{request.path}?{_params(request.POST).urlencode()}", status=303
        )
    return _finish(driver, request, _params(request.GET))


def _finish(driver: RedirectDriver, request: HttpRequest, params: QueryDict) -> HttpResponse:
    """End the sign-in ``params`` answer: the cookie of the provider's mode and the redirect,
    or the failure answer."""
    context = SessionContext.of_request(request)
    try:
        flow, issued = driver.complete(request, params, context)
    except SignInRefused as refused:
        return _failed(driver, refused)
    except DirectusError as error:  # an unsolicited answer's RelayState off the allow-list
        return error_response(error)
    redirect = flow.redirect or reverse("account-page")
    user = RefreshSession.objects.select_related("user").get(pk=issued.session_id).user
    if accountability_for_user(user, ip=context.ip).tfa_setup_required:
        redirect = f"{reverse('tfa-setup-page')}?{urlencode({'redirect': redirect})}"
    response = HttpResponseRedirect(redirect)
    if issued.mode == "session":
        set_session_cookie(response, issued.access_token)
    else:
        set_refresh_cookie(response, issued.refresh_token)
    return response


def saml_driver(name: str, path: str) -> SamlDriver:
    """The ``saml`` provider ``name``, or ``ROUTE_NOT_FOUND`` for ``path``."""
    driver = redirect_driver(name, path)
    if driver.kind != "saml":
        raise RouteNotFound(path)
    return cast("SamlDriver", driver)


@csrf_exempt  # the identity provider posts here; nothing is changed before the GET
@never_cache
@require_http_methods(["GET", "POST"])
def acs(request: HttpRequest, provider: str) -> HttpResponse:
    """``/auth/login/<name>/acs``: the identity provider posts ``SAMLResponse`` and
    ``RelayState`` here. The session cookie does not come with a cross-site POST, so the answer
    is kept in a short-lived store of its own (allauth's :class:`LoginSession`, a cookie for this
    path only) and the browser is sent on with a ``303`` to the ``GET``, which ends the sign-in."""
    try:
        driver = saml_driver(provider, request.path)
    except RouteNotFound as missing:
        return error_response(missing)
    stash = LoginSession(request, "saml_acs_session", f"saml-acs-{driver.name}")
    if request.method == "POST":
        response = HttpResponseRedirect(request.path, status=303)
        stash.store["answer"] = {
            "code": request.POST.get("SAMLResponse", "")[:MAX_SAML_RESPONSE],
            "state": request.POST.get("RelayState", "")[:MAX_PARAM],
        }
        stash.save(response)
        return response
    answer = stash.store.get("answer")
    stash.delete()
    if not isinstance(answer, dict):
        return _failed(driver, SignInRefused(InvalidCredentials(), None, known_flow=False))
    params = QueryDict(mutable=True)
    for key in ("code", "state"):
        if answer.get(key):
            params[key] = str(answer[key])
    return _finish(driver, request, params)


@never_cache
def saml_metadata(request: HttpRequest, provider: str) -> HttpResponse:
    """``GET /auth/login/<name>/metadata``: this service provider's SAML metadata."""
    try:
        driver = saml_driver(provider, request.path)
    except RouteNotFound as missing:
        return error_response(missing)
    return HttpResponse(driver.metadata(request), content_type="text/xml")


def saml_logout(request: HttpRequest, driver: SamlDriver, user: User | None) -> HttpResponse:
    """After ``POST /auth/login/<name>/logout`` ended the session here: off to the identity
    provider's sign-out, or a 204 when it has none (the cookies are cleared either way)."""
    try:
        url = driver.logout_url(request, user)
    except DirectusError:
        url = None  # the identity provider is unavailable: the sign-out here stands
    response = HttpResponseRedirect(url) if url else HttpResponse(status=204)
    clear_refresh_cookie(response)
    clear_session_cookie(response)
    return response


@csrf_exempt  # the identity provider's redirect; it changes nothing unless it verifies
@never_cache
def saml_logged_out(request: HttpRequest, driver: SamlDriver) -> HttpResponse:
    """``GET /auth/login/<name>/logout``: the identity provider's LogoutResponse (the end of
    a sign-out started here), or its LogoutRequest, which ends here every session of the
    person it names (then answered back to the identity provider)."""
    query = {key: request.GET.get(key, "")[:MAX_SAML_RESPONSE] for key in request.GET}
    context = SessionContext.of_request(request)
    try:
        name_id, target = driver.logged_out(request, query)
    except DirectusError as refused:  # SamlRefused, or the identity provider unavailable
        reason = getattr(refused, "reason", refused.code.lower())
        context.audit("logout", "failure", reason=reason, provider=driver.name)
        return error_response(refused)
    if name_id:
        for user in User.objects.filter(provider=driver.name, auth_data__saml__name_id=name_id):
            logout_everywhere(user, context)
    response = HttpResponseRedirect(target or f"{reverse('login-page')}?{urlencode({'logout': 1})}")
    clear_session_cookie(response)
    return response


def _params(data: QueryDict) -> QueryDict:
    """The callback parameters, each cut to :data:`MAX_PARAM` characters."""
    kept = QueryDict(mutable=True)
    for key in ("code", "state", "iss", "error", "error_description", "session_state"):
        if key in data:
            kept[key] = data.get(key, "")[:MAX_PARAM]
    return kept


def _failed(driver: RedirectDriver, refused: SignInRefused) -> HttpResponse:
    if not refused.known_flow and not driver.state_failure_redirects:
        return error_response(refused.error)
    url = failure_url(refused.redirect, refused.error.code, reverse("login-page"), driver.name)
    return HttpResponseRedirect(url)
