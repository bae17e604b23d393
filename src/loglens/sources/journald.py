"""The systemd journal as a live source: `journalctl -o json --follow`, resumed from a stored cursor.

Each JSON line of journalctl is one entry and becomes one `Record` (`record_from_entry`, pure). Every
entry carries its `__CURSOR`; a batch hands out the cursor of its last entry, the store persists it with
the batch's records (as a `Checkpoint` whose `fingerprint` holds the cursor: see `journal_checkpoint`),
and a restart passes it to `--after-cursor`, so reading resumes exactly after the last stored entry.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import orjson

from loglens.errors import ConfigError, LoglensError
from loglens.formats.level import level_from_syslog_pri
from loglens.record import Level, Record
from loglens.sources.file import Checkpoint
from loglens.sources.lines import LineSplitter
from loglens.tenants import config_tenant

SOURCE = "journald"
CHECKPOINT_PREFIX = "journald:"
MAX_LINE_BYTES = 1024 * 1024
"""An entry's JSON line is cut here (and stored as a parse error): a 50 MB core-dump field costs 1 MiB."""
READ_BYTES = 1024 * 1024
STARTUP_WAIT_S = 0.25
STOP_WAIT_S = 2.0
STDERR_KEEP_BYTES = 4096

KEPT_TRUSTED_FIELDS = frozenset(
    {"_SYSTEMD_UNIT", "_SYSTEMD_USER_UNIT", "_TRANSPORT", "_BOOT_ID", "_EXE", "_CMDLINE", "_UID"}
)
"""Fields journald itself adds (`_`-prefixed) worth keeping; the rest (`_CAP_EFFECTIVE`, `_SELINUX_CONTEXT`,
`_SOURCE_REALTIME_TIMESTAMP`, …) would double a record's size for little use. `__` fields (cursor,
timestamps, sequence numbers) are addresses, never kept."""
TAKEN_FIELDS = frozenset({"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"})
"""User fields that become columns of the record rather than `fields`."""
TRACE_ID_FIELDS = ("TRACE_ID", "OTEL_TRACE_ID")
SPAN_ID_FIELDS = ("SPAN_ID", "OTEL_SPAN_ID")

PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_PRIORITY_LEVEL = "|".join((*PRIORITY_NAMES, "[0-7]"))
_PRIORITY = re.compile(rf"(?:{_PRIORITY_LEVEL})(?:\.\.(?:{_PRIORITY_LEVEL}))?")
_CURSOR_IN_JSON = re.compile(r'"__CURSOR"\s*:\s*"([^"\\]*)"')

SETTINGS_KEYS = (
    "name", "directory", "files", "units", "identifiers", "priority", "since", "journalctl", "tenant",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """`[journald]` in loglens.toml: which journal to follow and where to start without a cursor.

    Args:
        name: names this journal source; its checkpoint is stored under `journald:{name}`, so two
            sources (say, two directories) need two names.
        directory: read the journal files in this directory (journalctl `--directory`), such as a
            `systemd-journal-remote` output folder; None: the system journal.
        files: read these journal files (`--file`, globs allowed); not together with `directory`.
        units: only these systemd units (`--unit`, combined as journalctl combines them).
        identifiers: only these syslog identifiers (`--identifier`).
        priority: only this priority or range (`--priority`: `err`, `4`, `emerg..warning`).
        since: where to start when no cursor is stored. None (the default, also written "now"): only
            entries written after the start, as `journalctl -f` without its 10 lines of context — a
            daemon first started on a busy host should not load years of journal by surprise.
            "all": everything the journal holds. "boot": the current boot (`--boot`). Anything else
            goes to `--since` (`"2026-11-20 10:00"`, `"yesterday"`, `"-1h"`). Once a cursor is stored,
            `since` no longer matters.
        journalctl: the journalctl binary (a name found on PATH, or a path).
        tenant: the tenant its records belong to ('' none; docs/api.md, Tenants).
    """

    name: str = "journald"
    directory: str | None = None
    files: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    priority: str | None = None
    since: str | None = None
    journalctl: str = "journalctl"
    tenant: str = ""

    @property
    def checkpoint_key(self) -> str:
        """The store's checkpoint path for this source (`store.checkpoint(settings.checkpoint_key)`)."""
        return f"{CHECKPOINT_PREFIX}{self.name}"


def parse_journald(table: dict[str, Any], where: str) -> JournalSettings:
    """Reads `[journald]`, naming any key or value that is wrong (journalctl would only say so at start)."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in SETTINGS_KEYS:
            raise ConfigError(
                f"{where}: [journald] has no setting {key!r}; known: {', '.join(SETTINGS_KEYS)}"
            )
        if key in ("files", "units", "identifiers"):
            values[key] = _text_list(value, key, where)
        elif key == "priority":
            values[key] = _priority(value, where)
        elif key == "tenant":
            values[key] = config_tenant(value, f"{where} [journald]")
        else:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: [journald] {key} must be a non-empty string")
            values[key] = None if key == "since" and value.strip().lower() == "now" else value
    if values.get("directory") and values.get("files"):
        raise ConfigError(
            f"{where}: [journald] takes `directory` or `files`, not both (journalctl reads one)"
        )
    return JournalSettings(**values)


def _text_list(value: object, key: str, where: str) -> tuple[str, ...]:
    """A list of non-empty strings; a lone string is a list of one (`units = "nginx.service"`)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise ConfigError(f'{where}: [journald] {key} must be a list of strings, such as ["nginx.service"]')
    return tuple(items)


def _priority(value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
        return str(value)
    if isinstance(value, str) and _PRIORITY.fullmatch(value.strip().lower()):
        return value.strip().lower()
    names = ", ".join(PRIORITY_NAMES)
    raise ConfigError(f'{where}: [journald] priority must be 0–7, one of {names}, or a range such as "0..4"')


def journalctl_argv(settings: JournalSettings, cursor: str | None) -> list[str]:
    """The journalctl command line: JSON entries, followed, after `cursor` or else from `since`.

    `--all` keeps fields over 4096 bytes (without it journalctl writes them as null and the message
    would be lost; our line bound cuts them instead). `--no-tail` matters: with `--follow`, journalctl
    shows only the last 10 entries before following, even after `--after-cursor` — a restart after a
    backlog of more than 10 entries would silently skip the rest.
    """
    argv = [settings.journalctl, "--output=json", "--follow", "--no-pager", "--all", "--quiet"]
    if settings.directory:
        argv += ["--directory", settings.directory]
    for path in settings.files:
        argv += ["--file", path]
    for unit in settings.units:
        argv += ["--unit", unit]
    for identifier in settings.identifiers:
        argv += ["--identifier", identifier]
    if settings.priority:
        argv += ["--priority", settings.priority]
    if cursor is not None:
        return [*argv, "--after-cursor", cursor, "--no-tail"]
    since = settings.since
    if since is None or since.lower() == "now":
        return [*argv, "--lines=0"]
    if since.lower() == "all":
        return [*argv, "--no-tail"]
    if since.lower() == "boot":
        return [*argv, "--boot", "--no-tail"]
    return [*argv, "--since", since, "--no-tail"]


# ----------------------------------------------------------------------------------- entries → records


def record_from_entry(entry: dict[str, Any], observed_ns: int) -> Record:
    """One journal entry (a line of `journalctl -o json`, decoded) as a Record.

    Field values are strings, or lists of byte values when not valid UTF-8 (decoded here with
    replacement characters), or lists of those when a field occurs more than once. `fields` keeps user
    fields (no `_` prefix: `CODE_FILE`, `ERRNO`, `MESSAGE_ID`, an app's own) and a few trusted ones
    (`KEPT_TRUSTED_FIELDS`), spelled as journald spells them, so a query names them as
    `journalctl -o json` shows them (`_SYSTEMD_UNIT:nginx.service`).
    """
    message = _text(entry.get("MESSAGE"))
    fields: dict[str, Any] = {}
    for key, value in entry.items():
        if key in KEPT_TRUSTED_FIELDS or not (key.startswith("_") or key in TAKEN_FIELDS):
            fields[key] = _field_value(value)
    trace_id = _take_first(fields, TRACE_ID_FIELDS)
    span_id = _take_first(fields, SPAN_ID_FIELDS)
    return Record(
        ts=_timestamp_ns(entry.get("__REALTIME_TIMESTAMP"), observed_ns),
        observed_ts=observed_ns,
        service=_service(entry),
        source=SOURCE,
        message=message,
        raw=message,
        level=_level(entry.get("PRIORITY")),
        host=_text(entry["_HOSTNAME"]) if "_HOSTNAME" in entry else None,
        pid=_int(entry.get("_PID")),
        fields=fields or None,
        trace_id=trace_id,
        span_id=span_id,
    )


def unparsed_record(line: str, observed_ns: int, reason: str) -> Record:
    """A line that is no journal entry (a cut over-long line, a journalctl message): stored as read."""
    return Record(
        ts=observed_ns,
        observed_ts=observed_ns,
        service=SOURCE,
        source=SOURCE,
        message=line,
        raw=line,
        parse_error=reason,
    )


def parse_line(line: str, observed_ns: int) -> tuple[Record, str | None]:
    """One journalctl output line as (record, its cursor — None when the line has none)."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        # A line cut at the length bound is no JSON; its cursor may still sit in the kept head.
        found = _CURSOR_IN_JSON.search(line)
        return unparsed_record(line, observed_ns, f"not a JSON journal entry: {exc}"), (
            found.group(1) if found else None
        )
    if not isinstance(entry, dict):
        return unparsed_record(line, observed_ns, "not a JSON journal entry: not an object"), None
    cursor = entry.get("__CURSOR")
    return record_from_entry(entry, observed_ns), cursor if isinstance(cursor, str) else None


def _text(value: object) -> str:
    """A field value as text: bytes (a list of ints) decoded, several values joined by newlines."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if all(isinstance(item, int) for item in value):
            return _bytes_text(value)
        return "\n".join(_text(item) for item in value)
    return str(value)


def _field_value(value: object) -> str | list[str]:
    """A field as stored: one value as text, a repeated field as a list of texts."""
    if isinstance(value, list) and value and not all(isinstance(item, int) for item in value):
        return [_text(item) for item in value]
    return _text(value)


def _bytes_text(values: list[int]) -> str:
    try:
        return bytes(values).decode("utf-8", "replace")
    except ValueError:  # an int outside 0–255: not journalctl's bytes, keep it readable anyway
        return str(values)


def _take_first(fields: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """Moves the first of `keys` present in `fields` out of it (it becomes a record column)."""
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str) and value:
            del fields[key]
            return value
    return None


def _service(entry: dict[str, Any]) -> str:
    identifier = _text(entry.get("SYSLOG_IDENTIFIER"))
    if identifier:
        return identifier
    unit = _text(entry.get("_SYSTEMD_UNIT"))
    if unit:
        return unit.removesuffix(".service")
    return _text(entry.get("_COMM")) or SOURCE


def _level(priority: object) -> Level:
    number = _int(priority)
    return level_from_syslog_pri(number) if number is not None and 0 <= number <= 7 else Level.INFO


def _timestamp_ns(micros: object, fallback_ns: int) -> int:
    number = _int(micros)
    return number * 1000 if number is not None and number > 0 else fallback_ns


def _int(value: object) -> int | None:
    if isinstance(value, list):  # bytes: any field may come so, though numbers rarely do
        value = _text(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------------- cursor checkpoints


def journal_checkpoint(name: str, cursor: str) -> Checkpoint:
    """The checkpoint the store persists for journal source `name` read up to `cursor`.

    A journal has no inode or offset to record: its position is the cursor, kept in the `fingerprint`
    field (inode, offset and fingerprint_len are 0), under the path `journald:{name}`.
    """
    return Checkpoint(
        path=f"{CHECKPOINT_PREFIX}{name}", inode=0, offset=0, fingerprint=cursor, fingerprint_len=0
    )


def cursor_of(checkpoint: Checkpoint | None) -> str | None:
    """The cursor a journal checkpoint holds (None for no checkpoint or one that is not a journal's)."""
    if checkpoint is None or not checkpoint.path.startswith(CHECKPOINT_PREFIX):
        return None
    return checkpoint.fingerprint or None


# ------------------------------------------------------------------------------------- the process


@dataclass(slots=True)
class JournalBatch:
    """Records read in one poll, and the cursor of the last of them that had one (None: no new cursor)."""

    records: list[Record]
    cursor: str | None


class JournalSource:
    """A running `journalctl --follow`: its entries as records, read without blocking.

    Args:
        settings: what to follow and where to start without a cursor.
        cursor: the stored cursor (`cursor_of(store.checkpoint(settings.checkpoint_key))`); reading
            starts just after that entry.
        read_bytes: bytes read per poll, at most; the rest waits in the pipe (journalctl then waits too).
        max_line_bytes: an entry's JSON line is cut past this and stored as a parse error.
        startup_wait: seconds `start` waits to see journalctl fail at once (a bad option or path).
    """

    def __init__(
        self,
        settings: JournalSettings,
        cursor: str | None,
        read_bytes: int = READ_BYTES,
        max_line_bytes: int = MAX_LINE_BYTES,
        startup_wait: float = STARTUP_WAIT_S,
    ) -> None:
        self.settings = settings
        self.cursor = cursor
        """The cursor of the last entry handed out (the stored one until the first)."""
        self._read_bytes = read_bytes
        self._startup_wait = startup_wait
        self._splitter = LineSplitter(0, max_line_bytes)
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr = b""
        self._eof = False

    @property
    def argv(self) -> list[str]:
        """The journalctl command this source runs (or would run now)."""
        return journalctl_argv(self.settings, self.cursor)

    def start(self) -> None:
        """Starts journalctl; raises LoglensError when it cannot run or exits at once with an error."""
        if self._process is not None:
            raise RuntimeError("JournalSource.start() was called already; start a new source to restart")
        argv = self.argv
        binary = self.settings.journalctl
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except FileNotFoundError:
            raise LoglensError(
                f"journald source {self.settings.name!r}: {binary!r} not found; install systemd's journalctl "
                "(Debian: apt-get install systemd) or set [journald] journalctl to its path"
            ) from None
        except PermissionError:
            raise LoglensError(
                f"journald source {self.settings.name!r}: cannot run {binary!r}: permission denied"
            ) from None
        assert process.stdout is not None and process.stderr is not None
        os.set_blocking(process.stdout.fileno(), False)
        os.set_blocking(process.stderr.fileno(), False)
        self._process = process
        try:
            code = process.wait(timeout=self._startup_wait)
        except subprocess.TimeoutExpired:
            return
        if code != 0:
            self._read_stderr()
            self.close()
            raise LoglensError(
                f"journald source {self.settings.name!r}: journalctl exited at once with status {code}: "
                f"{self._stderr_text() or '(no message)'}; command: {shlex.join(argv)}"
            )

    @property
    def fd(self) -> int:
        """journalctl's stdout (non-blocking), to wait on with select."""
        stdout = self._started().stdout
        assert stdout is not None  # started with stdout=PIPE
        return stdout.fileno()

    @property
    def done(self) -> bool:
        """journalctl has exited and everything it wrote was handed out (or the source was closed)."""
        return self._eof

    @property
    def error(self) -> str | None:
        """Why journalctl ended, when it ended with an error status (None while running or after success)."""
        process = self._process
        if process is None or process.returncode in (None, 0) or process.returncode == -signal.SIGTERM:
            return None
        return f"journalctl exited with status {process.returncode}: {self._stderr_text() or '(no message)'}"

    @property
    def truncated(self) -> int:
        """Entries cut because their JSON line was over the limit."""
        return self._splitter.truncated

    def poll(self, now: float) -> JournalBatch:
        """The entries journalctl has written so far, as records (never blocks, at most `read_bytes`).

        `now` (the caller's monotonic clock) is not needed here — journalctl writes whole lines, so no
        partial line waits on a timeout — and is taken so that every live source polls alike.
        """
        del now
        process = self._started()
        lines: list[str] = []
        if not self._eof:
            fd, budget, splitter = self.fd, self._read_bytes, self._splitter
            while budget > 0:
                try:
                    data = os.read(fd, min(budget, 64 * 1024))
                except BlockingIOError:
                    break
                if not data:
                    tail = splitter.finish()
                    lines.extend(tail.lines if tail is not None else [])
                    self._eof = True
                    self._read_stderr()
                    # Its stdout closed: journalctl is exiting (close() deals with one that is not).
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=STOP_WAIT_S)
                    break
                budget -= len(data)
                for chunk in splitter.feed(data):
                    lines.extend(chunk.lines)
        self._read_stderr()
        observed_ns = time.time_ns()
        records: list[Record] = []
        cursor: str | None = None
        for line in lines:
            if not line:
                continue
            record, line_cursor = parse_line(line, observed_ns)
            records.append(record)
            cursor = line_cursor or cursor
        if cursor is not None:
            self.cursor = cursor
        return JournalBatch(records, cursor)

    def checkpoint(self, cursor: str) -> Checkpoint:
        """The checkpoint to store with the records up to `cursor` (a `JournalBatch.cursor`)."""
        return journal_checkpoint(self.settings.name, cursor)

    def close(self) -> None:
        """Stops journalctl (SIGTERM, then SIGKILL after STOP_WAIT_S) and reaps it; safe to call twice."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        self._eof = True

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("JournalSource.start() must be called first")
        return self._process

    def _read_stderr(self) -> None:
        """Drains journalctl's stderr (so it never blocks on a full pipe), keeping its last few KiB."""
        process = self._process
        if process is None or process.stderr is None or process.stderr.closed:
            return
        fd = process.stderr.fileno()
        while True:
            try:
                data = os.read(fd, 64 * 1024)
            except BlockingIOError:
                return
            if not data:
                return
            self._stderr = (self._stderr + data)[-STDERR_KEEP_BYTES:]

    def _stderr_text(self) -> str:
        return " ".join(self._stderr.decode("utf-8", "replace").split())
