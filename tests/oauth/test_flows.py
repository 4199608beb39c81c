"""The OAuth provider in process: each grant, consent, the narrowing, and the refusals."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client as HttpClient

from accounts.models import AuthEvent, User
from oauth.models import Client, Consent
from tests.oauth.conftest import PASSWORD, REDIRECT, approve, authorize, pkce


def token(http: HttpClient, client: Client, secret: str, **data: str) -> Any:
    headers = {}
    if secret:
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {basic}"
    else:
        data["client_id"] = client.client_id
    return http.post("/oauth/token", data, **headers)


def exchange(http: HttpClient, client: Client, secret: str, code: str, verifier: str) -> Any:
    return token(
        http, client, secret,
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier,
    )  # fmt: skip


@pytest.mark.django_db
def test_authorization_code_with_pkce_end_to_end(browser: Any, make_client: Any) -> None:
    client, secret = make_client()
    verifier, challenge = pkce()
    page = authorize(browser, client, "openid profile items:read offline_access", challenge)
    assert page.status_code == 200
    assert b"Allow" in page.content
    code = approve(browser, page)
    response = exchange(HttpClient(), client, secret, code, verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("doa_")
    assert body["refresh_token"].startswith("dor_")
    assert body["id_token"].count(".") == 2
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/items/articles").status_code == 200
    assert api.get("/users/me").json()["data"]["email"] == "reader@example.com"
    # items:read only: writing is outside the token's scopes, whatever the policies allow
    assert api.post("/items/articles", {"title": "x"}, "application/json").status_code == 403
    info = api.get("/oauth/userinfo").json()
    assert info["sub"]
    assert info["given_name"] == "Rea"
    assert "email" not in info
    assert Consent.objects.filter(client=client).exists()
    kinds = set(AuthEvent.objects.values_list("kind", flat=True))
    assert {"oauth.consent_granted", "oauth.token_issued"} <= kinds


@pytest.mark.django_db
def test_consent_is_remembered_and_revocable(browser: Any, make_client: Any) -> None:
    client, _secret = make_client()
    _verifier, challenge = pkce()
    approve(browser, authorize(browser, client, "profile", challenge))
    again = authorize(browser, client, "profile", challenge)
    assert again.status_code == 302
    assert "code=" in again["Location"]
    more = authorize(browser, client, "profile items:read", challenge)
    assert more.status_code == 200  # a new scope asks again
    consent = Consent.objects.get(client=client)
    browser.post(f"/account/applications/{consent.pk}/disconnect")
    assert not Consent.objects.filter(client=client).exists()
    assert AuthEvent.objects.filter(kind="oauth.consent_revoked").exists()


def error_of(response: Any) -> str:
    return response.json()["error"]


@pytest.mark.django_db
def test_public_client_needs_pkce_and_the_right_verifier(browser: Any, make_client: Any) -> None:
    client, _ = make_client(client_type=Client.CLIENT_PUBLIC)
    page = authorize(browser, client, "profile", None)
    assert page.status_code == 302
    assert "error=invalid_request" in page["Location"]
    _verifier, challenge = pkce()
    code = approve(browser, authorize(browser, client, "profile", challenge))
    wrong = exchange(HttpClient(), client, "", code, pkce()[0])
    assert wrong.status_code == 400
    assert error_of(wrong) == "invalid_grant"
    missing = token(
        HttpClient(), client, "", grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert missing.status_code == 400


@pytest.mark.django_db
def test_plain_pkce_is_refused(browser: Any, make_client: Any) -> None:
    client, _ = make_client()
    page = authorize(browser, client, "profile", None, code_challenge="x" * 43,
                     code_challenge_method="plain")  # fmt: skip
    assert page.status_code == 302
    assert "error=" in page["Location"]


@pytest.mark.django_db
def test_a_reused_code_is_refused_and_revokes_what_it_gave(browser: Any, make_client: Any) -> None:
    client, secret = make_client()
    verifier, challenge = pkce()
    code = approve(browser, authorize(browser, client, "profile offline_access", challenge))
    first = exchange(HttpClient(), client, secret, code, verifier).json()
    again = exchange(HttpClient(), client, secret, code, verifier)
    assert again.status_code == 400
    assert error_of(again) == "invalid_grant"
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    assert api.get("/users/me").status_code == 401
    refreshed = token(HttpClient(), client, secret, grant_type="refresh_token",
                      refresh_token=first["refresh_token"])  # fmt: skip
    assert error_of(refreshed) == "invalid_grant"
    assert AuthEvent.objects.filter(kind="oauth.code_reused").exists()
    # Nothing of the code is stored in clear.
    from oauth.models import SpentCode

    assert not SpentCode.objects.filter(digest=code).exists()


@pytest.mark.django_db
def test_an_expired_code_is_refused(browser: Any, make_client: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import Grant

    client, secret = make_client()
    verifier, challenge = pkce()
    code = approve(browser, authorize(browser, client, "profile", challenge))
    assert not Grant.objects.filter(code=code).exists()  # a digest only
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    response = exchange(HttpClient(), client, secret, code, verifier)
    assert error_of(response) == "invalid_grant"


@pytest.mark.django_db
def test_unregistered_redirect_uri_is_an_error_page_never_a_redirect(
    browser: Any, make_client: Any
) -> None:
    client, _ = make_client()
    _verifier, challenge = pkce()
    response = browser.get("/oauth/authorize", {
        "response_type": "code", "client_id": client.client_id, "state": "s-1",
        "redirect_uri": "https://evil.example/cb", "scope": "profile",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })  # fmt: skip
    assert response.status_code == 400
    assert "Location" not in response
    assert b"refused" in response.content
    unknown = browser.get("/oauth/authorize", {"response_type": "code", "client_id": "nope",
                                               "redirect_uri": REDIRECT, "state": "s"})  # fmt: skip
    assert unknown.status_code in (400, 401)
    assert "Location" not in unknown


@pytest.mark.django_db
def test_state_unsupported_response_type_and_scope_beyond_the_client(
    browser: Any, make_client: Any
) -> None:
    client, _ = make_client(scopes="profile")
    _verifier, challenge = pkce()
    no_state = browser.get("/oauth/authorize", {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
        "scope": "profile", "code_challenge": challenge, "code_challenge_method": "S256",
    })  # fmt: skip
    assert no_state.status_code == 302
    assert no_state["Location"].startswith(REDIRECT)
    assert "error=invalid_request" in no_state["Location"]
    implicit = authorize(browser, client, "profile", challenge, response_type="token")
    assert "error=unsupported_response_type" in implicit["Location"]
    beyond = authorize(browser, client, "profile items:write", challenge)
    assert "error=invalid_scope" in beyond["Location"]


@pytest.mark.django_db
def test_wrong_secret_and_unsupported_grant(make_client: Any) -> None:
    client, secret = make_client()
    wrong = token(HttpClient(), client, secret + "x", grant_type="client_credentials")
    assert wrong.status_code == 401
    assert error_of(wrong) == "invalid_client"
    assert AuthEvent.objects.filter(kind="oauth.client_failed").exists()
    unauthorized = token(HttpClient(), client, secret, grant_type="client_credentials")
    assert error_of(unauthorized) == "unauthorized_client"
    unknown = token(HttpClient(), client, secret, grant_type="urn:nope")
    assert error_of(unknown) == "unsupported_grant_type"


@pytest.mark.django_db
def test_password_grant_goes_through_the_sign_in_flow(
    reader: User, make_client: Any, settings: Any
) -> None:
    client, secret = make_client(grants=[Client.GRANT_PASSWORD], scopes="items:read")
    ok = token(HttpClient(), client, secret, grant_type="password",
               username=reader.email, password=PASSWORD, scope="items:read")  # fmt: skip
    assert ok.status_code == 200, ok.content
    assert "refresh_token" not in ok.json()  # no offline_access
    bad = token(HttpClient(), client, secret, grant_type="password",
                username=reader.email, password="wrong")  # fmt: skip
    assert error_of(bad) == "invalid_grant"
    assert AuthEvent.objects.filter(kind="login.failure", user=reader).exists()
    reader.refresh_from_db()
    assert reader.failed_logins == 1  # counted like any failed sign-in
    reader.tfa_secret = "JBSWY3DPEHPK3PXP"
    reader.save()
    with_tfa = token(HttpClient(), client, secret, grant_type="password",
                     username=reader.email, password=PASSWORD)  # fmt: skip
    assert error_of(with_tfa) == "invalid_grant"
    code_client, code_secret = make_client()
    not_allowed = token(HttpClient(), code_client, code_secret, grant_type="password",
                        username=reader.email, password=PASSWORD)  # fmt: skip
    assert error_of(not_allowed) == "unauthorized_client"
    reader.refresh_from_db()
    assert reader.failed_logins == 1  # a client without the grant tests no password


@pytest.mark.django_db
def test_password_grant_refuses_suspended_users(reader: User, make_client: Any) -> None:
    client, secret = make_client(grants=[Client.GRANT_PASSWORD], scopes="items:read")
    reader.status = "suspended"
    reader.save()
    response = token(HttpClient(), client, secret, grant_type="password",
                     username=reader.email, password=PASSWORD)  # fmt: skip
    assert error_of(response) == "invalid_grant"


@pytest.mark.django_db
def test_client_credentials_act_with_the_clients_role_narrowed_by_scopes(
    reader: User, make_client: Any
) -> None:
    client, secret = make_client(
        grants=[Client.GRANT_CLIENT_CREDENTIALS], scopes="items:read items:write",
        role=reader.role,
    )  # fmt: skip
    response = token(HttpClient(), client, secret, grant_type="client_credentials",
                     scope="items:read")  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert "refresh_token" not in body
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/items/articles").status_code == 200
    assert api.post("/items/articles", {"title": "x"}, "application/json").status_code == 403
    assert api.get("/users/me").status_code == 401  # no user behind it


@pytest.mark.django_db
def test_an_admin_behind_a_token_is_limited_to_its_scopes(
    admin_user: User, make_client: Any
) -> None:
    client, secret = make_client(grants=[Client.GRANT_PASSWORD], scopes="items:read")
    body = token(HttpClient(), client, secret, grant_type="password",
                 username=admin_user.email, password="admin-password-1").json()  # fmt: skip
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/items/articles").status_code == 200
    assert api.post("/items/articles", {"title": "x"}, "application/json").status_code == 403
    assert api.get("/keys").status_code == 403  # admin-only doors stay shut
    assert api.get("/users").status_code == 403


@pytest.mark.django_db
def test_refresh_rotates_and_reuse_revokes_the_family(
    browser: Any, make_client: Any, settings: Any
) -> None:
    from oauth2_provider.settings import oauth2_settings

    client, secret = make_client()
    verifier, challenge = pkce()
    code = approve(browser, authorize(browser, client, "profile offline_access", challenge))
    first = exchange(HttpClient(), client, secret, code, verifier).json()

    def refresh(value: str) -> Any:
        return token(HttpClient(), client, secret, grant_type="refresh_token", refresh_token=value)

    second = refresh(first["refresh_token"])
    assert second.status_code == 200, second.content
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    retry = refresh(first["refresh_token"])  # inside the grace window: answered
    assert retry.status_code == 200, retry.content
    assert retry.json()["access_token"]
    old = oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
    oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS = 0
    try:
        reused = refresh(first["refresh_token"])
    finally:
        oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS = old
    assert error_of(reused) == "invalid_grant"
    assert error_of(refresh(second_body["refresh_token"])) == "invalid_grant"
    assert AuthEvent.objects.filter(kind="oauth.refresh_reused").exists()


@pytest.mark.django_db
def test_introspection_and_revocation(browser: Any, make_client: Any) -> None:
    client, secret = make_client()
    other, other_secret = make_client(name="Other")
    verifier, challenge = pkce()
    code = approve(browser, authorize(browser, client, "profile offline_access", challenge))
    body = exchange(HttpClient(), client, secret, code, verifier).json()
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    auth = {"HTTP_AUTHORIZATION": f"Basic {basic}"}
    seen = HttpClient().post("/oauth/introspect", {"token": body["access_token"]}, **auth).json()
    assert seen["active"] is True
    assert seen["client_id"] == client.client_id
    assert "profile" in seen["scope"]
    other_basic = base64.b64encode(f"{other.client_id}:{other_secret}".encode()).decode()
    foreign = HttpClient().post("/oauth/introspect", {"token": body["access_token"]},
                                HTTP_AUTHORIZATION=f"Basic {other_basic}").json()  # fmt: skip
    assert foreign == {"active": False}
    assert HttpClient().post("/oauth/introspect", {"token": "x"}).status_code == 401
    revoked = HttpClient().post("/oauth/revoke", {"token": body["refresh_token"]}, **auth)
    assert revoked.status_code == 200
    gone = HttpClient().post("/oauth/introspect", {"token": body["access_token"]}, **auth).json()
    assert gone == {"active": False}
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/users/me").status_code == 401
    assert AuthEvent.objects.filter(kind="oauth.token_revoked").exists()


@pytest.mark.django_db
def test_role_change_and_suspension_apply_to_live_tokens(
    reader: User, make_client: Any, make_role: Any
) -> None:
    client, secret = make_client(grants=[Client.GRANT_PASSWORD], scopes="items:read")
    body = token(HttpClient(), client, secret, grant_type="password",
                 username=reader.email, password=PASSWORD).json()  # fmt: skip
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/items/articles").status_code == 200
    nobody, _ = make_role("Nobody")
    reader.role = nobody
    reader.save()
    assert api.get("/items/articles").status_code == 403
    reader.status = "suspended"
    reader.save()
    assert api.get("/items/articles").status_code == 401


@pytest.mark.django_db
def test_nothing_secret_is_stored_in_clear(browser: Any, make_client: Any) -> None:
    from oauth2_provider.models import AccessToken, RefreshToken

    client, secret = make_client()
    assert (
        secret not in Client.objects.filter(pk=client.pk).values_list("client_secret", flat=True)[0]
    )
    verifier, challenge = pkce()
    code = approve(browser, authorize(browser, client, "openid offline_access", challenge))
    body = exchange(HttpClient(), client, secret, code, verifier).json()
    assert set(AccessToken.objects.values_list("token", flat=True)) == {""}
    assert set(RefreshToken.objects.values_list("token", flat=True)) == {""}
    details = " ".join(str(d) for d in AuthEvent.objects.values_list("details", flat=True))
    for value in (body["access_token"], body["refresh_token"], code, secret):
        assert value not in details


@pytest.mark.django_db
def test_discovery_and_jwks(client: Any) -> None:
    doc = client.get("/.well-known/openid-configuration").json()
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                  "response_types_supported", "subject_types_supported",
                  "id_token_signing_alg_values_supported", "userinfo_endpoint",
                  "revocation_endpoint", "introspection_endpoint"):  # fmt: skip
        assert doc.get(field), field
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    keys = client.get("/oauth/jwks").json()["keys"]
    assert keys
    assert keys[0]["kty"] == "RSA"
    assert "d" not in keys[0]


@pytest.mark.django_db
def test_key_rotation_keeps_the_old_key_published() -> None:
    from django.test import Client as C

    from oauth import keys

    first = C().get("/oauth/jwks").json()["keys"]
    keys.rotate()
    after = C().get("/oauth/jwks").json()["keys"]
    assert len(after) == len(first) + 1
    assert first[0]["kid"] in {k["kid"] for k in after}


@pytest.mark.django_db
def test_password_grant_shares_the_per_account_limit(
    reader: User, make_client: Any, settings: Any, one_rate_window: Any
) -> None:
    from accounts.models import ProjectSettings

    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": None})
    client, secret = make_client(grants=[Client.GRANT_PASSWORD], scopes="items:read")
    for _ in range(settings.DIRECTUS.limits.login_account.points):
        wrong = token(HttpClient(), client, secret, grant_type="password",
                      username=reader.email, password="nope")  # fmt: skip
        assert error_of(wrong) == "invalid_grant"
    refused = token(HttpClient(), client, secret, grant_type="password",
                    username=reader.email, password=PASSWORD)  # fmt: skip
    assert refused.status_code == 429
    assert refused["Retry-After"]
