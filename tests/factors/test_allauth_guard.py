"""factors/passkeys.py wraps functions of allauth's *internal* WebAuthn module (its views are not
routed). If allauth is upgraded and one of these changes, this test says what to re-check."""

from __future__ import annotations

import inspect

from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.webauthn.internal import auth

USED = {
    "begin_registration": ["user", "passwordless"],
    "complete_registration": ["credential"],
    "begin_authentication": ["user"],
    "complete_authentication": ["user", "response"],
    "clear_state": [],
}


def test_the_internal_webauthn_functions_passkeys_use_keep_their_signatures() -> None:
    for name, params in USED.items():
        function = getattr(auth, name, None)
        assert function is not None, f"allauth.mfa.webauthn.internal.auth.{name} is gone"
        found = list(inspect.signature(function).parameters)
        assert found == params, f"auth.{name}{found}: re-check factors/passkeys.py"
    assert hasattr(auth.WebAuthn, "add"), "auth.WebAuthn.add is gone: re-check passkeys.add"


def test_the_adapter_hooks_and_request_context_are_still_there() -> None:
    for hook in ("get_public_key_credential_rp_entity", "get_public_key_credential_user_entity"):
        assert callable(getattr(DefaultMFAAdapter, hook, None)), f"MFA adapter lost {hook}"
    assert callable(getattr(context, "request_context", None)), "allauth.core.context changed"
