"""ASGI entry point: HTTP and WebSocket. Serve with ``uvicorn project.asgi:application``.

Start-up runs Django's system checks first, so bad configuration stops the process with a
message naming the variable instead of failing at the first request."""

from __future__ import annotations

import os

import django
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
if not apps.ready:  # under ``manage.py serve`` Django is set up already: keep its logging
    django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter

from core.checks import fail_on_errors
from project.handler import ASGIHandler
from realtime.routing import websocket_application

fail_on_errors()

application = ProtocolTypeRouter(
    {
        "http": ASGIHandler(),
        "websocket": websocket_application(),
    }
)
