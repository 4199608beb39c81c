"""``TRUSTED_ISSUERS`` and ``TRUSTED_ISSUER_<NAME>_*``; the outbound proxy variables."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from core.config import load
from core.config.issuers import DEFAULT_ALGORITHMS

BASE = {"NODE_ENV": "production", "SECRET": "s" * 40}
ROLE = str(uuid.uuid4())
POLICY = str(uuid.uuid4())


def issuer_env(**extra: str) -> dict[str, str]:
    env = {
        **BASE,
        "TRUSTED_ISSUERS": "corp",
        "TRUSTED_ISSUER_CORP_ISSUER": "https://idp.example.com",
        "TRUSTED_ISSUER_CORP_AUDIENCE": "https://api.example.com,api",
        "TRUSTED_ISSUER_CORP_RULES": "json:"
        + json.dumps([{"scope": "svc#read", "role": ROLE, "policies": [POLICY]}]),
    }
    env.update(extra)
    return env


def test_an_issuer_with_its_defaults(tmp_path: Path) -> None:
    config = load(issuer_env(), base_dir=tmp_path)
    assert config.errors == ()
    (issuer,) = config.issuers
    assert (issuer.name, issuer.issuer) == ("corp", "https://idp.example.com")
    assert issuer.audiences == ("https://api.example.com", "api")
    assert issuer.jwks_url is None  # discovered
    assert issuer.algorithms == DEFAULT_ALGORITHMS
    assert (issuer.clock_skew_s, issuer.jwks_ttl_s, issuer.refetch_per_minute) == (30, 600, 10)
    assert issuer.timeout_s == 3.0
    assert issuer.required_claims == {}
    (rule,) = issuer.rules
    assert rule.scope == "svc#read"
    assert rule.group is None
    assert (rule.role, rule.policies) == (uuid.UUID(ROLE), (uuid.UUID(POLICY),))


def test_every_option_is_read(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps([{"group": "ops", "role": ROLE}]) + "\n")
    env = issuer_env(
        TRUSTED_ISSUER_CORP_JWKS_URL="https://idp.example.com/keys",
        TRUSTED_ISSUER_CORP_ALGORITHMS="ES256,PS256",
        TRUSTED_ISSUER_CORP_REQUIRED_CLAIMS='json:{"gty": "client-credentials"}',
        TRUSTED_ISSUER_CORP_CLOCK_SKEW="5s",
        TRUSTED_ISSUER_CORP_SCOPE_CLAIM="scp",
        TRUSTED_ISSUER_CORP_GROUP_CLAIM_NAME="realm_access.roles",
        TRUSTED_ISSUER_CORP_JWKS_TTL="1m",
        TRUSTED_ISSUER_CORP_JWKS_REFETCH_LIMIT="3",
        TRUSTED_ISSUER_CORP_TIMEOUT="500ms",
        TRUSTED_ISSUER_CORP_RULES_FILE=str(rules_file),
    )
    del env["TRUSTED_ISSUER_CORP_RULES"]  # the _FILE form instead
    config = load(env, base_dir=tmp_path)
    assert config.errors == ()
    (issuer,) = config.issuers
    assert issuer.jwks_url == "https://idp.example.com/keys"
    assert issuer.algorithms == ("ES256", "PS256")
    assert issuer.required_claims == {"gty": "client-credentials"}
    assert (issuer.clock_skew_s, issuer.jwks_ttl_s, issuer.refetch_per_minute) == (5, 60, 3)
    assert issuer.timeout_s == 0.5
    assert (issuer.scope_claim, issuer.group_claim) == ("scp", "realm_access.roles")
    assert issuer.rules[0].group == "ops"


def test_symmetric_and_none_algorithms_are_refused(tmp_path: Path) -> None:
    for algorithms in ("HS256", "none", "RS256,HS512"):
        config = load(issuer_env(TRUSTED_ISSUER_CORP_ALGORITHMS=algorithms), base_dir=tmp_path)
        assert config.issuers == ()
        assert any("not allowed" in error for error in config.errors), algorithms


def test_bad_issuers_are_errors_naming_the_variable(tmp_path: Path) -> None:
    cases = [
        ({"TRUSTED_ISSUER_CORP_AUDIENCE": ""}, "TRUSTED_ISSUER_CORP_AUDIENCE"),
        ({"TRUSTED_ISSUER_CORP_ISSUER": "directus"}, "this server's own"),
        ({"TRUSTED_ISSUER_CORP_RULES": "json:{}"}, "RULES: must be a JSON list"),
        ({"TRUSTED_ISSUER_CORP_RULES": 'json:[{"scope": "x"}]'}, "grants nothing"),
        ({"TRUSTED_ISSUER_CORP_RULES": 'json:[{"role": "nope"}]'}, "must be ids"),
        ({"TRUSTED_ISSUER_CORP_REQUIRED_CLAIMS": "json:[1]"}, "REQUIRED_CLAIMS"),
        ({"TRUSTED_ISSUER_CORP_JWKS_URL": "file:///etc/passwd"}, "not an http(s) URL"),
        ({"TRUSTED_ISSUERS": "default"}, "not a usable issuer name"),
        ({"AUTH_PROVIDERS": "corp", "AUTH_CORP_DRIVER": "openid"}, "already a provider"),
    ]
    for extra, text in cases:
        config = load(issuer_env(**extra), base_dir=tmp_path)
        assert config.issuers == (), extra
        assert any(text in error for error in config.errors), (extra, config.errors)


def test_two_names_for_one_issuer_is_an_error(tmp_path: Path) -> None:
    env = issuer_env(
        TRUSTED_ISSUERS="corp,again",
        TRUSTED_ISSUER_AGAIN_ISSUER="https://idp.example.com",
        TRUSTED_ISSUER_AGAIN_AUDIENCE="x",
        TRUSTED_ISSUER_AGAIN_RULES=f'json:[{{"role": "{ROLE}"}}]',
    )
    config = load(env, base_dir=tmp_path)
    assert [i.name for i in config.issuers] == ["corp"]
    assert any("already trusted" in error for error in config.errors)


def test_an_issuer_without_rules_is_a_warning(tmp_path: Path) -> None:
    config = load(issuer_env(TRUSTED_ISSUER_CORP_RULES="json:[]"), base_dir=tmp_path)
    assert config.errors == ()
    assert any("every token of 'corp' is refused" in w for w in config.warnings)


def test_proxy_variables_and_their_aliases(tmp_path: Path) -> None:
    config = load(
        {
            **BASE,
            "HTTP_PROXY": "http://proxy:3128",
            "https_proxy": "http://proxy:3129",
            "NO_PROXY": "localhost, .internal ,10.0.0.0/8",
        },
        base_dir=tmp_path,
    )
    outbound = config.outbound
    assert (outbound.http_proxy, outbound.https_proxy) == ("http://proxy:3128", "http://proxy:3129")
    assert outbound.no_proxy == ("localhost", ".internal", "10.0.0.0/8")
    aliases = load(
        {**BASE, "GLOBAL_AGENT_HTTPS_PROXY": "http://proxy:3129"}, base_dir=tmp_path
    ).outbound
    assert (aliases.http_proxy, aliases.https_proxy) == (None, "http://proxy:3129")
    bad = load({**BASE, "HTTP_PROXY": "socks5://proxy:1080"}, base_dir=tmp_path)
    assert any(error.startswith("HTTP_PROXY:") for error in bad.errors)
