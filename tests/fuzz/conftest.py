"""The daemon the endpoint fuzz tests talk to: a real `Daemon` on a temporary store, its FastAPI app
driven in-process (no socket: a case costs milliseconds, so many thousands of them fit)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

import loglens.pipeline
from loglens.config import Config
from loglens.daemon import Daemon
from loglens.server.app import create_app
from loglens.server.settings import ServerSettings

MAX_BODY_BYTES = 256 * 1024
"""Small, so that over-long and decompression-bomb bodies are reached by small generated ones."""


@dataclass
class Served:
    """A running daemon and a client of its app."""

    daemon: Daemon
    client: TestClient

    def stored(self) -> int:
        """Records in the store now (a push is acknowledged only once committed, so this is exact)."""
        return self.daemon.store.count()

    def request(self, method: str, url: str, **kwargs: Any) -> tuple[Response, int]:
        """The response to one request and how many records it added, failing on any 5xx."""
        before = self.stored()
        response = self.client.request(method, url, **kwargs)
        added = self.stored() - before
        assert response.status_code < 500, f"{method} {url}: {response.status_code} {response.text[:2000]}"
        return response, added


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A daemon on a fresh store (bodies decoded in place, no worker processes), and its client."""
    # Each push waits up to 50 ms for others to share its commit; fuzz cases come one at a time, so
    # that wait would be most of each case. Commits themselves are unchanged.
    saved = loglens.pipeline.GROUP_COMMIT_WAIT_S
    loglens.pipeline.GROUP_COMMIT_WAIT_S = 0.0
    server = dataclasses.replace(ServerSettings(), decode_workers=0, max_body_bytes=MAX_BODY_BYTES)
    daemon = Daemon(
        tmp_path_factory.mktemp("fuzzd") / "fuzz.duckdb", dataclasses.replace(Config(), server=server)
    )
    daemon.start()
    try:
        with TestClient(create_app(daemon)) as client:
            yield Served(daemon, client)
        assert daemon.failure is None, daemon.failure
    finally:
        daemon.stop()
        loglens.pipeline.GROUP_COMMIT_WAIT_S = saved
