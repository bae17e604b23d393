"""A command as a live source (`loglens run -- CMD ARGS`): its stdout and stderr, each a pipe.

The two streams stay apart (each record says which it came from in the `stream` field), so their
relative order is the order in which their lines reached loglens: lines written within the same
instant to both may swap, as with any tool that keeps stdout and stderr distinct. Python children are
asked not to buffer their output (PYTHONUNBUFFERED), so their lines arrive when they are written.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from loglens.errors import LoglensError

ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
"""Colour and cursor sequences (CSI) and terminal titles (OSC): noise in stored text."""


@dataclass(slots=True)
class RunningCommand:
    """A started command: its process, the pipes to read, and when it started."""

    argv: list[str]
    process: subprocess.Popen[bytes]
    started: float

    @property
    def name(self) -> str:
        """The service its records get: the program's file name (`make`, `cargo`)."""
        return Path(self.argv[0]).name or self.argv[0]

    @property
    def command_line(self) -> str:
        """The command as a shell would show it."""
        return shlex.join(self.argv)

    def wait(self) -> tuple[int, float]:
        """Waits for the exit; returns (exit code — 128+N when killed by signal N —, seconds run)."""
        code = self.process.wait()
        seconds = time.monotonic() - self.started
        return (128 - code if code < 0 else code), seconds


def start_command(argv: list[str]) -> RunningCommand:
    """Starts `argv` with its stdout and stderr piped here and stdin inherited."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError:
        raise LoglensError(f"command not found: {argv[0]}") from None
    except PermissionError:
        raise LoglensError(f"cannot run {argv[0]}: permission denied") from None
    return RunningCommand(list(argv), process, time.monotonic())


def strip_terminal_codes(line: str) -> str:
    """`line` without colour and cursor escape sequences."""
    return ANSI_ESCAPE.sub("", line) if "\x1b" in line else line
