"""The ``issuers`` section: external identity providers whose JWTs the API accepts
(``TRUSTED_ISSUERS`` and ``TRUSTED_ISSUER_<NAME>_*``). Directus has no such feature; the names
follow its ``AUTH_PROVIDERS`` / ``AUTH_<NAME>_*`` pattern under a prefix of their own.

``TRUSTED_ISSUERS=corp,partner`` lists the issuers; for each name:

=============================== ==========================================================
``_ISSUER``                     the ``iss`` its tokens carry (required)
``_AUDIENCE``                   accepted ``aud`` values, comma-separated (required)
``_JWKS_URL``                   its JWKS; empty: read ``jwks_uri`` from the issuer's
                                ``/.well-known/openid-configuration``
``_ALGORITHMS``                 allowed algorithms (default ``RS256,ES256``; asymmetric only)
``_REQUIRED_CLAIMS``            ``json:{"gty": "client-credentials"}`` (default none)
``_CLOCK_SKEW``                 leeway for ``exp``/``nbf``/``iat`` (default ``30s``)
``_SCOPE_CLAIM``                where scopes are (default ``scope``; ``scp`` is read too)
``_GROUP_CLAIM_NAME``           where groups are (default ``groups``)
``_RULES``                      ``json:[{"scope": "svc#read", "role": "<id>",
                                "policies": ["<id>"]}, {"group": "ops", "role": "<id>"}]``;
                                the first matching rule decides; a rule naming neither scope
                                nor group matches every token; no match: refused
``_JWKS_TTL``                   how long fetched keys are used before a refetch (``10m``)
``_JWKS_REFETCH_LIMIT``         refetches for an unknown ``kid`` per minute (``10``)
``_TIMEOUT``                    the whole of one fetch, connect to last byte (``3s``)
=============================== ==========================================================

Issuers can also be defined in the admin (``tokens.TrustedIssuer``); a name or ``iss`` defined
here wins over an admin row with the same one.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core.config.env import EnvReader

#: Asymmetric JWS algorithms only: never ``none``, never an HMAC (whose "key" would be public).
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
RESERVED_ISSUERS = ("directus",)
RESERVED_NAMES = ("default",)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class IssuerRule:
    """Tokens whose scopes include ``scope`` (or groups include ``group``; neither: every token)
    act with ``role`` and the extra ``policies``."""

    scope: str | None = None
    group: str | None = None
    role: uuid.UUID | None = None
    policies: tuple[uuid.UUID, ...] = ()

    def matches(self, scopes: frozenset[str], groups: frozenset[str]) -> bool:
        if self.scope is not None and self.scope not in scopes:
            return False
        return self.group is None or self.group in groups


@dataclass(frozen=True)
class TrustedIssuer:
    """One trusted issuer, from the environment or from the admin."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    required_claims: Mapping[str, Any] = field(default_factory=dict)
    clock_skew_s: int = 30
    scope_claim: str = "scope"
    group_claim: str = "groups"
    rules: tuple[IssuerRule, ...] = ()
    jwks_ttl_s: int = 600
    refetch_per_minute: int = 10
    timeout_s: float = 3.0
    #: A proxy of this issuer's own (an SSO provider's ``AUTH_<NAME>_PROXY``).
    proxy: str | None = None


def rule_problems(raw: Any) -> tuple[tuple[IssuerRule, ...], list[str]]:
    """Parse a ``_RULES`` value (a list of objects) into rules, with what is wrong in it."""
    problems: list[str] = []
    if not isinstance(raw, list):
        return (), ["must be a JSON list of rules"]
    rules: list[IssuerRule] = []
    for index, item in enumerate(raw):
        where = f"rule {index + 1}"
        if not isinstance(item, dict):
            problems.append(f"{where} is not an object")
            continue
        unknown = set(item) - {"scope", "group", "role", "policies"}
        if unknown:
            problems.append(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        scope, group = item.get("scope"), item.get("group")
        if any(value is not None and not isinstance(value, str) for value in (scope, group)):
            problems.append(f"{where}: scope and group must be strings")
            continue
        try:
            role = uuid.UUID(str(item["role"])) if item.get("role") is not None else None
            policies = tuple(uuid.UUID(str(p)) for p in item.get("policies") or ())
        except (ValueError, TypeError):
            problems.append(f"{where}: role and policies must be ids")
            continue
        if role is None and not policies:
            problems.append(f"{where} grants nothing (give it a role or policies)")
        rules.append(IssuerRule(scope=scope, group=group, role=role, policies=policies))
    return tuple(rules), problems


def issuer_problems(issuer: str, jwks_url: str | None, algorithms: tuple[str, ...]) -> list[str]:
    """What is wrong with the parts of an issuer that the environment and the admin share."""
    problems: list[str] = []
    if issuer in RESERVED_ISSUERS:
        problems.append(f"the issuer {issuer!r} is this server's own")
    for label, url in (("issuer", issuer), ("JWKS URL", jwks_url)):
        if url and urlsplit(url).scheme not in {"http", "https"}:
            problems.append(f"the {label} {url!r} is not an http(s) URL")
    if not jwks_url and urlsplit(issuer).scheme not in {"http", "https"}:
        problems.append("without a JWKS URL the issuer must be a URL to discover it from")
    bad = [alg for alg in algorithms if alg not in ASYMMETRIC_ALGORITHMS]
    if bad:
        problems.append(
            f"algorithms {', '.join(bad)} are not allowed (only {', '.join(ASYMMETRIC_ALGORITHMS)})"
        )
    if not algorithms:
        problems.append("no algorithm is allowed")
    return problems


def load_issuers(env: EnvReader, provider_names: tuple[str, ...] = ()) -> tuple[TrustedIssuer, ...]:
    issuers: list[TrustedIssuer] = []
    for name in env.csv("TRUSTED_ISSUERS", ""):
        prefix = f"TRUSTED_ISSUER_{name.upper().replace('-', '_')}_"
        if not _NAME.match(name) or name.lower() in RESERVED_NAMES:
            env.errors.append(f"TRUSTED_ISSUERS: {name!r} is not a usable issuer name.")
            continue
        if name in provider_names or any(i.name == name for i in issuers):
            env.errors.append(
                f"TRUSTED_ISSUERS: {name!r} is already a provider or issuer name; pick another."
            )
            continue
        issuer = (env.optional(prefix + "ISSUER") or "").strip()
        audiences = tuple(env.csv(prefix + "AUDIENCE"))
        if not issuer or not audiences:
            env.errors.append(f"{prefix}ISSUER and {prefix}AUDIENCE are required.")
            continue
        jwks_url = (env.optional(prefix + "JWKS_URL") or "").strip() or None
        algorithms = tuple(env.csv(prefix + "ALGORITHMS", ",".join(DEFAULT_ALGORITHMS)))
        problems = issuer_problems(issuer, jwks_url, algorithms)
        required: Any = env.get(prefix + "REQUIRED_CLAIMS", {}, json.loads)
        if not isinstance(required, dict):
            problems.append("REQUIRED_CLAIMS must be a JSON object")
            required = {}
        rules, rule_errors = rule_problems(env.get(prefix + "RULES", [], json.loads))
        problems += [f"RULES: {text}" for text in rule_errors]
        if not rules:
            env.warnings.append(f"{prefix}RULES is empty: every token of {name!r} is refused.")
        if problems:
            env.errors.extend(f"{prefix}*: {text}." for text in problems)
            continue
        if any(other.issuer == issuer for other in issuers):
            env.errors.append(f"{prefix}ISSUER: {issuer!r} is already trusted under another name.")
            continue
        issuers.append(
            TrustedIssuer(
                name=name,
                issuer=issuer,
                audiences=audiences,
                jwks_url=jwks_url,
                algorithms=algorithms,
                required_claims=required,
                clock_skew_s=env.duration_ms(prefix + "CLOCK_SKEW", "30s") // 1000,
                scope_claim=env.string(prefix + "SCOPE_CLAIM", "scope") or "scope",
                group_claim=env.string(prefix + "GROUP_CLAIM_NAME", "groups") or "groups",
                rules=rules,
                jwks_ttl_s=max(1, env.duration_ms(prefix + "JWKS_TTL", "10m") // 1000),
                refetch_per_minute=env.integer(prefix + "JWKS_REFETCH_LIMIT", 10, minimum=0),
                timeout_s=max(0.1, env.duration_ms(prefix + "TIMEOUT", "3s") / 1000),
            )
        )
    return tuple(issuers)
