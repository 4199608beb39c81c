"""Bad input at the REST edge: a clear 4xx in the contract's envelope, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png;q=1, */*;q=0"])
def test_an_accept_header_the_api_cannot_satisfy_still_gets_json(api, accept):
    response = api.get("/auth/login", HTTP_ACCEPT=accept)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert code(response) == "METHOD_NOT_ALLOWED"
    assert api.get("/server/ping", HTTP_ACCEPT=accept).status_code == 200


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
def test_deeply_nested_json_is_invalid_payload(api, depth):
    response = api.post("/auth/login", "[" * depth, content_type="application/json")
    assert response.status_code == 400
    assert code(response) == "INVALID_PAYLOAD"
    nested = "[" * depth + "]" * depth
    response = api.post("/items/articles", nested, content_type="application/json")
    assert response.status_code in (400, 403)


def test_sixty_four_levels_are_fine(api):
    body = '{"email": "a@example.com", "password": "x", "otp": null, "x": ' + "[" * 62
    body += "]" * 62 + "}"
    assert code(api.post("/auth/login", body, content_type="application/json")) == (
        "INVALID_CREDENTIALS"
    )


def test_a_form_body_names_its_media_type(api):
    response = api.post(
        "/auth/login",
        "email=a%40example.com&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert code(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/x-www-form-urlencoded" in response.json()["errors"][0]["message"]
