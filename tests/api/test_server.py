"""``/server/ping``, ``/server/health`` and ``/server/info`` (contract system-api.md), and the
``health`` section of the configuration."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from api.server import RELEASE_ID
from core.config import load
from core.config.health import GROUPS
from system import health as health_module
from tests.support.server import free_port
from tests.support.smtp import smtp_sink

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
FORBIDDEN = {
    "errors": [
        {
            "message": "You don't have permission to access this.",
            "extensions": {"code": "FORBIDDEN"},
        }
    ]
}


def configure(settings: Any, **sections: dict[str, Any]) -> None:
    """Replace fields of ``settings.DIRECTUS`` sections: ``configure(s, health={...})``."""
    config = settings.DIRECTUS
    changes = {
        name: dataclasses.replace(getattr(config, name), **fields)
        for name, fields in sections.items()
    }
    settings.DIRECTUS = dataclasses.replace(config, **changes)


@pytest.fixture
def user(make_role, make_user):
    role, _ = make_role("Editors")
    return make_user("editor@example.com", PASSWORD, role=role)


@pytest.fixture
def as_user(api, user):
    api.force_login(user)
    return api


@pytest.fixture
def as_admin(api, admin_user):
    api.force_login(admin_user)
    return api


def db_check() -> str:
    return f"{django_settings.DIRECTUS.database.client}:responseTime"


# -------------------------------------------------------------------------------------- ping


@pytest.mark.parametrize(
    "authorization", [None, "Bearer garbage", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.bad", "Basic x"]
)
def test_ping_answers_before_authentication(api, authorization):
    if authorization:
        api.credentials(HTTP_AUTHORIZATION=authorization)
    response = api.get("/server/ping?access_token=also-garbage")
    assert response.status_code == 200
    assert response.content == b"pong"
    assert response["Content-Type"] == "text/html; charset=utf-8"


# ------------------------------------------------------------------------------------ health


def test_health_refuses_the_public(api):
    response = api.get("/server/health")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_health_gives_a_user_the_status_only(as_user):
    response = as_user.get("/server/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/health+json"
    assert response["Cache-Control"] == "no-cache"


def test_health_gives_an_admin_every_check(as_admin):
    response = as_admin.get("/server/health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/health+json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["releaseId"] == RELEASE_ID == "0.1.0"
    assert body["serviceId"] == django_settings.DIRECTUS.server.public_url
    expected = {db_check(), "cache:responseTime", "channelLayer:responseTime"}
    if django_settings.DIRECTUS.redis:
        expected.add("redis:responseTime")
    if django_settings.DIRECTUS.database.client == "pg":
        expected |= {"pg:connectionsAvailable", "pg:connectionsUsed"}
    assert set(body["checks"]) == expected
    (database,) = body["checks"][db_check()]
    assert set(database) == {
        "status",
        "componentType",
        "observedValue",
        "observedUnit",
        "threshold",
    }
    assert (database["status"], database["componentType"]) == ("ok", "datastore")
    assert (database["observedUnit"], database["threshold"]) == ("ms", 150)
    assert isinstance(database["observedValue"], float)
    assert body["checks"]["cache:responseTime"][0]["componentType"] == "cache"
    for name in ("pg:connectionsAvailable", "pg:connectionsUsed"):
        for entry in body["checks"].get(name, []):
            assert entry["observedValue"] >= 0
            assert (entry["status"], entry["componentType"]) == ("ok", "datastore")


def test_a_failing_probe_is_503_without_the_exception_text(as_admin, monkeypatch):
    def broken() -> None:  # a fault a real database can't be told to produce on demand
        raise RuntimeError("connection to postgresql://app:hunter2@db:5432/app failed")

    monkeypatch.setattr(health_module, "_database", broken)
    response = as_admin.get("/server/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    entry = body["checks"][db_check()][0]
    assert (entry["status"], entry["output"]) == ("error", "Can't connect to the database.")
    assert b"hunter2" not in response.content


def test_a_user_sees_the_error_status_only(as_user, monkeypatch):
    monkeypatch.setattr(health_module, "_cache", lambda: 1 / 0)
    response = as_user.get("/server/health")
    assert (response.status_code, response.json()) == (503, {"status": "error"})


def test_over_threshold_is_warn(as_admin, settings):
    configure(settings, health={"db_threshold_ms": 0})
    response = as_admin.get("/server/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warn"
    entry = body["checks"][db_check()][0]
    assert (entry["status"], entry["threshold"]) == ("warn", 0)
    assert entry["observedValue"] > 0
    assert body["checks"]["cache:responseTime"][0]["status"] == "ok"


def test_health_disabled_is_an_unknown_route(as_admin, settings):
    configure(settings, health={"enabled": False})
    response = as_admin.get("/server/health")
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"] == {
        "path": "/server/health",
        "code": "ROUTE_NOT_FOUND",
    }


def test_healthcheck_services_limits_the_groups(as_admin, settings):
    configure(settings, health={"services": ("database",)})
    checks = as_admin.get("/server/health").json()["checks"]
    assert {name.rpartition(":")[0] for name in checks} == {
        django_settings.DIRECTUS.database.client
    }
    configure(settings, health={"services": ("realtime", "cache")})
    checks = as_admin.get("/server/health").json()["checks"]
    assert db_check() not in checks
    assert {"cache:responseTime", "channelLayer:responseTime"} <= set(checks)


def test_the_report_is_cached_briefly_and_shaped_per_caller(api, user, admin_user, monkeypatch):
    runs = []
    monkeypatch.setattr(health_module, "_database", lambda: runs.append(1))
    api.force_login(admin_user)
    first = api.get("/server/health").json()
    api.force_login(user)
    assert api.get("/server/health").json() == {"status": "ok"}
    api.force_login(admin_user)
    assert api.get("/server/health").json() == first
    assert len(runs) == 1
    monkeypatch.setattr(health_module, "REPORT_TTL_S", 0.05)
    health_module.cache.clear()
    api.get("/server/health")
    time.sleep(0.1)
    api.get("/server/health")
    assert len(runs) == 3


def test_rate_limiter_checks_when_the_limiters_are_on(as_admin, settings):
    limits = settings.DIRECTUS.limits
    configure(
        settings,
        limits={
            "api": dataclasses.replace(limits.api, enabled=True, points=100),
            "global_": dataclasses.replace(limits.global_, enabled=True, points=1000),
        },
    )
    checks = as_admin.get("/server/health").json()["checks"]
    for name in ("rateLimiter:responseTime", "rateLimiterGlobal:responseTime"):
        (entry,) = checks[name]
        assert (entry["status"], entry["componentType"], entry["threshold"]) == (
            "ok",
            "ratelimiter",
            150,
        )


def smtp_settings(settings: Any, port: int) -> None:
    configure(settings, mail={"transport": "smtp"})
    settings.EMAIL_BACKEND = "core.mail.SmtpBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_PASSWORD = "smtp-secret-password"


def test_email_connection_against_a_real_smtp_server(as_admin, settings, tmp_path: Path):
    with smtp_sink(tmp_path) as sink:
        smtp_settings(settings, sink.port)
        checks = as_admin.get("/server/health").json()["checks"]
    assert checks["email:connection"] == [{"status": "ok", "componentType": "email"}]


def test_email_connection_refused_is_an_error(as_admin, settings):
    smtp_settings(settings, free_port())  # nothing listens there
    response = as_admin.get("/server/health")
    assert response.status_code == 503
    assert response.json()["checks"]["email:connection"] == [
        {"status": "error", "componentType": "email", "output": "Can't connect to the mail server."}
    ]
    assert b"smtp-secret-password" not in response.content


def test_no_email_check_without_smtp(as_admin):
    assert "email:connection" not in as_admin.get("/server/health").json()["checks"]


def test_a_bad_token_on_health_is_still_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert api.get("/server/health").status_code == 401


# ------------------------------------------------------------------------------------- info

PROJECT = {
    "project_name": "Identity and access",
    "project_descriptor": None,
    "project_logo": None,
    "project_color": None,
    "default_language": "en-US",
    "public_foreground": None,
    "public_background": None,
    "public_note": None,
    "custom_css": None,
}


def test_info_for_the_public_is_the_project(api):
    response = api.get("/server/info")
    assert response.status_code == 200
    assert response.json() == {"data": {"project": PROJECT}}


def test_info_for_a_signed_in_user(as_user):
    data = as_user.get("/server/info").json()["data"]
    assert data == {
        "project": PROJECT,
        "rateLimit": False,
        "rateLimitGlobal": False,
        "extensions": {"limit": None},
        "queryLimit": {"default": 100, "max": 1000},
        "websocket": False,
        "version": RELEASE_ID,
    }


def test_info_shows_the_limiters_and_sockets_that_are_on(as_user, settings):
    limits, sockets = settings.DIRECTUS.limits, settings.DIRECTUS.websockets
    configure(
        settings,
        limits={"api": dataclasses.replace(limits.api, enabled=True, points=50, duration_s=1)},
        websockets={
            "enabled": True,
            "graphql": dataclasses.replace(sockets.graphql, enabled=False),
        },
    )
    data = as_user.get("/server/info").json()["data"]
    assert data["rateLimit"] == {"points": 50, "duration": 1}
    assert data["rateLimitGlobal"] is False
    assert data["websocket"] == {
        "rest": {"authentication": "handshake", "path": "/websocket"},
        "graphql": False,
        "heartbeat": 30,
        "logs": False,
    }


def test_info_shows_the_logs_socket_to_admins(as_admin, settings):
    configure(settings, websockets={"enabled": True, "heartbeat_enabled": False})
    websocket = as_admin.get("/server/info").json()["data"]["websocket"]
    assert websocket["heartbeat"] is False
    assert websocket["graphql"] == {"authentication": "handshake", "path": "/graphql"}
    assert websocket["logs"] == {
        "allowedLogLevels": {"info": 30, "warn": 40, "error": 50, "fatal": 60}
    }


# ----------------------------------------------------------------------------------- schema


def test_the_openapi_schema_describes_the_server_routes(api):
    schema = api.get("/server/specs/oas", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "text/html" in paths["/server/ping"]["get"]["responses"]["200"]["content"]
    health = paths["/server/health"]["get"]["responses"]
    assert {"200", "403", "404", "503"} <= set(health)
    assert "application/health+json" in health["200"]["content"]
    assert "200" in paths["/server/info"]["get"]["responses"]


# ---------------------------------------------------------------------------- configuration


def test_health_configuration_defaults(tmp_path: Path):
    config = load({"NODE_ENV": "development"}, base_dir=tmp_path)
    assert config.health.enabled is True
    assert config.health.services == GROUPS
    assert config.health.db_threshold_ms == config.health.cache_threshold_ms == 150


def test_health_configuration_is_read(tmp_path: Path):
    threshold = tmp_path / "threshold"
    threshold.write_text("300\n")
    config = load(
        {
            "NODE_ENV": "development",
            "HEALTHCHECK_ENABLED": "false",
            "HEALTHCHECK_SERVICES": "email, Database",
            "DB_HEALTHCHECK_THRESHOLD_FILE": str(threshold),
            "CACHE_HEALTHCHECK_THRESHOLD": "20",
            "RATE_LIMITER_HEALTHCHECK_THRESHOLD": "30",
            "RATE_LIMITER_GLOBAL_HEALTHCHECK_THRESHOLD": "40",
            "CHANNEL_LAYER_HEALTHCHECK_THRESHOLD": "50",
        },
        base_dir=tmp_path,
    )
    assert config.errors == ()
    health = config.health
    assert (health.enabled, health.services) == (False, ("database", "email"))
    assert (health.db_threshold_ms, health.cache_threshold_ms) == (300, 20)
    assert (health.rate_limiter_threshold_ms, health.rate_limiter_global_threshold_ms) == (30, 40)
    assert health.channel_layer_threshold_ms == 50


def test_an_unknown_health_group_is_a_configuration_error(tmp_path: Path):
    config = load({"NODE_ENV": "development", "HEALTHCHECK_SERVICES": "storage"}, base_dir=tmp_path)
    assert any(error.startswith("HEALTHCHECK_SERVICES") for error in config.errors)


# --------------------------------------------------------------------- defaults for clients


def forty_logins(api) -> list[int]:
    login = {"email": "editor@example.com", "password": PASSWORD}
    return [api.post("/auth/login", login, format="json").status_code for _ in range(40)]


def test_many_correct_logins_in_a_row_are_never_refused(api, user, one_rate_window):
    """A client (or a test suite) signing one user in 40 times a minute with the right password,
    default limits: the per-IP and per-account sign-in limits count failures only."""
    assert forty_logins(api) == [200] * 40


def test_failed_logins_from_one_address_are_still_limited(api, user, settings, one_rate_window):
    """Guessing across many accounts from one address spends the per-IP budget (30)."""
    limits = settings.DIRECTUS.limits
    configure(
        settings, limits={"login_account": dataclasses.replace(limits.login_account, enabled=False)}
    )
    codes = [
        api.post(
            "/auth/login", {"email": f"nobody{i}@example.com", "password": "x"}, format="json"
        ).status_code
        for i in range(limits.login_ip.points + 1)
    ]
    assert codes[:-1] == [401] * limits.login_ip.points
    assert codes[-1] == 429
    # and then even the right password waits for the window
    assert (
        api.post(
            "/auth/login", {"email": "editor@example.com", "password": PASSWORD}, format="json"
        ).status_code
        == 429
    )


def test_correct_logins_do_not_spend_the_account_budget(api, user, settings, one_rate_window):
    """Without the per-IP limiter, the per-account one (10 a minute) never refuses a correct
    password: it counts failures only."""
    limits = settings.DIRECTUS.limits
    configure(settings, limits={"login_ip": dataclasses.replace(limits.login_ip, enabled=False)})
    assert (limits.login_account.enabled, limits.login_account.points) == (True, 10)
    assert forty_logins(api) == [200] * 40
