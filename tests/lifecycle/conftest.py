"""Fixtures of the lifecycle tests: configuration presets and the signed-in admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from core.mail import wait_for_mail

PUBLIC_URL = "https://id.example.com"


@pytest.fixture(autouse=True)
def _lifecycle_config(settings: Any) -> None:
    """A public URL (so mailed links are absolute) and allow lists for the tests to use."""
    config = settings.DIRECTUS
    settings.DIRECTUS = replace(
        config,
        server=replace(config.server, public_url=PUBLIC_URL),
        lifecycle=replace(
            config.lifecycle,
            password_reset_url_allow_list=("https://app.example.com/reset",),
            user_invite_url_allow_list=("https://app.example.com/invite",),
        ),
    )


@pytest.fixture(autouse=True)
def _drain_mail() -> Iterator[None]:
    """Each test's messages are delivered before the next test's outbox starts."""
    yield
    assert wait_for_mail(15)


@pytest.fixture
def configure(settings: Any) -> Callable[..., None]:
    """Change sections of the configuration: ``configure(lifecycle={...}, limits={...})``."""

    def apply(**sections: dict[str, Any]) -> None:
        config = settings.DIRECTUS
        changes = {name: replace(getattr(config, name), **v) for name, v in sections.items()}
        settings.DIRECTUS = replace(config, **changes)

    return apply


@pytest.fixture
def outbox(mailoutbox: list[Any]) -> Callable[[], list[Any]]:
    """The messages sent so far, once the mail queue has drained."""

    def read() -> list[Any]:
        assert wait_for_mail(10)
        return list(mailoutbox)

    return read
