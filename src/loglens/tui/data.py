"""What `loglens monit` shows, made from the API's answers: pure functions and small state holders,
so every figure on the screen can be tested without a terminal."""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from rich.text import Text

from loglens.formats.timestamp import from_iso_ms, to_iso_ms
from loglens.query.timerange import format_duration
from loglens.record import LEVEL_LABELS, Level

SPARK_POINTS = 60
"""Buckets fetched per sparkline: the window is cut into this many, then fitted to the cell."""
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
LEVEL_TAGS: dict[str, str] = {
    "trace": "TRACE", "debug": "DEBUG", "info": "INFO", "notice": "NOTE",
    "warning": "WARN", "error": "ERROR", "critical": "CRIT", "fatal": "FATAL",
}  # fmt: skip
"""Five-column level names for the log pane (the highlighter reads them back to colour a line)."""
LEVEL_OF_TAG = {tag: level for level, tag in LEVEL_TAGS.items()}
LEVEL_STYLES: dict[str, str] = {
    "fatal": "bold #ffffff on #cc0000",
    "critical": "bold #ff4444",
    "error": "#ff6b6b",
    "warning": "#ffa500",
    "notice": "#4a90e2",
    "info": "#4a90e2",
    "debug": "#9ca3af",
    "trace": "dim #9ca3af",
}
"""The colours of `loglens logs` and the web dashboard, as Rich styles."""
SEVERITY_STYLES = {"critical": "bold #ff4444", "warning": "#ffa500", "info": "#4a90e2"}
HOST_SPARK = 6
"""Cells of the top line's CPU and memory sparklines."""
TIME_COLUMNS = 12
SERVICE_COLUMNS = 10
TAG_START = TIME_COLUMNS + 1
SERVICE_START = TAG_START + 6
MESSAGE_START = SERVICE_START + SERVICE_COLUMNS + 1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def is_error_level(label: str) -> bool:
    """True for error, critical and fatal (what the error % and error sparkline count)."""
    return label in LEVEL_LABELS and Level.from_label(label) >= Level.ERROR


def printable(text: str) -> str:
    """Log text made safe for a terminal: an escape sequence in a log line must not drive the
    screen, so control characters show as `�` and tabs as a space."""
    text = text.replace("\t", " ")
    return _CONTROL.sub("\ufffd", text) if _CONTROL.search(text) else text


def clip(text: str, width: int) -> str:
    """`text` cut to `width` columns, with `…` where it was cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


# --- time window -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """The span the services, patterns and incidents panes cover.

    It ends now while records keep arriving (`live`: asked as a duration back from now, so the
    daemon's answers line up with its clock), else at the newest record: a store ingested last week
    still shows its last hour rather than an empty screen."""

    start_ns: int
    end_ns: int
    live: bool

    @property
    def length_ns(self) -> int:
        return self.end_ns - self.start_ns

    def params(self) -> dict[str, str]:
        """`since`/`until` as the API takes them."""
        if self.live:
            return {"since": format_duration(self.length_ns)}
        return {"since": to_iso_ms(self.start_ns), "until": to_iso_ms(self.end_ns)}

    def bucket(self) -> str:
        """The `/api/stats` bucket giving about `SPARK_POINTS` points (whole seconds, at least 1 s)."""
        seconds = max(1, round(self.length_ns / SPARK_POINTS / 1e9))
        return format_duration(seconds * 10**9)


def window_for(newest_ts: str | None, now_ns: int, length_ns: int) -> Window:
    """The window ending now when the newest record is within `length_ns` of now (or there is none
    yet), else the `length_ns` up to and including the newest record."""
    if newest_ts is None:
        return Window(now_ns - length_ns, now_ns, live=True)
    newest = from_iso_ms(newest_ts)
    if now_ns - newest <= length_ns:
        return Window(now_ns - length_ns, now_ns, live=True)
    end = newest + 10**6  # `until` is exclusive; the newest record belongs in the window
    return Window(end - length_ns, end, live=False)


def next_due(finished: float, took: float, refresh_s: float) -> float:
    """When a pane's data may be fetched again: after `refresh_s`, or four times what the last
    fetch took when that is longer, so a dashboard never keeps the daemon busy more than a fifth
    of the time however big the store."""
    return finished + max(refresh_s, 4 * took)


# --- services ----------------------------------------------------------------------------------


def key_series(stats: dict[str, Any], window: Window) -> dict[str, list[int]]:
    """`/api/stats` buckets as one series per key (service) over the window, zeros where a bucket
    had no records, oldest first."""
    bucket_ns = int(stats["bucket_ms"]) * 10**6
    first = window.start_ns // bucket_ns * bucket_ns
    count = max(1, -(-(window.end_ns - first) // bucket_ns))
    found: dict[str, list[int]] = {}
    for bucket in stats["buckets"]:
        index = (from_iso_ms(bucket["start"]) - first) // bucket_ns
        if not 0 <= index < count:
            continue
        for key, hits in bucket["counts"].items():
            found.setdefault(key, [0] * count)[index] += int(hits)
    return found


def resample(values: Sequence[float], width: int) -> list[float]:
    """`values` fitted into `width` points, each the mean of its share (as they are when fewer)."""
    if width <= 0:
        return []
    if len(values) <= width:
        return list(values)
    out: list[float] = []
    for i in range(width):
        lo, hi = i * len(values) // width, (i + 1) * len(values) // width
        out.append(sum(values[lo:hi]) / max(hi - lo, 1))
    return out


def sparkline(values: Sequence[float], width: int, top: float | None = None) -> str:
    """Block characters scaled to `top` (default: the largest value; 100 for percentages); a
    blank where there was nothing at all, so a quiet minute reads differently from a small one.
    Newest at the right, padded on the left."""
    points = resample(values, width)
    top = max(points, default=0) if top is None else top
    cells = []
    for value in points:
        if value <= 0 or top <= 0:
            cells.append(" ")
        else:
            cells.append(SPARK_BLOCKS[min(len(SPARK_BLOCKS) - 1, int(value / top * (len(SPARK_BLOCKS) - 1)))])
    return "".join(cells).rjust(width)


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One line of the services table."""

    service: str
    lines: int
    per_minute: float
    errors: int
    health: int
    restarts: int
    volume: list[int]
    error_volume: list[int]
    last_error: str | None

    @property
    def error_pct(self) -> float:
        return 100.0 * self.errors / self.lines if self.lines else 0.0


def active_minutes(series: Iterable[list[int]], window: Window, bucket_ns: int) -> float:
    """Minutes from the first bucket with records to the window's end (at least one): the rate of a
    store holding ten minutes is not diluted over a whole hour."""
    first_index = min((next((i for i, v in enumerate(s) if v), len(s)) for s in series), default=0)
    first = window.start_ns // bucket_ns * bucket_ns + first_index * bucket_ns
    return max((window.end_ns - max(first, window.start_ns)) / 60e9, 1.0)


def service_rows(
    summary: list[dict[str, Any]], volume: dict[str, Any], errors: dict[str, Any], window: Window
) -> list[ServiceRow]:
    """The services table from `/api/summary` (lines, levels, health, restarts, busiest first) and
    two `/api/stats?by=service` answers (all records, and errors and worse) for the sparklines."""
    volumes = key_series(volume, window)
    error_volumes = key_series(errors, window)
    minutes = active_minutes(volumes.values(), window, int(volume["bucket_ms"]) * 10**6)
    empty = [0] * max((len(v) for v in volumes.values()), default=1)
    rows = []
    for entry in summary:
        name = entry["service"]
        last = entry.get("last_error")
        rows.append(
            ServiceRow(
                service=name,
                lines=int(entry["total"]),
                per_minute=int(entry["total"]) / minutes,
                errors=sum(n for level, n in entry["levels"].items() if is_error_level(level)),
                health=int(entry["health"]),
                restarts=int(entry["restarts"]),
                volume=volumes.get(name, empty),
                error_volume=error_volumes.get(name, empty),
                last_error=None if not last else f"{last['ts'][11:19]} {printable(last['message'])}",
            )
        )
    return rows


CELL_PADDING = 2
"""A DataTable puts a column of padding either side of each cell."""
SCROLLBAR = 2


def rest_width(table_width: int, fixed: Sequence[int], shares: int = 1, least: int = 4) -> int:
    """What the fixed columns of a table leave for each of its `shares` flexible ones (with cell
    padding and the scrollbar counted), so a table fits its pane without scrolling sideways."""
    used = sum(fixed) + CELL_PADDING * (len(fixed) + shares) + SCROLLBAR
    return max(least, (table_width - used) // shares)


def compact(number: float) -> str:
    """A count in at most five columns: 950, 12.3k, 4.1M."""
    if number < 1000:
        return f"{number:.0f}" if number >= 10 or number == int(number) else f"{number:.1f}"
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9)):
        if number < size * 1000 or unit == "G":
            scaled = number / size
            return f"{scaled:.1f}{unit}" if scaled < 100 else f"{scaled:.0f}{unit}"
    return f"{number:.0f}"  # pragma: no cover - the loop always returns


def human_bytes(size: float | None) -> str:
    """Bytes as `312 MB` (1024-based, the way top shows memory); `–` when unknown."""
    if size is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") or size >= 100 else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.0f} TB"  # pragma: no cover - the loop always returns


def health_style(health: int) -> str:
    return "bold #3fb950" if health >= 80 else "#ffa500" if health >= 50 else "bold #ff4444"


# --- commands and host -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandRow:
    """One `[[commands]]` entry of the daemon as the services pane shows it."""

    name: str
    pid: int | None
    state: str
    cpu_percent: float | None
    rss_bytes: int | None
    restarts: int
    last_exit: int | None
    failing: bool


def command_rows(health: dict[str, Any] | None) -> list[CommandRow]:
    """The daemon's supervised commands from `/api/health` (none without a daemon)."""
    rows = []
    for c in (health or {}).get("commands", []):
        if c.get("running"):
            state = f"up {_ago(float(c.get('up_s') or 0))}"
        elif c.get("error"):
            state = "cannot start"
        else:
            state = "exited" if c.get("last_exit") is not None else "waiting"
        failing = bool(c.get("error")) or (not c.get("running") and c.get("last_exit") not in (None, 0))
        rows.append(
            CommandRow(
                name=c["name"],
                pid=c.get("pid"),
                state=state,
                cpu_percent=c.get("cpu_percent"),
                rss_bytes=c.get("rss_bytes"),
                restarts=int(c.get("restarts") or 0),
                last_exit=c.get("last_exit"),
                failing=failing,
            )
        )
    return rows


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h" if seconds < 172_800 else f"{seconds / 86400:.0f}d"


@dataclass(frozen=True, slots=True)
class HostFigures:
    """The daemon machine's latest CPU and memory (percent) and their recent course."""

    cpu: float
    mem: float
    cpu_series: list[float]
    mem_series: list[float]


def host_figures(host: dict[str, Any] | None) -> HostFigures | None:
    """From `/api/host`; None until the daemon has a sample (or without a daemon)."""
    samples = (host or {}).get("samples") or []
    if not samples:
        return None
    cpu = [float(s["cpu"]) for s in samples]
    mem = [float(s["mem"]) for s in samples]
    return HostFigures(cpu[-1], mem[-1], cpu, mem)


@dataclass(frozen=True, slots=True)
class Header:
    """What the top line shows: where the data comes from and the daemon's vital figures (all
    None without a daemon: they are the daemon's)."""

    daemon_url: str | None
    records: int | None
    uptime_s: float | None
    host: HostFigures | None
    open_alerts: int | None
    commands: list[CommandRow]


def header_text(header: Header, store_name: str, window: Window | None) -> Text:
    """The top line: the daemon (or the store, read-only) and the span shown, then the host's CPU
    and memory with their course, the records stored and open alerts. Most telling first, since
    an 80-column terminal cuts the end."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("loglens ", style="bold")
    if header.daemon_url is None:
        text.append(f"store {store_name}", style="#ffa500")
        text.append(" (read-only, no daemon)")
    else:
        text.append(f"daemon {header.daemon_url.split('://', 1)[-1]}", style="#3fb950")
    if window is not None:
        text.append(f" · {describe_window(window)}")
    if header.host is not None:
        host = header.host
        course = len(host.cpu_series) >= HOST_SPARK  # a few samples make a gap, not a course
        text.append(f" · cpu {host.cpu:.0f}%")
        if course:
            text.append(" " + sparkline(host.cpu_series, HOST_SPARK, top=100), style="#4a90e2")
        text.append(f" mem {host.mem:.0f}%")
        if course:
            text.append(" " + sparkline(host.mem_series, HOST_SPARK, top=100), style="#4a90e2")
    if header.open_alerts:
        text.append(f" · {header.open_alerts} open alert{'s' if header.open_alerts != 1 else ''}",
                    style="bold #ff4444")  # fmt: skip
    if header.records is not None:
        text.append(f" · {header.records:,} records")
    if header.uptime_s is not None:
        text.append(f" · up {_ago(header.uptime_s)}")
    return text


def describe_window(window: Window) -> str:
    """`last 1h`, or `1h to 11-21 05:59 UTC` for a store whose newest record is older."""
    length = format_duration(window.length_ns)
    if window.live:
        return f"last {length}"
    end = to_iso_ms(window.end_ns)
    return f"{length} to {end[5:10]} {end[11:16]} UTC"


# --- the log pane ------------------------------------------------------------------------------


def log_line(record: dict[str, Any]) -> str:
    """`HH:MM:SS.mmm LEVEL service    message` (UTC, as `loglens logs`): fixed columns, so 80
    columns leave 50 for the message and the highlighter finds the level by position. A multi-line
    event shows its first line, marked with `…`."""
    message = str(record.get("msg", ""))
    if "\n" in message:
        message = message.split("\n", 1)[0] + " …"
    tag = LEVEL_TAGS.get(str(record.get("lvl")), "?").ljust(5)
    service = clip(printable(str(record.get("svc", ""))), SERVICE_COLUMNS).ljust(SERVICE_COLUMNS)
    return f"{str(record.get('ts', ''))[11:23]:<12} {tag} {service} {printable(message)}"


def line_level(line: str) -> str | None:
    """The level a `log_line` was written with (None for anything else)."""
    return LEVEL_OF_TAG.get(line[TAG_START : TAG_START + 5].rstrip())


def record_key(record: dict[str, Any]) -> tuple[str, ...]:
    """What tells two deliveries of one record apart from two records: the live channel sends no
    ids, so time, service, host, pid, message and fields (true twins are told apart by count, see
    `LogFeed.offer`)."""
    fields = orjson.dumps(record.get("fields") or {}, option=orjson.OPT_SORT_KEYS).decode()
    return (*(str(record.get(k)) for k in ("ts", "svc", "host", "pid", "msg")), fields)


class LogFeed:
    """The log pane's model: the newest `limit` lines, each record once, held while paused.

    Records reach it from a backlog fetch, the live channel and polls, which overlap (a record
    stored while the backlog was read comes both ways; a poll from the last stamp re-reads that
    stamp): each is shown once. Memory is bounded: `limit` lines shown, `limit` held, `2×limit`
    keys remembered; held lines beyond `limit` are dropped and counted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.shown: deque[str] = deque(maxlen=limit)
        self.held: deque[str] = deque(maxlen=limit)
        self.held_total = 0
        self.paused = False
        self.newest_ts: str | None = None
        self._keys: deque[tuple[str, ...]] = deque()
        self._known: Counter[tuple[str, ...]] = Counter()

    @property
    def dropped(self) -> int:
        """Lines that arrived while paused and no longer fit (the oldest are let go)."""
        return self.held_total - len(self.held)

    def offer(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Takes records; returns the lines to write now (none while paused). A record is new when
        its key came more often in this batch than it was seen before: a batch that re-reads one
        already shown skips it, while two identical lines logged in one second both show."""
        lines = []
        already: dict[tuple[str, ...], int] = {}
        for record in records:
            key = record_key(record)
            if key not in already:
                already[key] = self._known[key]
            if already[key] > 0:
                already[key] -= 1
                continue
            self._remember(key)
            ts = str(record.get("ts"))
            if self.newest_ts is None or ts > self.newest_ts:
                self.newest_ts = ts
            lines.append(log_line(record))
        if self.paused:
            self.held.extend(lines)
            self.held_total += len(lines)
            return []
        self.shown.extend(lines)
        return lines[-self.limit :]

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> list[str]:
        """Unpauses; returns the held lines to write."""
        self.paused = False
        lines = list(self.held)
        self.shown.extend(lines)
        self.held.clear()
        self.held_total = 0
        return lines

    def reset(self) -> None:
        """Forgets everything (a new filter: what was shown no longer applies)."""
        self.shown.clear()
        self.held.clear()
        self.held_total = 0
        self.newest_ts = None
        self._keys.clear()
        self._known.clear()

    def _remember(self, key: tuple[str, ...]) -> None:
        self._keys.append(key)
        self._known[key] += 1
        if len(self._keys) > 2 * self.limit:
            old = self._keys.popleft()
            self._known[old] -= 1
            if not self._known[old]:
                del self._known[old]


def next_service(names: Sequence[str], current: str | None) -> str | None:
    """The service after `current` in the table's order; after the last (or one gone), all (None)."""
    if current is None:
        return names[0] if names else None
    if current in names and names.index(current) + 1 < len(names):
        return names[names.index(current) + 1]
    return None


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What the log pane streams: one service or all, and a query (docs/query.md)."""

    service: str | None = None
    query: str = ""

    def params(self) -> dict[str, Any]:
        """The `/api/logs` and `/api/live` parameters."""
        params: dict[str, Any] = {"q": self.query}
        if self.service:
            params["service"] = [self.service]
        return params

    def describe(self) -> str:
        parts = [f"service {self.service}" if self.service else "all services"]
        if self.query:
            parts.append(f"filter {self.query}")
        return " · ".join(parts)


def announcement(message: dict[str, Any]) -> str | None:
    """The toast for a live-channel message worth interrupting for: an incident opened or closed,
    an alert opened, escalated or resolved (None for the rest: notifications repeat the alert)."""
    if message.get("type") == "incident":
        incident = message.get("incident") or {}
        return f"incident {message.get('state', '')}: {incident.get('id', '?')}"
    if message.get("type") == "alert" and message.get("change") in ("opened", "escalated", "resolved"):
        alert = message.get("alert") or {}
        return f"alert {message['change']}: {printable(str(alert.get('title') or alert.get('id') or '?'))}"
    return None


# --- incidents and patterns --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One line of the incidents table."""

    id: str
    when: str
    severity: str
    services: str
    root_cause: str
    cause_service: str | None


def incident_rows(incidents: list[dict[str, Any]]) -> list[IncidentRow]:
    """`/api/incidents`, newest first (what someone opening the dashboard looks for)."""
    rows = []
    for incident in sorted(incidents, key=lambda i: str(i["start"]), reverse=True):
        cause = incident.get("root_cause") or {}
        start, end = str(incident["start"]), str(incident.get("end") or "")
        rows.append(
            IncidentRow(
                id=incident["id"],
                when=f"{start[5:10]} {start[11:16]}–{end[11:16]}" if end else f"{start[5:10]} {start[11:16]}",
                severity=str(incident.get("severity", "")),
                services=", ".join(incident.get("services", [])),
                root_cause=printable(f"{cause.get('service', '?')}: {cause.get('template') or ''}"),
                cause_service=cause.get("service"),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class PatternRow:
    """One line of the patterns table."""

    template_id: str
    count: int
    share_pct: float
    trend: str
    level: str
    service: str
    template: str


def pattern_rows(patterns: list[dict[str, Any]]) -> list[PatternRow]:
    """`/api/patterns` as table rows (already by count, most first)."""
    return [
        PatternRow(
            template_id=str(p["template_id"]),
            count=int(p["count"]),
            share_pct=100.0 * float(p["share"]),
            trend=str(p.get("trend", "")),
            level=str(p.get("level", "")),
            service=str(p.get("service", "")),
            template=printable(str(p["template"])),
        )
        for p in patterns
    ]
