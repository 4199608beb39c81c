"""The ``mail`` section: outgoing e-mail (``EMAIL_*``, ``RATE_LIMITER_EMAIL_*``; env.md §3).

``EMAIL_TRANSPORT`` is ``console`` (the default: messages are written to standard output, for the
embedded default and local use), ``smtp`` (``EMAIL_SMTP_*``) or ``sendmail`` (piped to
``EMAIL_SENDMAIL_PATH -t -i``). Directus defaults to ``sendmail``; this server sends nothing
anywhere until told where. ``EMAIL_SMTP_SECURE`` is TLS from the first byte (port 465);
otherwise STARTTLS is required unless ``EMAIL_SMTP_IGNORE_TLS`` (Directus's nodemailer upgrades
only when the server offers it, which lets a man in the middle strip TLS).
``EMAIL_TEMPLATES_PATH`` is a folder of templates (``password-reset.html``, ``.txt``, …) searched
before the built-in ones. ``RATE_LIMITER_EMAIL_*`` (off, 60 per 60 s) bounds all outgoing mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config.env import EnvReader
from core.config.limits import RateLimit

TRANSPORTS = ("console", "smtp", "sendmail")


@dataclass(frozen=True)
class Smtp:
    host: str = ""
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    secure: bool = False
    ignore_tls: bool = False
    name: str | None = None


@dataclass(frozen=True)
class Mail:
    from_address: str = "no-reply@example.com"
    transport: str = "console"
    sendmail_path: str = "/usr/sbin/sendmail"
    smtp: Smtp = field(default_factory=Smtp)
    templates_path: str | None = None
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit(False, 60, 60))


def load_mail(env: EnvReader) -> Mail:
    mail = Mail(
        from_address=env.string("EMAIL_FROM", "no-reply@example.com").strip(),
        transport=env.choice("EMAIL_TRANSPORT", "console", TRANSPORTS),
        sendmail_path=env.string("EMAIL_SENDMAIL_PATH", "/usr/sbin/sendmail").strip(),
        smtp=_smtp(env),
        templates_path=env.optional("EMAIL_TEMPLATES_PATH"),
        rate_limit=RateLimit(
            enabled=env.boolean("RATE_LIMITER_EMAIL_ENABLED", False),
            points=env.integer("RATE_LIMITER_EMAIL_POINTS", 60, minimum=1),
            duration_s=env.integer("RATE_LIMITER_EMAIL_DURATION", 60, minimum=1),
        ),
    )
    if mail.transport == "smtp" and not mail.smtp.host:
        env.errors.append("EMAIL_SMTP_HOST is required with EMAIL_TRANSPORT=smtp.")
    if not mail.from_address or "@" not in mail.from_address:
        env.errors.append(f"EMAIL_FROM: must be an e-mail address; got {mail.from_address!r}.")
    return mail


def _smtp(env: EnvReader) -> Smtp:
    secure = env.boolean("EMAIL_SMTP_SECURE", False)
    ignore_tls = env.boolean("EMAIL_SMTP_IGNORE_TLS", False)
    if secure and ignore_tls:
        env.errors.append("EMAIL_SMTP_SECURE and EMAIL_SMTP_IGNORE_TLS cannot both be true.")
    return Smtp(
        host=env.string("EMAIL_SMTP_HOST", "").strip(),
        port=env.integer("EMAIL_SMTP_PORT", 587, minimum=1),
        user=env.optional("EMAIL_SMTP_USER"),
        password=env.optional("EMAIL_SMTP_PASSWORD"),
        secure=secure,
        ignore_tls=ignore_tls,
        name=env.optional("EMAIL_SMTP_NAME"),
    )
