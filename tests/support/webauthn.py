"""A software WebAuthn authenticator for in-process tests: a real P-256 key pair whose answers
(``none`` attestation, ES256 assertions) are built and signed as an authenticator and browser
would, with python-fido2's data classes, then put in the JSON form ``web/passkeys.js`` posts.

The browser tests use Chromium's virtual authenticator instead (:mod:`tests.support.browser`)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

FLAGS = AuthenticatorData.FLAG


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost"
    rp_id: str = "localhost"
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    counter: int = 0

    def _rp_hash(self, rp_id: str | None = None) -> bytes:
        return hashlib.sha256((rp_id or self.rp_id).encode()).digest()

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> str:
        """The JSON credential answering ``navigator.credentials.create(options)``."""
        challenge = options["publicKey"]["challenge"]
        client = CollectedClientData.create("webauthn.create", challenge, origin or self.origin)
        cose = ES256.from_cryptography_key(self.key.public_key())
        attested = AttestedCredentialData.create(Aaguid.NONE, self.credential_id, cose)
        auth_data = AuthenticatorData.create(
            self._rp_hash(options["publicKey"]["rp"]["id"]), FLAGS.UP | FLAGS.AT, 0, attested
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return self._json(
            {"clientDataJSON": client.b64, "attestationObject": websafe_encode(attestation)}
        )

    def get(self, options: dict[str, Any], *, origin: str | None = None) -> str:
        """The JSON credential answering ``navigator.credentials.get(options)``."""
        challenge = options["publicKey"]["challenge"]
        client = CollectedClientData.create("webauthn.get", challenge, origin or self.origin)
        self.counter += 1
        auth_data = AuthenticatorData.create(self._rp_hash(), FLAGS.UP, self.counter)
        signed = bytes(auth_data) + hashlib.sha256(bytes(client)).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return self._json(
            {
                "clientDataJSON": client.b64,
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
            }
        )

    def _json(self, response: dict[str, Any]) -> str:
        credential_id = websafe_encode(self.credential_id)
        return json.dumps(
            {
                "id": credential_id,
                "rawId": credential_id,
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
            }
        )
