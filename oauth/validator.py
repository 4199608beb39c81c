"""django-oauth-toolkit's request validator, with this server's policy (the protocol stays the
toolkit's and oauthlib's):

* authorization codes are kept as SHA-256 digests, never in clear; a code presented again is
  refused and revokes the tokens it was exchanged for (RFC 6749 §4.1.2);
* PKCE (S256) is required for public clients and, by default, for every client;
* the password grant signs in through the one sign-in flow (limits, stall, status checks, failed
  attempts counted); people with a second factor are refused, as the grant cannot ask for it;
* a refresh token needs ``offline_access``; a refresh token reused after its grace window revokes
  its whole family, and refreshing needs an active user;
* every token issued, every reuse and every failed client authentication is an auth event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken
from oauth2_provider.oauth2_validators import GRANT_TYPE_MAPPING, OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from accounts.audit import record_event
from accounts.models import DEFAULT_PROVIDER, AuthEventKind, AuthOutcome, User, UserStatus
from core.errors import DirectusError, RequestsExceeded
from core.net import Client as Caller
from oauth.models import Client, SpentCode
from signin.drivers import provider
from signin.flow import authenticate, stalled
from signin.payload import LoginPayload
from tokens.keycache import key_digest as digest
from tokens.sessions import SessionContext

OFFLINE = "offline_access"


_http_request: ContextVar[HttpRequest | None] = ContextVar("oauth_http_request", default=None)


@contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    """Run an OAuth endpoint for ``request``: the validator learns where it came from (the
    toolkit hands it only a copy of the headers), and the signing keys are in place."""
    from oauth.keys import install

    install()
    token = _http_request.set(request)
    try:
        yield
    finally:
        _http_request.reset(token)


def caller() -> Caller:
    """Where the HTTP request being served came from."""
    django_request = _http_request.get()
    return Caller.of_request(django_request) if django_request is not None else Caller()


def audit(kind: str, request: Any, outcome: str = AuthOutcome.SUCCESS, **details: Any) -> None:
    who = caller()
    user = getattr(request, "user", None)
    client = getattr(request, "client", None)
    record_event(
        kind,
        outcome=outcome,
        user=user if isinstance(user, User) else None,
        ip=who.ip,
        user_agent=who.user_agent,
        client_id=getattr(client, "client_id", None) or getattr(request, "client_id", None),
        **details,
    )


class Validator(OAuth2Validator):
    # -- authorization codes: digests only -------------------------------------------------
    def _create_authorization_code(self, request: Any, code: Any, expires: Any = None) -> Any:
        return super()._create_authorization_code(
            request, {**code, "code": digest(code["code"])}, expires
        )

    def validate_code(self, client_id: Any, code: str, client: Any, request: Any, *a: Any) -> bool:
        if super().validate_code(client_id, digest(code), client, request, *a):
            return True
        self._refuse_spent(digest(code), client, request)
        return False

    def confirm_redirect_uri(
        self, client_id: Any, code: str, redirect_uri: Any, client: Any, *a: Any, **k: Any
    ) -> bool:
        return bool(super().confirm_redirect_uri(client_id, digest(code), redirect_uri, client))

    def get_code_challenge(self, code: str, request: Any) -> Any:
        return super().get_code_challenge(digest(code), request)

    def get_code_challenge_method(self, code: str, request: Any) -> Any:
        return super().get_code_challenge_method(digest(code), request)

    def get_authorization_code_scopes(
        self, client_id: Any, code: str, redirect_uri: Any, request: Any
    ) -> Any:
        return super().get_authorization_code_scopes(client_id, digest(code), redirect_uri, request)

    def get_authorization_code_nonce(
        self, client_id: Any, code: str, redirect_uri: Any, request: Any
    ) -> Any:
        return super().get_authorization_code_nonce(client_id, digest(code), redirect_uri, request)

    def invalidate_authorization_code(
        self, client_id: Any, code: str, request: Any, *a: Any, **k: Any
    ) -> None:
        super().invalidate_authorization_code(client_id, digest(code), request)
        # A spent code matters while what it was exchanged for may live: a refresh family.
        horizon = timezone.now() - timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
        SpentCode.objects.filter(spent_at__lt=horizon).delete()
        issued = getattr(request, "issued_access_token", None)
        SpentCode.objects.create(
            digest=digest(code),
            client=request.client,
            user=request.user if isinstance(request.user, User) else None,
            access_token=issued.pk if issued is not None else None,
            family=getattr(request, "issued_family", None),
        )

    def _refuse_spent(self, code_digest: str, client: Any, request: Any) -> None:
        """A spent code presented again: revoke what it was exchanged for, once."""
        spent = SpentCode.objects.filter(digest=code_digest, client=client).first()
        if spent is None:
            return
        if spent.family is not None:
            RefreshToken.revoke_family(spent.family)
        if spent.access_token is not None:
            AccessToken.objects.filter(pk=spent.access_token).delete()
        request.user = spent.user
        audit(AuthEventKind.OAUTH_CODE_REUSED, request, AuthOutcome.FAILURE)

    # -- clients, grants, PKCE --------------------------------------------------------------
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if super().authenticate_client(request, *args, **kwargs):
            return True
        presented = self._extract_basic_auth(request) or getattr(request, "client_secret", None)
        if presented:
            audit(AuthEventKind.OAUTH_CLIENT_FAILED, request, AuthOutcome.FAILURE)
        return False

    def validate_grant_type(
        self, client_id: Any, grant_type: str, client: Any, request: Any, *a: Any, **k: Any
    ) -> bool:
        """The client's own grants (the password grant only where an admin gave it)."""
        return bool(client.allows_grant_type(*GRANT_TYPE_MAPPING[grant_type]))

    def is_pkce_required(self, client_id: Any, request: Any) -> bool:
        client = request.client or Client.objects.filter(client_id=client_id).first()
        if client is None:
            return True
        return bool(client.client_type == Client.CLIENT_PUBLIC or client.require_pkce)

    def validate_user(
        self, username: str, password: str, client: Any, request: Any, *a: Any, **k: Any
    ) -> bool:
        """The password grant, through the one sign-in flow (a second factor cannot be asked
        for here, so a user who has one is refused like a wrong password). oauthlib asks for the
        password before it checks the grant: a client without the grant is refused first, so
        that it can neither test passwords nor spend anyone's failed-attempt budget."""
        if not client.allows_grant_type(Client.GRANT_PASSWORD):
            raise errors.UnauthorizedClientError(request=request)
        who = caller()
        context = SessionContext(ip=who.ip, user_agent=who.user_agent, origin=who.origin)
        payload = LoginPayload(identifier=(username or "")[:256], password=password or "")
        try:
            with stalled():
                user = authenticate(provider(DEFAULT_PROVIDER), payload, context)
        except RequestsExceeded:
            served = _http_request.get()
            if served is not None:
                served.oauth_throttled = True  # type: ignore[attr-defined]
            return False
        except DirectusError:
            return False
        request.user = user
        return True

    def validate_response_type(
        self, client_id: Any, response_type: str, client: Any, request: Any, *a: Any, **k: Any
    ) -> bool:
        """Only ``code`` (no implicit or hybrid flows): anything else is
        ``unsupported_response_type``, whatever the client."""
        if response_type != "code":
            raise errors.UnsupportedResponseTypeError(request=request)
        return bool(super().validate_response_type(client_id, response_type, client, request))

    # -- refresh tokens -----------------------------------------------------------------------
    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *a: Any, **k: Any
    ) -> bool:
        valid = super().validate_refresh_token(refresh_token, client, request, *a, **k)
        if not valid:
            self._note_reuse(refresh_token, request)
            return False
        user = request.user
        return user is None or (isinstance(user, User) and user.status == UserStatus.ACTIVE)

    def _note_reuse(self, refresh_token: str, request: Any) -> None:
        rt = (
            RefreshToken.objects.filter(token_checksum=digest(refresh_token))
            .select_related("user", "application")
            .order_by(F("revoked").desc(nulls_first=True))
            .first()
        )
        if rt is None or rt.revoked is None:
            return
        request.user = rt.user
        request.client = request.client or rt.application
        audit(AuthEventKind.OAUTH_REFRESH_REUSED, request, AuthOutcome.FAILURE)

    # -- issuing ------------------------------------------------------------------------------
    def save_bearer_token(self, token: dict[str, Any], request: Any, *a: Any, **k: Any) -> None:
        scopes = set(str(token.get("scope", "")).split())
        if OFFLINE not in scopes:
            token.pop("refresh_token", None)
        super().save_bearer_token(token, request, *a, **k)
        audit(
            AuthEventKind.OAUTH_TOKEN_ISSUED,
            request,
            grant=request.grant_type,
            scope=" ".join(sorted(scopes)),
            refresh=bool(token.get("refresh_token")),
        )

    def _save_bearer_token(self, token: dict[str, Any], request: Any, *a: Any, **k: Any) -> None:
        previous = getattr(request, "refresh_token_instance", None)
        if token.get("refresh_token") and isinstance(previous, RefreshToken) and previous.revoked:
            # A retry inside the grace window: a new pair in the same family (tokens are kept
            # as digests, so the toolkit's "answer the previous pair again" has nothing to say).
            self._check_and_set_request_resource(request)
            expires = timezone.now() + timedelta(seconds=int(token["expires_in"]))
            access = self._create_access_token(expires, request, token)
            self._create_refresh_token(request, token["refresh_token"], access, previous)
            return
        super()._save_bearer_token(token, request, *a, **k)

    def _create_access_token(
        self, expires: Any, request: Any, token: Any, source_refresh_token: Any = None
    ) -> Any:
        access = super()._create_access_token(expires, request, token, source_refresh_token)
        request.issued_access_token = access
        return access

    def _create_refresh_token(
        self, request: Any, code: str, access_token: Any, previous: Any
    ) -> Any:
        refresh = super()._create_refresh_token(request, code, access_token, previous)
        request.issued_family = refresh.token_family
        return refresh

    def revoke_token(
        self, token: str, token_type_hint: Any, request: Any, *a: Any, **k: Any
    ) -> Any:
        """RFC 7009 (the toolkit revokes only the asking client's tokens; the answer is 200
        either way): revoking a refresh token revokes its whole family, and it is an event."""
        checksum = digest(token)
        row = (
            AccessToken.objects.filter(token_checksum=checksum).select_related("user").first()
            or RefreshToken.objects.filter(token_checksum=checksum).select_related("user").first()
        )
        if row is None or row.application_id != request.client.pk:
            return None
        result = super().revoke_token(token, token_type_hint, request, *a, **k)
        if isinstance(row, RefreshToken) and row.token_family:
            RefreshToken.revoke_family(row.token_family)
        request.user = row.user
        audit(AuthEventKind.OAUTH_TOKEN_REVOKED, request, what=type(row).__name__)
        return result

    def validate_bearer_token(self, token: str, scopes: Any, request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        user = request.user
        return user is None or (isinstance(user, User) and user.status == UserStatus.ACTIVE)

    # -- OpenID Connect -----------------------------------------------------------------------
    def get_additional_claims(self) -> dict[str, Any]:
        """Claims by scope (the toolkit keeps those of the granted scopes only)."""
        return {
            "name": lambda r: " ".join(p for p in (r.user.first_name, r.user.last_name) if p),
            "given_name": lambda r: r.user.first_name,
            "family_name": lambda r: r.user.last_name,
            "email": lambda r: r.user.email,
            "email_verified": lambda r: bool(r.user.email),
        }
