"""The OAuth authorization endpoint: the consent page (django-oauth-toolkit's view, on this
server's login page and look).

The person signs in on the login page first (password, second factor, SSO, as everywhere); then
they say yes or no to the client for the scopes it asks for. A yes is remembered per client and
scopes (:mod:`oauth.consent`), so the page is not shown again for them unless the client asks with
``prompt=consent``; ``prompt=none`` never shows it (``login_required`` / ``consent_required``).

A request without ``state`` is refused (``invalid_request``). Errors go back to the client's
redirect URI once that URI is known to be registered; before that (unknown client, unregistered
redirect URI) they are an error page here, never a redirect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from oauth2_provider import views as dot
from oauth2_provider.exceptions import OAuthToolkitError

from core.net import Client as Caller
from oauth import consent
from oauth.models import Client, Consent
from oauth.validator import serving


class AuthorizeView(dot.AuthorizationView):
    login_url = "/login"
    redirect_field_name = "redirect"
    template_name = "oauth/authorize.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with serving(request):
            if not request.user.is_authenticated and "none" in _prompt(request):
                return self._refuse_early(request, "login_required")
            return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        client = Client.objects.get(client_id=credentials["client_id"])
        if not request.GET.get("state"):
            return self._back(client, credentials, "invalid_request", "state is required")
        if credentials.get("code_challenge") and credentials.get("code_challenge_method") != "S256":
            return self._back(
                client, credentials, "invalid_request", "code_challenge_method must be S256"
            )
        prompt = _prompt(request)
        known = consent.remembered(request.user, client, scopes)  # type: ignore[arg-type]
        if (known and "consent" not in prompt and "login" not in prompt) or (
            client.skip_authorization and "consent" not in prompt
        ):
            try:
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return self.error_response(error, client)
            return self.redirect(uri, client)
        if "none" in prompt:
            return self._back(client, credentials, "consent_required", "consent is required")
        return super().get(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_valid(form)
        data = form.cleaned_data
        if data.get("allow") and response.status_code in (301, 302, 303):
            client = Client.objects.filter(client_id=data.get("client_id")).first()
            if client is not None and "error=" not in response.get("Location", ""):
                consent.remember(
                    self.request.user,
                    client,
                    str(data.get("scope", "")).split(),
                    Caller.of_request(self.request),
                )
        return response

    def _back(
        self, client: Client, credentials: dict[str, Any], error: str, description: str
    ) -> HttpResponse:
        """An error sent back to the client's (registered, validated) redirect URI."""
        uri = credentials["redirect_uri"]
        query = {"error": error, "error_description": description}
        if credentials.get("state"):
            query["state"] = credentials["state"]
        issuer = self.request.build_absolute_uri("/").rstrip("/")
        query["iss"] = settings.DIRECTUS.oauth.issuer or issuer
        return self.redirect(f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}", client)

    def _refuse_early(self, request: HttpRequest, error: str) -> HttpResponse:
        """``prompt=none`` for someone not signed in: validated like any request, then sent back."""
        self.oauth2_data: dict[str, Any] = {}
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as failure:
            return self.error_response(failure, application=None)
        client = Client.objects.get(client_id=credentials["client_id"])
        return self._back(client, credentials, error, "sign-in is required")


def _prompt(request: HttpRequest) -> set[str]:
    return set(request.GET.get("prompt", "").split())


@csrf_protect
@require_POST
def revoke_consent(request: HttpRequest, pk: str) -> HttpResponse:
    """The account page's "disconnect": forget the consent and revoke the client's tokens."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("login-page"))
    row = get_object_or_404(
        Consent.objects.select_related("client", "user"), pk=pk, user=request.user
    )
    consent.revoke(row, Caller.of_request(request), by="user")
    return HttpResponseRedirect(reverse("account-page"))
