"""Claim: the issuer's keys are fetched through the outbound proxy within a bounded time,
cached, kept working while the issuer is down, and a JWKS that answers garbage, errors, hangs or
is huge is a clear ``503 SERVICE_UNAVAILABLE``, never a 500 and never a long wait."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.config.outbound import Outbound
from tests.support.proxy import TinyProxy
from tests.tokens.external.conftest import Mint, bearer, error_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fault", ["garbage", "error", "huge", "no-keys"])
def test_a_broken_jwks_is_service_unavailable(
    trust: Any, mint: Mint, jwks_server: Any, fault: str
) -> None:
    trust()
    if fault == "garbage":
        jwks_server.garbage()
    elif fault == "error":
        jwks_server.error(500)
    elif fault == "huge":
        jwks_server.huge(2 * 1024 * 1024)
    else:
        jwks_server.serve({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "rsa-1"}]})
    response = bearer(mint()).get("/users/me")
    assert (response.status_code, error_code(response)) == (503, "SERVICE_UNAVAILABLE")
    assert response.json()["errors"][0]["extensions"]["service"] == "jwt"


def test_a_hanging_jwks_costs_at_most_the_timeout(trust: Any, mint: Mint, jwks_server: Any) -> None:
    trust(timeout_s=0.5)
    jwks_server.hang(10)
    started = time.monotonic()
    response = bearer(mint()).get("/users/me")
    assert response.status_code == 503
    assert time.monotonic() - started < 2.0
    # During the pause after a failure, no new network wait at all.
    started = time.monotonic()
    served = jwks_server.requests
    assert bearer(mint()).get("/users/me").status_code == 503
    assert time.monotonic() - started < 0.3
    assert jwks_server.requests == served


def test_cached_keys_keep_working_while_the_issuer_is_down(
    trust: Any, mint: Mint, jwks_server: Any, caplog: Any
) -> None:
    trust(jwks_ttl_s=1)
    assert bearer(mint()).get("/users/me").status_code == 200
    jwks_server.error(502)
    time.sleep(1.1)  # past the TTL: the next request tries to refetch
    with caplog.at_level(logging.WARNING, logger="tokens.external"):
        assert bearer(mint()).get("/users/me").status_code == 200
    assert "using the 2 cached keys" in caplog.text
    assert bearer(mint()).get("/users/me").status_code == 200


def test_keys_are_cached_for_their_ttl(trust: Any, mint: Mint, jwks_server: Any) -> None:
    trust()
    for _ in range(5):
        assert bearer(mint()).get("/users/me").status_code == 200
    assert jwks_server.requests == 1


def test_discovery_from_the_issuer(trust: Any, mint: Mint, jwks_server: Any) -> None:
    trust(jwks_url=None)
    jwks_server.discovery()
    assert bearer(mint()).get("/users/me").status_code == 200


def test_discovery_naming_another_issuer_is_refused(
    trust: Any, mint: Mint, jwks_server: Any
) -> None:
    trust(jwks_url=None)
    jwks_server.discovery(issuer="https://impostor.example")
    response = bearer(mint()).get("/users/me")
    assert (response.status_code, error_code(response)) == (503, "SERVICE_UNAVAILABLE")


def test_fetches_go_through_the_outbound_proxy(
    settings: Any, trust: Any, mint: Mint, jwks_server: Any, tmp_path: Path
) -> None:
    trust()
    with TinyProxy(tmp_path) as proxy:
        settings.DIRECTUS = replace(settings.DIRECTUS, outbound=Outbound(http_proxy=proxy.url))
        assert bearer(mint()).get("/users/me").status_code == 200
        assert proxy.requests() == [f"GET {jwks_server.jwks_url} HTTP/1.1"]


def test_no_proxy_names_hosts_reached_directly(
    settings: Any, trust: Any, mint: Mint, jwks_server: Any, tmp_path: Path
) -> None:
    trust()
    with TinyProxy(tmp_path) as proxy:
        outbound = Outbound(http_proxy=proxy.url, no_proxy=("127.0.0.0/8",))
        settings.DIRECTUS = replace(settings.DIRECTUS, outbound=outbound)
        assert bearer(mint()).get("/users/me").status_code == 200
        assert proxy.requests() == []
