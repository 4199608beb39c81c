from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"

    def ready(self) -> None:
        """Install the logs-socket handler when that socket is served (websockets.md §11)."""
        sockets = settings.DIRECTUS.websockets
        if sockets.enabled and sockets.logs.enabled:
            install_log_handler()


def install_log_handler() -> None:
    """Add :class:`realtime.logs.SocketLogHandler` to the root logger. ``LOG_LEVEL`` keeps
    governing the console: the root level is lowered to ``WEBSOCKETS_LOGS_LEVEL`` if needed
    and the existing handlers get the old root level."""
    from django.core.signals import request_started

    from realtime.logs import SocketLogHandler, bind_publisher

    request_started.connect(bind_publisher, dispatch_uid="realtime-logs-bind")
    root = logging.getLogger()
    if any(isinstance(h, SocketLogHandler) for h in root.handlers):
        return
    handler = SocketLogHandler()
    if handler.level < root.level:
        for existing in root.handlers:
            if existing.level == logging.NOTSET:
                existing.setLevel(root.level)
        root.setLevel(handler.level)
    root.addHandler(handler)
