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

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.accountability import accountability_for_user
from accounts.models import DEFAULT_PROVIDER
from core.errors import RouteNotFound, error_response
from signin.drivers import provider
from signin.drivers.redirect import RedirectDriver, SignInRefused, failure_url
from tokens.cookies import set_refresh_cookie, set_session_cookie
from tokens.models import RefreshSession
from tokens.sessions import SessionContext

MAX_PARAM = 4096


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
    params = _params(request.GET)
    try:
        _flow, issued = driver.complete(request, params, SessionContext.of_request(request))
    except SignInRefused as refused:
        return _failed(driver, refused)
    redirect = _flow.redirect or reverse("account-page")
    user = RefreshSession.objects.select_related("user").get(pk=issued.session_id).user
    if accountability_for_user(user, ip=SessionContext.of_request(request).ip).tfa_setup_required:
        redirect = f"{reverse('tfa-setup-page')}?{urlencode({'redirect': redirect})}"
    response = HttpResponseRedirect(redirect)
    if issued.mode == "session":
        set_session_cookie(response, issued.access_token)
    else:
        set_refresh_cookie(response, issued.refresh_token)
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
