"""The second-factor HTML pages, in process: the login page's code step (TOTP, recovery code,
passkey), TOTP set-up with its QR code, recovery codes and passkeys on the account pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import AuthEvent, ProjectSettings, UserStatus
from factors import passkeys, recovery, totp
from factors.enrolled import has_passkey
from tests.support.factors import PASSWORD, code_at, enrol, person
from tests.support.webauthn import SoftAuthenticator
from web import pending

__all__ = ["enrol", "person"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    # "localhost": WebAuthn accepts http:// origins there only.
    return Client(enforce_csrf_checks=True, HTTP_HOST="localhost")


def csrf(client: Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match.group(1)


def password_step(client: Client, redirect: str = "", password: str = PASSWORD):
    token = csrf(client, "/login")
    data = {"email": "editor@example.com", "password": password, "redirect": redirect}
    return client.post("/login", {**data, "csrfmiddlewaretoken": token})


def code_step(client: Client, code: str):
    token = csrf(client, "/login/verify")
    return client.post("/login/verify", {"code": code, "csrfmiddlewaretoken": token})


def post_page(client: Client, path: str, **data: str):
    return client.post(path, {**data, "csrfmiddlewaretoken": csrf(client, path)})


def signed_in_as(client: Client) -> str | None:
    page = client.get("/account")
    return page.context["user_email"] if page.status_code == 200 else None


def failure_reasons() -> list[str]:
    rows = AuthEvent.objects.filter(kind="login.failure").order_by("created_at")
    return [row.details.get("reason") for row in rows]


# --- the code step ---------------------------------------------------------------------------


def test_a_totp_user_signs_in_in_two_steps(browser, person, enrol):
    secret = enrol(person)
    asked = password_step(browser, redirect="/account")
    assert asked.status_code == 302
    assert asked["Location"] == "/login/verify"
    assert signed_in_as(browser) is None
    page = browser.get("/login/verify").content.decode()
    assert 'name="code"' in page
    assert "Use a passkey" not in page
    done = code_step(browser, code_at(secret))
    assert done.status_code == 302
    assert done["Location"] == "/account"
    assert "directus_session_token" in done.cookies
    assert signed_in_as(browser) == person.email
    assert pending.SESSION_KEY not in browser.session
    assert browser.get("/login/verify")["Location"] == "/login"


def test_the_redirect_survives_the_code_step(browser, person, enrol):
    secret = enrol(person)
    password_step(browser, redirect="/admin/")
    assert code_step(browser, code_at(secret))["Location"] == "/admin/"


def test_a_recovery_code_signs_in_once(browser, person, enrol):
    enrol(person)
    codes = recovery.regenerate(person)
    password_step(browser)
    assert code_step(browser, codes[0].upper()).status_code == 302
    assert recovery.remaining(person) == recovery.COUNT - 1
    assert AuthEvent.objects.filter(kind="recovery_code.used").count() == 1
    other = Client(enforce_csrf_checks=True)
    password_step(other)
    assert code_step(other, codes[0]).status_code == 401


def test_a_wrong_code_counts_as_a_failed_sign_in(browser, person, enrol):
    enrol(person)
    password_step(browser)
    wrong = code_step(browser, "000000")
    assert wrong.status_code == 401
    assert "not right" in wrong.content.decode()
    assert signed_in_as(browser) is None
    assert failure_reasons() == ["second_factor_required", "invalid_otp"]
    person.refresh_from_db()
    assert person.failed_logins == 1


def test_the_code_step_is_rate_limited(browser, person, enrol, settings, one_rate_window):
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": None})
    secret = enrol(person)
    password_step(browser)
    points = settings.DIRECTUS.limits.login_account.points
    statuses = {code_step(browser, "000000").status_code for _ in range(points)}
    assert statuses == {401}
    refused = code_step(browser, code_at(secret))
    assert refused.status_code == 429
    assert signed_in_as(browser) is None


def test_a_user_suspended_by_wrong_codes_starts_over(browser, person, enrol):
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": 1})
    secret = enrol(person)
    password_step(browser)
    assert code_step(browser, "000000").status_code == 401
    assert code_step(browser, "111111").status_code == 401
    person.refresh_from_db()
    assert person.status == UserStatus.SUSPENDED
    refused = code_step(browser, code_at(secret))
    assert refused["Location"] == "/login"
    assert signed_in_as(browser) is None


def test_a_pending_sign_in_expires(browser, person, enrol):
    secret = enrol(person)
    password_step(browser)
    session = browser.session
    entry = session[pending.SESSION_KEY]
    entry["started"] -= pending.LIFETIME + 1
    session[pending.SESSION_KEY] = entry
    session.save()
    expired = code_step_without_page(browser, code_at(secret))
    assert expired.status_code == 302
    assert expired["Location"] == "/login"
    assert signed_in_as(browser) is None
    assert "took too long" in browser.get("/login").content.decode()


def code_step_without_page(client: Client, code: str):
    """POST the code with a CSRF token from the login page (the code page itself redirects)."""
    token = csrf(client, "/login")
    return client.post("/login/verify", {"code": code, "csrfmiddlewaretoken": token})


def test_the_password_step_starts_a_new_django_session(browser, person, enrol):
    enrol(person)
    csrf(browser, "/login")
    session = browser.session
    session["planted"] = True
    session.save()
    before = session.session_key
    password_step(browser)
    assert browser.cookies["directus_admin_session"].value != before
    assert browser.session["planted"] is True  # the data moves on; only the key is new


def test_without_a_pending_sign_in_the_code_page_sends_to_login(browser):
    assert browser.get("/login/verify")["Location"] == "/login"


def test_enforce_tfa_users_are_sent_to_set_up(browser, make_role, make_user):
    role, _ = make_role("Enforced", app_access=True, enforce_tfa=True)
    make_user("editor@example.com", PASSWORD, role=role)
    response = password_step(browser, redirect="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/account/tfa?redirect=%2Fadmin%2F"
    page = browser.get(response["Location"]).content.decode()
    assert 'value="/admin/"' in page


# --- TOTP set-up ---------------------------------------------------------------------------


@pytest.fixture
def signed_in(browser, person) -> Client:
    assert password_step(browser).status_code == 302
    return browser


def start_setup(client: Client) -> str:
    started = post_page(client, "/account/tfa", action="start", password=PASSWORD)
    assert started.status_code == 302
    page = client.get("/account/tfa").content.decode()
    assert "<svg" in page
    match = re.search(r'<code id="tfa-secret">([A-Z2-7]+)</code>', page)
    assert match is not None
    return match.group(1)


def test_the_setup_page_asks_for_the_password_first(signed_in, person):
    wrong = post_page(signed_in, "/account/tfa", action="start", password="wrong")
    assert wrong.status_code == 401
    assert "<svg" not in wrong.content.decode()
    assert failure_reasons()[-1] == "wrong_password"


def test_setting_up_totp_shows_a_qr_code_then_recovery_codes(signed_in, person):
    secret = start_setup(signed_in)
    person.refresh_from_db()
    assert not person.tfa_secret  # nothing is stored until a code proves the app has it
    wrong = post_page(signed_in, "/account/tfa", action="enable", otp="000000")
    assert wrong.status_code == 400
    assert "<svg" in wrong.content.decode()
    done = post_page(signed_in, "/account/tfa", action="enable", otp=code_at(secret))
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.content.decode())
    assert len(codes) == recovery.COUNT
    person.refresh_from_db()
    assert totp.has_totp(person)
    assert "no-store" in done["Cache-Control"]
    assert "<code>" not in signed_in.get("/account/recovery-codes").content.decode()
    assert AuthEvent.objects.filter(kind="factor.added").get().details["factor"] == "totp"


def test_the_qr_code_is_the_otpauth_url(signed_in, person):
    secret = start_setup(signed_in)
    assert totp.otpauth_url(person, secret).startswith("otpauth://totp/")


def test_a_pending_secret_belongs_to_its_user(signed_in, person, make_user):
    start_setup(signed_in)
    other = make_user("other@example.com", PASSWORD)
    from tests.support.clients import session_token_for

    signed_in.cookies["directus_session_token"] = session_token_for(other)
    assert "<svg" not in signed_in.get("/account/tfa").content.decode()


def test_turning_totp_off_needs_a_code(signed_in, person, enrol):
    secret = enrol(person)
    refused = post_page(signed_in, "/account/tfa", action="disable", otp="123456")
    assert refused.status_code == 400
    person.refresh_from_db()
    assert totp.has_totp(person)
    done = post_page(signed_in, "/account/tfa", action="disable", otp=code_at(secret))
    assert done.status_code == 302
    person.refresh_from_db()
    assert not totp.has_totp(person)


def test_account_pages_need_a_sign_in(browser):
    for path in ("/account/tfa", "/account/recovery-codes", "/account/passkeys"):
        response = browser.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/login?redirect={path.replace('/', '%2F')}"


def test_account_pages_pass_the_content_security_policy(signed_in, person):
    for path in ("/account", "/account/tfa", "/account/recovery-codes", "/account/passkeys"):
        page = signed_in.get(path)
        assert "script-src 'self'" in page["Content-Security-Policy"]
        assert re.search(r"<script>(?!</script>)", page.content.decode()) is None


# --- recovery codes ------------------------------------------------------------------------


def test_new_recovery_codes_need_a_current_totp_code(signed_in, person, enrol):
    secret = enrol(person)
    first = recovery.regenerate(person)
    assert str(recovery.COUNT) in signed_in.get("/account/recovery-codes").content.decode()
    refused = post_page(signed_in, "/account/recovery-codes", otp=first[0])
    assert refused.status_code == 400
    done = post_page(signed_in, "/account/recovery-codes", otp=code_at(secret))
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.content.decode())
    assert len(codes) == recovery.COUNT
    assert not set(codes) & set(first)


# --- passkeys ------------------------------------------------------------------------------


def options(client: Client, path: str) -> dict:
    token = csrf(client, "/account/passkeys" if path.startswith("/account") else "/login/verify")
    response = client.post(path, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    return response.json()


def add_passkey(client: Client, key: SoftAuthenticator, password: str = PASSWORD):
    credential = key.create(options(client, "/account/passkeys/options"))
    return post_page(
        client,
        "/account/passkeys",
        action="add",
        name="Laptop",
        password=password,
        credential=credential,
    )


def test_a_passkey_is_added_and_then_signs_in(signed_in, person):
    key = SoftAuthenticator()
    added = add_passkey(signed_in, key)
    assert added.status_code == 200
    assert len(re.findall(r"<li><code>", added.content.decode())) == recovery.COUNT
    assert has_passkey(person)
    assert "Laptop" in signed_in.get("/account/passkeys").content.decode()
    browser = Client(enforce_csrf_checks=True, HTTP_HOST="localhost")
    password_step(browser, redirect="/account")
    assert "Use a passkey" in browser.get("/login/verify").content.decode()
    assertion = key.get(options(browser, "/login/verify/passkey"))
    done = post_page(browser, "/login/verify", credential=assertion)
    assert done.status_code == 302
    assert done["Location"] == "/account"
    assert signed_in_as(browser) == person.email


def test_a_wrong_passkey_answer_counts(signed_in, person):
    add_passkey(signed_in, SoftAuthenticator())
    browser = Client(enforce_csrf_checks=True, HTTP_HOST="localhost")
    password_step(browser)
    assertion = SoftAuthenticator().get(options(browser, "/login/verify/passkey"))
    refused = post_page(browser, "/login/verify", credential=assertion)
    assert refused.status_code == 401
    assert failure_reasons()[-1] == "invalid_otp"
    garbage = post_page(browser, "/login/verify", credential="{not json")
    assert garbage.status_code == 401


def test_adding_a_passkey_needs_the_password(signed_in, person):
    refused = add_passkey(signed_in, SoftAuthenticator(), password="wrong")
    assert refused.status_code == 401
    assert not has_passkey(person)


def test_a_bad_registration_is_a_400_page(signed_in, person):
    options(signed_in, "/account/passkeys/options")
    refused = post_page(
        signed_in,
        "/account/passkeys",
        action="add",
        name="Key",
        password=PASSWORD,
        credential='{"id": "x"}',
    )
    assert refused.status_code == 400
    assert not has_passkey(person)


def test_removing_a_passkey(signed_in, person):
    add_passkey(signed_in, SoftAuthenticator())
    passkey = passkeys.list_passkeys(person)[0]
    refused = post_page(
        signed_in, "/account/passkeys", action="remove", passkey=str(passkey.id), password="x"
    )
    assert refused.status_code == 401
    done = post_page(
        signed_in,
        "/account/passkeys",
        action="remove",
        passkey=str(passkey.id),
        password=PASSWORD,
    )
    assert done.status_code == 302
    assert not has_passkey(person)
    assert recovery.remaining(person) == 0


def test_the_json_endpoints_answer_the_contract_envelope(browser, signed_in):
    anonymous = Client(enforce_csrf_checks=True, HTTP_HOST="localhost")
    token = csrf(anonymous, "/login")
    no_pending = anonymous.post("/login/verify/passkey", HTTP_X_CSRFTOKEN=token)
    assert no_pending.status_code == 401
    assert no_pending.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    no_csrf = signed_in.post("/account/passkeys/options")
    assert no_csrf.status_code == 403
    assert no_csrf.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    not_signed_in = anonymous.post("/account/passkeys/options", HTTP_X_CSRFTOKEN=token)
    assert not_signed_in.status_code == 401
    wrong_method = signed_in.get("/account/passkeys/options")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_a_user_without_a_passkey_gets_no_passkey_options(browser, person, enrol):
    enrol(person)
    password_step(browser)
    token = csrf(browser, "/login/verify")
    response = browser.post("/login/verify/passkey", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
