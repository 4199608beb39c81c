"""Outgoing mail (core.mail) and its configuration (core.config.mail, core.config.lifecycle)."""

from __future__ import annotations

import logging
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.core import checks

from core import mail
from core.checks import check_mail
from core.config import load
from tests.support.server import free_port
from tests.support.smtp import html_part, smtp_sink, text_part

BASE = {"NODE_ENV": "production", "SECRET": "s" * 40}
URL = "https://id.example.com/admin/reset-password?a=1&token=abc"
CONTEXT = {"url": URL, "email": "ann@example.com", "project_name": "Acme <Labs>"}


@pytest.fixture(autouse=True)
def _drain() -> Any:
    yield
    assert mail.wait_for_mail(15)


def _mail_config(settings: Any, **changes: Any) -> None:
    config = settings.DIRECTUS
    settings.DIRECTUS = replace(config, mail=replace(config.mail, **changes))


# ------------------------------------------------------------------ configuration


def test_defaults(tmp_path: Path) -> None:
    config = load(BASE, base_dir=tmp_path)
    assert config.errors == ()
    assert (config.mail.transport, config.mail.from_address) == ("console", "no-reply@example.com")
    assert (config.mail.smtp.port, config.mail.smtp.secure, config.mail.smtp.ignore_tls) == (
        587,
        False,
        False,
    )
    assert config.mail.sendmail_path == "/usr/sbin/sendmail"
    assert config.mail.rate_limit == replace(config.mail.rate_limit, enabled=False, points=60)
    assert config.lifecycle.user_invite_token_ttl_ms == 7 * 86_400_000
    assert config.lifecycle.password_reset_url_allow_list == ()


def test_every_variable_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2-long\n")
    config = load(
        {
            **BASE,
            "EMAIL_FROM": "id@example.com",
            "EMAIL_TRANSPORT": "SMTP",
            "EMAIL_SMTP_HOST": "mail.example.com",
            "EMAIL_SMTP_PORT": "465",
            "EMAIL_SMTP_USER": "bot",
            "EMAIL_SMTP_PASSWORD_FILE": str(secret),
            "EMAIL_SMTP_SECURE": "true",
            "EMAIL_SMTP_NAME": "id.example.com",
            "EMAIL_TEMPLATES_PATH": str(tmp_path),
            "RATE_LIMITER_EMAIL_ENABLED": "true",
            "RATE_LIMITER_EMAIL_POINTS": "5",
            "RATE_LIMITER_EMAIL_DURATION": "30",
            "PASSWORD_RESET_URL_ALLOW_LIST": "https://a.example.com/r, https://b.example.com/r",
            "USER_INVITE_URL_ALLOW_LIST": "https://a.example.com/i",
            "USER_INVITE_TOKEN_TTL": "2d",
        },
        base_dir=tmp_path,
    )
    assert config.errors == ()
    smtp = config.mail.smtp
    assert (smtp.host, smtp.port, smtp.user, smtp.password, smtp.secure, smtp.name) == (
        "mail.example.com",
        465,
        "bot",
        "hunter2-long",
        True,
        "id.example.com",
    )
    assert "hunter2" not in repr(config.mail)
    assert (config.mail.from_address, config.mail.transport) == ("id@example.com", "smtp")
    assert config.mail.templates_path == str(tmp_path)
    assert (config.mail.rate_limit.enabled, config.mail.rate_limit.points) == (True, 5)
    assert config.lifecycle.password_reset_url_allow_list == (
        "https://a.example.com/r",
        "https://b.example.com/r",
    )
    assert config.lifecycle.user_invite_token_ttl_ms == 2 * 86_400_000


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"EMAIL_TRANSPORT": "carrier-pigeon"}, "EMAIL_TRANSPORT"),
        ({"EMAIL_TRANSPORT": "smtp"}, "EMAIL_SMTP_HOST"),
        ({"EMAIL_SMTP_PORT": "many"}, "EMAIL_SMTP_PORT"),
        ({"EMAIL_SMTP_SECURE": "true", "EMAIL_SMTP_IGNORE_TLS": "true"}, "EMAIL_SMTP_IGNORE_TLS"),
        ({"EMAIL_FROM": "nobody"}, "EMAIL_FROM"),
        ({"USER_INVITE_TOKEN_TTL": "soon"}, "USER_INVITE_TOKEN_TTL"),
        ({"USER_INVITE_TOKEN_TTL": "10s"}, "USER_INVITE_TOKEN_TTL"),
        ({"RATE_LIMITER_EMAIL_POINTS": "0"}, "RATE_LIMITER_EMAIL_POINTS"),
    ],
)
def test_bad_values_are_errors_naming_the_variable(tmp_path: Path, env: dict, names: str) -> None:
    config = load({**BASE, **env}, base_dir=tmp_path)
    assert any(names in error for error in config.errors), config.errors


def test_system_check_names_a_missing_templates_folder(settings: Any, tmp_path: Path) -> None:
    _mail_config(settings, templates_path=str(tmp_path / "missing"))
    [error] = [m for m in check_mail() if m.level == checks.ERROR]
    assert "EMAIL_TEMPLATES_PATH" in error.msg


def test_system_check_warns_of_console_in_production(settings: Any) -> None:
    config = settings.DIRECTUS
    settings.DIRECTUS = replace(config, server=replace(config.server, node_env="production"))
    assert [m.id for m in check_mail()] == ["directus.W200"]
    _mail_config(settings, transport="smtp")
    assert check_mail() == []


# ------------------------------------------------------------------ rendering and queue


def test_a_message_has_a_text_and_an_html_part() -> None:
    message = mail.render(mail.Outgoing("password-reset", "ann@example.com", "Reset", CONTEXT))
    assert message.to == ["ann@example.com"]
    assert URL in message.body  # text part: no HTML escaping
    assert "Acme <Labs>" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert URL.replace("&", "&amp;") in html
    assert "Acme &lt;Labs&gt;" in html


def test_invitation_template() -> None:
    message = mail.render(mail.Outgoing("user-invitation", "x@example.com", "Hi", CONTEXT))
    assert "You've been invited" in message.body
    assert URL in message.body


def test_an_operator_template_replaces_the_built_in_one(settings: Any, tmp_path: Path) -> None:
    (tmp_path / "password-reset.txt").write_text("Custom text {{ url }}")
    (tmp_path / "password-reset.html").write_text(
        '{% extends "mail/base.html" %}{% block content %}<p>Custom {{ url }}</p>{% endblock %}'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [str(tmp_path), *settings.TEMPLATES[0]["DIRS"]]}
    ]
    message = mail.render(mail.Outgoing("password-reset", "a@example.com", "Reset", CONTEXT))
    assert message.body == f"Custom text {URL}"
    assert "<p>Custom https://" in message.alternatives[0][0]
    # the other template is still the built-in one
    other = mail.render(mail.Outgoing("user-invitation", "a@example.com", "Hi", CONTEXT))
    assert "You've been invited" in other.body


def test_send_is_queued_and_delivered(mailoutbox: list) -> None:
    assert mail.send_template("password-reset", "ann@example.com", "Reset", CONTEXT)
    assert mail.wait_for_mail(10)
    [message] = mailoutbox
    assert message.subject == "Reset"


def test_one_address_gets_three_messages_per_window(mailoutbox: list, caplog: Any) -> None:
    sent = [mail.send_template("password-reset", "Ann@Example.com", "R", CONTEXT) for _ in range(3)]
    assert sent == [True, True, True]
    with caplog.at_level(logging.WARNING, logger="core.mail"):
        assert not mail.send_template("password-reset", "ann@example.com", "R", CONTEXT)
    assert mail.send_template("password-reset", "bob@example.com", "R", CONTEXT)
    assert mail.wait_for_mail(10)
    assert len(mailoutbox) == 4
    [record] = [r for r in caplog.records if r.getMessage() == "mail not sent"]
    assert (record.reason, record.recipient_domain) == (
        "mail-recipient limit reached",
        "example.com",
    )


def test_the_global_mail_limit(settings: Any, mailoutbox: list, one_rate_window: None) -> None:
    _mail_config(
        settings, rate_limit=replace(settings.DIRECTUS.mail.rate_limit, enabled=True, points=2)
    )
    results = [
        mail.send_template("password-reset", f"u{i}@example.com", "R", CONTEXT) for i in range(3)
    ]
    assert results == [True, True, False]
    assert mail.wait_for_mail(10)
    assert len(mailoutbox) == 2


def test_a_failure_is_logged_with_the_domain_only(settings: Any, caplog: Any) -> None:
    settings.EMAIL_BACKEND = "core.mail.SmtpBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = False
    with caplog.at_level(logging.INFO, logger="core.mail"):
        assert mail.send_template("password-reset", "ann@secret-domain.example", "R", CONTEXT)
        assert mail.wait_for_mail(15)
    [record] = [r for r in caplog.records if r.getMessage() == "mail not sent"]
    assert record.recipient_domain == "secret-domain.example"
    assert record.reason.startswith("ConnectionRefusedError")
    shown = str(vars(record))
    assert "ann@" not in shown
    assert "token=abc" not in shown


def test_smtp_backend_delivers_to_a_real_server(settings: Any, tmp_path: Path) -> None:
    with smtp_sink(tmp_path) as sink:
        settings.EMAIL_BACKEND = "core.mail.SmtpBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = False
        _mail_config(settings, smtp=replace(settings.DIRECTUS.mail.smtp, name="id.example.test"))
        assert mail.send_template("password-reset", "ann@example.com", "Reset", CONTEXT)
        [message] = sink.wait_for(1)
    assert message["Subject"] == "Reset"
    assert URL in text_part(message)
    assert URL.replace("&", "&amp;") in html_part(message)


def test_smtp_backend_greets_with_the_configured_name(settings: Any, monkeypatch: Any) -> None:
    seen: dict[str, Any] = {}

    def recorder(host: str, port: int, **params: Any) -> None:
        seen.update(params)

    monkeypatch.setattr(mail.DjangoSmtpBackend, "connection_class", property(lambda _: recorder))
    backend = mail.SmtpBackend(host="127.0.0.1", port=1, use_tls=False)
    assert backend.connection_class is recorder  # no name: Django's own greeting
    _mail_config(settings, smtp=replace(settings.DIRECTUS.mail.smtp, name="id.example.test"))
    backend.connection_class("h", 25, local_hostname="default", timeout=10)
    assert seen == {"local_hostname": "id.example.test", "timeout": 10}


def test_sendmail_backend_pipes_the_message(
    settings: Any, tmp_path: Path, mailoutbox: list
) -> None:
    captured = tmp_path / "captured.eml"
    program = tmp_path / "sendmail"
    program.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat > {captured}\n')
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    settings.EMAIL_BACKEND = "core.mail.SendmailBackend"
    _mail_config(settings, sendmail_path=str(program))
    assert mail.deliver(mail.Outgoing("password-reset", "ann@example.com", "Reset", CONTEXT))
    assert (tmp_path / "args").read_text().strip() == "-t -i"
    raw = captured.read_text()
    assert "To: ann@example.com" in raw
    assert "multipart/alternative" in raw


def test_sendmail_failure_is_only_logged(settings: Any, tmp_path: Path, caplog: Any) -> None:
    settings.EMAIL_BACKEND = "core.mail.SendmailBackend"
    _mail_config(settings, sendmail_path=str(tmp_path / "no-such-program"))
    with caplog.at_level(logging.WARNING, logger="core.mail"):
        assert not mail.deliver(mail.Outgoing("password-reset", "a@example.com", "R", CONTEXT))
    assert [r.getMessage() for r in caplog.records] == ["mail not sent"]
