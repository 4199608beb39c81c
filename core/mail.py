"""Outgoing e-mail: a named template to one address, sent off the request thread.

:func:`send_template` renders ``<name>.html`` and ``<name>.txt`` (an operator's copies in
``EMAIL_TEMPLATES_PATH`` first, then the built-in ``templates/mail/``) into one message with a
text and an HTML part, and hands it to a background worker. So a response never waits for SMTP,
and its timing never says whether a message was sent at all. A failure is logged with the
template name and the recipient's *domain* only (never the address, the link or its token) and
never reaches the caller: the contract (http-auth.md §7.5) answers 204 whatever the mail does.

Two limits apply before anything is queued, both silent (logged, not raised):

* ``RATE_LIMITER_EMAIL_*`` (off by default, 60 per 60 s): all outgoing mail of the server;
* :data:`PER_RECIPIENT` (always on): a few messages per address per quarter hour, so nobody can
  flood someone's inbox through ``/auth/password/request`` or repeated invitations.

Transports (``EMAIL_TRANSPORT``): Django's console and SMTP backends (:class:`SmtpBackend` adds
``EMAIL_SMTP_NAME``), and :class:`SendmailBackend` (``EMAIL_SENDMAIL_PATH -t -i``).
Tests call :func:`wait_for_mail` to let the queue drain in-process.
"""

from __future__ import annotations

import atexit
import logging
import queue
import smtplib
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.template import Context
from django.template.loader import select_template

from core.config import RateLimit
from core.errors import RequestsExceeded, ServiceUnavailable
from core.ratelimit import RateLimiter

logger = logging.getLogger("core.mail")

#: Messages per address and window (reset and invitation mails alike).
PER_RECIPIENT = RateLimit(enabled=True, points=3, duration_s=15 * 60)
SENDMAIL_TIMEOUT_S = 10


@dataclass(frozen=True)
class Outgoing:
    """One message waiting in the queue: what to render, for whom."""

    template: str
    to: str
    subject: str
    context: Mapping[str, Any] = field(default_factory=dict, repr=False)


def send_template(
    template: str, to: str, subject: str, context: Mapping[str, Any] | None = None
) -> bool:
    """Queue ``template`` for ``to``; True if it was queued, False if a limit held it back.

    Never raises: a limit or a store failure is logged and the message dropped."""
    outgoing = Outgoing(template, to, subject, dict(context or {}))
    if not _within_limits(outgoing):
        return False
    _worker().put(outgoing)
    return True


def wait_for_mail(timeout: float = 10.0) -> bool:
    """Block until every queued message was handled (sent or failed); False on timeout."""
    return _worker().drain(timeout)


def recipient_domain(address: str) -> str:
    """What a log line may say about a recipient: the part after ``@``."""
    return address.rpartition("@")[2].lower() or "?"


def render(outgoing: Outgoing) -> EmailMultiAlternatives:
    """The message: the ``.txt`` template as body, the ``.html`` one as alternative."""
    context = {**outgoing.context, "subject": outgoing.subject}
    # The text part is not HTML: no escaping (a link keeps its "&"), whatever the template.
    text = _template(outgoing.template, "txt").template.render(Context(context, autoescape=False))
    html = _template(outgoing.template, "html").render(context)
    message = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=text,
        from_email=settings.DIRECTUS.mail.from_address,
        to=[outgoing.to],
    )
    message.attach_alternative(html, "text/html")
    return message


def _template(name: str, extension: str) -> Any:
    return select_template([f"{name}.{extension}", f"mail/{name}.{extension}"])


def _within_limits(outgoing: Outgoing) -> bool:
    config = settings.DIRECTUS.mail.rate_limit
    limiters = [_limiter("mail-recipient", PER_RECIPIENT, outgoing.to.strip().lower())]
    if config.enabled:
        limiters.insert(0, _limiter("mail-global", config, "global"))
    for limiter, key in limiters:
        try:
            limiter.consume(key)
        except RequestsExceeded:
            _log_not_sent(outgoing, f"{limiter.name} limit reached")
            return False
        except ServiceUnavailable:
            _log_not_sent(outgoing, "rate limiter unreachable")
            return False
    return True


def _limiter(name: str, limit: RateLimit, key: str) -> tuple[RateLimiter, str]:
    return RateLimiter(name, limit.points, limit.duration_s, service="mail"), key


def _log_not_sent(outgoing: Outgoing, reason: str) -> None:
    logger.warning(
        "mail not sent",
        extra={
            "template": outgoing.template,
            "recipient_domain": recipient_domain(outgoing.to),
            "reason": reason,
        },
    )


def deliver(outgoing: Outgoing) -> bool:
    """Render and send one message now; log (never raise) a failure. True if it was sent."""
    try:
        render(outgoing).send(fail_silently=False)
    except Exception as exc:  # any failure of the peer or a template is only logged
        _log_not_sent(outgoing, _reason(exc))
        return False
    logger.info(
        "mail sent",
        extra={"template": outgoing.template, "recipient_domain": recipient_domain(outgoing.to)},
    )
    return True


def _reason(exc: BaseException) -> str:
    """A failure, described without the message, the recipient address or the server's reply
    (which may quote either)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class _Worker:
    """One daemon thread per process sending queued messages in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Outgoing] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self.thread.start()

    def put(self, outgoing: Outgoing) -> None:
        self.queue.put(outgoing)

    def drain(self, timeout: float) -> bool:
        with self.queue.all_tasks_done:
            return self.queue.all_tasks_done.wait_for(
                lambda: self.queue.unfinished_tasks == 0, timeout
            )

    def _run(self) -> None:
        while True:
            outgoing = self.queue.get()
            try:
                deliver(outgoing)
            finally:
                self.queue.task_done()


_worker_lock = threading.Lock()
_the_worker: _Worker | None = None


def _worker() -> _Worker:
    global _the_worker
    with _worker_lock:
        if _the_worker is None:
            _the_worker = _Worker()
            atexit.register(_the_worker.drain, 5.0)
        return _the_worker


class SmtpBackend(DjangoSmtpBackend):
    """Django's SMTP backend, greeting the server as ``EMAIL_SMTP_NAME`` when it is set."""

    @property
    def connection_class(self) -> Any:
        base = super().connection_class
        name = settings.DIRECTUS.mail.smtp.name
        if not name:
            return base

        def connect(host: str, port: int, **params: Any) -> smtplib.SMTP:
            return base(host, port, **{**params, "local_hostname": name})

        return connect


class SendmailBackend(BaseEmailBackend):
    """Pipes each message to ``EMAIL_SENDMAIL_PATH -t -i`` (recipients from the headers; a
    line holding one dot does not end the message)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            try:
                self._pipe(message.message().as_bytes())
            except (OSError, subprocess.SubprocessError):
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent

    def _pipe(self, raw: bytes) -> None:
        command = [settings.DIRECTUS.mail.sendmail_path, "-t", "-i"]
        result = subprocess.run(  # noqa: S603 - a fixed, configured program; no shell
            command, input=raw, capture_output=True, timeout=SENDMAIL_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise OSError(result.returncode, f"sendmail exited with status {result.returncode}")
