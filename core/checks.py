"""System checks: configuration problems stop start-up with a message naming the variable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility, deploy=False)
def check_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    config = settings.DIRECTUS
    messages: list[checks.CheckMessage] = [
        checks.Error(text, id=f"directus.E{index:03d}")
        for index, text in enumerate(config.errors, 1)
    ]
    messages += [
        checks.Warning(text, id=f"directus.W{index:03d}")
        for index, text in enumerate(config.warnings, 1)
    ]
    if config.server.secret_is_generated and not config.production:
        messages.append(
            checks.Warning(
                "SECRET is not set; using a fixed development secret. Set SECRET in production.",
                id="directus.W100",
            )
        )
    return messages


@checks.register(checks.Tags.compatibility, deploy=False)
def check_mail(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``EMAIL_TEMPLATES_PATH`` must be a folder; in production the console transport (the
    default) prints every mail, links included, to the log, so it is flagged."""
    config = settings.DIRECTUS
    mail = config.mail
    messages: list[checks.CheckMessage] = []
    if mail.templates_path and not Path(mail.templates_path).is_dir():
        messages.append(
            checks.Error(
                f"EMAIL_TEMPLATES_PATH: {mail.templates_path!r} is not a folder.",
                id="directus.E200",
            )
        )
    if mail.transport == "console" and config.production:
        messages.append(
            checks.Warning(
                "EMAIL_TRANSPORT is console: reset and invitation mails (and their links) are "
                "written to the log. Set EMAIL_TRANSPORT=smtp (EMAIL_SMTP_*) or sendmail.",
                id="directus.W200",
            )
        )
    return messages


def fail_on_errors() -> None:
    """Run the checks at ASGI start-up; print and exit on any error."""
    errors = [m for m in checks.run_checks(include_deployment_checks=False) if m.is_serious()]
    if errors:
        for message in errors:
            print(f"Configuration error: {message.msg}", file=sys.stderr)
        raise SystemExit(1)
