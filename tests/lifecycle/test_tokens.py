"""Reset and invite tokens: their own key, single use, and each bad token's contract error."""

from __future__ import annotations

import time

import jwt
import pytest
from django.conf import settings

from core.errors import Forbidden, InvalidToken, TokenExpired
from lifecycle import tokens
from tokens.issue import issue_tokens
from tokens.models import SessionMode
from tokens.sessions import SessionContext, open_session


def _signed(claims: dict, key: bytes | str | None = None) -> str:
    payload = {"iss": "directus", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(payload, key or tokens.signing_key(), algorithm="HS256")


def test_reset_token_round_trip(make_user) -> None:
    user = make_user("ann@example.com")
    link = tokens.verify(tokens.reset_token(user), tokens.RESET_SCOPE)
    assert link.email == "ann@example.com"
    assert tokens.fingerprint_matches(user, link)


def test_reset_token_claims_hold_no_password_hash(make_user) -> None:
    user = make_user("ann@example.com")
    claims = jwt.decode(tokens.reset_token(user), options={"verify_signature": False})
    assert claims["scope"] == "password-reset"
    assert claims["iss"] == "directus"
    assert claims["exp"] - claims["iat"] == 86_400
    assert user.password not in str(claims)
    assert "argon2" not in str(claims)


def test_a_new_password_spends_the_token(make_user) -> None:
    user = make_user("ann@example.com")
    link = tokens.verify(tokens.reset_token(user), tokens.RESET_SCOPE)
    user.set_password("another password 9")
    assert not tokens.fingerprint_matches(user, link)


def test_invite_token_lives_for_the_configured_ttl() -> None:
    claims = jwt.decode(tokens.invite_token("x@example.com"), options={"verify_signature": False})
    assert (
        claims["exp"] - claims["iat"]
        == settings.DIRECTUS.lifecycle.user_invite_token_ttl_ms // 1000
    )
    assert tokens.verify(tokens.invite_token("x@example.com"), tokens.INVITE_SCOPE).email == (
        "x@example.com"
    )


def test_expired_is_token_expired() -> None:
    token = _signed({"email": "a@example.com", "scope": "invite", "exp": int(time.time()) - 5})
    with pytest.raises(TokenExpired):
        tokens.verify(token, tokens.INVITE_SCOPE)


@pytest.mark.parametrize(
    "token",
    ["", "not-a-jwt", "a.b.c", "x" * 5000],
)
def test_garbage_is_invalid_token(token: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(token, tokens.RESET_SCOPE)


def test_tampered_payload_is_invalid_token() -> None:
    header, _payload, signature = tokens.invite_token("a@example.com").split(".")
    forged = _signed({"email": "admin@example.com", "scope": "invite"}).split(".")[1]
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{forged}x.{signature}", tokens.INVITE_SCOPE)
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{forged}.{signature}", tokens.INVITE_SCOPE)


def test_signed_with_the_raw_secret_is_invalid_token() -> None:
    token = _signed({"email": "a@example.com", "scope": "invite"}, key=settings.SECRET_KEY)
    with pytest.raises(InvalidToken):
        tokens.verify(token, tokens.INVITE_SCOPE)


def test_an_access_token_is_invalid_token(make_user) -> None:
    user = make_user("ann@example.com")
    opened = open_session(user.pk, SessionMode.JSON, SessionContext())
    access = issue_tokens(user, opened, None).access_token
    with pytest.raises(InvalidToken):
        tokens.verify(access, tokens.RESET_SCOPE)


def test_another_issuer_is_invalid_token() -> None:
    token = _signed({"email": "a@example.com", "scope": "invite", "iss": "someone-else"})
    with pytest.raises(InvalidToken):
        tokens.verify(token, tokens.INVITE_SCOPE)


def test_an_invite_token_is_no_reset_token() -> None:
    with pytest.raises(Forbidden):
        tokens.verify(tokens.invite_token("a@example.com"), tokens.RESET_SCOPE)


def test_a_reset_token_is_no_invite_token(make_user) -> None:
    with pytest.raises(Forbidden):
        tokens.verify(tokens.reset_token(make_user("a@example.com")), tokens.INVITE_SCOPE)


def test_a_reset_token_without_hash_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        tokens.verify(
            _signed({"email": "a@example.com", "scope": "password-reset"}), "password-reset"
        )


def test_a_token_without_email_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        tokens.verify(_signed({"scope": "invite"}), tokens.INVITE_SCOPE)
