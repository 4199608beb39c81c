"""A real outbound HTTP proxy for the tests: Debian's tinyproxy in the foreground with its own
configuration, on 127.0.0.1. Its log names every request it forwarded (``GET http://…`` lines
for plain HTTP, ``CONNECT host:port`` for HTTPS), which is how tests see that a fetch went
through it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.support.server import free_port, wait_for_port


class TinyProxy:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "tinyproxy"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = self.dir / "tinyproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TinyProxy:
        binary = shutil.which("tinyproxy")
        if binary is None:
            raise RuntimeError("tinyproxy is not installed (apt-get install tinyproxy)")
        config = self.dir / "tinyproxy.conf"
        config.write_text(
            "\n".join(
                [
                    "User nobody",
                    "Group nogroup",
                    f"Port {self.port}",
                    "Listen 127.0.0.1",
                    "Timeout 30",
                    "LogLevel Info",
                    "MaxClients 20",
                    "Allow 127.0.0.1",
                    "ConnectPort 443",
                    "ConnectPort 0",
                    "",
                ]
            )
        )
        with self.log.open("wb") as log:  # without a LogFile, -d logs to standard output
            self.process = subprocess.Popen(
                [binary, "-d", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port, timeout=10)
        return self

    def requests(self) -> list[str]:
        """The request lines tinyproxy forwarded (``GET http://… HTTP/1.1``, ``CONNECT …``)."""
        time.sleep(0.1)
        lines = self.log.read_text(errors="replace").splitlines()
        return [line.split("): ", 1)[1] for line in lines if "Request (file descriptor" in line]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            if self.process.poll() is None:
                self.process.kill()
            self.process = None

    def __enter__(self) -> TinyProxy:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
