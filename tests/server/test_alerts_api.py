"""Alerts through a real `loglens up`: lines pushed over HTTP raise an alert told once to a signed
webhook, an SMTP server and a playbook command (all real, on 127.0.0.1), a dead channel is recorded
and holds nothing up; repeats fold into the alert; silences, acknowledgement, the rules API, the
CLI through the daemon, and /metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from alert_receivers import Receiver, free_port, parsed
from daemon_helpers import Up
from loglens.alerts.channels import verify_signature

SECRET = "hook-secret-0123456789"
WAIT_S = 20.0


def push(up: Up, service: str, messages: list[str], level: str = "error") -> float:
    """Pushes lines stamped now; returns how long the push took (s)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    body = "\n".join(
        json.dumps({"time": stamp, "service": service, "level": level, "message": m}) for m in messages
    )
    started = time.monotonic()
    answer = up.client.post("/ingest", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    return time.monotonic() - started


def wait_for(what: Callable[[], Any], why: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {why}")


@pytest.fixture
def daemon(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Callable[..., Receiver],
    smtp_server: tuple[Controller, list[Envelope]],
) -> Iterator[tuple[Up, Receiver, list[Envelope], Path]]:
    monkeypatch.setenv("LOGLENS_TEST_HOOK_SECRET", SECRET)
    hook = receiver()
    controller, mail = smtp_server
    playbook = tmp_path / "playbook.json"
    argv = [sys.executable, "-c", f"import sys; open({str(playbook)!r}, 'wb').write(sys.stdin.buffer.read())"]
    config = f"""
[alerts]
group_wait = "0s"
retry_backoff = "100ms"
retries = 1

[[alerts.channels]]
name = "hook"
type = "webhook"
url = "{hook.url()}"
secret_env = "LOGLENS_TEST_HOOK_SECRET"

[[alerts.channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {controller.port}
from = "loglens@example.test"
to = ["oncall@example.test"]

[[alerts.channels]]
name = "playbook"
type = "command"
argv = {json.dumps(argv)}

[[alerts.channels]]
name = "dead"
type = "webhook"
url = "http://127.0.0.1:{free_port()}/gone"
timeout = 2

[[alerts.rules]]
name = "oom"
type = "match"
regex = "invoked oom-killer"
severity = "critical"
context = 2
channels = ["hook", "mail", "playbook", "dead"]
"""
    up = Up(tmp_path, config)
    try:
        yield up, hook, mail, playbook
    finally:
        up.stop()


class TestAlertsThroughTheDaemon:
    def test_one_alert_told_once_on_every_channel(
        self, daemon: tuple[Up, Receiver, list[Envelope], Path]
    ) -> None:
        """Matching lines open one alert with its context; the webhook gets it signed, the SMTP server a
        mail with the JSON attached, the playbook the JSON on stdin; the dead channel's failure is in the
        history; repeats raise the count and send nothing more; ingest stays quick."""
        up, hook, mail, playbook = daemon
        push(up, "kernel", ["eth0 up", "cgroup ok"], level="info")
        took = push(
            up, "kernel", ["python3 invoked oom-killer: gfp_mask=0x1", "Killed process 4242 (python3)"]
        )
        (alert,) = wait_for(lambda: up.client.get("/api/alerts").json()["alerts"], "the alert")
        assert (alert["rule"], alert["severity"], alert["labels"]["service"]) == ("oom", "critical", "kernel")
        assert [line["message"] for line in alert["context"]["before"]] == ["eth0 up", "cgroup ok"]

        _, headers, body = wait_for(lambda: hook.requests, "the webhook")[0]
        assert verify_signature(SECRET, headers["X-Loglens-Timestamp"], body, headers["X-Loglens-Signature"])
        assert not verify_signature(
            "wrong", headers["X-Loglens-Timestamp"], body, headers["X-Loglens-Signature"]
        )
        sent = json.loads(body)
        assert sent["event"] == "opened" and sent["alerts"][0]["id"] == alert["id"]

        message = parsed(wait_for(lambda: mail, "the mail")[0])
        assert "oom" in message["Subject"] and "CRITICAL" in message["Subject"].upper()
        attached = next(part for part in message.iter_attachments() if part.get_filename() == "alert.json")
        assert json.loads(attached.get_content())["alerts"][0]["id"] == alert["id"]

        wait_for(playbook.exists, "the playbook")
        assert json.loads(wait_for(playbook.read_text, "the playbook's input"))["alerts"][0]["rule"] == "oom"

        history = wait_for(
            lambda: [
                h
                for h in up.client.get(f"/api/alerts/{alert['id']}").json()["history"]
                if h["kind"] == "failed"
            ],
            "the dead channel's failure",
        )
        assert history[0]["channel"] == "dead" and "cannot reach" in history[0]["detail"]
        kinds = {
            (h["kind"], h["channel"]) for h in up.client.get(f"/api/alerts/{alert['id']}").json()["history"]
        }
        assert {("notified", "hook"), ("notified", "mail"), ("notified", "playbook")} <= kinds

        for _ in range(3):
            push(up, "kernel", ["python3 invoked oom-killer: gfp_mask=0x2"])
        wait_for(
            lambda: up.client.get(f"/api/alerts/{alert['id']}").json()["count"] == 4, "the count to reach 4"
        )
        time.sleep(1.5)
        assert len(hook.requests) == 1 and len(mail) == 1
        assert took < 2.0
        metrics = up.client.get("/metrics").text
        assert 'loglens_alert_notifications_total{channel="hook",outcome="sent"} 1' in metrics
        assert 'loglens_alert_notifications_total{channel="dead",outcome="failed"} 1' in metrics
        assert "loglens_alerts_open 1" in metrics

    def test_silence_ack_rules_and_the_cli(self, daemon: tuple[Up, Receiver, list[Envelope], Path]) -> None:
        """A silenced service's alert is raised but not sent; the CLI lists and acknowledges through the
        daemon; a bad rule is a 400 with its reason, a good one is listed as the API's."""
        up, hook, _, _ = daemon
        answer = up.client.post(
            "/api/alerts/silences", json={"matchers": {"service": "node7"}, "duration": "1h"}
        )
        assert answer.status_code == 201
        push(up, "node7", ["python3 invoked oom-killer: gfp_mask=0x3"])
        (alert,) = wait_for(lambda: up.client.get("/api/alerts").json()["alerts"], "the silenced alert")
        found = wait_for(
            lambda: (a := up.client.get(f"/api/alerts/{alert['id']}").json())["silenced_by"] and a,
            "the silence",
        )
        assert found["silenced_by"] == answer.json()["id"] and hook.requests == []

        env = {"TZ": "UTC", "PATH": "/usr/bin:/bin"}
        run = [sys.executable, "-m", "loglens", "alerts"]
        store = ["--store", str(up.store), "--config", str(up.folder / "loglens.toml")]
        listed = subprocess.run(
            [*run, "list", "--json", *store], capture_output=True, text=True, env=env, check=True
        )
        assert [a["id"] for a in json.loads(listed.stdout)] == [alert["id"]]
        subprocess.run(
            [*run, "ack", alert["id"], "--by", "sam", *store], capture_output=True, env=env, check=True
        )
        after = up.client.get(f"/api/alerts/{alert['id']}").json()
        assert (after["state"], after["acked_by"]) == ("acknowledged", "sam")

        bad = up.client.post(
            "/api/alerts/rules", json={"name": "x", "type": "threshold", "query": "level:>="}
        )
        assert bad.status_code == 400 and "query" in bad.json()["error"]
        good = up.client.post(
            "/api/alerts/rules", json={"name": "db-quiet", "type": "absence", "service": "db"}
        )
        assert good.status_code == 201
        rules = {r["name"]: r["source"] for r in up.client.get("/api/alerts/rules").json()}
        assert rules == {"oom": "config", "db-quiet": "api"}
        assert up.client.delete("/api/alerts/rules/oom").status_code == 404
        assert up.client.get("/api/alerts/999").status_code == 404
        missing = up.client.post("/api/alerts/rules/nope/test")
        assert missing.status_code == 404 and "GET /api/alerts/rules" in missing.json()["detail"]


def test_a_quiet_service_on_the_clock(tmp_path: Path) -> None:
    """An absence rule fires on the daemon's clock once a live service stops sending, and its next
    line resolves the alert; another service's lines do not keep it alive."""
    config = '[[alerts.rules]]\nname = "db-quiet"\ntype = "absence"\nservice = "db"\nwindow = "3s"\n'
    up = Up(tmp_path, config)
    try:
        push(up, "db", ["checkpoint complete"], level="info")
        time.sleep(1)
        assert up.client.get("/api/alerts").json()["alerts"] == []
        for _ in range(4):
            push(up, "web", ["GET / 200"], level="info")
            time.sleep(1)
        (alert,) = wait_for(lambda: up.client.get("/api/alerts").json()["alerts"], "the absence alert")
        assert alert["rule"] == "db-quiet" and "no records from db" in alert["title"]
        push(up, "db", ["checkpoint complete"], level="info")
        wait_for(lambda: up.client.get("/api/alerts").json()["alerts"] == [], "the alert to resolve")
        found = up.client.get(f"/api/alerts/{alert['id']}").json()
        assert found["state"] == "resolved" and found["resolved_by"] == "condition cleared"
    finally:
        up.stop()
