"""``manage.py serve``: run the ASGI application (HTTP + WebSocket) with uvicorn on HOST:PORT."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

WS_PROTOCOL = "realtime.protocol:WebSocketProtocol"


class Command(BaseCommand):
    help = "Serve HTTP and WebSocket with uvicorn on HOST:PORT from the configuration."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--workers", type=int, default=1, help="Worker processes (needs REDIS)."
        )
        parser.add_argument("--host", default=None, help="Overrides HOST.")
        parser.add_argument("--port", type=int, default=None, help="Overrides PORT.")

    def handle(self, *args: Any, **options: Any) -> None:
        config = settings.DIRECTUS
        workers = max(1, options["workers"])
        if workers > 1 and config.redis is None:
            self.stderr.write(
                "Several workers share rate limits, caches and events only through Redis: "
                "set REDIS, or run one worker."
            )
            raise SystemExit(2)
        host = options["host"] or config.server.host
        port = options["port"] if options["port"] is not None else config.server.port
        self.stdout.write(f"Serving on http://{host}:{port} ({workers} worker(s))")
        uvicorn.run(
            "project.asgi:application",
            host=host,
            port=port,
            workers=workers,
            lifespan="off",
            log_level="warning",
            proxy_headers=config.server.ip_trust_proxy,
            forwarded_allow_ips="*" if config.server.ip_trust_proxy else None,
            # Frames up to twice MAX_PAYLOAD_SIZE reach the sockets, which answer an oversized
            # one with an error frame (close 1009); larger ones are cut by uvicorn itself.
            ws_max_size=2 * config.server.max_payload_size,
            # Memory per open connection (docs/performance.md, Realtime): uvicorn's protocol
            # without its per-connection queue, event and spent handshake, and no
            # permessage-deflate (Directus offers none; its zlib state is ~35 KiB a connection).
            ws=WS_PROTOCOL,
            ws_per_message_deflate=False,
        )
