"""The commands the README shows work right after ``./bin/serve``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

import manage


def test_manage_uses_the_secret_bin_serve_generated(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret").write_text("generated-secret\n")
    monkeypatch.setattr(manage, "__file__", str(tmp_path / "manage.py"))
    environ = {k: v for k, v in manage.os.environ.items() if k not in ("SECRET", "SECRET_FILE")}
    monkeypatch.setattr(manage.os, "environ", environ)  # the process's own stays untouched
    manage.use_embedded_secret()
    assert environ["SECRET_FILE"] == str(tmp_path / "data" / "secret")
    environ["SECRET_FILE"] = "/elsewhere"
    manage.use_embedded_secret()
    assert environ["SECRET_FILE"] == "/elsewhere"
    del environ["SECRET_FILE"]
    environ["SECRET"] = "given"
    manage.use_embedded_secret()
    assert "SECRET_FILE" not in environ


@pytest.mark.django_db
def test_load_demo_public_lets_the_public_read_published_articles(public):
    assert APIClient().get("/items/articles").status_code == 403
    call_command("load_demo", "--count", "6", "--public", stdout=StringIO())
    call_command("load_demo", "--count", "3", "--public", stdout=StringIO())  # idempotent grant
    response = APIClient().get("/items/articles", {"fields": "title,status"})
    assert response.status_code == 200
    rows = response.json()["data"]
    assert len(rows) == 3
    assert {row["status"] for row in rows} == {"published"}


@pytest.mark.django_db
def test_sync_directory_runs_without_a_directory():
    for args in ((), ("--dry-run",)):
        out = StringIO()
        call_command("sync_directory", *args, stdout=out)
        assert out.getvalue() == "No ldap provider is configured.\n"
