"""core.crypto: sealed values and keyed digests, one key per purpose, all from SECRET."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from core.crypto import Unreadable, derived_key, keyed_digest, seal, unseal


def test_a_sealed_value_opens_only_for_its_purpose() -> None:
    token = seal("JBSWY3DPEHPK3PXP", "tfa-secret")
    assert "JBSWY3DPEHPK3PXP" not in token
    assert unseal(token, "tfa-secret") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(Unreadable):
        unseal(token, "admin-secret-once")


def test_sealing_twice_gives_different_tokens() -> None:
    assert seal("same", "p") != seal("same", "p")


@pytest.mark.parametrize("token", ["", "not a token", "gAAAAA" + "x" * 80])
def test_garbage_and_tampered_tokens_are_unreadable(token: str) -> None:
    with pytest.raises(Unreadable):
        unseal(token, "p")
    sealed = seal("value", "p")
    with pytest.raises(Unreadable):
        unseal(sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"), "p")


def test_a_new_secret_makes_old_values_unreadable(settings: Any) -> None:
    token = seal("hunter2-plain", "p")
    settings.SECRET_KEY = "another-secret-entirely-" + "y" * 30
    with pytest.raises(Unreadable) as raised:
        unseal(token, "p")
    assert "hunter2" not in str(raised.value)


def test_keys_and_digests_are_per_purpose_and_not_plain_hashes() -> None:
    assert derived_key("a") != derived_key("b")
    assert len(derived_key("a")) == 32
    assert keyed_digest("code", "a") == keyed_digest("code", "a")
    assert keyed_digest("code", "a") != keyed_digest("code", "b")
    assert keyed_digest("code", "a") != hashlib.sha256(b"code").hexdigest()
