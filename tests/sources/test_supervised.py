"""Tests for `[[commands]]`: the settings, the restart policies and the back-off."""

from __future__ import annotations

import sys

import pytest

from loglens.errors import ConfigError
from loglens.sources.supervised import (
    MAX_BACKOFF_S,
    STABLE_S,
    CommandSpec,
    SupervisedCommand,
    next_delay,
    parse_commands,
    should_restart,
)

FORMATS = ["plain", "json"]


def test_settings_and_their_errors() -> None:
    specs = parse_commands(
        [
            {"command": ["/usr/bin/worker", "--queue", "a"]},
            {"name": "web", "command": ["gunicorn"], "restart": "always", "restart_delay": "500ms",
             "format": "auto", "service": "frontend"},
        ],
        "t.toml",
        FORMATS,
    )  # fmt: skip
    assert specs == (
        CommandSpec("worker", ("/usr/bin/worker", "--queue", "a"), "on-failure", 1.0, "plain", None),
        CommandSpec("web", ("gunicorn",), "always", 0.5, None, "frontend"),
    )
    bad = {
        "must be a list of arguments": {"command": "sleep 1"},
        "unknown keys ['shell']": {"command": ["x"], "shell": True},
        "restart must be one of": {"command": ["x"], "restart": "sometimes"},
        "restart_delay": {"command": ["x"], "restart_delay": "soon"},
        "unknown format 'xml'": {"command": ["x"], "format": "xml"},
    }
    for said, entry in bad.items():
        with pytest.raises(ConfigError, match=said.replace("[", r"\[").replace("]", r"\]")):
            parse_commands([entry], "t.toml", FORMATS)
    with pytest.raises(ConfigError, match="a name of its own"):
        parse_commands([{"command": ["x"]}, {"command": ["./x"]}], "t.toml", FORMATS)


def test_policies_and_back_off() -> None:
    spec = CommandSpec("w", ("w",), "on-failure", 1.0)
    assert should_restart(spec, 1) and not should_restart(spec, 0)
    assert should_restart(CommandSpec("w", ("w",), "always"), 0)
    assert not should_restart(CommandSpec("w", ("w",), "never"), 1)
    assert [next_delay(spec, n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert next_delay(spec, 50) == MAX_BACKOFF_S


def test_failures_in_a_row_back_off_and_a_stable_run_resets_them() -> None:
    command = SupervisedCommand(CommandSpec("w", ("w",), "on-failure", 1.0))
    assert command.due(0.0)
    command.ended(1, 0.5, now=10.0)
    command.ended(1, 0.5, now=20.0)
    assert command.failures_in_a_row == 2 and command.start_at == 22.0
    command.ended(1, STABLE_S + 1, now=100.0)
    assert command.failures_in_a_row == 0 and command.start_at == 101.0
    command.ended(0, 1.0, now=200.0)
    assert command.start_at is None and not command.due(10**6)


def test_a_command_that_cannot_start_is_retried_later() -> None:
    command = SupervisedCommand(CommandSpec("nope", ("/no/such/program",), "always", 1.0))
    assert command.start(5.0) is None
    assert command.start_error is not None and "command not found" in command.start_error
    assert command.start_at == 6.0 and not command.due(5.5) and command.due(6.0)
    ok = SupervisedCommand(CommandSpec("py", (sys.executable, "-c", "pass"), "never"))
    running = ok.start(0.0)
    assert running is not None and running.wait()[0] == 0 and ok.starts == 1
