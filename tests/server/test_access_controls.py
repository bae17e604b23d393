"""Access hardening on a real daemon: the audit log (who asked what, when, and the answer), per-token
rate limits (429 with Retry-After), and HTTPS with the daemon's own certificate (the CLI beside it
trusts it)."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import LoglensCli
from daemon_helpers import Up

READER = "reader-secret-0123456789"
ADMIN = "admin-secret-0123456789"
SLOW = "slow-secret-0123456789ab"
TOKENS = f"""
[[server.tokens]]
name = "reader"
token = "{READER}"
scopes = ["read", "ingest"]

[[server.tokens]]
name = "slow"
token = "{SLOW}"
scopes = ["read"]
rate = 2
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Up:
    up = Up(tmp_path_factory.mktemp("access"), TOKENS)
    yield up
    up.stop()


def audit_lines(up: Up) -> list[dict[str, object]]:
    return [json.loads(line) for line in (up.folder / "audit.jsonl").read_text().splitlines()]


class TestAudit:
    def test_every_query_is_logged_with_who_and_what(self, daemon: Up) -> None:
        """A token's query is logged under its name with path, query and status; a refused one under
        the client's address; the dashboard's static files are not."""
        answer = daemon.client.get(
            "/api/logs", params={"q": "audit-me", "limit": 3}, headers={"Authorization": f"Bearer {READER}"}
        )
        assert answer.status_code == 200
        assert daemon.client.get("/api/incidents").status_code == 401
        assert daemon.client.get("/ui/js/main.js").status_code == 200
        time.sleep(0.2)
        lines = audit_lines(daemon)
        mine = next(
            line for line in lines if line["path"] == "/api/logs" and "audit-me" in str(line["query"])
        )
        assert mine["who"] == "reader" and mine["status"] == 200 and mine["method"] == "GET"
        refused = next(line for line in lines if line["path"] == "/api/incidents")
        assert refused["who"] == "anonymous@127.0.0.1" and refused["status"] == 401
        assert not any(str(line["path"]).startswith("/ui/") for line in lines)
        assert all({"ts", "who", "method", "path", "query", "status", "ms"} <= set(line) for line in lines)


class TestRateLimit:
    def test_a_token_over_its_rate_gets_429_then_recovers(self, daemon: Up) -> None:
        """Rate 2/s (a burst of 4): of 10 quick requests some are refused with Retry-After; a moment
        later the token works again; other tokens are not limited."""
        headers = {"Authorization": f"Bearer {SLOW}"}
        codes = [daemon.client.get("/api/alerts/rules", headers=headers).status_code for _ in range(10)]
        assert codes.count(200) >= 4 and codes.count(429) >= 3, codes
        refused = daemon.client.get("/api/alerts/rules", headers=headers)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "over its rate" in refused.json()["detail"]
        reader = {"Authorization": f"Bearer {READER}"}
        assert all(
            daemon.client.get("/api/alerts/rules", headers=reader).status_code == 200 for _ in range(10)
        )
        time.sleep(1.5)
        assert daemon.client.get("/api/alerts/rules", headers=headers).status_code == 200


def test_https_with_its_own_certificate(tmp_path: Path) -> None:
    """With tls_cert/tls_key the daemon serves HTTPS only; a client trusting that certificate gets its
    answers, an unverified one is refused, and the CLI goes through it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    config = f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    folder = tmp_path / "d"
    folder.mkdir()
    trusted = ssl.create_default_context(cafile=str(cert))
    up = Up(folder, config, client_verify=trusted)
    try:
        assert up.url.startswith("https://127.0.0.1:")
        assert httpx.get(up.url + "/api/logs", verify=trusted).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(up.url + "/api/logs")
        with pytest.raises(httpx.HTTPError):
            httpx.get(up.url.replace("https", "http") + "/api/logs")
        pushed = up.client.post("/ingest", params={"service": "tls"}, content=b"hello over tls\n")
        assert pushed.status_code == 200
        out = LoglensCli.run("logs", "--store", str(up.store), "--config", str(folder / "loglens.toml"))
        assert "hello over tls" in out.stdout
        # The live channel's clients (terminal dashboard, MCP subscriptions) trust it too, over wss://.
        assert asyncio.run(_first_live_message(up.url, str(cert))) == {"type": "connected"}
        with pytest.raises(ssl.SSLError):
            asyncio.run(_first_live_message(up.url, None))
    finally:
        up.stop()


async def _first_live_message(url: str, tls_cert: str | None) -> dict[str, object]:
    from loglens.tui.data import LogFilter
    from loglens.tui.stream import live_messages

    async for message in live_messages(url, None, LogFilter(), tls_cert):
        return message
    raise AssertionError("the live channel closed at once")
