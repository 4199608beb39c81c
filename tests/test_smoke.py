from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_ping(api):
    response = api.get("/server/ping")
    assert response.status_code == 200
    assert response.content == b"pong"


@pytest.mark.django_db
def test_unknown_route_is_route_not_found(api):
    response = api.get("/nope")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {
                "message": "Route /nope doesn't exist.",
                "extensions": {"path": "/nope", "code": "ROUTE_NOT_FOUND"},
            }
        ]
    }
