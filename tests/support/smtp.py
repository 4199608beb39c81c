"""A real SMTP server for the suite: aiosmtpd on 127.0.0.1 writing each message to a Maildir.

Use :func:`smtp_sink` (a context manager) or the ``smtp`` fixture in a test module::

    with smtp_sink(tmp_path) as sink:
        ... EMAIL_SMTP_HOST=127.0.0.1, EMAIL_SMTP_PORT=sink.port, EMAIL_SMTP_IGNORE_TLS=true ...
        message = sink.wait_for(1)[0]
        link = sink.link(message)
"""

from __future__ import annotations

import contextlib
import email
import mailbox
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from tests.support.server import free_port

LINK_RE = re.compile(r"https?://\S+?token=[\w.\-]+")


@dataclass
class SmtpSink:
    """The running server: its port and the messages it received so far."""

    port: int
    maildir: Path

    def messages(self) -> list[EmailMessage]:
        box = mailbox.Maildir(self.maildir, create=False)
        parsed = [  # Maildir names start with the delivery time: sorted, they are in order
            email.message_from_bytes(box.get_bytes(key), policy=default_policy)
            for key in sorted(box.keys())
        ]
        return [m for m in parsed if isinstance(m, EmailMessage)]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """At least ``count`` messages, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages())}")

    def to(self, address: str, timeout: float = 15.0) -> EmailMessage:
        """The (last) message sent to ``address``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages()):
                if address.lower() in str(message["To"]).lower():
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message to {address}")


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    """The link with a ``token=`` in the message's text part."""
    found = LINK_RE.search(text_part(message))
    assert found, f"no link in:\n{text_part(message)}"
    return found.group(0)


def token_in(message: EmailMessage) -> str:
    return link_in(message).rpartition("token=")[2]


@contextlib.contextmanager
def smtp_sink(tmp: Path) -> Iterator[SmtpSink]:
    """Start an SMTP server on a free port of 127.0.0.1; stop it on exit."""
    maildir = tmp / "maildir"
    mailbox.Maildir(maildir, create=True)
    port = free_port()
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(port=port, maildir=maildir)
    finally:
        controller.stop()
