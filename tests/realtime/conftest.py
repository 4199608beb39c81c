"""Real servers for the realtime tests, one per configuration and module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.realtime.support import realtime_env, start
from tests.support.server import Server, postgres_database

ServerFactory = Callable[..., Server]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Start servers with WebSockets on (plus overrides); all are stopped after the module."""
    running: list[Server] = []
    contexts = []

    def make(**overrides: str) -> Server:
        tmp: Path = tmp_path_factory.mktemp("realtime")
        context = postgres_database(realtime_env(tmp, **overrides))
        contexts.append(context)
        server = start(context.__enter__())
        running.append(server)
        return server

    yield make
    for server in running:
        server.stop()
    for context in contexts:
        context.__exit__(None, None, None)
