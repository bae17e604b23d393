"""Tests for the alert channels over real transports on 127.0.0.1 (HTTP receivers, an SMTP server,
subprocesses), and for reading `[[alerts.channels]]` through the one registry of kinds."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from alert_receivers import Receiver, free_port, parsed
from conftest import REPO
from loglens.alerts.channels import (
    CHANNEL_KINDS,
    Channel,
    ChannelContext,
    ChannelError,
    parse_channel,
    parse_channels,
    verify_signature,
)
from loglens.alerts.channels.email import subject
from loglens.alerts.channels.slack import SECTION_LIMIT, slack_payload
from loglens.errors import ConfigError

HERE = "loglens.toml: [[alerts.channels]] #1"


def sample_notification(**changes: Any) -> dict[str, Any]:
    """A notification with every optional part filled in, as the alert engine sends it."""
    line = {"id": 7, "ts": "2026-11-21T03:46:29.120Z", "service": "api", "level": "error"}
    notification: dict[str, Any] = {
        "event": "opened",
        "group": "service=api",
        "sent_at": "2026-11-21T03:46:30.000Z",
        "url": "http://127.0.0.1:8080/",
        "alerts": [
            {
                "id": "12",
                "rule": "db-errors",
                "severity": "critical",
                "state": "open",
                "title": "Connection refused to db",
                "summary": "3 errors in 30 s from api\nall on the primary",
                "labels": {"service": "api"},
                "fingerprint": "ab12",
                "count": 3,
                "first_ts": "2026-11-21T03:46:01.000Z",
                "last_ts": "2026-11-21T03:46:29.120Z",
                "evidence": [{**line, "message": "connect to db:5432 failed: connection refused"}],
                "context": {
                    "before": [{**line, "id": 6, "level": "info", "message": "pool resized to 10"}],
                    "after": [{**line, "id": 8, "level": "warn", "message": "retrying in 5s"}],
                },
                "explanation": {
                    "what_happened": "The database stopped accepting connections.",
                    "fix": ["Check that postgres is running", "Restart the api"],
                    "signature": "db-refused",
                    "confidence": 0.7,
                },
            }
        ],
    }
    notification.update(changes)
    return notification


def build(entry: dict[str, Any], context: ChannelContext | None = None) -> Channel:
    """A channel from one `[[alerts.channels]]` table, as loglens.toml gives it."""
    return parse_channel(entry, HERE, context or ChannelContext(env={}))


class TestWebhookChannel:
    """The webhook channel POSTs signed JSON to a real HTTP server."""

    def test_posts_the_notification_with_its_headers(self, receiver: Callable[..., Receiver]) -> None:
        """The body is the notification as JSON; event, timestamp, content type and extra headers are set;
        nothing is signed without a secret."""
        server = receiver()
        channel = build({"name": "ops", "type": "webhook", "url": server.url(), "headers": {"X-Team": "db"}})
        before = int(time.time())
        channel.send(sample_notification())
        [(path, headers, body)] = server.requests
        assert path == "/hook"
        assert json.loads(body) == sample_notification()
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Loglens-Event"] == "opened"
        assert headers["X-Team"] == "db"
        assert before <= int(headers["X-Loglens-Timestamp"]) <= int(time.time())
        assert "X-Loglens-Signature" not in headers
        assert (channel.name, channel.kind) == ("ops", "webhook")

    def test_signature_verifies_with_the_right_secret_only(self, receiver: Callable[..., Receiver]) -> None:
        """A secret from `secret_env` signs timestamp and body: the right secret verifies, a wrong secret,
        another timestamp or a changed body do not."""
        server = receiver()
        context = ChannelContext(env={"HOOK_SECRET": "s3cret-for-hooks"})
        build({"type": "webhook", "url": server.url(), "secret_env": "HOOK_SECRET"}, context).send(
            sample_notification()
        )
        [(_, headers, body)] = server.requests
        stamp, signed = headers["X-Loglens-Timestamp"], headers["X-Loglens-Signature"]
        assert signed.startswith("sha256=")
        assert verify_signature("s3cret-for-hooks", stamp, body, signed)
        assert verify_signature("s3cret-for-hooks", int(stamp), body, signed, max_age_s=300)
        assert not verify_signature("another-secret", stamp, body, signed)
        assert not verify_signature("s3cret-for-hooks", str(int(stamp) + 1), body, signed)
        assert not verify_signature("s3cret-for-hooks", stamp, body + b" ", signed)

    def test_verify_refuses_an_old_timestamp(self, receiver: Callable[..., Receiver]) -> None:
        """With `max_age_s`, a correctly signed but stale request is refused (a replay)."""
        server = receiver()
        build({"type": "webhook", "url": server.url(), "secret": "literal-secret"}).send(
            sample_notification()
        )
        [(_, headers, body)] = server.requests
        stamp, signed = headers["X-Loglens-Timestamp"], headers["X-Loglens-Signature"]
        assert verify_signature("literal-secret", stamp, body, signed, max_age_s=60, now=int(stamp) + 30)
        assert not verify_signature("literal-secret", stamp, body, signed, max_age_s=60, now=int(stamp) + 61)

    def test_server_error_is_a_channel_error_without_the_secret_path(
        self, receiver: Callable[..., Receiver]
    ) -> None:
        """A 500 raises ChannelError naming the channel and status, not the URL's path (it may be secret)."""
        server = receiver(500)
        channel = build({"name": "ops", "type": "webhook", "url": server.url("/hook/T0K3N")})
        with pytest.raises(ChannelError, match=r"'ops'.*HTTP 500") as caught:
            channel.send(sample_notification())
        assert "T0K3N" not in str(caught.value)

    def test_unreachable_receiver_is_a_channel_error(self) -> None:
        """A refused connection raises ChannelError saying the receiver could not be reached."""
        channel = build({"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/", "timeout": 2})
        with pytest.raises(ChannelError, match="cannot reach"):
            channel.send(sample_notification())


class TestSlackChannel:
    """The slack channel posts a readable message within Slack's limits."""

    def test_payload_shape(self, receiver: Callable[..., Receiver]) -> None:
        """`text` holds marker, rule, title, count, times, evidence in a code block, the fix and the link;
        `blocks` are a section per alert and a context with the link."""
        server = receiver()
        build({"type": "slack", "url": server.url("/services/T/B/X")}).send(sample_notification())
        [(_, headers, body)] = server.requests
        payload = json.loads(body)
        assert headers["Content-Type"] == "application/json"
        text = payload["text"]
        for part in (
            "*[CRITICAL] db-errors*: Connection refused to db (×3) — opened",
            "first 2026-11-21T03:46:01.000Z",
            "last 2026-11-21T03:46:29.120Z",
            "```\n2026-11-21T03:46:29.120Z api error: connect to db:5432 failed: connection refused\n```",
            "*Fix:* 1. Check that postgres is running 2. Restart the api",
            "<http://127.0.0.1:8080/|Open the loglens dashboard>",
        ):
            assert part in text
        assert [block["type"] for block in payload["blocks"]] == ["section", "context"]
        assert payload["blocks"][0]["text"]["type"] == "mrkdwn"
        assert "Connection refused to db" in payload["blocks"][0]["text"]["text"]

    def test_huge_evidence_line_is_cut(self) -> None:
        """A 50,000-character evidence line is cut with "…", every text stays within 3,000 characters
        and the code block is still closed."""
        notification = sample_notification()
        notification["alerts"][0]["evidence"] = [{"message": "x" * 50_000}] * 3
        payload = slack_payload(notification)
        texts = [payload["text"]] + [block["text"]["text"] for block in payload["blocks"] if "text" in block]
        assert all(len(text) <= SECTION_LIMIT for text in texts)
        assert "x…" in payload["text"]
        assert payload["text"].count("```") == 2
        assert payload["text"].endswith("<http://127.0.0.1:8080/|Open the loglens dashboard>")

    def test_minimal_notification_and_markup_escaped(self) -> None:
        """Only the required keys are enough, and `<`, `>`, `&` in a title cannot form links."""
        bare = {
            "event": "test",
            "group": "g",
            "alerts": [{"id": "1", "rule": "r", "severity": "info", "title": "<a&b>"}],
        }
        payload = slack_payload(bare)
        assert payload["text"] == "*[INFO] r*: &lt;a&amp;b&gt; — test"
        assert len(payload["blocks"]) == 1


class TestEmailChannel:
    """The email channel sends one readable message per notification through a real SMTP server."""

    def test_message_subject_body_and_attachment(
        self, smtp_server: tuple[Controller, list[Envelope]]
    ) -> None:
        """Subject, recipients, a body with summary, evidence, context, fix and link, and `alert.json`
        that parses back to the notification."""
        controller, received = smtp_server
        channel = build(
            {
                "type": "email",
                "host": "127.0.0.1",
                "port": controller.port,
                "from": "loglens@example.com",
                "to": ["oncall@example.com", "db@example.com"],
                "timeout": 5,
            }
        )
        channel.send(sample_notification())
        [envelope] = received
        assert envelope.rcpt_tos == ["oncall@example.com", "db@example.com"]
        assert envelope.mail_from == "loglens@example.com"
        message = parsed(envelope)
        assert message["Subject"] == "[loglens] CRITICAL db-errors: Connection refused to db (×3)"
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content().replace("\r\n", "\n")
        for part in (
            "3 errors in 30 s from api\nall on the primary",
            "Evidence:\n  2026-11-21T03:46:29.120Z api error: connect to db:5432 failed: connection refused",
            "Before:\n  2026-11-21T03:46:29.120Z api info: pool resized to 10",
            "After:\n  2026-11-21T03:46:29.120Z api warn: retrying in 5s",
            "What happened: The database stopped accepting connections.",
            "Fix:\n  1. Check that postgres is running\n  2. Restart the api",
            "Open in loglens: http://127.0.0.1:8080/",
        ):
            assert part in text
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == "alert.json"
        assert json.loads(attachment.get_content()) == sample_notification()

    def test_login_with_password_from_the_environment(
        self, smtp_server: tuple[Controller, list[Envelope]]
    ) -> None:
        """`username` with `password_env` logs in; a wrong password is a ChannelError with the SMTP code."""
        controller, received = smtp_server
        entry = {
            "type": "email",
            "host": "127.0.0.1",
            "port": controller.port,
            "from": "loglens@example.com",
            "to": ["oncall@example.com"],
            "username": "user",
            "password_env": "SMTP_PW",
        }
        build(entry, ChannelContext(env={"SMTP_PW": "pw-123"})).send(sample_notification())
        assert len(received) == 1
        with pytest.raises(ChannelError, match="535"):
            build(entry, ChannelContext(env={"SMTP_PW": "wrong"})).send(sample_notification())
        assert len(received) == 1

    def test_every_recipient_refused(self, smtp_server: tuple[Controller, list[Envelope]]) -> None:
        """A server refusing the recipient is a ChannelError quoting its 550 reply."""
        controller, _ = smtp_server
        channel = build(
            {
                "type": "email",
                "host": "127.0.0.1",
                "port": controller.port,
                "from": "loglens@example.com",
                "to": ["nobody@example.com"],
            }
        )
        with pytest.raises(ChannelError, match=re.escape("refused: nobody@example.com (550")):
            channel.send(sample_notification())

    def test_unreachable_server(self) -> None:
        """Nothing listening on the port is a ChannelError saying it cannot connect."""
        channel = build(
            {"type": "email", "host": "127.0.0.1", "port": free_port(), "from": "a@b.c", "to": ["d@e.f"]}
        )
        with pytest.raises(ChannelError, match=r"email channel 'email' \(127.0.0.1:\d+\): cannot connect"):
            channel.send(sample_notification())

    def test_subjects(self) -> None:
        """Resolved alerts say so, a single occurrence has no count, and other alerts are counted."""
        notification = sample_notification(event="resolved")
        notification["alerts"].append({"id": "13", "rule": "r", "severity": "info", "title": "t"})
        notification["alerts"][0]["count"] = 1
        assert (
            subject(notification)
            == "[loglens] Resolved: CRITICAL db-errors: Connection refused to db and 1 more"
        )


class TestCommandChannel:
    """The command channel runs a real program with the notification on stdin."""

    def test_stdin_and_environment(self, tmp_path: Path) -> None:
        """The program reads the notification JSON on stdin and the LOGLENS_* variables of the first alert."""
        out = tmp_path / "out.json"
        script = (
            "import json, os, sys\n"
            "names = ['LOGLENS_EVENT', 'LOGLENS_SEVERITY', 'LOGLENS_RULE', 'LOGLENS_ALERT_ID', 'KEPT']\n"
            "env = {name: os.environ.get(name) for name in names}\n"
            "json.dump({'stdin': json.load(sys.stdin), 'env': env}, open(sys.argv[1], 'w'))\n"
        )
        channel = build(
            {"type": "command", "argv": [sys.executable, "-c", script, str(out)]},
            ChannelContext(env={**os.environ, "KEPT": "yes"}),
        )
        channel.send(sample_notification())
        seen = json.loads(out.read_text())
        assert seen["stdin"] == sample_notification()
        assert seen["env"] == {
            "LOGLENS_EVENT": "opened",
            "LOGLENS_SEVERITY": "critical",
            "LOGLENS_RULE": "db-errors",
            "LOGLENS_ALERT_ID": "12",
            "KEPT": "yes",
        }

    def test_non_zero_exit_reports_code_and_stderr_tail(self) -> None:
        """Exit 3 is a ChannelError with the code and the last 500 bytes of stderr, not its start."""
        script = "import sys; sys.stderr.write('START' + 'x' * 2000 + 'THE END'); sys.exit(3)"
        channel = build({"name": "fix", "type": "command", "argv": [sys.executable, "-c", script]})
        with pytest.raises(ChannelError, match="exited with code 3") as caught:
            channel.send(sample_notification())
        stderr_part = str(caught.value).split("stderr: ", 1)[1]
        assert stderr_part.endswith("xxTHE END")
        assert "START" not in stderr_part

    def test_timeout_kills_the_command_and_what_it_started(self, tmp_path: Path) -> None:
        """A command still running at `timeout` is a ChannelError, and it and its child are killed."""
        pids = tmp_path / "pids"
        script = (
            "import os, subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "open(sys.argv[1], 'w').write(f'{os.getpid()} {child.pid}')\n"
            "time.sleep(60)\n"
        )
        channel = build(
            {"type": "command", "argv": [sys.executable, "-c", script, str(pids)], "timeout": "1500ms"}
        )
        with pytest.raises(ChannelError, match=re.escape("did not finish within 1.5 s and was killed")):
            channel.send(sample_notification())
        for pid in map(int, pids.read_text().split()):
            assert wait_until_gone(pid), f"process {pid} is still running"

    def test_missing_program(self) -> None:
        """A program that does not exist is a ChannelError saying it cannot start."""
        channel = build({"type": "command", "argv": ["/nonexistent/loglens-playbook"]})
        with pytest.raises(ChannelError, match="cannot start"):
            channel.send(sample_notification())


def wait_until_gone(pid: int, within_s: float = 10.0) -> bool:
    """True once `pid` has exited (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


class TestLiveChannel:
    """The live channel hands notifications to the daemon's hub."""

    def test_publishes_the_envelope(self) -> None:
        """`type = "mcp"` publishes `{"type": "alert", "notification": …}` to the context's hub."""
        published: list[dict[str, Any]] = []
        channel = build({"name": "agents", "type": "mcp"}, ChannelContext(publish=published.append))
        channel.send(sample_notification())
        assert published == [{"type": "alert", "notification": sample_notification()}]
        assert channel.kind == "live"

    def test_needs_a_hub(self) -> None:
        """Without a hub to publish to (not the daemon), the entry is a ConfigError."""
        with pytest.raises(ConfigError, match=re.escape(f"{HERE} (live): a live channel publishes")):
            build({"type": "live"})

    def test_a_failing_hub_is_a_channel_error(self) -> None:
        """A hub that raises makes the send fail with ChannelError, not with the hub's exception."""

        def broken(message: dict[str, Any]) -> None:
            raise RuntimeError("hub closed")

        with pytest.raises(ChannelError, match="RuntimeError: hub closed"):
            build({"type": "live"}, ChannelContext(publish=broken)).send(sample_notification())


def channels_from(toml: str, context: ChannelContext | None = None) -> tuple[Channel, ...]:
    return parse_channels(
        tomllib.loads(toml)["alerts"]["channels"], "loglens.toml", context or ChannelContext(env={})
    )


class TestParseChannels:
    """`[[alerts.channels]]` entries become channels, or a ConfigError that says where and what."""

    def test_every_kind_from_toml(self) -> None:
        """One entry of each kind builds a channel with its name and kind; a name defaults to the type."""
        channels = channels_from(
            """
            [[alerts.channels]]
            name = "ops"
            type = "webhook"
            url = "https://hooks.example.com/x"
            timeout = "2m"
            [[alerts.channels]]
            type = "slack"
            url_env = "SLACK_URL"
            [[alerts.channels]]
            name = "mail"
            type = "email"
            host = "smtp.example.com"
            ssl = true
            from = "loglens@example.com"
            to = ["a@example.com"]
            [[alerts.channels]]
            name = "restart"
            type = "command"
            argv = ["systemctl", "restart", "api"]
            [[alerts.channels]]
            type = "live"
            """,
            ChannelContext(
                publish=lambda message: None, env={"SLACK_URL": "https://hooks.slack.com/services/T"}
            ),
        )
        assert [(c.name, c.kind) for c in channels] == [
            ("ops", "webhook"),
            ("slack", "slack"),
            ("mail", "email"),
            ("restart", "command"),
            ("live", "live"),
        ]
        webhook, slack, mail = channels[0], channels[1], channels[2]
        assert webhook.config.timeout_s == 120.0  # type: ignore[attr-defined]
        assert slack.config.url == "https://hooks.slack.com/services/T"  # type: ignore[attr-defined]
        assert mail.config.port == 465  # type: ignore[attr-defined]

    def test_unknown_type_lists_the_known_ones(self) -> None:
        """An unknown type names the entry and every registered type."""
        with pytest.raises(
            ConfigError, match=re.escape(f"{HERE}: unknown channel type 'pager'; known types: ")
        ) as caught:
            build({"type": "pager"})
        assert all(kind in str(caught.value) for kind in CHANNEL_KINDS)

    def test_unknown_key(self) -> None:
        """A key the type does not have (a typo) is named, with the keys it does have."""
        with pytest.raises(
            ConfigError, match=re.escape(f"{HERE} (ops): unknown keys ['ulr'] for a webhook channel")
        ):
            build({"name": "ops", "type": "webhook", "ulr": "http://x"})

    def test_missing_url(self) -> None:
        """A webhook without `url` says which entry and which key."""
        with pytest.raises(ConfigError, match=re.escape(f"{HERE} (ops): a webhook channel needs `url`")):
            build({"name": "ops", "type": "webhook"})

    @pytest.mark.parametrize(
        ("entry", "message"),
        [
            ({"type": "webhook", "url": "ftp://x"}, "`url` must be an http:// or https:// URL"),
            ({"type": "webhook", "url": "http://x:port/"}, "`url` must be an http:// or https:// URL"),
            (
                {"type": "webhook", "url": "http://x", "secret_env": "UNSET"},
                "variable UNSET, which is not set",
            ),
            ({"type": "webhook", "url": "http://x", "secret": "a", "secret_env": "B"}, "not both"),
            (
                {"type": "email", "host": "h", "from": "f", "to": ["t"], "ssl": True, "starttls": True},
                "not both",
            ),
            (
                {"type": "email", "host": "h", "from": "f", "to": ["t"], "username": "u"},
                "needs `password_env`",
            ),
            ({"type": "email", "host": "h", "from": "f", "to": "t"}, "needs `to`, a list of strings"),
            ({"type": "command", "argv": []}, "needs `argv`"),
            ({"type": "command", "argv": ["x"], "timeout": -1}, "`timeout` must be a positive number"),
            ({"type": "command", "argv": ["x"], "timeout": "soon"}, "`timeout`: cannot read the duration"),
        ],
    )
    def test_invalid_values(self, entry: dict[str, Any], message: str) -> None:
        """A wrong value is refused naming its key and what a valid one looks like."""
        with pytest.raises(ConfigError, match=re.escape(message)):
            build(entry)

    def test_duplicate_names(self) -> None:
        """Two channels with one name are refused: rules name the channel they notify."""
        with pytest.raises(ConfigError, match=r"#2: a channel named 'ops' is already defined"):
            channels_from(
                """
                [[alerts.channels]]
                name = "ops"
                type = "webhook"
                url = "http://127.0.0.1/a"
                [[alerts.channels]]
                name = "ops"
                type = "slack"
                url = "http://127.0.0.1/b"
                """
            )

    def test_not_a_list_of_tables(self) -> None:
        """`alerts.channels` given as one table instead of an array says how to write it."""
        with pytest.raises(ConfigError, match=re.escape("[[alerts.channels]]")):
            parse_channels({"type": "live"}, "loglens.toml", ChannelContext())

    def test_every_registered_kind_and_key_is_documented(self) -> None:
        """docs/channels.md has each registered type as a heading or in code, and each of its keys in code."""
        doc = (REPO / "docs" / "channels.md").read_text()
        for kind, registered in CHANNEL_KINDS.items():
            assert re.search(rf"^#+ .*\b{kind}\b|`{kind}`|\"{kind}\"", doc, re.MULTILINE), kind
            for key in registered.keys:
                assert f"`{key}`" in doc, f"{kind}: {key}"
