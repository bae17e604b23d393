"""Commands the daemon runs and reads (`[[commands]]` in loglens.toml), restarted as they ask.

What `loglens run -- CMD` does once from a terminal, the daemon does for as long as it runs: the
command's stdout and stderr become live sources, its exit is stored as a record (code and duration),
and it is started again after `restart_delay` when its policy says so (`always`, `on-failure`:
a non-zero exit, or `never`). A command that keeps failing waits twice as long each time, up to
`MAX_BACKOFF_S`, so a broken one costs nothing; one that ran for `STABLE_S` counts as healthy again.
Nothing of a command's output is left to resume after a daemon restart (a pipe cannot be re-read),
so a restarted daemon simply starts its commands again — the restart-safe behaviour of a supervisor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psutil

from loglens.config_tables import table_entries
from loglens.errors import ConfigError, LoglensError
from loglens.query.timerange import parse_duration
from loglens.record import Level, Record
from loglens.sources.command import RunningCommand, start_command

RESTART_POLICIES = ("always", "on-failure", "never")
MAX_BACKOFF_S = 60.0
STABLE_S = 30.0
COMMAND_KEYS = ("name", "command", "restart", "restart_delay", "format", "service")


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One `[[commands]]` entry."""

    name: str
    argv: tuple[str, ...]
    restart: str = "on-failure"
    restart_delay_s: float = 1.0
    format: str | None = None
    service: str | None = None


def parse_commands(entries: object, where: str, format_names: list[str]) -> tuple[CommandSpec, ...]:
    """`[[commands]]` → specs: `name`, `command` (a list of arguments — no shell, so nothing is
    interpreted twice), `restart` (always | on-failure | never), `restart_delay` (a duration, 1s),
    `format` (else chosen from its first lines... plain by default like `loglens run`) and
    `service` (default: the name)."""
    specs: list[CommandSpec] = []
    for here, entry in table_entries(entries, where, "commands", COMMAND_KEYS):
        argv = entry.get("command")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv):
            raise ConfigError(f'{here}: command must be a list of arguments, such as ["python", "app.py"]')
        name = entry.get("name", argv[0].rsplit("/", 1)[-1])
        if not isinstance(name, str) or not name or any(s.name == name for s in specs):
            raise ConfigError(f"{here}: each command needs a name of its own (got {name!r})")
        restart = entry.get("restart", "on-failure")
        if restart not in RESTART_POLICIES:
            raise ConfigError(f"{here} ({name}): restart must be one of {', '.join(RESTART_POLICIES)}")
        try:
            delay = parse_duration(str(entry.get("restart_delay", "1s"))) / 1e9
        except LoglensError as exc:
            raise ConfigError(f"{here} ({name}): restart_delay: {exc}") from None
        fmt = entry.get("format", "plain")
        if fmt != "auto" and fmt not in format_names:
            known = ", ".join(format_names)
            raise ConfigError(f"{here} ({name}): unknown format {fmt!r}; choose auto or one of: {known}")
        service = entry.get("service")
        if service is not None and (not isinstance(service, str) or not service):
            raise ConfigError(f"{here} ({name}): service must be a name")
        specs.append(CommandSpec(name, tuple(argv), restart, delay, None if fmt == "auto" else fmt, service))
    return tuple(specs)


def exit_record(
    service: str, command_line: str, code: int, seconds: float, now_ns: int, stopped: bool = False
) -> Record:
    """The record of a command's end: an error when it failed (`loglens run` and supervised ones),
    not when loglens stopped it (`stopped`: the daemon is shutting down)."""
    how = "was stopped by loglens" if stopped else "exited"
    text = f"{command_line} {how} with code {code} after {seconds:.1f} s"
    return Record(
        ts=now_ns,
        observed_ts=now_ns,
        service=service,
        source=f"{service}:exit",
        message=text,
        raw=text,
        level=Level.ERROR if code and not stopped else Level.INFO,
        fields={
            "stream": "exit",
            "exit_code": code,
            "duration_ms": round(seconds * 1000),
            "command": command_line,
        },
    )


def next_delay(spec: CommandSpec, failures_in_a_row: int) -> float:
    """Seconds before the next start: `restart_delay`, doubled per failure in a row, capped."""
    return float(min(spec.restart_delay_s * 2.0 ** max(failures_in_a_row - 1, 0), MAX_BACKOFF_S))


def should_restart(spec: CommandSpec, code: int) -> bool:
    """True when the policy asks for another run after an exit with `code`."""
    return spec.restart == "always" or (spec.restart == "on-failure" and code != 0)


@dataclass(slots=True)
class SupervisedCommand:
    """One command's life under the daemon: running or waiting to start, and its history."""

    spec: CommandSpec
    running: RunningCommand | None = None
    start_at: float | None = field(default=0.0)
    starts: int = 0
    failures_in_a_row: int = 0
    last_exit: int | None = None
    start_error: str | None = None
    probe: psutil.Process | None = field(default=None, repr=False)

    @property
    def service(self) -> str:
        """The service of its records."""
        return self.spec.service or self.spec.name

    @property
    def restarts(self) -> int:
        """Starts after the first."""
        return max(self.starts - 1, 0)

    def due(self, now: float) -> bool:
        """True when it is not running and its next start is due."""
        return self.running is None and self.start_at is not None and now >= self.start_at

    def start(self, now: float) -> RunningCommand | None:
        """Starts it (None, with `start_error` set and a retry planned, when it cannot start)."""
        self.starts += 1
        try:
            self.running = start_command(list(self.spec.argv))
        except LoglensError as exc:
            self.start_error = str(exc)
            self.failures_in_a_row += 1
            self.start_at = now + next_delay(self.spec, self.failures_in_a_row)
            return None
        self.start_error = None
        self.start_at = None
        return self.running

    def ended(self, code: int, seconds: float, now: float) -> None:
        """Records an exit and plans what comes next under the policy."""
        self.running = None
        self.last_exit = code
        self.failures_in_a_row = 0 if code == 0 or seconds >= STABLE_S else self.failures_in_a_row + 1
        if should_restart(self.spec, code):
            self.start_at = now + next_delay(self.spec, max(self.failures_in_a_row, 1))
        else:
            self.start_at = None

    def usage(self) -> tuple[float | None, int | None]:
        """CPU % since the last look (at the first, the average since it started) and resident
        bytes of the running command's own process (not its children); None when not running."""
        running = self.running
        if running is None:
            self.probe = None
            return None, None
        try:
            if self.probe is None or self.probe.pid != running.process.pid:
                self.probe = psutil.Process(running.process.pid)
                times = self.probe.cpu_times()
                self.probe.cpu_percent(None)  # the next look measures from here
                alive = max(time.time() - self.probe.create_time(), 1e-3)
                cpu = 100.0 * (times.user + times.system) / alive
            else:
                cpu = self.probe.cpu_percent(None)
            return round(cpu, 1), int(self.probe.memory_info().rss)
        except psutil.Error:  # it exited between the check and the look
            return None, None

    def status(self) -> dict[str, object]:
        """What /api/health shows of it."""
        running = self.running
        cpu_percent, rss_bytes = self.usage()
        return {
            "name": self.spec.name,
            "command": list(self.spec.argv),
            "pid": running.process.pid if running else None,
            "running": running is not None,
            "up_s": round(time.monotonic() - running.started, 1) if running else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "error": self.start_error,
            "cpu_percent": cpu_percent,
            "rss_bytes": rss_bytes,
        }
