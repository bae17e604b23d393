"""A real `loglens up` process for the tests that talk to the daemon (tests/test_daemon.py,
tests/server/test_views.py)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import spawned


class Up:
    """A `loglens up` process and its URL (read from daemon.json)."""

    def __init__(
        self, folder: Path, config: str = "", *extra: str, client_verify: ssl.SSLContext | bool = True
    ) -> None:
        self.folder = folder
        self.store = folder / "s.duckdb"
        (folder / "loglens.toml").write_text(config)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loglens", "up", "--store", str(self.store), "--listen", "127.0.0.1:0",
             "--config", str(folder / "loglens.toml"), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "TZ": "UTC"},
        )  # fmt: skip
        spawned(self.proc)
        info = folder / "daemon.json"
        deadline = time.monotonic() + 30
        while not info.exists():
            assert self.proc.poll() is None, self.proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "daemon.json did not appear"
            time.sleep(0.05)
        self.url = json.loads(info.read_text())["url"]
        self.client = httpx.Client(base_url=self.url, timeout=30, verify=client_verify)

    def stop(self, sig: signal.Signals = signal.SIGINT) -> str:
        self.client.close()
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        return err.decode()

    def kill(self) -> None:
        self.client.close()
        self.proc.kill()
        self.proc.wait()
