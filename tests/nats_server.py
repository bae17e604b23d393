"""A real `nats-server -js` for the scale-out tests: a temporary store folder and a free port on
127.0.0.1, so that tests pass on any machine with the binary (`make test` installs it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServer:
    """One nats-server process with JetStream; `url` to connect."""

    def __init__(self, folder: Path) -> None:
        if not Path(NATS_SERVER).exists():
            pytest.skip("nats-server is not installed (make test installs it: apt-get install nats-server)")
        self.folder = folder
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                assert self.proc.poll() is None, "nats-server exited at start"
                assert time.monotonic() < deadline, "nats-server did not listen in 10 s"
                time.sleep(0.05)

    def kill_and_restart(self, down_s: float) -> None:
        """SIGKILL, `down_s` seconds without a server, then the same server again (port, store)."""
        self.proc.kill()
        self.proc.wait()
        time.sleep(down_s)
        self._start()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()
