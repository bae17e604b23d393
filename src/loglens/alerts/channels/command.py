"""The `command` channel: runs a program (a playbook: restart a service, page through a CLI, open a
ticket) with the notification as JSON on its stdin and the essentials in its environment.

No shell is involved: `argv` is run as given, so nothing in an alert can be read as shell syntax. The
program runs in a session of its own, so that a timeout kills what it started too, not just itself.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from loglens.alerts.channels.base import (
    ChannelContext,
    ChannelError,
    ChannelSettings,
    Notification,
    alerts_of,
    register_channel_kind,
    shorten,
)
from loglens.alerts.channels.webhook import encode_notification

COMMAND_KEYS = ("argv", "timeout")
DEFAULT_TIMEOUT_S = 30.0
STDERR_TAIL_BYTES = 500
COMMAND_LINE_CHARS = 120
"""Errors show the command this far: enough to recognise it, not a whole inline script."""
_REAP_S = 2.0
"""After a kill, how long to wait for the pipes to close (something may have escaped the session)."""


@dataclass(frozen=True, slots=True)
class CommandConfig:
    """A `type = "command"` entry."""

    argv: tuple[str, ...]
    """The program and its arguments, run without a shell."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds it may run; then it and everything it started are killed and the send fails."""


def notification_env(notification: Notification) -> dict[str, str]:
    """The variables a command gets about the notification: `LOGLENS_EVENT`, `LOGLENS_GROUP`,
    `LOGLENS_URL` and, of its first alert, `LOGLENS_SEVERITY`, `LOGLENS_RULE` and `LOGLENS_ALERT_ID`."""
    alerts = alerts_of(notification)
    first = alerts[0] if alerts else {}
    values = {
        "LOGLENS_EVENT": notification.get("event"),
        "LOGLENS_GROUP": notification.get("group"),
        "LOGLENS_URL": notification.get("url"),
        "LOGLENS_SEVERITY": first.get("severity"),
        "LOGLENS_RULE": first.get("rule"),
        "LOGLENS_ALERT_ID": first.get("id"),
    }
    # An environment value cannot hold a NUL byte; one coming from a log line must not stop the run.
    return {key: str(value).replace("\0", "") for key, value in values.items() if value is not None}


def stderr_tail(stderr: bytes) -> str:
    """The last STDERR_TAIL_BYTES of what the command wrote to stderr, as text."""
    tail = stderr[-STDERR_TAIL_BYTES:].decode(errors="replace").strip()
    return ("…" + tail if len(stderr) > STDERR_TAIL_BYTES else tail) or "(nothing on stderr)"


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class CommandChannel:
    """Runs `argv` once per notification and fails when it exits non-zero or runs too long."""

    kind = "command"

    def __init__(self, name: str, config: CommandConfig, env: Mapping[str, str] = os.environ) -> None:
        self.name = name
        self.config = config
        self._env = env

    def send(self, notification: Notification) -> None:
        """Runs the command to its end; ChannelError with the exit code and stderr's tail, or on timeout."""
        what = f"command channel {self.name!r} ({shorten(shlex.join(self.config.argv), COMMAND_LINE_CHARS)})"
        body = encode_notification(what, notification)
        env = {**self._env, **notification_env(notification)}
        try:
            process = subprocess.Popen(
                self.config.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise ChannelError(f"{what}: cannot start: {exc.strerror or exc}") from None
        try:
            _, stderr = process.communicate(body, timeout=self.config.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_session(process)
            try:
                _, stderr = process.communicate(timeout=_REAP_S)
            except subprocess.TimeoutExpired:
                stderr = b""
                process.kill()
                process.wait()
            raise ChannelError(
                f"{what}: did not finish within {self.config.timeout_s:g} s and was killed; "
                f"stderr: {stderr_tail(stderr)}"
            ) from None
        code = process.returncode
        if code < 0:
            raise ChannelError(f"{what}: was killed by signal {-code}; stderr: {stderr_tail(stderr)}")
        if code != 0:
            raise ChannelError(f"{what}: exited with code {code}; stderr: {stderr_tail(stderr)}")


def command_channel(settings: ChannelSettings, context: ChannelContext) -> CommandChannel:
    """Builds a command channel from its `[[alerts.channels]]` entry."""
    config = CommandConfig(
        argv=settings.texts("argv", '["systemctl", "restart", "api"]'),
        timeout_s=settings.seconds("timeout", DEFAULT_TIMEOUT_S),
    )
    return CommandChannel(settings.name, config, context.env)


register_channel_kind("command", COMMAND_KEYS, command_channel)
