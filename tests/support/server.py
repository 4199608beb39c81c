"""A real server process for end-to-end tests: ``manage.py bootstrap`` + ``manage.py serve``.

Each server gets its own database (a temporary SQLite file, or a fresh PostgreSQL database when
the suite runs with ``DB_CLIENT=pg``), is waited for on its port and stopped by PID."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class InThreadServer:
    """An HTTP server of the test process on 127.0.0.1 (a free port), served from a daemon
    thread. Subclasses call :meth:`_listen` with their handler class at the end of
    ``__init__``; ``_stopping`` is set on :meth:`stop`, so a handler sleeping on it (a slow
    answer) wakes up at once."""

    _httpd: ThreadingHTTPServer

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def issuer(self) -> str:
        """The server's base URL (the issuer, for the identity-provider fakes)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def terminate(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    """Stop ``process`` if it runs: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_ping(
    url: str, process: subprocess.Popen[Any], log: Callable[[], str], timeout: float = 30
) -> None:
    """Until ``url``/server/ping answers 200; fails with the server's log if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/server/ping", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"server did not answer on {url}:\n{log()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def base_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """The environment of a server process: the suite's own, minus test-only settings."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        NODE_ENV="production",
        SECRET="e2e-secret-" + "x" * 40,
        DB_FILENAME=str(tmp / "server.db"),
        HASH_MEMORY_COST="1024",
        HASH_TIME_COST="1",
        HASH_PARALLELISM="1",
        ADMIN_EMAIL="admin@example.com",
        ADMIN_PASSWORD="e2e-admin-password",
        LOG_LEVEL="warn",
    )
    env.update(overrides)
    return env


def manage(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def postgres_database(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL database for one server, when the suite runs on PostgreSQL."""
    if env.get("DB_CLIENT") != "pg":
        yield env
        return
    import psycopg

    name = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = dict(
        host=env["DB_HOST"],
        port=env.get("DB_PORT", "5432"),
        user=env["DB_USER"],
        dbname=env["DB_DATABASE"],
    )
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {**env, "DB_DATABASE": name}
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *serve_args: str, bootstrap: bool = True) -> Server:
        if bootstrap:
            result = manage(self.env, "bootstrap")
            assert result.returncode == 0, result.stderr
        self.log_path = Path(self.env["DB_FILENAME"]).with_suffix(f".{self.port}.log")
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "serve", "--port", str(self.port), *serve_args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.process is not None
        wait_for_ping(self.url, self.process, self.log, timeout)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        terminate(self.process)
