"""Every ingest path stores records redacted ([privacy] defaults): `loglens ingest` of stdin, `loglens run`
(its output and its exit record), and `loglens up` taking text, NDJSON and OTLP pushes, with /metrics
counting what was redacted. Files through `loglens ingest` are in test_privacy.py (the corpus)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_loglens
from daemon_helpers import Up
from loglens.store.duckdb import DuckDBStore


class TestCommandLine:
    def test_stdin(self, tmp_path: Path) -> None:
        """`loglens ingest -` stores a piped line redacted."""
        (tmp_path / "loglens.toml").write_text("")
        line = b"2026-11-27 10:00:00 INFO password=hunter2 sent to ana@example.com\n"
        run_loglens("ingest", "-q", "--config", str(tmp_path / "loglens.toml"),
                    "--store", str(tmp_path / "s.duckdb"), "-", stdin=line)  # fmt: skip
        assert stored_messages(tmp_path / "s.duckdb") == ["password=<secret> sent to <email>"]

    def test_run(self, tmp_path: Path) -> None:
        """`loglens run` stores its command's output redacted, and shows it redacted too."""
        (tmp_path / "loglens.toml").write_text("")
        script = "print('INFO card 4111111111111111 charged, receipt to ana@example.com')"
        config, store = str(tmp_path / "loglens.toml"), str(tmp_path / "s.duckdb")
        done = run_loglens("run", "--config", config, "--store", store, "--", sys.executable, "-c", script)
        assert "ana@example.com" not in done.stdout and "<email>" in done.stdout
        messages = stored_messages(tmp_path / "s.duckdb")
        assert messages[0] == "card <card> charged, receipt to <email>"
        assert "4111" not in messages[1] and "<email>" in messages[1]  # the exit record's command line


def stored_messages(path: Path) -> list[str]:
    store = DuckDBStore(path, read_only=True)
    try:
        _, rows = store.sql("SELECT message FROM records ORDER BY id")
    finally:
        store.close()
    return [row[0] for row in rows]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    daemon = Up(tmp_path)
    try:
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()


class TestDaemon:
    def test_pushes_stored_redacted_and_counted(self, up: Up) -> None:
        """Text lines, NDJSON with a password field and an OTLP attribute pushed to `loglens up` are
        stored redacted, and /metrics counts each value once."""
        client = up.client
        text = b"2026-11-27 10:00:00 INFO payment by ana@example.com card 4111 1111 1111 1111 ok\n"
        assert client.post("/ingest", params={"service": "shop"}, content=text).status_code == 200
        ndjson = json.dumps({"msg": "login for bob@example.org", "password": "hunter2", "app": "web"})
        answer = client.post(
            "/ingest", content=ndjson + "\n", headers={"Content-Type": "application/x-ndjson"}
        )
        assert answer.status_code == 200
        otlp = {"resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otelapp"}}]},
            "scopeLogs": [{"logRecords": [{
                "timeUnixNano": "1795766400000000000", "body": {"stringValue": "signup ok"},
                "attributes": [{"key": "user.email", "value": {"stringValue": "eve@example.net"}}],
            }]}],
        }]}  # fmt: skip
        assert client.post("/v1/logs", json=otlp).status_code == 200
        metrics = client.get("/metrics").text
        up.stop()
        store = DuckDBStore(up.store, read_only=True)
        try:
            _, rows = store.sql(
                "SELECT message || ' ' || raw || ' ' || coalesce(CAST(fields AS VARCHAR), '') FROM records"
            )
        finally:
            store.close()
        everything = "\n".join(row[0] for row in rows)
        for secret in ("ana@example.com", "4111", "bob@example.org", "hunter2", "eve@example.net"):
            assert secret not in everything
        assert everything.count("<email>") >= 3 and "<card>" in everything and "<secret>" in everything
        assert 'loglens_redacted_total{rule="email"} 3' in metrics
        assert 'loglens_redacted_total{rule="card"} 1' in metrics
        assert 'loglens_redacted_total{rule="password"} 1' in metrics
