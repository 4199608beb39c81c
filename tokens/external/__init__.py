"""JWTs of trusted external issuers (Auth0, Keycloak, Authelia, Azure AD…): one more credential
kind, resolved like every other (:func:`tokens.external.resolver.resolve_external_jwt`).

* :mod:`.registry` — which issuers are trusted: the environment's and the admin's.
* :mod:`.jwks` — their keys: fetched (through the outbound proxy) and cached, refetched once
  for an unknown ``kid`` within a per-minute budget, kept working while the issuer is down.
* :mod:`.verify` — the token: algorithm and key selection, signature, ``iss``/``aud``/time
  claims, required claims, and the rule its scopes or groups match.
* :mod:`.users` — the service user a subject stands for, its role and policies kept in line
  with the rule.
"""
