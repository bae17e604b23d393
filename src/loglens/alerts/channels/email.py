"""The `email` channel: one message per notification over SMTP (plain, STARTTLS or implicit TLS),
a text body a person reads on a phone, and the notification itself attached as `alert.json`.

Only the standard library is used (`smtplib`, `email.message`), so any mail server or relay works.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import orjson

from loglens.alerts.channels.base import (
    ChannelContext,
    ChannelError,
    ChannelSettings,
    Notification,
    alert_headline,
    alerts_of,
    fix_steps,
    lines_of,
    log_line,
    one_line,
    register_channel_kind,
    shorten,
)

EMAIL_KEYS = ("host", "port", "from", "to", "starttls", "ssl", "username", "password_env", "timeout")
DEFAULT_TIMEOUT_S = 10.0
SMTP_PORT = 25
SMTPS_PORT = 465
SUBJECT_CHARS = 200
log = logging.getLogger("loglens.alerts")
EVENT_PREFIXES = {"resolved": "Resolved: ", "escalated": "Escalated: ", "test": "Test: "}


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """A `type = "email"` entry."""

    host: str
    """The SMTP server."""
    sender: str
    """The From address (`from` in loglens.toml)."""
    to: tuple[str, ...]
    """The recipients."""
    port: int = SMTP_PORT
    """25, or 465 when `ssl` is set."""
    starttls: bool = False
    """Upgrade the connection with STARTTLS before logging in (port 587 servers want this)."""
    ssl: bool = False
    """Speak TLS from the first byte (SMTPS, port 465)."""
    username: str | None = None
    """Log in as this user, with the password from the variable `password_env`."""
    password: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds to wait for the server to connect and answer each command."""


def subject(notification: Notification) -> str:
    """`[loglens] CRITICAL db-errors: Connection refused (×3)`, saying so when the alert was resolved
    or escalated, and how many other alerts the message holds."""
    alerts = alerts_of(notification)
    event = str(notification.get("event", ""))
    prefix = EVENT_PREFIXES.get(event, "")
    if not alerts:
        return f"[loglens] {prefix}{one_line(str(notification.get('group', '')))}"
    more = f" and {len(alerts) - 1} more" if len(alerts) > 1 else ""
    return shorten(f"[loglens] {prefix}{alert_headline(alerts[0])}{more}", SUBJECT_CHARS)


def _indented(lines: list[object]) -> list[str]:
    return [f"  {one_line(log_line(line))}" for line in lines]


def alert_body(alert: Mapping[str, Any]) -> list[str]:
    """One alert as text lines: headline, state and times, summary, evidence with its context, the
    explanation and its fix."""
    out = [alert_headline(alert)]
    facts = [
        f"{label}: {alert[key]}"
        for label, key in (("State", "state"), ("First", "first_ts"), ("Last", "last_ts"), ("Alert id", "id"))
        if alert.get(key) not in (None, "")
    ]
    labels = alert.get("labels")
    if isinstance(labels, dict) and labels:
        facts.append("Labels: " + ", ".join(f"{k}={v}" for k, v in labels.items()))
    out += facts
    if alert.get("summary"):
        out += ["", str(alert["summary"])]
    context = alert.get("context")
    if not isinstance(context, dict):
        context = {}
    before = lines_of(context.get("before"))
    evidence = lines_of(alert.get("evidence"))
    after = lines_of(context.get("after"))
    if before:
        out += ["", "Before:", *_indented(before)]
    if evidence:
        out += ["", "Evidence:", *_indented(evidence)]
    if after:
        out += ["", "After:", *_indented(after)]
    explanation = alert.get("explanation")
    if isinstance(explanation, dict) and explanation.get("what_happened"):
        out += ["", f"What happened: {explanation['what_happened']}"]
    fix = fix_steps(alert)
    if fix:
        out += ["", "Fix:", *(f"  {n}. {step}" for n, step in enumerate(fix, 1))]
    return out


def body_text(notification: Notification) -> str:
    """The message's text: a line saying what happened to which group, each alert, then the link."""
    event = str(notification.get("event", ""))
    out = [f"loglens alert {event}: {notification.get('group', '')}"]
    for alert in alerts_of(notification):
        out += ["", "-" * 60, *alert_body(alert)]
    url = notification.get("url")
    if isinstance(url, str) and url:
        out += ["", f"Open in loglens: {url}"]
    out += ["", "The notification as JSON is attached (alert.json)."]
    return "\n".join(out) + "\n"


def build_message(notification: Notification, config: EmailConfig) -> EmailMessage:
    """The e-mail: subject, text body and `alert.json`, marked auto-generated (RFC 3834) so that
    vacation responders do not answer it."""
    message = EmailMessage()
    message["Subject"] = subject(notification)
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Date"] = formatdate(usegmt=True)
    # A domain is given so that make_msgid does not ask DNS for this machine's name on every alert.
    message["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or "loglens.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message["X-Loglens-Event"] = str(notification.get("event", ""))
    message.set_content(body_text(notification))
    attachment = orjson.dumps(notification, option=orjson.OPT_INDENT_2)
    message.add_attachment(attachment, maintype="application", subtype="json", filename="alert.json")
    return message


def _smtp_reason(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{address} ({code} {reply.decode(errors='replace')})"
            for address, (code, reply) in exc.recipients.items()
        )
        return f"every recipient was refused: {refused}"
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"the server answered {exc.smtp_code} {one_line(text)}"
    return f"{type(exc).__name__}: {exc}"


class EmailChannel:
    """Sends each notification as an e-mail through an SMTP server."""

    kind = "email"

    def __init__(self, name: str, config: EmailConfig) -> None:
        self.name = name
        self.config = config

    def send(self, notification: Notification) -> None:
        """Sends it; ChannelError with the SMTP reply or the connection error when it cannot."""
        config = self.config
        what = f"email channel {self.name!r} ({config.host}:{config.port})"
        message = build_message(notification, config)
        try:
            smtp = (
                smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout_s, context=ssl.create_default_context()
                )
                if config.ssl
                else smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
            )
            with smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.username:
                    smtp.login(config.username, config.password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPException as exc:
            raise ChannelError(f"{what}: {_smtp_reason(exc)}") from None
        except TimeoutError:
            raise ChannelError(f"{what}: the server did not answer within {config.timeout_s:g} s") from None
        except OSError as exc:
            raise ChannelError(f"{what}: cannot connect: {exc.strerror or exc}") from None
        if refused:
            # Some recipients got it: retrying would send it to them again, so this is only logged.
            log.warning("%s: some recipients were refused: %s", what, ", ".join(sorted(refused)))


def email_channel(settings: ChannelSettings, context: ChannelContext) -> EmailChannel:
    """Builds an email channel from its `[[alerts.channels]]` entry."""
    implicit_tls = settings.flag("ssl", False)
    starttls = settings.flag("starttls", False)
    if implicit_tls and starttls:
        raise settings.fail("set `ssl` (TLS from the start, port 465) or `starttls` (port 587), not both")
    username = settings.optional_text("username")
    password = settings.secret("password", "password_env") if "password_env" in settings.entry else None
    if username and password is None:
        raise settings.fail("`username` needs `password_env`, the environment variable holding the password")
    if password is not None and not username:
        raise settings.fail("`password_env` is set but `username` is not")
    config = EmailConfig(
        host=settings.required_text("host", '"smtp.example.com"'),
        sender=settings.required_text("from", '"loglens@example.com"'),
        to=settings.texts("to", '["oncall@example.com"]'),
        port=settings.integer("port", SMTPS_PORT if implicit_tls else SMTP_PORT, 1, 65535),
        starttls=starttls,
        ssl=implicit_tls,
        username=username,
        password=password,
        timeout_s=settings.seconds("timeout", DEFAULT_TIMEOUT_S),
    )
    return EmailChannel(settings.name, config)


register_channel_kind("email", EMAIL_KEYS, email_channel)
